"""``POST /v1/sync``: one request pushes a device's changes and pulls what it may see.

Checks run in this order, each with its own status and an ErrorBody: token (401),
rate (429), size (413), encoding (415/400), JSON (400), protocol version (426),
shape (422), device (403), then the trust boundary's whole-push checks
(sync.server.trust). A request that fails any of them changes nothing. The push is
committed first (releasing the ``seq`` counter) and the pull read afterwards; the
reply is encoded and compressed on the same worker thread.
"""

from __future__ import annotations

from collections.abc import Awaitable
from collections.abc import Callable

from fastapi import APIRouter
from fastapi import Request
from fastapi.responses import Response

from sync.protocol import PUSH_CHANGES_ACCEPTED
from sync.protocol import PUSH_LIMIT_HEADER
from sync.protocol import AuditHead
from sync.protocol import AuditVerdict
from sync.protocol import SyncRequest
from sync.protocol import SyncResponse
from sync.protocol import dumps
from sync.server import security
from sync.server.api.bodies import accepted_codings
from sync.server.api.bodies import compress_reply
from sync.server.api.context import Api
from sync.server.api.context import touch_enrolled
from sync.server.api.errors import body_doc
from sync.server.api.errors import errors_doc
from sync.server.api.errors import refused
from sync.server.db import push_turn
from sync.server.db import read_transaction
from sync.server.engine import Caller
from sync.server.trust import PushRefused
from sync.server.trust import check_stamps
from sync.server.trust import check_values


def router(api: Api) -> APIRouter:
    routes = APIRouter()
    routes.post(
        "/v1/sync",
        response_model=SyncResponse,
        summary="Push this device's changes and pull what changed since its cursor",
        description=(
            "Authorization: Bearer TOKEN. Request and response may be compressed "
            "(Content-Encoding: bzip2, gzip or deflate; Accept-Encoding: bzip2, gzip). "
            "The server's clock is in "
            "server_time_ms and the X-Server-Time-Ms header."
        ),
        openapi_extra=body_doc(SyncRequest),
        responses=errors_doc(400, 401, 403, 413, 415, 422, 426, 429, 500, 503),
    )(handler(api))
    return routes


def handler(api: Api) -> Callable[[Request], Awaitable[Response]]:
    """``POST /v1/sync`` itself: the route above, and what the server calls directly
    (sync.server.app's fast path, without the framework's routing and middlewares)."""

    async def sync(request: Request) -> Response:
        owner = await api.device(request)
        api.take_turn(owner, "syncs")
        req, caller = await api.device_request(request, owner, SyncRequest)
        request.state.log_pushed = len(req.changes)
        try:  # the trust boundary's whole-push checks, before anything is stored
            check_stamps(owner.device_id, req.changes)
            check_values(req.changes)
        except PushRefused as exc:
            raise refused(exc) from None
        codings = accepted_codings(request.headers.get("accept-encoding", ""))

        def run() -> tuple[SyncResponse, bytes, str | None]:
            resp = _sync(api, caller, req)
            payload, coding = compress_reply(dumps(resp), codings)
            return resp, payload, coding

        resp, payload, coding = await api.db(run)
        request.state.log_pulled = sum(len(r.fields) for r in resp.records)
        headers = {"X-Server-Time-Ms": str(resp.server_time_ms), "Cache-Control": "no-store"}
        headers[PUSH_LIMIT_HEADER] = str(PUSH_CHANGES_ACCEPTED)  # what a request may push
        if coding:
            headers["Content-Encoding"] = coding
        headers["Vary"] = "Accept-Encoding"
        return Response(payload, media_type="application/json", headers=headers)

    return sync


def _sync(api: Api, caller: Caller, req: SyncRequest) -> SyncResponse:
    """Push in one write transaction, then pull in a read-only one, on the same
    connection (one checkout from the pool, one liveness ping on PostgreSQL).

    The transaction begins, the device is found still enrolled (its row locked
    until the commit: a revocation waits for it) and its audit head is checked
    against its anchor, all before the push takes its turn;
    the turn passes on once the push holds the ``seq`` counter (``push_turn``): the
    pushes that use the counter one at a time wait for no round trip that does not
    need it."""
    with api.engine.connect() as conn:
        with conn.begin():
            touch_enrolled(conn, caller.device_id)  # revoked meanwhile: 401, nothing stored
            # the device's own anchor (its row locked from here to the commit)
            verdict = _anchor_audit(conn, caller, req.audit) if req.audit else None
            with push_turn(api.engine, bool(req.changes)) as locked:
                pushed = api.sync_engine.push(conn, caller, req, api.clock(), locked)
        # Pull after the commit, which releases the seq counter lock: other devices'
        # pushes need not wait for this one's pull. Every seq up to the push's top is
        # committed, and the pull reads nothing past it: on PostgreSQL its statements
        # need no shared snapshot (sync.server.db.read_transaction).
        with read_transaction(conn, per_statement=True):
            resp = api.sync_engine.pull(conn, caller, req, pushed)
    return resp.model_copy(update={"audit": verdict}) if verdict else resp


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
