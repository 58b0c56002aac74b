"""Who may see and write which records: the caller's team and caseload (``Scope``),
what a role sees (``visible_clause``), and the scope rules of a push
(``ScopeRules``: may this caller write this record, here, now)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import exists
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.engine import Connection

from sync import rules
from sync.hlc import HybridLogicalClock
from sync.protocol import PushChange
from sync.scope import GLOBAL_TABLES
from sync.scope import scope_problem
from sync.server import replicas
from sync.server import sql
from sync.server.engine.common import _INDEXED
from sync.server.engine.common import _LINK_FIELDS
from sync.server.engine.common import UNDELIVERED
from sync.server.engine.common import Caller
from sync.server.engine.common import Push
from sync.server.engine.working import _CASELOAD
from sync.server.engine.working import _TEAM
from sync.server.engine.working import Working
from sync.server.tables import access_log
from sync.server.tables import assignments
from sync.server.tables import field_state
from sync.server.tables import records


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
        return {r[0] for r in sql.rows(self.conn, _CASELOAD, {"ids": sorted(self.team)})}

    def params(self) -> dict[str, Any]:
        """The bind parameters of ``visible_clause(self.caller.role)``."""
        return {"team": sorted(self.team), "member": f"%{self.caller.user_id}%"}


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


class ScopeRules:
    """The scope checks of ``SyncEngine.push``."""

    hlc: HybridLogicalClock

    def _record_scope(self, p: Push, ch: PushChange, current: dict[str, Any]) -> str | None:
        """May the caller write this record at all? Judged on the record as the server
        holds it (filled in from the batch for a new record) and, when the batch moves
        the record (a new participant, owner or note), on where it moves to: a record
        cannot be moved into or out of a caseload the caller does not have."""
        pushed = p.fields.get(ch.record_id, {})
        if current:
            # A record the server holds belongs where it is stored, whatever the push
            # claims: its link fields count only as a move, checked below.
            links = _LINK_FIELDS.get(ch.table, ())
            known = {**{k: v for k, v in pushed.items() if k not in links}, **current}
        else:
            known = pushed
        reason = self._scope_problem(p, ch, known, current)
        if reason is None and current:
            after = {**current, **pushed}
            if any(after.get(f) != current.get(f) for f in _LINK_FIELDS.get(ch.table, ())):
                reason = self._scope_problem(p, ch, after, current)
        if reason == "not in your caseload" and current:
            after = {**current, **pushed}
            moved = any(after.get(f) != current.get(f) for f in _INDEXED.get(ch.table, ()))
            if not moved and self._left_unseen(p, ch, known):
                return None
        return reason

    def _scope_problem(
        self, p: Push, ch: PushChange, known: dict[str, Any], current: dict[str, Any]
    ) -> str | None:
        """sync.scope's rule on the record ``ch`` writes, placed by ``known``, with what
        this server holds (and this request applied)."""
        caller = p.caller
        return scope_problem(
            caller.role, caller.user_id, ch.table, ch.record_id, known,
            _ServerFacts(p.w, p.scope), status=current.get("status"),
        )  # fmt: skip

    def _merge_target_problem(self, p: Push, ch: PushChange) -> str | None:
        """A merge names another participant the server holds, in the caller's reach."""
        w = p.w
        target = str(ch.value or "")
        if not target:
            return None  # undoing a merge
        if target == ch.record_id:
            return "merged_into: a record cannot be merged into itself"
        w.load([target])
        rec = w.recs.get(target)
        if rec is None or rec["table_name"] != "participants":
            return "merged_into: must name a participant"
        if p.caller.role == "admin":
            return None
        return None if w.assigned_to(target) in p.scope.team else "not in your caseload"

    def _left_unseen(self, p: Push, ch: PushChange, known: dict[str, Any]) -> bool:
        """Whether the participant this record belongs to left the caller's caseload
        after the caller's device last pulled (its cursor) and after the change was
        written (by its stamp): the device wrote while the record was still in its
        caseload, so its edit stands, as it would have had it arrived before the
        reassignment (reassign and edit commute). The device drops the participant at
        the end of this same sync."""
        w, caller = p.w, p.caller
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

    def _keep_undelivered(self, p: Push, ch: PushChange, reason: str) -> None:
        """A change refused because its record is in another caseload now (the
        participant was reassigned while the writer worked offline) is kept as an
        "undelivered" conflict on that participant: the record's specialist and
        their supervisor see it and decide; the writer keeps it in their outbox."""
        if reason != "not in your caseload" or ch.table == "conflicts":
            return
        w = p.w
        participant = self._participant_of(p, ch.table, ch.record_id)
        if not participant or w.assigned_to(participant) is None:
            return
        if not self._lost_access(p, participant):
            return  # never the writer's: a plain refusal, no conflict for others to see
        cur = w.field(ch.record_id, ch.field)
        kept = (json.loads(cur[1]) if cur[1] is not None else None, cur[2]) if cur else (None, "")
        self._record_conflict(
            w, ch.table, ch.record_id, ch.field, kept, (ch.value, ch.stamp), p.caller,
            kind=UNDELIVERED, participant_id=participant,
        )  # fmt: skip

    def _lost_access(self, p: Push, participant: str) -> bool:
        """Whether the caller once had this participant and has lost them (the
        access log's last entry for the pair is a removal)."""
        last = p.w.conn.execute(
            select(access_log.c.granted)
            .where(
                access_log.c.user_id == p.caller.user_id,
                access_log.c.participant_id == participant,
            )
            .order_by(access_log.c.seq.desc())
            .limit(1)
        ).first()
        return last is not None and not last[0]

    def _participant_of(self, p: Push, table: str, record_id: str) -> str:
        """The participant a record belongs to: on the server, else as the batch places it."""
        w = p.w
        if table == "participants":
            return record_id
        rec = w.recs.get(record_id)
        if rec and rec["participant_id"]:
            return rec["participant_id"]
        known = p.fields.get(record_id, {})
        link = rules.PARTICIPANT_LINK.get(table)
        if link and isinstance(known.get(link), str):
            return known[link]
        if table == "addenda" and known.get("encounter_id"):
            w.load([str(known["encounter_id"])])
            enc = w.recs.get(str(known["encounter_id"]))
            return enc["participant_id"] if enc else ""
        return ""


class _ServerFacts:
    """sync.scope's facts from the working state of a push."""

    def __init__(self, w: Working, scope: Scope) -> None:
        self.w = w
        self.team = scope.team

    def known_assignee(self, participant_id: str) -> str | None:
        return self.w.assigned_to(participant_id)

    def assignee(self, participant_id: str) -> str | None:
        return self.w.assigned_to(participant_id)

    def encounter_participant(self, encounter_id: str) -> str | None:
        self.w.load([encounter_id])
        rec = self.w.recs.get(encounter_id)
        return rec["participant_id"] if rec else None
