"""The request log: one ``request_log`` row per HTTP request, and the server's clock
on every answer (``X-Server-Time-Ms``), written by an ASGI middleware.

Rows are written with group commit by one writer thread: a request's row goes into
the next batch, and one transaction writes every row that arrived while the
previous batch was being written. Each request still waits until its own row is
committed (after its answer has been sent), but under load 200 answered syncs cost
a handful of log transactions instead of 200 (each a commit the database must make
durable, and on SQLite a turn in its one-writer queue).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from starlette.datastructures import MutableHeaders

from sync.server import auth
from sync.server import ops
from sync.server.tables import request_log

log = logging.getLogger("sync.server")
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}\Z")


class GroupCommit:
    """Rows written in batches by one writer thread; ``write`` returns once its row
    is committed.

    A request's row joins the pending rows and the request awaits a future; the
    writer takes every pending row, writes them in one transaction, and wakes the
    batch's requests with one call into their event loop. No worker thread of the
    request pool waits for the database (they are the syncs' threads), and a row
    costs no thread hop of its own. The writer stops after a second with nothing
    to write and starts again with the next row."""

    IDLE_S = 1.0
    ROWS_A_STATEMENT = 1000  # PostgreSQL: 11 parameters a row, at most 65,535 a statement

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cond = threading.Condition()
        self._pending: list[tuple[dict[str, Any], asyncio.AbstractEventLoop, Any]] = []
        self._running = False
        self.writing = 0  # rows in the batch being written

    async def write(self, row: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        with self._cond:
            self._pending.append((row, loop, done))
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="request-log", daemon=True).start()
            else:
                self._cond.notify()
        await done

    def _run(self) -> None:
        conn: Connection | None = None  # kept while the writer runs: no checkout a batch
        try:
            while True:
                with self._cond:
                    if not self._pending:
                        self._cond.wait(self.IDLE_S)
                    if not self._pending:
                        self._running = False
                        return
                    batch, self._pending = self._pending, []
                    self.writing = len(batch)
                conn = self._commit(conn, [row for row, _loop, _f in batch])
                self.writing = 0
                waiting: dict[asyncio.AbstractEventLoop, list[Any]] = {}
                for _row, loop, fut in batch:
                    waiting.setdefault(loop, []).append(fut)
                for loop, futures in waiting.items():
                    # a loop that has closed: nobody waits any more
                    with contextlib.suppress(RuntimeError):
                        loop.call_soon_threadsafe(_finish, futures)
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()

    def _commit(self, conn: Connection | None, rows: list[dict[str, Any]]) -> Connection | None:
        """Write a batch on the writer's connection (opened when None); returns it, or
        None after a failure (closed: the next batch opens another). A kept connection
        that fails (the database restarted meanwhile) is replaced once, for the rows
        not yet written. On PostgreSQL each statement is one multi-row INSERT in
        autocommit (atomic by itself, no BEGIN and COMMIT round trips); SQLite queues
        for its write lock as usual and writes the batch in one transaction."""
        todo = list(rows)  # what is not committed yet (``_write`` takes rows off it)
        for attempt in (1, 2):
            fresh = conn is None
            try:
                if conn is None:
                    conn = self.engine.connect()
                    if conn.dialect.name == "postgresql":
                        conn.execution_options(isolation_level="AUTOCOMMIT")
                self._write(conn, todo)
                return conn
            except Exception:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.close()
                conn = None
                if fresh or attempt == 2:
                    log.warning("could not write %d request log rows", len(todo))
                    return None
        return None

    def _write(self, conn: Connection, todo: list[dict[str, Any]]) -> None:
        """Write ``todo``, taking off it what is committed."""
        if conn.dialect.name != "postgresql":
            with conn.begin():
                conn.execute(request_log.insert(), todo)
            todo.clear()
            return
        while todo:  # autocommit: each statement is committed when it returns
            chunk = todo[: self.ROWS_A_STATEMENT]
            conn.execute(request_log.insert().values(chunk))
            del todo[: len(chunk)]


def _finish(futures: list[Any]) -> None:
    for fut in futures:
        if not fut.done():  # a request cancelled meanwhile
            fut.set_result(None)


class RequestLogMiddleware:
    """Writes one ``request_log`` row per HTTP request (group commit), and puts the
    server's clock in an ``X-Server-Time-Ms`` header on every answer."""

    def __init__(
        self,
        app,
        engine: Engine,
        clock: Callable[[], int],
        metrics: ops.Metrics | None = None,
        rows: GroupCommit | None = None,
    ) -> None:
        self.app, self.engine, self.clock, self.metrics = app, engine, clock, metrics
        self.rows = rows or GroupCommit(engine)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = scope.setdefault("state", {})
        seen = {"in": 0, "out": 0, "status": 500}
        request_id = _request_id(scope)

        async def counting_receive():
            message = await receive()
            if message["type"] == "http.request":
                seen["in"] += len(message.get("body", b""))
            return message

        async def counting_send(message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                headers = MutableHeaders(scope=message)
                if "x-server-time-ms" not in headers:
                    headers["X-Server-Time-Ms"] = str(self.clock())
                headers["X-Request-Id"] = request_id
            elif message["type"] == "http.response.body":
                seen["out"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, counting_receive, counting_send)
        except BaseException:
            seen["status"] = 500
            raise
        finally:
            row = _row(scope, state, seen, started)
            if self.metrics is not None:
                self.metrics.observe(
                    row["path"], row["status"], time.perf_counter() - started, state
                )
            ops.log_request(
                {"request_id": request_id, **{k: v for k, v in row.items() if k != "user_id"}}
            )
            await self.rows.write(row)


def _row(scope, state: dict, seen: dict, started: float) -> dict[str, Any]:
    """Who, path, status, counts, bytes and time of one request; never content."""
    return dict(
        at=auth.now_iso(),
        device_id=str(state.get("log_device_id", ""))[:32],
        user_id=str(state.get("log_user_id", ""))[:64],
        method=str(scope.get("method", ""))[:8],
        path=str(scope.get("path", ""))[:128],
        status=int(seen["status"]),
        pushed=int(state.get("log_pushed", 0)),
        pulled=int(state.get("log_pulled", 0)),
        bytes_in=int(seen["in"]),
        bytes_out=int(seen["out"]),
        ms=int((time.perf_counter() - started) * 1000),
    )


def _request_id(scope) -> str:
    """The caller's X-Request-Id when it is a plain token (a proxy's), else a new one."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _REQUEST_ID_RE.match(text):
                return text
    return uuid.uuid4().hex
