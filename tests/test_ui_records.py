"""The caseload filters, the participant form, the record page and the import
dialog: item models without widgets, then each flow on a real vault with the real
database worker (pytest-qt, offscreen, no sleeps)."""

from __future__ import annotations

from datetime import date
from datetime import time
from datetime import timedelta

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtCore import Qt

from app.domain.attention import Reason
from app.domain.datetext import day_text
from app.domain.participant_import import ImportPlan
from app.domain.participant_import import Problem
from app.domain.records import Barc10
from app.domain.records import Consent
from app.domain.records import ConsentKind
from app.domain.records import Modality
from app.domain.records import NoteStatus
from app.domain.records import ParticipantStatus
from app.domain.records import RecoveryDomain
from app.services.caseload import caseload_rows
from app.services.changes import Changed
from app.services.importing import ImportPreview
from app.services.records import TimelineRow
from app.ui.caseload import models as cl
from app.ui.caseload.caseload import CaseloadView
from app.ui.caseload.import_dialog import ImportDialog
from app.ui.caseload.models import BAD
from app.ui.caseload.models import OK
from app.ui.caseload.models import WARNING
from app.ui.caseload.models import CaseloadModel
from app.ui.caseload.models import PreviewModel
from app.ui.caseload.participant_form import ParticipantForm
from app.ui.common.table_model import ID_ROLE
from app.ui.participant.models import Barc10Model
from app.ui.participant.models import ConsentModel
from app.ui.participant.models import TimelineModel
from app.ui.participant.participant_page import TAB_GOALS
from app.ui.participant.participant_page import TAB_TIMELINE
from app.ui.participant.participant_page import ParticipantPage
from tests.builders import add_encounter
from tests.helpers import add_person
from tests.ui_support import ctx_repos
from tests.ui_support import settle

TODAY = date.today()


def cell(model, row, col, role=Qt.ItemDataRole.DisplayRole):
    return model.data(model.index(row, col), role)


# -- models, no widgets ------------------------------------------------------------------


@pytest.fixture
def rows(repos):
    a = add_person(repos, "Odessa", "Brightwater", program="1915(i)")
    b = add_person(repos, "Lorcan", "Featherby", program="SUD Voucher")
    add_person(repos, "Mirela", "Stonebrook", program="1915(i)", status=ParticipantStatus.ON_HOLD)
    for p in (a, b):
        day = TODAY - timedelta(days=2 if p is a else 60)
        add_encounter(repos, p, None, repos.store.user_id, on=day, at=(None, None))
    return caseload_rows(repos, TODAY)


def test_caseload_model_attention_column_and_filters(rows):
    model = CaseloadModel()
    model.set_rows(rows)
    proxy = cl.CaseloadFilter()
    proxy.setSourceModel(model)
    proxy.sort(cl.COL_NAME)
    names = lambda: [cell(proxy, r, cl.COL_NAME) for r in range(proxy.rowCount())]  # noqa: E731
    assert names() == ["Odessa Brightwater", "Lorcan Featherby", "Mirela Stonebrook"]
    assert cell(proxy, 0, cl.COL_ATTENTION) == "1 unsigned note"
    assert cell(proxy, 1, cl.COL_ATTENTION) == "No contact 60 days · 1 unsigned note"
    assert cell(proxy, 2, cl.COL_ATTENTION) == ""
    flags = cell(proxy, 1, cl.COL_ATTENTION, cl.FLAGS_ROLE)
    assert [f.reason for f in flags] == [Reason.NO_CONTACT, Reason.UNSIGNED_NOTES]
    assert "60 days since the last contact" in cell(
        proxy, 1, cl.COL_ATTENTION, Qt.ItemDataRole.ToolTipRole
    )
    assert cell(proxy, 0, cl.COL_LAST_CONTACT) == day_text(TODAY - timedelta(days=2))
    assert model.programs() == ["1915(i)", "SUD Voucher"]

    proxy.set_status(ParticipantStatus.ON_HOLD)
    assert names() == ["Mirela Stonebrook"]
    proxy.set_status(None)
    proxy.set_program("1915(i)")
    assert names() == ["Odessa Brightwater", "Mirela Stonebrook"]
    proxy.set_attention(cl.ANY_REASON)
    assert names() == ["Odessa Brightwater"]
    proxy.set_program(None)
    proxy.set_attention(Reason.NO_CONTACT)
    assert names() == ["Lorcan Featherby"]
    proxy.set_text("odessa")
    assert names() == []
    assert proxy.filtering
    proxy.set_text("")
    proxy.set_attention(None)
    assert not proxy.filtering and proxy.rowCount() == 3

    proxy.sort(cl.COL_ATTENTION, Qt.SortOrder.DescendingOrder)
    assert names()[0] == "Lorcan Featherby"  # most reasons first


def test_consent_model_marks_expired_and_revoked():
    today = date(2026, 6, 15)
    rows = [
        Consent(participant_id="p", recipient="Court", signed_on=date(2026, 1, 1),
                expires_on=date(2026, 6, 1)),
        Consent(participant_id="p", recipient="County", signed_on=date(2026, 1, 1),
                revoked_on=date(2026, 5, 1), revocation_note="Told me"),
        Consent(participant_id="p", kind=ConsentKind.GENERAL, recipient="Sister",
                signed_on=date(2026, 1, 1), expiry_event="At discharge"),
    ]  # fmt: skip
    model = ConsentModel(today=today)
    model.set_rows(rows)
    assert [cell(model, r, 0) for r in range(3)] == [
        "Expired Jun 1, 2026",
        "Revoked May 1, 2026",
        "In force",
    ]
    assert cell(model, 2, 4) == "At discharge"
    assert cell(model, 0, 2, Qt.ItemDataRole.FontRole).strikeOut()
    assert cell(model, 2, 2, Qt.ItemDataRole.FontRole) is None
    assert cell(model, 1, 0, Qt.ItemDataRole.ToolTipRole) == "Revocation: Told me"
    assert cell(model, 0, 0, ID_ROLE) == rows[0].id


def test_barc10_and_timeline_models():
    b = [
        Barc10(participant_id="p", assessed_on=date(2026, 1, 1), scores=(3,) * 10),
        Barc10(participant_id="p", assessed_on=date(2026, 4, 1), scores=(4,) * 10),
    ]
    model = Barc10Model()
    model.set_rows(b)
    assert [cell(model, r, 1) for r in range(2)] == ["40", "30"]  # newest first
    assert [cell(model, r, 2) for r in range(2)] == ["+10", ""]

    t = TimelineModel()
    t.set_rows(
        [
            TimelineRow("e1", date(2026, 5, 2), time(13, 5), time(13, 50), Modality.VIDEO,
                        NoteStatus.RETURNED, "H0038", "Talked"),
            TimelineRow("e2", date(2026, 5, 1), None, None, Modality.IN_PERSON,
                        NoteStatus.APPROVED, "H0038", ""),
        ]
    )  # fmt: skip
    assert [cell(t, 0, c) for c in range(6)] == [
        "May 2, 2026", "1:05 pm", "45", "Telehealth video", "Returned for revision", "Talked"
    ]  # fmt: skip
    assert cell(t, 1, TimelineModel.COL_MINUTES) == ""
    assert cell(t, 0, TimelineModel.COL_STATUS, Qt.ItemDataRole.FontRole).bold()
    assert cell(t, 1, 0, ID_ROLE) == "e2"


def test_import_preview_model_marks_each_row():
    plan = ImportPlan(
        errors=[Problem(3, "date_of_birth: not a real calendar date"), Problem(3, "state bad")],
        warnings=[Problem(4, "same name and date of birth as line 2")],
    )
    preview = ImportPreview(
        "c.csv",
        ["first_name", "last_name"],
        [(2, ["A", "B"]), (3, ["C", "D"]), (4, ["A", "B"])],
        plan,
    )
    model = PreviewModel()
    model.set_preview(preview)
    assert model.columnCount() == 5
    assert [cell(model, r, 1) for r in range(3)] == [
        "Will be imported",
        "Left out",
        "Will be imported — check",
    ]
    assert cell(model, 1, 2) == "date_of_birth: not a real calendar date; state bad"
    assert cell(model, 2, 3) == "A"
    assert model.counts() == {OK: 1, BAD: 1, WARNING: 1}
    assert model.headerData(4, Qt.Orientation.Horizontal) == "last_name"


# -- flows on a real vault ------------------------------------------------------------------


@pytest.fixture
def caseload(qtbot, app_ctx):
    model = CaseloadModel()
    view = CaseloadView(model)
    qtbot.addWidget(view)
    view.attach(app_ctx)
    view.show()
    return view


def reload(qtbot, ctx, view):
    ctx.run(lambda repos: caseload_rows(repos), view.model.set_rows)
    settle(qtbot, ctx)


def test_add_participant_with_a_validation_error_then_fixed(qtbot, app_ctx, caseload):
    opened: list[str] = []
    app_ctx.open_participant.connect(opened.append)
    changed: list[frozenset] = []
    app_ctx.data_changed.connect(changed.append)
    qtbot.keyClick(caseload, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    form = caseload._dialogs[-1]
    assert isinstance(form, ParticipantForm)
    settle(qtbot, app_ctx)  # programs and payers read
    f = form.fields
    qtbot.keyClicks(f["first_name"].widget, "Odessa")
    qtbot.keyClicks(f["last_name"].widget, "Brightwater")
    qtbot.keyClicks(f["date_of_birth"].widget, "1987-02-30")
    qtbot.keyClicks(f["medicaid_id"].widget, "ND 445-5667")
    form.method_boxes["email"].setChecked(True)
    form.submit()
    assert form.problems_shown() == {
        "date_of_birth": "Not a real calendar date",
        "email": "E-mail is a contact method: add the address",
    }
    assert f["date_of_birth"].error.isVisible() and form.banner.isVisible()
    assert f["date_of_birth"].widget.text() == "1987-02-30"  # nothing typed is lost
    assert f["first_name"].widget.text() == "Odessa"
    assert not app_ctx.tasks.busy  # nothing was sent to the database
    assert ctx_repos(app_ctx).participants.count() == 0

    f["date_of_birth"].widget.clear()
    qtbot.keyClicks(f["date_of_birth"].widget, "2/3/1987")
    assert not f["date_of_birth"].error.isVisible()  # the message goes as the field is fixed
    qtbot.keyClicks(f["email"].widget, "odessa@example.org")
    with qtbot.waitSignal(form.saved, timeout=10_000):
        form.submit()
    settle(qtbot, app_ctx)
    (p,) = ctx_repos(app_ctx).participants.list()
    assert (p.first_name, p.date_of_birth, p.medicaid_id) == (
        "Odessa",
        date(1987, 2, 3),
        "ND4455667",
    )
    assert p.contact_methods == ("email",)
    assert opened == [p.id]
    assert frozenset({"participants"}) in changed
    assert not form.isVisible()


def _register_odessa_again(qtbot, app_ctx, caseload, first: str, last: str, born: str):
    """Odessa Brightwater is on the caseload; the add form is filled in and submitted
    for her again, as typed. Returns (her record, the form)."""
    known = add_person(ctx_repos(app_ctx), "Odessa", "Brightwater", date_of_birth=date(1987, 5, 2))
    form = caseload.add_participant()
    settle(qtbot, app_ctx)
    for name, text in (("first_name", first), ("last_name", last), ("date_of_birth", born)):
        form.fields[name].widget.setText(text)
    form.submit()
    settle(qtbot, app_ctx)
    return known, form


def test_duplicate_warning_then_knowingly_saved(qtbot, app_ctx, caseload):
    first, form = _register_odessa_again(
        qtbot, app_ctx, caseload, "ODESSA", "brightwater", "5/2/1987"
    )
    assert form.duplicate_box.isVisible()
    assert "Odessa Brightwater" in form.duplicate_text.text()
    assert ctx_repos(app_ctx).participants.count() == 1
    assert form.isVisible()

    opened: list[str] = []
    app_ctx.open_participant.connect(opened.append)
    with qtbot.waitSignal(form.saved, timeout=10_000):
        qtbot.mouseClick(form.save_anyway_button, Qt.MouseButton.LeftButton)
    settle(qtbot, app_ctx)
    assert ctx_repos(app_ctx).participants.count() == 2
    assert opened and opened[0] != first.id


def test_duplicate_warning_can_open_the_existing_record(qtbot, app_ctx, caseload):
    first, form = _register_odessa_again(
        qtbot, app_ctx, caseload, "Odessa", "Brightwater", "1987-05-02"
    )
    with qtbot.waitSignal(app_ctx.open_participant) as sig:
        form.open_existing_button.click()
    assert sig.args == [first.id]
    assert ctx_repos(app_ctx).participants.count() == 1


def test_detach_closes_dialogs_and_disables_adding(qtbot, app_ctx, caseload):
    form = caseload.add_participant()
    settle(qtbot, app_ctx)
    form.fields["first_name"].widget.setText("Odessa")
    assert form.isVisible()
    caseload.detach()
    assert not form.isVisible()
    assert not caseload.add_button.isEnabled() and not caseload.import_button.isEnabled()
    assert caseload.add_participant() is None


def test_caseload_filter_controls(qtbot, app_ctx, caseload):
    repos = ctx_repos(app_ctx)
    add_person(repos, "Odessa", "Brightwater", program="1915(i)")
    seen = add_person(repos, "Lorcan", "Featherby", program="SUD Voucher",
                      intake_date=TODAY - timedelta(days=5))  # fmt: skip
    reload(qtbot, app_ctx, caseload)
    assert caseload.model.rowCount() == 2
    assert caseload.attention_filter.itemText(1) == "Needs attention (1)"
    caseload.attention_filter.setCurrentIndex(1)
    assert caseload.proxy.rowCount() == 1
    assert caseload.count_label.text() == "Showing 1 of 2 participants"
    assert caseload.reset_filters_button.isVisible()
    caseload.program_filter.setCurrentIndex(caseload.program_filter.findData("SUD Voucher"))
    assert caseload.proxy.rowCount() == 0 and caseload.no_match_label.isVisible()
    caseload.reset_filters()
    assert caseload.proxy.rowCount() == 2 and not caseload.reset_filters_button.isVisible()
    assert seen.id in {caseload.model.participant(r).id for r in range(2)}


# -- the record page ---------------------------------------------------------------------------


@pytest.fixture
def person(app_ctx):
    repos = ctx_repos(app_ctx)
    p = add_person(repos, "Odessa", "Brightwater", program="1915(i)", pronouns="she/her")
    for d in range(3):
        at = (time(9, 0), time(9, 40))
        add_encounter(repos, p, None, repos.store.user_id, on=TODAY - timedelta(days=7 * d), at=at)
    return p


@pytest.fixture
def page(qtbot, app_ctx, person):
    pg = ParticipantPage(app_ctx)
    qtbot.addWidget(pg)
    pg.resize(1000, 700)
    pg.show()
    with qtbot.waitSignal(pg.loaded, timeout=10_000):
        pg.show_participant(person.id)
    settle(qtbot, app_ctx)
    return pg


def _views(ctx, record_id: str) -> int:
    """How many views of the record the audit log holds."""
    sql = "SELECT count(*) FROM audit_log WHERE action = 'view' AND record_id = ?"
    return ctx_repos(ctx).store.conn.execute(sql, (record_id,)).fetchone()[0]


def test_opening_a_record_shows_it_and_audits_the_view(qtbot, app_ctx, page, person):
    assert page.name_label.text() == "Odessa Brightwater"
    assert "1915(i)" in page.summary_label.text()
    assert page.profile["pronouns"].text() == "she/her"
    assert page.timeline_model.rowCount() == 3
    views = _views(app_ctx, person.id)
    assert views == 1
    app_ctx.broadcast(Changed.of("encounters"))  # a refresh is not a new view
    settle(qtbot, app_ctx)
    views_after = _views(app_ctx, person.id)
    assert views_after == 1
    page.clear()
    assert page.name_label.text() == "" and page.timeline_model.rowCount() == 0
    assert all(lab.text() == "" for lab in page.profile.values())


def test_timeline_double_click_and_new_note_emit_open_note(qtbot, app_ctx, page, person):
    page.tabs.setCurrentIndex(TAB_TIMELINE)
    first = page.timeline_model.row_at(0)
    assert first.service_date == TODAY  # newest first
    rect = page.timeline_table.visualRect(page.timeline_model.index(0, 0))
    emitted: list[tuple[str, str]] = []
    app_ctx.open_note.connect(lambda e, p: emitted.append((e, p)))
    viewport = page.timeline_table.viewport()
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())
    assert emitted == [(first.id, person.id)]  # once per double-click
    page.timeline_table.setFocus()
    page.timeline_table.selectRow(1)
    qtbot.keyClick(page.timeline_table, Qt.Key.Key_Return)
    assert emitted[-1] == (page.timeline_model.row_at(1).id, person.id)
    with qtbot.waitSignal(app_ctx.open_note) as sig:
        qtbot.mouseClick(page.new_note_button, Qt.MouseButton.LeftButton)
    assert sig.args == ["", person.id]


def test_consent_add_then_revoke(qtbot, app_ctx, page, person):
    dialog = page.add_consent()
    dialog.fields["recipient"].widget.setText("County social services")
    dialog.submit()  # Part 2 is missing purpose, scope, who discloses, expiry
    assert set(dialog.problems_shown()) == {
        "disclosing_party",
        "purpose",
        "information_scope",
        "expires_on",
    }
    assert dialog.fields["recipient"].widget.text() == "County social services"
    dialog.fields["disclosing_party"].widget.setText("Prairie Path")
    dialog.fields["purpose"].widget.setText("Housing")
    dialog.fields["information_scope"].widget.setPlainText("Attendance only")
    dialog.fields["expires_on"].widget.setText((TODAY + timedelta(days=10)).isoformat())
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        dialog.submit()
    settle(qtbot, app_ctx)
    assert page.consent_model.rowCount() == 1
    assert page.consent_model.data(page.consent_model.index(0, 0)) == "Expires in 10 days"
    assert "Consent ends in 10 days" in [f.text for f in page.record.row.flags]

    page.consent_table.selectRow(0)
    assert page.revoke_button.isEnabled()
    revoke = page.revoke_consent()
    revoke.fields["revocation_note"].widget.setPlainText("")
    revoke.submit()
    assert "revocation_note" in revoke.problems_shown()
    revoke.fields["revocation_note"].widget.setPlainText("Told me on the phone.")
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        revoke.submit()
    settle(qtbot, app_ctx)
    (stored,) = ctx_repos(app_ctx).consents.list()
    assert stored.revoked_on == TODAY and stored.revocation_note == "Told me on the phone."
    assert page.consent_model.data(page.consent_model.index(0, 0)).startswith("Revoked")
    page.consent_table.selectRow(0)
    assert not page.revoke_button.isEnabled()


def test_goal_add_and_tick_a_step(qtbot, app_ctx, page, person):
    dialog = page.add_goal(RecoveryDomain.HOME)
    dialog.fields["statement"].widget.setPlainText("I want my own place.")
    dialog.steps_edit.setPlainText("Fill out the application\nSave for the deposit\nMove in")
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        dialog.submit()
    settle(qtbot, app_ctx)
    (card,) = page.goal_cards.values()
    assert card.goal.domain is RecoveryDomain.HOME
    assert card.parentWidget() is page.domain_boxes[RecoveryDomain.HOME]
    assert card.progress.value() == 0 and card.progress.maximum() == 3

    page.tabs.setCurrentIndex(TAB_GOALS)
    box = card.boxes[1]
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(10, box.height() // 2))
    settle(qtbot, app_ctx)
    (goal,) = ctx_repos(app_ctx).goals.list()
    assert goal.steps_done == (1,)
    card = page.goal_cards[goal.id]
    assert card.boxes[1] is box  # ticked in place: focus stays where it was
    assert box.isChecked() and card.progress.value() == 1
    assert card.progress.text() == "1 of 3 steps"


def test_barc10_add_and_the_charts_data(qtbot, app_ctx, page, person):
    ctx_repos(app_ctx).barc10.add(
        Barc10(participant_id=person.id, assessed_on=TODAY - timedelta(days=90), scores=(3,) * 10)
    )
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        page.refresh()
    assert page.chart.points() == [(TODAY - timedelta(days=90), 30)]
    dialog = page.add_barc10()
    for i, group in enumerate(dialog.groups[:9]):
        group.button(4 if i % 2 else 5).click()
    dialog.submit()
    assert dialog.problems_shown() == {"item10": "Choose an answer from 1 to 6"}
    assert "(9 of 10 answered)" in dialog.total_label.text()
    dialog.groups[9].button(6).click()
    assert dialog.total_label.text().startswith("Total 47 of 60")
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        dialog.submit()
    settle(qtbot, app_ctx)
    assert page.chart.points() == [(TODAY - timedelta(days=90), 30), (TODAY, 47)]
    positions = page.chart.point_positions()
    assert positions[1].y() < positions[0].y()  # higher total, higher on the chart
    assert "from 30" in page.chart.accessibleDescription()
    assert page.barc_model.data(page.barc_model.index(0, 2)) == "+17"
    page.chart.grab()  # paints without error


def test_edit_profile_from_the_page(qtbot, app_ctx, page, person):
    form = page.edit_profile()
    settle(qtbot, app_ctx)
    assert form.fields["first_name"].widget.text() == "Odessa"
    assert form.fields["program"].widget.currentData() == "1915(i)"
    form.fields["preferred_name"].widget.setText("Dess")
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        form.submit()
    assert page.name_label.text() == "Dess Brightwater"
    assert ctx_repos(app_ctx).participants.require(person.id).preferred_name == "Dess"


def test_record_page_clear_closes_its_dialogs(qtbot, app_ctx, page):
    dialog = page.add_goal()
    assert dialog.isVisible()
    page.clear()
    assert not dialog.isVisible()


# -- import ---------------------------------------------------------------------------------------


def test_import_preview_with_a_bad_row_then_import(qtbot, app_ctx, caseload, tmp_path):
    path = tmp_path / "caseload.csv"
    path.write_text(
        "first_name,last_name,date_of_birth,medicaid_id,county,program\n"
        "Odessa,Brightwater,1987-05-02,ND4455667,Cass,1915(i)\n"
        "Lorcan,Featherby,1990-13-01,ND1122334,Ward,SUD Voucher\n"
        "Thaddeus,Quillon,1995-01-20,MN5566778,Clay,MN Medical Assistance\n",
        encoding="utf-8",
    )
    dialog = caseload.import_participants()
    assert isinstance(dialog, ImportDialog)
    dialog.load_file(path)
    settle(qtbot, app_ctx)
    assert dialog.model.rowCount() == 3
    assert dialog.model.data(dialog.model.index(1, 1)) == "Left out"
    assert "date_of_birth" in dialog.model.data(dialog.model.index(1, 2))
    assert dialog.import_button.isEnabled()
    assert dialog.import_button.text() == "Import 2 participants"
    assert "2 rows will be imported; 1 left out" in dialog.summary.text()
    assert ctx_repos(app_ctx).participants.count() == 0

    with qtbot.waitSignal(dialog.imported, timeout=10_000) as sig:
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    settle(qtbot, app_ctx)
    assert sig.args == [2]
    names = sorted(p.first_name for p in ctx_repos(app_ctx).participants.list())
    assert names == ["Odessa", "Thaddeus"]
    assert "Imported 2 participants. 1 rows were left out" in dialog.summary.text()
    assert not dialog.import_button.isVisible()


def test_import_of_an_unusable_file_says_why_and_imports_nothing(
    qtbot, app_ctx, caseload, tmp_path
):
    path = tmp_path / "people.csv"
    path.write_text("name,birthday\nOdessa Brightwater,1987-05-02\n", encoding="utf-8")
    dialog = caseload.import_participants()
    dialog.load_file(path)
    settle(qtbot, app_ctx)
    assert dialog.error.isVisible() and "missing column" in dialog.error.text()
    assert not dialog.import_button.isEnabled()
    dialog.load_file(tmp_path / "gone.csv")
    settle(qtbot, app_ctx)
    assert "does not exist" in dialog.error.text()
    assert ctx_repos(app_ctx).participants.count() == 0
