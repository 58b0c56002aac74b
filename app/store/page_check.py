"""Every page's HMAC checked in the background while the vault is already being read.

``cipher_integrity_check`` reads the whole database file: about a second per
500 MB on an idle laptop core, many seconds on a busy one. Run before the store
opens (as the command line does), it made unlocking a five-year caseload miss its
1.5 s target many times over. The desktop instead opens the store at once and runs
the check on a connection and thread of their own: reads go on meanwhile (SQLCipher
checks each page's HMAC as it reads it anyway), and the store's first write waits
for the check (starting it if it has not started) and is refused with
:class:`VaultDamaged` if any page failed, so a damaged vault is still never written
to. The desktop starts it once the caseload is on screen, so the check does not
compete with it for the processor. Qt-free.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path

import sqlcipher3

from app.store.vault import check_pages

Listener = Callable[[BaseException | None], None]


class BackgroundPageCheck:
    """One check of every page on ``conn`` (a connection of its own, closed after)."""

    def __init__(self, conn: sqlcipher3.Connection, path: Path) -> None:
        self._conn = conn
        self._path = path
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self.error: BaseException | None = None
        self._stopping = False
        self._started = False
        self._thread = threading.Thread(target=self._run, name="page-check", daemon=True)

    def start(self) -> BackgroundPageCheck:
        """Begin (once; from any thread)."""
        with self._lock:
            if not self._started:
                self._started = True
                self._thread.start()
        return self

    def _run(self) -> None:
        try:
            check_pages(self._conn, self._path)
        except BaseException as e:  # VaultDamaged, DiskFull, an interrupt at close
            self.error = e
        finally:
            with contextlib.suppress(sqlcipher3.Error):
                self._conn.close()
            with self._lock:
                self._done.set()
                listeners, self._listeners = self._listeners, []
            if self._stopping:  # cut short at close: nothing was found, nothing to say
                listeners = []
            for listener in listeners:
                listener(self.error)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self) -> None:
        """Block until the check ended (starting it if it was not); raise what it
        found (every time)."""
        self.start()
        self._done.wait()
        if self.error is not None:
            raise self.error

    def on_done(self, listener: Listener) -> None:
        """Call ``listener(error or None)`` when the check ends (at once if it has;
        else on the check's thread)."""
        with self._lock:
            if not self._done.is_set():
                self._listeners.append(listener)
                return
        listener(self.error)

    def stop(self, wait: bool = False) -> None:
        """The store is closing: nothing more is reported. A check under way is not
        waited for (SQLCipher's check cannot be interrupted, and locking must not
        wait seconds for it): it reads on and closes its own read-only connection
        (and, with it, its copy of the key) when it ends; ``wait`` joins it."""
        with self._lock:
            self._stopping = True
            started = self._started
            self._started = True  # never starts after this
        if not started:
            with contextlib.suppress(sqlcipher3.Error):
                self._conn.close()
            return
        with contextlib.suppress(sqlcipher3.Error):
            self._conn.interrupt()
        if wait:
            self._thread.join()
