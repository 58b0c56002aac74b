"""The audit log: who created, changed, signed, viewed, exported or synced what, when.

Entries are append-only (triggers refuse UPDATE and DELETE) and hash-chained:
each entry's hash covers its own content and the previous entry's hash, so an
edited, removed or reordered entry breaks the chain at that point and
:func:`verify` names it. Entries hold record ids and field names, never values.
The chain's head (:func:`head`) goes to the server with every sync, which keeps
it per device, so a chain rewritten or cut short with the key is noticed there.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlcipher3

GENESIS = "0" * 64
ACTIONS = frozenset(
    {
        "create",
        "change",
        "delete",
        "sign",
        "review",
        "addendum",
        "view",
        "export",
        "import",
        "sync",
        "backup",
        "restore",
        "passphrase",
        "unlock",
        "merge",
    }
)


def _entry_hash(prev_hash: str, fields: tuple[Any, ...]) -> str:
    blob = json.dumps([prev_hash, *fields], separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def append(
    conn: sqlcipher3.Connection,
    *,
    at: datetime,
    user_id: str,
    device_id: str,
    action: str,
    record_type: str = "",
    record_id: str = "",
    detail: dict[str, Any] | None = None,
) -> str:
    """Append one entry inside the caller's transaction; returns its id."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action}")
    row = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
    entry_id = str(uuid.uuid4())
    detail_json = json.dumps(detail or {}, separators=(",", ":"), sort_keys=True, default=str)
    fields = (
        seq,
        entry_id,
        at.isoformat(),
        user_id,
        device_id,
        action,
        record_type,
        record_id,
        detail_json,
    )
    h = _entry_hash(prev, fields)
    conn.execute(
        "INSERT INTO audit_log (seq, id, at, user_id, device_id, action, record_type, "
        "record_id, detail, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (*fields, prev, h),
    )
    return entry_id


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str


def verify(conn: sqlcipher3.Connection) -> list[ChainBreak]:
    """Walk the chain; an empty list means it is intact."""
    breaks: list[ChainBreak] = []
    prev = GENESIS
    expected_seq = 1
    for row in conn.execute(
        "SELECT seq, id, at, user_id, device_id, action, record_type, record_id, detail, "
        "prev_hash, hash FROM audit_log ORDER BY seq"
    ):
        seq = row[0]
        if seq != expected_seq:
            breaks.append(ChainBreak(expected_seq, "entries are missing before this one"))
        if row[9] != prev:
            breaks.append(ChainBreak(seq, "does not follow the entry before it"))
        if _entry_hash(row[9], tuple(row[:9])) != row[10]:
            breaks.append(ChainBreak(seq, "was modified after it was written"))
        prev = row[10]
        expected_seq = seq + 1
    return breaks


def trail(conn: sqlcipher3.Connection, record_id: str) -> list[dict[str, Any]]:
    """Every entry about one record, oldest first."""
    cur = conn.execute(
        "SELECT at, user_id, device_id, action, record_type, detail FROM audit_log "
        "WHERE record_id = ? ORDER BY seq",
        (record_id,),
    )
    return [
        {
            "at": r[0],
            "user_id": r[1],
            "device_id": r[2],
            "action": r[3],
            "record_type": r[4],
            "detail": json.loads(r[5]),
        }
        for r in cur
    ]


def head(conn: sqlcipher3.Connection, proofs_at: Iterable[int] = ()) -> dict[str, Any]:
    """The chain's head as sync sends it (sync.protocol.AuditHead): its length, the
    hash of its last entry (GENESIS when empty), and the stored hashes of the
    entries at ``proofs_at`` (those the chain still has, below its length)."""
    row = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    length, last = (int(row[0]), row[1]) if row else (0, GENESIS)
    wanted = sorted({int(n) for n in proofs_at if 0 < int(n) < length})
    proofs = []
    for n in wanted:
        found = conn.execute("SELECT hash FROM audit_log WHERE seq = ?", (n,)).fetchone()
        if found:
            proofs.append({"length": n, "hash": found[0]})
    return {"length": length, "hash": last, "proofs": proofs}
