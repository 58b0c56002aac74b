"""The server's HTTP API (FastAPI).

- ``GET /v1/health``: protocol versions and the server's clock.
- ``POST /v1/enroll``: username and password in, a device token out (once).
- ``POST /v1/sync``: one request pushes a device's changes and pulls what it may see.
- ``POST /v1/enroll/invite``: an invite code (sync.invite) and the password instead of a username.
- ``GET /v1/ready``: 200 when the database answers and its schema is current, else 503.
- ``GET /metrics``: Prometheus metrics (sync.server.ops), loopback only unless a
  metrics token is set, then only with it.

Bodies may be compressed (``Content-Encoding: bzip2``, ``gzip`` or ``deflate``);
they are read and decompressed incrementally against fixed limits, so an
oversized body or a zip bomb is answered 413 before it costs memory, and a
malformed one 400. Replies are compressed with the best coding the client
accepts (``Accept-Encoding``): bzip2 makes a sync's JSON about 40% smaller than
gzip, which is what a 512 kbit/s satellite link waits for. Checks run in this
order, each with its own status and an :class:`~sync.protocol.ErrorBody`: token
(401), rate (429), size (413), encoding (415/400), JSON (400), protocol version
(426), shape (422), device (403). A request that fails any of them changes
nothing. Every request, answered or not, leaves a row in ``request_log`` (who,
path, status, counts, bytes, time; never content).
"""

from __future__ import annotations

import bz2
import gzip
import hmac
import ipaddress
import json
import logging
import math
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from sync import hlc as hlc_mod
from sync import invite
from sync.protocol import (
    MAX_BODY_BYTES,
    MAX_COMPRESSED_BYTES,
    MIN_PROTOCOL_VERSION,
    PROTOCOL_VERSION,
    AuditHead,
    AuditVerdict,
    EnrollRequest,
    EnrollResponse,
    ErrorBody,
    ReserveRequest,
    ReserveResponse,
    SyncRequest,
    SyncResponse,
    dumps,
)
from sync.server import auth, ops, security, staff
from sync.server import billing as billing_mod
from sync.server.db import build_sync_engine, reading, server_clock  # noqa: F401
from sync.server.engine import Caller, SyncEngine
from sync.server.request_log import RequestLogMiddleware
from sync.server.tables import devices
from sync.server.trust import PushRefused, check_stamps, check_values

log = logging.getLogger("sync.server")

MAX_ENROLL_BYTES = 64 * 1024
# Enrollment has not changed since protocol 1: an older client may still enroll,
# and is told to update at its first sync.
MIN_ENROLL_PROTOCOL = 1
# Past a limit the rest of a modest body is read and dropped so the client sees
# the 413 rather than a reset connection; beyond this the connection is closed.
DRAIN_CAP = 4 * MAX_BODY_BYTES
DEFAULT_SYNC_PER_MINUTE = 30.0
DEFAULT_SYNC_BURST = 10
# Per address, only a high ceiling: accounts are locked one by one (auth.begin_attempt),
# so one person's failures never lock out colleagues behind the same address.
IP_FAILURES_PER_MINUTE = 60.0
IP_FAILURE_BURST = 100
UPDATE_MESSAGE = (
    "This copy of PeerTrail is too old for the sync server. Please update PeerTrail, "
    "then sync again. Your work is kept on this laptop until then."
)

BODY_CODINGS = ("bzip2", "gzip", "deflate")  # request bodies
REPLY_CODINGS: dict[str, Callable[[bytes], bytes]] = {
    "bzip2": lambda b: bz2.compress(b, 9),
    "gzip": lambda b: gzip.compress(b, 9),
}

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_encoding",
    422: "invalid",
    426: "update_required",
    429: "rate_limited",
    500: "server_error",
    503: "unavailable",
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        detail: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message
        self.detail, self.headers = detail, headers or {}


def _error_response(
    status: int, error: str, message: str, detail: Any = None, headers: dict | None = None
) -> JSONResponse:
    body = ErrorBody(error=error, message=message, detail=detail).model_dump(mode="json")
    return JSONResponse(body, status_code=status, headers=headers)


# -- rate limiting -----------------------------------------------------------------


class TokenBucket:
    """Per-key token buckets: ``rate`` tokens a second, at most ``burst`` saved up.
    In memory, per server process."""

    def __init__(self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate = per_minute / 60.0
        self.burst = max(1, int(burst))
        self.enabled = per_minute > 0
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def _level(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - at) * self.rate)

    def wait(self, key: str) -> float:
        """Seconds until one token is there (0 when it is), without taking it."""
        if not self.enabled:
            return 0.0
        with self._lock:
            level = self._level(key, self._clock())
        return 0.0 if level >= 1 else (1 - level) / self.rate

    def take(self, key: str) -> float:
        """Take one token; 0 when allowed, else the seconds to wait (nothing taken)."""
        if not self.enabled:
            return 0.0
        with self._lock:
            now = self._clock()
            level = self._level(key, now)
            if level < 1:
                self._buckets[key] = (level, now)
                return (1 - level) / self.rate
            self._buckets[key] = (level - 1, now)
            if len(self._buckets) > 10_000:
                self._prune(now)
            return 0.0

    def _prune(self, now: float) -> None:
        full = [k for k in self._buckets if self._level(k, now) >= self.burst]
        for k in full:
            del self._buckets[k]


def _too_many(wait_s: float, what: str) -> ApiError:
    seconds = max(1, math.ceil(wait_s))
    return ApiError(
        429,
        "rate_limited",
        f"Too many {what} in a short time. Try again in {seconds} seconds.",
        headers={"Retry-After": str(seconds)},
    )


# -- reading bodies ------------------------------------------------------------------


async def _drain(request: Request, already: int) -> None:
    total = already
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > DRAIN_CAP:
                return
    except Exception:  # the client went away: nothing to drain
        return


def _too_large(limit: int, what: str) -> ApiError:
    return ApiError(
        413,
        "too_large",
        f"The request is too large ({what} over {limit} bytes). Send fewer changes at a time.",
        detail={"limit_bytes": limit},
    )


class _Inflater:
    """Incremental decompression of one body that never makes more than ``room``
    bytes per call: a zip bomb stops at the limit, not at the end of memory."""

    def __init__(self, encoding: str) -> None:
        self.bz = encoding == "bzip2"
        if self.bz:
            self.d: Any = bz2.BZ2Decompressor()
        else:  # gzip, or deflate (the zlib format, RFC 9110)
            self.d = zlib.decompressobj(
                16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
            )
        self.name = encoding

    @property
    def eof(self) -> bool:
        return self.d.eof

    def feed(self, chunk: bytes, room: int) -> bytes:
        try:
            out = self.d.decompress(chunk, room)
        except (zlib.error, OSError, EOFError, ValueError):
            raise ApiError(400, "bad_request", f"The body is not valid {self.name}.") from None
        if self.d.unused_data:
            raise ApiError(400, "bad_request", f"The {self.name} body has data after its end.")
        return out

    def more_pending(self) -> bool:
        """Output held back by the room limit (so the body is over the limit)."""
        if self.bz:
            return not self.d.eof and not self.d.needs_input
        return bool(self.d.unconsumed_tail)


async def read_body(request: Request, max_raw: int, max_decoded: int) -> bytes:
    """The request body, decompressed when sent with a ``Content-Encoding``; at most
    ``max_raw`` bytes on the wire and ``max_decoded`` bytes after decompression."""
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity", *BODY_CODINGS):
        raise ApiError(
            415, "unsupported_encoding", "Send the body as JSON: plain, bzip2, gzip or deflate."
        )
    gz = encoding in BODY_CODINGS
    raw_limit = max_raw if gz else max_decoded
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise ApiError(400, "bad_request", "Content-Length is not a number.") from None
        if size > raw_limit:
            if size <= DRAIN_CAP:
                await _drain(request, 0)
            raise _too_large(raw_limit, "compressed" if gz else "body")
    inflater = _Inflater(encoding) if gz else None
    out = bytearray()
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > raw_limit:
            await _drain(request, seen)
            raise _too_large(raw_limit, "compressed" if gz else "body")
        if inflater is None:
            out += chunk
            continue
        if inflater.eof:
            if chunk:
                raise ApiError(400, "bad_request", f"The {encoding} body has data after its end.")
            continue
        if not chunk:
            continue
        # Never inflate more than one byte past the limit: a zip bomb stops here.
        out += inflater.feed(chunk, max_decoded + 1 - len(out))
        if len(out) > max_decoded or inflater.more_pending():
            await _drain(request, seen)
            raise _too_large(max_decoded, "decompressed")
    if inflater is not None and not inflater.eof:
        raise ApiError(400, "bad_request", f"The {encoding} body is cut short.")
    return bytes(out)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ApiError(400, "bad_json", "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ApiError(422, "invalid", "The request body must be a JSON object.")
    return data


def check_protocol(data: dict[str, Any], minimum: int = MIN_PROTOCOL_VERSION) -> None:
    """Before full validation, so an older client gets 426 and not 422."""
    version = data.get("protocol")
    if isinstance(version, bool) or not isinstance(version, int):
        return  # validation says what is wrong
    if version < minimum:
        raise ApiError(
            426,
            "update_required",
            UPDATE_MESSAGE,
            detail={"protocol": PROTOCOL_VERSION, "min_protocol": MIN_PROTOCOL_VERSION},
            headers={"Upgrade": f"PeerTrail-Sync/{PROTOCOL_VERSION}"},
        )
    if version > PROTOCOL_VERSION:
        raise ApiError(
            400,
            "server_too_old",
            "This sync server is older than your copy of PeerTrail. Ask your administrator "
            "to update the server.",
            detail={"protocol": PROTOCOL_VERSION, "min_protocol": MIN_PROTOCOL_VERSION},
        )


def validation_detail(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Where and what, never the offending values."""
    return [
        {"loc": [p for p in e.get("loc", ())], "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in errors[:20]
    ]


M = TypeVar("M", bound=BaseModel)


def validate(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        raise ApiError(
            422,
            "invalid",
            f"The request is not a valid {model.__name__}: {len(errors)} problem(s).",
            detail=validation_detail(errors),
        ) from None


def accepted_codings(header: str) -> set[str]:
    """The content codings an ``Accept-Encoding`` header accepts (``q=0`` refuses)."""
    out: set[str] = set()
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        name = name.strip().lower()
        q = params.strip().replace(" ", "")
        if not name or (q.startswith("q=") and q[2:] in ("0", "0.0", "0.00", "0.000")):
            continue
        out |= set(REPLY_CODINGS) if name == "*" else {name}
    return out


def compress_reply(payload: bytes, codings: set[str]) -> tuple[bytes, str | None]:
    """The smallest form of the reply the client accepts. Small replies try each
    coding (bzip2 has a larger fixed overhead); big ones use bzip2 when accepted."""
    if len(payload) <= 512 or not codings & set(REPLY_CODINGS):
        return payload, None
    if "bzip2" in codings and len(payload) > 64 * 1024:
        return bz2.compress(payload, 9), "bzip2"
    best: tuple[bytes, str | None] = (payload, None)
    for name in REPLY_CODINGS:
        if name in codings:
            packed = REPLY_CODINGS[name](payload)
            if len(packed) < len(best[0]):
                best = (packed, name)
    return best


def _bearer(request: Request) -> str:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401,
            "unauthorized",
            "This device is not signed in. Enroll it with the server first.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token.strip()


# -- the application ----------------------------------------------------------------


def _body_doc(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": (
                "JSON, optionally compressed (Content-Encoding: bzip2, gzip or deflate)."
            ),
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
            },
        }
    }


def _errors_doc(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {c: {"model": ErrorBody, "description": _STATUS_CODES.get(c, "error")} for c in codes}


def create_app(
    engine: Engine,
    sync_engine: SyncEngine,
    *,
    sync_per_minute: float = DEFAULT_SYNC_PER_MINUTE,
    sync_burst: int = DEFAULT_SYNC_BURST,
    clock: Callable[[], int] = hlc_mod.now_ms,
    metrics_token: str | None = None,
) -> FastAPI:
    app = FastAPI(
        title="PeerTrail sync server",
        version=f"protocol {PROTOCOL_VERSION}",
        description=(
            "One HTTPS request per sync: push the device's changes, pull what it may see. "
            "Every error answer is an ErrorBody."
        ),
        docs_url=None,
        redoc_url=None,
    )
    auth.warm_up()
    sync_limit = TokenBucket(sync_per_minute, sync_burst)
    ip_failures = TokenBucket(IP_FAILURES_PER_MINUTE, IP_FAILURE_BURST)

    # -- error answers, all ErrorBody --

    metrics = ops.Metrics()
    app.state.metrics = metrics

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        request.state.log_error = exc.error
        return _error_response(exc.status, exc.error, exc.message, exc.detail, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "The request failed."
        return _error_response(
            exc.status_code,
            _STATUS_CODES.get(exc.status_code, "error"),
            message,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [dict(e) for e in exc.errors()]
        return _error_response(
            422,
            "invalid",
            f"The request is not valid: {len(errors)} problem(s).",
            validation_detail(errors),
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected %s while answering a request", type(exc).__name__)
        return _error_response(500, "server_error", "The server failed; nothing was changed.")

    # -- routes --

    @app.get("/v1/health", summary="Protocol versions and the server's clock")
    async def health() -> dict[str, int]:
        return {
            "protocol": PROTOCOL_VERSION,
            "min_protocol": MIN_PROTOCOL_VERSION,
            "server_time_ms": clock(),
        }

    @app.get("/v1/ready", summary="Ready: the database answers and its schema is current")
    async def ready() -> JSONResponse:
        ok, detail = await run_in_threadpool(ops.readiness, engine)
        return JSONResponse(
            {"ready": ok, **detail},
            status_code=200 if ok else 503,
            headers={"Cache-Control": "no-store", **({} if ok else {"Retry-After": "5"})},
        )

    @app.get("/metrics", summary="Prometheus metrics (loopback only, or the metrics token)")
    async def prometheus(request: Request) -> Response:
        if metrics_token:
            given = request.headers.get("authorization", "").partition(" ")[2].strip()
            if not hmac.compare_digest(given.encode(), metrics_token.encode()):
                raise ApiError(
                    401,
                    "unauthorized",
                    "Metrics need the metrics token (Bearer).",
                    headers={"WWW-Authenticate": "Bearer"},
                )
        elif not _loopback(request.client.host if request.client else ""):
            raise ApiError(403, "forbidden", "Metrics are served on the loopback address only.")
        payload = generate_latest(metrics.registry)
        return Response(payload, media_type=CONTENT_TYPE_LATEST)

    def _run_db(work: Callable[[], Any]) -> Any:
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

    async def _sign_in(username: str, password: str, ip: str) -> auth.User:
        """The password check of an enrolment: the per-address ceiling, the account
        lockout, the same work and answer for an unknown user and a wrong password."""
        wait = ip_failures.wait(f"ip:{ip}")
        if wait > 0:
            raise _too_many(wait, "failed sign-ins from this address")

        def begin() -> int:
            with engine.begin() as conn:
                return auth.begin_attempt(conn, username, clock())

        locked_ms = await run_in_threadpool(_run_db, begin)
        if locked_ms:
            seconds = max(1, math.ceil(locked_ms / 1000))
            raise ApiError(
                429,
                "rate_limited",
                f"Too many failed sign-ins for this account. Try again in {seconds} seconds, "
                "or ask an administrator to unlock it.",
                headers={"Retry-After": str(seconds)},
            )

        def find() -> tuple[auth.User | None, str]:
            with reading(engine) as conn:
                return auth.load_credentials(conn, username)

        user, stored = await run_in_threadpool(_run_db, find)
        # Unknown user or wrong password: the same work, the same answer.
        ok = await run_in_threadpool(auth.verify_password, password, stored)
        if user is None or not ok or not user.active:
            ip_failures.take(f"ip:{ip}")

            def failed() -> None:
                with engine.begin() as conn:
                    auth.attempt_failed(conn, username, user, ip)

            await run_in_threadpool(_run_db, failed)
            raise ApiError(401, "unauthorized", "Wrong username or password.")

        def succeeded() -> None:
            with engine.begin() as conn:
                auth.attempt_succeeded(conn, username)

        await run_in_threadpool(_run_db, succeeded)
        return user

    @app.post(
        "/v1/enroll",
        response_model=EnrollResponse,
        summary="Enroll a device: username and password in, a device token out (once)",
        openapi_extra=_body_doc(EnrollRequest),
        responses=_errors_doc(400, 401, 403, 409, 413, 422, 426, 429, 500, 503),
    )
    async def enroll(request: Request) -> Response:
        body = await read_body(request, MAX_ENROLL_BYTES, MAX_ENROLL_BYTES)
        data = parse_json(body)
        check_protocol(data, MIN_ENROLL_PROTOCOL)
        req = validate(EnrollRequest, data)
        request.state.log_device_id = req.device_id
        ip = request.client.host if request.client else "?"
        user = await _sign_in(req.username, req.password, ip)
        request.state.log_user_id = user.id

        def register() -> str:
            with engine.begin() as conn:
                if staff.enrol_blocked(conn, user.id) and not staff.device_revoked(
                    conn, req.device_id
                ):  # a revoked device id is told so (403 revoked) by enroll_device
                    raise ApiError(
                        403,
                        "enrol_blocked",
                        "A device of this account was revoked, so a new one needs an "
                        "administrator's invite code (or 'users enable'). Ask your administrator.",
                    )
                token = _enroll_device(conn, user, req.device_id, req.device_name)
                # the device's billing number is given at enrolment (asked for later)
                billing_mod.billing_number(conn, req.device_id, user.role, auth.now_iso())
                return token

        token = await run_in_threadpool(_run_db, register)
        return _enrolled(user, token, clock())

    @app.post(
        invite.ENROLL_PATH,
        response_model=EnrollResponse,
        summary="Enroll a device with an invite code (sync.invite) and the user's password",
        openapi_extra=_body_doc(invite.InviteEnrollRequest),
        responses=_errors_doc(400, 401, 403, 409, 413, 422, 426, 429, 500, 503),
    )
    async def enroll_invite(request: Request) -> Response:
        body = await read_body(request, MAX_ENROLL_BYTES, MAX_ENROLL_BYTES)
        data = parse_json(body)
        check_protocol(data, MIN_ENROLL_PROTOCOL)
        req = validate(invite.InviteEnrollRequest, data)
        request.state.log_device_id = req.device_id
        try:
            code = invite.decode(req.code)
        except invite.InviteError as exc:
            raise ApiError(400, "bad_invite", str(exc)) from None
        ip = request.client.host if request.client else "?"
        wait = ip_failures.wait(f"ip:{ip}")
        if wait > 0:
            raise _too_many(wait, "failed sign-ins from this address")

        def find() -> auth.User | None:
            with reading(engine) as conn:
                return staff.invite_user(conn, code.secret, clock() / 1000)

        invited = await run_in_threadpool(_run_db, find)
        if invited is None:
            ip_failures.take(f"ip:{ip}")
            raise _invite_invalid()
        user = await _sign_in(invited.username, req.password, ip)
        request.state.log_user_id = user.id

        def register() -> str:
            with engine.begin() as conn:
                if not staff.use_invite(conn, code.secret, req.device_id, clock() / 1000):
                    raise _invite_invalid()
                token = _enroll_device(conn, user, req.device_id, req.device_name)
                # the device's billing number is given at enrolment (asked for later)
                billing_mod.billing_number(conn, req.device_id, user.role, auth.now_iso())
                return token

        token = await run_in_threadpool(_run_db, register)
        return _enrolled(user, token, clock(), with_name=True)

    @app.post(
        "/v1/sync",
        response_model=SyncResponse,
        summary="Push this device's changes and pull what changed since its cursor",
        description=(
            "Authorization: Bearer TOKEN. Request and response may be compressed "
            "(Content-Encoding: bzip2, gzip or deflate; Accept-Encoding: bzip2, gzip). "
            "The server's clock is in "
            "server_time_ms and the X-Server-Time-Ms header."
        ),
        openapi_extra=_body_doc(SyncRequest),
        responses=_errors_doc(400, 401, 403, 413, 415, 422, 426, 429, 500, 503),
    )
    async def sync(request: Request) -> Response:
        token = _bearer(request)
        owner = await run_in_threadpool(_run_db, lambda: _lookup(token))
        if owner is None:
            raise ApiError(
                401,
                "unauthorized",
                "This device's sign-in is not valid. Enroll it with the server again.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        request.state.log_device_id = owner.device_id
        request.state.log_user_id = owner.user_id
        if owner.revoked:
            raise _revoked()
        wait = sync_limit.take(owner.device_id)
        if wait > 0:
            raise _too_many(wait, "syncs")
        body = await read_body(request, MAX_COMPRESSED_BYTES, MAX_BODY_BYTES)
        data = parse_json(body)
        check_protocol(data)
        req = validate(SyncRequest, data)
        if req.device_id != owner.device_id:
            raise ApiError(
                403,
                "device_mismatch",
                "This sign-in belongs to another device. Enroll this device with the server.",
            )
        request.state.log_pushed = len(req.changes)
        caller = Caller(user_id=owner.user_id, role=owner.role, device_id=owner.device_id)
        try:  # the trust boundary's whole-push checks, before anything is stored
            check_stamps(owner.device_id, req.changes)
            check_values(req.changes)
        except PushRefused as exc:
            raise ApiError(exc.status, exc.code, exc.message, detail=exc.detail) from None

        def run() -> SyncResponse:
            with engine.begin() as conn:
                still = conn.execute(
                    select(devices.c.revoked_at).where(devices.c.id == owner.device_id)
                ).first()
                if still is None or still[0]:
                    raise _revoked()
                pushed = sync_engine.push(conn, caller, req, clock())
                verdict = _anchor_audit(conn, caller, req.audit) if req.audit else None
                auth.touch_device(conn, owner.device_id)
            # Pull after the commit, which releases the seq counter lock: other
            # devices' pushes need not wait for this one's pull.
            with reading(engine) as conn:
                resp = sync_engine.pull(conn, caller, req, pushed)
            return resp.model_copy(update={"audit": verdict}) if verdict else resp

        resp = await run_in_threadpool(_run_db, run)
        request.state.log_pulled = sum(len(r.fields) for r in resp.records)
        payload = dumps(resp)
        headers = {"X-Server-Time-Ms": str(resp.server_time_ms), "Cache-Control": "no-store"}
        codings = accepted_codings(request.headers.get("accept-encoding", ""))
        payload, coding = await run_in_threadpool(compress_reply, payload, codings)
        if coding:
            headers["Content-Encoding"] = coding
        headers["Vary"] = "Accept-Encoding"
        return Response(payload, media_type="application/json", headers=headers)

    @app.post(
        "/v1/billing/reserve",
        response_model=ReserveResponse,
        summary="Reserve services for export batches before their files are written",
        description=(
            "Authorization: Bearer TOKEN (billing staff, a supervisor or an administrator; "
            "an enrolled device that is not revoked). One request reserves every batch of an "
            "export and releases the batches listed in `release`; a service in another live "
            "batch is a 409 already_billed naming that batch (control number, user, date), and "
            "nothing is stored. See sync/server/billing.py."
        ),
        openapi_extra=_body_doc(ReserveRequest),
        responses=_errors_doc(400, 401, 403, 409, 413, 415, 422, 426, 429, 500, 503),
    )
    async def billing_reserve(request: Request) -> Response:
        token = _bearer(request)
        owner = await run_in_threadpool(_run_db, lambda: _lookup(token))
        if owner is None:
            raise ApiError(
                401,
                "unauthorized",
                "This device's sign-in is not valid. Enroll it with the server again.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        request.state.log_device_id = owner.device_id
        request.state.log_user_id = owner.user_id
        if owner.revoked:
            raise _revoked()
        if owner.role not in billing_mod.RESERVE_ROLES:
            raise ApiError(
                403,
                "forbidden",
                "Only billing staff, a supervisor or an administrator reserve services.",
            )
        wait = sync_limit.take(owner.device_id)
        if wait > 0:
            raise _too_many(wait, "requests")
        body = await read_body(request, MAX_COMPRESSED_BYTES, MAX_BODY_BYTES)
        data = parse_json(body)
        check_protocol(data)
        req = validate(ReserveRequest, data)
        if req.device_id != owner.device_id:
            raise ApiError(
                403,
                "device_mismatch",
                "This sign-in belongs to another device. Enroll this device with the server.",
            )
        request.state.log_pushed = sum(len(b.encounter_ids) for b in req.batches)
        caller = Caller(user_id=owner.user_id, role=owner.role, device_id=owner.device_id)

        def run() -> ReserveResponse:
            try:
                with engine.begin() as conn:
                    still = conn.execute(
                        select(devices.c.revoked_at).where(devices.c.id == owner.device_id)
                    ).first()
                    if still is None or still[0]:
                        raise _revoked()
                    done = billing_mod.reserve(conn, caller, req, auth.now_iso())
                    number = billing_mod.billing_number(
                        conn, owner.device_id, owner.role, auth.now_iso()
                    )
            except billing_mod.BillingRefusal as exc:
                with engine.begin() as conn:  # the refusal stored nothing; log it alone
                    billing_mod.record_refusal(conn, caller, req, exc)
                raise ApiError(exc.status, exc.code, exc.message, detail=exc.detail) from None
            return ReserveResponse(
                protocol=PROTOCOL_VERSION,
                server_time_ms=clock(),
                reserved=done.reserved,
                released=done.released,
                billing_number=number,
            )

        resp = await run_in_threadpool(_run_db, run)
        return Response(
            resp.model_dump_json(),
            media_type="application/json",
            headers={"X-Server-Time-Ms": str(resp.server_time_ms), "Cache-Control": "no-store"},
        )

    def _lookup(token: str) -> auth.TokenOwner | None:
        with reading(engine) as conn:
            return auth.lookup_token(conn, token)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (SyncRequest, EnrollRequest, invite.InviteEnrollRequest, ReserveRequest):
            doc = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, sub in doc.pop("$defs", {}).items():
                components.setdefault(name, sub)
            components[model.__name__] = doc
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(RequestLogMiddleware, engine=engine, clock=clock, metrics=metrics)
    return app


def _anchor_audit(conn, caller: Caller, head: AuditHead) -> AuditVerdict:
    """Check the device's audit head against its anchor (sync.server.security)."""
    result = security.check_audit_head(
        conn,
        device_id=caller.device_id,
        user_id=caller.user_id,
        length=head.length,
        head_hash=head.hash,
        proofs={p.length: p.hash for p in head.proofs},
    )
    return AuditVerdict(ok=result.ok, problem=result.problem, anchored_length=result.length)


def _enroll_device(conn, user: auth.User, device_id: str, device_name: str) -> str:
    try:
        return auth.enroll_device(conn, user, device_id, device_name)
    except auth.DeviceTaken:
        raise ApiError(
            409,
            "device_taken",
            "This device id is enrolled for another user. Start enrollment again "
            "from a new PeerTrail data folder.",
        ) from None
    except auth.DeviceRevoked:
        raise ApiError(
            403,
            "revoked",
            "This device was revoked by an administrator and cannot be enrolled again.",
        ) from None


def _enrolled(user: auth.User, token: str, now_ms: int, with_name: bool = False) -> Response:
    """The answer to an enrolment. ``username`` only for an invite (the laptop does not
    know it): a client older than the field would refuse an answer holding it."""
    resp = EnrollResponse(
        protocol=PROTOCOL_VERSION,
        server_time_ms=now_ms,
        user_id=user.id,
        role=user.role,  # type: ignore[arg-type]
        token=token,
        username=user.username if with_name else "",
    )
    return Response(
        resp.model_dump_json(exclude_defaults=True),
        media_type="application/json",
        headers={"X-Server-Time-Ms": str(now_ms), "Cache-Control": "no-store"},
    )


def _invite_invalid() -> ApiError:
    return ApiError(
        401,
        "invite_invalid",
        "This invite code is not valid: it was used already, has expired or was withdrawn. "
        "Ask your administrator for a new one.",
    )


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _revoked() -> ApiError:
    return ApiError(
        401,
        "revoked",
        "This device was revoked by an administrator. It can no longer sync.",
    )
