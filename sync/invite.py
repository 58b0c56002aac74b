"""One-code enrolment: the invite code an administrator makes with
``python -m sync.server users invite NAME`` and a laptop types or reads from a file.

Qt-free and shared by the server and the desktop app. A code is ``PT`` and then
Crockford base32 (digits and capitals without I, L, O, U; typing is forgiving:
lower case, spaces and dashes are ignored, O reads as 0 and I/L as 1) of::

    version (1 byte, 1) | secret (8) | expires (uint32, Unix seconds) | port (uint16)
    | certificate fingerprint prefix (16 bytes: the first half of the SHA-256 over
      the server certificate's DER form) | host length (1) | host (ASCII/IDNA)
    | checksum (2 bytes: the start of SHA-256 over everything before it)

The checksum catches a mistyped code before anything is sent. The secret is
single use and expires; the server keeps only its SHA-256 (``secret_hash``). The
prefix is 128 bits of the fingerprint, as hard to forge as a whole one for
pinning: a laptop connects to ``server_url``, reads the server's certificate, checks
``fingerprint_matches(full_fingerprint)`` and then pins the full fingerprint as
it does after a typed enrolment. The laptop then posts an :class:`InviteEnrollRequest`
to ``ENROLL_PATH`` and gets the usual ``EnrollResponse``.

An invite file holds ``#`` comment lines and the code on a line of its own
(:func:`read_file`).
"""

from __future__ import annotations

import hashlib
import os
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import StringConstraints

from sync.protocol import EnrollBase

VERSION = 1
PREFIX = "PT"
ENROLL_PATH = "/v1/enroll/invite"
SECRET_BYTES = 8
FINGERPRINT_PREFIX_BYTES = 16
CHECKSUM_BYTES = 2
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford
_VALUE = {c: i for i, c in enumerate(ALPHABET)} | {"O": 0, "I": 1, "L": 1}
_HEAD = struct.Struct(">B8sIH16sB")


class InviteError(ValueError):
    """The text is not a valid invite code (the message is for a person)."""


@dataclass(frozen=True)
class Invite:
    host: str
    port: int
    fingerprint_prefix: bytes  # 16 bytes
    secret: bytes  # 8 bytes
    expires_at: int  # Unix seconds

    @property
    def server_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.expires_at

    def fingerprint_matches(self, fingerprint: str) -> bool:
        """True when the full fingerprint (``AB:CD:…`` or plain hex) starts with this prefix."""
        try:
            digest = bytes.fromhex(fingerprint.replace(":", "").strip())
        except ValueError:
            return False
        return len(digest) == 32 and digest[:FINGERPRINT_PREFIX_BYTES] == self.fingerprint_prefix


class InviteEnrollRequest(EnrollBase):
    """``POST /v1/enroll/invite``: the whole code and the user's own password."""

    code: Annotated[str, StringConstraints(min_length=8, max_length=600)]


def new_secret() -> bytes:
    return os.urandom(SECRET_BYTES)


def secret_hash(secret: bytes) -> str:
    """What the server stores and looks an invite up by."""
    return hashlib.sha256(secret).hexdigest()


def fingerprint_prefix(fingerprint: str) -> bytes:
    """The first 16 bytes of a full ``AB:CD:…`` fingerprint."""
    digest = bytes.fromhex(fingerprint.replace(":", "").strip())
    if len(digest) != 32:
        raise InviteError("a certificate fingerprint is 32 bytes (64 hex digits)")
    return digest[:FINGERPRINT_PREFIX_BYTES]


def _b32encode(data: bytes) -> str:
    n, bits, out = int.from_bytes(data, "big"), len(data) * 8, []
    pad = -bits % 5
    n <<= pad
    for shift in range(bits + pad - 5, -1, -5):
        out.append(ALPHABET[(n >> shift) & 31])
    return "".join(out)


def _b32decode(text: str) -> bytes:
    n = 0
    for ch in text:
        if ch not in _VALUE:
            raise InviteError(f"an invite code has no {ch!r} in it; check the code")
        n = (n << 5) | _VALUE[ch]
    bits = len(text) * 5
    nbytes = bits // 8
    spare = bits - nbytes * 8
    if n & ((1 << spare) - 1):  # the padding bits are zero: a typo there is caught too
        raise InviteError("the invite code has a typing mistake; check it character by character")
    return (n >> spare).to_bytes(nbytes, "big")


def encode(invite: Invite, group: int = 4) -> str:
    """The code as printed: ``PT`` then groups of ``group`` characters joined by '-'."""
    host = invite.host.encode("idna") if invite.host else b""
    if not host or len(host) > 253:
        raise InviteError("the server address is missing or too long")
    if not 1 <= invite.port <= 65535:
        raise InviteError("the port is 1-65535")
    body = _HEAD.pack(
        VERSION,
        invite.secret,
        invite.expires_at,
        invite.port,
        invite.fingerprint_prefix,
        len(host),
    )
    body += host
    body += hashlib.sha256(body).digest()[:CHECKSUM_BYTES]
    text = _b32encode(body)
    return PREFIX + "-" + "-".join(text[i : i + group] for i in range(0, len(text), group))


def decode(code: str) -> Invite:
    """The invite in a code as typed; :class:`InviteError` says what is wrong."""
    text = "".join(code.split()).replace("-", "").upper()
    if not text.startswith(PREFIX):
        raise InviteError("an invite code starts with PT")
    raw = _b32decode(text[len(PREFIX) :])
    if len(raw) < _HEAD.size + 1 + CHECKSUM_BYTES:
        raise InviteError("the invite code is too short; check that all of it was typed")
    version = raw[0]
    if version != VERSION:
        raise InviteError("this invite code is for a newer PeerTrail; update PeerTrail")
    _v, secret, expires, port, prefix, host_len = _HEAD.unpack_from(raw)
    end = _HEAD.size + host_len
    if len(raw) != end + CHECKSUM_BYTES:
        raise InviteError("the invite code is not complete or has extra characters")
    if hashlib.sha256(raw[:end]).digest()[:CHECKSUM_BYTES] != raw[end:]:
        raise InviteError("the invite code has a typing mistake; check it character by character")
    try:
        host = raw[_HEAD.size : end].decode("ascii").encode("ascii").decode("idna")
    except UnicodeError:
        raise InviteError("the invite code's server address is not valid") from None
    if not host or port == 0:
        raise InviteError("the invite code's server address is not valid")
    return Invite(host, port, prefix, secret, expires)


def file_text(code: str, username: str, expires_at: int) -> str:
    """What ``users invite`` writes to its file (and :func:`read_file` reads)."""
    until = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(expires_at))
    return (
        "# PeerTrail invite: enrol a laptop with this code and the user's own password.\n"
        f"# For: {username}. Single use, valid until {until}.\n"
        f"{code}\n"
    )


def read_file(path: Path) -> Invite:
    """The invite in a file written by ``users invite`` (comment lines are skipped)."""
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            return decode(line)
    raise InviteError("the file holds no invite code")
