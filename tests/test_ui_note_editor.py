"""The note editor on a real vault, with the real database worker and Qt event
loop (offscreen): write and autosave, the timer, units by the payer's rule, sign
with the passphrase, the locked note, addenda, a returned note, a full disk."""

from __future__ import annotations

import dataclasses
from datetime import date
from datetime import datetime
from datetime import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton
from PySide6.QtWidgets import QAbstractSpinBox
from PySide6.QtWidgets import QComboBox
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QListWidget
from PySide6.QtWidgets import QPlainTextEdit
from PySide6.QtWidgets import QWidget

from app.domain.records import Encounter
from app.domain.records import Modality
from app.domain.records import NoteStatus
from app.domain.records import Participant
from app.domain.records import Role
from app.domain.records import RoundingRuleName
from app.domain.records import User
from app.store.db import Store
from app.store.repositories import Repositories
from app.store.vault import Vault
from app.ui.common.table_model import ID_ROLE
from app.ui.notes.note_editor import NoteEditorPage
from tests.builders import add_encounter
from tests.conftest import PASSPHRASE
from tests.note_support import FakeClock
from tests.note_support import person_with_goals
from tests.ui_support import ctx_repos
from tests.ui_support import settle

NOW = datetime(2025, 3, 4, 10, 2, 30)


def make_page(qtbot, ctx, clock=None) -> NoteEditorPage:
    page = NoteEditorPage(ctx, clock=clock or FakeClock(NOW))
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    return page


def open_note(qtbot, page: NoteEditorPage, encounter_id: str, participant_id: str = "") -> None:
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        page.open_note(encounter_id, participant_id)


COMPLETE = {  # the parts of a GIRP note that passes every signing check
    "goal_text": "Housing before winter",
    "intervention": "Went through two rental listings",
    "response": "Chose one to call",
    "plan": "Call Thursday; meet next week",
}


QUIET = 10 * 60 * 1000  # an autosave delay no test reaches


def new_note(qtbot, ctx, autosave_ms: int | None = None) -> tuple[NoteEditorPage, Participant]:
    """A page holding a new note of a new person with goals (see person_with_goals);
    ``autosave_ms``: the page's autosave delay, if not its own."""
    p, _goals, _payer = person_with_goals(ctx_repos(ctx))
    page = make_page(qtbot, ctx)
    if autosave_ms is not None:
        page.autosave_ms = autosave_ms
    open_note(qtbot, page, "", p.id)
    return page, p


def fill(qtbot, page: NoteEditorPage, times: tuple[str, str], goal_row: int, **texts) -> None:
    """Type the start and end ``times``, tick the goal in row ``goal_row`` and type each
    of ``texts`` into its part of the note (goal_text, intervention, data...)."""
    qtbot.keyClicks(page.start_edit, times[0])
    qtbot.keyClicks(page.end_edit, times[1])
    page.goals_list.item(goal_row).setCheckState(Qt.CheckState.Checked)
    for part, text in texts.items():
        qtbot.keyClicks(page.text_edits[part], text)


def fill_complete(qtbot, page: NoteEditorPage) -> None:
    """A note that passes every signing check."""
    fill(qtbot, page, ("9:30", "10:15 am"), 0, **COMPLETE)


def signed_note(repos: Repositories, pid: str, goal_id: str, user: User) -> Encounter:
    girp = ("Walking", "Walked and talked", "Felt calmer", "Walk again Friday")
    at = (time(13, 0), time(13, 40))
    note = add_encounter(repos, pid, goal_id, user, on=date(2025, 3, 3), at=at, girp=girp)
    return repos.encounters.sign(note.id, user)


def open_signed(qtbot, ctx) -> tuple[NoteEditorPage, Encounter]:
    """A page holding a note of a new person (toward their second goal) signed by the
    context's user."""
    repos = ctx_repos(ctx)
    p, goals, _payer = person_with_goals(repos)
    note = signed_note(repos, p.id, goals[1].id, ctx.user)
    page = make_page(qtbot, ctx)
    open_note(qtbot, page, note.id)
    return page, note


def supervisor(repos: Repositories) -> User:
    return repos.users.add(
        User(username="sup-test", display_name="Orla Supervisa", role=Role.SUPERVISOR)
    )


# -- writing and saving ----------------------------------------------------------------


def test_a_new_note_is_not_saved_until_something_is_typed(qtbot, app_ctx):
    page, p = new_note(qtbot, app_ctx)
    assert "Wrenna Halvorsby" in page.heading.text()
    assert page.date_edit.date().toPython() == NOW.date()
    # Only active goals are offered.
    texts = [page.goals_list.item(i).text() for i in range(page.goals_list.count())]
    assert len(texts) == 2 and not any("old goal" in t for t in texts)
    page.save_now()
    settle(qtbot, app_ctx)
    assert ctx_repos(app_ctx).encounters.count() == 0
    assert page.state() == {"encounter_id": "", "participant_id": p.id}


def test_typing_autosaves_and_the_note_reopens_with_the_text(qtbot, app_ctx):
    page, p = new_note(qtbot, app_ctx, 50)
    with qtbot.waitSignal(page.saved, timeout=10_000) as saved:
        qtbot.keyClicks(page.text_edits["response"], "Talked through the week")
    settle(qtbot, app_ctx)
    note_id = saved.args[0]
    assert page.save_state.text() == "Saved 10:02 AM"
    stored = ctx_repos(app_ctx).encounters.get(note_id)
    assert stored is not None and stored.response == "Talked through the week"
    assert stored.status is NoteStatus.DRAFT and stored.payer_id == p.payer_id

    with qtbot.waitSignal(page.saved, timeout=10_000):
        qtbot.keyClicks(page.text_edits["response"], ", and the bus pass")
    settle(qtbot, app_ctx)
    assert ctx_repos(app_ctx).encounters.count() == 1  # the same draft, updated

    other = make_page(qtbot, app_ctx)
    open_note(qtbot, other, note_id)
    assert other.text_edits["response"].toPlainText() == "Talked through the week, and the bus pass"
    assert other.save_state.text() == "Draft saved"


def test_leaving_a_field_saves_at_once(qtbot, app_ctx):
    page, _p = new_note(qtbot, app_ctx, QUIET)  # only the focus change can save here
    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow)
    page.text_edits["intervention"].setFocus()
    qtbot.waitUntil(lambda: page.text_edits["intervention"].hasFocus())
    qtbot.keyClicks(page.text_edits["intervention"], "Shared a budgeting sheet")
    assert page.dirty
    with qtbot.waitSignal(page.saved, timeout=10_000):
        page.text_edits["plan"].setFocus()
    settle(qtbot, app_ctx)
    assert not page.dirty
    [stored] = ctx_repos(app_ctx).encounters.list()
    assert stored.intervention == "Shared a budgeting sheet"


def test_ctrl_s_saves_now(qtbot, app_ctx):
    page, _p = new_note(qtbot, app_ctx, QUIET)
    qtbot.keyClicks(page.text_edits["goal_text"], "Steady housing")
    with qtbot.waitSignal(page.saved, timeout=10_000):
        qtbot.keyClick(
            page.text_edits["goal_text"], Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier
        )
    settle(qtbot, app_ctx)
    assert ctx_repos(app_ctx).encounters.list()[0].goal_text == "Steady housing"


def test_closing_with_an_unsaved_draft_saves_it(qtbot, app_ctx):
    """What the main window does on close: save_now(), drop late results, close the
    store after everything queued."""
    page, p = new_note(qtbot, app_ctx, QUIET)
    qtbot.keyClicks(page.text_edits["plan"], "Meet at the library Monday")
    note_id = page.current_note_id()
    vault_dir = app_ctx.session.vault.dir
    page.save_now()
    assert page.state() == {"encounter_id": note_id, "participant_id": p.id}
    app_ctx.deactivate()
    page.clear()
    assert page.text_edits["plan"].toPlainText() == ""
    app_ctx.tasks.shutdown(final=app_ctx.session.close)

    v = Vault(vault_dir)
    v.unlock(PASSPHRASE)
    s = Store.open(v)
    try:
        assert Repositories(s).encounters.require(note_id).plan == "Meet at the library Monday"
    finally:
        s.close()


def test_restore_after_unlock_opens_the_same_note(qtbot, app_ctx):
    page, _p = new_note(qtbot, app_ctx, 50)
    with qtbot.waitSignal(page.saved, timeout=10_000):
        qtbot.keyClicks(page.text_edits["data"], "x")  # hidden DAP field still saves
        qtbot.keyClicks(page.text_edits["response"], "Kept")
    state = page.state()
    fresh = make_page(qtbot, app_ctx)
    with qtbot.waitSignal(fresh.loaded, timeout=10_000):
        fresh.restore(state)
    assert fresh.current_note_id() == state["encounter_id"]
    assert fresh.text_edits["response"].toPlainText() == "Kept"


def test_a_save_writes_only_what_the_person_changed(qtbot, app_ctx):
    """A field changed elsewhere (a sync) while the note is open survives the next
    autosave, which writes only the fields typed here."""
    page, _p = new_note(qtbot, app_ctx, QUIET)
    qtbot.keyClicks(page.text_edits["response"], "First words")
    with qtbot.waitSignal(page.saved, timeout=10_000):
        page.save_now()
    settle(qtbot, app_ctx)
    repos = ctx_repos(app_ctx)
    stored = repos.encounters.require(page.current_note_id())
    repos.encounters.update(stored.replace(location_note="Changed on the other laptop"))
    qtbot.keyClicks(page.text_edits["plan"], "Next week")
    with qtbot.waitSignal(page.saved, timeout=10_000):
        page.save_now()
    settle(qtbot, app_ctx)
    after = ctx_repos(app_ctx).encounters.require(page.current_note_id())
    assert after.location_note == "Changed on the other laptop"
    assert (after.response, after.plan) == ("First words", "Next week")


def test_a_running_timer_goes_on_after_lock_and_unlock(qtbot, app_ctx):
    p, _goals, _payer = person_with_goals(ctx_repos(app_ctx))
    clock = FakeClock(NOW)
    page = make_page(qtbot, app_ctx, clock)
    open_note(qtbot, page, "", p.id)
    with qtbot.waitSignal(page.saved, timeout=10_000):
        page.start_timer()
    state = page.state()
    assert state["timer_started"] == NOW.isoformat()
    page.clear()  # locked
    clock.advance(minutes=20)
    fresh = make_page(qtbot, app_ctx, clock)
    with qtbot.waitSignal(fresh.loaded, timeout=10_000):
        fresh.restore(state)
    assert fresh.timer_running and fresh.start_edit.text() == "10:02 AM"
    assert fresh.timer_clock.text() == "Running 20:00"
    fresh.stop_timer()
    assert fresh.end_edit.text() == "10:22 AM"


# -- the service timer and units --------------------------------------------------------


def test_the_timer_fills_start_and_end_and_the_units(qtbot, app_ctx):
    p, _goals, _payer = person_with_goals(ctx_repos(app_ctx))
    clock = FakeClock(NOW)
    page = make_page(qtbot, app_ctx, clock)
    open_note(qtbot, page, "", p.id)
    page.date_edit.setDate(date(2025, 3, 1))
    with qtbot.waitSignal(page.saved, timeout=10_000):  # starting saves the start time
        qtbot.keyClick(page, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    assert page.timer_running
    assert page.start_edit.text() == "10:02 AM" and page.end_edit.text() == ""
    assert page.date_edit.date().toPython() == NOW.date()
    assert page.timer_button.text() == "Stop timer"
    assert page.timer_button.accessibleName() == "Stop the service timer"
    clock.advance(minutes=37, seconds=45)
    page._tick.timeout.emit()  # the display tick, without waiting a second
    assert page.timer_clock.text() == "Running 37:45"
    assert page.units_label.text() == "37 min = 2 units"  # live while the timer runs
    with qtbot.waitSignal(page.saved, timeout=10_000):
        qtbot.keyClick(page, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    assert not page.timer_running
    assert page.end_edit.text() == "10:40 AM"
    assert page.units_label.text() == "38 min = 3 units"
    settle(qtbot, app_ctx)
    stored = ctx_repos(app_ctx).encounters.get(page.current_note_id())
    assert (stored.start_time, stored.end_time) == (time(10, 2), time(10, 40))


def test_a_timer_left_running_past_midnight_ends_the_note_at_1159(qtbot, app_ctx):
    p, _goals, _payer = person_with_goals(ctx_repos(app_ctx))
    clock = FakeClock(datetime(2025, 3, 4, 23, 40))
    page = make_page(qtbot, app_ctx, clock)
    open_note(qtbot, page, "", p.id)
    page.start_timer()
    clock.advance(minutes=45)
    page.stop_timer()
    assert (page.start_edit.text(), page.end_edit.text()) == ("11:40 PM", "11:59 PM")
    assert "past midnight" in page.time_error.text()


@pytest.mark.parametrize(
    ("rule", "start", "end", "units", "named"),
    [
        (RoundingRuleName.CMS_8_MINUTE, "9:00", "9:22", "22 min = 1 unit", "8-minute rule"),
        (RoundingRuleName.CMS_8_MINUTE, "9:00", "9:23", "23 min = 2 units", "8-minute rule"),
        (RoundingRuleName.WHOLE_UNITS, "9:00", "9:29", "29 min = 1 unit", "whole units only"),
        (RoundingRuleName.ANY_PART, "9:00", "9:16", "16 min = 2 units", "any part of a unit"),
    ],
)
def test_units_follow_the_payers_rule_as_times_are_typed(
    qtbot, app_ctx, rule, start, end, units, named
):
    p, _goals, _payer = person_with_goals(ctx_repos(app_ctx), rule=rule, payer_name="County Fund")
    page = make_page(qtbot, app_ctx)
    open_note(qtbot, page, "", p.id)
    assert page.units_label.text() == "No time yet"
    qtbot.keyClicks(page.start_edit, start)
    qtbot.keyClicks(page.end_edit, end)
    assert page.units_label.text() == units
    assert page.rule_label.text().startswith("County Fund: " + named)
    assert page.units_label.toolTip()  # the rule explained in a sentence


def test_without_a_payer_the_default_rule_is_named(qtbot, app_ctx):
    repos = ctx_repos(app_ctx)
    p, _goals, _payer = person_with_goals(repos)
    repos.participants.update(p.replace(payer_id=""))
    page = make_page(qtbot, app_ctx)
    open_note(qtbot, page, "", p.id)
    qtbot.keyClicks(page.start_edit, "9:00")
    qtbot.keyClicks(page.end_edit, "9:08")
    assert page.units_label.text() == "8 min = 1 unit"
    assert page.rule_label.text().startswith("No payer on file, so the default rule: 8-minute")


def test_an_unreadable_time_is_explained_and_kept(qtbot, app_ctx):
    page, _p = new_note(qtbot, app_ctx)
    qtbot.keyClicks(page.start_edit, "25:99")
    assert page.time_error.isVisible()
    assert "start time is not a time we can read" in page.time_error.text()
    assert page.start_edit.text() == "25:99"
    page.start_edit.clear()
    qtbot.keyClicks(page.start_edit, "10:30")
    qtbot.keyClicks(page.end_edit, "10:00")
    assert "end time must be after the start" in page.time_error.text()
    page.end_edit.clear()
    qtbot.keyClicks(page.end_edit, "1100")
    page.end_edit.editingFinished.emit()
    assert not page.time_error.isVisible()
    assert page.end_edit.text() == "11:00 AM"  # tidied when the field is left


def test_modality_and_setting_suggest_place_and_modifiers(qtbot, app_ctx):
    page, _p = new_note(qtbot, app_ctx)
    assert page.pos_combo.currentData() == "11"
    page.modality_combo.setCurrentIndex(page.modality_combo.findData(Modality.VIDEO.value))
    assert page.pos_combo.currentData() == "10"
    assert page.modifiers_edit.text() == "95"
    assert not page.group_spin.isEnabled()
    page.setting_combo.setCurrentIndex(1)  # group
    assert page.group_spin.isEnabled()
    assert page.modifiers_edit.text() == "95, HQ"
    page.modality_combo.setCurrentIndex(page.modality_combo.findData(Modality.IN_PERSON.value))
    assert page.modifiers_edit.text() == "HQ" and page.pos_combo.currentData() == "11"
    # A place the person chose stays when the modality changes.
    page.pos_combo.setCurrentIndex(page.pos_combo.findData("12"))
    page.modality_combo.setCurrentIndex(page.modality_combo.findData(Modality.AUDIO.value))
    assert page.pos_combo.currentData() == "12" and page.modifiers_edit.text() == "93, HQ"


# -- signing ---------------------------------------------------------------------------


def test_signing_problems_are_shown_next_to_the_fields(qtbot, app_ctx):
    page, _p = new_note(qtbot, app_ctx)
    qtbot.keyClicks(page.text_edits["goal_text"], "Housing")
    page.setting_combo.setCurrentIndex(1)  # group, but no size
    with qtbot.waitSignal(page.sign_refused):
        qtbot.keyClick(
            page.text_edits["goal_text"], Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier
        )
    assert page.time_error.text() == "Enter the start and end time."
    assert page.goals_error.text() == "Pick the recovery goal(s) this session worked on."
    assert page.group_error.text() == "A group service needs the number of people in the group."
    assert not page.text_errors["goal_text"].isVisible()
    assert page.text_errors["response"].text() == "Write the Response part of the note."
    assert page.sign_error.text().startswith("Not signed yet: fix what is marked (")
    assert page.text_edits["goal_text"].toPlainText() == "Housing"  # nothing discarded
    settle(qtbot, app_ctx)
    assert ctx_repos(app_ctx).encounters.list()[0].status is NoteStatus.DRAFT


def test_a_future_service_date_cannot_be_signed(qtbot, app_ctx):
    page, _p = new_note(qtbot, app_ctx)
    fill_complete(qtbot, page)
    page.date_edit.setDate(date(2025, 3, 9))
    page.sign()
    assert page.time_error.text() == "The service date is in the future."


def test_sign_with_a_wrong_then_the_right_passphrase(qtbot, app_ctx):
    page, _p = new_note(qtbot, app_ctx, QUIET)
    fill_complete(qtbot, page)
    qtbot.keyClicks(page.passphrase_edit, "not my passphrase")
    with qtbot.waitSignal(page.sign_refused, timeout=10_000):
        qtbot.keyClick(page.passphrase_edit, Qt.Key.Key_Return)
    settle(qtbot, app_ctx)
    assert "passphrase is not the one for this vault" in page.sign_error.text()
    assert page.passphrase_edit.text() == ""  # never kept
    stored = ctx_repos(app_ctx).encounters.require(page.current_note_id())
    assert stored.status is NoteStatus.DRAFT
    assert stored.plan == "Call Thursday; meet next week"  # saved before the check
    assert not page.text_edits["plan"].isReadOnly()

    qtbot.keyClicks(page.passphrase_edit, PASSPHRASE)
    with qtbot.waitSignal(page.signed, timeout=10_000):
        qtbot.keyClick(page, Qt.Key.Key_Enter, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot, app_ctx)
    stored = ctx_repos(app_ctx).encounters.require(page.current_note_id())
    assert stored.status is NoteStatus.SIGNED and stored.signed_by_id == app_ctx.user.id
    assert (stored.start_time, stored.end_time) == (time(9, 30), time(10, 15))
    assert stored.goal_ids == (page.goals_list.item(0).data(ID_ROLE),)


def test_a_signed_note_is_read_only(qtbot, app_ctx):
    page, note = open_signed(qtbot, app_ctx)
    assert page.status_chip.text() == "Signed"
    assert page.property("locked") is True
    assert page.locked_box.isVisible() and "locked" in page.locked_box.text()
    assert not page.sign_card.isVisible()
    assert all(e.isReadOnly() for e in page.text_edits.values())
    assert page.start_edit.isReadOnly() and not page.modality_combo.isEnabled()
    assert not page.timer_button.isEnabled() and page.save_state.text() == ""
    qtbot.keyClicks(page.text_edits["plan"], " extra")
    page.toggle_timer()
    page.save_now()
    assert page.text_edits["plan"].toPlainText() == "Walk again Friday"
    assert not page.dirty and not page.timer_running
    checked = page.goals_list.item(0).flags() & Qt.ItemFlag.ItemIsUserCheckable
    assert not checked
    settle(qtbot, app_ctx)
    assert ctx_repos(app_ctx).encounters.require(note.id).plan == "Walk again Friday"


def test_an_addendum_on_a_signed_note(qtbot, app_ctx):
    repos = ctx_repos(app_ctx)
    repos.users.update(dataclasses.replace(app_ctx.user, display_name="Kestrel Amundsby"))
    page, note = open_signed(qtbot, app_ctx)
    assert page.addenda_card.isVisible() and page.addenda_none.isVisible()
    qtbot.keyClicks(page.addendum_text, "The walk was 40 minutes, not 30.")
    page.addendum_button.click()
    assert page.addendum_error.text() == "Say why you are adding to the note (the reason)."
    assert page.addendum_text.toPlainText() == "The walk was 40 minutes, not 30."
    qtbot.keyClicks(page.addendum_reason, "Correcting the length of the walk")
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        page.addendum_button.click()
    [added] = ctx_repos(app_ctx).encounters.addenda(note.id)
    assert added.reason == "Correcting the length of the walk"
    assert not page.addenda_none.isVisible()
    frame = page.addenda_card.findChildren(type(page.locked_box))
    texts = " | ".join(w.text() for w in frame)
    assert "Addendum: Correcting the length of the walk" in texts
    assert "The walk was 40 minutes, not 30." in texts
    assert "Kestrel Amundsby, " in texts
    assert page.addendum_reason.text() == "" and page.addendum_text.toPlainText() == ""


def test_a_returned_note_shows_the_comment_and_what_to_do(qtbot, app_ctx):
    repos = ctx_repos(app_ctx)
    p, goals, _payer = person_with_goals(repos)
    note = signed_note(repos, p.id, goals[0].id, app_ctx.user)
    sup = supervisor(repos)
    repos.encounters.return_for_revision(
        note.id, sup, "Say how this session ties to the housing goal."
    )
    page = make_page(qtbot, app_ctx)
    open_note(qtbot, page, note.id)
    assert page.returned_box.isVisible()
    assert page.review_comment.text() == "Say how this session ties to the housing goal."
    assert page.returned_title.text().startswith("Returned for revision by Orla Supervisa on ")
    assert "addendum" in page.next_step.text()
    assert page.status_chip.text() == "Returned for revision"
    assert all(e.isReadOnly() for e in page.text_edits.values())
    qtbot.mouseClick(page.answer_button, Qt.MouseButton.LeftButton)
    # The cursor is in the addendum form, which is in view under the note.
    assert page.focusWidget() is page.addendum_reason
    region = page.addendum_reason.visibleRegion().boundingRect()
    assert region.size() == page.addendum_reason.rect().size()
    qtbot.keyClicks(page.addendum_reason, "Answering my supervisor")
    qtbot.keyClicks(page.addendum_text, "We looked at listings for the housing goal.")
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        page.add_addendum()
    assert ctx_repos(app_ctx).encounters.require(note.id).status is NoteStatus.SIGNED
    assert not page.returned_box.isVisible() and page.status_chip.text() == "Signed"


def test_a_supervisor_sees_someone_elses_draft_read_only(qtbot, app_ctx):
    repos = ctx_repos(app_ctx)
    p, _goals, _payer = person_with_goals(repos)
    author = repos.users.add(User(username="peer2", display_name="Tamsin Oakridge"))
    draft = repos.encounters.add(
        Encounter(participant_id=p.id, specialist_id=author.id, service_date=date(2025, 3, 3))
    )
    page = make_page(qtbot, app_ctx)
    open_note(qtbot, page, draft.id)
    assert "belongs to Tamsin Oakridge" in page.locked_box.text()
    assert page.text_edits["plan"].isReadOnly() and not page.sign_card.isVisible()


# -- full disk, other failures --------------------------------------------------------


def test_a_full_disk_keeps_the_draft_and_the_next_save_retries(qtbot, app_ctx):
    """SQLite's own full-disk error (max_page_count); the real full filesystem is in
    tests/test_note_crash.py."""
    page, _p = new_note(qtbot, app_ctx, QUIET)
    settle(qtbot, app_ctx)
    conn = app_ctx.session.store.conn
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    long_text = "Went over the lease line by line. " * 600
    page.text_edits["response"].setPlainText(long_text)
    with qtbot.waitSignal(page.save_failed, timeout=10_000) as failed:
        page.save_now()
    assert "disk is full" in failed.args[0]
    assert page.save_error_box.isVisible()
    assert "still here in the editor" in page.save_error_label.text()
    assert page.save_error_title.text().startswith("The disk is full")
    assert page.save_state.text() == "Not saved"
    assert page.text_edits["response"].toPlainText() == long_text
    assert page.dirty
    settle(qtbot, app_ctx)
    assert ctx_repos(app_ctx).encounters.count() == 0

    conn.execute("PRAGMA max_page_count = 1073741823")  # space freed
    with qtbot.waitSignal(page.saved, timeout=10_000):
        page.retry_button.click()
    assert not page.save_error_box.isVisible()
    assert page.save_state.text().startswith("Saved ")
    settle(qtbot, app_ctx)
    assert ctx_repos(app_ctx).encounters.require(page.current_note_id()).response == long_text


def test_opening_a_note_that_is_not_there_says_so(qtbot, app_ctx):
    page = make_page(qtbot, app_ctx)
    page.open_note("no-such-note", "")
    settle(qtbot, app_ctx)
    assert "not in this vault" in page.top_problems.text()
    assert not page.scroll.widget().isEnabled()


def test_clear_forgets_everything_shown(qtbot, app_ctx):
    page, _note = open_signed(qtbot, app_ctx)
    page.clear()
    assert page.heading.text() == "Service note"
    assert page.goals_list.count() == 0 and page.start_edit.text() == ""
    assert all(not e.toPlainText() for e in page.text_edits.values())
    assert not page.locked_box.isVisible() and page.state() == {}


def test_dap_keeps_girp_text_and_signs_with_its_own_parts(qtbot, app_ctx):
    page, _p = new_note(qtbot, app_ctx)
    qtbot.keyClicks(page.text_edits["goal_text"], "Kept while DAP is shown")
    page.dap_radio.setChecked(True)
    assert not page.text_blocks["goal_text"].isVisible()
    assert page.text_blocks["data"].isVisible() and page.text_blocks["assessment"].isVisible()
    dap = {"data": "Met at the river path", "assessment": "Walking helps the mornings"}
    fill(qtbot, page, ("1:00 pm", "1:30 pm"), 1, **dap, plan="Walk Friday")
    qtbot.keyClicks(page.passphrase_edit, PASSPHRASE)
    with qtbot.waitSignal(page.signed, timeout=10_000):
        page.sign_button.click()
    settle(qtbot, app_ctx)
    stored = ctx_repos(app_ctx).encounters.require(page.current_note_id())
    assert stored.note_format.value == "DAP" and stored.status is NoteStatus.SIGNED
    assert stored.goal_text == "Kept while DAP is shown"
    assert page.dap_radio.isChecked() and not page.dap_radio.isEnabled()


def test_every_control_has_an_accessible_name(qtbot, app_ctx):
    page, _p = new_note(qtbot, app_ctx)
    kinds = (QLineEdit, QPlainTextEdit, QComboBox, QAbstractButton, QAbstractSpinBox, QListWidget)
    unnamed = []
    for w in page.findChildren(QWidget):
        if not isinstance(w, kinds):
            continue
        if isinstance(w.parent(), QAbstractSpinBox | QComboBox):
            continue  # the line edit inside a spin box or combo box: named by its owner
        if not w.accessibleName():
            unnamed.append(f"{type(w).__name__}:{w.objectName()}")
    assert unnamed == []
