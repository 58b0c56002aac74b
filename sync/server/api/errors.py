"""The API's errors: every error answer is an :class:`~sync.protocol.ErrorBody`
with a status, a stable code and plain words (never a request's content), and the
errors several routes give, made in one place."""

from __future__ import annotations

import math
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel

from sync.protocol import ErrorBody
from sync.server.trust import Refusal

STATUS_CODES = {
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


def refused(exc: Refusal) -> ApiError:
    """The error answer to a refusal of the engine's (sync.server.trust.Refusal)."""
    return ApiError(exc.status, exc.code, exc.message, detail=exc.detail)


def error_response(
    status: int, error: str, message: str, detail: Any = None, headers: dict | None = None
) -> JSONResponse:
    body = ErrorBody(error=error, message=message, detail=detail).model_dump(mode="json")
    return JSONResponse(body, status_code=status, headers=headers)


def too_many(wait_s: float, what: str) -> ApiError:
    seconds = max(1, math.ceil(wait_s))
    return ApiError(
        429,
        "rate_limited",
        f"Too many {what} in a short time. Try again in {seconds} seconds.",
        headers={"Retry-After": str(seconds)},
    )


def too_large(limit: int, what: str) -> ApiError:
    return ApiError(
        413,
        "too_large",
        f"The request is too large ({what} over {limit} bytes). Send fewer changes at a time.",
        detail={"limit_bytes": limit},
    )


def not_signed_in(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def revoked() -> ApiError:
    return ApiError(
        401,
        "revoked",
        "This device was revoked by an administrator. It can no longer sync.",
    )


def device_mismatch() -> ApiError:
    return ApiError(
        403,
        "device_mismatch",
        "This sign-in belongs to another device. Enroll this device with the server.",
    )


def invite_invalid() -> ApiError:
    return ApiError(
        401,
        "invite_invalid",
        "This invite code is not valid: it was used already, has expired or was withdrawn. "
        "Ask your administrator for a new one.",
    )


# -- OpenAPI ---------------------------------------------------------------------------


def body_doc(model: type[BaseModel]) -> dict[str, Any]:
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


def errors_doc(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {c: {"model": ErrorBody, "description": STATUS_CODES.get(c, "error")} for c in codes}
