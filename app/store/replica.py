"""The vault as a sync replica: what sync.client needs from the local store.

Reads the outbox, and applies a server reply (app.store.replica_apply) in ONE
transaction: acknowledged changes leave the outbox, refused ones stay with the
server's reason, pulled fields are merged by sync.merge.decide (last writer by
stamp) in ``remote`` mode (no re-capture), participants that left the caseload
are purged, and the cursor moves. What the server sends is not trusted: a pulled
value that does not fit the record schema (sync.schema), a record under an id
the vault keeps in another table, or a new record whose required field is
unusable is quarantined (kept in ``meta`` under ``sync_quarantine``, counted in
the reply's counts) instead of being applied, and the sync goes on. A crash
anywhere before the commit leaves the vault as it was, and the next sync repeats
the exchange (the server answers a replay the same way).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from app.store import audit
from app.store import enrolment_plan
from app.store import held
from app.store import signatures
from app.store.db import Store
from app.store.errors import StoreError
from app.store.replica_apply import ReplyApplier
from app.store.replica_apply import _now
from sync import digests
from sync.protocol import AuditVerdict
from sync.protocol import PulledRecord
from sync.protocol import PushChange

AUDIT_SENT_KEY = "audit_heads_sent"  # meta: the audit lengths sent in recent syncs
AUDIT_ANCHORED_KEY = "audit_anchored_length"  # meta: what the server said it anchored
AUDIT_SENT_KEPT = 6  # with the anchored one, within protocol.MAX_AUDIT_PROOFS
QUARANTINE_KEY = "sync_quarantine"
QUARANTINE_KEEP = 500  # newest entries kept
QUARANTINE_VALUE_CHARS = 20_000

# Fields that hold a user id: rewritten when the vault adopts its server identity.
USER_REF_FIELDS: dict[str, tuple[str, ...]] = {
    "users": ("supervisor_id",),
    "participants": ("assigned_specialist_id",),
    "barc10": ("assessed_by_id",),
    "encounters": ("specialist_id", "signed_by_id", "reviewed_by_id"),
    "addenda": ("author_id",),
    "time_entries": ("specialist_id",),
    "supervision_sessions": ("supervisor_id",),
    "conflicts": ("owner_id", "lost_by_id", "resolved_by_id"),
}


PUSH_LIMIT_KEY = "sync_push_limit"
BILLING_NUMBER_KEY = "billing_device_number"  # meta: this device's billing number


class StoreReplica(ReplyApplier):
    def __init__(self, store: Store) -> None:
        self.store = store
        self.conn = store.conn
        # (note id, why) of notes the last reply left with a hash that does not match
        self.signature_problems: list[tuple[str, str]] = []

    # -- identity and settings (kept inside the encrypted vault) -----------------

    @property
    def device_id(self) -> str:
        return self.store.device_id

    @property
    def cursor(self) -> int:
        return int(self.store.meta("sync_cursor", "0"))

    def set_clock_offset(self, offset_ms: int) -> None:
        self.store.set_clock_offset(offset_ms)

    def os_clock_ms(self) -> int:
        """This laptop's own clock (uncorrected): sync measures the offset on it."""
        return int(self.store.os_clock())

    def server(self) -> dict[str, str]:
        raw = self.store.meta("sync_server")
        return json.loads(raw) if raw else {}

    @property
    def billing_number(self) -> int:
        """This device's billing number from the server (0: none yet); the first four
        digits of its interchange control numbers (docs/BILLING.md)."""
        try:
            return int(self.store.meta(BILLING_NUMBER_KEY, "0") or 0)
        except ValueError:
            return 0

    @property
    def wants_billing_number(self) -> bool:
        """This device may bill and has no billing number yet: the sync client asks
        the server for it (an empty POST /v1/billing/reserve) after a sync."""
        role = self.server().get("role", "")
        return role in ("billing", "supervisor", "admin") and self.billing_number == 0

    def set_billing_number(self, number: int) -> None:
        if number and number != self.billing_number:
            self.store.set_meta(BILLING_NUMBER_KEY, str(int(number)))

    @property
    def push_limit(self) -> int:
        """The changes the server said one sync request may push (its X-Push-Limit,
        kept from its last reply; 0: it has not said)."""
        raw = self.store.meta(PUSH_LIMIT_KEY, "0")
        return int(raw) if raw.isdigit() else 0

    def keep_push_limit(self, limit: int) -> None:
        if limit != self.push_limit:
            self.store.set_meta(PUSH_LIMIT_KEY, str(max(0, int(limit))))

    def save_server(self, **settings: str) -> None:
        self.store.set_meta("sync_server", json.dumps({**self.server(), **settings}))

    def adopt_identity(self, server_user_id: str, role: str) -> int:
        """Become the server's user: every reference to the vault's local owner id
        is rewritten (in the outbox where it waits, see ``_rewrite_owner``), the
        local-only owner record is removed, and changes the server would refuse
        this role are kept on this laptop with the reason (app.store.enrolment_plan).
        Returns how many changes were kept."""
        old = self.store.user_id
        if old == server_user_id:
            return 0
        with self.store.transaction():
            signed = signatures.valid_signed_notes(self.conn, old)
            self._rewrite_owner(old, server_user_id)
            self._rehash(signatures.rehashed(self.conn, signed))
            self.conn.execute(
                "UPDATE meta SET value = ? WHERE key = 'owner_user_id'", (server_user_id,)
            )
            with self.store.mode("purge"):  # in the same transaction: all or nothing
                self.conn.execute("DELETE FROM users WHERE id = ?", (old,))
                self.conn.execute("DELETE FROM outbox WHERE record_id = ?", (old,))
                self.conn.execute("DELETE FROM field_stamps WHERE record_id = ?", (old,))
            held = enrolment_plan.hold(self.store, role, server_user_id)
        self.store.user_id = server_user_id
        self.store.capture.user_id = server_user_id
        self.save_server(user_id=server_user_id, role=role)
        return held

    def _rewrite_owner(self, old: str, new: str) -> None:
        """Every reference to ``old`` becomes ``new``. A value still waiting in the
        outbox is rewritten where it waits (the record's first push then carries
        the right owner, whatever the order and size of the outbox: a rewrite
        queued as a new change would arrive after the records it fixes, which the
        server refuses); only values the server already has are captured anew."""
        waiting = "acked_at IS NULL AND rejected_reason IS NULL"
        self.conn.execute(
            f"UPDATE outbox SET user_id = ? WHERE user_id = ? AND {waiting}", (new, old)
        )
        for table, fields in USER_REF_FIELDS.items():
            for f in fields:
                self.conn.execute(
                    f"UPDATE outbox SET value = ? WHERE table_name = ? AND field = ? "
                    f"AND value = ? AND {waiting}",
                    (new, table, f, old),
                )
                # Captured: fields whose value the outbox does not hold (pulled ones).
                self.conn.execute(
                    f'UPDATE {table} SET "{f}" = ? WHERE "{f}" = ? AND id NOT IN '
                    f"(SELECT record_id FROM outbox WHERE table_name = ? AND field = ? "
                    f"AND {waiting})",
                    (new, old, table, f),
                )
                with self.store.mode("remote"):  # the outbox holds these already
                    self.conn.execute(f'UPDATE {table} SET "{f}" = ? WHERE "{f}" = ?', (new, old))

    def _rehash(self, changes: list[tuple[str, str, str, str]]) -> None:
        """The hashes of signed notes whose specialist id ``_rewrite_owner`` rewrote:
        computed again on the rewritten content, where they wait in the outbox (or
        captured anew for values the server already has), so every signature still
        matches its content."""
        waiting = "acked_at IS NULL AND rejected_reason IS NULL"
        for note_id, field, old_hash, new_hash in changes:
            held = self.conn.execute(
                f"UPDATE outbox SET value = ? WHERE table_name = 'encounters' AND field = ? "
                f"AND record_id = ? AND value = ? AND {waiting}",
                (new_hash, field, note_id, old_hash),
            ).rowcount
            if held:
                with self.store.mode("remote"):  # the outbox holds it already
                    self.conn.execute(
                        f'UPDATE encounters SET "{field}" = ? WHERE id = ?', (new_hash, note_id)
                    )
            else:
                self.conn.execute(
                    f'UPDATE encounters SET "{field}" = ? WHERE id = ?', (new_hash, note_id)
                )

    # -- the audit chain's head, anchored on the server ---------------------------------

    def audit_head(self) -> dict[str, Any]:
        """The audit head for this sync, with the hashes at the lengths this laptop
        sent before and at the length the server last said it anchored. The length
        is remembered before it is sent: if the reply is lost, the server may have
        anchored it, and the next sync still proves it."""
        sent = [int(n) for n in json.loads(self.store.meta(AUDIT_SENT_KEY) or "[]")]
        anchored = int(self.store.meta(AUDIT_ANCHORED_KEY, "0") or 0)
        head = audit.head(self.conn, [*sent, anchored])
        keep = [n for n in sent if n != head["length"]][-(AUDIT_SENT_KEPT - 1) :]
        self.store.set_meta(AUDIT_SENT_KEY, json.dumps([*keep, head["length"]]))
        return head

    def audit_verdict(self, verdict: AuditVerdict) -> None:
        """Remember the length the server keeps anchored (it is proven next time)."""
        self.store.set_meta(AUDIT_ANCHORED_KEY, str(verdict.anchored_length))

    # -- push ----------------------------------------------------------------------

    def pending_count(self) -> int:
        return int(
            self.conn.execute(
                "SELECT count(*) FROM outbox WHERE acked_at IS NULL AND rejected_reason IS NULL"
            ).fetchone()[0]
        )

    def pending(self, limit: int) -> list[PushChange]:
        """The oldest waiting changes, at most ``limit``, never splitting one record's
        changes between two requests (the server places a new record by its fields:
        a participant by its specialist, a goal by its participant)."""
        return self._pending("", (), limit)

    def _pending(self, where: str, args: tuple[Any, ...], limit: int) -> list[PushChange]:
        rows = self.conn.execute(
            "SELECT stamp, table_name, record_id, field, value, base_stamp FROM outbox "
            f"WHERE acked_at IS NULL AND rejected_reason IS NULL {where} ORDER BY seq LIMIT ?",
            (*args, limit + 1),
        ).fetchall()
        if len(rows) > limit:
            last = rows[limit][2]
            cut = limit
            while cut > 0 and rows[cut - 1][2] == last:
                cut -= 1
            if cut == 0:  # one record with more changes than a request holds
                cut = limit
            rows = rows[:cut]
        return [
            PushChange(stamp=r[0], table=r[1], record_id=r[2], field=r[3], value=r[4], base=r[5])
            for r in rows
        ]

    def pending_after(self, stamp: str, limit: int) -> list[PushChange]:
        """``pending`` after the change ``stamp`` (the last of a request on the wire,
        not acknowledged yet): what the request after it sends."""
        return self._pending("AND seq > (SELECT seq FROM outbox WHERE stamp = ?)", (stamp,), limit)

    def refuse_locally(self, refused: list[dict[str, str]]) -> None:
        """Changes the server refused without applying anything (a push in which no
        change fit the record schema): they stay in the outbox, marked refused with
        the reason, and are not sent again."""
        with self.store.transaction(mode="remote"):
            self.conn.executemany(
                "UPDATE outbox SET rejected_reason = ?, rejected_at = ? WHERE stamp = ?",
                [(r["reason"], _now(), r["stamp"]) for r in refused],
            )

    def rejected(self) -> list[dict[str, Any]]:
        """Changes the server refused (or enrolment kept on this laptop), with the
        reason and the value written, newest first (for the UI and ``sync --json``).
        They stay until the person resolves or dismisses them (app.store.refused)."""
        rows = self.conn.execute(
            "SELECT stamp, table_name, record_id, field, rejected_reason, rejected_at, value "
            "FROM outbox WHERE rejected_reason IS NOT NULL ORDER BY seq DESC"
        ).fetchall()
        keys = ("stamp", "table", "record_id", "field", "reason", "at", "value")
        out = [dict(zip(keys, r, strict=True)) for r in rows]
        kept = held.entries(self.conn)  # held at enrolment (app.store.held)
        if kept:
            out = sorted(out + kept, key=lambda r: r["stamp"] or "", reverse=True)
        return out

    # -- self-healing (docs/SYNC.md, "Restores and repair") ----------------------------

    @property
    def replica_token(self) -> str:
        return self.store.meta("sync_replica")

    @property
    def full_pull(self) -> bool:
        """A re-pull from cursor 0 (with this device's own changes) is under way."""
        return self.store.meta("sync_full") == "1"

    def set_full_pull(self, on: bool) -> None:
        self.store.set_meta("sync_full", "1" if on else "0")

    def server_identity(self) -> tuple[str, int]:
        """The server database's id and epoch as this vault last saw them ("": none)."""
        return (
            self.store.meta("sync_server_id") or "",
            int(self.store.meta("sync_server_epoch", "0") or 0),
        )

    def keep_replica_token(self, token: str) -> None:
        """Keep the token of a reply about to be applied, before the next request
        goes out (sync.client.pipeline): a vault stopped before it applied that
        reply is then still the server's current or recent copy of itself."""
        if token:
            self.store.set_meta("sync_replica", token)

    def note_server(self, server_id: str, epoch: int) -> bool:
        """Remember the server database's id and epoch; True when they changed (a
        new or restored server database: re-pull and repair)."""
        if not server_id:
            return False
        before = self.store.meta("sync_server_id")
        old_epoch = int(self.store.meta("sync_server_epoch", "0") or 0)
        if before == server_id and old_epoch == epoch:
            return False
        with self.store.transaction():
            self.store.set_meta("sync_server_id", server_id)
            self.store.set_meta("sync_server_epoch", str(epoch))
        return bool(before) and (before != server_id or epoch > old_epoch)

    _SCOPED = (
        "FROM field_stamps WHERE stamp NOT IN "
        "(SELECT stamp FROM outbox WHERE rejected_reason IS NOT NULL) "
        "AND stamp NOT IN (SELECT stamp FROM held_now)"
    )

    # The fields whose value here is a change kept back (refused, or held at
    # enrolment): the server has not got that value, but may hold an older one of
    # its own, whose stamp ``server_stamps`` remembers.
    _KEPT_BACK = (
        "FROM server_stamps ss JOIN field_stamps fs ON fs.record_id = ss.record_id "
        "AND fs.field = ss.field WHERE (fs.stamp IN (SELECT stamp FROM outbox "
        "WHERE rejected_reason IS NOT NULL) OR fs.stamp IN (SELECT stamp FROM held_now))"
    )

    def scope_digest(self) -> str:
        """sync.digests.scope of what this vault holds in common with the server:
        the running sums (digest_sums, kept by triggers) less the refused and held
        values, which the server does not have, plus the server's own stamp of
        such a field where it has one (``server_stamps``)."""
        totals = {t: [n, h] for t, n, h in self.conn.execute("SELECT * FROM digest_sums")}
        for table, n, h in self.conn.execute(
            "SELECT fs.table_name, count(*), sum(pt_h(fs.record_id, fs.field, fs.stamp)) "
            "FROM outbox o JOIN field_stamps fs ON fs.record_id = o.record_id "
            "AND fs.field = o.field AND fs.stamp = o.stamp "
            "WHERE o.rejected_reason IS NOT NULL GROUP BY fs.table_name"
        ):
            totals[table][0] -= n
            totals[table][1] -= h
        for table, n, h in self.conn.execute(  # held at enrolment (app.store.held)
            "SELECT table_name, count(*), sum(pt_h(record_id, field, stamp)) FROM held_now "
            "GROUP BY table_name"
        ):
            totals[table][0] -= n
            totals[table][1] -= h
        for table, n, h in self.conn.execute(
            "SELECT ss.table_name, count(*), sum(pt_h(ss.record_id, ss.field, ss.stamp)) "
            f"{self._KEPT_BACK} GROUP BY ss.table_name"
        ):
            acc = totals.setdefault(table, [0, 0])
            acc[0] += n
            acc[1] += h
        return digests.scope((t, n, h) for t, (n, h) in totals.items())

    def recount_digest(self) -> str:
        """Rebuild the running sums from every field stamp (a full read: only when a
        check failed, in case the sums themselves were wrong), then the digest."""
        with self.store.transaction(mode="remote"):
            self.conn.execute("DELETE FROM digest_sums")
            self.conn.execute(
                "INSERT INTO digest_sums (table_name, n, h) SELECT table_name, count(*), "
                "sum(pt_h(record_id, field, stamp)) FROM field_stamps GROUP BY table_name"
            )
        return self.scope_digest()

    def record_digests(self) -> dict[str, str]:
        rows = self.conn.execute(
            f"SELECT record_id, field, stamp {self._SCOPED} "
            f"UNION ALL SELECT ss.record_id, ss.field, ss.stamp {self._KEPT_BACK}"
        )
        return digests.records(rows)

    def requeue(self, record_ids: Sequence[str], server: dict[str, dict[str, str]]) -> int:
        """Queue again what this device wrote that the server lacks or holds older
        (``server``: record id -> field -> the server's stamp), with its original
        stamp and the server's stamp as its base. Returns how many changes."""
        mine = "." + self.device_id
        rows: list[tuple[Any, ...]] = []
        for rid in record_ids:
            theirs = server.get(rid, {})
            fields = self.conn.execute(
                f"SELECT table_name, field, stamp {self._SCOPED} AND record_id = ?", (rid,)
            ).fetchall()
            for table, field, stamp in fields:
                base = theirs.get(field)
                if not stamp.endswith(mine) or (base is not None and base >= stamp):
                    continue
                if field not in self._columns(table):
                    continue
                value = self.conn.execute(
                    f'SELECT "{field}" FROM {table} WHERE id = ?', (rid,)
                ).fetchone()
                if value is not None:
                    rows.append((stamp, table, rid, field, value[0], base, self.store.user_id))
        if rows:
            with self.store.transaction():
                self.conn.executemany(
                    "INSERT INTO outbox (stamp, table_name, record_id, field, value, base_stamp, "
                    "user_id) VALUES (?,?,?,?,?,?,?) ON CONFLICT (stamp) DO NOTHING",
                    rows,
                )
        return len(rows)

    # -- quarantine: what the server sent that this vault cannot take -------------------

    def _set_aside(self, rec: PulledRecord, field: str, value: Any, stamp: str, why: str) -> None:
        """Keep a pulled field aside instead of applying it (see ``_keep_quarantined``)."""
        text = json.dumps(value)  # ASCII: lone surrogates stay escaped
        self._quarantine.append(
            {"at": _now(), "table": rec.table, "record_id": rec.record_id, "field": field,
             "stamp": stamp, "reason": why, "value": text[:QUARANTINE_VALUE_CHARS]}
        )  # fmt: skip

    def _keep_quarantined(self) -> int:
        """Add this reply's quarantined fields to the vault's quarantine log (inside
        the same transaction; the newest ``QUARANTINE_KEEP`` are kept)."""
        if not self._quarantine:
            return 0
        kept = self.quarantined()
        kept = (kept + self._quarantine)[-QUARANTINE_KEEP:]
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (QUARANTINE_KEY, json.dumps(kept)),
        )
        return len(self._quarantine)

    def quarantined(self) -> list[dict[str, Any]]:
        """Pulled fields kept aside because they did not fit the schema, oldest first."""
        raw = self.store.meta(QUARANTINE_KEY)
        try:
            kept = json.loads(raw) if raw else []
        except ValueError:
            return []
        return kept if isinstance(kept, list) else []


def require_enrolled(replica: StoreReplica) -> dict[str, str]:
    server = replica.server()
    if not server.get("url") or not server.get("token"):
        raise StoreError("This vault is not connected to a server yet: enroll it first.")
    return server
