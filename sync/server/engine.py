"""The server's sync engine: apply a device's pushed changes and answer its pull.

Storage-neutral (SQLAlchemy Core; SQLite or PostgreSQL). One ``sync`` call is one
write transaction:

1. lock the ``seq`` counter row (so sequence numbers are handed out in commit
   order and a cursor never skips a change that commits late);
2. for each pushed change, in stamp order: answer a duplicate as before, check
   scope and field permission (sync.merge.permission_problem); judge each note's
   decisions before the loop (so stamp order does not matter): a status move must
   be allowed and made on the note's content (its hash), else it is refused with
   its decision fields and kept as a conflict, and a later review decision
   overturns an earlier concurrent one whole; re-stamp a stamp far in the future
   (and map a base that was re-stamped), merge it (sync.merge.decide), record a
   conflict for a concurrent loser or an edit of a deleted record (also when the
   delete arrives after edits its device had not seen), keep the change in
   ``changes``, and check the signature invariant on the notes it touched;
3. pull: every visible field whose ``seq`` is past the cursor, grouped by record,
   plus whole records of participants newly assigned to this user and the ids of
   participants that left this user's caseload.
"""

from __future__ import annotations

import functools
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, bindparam, exists, or_, select, text, update
from sqlalchemy.engine import Connection

from sync import content, digests, merge, rules
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
from sync.schema import FIELDS, validate_field
from sync.server import digest_sums, replicas, trust
from sync.server.sql import chunks as _chunks
from sync.server.sql import executemany as _executemany
from sync.server.sql import ids
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

# What a pull sends of a field (and seq, for the cursor).
PULL_COLUMNS = (
    field_state.c.table_name,
    field_state.c.record_id,
    field_state.c.field,
    field_state.c.value,
    field_state.c.stamp,
    field_state.c.seq,
)
# The statements every sync runs, built once (sync.server.sql).
_SEQ = select(counters.c.value).where(counters.c.name == "seq")
_SEQ_LOCKED = _SEQ.with_for_update()
_SEQ_SAVE = update(counters).where(counters.c.name == "seq").values(value=bindparam("v"))
_FIELDS_OF = select(
    field_state.c.record_id,
    field_state.c.field,
    field_state.c.table_name,
    field_state.c.value,
    field_state.c.stamp,
    field_state.c.base,
    field_state.c.seq,
).where(field_state.c.record_id.in_(ids()))
_RECORDS_OF = select(
    records.c.record_id,
    records.c.table_name,
    records.c.participant_id,
    records.c.owner_id,
    records.c.status,
).where(records.c.record_id.in_(ids()))
_SEEN = select(changes.c.stamp, changes.c.origin_stamp).where(changes.c.origin_stamp.in_(ids()))
_SEEN_REJECTED = select(rejected.c.stamp, rejected.c.reason).where(rejected.c.stamp.in_(ids()))
_ASSIGNED = select(assignments.c.participant_id, assignments.c.specialist_id).where(
    assignments.c.participant_id.in_(ids())
)
_SUPERVISOR = select(users.c.supervisor_id).where(users.c.id == bindparam("id"))
_TEAM = select(users.c.id).where(users.c.supervisor_id == bindparam("id"))
_CASELOAD = select(assignments.c.participant_id).where(assignments.c.specialist_id.in_(ids()))
_CHANGE_USER = select(changes.c.user_id).where(changes.c.stamp == bindparam("stamp"))
_FS_INSERT = field_state.insert()
_FS_UPDATE = (
    update(field_state)
    .where(
        field_state.c.record_id == bindparam("k_rid"),
        field_state.c.field == bindparam("k_field"),
    )
    .values(value=bindparam("v"), stamp=bindparam("st"), base=bindparam("b"), seq=bindparam("sq"))
)
_RECORDS_INSERT = records.insert()
_RECORDS_UPDATE = (
    update(records)
    .where(records.c.record_id == bindparam("k_rid"))
    .values(participant_id=bindparam("p"), owner_id=bindparam("o"), status=bindparam("s"))
)
_ASSIGN_INSERT = assignments.insert()
_ASSIGN_UPDATE = (
    update(assignments)
    .where(assignments.c.participant_id == bindparam("k_pid"))
    .values(specialist_id=bindparam("s"))
)
_LOG_INSERTS = (changes.insert(), rejected.insert(), access_log.insert())
log = logging.getLogger("sync.server")
CONFLICT_NS = uuid.UUID("6f1c8a52-3c0e-4a43-9a7f-5b8f3e1d2c90")
GLOBAL_TABLES = ("users", "payers", "billing_providers", "billing_batches")
UNDELIVERED = "undelivered"  # a conflict holding a change refused for a record's new owner


@dataclass(frozen=True)
class Caller:
    user_id: str
    role: str
    device_id: str


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


_dump_text = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]


def _dump(value: Any) -> str:
    """``json.dumps(value, separators=(",", ":"))``, without its overhead for the
    scalars every change carries (the same text: ASCII, escaped the same way)."""
    kind = type(value)
    if kind is str:
        return _dump_text(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return int.__repr__(value)
    return json.dumps(value, separators=(",", ":"))


class SeqCounter:
    """Hands out seq numbers inside the locked transaction."""

    def __init__(self, conn: Connection, lock: bool = True) -> None:
        self.conn = conn
        row = conn.execute(_SEQ_LOCKED if lock else _SEQ).first()
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
            self.conn.execute(_SEQ_SAVE, {"v": self.value})


class Working:
    """The part of the server's state one sync touches, in memory.

    Loaded with a handful of IN queries for every record the batch names, changed
    in memory while the batch is merged, and written back with bulk statements
    (executemany) at the end: a sync costs a few dozen statements, not several per
    change."""

    def __init__(self, conn: Connection, seq: SeqCounter) -> None:
        self.conn = conn
        self.seq = seq
        self.fs: dict[tuple[str, str], list[Any]] = {}  # key -> [table, value, stamp, base, seq]
        self.fs_new: set[tuple[str, str]] = set()
        self.fs_orig: dict[tuple[str, str], str] = {}  # stamps as loaded (digest sums)
        self.recs_orig: dict[str, tuple[str, str]] = {}  # placement as loaded
        self.fs_dirty: set[tuple[str, str]] = set()
        self.by_record: dict[str, set[str]] = defaultdict(set)
        self.loaded: set[str] = set()
        self.recs: dict[str, dict[str, str]] = {}
        self.recs_new: set[str] = set()
        self.recs_dirty: set[str] = set()
        self.assign: dict[str, str | None] = {}
        self.assign_new: set[str] = set()
        self.assign_dirty: set[str] = set()
        self.new_changes: list[dict[str, Any]] = []
        self.new_rejected: list[dict[str, Any]] = []
        self.new_access: list[dict[str, Any]] = []
        self.seen_origin: dict[str, str] = {}
        self.seen_rejected: dict[str, str] = {}
        self.change_user: dict[str, str] = {}
        self.parsed: dict[str, dict[str, Any]] = {}
        self.supervisors: dict[str, str] = {}
        self.refused_decisions: dict[str, str] = {}  # note id -> why its status move is refused
        # note id -> the stamp of a status move that overturns a concurrent decision
        self.overturn: dict[str, str] = {}
        # note id -> the push's decision fields of that note: field -> (value, stamp)
        self.decisions: dict[str, dict[str, tuple[Any, str]]] = {}
        self.cursor = 0  # the pushing device's cursor: what it had seen
        self.signature_problems: list[str] = []  # notes whose hash does not match

    # -- loading -------------------------------------------------------------------

    def load(self, record_ids: Iterable[str]) -> None:
        todo = sorted(set(record_ids) - self.loaded)
        for chunk in _chunks(todo):
            self.loaded.update(chunk)
            for rid, f, t, v, st, b, sq in self.conn.execute(_FIELDS_OF, {"ids": chunk}):
                self.fs[(rid, f)] = [t, v, st, b, sq]
                self.fs_orig[(rid, f)] = st
                self.by_record[rid].add(f)
            for rid, table, participant, owner, status in self.conn.execute(
                _RECORDS_OF, {"ids": chunk}
            ):
                self.recs[rid] = {
                    "table_name": table,
                    "participant_id": participant,
                    "owner_id": owner,
                    "status": status,
                }
                self.recs_orig[rid] = (participant, owner)

    def load_pushed(self, chs: list[PushChange], place: list[PushChange] | None = None) -> None:
        """What the server has of a push: its stamps seen before (all of ``chs``) and
        the records, notes and assignments that ``place`` (the changes whose values
        are valid; default all) name."""
        stamps = [c.stamp for c in chs]
        # the device's own earlier changes that later ones are based on (a change
        # re-stamped by the server is based on the stamp it became)
        own = {c.stamp.rsplit(".", 1)[-1] for c in chs}
        stamps += sorted(
            {c.base for c in chs if c.base and c.base.rsplit(".", 1)[-1] in own} - set(stamps)
        )
        for chunk in _chunks(stamps):
            for st, origin in self.conn.execute(_SEEN, {"ids": chunk}):
                self.seen_origin[origin] = st
            for st, reason in self.conn.execute(_SEEN_REJECTED, {"ids": chunk}):
                self.seen_rejected[st] = reason
        chs = chs if place is None else place
        ids = {c.record_id for c in chs}
        # notes that new addenda hang on, so they can be placed
        ids |= {str(c.value) for c in chs if c.field == "encounter_id" and c.value}
        self.load(ids)
        participants = {rid for rid, r in self.recs.items() if r["table_name"] == "participants"}
        participants |= {c.record_id for c in chs if c.table == "participants"}
        participants |= {r["participant_id"] for r in self.recs.values() if r["participant_id"]}
        participants |= {
            str(c.value) for c in chs if c.field == "participant_id" and isinstance(c.value, str)
        }
        self.load_assignments(participants)

    def load_assignments(self, participant_ids: Iterable[str]) -> None:
        todo = sorted({p for p in participant_ids if p and p not in self.assign})
        for chunk in _chunks(todo):
            found = dict(self.conn.execute(_ASSIGNED, {"ids": chunk}).all())
            for pid in chunk:
                self.assign[pid] = found.get(pid)

    # -- reading --------------------------------------------------------------------

    def field(self, record_id: str, name: str) -> list[Any] | None:
        if record_id not in self.loaded:
            self.load([record_id])
        return self.fs.get((record_id, name))

    def record_fields(self, record_id: str) -> dict[str, Any]:
        """The record's current values (parsed once, kept current by set_field)."""
        if record_id not in self.parsed:
            if record_id not in self.loaded:
                self.load([record_id])
            self.parsed[record_id] = {
                f: (json.loads(row[1]) if row[1] is not None else None)
                for f in self.by_record.get(record_id, ())
                if (row := self.fs[(record_id, f)])
            }
        return self.parsed[record_id]

    def supervisor_of(self, user_id: str) -> str:
        if user_id not in self.supervisors:
            row = self.conn.execute(_SUPERVISOR, {"id": user_id}).first()
            self.supervisors[user_id] = row[0] if row else ""
        return self.supervisors[user_id]

    def assigned_to(self, participant_id: str) -> str | None:
        if participant_id not in self.assign:
            self.load_assignments([participant_id])
        return self.assign.get(participant_id)

    def user_of(self, stamp: str) -> str | None:
        if stamp in self.change_user:
            return self.change_user[stamp]
        row = self.conn.execute(_CHANGE_USER, {"stamp": stamp}).first()
        return row[0] if row else None

    # -- writing ----------------------------------------------------------------------

    def set_field(
        self,
        table: str,
        record_id: str,
        name: str,
        value: Any,
        value_json: str,
        stamp: str,
        base: str | None,
    ) -> None:
        key = (record_id, name)
        row = [table, value_json, stamp, base, self.seq.next()]
        if key in self.fs:
            if key not in self.fs_new:
                self.fs_dirty.add(key)
        else:
            self.fs_new.add(key)
            self.by_record[record_id].add(name)
        self.fs[key] = row
        if record_id in self.parsed:
            self.parsed[record_id][name] = value

    def record(self, record_id: str, table: str) -> dict[str, str]:
        if record_id not in self.loaded:
            self.load([record_id])
        if record_id not in self.recs:
            self.recs[record_id] = {
                "table_name": table, "participant_id": "", "owner_id": "", "status": ""
            }  # fmt: skip
            self.recs_new.add(record_id)
        return self.recs[record_id]

    def update_record(self, record_id: str, **values: str) -> None:
        self.recs[record_id].update(values)
        if record_id not in self.recs_new:
            self.recs_dirty.add(record_id)

    def set_assignment(self, participant_id: str, specialist_id: str) -> None:
        if self.assign.get(participant_id) is None and participant_id not in self.assign_new:
            self.assign_new.add(participant_id)
        elif participant_id not in self.assign_new:
            self.assign_dirty.add(participant_id)
        self.assign[participant_id] = specialist_id

    def flush(self) -> None:
        c = self.conn
        _executemany(
            c,
            _FS_INSERT,
            [
                {"record_id": k[0], "field": k[1], "table_name": r[0], "value": r[1],
                 "stamp": r[2], "base": r[3], "seq": r[4]}
                for k in sorted(self.fs_new) for r in [self.fs[k]]
            ],
        )  # fmt: skip
        _executemany(
            c,
            _FS_UPDATE,
            [
                {"k_rid": k[0], "k_field": k[1], "v": r[1], "st": r[2], "b": r[3], "sq": r[4]}
                for k in sorted(self.fs_dirty) for r in [self.fs[k]]
            ],
        )  # fmt: skip
        _executemany(
            c,
            _RECORDS_INSERT,
            [{"record_id": rid, **self.recs[rid]} for rid in sorted(self.recs_new)],
        )
        _executemany(
            c,
            _RECORDS_UPDATE,
            [
                {"k_rid": rid, "p": r["participant_id"], "o": r["owner_id"], "s": r["status"]}
                for rid in sorted(self.recs_dirty) for r in [self.recs[rid]]
            ],
        )  # fmt: skip
        _executemany(
            c,
            _ASSIGN_INSERT,
            [
                {"participant_id": p, "specialist_id": self.assign[p]}
                for p in sorted(self.assign_new)
            ],
        )
        _executemany(
            c,
            _ASSIGN_UPDATE,
            [{"k_pid": p, "s": self.assign[p]} for p in sorted(self.assign_dirty)],
        )
        digest_sums.apply(c, self._digest_deltas())
        for stmt, rows in zip(
            _LOG_INSERTS, (self.new_changes, self.new_rejected, self.new_access), strict=True
        ):
            _executemany(c, stmt, rows)
        self.seq.save()

    def _digest_deltas(self) -> digest_sums.Deltas:
        """How this batch moves the scope digest's sums: each changed field's old
        contribution out, its new one in; a record that moved to another bucket
        (a new participant or owner) moves all its fields."""
        d = digest_sums.new_deltas()
        touched: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for key in self.fs_new | self.fs_dirty:
            touched[key[0]].append(key)
        for rid in self.recs_dirty:
            touched.setdefault(rid, [])
        for rid, keys in touched.items():
            rec = self.recs.get(rid)
            if rec is None:
                continue
            table = rec["table_name"]
            new_b = digest_sums.bucket_of(table, rid, rec["participant_id"], rec["owner_id"])
            orig = self.recs_orig.get(rid)
            old_b = digest_sums.bucket_of(table, rid, *orig) if orig else new_b
            if old_b != new_b:
                keys = [(rid, f) for f in self.by_record.get(rid, ())]
            for key in keys:
                before = self.fs_orig.get(key)
                if before is not None:
                    digest_sums.add(d, old_b, table, rid, key[1], before, -1)
                digest_sums.add(d, new_b, table, rid, key[1], self.fs[key][2], +1)
        return d


@dataclass(frozen=True)
class Pushed:
    """What ``SyncEngine.push`` did, for ``SyncEngine.pull`` to answer."""

    accepted: list[str]
    refused: list[Rejected]
    restamped: list[Restamped]
    top: int  # the highest seq handed out when the push committed
    created: frozenset[str]  # participants this push created (the device has them)
    now_ms: int
    reset: str = ""  # sync.server.replicas.check: "", "replica" or "server"
    replica: str = ""  # the token for the reply
    server_id: str = ""
    epoch: int = 0
    digest: str = ""  # the caller's scope digest as of ``top`` (when asked)


class Scope:
    """Who may see and write which records, for one caller."""

    def __init__(self, conn: Connection, caller: Caller) -> None:
        self.conn = conn
        self.caller = caller
        self.team: set[str] = {caller.user_id}
        if caller.role == "supervisor":
            self.team |= {r[0] for r in conn.execute(_TEAM, {"id": caller.user_id})}

    def participant_ids(self) -> set[str]:
        if self.caller.role in ("admin", "billing"):
            return set()  # not by caseload
        rows = self.conn.execute(_CASELOAD, {"ids": sorted(self.team)})
        return {r[0] for r in rows}

    def params(self) -> dict[str, Any]:
        """The bind parameters of ``visible_clause(self.caller.role)``."""
        return {"team": sorted(self.team), "member": f"%{self.caller.user_id}%"}


class SyncEngine:
    def __init__(self, hlc: HybridLogicalClock) -> None:
        self.hlc = hlc

    # -- push -----------------------------------------------------------------

    def sync(self, conn: Connection, caller: Caller, req: SyncRequest, now_ms: int) -> SyncResponse:
        """Push and pull on one connection (the in-process harness, tools). The server
        commits the push first and pulls afterwards (see ``push`` and ``pull``)."""
        return self.pull(conn, caller, req, self.push(conn, caller, req, now_ms))

    def push(self, conn: Connection, caller: Caller, req: SyncRequest, now_ms: int) -> Pushed:
        """Apply the pushed changes. This holds the ``seq`` counter row locked until the
        caller commits, so keep the transaction to this (and commit before pulling)."""
        # Nothing to write: the committed counter is a safe top, no lock needed.
        chs = req.changes
        trust.check_stamps(caller.device_id, chs)  # a forged stamp: nothing is stored
        seq = SeqCounter(conn, lock=bool(chs))
        server_id, epoch = replicas.identity(conn)
        reset = replicas.check(conn, caller.device_id, req.replica, req.cursor, seq.value)
        if reset == "replica":
            # An older copy of this vault: nothing it sends is applied until it has
            # re-pulled (its changes stay in its outbox and come again).
            token = replicas.issue(conn, caller.device_id, "", seq.value)
            return Pushed(
                [], [], [], seq.value, frozenset(), now_ms, reset, token, server_id, epoch
            )
        scope = Scope(conn, caller)
        w = Working(conn, seq)
        # Trust boundary (sync.server.trust): values first, before any of them is
        # used to load or place a record; then identity, authorship, completeness.
        untrusted = trust.value_problems(chs)
        w.load_pushed(chs, [c for c in chs if c.stamp not in untrusted])
        w.cursor = req.cursor
        untrusted |= self._identity_step(w, caller, chs, untrusted)
        valid = [c for c in chs if c.stamp not in untrusted]
        w.refused_decisions = self._refused_decisions(w, caller, valid)
        accepted: list[str] = []
        refused: list[Rejected] = []
        restamped: list[Restamped] = []
        batch = _batch_fields(valid)
        b = _Batch(now_ms=now_ms, now_iso=_now_iso(), fields=batch)
        # The clock moves past every stamp it keeps, once (it only keeps the greatest).
        in_time = [c.stamp for c in chs if c.stamp[:12] <= b.future_hex]
        if in_time:
            self.hlc.observe(max(in_time))
        for ch in sorted(chs, key=_by_stamp):
            outcome = self._apply_one(w, scope, caller, ch, b, untrusted.get(ch.stamp))
            if isinstance(outcome, Rejected):
                refused.append(outcome)
            else:
                accepted.append(ch.stamp)
                if outcome is not None:
                    restamped.append(outcome)
        self._check_signatures(w, chs)
        w.flush()
        created = frozenset(p for p in w.assign_new if w.assign[p] == caller.user_id)
        token = replicas.issue(conn, caller.device_id, req.replica, seq.value)
        digest = self._scope_digest(conn, scope, seq) if req.check else ""
        return Pushed(
            accepted, refused, restamped, seq.value, created, now_ms,
            reset, token, server_id, epoch, digest,
        )  # fmt: skip

    def _scope_digest(self, conn: Connection, scope: Scope, seq: SeqCounter) -> str:
        """The caller's scope digest as of ``seq.value`` (sync.server.digest_sums);
        "" for billing (its scope is not by records) and when another push committed
        meanwhile (a push that wrote holds the counter; one that did not may not)."""
        if scope.caller.role == "billing":
            return ""
        buckets = digest_sums.caller_buckets(
            conn, scope.caller.role, scope.caller.user_id, scope.team, scope.participant_ids()
        )
        digest = digest_sums.scope(conn, buckets)
        if seq.start == seq.value and SeqCounter(conn, lock=False).value != seq.value:
            return ""
        return digest

    def pull(self, conn: Connection, caller: Caller, req: SyncRequest, p: Pushed) -> SyncResponse:
        """The answer: what changed since the cursor, up to ``p.top``. Every seq up to
        ``p.top`` was committed when the push committed, so this may run in a later
        (read-only) transaction; rows written since are left for the next sync."""
        scope = Scope(conn, caller)
        accepted, refused = p.accepted, p.refused
        heal = {"server_id": p.server_id, "epoch": p.epoch, "top": p.top, "replica": p.replica}
        if p.reset in ("replica", "server"):
            # The device starts again from cursor 0 (with its own changes) and repairs.
            return SyncResponse(
                protocol=PROTOCOL_VERSION, server_time_ms=p.now_ms, accepted=accepted,
                accepted_all=p.reset != "replica",  # an older copy's push was not applied
                rejected=refused, restamped=p.restamped,
                cursor=0, reset=p.reset, **heal,
            )  # fmt: skip
        cursor_in = req.cursor
        records_out, cursor, more, evict = self._pull(
            conn, scope, cursor_in, req.pull_limit, p.top, p.created,
            own=req.full or p.reset == "recent",
        )  # fmt: skip
        if req.want:
            records_out += self._current(conn, scope, list(req.want))
        if req.digests:
            fs = field_state.c
            q = self._scoped(scope, p.top, fs.record_id, fs.field, fs.stamp)
            heal["record_digests"] = digests.records(conn.execute(q))
        if not more and p.digest:
            heal["digest"] = p.digest
        # A refused change leaves the device's copy different from the server's:
        # send the server's current value of each refused field so the device can
        # put it back (it keeps the refused change, with the reason, to show). Only
        # those fields: the device has the rest of the record already.
        refused_stamps = {r.stamp for r in refused}
        refused_fields: dict[str, set[str]] = {}
        for c in req.changes:
            if c.stamp in refused_stamps:
                refused_fields.setdefault(c.record_id, set()).add(c.field)
        if refused_fields:
            current = self._current(conn, scope, sorted(refused_fields))
            records_out += _only_fields(current, refused_fields)
        return SyncResponse(
            protocol=PROTOCOL_VERSION,
            server_time_ms=p.now_ms,
            accepted=accepted,
            accepted_all=True,
            rejected=refused,
            restamped=p.restamped,
            records=records_out,
            evict=evict,
            cursor=cursor,
            more=more,
            **heal,
        )

    def _check_signatures(self, w: Working, chs: list[PushChange]) -> None:
        """The invariant, on every note this push touched: a signed, returned, approved
        or billed note's content hash is the hash of its content. The rules above keep
        it; a note that breaks it (written before they did) is logged by id."""
        notes = sorted({c.record_id for c in chs if c.table == "encounters"})
        for record_id in notes:
            problem = content.hash_problem(w.record_fields(record_id))
            if problem is not None:
                w.signature_problems.append(record_id)
                log.warning("signature invariant broken on note %s: %s", record_id, problem)

    def _scoped(self, scope: Scope, top: int, *columns: Any):
        """A query of ``columns`` over every field the caller sees, up to ``top``
        (the repair's record digests; billing's too, after a reset)."""
        q = (
            select(*columns)
            .select_from(field_state.join(records, records.c.record_id == field_state.c.record_id))
            .where(field_state.c.seq <= top)
        )
        visible = visible_clause(scope.caller.role)
        if visible is None:
            return q
        # bound here: the caller runs the query as it is
        params = scope.params()
        return q.where(visible).params(team=params["team"], member=params["member"])

    def _apply_one(
        self,
        w: Working,
        scope: Scope,
        caller: Caller,
        ch: PushChange,
        b: _Batch,
        untrusted: str | None = None,
    ) -> Rejected | Restamped | None:
        # Idempotent: a change seen before gets the answer it got then.
        stamp = ch.stamp
        if stamp in w.seen_origin:
            prior = w.seen_origin[stamp]
            return Restamped(stamp=stamp, new_stamp=prior) if prior != stamp else None
        if stamp in w.seen_rejected:
            return Rejected(stamp=stamp, reason=w.seen_rejected[stamp])
        if untrusted is not None:  # refused at the trust boundary (push)
            return self._refuse(w, caller, ch, untrusted, b)

        current = w.record_fields(ch.record_id)
        key = (ch.table, ch.record_id)
        if key in b.scope:  # scope is a property of the record: checked once per batch
            reason = b.scope[key]
        else:
            reason = b.scope[key] = self._record_scope(w, scope, caller, ch, b, current)
        overturns = w.overturn.get(ch.record_id) == stamp
        if reason is None and not overturns:  # an overturning move was judged already
            reason = merge.permission_problem(
                caller.role,
                caller.user_id,
                ch.table,
                ch.field,
                ch.value,
                current,
                w.field(ch.record_id, ch.field) is not None,
            )
            if reason is not None:
                self._keep_refused_decision(w, caller, ch, reason)
        if reason is None and ch.table == "participants" and ch.field == "merged_into":
            reason = self._merge_target_problem(w, scope, caller, ch)
        if reason is None and merge.with_decision(ch.table, ch.field):
            reason = w.refused_decisions.get(ch.record_id)
        elif reason is None and ch.table == "encounters" and ch.field == "status":
            reason = w.refused_decisions.get(ch.record_id)
            if reason is not None:
                self._keep_refused_decision(w, caller, ch, reason)
        if reason is not None:
            self._keep_undelivered(w, caller, ch, reason, b)
            return self._refuse(w, caller, ch, reason, b)
        value_json = _dump(ch.value)

        restamp = None
        if stamp[:12] > b.future_hex or self._loses_overturn(w, ch):
            # merge.too_far_ahead, on the stamp's text; or a field of a decision that
            # overturns another whose own field happens to carry a later stamp
            stamp = self.hlc.now()
            restamp = Restamped(stamp=ch.stamp, new_stamp=stamp)
        # A base that was re-stamped (the device's own earlier edit, from a clock far
        # ahead) is the stamp it became: re-stamping never makes a device conflict
        # with itself.
        base = w.seen_origin.get(ch.base, ch.base) if ch.base else ch.base
        w.change_user[stamp] = caller.user_id
        loser = self._standing_decision(w, ch.record_id) if overturns else None
        # the fields of a decision that overturns another: one conflict for the pair
        quiet = ch.record_id in w.overturn and merge.with_decision(ch.table, ch.field)
        self._merge_field(
            w, ch.table, ch.record_id, ch.field, ch.value, stamp, base, caller, value_json,
            quiet=quiet or overturns,
        )  # fmt: skip
        if loser is not None:
            self._overturn(w, caller, ch, stamp, loser)
        w.new_changes.append(
            {
                "seq": w.seq.next(), "stamp": stamp, "origin_stamp": ch.stamp,
                "table_name": ch.table, "record_id": ch.record_id, "field": ch.field,
                "value": value_json, "base": base, "user_id": caller.user_id,
                "device_id": caller.device_id, "received_at": b.now_iso,
            }
        )  # fmt: skip
        w.seen_origin[ch.stamp] = stamp
        return restamp

    def _merge_target_problem(
        self, w: Working, scope: Scope, caller: Caller, ch: PushChange
    ) -> str | None:
        """A merge names another participant the server holds, in the caller's reach."""
        target = str(ch.value or "")
        if not target:
            return None  # undoing a merge
        if target == ch.record_id:
            return "merged_into: a record cannot be merged into itself"
        w.load([target])
        rec = w.recs.get(target)
        if rec is None or rec["table_name"] != "participants":
            return "merged_into: must name a participant"
        if caller.role == "admin":
            return None
        return None if w.assigned_to(target) in scope.team else "not in your caseload"

    def _refuse(
        self, w: Working, caller: Caller, ch: PushChange, reason: str, b: _Batch
    ) -> Rejected:
        """Keep a refused change, with its reason, and answer it."""
        w.new_rejected.append(
            {
                "stamp": ch.stamp, "table_name": ch.table, "record_id": ch.record_id,
                "field": ch.field, "value": _dump(ch.value), "user_id": caller.user_id,
                "device_id": caller.device_id, "reason": reason, "at": b.now_iso,
            }
        )  # fmt: skip
        w.seen_rejected[ch.stamp] = reason
        return Rejected(stamp=ch.stamp, reason=reason)

    def _identity_step(
        self, w: Working, caller: Caller, chs: list[PushChange], untrusted: dict[str, str]
    ) -> dict[str, str]:
        """Changes refused for who or what they claim to be (sync.server.trust): a
        record id named with another table than its own, an author field naming
        someone else, a new record without its required fields. {stamp: reason}"""
        live = [c for c in chs if c.stamp not in untrusted and c.stamp not in w.seen_origin]
        ids = {c.record_id for c in live}
        stored: dict[str, str] = {}
        for rid in ids:
            rec = w.recs.get(rid)
            if rec is not None:
                stored[rid] = rec["table_name"]
            elif w.by_record.get(rid):
                stored[rid] = w.fs[(rid, next(iter(w.by_record[rid])))][0]
        staff = self._staff_ids(w.conn, sorted(ids - set(stored)))
        out = trust.identity_problems(live, stored, staff)
        forged: dict[str, str] = {}  # new records with a forged author: refused whole
        for c in live:
            if c.stamp not in out:
                problem = trust.authorship_problem(
                    caller.role, caller.user_id, c.table, c.field, c.value
                )
                if problem is not None:
                    out[c.stamp] = problem
                    if c.record_id not in stored:
                        forged[c.record_id] = problem
        out |= {c.stamp: forged[c.record_id] for c in live if c.record_id in forged}
        out |= trust.reference_problems(
            [c for c in live if c.stamp not in out], self._tables_of(w, live, stored)
        )
        rest = [c for c in live if c.stamp not in out and c.stamp not in w.seen_rejected]
        out |= trust.missing_required(rest, lambda rid: rid not in stored)
        return out

    def _tables_of(
        self, w: Working, live: list[PushChange], stored: dict[str, str]
    ) -> dict[str, str]:
        """The table of every record id the pushed reference fields name: as the
        server holds it, else as this push creates it."""
        refs: set[str] = set()
        for c in live:
            spec = FIELDS.get(c.table, {}).get(c.field)
            if spec is not None and spec.ref:
                refs.update(trust.referenced_ids(spec, c.value))
        out = {c.record_id: c.table for c in live if c.record_id not in stored}
        out |= stored
        todo = sorted(refs - set(stored))
        for chunk in _chunks(todo):
            out |= dict(
                w.conn.execute(
                    select(records.c.record_id, records.c.table_name).where(
                        records.c.record_id.in_(chunk)
                    )
                ).all()
            )
        return out

    def _staff_ids(self, conn: Connection, ids: list[str]) -> set[str]:
        """Which of these ids are staff members (the server's accounts)."""
        found: set[str] = set()
        for chunk in _chunks(ids):
            found |= {r[0] for r in conn.execute(select(users.c.id).where(users.c.id.in_(chunk)))}
        return found

    def _refused_decisions(
        self, w: Working, caller: Caller, chs: list[PushChange]
    ) -> dict[str, str]:
        """Notes whose status move in this push is refused (id -> reason): the push's
        decision fields of those notes are refused with it, whatever their stamp order.
        Judged before the push is applied, on the note as it will be when the move is
        reached: the server's fields with the push's earlier content edits on top."""
        by_note: dict[str, list[PushChange]] = defaultdict(list)
        moved: set[str] = set()
        for ch in chs:
            new = ch.stamp not in w.seen_origin and ch.stamp not in w.seen_rejected
            if ch.table == "encounters" and new:
                by_note[ch.record_id].append(ch)
                if ch.field == "status":
                    moved.add(ch.record_id)
        out = {}
        for record_id in sorted(moved):
            notes = sorted(by_note[record_id], key=_by_stamp)
            w.decisions[record_id] = {
                c.field: (c.value, c.stamp) for c in notes if c.field in rules.NOTE_DECISION
            }
            reason = self._judge_decision(w, caller, record_id, notes)
            if reason is not None:
                out[record_id] = reason
        return out

    def _judge_decision(
        self, w: Working, caller: Caller, record_id: str, chs: list[PushChange]
    ) -> str | None:
        """Why the status moves among ``chs`` (one note's changes, in stamp order) are
        refused, else None. Each move must be allowed from the status it leaves and
        made on the content the note has then (sync.merge.decision_hash_problem)."""
        note = dict(w.record_fields(record_id))
        stamps = {
            f: w.fs[(record_id, f)][2] for f in w.by_record.get(record_id, ()) if f != "status"
        }
        decision = {f: v for f, (v, _s) in w.decisions.get(record_id, {}).items()}
        status = note.get("status") or "draft"
        first = True
        for ch in chs:
            if ch.field in rules.NOTE_CONTENT:
                # an edit that will be applied changes what a later move is made on
                editable = status == "draft" and caller.role in ("specialist", "admin")
                if editable and ch.stamp > stamps.get(ch.field, ""):
                    note[ch.field], stamps[ch.field] = ch.value, ch.stamp
                continue
            if ch.field != "status":
                continue
            if ch.value == status and not decision:
                continue  # nothing moves and nothing is decided
            before = status
            if first and (source := self._overturned_from(w, record_id, ch)) is not None:
                before = source
                w.overturn[record_id] = ch.stamp
            first = False
            problem = merge.permission_problem(
                caller.role, caller.user_id, "encounters", "status", ch.value,
                {**note, "status": before}, True,
            )  # fmt: skip
            if problem is not None:
                w.overturn.pop(record_id, None)
                return f"the review decision was refused whole: {problem}"
            problem = merge.decision_hash_problem(before, ch.value, decision, note)
            if problem is not None:
                w.overturn.pop(record_id, None)
                return problem
            status = note["status"] = ch.value
        return None

    def _overturned_from(self, w: Working, record_id: str, ch: PushChange) -> str | None:
        """The status a concurrent review decision moved the note from, when ``ch`` (a
        review decision made on that same status, without seeing the other) overturns
        it: review decisions race by stamp, the later one wins whole, whatever the
        order they reach the server in. None when ``ch`` does not overturn one."""
        cur = w.field(record_id, "status")
        if cur is None or ch.base is None or ch.base == cur[2] or cur[3] != ch.base:
            return None
        if ch.stamp <= cur[2] or ch.value not in merge.DECISION_SET:
            return None
        if (json.loads(cur[1]) if cur[1] else None) not in merge.DECISION_SET:
            return None
        row = w.conn.execute(
            select(changes.c.value).where(
                or_(changes.c.stamp == ch.base, changes.c.origin_stamp == ch.base)
            )
        ).first()
        source = json.loads(row[0]) if row and row[0] is not None else None
        return "signed" if source == "signed" else None

    def _loses_overturn(self, w: Working, ch: PushChange) -> bool:
        """A field of an overturning decision whose stamp is below the overturned
        decision's value of it (their stamps interleave): it must still win."""
        if ch.record_id not in w.overturn or ch.field not in rules.NOTE_DECISION:
            return False
        cur = w.field(ch.record_id, ch.field)
        return cur is not None and cur[2] > ch.stamp

    def _standing_decision(
        self, w: Working, record_id: str
    ) -> tuple[tuple[Any, str], tuple[Any, str] | None]:
        """The note's standing review decision (status, stamp) and its comment."""
        cur = w.fs[(record_id, "status")]
        comment = w.field(record_id, "review_comment")
        return (json.loads(cur[1]), cur[2]), (
            (json.loads(comment[1]), comment[2]) if comment else None
        )

    def _overturn(
        self,
        w: Working,
        caller: Caller,
        ch: PushChange,
        stamp: str,
        loser: tuple[tuple[Any, str], tuple[Any, str] | None],
    ) -> None:
        """After an overturning status move: the decision fields it does not write take
        the values its decision gives them (merge.DECISION_SET), so nothing of the
        overturned decision is left on the note, and the two decisions are kept as a
        conflict."""
        pushed = w.decisions.get(ch.record_id, {})
        for name, value in merge.DECISION_SET[ch.value].items():
            cur = w.field(ch.record_id, name)
            if name in pushed or cur is None or json.loads(cur[1]) == value:
                continue
            self._merge_field(
                w, "encounters", ch.record_id, name, value, self.hlc.now(), cur[2], None
            )
        self._decision_conflict(w, caller, ch.record_id, (ch.value, stamp), *loser)

    def _keep_refused_decision(
        self, w: Working, caller: Caller, ch: PushChange, reason: str = ""
    ) -> None:
        """A status move refused because the note changed, or because another decision
        reached the note first, is kept as a conflict on ``status`` (kept: the status
        that stands): every device that sees the note shows it."""
        if ch.table != "encounters" or ch.field != "status":
            return
        cur = w.field(ch.record_id, ch.field)
        if reason in (merge.SIGN_REFUSED, merge.REVIEW_REFUSED):
            # (a new note's status is left out while it is a draft, its default)
            kept = (json.loads(cur[1]), cur[2]) if cur is not None else ("draft", "")
            kind = merge.SIGN_AGAIN if ch.value == "signed" else "log"
            self._record_conflict(
                w, ch.table, ch.record_id, ch.field, kept, (ch.value, ch.stamp), caller, kind
            )
            return
        if cur is None:
            return
        kept = (json.loads(cur[1]) if cur[1] is not None else None, cur[2])
        decision = merge.decide(cur[2], cur[3], ch.stamp, ch.base)
        if merge.keeps_refused(ch.table, ch.field, decision):
            comment = w.decisions.get(ch.record_id, {}).get("review_comment")
            self._decision_conflict(
                w, caller, ch.record_id, kept, (ch.value, ch.stamp), comment or ("", ch.stamp)
            )

    def _decision_conflict(
        self,
        w: Working,
        caller: Caller | None,
        record_id: str,
        kept: tuple[Any, str],
        lost: tuple[Any, str],
        lost_comment: tuple[Any, str] | None,
    ) -> None:
        """Two review decisions met: the one that stands (``kept``: status, stamp) and
        the one that lost, kept as a conflict on ``status``; a losing return's comment
        is kept as a conflict on ``review_comment`` too (kept: the approval's empty
        comment). The same records whichever of the two reached the server first.
        The same decision made twice (two approvals) loses nothing: no conflict."""
        if kept[0] == lost[0]:
            return
        self._record_conflict(w, "encounters", record_id, "status", kept, lost, caller)
        if lost[0] == "returned" and lost_comment is not None:
            self._record_conflict(
                w, "encounters", record_id, "review_comment", ("", kept[1]), lost_comment,
                caller,
            )  # fmt: skip

    def _keep_undelivered(
        self, w: Working, caller: Caller, ch: PushChange, reason: str, b: _Batch
    ) -> None:
        """A change refused because its record is in another caseload now (the
        participant was reassigned while the writer worked offline) is kept as an
        "undelivered" conflict on that participant: the record's specialist and
        their supervisor see it and decide; the writer keeps it in their outbox."""
        if reason != "not in your caseload" or ch.table == "conflicts":
            return
        participant = self._participant_of(w, ch.table, ch.record_id, b)
        if not participant or w.assigned_to(participant) is None:
            return
        if not self._lost_access(w, caller, participant):
            return  # never the writer's: a plain refusal, no conflict for others to see
        cur = w.field(ch.record_id, ch.field)
        kept = (json.loads(cur[1]) if cur[1] is not None else None, cur[2]) if cur else (None, "")
        self._record_conflict(
            w, ch.table, ch.record_id, ch.field, kept, (ch.value, ch.stamp), caller,
            kind=UNDELIVERED, participant_id=participant,
        )  # fmt: skip

    def _lost_access(self, w: Working, caller: Caller, participant: str) -> bool:
        """Whether the caller once had this participant and has lost them (the
        access log's last entry for the pair is a removal)."""
        last = w.conn.execute(
            select(access_log.c.granted)
            .where(
                access_log.c.user_id == caller.user_id,
                access_log.c.participant_id == participant,
            )
            .order_by(access_log.c.seq.desc())
            .limit(1)
        ).first()
        return last is not None and not last[0]

    def _participant_of(self, w: Working, table: str, record_id: str, b: _Batch) -> str:
        """The participant a record belongs to: on the server, else as the batch places it."""
        if table == "participants":
            return record_id
        rec = w.recs.get(record_id)
        if rec and rec["participant_id"]:
            return rec["participant_id"]
        known = b.fields.get(record_id, {})
        link = rules.PARTICIPANT_LINK.get(table)
        if link and isinstance(known.get(link), str):
            return known[link]
        if table == "addenda" and known.get("encounter_id"):
            w.load([str(known["encounter_id"])])
            enc = w.recs.get(str(known["encounter_id"]))
            return enc["participant_id"] if enc else ""
        return ""

    def _record_scope(
        self,
        w: Working,
        scope: Scope,
        caller: Caller,
        ch: PushChange,
        b: _Batch,
        current: dict[str, Any],
    ) -> str | None:
        """May the caller write this record at all? Judged on the record as the server
        holds it (filled in from the batch for a new record) and, when the batch moves
        the record (a new participant, owner or note), on where it moves to: a record
        cannot be moved into or out of a caseload the caller does not have."""
        pushed = b.fields.get(ch.record_id, {})
        if current:
            # A record the server holds belongs where it is stored, whatever the push
            # claims: its link fields count only as a move, checked below.
            links = _LINK_FIELDS.get(ch.table, ())
            known = {**{k: v for k, v in pushed.items() if k not in links}, **current}
        else:
            known = pushed
        reason = self._scope_problem(w, scope, caller, ch.table, ch.record_id, known, current)
        if reason is None and current:
            after = {**current, **pushed}
            if any(after.get(f) != current.get(f) for f in _LINK_FIELDS.get(ch.table, ())):
                reason = self._scope_problem(
                    w, scope, caller, ch.table, ch.record_id, after, current
                )
        if reason == "not in your caseload" and current:
            after = {**current, **pushed}
            moved = any(after.get(f) != current.get(f) for f in _INDEXED.get(ch.table, ()))
            if not moved and self._left_unseen(w, caller, ch, known):
                return None
        return reason

    def _left_unseen(
        self, w: Working, caller: Caller, ch: PushChange, known: dict[str, Any]
    ) -> bool:
        """Whether the participant this record belongs to left the caller's caseload
        after the caller's device last pulled (its cursor) and after the change was
        written (by its stamp): the device wrote while the record was still in its
        caseload, so its edit stands, as it would have had it arrived before the
        reassignment (reassign and edit commute). The device drops the participant at
        the end of this same sync."""
        if caller.role != "specialist" or ch.field == "deleted":
            return False  # a delete from outside the caseload never stands (undelivered)
        table, record_id = ch.table, ch.record_id
        if table == "participants":
            pid = record_id
        elif table == "addenda":
            rec = w.recs.get(str(known.get("encounter_id") or ""))
            pid = rec["participant_id"] if rec else ""
        else:
            link = rules.PARTICIPANT_LINK.get(table)
            pid = str(known.get(link) or "") if link else ""
        if not pid:
            return False
        # the participant moved by a reassignment or by a merge (its merge group went
        # to the survivor's specialist: ``_place_group``)
        moves = [f[2] for f in (w.field(pid, "assigned_specialist_id"), w.field(pid, "merged_into"))
                 if f is not None]  # fmt: skip
        if not moves or ch.stamp >= max(moves):
            return False  # written after the reassignment (by its stamp)
        last = w.conn.execute(
            select(access_log.c.seq, access_log.c.granted)
            .where(access_log.c.user_id == caller.user_id, access_log.c.participant_id == pid)
            .order_by(access_log.c.seq.desc())
            .limit(1)
        ).first()
        if last is None or last[1]:
            return False
        # Unseen by the cursor the device claims and by what this server has sent it
        # (a device that was already sent the reassignment cannot back-date edits
        # past it by claiming an old cursor or old stamps).
        return last[0] > w.cursor and last[0] > replicas.issued_top(w.conn, caller.device_id)

    def _merge_field(
        self,
        w: Working,
        table: str,
        record_id: str,
        field: str,
        value: Any,
        stamp: str,
        base: str | None,
        caller: Caller | None,
        value_json: str | None = None,
        quiet: bool = False,
    ) -> None:
        """Merge one field (``quiet``: the caller keeps the conflict, if any)."""
        cur = w.field(record_id, field)
        # a new field has nothing to merge with
        decision = _NEW_FIELD if cur is None else merge.decide(cur[2], cur[3], stamp, base)
        if decision.outcome is merge.Outcome.DUPLICATE:
            return
        was_deleted = field == "deleted" and cur is not None and json.loads(cur[1]) in (1, True)
        if decision.applies:
            if value_json is None:
                value_json = _dump(value)
            w.set_field(table, record_id, field, value, value_json, stamp, base)
            self._index(w, table, record_id, field, value)
        if decision.concurrent and table != "conflicts" and cur is not None and not quiet:
            old = (json.loads(cur[1]) if cur[1] is not None else None, cur[2])
            kept, lost = ((value, stamp), old) if decision.applies else (old, (value, stamp))
            if kept[0] != lost[0]:  # two writes of the same value lose nothing
                self._record_conflict(w, table, record_id, field, kept, lost, caller)
        if table == "conflicts":
            return
        deleted = w.fs.get((record_id, "deleted"))
        if deleted is None or json.loads(deleted[1]) not in (1, True):
            return
        if field != "deleted":
            self._after_delete(w, table, record_id, field, deleted[2], caller)
        elif decision.applies and not was_deleted and caller is not None:
            # A delete that arrives after edits its writer had not seen (they reached
            # the server after the device's cursor, from other devices): the same
            # conflicts as when the delete arrives first and the edits after it.
            for name in sorted(w.by_record.get(record_id, ())):
                row = w.fs[(record_id, name)]
                if (
                    name != "deleted"
                    and row[4] > w.cursor
                    and not row[2].endswith("." + caller.device_id)
                ):
                    self._after_delete(w, table, record_id, name, stamp, caller)

    def _after_delete(
        self,
        w: Working,
        table: str,
        record_id: str,
        field: str,
        delete_stamp: str,
        caller: Caller | None,
    ) -> None:
        """An "edited after delete" conflict: one per field and delete, holding the
        field's value as it stands (the edit that came with or after the delete)."""
        cur = w.fs[(record_id, field)]
        kept = (json.loads(cur[1]) if cur[1] is not None else None, cur[2])
        key = f"{record_id}/{field}/{delete_stamp}/edited after delete"
        conflict_id = str(uuid.uuid5(CONFLICT_NS, key))
        w.load([conflict_id])
        if w.by_record.get(conflict_id):
            old = w.fs.get((conflict_id, "kept_stamp"))
            if old is not None and json.loads(old[1]) < kept[1]:
                for name, v in (("kept_value", _dump(kept[0])), ("kept_stamp", kept[1])):
                    prev = w.fs[(conflict_id, name)]
                    self._merge_field(
                        w, "conflicts", conflict_id, name, v, self.hlc.now(), prev[2], None
                    )
            return
        self._record_conflict(
            w, table, record_id, field, kept, (None, ""), caller,
            kind="edited after delete", conflict_id=conflict_id,
        )  # fmt: skip

    def _record_conflict(
        self,
        w: Working,
        table: str,
        record_id: str,
        field: str,
        kept: tuple[Any, str],
        lost: tuple[Any, str],
        caller: Caller | None,
        kind: str | None = None,
        conflict_id: str | None = None,
        participant_id: str | None = None,
    ) -> None:
        if conflict_id is None:
            key = f"{record_id}/{field}/{lost[1]}/{kept[1]}"
            conflict_id = str(uuid.uuid5(CONFLICT_NS, key))
        w.load([conflict_id])
        if w.by_record.get(conflict_id):
            if w.recs.get(conflict_id, {}).get("table_name", "conflicts") == "conflicts":
                return  # recorded before
            # a device took this id for another kind of record: never merge into it
            conflict_id = str(uuid.uuid4())
        rec = w.recs.get(record_id, {})
        lost_by = ""
        if lost[1]:
            lost_by = w.user_of(lost[1]) or (caller.user_id if caller else "")
        fields = {
            "deleted": 0,
            "table_name": table,
            "target_id": record_id,
            "field": field,
            "participant_id": participant_id or rec.get("participant_id", ""),
            "owner_id": rec.get("owner_id", ""),
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
            self._merge_field(w, "conflicts", conflict_id, name, v, self.hlc.now(), None, None)

    def server_write(self, conn: Connection, table: str, record_id: str, fields: dict) -> None:
        """Write fields as the server itself (admin commands: users, reassignment),
        with fresh server stamps, through the same merge and index as pushed changes."""
        w = Working(conn, SeqCounter(conn))
        for name, value in fields.items():
            problem = validate_field(table, name, value)
            if problem is not None:
                raise ValueError(f"{table}: {problem}")
            cur = w.field(record_id, name)
            self._merge_field(
                w, table, record_id, name, value, self.hlc.now(), cur[2] if cur else None, None
            )
        w.flush()

    def record_fields(self, conn: Connection, record_id: str) -> dict[str, Any]:
        return Working(conn, SeqCounter(conn)).record_fields(record_id)

    # -- record index and scope ------------------------------------------------

    def _index(self, w: Working, table: str, record_id: str, field: str, value: Any) -> None:
        rec = w.recs.get(record_id)
        if (
            rec is not None
            and field not in _INDEXED.get(table, ())
            and (rec["participant_id"] or rec["owner_id"] or record_id not in w.recs_new)
        ):
            return  # nothing about where the record belongs changes (most fields)
        rec = w.record(record_id, table)
        new = record_id in w.recs_new and not rec["participant_id"] and not rec["owner_id"]
        changes_to: dict[str, str] = {}
        if table == "participants" and new:
            changes_to["participant_id"] = record_id
        if table == "users" and new:
            changes_to["owner_id"] = record_id
        if rules.PARTICIPANT_LINK.get(table) == field and table != "participants":
            changes_to["participant_id"] = value or ""
        if rules.OWNER_LINK.get(table) == field and table != "users":
            changes_to["owner_id"] = value or ""
        if table == "encounters" and field == "status":
            changes_to["status"] = value or ""
        if table == "addenda" and field == "encounter_id":
            enc = w.recs.get(str(value)) if value else None
            if enc is None and value:
                w.load([str(value)])
                enc = w.recs.get(str(value))
            changes_to["participant_id"] = enc["participant_id"] if enc else ""
        if changes_to:
            w.update_record(record_id, **changes_to)
        if table == "participants" and field in ("assigned_specialist_id", "merged_into"):
            placed = record_id in w.recs_new and field == "assigned_specialist_id"
            self._place_group(w, record_id, placed, value)

    def _place_group(self, w: Working, participant_id: str, new: bool, value: Any) -> None:
        """A merged record is in the caseload of its survivor's specialist
        (``merge.survivor``), so whoever holds the kept record holds everything merged
        into it: every member of the participant's merge group is assigned (in
        ``assignments``, which scope, pulls and evictions read) to the specialist the
        survivor's ``assigned_specialist_id`` names. A participant in no group keeps
        its own assignment; a new one cannot be in a group yet."""
        if new:
            self._assign(w, participant_id, value or "")
            return
        members = self._merge_group(w, participant_id)
        edges = {m: str(w.record_fields(m).get("merged_into") or "") for m in members}
        top = merge.survivor(participant_id, edges)
        to = str(w.record_fields(top).get("assigned_specialist_id") or "")
        for member in sorted(members):
            if w.record_fields(member) or member == participant_id:
                self._assign(w, member, to)

    def _merge_group(self, w: Working, participant_id: str) -> set[str]:
        """Every participant linked to this one by ``merged_into``, either way
        (the stored values, with this push's on top)."""
        group = {participant_id}
        todo = [participant_id]
        while todo:
            pid = todo.pop()
            linked = set()
            target = w.record_fields(pid).get("merged_into")
            if target:
                linked.add(str(target))
            stored = w.conn.execute(
                select(field_state.c.record_id).where(
                    _MERGED_INTO,  # a literal: the partial index field_state_merged applies
                    field_state.c.table_name == "participants",
                    field_state.c.value == _dump(pid),
                )
            )
            linked |= {r[0] for r in stored}
            linked |= {k[0] for k in w.fs_new | w.fs_dirty if k[1] == "merged_into"}
            for other in sorted(linked - group):
                w.load_assignments([other])
                fields = w.record_fields(other)
                if other == target or fields.get("merged_into") == pid:
                    group.add(other)
                    todo.append(other)
        return group

    def _assign(self, w: Working, participant_id: str, to: str) -> None:
        before = w.assigned_to(participant_id) or ""
        if before == to:
            return
        w.set_assignment(participant_id, to)
        affected: set[tuple[str, bool]] = set()
        for uid, granted in ((before, False), (to, True)):
            if not uid:
                continue
            affected.add((uid, granted))
            sup = w.supervisor_of(uid)
            if sup:
                affected.add((sup, granted))
        # a supervisor of both keeps access: no revoke for them
        granted_to = {u for u, g in affected if g}
        for uid, granted in sorted(affected):
            if not granted and uid in granted_to:
                continue
            w.new_access.append(
                {"seq": w.seq.next(), "participant_id": participant_id, "user_id": uid,
                 "granted": granted}
            )  # fmt: skip

    def _scope_problem(
        self,
        w: Working,
        scope: Scope,
        caller: Caller,
        table: str,
        record_id: str,
        known: dict[str, Any],
        current: dict[str, Any],
    ) -> str | None:
        if table not in rules.TABLES:
            return "unknown record type"
        role = caller.role
        if role == "admin" or table in GLOBAL_TABLES:
            return None  # field permissions decide
        if table == "participants":
            assigned = w.assigned_to(record_id)
            if assigned is not None:
                return None if assigned in scope.team else "not in your caseload"
            if role != "specialist":
                return "only specialists add participants"
            if known.get("assigned_specialist_id") != caller.user_id:
                return "a new participant must be assigned to you"
            return None
        participant = None
        link = rules.PARTICIPANT_LINK.get(table)
        if link:
            participant = known.get(link)
        elif table == "addenda":
            enc_id = known.get("encounter_id")
            if enc_id:
                w.load([str(enc_id)])
            rec = w.recs.get(str(enc_id)) if enc_id else None
            participant = rec["participant_id"] if rec else None
        if participant:
            if role == "billing":
                return (
                    None
                    if current.get("status") in ("approved", "billed")
                    else ("billing sees approved services only")
                )
            assigned = w.assigned_to(str(participant))
            if assigned is not None and assigned in scope.team:
                return None
            return "not in your caseload"
        owner_field = rules.OWNER_LINK.get(table)
        if owner_field:
            owner = known.get(owner_field)
            if table == "supervision_sessions":
                members = _id_set(known.get("specialist_ids"))
                if owner == caller.user_id or caller.user_id in members:
                    return None
                return "not your supervision session"
            return None if owner in scope.team else "not your record"
        return "the record it belongs to is missing"

    # -- pull ------------------------------------------------------------------

    def _pull(
        self,
        conn: Connection,
        scope: Scope,
        cursor: int,
        limit: int,
        top: int,
        created: frozenset[str] = frozenset(),
        own: bool = False,
    ) -> tuple[list[PulledRecord], int, bool, list[str]]:
        """``top`` is the highest seq handed out when the push committed: every seq up
        to it is visible here and none below it can appear later. ``own``: include
        what this device wrote (a re-pull after a restore)."""
        caller = scope.caller
        rows = conn.execute(
            _pull_query(caller.role, own),
            {"cursor": cursor, "top": top, "limit": limit + 1, "own": "." + caller.device_id}
            | scope.params(),
        ).all()
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
            # not the participants this very request created: the device has them
            gained = [p for p, g in last.items() if g and p in now_visible and p not in created]
            evict = sorted(p for p, g in last.items() if not g and p not in now_visible)
            if gained:
                # Their fields past the cursor are in this page already (they are
                # visible now); only the older ones are missing on the device.
                extra = conn.execute(
                    select(*PULL_COLUMNS)
                    .select_from(
                        field_state.join(records, records.c.record_id == field_state.c.record_id)
                    )
                    .where(records.c.participant_id.in_(gained), field_state.c.seq <= cursor)
                ).all()
        if caller.role == "billing":
            # A service that became approved since the cursor: billing sees it (and its
            # participant) from now on, so send the whole record, not just what changed.
            became = conn.execute(
                select(records.c.record_id, records.c.participant_id)
                .select_from(
                    field_state.join(records, records.c.record_id == field_state.c.record_id)
                )
                .where(
                    field_state.c.table_name == "encounters",
                    field_state.c.field == "status",
                    field_state.c.seq > cursor,
                    field_state.c.seq <= new_cursor,
                    records.c.status.in_(("approved", "billed")),
                )
            ).all()
            ids = sorted({r for pair in became for r in pair if r})
            for chunk in _chunks(ids):
                extra += conn.execute(
                    select(*PULL_COLUMNS).where(field_state.c.record_id.in_(chunk))
                ).all()
        return _group(list(rows) + list(extra)), new_cursor, more, evict

    def _current(self, conn: Connection, scope: Scope, record_ids: list[str]) -> list[PulledRecord]:
        rows: list[Any] = []
        for chunk in _chunks(record_ids):
            q = _current_query(scope.caller.role)
            rows += conn.execute(q, {"ids": chunk} | scope.params()).all()
        return _group(rows)


@dataclass
class _Batch:
    """What stays the same while one push is applied."""

    now_ms: int
    now_iso: str
    fields: dict[str, dict[str, Any]]  # the values the batch gives each record
    scope: dict[tuple[str, str], str | None] = dc_field(default_factory=dict)
    # Stamps whose wall-time text sorts above this are too far in the future
    # (merge.too_far_ahead, without parsing every stamp).
    future_hex: str = ""

    def __post_init__(self) -> None:
        self.future_hex = f"{self.now_ms + merge.MAX_FUTURE_MS:012x}"


# The fields that place a record in a caseload or with an owner.
_LINK_FIELDS: dict[str, tuple[str, ...]] = {
    t: tuple(f for f in (rules.PARTICIPANT_LINK.get(t), rules.OWNER_LINK.get(t)) if f and f != "id")
    + (("encounter_id",) if t == "addenda" else ())
    + (("specialist_ids",) if t == "supervision_sessions" else ())
    for t in rules.TABLES
}


# Fields whose value places a record (``SyncEngine._index``).
_INDEXED: dict[str, frozenset[str]] = {
    t: frozenset(_LINK_FIELDS[t])
    | ({"status"} if t == "encounters" else set())
    | ({"assigned_specialist_id", "merged_into"} if t == "participants" else set())
    for t in rules.TABLES
}


_NEW_FIELD = merge.decide(None, None, "", None)
_FIELDS_AND_RECORDS = field_state.join(records, records.c.record_id == field_state.c.record_id)


def visible_clause(role: str) -> Any:
    """What a caller of this role sees (None: everything), with bind parameters
    ``team`` (the caller and, for a supervisor, their specialists) and ``member``
    (``%user id%``): ``Scope.params()``."""
    if role == "admin":
        return None
    is_global = records.c.table_name.in_(GLOBAL_TABLES)
    if role == "billing":
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
    team = bindparam("team", expanding=True)
    in_caseload = records.c.participant_id.in_(
        select(assignments.c.participant_id).where(assignments.c.specialist_id.in_(team))
    )
    owned = and_(records.c.participant_id == "", records.c.owner_id.in_(team))
    clauses = [is_global, in_caseload, owned]
    if role == "specialist":
        # Per candidate row, by primary key: an IN list of every session would
        # scan the whole field_state table on each sync.
        member = field_state.alias("member")
        clauses.append(
            and_(
                records.c.table_name == "supervision_sessions",
                exists().where(
                    member.c.record_id == records.c.record_id,
                    member.c.field == "specialist_ids",
                    member.c.value.like(bindparam("member")),
                ),
            )
        )
    return or_(*clauses)


@functools.cache
def _pull_query(role: str, own: bool) -> Any:
    """A page of the fields past the cursor up to top that a caller of ``role`` sees
    (``own``: with what the calling device wrote itself)."""
    q = (
        select(*PULL_COLUMNS)
        .select_from(_FIELDS_AND_RECORDS)
        .where(field_state.c.seq > bindparam("cursor"), field_state.c.seq <= bindparam("top"))
        .order_by(field_state.c.seq)
        .limit(bindparam("limit"))
    )
    if not own:  # the device has its own
        q = q.where(~field_state.c.stamp.endswith(bindparam("own")))
    visible = visible_clause(role)
    return q if visible is None else q.where(visible)


@functools.cache
def _current_query(role: str) -> Any:
    """The fields of some records (``ids``) that a caller of ``role`` sees."""
    q = select(*PULL_COLUMNS).select_from(_FIELDS_AND_RECORDS)
    q = q.where(field_state.c.record_id.in_(ids()))
    visible = visible_clause(role)
    return q if visible is None else q.where(visible)


_MERGED_INTO = text("field_state.field = 'merged_into'")


def _by_stamp(ch: PushChange) -> str:
    return ch.stamp


def _batch_fields(chs: Iterable[PushChange]) -> dict[str, dict[str, Any]]:
    """The values a batch gives each record (latest stamp wins), to place new records."""
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    for ch in sorted(chs, key=lambda c: c.stamp):
        out[ch.record_id][ch.field] = ch.value
    return out


def _id_set(value: Any) -> set[str]:
    """A JSON list of ids (as sync carries it) as a set; empty when it is not one."""
    try:
        items = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return set()
    return {str(i) for i in items} if isinstance(items, list) else set()


def _group(rows: list[Any]) -> list[PulledRecord]:
    by_record: dict[str, tuple[str, dict[str, tuple[Any, str]]]] = {}
    for table, record_id, field, value, stamp, _seq in rows:
        entry = by_record.setdefault(record_id, (table, {}))
        entry[1][field] = (json.loads(value) if value is not None else None, stamp)
    # The server's own rows: built without validating each field again.
    return [
        PulledRecord.model_construct(table=t, record_id=rid, fields=fields)
        for rid, (t, fields) in by_record.items()
    ]


def _only_fields(recs: list[PulledRecord], wanted: dict[str, set[str]]) -> list[PulledRecord]:
    """Each record cut to the ``wanted`` fields. A record the server holds none of
    those fields of keeps one field (its oldest), so the device still learns the
    server has the record (a refused field the server never had goes back to its
    default there)."""
    out = []
    for rec in recs:
        keep = {f: v for f, v in rec.fields.items() if f in wanted.get(rec.record_id, ())}
        if not keep and rec.fields:
            first = min(rec.fields, key=lambda f: rec.fields[f][1])
            keep = {first: rec.fields[first]}
        out.append(
            PulledRecord.model_construct(table=rec.table, record_id=rec.record_id, fields=keep)
        )
    return out
