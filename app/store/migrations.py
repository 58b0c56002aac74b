"""Numbered schema migrations for the vault database.

Each migration runs in its own transaction and sets ``PRAGMA user_version``; an
encrypted backup of the database is taken before an existing vault is migrated.
A database newer than this program is refused, never touched. Migrations are
frozen once released: a change to the schema is a new migration, never an edit of
an old one (tests/test_migrations.py upgrades vault files saved at every version).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from pathlib import Path

import sqlcipher3

from app.store import capture
from app.store import held
from app.store.errors import VaultTooNew
from app.store.migrations_v1 import RECORD_TABLES_V1
from app.store.migrations_v1 import V1_RECORDS
from app.store.migrations_v1 import V1_SUPPORT


def _v1(conn: sqlcipher3.Connection) -> None:
    _script(conn, V1_RECORDS)
    _script(conn, V1_SUPPORT)
    for table in RECORD_TABLES_V1:
        capture.install(conn, table)


FTS_SPECS = {
    "participants_fts": (
        "participants",
        ("first_name", "last_name", "preferred_name", "medicaid_id", "county", "program"),
    ),
    "encounters_fts": (
        "encounters",
        ("goal_text", "intervention", "response", "plan", "data", "assessment", "location_note"),
    ),
}


def _v2(conn: sqlcipher3.Connection) -> None:
    """Full-text search over participants and notes (FTS5, external content)."""
    for fts, (table, cols) in FTS_SPECS.items():
        collist = ", ".join(cols)
        new_vals = ", ".join(f"NEW.{c}" for c in cols)
        old_vals = ", ".join(f"OLD.{c}" for c in cols)
        _script(
            conn,
            f"""
            CREATE VIRTUAL TABLE {fts} USING fts5(
                {collist}, content='{table}', content_rowid='rowid',
                tokenize='unicode61 remove_diacritics 2', prefix='2 3'
            );
            CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN
                INSERT INTO {fts}(rowid, {collist}) VALUES (NEW.rowid, {new_vals});
            END;
            CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN
                INSERT INTO {fts}({fts}, rowid, {collist}) VALUES ('delete', OLD.rowid, {old_vals});
            END;
            CREATE TRIGGER {fts}_au AFTER UPDATE OF {collist} ON {table} BEGIN
                INSERT INTO {fts}({fts}, rowid, {collist}) VALUES ('delete', OLD.rowid, {old_vals});
                INSERT INTO {fts}(rowid, {collist}) VALUES (NEW.rowid, {new_vals});
            END;
            INSERT INTO {fts}({fts}) VALUES ('rebuild');
            """,
        )


V3_SYNC = """
    CREATE TABLE conflicts (
        id TEXT PRIMARY KEY NOT NULL,
        "deleted" INTEGER NOT NULL DEFAULT 0,
        "table_name" TEXT NOT NULL DEFAULT '',
        "target_id" TEXT NOT NULL DEFAULT '',
        "field" TEXT NOT NULL DEFAULT '',
        "participant_id" TEXT NOT NULL DEFAULT '',
        "owner_id" TEXT NOT NULL DEFAULT '',
        "kind" TEXT NOT NULL DEFAULT 'log',
        "kept_value" TEXT NOT NULL DEFAULT '',
        "kept_stamp" TEXT NOT NULL DEFAULT '',
        "lost_value" TEXT NOT NULL DEFAULT '',
        "lost_stamp" TEXT NOT NULL DEFAULT '',
        "lost_by_id" TEXT NOT NULL DEFAULT '',
        "detected_at" TEXT NOT NULL DEFAULT '',
        "status" TEXT NOT NULL DEFAULT 'open',
        "resolved_by_id" TEXT NOT NULL DEFAULT '',
        "resolved_at" TEXT NOT NULL DEFAULT '',
        "resolution" TEXT NOT NULL DEFAULT ''
    ) STRICT;
    CREATE INDEX conflicts_open ON conflicts(status, target_id);

    -- A change the server refused keeps its row, with the reason, to be shown.
    ALTER TABLE outbox ADD COLUMN rejected_reason TEXT;
    ALTER TABLE outbox ADD COLUMN rejected_at TEXT;
    DROP INDEX outbox_pending;
    CREATE INDEX outbox_pending ON outbox(seq) WHERE acked_at IS NULL AND rejected_reason IS NULL;
"""


def _v3(conn: sqlcipher3.Connection) -> None:
    """Sync: the conflicts kept by merge, and refused changes in the outbox."""
    _script(conn, V3_SYNC)
    capture.install(conn, "conflicts")


def _v4(conn: sqlcipher3.Connection) -> None:
    """Capture sends a new record's fields only where they differ from the column
    defaults (a fifth of a new participant's changes were defaults)."""
    for table in (*RECORD_TABLES_V1, "conflicts"):
        capture.install(conn, table)


V5_BILLING = """
    ALTER TABLE payers ADD COLUMN "receiver_id" TEXT NOT NULL DEFAULT '';
    ALTER TABLE payers ADD COLUMN "receiver_name" TEXT NOT NULL DEFAULT '';
    ALTER TABLE payers ADD COLUMN "allowed_modifiers" TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE payers ADD COLUMN "claim_grouping" TEXT NOT NULL DEFAULT 'participant-day';
    ALTER TABLE payers ADD COLUMN "claim_filing_code" TEXT NOT NULL DEFAULT 'MC';
    ALTER TABLE payers ADD COLUMN "usage_indicator" TEXT NOT NULL DEFAULT 'T';

    CREATE TABLE billing_providers (
        id TEXT PRIMARY KEY NOT NULL,
        "deleted" INTEGER NOT NULL DEFAULT 0,
        "name" TEXT NOT NULL DEFAULT '',
        "npi" TEXT NOT NULL DEFAULT '',
        "tax_id" TEXT NOT NULL DEFAULT '',
        "taxonomy" TEXT NOT NULL DEFAULT '175T00000X',
        "address_line1" TEXT NOT NULL DEFAULT '',
        "address_line2" TEXT NOT NULL DEFAULT '',
        "city" TEXT NOT NULL DEFAULT '',
        "state" TEXT NOT NULL DEFAULT '',
        "zip_code" TEXT NOT NULL DEFAULT '',
        "contact_name" TEXT NOT NULL DEFAULT '',
        "contact_phone" TEXT NOT NULL DEFAULT '',
        "submitter_id" TEXT NOT NULL DEFAULT ''
    ) STRICT;

    CREATE TABLE billing_batches (
        id TEXT PRIMARY KEY NOT NULL,
        "deleted" INTEGER NOT NULL DEFAULT 0,
        "payer_id" TEXT NOT NULL DEFAULT '',
        "period_from" TEXT,
        "period_to" TEXT,
        "interchange_control" INTEGER NOT NULL DEFAULT 0,
        "files" TEXT NOT NULL DEFAULT '[]',
        "file_hashes" TEXT NOT NULL DEFAULT '[]',
        "encounter_ids" TEXT NOT NULL DEFAULT '[]',
        "claim_count" INTEGER NOT NULL DEFAULT 0,
        "line_count" INTEGER NOT NULL DEFAULT 0,
        "unit_count" INTEGER NOT NULL DEFAULT 0,
        "total_cents" INTEGER NOT NULL DEFAULT 0,
        "created_by_id" TEXT NOT NULL DEFAULT '',
        "created_at" TEXT,
        "status" TEXT NOT NULL DEFAULT 'exported',
        "voided_by_id" TEXT NOT NULL DEFAULT '',
        "voided_at" TEXT,
        "void_reason" TEXT NOT NULL DEFAULT ''
    ) STRICT;
    CREATE INDEX billing_batches_by_payer ON billing_batches(payer_id, created_at);
    CREATE INDEX encounters_by_batch ON encounters(billing_batch_id) WHERE billing_batch_id != '';
"""


def _v5(conn: sqlcipher3.Connection) -> None:
    """Billing: payer fields for the 837P (receiver, modifiers, claim grouping, filing
    code, test/production), the billing provider and export batches; capture
    triggers regenerated for every record table (an update's changes are captured
    by one statement)."""
    _script(conn, V5_BILLING)
    for table in (*RECORD_TABLES_V1, "conflicts", "billing_providers", "billing_batches"):
        capture.install(conn, table)


def _v6(conn: sqlcipher3.Connection) -> None:
    """Changes the server refused are found by an index, not by reading the whole
    outbox (the status bar counts them at every unlock: 0.64 s on a five-year vault
    with 1.2 million outbox rows, now a few microseconds)."""
    conn.execute("CREATE INDEX outbox_rejected ON outbox(seq) WHERE rejected_reason IS NOT NULL")


V7_DIGEST_SUMS = """
    CREATE TABLE digest_sums (
        table_name TEXT PRIMARY KEY NOT NULL,
        n INTEGER NOT NULL,
        h INTEGER NOT NULL
    ) STRICT;
    INSERT INTO digest_sums (table_name, n, h)
        SELECT table_name, count(*), sum(pt_h(record_id, field, stamp))
        FROM field_stamps GROUP BY table_name;
    CREATE TRIGGER field_stamps_sum_ins AFTER INSERT ON field_stamps BEGIN
        INSERT INTO digest_sums (table_name, n, h)
        VALUES (NEW.table_name, 1, pt_h(NEW.record_id, NEW.field, NEW.stamp))
        ON CONFLICT (table_name) DO UPDATE SET n = n + 1, h = h + excluded.h;
    END;
    CREATE TRIGGER field_stamps_sum_upd AFTER UPDATE ON field_stamps
    WHEN OLD.stamp IS NOT NEW.stamp OR OLD.record_id IS NOT NEW.record_id
        OR OLD.field IS NOT NEW.field BEGIN
        UPDATE digest_sums SET n = n - 1, h = h - pt_h(OLD.record_id, OLD.field, OLD.stamp)
        WHERE table_name = OLD.table_name;
        INSERT INTO digest_sums (table_name, n, h)
        VALUES (NEW.table_name, 1, pt_h(NEW.record_id, NEW.field, NEW.stamp))
        ON CONFLICT (table_name) DO UPDATE SET n = n + 1, h = h + excluded.h;
    END;
    CREATE TRIGGER field_stamps_sum_del AFTER DELETE ON field_stamps BEGIN
        UPDATE digest_sums SET n = n - 1, h = h - pt_h(OLD.record_id, OLD.field, OLD.stamp)
        WHERE table_name = OLD.table_name;
    END;
"""


def _v7(conn: sqlcipher3.Connection) -> None:
    """The end-of-sync scope digest's running sums (sync/digests.py): per record
    type, the number of field stamps and the sum of their hashes, kept by triggers
    on ``field_stamps``, so the check after every sync reads a few rows instead of
    every field (0.9 s on a million fields)."""
    _script(conn, V7_DIGEST_SUMS)


V8_BILLING_SETUP = """
    ALTER TABLE users ADD COLUMN "first_name" TEXT NOT NULL DEFAULT '';
    ALTER TABLE users ADD COLUMN "last_name" TEXT NOT NULL DEFAULT '';
    ALTER TABLE users ADD COLUMN "taxonomy" TEXT NOT NULL DEFAULT '';
    ALTER TABLE payers ADD COLUMN "unit_basis" TEXT NOT NULL DEFAULT '';
    ALTER TABLE payers ADD COLUMN "telehealth_places" TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE payers ADD COLUMN "video_modifiers" TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE payers ADD COLUMN "audio_modifiers" TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE participants ADD COLUMN "address_line1" TEXT NOT NULL DEFAULT '';
    ALTER TABLE participants ADD COLUMN "address_line2" TEXT NOT NULL DEFAULT '';
    ALTER TABLE participants ADD COLUMN "city" TEXT NOT NULL DEFAULT '';
    ALTER TABLE participants ADD COLUMN "zip_code" TEXT NOT NULL DEFAULT '';
    ALTER TABLE participants ADD COLUMN "administrative_sex" TEXT NOT NULL DEFAULT '';
    ALTER TABLE billing_providers ADD COLUMN "time_zone" TEXT NOT NULL DEFAULT '';
    ALTER TABLE billing_providers ADD COLUMN "submitter_name" TEXT NOT NULL DEFAULT '';
"""

# A frozen copy (schema 8) of app.domain.address.parse_one_line's rule:
# "street[, second line], city, ST 12345[-6789]".
_V8_LAST_PART = re.compile(r"^([A-Za-z]{2})\s+([0-9]{5})(?:-?([0-9]{4}))?\Z")


def _v8_parse(text: str) -> tuple[str, str, str, str, str] | None:
    parts = [" ".join(p.split()) for p in text.split(",")]
    if len(parts) not in (3, 4) or not all(parts):
        return None
    m = _V8_LAST_PART.match(parts[-1])
    if m is None:
        return None
    zip_code = m[2] + (f"-{m[3]}" if m[3] else "")
    return parts[0], parts[1] if len(parts) == 4 else "", parts[-2], m[1].upper(), zip_code


def _v8(conn: sqlcipher3.Connection) -> None:
    """Billing set-up: specialists' first and last name and taxonomy; payers' unit
    basis and telehealth rules; participants' address in parts and administrative
    sex; the agency's time zone and submitter name.

    A participant's free-text address that reads cleanly as "street[, line 2],
    city, ST ZIP" (and names the same state as the record, or the record has none)
    fills the new parts; the free text stays as it was. The parts are filled on this
    device only (not sent: every device derives the same from the same text, and a
    sync that changes the text later finds the parts as a person left them)."""
    _script(conn, V8_BILLING_SETUP)
    capture.drop(conn, "participants")  # the guards refuse writes outside the store
    rows = conn.execute(
        "SELECT id, address, state FROM participants WHERE address != '' AND address_line1 = ''"
    ).fetchall()
    for pid, address, state in rows:
        parsed = _v8_parse(address)
        if parsed is None or state.strip().upper() not in ("", parsed[3]):
            continue
        line1, line2, city, st, zip_code = parsed
        conn.execute(
            'UPDATE participants SET "address_line1" = ?, "address_line2" = ?, "city" = ?, '
            '"zip_code" = ?, "state" = ? WHERE id = ?',
            (line1, line2, city, zip_code, st, pid),
        )
    for table in ("users", "payers", "participants", "billing_providers"):
        capture.install(conn, table)


V9_MERGE = """
    ALTER TABLE participants ADD COLUMN "merged_into" TEXT NOT NULL DEFAULT '';
    ALTER TABLE participants ADD COLUMN "distinct_from" TEXT NOT NULL DEFAULT '[]';
    CREATE INDEX participants_merged ON participants(merged_into) WHERE merged_into != '';
"""


def _v9(conn: sqlcipher3.Connection) -> None:
    """One person, one record: a merged participant points at the record it was
    merged into (``merged_into``); pairs a person marked "not the same person" are
    kept in ``distinct_from``. Capture triggers regenerated for the new columns."""
    _script(conn, V9_MERGE)
    capture.install(conn, "participants")


#: The server's stamp of a field whose value in this vault is a change kept back
#: (held at enrolment or refused): the digests count it in place of the vault's
#: own stamp (app.store.replica). Filled for what a vault holds back already from
#: the chain of base stamps (the newest change of the field that was sent).
V10_SERVER_STAMPS = """
CREATE TABLE IF NOT EXISTS server_stamps (
    record_id TEXT NOT NULL,
    field TEXT NOT NULL,
    table_name TEXT NOT NULL,
    stamp TEXT NOT NULL,
    PRIMARY KEY (record_id, field)
) WITHOUT ROWID;
"""
V10_FILL_SERVER_STAMPS = """
WITH RECURSIVE chain (record_id, field, table_name, base) AS (
    SELECT o.record_id, o.field, o.table_name, o.base_stamp FROM outbox o
    JOIN field_stamps fs ON fs.record_id = o.record_id AND fs.field = o.field
        AND fs.stamp = o.stamp
    WHERE o.rejected_reason IS NOT NULL
    UNION ALL
    SELECT c.record_id, c.field, c.table_name, o.base_stamp FROM chain c
    JOIN outbox o ON o.stamp = c.base WHERE o.rejected_reason IS NOT NULL
)
INSERT OR IGNORE INTO server_stamps (record_id, field, table_name, stamp)
SELECT record_id, field, table_name, base FROM chain
WHERE base IS NOT NULL
    AND base NOT IN (SELECT stamp FROM outbox WHERE rejected_reason IS NOT NULL)
"""


def _v10(conn: sqlcipher3.Connection) -> None:
    """``server_stamps``: the server's stamps of fields whose value here is kept
    back (see V10_SERVER_STAMPS), so the end-of-sync digests of a vault holding changes
    back match the server's."""
    _script(conn, V10_SERVER_STAMPS)
    conn.execute(V10_FILL_SERVER_STAMPS)


def _v11(conn: sqlcipher3.Connection) -> None:
    """Changes held at enrolment leave the outbox for a compact form (app.store.held:
    a kind, a record number and the outbox seq; the stamp and value only where they
    are not the field's own now), with the triggers that keep it exact."""
    held.create(conn)
    held.compact(conn)


MIGRATIONS: tuple[Callable[[sqlcipher3.Connection], None], ...] = (
    _v1,
    _v2,
    _v3,
    _v4,
    _v5,
    _v6,
    _v7,
    _v8,
    _v9,
    _v10,
    _v11,
)
LATEST = len(MIGRATIONS)


def _script(conn: sqlcipher3.Connection, sql: str) -> None:
    """Run several statements inside the caller's transaction (executescript
    would commit it)."""
    buf = ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlcipher3.complete_statement(buf):
            if buf.strip():
                conn.execute(buf)
            buf = ""
    if buf.strip():
        raise ValueError("incomplete SQL statement in migration")


def version(conn: sqlcipher3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def backup_before_migration(conn: sqlcipher3.Connection, db_path: Path, key_hex: str) -> Path:
    """An encrypted copy (same key) of the database, in backups/ beside it."""
    folder = db_path.parent / "backups"
    folder.mkdir(mode=0o700, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = folder / f"pre-migration-v{version(conn)}-{stamp}.db"
    export_encrypted(conn, target, key_hex)
    return target


def export_encrypted(conn: sqlcipher3.Connection, target: Path, key_hex: str) -> None:
    """Copy the whole database into a new SQLCipher file under the given key."""
    if target.exists():
        raise FileExistsError(target.name)
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    conn.execute(f"ATTACH DATABASE ? AS export_target KEY \"x'{key_hex}'\"", (str(target),))
    try:
        conn.execute("SELECT sqlcipher_export('export_target')")
        user_version = version(conn)
        conn.execute(f"PRAGMA export_target.user_version = {user_version}")
    finally:
        conn.execute("DETACH DATABASE export_target")


def migrate(conn: sqlcipher3.Connection, db_path: Path, key_hex: str) -> Path | None:
    """Bring the database to LATEST. Returns the backup taken, if any."""
    current = version(conn)
    if current > LATEST:
        raise VaultTooNew(
            f"This vault was written by a newer PeerTrail (schema {current}; this program "
            f"knows up to {LATEST}). It was not changed. Install the newer version to open it."
        )
    if current == LATEST:
        return None
    backup = backup_before_migration(conn, db_path, key_hex) if current > 0 else None
    for number in range(current + 1, LATEST + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            MIGRATIONS[number - 1](conn)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return backup
