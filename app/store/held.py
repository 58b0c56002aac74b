"""Changes kept on this laptop at enrolment, in a compact form (issue 18).

Enrolment keeps back the changes the server would refuse the enrolled role
(app.store.enrolment_plan): a demo supervisor's decisions, billing, other people's
records. They are never sent and stay until the writer dismisses or resends them
(app.store.refused), so a caseload's first sync would otherwise leave thousands
of outbox rows behind, each repeating its reason, stamps, user and value (about
375 bytes). Here a held change is:

* ``held_kinds``: what kind of change it is: the table, the field, the reason
  (the words shown) and when it was held: a handful of rows for a whole vault;
* ``held_records``: a small number for each record with held changes (its id is
  written once, not once per change);
* ``held_changes``: (record, kind, outbox seq) and, only when they are not the
  field's own, the stamp and the value. ``stamp`` NULL means the stamp the field
  holds now (``field_stamps``); ``kept`` 0 means the value the record holds now.

Triggers keep that true whatever writes the vault: before a record's field
changes (or the record is deleted: an eviction) the held value is copied in
(``kept`` = 1), and when a field's stamp moves on (an edit, a pulled value) or is
removed, the held stamp is copied in. So what the screens show and what can be
resent is exactly what the outbox row held. Changes the server refused later stay
outbox rows with their reason (few, and the push path owns them).
"""

from __future__ import annotations

from typing import Any

import sqlcipher3

HELD_PREFIX = "kept on this laptop, not sent: "

SCHEMA = """
CREATE TABLE IF NOT EXISTS held_kinds (
    id INTEGER PRIMARY KEY,
    table_name TEXT NOT NULL,
    field TEXT NOT NULL,
    reason TEXT NOT NULL,
    at TEXT NOT NULL DEFAULT '',
    UNIQUE (table_name, field, reason, at)
) STRICT;
CREATE TABLE IF NOT EXISTS held_records (
    record_id TEXT PRIMARY KEY NOT NULL,
    id INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS held_changes (
    record INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    stamp TEXT,
    value ANY,
    kept INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (record, kind, seq)
) STRICT, WITHOUT ROWID;
CREATE VIEW IF NOT EXISTS held_now AS
    SELECT r.record_id AS record_id, k.field AS field, k.table_name AS table_name
    FROM held_changes h JOIN held_records r ON r.id = h.record
    JOIN held_kinds k ON k.id = h.kind WHERE h.stamp IS NULL;
CREATE TRIGGER IF NOT EXISTS field_stamps_held_upd AFTER UPDATE OF stamp ON field_stamps
WHEN OLD.stamp IS NOT NEW.stamp
    AND EXISTS (SELECT 1 FROM held_records WHERE record_id = OLD.record_id)
BEGIN
    UPDATE held_changes SET stamp = OLD.stamp
    WHERE stamp IS NULL
        AND record = (SELECT id FROM held_records WHERE record_id = OLD.record_id)
        AND kind IN (SELECT id FROM held_kinds WHERE field = OLD.field);
END;
CREATE TRIGGER IF NOT EXISTS field_stamps_held_del AFTER DELETE ON field_stamps
WHEN EXISTS (SELECT 1 FROM held_records WHERE record_id = OLD.record_id)
BEGIN
    UPDATE held_changes SET stamp = OLD.stamp
    WHERE stamp IS NULL
        AND record = (SELECT id FROM held_records WHERE record_id = OLD.record_id)
        AND kind IN (SELECT id FROM held_kinds WHERE field = OLD.field);
END;
"""

# The held entries with their table, record, field, reason and the stamp they
# stand for (explicit, or the field's own now).
_ENTRIES = (
    "SELECT h.record, h.kind, h.seq, coalesce(h.stamp, fs.stamp), k.table_name, r.record_id, "
    "k.field, h.kept, h.value, k.reason, k.at FROM held_changes h "
    "JOIN held_kinds k ON k.id = h.kind JOIN held_records r ON r.id = h.record "
    "LEFT JOIN field_stamps fs ON h.stamp IS NULL AND fs.record_id = r.record_id "
    "AND fs.field = k.field"
)


def present(conn: sqlcipher3.Connection) -> bool:
    """The vault has the held tables (schema with the compact form)."""
    return (
        conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'held_changes'"
        ).fetchone()
        is not None
    )


def _columns(conn: sqlcipher3.Connection, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})") if r[1] != "id"]


def drop(conn: sqlcipher3.Connection, table: str) -> None:
    for suffix in ("held_upd", "held_del"):
        conn.execute(f"DROP TRIGGER IF EXISTS {table}_{suffix}")


def install(conn: sqlcipher3.Connection, table: str) -> None:
    """(Re)create a record table's triggers that copy a held value in before the
    record's field changes or the record goes, for the fields of this table that
    have held kinds (none: no triggers, and nothing to pay on its writes).
    ``compact`` calls this for every table it holds changes of, and
    capture.install (once the held tables exist) when it rebuilds a table's triggers."""
    drop(conn, table)
    kinds = {
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT field FROM held_kinds WHERE table_name = ?", (table,)
        )
    }
    cols = [c for c in _columns(conn, table) if c in kinds]
    if not cols:
        return
    field = "(SELECT field FROM held_kinds WHERE id = held_changes.kind)"
    old = " ".join(f"WHEN '{c}' THEN OLD.\"{c}\"" for c in cols)
    changed = " ".join(f'WHEN \'{c}\' THEN OLD."{c}" IS NOT NEW."{c}"' for c in cols)
    rec = "(SELECT id FROM held_records WHERE record_id = OLD.id)"
    when = "EXISTS (SELECT 1 FROM held_records WHERE record_id = OLD.id)"
    keep = f"UPDATE held_changes SET kept = 1, value = CASE {field} {old} END"
    conn.execute(
        f"CREATE TRIGGER {table}_held_upd BEFORE UPDATE ON {table} WHEN {when} BEGIN "
        f"{keep} WHERE kept = 0 AND record = {rec} AND CASE {field} {changed} ELSE 0 END; END"
    )
    conn.execute(
        f"CREATE TRIGGER {table}_held_del BEFORE DELETE ON {table} WHEN {when} BEGIN "
        f"{keep} WHERE kept = 0 AND record = {rec}; END"
    )


def create(conn: sqlcipher3.Connection) -> None:
    """The held tables, the view and the triggers (inside the caller's transaction;
    record tables are those with capture triggers)."""
    buf = ""
    for line in SCHEMA.splitlines(keepends=True):
        buf += line
        if sqlcipher3.complete_statement(buf):
            conn.execute(buf)
            buf = ""
    for (name,) in conn.execute(
        "SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%_cap_upd'"
    ).fetchall():
        install(conn, name)


def _record_value(
    conn: sqlcipher3.Connection, table: str, rid: str, field: str, cols: dict | None = None
) -> tuple[bool, Any]:
    """(found, the value the record holds now in ``field``)."""
    cols = {} if cols is None else cols
    if table not in cols:
        cols[table] = set(_columns(conn, table))
    if field not in cols[table]:
        return False, None
    row = conn.execute(f'SELECT "{field}" FROM {table} WHERE id = ?', (rid,)).fetchone()
    return (True, row[0]) if row else (False, None)


def compact(conn: sqlcipher3.Connection) -> int:
    """Move every held change waiting in the outbox (reason starting with
    ``HELD_PREFIX``) into the compact form; the stamp and value are left out where
    they are the field's own now. Inside the caller's transaction. Returns how many."""
    rows = conn.execute(
        "SELECT o.seq, o.stamp, o.table_name, o.record_id, o.field, o.value, "
        "o.rejected_reason, coalesce(o.rejected_at, ''), fs.stamp FROM outbox o "
        "LEFT JOIN field_stamps fs ON fs.record_id = o.record_id AND fs.field = o.field "
        "WHERE substr(o.rejected_reason, 1, ?) = ? ORDER BY o.seq",
        (len(HELD_PREFIX), HELD_PREFIX),
    ).fetchall()
    if not rows:
        return 0
    kinds: dict[tuple[str, str, str, str], int] = {}
    records: dict[str, int] = dict(conn.execute("SELECT record_id, id FROM held_records"))
    next_id = max(records.values(), default=0) + 1
    out = []
    cols: dict[str, set[str]] = {}
    for seq, stamp, table, rid, field, value, reason, at, now_stamp in rows:
        key = (table, field, reason, at)
        if key not in kinds:
            conn.execute(
                "INSERT OR IGNORE INTO held_kinds (table_name, field, reason, at) VALUES (?,?,?,?)",
                key,
            )
            kinds[key] = conn.execute(
                "SELECT id FROM held_kinds WHERE table_name = ? AND field = ? AND reason = ? "
                "AND at = ?",
                key,
            ).fetchone()[0]
        if rid not in records:
            conn.execute("INSERT INTO held_records (record_id, id) VALUES (?, ?)", (rid, next_id))
            records[rid], next_id = next_id, next_id + 1
        own = now_stamp == stamp
        found, current = _record_value(conn, table, rid, field, cols) if own else (False, None)
        implied = found and (current == value and type(current) is type(value))
        out.append(
            (records[rid], kinds[key], seq, None if own else stamp,
             None if implied else value, 0 if implied else 1)
        )  # fmt: skip
    conn.executemany(
        "INSERT INTO held_changes (record, kind, seq, stamp, value, kept) VALUES (?,?,?,?,?,?)",
        out,
    )
    conn.executemany("DELETE FROM outbox WHERE seq = ?", [(r[0],) for r in rows])
    for table in {k[0] for k in kinds}:  # triggers for the fields now held
        install(conn, table)
    return len(rows)


def _with_values(conn: sqlcipher3.Connection, rows: list[tuple]) -> list[dict[str, Any]]:
    out = []
    cols: dict[str, set[str]] = {}
    for _rec, _kind, _seq, stamp, table, rid, field, kept, value, reason, at in rows:
        if not kept:
            value = _record_value(conn, table, rid, field, cols)[1]
        out.append(
            {"stamp": stamp, "table": table, "record_id": rid, "field": field,
             "reason": reason, "at": at or None, "value": value}
        )  # fmt: skip
    return out


def entries(conn: sqlcipher3.Connection, limit: int | None = None) -> list[dict[str, Any]]:
    """The held changes (the newest ``limit``, or all) as replica.rejected shows
    them (stamp, table, record_id, field, reason, at, value), newest first; [] before
    the held tables exist."""
    if not present(conn):
        return []
    rows = conn.execute(_ENTRIES).fetchall()
    rows.sort(key=lambda r: (r[3] or "", r[2]), reverse=True)
    if limit is not None:
        rows = rows[: max(int(limit), 0)]
    return _with_values(conn, rows)


def count(conn: sqlcipher3.Connection) -> int:
    if not present(conn):
        return 0
    return int(conn.execute("SELECT count(*) FROM held_changes").fetchone()[0])


def take(conn: sqlcipher3.Connection, stamp: str) -> tuple[str, str, str, Any] | None:
    """Remove the held change with this stamp; its (table, record id, field, value),
    or None when no held change has it. Inside the caller's transaction."""
    if not present(conn):
        return None
    found = conn.execute(f"{_ENTRIES} WHERE coalesce(h.stamp, fs.stamp) = ?", (stamp,)).fetchall()
    if not found:
        return None
    hit = found[0]
    entry = _with_values(conn, [hit])[0]
    conn.execute("DELETE FROM held_changes WHERE record = ? AND kind = ? AND seq = ?", hit[:3])
    conn.execute(
        "DELETE FROM held_records WHERE record_id = ? AND NOT EXISTS "
        "(SELECT 1 FROM held_changes WHERE record = ?)",
        (entry["record_id"], hit[0]),
    )
    return entry["table"], entry["record_id"], entry["field"], entry["value"]
