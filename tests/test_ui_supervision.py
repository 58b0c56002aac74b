"""The supervision log: the supervisor records a session (validated in place),
signs it with the passphrase (then it cannot change); a specialist signs the
sessions they were in on their own vault, which adds the supervision hours."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime

import pytest
from PySide6.QtCore import Qt

from app.domain.records import Role
from app.domain.records import SupervisionSession
from app.domain.records import SupervisionTopic
from app.domain.records import TimeCategory
from app.domain.records import User
from app.services import supervision
from app.ui.supervision.supervision_page import SupervisionPage
from tests.conftest import PASSPHRASE
from tests.ui_support import ctx_repos
from tests.ui_support import settle
from tests.ui_support import shown
from tests.ui_support import team_ctx


@pytest.fixture
def sup_ctx(app_ctx_for):
    return team_ctx(app_ctx_for, specialists=2, participants=3)


def make_page(qtbot, ctx):
    return shown(qtbot, SupervisionPage(ctx), ctx)


def sign(qtbot, page):
    page.dialog.passphrase.setText(PASSPHRASE)
    qtbot.mouseClick(page.dialog.ok_button, Qt.MouseButton.LeftButton)


def test_new_session_is_checked_in_place_then_saved_and_signed(qtbot, sup_ctx):
    page = make_page(qtbot, sup_ctx)
    before = page.model.rowCount()
    assert before > 0 and page.specialists.count() == 2
    page.new_session()
    page.minutes.setValue(0)
    page.actions.setPlainText("Bring two notes")
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    settle(qtbot, sup_ctx)
    assert page.errors["specialist_ids"].isVisible()
    assert page.errors["minutes"].isVisible() and page.errors["topics"].isVisible()
    assert page.actions.toPlainText() == "Bring two notes"  # nothing typed is lost
    assert len(ctx_repos(sup_ctx).supervision.list()) == before
    # individual with two specialists is refused too
    for i in range(2):
        page.specialists.item(i).setCheckState(Qt.CheckState.Checked)
    page.minutes.setValue(60)
    page.topic_boxes[SupervisionTopic.SKILLS.value].setChecked(True)
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    settle(qtbot, sup_ctx)
    assert "one specialist" in page.errors["specialist_ids"].text()
    page.format.setCurrentIndex(page.format.findData("group"))
    assert page.cases.count() > 0  # their participants are offered as cases
    page.cases.item(0).setCheckState(Qt.CheckState.Checked)
    page.has_next.setChecked(True)
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    settle(qtbot, sup_ctx)
    assert page.model.rowCount() == before + 1
    saved = ctx_repos(sup_ctx).supervision.require(page.editing.id)
    assert saved.format == "group" and len(saved.specialist_ids) == 2
    assert saved.action_items == "Bring two notes" and len(saved.cases_reviewed) == 1
    assert saved.next_date is not None and saved.supervisor_signed_at is None
    # sign it
    assert page.selected_row() is not None and page.sign_button.isEnabled()
    qtbot.mouseClick(page.sign_button, Qt.MouseButton.LeftButton)
    sign(qtbot, page)
    settle(qtbot, sup_ctx)
    signed = ctx_repos(sup_ctx).supervision.require(saved.id)
    assert signed.supervisor_signed_at is not None
    assert not page.save_button.isEnabled() and not page.sign_button.isEnabled()
    # a signed session cannot change, even through the queries
    with pytest.raises(Exception, match="cannot change"):
        supervision.save_session(ctx_repos(sup_ctx), signed.replace(minutes=90))


def test_a_specialist_signs_a_session_they_were_in(qtbot, app_ctx):
    repos = ctx_repos(app_ctx)
    sup = repos.users.add(User(username="sup", display_name="Sup Ervisor", role=Role.SUPERVISOR))
    me = app_ctx.user
    s = repos.supervision.add(
        SupervisionSession(
            supervisor_id=sup.id,
            specialist_ids=(me.id,),
            session_date=date(2026, 3, 2),
            minutes=45,
            topics=(SupervisionTopic.SELF_CARE.value,),
            supervisor_signed_at=datetime(2026, 3, 2, 16, 0, tzinfo=UTC),
        )
    )
    page = make_page(qtbot, app_ctx)
    assert not page.new_button.isVisible() and not page.save_button.isVisible()
    assert page.model.rowCount() == 1
    page.table.selectRow(0)
    assert page.sign_button.isEnabled() and not page.minutes.isEnabled()
    qtbot.mouseClick(page.sign_button, Qt.MouseButton.LeftButton)
    sign(qtbot, page)
    settle(qtbot, app_ctx)
    entries = ctx_repos(app_ctx).time_entries.list("supervision_id = ?", (s.id,))
    assert [(e.specialist_id, e.minutes, e.category) for e in entries] == [
        (me.id, 45, TimeCategory.SUPERVISION)
    ]
    assert ctx_repos(app_ctx).supervision.require(s.id).specialist_signed_at is not None
    assert not page.sign_button.isEnabled()  # signed once
    assert page.model.signed_text(page.model.row(0)) == "All"
