"""The specialist's usual hours and longest service are their own preference: set in
Preferences (Ctrl+, in the real main window, changed with real key presses and
clicks), kept in the vault (not in the plaintext settings), and used at once by the
time questions of the note being written, by a new note, and by "Sign finished
notes". Real vault, real database worker, the editor's clock a fake one."""

from __future__ import annotations

import json
from datetime import time
from pathlib import Path

from PySide6.QtCore import QPoint
from PySide6.QtCore import Qt
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QDialogButtonBox

from app.domain.note_times import TimePolicy
from app.services import notes
from app.services import signing
from app.store.db import Store
from app.store.repositories import Repositories
from app.store.vault import Vault
from app.ui.notes.note_editor import NoteEditorPage
from app.ui.shell.main_window import MainWindow
from app.ui.shell.preferences import PreferencesDialog
from tests.test_ui_note_flow import PASSPHRASE
from tests.test_ui_note_flow import TODAY
from tests.test_ui_note_flow import WAIT
from tests.test_ui_note_flow import Counter
from tests.test_ui_note_flow import data_dir  # noqa: F401  (fixtures)
from tests.test_ui_note_flow import open_new_note
from tests.test_ui_note_flow import settle
from tests.test_ui_note_flow import window  # noqa: F401  (fixtures)
from tests.test_ui_note_flow import windows  # noqa: F401  (fixtures)


def type_times(qtbot, page: NoteEditorPage, start_text: str, end_text: str) -> None:
    """Open the service details with a click and type both times, Tab after each."""
    if not page.service_details.isVisible():
        qtbot.mouseClick(page.service_summary, Qt.MouseButton.LeftButton)
    for edit, text in ((page.start_edit, start_text), (page.end_edit, end_text)):
        qtbot.mouseClick(edit, Qt.MouseButton.LeftButton)
        qtbot.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        qtbot.keyClicks(edit, text)
        qtbot.keyClick(edit, Qt.Key.Key_Tab)


def set_preferences(qtbot, w: MainWindow, ends_earlier_by: int, longest: str) -> None:
    """Ctrl+, opens Preferences; the usual hours end ``ends_earlier_by`` hours earlier
    (Down on the hour), the longest service is typed; OK is clicked."""
    seen: list[PreferencesDialog] = []

    def fill() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, PreferencesDialog)
        seen.append(dialog)
        qtbot.waitUntil(dialog.times_group.isEnabled, timeout=WAIT)
        ends = dialog.day_ends
        qtbot.mouseClick(ends, Qt.MouseButton.LeftButton, pos=QPoint(6, ends.height() // 2))
        for _ in range(ends_earlier_by):
            qtbot.keyClick(ends, Qt.Key.Key_Down)
        spin = dialog.longest
        qtbot.mouseClick(spin, Qt.MouseButton.LeftButton, pos=QPoint(6, spin.height() // 2))
        qtbot.keyClick(spin, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        qtbot.keyClicks(spin, longest)
        ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
        qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, fill)
    focus = QApplication.focusWidget()
    assert focus is not None
    qtbot.keyClick(focus, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    assert seen and not seen[0].isVisible()
    settle(qtbot, w)
    w.activateWindow()  # the offscreen platform does not give it back by itself
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=WAIT)


def test_usual_hours_and_longest_service_are_the_persons_preference(
    qtbot,
    data_dir: Path,  # noqa: F811  (the fixture; the window's)
    window,  # noqa: F811
) -> None:
    w = window
    page = open_new_note(qtbot, w, Counter(qtbot))
    # With the defaults (7 AM to 9 PM, 4 hours) an evening visit asks nothing.
    type_times(qtbot, page, "5:30 PM", "6:15 PM")
    assert not page.time_questions.isVisible()
    # Usual hours end at 5 PM; services longer than 60 minutes ask.
    set_preferences(qtbot, w, ends_earlier_by=4, longest="60")
    assert w.current_page() is page
    qtbot.waitUntil(page.time_questions.isVisible, timeout=WAIT)
    text = page.time_questions.label.text()
    assert "outside your usual hours (7:00 AM–5:00 PM)" in text, text
    # The same note at 9:00-10:30: inside the hours, longer than the new limit.
    type_times(qtbot, page, "9:00 AM", "10:30 AM")
    assert "lasted 1 h 30 min, longer than 1 h" in page.time_questions.label.text()
    # The dialog shows what was kept when it opens again, and a new note uses it.
    dialog = PreferencesDialog(w.settings, w.ctx, w.sync_controller, w)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(dialog.times_group.isEnabled, timeout=WAIT)
    assert dialog.time_policy() == TimePolicy(time(7, 0), time(17, 0), 60)
    dialog.reject()
    # Nothing of it is in the plaintext settings.
    keys = " ".join(w.settings.qs.allKeys()).lower()
    assert "hour" not in keys and "longest" not in keys and "note_times" not in keys
    w.close()
    vault = Vault(data_dir)
    vault.unlock(PASSPHRASE)
    store = Store.open(vault)
    try:
        repos = Repositories(store)
        kept = json.loads(store.meta(f"{notes.TIMES_KEY}:{store.user_id}"))
        assert kept == {"day_starts": "07:00", "day_ends": "17:00", "longest_minutes": 60}
        assert notes.time_policy(repos, store.user_id) == TimePolicy(time(7, 0), time(17, 0), 60)
    finally:
        store.close()
        vault.lock()


def test_impossible_hours_are_refused_next_to_the_fields(qtbot, window) -> None:  # noqa: F811
    w = window
    dialog = PreferencesDialog(w.settings, w.ctx, w.sync_controller, w)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(dialog.times_group.isEnabled, timeout=WAIT)
    ends = dialog.day_ends
    qtbot.mouseClick(ends, Qt.MouseButton.LeftButton, pos=QPoint(6, ends.height() // 2))
    for _ in range(15):  # 9 PM back to 6 AM: before the start (7 AM)
        qtbot.keyClick(ends, Qt.Key.Key_Down)
    qtbot.mouseClick(
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton
    )
    assert dialog.isVisible() and dialog.times_error.isVisible()
    assert "end after they start" in dialog.times_error.text()
    settle(qtbot, w)
    # The vault still has no preference of its own: the defaults apply.
    out: list[TimePolicy] = []
    w.ctx.run(notes.time_policy, out.append, args=(w.ctx.user.id,))
    qtbot.waitUntil(lambda: bool(out), timeout=WAIT)
    assert out[0] == TimePolicy()
    dialog.reject()


def test_sign_finished_notes_follows_the_signers_limit(tmp_path: Path, fast_kdf) -> None:
    """A draft of 90 minutes is finished under the default limit, not under 60."""
    from tests.builders import add_encounter
    from tests.builders import add_goal
    from tests.helpers import add_person
    from tests.helpers import new_vault

    with new_vault(tmp_path / "v") as store:
        repos = Repositories(store)
        owner = repos.users.require(store.user_id)
        p = add_person(repos, "Ines", "Okonkwo-Barr")
        g = add_goal(repos, p, "A quiet flat")
        girp = (
            "A quiet flat",
            "Called two landlords together",
            "Left one message",
            "Call back Monday",
        )
        at = (time(9, 0), time(10, 30))
        draft = add_encounter(repos, p, g, owner, on=TODAY, at=at, girp=girp, service_code="H0038")
        ready, waiting = signing.finished_drafts(repos, owner, TODAY)
        assert [d.id for d in ready] == [draft.id] and waiting == 0
        notes.save_time_policy(repos, owner.id, TimePolicy(longest_minutes=60))
        ready, waiting = signing.finished_drafts(repos, owner, TODAY)
        assert ready == [] and waiting == 1
