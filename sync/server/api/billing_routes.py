"""``POST /v1/billing/reserve``: reserve services for export batches before their
files are written (sync.server.billing), so no service is billed twice."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi import Request
from fastapi.responses import Response

from sync.protocol import PROTOCOL_VERSION
from sync.protocol import ReserveRequest
from sync.protocol import ReserveResponse
from sync.server import auth
from sync.server import billing as billing_mod
from sync.server.api.context import Api
from sync.server.api.context import still_enrolled
from sync.server.api.errors import ApiError
from sync.server.api.errors import body_doc
from sync.server.api.errors import errors_doc
from sync.server.api.errors import refused
from sync.server.engine import Caller


def router(api: Api) -> APIRouter:
    routes = APIRouter()

    @routes.post(
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
        openapi_extra=body_doc(ReserveRequest),
        responses=errors_doc(400, 401, 403, 409, 413, 415, 422, 426, 429, 500, 503),
    )
    async def billing_reserve(request: Request) -> Response:
        owner = await api.device(request)
        if owner.role not in billing_mod.RESERVE_ROLES:
            raise ApiError(
                403,
                "forbidden",
                "Only billing staff, a supervisor or an administrator reserve services.",
            )
        api.take_turn(owner, "requests")
        req, caller = await api.device_request(request, owner, ReserveRequest)
        request.state.log_pushed = sum(len(b.encounter_ids) for b in req.batches)
        resp = await api.db(lambda: _reserve(api, caller, req))
        return Response(
            resp.model_dump_json(),
            media_type="application/json",
            headers={"X-Server-Time-Ms": str(resp.server_time_ms), "Cache-Control": "no-store"},
        )

    return routes


def _reserve(api: Api, caller: Caller, req: ReserveRequest) -> ReserveResponse:
    try:
        with api.engine.begin() as conn:
            still_enrolled(conn, caller.device_id)
            done = billing_mod.reserve(conn, caller, req, auth.now_iso())
            number = billing_mod.billing_number(conn, caller.device_id, caller.role, auth.now_iso())
    except billing_mod.BillingRefusal as exc:
        with api.engine.begin() as conn:  # the refusal stored nothing; log it alone
            billing_mod.record_refusal(conn, caller, req, exc)
        raise refused(exc) from None
    return ReserveResponse(
        protocol=PROTOCOL_VERSION,
        server_time_ms=api.clock(),
        reserved=done.reserved,
        released=done.released,
        billing_number=number,
    )
