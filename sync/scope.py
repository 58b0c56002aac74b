"""Whose records a change may touch: the caseload scope rule, once for both ends.

The server applies it to every change it is sent (sync.server.engine.scope), and a
laptop that already holds work applies the same rule before it enrols, to keep on
the laptop what the server would refuse (app.store.enrolment_plan). Field-level
permissions (who may write which field, status moves) are sync.merge's; this
module decides only whether the record is within the caller's reach.

What each end knows differs, so it is asked through :class:`ScopeFacts`: the
server answers from its database and the records applied earlier in the same
request; a laptop about to enrol answers from its own waiting changes (to the
server, every record is new then).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any
from typing import Protocol

from sync import rules

#: Records every role may touch as far as scope goes (field permissions decide).
GLOBAL_TABLES = ("users", "payers", "billing_providers", "billing_batches")
NOT_IN_CASELOAD = "not in your caseload"
MISSING_PARENT = "the record it belongs to is missing"


class ScopeFacts(Protocol):
    """What the rule needs to know beyond the change itself."""

    #: The users whose caseloads the caller reaches (a specialist: themselves; a
    #: supervisor: themselves and their team).
    team: Collection[str]

    def known_assignee(self, participant_id: str) -> str | None:
        """Who a participant the server already holds is assigned to (None: new)."""
        ...

    def assignee(self, participant_id: str) -> str | None:
        """Who a participant a record links to is assigned to (None: unknown)."""
        ...

    def encounter_participant(self, encounter_id: str) -> str | None:
        """The participant of a note an addendum belongs to (None: no such note)."""
        ...


def scope_problem(
    role: str,
    user_id: str,
    table: str,
    record_id: str,
    known: dict[str, Any],
    facts: ScopeFacts,
    status: Any = None,
) -> str | None:
    """Why the caller may not touch this record (None: within reach). ``known``:
    the record's fields as they stand (with the change's); ``status``: a note's
    status as it will stand (billing reaches approved and billed services only)."""
    if table not in rules.TABLES:
        return "unknown record type"
    if role == "admin" or table in GLOBAL_TABLES:
        return None
    if table == "participants":
        assigned = facts.known_assignee(record_id)
        if assigned is not None:
            return None if assigned in facts.team else NOT_IN_CASELOAD
        if role != "specialist":
            return "only specialists add participants"
        if known.get("assigned_specialist_id") != user_id:
            return "a new participant must be assigned to you"
        return None
    participant = _participant(table, known, facts)
    if participant:
        if role == "billing":
            ok = status in ("approved", "billed")
            return None if ok else "billing sees approved services only"
        assigned = facts.assignee(str(participant))
        return None if assigned is not None and assigned in facts.team else NOT_IN_CASELOAD
    owner_field = rules.OWNER_LINK.get(table)
    if owner_field:
        owner = known.get(owner_field)
        if table == "supervision_sessions":
            if owner == user_id or user_id in id_set(known.get("specialist_ids")):
                return None
            return "not your supervision session"
        return None if owner in facts.team else "not your record"
    return MISSING_PARENT


def _participant(table: str, known: dict[str, Any], facts: ScopeFacts) -> Any:
    link = rules.PARTICIPANT_LINK.get(table)
    if link:
        return known.get(link)
    if table == "addenda":
        enc_id = known.get("encounter_id")
        return facts.encounter_participant(str(enc_id)) if enc_id else None
    return None


def id_set(value: Any) -> set[str]:
    """A JSON list of ids (as a field holds it) as a set; anything else: empty."""
    if isinstance(value, list | tuple | set):
        return {str(v) for v in value}
    if not isinstance(value, str):
        return set()
    try:
        parsed = json.loads(value)
    except ValueError:
        return set()
    return {str(v) for v in parsed} if isinstance(parsed, list) else set()
