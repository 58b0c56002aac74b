"""One SQLite writer at a time, first come first served, inside this process.

SQLite lets one write transaction run at a time; the others wait in its busy
handler, which sleeps and polls (1, 2, 5 … 100 ms between tries). Under load
that is unfair and wasteful: the lock is often free while every waiter sleeps,
and a writer that arrives late may take it before one that has waited seconds
(200 devices: p99 of a sync 7.7 s, the server busy 80 % of the time). So every
write transaction of an engine opened by ``sync.server.db`` first queues here,
in arrival order, and only then sends ``BEGIN IMMEDIATE``; the busy handler is
left for writers in other processes (the command line, a backup).

The queue is per database file, so two engines on one file in this process
share it. A transaction holds its place from ``BEGIN`` until its ``COMMIT`` or
``ROLLBACK`` (or until its connection goes back to the pool, whichever comes
first); a waiter gives up after the busy timeout, as SQLite would.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError


class FifoLock:
    """A lock handed to its waiters in the order they asked for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._waiters: deque[threading.Lock] = deque()
        self._held = False

    def acquire(self, timeout: float) -> bool:
        with self._guard:
            if not self._held:
                self._held = True
                return True
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        if turn.acquire(timeout=timeout):
            return True  # the holder handed the lock over
        with self._guard:
            try:
                self._waiters.remove(turn)
            except ValueError:
                return True  # handed over just as the wait ran out: it is ours
            return False

    def release(self) -> None:
        with self._guard:
            if self._waiters:
                self._waiters.popleft().release()  # still held: by the next in line
            else:
                self._held = False

    @property
    def waiting(self) -> int:
        return len(self._waiters)


_locks: dict[str, FifoLock] = {}
_locks_guard = threading.Lock()


def lock_for(key: str) -> FifoLock:
    """The one queue of writers for this database (by its file's path)."""
    with _locks_guard:
        return _locks.setdefault(key, FifoLock())


class WriterQueue:
    """Installs the queue on an engine: ``begin(conn, read_only)`` is called by the
    engine's begin event in place of sending BEGIN itself."""

    def __init__(self, engine: Engine, key: str, timeout_s: float) -> None:
        self.lock = lock_for(key)
        self.timeout_s = timeout_s
        self._holders: set[int] = set()  # raw DB-API connections holding the lock
        self._guard = threading.Lock()
        dialect = engine.dialect
        commit, rollback = dialect.do_commit, dialect.do_rollback

        def do_commit(dbapi_conn: Any) -> None:
            try:
                commit(dbapi_conn)
            finally:
                self.release(dbapi_conn)

        def do_rollback(dbapi_conn: Any) -> None:
            try:
                rollback(dbapi_conn)
            finally:
                self.release(dbapi_conn)

        dialect.do_commit = do_commit  # type: ignore[method-assign]
        dialect.do_rollback = do_rollback  # type: ignore[method-assign]
        for name in ("checkin", "invalidate", "close", "close_detached"):
            event.listen(engine.pool, name, self._on_pool_event)

    def begin(self, conn: Any, read_only: bool) -> None:
        """Send BEGIN (a reader) or queue, then send BEGIN IMMEDIATE (a writer)."""
        if read_only:
            conn.exec_driver_sql("BEGIN")
            return
        raw = _raw(conn.connection)
        if not self._holds(raw):
            if not self.lock.acquire(self.timeout_s):
                raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))
            with self._guard:
                self._holders.add(id(raw))
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            self.release(raw)
            raise

    def _holds(self, raw: Any) -> bool:
        with self._guard:
            return id(raw) in self._holders

    def release(self, dbapi_conn: Any) -> None:
        raw = _raw(dbapi_conn)
        with self._guard:
            if id(raw) not in self._holders:
                return
            self._holders.discard(id(raw))
        self.lock.release()

    def _on_pool_event(self, dbapi_conn: Any, *_args: Any) -> None:
        if dbapi_conn is not None:
            self.release(dbapi_conn)


def _raw(conn: Any) -> Any:
    """The driver's own connection behind SQLAlchemy's pool wrapper, if any."""
    return getattr(conn, "dbapi_connection", None) or conn
