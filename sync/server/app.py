"""The server's HTTP API (FastAPI), put together from its routers (sync.server.api).

- ``GET /v1/health``: protocol versions and the server's clock.
- ``POST /v1/enroll``: username and password in, a device token out (once).
- ``POST /v1/sync``: one request pushes a device's changes and pulls what it may see.
- ``POST /v1/enroll/invite``: an invite code (sync.invite) and the password instead of a username.
- ``POST /v1/billing/reserve``: reserve services for export batches.
- ``GET /v1/ready``: 200 when the database answers and its schema is current, else 503.
- ``GET /metrics``: Prometheus metrics (sync.server.ops), loopback only unless a
  metrics token is set, then only with it.

Bodies may be compressed (``Content-Encoding: bzip2``, ``gzip`` or ``deflate``);
they are read and decompressed incrementally against fixed limits, so an
oversized body or a zip bomb is answered 413 before it costs memory, and a
malformed one 400. Replies are compressed in a coding the client accepts
(``Accept-Encoding``), picked by size: bzip2 makes a big sync's JSON about 40%
smaller than gzip, which is what a 512 kbit/s satellite link waits for; for a
reply of a few KB gzip is as small, at a fraction of the CPU. Checks run in this
order, each with its own status and an :class:`~sync.protocol.ErrorBody`: token
(401), rate (429), size (413), encoding (415/400), JSON (400), protocol version
(426), shape (422), device (403). A request that fails any of them changes
nothing. Every request, answered or not, leaves a row in ``request_log`` (who,
path, status, counts, bytes, time; never content).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from sync import hlc as hlc_mod
from sync import invite
from sync.protocol import PROTOCOL_VERSION
from sync.protocol import EnrollRequest
from sync.protocol import ReserveRequest
from sync.protocol import SyncRequest
from sync.server import auth
from sync.server import ops
from sync.server.api import billing_routes
from sync.server.api import enroll_routes
from sync.server.api import ops_routes
from sync.server.api import sync_routes
from sync.server.api.bodies import validation_detail
from sync.server.api.context import Api
from sync.server.api.errors import STATUS_CODES
from sync.server.api.errors import ApiError
from sync.server.api.errors import error_response
from sync.server.api.limits import DEFAULT_SYNC_BURST
from sync.server.api.limits import DEFAULT_SYNC_PER_MINUTE
from sync.server.api.limits import TokenBucket
from sync.server.api.request_log import GroupCommit
from sync.server.api.request_log import RequestLogMiddleware
from sync.server.engine import SyncEngine

log = logging.getLogger("sync.server")


class _Server(FastAPI):
    """FastAPI with a fast path: the routes in ``fast`` (``POST /v1/sync``) are
    called straight from here, inside the request log, with the same error answers;
    everything else goes through FastAPI's stack. Under load the framework's
    routing and middleware chain cost about a tenth of a sync's CPU."""

    fast: dict[tuple[str, str], Any]
    fast_stack: Any = None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and self.fast_stack is not None:
            handler = self.fast.get((scope["method"], scope["path"]))
            if handler is not None:
                scope["app"] = self
                scope["fast_handler"] = handler
                await self.fast_stack(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


async def _fast_endpoint(scope, receive, send) -> None:
    """One fast-path route, its errors answered as ``_error_answers`` does."""
    request = Request(scope, receive)
    try:
        response = await scope["fast_handler"](request)
    except ApiError as exc:
        request.state.log_error = exc.error
        response = error_response(exc.status, exc.error, exc.message, exc.detail, exc.headers)
    except Exception as exc:
        log.error("unexpected %s while answering a request", type(exc).__name__)
        response = error_response(500, "server_error", "The server failed; nothing was changed.")
    await response(scope, receive, send)


def create_app(
    engine: Engine,
    sync_engine: SyncEngine,
    *,
    sync_per_minute: float = DEFAULT_SYNC_PER_MINUTE,
    sync_burst: int = DEFAULT_SYNC_BURST,
    clock: Callable[[], int] = hlc_mod.now_ms,
    metrics_token: str | None = None,
) -> FastAPI:
    app = _Server(
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
    metrics = ops.Metrics()
    app.state.metrics = metrics
    api = Api(
        engine=engine,
        sync_engine=sync_engine,
        clock=clock,
        sync_limit=TokenBucket(sync_per_minute, sync_burst),
        metrics=metrics,
        metrics_token=metrics_token,
    )
    _error_answers(app)
    for area in (ops_routes, enroll_routes, sync_routes, billing_routes):
        app.include_router(area.router(api))
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    rows = GroupCommit(engine)  # one request log for both paths
    app.add_middleware(RequestLogMiddleware, engine=engine, clock=clock, metrics=metrics, rows=rows)
    app.fast = {("POST", "/v1/sync"): sync_routes.handler(api)}
    app.fast_stack = RequestLogMiddleware(_fast_endpoint, engine, clock, metrics, rows)
    return app


def _error_answers(app: FastAPI) -> None:
    """Every error answer is an ErrorBody."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        request.state.log_error = exc.error
        return error_response(exc.status, exc.error, exc.message, exc.detail, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "The request failed."
        return error_response(
            exc.status_code,
            STATUS_CODES.get(exc.status_code, "error"),
            message,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [dict(e) for e in exc.errors()]
        return error_response(
            422,
            "invalid",
            f"The request is not valid: {len(errors)} problem(s).",
            validation_detail(errors),
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected %s while answering a request", type(exc).__name__)
        return error_response(500, "server_error", "The server failed; nothing was changed.")


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with the request models the routes read themselves."""
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
