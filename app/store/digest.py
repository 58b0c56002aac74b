"""Counts and a state digest of a vault's logical content.

The digest is a SHA-256 over every record of every type, in id order, as
canonical JSON of its field values. It leaves out everything local to one
device (outbox, field stamps, audit log, meta), so two vaults that hold the same
records have the same digest, whichever device wrote them and in what order.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from app.domain.records import RECORD_TYPES
from app.store.codec import codec
from app.store.db import Store


def state_digest(store: Store) -> str:
    h = hashlib.sha256()
    for cls in sorted(RECORD_TYPES, key=lambda c: c.TABLE):
        c = codec(cls)
        cols = ", ".join(f'"{n}"' for n in c.names)
        h.update(f"\x1e{cls.TABLE}\x1f{','.join(c.names)}".encode())
        for row in store.conn.execute(f"SELECT {cols} FROM {cls.TABLE} ORDER BY id"):
            h.update(json.dumps(row, separators=(",", ":"), ensure_ascii=False).encode())
            h.update(b"\n")
    return h.hexdigest()


def counts(store: Store) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for cls in RECORD_TYPES:
        live, deleted = store.conn.execute(
            f"SELECT count(*) - coalesce(sum(deleted), 0), coalesce(sum(deleted), 0) "
            f"FROM {cls.TABLE}"
        ).fetchone()
        out[cls.TABLE] = {"records": int(live), "deleted": int(deleted)}
    return out


def status(store: Store) -> dict[str, Any]:
    pending, total = store.conn.execute(
        "SELECT count(*) FILTER (WHERE acked_at IS NULL), count(*) FROM outbox"
    ).fetchone()
    return {
        "schema_version": store.schema_version,
        "device_id": store.device_id,
        "counts": counts(store),
        "outbox": {"pending": int(pending), "total": int(total)},
        "audit_entries": int(store.conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]),
        "state_digest": state_digest(store),
    }
