"""What the screenshot scripts share (not a test module): waiting for the event loop
to settle, and a demo vault of invented people with cheap key derivation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer

from app.demo import fill_demo
from app.store import vault as vault_module
from app.store.db import Store
from app.store.vault import Vault
from tests.conftest import FAST_KDF


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
    for _ in range(5):
        QCoreApplication.processEvents()


def make_demo_vault(
    folder: Path, passphrase: str, today: date, participants: int = 24, years: int = 2, seed=3
) -> None:
    """A closed demo vault in ``folder``: a screenshot, not a security test, so the KDF is cheap."""
    vault_module.DEFAULT_KDF = FAST_KDF
    vault = Vault(folder)
    vault.create(passphrase)
    store = Store.open(vault)
    try:
        fill_demo(store, participants=participants, years=years, seed=seed, today=today)
    finally:
        store.close()
        vault.lock()
