"""A screenshot tour: a PNG of every main screen with a demo caseload.

Run with ``make screenshots`` (100 % and 200 % scaling, light and dark) or
``python -m tests.screenshot_tour OUT_DIR``. It builds a demo vault of invented
people in a temporary folder, opens the real main window on it, walks the start
screens, every page of the workspace, a participant's record and a note, and
saves ``<screen>.png`` files into OUT_DIR (the Makefile uses the ignored folder
``screenshots-tmp/``). Scaling comes from ``QT_SCALE_FACTOR`` in the environment,
the scheme from ``PEERTRAIL_THEME=dark|light``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication, QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from app.demo import fill_demo
from app.store import vault as vault_module
from app.store.db import Store
from app.store.vault import Vault
from app.ui.app import load_style_sheet, make_application
from app.ui.main_window import MainWindow
from app.ui.theme import apply_theme

PASSPHRASE = "screenshot tour passphrase"
TODAY = date(2026, 11, 20)
FAST_KDF = {"name": "argon2id", "iterations": 1, "lanes": 1, "memory_kib": 8192}


def wait_until(check: Callable[[], bool], timeout_ms: int = 20_000) -> None:
    """Run the event loop until ``check()`` is true (or fail after the timeout)."""
    waited = 0
    while not check():
        if waited >= timeout_ms:
            raise TimeoutError("the screen did not settle")
        loop = QEventLoop()
        QTimer.singleShot(20, loop.quit)
        loop.exec()
        waited += 20


def settle(window: MainWindow) -> None:
    """Wait for the database thread, then give layouts (which re-arrange on resize,
    in posted events) a few turns of the event loop."""
    wait_until(lambda: not window.tasks.busy)
    for _ in range(3):
        loop = QEventLoop()
        QTimer.singleShot(30, loop.quit)
        loop.exec()
        QCoreApplication.processEvents()


def save(widget: QWidget, out: Path, name: str) -> None:
    path = out / f"{name}.png"
    widget.grab().save(str(path))
    print(path)


def make_demo_vault(folder: Path, participants: int = 24, years: int = 2) -> None:
    vault_module.DEFAULT_KDF = FAST_KDF  # a tour, not a security test
    vault = Vault(folder)
    vault.create(PASSPHRASE)
    store = Store.open(vault)
    try:
        fill_demo(store, participants=participants, years=years, seed=3, today=TODAY)
    finally:
        store.close()
        vault.lock()


def record_steps(window: MainWindow) -> list[tuple[str, Callable[[], None]]]:
    """A participant's record, tab by tab, for the person listed first."""
    ws = window.workspace
    assert ws is not None
    first = window.caseload.proxy.index(0, 0)
    pid = window.caseload.proxy.data(first, Qt.ItemDataRole.UserRole + 2)
    page = ws.pages["participant"]
    steps: list[tuple[str, Callable[[], None]]] = [
        ("20-participant-profile", lambda: window._open_participant(pid))
    ]
    tabs = getattr(page, "tabs", None)
    if tabs is not None:
        for i in range(1, tabs.count()):
            label = tabs.tabText(i).replace("&", "").lower().replace(" ", "-")
            steps.append((f"{20 + i}-participant-{label}", lambda i=i: tabs.setCurrentIndex(i)))
    return steps


def tour(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    app = make_application([])
    dark = os.environ.get("PEERTRAIL_THEME", "light") == "dark"
    apply_theme(app, load_style_sheet(), dark=dark)
    with tempfile.TemporaryDirectory(prefix="peertrail-tour-") as tmp:
        fresh = MainWindow(Path(tmp) / "fresh")
        fresh.resize(1000, 700)
        fresh.show()
        settle(fresh)
        save(fresh, out, "01-create-vault")
        fresh.close()

        folder = Path(tmp) / "vault"
        make_demo_vault(folder)
        window = MainWindow(folder)
        window.resize(1000, 700)
        window.show()
        settle(window)
        save(window, out, "02-unlock")
        window.start.unlock_page.passphrase.setText(PASSPHRASE)
        window.start.unlock_page.submit_button.click()
        wait_until(lambda: window.workspace is not None and window.model.rowCount() > 0)
        settle(window)
        save(window, out, "03-caseload")
        ws = window.workspace
        assert ws is not None
        in_nav = [ws.nav.item(r).data(Qt.ItemDataRole.UserRole + 1) for r in range(ws.nav.count())]
        for n, key in enumerate(in_nav, start=4):
            if key == "caseload":
                continue
            ws.show_page(key)
            settle(window)
            save(window, out, f"{n:02d}-{key}")
        hours = ws.pages["hours"]
        ws.show_page("hours")
        settle(window)
        bar = hours.scroll.verticalScrollBar()
        bar.setValue(bar.maximum())
        settle(window)
        save(window, out, "10-hours-bottom")
        bar.setValue(0)
        hours.add_entry()
        settle(window)
        save(window, out, "11-hours-entry-form")
        hours.close_form()
        for name, step in record_steps(window):
            step()
            settle(window)
            save(window, out, name)
        record = ws.pages["participant"]
        record.tabs.setCurrentIndex(0)
        form = record.edit_profile()
        if form is not None:
            settle(window)
            save(form, out, "30-participant-form")
            form.reject()
        ws.show_page("caseload")
        form = window.caseload.add_participant()
        if form is not None:
            settle(window)
            save(form, out, "31-add-participant-form")
            form.reject()
        # The smallest window: nothing may need sideways scrolling.
        window.resize(720, 560)
        for key, name in (("caseload", "40-small-caseload"), ("hours", "41-small-hours")):
            ws.show_page(key)
            settle(window)
            save(window, out, name)
        for name, step in record_steps(window):
            step()
            settle(window)
            save(window, out, "42-small-" + name.split("-", 1)[1])
        window.resize(1000, 700)
        window.lock()
        settle(window)
        save(window, out, "99-locked")
        window.close()
    QApplication.processEvents()


if __name__ == "__main__":
    tour(Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots-tmp"))
