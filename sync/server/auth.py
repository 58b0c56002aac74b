"""Users' passwords and devices' tokens.

Passwords are hashed with Argon2id (``cryptography``); the stored text is the
usual PHC string, ``$argon2id$v=19$m=…,t=…,p=…$SALT$HASH``, so the parameters
and salt travel with the hash and can be raised later without breaking old
rows. Checking a password for an unknown user costs the same as for a known one.

A device token is ``secrets.token_urlsafe(32)``, shown to the device once at
enrollment; the server keeps only its SHA-256 (hex). A token looks up its
device and user; a revoked device (or a deactivated user) is told apart, so the
API can answer 401 "revoked" and nothing else.

Sign-ins are limited per account, in the database (so every server process sees
the same count): each attempt is counted before its password is checked (so
parallel guesses are counted too), a right password clears the count, and from
the fifth failure in a row the account is locked, 1 minute at first and twice as
long after each further failure, up to an hour. Unknown usernames are counted the
same way, so a lockout says nothing about whether a user exists. Other users are
never locked out by someone else's failures; the app keeps only a high per-address
ceiling. Each lockout and each ``unlock`` is a security event.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.engine import Connection

from sync.server import security
from sync.server.tables import devices
from sync.server.tables import login_failures
from sync.server.tables import users

ROLES = ("specialist", "supervisor", "billing", "admin")
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}\Z")
MIN_PASSWORD_CHARS = 8

# OWASP's first Argon2id setting (46 MiB, 1 pass, 1 lane): about 0.07 s here.
ARGON2_MEMORY_KIB = 47104
ARGON2_ITERATIONS = 1
ARGON2_LANES = 1
ARGON2_SALT_BYTES = 16
ARGON2_HASH_BYTES = 32
_PHC_RE = re.compile(
    r"^\$argon2id\$v=19\$m=(\d{1,8}),t=(\d{1,4}),p=(\d{1,3})\$([A-Za-z0-9+/]{11,64})\$([A-Za-z0-9+/]{22,128})\Z"
)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# -- passwords -------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _argon2(password: str, salt: bytes, m: int, t: int, p: int, length: int) -> bytes:
    return Argon2id(salt=salt, length=length, iterations=t, lanes=p, memory_cost=m).derive(
        password.encode("utf-8")
    )


def hash_password(
    password: str,
    *,
    memory_kib: int = ARGON2_MEMORY_KIB,
    iterations: int = ARGON2_ITERATIONS,
    lanes: int = ARGON2_LANES,
) -> str:
    salt = os.urandom(ARGON2_SALT_BYTES)
    digest = _argon2(password, salt, memory_kib, iterations, lanes, ARGON2_HASH_BYTES)
    return f"$argon2id$v=19$m={memory_kib},t={iterations},p={lanes}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches the PHC string ``stored`` (constant-time compare)."""
    m = _PHC_RE.match(stored or "")
    if not m:
        return False
    mem, t, p = int(m.group(1)), int(m.group(2)), int(m.group(3))
    salt, expected = _unb64(m.group(4)), _unb64(m.group(5))
    if not (8 * p <= mem <= 4 * 1024 * 1024 and 1 <= t <= 64 and 1 <= p <= 64):
        return False
    try:
        Argon2id(salt=salt, length=len(expected), iterations=t, lanes=p, memory_cost=mem).verify(
            password.encode("utf-8"), expected
        )
    except InvalidKey:
        return False
    return True


_dummy_hash: str | None = None


def warm_up() -> None:
    """Make the dummy hash now, so the first unknown user is not answered slower."""
    _dummy()


def _dummy() -> str:
    """A hash to check unknown users' passwords against, so they take as long."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password(secrets.token_urlsafe(16))
    return _dummy_hash


# -- users -----------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    id: str
    username: str
    role: str
    supervisor_id: str
    active: bool


def _user(row) -> User:
    return User(row.id, row.username, row.role, row.supervisor_id or "", bool(row.active))


def find_user(conn: Connection, username: str) -> User | None:
    row = conn.execute(select(users).where(users.c.username == username)).first()
    return _user(row) if row else None


def get_user(conn: Connection, user_id: str) -> User | None:
    row = conn.execute(select(users).where(users.c.id == user_id)).first()
    return _user(row) if row else None


def list_users(conn: Connection) -> list[User]:
    return [_user(r) for r in conn.execute(select(users).order_by(users.c.username))]


def create_user(
    conn: Connection, username: str, password: str, role: str, supervisor_id: str = ""
) -> User:
    """Insert the auth row; the caller also writes the ``users`` record (server_write)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if not USERNAME_RE.match(username):
        raise ValueError("a username is 1-64 letters, digits, '.', '_', '@' or '-'")
    user = User(str(uuid.uuid4()), username, role, supervisor_id, True)
    conn.execute(
        users.insert().values(
            id=user.id,
            username=username,
            password_hash=hash_password(password),
            role=role,
            supervisor_id=supervisor_id,
            active=True,
            created_at=now_iso(),
        )
    )
    return user


def load_credentials(conn: Connection, username: str) -> tuple[User | None, str]:
    """The user and their stored hash; for an unknown user None and a dummy hash,
    so checking the password costs the same either way."""
    row = conn.execute(select(users).where(users.c.username == username)).first()
    if row is None:
        return None, _dummy()
    return _user(row), row.password_hash


def authenticate(conn: Connection, username: str, password: str) -> User | None:
    """The active user with this name and password, else None."""
    user, stored = load_credentials(conn, username)
    ok = verify_password(password, stored)
    if user is None or not ok or not user.active:
        return None
    return user


# -- sign-in lockout ---------------------------------------------------------------

LOCKOUT_AFTER = 5  # failures in a row
LOCKOUT_FIRST_MS = 60_000
LOCKOUT_MAX_MS = 3_600_000
FAILURES_FORGOTTEN_MS = 24 * 3_600_000  # a failure this old no longer counts


def lockout_ms(failures: int) -> int:
    """How long an account is locked after ``failures`` failures in a row."""
    if failures < LOCKOUT_AFTER:
        return 0
    return min(LOCKOUT_MAX_MS, LOCKOUT_FIRST_MS << min(failures - LOCKOUT_AFTER, 20))


def _login_key(username: str) -> str:
    return username[:64]


def begin_attempt(conn: Connection, username: str, now_ms: int) -> int:
    """Count a sign-in attempt before its password is checked. Returns 0 when it
    may go on, else the milliseconds until the account is unlocked (not counted)."""
    key = _login_key(username)
    empty = {"username": key, "failures": 0, "locked_until_ms": 0, "last_failure_ms": now_ms}
    if security.insert_if_missing(conn, login_failures, empty, "username"):
        conn.execute(  # forget old failures now and then: when a new name is counted
            delete(login_failures).where(
                login_failures.c.last_failure_ms < now_ms - FAILURES_FORGOTTEN_MS,
                login_failures.c.locked_until_ms < now_ms,
            )
        )
    row = conn.execute(
        select(login_failures).where(login_failures.c.username == key).with_for_update()
    ).one()
    if row.locked_until_ms > now_ms:
        return int(row.locked_until_ms - now_ms)
    fresh = row.last_failure_ms < now_ms - FAILURES_FORGOTTEN_MS
    failures = 1 if fresh else int(row.failures) + 1
    lock = lockout_ms(failures)
    conn.execute(
        update(login_failures)
        .where(login_failures.c.username == key)
        .values(
            failures=failures,
            locked_until_ms=now_ms + lock if lock else 0,
            last_failure_ms=now_ms,
        )
    )
    return 0


def attempt_succeeded(conn: Connection, username: str) -> None:
    conn.execute(delete(login_failures).where(login_failures.c.username == _login_key(username)))


def attempt_failed(conn: Connection, username: str, user: User | None, ip: str) -> None:
    """After a wrong password: a security event when this failure locked the account."""
    row = conn.execute(
        select(login_failures).where(login_failures.c.username == _login_key(username))
    ).first()
    if row is None or not row.locked_until_ms:
        return
    security.record_event(
        conn,
        security.LOCKOUT,
        username=username,
        user_id=user.id if user else "",
        failures=int(row.failures),
        locked_for_s=lockout_ms(int(row.failures)) // 1000,
        ip=ip,
    )


def unlock(conn: Connection, username: str) -> bool:
    """Clear an account's failures and lock; True when there was something to clear."""
    gone = conn.execute(
        delete(login_failures).where(login_failures.c.username == _login_key(username))
    ).rowcount
    user = find_user(conn, username)
    security.record_event(
        conn,
        security.UNLOCK,
        username=username,
        user_id=user.id if user else "",
        cleared=bool(gone),
    )
    return bool(gone)


# -- devices and tokens ----------------------------------------------------------


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class DeviceTaken(Exception):
    """The device id is enrolled for another user."""


class DeviceRevoked(Exception):
    """The device id was revoked; it cannot be enrolled again."""


def enroll_device(conn: Connection, user: User, device_id: str, name: str) -> str:
    """Register (or re-register) ``device_id`` for ``user``; returns the new token.
    Re-enrolling a device of the same user replaces its token (the old one stops
    working)."""
    token = new_token()
    row = conn.execute(
        select(devices.c.user_id, devices.c.revoked_at).where(devices.c.id == device_id)
    ).first()
    if row is None:
        conn.execute(
            devices.insert().values(
                id=device_id,
                user_id=user.id,
                name=name,
                token_hash=token_hash(token),
                enrolled_at=now_iso(),
            )
        )
        return token
    if row.user_id != user.id:
        raise DeviceTaken(device_id)
    if row.revoked_at:
        raise DeviceRevoked(device_id)
    conn.execute(
        update(devices)
        .where(devices.c.id == device_id)
        .values(token_hash=token_hash(token), name=name, enrolled_at=now_iso())
    )
    return token


@dataclass(frozen=True)
class TokenOwner:
    device_id: str
    user_id: str
    username: str
    role: str
    revoked: bool  # the device was revoked or its user deactivated


_TOKEN_OWNER = (  # built once: every request looks its token up
    select(
        devices.c.id,
        devices.c.token_hash,
        devices.c.revoked_at,
        users.c.id.label("user_id"),
        users.c.username,
        users.c.role,
        users.c.active,
    )
    .select_from(devices.join(users, users.c.id == devices.c.user_id, isouter=True))
    .where(devices.c.token_hash == bindparam("h"))
)
_TOUCH = update(devices).where(devices.c.id == bindparam("d")).values(last_seen_at=bindparam("at"))


def lookup_token(conn: Connection, token: str) -> TokenOwner | None:
    """Who a bearer token belongs to; None for a token the server never issued."""
    if not token or len(token) > 256:
        return None
    wanted = token_hash(token)
    row = conn.execute(_TOKEN_OWNER, {"h": wanted}).first()
    if row is None or not hmac.compare_digest(row.token_hash, wanted):
        return None
    revoked = bool(row.revoked_at) or row.user_id is None or not row.active
    return TokenOwner(row.id, row.user_id or "", row.username or "", row.role or "", revoked)


@dataclass(frozen=True)
class Device:
    id: str
    user_id: str
    username: str
    name: str
    enrolled_at: str
    last_seen_at: str | None
    revoked_at: str | None


def list_devices(conn: Connection) -> list[Device]:
    rows = conn.execute(
        select(
            devices.c.id,
            devices.c.user_id,
            users.c.username,
            devices.c.name,
            devices.c.enrolled_at,
            devices.c.last_seen_at,
            devices.c.revoked_at,
        )
        .select_from(devices.join(users, users.c.id == devices.c.user_id, isouter=True))
        .order_by(users.c.username, devices.c.enrolled_at)
    )
    return [Device(r[0], r[1], r[2] or "?", *r[3:]) for r in rows]


def revoke_device(conn: Connection, device_id: str) -> str | None:
    """Revoke a device; returns when it was revoked (earlier if it already was),
    None for an unknown device. Its token also stops working."""
    row = conn.execute(select(devices.c.revoked_at).where(devices.c.id == device_id)).first()
    if row is None:
        return None
    if row.revoked_at:
        return row.revoked_at
    at = now_iso()
    conn.execute(update(devices).where(devices.c.id == device_id).values(revoked_at=at))
    return at


def touch_device(conn: Connection, device_id: str) -> None:
    conn.execute(_TOUCH, {"d": device_id, "at": now_iso()})


_TOUCH_ENROLLED = (
    update(devices)
    .where(
        devices.c.id == bindparam("d"),
        or_(devices.c.revoked_at.is_(None), devices.c.revoked_at == ""),
    )
    .values(last_seen_at=bindparam("at"))
)


def touch_enrolled(conn: Connection, device_id: str) -> bool:
    """Mark the device seen, if it is still enrolled (its row there, not revoked):
    one statement for both, inside a write transaction. False: revoked or gone."""
    return conn.execute(_TOUCH_ENROLLED, {"d": device_id, "at": now_iso()}).rowcount == 1
