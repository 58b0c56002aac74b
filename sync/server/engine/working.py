"""The part of the server's state one sync touches, in memory (``Working``), and the
``seq`` counter handed out inside the locked transaction (``SeqCounter``)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import literal_column
from sqlalchemy import null
from sqlalchemy import select
from sqlalchemy import union_all
from sqlalchemy import update
from sqlalchemy.engine import Connection

from sync.protocol import PushChange
from sync.server import digest_sums
from sync.server.sql import chunks as _chunks
from sync.server.sql import executemany as _executemany
from sync.server.sql import ids
from sync.server.sql import rows as _rows
from sync.server.tables import access_log
from sync.server.tables import assignments
from sync.server.tables import changes
from sync.server.tables import counters
from sync.server.tables import field_state
from sync.server.tables import records
from sync.server.tables import rejected
from sync.server.tables import users

# The statements every sync runs, built once (sync.server.sql).
_SEQ = select(counters.c.value).where(counters.c.name == "seq")


_SEQ_LOCKED = _SEQ.with_for_update()


_SEQ_SAVE = update(counters).where(counters.c.name == "seq").values(value=bindparam("v"))


# Some records' fields and placement, in one statement: ("f", record id, field,
# table, value, stamp, base, seq) and ("r", record id, table, participant, owner,
# status, NULL, NULL).
_FIELDS_AND_RECORDS_OF = union_all(
    select(
        literal_column("'f'"),
        field_state.c.record_id,
        field_state.c.field,
        field_state.c.table_name,
        field_state.c.value,
        field_state.c.stamp,
        field_state.c.base,
        field_state.c.seq,
    ).where(field_state.c.record_id.in_(ids())),
    select(
        literal_column("'r'"),
        records.c.record_id,
        records.c.table_name,
        records.c.participant_id,
        records.c.owner_id,
        records.c.status,
        null(),
        null(),
    ).where(records.c.record_id.in_(ids())),
)


# Stamps seen before, kept or refused, in one statement: ("c", stamp it became,
# origin stamp) and ("r", stamp, reason).
_SEEN = union_all(
    select(literal_column("'c'"), changes.c.stamp, changes.c.origin_stamp).where(
        changes.c.origin_stamp.in_(ids())
    ),
    select(literal_column("'r'"), rejected.c.stamp, rejected.c.reason).where(
        rejected.c.stamp.in_(ids())
    ),
)


_ASSIGNED = select(assignments.c.participant_id, assignments.c.specialist_id).where(
    assignments.c.participant_id.in_(ids())
)


# The assignments of some records' participants and of the ids themselves (a
# participant's record id is the participant's id), in one statement.
_ASSIGNED_AROUND = select(assignments.c.participant_id, assignments.c.specialist_id).where(
    assignments.c.participant_id.in_(ids())
    | assignments.c.participant_id.in_(
        select(records.c.participant_id).where(records.c.record_id.in_(ids()))
    )
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
    .values(
        value=bindparam("v"),
        stamp=bindparam("st"),
        base=bindparam("b"),
        seq=bindparam("sq"),
        bucket=bindparam("bk"),
    )
)


# A record placed elsewhere: every field of it moves to its new bucket.
_FS_MOVE = (
    update(field_state)
    .where(field_state.c.record_id == bindparam("k_rid"))
    .values(bucket=bindparam("bk"))
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


class SeqCounter:
    """Hands out seq numbers inside the locked transaction."""

    def __init__(
        self, conn: Connection, lock: bool = True, found: list[tuple[Any, ...]] | None = None
    ) -> None:
        """Read the counter (locked: ``lock``), or take the rows of ``read(lock)`` that
        were sent together with other reads (``found``)."""
        self.conn = conn
        if found is None:
            found = conn.execute(_SEQ_LOCKED if lock else _SEQ).all()
        row = found[0] if found else None
        if row is None:
            conn.execute(counters.insert().values(name="seq", value=0))
            self.value = 0
        else:
            self.value = int(row[0])
        self.start = self.value

    @staticmethod
    def read(lock: bool) -> tuple[Any, dict[str, Any]]:
        """The counter's read (``FOR UPDATE`` when ``lock``), to send with others."""
        return (_SEQ_LOCKED if lock else _SEQ), {}

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
            for row in _rows(self.conn, _FIELDS_AND_RECORDS_OF, {"ids": chunk}):
                self._take_loaded(row)

    def _take_loaded(self, row: tuple[Any, ...]) -> None:
        """One row of ``_FIELDS_AND_RECORDS_OF`` into the working state."""
        kind, rid, f, t, v, st, b, sq = row
        if kind == "f":
            self.fs[(rid, f)] = [t, v, st, b, sq]
            self.fs_orig[(rid, f)] = st
            self.by_record[rid].add(f)
        else:  # a record: (table, participant, owner, status) in those places
            self.recs[rid] = {"table_name": f, "participant_id": t, "owner_id": v, "status": st}
            self.recs_orig[rid] = (t, v)

    @staticmethod
    def pushed_reads(
        chs: list[PushChange], place: list[PushChange] | None = None
    ) -> list[tuple[Any, dict[str, Any]]]:
        """What the server has of a push: its stamps seen before (all of ``chs``) and
        the records, notes and assignments that ``place`` (the changes whose values
        are valid; default all) name. These reads depend on no answer of another,
        so they may go out together (``sync.server.sql.rows_together``); their rows
        go to ``take_pushed`` in the same order."""
        stamps = [c.stamp for c in chs]
        # the device's own earlier changes that later ones are based on (a change
        # re-stamped by the server is based on the stamp it became)
        own = {c.stamp.rsplit(".", 1)[-1] for c in chs}
        stamps += sorted(
            {c.base for c in chs if c.base and c.base.rsplit(".", 1)[-1] in own} - set(stamps)
        )
        reads: list[tuple[Any, dict[str, Any]]] = [
            (_SEEN, {"ids": chunk}) for chunk in _chunks(stamps)
        ]
        chs = chs if place is None else place
        record_ids = {c.record_id for c in chs}
        # notes that new addenda hang on, so they can be placed
        record_ids |= {str(c.value) for c in chs if c.field == "encounter_id" and c.value}
        for chunk in _chunks(sorted(record_ids)):
            reads.append((_FIELDS_AND_RECORDS_OF, {"ids": chunk}))
            # the assignments of these records' participants, and of the ids
            # themselves (a participant is its own): what placing them needs
            reads.append((_ASSIGNED_AROUND, {"ids": chunk}))
        named = sorted(
            {str(c.value) for c in chs if c.field == "participant_id" and isinstance(c.value, str)}
            - record_ids
        )
        reads += [(_ASSIGNED, {"ids": chunk}) for chunk in _chunks(named)]
        return reads

    def take_pushed(
        self,
        chs: list[PushChange],
        place: list[PushChange] | None,
        reads: list[tuple[Any, dict[str, Any]]],
        found: list[list[tuple[Any, ...]]],
    ) -> None:
        """Take in ``pushed_reads`` and their rows (``found``)."""
        assigned: dict[str, str] = {}
        for (stmt, params), rows in zip(reads, found, strict=True):
            if stmt is _SEEN:
                for kind, st, other in rows:
                    if kind == "c":
                        self.seen_origin[other] = st  # other: the origin stamp
                    else:
                        self.seen_rejected[st] = other  # other: the reason
            elif stmt is _FIELDS_AND_RECORDS_OF:
                self.loaded.update(params["ids"])
                for row in rows:
                    self._take_loaded(row)
            else:  # _ASSIGNED_AROUND, _ASSIGNED
                assigned.update(rows)
        chs = chs if place is None else place
        participants = {rid for rid, r in self.recs.items() if r["table_name"] == "participants"}
        participants |= {c.record_id for c in chs if c.table == "participants"}
        participants |= {r["participant_id"] for r in self.recs.values() if r["participant_id"]}
        participants |= {
            str(c.value) for c in chs if c.field == "participant_id" and isinstance(c.value, str)
        }
        for pid in participants:
            if pid and pid not in self.assign:
                self.assign[pid] = assigned.get(pid)

    def load_assignments(self, participant_ids: Iterable[str]) -> None:
        todo = sorted({p for p in participant_ids if p and p not in self.assign})
        for chunk in _chunks(todo):
            found = dict(_rows(self.conn, _ASSIGNED, {"ids": chunk}))
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

    def bucket(self, record_id: str, table: str) -> str:
        """Where the record is placed now (sync.server.digest_sums.bucket_of)."""
        rec = self.recs.get(record_id)
        if rec is None:  # no records row: nobody's (as the pull's join has it)
            return "x"
        return digest_sums.bucket_of(
            rec["table_name"], record_id, rec["participant_id"], rec["owner_id"]
        )

    def flush(self) -> None:
        c = self.conn
        bk = self.bucket
        _executemany(
            c,
            _FS_INSERT,
            [
                {"record_id": k[0], "field": k[1], "table_name": r[0], "value": r[1],
                 "stamp": r[2], "base": r[3], "seq": r[4], "bucket": bk(k[0], r[0])}
                for k in sorted(self.fs_new) for r in [self.fs[k]]
            ],
        )  # fmt: skip
        _executemany(
            c,
            _FS_UPDATE,
            [
                {"k_rid": k[0], "k_field": k[1], "v": r[1], "st": r[2], "b": r[3], "sq": r[4],
                 "bk": bk(k[0], r[0])}
                for k in sorted(self.fs_dirty) for r in [self.fs[k]]
            ],
        )  # fmt: skip
        _executemany(c, _FS_MOVE, self._moved_buckets())
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

    def _moved_buckets(self) -> list[dict[str, str]]:
        """The records this batch placed elsewhere (a new participant, owner or
        note), with their new bucket: all their stored fields follow."""
        out = []
        for rid in sorted(self.recs_dirty):
            rec, orig = self.recs[rid], self.recs_orig.get(rid)
            table = rec["table_name"]
            new_b = digest_sums.bucket_of(table, rid, rec["participant_id"], rec["owner_id"])
            if orig is None or digest_sums.bucket_of(table, rid, *orig) != new_b:
                out.append({"k_rid": rid, "bk": new_b})
        return out

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
