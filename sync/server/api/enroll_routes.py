"""``POST /v1/enroll`` (username and password in, a device token out, once) and
``POST /v1/enroll/invite`` (an invite code, sync.invite, instead of the username).

The password check is the same for both: a per-address ceiling on failures, the
account lockout (sync.server.auth.begin_attempt), and the same work and answer for
an unknown user and a wrong password.
"""

from __future__ import annotations

import math

from fastapi import APIRouter
from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from sync import invite
from sync.protocol import PROTOCOL_VERSION
from sync.protocol import PUSH_CHANGES_ACCEPTED
from sync.protocol import PUSH_LIMIT_HEADER
from sync.protocol import EnrollRequest
from sync.protocol import EnrollResponse
from sync.server import auth
from sync.server import billing as billing_mod
from sync.server import staff
from sync.server.api.bodies import MAX_ENROLL_BYTES
from sync.server.api.bodies import MIN_ENROLL_PROTOCOL
from sync.server.api.bodies import check_protocol
from sync.server.api.bodies import parse_json
from sync.server.api.bodies import read_body
from sync.server.api.bodies import validate
from sync.server.api.context import Api
from sync.server.api.errors import ApiError
from sync.server.api.errors import body_doc
from sync.server.api.errors import errors_doc
from sync.server.api.errors import invite_invalid
from sync.server.api.errors import too_many
from sync.server.db import reading

_ERRORS = errors_doc(400, 401, 403, 409, 413, 422, 426, 429, 500, 503)


def router(api: Api) -> APIRouter:
    routes = APIRouter()

    @routes.post(
        "/v1/enroll",
        response_model=EnrollResponse,
        summary="Enroll a device: username and password in, a device token out (once)",
        openapi_extra=body_doc(EnrollRequest),
        responses=_ERRORS,
    )
    async def enroll(request: Request) -> Response:
        req = await _read(request, EnrollRequest)
        ip = request.client.host if request.client else "?"
        user = await sign_in(api, req.username, req.password, ip)
        request.state.log_user_id = user.id

        def register() -> str:
            with api.engine.begin() as conn:
                if staff.enrol_blocked(conn, user.id) and not staff.device_revoked(
                    conn, req.device_id
                ):  # a revoked device id is told so (403 revoked) by enroll_device
                    raise ApiError(
                        403,
                        "enrol_blocked",
                        "A device of this account was revoked, so a new one needs an "
                        "administrator's invite code (or 'users enable'). Ask your administrator.",
                    )
                return _register(conn, user, req)

        token = await api.db(register)
        return _enrolled(user, token, api.clock())

    @routes.post(
        invite.ENROLL_PATH,
        response_model=EnrollResponse,
        summary="Enroll a device with an invite code (sync.invite) and the user's password",
        openapi_extra=body_doc(invite.InviteEnrollRequest),
        responses=_ERRORS,
    )
    async def enroll_invite(request: Request) -> Response:
        req = await _read(request, invite.InviteEnrollRequest)
        try:
            code = invite.decode(req.code)
        except invite.InviteError as exc:
            raise ApiError(400, "bad_invite", str(exc)) from None
        ip = request.client.host if request.client else "?"
        _check_address(api, ip)

        def find() -> auth.User | None:
            with reading(api.engine) as conn:
                return staff.invite_user(conn, code.secret, api.clock() / 1000)

        invited = await api.db(find)
        if invited is None:
            api.ip_failures.take(f"ip:{ip}")
            raise invite_invalid()
        user = await sign_in(api, invited.username, req.password, ip)
        request.state.log_user_id = user.id

        def register() -> str:
            with api.engine.begin() as conn:
                if not staff.use_invite(conn, code.secret, req.device_id, api.clock() / 1000):
                    raise invite_invalid()
                return _register(conn, user, req)

        token = await api.db(register)
        return _enrolled(user, token, api.clock(), with_name=True)

    return routes


async def _read(request: Request, model: type[BaseModel]):
    """An enrolment body: small, any protocol since 1, its device id logged."""
    body = await read_body(request, MAX_ENROLL_BYTES, MAX_ENROLL_BYTES)
    data = parse_json(body)
    check_protocol(data, MIN_ENROLL_PROTOCOL)
    req = validate(model, data)
    request.state.log_device_id = req.device_id
    return req


def _check_address(api: Api, ip: str) -> None:
    wait = api.ip_failures.wait(f"ip:{ip}")
    if wait > 0:
        raise too_many(wait, "failed sign-ins from this address")


async def sign_in(api: Api, username: str, password: str, ip: str) -> auth.User:
    """The password check of an enrolment: the per-address ceiling, the account
    lockout, the same work and answer for an unknown user and a wrong password."""
    _check_address(api, ip)

    def begin() -> int:
        with api.engine.begin() as conn:
            return auth.begin_attempt(conn, username, api.clock())

    locked_ms = await api.db(begin)
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
        with reading(api.engine) as conn:
            return auth.load_credentials(conn, username)

    user, stored = await api.db(find)
    # Unknown user or wrong password: the same work, the same answer.
    ok = await run_in_threadpool(auth.verify_password, password, stored)
    if user is None or not ok or not user.active:
        api.ip_failures.take(f"ip:{ip}")

        def failed() -> None:
            with api.engine.begin() as conn:
                auth.attempt_failed(conn, username, user, ip)

        await api.db(failed)
        raise ApiError(401, "unauthorized", "Wrong username or password.")

    def succeeded() -> None:
        with api.engine.begin() as conn:
            auth.attempt_succeeded(conn, username)

    await api.db(succeeded)
    return user


def _register(conn, user: auth.User, req) -> str:
    """The device's token, and its billing number (given at enrolment, asked for later)."""
    token = _enroll_device(conn, user, req.device_id, req.device_name)
    billing_mod.billing_number(conn, req.device_id, user.role, auth.now_iso())
    return token


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
        headers={
            "X-Server-Time-Ms": str(now_ms),
            "Cache-Control": "no-store",
            PUSH_LIMIT_HEADER: str(PUSH_CHANGES_ACCEPTED),  # what a sync request may push
        },
    )
