"""The pull: every visible field past the device's cursor up to the push's top,
grouped by record, plus whole records of participants newly visible to the
caller, the ids of those that left, the records a repair asks for and the
server's value of each refused field."""

from __future__ import annotations

import functools
import json
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import literal_column
from sqlalchemy import null
from sqlalchemy import select
from sqlalchemy import union_all
from sqlalchemy.engine import Connection

from sync import digests
from sync.protocol import PROTOCOL_VERSION
from sync.protocol import PulledRecord
from sync.protocol import SyncRequest
from sync.protocol import SyncResponse
from sync.server import digest_sums
from sync.server.engine.common import _FIELDS_AND_RECORDS
from sync.server.engine.common import PULL_COLUMNS
from sync.server.engine.common import Caller
from sync.server.engine.core_types import Pushed
from sync.server.engine.scope import Scope
from sync.server.engine.scope import visible_clause
from sync.server.engine.working import SeqCounter
from sync.server.sql import chunks as _chunks
from sync.server.sql import ids
from sync.server.sql import rows as sql_rows
from sync.server.tables import access_log
from sync.server.tables import assignments
from sync.server.tables import field_state
from sync.server.tables import records

_ACCESS_SINCE = (
    select(access_log.c.participant_id, access_log.c.granted, access_log.c.seq)
    .where(
        access_log.c.user_id == bindparam("u"),
        access_log.c.seq > bindparam("cursor"),
        access_log.c.seq <= bindparam("top"),
    )
    .order_by(access_log.c.seq)
)


@functools.cache
def _view_query(role: str) -> Any:
    """What a specialist's or supervisor's pull needs before its page, in one
    statement: ("a", caseload participant), ("s", supervision session) and ("l",
    participant, granted, seq) for the access log past the cursor up to ``top``
    (bind parameters ``team``, ``member``, ``u``, ``cursor``, ``top``)."""
    al, a = access_log.c, assignments.c
    # the access log first: PostgreSQL types each column from the first select
    # (typed NULLs after it), pairwise
    parts = [
        select(literal_column("'l'"), al.participant_id, al.granted, al.seq).where(
            al.user_id == bindparam("u"), al.seq > bindparam("cursor"), al.seq <= bindparam("top")
        ),
        select(literal_column("'a'"), a.participant_id, null(), null()).where(
            a.specialist_id.in_(ids("team"))
        ),
    ]
    for q in digest_sums.sessions_queries(role):
        columns = (literal_column("'s'"), q.selected_columns[0], null(), null())
        parts.append(q.with_only_columns(*columns))
    return union_all(*parts)


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


#: Past this many buckets a pull filters by role instead (one IN list stays short).
MAX_BUCKETS = 5000


@functools.cache
def _bucket_pull_query(own: bool) -> Any:
    """A page of the fields past the cursor up to top in the caller's ``buckets``
    (digest_sums.caller_buckets: the same records ``visible_clause`` lets them see),
    by the index on (bucket, seq): only the caller's fields are read."""
    fs = field_state.c
    q = (
        select(*PULL_COLUMNS)
        .where(
            fs.bucket.in_(ids("buckets")),
            fs.seq > bindparam("cursor"),
            fs.seq <= bindparam("top"),
        )
        .order_by(fs.seq)
        .limit(bindparam("limit"))
    )
    return q if own else q.where(~fs.stamp.endswith(bindparam("own")))


@functools.cache
def _current_query(role: str) -> Any:
    """The fields of some records (``ids``) that a caller of ``role`` sees."""
    q = select(*PULL_COLUMNS).select_from(_FIELDS_AND_RECORDS)
    q = q.where(field_state.c.record_id.in_(ids()))
    visible = visible_clause(role)
    return q if visible is None else q.where(visible)


class Pulling:
    """``SyncEngine.pull`` and what it reads."""

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
        params = {"cursor": cursor, "top": top, "limit": limit + 1, "own": "." + caller.device_id}
        buckets = None
        log: list[Any] | None = None  # the access log past the cursor, up to top
        if caller.role in ("specialist", "supervisor"):
            caseload, sessions, log = self._view(conn, scope, cursor, max(top, cursor))
            buckets = digest_sums.buckets_of(scope.team, caseload, sessions)
        else:
            caseload = scope.participant_ids()
        if buckets is not None and len(buckets) <= MAX_BUCKETS:
            rows = sql_rows(conn, _bucket_pull_query(own), params | {"buckets": buckets})
        else:
            rows = conn.execute(_pull_query(caller.role, own), params | scope.params()).all()
        more = len(rows) > limit
        rows = rows[:limit]
        # Without more pages everything up to ``top`` has been seen.
        new_cursor = rows[-1][5] if more else max(top, cursor)

        # Access changes since the cursor: whole records of newly visible
        # participants; ids of those that left.
        evict: list[str] = []
        extra: list[Any] = []
        if caller.role not in ("admin", "billing"):
            if log is None:
                args = {"u": caller.user_id, "cursor": cursor, "top": new_cursor}
                log = sql_rows(conn, _ACCESS_SINCE, args)
            else:  # read up to top with the view: only what this page reaches
                log = [row for row in log if row[2] <= new_cursor]
            last: dict[str, bool] = {}
            for pid, granted, _s in log:
                last[pid] = bool(granted)
            now_visible = caseload
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

    def _view(
        self, conn: Connection, scope: Scope, cursor: int, top: int
    ) -> tuple[set[str], list[str], list[Any]]:
        """A specialist's or supervisor's caseload, supervision sessions and access
        log past ``cursor`` up to ``top`` (ordered by seq), in one statement."""
        caller = scope.caller
        args = {"cursor": cursor, "top": top, "u": caller.user_id} | scope.params()
        caseload: set[str] = set()
        sessions: list[str] = []
        log: list[Any] = []
        for kind, rid, granted, seq in sql_rows(conn, _view_query(caller.role), args):
            if kind == "a":
                caseload.add(rid)
            elif kind == "s":
                sessions.append(rid)
            else:
                log.append((rid, granted, seq))
        log.sort(key=lambda row: row[2])
        return caseload, sessions, log

    def _current(self, conn: Connection, scope: Scope, record_ids: list[str]) -> list[PulledRecord]:
        rows: list[Any] = []
        for chunk in _chunks(record_ids):
            q = _current_query(scope.caller.role)
            rows += conn.execute(q, {"ids": chunk} | scope.params()).all()
        return _group(rows)


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
