"""What the API's routes share: the database and sync engine, the clock, the rate
limits, and the steps every device request takes (its token, its body)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import TypeVar

import anyio
import anyio.to_thread
from anyio.lowlevel import RunVar
from fastapi import Request
from pydantic import BaseModel
from sqlalchemy import bindparam
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from sync.protocol import MAX_BODY_BYTES
from sync.protocol import MAX_COMPRESSED_BYTES
from sync.server import auth
from sync.server import ops
from sync.server.api.bodies import check_protocol
from sync.server.api.bodies import parse_json
from sync.server.api.bodies import read_body
from sync.server.api.bodies import validate
from sync.server.api.errors import ApiError
from sync.server.api.errors import device_mismatch
from sync.server.api.errors import not_signed_in
from sync.server.api.errors import revoked
from sync.server.api.errors import too_many
from sync.server.api.limits import IP_FAILURE_BURST
from sync.server.api.limits import IP_FAILURES_PER_MINUTE
from sync.server.api.limits import TokenBucket
from sync.server.db import reading
from sync.server.engine import Caller
from sync.server.engine import SyncEngine
from sync.server.tables import devices

log = logging.getLogger("sync.server")
M = TypeVar("M", bound=BaseModel)

#: Threads that run requests' database work at once (a process). The work is mostly
#: Python, which runs one thread at a time: more threads only queue for the
#: interpreter, and the push that holds the write turn (sync.server.db.push_turn)
#: waits its turn for the interpreter after each round trip among all of them. With
#: 200 laptops syncing without pause on PostgreSQL (2 cores), 40 threads (the
#: default) gave 81-102 syncs/s, 8 gave 112-128 (docs/PERFORMANCE.md).
DB_THREADS = 8

_REVOKED_AT = select(devices.c.revoked_at).where(devices.c.id == bindparam("d"))


@dataclass
class Api:
    engine: Engine
    sync_engine: SyncEngine
    clock: Callable[[], int]
    sync_limit: TokenBucket
    metrics: ops.Metrics
    metrics_token: str | None = None
    ip_failures: TokenBucket = field(
        default_factory=lambda: TokenBucket(IP_FAILURES_PER_MINUTE, IP_FAILURE_BURST)
    )
    db_threads: int = DB_THREADS
    # the lane's limiter, one per event loop (as anyio keeps its default one)
    _lane: RunVar[anyio.CapacityLimiter] = field(
        default_factory=lambda: RunVar("peertrail_db_lane"), repr=False
    )

    def run_db(self, work: Callable[[], Any]) -> Any:
        """Run database work, its failures as API errors (503 busy, 500 otherwise)."""
        try:
            return work()
        except ApiError:
            raise
        except OperationalError:
            log.warning("database unavailable or busy")
            raise ApiError(
                503,
                "unavailable",
                "The server's database is busy or unreachable; nothing was changed. "
                "Try again shortly.",
                headers={"Retry-After": "5"},
            ) from None
        except Exception as exc:
            log.exception("request failed (%s)", type(exc).__name__)
            raise ApiError(
                500, "server_error", "The server failed; nothing was changed. Try again later."
            ) from None

    async def db(self, work: Callable[[], Any]) -> Any:
        """``run_db`` on a worker thread, at most ``db_threads`` at once (first come,
        first served)."""
        try:
            lane = self._lane.get()
        except LookupError:
            lane = anyio.CapacityLimiter(self.db_threads)
            self._lane.set(lane)
        return await anyio.to_thread.run_sync(self.run_db, work, limiter=lane)

    def lookup(self, token: str) -> auth.TokenOwner | None:
        with reading(self.engine, per_statement=True) as conn:  # one statement
            return auth.lookup_token(conn, token)

    async def device(self, request: Request) -> auth.TokenOwner:
        """The enrolled, not revoked device a request's bearer token names, within its
        rate limit (401, 401 revoked, 429)."""
        token = _bearer(request)
        owner = await self.db(lambda: self.lookup(token))
        if owner is None:
            raise not_signed_in(
                "This device's sign-in is not valid. Enroll it with the server again."
            )
        request.state.log_device_id = owner.device_id
        request.state.log_user_id = owner.user_id
        if owner.revoked:
            raise revoked()
        return owner

    def take_turn(self, owner: auth.TokenOwner, what: str) -> None:
        wait = self.sync_limit.take(owner.device_id)
        if wait > 0:
            raise too_many(wait, what)

    async def device_request(
        self, request: Request, owner: auth.TokenOwner, model: type[M]
    ) -> tuple[M, Caller]:
        """The request's body as ``model`` (its own device's), and who calls."""
        body = await read_body(request, MAX_COMPRESSED_BYTES, MAX_BODY_BYTES)
        data = parse_json(body)
        check_protocol(data)
        req = validate(model, data)
        if getattr(req, "device_id", None) != owner.device_id:
            raise device_mismatch()
        return req, Caller(user_id=owner.user_id, role=owner.role, device_id=owner.device_id)


def still_enrolled(conn: Connection, device_id: str) -> None:
    """Inside the write: the device was not revoked since its token was looked up."""
    still = conn.execute(_REVOKED_AT, {"d": device_id}).first()
    if still is None or still[0]:
        raise revoked()


def touch_enrolled(conn: Connection, device_id: str) -> None:
    """``still_enrolled`` and marking the device seen, in one statement."""
    if not auth.touch_enrolled(conn, device_id):
        raise revoked()


def _bearer(request: Request) -> str:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise not_signed_in("This device is not signed in. Enroll it with the server first.")
    return token.strip()
