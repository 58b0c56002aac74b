"""Refused changes: what the server did not accept, shown until the writer acts.

A change the server refuses stays in the outbox with the server's reason (and a
change enrolment kept on this laptop, with why: app.store.enrolment_plan). It is
never deleted by a sync, an eviction or a clean-up; only the person who wrote it
removes it here, by dismissing it (read, nothing more to do) or by resending it
(write the value into the record again as a new change, when the cause is gone:
say the participant came back to this caseload). Both are audited; the value
itself never goes into the audit log. Changes held at enrolment are kept in the
compact form of app.store.held; they are listed, dismissed and resent here as
before, together with the outbox's refused rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.store import held as held_store
from app.store.db import Store
from app.store.errors import StoreError
from app.store.held import HELD_PREFIX
from sync import rules


@dataclass(frozen=True)
class RefusedChange:
    stamp: str  # the change's id
    table: str
    record_id: str
    field: str
    value: Any  # the full value the person wrote
    reason: str  # the server's words (or why enrolment kept it here)
    at: datetime | None
    held: bool  # kept on this laptop at enrolment, never sent
    record_here: bool  # the record is still in this vault (it can be resent)

    def as_dict(self) -> dict[str, Any]:
        return {
            "stamp": self.stamp,
            "table": self.table,
            "record_id": self.record_id,
            "field": self.field,
            "value": self.value,
            "reason": self.reason,
            "at": self.at.isoformat() if self.at else None,
            "held": self.held,
            "record_here": self.record_here,
        }


def _row_exists(store: Store, table: str, record_id: str) -> bool:
    if table not in rules.TABLES:
        return False
    return (
        store.conn.execute(f"SELECT 1 FROM {table} WHERE id = ?", (record_id,)).fetchone()
        is not None
    )


def _parse(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


#: What both sources give of a refused change, under RefusedChange's names.
_ROW = ("stamp", "table", "record_id", "field", "value", "reason", "at")


def refused_changes(store: Store, limit: int | None = None) -> list[RefusedChange]:
    """Every refused or held change, newest first."""
    rows = [
        dict(zip(_ROW, r, strict=True))
        for r in store.conn.execute(
            "SELECT stamp, table_name, record_id, field, value, rejected_reason, rejected_at "
            "FROM outbox WHERE rejected_reason IS NOT NULL ORDER BY seq DESC"
        ).fetchall()
    ]
    kept = held_store.entries(store.conn, limit)
    if kept:  # both lists are newest first: merge them by stamp
        rows += [{name: e[name] for name in _ROW} for e in kept]
        rows.sort(key=lambda r: r["stamp"] or "", reverse=True)
    if limit is not None:
        rows = rows[: max(int(limit), 0)]
    out = []
    for row in rows:
        row["at"] = _parse(row["at"])
        out.append(
            RefusedChange(
                **row,
                held=row["reason"].startswith(HELD_PREFIX),
                record_here=_row_exists(store, row["table"], row["record_id"]),
            )
        )
    return out


def _take(store: Store, stamp: str) -> tuple[str, str, str, Any]:
    with store.mode("purge"):
        kept = held_store.take(store.conn, stamp)
    if kept is not None:
        return kept
    row = store.conn.execute(
        "SELECT table_name, record_id, field, value FROM outbox "
        "WHERE stamp = ? AND rejected_reason IS NOT NULL",
        (stamp,),
    ).fetchone()
    if row is None:
        raise StoreError("That refused change is no longer waiting here.")
    with store.mode("purge"):
        store.conn.execute("DELETE FROM outbox WHERE stamp = ?", (stamp,))
    return row[0], row[1], row[2], row[3]


def dismiss(store: Store, stamp: str) -> None:
    """The writer has read the refused change and lets it go."""
    with store.transaction():
        table, rid, field, _value = _take(store, stamp)
        store.audit("sync", table, rid, how="refused change dismissed", field=field)


def resend(store: Store, stamp: str) -> None:
    """Write the refused value into the record again, as a new change the next sync
    sends (the server judges it again). Only for a record still in this vault."""
    with store.transaction():
        table, rid, field, value = _take(store, stamp)
        if not _row_exists(store, table, rid) or field not in rules.TABLES.get(table, ()):
            raise StoreError(
                "That record is no longer on this laptop; the change can only be dismissed."
            )
        # The record holds the server's value again (or, for a record the server
        # never had, this value): write it and queue it as a new change.
        with store.mode("remote"):
            store.conn.execute(f'UPDATE {table} SET "{field}" = ? WHERE id = ?', (value, rid))
        store.conn.execute(
            "INSERT INTO outbox (stamp, table_name, record_id, field, value, base_stamp, "
            "user_id) VALUES (pt_stamp(), ?, ?, ?, ?, (SELECT stamp FROM field_stamps "
            "WHERE record_id = ? AND field = ?), pt_user())",
            (table, rid, field, value, rid, field),
        )
        store.audit("sync", table, rid, how="refused change resent", field=field)
