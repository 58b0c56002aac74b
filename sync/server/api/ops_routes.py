"""``GET /v1/health`` (protocol versions and the server's clock), ``GET /v1/ready``
(the database answers and its schema is current) and ``GET /metrics`` (Prometheus,
sync.server.ops: loopback only unless a metrics token is set, then only with it)."""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import APIRouter
from fastapi import Request
from fastapi.responses import JSONResponse
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client import generate_latest
from starlette.concurrency import run_in_threadpool

from sync.protocol import MIN_PROTOCOL_VERSION
from sync.protocol import PROTOCOL_VERSION
from sync.server import ops
from sync.server.api.context import Api
from sync.server.api.errors import ApiError
from sync.server.api.errors import not_signed_in


def router(api: Api) -> APIRouter:
    routes = APIRouter()

    @routes.get("/v1/health", summary="Protocol versions and the server's clock")
    async def health() -> dict[str, int]:
        return {
            "protocol": PROTOCOL_VERSION,
            "min_protocol": MIN_PROTOCOL_VERSION,
            "server_time_ms": api.clock(),
        }

    @routes.get("/v1/ready", summary="Ready: the database answers and its schema is current")
    async def ready() -> JSONResponse:
        ok, detail = await run_in_threadpool(ops.readiness, api.engine)
        return JSONResponse(
            {"ready": ok, **detail},
            status_code=200 if ok else 503,
            headers={"Cache-Control": "no-store", **({} if ok else {"Retry-After": "5"})},
        )

    @routes.get("/metrics", summary="Prometheus metrics (loopback only, or the metrics token)")
    async def prometheus(request: Request) -> Response:
        if api.metrics_token:
            given = request.headers.get("authorization", "").partition(" ")[2].strip()
            if not hmac.compare_digest(given.encode(), api.metrics_token.encode()):
                raise not_signed_in("Metrics need the metrics token (Bearer).")
        elif not _loopback(request.client.host if request.client else ""):
            raise ApiError(403, "forbidden", "Metrics are served on the loopback address only.")
        payload = generate_latest(api.metrics.registry)
        return Response(payload, media_type=CONTENT_TYPE_LATEST)

    return routes


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
