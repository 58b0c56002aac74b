"""What the screenshot scripts share (not a test module): waiting for the event loop
to settle, a demo vault of invented people with cheap key derivation, and the sync
states the status bar is shown in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from pathlib import Path

from PySide6.QtCore import QCoreApplication
from PySide6.QtCore import QEventLoop
from PySide6.QtCore import QTimer

from app.demo import fill_demo
from app.store import vault as vault_module
from app.store.db import Store
from app.store.vault import Vault
from app.ui.sync.sync_state import OFFLINE
from app.ui.sync.sync_state import ONLINE
from app.ui.sync.sync_state import SyncState
from app.ui.sync.sync_state import error_message
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


def sync_states() -> dict[str, SyncState]:
    """The sync part of the status bar's states by name, as of now."""
    now = datetime.now(UTC)
    return {
        "not-connected": SyncState(enrolled=False, pending=3),
        "online": SyncState(
            enrolled=True, connection=ONLINE, last_ok_at=now - timedelta(minutes=3)
        ),
        "offline": _failing(OFFLINE, "offline", 14, now - timedelta(days=2)),
        "syncing": SyncState(enrolled=True, connection=ONLINE, syncing=True, pending=42),
        "syncing-long": SyncState(
            enrolled=True,
            connection=ONLINE,
            syncing=True,
            pending=420,
            progress_total=900,
            progress_done=380,
        ),
        "problem": _failing(ONLINE, "server_error", 5, now - timedelta(hours=5)),
        "conflicts": SyncState(
            enrolled=True,
            connection=ONLINE,
            open_conflicts=2,
            clock_offset_ms=38 * 60_000,
            last_ok_at=now - timedelta(minutes=1),
        ),
    }


def _failing(connection: str, code: str, pending: int, last_ok: datetime) -> SyncState:
    """The last sync failed with ``code`` (its own message), ``pending`` changes waiting."""
    failure = {"error_code": code, "error": error_message(code), "last_ok_at": last_ok}
    return SyncState(enrolled=True, connection=connection, pending=pending, **failure)
