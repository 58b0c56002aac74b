"""Applying a server reply to the vault (``ReplyApplier``, a part of
app.store.replica.StoreReplica): in ONE transaction, acknowledged changes leave
the outbox, refused ones stay with the server's reason, pulled fields are merged
by stamp, new records are inserted together, participants that left the caseload
are purged, and the cursor moves. What does not fit the schema is set aside by
the replica's quarantine (``_set_aside``, ``_keep_quarantined``)."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime
from typing import Any

from app.store import audit
from app.store.db import Store
from app.store.db import utcnow
from app.store.signatures import signature_problems
from sync import merge
from sync import rules
from sync.protocol import PulledRecord
from sync.protocol import SyncResponse
from sync.schema import FIELDS
from sync.schema import validate_field


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class ReplyApplier:
    """The reply side of StoreReplica (which provides ``store``, ``conn`` and the
    quarantine's ``_set_aside`` / ``_keep_quarantined``)."""

    store: Store
    conn: Any
    signature_problems: list[tuple[str, str]]
    _quarantine: list[dict[str, Any]]

    def _set_aside(self, rec: PulledRecord, field: str, value: Any, stamp: str, why: str) -> None:
        raise NotImplementedError

    def _keep_quarantined(self) -> int:
        raise NotImplementedError

    # -- apply a reply -----------------------------------------------------------------

    def apply_response(self, resp: SyncResponse) -> dict[str, int]:
        """Everything the reply says, in one transaction; returns counts."""
        counts = {"pulled": 0, "conflicts": 0, "evicted": 0, "skipped": 0, "quarantined": 0}
        force: set[tuple[str, str]] = set()
        self._quarantine: list[dict[str, Any]] = []
        with self.store.transaction(mode="remote"):
            self._ack(resp.accepted)
            for r in resp.rejected:
                row = self.conn.execute(
                    "UPDATE outbox SET rejected_reason = ?, rejected_at = ? WHERE stamp = ? "
                    "RETURNING record_id, field",
                    (r.reason, _now(), r.stamp),
                ).fetchone()
                if row:
                    force.add((row[0], row[1]))
            for rs in resp.restamped:
                self.conn.execute(
                    "UPDATE field_stamps SET stamp = ? WHERE stamp = ?", (rs.new_stamp, rs.stamp)
                )
            if resp.restamped:  # later edits waiting in the outbox: on the stamp it became
                moved = {rs.stamp: rs.new_stamp for rs in resp.restamped}
                waiting = self.conn.execute(
                    "SELECT stamp, base_stamp FROM outbox WHERE base_stamp IS NOT NULL "
                    "AND acked_at IS NULL"
                ).fetchall()
                self.conn.executemany(
                    "UPDATE outbox SET base_stamp = ? WHERE stamp = ?",
                    [(moved[b], st) for st, b in waiting if b in moved],
                )
            newest = ""
            local, tables = self._stamps_of(list({r.record_id for r in resp.records}))
            batch = _NewRows(self._existing(resp.records))
            batch.tables = tables
            stamp_rows: list[tuple[str, str, str, str]] = []
            for rec in resp.records:
                n, top = self._apply_record(rec, force, counts, local, stamp_rows, batch)
                counts["pulled"] += n
                newest = max(newest, top)
            self._insert_new(batch)
            counts["quarantined"] = self._keep_quarantined()
            self.conn.executemany(
                "INSERT INTO field_stamps (record_id, field, table_name, stamp) VALUES (?,?,?,?) "
                "ON CONFLICT (record_id, field) DO UPDATE SET stamp = excluded.stamp",
                stamp_rows,
            )
            self._remember_server_stamps(batch.lost)
            self._reset_unset(force, resp)
            # the signature invariant on every note this reply touched (reported)
            notes = {r.record_id for r in resp.records if r.table == "encounters"}
            self.signature_problems = signature_problems(self.conn, notes) if notes else []
            counts["signature_problems"] = len(self.signature_problems)
            if resp.evict:
                counts["evicted"] = self._evict(resp.evict)
            self.conn.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [("sync_cursor", str(resp.cursor))]
                + ([("sync_replica", resp.replica)] if resp.replica else []),
            )
            if newest and self.store.hlc and not merge.too_far_ahead(newest, resp.server_time_ms):
                self.store.hlc.observe(newest)
            audit.append(
                self.conn,
                at=utcnow(),
                user_id=self.store.user_id,
                device_id=self.store.device_id,
                action="sync",
                detail={
                    "pushed": len(resp.accepted),
                    "rejected": len(resp.rejected),
                    "pulled": counts["pulled"],
                    "evicted": counts["evicted"],
                    "quarantined": counts["quarantined"],
                },
            )
        return counts

    def _ack(self, stamps: Sequence[str]) -> None:
        for i in range(0, len(stamps), 500):
            chunk = list(stamps[i : i + 500])
            marks = ",".join("?" for _ in chunk)
            self.conn.execute(f"DELETE FROM outbox WHERE stamp IN ({marks})", chunk)

    def _columns(self, table: str) -> set[str]:
        cache = self.__dict__.setdefault("_colcache", {})
        if table not in cache:
            cache[table] = {r[1] for r in self.conn.execute(f"PRAGMA table_info({table})")}
        return cache[table]

    def _stamps_of(self, record_ids: list[str]) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
        """The vault's field stamps of these records, and the table each is kept in,
        in a few queries."""
        out: dict[str, dict[str, str]] = {}
        tables: dict[str, str] = {}
        for i in range(0, len(record_ids), 500):
            chunk = record_ids[i : i + 500]
            marks = ",".join("?" for _ in chunk)
            for rid, field, table, stamp in self.conn.execute(
                "SELECT record_id, field, table_name, stamp FROM field_stamps "
                f"WHERE record_id IN ({marks})",
                chunk,
            ):
                out.setdefault(rid, {})[field] = stamp
                tables[rid] = table
        return out, tables

    def _existing(self, recs: Sequence[PulledRecord]) -> set[tuple[str, str]]:
        """(table, id) of the pulled records the vault already has a row for."""
        by_table: dict[str, set[str]] = {}
        for r in recs:
            if r.table in rules.TABLES:
                by_table.setdefault(r.table, set()).add(r.record_id)
        out: set[tuple[str, str]] = set()
        for table, ids in by_table.items():
            if not self._columns(table):
                continue
            listed = sorted(ids)
            for i in range(0, len(listed), 500):
                chunk = listed[i : i + 500]
                marks = ",".join("?" for _ in chunk)
                for (rid,) in self.conn.execute(
                    f"SELECT id FROM {table} WHERE id IN ({marks})", chunk
                ):
                    out.add((table, rid))
        return out

    def _insert_new(self, batch: _NewRows) -> None:
        """Every new record of a table in one executemany of one statement: a
        statement that differs per record (its own column list) is compiled again,
        with the table's triggers, for each record, which cost more than the writes."""
        for table, rows in batch.rows.items():
            defaults = self._default_values(table)
            cols = list(defaults)
            names = ", ".join(f'"{c}"' for c in cols)
            marks = ", ".join("?" for _ in cols)
            self.conn.executemany(
                f"INSERT INTO {table} (id, {names}) VALUES (?, {marks})",
                [(rid, *[row.get(c, defaults[c]) for c in cols]) for rid, row in rows.items()],
            )

    def _default_values(self, table: str) -> dict[str, Any]:
        """Each column's default value (but ``id``), as SQLite evaluates it."""
        cache = self.__dict__.setdefault("_defaultcache", {})
        if table not in cache:
            out: dict[str, Any] = {}
            for name, default in self._defaults(table).items():
                if name == "id":
                    continue
                out[name] = (
                    None
                    if default is None
                    else self.conn.execute(f"SELECT {default}").fetchone()[0]
                )
            cache[table] = out
        return cache[table]

    def _apply_record(
        self,
        rec: PulledRecord,
        force: set[tuple[str, str]],
        counts: dict[str, int],
        stamps: dict[str, dict[str, str]],
        stamp_rows: list[tuple[str, str, str, str]],
        batch: _NewRows,
    ) -> tuple[int, str]:
        """Merge one pulled record. A record the vault lacks is collected in ``batch``
        and inserted with the others at the end (``_insert_new``); one it has is
        updated in place. The winning stamps go to ``stamp_rows`` (and ``stamps``, for a
        record that comes twice in one reply)."""
        if rec.table not in rules.TABLES or not self._columns(rec.table):
            counts["skipped"] += len(rec.fields)
            return 0, ""
        cols = self._columns(rec.table)
        top = max((s for _v, s in rec.fields.values()), default="")
        kept_in = batch.tables.get(rec.record_id, rec.table)
        if kept_in != rec.table:  # an id belongs to one table: never write it twice
            for field, (value, stamp) in rec.fields.items():
                self._set_aside(rec, field, value, stamp, "this id is a record of another kind")
            return 0, top
        local = stamps.setdefault(rec.record_id, {})
        winners: dict[str, tuple[Any, str]] = {}
        unusable_required = False
        specs = FIELDS[rec.table]
        for field, (value, stamp) in rec.fields.items():
            if field not in cols or field == "id":
                counts["skipped"] += 1
                continue
            problem = validate_field(rec.table, field, value)
            if problem is not None:
                self._set_aside(rec, field, value, stamp, problem)
                unusable_required |= specs[field].required
                continue
            d = merge.decide(local.get(field), None, stamp, None)
            if d.applies or ((rec.record_id, field) in force and local.get(field) != stamp):
                winners[field] = (value, stamp)
            elif local.get(field) != stamp:
                batch.lost.append((rec.record_id, field, rec.table, stamp))
        is_new = (rec.table, rec.record_id) not in batch.existing and rec.record_id not in (
            batch.rows.get(rec.table, {})
        )
        if unusable_required and is_new:  # never a new record without what it needs
            for field, (value, stamp) in winners.items():
                self._set_aside(rec, field, value, stamp, "its record lacks a required field")
            return 0, top
        if not winners:
            return 0, top
        if (rec.table, rec.record_id) in batch.existing:
            sets = ", ".join(f'"{f}" = ?' for f in winners)
            self.conn.execute(
                f"UPDATE {rec.table} SET {sets} WHERE id = ?",
                (*[v for v, _s in winners.values()], rec.record_id),
            )
        else:
            row = batch.rows.setdefault(rec.table, {}).setdefault(rec.record_id, {})
            row.update((f, v) for f, (v, _s) in winners.items())
        for f, (_v, s) in winners.items():
            local[f] = s
            stamp_rows.append((rec.record_id, f, rec.table, s))
        if rec.table == "conflicts" and "status" in winners:
            counts["conflicts"] += 1
        return len(winners), top

    def _remember_server_stamps(self, lost: list[tuple[str, str, str, str]]) -> None:
        """Pulled fields that lost to a value of this vault's kept back (refused or
        held): the server's stamp is remembered for the digests (``_KEPT_BACK``)."""
        self.conn.executemany(
            "INSERT INTO server_stamps (record_id, field, table_name, stamp) "
            "SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM field_stamps fs "
            "JOIN outbox o ON o.stamp = fs.stamp WHERE fs.record_id = ?1 AND fs.field = ?2 "
            "AND o.rejected_reason IS NOT NULL) "
            "OR EXISTS (SELECT 1 FROM held_now WHERE record_id = ?1 AND field = ?2) "
            "ON CONFLICT (record_id, field) DO UPDATE SET stamp = excluded.stamp",
            lost,
        )

    def _reset_unset(self, force: set[tuple[str, str]], resp: SyncResponse) -> None:
        """A refused field that the server never had goes back to its default."""
        sent = {(r.record_id, f) for r in resp.records for f in r.fields}
        tables = {r.record_id: r.table for r in resp.records}
        for record_id, field in force - sent:
            table = tables.get(record_id)
            if table is None:
                continue  # the server has no such record: keep the local copy to show
            default = self._defaults(table).get(field)
            self.conn.execute(
                f'UPDATE {table} SET "{field}" = {default or "NULL"} WHERE id = ?', (record_id,)
            )
            self.conn.execute(
                "DELETE FROM field_stamps WHERE record_id = ? AND field = ?", (record_id, field)
            )

    def _defaults(self, table: str) -> dict[str, str | None]:
        return {r[1]: r[4] for r in self.conn.execute(f"PRAGMA table_info({table})")}

    def _evict(self, participant_ids: Iterable[str]) -> int:
        """Remove participants that left this caseload, and everything of theirs but
        the changes this laptop wrote that the server has not accepted."""
        ids = list(participant_ids)
        marks = ",".join("?" for _ in ids)
        gone: list[str] = list(ids)
        for table in ("consents", "goals", "barc10", "encounters", "conflicts"):
            gone += [
                r[0]
                for r in self.conn.execute(
                    f"SELECT id FROM {table} WHERE participant_id IN ({marks})", ids
                )
            ]
        enc = [
            r[0]
            for r in self.conn.execute(
                f"SELECT id FROM encounters WHERE participant_id IN ({marks})", ids
            )
        ]
        if enc:
            emarks = ",".join("?" for _ in enc)
            gone += [
                r[0]
                for r in self.conn.execute(
                    f"SELECT id FROM addenda WHERE encounter_id IN ({emarks})", enc
                )
            ]
        with self.store.mode("purge"):  # remote mode cannot delete
            for i in range(0, len(gone), 500):
                chunk = gone[i : i + 500]
                cm = ",".join("?" for _ in chunk)
                for table in (
                    "participants", "consents", "goals", "barc10", "encounters", "addenda",
                    "conflicts",
                ):  # fmt: skip
                    self.conn.execute(f"DELETE FROM {table} WHERE id IN ({cm})", chunk)
                self.conn.execute(f"DELETE FROM field_stamps WHERE record_id IN ({cm})", chunk)
        # The outbox keeps them: a refused change stays for its writer to see, and one
        # not sent yet is sent, so the server keeps it for the record's new specialist
        # (an "undelivered" conflict; docs/SYNC.md, "Refused changes").
        return len(ids)


class _NewRows:
    """Pulled records the vault does not have yet, collected to insert together."""

    def __init__(self, existing: set[tuple[str, str]]) -> None:
        self.existing = existing
        self.rows: dict[str, dict[str, dict[str, Any]]] = {}  # table -> id -> values
        self.tables: dict[str, str] = {}  # record id -> the table the vault keeps it in
        # (record id, field, table, stamp) of pulled fields a local value beat
        self.lost: list[tuple[str, str, str, str]] = []
