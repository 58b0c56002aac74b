"""Changes kept on this laptop at enrolment, in a compact form (issue 18).

Enrolment keeps back the changes the server would refuse the enrolled role
(app.store.enrolment_plan): a demo supervisor's decisions, billing, other people's
records. They are never sent and stay until the writer dismisses or resends them
(app.store.refused), so a caseload's first sync would otherwise leave thousands
of outbox rows behind, each repeating its reason, stamps, user and value (about
375 bytes). Here:

* ``held_kinds``: what kind of change it is: the table, the field, the reason
  (the words shown) and when it was held: a handful of rows for a whole vault;
* ``held_records``: one row per record with held changes: its id, a small number
  for it, and ``now``, the kinds (``,3,7,``) of its held changes that are the
  field's value now: their stamp is the field's stamp (``field_stamps``) and their
  value the record's, so nothing else is stored for them (most held changes);
* ``held_changes``: the others, (record number, kind, outbox seq) with the stamp
  and, when ``kept`` = 1, the value (``kept`` = 0: the record's value now).

Triggers keep that exact whatever writes the vault: before a record's field
changes (or the record is deleted: an eviction) the held value and stamp are
copied into ``held_changes``, and when a field's stamp moves on without its value
(the same value pulled with a newer stamp) or is removed, the held stamp is. So
what the screens show and what can be resent is exactly what the outbox row held.
Changes the server refused later stay outbox rows with their reason (few, and
the push path owns them).
"""

from __future__ import annotations

from typing import Any

import sqlcipher3

HELD_PREFIX = "kept on this laptop, not sent: "

# A held change that was its field's own value loses that standing when the
# field's stamp moves on or goes: its stamp is copied into held_changes (the value
# is still the record's) and its kind leaves the record's ``now`` list.
_STAMP_GONE = """BEGIN
    INSERT INTO held_changes (record, kind, seq, stamp, value, kept)
        SELECT record, kind, 0, OLD.stamp, NULL, 0 FROM held_listed
        WHERE record_id = OLD.record_id AND field = OLD.field;
    UPDATE held_records SET now = coalesce((SELECT ',' || group_concat(k.id, ',') || ','
        FROM held_kinds k WHERE instr(held_records.now, ',' || k.id || ',') > 0
        AND k.field IS NOT OLD.field), '')
    WHERE record_id = OLD.record_id;
END;
"""

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
    id INTEGER NOT NULL,
    now TEXT NOT NULL DEFAULT ''
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS held_changes (
    record INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    stamp TEXT NOT NULL,
    value ANY,
    kept INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (record, kind, seq)
) STRICT, WITHOUT ROWID;
CREATE VIEW IF NOT EXISTS held_listed AS
    SELECT r.record_id AS record_id, r.id AS record, k.id AS kind, k.field AS field,
        k.table_name AS table_name
    FROM held_records r, json_each('[' || substr(r.now, 2, length(r.now) - 2) || ']') j
    JOIN held_kinds k ON k.id = j.value WHERE r.now != '';
CREATE VIEW IF NOT EXISTS held_now AS
    SELECT l.record_id AS record_id, l.field AS field, l.table_name AS table_name,
        fs.stamp AS stamp
    FROM held_listed l JOIN field_stamps fs ON fs.record_id = l.record_id
        AND fs.field = l.field
    UNION SELECT r.record_id, k.field, k.table_name, fs.stamp FROM held_changes h
    JOIN held_kinds k ON k.id = h.kind JOIN held_records r ON r.id = h.record
    JOIN field_stamps fs ON fs.record_id = r.record_id AND fs.field = k.field
        AND fs.stamp = h.stamp;
CREATE VIEW IF NOT EXISTS held_fields AS
    SELECT record_id, field, table_name FROM held_listed
    UNION SELECT r.record_id, k.field, k.table_name FROM held_changes h
    JOIN held_kinds k ON k.id = h.kind JOIN held_records r ON r.id = h.record;
CREATE TRIGGER IF NOT EXISTS field_stamps_held_upd AFTER UPDATE OF stamp ON field_stamps
WHEN OLD.stamp IS NOT NEW.stamp
    AND EXISTS (SELECT 1 FROM held_records WHERE record_id = OLD.record_id AND now != '')
{stamp_gone}CREATE TRIGGER IF NOT EXISTS field_stamps_held_del AFTER DELETE ON field_stamps
WHEN EXISTS (SELECT 1 FROM held_records WHERE record_id = OLD.record_id AND now != '')
{stamp_gone}""".replace("{stamp_gone}", _STAMP_GONE)

# Every held change: (record number, kind, seq, stamp, table, record id, field,
# kept, value, reason, at, listed in ``now``).
_ENTRIES = (
    "SELECT l.record, l.kind, 0, fs.stamp AS stamp, l.table_name, l.record_id, l.field, 0, "
    "NULL, k.reason, k.at, 1 FROM held_listed l JOIN held_kinds k ON k.id = l.kind "
    "LEFT JOIN field_stamps fs ON fs.record_id = l.record_id AND fs.field = l.field "
    "UNION ALL SELECT h.record, h.kind, h.seq, h.stamp, k.table_name, r.record_id, k.field, "
    "h.kept, h.value, k.reason, k.at, 0 FROM held_changes h JOIN held_kinds k ON k.id = h.kind "
    "JOIN held_records r ON r.id = h.record"
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
    # a listed change (the field's own now) becomes an explicit one
    copy = (
        "INSERT INTO held_changes (record, kind, seq, stamp, value, kept) "
        f"SELECT l.record, l.kind, 0, coalesce(fs.stamp, ''), CASE l.field {old} END, 1 "
        "FROM held_listed l LEFT JOIN field_stamps fs ON fs.record_id = OLD.id "
        "AND fs.field = l.field WHERE l.record_id = OLD.id"
    )
    unlist = (
        "UPDATE held_records SET now = coalesce((SELECT ',' || group_concat(k.id, ',') || ',' "
        "FROM held_kinds k WHERE instr(held_records.now, ',' || k.id || ',') > 0 "
        f"AND NOT CASE k.field {changed} ELSE 0 END), '') WHERE record_id = OLD.id AND now != ''"
    )
    conn.execute(
        f"CREATE TRIGGER {table}_held_upd BEFORE UPDATE ON {table} WHEN {when} BEGIN "
        f"{keep} WHERE kept = 0 AND record = {rec} AND CASE {field} {changed} ELSE 0 END; "
        f"{copy} AND CASE l.field {changed} ELSE 0 END; {unlist}; END"
    )
    conn.execute(
        f"CREATE TRIGGER {table}_held_del BEFORE DELETE ON {table} WHEN {when} BEGIN "
        f"{keep} WHERE kept = 0 AND record = {rec}; {copy}; "
        "UPDATE held_records SET now = '' WHERE record_id = OLD.id; END"
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
    ``HELD_PREFIX``) into the compact form: listed in its record's ``now`` where its
    stamp and value are the field's own now, else in ``held_changes``. Inside the
    caller's transaction. Returns how many."""
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
    listed: dict[str, list[int]] = {}
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
        if found and current == value and type(current) is type(value):
            listed.setdefault(rid, []).append(kinds[key])  # the field's own now
        else:
            out.append((records[rid], kinds[key], seq, stamp, value))
    conn.executemany(
        "INSERT INTO held_changes (record, kind, seq, stamp, value, kept) VALUES (?,?,?,?,?,1)",
        out,
    )
    conn.executemany(
        "UPDATE held_records SET now = CASE now WHEN '' THEN ',' ELSE now END || ? || ',' "
        "WHERE record_id = ?",
        [(",".join(map(str, ks)), rid) for rid, ks in listed.items()],
    )
    conn.executemany("DELETE FROM outbox WHERE seq = ?", [(r[0],) for r in rows])
    for table in {k[0] for k in kinds}:  # triggers for the fields now held
        install(conn, table)
    return len(rows)


def _with_values(conn: sqlcipher3.Connection, rows: list[tuple]) -> list[dict[str, Any]]:
    out = []
    cols: dict[str, set[str]] = {}
    for _rec, _kind, _seq, stamp, table, rid, field, kept, value, reason, at, _listed in rows:
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
    rows = conn.execute(
        f"SELECT * FROM ({_ENTRIES}) ORDER BY stamp DESC, 3 DESC LIMIT ?",
        (-1 if limit is None else max(int(limit), 0),),
    ).fetchall()
    return _with_values(conn, rows)


def count(conn: sqlcipher3.Connection) -> int:
    if not present(conn):
        return 0
    listed = conn.execute(
        "SELECT coalesce(sum(length(now) - length(replace(now, ',', '')) - 1), 0) "
        "FROM held_records WHERE now != ''"
    ).fetchone()[0]
    return int(listed) + int(conn.execute("SELECT count(*) FROM held_changes").fetchone()[0])


def take(conn: sqlcipher3.Connection, stamp: str) -> tuple[str, str, str, Any] | None:
    """Remove the held change with this stamp; its (table, record id, field, value),
    or None when no held change has it. Inside the caller's transaction."""
    if not present(conn):
        return None
    hit = conn.execute(f"SELECT * FROM ({_ENTRIES}) WHERE stamp = ?", (stamp,)).fetchone()
    if hit is None:
        return None
    entry = _with_values(conn, [hit])[0]
    record, kind, seq = hit[:3]
    if hit[11]:  # listed in its record's ``now``
        conn.execute(
            "UPDATE held_records SET now = CASE replace(now, ?1, ',') WHEN ',' THEN '' "
            "ELSE replace(now, ?1, ',') END WHERE record_id = ?2",
            (f",{kind},", entry["record_id"]),
        )
    else:
        conn.execute(
            "DELETE FROM held_changes WHERE record = ? AND kind = ? AND seq = ?",
            (record, kind, seq),
        )
    conn.execute(
        "DELETE FROM held_records WHERE record_id = ? AND now = '' AND NOT EXISTS "
        "(SELECT 1 FROM held_changes WHERE record = ?)",
        (entry["record_id"], record),
    )
    return entry["table"], entry["record_id"], entry["field"], entry["value"]
