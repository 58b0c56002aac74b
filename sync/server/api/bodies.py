"""Reading and answering HTTP bodies: compressed request bodies read against fixed
limits (an oversized body or a zip bomb is answered 413 before it costs memory, a
malformed one 400), JSON parsed and the protocol version checked before the shape
is validated (so an older client gets 426, not 422), and replies compressed with the
best coding the client accepts."""

from __future__ import annotations

import bz2
import gzip
import json
import zlib
from collections.abc import Callable
from typing import Any
from typing import TypeVar

from fastapi import Request
from pydantic import BaseModel
from pydantic import ValidationError

from sync.protocol import MAX_BODY_BYTES
from sync.protocol import MIN_PROTOCOL_VERSION
from sync.protocol import PROTOCOL_VERSION
from sync.server.api.errors import ApiError
from sync.server.api.errors import too_large

MAX_ENROLL_BYTES = 64 * 1024
# Enrollment has not changed since protocol 1: an older client may still enroll,
# and is told to update at its first sync.
MIN_ENROLL_PROTOCOL = 1
# Past a limit the rest of a modest body is read and dropped so the client sees
# the 413 rather than a reset connection; beyond this the connection is closed.
DRAIN_CAP = 4 * MAX_BODY_BYTES
UPDATE_MESSAGE = (
    "This copy of PeerTrail is too old for the sync server. Please update PeerTrail, "
    "then sync again. Your work is kept on this laptop until then."
)

BODY_CODINGS = ("bzip2", "gzip", "deflate")  # request bodies
REPLY_CODINGS: dict[str, Callable[[bytes], bytes]] = {
    "bzip2": lambda b: bz2.compress(b, _bz2_level(len(b))),
    "gzip": lambda b: gzip.compress(b, 9),
}


async def _drain(request: Request, already: int) -> None:
    total = already
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > DRAIN_CAP:
                return
    except Exception:  # the client went away: nothing to drain
        return


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
            raise too_large(raw_limit, "compressed" if gz else "body")
    inflater = _Inflater(encoding) if gz else None
    out = bytearray()
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > raw_limit:
            await _drain(request, seen)
            raise too_large(raw_limit, "compressed" if gz else "body")
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
            raise too_large(max_decoded, "decompressed")
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


#: Replies up to this size go gzip when accepted: for a few kilobytes of JSON
#: gzip is as small as bzip2 or smaller (bzip2's headers and block sorting cost
#: more than they save) at 1/10-1/30 of its CPU; larger replies go bzip2 (5-20 %
#: smaller, what a slow link waits for).
SMALL_REPLY = 8 * 1024


def _bz2_level(size: int) -> int:
    """bzip2's block size (100 KB steps) that holds the whole reply: the same output
    as level 9 for a reply that fits, without setting up 900 KB blocks for it."""
    return max(1, min(9, -(-size // 100_000)))


def compress_reply(payload: bytes, codings: set[str]) -> tuple[bytes, str | None]:
    """The reply in the coding its size calls for among those the client accepts
    (one coding tried, not each): plain up to 512 bytes, gzip for small replies,
    bzip2 for bigger ones; plain when the coding would not make it smaller."""
    size = len(payload)
    if size <= 512 or not codings & set(REPLY_CODINGS):
        return payload, None
    if "bzip2" in codings and (size > SMALL_REPLY or "gzip" not in codings):
        packed, name = bz2.compress(payload, _bz2_level(size)), "bzip2"
    else:
        packed, name = gzip.compress(payload, 9), "gzip"
    return (packed, name) if len(packed) < size else (payload, None)
