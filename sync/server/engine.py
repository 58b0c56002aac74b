"""The server's sync engine: apply a device's pushed changes and answer its pull.

Storage-neutral (SQLAlchemy Core; SQLite or PostgreSQL). One ``sync`` call is one
write transaction:

1. lock the ``seq`` counter row (so sequence numbers are handed out in commit
   order and a cursor never skips a change that commits late);
2. for each pushed change, in stamp order: answer a duplicate as before, check
   scope and field permission (sync.merge.permission_problem), re-stamp a stamp
   far in the future, merge it (sync.merge.decide), record a conflict for a
   concurrent loser, and keep the change in ``changes``;
3. pull: every visible field whose ``seq`` is past the cursor, grouped by record,
   plus whole records of participants newly assigned to this user and the ids of
   participants that left this user's caseload.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Connection

from sync import merge, rules
from sync.hlc import HybridLogicalClock
from sync.protocol import (
    PROTOCOL_VERSION,
    PulledRecord,
    PushChange,
    Rejected,
    Restamped,
    SyncRequest,
    SyncResponse,
)
from sync.server.tables import (
    access_log,
    assignments,
    changes,
    counters,
    field_state,
    records,
    rejected,
    users,
)

CONFLICT_NS = uuid.UUID("6f1c8a52-3c0e-4a43-9a7f-5b8f3e1d2c90")
GLOBAL_TABLES = ("users", "payers")


@dataclass(frozen=True)
class Caller:
    user_id: str
    role: str
    device_id: str


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


class SeqCounter:
    """Hands out seq numbers inside the locked transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        row = conn.execute(
            select(counters.c.value).where(counters.c.name == "seq").with_for_update()
        ).first()
        if row is None:
            conn.execute(counters.insert().values(name="seq", value=0))
            self.value = 0
        else:
            self.value = int(row[0])
        self.start = self.value

    def next(self) -> int:
        self.value += 1
        return self.value

    def save(self) -> None:
        if self.value != self.start:
            self.conn.execute(
                update(counters).where(counters.c.name == "seq").values(value=self.value)
            )


class Scope:
    """Who may see and write which records, for one caller."""

    def __init__(self, conn: Connection, caller: Caller) -> None:
        self.conn = conn
        self.caller = caller
        self.team: set[str] = {caller.user_id}
        if caller.role == "supervisor":
            self.team |= {
                r[0]
                for r in conn.execute(
                    select(users.c.id).where(users.c.supervisor_id == caller.user_id)
                )
            }

    def participant_ids(self) -> set[str]:
        if self.caller.role in ("admin", "billing"):
            return set()  # not by caseload
        rows = self.conn.execute(
            select(assignments.c.participant_id).where(
                assignments.c.specialist_id.in_(sorted(self.team))
            )
        )
        return {r[0] for r in rows}

    def sees_participant(self, participant_id: str) -> bool:
        if self.caller.role == "admin":
            return True
        row = self.conn.execute(
            select(assignments.c.specialist_id).where(
                assignments.c.participant_id == participant_id
            )
        ).first()
        return row is not None and row[0] in self.team


class SyncEngine:
    def __init__(self, hlc: HybridLogicalClock) -> None:
        self.hlc = hlc

    # -- push -----------------------------------------------------------------

    def sync(self, conn: Connection, caller: Caller, req: SyncRequest, now_ms: int) -> SyncResponse:
        seq = SeqCounter(conn)
        scope = Scope(conn, caller)
        accepted: list[str] = []
        refused: list[Rejected] = []
        restamped: list[Restamped] = []
        batch = _batch_fields(req.changes)
        for ch in sorted(req.changes, key=lambda c: c.stamp):
            outcome = self._apply_one(conn, seq, scope, caller, ch, batch, now_ms)
            if isinstance(outcome, Rejected):
                refused.append(outcome)
            else:
                accepted.append(ch.stamp)
                if outcome is not None:
                    restamped.append(outcome)
        seq.save()
        records_out, cursor, more, evict = self._pull(
            conn, scope, req.cursor, req.pull_limit, seq.value
        )
        # A refused change leaves the device's copy different from the server's:
        # send the server's current fields of those records so the device can
        # put them back (it keeps the refused change, with the reason, to show).
        refused_ids = sorted(
            {c.record_id for c in req.changes if c.stamp in {r.stamp for r in refused}}
        )
        if refused_ids:
            records_out += self._current(conn, scope, refused_ids)
        return SyncResponse(
            protocol=PROTOCOL_VERSION,
            server_time_ms=now_ms,
            accepted=accepted,
            rejected=refused,
            restamped=restamped,
            records=records_out,
            evict=evict,
            cursor=cursor,
            more=more,
        )

    def _apply_one(
        self,
        conn: Connection,
        seq: SeqCounter,
        scope: Scope,
        caller: Caller,
        ch: PushChange,
        batch: dict[str, dict[str, Any]],
        now_ms: int,
    ) -> Rejected | Restamped | None:
        # Idempotent: a change seen before gets the answer it got then.
        prior = conn.execute(
            select(changes.c.stamp).where(changes.c.origin_stamp == ch.stamp)
        ).first()
        if prior is not None:
            return Restamped(stamp=ch.stamp, new_stamp=prior[0]) if prior[0] != ch.stamp else None
        was_refused = conn.execute(
            select(rejected.c.reason).where(rejected.c.stamp == ch.stamp)
        ).first()
        if was_refused is not None:
            return Rejected(stamp=ch.stamp, reason=was_refused[0])

        current_fields = self._record_fields(conn, ch.record_id)
        known = {**batch.get(ch.record_id, {}), **current_fields}
        reason = self._scope_problem(conn, scope, caller, ch, known, current_fields)
        if reason is None:
            cur = conn.execute(
                select(field_state.c.stamp).where(
                    field_state.c.record_id == ch.record_id, field_state.c.field == ch.field
                )
            ).first()
            reason = merge.permission_problem(
                caller.role,
                caller.user_id,
                ch.table,
                ch.field,
                ch.value,
                current_fields,
                cur is not None,
            )
        if reason is not None:
            conn.execute(
                rejected.insert().values(
                    stamp=ch.stamp,
                    table_name=ch.table,
                    record_id=ch.record_id,
                    field=ch.field,
                    value=_dump(ch.value),
                    user_id=caller.user_id,
                    device_id=caller.device_id,
                    reason=reason,
                    at=_now_iso(),
                )
            )
            return Rejected(stamp=ch.stamp, reason=reason)

        stamp = ch.stamp
        restamp = None
        if merge.too_far_ahead(ch.stamp, now_ms):
            stamp = self.hlc.now()
            restamp = Restamped(stamp=ch.stamp, new_stamp=stamp)
        else:
            self.hlc.observe(ch.stamp)
        self._merge_field(
            conn, seq, ch.table, ch.record_id, ch.field, ch.value, stamp, ch.base, caller
        )
        conn.execute(
            changes.insert().values(
                seq=seq.next(),
                stamp=stamp,
                origin_stamp=ch.stamp,
                table_name=ch.table,
                record_id=ch.record_id,
                field=ch.field,
                value=_dump(ch.value),
                base=ch.base,
                user_id=caller.user_id,
                device_id=caller.device_id,
                received_at=_now_iso(),
            )
        )
        return restamp

    def _merge_field(
        self,
        conn: Connection,
        seq: SeqCounter,
        table: str,
        record_id: str,
        field: str,
        value: Any,
        stamp: str,
        base: str | None,
        caller: Caller | None,
    ) -> None:
        cur = conn.execute(
            select(field_state.c.value, field_state.c.stamp, field_state.c.base).where(
                field_state.c.record_id == record_id, field_state.c.field == field
            )
        ).first()
        decision = merge.decide(cur[1] if cur else None, cur[2] if cur else None, stamp, base)
        if decision.outcome is merge.Outcome.DUPLICATE:
            return
        if decision.applies:
            values = dict(table_name=table, value=_dump(value), stamp=stamp, base=base)
            if cur is None:
                conn.execute(
                    field_state.insert().values(
                        record_id=record_id, field=field, seq=seq.next(), **values
                    )
                )
            else:
                conn.execute(
                    update(field_state)
                    .where(field_state.c.record_id == record_id, field_state.c.field == field)
                    .values(seq=seq.next(), **values)
                )
            self._index(conn, seq, table, record_id, field, value)
        if decision.concurrent and table != "conflicts" and cur is not None:
            if decision.applies:
                kept, lost = (value, stamp), (json.loads(cur[0]) if cur[0] else None, cur[1])
            else:
                kept, lost = (json.loads(cur[0]) if cur[0] else None, cur[1]), (value, stamp)
            self._record_conflict(conn, seq, table, record_id, field, kept, lost, caller)
        if field != "deleted" and table != "conflicts":
            deleted = conn.execute(
                select(field_state.c.value).where(
                    field_state.c.record_id == record_id, field_state.c.field == "deleted"
                )
            ).first()
            if deleted is not None and json.loads(deleted[0]) in (1, True):
                self._record_conflict(
                    conn,
                    seq,
                    table,
                    record_id,
                    field,
                    (value, stamp),
                    (None, ""),
                    caller,
                    kind="edited after delete",
                )

    def _record_conflict(
        self,
        conn: Connection,
        seq: SeqCounter,
        table: str,
        record_id: str,
        field: str,
        kept: tuple[Any, str],
        lost: tuple[Any, str],
        caller: Caller | None,
        kind: str | None = None,
    ) -> None:
        conflict_id = str(uuid.uuid5(CONFLICT_NS, f"{record_id}/{field}/{lost[1]}/{kept[1]}"))
        if conn.execute(
            select(field_state.c.stamp).where(field_state.c.record_id == conflict_id)
        ).first():
            return
        rec = conn.execute(
            select(records.c.participant_id, records.c.owner_id).where(
                records.c.record_id == record_id
            )
        ).first()
        lost_by = ""
        if lost[1]:
            row = conn.execute(select(changes.c.user_id).where(changes.c.stamp == lost[1])).first()
            lost_by = row[0] if row else (caller.user_id if caller else "")
        fields = {
            "deleted": 0,
            "table_name": table,
            "target_id": record_id,
            "field": field,
            "participant_id": rec[0] if rec else "",
            "owner_id": rec[1] if rec else "",
            "kind": kind or merge.conflict_kind(table, field),
            "kept_value": _dump(kept[0]),
            "kept_stamp": kept[1],
            "lost_value": _dump(lost[0]),
            "lost_stamp": lost[1],
            "lost_by_id": lost_by,
            "detected_at": _now_iso(),
            "status": "open",
        }
        for name, v in fields.items():
            self._merge_field(
                conn, seq, "conflicts", conflict_id, name, v, self.hlc.now(), None, None
            )

    def server_write(self, conn: Connection, table: str, record_id: str, fields: dict) -> None:
        """Write fields as the server itself (admin commands: users, reassignment),
        with fresh server stamps, through the same merge and index as pushed changes."""
        seq = SeqCounter(conn)
        for name, value in fields.items():
            if name not in rules.TABLES[table]:
                raise ValueError(f"unknown field {table}.{name}")
            cur = conn.execute(
                select(field_state.c.stamp).where(
                    field_state.c.record_id == record_id, field_state.c.field == name
                )
            ).first()
            self._merge_field(
                conn,
                seq,
                table,
                record_id,
                name,
                value,
                self.hlc.now(),
                cur[0] if cur else None,
                None,
            )
        seq.save()

    # -- record index and scope ------------------------------------------------

    def _record_fields(self, conn: Connection, record_id: str) -> dict[str, Any]:
        rows = conn.execute(
            select(field_state.c.field, field_state.c.value).where(
                field_state.c.record_id == record_id
            )
        )
        return {f: (json.loads(v) if v is not None else None) for f, v in rows}

    def _index(
        self, conn: Connection, seq: SeqCounter, table: str, record_id: str, field: str, value: Any
    ) -> None:
        row = conn.execute(select(records).where(records.c.record_id == record_id)).first()
        if row is None:
            conn.execute(records.insert().values(record_id=record_id, table_name=table))
        changes_to: dict[str, Any] = {}
        if rules.PARTICIPANT_LINK.get(table) == field or (table == "participants" and row is None):
            changes_to["participant_id"] = record_id if table == "participants" else (value or "")
        if rules.OWNER_LINK.get(table) == field:
            changes_to["owner_id"] = value or ""
        if table == "users" and row is None:
            changes_to["owner_id"] = record_id
        if table == "encounters" and field == "status":
            changes_to["status"] = value or ""
        if table == "addenda" and field == "encounter_id":
            enc = conn.execute(
                select(records.c.participant_id).where(records.c.record_id == value)
            ).first()
            changes_to["participant_id"] = enc[0] if enc else ""
        if changes_to:
            conn.execute(
                update(records).where(records.c.record_id == record_id).values(**changes_to)
            )
        if table == "participants" and field == "assigned_specialist_id":
            self._assign(conn, seq, record_id, value or "")

    def _assign(self, conn: Connection, seq: SeqCounter, participant_id: str, to: str) -> None:
        row = conn.execute(
            select(assignments.c.specialist_id).where(
                assignments.c.participant_id == participant_id
            )
        ).first()
        before = row[0] if row else ""
        if before == to:
            return
        if row is None:
            conn.execute(
                assignments.insert().values(participant_id=participant_id, specialist_id=to)
            )
        else:
            conn.execute(
                update(assignments)
                .where(assignments.c.participant_id == participant_id)
                .values(specialist_id=to)
            )
        affected: set[tuple[str, bool]] = set()
        for uid, granted in ((before, False), (to, True)):
            if not uid:
                continue
            affected.add((uid, granted))
            sup = conn.execute(select(users.c.supervisor_id).where(users.c.id == uid)).first()
            if sup and sup[0]:
                affected.add((sup[0], granted))
        # a supervisor of both keeps access: no revoke for them
        granted_to = {u for u, g in affected if g}
        for uid, granted in sorted(affected):
            if not granted and uid in granted_to:
                continue
            conn.execute(
                access_log.insert().values(
                    seq=seq.next(), participant_id=participant_id, user_id=uid, granted=granted
                )
            )

    def _scope_problem(
        self,
        conn: Connection,
        scope: Scope,
        caller: Caller,
        ch: PushChange,
        known: dict[str, Any],
        current: dict[str, Any],
    ) -> str | None:
        if ch.table not in rules.TABLES:
            return "unknown record type"
        role = caller.role
        if role == "admin" or ch.table in GLOBAL_TABLES:
            return None  # field permissions decide
        if ch.table == "participants":
            assigned = conn.execute(
                select(assignments.c.specialist_id).where(
                    assignments.c.participant_id == ch.record_id
                )
            ).first()
            if assigned is not None:
                return None if assigned[0] in scope.team else "not in your caseload"
            if role != "specialist":
                return "only specialists add participants"
            if known.get("assigned_specialist_id") != caller.user_id:
                return "a new participant must be assigned to you"
            return None
        participant = None
        link = rules.PARTICIPANT_LINK.get(ch.table)
        if link:
            participant = known.get(link)
        elif ch.table == "addenda":
            enc_id = known.get("encounter_id")
            rec = conn.execute(
                select(records.c.participant_id).where(records.c.record_id == enc_id)
            ).first()
            participant = rec[0] if rec else None
        if participant:
            if role == "billing":
                return (
                    None
                    if current.get("status") in ("approved", "billed")
                    else ("billing sees approved services only")
                )
            return None if scope.sees_participant(participant) else "not in your caseload"
        owner_field = rules.OWNER_LINK.get(ch.table)
        if owner_field:
            owner = known.get(owner_field)
            if ch.table == "supervision_sessions":
                specs = known.get("specialist_ids") or "[]"
                members = set(json.loads(specs)) if isinstance(specs, str) else set()
                if owner == caller.user_id or caller.user_id in members:
                    return None
                return "not your supervision session"
            return None if owner in scope.team else "not your record"
        return "the record it belongs to is missing"

    # -- pull ------------------------------------------------------------------

    def _pull(
        self, conn: Connection, scope: Scope, cursor: int, limit: int, top: int
    ) -> tuple[list[PulledRecord], int, bool, list[str]]:
        """``top`` is the highest seq handed out; the counter lock is held, so
        every seq up to it is visible here and none below it can appear later."""
        caller = scope.caller
        visible = self._visible_clause(scope)
        q = (
            select(
                field_state.c.table_name,
                field_state.c.record_id,
                field_state.c.field,
                field_state.c.value,
                field_state.c.stamp,
                field_state.c.seq,
            )
            .select_from(field_state.join(records, records.c.record_id == field_state.c.record_id))
            .where(field_state.c.seq > cursor)
            .where(~field_state.c.stamp.endswith("." + caller.device_id))  # it has its own
            .order_by(field_state.c.seq)
            .limit(limit + 1)
        )
        if visible is not None:
            q = q.where(visible)
        rows = conn.execute(q).all()
        more = len(rows) > limit
        rows = rows[:limit]
        # Without more pages everything up to ``top`` has been seen.
        new_cursor = rows[-1][5] if more else max(top, cursor)

        # Access changes since the cursor: whole records of newly visible
        # participants; ids of those that left.
        evict: list[str] = []
        extra: list[Any] = []
        if caller.role not in ("admin", "billing"):
            log = conn.execute(
                select(access_log.c.participant_id, access_log.c.granted, access_log.c.seq)
                .where(
                    access_log.c.user_id == caller.user_id,
                    access_log.c.seq > cursor,
                    access_log.c.seq <= new_cursor,
                )
                .order_by(access_log.c.seq)
            ).all()
            last: dict[str, bool] = {}
            for pid, granted, _s in log:
                last[pid] = bool(granted)
            now_visible = scope.participant_ids()
            gained = [p for p, g in last.items() if g and p in now_visible]
            evict = sorted(p for p, g in last.items() if not g and p not in now_visible)
            if gained:
                extra = conn.execute(
                    select(
                        field_state.c.table_name,
                        field_state.c.record_id,
                        field_state.c.field,
                        field_state.c.value,
                        field_state.c.stamp,
                        field_state.c.seq,
                    )
                    .select_from(
                        field_state.join(records, records.c.record_id == field_state.c.record_id)
                    )
                    .where(records.c.participant_id.in_(gained))
                ).all()
        return _group(list(rows) + list(extra)), new_cursor, more, evict

    def _current(self, conn: Connection, scope: Scope, record_ids: list[str]) -> list[PulledRecord]:
        q = (
            select(
                field_state.c.table_name,
                field_state.c.record_id,
                field_state.c.field,
                field_state.c.value,
                field_state.c.stamp,
                field_state.c.seq,
            )
            .select_from(field_state.join(records, records.c.record_id == field_state.c.record_id))
            .where(field_state.c.record_id.in_(record_ids))
        )
        visible = self._visible_clause(scope)
        if visible is not None:
            q = q.where(visible)
        return _group(conn.execute(q).all())

    def _visible_clause(self, scope: Scope):
        caller = scope.caller
        if caller.role == "admin":
            return None
        is_global = records.c.table_name.in_(GLOBAL_TABLES)
        if caller.role == "billing":
            approved_participants = select(records.c.participant_id).where(
                records.c.table_name == "encounters",
                records.c.status.in_(("approved", "billed")),
            )
            return or_(
                is_global,
                and_(
                    records.c.table_name == "encounters",
                    records.c.status.in_(("approved", "billed")),
                ),
                and_(
                    records.c.table_name == "participants",
                    records.c.record_id.in_(approved_participants),
                ),
            )
        team = sorted(scope.team)
        in_caseload = records.c.participant_id.in_(
            select(assignments.c.participant_id).where(assignments.c.specialist_id.in_(team))
        )
        owned = and_(records.c.participant_id == "", records.c.owner_id.in_(team))
        clauses = [is_global, in_caseload, owned]
        if caller.role == "specialist":
            sessions = select(field_state.c.record_id).where(
                field_state.c.table_name == "supervision_sessions",
                field_state.c.field == "specialist_ids",
                field_state.c.value.like(f"%{caller.user_id}%"),
            )
            clauses.append(records.c.record_id.in_(sessions))
        return or_(*clauses)


def _batch_fields(chs: Iterable[PushChange]) -> dict[str, dict[str, Any]]:
    """The values a batch gives each record (latest stamp wins), to place new records."""
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    for ch in sorted(chs, key=lambda c: c.stamp):
        out[ch.record_id][ch.field] = ch.value
    return out


def _group(rows: list[Any]) -> list[PulledRecord]:
    by_record: dict[str, tuple[str, dict[str, tuple[Any, str]]]] = {}
    for table, record_id, field, value, stamp, _seq in rows:
        entry = by_record.setdefault(record_id, (table, {}))
        entry[1][field] = (json.loads(value) if value is not None else None, stamp)
    return [
        PulledRecord(table=t, record_id=rid, fields=fields)
        for rid, (t, fields) in by_record.items()
    ]
