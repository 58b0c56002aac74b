"""The start screens against a real vault in a temporary folder, a real database
thread and a real (offscreen) Qt event loop: create, unlock, wrong passphrase,
damaged files, recovery key, demo."""

from __future__ import annotations

import sys
import threading
import types
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.domain.records import Participant
from app.paths import demo_data_dir
from app.services import demos as start_module
from app.store.db import Store
from app.store.errors import StoreError
from app.store.repositories import Repositories
from app.store.vault import DBFILE
from app.store.vault import KEYFILE
from app.store.vault import Vault
from app.ui.shell.main_window import DEMO_TITLE
from app.ui.shell.main_window import TITLE
from app.ui.shell.main_window import MainWindow
from app.ui.shell.tasks import TaskManager
from tests.conftest import PASSPHRASE
from tests.ui_support import settle

NEW_PASSPHRASE = "a brand new passphrase"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def make_vault(folder: Path, *names: tuple[str, str]) -> str:
    """A vault holding the given participants; returns its recovery key."""
    vault = Vault(folder)
    key = vault.create(PASSPHRASE)
    store = Store.open(vault)
    try:
        repos = Repositories(store)
        for first, last in names:
            repos.participants.add(Participant(first_name=first, last_name=last))
    finally:
        store.close()
        vault.lock()
    return key


def to_create_page(qtbot, window: MainWindow):
    """From the first-start welcome to the create page, as a person would."""
    assert window.start.currentWidget() is window.start.welcome_page
    qtbot.mouseClick(window.start.welcome_page.start_button, Qt.MouseButton.LeftButton)
    assert window.start.currentWidget() is window.start.create_page
    return window.start.create_page


def shown_names(window: MainWindow) -> list[str]:
    model = window.caseload.proxy
    return [model.index(r, 0).data() for r in range(model.rowCount())]


# -- the task manager ----------------------------------------------------------------


def test_tasks_run_off_the_ui_thread_and_report_back_on_it(qtbot):
    tasks = TaskManager()
    ui_thread = threading.current_thread()
    seen: list[tuple[str, object, bool]] = []

    def work(x: int) -> tuple[int, bool]:
        return x * 2, threading.current_thread() is ui_thread

    def boom() -> None:
        raise ValueError("nope")

    try:
        with qtbot.waitSignal(tasks.idle, timeout=5000):
            tasks.run(
                work,
                lambda r: seen.append(("done", r, threading.current_thread() is ui_thread)),
                args=(21,),
            )
            tasks.run(
                boom,
                on_error=lambda e: seen.append(
                    ("error", type(e), threading.current_thread() is ui_thread)
                ),
            )
            assert tasks.busy
        assert seen == [("done", (42, False), True), ("error", ValueError, True)]
        assert not tasks.busy
    finally:
        tasks.shutdown()


def test_tasks_shutdown_runs_the_final_step_after_queued_work(qtbot):
    tasks = TaskManager()
    order: list[str] = []
    tasks.run(lambda: order.append("first"))
    tasks.shutdown(final=lambda: order.append("final"))
    assert order == ["first", "final"]
    with pytest.raises(RuntimeError):
        tasks.run(lambda: None)


# -- create ---------------------------------------------------------------------------


def test_create_vault_through_the_ui(qtbot, make_window, data_dir):
    w = make_window(data_dir)
    page = to_create_page(qtbot, w)
    assert w.windowTitle() == TITLE

    page.passphrase.setText("short")
    page.confirm.setText("short")
    qtbot.mouseClick(page.submit_button, Qt.MouseButton.LeftButton)
    assert page.error.isVisible()
    assert "too short" in page.error.text()
    assert not data_dir.exists()

    page.passphrase.setText(NEW_PASSPHRASE)
    page.confirm.setText(NEW_PASSPHRASE + "x")
    qtbot.mouseClick(page.submit_button, Qt.MouseButton.LeftButton)
    assert page.error.isVisible()
    assert "not the same" in page.error.text()
    assert not data_dir.exists()

    page.confirm.setText(NEW_PASSPHRASE)
    qtbot.keyClick(page.confirm, Qt.Key.Key_Return)
    settle(qtbot, w)

    key_page = w.start.recovery_page
    assert w.start.currentWidget() is key_page
    key = key_page.key
    assert len(key.replace("-", "")) == 36
    assert key.split("-")[0] in key_page.key_label.text()
    assert not key_page.continue_button.isEnabled()
    qtbot.mouseClick(key_page.continue_button, Qt.MouseButton.LeftButton)
    assert w.start.currentWidget() is key_page  # nothing happens until ticked

    key_page.confirm_check.setChecked(True)
    assert key_page.continue_button.isEnabled()
    qtbot.mouseClick(key_page.continue_button, Qt.MouseButton.LeftButton)
    settle(qtbot, w)

    assert w.current_page() is w.caseload
    assert w.session is not None and not w.session.demo
    assert w.model.rowCount() == 0
    assert w.caseload.empty_label.isVisible()
    assert key_page.key == ""  # the page no longer holds the key
    assert (data_dir / DBFILE).exists() and (data_dir / KEYFILE).exists()
    assert not demo_data_dir(data_dir).exists()

    # The key shown is the real recovery key of the new vault.
    w.lock()
    settle(qtbot, w)
    check = Vault(data_dir)
    check.unlock_with_recovery_key(key)
    check.lock()


def test_closing_on_the_recovery_key_page_closes_the_store(qtbot, make_window, data_dir):
    w = make_window(data_dir)
    page = to_create_page(qtbot, w)
    page.passphrase.setText(NEW_PASSPHRASE)
    page.confirm.setText(NEW_PASSPHRASE)
    qtbot.mouseClick(page.submit_button, Qt.MouseButton.LeftButton)
    settle(qtbot, w)
    pending = w.start.pending
    assert pending is not None and not pending.closed
    w.close()
    assert pending.closed
    assert not pending.vault.unlocked


# -- unlock -----------------------------------------------------------------------------


def test_unlock_shows_the_caseload_read_off_the_ui_thread(
    qtbot, make_window, data_dir, monkeypatch
):
    make_vault(data_dir, ("Wenonah", "Gray Cloud"), ("Per", "Aasland"))
    threads: list[str] = []
    real_unlock = Vault.unlock

    def spy_unlock(self, passphrase):
        threads.append(threading.current_thread().name)
        return real_unlock(self, passphrase)

    monkeypatch.setattr(Vault, "unlock", spy_unlock)
    w = make_window(data_dir)
    page = w.start.unlock_page
    assert w.start.currentWidget() is page
    page.passphrase.setText(PASSPHRASE)
    qtbot.mouseClick(page.submit_button, Qt.MouseButton.LeftButton)
    assert page.busy_bar.isVisible() or not w.tasks.busy
    settle(qtbot, w)

    assert threads and all(name.startswith("peertrail-db") for name in threads)
    assert w.current_page() is w.caseload
    assert shown_names(w) == ["Per Aasland", "Wenonah Gray Cloud"]
    assert page.passphrase.text() == ""
    assert "2 participants" in w.count_label.text()


def test_wrong_passphrase_shows_a_message_and_changes_nothing(qtbot, make_window, data_dir):
    make_vault(data_dir, ("Ada", "Birchwood"))
    before = snapshot(data_dir)
    w = make_window(data_dir)
    page = w.start.unlock_page
    page.passphrase.setText("not the passphrase")
    qtbot.keyClick(page.passphrase, Qt.Key.Key_Return)
    settle(qtbot, w)

    assert w.pages.currentWidget() is w.start
    assert page.error.isVisible()
    assert "does not unlock" in page.error.text()
    assert page.submit_button.isEnabled()
    assert w.session is None
    assert snapshot(data_dir) == before

    page.passphrase.setText("")
    qtbot.mouseClick(page.submit_button, Qt.MouseButton.LeftButton)
    assert "Type your passphrase" in page.error.text()


def _unlock_damaged(qtbot, make_window, data_dir: Path):
    """Open the window on a damaged vault folder and try the right passphrase:
    (window, unlock page, the folder's snapshot from before)."""
    before = snapshot(data_dir)
    w = make_window(data_dir)
    assert w.start.currentWidget() is w.start.unlock_page  # never offered "create"
    page = w.start.unlock_page
    page.passphrase.setText(PASSPHRASE)
    qtbot.mouseClick(page.submit_button, Qt.MouseButton.LeftButton)
    settle(qtbot, w)
    return w, page, before


def test_truncated_database_shows_its_message_and_is_left_alone(qtbot, make_window, data_dir):
    make_vault(data_dir, ("Ada", "Birchwood"))
    db = data_dir / DBFILE
    db.write_bytes(db.read_bytes()[:5000])
    w, page, before = _unlock_damaged(qtbot, make_window, data_dir)
    assert w.session is None
    assert w.pages.currentWidget() is w.start
    assert "truncated" in page.error.text()
    assert snapshot(data_dir) == before
    assert not demo_data_dir(data_dir).exists()


def test_missing_database_is_not_created(qtbot, make_window, data_dir):
    make_vault(data_dir)
    (data_dir / DBFILE).unlink()
    for leftover in data_dir.glob(DBFILE + "-*"):
        leftover.unlink()
    _w, page, before = _unlock_damaged(qtbot, make_window, data_dir)
    assert "missing" in page.error.text()
    assert snapshot(data_dir) == before
    assert not (data_dir / DBFILE).exists()


def test_missing_key_file_is_reported(qtbot, make_window, data_dir):
    make_vault(data_dir)
    (data_dir / KEYFILE).unlink()
    _w, page, before = _unlock_damaged(qtbot, make_window, data_dir)
    assert "key file" in page.error.text()
    assert snapshot(data_dir) == before


# -- recovery key ------------------------------------------------------------------------


def test_recovery_key_unlocks_and_sets_a_new_passphrase(qtbot, make_window, data_dir):
    key = make_vault(data_dir, ("Ada", "Birchwood"))
    w = make_window(data_dir)
    qtbot.mouseClick(w.start.unlock_page.forgot_button, Qt.MouseButton.LeftButton)
    page = w.start.recover_page
    assert w.start.currentWidget() is page

    page.key_edit.setText(key)
    page.passphrase.setText(NEW_PASSPHRASE)
    page.confirm.setText("something else entirely")
    qtbot.mouseClick(page.submit_button, Qt.MouseButton.LeftButton)
    assert "not the same" in page.error.text()

    wrong = make_vault(data_dir.parent / "other")
    page.key_edit.setText(wrong)
    page.confirm.setText(NEW_PASSPHRASE)
    before = snapshot(data_dir)
    qtbot.mouseClick(page.submit_button, Qt.MouseButton.LeftButton)
    settle(qtbot, w)
    assert "recovery key" in page.error.text()
    assert "does not unlock" in page.error.text()
    assert snapshot(data_dir) == before

    # Typed the way people copy from paper: small letters, spaces for dashes.
    page.key_edit.setText(key.lower().replace("-", " "))
    qtbot.mouseClick(page.submit_button, Qt.MouseButton.LeftButton)
    settle(qtbot, w)
    assert w.current_page() is w.caseload
    assert shown_names(w) == ["Ada Birchwood"]

    w.lock()
    settle(qtbot, w)
    vault = Vault(data_dir)
    vault.unlock(NEW_PASSPHRASE)
    vault.lock()
    with pytest.raises(Exception, match="does not unlock"):
        vault.unlock(PASSPHRASE)


# -- demo -------------------------------------------------------------------------------


def _fake_demo_module(calls: list[dict]) -> types.ModuleType:
    module = types.ModuleType("app.demo")

    def fill_demo(store, participants, years, seed, progress):
        calls.append({"participants": participants, "years": years, "seed": seed})
        repos = Repositories(store)
        for i in range(participants):
            repos.participants.add(Participant(first_name=f"Invented{i}", last_name="Person"))
            progress(i + 1, participants)

    module.fill_demo = fill_demo  # type: ignore[attr-defined]
    return module


def test_demo_opens_beside_the_real_vault_and_says_demo(qtbot, make_window, data_dir, monkeypatch):
    calls: list[dict] = []
    monkeypatch.setitem(sys.modules, "app.demo", _fake_demo_module(calls))
    w = make_window(data_dir)
    reports: list[int] = []
    w.start.demo_page.progress.valueChanged.connect(reports.append)
    qtbot.mouseClick(w.start.welcome_page.demo_button, Qt.MouseButton.LeftButton)
    assert w.windowTitle() == DEMO_TITLE
    assert w.demo_banner.isVisible()
    settle(qtbot, w)

    assert calls == [{"participants": 40, "years": 2, "seed": 7}]
    assert reports and reports[-1] == 100
    assert w.current_page() is w.caseload
    assert w.session is not None and w.session.demo
    assert w.windowTitle() == DEMO_TITLE
    assert w.demo_banner.isVisible()
    assert "DEMO" in w.demo_banner.text() and "invented" in w.demo_banner.text()
    assert w.model.rowCount() == 40
    assert not data_dir.exists()  # the real vault was not created or touched
    assert Vault(demo_data_dir(data_dir)).exists()

    # Locking leaves the demo: back to the real start screen, no demo marks.
    w.lock()
    settle(qtbot, w)
    assert w.windowTitle() == TITLE
    assert not w.demo_banner.isVisible()
    assert w.start.currentWidget() is w.start.welcome_page

    # The second time the demo vault is opened, not filled again.
    qtbot.mouseClick(w.start.welcome_page.demo_button, Qt.MouseButton.LeftButton)
    settle(qtbot, w)
    assert len(calls) == 1
    assert w.model.rowCount() == 40


def test_demo_failure_is_shown_with_a_way_back(qtbot, make_window, data_dir, monkeypatch):
    module = types.ModuleType("app.demo")

    def fill_demo(store, participants, years, seed, progress):
        raise StoreError("The demo could not be written.")

    module.fill_demo = fill_demo  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "app.demo", module)
    w = make_window(data_dir)
    qtbot.mouseClick(w.start.welcome_page.demo_button, Qt.MouseButton.LeftButton)
    settle(qtbot, w)
    page = w.start.demo_page
    assert w.session is None
    assert "could not be written" in page.error.text()
    assert page.back_button.isVisible()
    assert w.windowTitle() == TITLE
    qtbot.mouseClick(page.back_button, Qt.MouseButton.LeftButton)
    assert w.start.currentWidget() is w.start.welcome_page


@pytest.mark.slow
def test_real_demo_fill(qtbot, make_window, data_dir):
    pytest.importorskip("app.demo")
    w = make_window(data_dir)
    qtbot.mouseClick(w.start.welcome_page.demo_button, Qt.MouseButton.LeftButton)
    settle(qtbot, w, timeout=240_000)
    assert w.start.demo_page.error.text() == ""
    assert w.current_page() is w.caseload
    assert w.model.rowCount() == start_module.DEMO_PARTICIPANTS
    assert not data_dir.exists()


def test_progress_reports_of_any_shape():
    assert start_module.progress_fraction(5, 10) == (0.5, "")
    assert start_module.progress_fraction(0.25) == (0.25, "")
    assert start_module.progress_fraction(50) == (0.5, "")
    assert start_module.progress_fraction("notes", 3, 4) == (0.75, "notes")
    assert start_module.progress_fraction(done=1, total=4, stage="people") == (0.25, "people")
    assert start_module.progress_fraction("just words") == (None, "just words")
    assert start_module.progress_fraction(12, 10)[0] == 1.0


def test_run_gui_shows_the_window_with_the_style_sheet(qtbot, data_dir, fast_kdf, monkeypatch):
    from PySide6.QtWidgets import QApplication

    from app.ui.shell.app import load_style_sheet
    from app.ui.shell.app import run_gui

    assert "QPushButton#primary" in load_style_sheet()
    seen: list[str] = []

    def fake_exec(self=None) -> int:
        # A real exec() ended by quit() made later tests' waits time out in this
        # process, so the loop is stood in for; the window and sheet are real.
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, MainWindow) and widget.isVisible():
                seen.append(widget.windowTitle())
                widget.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", fake_exec)
    app = QApplication.instance()
    try:
        assert run_gui(data_dir, ["peertrail"]) == 0
        assert seen == [TITLE]
        assert app.applicationName() == "PeerTrail"
        assert "QPushButton#primary" in app.styleSheet()
        assert not data_dir.exists()
    finally:
        app.setStyleSheet("")


def test_team_demo_opens_the_supervisor_screens_beside_the_real_vault(qtbot, make_window, data_dir):
    from app.services.demos import demo_team_dir

    w = make_window(data_dir)
    qtbot.mouseClick(w.start.create_page.team_demo_button, Qt.MouseButton.LeftButton)
    assert w.windowTitle() == DEMO_TITLE
    qtbot.waitUntil(lambda: w.workspace is not None, timeout=240_000)
    settle(qtbot, w, timeout=60_000)
    ws = w.workspace
    assert {"team", "review", "supervision", "hours", "participant"} <= set(ws.pages)
    assert w.current_page() is ws.pages["team"]
    assert w.session is not None and w.session.demo
    assert not data_dir.exists()
    assert Vault(demo_team_dir(data_dir)).exists()
    assert not Vault(demo_data_dir(data_dir)).exists()  # the specialist demo is untouched
    w.lock()
    settle(qtbot, w)
    assert w.windowTitle() == TITLE and w.workspace is None
