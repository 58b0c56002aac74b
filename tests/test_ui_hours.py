"""The Hours page on a real vault and the real database worker: notes appear as
direct service, travel with miles and training with evidence are added through the
form (which checks in place and keeps what was typed), totals, progress and the
chart follow, entries are edited and deleted (tombstones). Plus the page's models
without widgets."""

from __future__ import annotations

import dataclasses
from datetime import date
from datetime import time

import pytest
from PySide6.QtCore import Qt

from app.domain import hours
from app.domain.records import Credential
from app.domain.records import Encounter
from app.domain.records import NoteStatus
from app.domain.records import ServiceSetting
from app.domain.records import TimeCategory
from app.domain.records import TimeEntry
from app.services.changes import Changed
from app.ui.common.table_model import CATEGORY_ROLE
from app.ui.hours.hours_page import HoursPage
from app.ui.hours.models import EntriesModel
from app.ui.hours.models import WeekModel
from tests.helpers import add_person
from tests.ui_support import ctx_repos
from tests.ui_support import settle
from tests.ui_support import shown

TODAY = date(2026, 3, 6)  # a Friday
MON, TUE = date(2026, 3, 2), date(2026, 3, 3)
DIRECT, TRAVEL, TRAINING = TimeCategory.DIRECT, TimeCategory.TRAVEL, TimeCategory.TRAINING


def note(repos, person, day, start, end, **kw) -> Encounter:
    return repos.encounters.add(
        Encounter(
            participant_id=person.id,
            specialist_id=repos.store.user_id,
            service_date=day,
            start_time=time.fromisoformat(start),
            end_time=time.fromisoformat(end),
            goal_text="Invented practice note",
            **kw,
        )
    )


@pytest.fixture
def setup(qtbot, app_ctx):
    repos = ctx_repos(app_ctx)
    me = repos.users.require(repos.store.user_id)
    repos.users.update(
        dataclasses.replace(
            me,
            display_name="Wren Test",
            credential=Credential.ND_CPSS_I,
            certified_on=date(2025, 1, 15),
            recertify_by=date(2027, 1, 15),
        )
    )
    ada = add_person(repos, "Ada", "Quillfeather")
    bo = add_person(repos, "Bo", "Strandberg")
    notes = [
        note(repos, ada, MON, "09:00", "10:00"),
        note(repos, ada, TUE, "13:00", "13:50"),
        # one 30-minute group written for two people: 30 minutes of the specialist's day
        note(repos, ada, TUE, "15:00", "15:30", setting=ServiceSetting.GROUP, group_size=2),
        note(repos, bo, TUE, "15:00", "15:30", setting=ServiceSetting.GROUP, group_size=2),
        note(repos, bo, date(2026, 2, 20), "10:00", "12:00"),  # an earlier week
    ]
    return shown(qtbot, HoursPage(app_ctx, today=lambda: TODAY), app_ctx, (1000, 900)), notes


def cell(page: HoursPage, category: TimeCategory | None, day: date | None) -> int:
    row = hours.SHEET_CATEGORIES.index(category) if category else len(hours.SHEET_CATEGORIES)
    col = (day - page.week).days + 1 if day else hours.DAYS_IN_WEEK + 1
    return page.week_model.minutes(row, col)


def fill(page: HoursPage, **values) -> None:
    ed = page.editor
    if "category" in values:
        ed.category.setCurrentIndex(ed.category.findData(values.pop("category").value))
    for name, value in values.items():
        widget = getattr(ed, name)
        if isinstance(value, bool):
            widget.setChecked(value)
        else:
            widget.setText(value)


def save(qtbot, page: HoursPage) -> None:
    loads = page.loads
    qtbot.mouseClick(page.editor.save_button, Qt.MouseButton.LeftButton)
    settle(qtbot, page.ctx)
    assert page.loads > loads or page.editor.isVisible()


def test_notes_appear_as_direct_service_read_only(qtbot, setup):
    page, notes = setup
    assert page.week == MON
    assert cell(page, DIRECT, MON) == 60
    assert cell(page, DIRECT, TUE) == 50 + 30
    assert cell(page, None, None) == 140
    services = [r for r in page.entries_model.rows if r.service is not None]
    assert len(services) == 4 and not any(r.editable for r in services)
    assert "Ada Quillfeather" in services[0].details and "9:00 AM – 10:00 AM" in services[0].details
    # Enter on a note's row opens it in the editor
    page.entries.setFocus()
    page.entries.selectRow(0)
    with qtbot.waitSignal(page.ctx.open_note) as sig:
        qtbot.keyClick(page.entries, Qt.Key.Key_Return)
    assert sig.args == [notes[0].id, notes[0].participant_id]
    assert not page.edit_button.isEnabled() and not page.delete_button.isEnabled()
    # a void note leaves the sheet
    repos = ctx_repos(page.ctx)
    repos.encounters.void(notes[0].id, page.ctx.user, "entered twice")
    page.ctx.broadcast(Changed.of("encounters"))
    settle(qtbot, page.ctx)
    assert cell(page, DIRECT, MON) == 0


def test_add_travel_with_miles_checks_in_place_and_updates_totals(qtbot, setup):
    page, _ = setup
    qtbot.keyClick(page, Qt.Key.Key_Insert)
    assert page.entry_stack.currentWidget() is page.editor
    assert page.editor.entry_date.date().toPython() == TODAY
    fill(page, category=TRAVEL, duration="0:40", miles="23.4", travel_from="Office")
    page.editor.entry_date.setDate(TUE)
    save(qtbot, page)
    # nothing saved; messages next to the fields; what was typed is still there
    assert page.editor.isVisible()
    assert "where the trip went" in page.editor.problem("travel_to")
    assert "what the trip was for" in page.editor.problem("purpose")
    assert page.editor.errors["purpose"].isVisible()
    assert page.editor.miles.text() == "23.4" and page.editor.travel_from.text() == "Office"
    assert ctx_repos(page.ctx).time_entries.count() == 0
    fill(page, travel_to="Home visit, Minot", purpose="Home visit", miles="abc")
    save(qtbot, page)
    assert "as a number" in page.editor.problem("miles")
    assert page.editor.problem("purpose") == ""
    fill(page, miles="23.4")
    save(qtbot, page)
    assert page.entry_stack.currentIndex() == 0
    saved = ctx_repos(page.ctx).time_entries.list()
    assert [(e.category, e.minutes, e.miles, e.entry_date) for e in saved] == [
        (TRAVEL, 40, 23.4, TUE)
    ]
    assert cell(page, TRAVEL, TUE) == 40
    assert cell(page, None, TUE) == 80 + 40
    assert cell(page, None, None) == 180
    assert "23.4 miles" in page.sheet_summary.text()
    row = next(r for r in page.entries_model.rows if r.category is TRAVEL)
    assert row.details == "Office → Home visit, Minot · 23.4 mi · Home visit"
    assert page.edit_button.isEnabled()  # the new entry is selected
    assert page.chart.bars[-1].minutes[TRAVEL] == 40


def test_a_ce_entry_with_evidence_counts_toward_recertification(qtbot, setup):
    page, _ = setup
    assert page.ce_card.bar.format() == "0 min of 20 h"
    page.add_entry(MON, TRAINING)
    fill(page, duration="3h", ce_title="Ethics and boundaries refresher")
    save(qtbot, page)
    assert "who gave the training" in page.editor.problem("ce_provider")
    fill(
        page,
        ce_provider="Invented Peer Academy",
        ce_evidence="Cert CE-2026-0042",
        ce_is_ethics=True,
    )
    save(qtbot, page)
    e = ctx_repos(page.ctx).time_entries.list()[0]
    assert (e.category, e.minutes, e.ce_evidence, e.ce_is_ethics) == (
        TRAINING,
        180,
        "Cert CE-2026-0042",
        True,
    )
    assert cell(page, TRAINING, MON) == 180
    assert page.ce_card.bar.format() == "3 h of 20 h"
    assert "Ethics: 3 h of 1 h ✓" in page.ce_card.lines.text()
    assert "Recertify by Jan 15, 2027" in page.ce_card.lines.text()
    assert page.ce_card.warning.isHidden()
    # one without evidence is flagged
    page.add_entry(TUE, TRAINING)
    fill(page, duration="1:30", ce_title="Motivational interviewing", ce_provider="Invented Board")
    save(qtbot, page)
    assert page.ce_card.bar.format() == "4 h 30 min of 20 h"
    assert "no certificate or evidence" in page.ce_card.warning.text()


def test_cpss_ii_progress_counts_every_direct_minute(qtbot, setup):
    page, _ = setup
    # 60 + 50 + 30 (the group once) + 120 in February = 260 minutes = 4.3 h
    assert page.snapshot.direct_total_minutes == 260
    assert page.cpss_card.bar.format() == "4 h 20 min of 1,500 h"
    assert "1,495 h 40 min of direct service to go" in page.cpss_card.lines.text()
    repos = ctx_repos(page.ctx)
    me = repos.users.require(repos.store.user_id)
    repos.users.update(dataclasses.replace(me, credential=Credential.ND_CPSS_II))
    page.ctx.broadcast(Changed.of("users"))
    settle(qtbot, page.ctx)
    assert page.cpss_card.bar.format() == "CPSS II held"


def test_edit_and_delete_leave_a_tombstone(qtbot, setup):
    page, _ = setup
    repos = ctx_repos(page.ctx)
    entry = repos.time_entries.add(
        TimeEntry(
            specialist_id=repos.store.user_id,
            entry_date=MON,
            category=TimeCategory.DOCUMENTATION,
            minutes=25,
            purpose="Service notes",
        )
    )
    page.ctx.broadcast(Changed.of("time_entries"))
    settle(qtbot, page.ctx)
    row = next(i for i, r in enumerate(page.entries_model.rows) if r.record_id == entry.id)
    page.entries.selectRow(row)
    qtbot.mouseClick(page.edit_button, Qt.MouseButton.LeftButton)
    assert page.editor.duration.text() == "25 min"
    fill(page, duration="0:45")
    save(qtbot, page)
    assert repos.time_entries.require(entry.id).minutes == 45
    assert cell(page, TimeCategory.DOCUMENTATION, MON) == 45

    row = next(i for i, r in enumerate(page.entries_model.rows) if r.record_id == entry.id)
    page.entries.selectRow(row)
    page.entries.setFocus()
    qtbot.keyClick(page.entries, Qt.Key.Key_Delete)
    assert (
        page.confirm.isVisible() and "documentation entry of Mon, Mar 2" in page.confirm_text.text()
    )
    qtbot.mouseClick(page.confirm_no, Qt.MouseButton.LeftButton)
    assert not page.confirm.isVisible() and not repos.time_entries.require(entry.id).deleted
    qtbot.mouseClick(page.delete_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(page.confirm_yes, Qt.MouseButton.LeftButton)
    settle(qtbot, page.ctx)
    assert repos.time_entries.require(entry.id).deleted  # the row stays, as a tombstone
    assert repos.time_entries.count() == 0
    assert cell(page, TimeCategory.DOCUMENTATION, MON) == 0
    assert all(r.record_id != entry.id for r in page.entries_model.rows)


def test_a_day_over_24_hours_is_refused_next_to_the_time(qtbot, setup):
    page, _ = setup
    page.add_entry(MON, TimeCategory.OTHER)
    fill(page, duration="23:30", purpose="Invented all-day event")
    save(qtbot, page)  # Monday already has an hour of notes
    assert page.editor.isVisible()
    assert "at most 23 h more fits" in page.editor.problem("duration")
    assert page.editor.duration.text() == "23:30"  # as typed
    assert ctx_repos(page.ctx).time_entries.count() == 0
    fill(page, duration="23:00")
    save(qtbot, page)
    assert cell(page, None, MON) == 24 * 60


def test_future_dates_and_direct_cells_are_not_typed(qtbot, setup):
    page, _ = setup
    messages = []
    page.ctx.status_message.connect(messages.append)
    direct_mon = page.week_model.index(0, 1)
    page.sheet.activated.emit(direct_mon)
    assert page.entry_stack.currentIndex() == 0 and "from your notes" in messages[-1]
    saturday = page.week_model.index(1, 6)
    page.sheet.activated.emit(saturday)
    assert page.entry_stack.currentIndex() == 0 and "already done" in messages[-1]
    thursday_travel = page.week_model.index(1, 4)
    page.sheet.activated.emit(thursday_travel)
    assert page.editor.isVisible() and page.editor.kind() is TRAVEL
    assert page.editor.entry_date.date().toPython() == date(2026, 3, 5)
    fill(page, duration="1:00", purpose="Drive")
    qtbot.keyClick(page.editor.duration, Qt.Key.Key_Escape)
    assert page.entry_stack.currentIndex() == 0
    assert ctx_repos(page.ctx).time_entries.count() == 0


def test_week_navigation_and_chart(qtbot, setup):
    page, _ = setup
    assert not page.next_button.isEnabled()
    assert "this week" in page.week_label.text()
    bars = page.chart.bars
    assert len(bars) == 12 and bars[-1].start == MON
    assert bars[-1].minutes[DIRECT] == 140
    assert bars[-3].start == date(2026, 2, 16) and bars[-3].minutes[DIRECT] == 120
    assert "Week of Mar 2: 2 h 20 min" in page.chart.accessibleDescription()
    qtbot.keyClick(page, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    settle(qtbot, page.ctx)
    assert page.week == date(2026, 2, 23) and cell(page, None, None) == 0
    assert page.next_button.isEnabled()
    with qtbot.waitSignal(page.chart.week_clicked) as sig:
        page.chart.setFocus()
        qtbot.keyClick(page.chart, Qt.Key.Key_Left)
    settle(qtbot, page.ctx)
    assert sig.args == [date(2026, 2, 16)]
    assert page.week == date(2026, 2, 16) and cell(page, DIRECT, date(2026, 2, 20)) == 120
    assert page.chart.selected == date(2026, 2, 16)
    page.show_week(date(2030, 1, 1))  # never past this week
    settle(qtbot, page.ctx)
    assert page.week == MON


def test_clear_forgets_everything(qtbot, setup):
    page, _ = setup
    page.add_entry(MON, TRAVEL)
    fill(page, duration="0:30", travel_from="Office")
    page.clear()
    assert page.week_model.rowCount() == 0 and page.entries_model.rowCount() == 0
    assert page.chart.bars == [] and page.editor.travel_from.text() == ""
    assert page.cpss_card.lines.text() == "" and page.sheet_summary.text() == ""
    assert page.entry_stack.currentIndex() == 0


# -- models without widgets -------------------------------------------------------------------


def test_week_model_cells_totals_and_today(qtbot):
    entries = [
        TimeEntry(specialist_id="s", entry_date=TUE, category=TRAVEL, minutes=45, miles=12.0)
    ]
    spans = [hours.ServiceSpan("e1", "p1", MON, time(9), time(10, 30), status=NoteStatus.SIGNED)]
    m = WeekModel()
    assert m.rowCount() == 0
    m.set_sheet(hours.build_week(MON, spans, entries), TODAY)
    assert (m.rowCount(), m.columnCount()) == (7, 9)
    assert m.headerData(1, Qt.Orientation.Horizontal) == "Mon 2"
    assert m.headerData(5, Qt.Orientation.Horizontal, Qt.ItemDataRole.FontRole).bold()  # Fri 6
    assert m.data(m.index(0, 0)) == "Direct service"
    assert m.data(m.index(0, 1)) == "1h 30m"
    assert m.data(m.index(1, 1)) == "–"
    assert m.data(m.index(6, 0)) == "Total"
    assert m.data(m.index(6, 2)) == "45m"
    assert m.data(m.index(6, 8)) == "2h 15m"
    assert m.data(m.index(1, 8)) == "45m"
    assert m.data(m.index(1, 2), Qt.ItemDataRole.AccessibleTextRole) == "Travel, Tue, Mar 3: 45 min"
    assert m.data(m.index(1, 2), CATEGORY_ROLE) is TRAVEL


def test_entries_model_lists_notes_and_entries_by_day(qtbot):
    training = TimeEntry(
        specialist_id="s",
        entry_date=MON,
        category=TRAINING,
        minutes=60,
        ce_title="Trauma-informed care",
        ce_provider="Invented Academy",
        ce_is_ethics=True,
    )
    spans = [hours.ServiceSpan("e1", "p1", TUE, time(9), time(9, 40), ServiceSetting.GROUP)]
    m = EntriesModel()
    m.set_week(hours.build_week(MON, spans, [training]), {"p1": "Ada Quillfeather"})
    assert m.rowCount() == 2
    assert [m.data(m.index(r, 1)) for r in range(2)] == ["Training / CE", "Direct service"]
    assert m.data(m.index(0, 3)) == (
        "Trauma-informed care — Invented Academy · no evidence recorded · ethics"
    )
    assert m.data(m.index(1, 3)) == "Ada Quillfeather · 9:00 AM – 9:40 AM · group · note draft"
    assert m.data(m.index(1, 0)) == "Tue, Mar 3" and m.data(m.index(1, 2)) == "40 min"
    assert m.row(0).editable and not m.row(1).editable


def test_an_open_form_comes_back_after_a_lock(qtbot, setup):
    page, _ = setup
    page.show_week(date(2026, 2, 23))
    settle(qtbot, page.ctx)
    page.add_entry(date(2026, 2, 24), TRAVEL)
    fill(page, duration="0:35", travel_from="Office", miles="18")
    state = page.state()
    page.clear()
    assert page.editor.travel_from.text() == ""
    again = HoursPage(page.ctx, today=lambda: TODAY)
    qtbot.addWidget(again)
    again.restore(state)
    again.show()
    settle(qtbot, page.ctx)
    assert again.week == date(2026, 2, 23)
    assert again.entry_stack.currentWidget() is again.editor
    assert again.editor.kind() is TRAVEL
    assert again.editor.entry_date.date().toPython() == date(2026, 2, 24)
    assert (again.editor.duration.text(), again.editor.miles.text()) == ("0:35", "18")
    assert again.editor.travel_from.text() == "Office"
