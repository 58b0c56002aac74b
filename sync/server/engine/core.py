"""``SyncEngine``: apply a device's pushed changes (``push``) and answer its pull
(``pull``, sync.server.engine.pull); the rules live in the mixins it is made of."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.engine import Connection

from sync import content
from sync import merge
from sync.hlc import HybridLogicalClock
from sync.protocol import PushChange
from sync.protocol import Rejected
from sync.protocol import Restamped
from sync.protocol import SyncRequest
from sync.protocol import SyncResponse
from sync.schema import FIELDS
from sync.server import replicas
from sync.server import sql
from sync.server import trust
from sync.server.engine.common import Caller
from sync.server.engine.common import Push
from sync.server.engine.common import _batch_fields
from sync.server.engine.common import _by_stamp
from sync.server.engine.common import _dump
from sync.server.engine.common import _now_iso
from sync.server.engine.common import log
from sync.server.engine.core_types import Pushed
from sync.server.engine.decisions import Decisions
from sync.server.engine.fresh import Fresh
from sync.server.engine.merging import Merging
from sync.server.engine.pull import Pulling
from sync.server.engine.scope import Scope
from sync.server.engine.scope import ScopeRules
from sync.server.engine.working import SeqCounter
from sync.server.engine.working import Working
from sync.server.sql import chunks as _chunks
from sync.server.tables import records
from sync.server.tables import users


class SyncEngine(Pulling, Decisions, ScopeRules, Merging, Fresh):
    def __init__(self, hlc: HybridLogicalClock) -> None:
        self.hlc = hlc

    def sync(self, conn: Connection, caller: Caller, req: SyncRequest, now_ms: int) -> SyncResponse:
        """Push and pull on one connection (the in-process harness, tools). The server
        commits the push first and pulls afterwards (see ``push`` and ``pull``)."""
        return self.pull(conn, caller, req, self.push(conn, caller, req, now_ms))

    def push(
        self,
        conn: Connection,
        caller: Caller,
        req: SyncRequest,
        now_ms: int,
        locked: Callable[[], None] | None = None,
    ) -> Pushed:
        """Apply the pushed changes. This holds the ``seq`` counter row locked until the
        caller commits, so keep the transaction to this (and commit before pulling).
        ``locked`` is called once the counter is held (sync.server.db.push_turn)."""
        # Nothing to write: the committed counter is a safe top, no lock needed.
        chs = req.changes
        trust.check_stamps(caller.device_id, chs)  # a forged stamp: nothing is stored
        # Trust boundary (sync.server.trust): values first, before any of them is
        # used to load or place a record; then identity, authorship, completeness.
        untrusted = trust.value_problems(chs)
        place = [c for c in chs if c.stamp not in untrusted]
        # The counter (locked), the replica state and what the server has of the
        # push, read together: one round trip on PostgreSQL (sql.rows_together),
        # each read after the lock, so seeing what the last push committed.
        pushed_reads = Working.pushed_reads(chs, place)
        found = sql.rows_together(
            conn,
            [SeqCounter.read(bool(chs)), replicas.state_read(caller.device_id), *pushed_reads],
        )
        if locked is not None:
            locked()
        seq = SeqCounter(conn, bool(chs), found[0])
        rs = replicas.state_from(conn, caller.device_id, found[1])  # id, epoch, tokens
        server_id, epoch, held = rs.server_id, rs.epoch, rs.device is not None
        reset = replicas.judge(rs.device, req.replica, req.cursor, seq.value)
        if reset == "replica":
            # An older copy of this vault: nothing it sends is applied until it has
            # re-pulled (its changes stay in its outbox and come again).
            token = replicas.issue(conn, caller.device_id, "", seq.value, held)
            return Pushed(
                [], [], [], seq.value, frozenset(), now_ms, reset, token, server_id, epoch
            )
        scope = Scope(conn, caller)
        w = Working(conn, seq)
        w.take_pushed(chs, place, pushed_reads, found[2:])
        w.cursor = req.cursor
        untrusted |= self._identity_step(w, caller, chs, untrusted)
        valid = [c for c in chs if c.stamp not in untrusted]
        w.refused_decisions = self._refused_decisions(w, caller, valid)
        accepted: list[str] = []
        refused: list[Rejected] = []
        restamped: list[Restamped] = []
        batch = _batch_fields(valid)
        p = Push(w, scope, caller, now_ms=now_ms, now_iso=_now_iso(), fields=batch)
        # The clock moves past every stamp it keeps, once (it only keeps the greatest).
        in_time = [c.stamp for c in chs if c.stamp[:12] <= p.future_hex]
        if in_time:
            self.hlc.observe(max(in_time))
        fresh = self._fresh_stamps(p, chs, untrusted)  # fields the server lacks
        for ch in sorted(chs, key=_by_stamp):
            if ch.stamp in fresh:
                outcome = self._apply_fresh(p, ch)
            else:
                outcome = self._apply_one(p, ch, untrusted.get(ch.stamp))
            if isinstance(outcome, Rejected):
                refused.append(outcome)
            else:
                accepted.append(ch.stamp)
                if outcome is not None:
                    restamped.append(outcome)
        self._check_signatures(w, chs)
        with sql.pipelined(conn):  # PostgreSQL: the writes in one round trip
            w.flush()
            token = replicas.issue(conn, caller.device_id, req.replica, seq.value, held)
        created = frozenset(pid for pid in w.assign_new if w.assign[pid] == caller.user_id)
        digest = self._scope_digest(conn, scope, seq) if req.check else ""
        return Pushed(
            accepted, refused, restamped, seq.value, created, now_ms,
            reset, token, server_id, epoch, digest,
        )  # fmt: skip

    def _apply_one(
        self, p: Push, ch: PushChange, untrusted: str | None = None
    ) -> Rejected | Restamped | None:
        # Idempotent: a change seen before gets the answer it got then.
        w, caller = p.w, p.caller
        stamp = ch.stamp
        if stamp in w.seen_origin:
            prior = w.seen_origin[stamp]
            return Restamped(stamp=stamp, new_stamp=prior) if prior != stamp else None
        if stamp in w.seen_rejected:
            return Rejected(stamp=stamp, reason=w.seen_rejected[stamp])
        if untrusted is not None:  # refused at the trust boundary (push)
            return self._refuse(p, ch, untrusted)

        overturns = w.overturn.get(ch.record_id) == stamp
        reason = self._change_problem(p, ch, overturns)
        if reason is not None:
            self._keep_undelivered(p, ch, reason)
            return self._refuse(p, ch, reason)
        value_json = _dump(ch.value)

        restamp = None
        if stamp[:12] > p.future_hex or self._loses_overturn(w, ch):
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
            self._overturn(p, ch, stamp, loser)
        w.new_changes.append(
            {
                "seq": w.seq.next(), "stamp": stamp, "origin_stamp": ch.stamp,
                "table_name": ch.table, "record_id": ch.record_id, "field": ch.field,
                "value": value_json, "base": base, "user_id": caller.user_id,
                "device_id": caller.device_id, "received_at": p.now_iso,
            }
        )  # fmt: skip
        w.seen_origin[ch.stamp] = stamp
        return restamp

    def _change_problem(self, p: Push, ch: PushChange, overturns: bool) -> str | None:
        """Why the caller may not make this change (scope, field permission, a merge's
        target, a refused review decision), else None."""
        w, caller = p.w, p.caller
        current = w.record_fields(ch.record_id)
        key = (ch.table, ch.record_id)
        if key in p.scope_reasons:  # scope is a property of the record: checked once a push
            reason = p.scope_reasons[key]
        else:
            reason = p.scope_reasons[key] = self._record_scope(p, ch, current)
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
                self._keep_refused_decision(p, ch, reason)
        if reason is None and ch.table == "participants" and ch.field == "merged_into":
            reason = self._merge_target_problem(p, ch)
        if reason is None and merge.with_decision(ch.table, ch.field):
            reason = w.refused_decisions.get(ch.record_id)
        elif reason is None and ch.table == "encounters" and ch.field == "status":
            reason = w.refused_decisions.get(ch.record_id)
            if reason is not None:
                self._keep_refused_decision(p, ch, reason)
        return reason

    def _refuse(self, p: Push, ch: PushChange, reason: str) -> Rejected:
        """Keep a refused change, with its reason, and answer it."""
        w, caller = p.w, p.caller
        w.new_rejected.append(
            {
                "stamp": ch.stamp, "table_name": ch.table, "record_id": ch.record_id,
                "field": ch.field, "value": _dump(ch.value), "user_id": caller.user_id,
                "device_id": caller.device_id, "reason": reason, "at": p.now_iso,
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
