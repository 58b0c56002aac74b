"""The review queue on a real vault filled with the demo team: the queue and its
filters, the reading pane (audited), approval signed with the passphrase (one and a
batch), refusal when the content changed, return needing a comment, and nothing
offered to a specialist."""

from __future__ import annotations

from datetime import date

import pytest
from PySide6.QtCore import Qt

from app.domain.datetext import duration_text
from app.domain.records import NoteStatus
from app.ui.common.table_model import ID_ROLE
from app.ui.review.models import QueueModel
from app.ui.review.review_page import ReviewPage
from tests.conftest import PASSPHRASE
from tests.ui_support import ctx_repos
from tests.ui_support import settle
from tests.ui_support import shown
from tests.ui_support import team_ctx

TODAY = date(2026, 3, 18)


@pytest.fixture
def sup_ctx(app_ctx_for):
    return team_ctx(app_ctx_for, specialists=3, participants=8, today=TODAY)


@pytest.fixture
def page(qtbot, sup_ctx):
    return shown(qtbot, ReviewPage(sup_ctx), sup_ctx)


def status(ctx, note_id):
    return ctx_repos(ctx).encounters.require(note_id).status


def sign_dialog(qtbot, page, passphrase=PASSPHRASE):
    assert page.dialog is not None and page.dialog.isVisible()
    page.dialog.passphrase.setText(passphrase)
    qtbot.mouseClick(page.dialog.ok_button, Qt.MouseButton.LeftButton)


def test_queue_model_without_widgets():
    from app.services.review import QueueRow

    row = QueueRow(
        id="n1", service_date=date(2026, 3, 2), start_time=None, minutes=50, units=3,
        specialist_id="s", specialist_name="Ann", participant_id="p", participant_name="Wren",
        status="signed", signed_at=None, addenda=1, conflict=True,
    )  # fmt: skip
    m = QueueModel()
    m.set_rows([row], today=date(2026, 3, 18))
    assert m.rowCount() == 1 and m.columnCount() == 6
    cells = [m.data(m.index(0, c)) for c in range(6)]
    assert cells == ["Mar 2", "Wren", "Ann", "3", "0 days", "Conflict, Addendum"]
    assert m.data(m.index(0, 0), ID_ROLE) == "n1"


def test_queue_lists_signed_notes_oldest_first_and_filters(qtbot, page, sup_ctx):
    repos = ctx_repos(sup_ctx)
    signed = repos.encounters.list("status = 'signed'")
    assert page.model.rowCount() == len(signed) > 3
    dates = [page.proxy.index(r, 0).data(ID_ROLE) for r in range(page.proxy.rowCount())]
    by_id = {n.id: n.service_date for n in signed}
    assert [by_id[i] for i in dates] == sorted(by_id[i] for i in dates)
    # filter by a specialist, then by one of their participants
    page.specialist_filter.setCurrentIndex(1)
    spec = page.specialist_filter.currentData()
    shown = [page.proxy.index(r, 0).data(ID_ROLE) for r in range(page.proxy.rowCount())]
    assert shown and all(repos.encounters.require(i).specialist_id == spec for i in shown)
    page.participant_filter.setCurrentIndex(1)
    part = page.participant_filter.currentData()
    shown2 = [page.proxy.index(r, 0).data(ID_ROLE) for r in range(page.proxy.rowCount())]
    assert all(repos.encounters.require(i).participant_id == part for i in shown2)
    assert "Showing" in page.count_label.text()


def test_reading_pane_shows_the_note_and_audits_the_read(qtbot, page, sup_ctx):
    page.table.selectRow(0)
    settle(qtbot, sup_ctx)
    rn = page.current
    assert rn is not None
    text = page.reader.toPlainText()
    assert rn.participant_name in text and rn.goals[0].statement in text
    assert duration_text(rn.minutes) in text
    views = (
        ctx_repos(sup_ctx)
        .store.conn.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'view' AND record_id = ?", (rn.note.id,)
        )
        .fetchone()[0]
    )
    assert views == 1
    page.show_trail()
    settle(qtbot, sup_ctx)
    assert page.trail_dialog is not None and page.trail_dialog.table.rowCount() >= 3


def test_approve_with_the_passphrase(qtbot, page, sup_ctx):
    page.table.selectRow(0)
    settle(qtbot, sup_ctx)
    note_id = page.current.note.id
    qtbot.mouseClick(page.approve_button, Qt.MouseButton.LeftButton)
    sign_dialog(qtbot, page, "wrong passphrase here")
    settle(qtbot, sup_ctx)
    assert page.result_label.text() == (
        "That passphrase is not right. Nothing was signed; try again."
    )
    assert page.result_label.isVisible()
    assert status(sup_ctx, note_id) is NoteStatus.SIGNED
    qtbot.mouseClick(page.approve_button, Qt.MouseButton.LeftButton)
    page.dialog.ok_button.click()  # empty: asked again in place, nothing sent
    assert page.dialog.isVisible() and page.dialog.error.isVisible()
    sign_dialog(qtbot, page)
    settle(qtbot, sup_ctx)
    note = ctx_repos(sup_ctx).encounters.require(note_id)
    assert note.status is NoteStatus.APPROVED and note.approved_content_hash == note.content_hash
    assert note_id not in {page.model.row(r).id for r in range(page.model.rowCount())}
    assert not page.approve_button.isEnabled()  # the pane now shows it approved


def test_batch_approve_signs_every_selected_note_once(qtbot, page, sup_ctx):
    ids = [page.proxy.index(r, 0).data(ID_ROLE) for r in range(3)]
    page.table.selectRow(0)
    settle(qtbot, sup_ctx)
    from PySide6.QtCore import QItemSelectionModel

    sel = page.table.selectionModel()
    for r in (1, 2):
        sel.select(
            page.proxy.index(r, 0),
            QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
        )
    assert page.batch_button.isEnabled()
    qtbot.mouseClick(page.batch_button, Qt.MouseButton.LeftButton)
    sign_dialog(qtbot, page)
    settle(qtbot, sup_ctx)
    assert [status(sup_ctx, i) for i in ids] == [NoteStatus.APPROVED] * 3
    signs = (
        ctx_repos(sup_ctx)
        .store.conn.execute("SELECT count(*) FROM audit_log WHERE action = 'sign'")
        .fetchone()[0]
    )
    assert signs >= 3


def test_approval_refused_when_the_content_changed_since_loading(qtbot, page, sup_ctx):
    page.table.selectRow(0)
    settle(qtbot, sup_ctx)
    note_id = page.current.note.id
    store = ctx_repos(sup_ctx).store
    with store.transaction(mode="remote"):  # as if a sync brought a changed text
        store.conn.execute(
            "UPDATE encounters SET plan = plan || ' (edited)' WHERE id = ?", (note_id,)
        )
    qtbot.mouseClick(page.approve_button, Qt.MouseButton.LeftButton)
    sign_dialog(qtbot, page)
    settle(qtbot, sup_ctx)
    assert "changed after you opened it" in page.result_label.text()
    assert status(sup_ctx, note_id) is NoteStatus.SIGNED


def test_return_needs_a_comment_and_keeps_what_was_typed(qtbot, page, sup_ctx):
    page.table.selectRow(0)
    settle(qtbot, sup_ctx)
    note_id = page.current.note.id
    qtbot.mouseClick(page.return_button, Qt.MouseButton.LeftButton)
    assert page.comment_error.isVisible() and "comment is required" in page.comment_error.text()
    settle(qtbot, sup_ctx)
    assert status(sup_ctx, note_id) is NoteStatus.SIGNED
    qtbot.keyClicks(page.comment, "Please name the goal step")
    assert not page.comment_error.isVisible()
    qtbot.mouseClick(page.return_button, Qt.MouseButton.LeftButton)
    settle(qtbot, sup_ctx)
    note = ctx_repos(sup_ctx).encounters.require(note_id)
    assert note.status is NoteStatus.RETURNED and note.review_comment == "Please name the goal step"
    assert page.comment.toPlainText() == ""


def test_a_specialist_is_never_offered_review(qtbot, app_ctx):
    p = shown(qtbot, ReviewPage(app_ctx), app_ctx, None)
    assert not p.approve_button.isVisible() and not p.return_button.isVisible()
    assert not p.batch_button.isVisible() and p.not_supervisor.isVisible()
    p.approve_current()
    assert p.dialog is None


def test_lock_clears_the_pane(qtbot, page, sup_ctx):
    page.table.selectRow(0)
    settle(qtbot, sup_ctx)
    name = page.current.participant_name
    page.clear()
    assert name not in page.reader.toPlainText() and page.model.rowCount() == 0
