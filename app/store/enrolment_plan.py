"""What a vault that already holds work will not send when it is enrolled, and why.

A vault used alone (or filled with a demo or an import) may hold records the
enrolled role may not own on the server: other people's user records, a demo
supervisor's approvals, participants assigned to somebody else. Sending them
would only earn refusals. ``plan`` works out, before enrolment, which waiting
changes the server would refuse for this role, with the server's own rules
(sync.merge.permission_problem and sync.scope, the scope rule the server
applies, for a server that does not know the records yet); ``hold`` keeps those changes
on this laptop, marked with the reason (they stay visible with the refused
changes, never sent, never deleted; kept in the compact form of
app.store.held), and remembers the stamp the server will
hold for each such field (``remember_server_stamps``). Everything else is sent
on the first sync.
"""

from __future__ import annotations

from collections import Counter
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any

from app.store import held
from app.store.db import Store
from app.store.migrations import V10_FILL_SERVER_STAMPS
from sync import merge
from sync import rules
from sync.scope import scope_problem

HELD_PREFIX = held.HELD_PREFIX
_WAITING = "acked_at IS NULL AND rejected_reason IS NULL"


@dataclass(frozen=True)
class Held:
    """Changes of one kind that will not be sent: ``changes`` field changes of
    ``records`` records of ``table``, for ``reason`` (in the server's words)."""

    table: str
    reason: str
    changes: int
    records: int


def _values(store: Store) -> dict[str, tuple[str, dict[str, Any]]]:
    """Record id -> (table, latest waiting value of each field), in outbox order."""
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for table, rid, field, value in store.conn.execute(
        f"SELECT table_name, record_id, field, value FROM outbox WHERE {_WAITING} ORDER BY seq"
    ):
        out.setdefault(rid, (table, {}))[1][field] = value
    return out


class _NewToServer:
    """sync.scope's facts for a vault about to enrol: every record is new to the
    server, and what records link to is read from the vault's waiting changes."""

    def __init__(self, user_id: str, recs: dict[str, tuple[str, dict[str, Any]]]) -> None:
        self.team = (user_id,)
        self.recs = recs

    def known_assignee(self, participant_id: str) -> str | None:
        return None

    def assignee(self, participant_id: str) -> str | None:
        rec = self.recs.get(participant_id)
        return rec[1].get("assigned_specialist_id") if rec else None

    def encounter_participant(self, encounter_id: str) -> str | None:
        rec = self.recs.get(encounter_id)
        return rec[1].get("participant_id") if rec else None


def _refusals(store: Store, role: str, user_id: str) -> list[tuple[int, str, str, str]]:
    """(outbox seq, table, record id, reason) of every waiting change the server
    would refuse, replaying the outbox in order as the server would apply it."""
    recs = _values(store)
    facts = _NewToServer(user_id, recs)
    scope: dict[str, str | None] = {}
    applied: dict[str, dict[str, Any]] = defaultdict(dict)
    refused_moves: set[str] = set()
    out = []
    for seq, table, rid, field, value in store.conn.execute(
        f"SELECT seq, table_name, record_id, field, value FROM outbox WHERE {_WAITING} ORDER BY seq"
    ):
        if table == "users" and rid == store.user_id:
            continue  # the vault's own owner record: enrolment replaces it
        if rid not in scope:
            known = recs[rid][1]
            scope[rid] = scope_problem(
                role, user_id, table, rid, known, facts, status=known.get("status")
            )
        current = applied[rid]
        reason = scope[rid] or merge.permission_problem(
            role, user_id, table, field, value, current, field in current
        )
        decision_field = field in rules.NOTE_REVIEW | rules.NOTE_BILLING
        if reason is None and table == "encounters" and rid in refused_moves and decision_field:
            reason = "the decision it belongs to is not yours to make"
        if reason is not None:
            if table == "encounters" and field == "status":
                refused_moves.add(rid)
            out.append((seq, table, rid, reason))
        else:
            current[field] = value
    return out


def plan(store: Store, role: str, user_id: str | None = None) -> list[Held]:
    """What enrolling as ``role`` would not send, by table and reason (none for a
    vault whose work is all the person's own). ``user_id`` defaults to the vault's
    owner, which enrolment rewrites to the server's id for that person."""
    uid = user_id or store.user_id
    changes: Counter[tuple[str, str]] = Counter()
    records: dict[tuple[str, str], set[str]] = defaultdict(set)
    for _seq, table, rid, reason in _refusals(store, role, uid):
        changes[(table, reason)] += 1
        records[(table, reason)].add(rid)
    return [
        Held(table=t, reason=r, changes=n, records=len(records[(t, r)]))
        for (t, r), n in sorted(changes.items())
    ]


def hold(store: Store, role: str, user_id: str) -> int:
    """Inside the enrolment transaction: mark the changes the server would refuse
    as kept on this laptop (with the reason). Returns how many."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    rows = [
        (HELD_PREFIX + reason, now, seq) for seq, _t, _r, reason in _refusals(store, role, user_id)
    ]
    store.conn.executemany(
        "UPDATE outbox SET rejected_reason = ?, rejected_at = ? WHERE seq = ?", rows
    )
    if rows:
        remember_server_stamps(store)
        held.compact(store.conn)  # out of the outbox, into the compact form
    return len(rows)


def remember_server_stamps(store: Store) -> None:
    """For each field whose value here is a change kept back: the stamp the server
    will hold, the newest change of that field that is sent (the base chain of
    the kept-back ones). The digests count it in place of the kept-back stamp
    (app.store.replica), so a vault that holds changes back still matches the
    server at the end of a sync. A field with no change sent is left out: the
    server does not have it."""
    store.conn.execute(V10_FILL_SERVER_STAMPS)
