"""Staff life cycle on the server: password reset, disable and enable, supervisor
change, removal with caseload hand-over, the enrolment gate, and invites.

Every change here is a security event (``sync.server.security``) and, where the
laptops hold a copy (the ``users`` record's ``active`` and ``supervisor_id``, a
participant's ``assigned_specialist_id``), written through
``SyncEngine.server_write`` so laptops get it at their next sync.

The enrolment gate: revoking a user's last active device sets
``users.enrol_blocked`` (a leaver's, or a lost only laptop); then that user cannot
enrol a laptop with their password until an administrator runs ``users enable
NAME`` or makes an invite (``users invite NAME``) and the code is used. A
disabled or removed user's tokens are refused at once (auth.lookup_token checks
``active`` on every request) and they cannot sign in or enrol.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.engine import Connection

from sync import invite as invite_mod
from sync.server import auth
from sync.server import security
from sync.server.engine import SyncEngine
from sync.server.tables import assignments
from sync.server.tables import devices
from sync.server.tables import field_state
from sync.server.tables import invites
from sync.server.tables import login_failures
from sync.server.tables import records
from sync.server.tables import users

PASSWORD_RESET, USER_DISABLED, USER_ENABLED = "password_reset", "user_disabled", "user_enabled"
SUPERVISOR_CHANGED, USER_REMOVED, DEVICE_REVOKED = (
    "supervisor_changed",
    "user_removed",
    "device_revoked",
)
INVITE_MADE, INVITE_USED, PARTICIPANT_REASSIGNED = (
    "invite_made",
    "invite_used",
    "participant_reassigned",
)


class StaffError(Exception):
    """A refusal with a message for the administrator."""


def _user_event(conn: Connection, kind: str, user: auth.User, **detail: Any) -> None:
    """A security event about ``user`` (named by username and id)."""
    security.record_event(conn, kind, username=user.username, user_id=user.id, **detail)


def add_user(
    conn: Connection,
    sync: SyncEngine,
    name: str,
    password: str,
    role: str,
    *,
    supervisor_id: str = "",
    display_name: str = "",
) -> auth.User:
    """A new account and its ``users`` record, which laptops get at their next sync."""
    user = auth.create_user(conn, name, password, role, supervisor_id)
    fields = {
        "deleted": 0,
        "username": name,
        "display_name": display_name or name,
        "role": role,
        "supervisor_id": supervisor_id,
        "active": 1,
    }
    sync.server_write(conn, "users", user.id, fields)
    return user


def set_password(conn: Connection, user: auth.User, password: str) -> None:
    conn.execute(
        update(users)
        .where(users.c.id == user.id)
        .values(password_hash=auth.hash_password(password))
    )
    conn.execute(login_failures.delete().where(login_failures.c.username == user.username))
    _user_event(conn, PASSWORD_RESET, user)


def set_active(conn: Connection, sync: SyncEngine, user: auth.User, active: bool) -> None:
    """Disable (tokens refused at once) or enable; enabling also lifts the enrolment gate."""
    if removed_at(conn, user.id):
        raise StaffError(f"{user.username!r} was removed; add a new user instead")
    values: dict = {"active": active}
    if active:
        values["enrol_blocked"] = False
    conn.execute(update(users).where(users.c.id == user.id).values(**values))
    sync.server_write(conn, "users", user.id, {"active": 1 if active else 0})
    kind = USER_ENABLED if active else USER_DISABLED
    _user_event(conn, kind, user)


def set_supervisor(
    conn: Connection, sync: SyncEngine, user: auth.User, supervisor: auth.User | None
) -> None:
    new_id = supervisor.id if supervisor else ""
    if supervisor is not None:
        if supervisor.role != "supervisor":
            raise StaffError(f"{supervisor.username!r} is a {supervisor.role}, not a supervisor")
        if supervisor.id == user.id:
            raise StaffError("a user cannot supervise themselves")
    conn.execute(update(users).where(users.c.id == user.id).values(supervisor_id=new_id))
    sync.server_write(conn, "users", user.id, {"supervisor_id": new_id})
    _user_event(conn, SUPERVISOR_CHANGED, user, supervisor_id=new_id)


def reassign(
    conn: Connection, sync: SyncEngine, participant_id: str, to: auth.User, by: str = "admin"
) -> bool:
    """Put a participant in ``to``'s caseload (False when it already was)."""
    current = sync.record_fields(conn, participant_id).get("assigned_specialist_id")
    if current == to.id:
        return False
    sync.server_write(conn, "participants", participant_id, {"assigned_specialist_id": to.id})
    previous = current or ""
    _user_event(
        conn, PARTICIPANT_REASSIGNED, to, participant_id=participant_id, previous=previous, by=by
    )
    return True


def caseload(conn: Connection, user_id: str) -> list[str]:
    return list(
        conn.execute(
            select(assignments.c.participant_id)
            .where(assignments.c.specialist_id == user_id)
            .order_by(assignments.c.participant_id)
        ).scalars()
    )


def revoke_devices(conn: Connection, user: auth.User) -> list[str]:
    ids = list(
        conn.execute(
            select(devices.c.id).where(devices.c.user_id == user.id, devices.c.revoked_at.is_(None))
        ).scalars()
    )
    for device_id in ids:
        revoke_device(conn, device_id)
    return ids


def revoke_device(conn: Connection, device_id: str) -> str | None:
    """auth.revoke_device, plus the enrolment gate and a security event."""
    row = conn.execute(
        select(devices.c.user_id, devices.c.revoked_at).where(devices.c.id == device_id)
    ).first()
    at = auth.revoke_device(conn, device_id)
    if row is None or row.revoked_at:
        return at
    left = conn.execute(
        select(devices.c.id).where(devices.c.user_id == row.user_id, devices.c.revoked_at.is_(None))
    ).first()
    if left is None:  # the user's last device: no new one without an administrator
        conn.execute(update(users).where(users.c.id == row.user_id).values(enrol_blocked=True))
    security.record_event(
        conn, DEVICE_REVOKED, user_id=row.user_id, device_id=device_id, last=left is None
    )
    return at


@dataclass(frozen=True)
class Removal:
    moved: int
    revoked: int


def remove(conn: Connection, sync: SyncEngine, user: auth.User, heir: auth.User | None) -> Removal:
    """Hand the caseload to ``heir``, revoke every device, and retire the account
    (kept for history: its id is on notes and hours; it can never sign in again)."""
    if removed_at(conn, user.id):
        raise StaffError(f"{user.username!r} was already removed")
    load = caseload(conn, user.id)
    if load and heir is None:
        raise StaffError(
            f"{user.username!r} has {len(load)} participant(s); name who takes them with --to"
        )
    if heir is not None:
        if heir.id == user.id or heir.role not in ("specialist", "supervisor"):
            raise StaffError("the caseload goes to another specialist or supervisor")
        if not heir.active:
            raise StaffError(f"{heir.username!r} is not active")
    for pid in load:
        reassign(conn, sync, pid, heir, by="users remove")  # type: ignore[arg-type]
    revoked = revoke_devices(conn, user)
    conn.execute(
        update(users)
        .where(users.c.id == user.id)
        .values(active=False, enrol_blocked=True, removed_at=auth.now_iso(), password_hash="!")
    )
    conn.execute(invites.delete().where(invites.c.user_id == user.id, invites.c.used_at.is_(None)))
    sync.server_write(conn, "users", user.id, {"active": 0})
    _user_event(
        conn,
        USER_REMOVED,
        user,
        caseload_to=heir.id if heir else "",
        moved=len(load),
        devices_revoked=len(revoked),
    )
    return Removal(len(load), len(revoked))


def removed_at(conn: Connection, user_id: str) -> str | None:
    return conn.execute(select(users.c.removed_at).where(users.c.id == user_id)).scalar()


def enrol_blocked(conn: Connection, user_id: str) -> bool:
    return bool(conn.execute(select(users.c.enrol_blocked).where(users.c.id == user_id)).scalar())


def device_revoked(conn: Connection, device_id: str) -> bool:
    at = conn.execute(select(devices.c.revoked_at).where(devices.c.id == device_id)).scalar()
    return bool(at)


# -- invites ---------------------------------------------------------------------


def make_invite(conn: Connection, user: auth.User, hours: float) -> tuple[bytes, int]:
    """A new single-use secret for ``user``, valid ``hours``; returns (secret, expiry)."""
    if removed_at(conn, user.id) or not user.active:
        raise StaffError(f"{user.username!r} is not active; enable them first")
    secret = invite_mod.new_secret()
    expires = int(time.time() + hours * 3600)
    conn.execute(
        invites.insert().values(
            secret_hash=invite_mod.secret_hash(secret),
            user_id=user.id,
            created_at=auth.now_iso(),
            expires_at_s=expires,
        )
    )
    _user_event(conn, INVITE_MADE, user, expires_at_s=expires)
    return secret, expires


def invite_user(conn: Connection, secret: bytes, now_s: float) -> auth.User | None:
    """The user an unused, unexpired invite is for (None otherwise); not used up yet."""
    row = conn.execute(
        select(invites.c.user_id, invites.c.expires_at_s, invites.c.used_at).where(
            invites.c.secret_hash == invite_mod.secret_hash(secret)
        )
    ).first()
    if row is None or row.used_at or row.expires_at_s <= now_s:
        return None
    return auth.get_user(conn, row.user_id)


def use_invite(conn: Connection, secret: bytes, device_id: str, now_s: float) -> bool:
    """Mark the invite used by ``device_id`` (True only for the one caller that does)
    and lift the user's enrolment gate."""
    h = invite_mod.secret_hash(secret)
    done = conn.execute(
        update(invites)
        .where(invites.c.secret_hash == h, invites.c.used_at.is_(None))
        .where(invites.c.expires_at_s > int(now_s))
        .values(used_at=auth.now_iso(), used_by_device=device_id)
    ).rowcount
    if done != 1:
        return False
    user_id = conn.execute(select(invites.c.user_id).where(invites.c.secret_hash == h)).scalar()
    conn.execute(update(users).where(users.c.id == user_id).values(enrol_blocked=False))
    security.record_event(conn, INVITE_USED, user_id=user_id or "", device_id=device_id)
    return True


# -- finding a participant ---------------------------------------------------------


@dataclass(frozen=True)
class ParticipantRow:
    id: str
    specialist_id: str
    initials: str  # first letters of first and last name: enough to tell people apart
    deleted: bool


def _initial(value: str | None) -> str:
    text = json.loads(value) if value else ""
    return text.strip()[:1].upper() if isinstance(text, str) and text.strip() else "?"


def list_participants(conn: Connection, specialist_id: str | None = None) -> list[ParticipantRow]:
    """Every participant the server holds (or one specialist's), with initials only."""
    q = (
        select(records.c.record_id, assignments.c.specialist_id)
        .select_from(
            records.join(
                assignments, assignments.c.participant_id == records.c.record_id, isouter=True
            )
        )
        .where(records.c.table_name == "participants")
        .order_by(records.c.record_id)
    )
    if specialist_id is not None:
        q = q.where(assignments.c.specialist_id == specialist_id)
    rows = conn.execute(q).all()
    wanted = ("first_name", "last_name", "deleted")
    fields: dict[str, dict[str, str | None]] = {}
    ids = [r.record_id for r in rows]
    for start in range(0, len(ids), 500):
        for f in conn.execute(
            select(field_state.c.record_id, field_state.c.field, field_state.c.value).where(
                field_state.c.record_id.in_(ids[start : start + 500]),
                field_state.c.field.in_(wanted),
            )
        ):
            fields.setdefault(f.record_id, {})[f.field] = f.value
    out = []
    for r in rows:
        got = fields.get(r.record_id, {})
        initials = _initial(got.get("first_name")) + _initial(got.get("last_name"))
        deleted = bool(json.loads(got["deleted"])) if got.get("deleted") else False
        out.append(ParticipantRow(r.record_id, r.specialist_id or "", initials, deleted))
    return out
