"""Security events an administrator must see, and each device's audit-chain anchor.

Events (``security_events``): account lockouts and unlocks, and audit-chain
alarms. They hold usernames, ids and counts, never record content.

Audit anchors: every sync may carry the head of the laptop's hash-chained audit
log (its length and the hash of its last entry) and the hashes of the entries at
the lengths the laptop last sent (``AuditHead.proofs``). The server keeps one
anchor ``(length, hash)`` per device. A later head extends it when it is at least
as long and the laptop's entry at the anchored length has the anchored hash; a
shorter head is a truncated chain, a different hash a rewritten one, and a head
with no entry at the anchored length an unproven one. Each is recorded as an
alarm (the anchor is kept, so the alarm repeats until an administrator looks)
and told to the laptop in the sync reply. Only a head that extends the anchor
moves it forward.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.engine import Connection

from sync.server.tables import audit_anchors
from sync.server.tables import security_events

LOCKOUT, UNLOCK, AUDIT_ALARM, AUDIT_ACCEPT = "lockout", "unlock", "audit_alarm", "audit_accept"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def insert_if_missing(conn: Connection, table: Table, values: dict[str, Any], key: str) -> bool:
    """Insert the row unless one with the same ``key`` exists; True when inserted.
    One statement, so requests racing to make the same row do not collide."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    made = conn.execute(
        dialect_insert(table).values(**values).on_conflict_do_nothing(index_elements=[key])
    )
    return made.rowcount == 1


def record_event(
    conn: Connection,
    kind: str,
    *,
    username: str = "",
    user_id: str = "",
    device_id: str = "",
    **detail: Any,
) -> None:
    conn.execute(
        insert(security_events).values(
            at=_now(),
            kind=kind,
            username=username[:64],
            user_id=user_id[:64],
            device_id=device_id[:32],
            detail=json.dumps(detail, sort_keys=True, separators=(",", ":")),
        )
    )


@dataclass(frozen=True)
class Event:
    id: int
    at: str
    kind: str
    username: str
    user_id: str
    device_id: str
    detail: dict[str, Any]


def list_events(conn: Connection, kind: str | None = None, limit: int = 1000) -> list[Event]:
    q = select(security_events).order_by(security_events.c.id.desc()).limit(limit)
    if kind:
        q = q.where(security_events.c.kind == kind)
    rows = conn.execute(q).all()
    return [
        Event(r.id, r.at, r.kind, r.username, r.user_id, r.device_id, json.loads(r.detail or "{}"))
        for r in reversed(rows)
    ]


# -- audit anchors -------------------------------------------------------------------


@dataclass(frozen=True)
class AnchorResult:
    """What the server made of a device's audit head: ``ok`` when it extends the
    anchor (or is the first), else ``problem`` is 'truncated', 'rewritten' or
    'unproven'. ``length``/``hash`` are the anchor kept afterwards."""

    ok: bool
    problem: str
    length: int
    hash: str


def check_audit_head(
    conn: Connection,
    *,
    device_id: str,
    user_id: str,
    length: int,
    head_hash: str,
    proofs: dict[int, str],
) -> AnchorResult:
    """Compare a pushed audit head with this device's anchor and move the anchor
    forward when the head extends it; record an alarm when it does not."""
    first = {"device_id": device_id, "length": length, "hash": head_hash, "at": _now()}
    if insert_if_missing(conn, audit_anchors, first, "device_id"):
        return AnchorResult(True, "", length, head_hash)  # the first head: its start
    row = conn.execute(
        select(audit_anchors.c.length, audit_anchors.c.hash)
        .where(audit_anchors.c.device_id == device_id)
        .with_for_update()
    ).one()
    anchored_len, anchored_hash = int(row.length), row.hash
    at_anchor = head_hash if length == anchored_len else proofs.get(anchored_len)
    if length < anchored_len:
        problem = "truncated"
    elif at_anchor is None:
        problem = "unproven"
    elif at_anchor != anchored_hash:
        problem = "rewritten"
    else:
        problem = ""
    if problem:
        record_event(
            conn,
            AUDIT_ALARM,
            user_id=user_id,
            device_id=device_id,
            problem=problem,
            anchored_length=anchored_len,
            sent_length=length,
        )
        return AnchorResult(False, problem, anchored_len, anchored_hash)
    if length > anchored_len:
        conn.execute(
            update(audit_anchors)
            .where(audit_anchors.c.device_id == device_id)
            .values(length=length, hash=head_hash, at=_now())
        )
    return AnchorResult(True, "", length, head_hash)


def forget_anchor(conn: Connection, device_id: str) -> bool:
    """An administrator accepted a device's audit alarm: drop its anchor (the next
    sync anchors the chain it has then) and record that as an event."""
    row = conn.execute(
        select(audit_anchors.c.length).where(audit_anchors.c.device_id == device_id)
    ).first()
    if row is None:
        return False
    conn.execute(delete(audit_anchors).where(audit_anchors.c.device_id == device_id))
    record_event(conn, AUDIT_ACCEPT, device_id=device_id, anchored_length=int(row.length))
    return True
