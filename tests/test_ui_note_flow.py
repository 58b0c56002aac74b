"""The note editor inside the real main window at 1000×700, driven with real mouse
clicks and key presses (QTest through qtbot): the everyday task "find a person seen
today, write a GIRP note, sign it" counted event by event; signing, addenda, Tab
and window re-activation never throwing the person out of the note; Esc; and the
everyday screen needing no scrolling. Real vault, real database worker; the editor's
clock is a fake one the test moves (no sleeps)."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QWidget

from app.domain.records import Encounter
from app.domain.records import Goal
from app.domain.records import Modality
from app.domain.records import NoteStatus
from app.domain.records import RecoveryDomain
from app.services import signing
from app.store.repositories import Repositories
from app.ui.notes.note_editor import NoteEditorPage
from app.ui.shell.app import load_style_sheet
from app.ui.shell.app import make_application
from app.ui.shell.main_window import MainWindow
from app.ui.shell.theme import apply_theme
from tests.helpers import add_person
from tests.helpers import new_vault
from tests.note_support import FakeClock
from tests.ui_support import settle as ui_settle

PASSPHRASE = "juniper smoke over the Missouri breaks"
PIN = "4826"
WAIT = 15_000
TODAY = date.today()
NOW = datetime.combine(TODAY, time(10, 0))
GIRP = {
    "intervention": "Went through two rental listings together",
    "response": "Chose one to call and practiced what to say",
    "plan": "Call Thursday; meet again next week",
}


@pytest.fixture
def data_dir(tmp_path: Path, fast_kdf) -> Path:
    """A vault with one person who has a goal and a note from yesterday (in person
    at the library, telehealth modifiers none), and the owner's signing PIN set."""
    folder = tmp_path / "data"
    with new_vault(folder, PASSPHRASE) as store:
        repos = Repositories(store)
        owner = repos.users.require(store.user_id)
        p = add_person(repos, "Tamsin", "Oyelaran")
        add_person(repos, "Bartholomew", "Quist")
        g = repos.goals.add(
            Goal(participant_id=p.id, domain=RecoveryDomain.HOME, statement="A flat by spring")
        )
        repos.encounters.add(
            Encounter(
                participant_id=p.id,
                specialist_id=owner.id,
                service_date=TODAY - timedelta(days=1),
                start_time=time(13, 0),
                end_time=time(13, 45),
                modality=Modality.IN_PERSON,
                place_of_service="99",
                location_note="public library",
                goal_ids=(g.id,),
                goal_text="Housing",
                intervention="Looked at listings",
                response="Hopeful",
                plan="Call landlords",
            )
        )
        signing.set_pin(repos, store.vault, PASSPHRASE, owner, PIN)
    return folder


class Counter:
    """Real clicks and key presses, counted (text typed into the note is not)."""

    def __init__(self, qtbot) -> None:
        self.qtbot = qtbot
        self.clicks = 0
        self.keys = 0

    def click(self, widget: QWidget, pos: QPoint | None = None) -> None:
        assert widget.isVisible() and widget.isEnabled(), widget
        assert_in_view(widget)
        self.clicks += 1
        if pos is None:
            self.qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)
        else:
            self.qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=pos)

    def key(self, key: Qt.Key, mods=Qt.KeyboardModifier.NoModifier) -> None:
        self.keys += 1
        focus = QApplication.focusWidget()
        assert focus is not None
        self.qtbot.keyClick(focus, key, mods)

    def type_keys(self, text: str) -> None:
        """Keys that count (a PIN); note text is typed with ``write``."""
        for ch in text:
            self.keys += 1
            self.qtbot.keyClicks(QApplication.focusWidget(), ch)

    def write(self, text: str) -> None:
        self.qtbot.keyClicks(QApplication.focusWidget(), text)


def assert_in_view(w: QWidget) -> None:
    """The widget is shown whole, without scrolling (inside every scroll viewport)."""
    region = w.visibleRegion().boundingRect()
    assert region.size() == w.rect().size(), f"{w.accessibleName() or w} is cut off"


@pytest.fixture
def windows(qtbot):
    """Every main window a test opens is closed at its end, passed or failed (the
    window closes its vault and worker in order)."""
    made: list[MainWindow] = []
    yield made
    for w in made:
        w.close()


def start(qtbot, data_dir: Path, windows: list) -> MainWindow:
    """The window at 1000x700 with the app's own (light) style sheet, as a person
    sees it, unlocked on a vault of two people."""
    apply_theme(make_application([]), load_style_sheet(), dark=False)
    w = MainWindow(data_dir)
    windows.append(w)
    w.resize(1000, 700)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=WAIT)
    edit = w.start.unlock_page.passphrase
    qtbot.keyClicks(edit, PASSPHRASE)
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.workspace is not None and w.model.rowCount() == 2, timeout=WAIT)
    qtbot.waitUntil(lambda: not w.tasks.busy, timeout=WAIT)
    w.activateWindow()  # the offscreen platform forgets it when the start screen goes
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=WAIT)
    return w


@pytest.fixture
def window(qtbot, data_dir: Path, windows: list) -> MainWindow:
    """The started window (see start) on ``data_dir``."""
    return start(qtbot, data_dir, windows)


def editor(w: MainWindow) -> NoteEditorPage:
    assert w.workspace is not None
    page = w.workspace.pages["note"]
    assert isinstance(page, NoteEditorPage)
    return page


def settle(qtbot, w: MainWindow) -> None:
    ui_settle(qtbot, w, WAIT)


def open_new_note(qtbot, w: MainWindow, c: Counter) -> NoteEditorPage:
    """Click the person's row, Enter, click New note: the note opens (2 clicks, 1 key)."""
    table = w.caseload.table
    model = table.model()
    row = next(r for r in range(model.rowCount()) if "Tamsin" in str(model.index(r, 0).data()))
    rect = table.visualRect(model.index(row, 0))
    c.click(table.viewport(), rect.center())
    c.key(Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.workspace.current_key() == "participant", timeout=WAIT)
    record = w.current_page()
    qtbot.waitUntil(
        lambda: record.new_note_button.isVisible() and record.new_note_button.isEnabled(),
        timeout=WAIT,
    )
    page = editor(w)
    page.clock = FakeClock(NOW)
    with qtbot.waitSignal(page.loaded, timeout=WAIT):
        c.click(record.new_note_button)
    settle(qtbot, w)
    return page


def test_everyday_task_counts_3_clicks_and_at_most_12_keys_without_scrolling(qtbot, window):
    w = window
    c = Counter(qtbot)
    page = open_new_note(qtbot, w, c)
    # The cursor is in the first narrative part; the service is one line, from the
    # last note (the library, place 99).
    assert QApplication.focusWidget() is page.text_edits["goal_text"]
    assert (
        "Today" in page.service_summary.full_text() and "H0038" in page.service_summary.full_text()
    )
    assert page.pos_combo.currentData() == "99" and page.location_edit.text() == "public library"
    assert not page.service_details.isVisible()
    # The service timer: Ctrl+T when the meeting starts and when it ends.
    c.key(Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    page.clock.advance(minutes=50)
    c.key(Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    assert "10:00–10:50 AM" in page.service_summary.full_text()
    assert "3 units" in page.service_summary.full_text()  # 50 min by the 8-minute rule
    assert page.service_summary.text() == page.service_summary.full_text()  # not cut
    # A click on the goal ticks it, fills "Goal" and moves on to Intervention.
    goals = page.goals_list
    c.click(goals.viewport(), goals.visualItemRect(goals.item(0)).center())
    assert page.text_edits["goal_text"].toPlainText() == "A flat by spring"
    assert QApplication.focusWidget() is page.text_edits["intervention"]
    c.write(GIRP["intervention"])
    c.key(Qt.Key.Key_Tab)
    c.write(GIRP["response"])
    c.key(Qt.Key.Key_Tab)
    c.write(GIRP["plan"])
    settle(qtbot, w)  # the boxes grown by the typing laid out, as the next frame shows
    for widget in (*page.text_edits.values(), page.goals_list, page.passphrase_edit):
        if widget.isVisibleTo(page):
            assert_in_view(widget)
    assert page.scroll.verticalScrollBar().value() == 0
    w.grab().save("/tmp/note-window-1000x700.png")
    c.key(Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # to the PIN
    assert QApplication.focusWidget() is page.passphrase_edit
    assert page.sign_label.text().replace("&", "") == "Signing PIN"
    c.type_keys(PIN)
    with qtbot.waitSignal(page.signed, timeout=WAIT):
        c.key(Qt.Key.Key_Return)
    settle(qtbot, w)
    qtbot.waitUntil(lambda: page.status_chip.text() == "Signed", timeout=WAIT)
    assert w.current_page() is page
    assert page.scroll.verticalScrollBar().value() == 0
    # Enter, Ctrl+T twice, Tab twice, Ctrl+Enter, four PIN digits and Enter.
    assert (c.clicks, c.keys) == (3, 11) and c.keys <= 12


def test_signing_keeps_the_person_in_the_note(qtbot, window):
    w = window
    c = Counter(qtbot)
    page = open_new_note(qtbot, w, c)
    nav = w.workspace.nav
    w.statusBar().showMessage("Note signed.")  # what an earlier note left there
    c.key(Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    page.clock.advance(minutes=30)
    c.key(Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    goals = page.goals_list
    c.click(goals.viewport(), goals.visualItemRect(goals.item(0)).center())
    for i, text in enumerate(GIRP.values()):
        c.write(text)
        if i < 2:
            c.key(Qt.Key.Key_Tab)
    # A wrong PIN with Enter: the message is on the note, the status bar says it too.
    c.click(page.passphrase_edit)
    c.type_keys("1357")
    with qtbot.waitSignal(page.sign_refused, timeout=WAIT):
        c.key(Qt.Key.Key_Return)
    settle(qtbot, w)
    assert w.current_page() is page and nav.currentRow() == -1
    assert page.sign_error.isVisible() and "PIN is not right" in page.sign_error.text()
    assert "Note signed." not in w.statusBar().currentMessage()
    assert "not signed" in w.statusBar().currentMessage()
    assert QApplication.focusWidget() is page.passphrase_edit
    # The right PIN with a click on Sign: still in the note, focus inside it.
    c.type_keys(PIN)
    with qtbot.waitSignal(page.signed, timeout=WAIT):
        c.click(page.sign_button)
    still_in_the_note(qtbot, w, page)
    # Add addendum with a click: the same. The form is in view under the signed note
    # at 1000x700 with the full style sheet, without scrolling.
    qtbot.waitUntil(page.addendum_reason.isVisible, timeout=WAIT)
    settle(qtbot, w)
    assert page.scroll.verticalScrollBar().value() == 0
    for widget in (page.addendum_reason, page.addendum_text, page.addendum_button):
        assert_in_view(widget)
    c.click(page.addendum_reason)
    c.write("Correcting the plan")
    c.key(Qt.Key.Key_Tab)
    c.write("The call is on Friday, not Thursday.")
    with qtbot.waitSignal(page.addendum_added, timeout=WAIT):
        c.click(page.addendum_button)
    still_in_the_note(qtbot, w, page)


def still_in_the_note(qtbot, w: MainWindow, page: NoteEditorPage) -> None:
    """Once the worker is done: the note is still the page (no navigation entry
    chosen) and the focus is inside it."""
    settle(qtbot, w)
    assert w.current_page() is page and w.workspace.nav.currentRow() == -1
    focus = QApplication.focusWidget()
    assert focus is not None and page.isAncestorOf(focus)


def test_tab_wraps_within_the_note_and_reactivation_keeps_the_page(qtbot, window):
    w = window
    c = Counter(qtbot)
    page = open_new_note(qtbot, w, c)
    nav = w.workspace.nav
    seen = set()
    for _ in range(60):  # more Tabs than the page has fields: it goes round
        c.key(Qt.Key.Key_Tab)
        focus = QApplication.focusWidget()
        assert focus is not None and page.isAncestorOf(focus), focus
        seen.add(focus)
    assert page.text_edits["goal_text"] in seen and page.passphrase_edit in seen
    assert w.current_page() is page and nav.currentRow() == -1
    for _ in range(5):
        c.key(Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
        focus = QApplication.focusWidget()
        assert focus is not None and page.isAncestorOf(focus)
    # Focus lands in the navigation list (a disabled widget handing it on, or the
    # window becoming active again): the page stays.
    nav.setFocus(Qt.FocusReason.TabFocusReason)
    assert w.current_page() is page and nav.currentRow() == -1
    other = QWidget()
    qtbot.addWidget(other)
    other.show()
    other.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is other, timeout=WAIT)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=WAIT)
    assert w.current_page() is page and nav.currentRow() == -1
    # The arrow keys in the list still choose a page, as a person means to.
    qtbot.keyClick(nav, Qt.Key.Key_Down)
    assert w.current_page() is not page


def test_escape_leaves_a_saved_note_without_asking(qtbot, window):
    w = window
    c = Counter(qtbot)
    page = open_new_note(qtbot, w, c)
    c.write("Talked about the weekend")
    with qtbot.waitSignal(page.saved, timeout=WAIT):
        c.key(Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: w.workspace.current_key() == "participant", timeout=WAIT)
    assert QApplication.activeModalWidget() is None
    settle(qtbot, w)
    box: list = []
    w.ctx.run(
        lambda repos: [
            n
            for n in repos.encounters.list()
            if n.status is NoteStatus.DRAFT and n.service_date == TODAY
        ],
        box.append,
    )
    qtbot.waitUntil(lambda: bool(box), timeout=WAIT)
    assert [n.goal_text for n in box[0]] == ["Talked about the weekend"]


def test_tab_through_a_record_never_changes_the_page(qtbot, window):
    """Tab past a record's last field reaches the navigation list: it never opens
    the Caseload by itself (the cause was the list making its first row current)."""
    w = window
    c = Counter(qtbot)
    table = w.caseload.table
    c.click(table.viewport(), table.visualRect(table.model().index(0, 0)).center())
    c.key(Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.workspace.current_key() == "participant", timeout=WAIT)
    settle(qtbot, w)
    nav = w.workspace.nav
    visited_nav = False
    for _ in range(80):
        c.key(Qt.Key.Key_Tab)
        visited_nav = visited_nav or QApplication.focusWidget() is nav
        assert w.workspace.current_key() == "participant" and nav.currentRow() == -1
    assert visited_nav
