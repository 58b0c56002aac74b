"""One working day through the real main window, end to end, as a person would
click and type it: first start (welcome, passphrase twice, recovery key,
enrolment with the agency's server), add a participant (a bad Medicaid ID first),
a goal, a timed GIRP note that autosaves, is signed (a wrong passphrase first)
and gets an addendum, a travel entry on the Hours page, Ctrl+F search, Ctrl+L
lock and unlock, a conflict made by a real sync with a second laptop of the same
specialist resolved on the Conflicts page until both vaults converge, and a
draft typed just before the window closes that is still there afterwards.

Everything is real: a SQLCipher vault created through the welcome screens, the
database worker and the network thread, the sync server on 127.0.0.1 over HTTPS
with its pinned certificate, and the Qt event loop (offscreen). Widgets are
driven with qtbot mouse clicks, key clicks and the window's shortcuts; the test
waits with waitSignal / waitUntil on what the window shows, never with sleeps.
The only things handed in are a preferences file (automatic sync off, so syncs
happen when the test presses F5) and the note editor's clock (so the service
timer runs fifty minutes without waiting for them).
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex
from PySide6.QtCore import QPoint
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton
from PySide6.QtWidgets import QAbstractItemView
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QComboBox
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QPlainTextEdit
from PySide6.QtWidgets import QTextEdit
from PySide6.QtWidgets import QWidget

from app.domain.records import NoteStatus
from app.domain.records import TimeCategory
from app.store.db import Store
from app.store.digest import state_digest
from app.store.repositories import Repositories
from app.store.vault import Vault
from app.ui.caseload.participant_form import ParticipantForm
from app.ui.common.table_model import KEY_ROLE
from app.ui.hours.hours_page import HoursPage
from app.ui.notes.note_editor import NoteEditorPage
from app.ui.participant.participant_page import TAB_GOALS
from app.ui.participant.participant_page import TAB_TIMELINE
from app.ui.participant.participant_page import ParticipantPage
from app.ui.participant.record_dialogs import GoalDialog
from app.ui.shell import settings as prefs
from app.ui.shell.main_window import TITLE
from app.ui.shell.main_window import MainWindow
from app.ui.sync.conflicts import ConflictsPage
from tests.note_support import FakeClock
from tests.server_proc import DEFAULT_PASSWORD
from tests.server_proc import start_server
from tests.test_sync_e2e import Laptop

PASSPHRASE = "cottonwood leaves along the Sheyenne"
USERNAME = "marta"
WAIT = 20_000
SYNC_WAIT = 60_000

# Everything personal the journey types: none of it may show while locked.
FIRST, LAST = "Ingeborg", "Tollefsrud"
MEDICAID = "ND5521873"
GOAL = "Move into my own apartment by spring"
GIRP = {
    "goal_text": "Housing: the apartment on Elm Street",
    "intervention": "Went over the rental application line by line",
    "response": "Filled in the first page herself and felt ready",
    "plan": "Bring pay stubs on Thursday; call the landlord together",
}
ADDENDUM_REASON = "Correcting the plan"
ADDENDUM_TEXT = "The landlord call moved to Friday morning"
DRAFT_START = "Drove to the food shelf in Rolla together"
MINE = "; she picked out a winter coat"
THEIRS = "Drove to the food shelf and signed up for deliveries"
CLOSING_TEXT = "Typed just before closing the laptop lid"
PERSONAL = (FIRST, LAST, MEDICAID, GOAL, *GIRP.values(), ADDENDUM_TEXT, DRAFT_START, "Rolla")


# -- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = start_server(tmp_path_factory.mktemp("journey-server"), extra_args=("--rate-limit", "0"))
    s.add_user("sigrid", "supervisor")
    s.add_user(USERNAME, "specialist", supervisor="sigrid")
    yield s
    s.close()


@pytest.fixture
def preferences(tmp_path, monkeypatch) -> Path:
    """The window's preferences in a file of the test's own, automatic sync off
    (as a person sets it in Preferences), so syncs happen exactly when F5 is pressed."""
    path = tmp_path / "prefs.ini"
    real = prefs.Settings
    real.at(str(path)).set(prefs.AUTO_SYNC, False)
    monkeypatch.setattr(prefs, "Settings", lambda *_a: real.at(str(path)))
    return path


# -- helpers ---------------------------------------------------------------------------


def click(qtbot, widget: QWidget, pos: QPoint | None = None) -> None:
    assert widget.isVisible() and widget.isEnabled(), widget.objectName() or widget
    if pos is None:
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)
    else:
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=pos)


def settle(qtbot, w: MainWindow) -> None:
    qtbot.waitUntil(lambda: not w.tasks.busy, timeout=WAIT)


def activate(qtbot, w: QWidget) -> None:
    """Application shortcuts reach only the active window."""
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=5_000)


def shortcut(qtbot, w: MainWindow, key: Qt.Key, mods=Qt.KeyboardModifier.NoModifier) -> None:
    activate(qtbot, w)
    qtbot.keyClick(w, key, mods)


def on_db(qtbot, w: MainWindow, fn) -> Any:
    """A fresh read on the window's database worker (the one connection to the vault)."""
    box: list = []
    assert w.ctx is not None
    w.ctx.run(fn, box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=WAIT)
    return box[0]


def page(w: MainWindow, key: str) -> Any:
    assert w.workspace is not None
    return w.workspace.pages[key]


def nav_to(qtbot, w: MainWindow, label: str) -> QWidget:
    """Click a section in the navigation list."""
    assert w.workspace is not None
    nav = w.workspace.nav
    items = [nav.item(r) for r in range(nav.count())]
    item = next(i for i in items if i.text() == label)
    click(qtbot, nav.viewport(), nav.visualItemRect(item).center())
    qtbot.waitUntil(lambda: w.workspace.current_key() == item.data(KEY_ROLE))
    return w.current_page()


def click_tab(qtbot, tabs, index: int) -> None:
    bar = tabs.tabBar()
    click(qtbot, bar, bar.tabRect(index).center())
    assert tabs.currentIndex() == index


def f5_sync(qtbot, w: MainWindow) -> str:
    """Press F5 and wait for the sync to end; returns what the window says."""
    controller = w.sync_controller
    assert controller is not None
    with qtbot.waitSignal(controller.finished, timeout=SYNC_WAIT) as blk:
        shortcut(qtbot, w, Qt.Key.Key_F5)
    ok, text = blk.args
    assert ok is True, text
    settle(qtbot, w)
    return text


def model_texts(view: QAbstractItemView) -> list[str]:
    model = view.model()
    if model is None:
        return []
    out = []
    for r in range(model.rowCount(QModelIndex())):
        c = 0
        while model.hasIndex(r, c):  # list models keep columnCount private
            for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                value = model.data(model.index(r, c), role)
                if value:
                    out.append(str(value))
            c += 1
    return out


def visible_texts(w: MainWindow) -> str:
    """Every text a person could see in the window (and any window it opened):
    the title, the status bar, labels, fields, buttons, lists and tables, tooltips."""
    texts = [w.windowTitle(), w.statusBar().currentMessage()]
    tops = [t for t in QApplication.topLevelWidgets() if t.isVisible()]
    for top in tops:
        texts.append(top.windowTitle())
        for widget in [top, *top.findChildren(QWidget)]:
            if not widget.isVisible():
                continue
            texts.append(widget.toolTip())
            if isinstance(widget, QLabel | QLineEdit | QAbstractButton):
                texts.append(widget.text())
            elif isinstance(widget, QPlainTextEdit | QTextEdit):
                texts.append(widget.toPlainText())
            elif isinstance(widget, QComboBox):
                texts.append(widget.currentText())
            if isinstance(widget, QAbstractItemView):
                texts.extend(model_texts(widget))
    return "\n".join(t for t in texts if t)


def unlock(qtbot, w: MainWindow) -> None:
    """Type the passphrase on the unlock page and press Enter."""
    edit = w.start.unlock_page.passphrase
    assert w.start.currentWidget() is w.start.unlock_page
    edit.selectAll()
    qtbot.keyClicks(edit, PASSPHRASE)
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.workspace is not None, timeout=WAIT)


def wait_for_record(qtbot, w: MainWindow, participant_id: str) -> ParticipantPage:
    """Wait until the window shows this participant's record (after an unlock, on
    the new workspace's page)."""

    def shown() -> bool:
        record = w.workspace.pages["participant"] if w.workspace is not None else None
        return (
            record is not None
            and w.current_page() is record
            and record.record is not None
            and record.record.participant.id == participant_id
        )

    qtbot.waitUntil(shown, timeout=WAIT)
    settle(qtbot, w)  # a reload queued by the opening has been shown too
    return page(w, "participant")


# -- the journey -----------------------------------------------------------------------


def test_a_working_day_through_the_main_window(qtbot, fast_kdf, tmp_path, server, preferences):
    data_dir = tmp_path / "data"
    w = MainWindow(data_dir)
    qtbot.addWidget(w)
    titles: list[str] = [w.windowTitle()]
    w.windowTitleChanged.connect(titles.append)
    w.show()
    qtbot.waitExposed(w)
    start = w.start

    # 1. First start: welcome -> create (passphrase twice) -> recovery key -> enrol.
    assert start.currentWidget() is start.welcome_page
    click(qtbot, start.welcome_page.server_check)
    click(qtbot, start.welcome_page.start_button)
    create = start.create_page
    assert start.currentWidget() is create
    qtbot.keyClicks(create.passphrase, PASSPHRASE)
    qtbot.keyClicks(create.confirm, PASSPHRASE[:-1] + "X")  # a typo in the second one
    click(qtbot, create.submit_button)
    assert "not the same" in create.error.text() and not data_dir.exists()
    qtbot.keyClicks(create.confirm, PASSPHRASE)
    qtbot.keyClick(create.confirm, Qt.Key.Key_Return)
    key_page = start.recovery_page
    qtbot.waitUntil(lambda: start.currentWidget() is key_page, timeout=WAIT)
    assert len(key_page.key_label.text()) > 20 and not key_page.continue_button.isEnabled()
    click(qtbot, key_page.confirm_check)
    click(qtbot, key_page.continue_button)
    enrol = start.enrol_page
    assert start.currentWidget() is enrol and w.session is None  # nothing open before this
    qtbot.keyClicks(enrol.server, server.url)
    qtbot.keyClicks(enrol.fingerprint, server.fingerprint)
    qtbot.keyClicks(enrol.username, USERNAME)
    qtbot.keyClicks(enrol.password, DEFAULT_PASSWORD)
    click(qtbot, enrol.connect_button)
    qtbot.waitUntil(lambda: w.current_page() is w.caseload, timeout=WAIT)
    settle(qtbot, w)
    assert w.vault_label.text() == "Your vault" and w.model.rowCount() == 0
    assert w.sync_status.isVisible() and w.sync_status.button.isEnabled()  # enrolled
    assert "team" not in w.workspace.pages  # a specialist's workspace
    # Before the first sync the user's record is not in the vault yet (the server's
    # identity stands in for it): the Hours page still shows the week.
    hours_page: HoursPage = nav_to(qtbot, w, "Hours")
    qtbot.waitUntil(lambda: hours_page.snapshot is not None, timeout=WAIT)
    assert not hours_page.error.isVisible() and hours_page.add_button.isEnabled()
    nav_to(qtbot, w, "Caseload")
    text = f5_sync(qtbot, w)  # the first sync brings the team's user records
    assert text.startswith("Synced")
    assert "Online" in w.sync_status.connection.text()

    # 2. Add a participant: a bad Medicaid ID is explained in place, nothing typed is lost.
    click(qtbot, w.caseload.add_button)
    qtbot.waitUntil(lambda: w.caseload.findChild(ParticipantForm) is not None, timeout=WAIT)
    form = w.caseload.findChild(ParticipantForm)
    qtbot.waitUntil(form.save_button.isEnabled, timeout=WAIT)  # programs and payers read
    fields = {name: f.widget for name, f in form.fields.items()}
    qtbot.keyClicks(fields["first_name"], FIRST)
    qtbot.keyClicks(fields["last_name"], LAST)
    qtbot.keyClicks(fields["date_of_birth"], "1979-02-11")
    qtbot.keyClicks(fields["medicaid_id"], "ND-12")
    qtbot.keyClicks(fields["county"], "Rolette")
    click(qtbot, form.save_button)
    error = form.fields["medicaid_id"].error
    assert error.isVisible() and "Medicaid ID" in error.text()
    assert form.banner.isVisible() and form.isVisible()
    assert [fields[n].text() for n in ("first_name", "last_name", "date_of_birth", "county")] == [
        FIRST,
        LAST,
        "1979-02-11",
        "Rolette",
    ]
    assert fields["medicaid_id"].text() == "ND-12"  # kept, to be corrected
    fields["medicaid_id"].selectAll()
    qtbot.keyClicks(fields["medicaid_id"], MEDICAID)
    assert not error.isVisible()  # the message goes as the field is corrected
    with qtbot.waitSignal(form.saved, timeout=WAIT) as saved:
        click(qtbot, form.save_button)
    participant_id = saved.args[0]
    record = wait_for_record(qtbot, w, participant_id)
    assert record.name_label.text() == f"{FIRST} {LAST}"
    assert record.profile["medicaid"].text() == MEDICAID
    qtbot.waitUntil(lambda: w.model.rowCount() == 1, timeout=WAIT)  # the caseload too

    # A goal, through the record's Goals tab.
    click_tab(qtbot, record.tabs, TAB_GOALS)
    click(qtbot, record.add_goal_button)
    qtbot.waitUntil(lambda: record.findChild(GoalDialog) is not None, timeout=WAIT)
    goal_dialog = record.findChild(GoalDialog)
    qtbot.keyClick(goal_dialog.fields["domain"].widget, Qt.Key.Key_Down)  # Health -> Home
    qtbot.keyClicks(goal_dialog.fields["statement"].widget, GOAL)
    qtbot.keyClicks(goal_dialog.steps_edit, "Fill in the application")
    with qtbot.waitSignal(goal_dialog.saved, timeout=WAIT):
        click(qtbot, goal_dialog.save_button)
    qtbot.waitUntil(lambda: len(record.goal_cards) == 1, timeout=WAIT)
    card = next(iter(record.goal_cards.values()))
    assert card.statement.text() == GOAL
    qtbot.waitUntil(card.isVisible)  # a widget added to a shown layout appears a moment later
    assert "Home (1)" in record.domain_boxes[card.goal.domain].title()

    # 3. A new note: timed with the service timer, GIRP text, a goal; it autosaves.
    editor: NoteEditorPage = page(w, "note")
    clock = editor.clock = FakeClock(datetime.combine(date.today() - timedelta(days=1), time(9)))
    with qtbot.waitSignal(editor.loaded, timeout=WAIT):
        click(qtbot, record.new_note_button)
    assert w.current_page() is editor
    assert f"{FIRST} {LAST}" in editor.heading.text()
    assert editor.goals_list.count() == 1 and GOAL in editor.goals_list.item(0).text()
    click(qtbot, editor.timer_button)
    assert editor.timer_running and editor.start_edit.text() == "9:00 AM"
    clock.advance(minutes=50)
    click(qtbot, editor.timer_button)
    assert not editor.timer_running
    assert (editor.start_edit.text(), editor.end_edit.text()) == ("9:00 AM", "9:50 AM")
    assert editor.units_label.text() == "50 min = 3 units"
    editor.goals_list.setCurrentRow(0)
    qtbot.keyClick(editor.goals_list, Qt.Key.Key_Space)
    assert editor.goals_list.item(0).checkState() == Qt.CheckState.Checked
    goal_edit = editor.text_edits["goal_text"]
    assert goal_edit.toPlainText() == GOAL  # a ticked goal fills "Goal"; the person rewrites it
    qtbot.keyClick(goal_edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    for name, words in GIRP.items():
        qtbot.keyClicks(editor.text_edits[name], words)
    assert editor.dirty and editor.save_state.text() == "Unsaved changes"
    # No focus moved and nothing was pressed: the autosave timer saves the text.
    qtbot.waitUntil(
        lambda: not editor.dirty and editor.save_state.text().startswith("Saved"), timeout=WAIT
    )
    note_id = editor.current_note_id()
    stored = on_db(qtbot, w, lambda repos: repos.encounters.require(note_id))
    assert {n: getattr(stored, n) for n in GIRP} == GIRP
    assert stored.status is NoteStatus.DRAFT and stored.minutes == 50
    assert stored.goal_ids == (card.goal.id,)

    # Sign: a wrong passphrase first (the note stays a draft), then the right one.
    qtbot.keyClicks(editor.passphrase_edit, "not my passphrase at all")
    with qtbot.waitSignal(editor.sign_refused, timeout=WAIT) as refused:
        click(qtbot, editor.sign_button)
    assert "not the one" in refused.args[0] and "not the one" in editor.sign_error.text()
    assert editor.passphrase_edit.text() == "" and not editor.text_edits["plan"].isReadOnly()
    still = on_db(qtbot, w, lambda repos: repos.encounters.require(note_id))
    assert still.status is NoteStatus.DRAFT
    qtbot.keyClicks(editor.passphrase_edit, PASSPHRASE)
    with qtbot.waitSignal(editor.signed, timeout=WAIT):
        qtbot.keyClick(editor.passphrase_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: editor.status_chip.text() == "Signed", timeout=WAIT)
    assert all(e.isReadOnly() for e in editor.text_edits.values())
    assert not editor.sign_card.isVisible() and not editor.timer_button.isVisible()
    assert "locked" in editor.locked_box.text() and editor.addenda_card.isVisible()
    qtbot.keyClicks(editor.text_edits["plan"], " and more")  # read-only: nothing changes
    assert editor.text_edits["plan"].toPlainText() == GIRP["plan"] and not editor.dirty

    # An addendum on the signed note.
    qtbot.keyClicks(editor.addendum_reason, ADDENDUM_REASON)
    qtbot.keyClicks(editor.addendum_text, ADDENDUM_TEXT)
    with qtbot.waitSignal(editor.addendum_added, timeout=WAIT):
        click(qtbot, editor.addendum_button)
    qtbot.waitUntil(lambda: editor.addenda_box.count() == 1, timeout=WAIT)
    qtbot.waitUntil(lambda: ADDENDUM_TEXT in visible_texts(w), timeout=WAIT)
    assert f"Addendum: {ADDENDUM_REASON}" in visible_texts(w)
    signed = on_db(qtbot, w, lambda repos: repos.encounters.require(note_id))
    assert signed.status is NoteStatus.SIGNED and signed.plan == GIRP["plan"]

    # 4. Hours: a travel entry with miles changes the week's total.
    assert nav_to(qtbot, w, "Hours") is hours_page
    settle(qtbot, w)  # the page read the week again (a note was written since)
    before = hours_page.snapshot.week.total
    loads = hours_page.loads
    click(qtbot, hours_page.add_button)
    entry = hours_page.editor
    qtbot.waitUntil(entry.isVisible)
    assert entry.kind() is TimeCategory.TRAVEL
    qtbot.keyClicks(entry.duration, "0:40")
    qtbot.keyClicks(entry.travel_from, "Office")
    qtbot.keyClicks(entry.travel_to, "Rolla")
    qtbot.keyClicks(entry.miles, "38.5")
    qtbot.keyClicks(entry.purpose, "Home visit")
    click(qtbot, entry.save_button)
    qtbot.waitUntil(lambda: hours_page.loads > loads and not entry.isVisible(), timeout=WAIT)
    settle(qtbot, w)
    assert hours_page.snapshot.week.total == before + 40
    assert "38.5 miles driven" in hours_page.sheet_summary.text()
    total_row = hours_page.week_model.rowCount() - 1
    week_col = hours_page.week_model.columnCount() - 1
    assert hours_page.week_model.minutes(total_row, week_col) == before + 40

    # 5. Ctrl+F: part of the name; results as you type; Enter opens the record.
    shortcut(qtbot, w, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    box = w.search.box
    qtbot.waitUntil(box.edit.hasFocus, timeout=5_000)
    with qtbot.waitSignal(box.results_shown, timeout=WAIT):
        qtbot.keyClicks(box.edit, LAST[:6])
    qtbot.waitUntil(lambda: box.shown_text == LAST[:6] and box.model.rowCount() > 0)
    assert box.popup.isVisible()
    assert any(LAST in t for t in model_texts(box.list))
    qtbot.keyClick(box.edit, Qt.Key.Key_Return)
    record = wait_for_record(qtbot, w, participant_id)
    assert not box.popup.isVisible()
    click_tab(qtbot, record.tabs, TAB_TIMELINE)
    assert record.timeline_model.rowCount() == 1

    # 6. Ctrl+L: nothing personal anywhere; unlock returns to the record and its tab.
    settle(qtbot, w)
    assert LAST in visible_texts(w)  # the check below can see it when it is there
    shortcut(qtbot, w, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert w.session is None and w.current_page() is start
    assert start.currentWidget() is start.unlock_page
    shown = visible_texts(w)
    for secret in PERSONAL:
        assert secret not in shown, secret
    assert w.windowTitle() == TITLE
    settle(qtbot, w)
    shown = visible_texts(w)  # and nothing came back late from the worker
    assert not any(secret in shown for secret in PERSONAL)
    qtbot.keyClicks(start.unlock_page.passphrase, "a wrong passphrase")
    qtbot.keyClick(start.unlock_page.passphrase, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: start.unlock_page.error.text() != "", timeout=WAIT)
    assert w.session is None
    unlock(qtbot, w)
    record = wait_for_record(qtbot, w, participant_id)
    assert record.tabs.currentIndex() == TAB_TIMELINE
    settle(qtbot, w)

    # 7. A conflict from a real sync: this laptop and the kitchen laptop both edit
    #    the same draft's narrative before either syncs.
    #    The draft is begun and the laptop locked at once: unlocking brings the
    #    note back with every word.
    editor = page(w, "note")
    with qtbot.waitSignal(editor.loaded, timeout=WAIT):
        click(qtbot, record.new_note_button)
    qtbot.keyClicks(editor.text_edits["intervention"], DRAFT_START)
    assert editor.save_state.text() == "Unsaved changes"
    shortcut(qtbot, w, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert w.session is None and DRAFT_START not in visible_texts(w)
    unlock(qtbot, w)

    def draft_back() -> bool:
        shown = w.current_page()
        return (
            isinstance(shown, NoteEditorPage)
            and shown.text_edits["intervention"].toPlainText() == DRAFT_START
        )

    qtbot.waitUntil(draft_back, timeout=WAIT)
    editor = page(w, "note")
    draft_id = editor.current_note_id()
    assert not editor.dirty and not editor.text_edits["intervention"].isReadOnly()
    assert "sent" in f5_sync(qtbot, w)
    other = Laptop(tmp_path, "other-laptop", server, USERNAME)
    try:
        other.sync()
        theirs = other.repos.encounters.require(draft_id)
        assert theirs.intervention == DRAFT_START
        other.repos.encounters.update(theirs.replace(intervention=THEIRS))
        other.sync()

        intervention = editor.text_edits["intervention"]
        qtbot.keyClick(intervention, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
        qtbot.keyClicks(intervention, MINE)
        with qtbot.waitSignal(editor.saved, timeout=WAIT):
            pass
        assert "1 conflict" in f5_sync(qtbot, w)
        qtbot.waitUntil(lambda: w.sync_status.conflicts.isVisible(), timeout=WAIT)
        assert w.sync_status.conflicts.text() == "1 conflict"

        conflicts: ConflictsPage = nav_to(qtbot, w, "Conflicts")
        qtbot.waitUntil(lambda: conflicts.model.rowCount() == 1, timeout=WAIT)
        view = conflicts.model.view(0)
        assert view.conflict.field == "intervention"
        sides = {conflicts.current_side.text.toPlainText(), conflicts.other_side.text.toPlainText()}
        assert sides == {DRAFT_START + MINE, THEIRS}
        click(qtbot, conflicts.merge_button)
        merged = conflicts.merge_edit.toPlainText()
        assert DRAFT_START + MINE in merged and THEIRS in merged
        click(qtbot, conflicts.save_merge)
        qtbot.waitUntil(lambda: conflicts.model.rowCount() == 0, timeout=WAIT)
        assert conflicts.empty.isVisible()
        stored = on_db(qtbot, w, lambda repos: repos.encounters.require(draft_id))
        assert stored.intervention == merged

        f5_sync(qtbot, w)
        qtbot.waitUntil(lambda: not w.sync_status.conflicts.isVisible(), timeout=WAIT)
        other.sync()
        assert other.repos.encounters.require(draft_id).intervention == merged
        mine_digest = on_db(qtbot, w, lambda repos: state_digest(repos.store))
        assert mine_digest == state_digest(other.store)
    finally:
        other.close()

    # 8. A new draft typed just before the window closes is saved by the close.
    nav_to(qtbot, w, "Caseload")
    table = w.caseload.table
    table.setFocus()
    table.setCurrentIndex(w.caseload.proxy.index(0, 0))
    qtbot.keyClick(table, Qt.Key.Key_Return)
    record = wait_for_record(qtbot, w, participant_id)
    editor = page(w, "note")
    with qtbot.waitSignal(editor.loaded, timeout=WAIT):
        click(qtbot, record.new_note_button)
    settle(qtbot, w)
    qtbot.keyClicks(editor.text_edits["response"], CLOSING_TEXT)
    assert editor.save_state.text() == "Unsaved changes"  # not even queued yet
    w.close()
    assert w.session is None

    vault = Vault(data_dir)
    vault.unlock(PASSPHRASE)
    store = Store.open(vault)
    try:
        notes = Repositories(store).encounters.list("participant_id = ?", (participant_id,))
        responses = {n.response: n.status for n in notes}
        assert responses.get(CLOSING_TEXT) is NoteStatus.DRAFT, responses
        assert len(notes) == 3
    finally:
        store.close()
        vault.lock()

    # The window never named anyone.
    assert set(titles) == {TITLE}
