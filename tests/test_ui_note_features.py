"""The note editor's day-one features on a real vault and the real database worker,
driven with real key presses and mouse clicks where a person would use them: the
timer kept in the draft (another note and back, a restart, a timer left overnight),
times that are never silently AM, the signing PIN (set once, three wrong tries fall
back to the passphrase, "Sign finished notes"), a goal added from the note, spell
check with suggestions, quick phrases, copy from last note, and the note as a PDF
with the 42 CFR Part 2 notice when the person's records need it."""

from __future__ import annotations

import io
import json
from datetime import date
from datetime import datetime
from datetime import time

import pytest
from pypdf import PdfReader
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCharFormat

from app.domain import lifecycle
from app.domain.records import Consent
from app.domain.records import ConsentKind
from app.domain.records import Encounter
from app.domain.records import NoteStatus
from app.services import notes
from app.services import signing
from app.services.changes import Changed
from app.ui.notes.note_editor import NoteEditorPage
from app.ui.notes.spelling import Speller
from tests.conftest import PASSPHRASE
from tests.helpers import add_person
from tests.note_support import FakeClock
from tests.note_support import person_with_goals
from tests.ui_support import ctx_repos
from tests.ui_support import settle

NOW = datetime(2025, 3, 4, 10, 0)
PIN = "5937"


def make_page(qtbot, ctx, clock=None) -> NoteEditorPage:
    page = NoteEditorPage(ctx, clock=clock or FakeClock(NOW))
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    page.activateWindow()
    return page


def open_note(qtbot, page: NoteEditorPage, encounter_id: str, participant_id: str = "") -> None:
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        page.open_note(encounter_id, participant_id)
    settle(qtbot, page.ctx)


def write_girp(qtbot, page: NoteEditorPage) -> None:
    qtbot.mouseClick(
        page.goals_list.viewport(),
        Qt.MouseButton.LeftButton,
        pos=page.goals_list.visualItemRect(page.goals_list.item(0)).center(),
    )
    for name in ("intervention", "response", "plan"):
        qtbot.keyClicks(page.text_edits[name], f"{name} words")


def type_time(qtbot, page: NoteEditorPage, start: str, end: str) -> None:
    page.expand_service(True)
    for edit, text in ((page.start_edit, start), (page.end_edit, end)):
        edit.setFocus()
        edit.selectAll()
        qtbot.keyClicks(edit, text)
        qtbot.keyClick(edit, Qt.Key.Key_Tab)  # leaving the field tidies it


# -- 2. the timer lives in the draft --------------------------------------------------------


def test_the_timer_survives_another_note_and_a_restart_and_asks_when_stale(qtbot, app_ctx):
    p, _goals, _payer = person_with_goals(ctx_repos(app_ctx))
    other = add_person(ctx_repos(app_ctx), "Odile", "Verhoeven")
    clock = FakeClock(NOW)
    page = make_page(qtbot, app_ctx, clock)
    open_note(qtbot, page, "", p.id)
    qtbot.keyClick(page.text_edits["goal_text"], Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot, app_ctx)
    note_id = page.current_note_id()
    assert page.timer_running
    # Another note, and back: the timer is still running from 10:00.
    open_note(qtbot, page, "", other.id)
    assert not page.timer_running
    clock.advance(minutes=25)
    open_note(qtbot, page, note_id)
    assert page.timer_running and page.timer_clock.text() == "Running 25:00"
    # The app closes and opens again (a new page over the same vault): still running.
    page.save_now()
    settle(qtbot, app_ctx)
    page.clear()
    fresh = make_page(qtbot, app_ctx, clock)
    clock.advance(minutes=5)
    open_note(qtbot, fresh, note_id)
    assert fresh.timer_running and fresh.timer_clock.text() == "Running 30:00"
    # Left running overnight: reopened the next morning, it asks what happened.
    fresh.clear()
    clock.advance(hours=20)
    later = make_page(qtbot, app_ctx, clock)
    open_note(qtbot, later, note_id)
    assert not later.timer_running and later.stale_box.isVisible()
    assert "running since" in later.stale_label.text()
    qtbot.mouseClick(later.stale_end_button, Qt.MouseButton.LeftButton)
    assert not later.stale_box.isVisible() and later.service_details.isVisible()
    assert later.focusWidget() is later.end_edit
    settle(qtbot, app_ctx)
    assert notes.timer_started(ctx_repos(app_ctx), note_id) is None


# -- 3. times -------------------------------------------------------------------------------


def test_3_00_and_4_15_are_afternoon_and_say_so(qtbot, app_ctx):
    p, _goals, _payer = person_with_goals(ctx_repos(app_ctx))
    page = make_page(qtbot, app_ctx)
    open_note(qtbot, page, "", p.id)
    type_time(qtbot, page, "3:00", "4:15")
    assert (page.start_ampm.currentText(), page.end_ampm.currentText()) == ("PM", "PM")
    assert (page.start_edit.text(), page.end_edit.text()) == ("3:00 PM", "4:15 PM")
    assert "3:00–4:15 PM" in page.service_summary.full_text()
    assert page.units_label.text() == "75 min = 5 units"
    assert not page.time_questions.isVisible()
    draft = page.draft()
    assert (draft.start_time, draft.end_time) == (time(15, 0), time(16, 15))
    # 11:30 to "1:15" is 1:15 PM; "10:00" after 10:30 AM is an error, not 10 PM.
    type_time(qtbot, page, "11:30", "1:15")
    assert page.end_edit.text() == "1:15 PM"
    type_time(qtbot, page, "10:30", "10:00")
    assert "end time must be after the start" in page.time_error.text()


def test_an_unusual_time_or_a_long_service_is_asked_before_signing(qtbot, app_ctx):
    p, _goals, _payer = person_with_goals(ctx_repos(app_ctx))
    page = make_page(qtbot, app_ctx)
    open_note(qtbot, page, "", p.id)
    write_girp(qtbot, page)
    type_time(qtbot, page, "3:00", "3:40")
    # The person picks AM with the keyboard on the AM/PM control.
    page.start_ampm.setFocus()
    qtbot.keyClick(page.start_ampm, Qt.Key.Key_Up)
    assert page.start_edit.text() == "3:00 AM"
    page.end_ampm.setFocus()
    qtbot.keyClick(page.end_ampm, Qt.Key.Key_Up)
    assert page.time_questions.isVisible()
    assert "(3:00–3:40 AM) is outside your usual hours" in page.time_questions.label.text()
    qtbot.keyClicks(page.passphrase_edit, PASSPHRASE)
    with qtbot.waitSignal(page.sign_refused, timeout=10_000) as refused:
        qtbot.keyClick(page.passphrase_edit, Qt.Key.Key_Return)
    assert "question about the times" in refused.args[0]
    qtbot.mouseClick(page.time_questions.keep_button, Qt.MouseButton.LeftButton)
    assert not page.time_questions.isVisible()
    with qtbot.waitSignal(page.signed, timeout=10_000):
        qtbot.keyClick(page.passphrase_edit, Qt.Key.Key_Return)
    settle(qtbot, app_ctx)
    stored = ctx_repos(app_ctx).encounters.require(page.current_note_id())
    assert (stored.start_time, stored.end_time) == (time(3, 0), time(3, 40))
    # A six-hour service asks too.
    page2 = make_page(qtbot, app_ctx)
    open_note(qtbot, page2, "", p.id)
    type_time(qtbot, page2, "9:00", "3:30")
    assert page2.end_edit.text() == "3:30 PM"
    assert "lasted 6 h 30 min, longer than 4 h" in page2.time_questions.label.text()


# -- 5. the signing PIN -----------------------------------------------------------------------


def set_pin_with_keys(qtbot, page: NoteEditorPage) -> None:
    qtbot.mouseClick(page.set_pin_link, Qt.MouseButton.LeftButton)
    assert page.pin_form.isVisible() and page.focusWidget() is page.new_pin_edit
    qtbot.keyClicks(page.new_pin_edit, PIN)
    qtbot.keyClick(page.new_pin_edit, Qt.Key.Key_Tab)
    qtbot.keyClicks(page.repeat_pin_edit, PIN)
    qtbot.keyClick(page.repeat_pin_edit, Qt.Key.Key_Tab)
    qtbot.keyClicks(page.pin_passphrase_edit, PASSPHRASE)
    qtbot.keyClick(page.pin_passphrase_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not page.pin_form.isVisible(), timeout=10_000)


def test_a_pin_set_once_signs_and_three_wrong_tries_need_the_passphrase(qtbot, app_ctx):
    p, _goals, _payer = person_with_goals(ctx_repos(app_ctx))
    page = make_page(qtbot, app_ctx)
    open_note(qtbot, page, "", p.id)
    assert page.sign_label.text().replace("&", "") == "Passphrase"
    set_pin_with_keys(qtbot, page)
    assert page.sign_label.text().replace("&", "") == "Signing PIN"
    stored_pin = ctx_repos(app_ctx).store.meta(f"signing_pin:{app_ctx.user.id}")
    record = json.loads(stored_pin)
    assert record["kdf"] == "scrypt" and PIN not in stored_pin
    type_time(qtbot, page, "9:30", "10:15")
    write_girp(qtbot, page)
    for n in range(3):
        qtbot.keyClicks(page.passphrase_edit, "1111" if n else "2468")
        with qtbot.waitSignal(page.sign_refused, timeout=10_000):
            qtbot.keyClick(page.passphrase_edit, Qt.Key.Key_Return)
        settle(qtbot, app_ctx)
    assert "passphrase this time" in page.sign_error.text()
    assert page.sign_label.text().replace("&", "") == "Passphrase"
    # The right PIN no longer signs; the passphrase does (and clears the count).
    assert signing.pin_state(ctx_repos(app_ctx), app_ctx.user).tries_left == 0
    qtbot.keyClicks(page.passphrase_edit, PASSPHRASE)
    with qtbot.waitSignal(page.signed, timeout=10_000):
        qtbot.keyClick(page.passphrase_edit, Qt.Key.Key_Return)
    settle(qtbot, app_ctx)
    note = ctx_repos(app_ctx).encounters.require(page.current_note_id())
    assert note.status is NoteStatus.SIGNED
    assert note.content_hash == lifecycle.content_hash(note)  # the signature matches
    assert signing.pin_state(ctx_repos(app_ctx), app_ctx.user).tries_left == 3


def test_sign_finished_notes_signs_the_days_complete_drafts_after_one_pin(qtbot, app_ctx):
    repos = ctx_repos(app_ctx)
    p, goals, _payer = person_with_goals(repos)
    signing.set_pin(repos, app_ctx.session.vault, PASSPHRASE, app_ctx.user, PIN)

    def draft(start: int, plan: str) -> Encounter:
        return repos.encounters.add(
            Encounter(
                participant_id=p.id,
                specialist_id=app_ctx.user.id,
                service_date=NOW.date(),
                start_time=time(start, 0),
                end_time=time(start, 45),
                goal_ids=(goals[0].id,),
                goal_text="Housing",
                intervention="Listings",
                response="Hopeful",
                plan=plan,
            )
        )

    done1, unfinished = draft(8, "Call"), draft(11, "")
    yesterday = repos.encounters.add(
        draft(13, "x").replace(id="y" * 32, service_date=date(2025, 3, 3))
    )
    page = make_page(qtbot, app_ctx)
    open_note(qtbot, page, "", p.id)
    type_time(qtbot, page, "9:00", "9:40")
    write_girp(qtbot, page)
    qtbot.keyClicks(page.passphrase_edit, PIN)
    with qtbot.waitSignal(page.signed, timeout=10_000):
        qtbot.mouseClick(page.sign_all_button, Qt.MouseButton.LeftButton)
    settle(qtbot, app_ctx)
    repos = ctx_repos(app_ctx)
    status = {n.id: n.status for n in repos.encounters.list()}
    assert status[done1.id] is NoteStatus.SIGNED
    assert status[page.current_note_id()] is NoteStatus.SIGNED
    assert status[unfinished.id] is NoteStatus.DRAFT
    assert status[yesterday.id] is NoteStatus.DRAFT  # another day's draft waits
    for n in repos.encounters.list("status = 'signed'"):
        assert n.content_hash == lifecycle.content_hash(n)


# -- 4. a person with no goal; 6. spell check, phrases, copy, PDF ------------------------------


def test_a_goal_is_added_from_the_note(qtbot, app_ctx):
    p = add_person(ctx_repos(app_ctx), "Marit", "Okonkwo")
    page = make_page(qtbot, app_ctx)
    open_note(qtbot, page, "", p.id)
    assert page.add_goal_form.isVisible() and "no active recovery goal" in page.goals_empty.text()
    qtbot.keyClicks(page.new_goal_edit, "Drive again by summer")
    with qtbot.waitSignal(page.ctx.data_changed, timeout=10_000):
        qtbot.keyClick(page.new_goal_edit, Qt.Key.Key_Return)
    settle(qtbot, app_ctx)
    assert page.goals_list.count() == 1
    assert page.goals_list.item(0).checkState() == Qt.CheckState.Checked
    assert page.text_edits["goal_text"].toPlainText() == "Drive again by summer"
    assert ctx_repos(app_ctx).goals.list("participant_id = ?", (p.id,))[0].statement == (
        "Drive again by summer"
    )


def underlined_words(edit) -> list[str]:
    text = edit.toPlainText()
    layout = edit.document().firstBlock().layout()
    return [
        text[r.start : r.start + r.length]
        for r in layout.formats()
        if r.format.underlineStyle() == QTextCharFormat.UnderlineStyle.SpellCheckUnderline
    ]


def test_spelling_is_underlined_and_corrected_from_the_menu(qtbot, app_ctx):
    p, _goals, _payer = person_with_goals(ctx_repos(app_ctx))
    add_person(ctx_repos(app_ctx), "Odalys", "Thistlewood")  # another person in the vault
    page = make_page(qtbot, app_ctx)
    open_note(qtbot, page, "", p.id)
    edit = page.text_edits["intervention"]
    qtbot.waitUntil(lambda: Speller.shared().ready, timeout=20_000)
    qtbot.waitUntil(lambda: "thistlewood" in Speller.shared().names, timeout=10_000)
    qtbot.keyClicks(
        edit,
        "We talked about the recieve form with Wrenna Halvorsby's sister and "
        "Odalys at the DHS office. Recieved a call from Brastonville Housing.",
    )
    # Capitalized words are checked too (the second "Recieved", an unknown place);
    # the names of the people in the vault and acronyms (DHS) are not.
    assert underlined_words(edit) == ["recieve", "Recieved", "Brastonville"]
    cursor = edit.textCursor()
    cursor.setPosition(edit.toPlainText().index("recieve") + 2)
    menu = edit.context_menu(edit.cursorRect(cursor).center())
    texts = [a.text() for a in menu.actions()]
    assert texts[0] == "receive"
    menu.actions()[0].trigger()
    assert edit.toPlainText().startswith("We talked about the receive form with Wrenna")
    # A capitalized word's suggestions are offered too.
    cursor.setPosition(edit.toPlainText().index("Recieved") + 2)
    menu = edit.context_menu(edit.cursorRect(cursor).center())
    assert "received" in [a.text() for a in menu.actions()][:5]


def test_a_person_added_later_is_known_to_spell_check_and_lock_forgets(qtbot, app_ctx):
    p, _goals, _payer = person_with_goals(ctx_repos(app_ctx))
    page = make_page(qtbot, app_ctx)
    open_note(qtbot, page, "", p.id)
    qtbot.waitUntil(lambda: Speller.shared().ready, timeout=20_000)
    edit = page.text_edits["plan"]
    qtbot.keyClicks(edit, "Call Quenby on Monday")
    qtbot.waitUntil(lambda: underlined_words(edit) == ["Quenby"], timeout=10_000)
    done: list[object] = []
    app_ctx.run(
        lambda repos: add_person(repos, "Quenby", "Marchetti"),
        lambda _p: done.append(1),
    )
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)
    app_ctx.broadcast(Changed.of("participants"))  # as the record form's save does
    qtbot.waitUntil(lambda: underlined_words(edit) == [], timeout=10_000)
    page.clear()  # the vault locks
    assert Speller.shared().names == frozenset()


def test_quick_phrases_are_kept_in_the_vault_and_inserted(qtbot, app_ctx):
    p, _goals, _payer = person_with_goals(ctx_repos(app_ctx))
    page = make_page(qtbot, app_ctx)
    open_note(qtbot, page, "", p.id)
    edit = page.text_edits["plan"]
    qtbot.keyClicks(edit, "Next contact in one week by phone")
    edit.selectAll()
    menu = edit.context_menu(edit.rect().center())
    phrases = next(a.menu() for a in menu.actions() if a.text() == "Quick phrases")
    save = next(a for a in phrases.actions() if a.text().startswith("Save the selected"))
    save.trigger()
    settle(qtbot, app_ctx)
    assert notes.quick_phrases(ctx_repos(app_ctx), app_ctx.user) == [
        "Next contact in one week by phone"
    ]
    other = page.text_edits["response"]
    qtbot.keyClicks(other, "Agreed.")
    menu = other.context_menu(other.rect().center())
    phrases = next(a.menu() for a in menu.actions() if a.text() == "Quick phrases")
    next(a for a in phrases.actions() if a.text().startswith("Next contact")).trigger()
    assert other.toPlainText() == "Agreed. Next contact in one week by phone"


def test_copy_from_last_note_fills_only_the_empty_parts(qtbot, app_ctx):
    repos = ctx_repos(app_ctx)
    p, _goals, _payer = person_with_goals(repos)
    repos.encounters.add(
        Encounter(
            participant_id=p.id,
            specialist_id=app_ctx.user.id,
            service_date=date(2025, 3, 1),
            goal_text="Housing",
            intervention="Looked at listings",
            response="Hopeful",
            plan="Call landlords",
        )
    )
    page = make_page(qtbot, app_ctx)
    open_note(qtbot, page, "", p.id)
    qtbot.keyClicks(page.text_edits["response"], "Quieter today")
    qtbot.mouseClick(page.narrative.copy_button, Qt.MouseButton.LeftButton)
    got = {n: e.toPlainText() for n, e in page.text_edits.items() if e.isVisibleTo(page)}
    assert got == {
        "goal_text": "Housing",
        "intervention": "Looked at listings",
        "response": "Quieter today",
        "plan": "Call landlords",
    }


@pytest.mark.parametrize("part2", [True, False])
def test_a_note_as_pdf_carries_the_part_2_notice_when_needed(qtbot, app_ctx, tmp_path, part2):
    repos = ctx_repos(app_ctx)
    p, _goals, _payer = person_with_goals(repos)
    if part2:
        repos.consents.add(
            Consent(participant_id=p.id, kind=ConsentKind.PART2, signed_on=date(2025, 1, 2))
        )
    page = make_page(qtbot, app_ctx)
    open_note(qtbot, page, "", p.id)
    type_time(qtbot, page, "9:30", "10:15")
    write_girp(qtbot, page)
    target = tmp_path / "note.pdf"
    with qtbot.waitSignal(page.pdf_saved, timeout=10_000):
        page.save_pdf(str(target))
    text = " ".join(pg.extract_text() for pg in PdfReader(io.BytesIO(target.read_bytes())).pages)
    text = " ".join(text.split())
    assert "Wrenna Halvorsby" in text and "intervention words" in text
    assert "9:30 AM" in text and "Page 1" in text
    assert ("42 CFR part 2" in text) is part2
    assert ("prohibit you from making any further disclosure" in text) is part2
