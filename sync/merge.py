"""The merge rules: pure functions that the client and the server both call.

* Per field, the value with the greatest stamp wins (last writer wins by hybrid
  logical clock), so every replica converges whatever order changes arrive in.
* A change is concurrent when its base (the stamp of the value its writer saw)
  is not the stamp the field holds: the writer did not see the value it
  replaces. The losing side of a concurrent pair is kept, never dropped: as a
  text conflict a person resolves (free-text fields) or in the conflict log.
* Life-cycle rules are part of merge: a signed note's content cannot change, a
  billed service cannot change, review fields are written only by supervisors,
  billing fields (and batches) only by billing staff or a supervisor, on
  approved services, addenda never change, and a note's status moves only along
  the life-cycle graph, by the role allowed to move it.
  A decision (a signature, an approval or return, a billing mark) carries the
  content hash it was made on and is applied only to that content
  (``decision_hash_problem``), whole: when a push's status move on a note is
  refused, so are its decision fields of that note (``decision_problem``,
  ``with_decision``), and the refusal is kept as a conflict (``SIGN_AGAIN`` for a
  signature, ``keeps_refused`` for two decisions that met). Two review decisions
  made without seeing each other race by stamp: the later stands whole whichever
  arrives first (``DECISION_SET``: what it leaves in the fields it does not write).
  Only a session's supervisor records a supervision
  session, until they sign it; only a specialist named in it signs as specialist.
* Deletes are tombstones: ``deleted`` is a field like any other. An edit of a
  record that is deleted is still applied (nothing lost) and logged, so a person
  can bring the record back; a delete that arrives after edits its writer had not
  seen logs the same conflicts (the server, by the device's cursor).
* Merged participants (one person, one record): ``merged_into`` points a
  tombstone at the record it was merged into; only supervisors and administrators
  write it, and a supervisor otherwise only fills a participant's empty fields.
  Children are never rewritten: they belong to ``survivor`` (follow
  ``merged_into``; in a cycle the smallest id), a pure function of the converged
  fields, so every replica agrees and concurrent merges converge.
* Clocks: a stamp more than ``MAX_FUTURE_MS`` ahead of the server's clock is
  re-stamped by the server on arrival, so a laptop whose clock runs far ahead
  cannot make its edits win forever (a later edit based on a re-stamped one is
  based on the stamp it became); clients warn when their clock is off by more
  than ``WARN_OFFSET_MS``, saying which way and how far (``clock_warning``); the
  offset a request measures is the smallest it proves (``measured_offset``).

docs/SYNC.md explains these rules with a worked example.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sync import content
from sync import rules
from sync.hlc import Stamp

MAX_FUTURE_MS = 10 * 60 * 1000
WARN_OFFSET_MS = 5 * 60 * 1000


class Outcome(Enum):
    APPLY = "apply"  # the incoming value becomes the field's value
    KEEP = "keep"  # the field keeps its value; the incoming one lost
    DUPLICATE = "duplicate"  # this exact change is already there


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    concurrent: bool  # the loser was written without seeing the winner: keep it

    @property
    def applies(self) -> bool:
        return self.outcome is Outcome.APPLY


def decide(
    current_stamp: str | None,
    current_base: str | None,
    incoming_stamp: str,
    incoming_base: str | None,
) -> Decision:
    """Last writer wins by stamp; say whether the loser was concurrent."""
    if current_stamp is None:
        return Decision(Outcome.APPLY, False)
    if incoming_stamp == current_stamp:
        return Decision(Outcome.DUPLICATE, False)
    if incoming_stamp > current_stamp:
        return Decision(Outcome.APPLY, incoming_base != current_stamp)
    # The incoming change is older. It lost knowingly only if the current value
    # was written on top of it.
    return Decision(Outcome.KEEP, current_base != incoming_stamp)


def conflict_kind(table: str, field: str) -> str:
    """'text' for a conflict a person resolves, 'log' for the conflict log."""
    return "text" if field in rules.FREE_TEXT.get(table, ()) else "log"


def wall_ms(stamp: str) -> int:
    return Stamp.parse(stamp).wall_ms


def too_far_ahead(stamp: str, server_now_ms: int) -> bool:
    return wall_ms(stamp) > server_now_ms + MAX_FUTURE_MS


def measured_offset(server_ms: int, sent_ms: int, received_ms: int) -> int:
    """The server's clock minus this device's, as one request measured it: the
    smallest correction the measurement proves.

    The server read its clock somewhere between the request leaving (``sent_ms``,
    this device's clock) and the reply arriving (``received_ms``), so the true
    offset lies between ``server - received`` and ``server - sent``. Where that
    range holds 0 the clocks may agree and nothing is corrected; otherwise the
    correction is to its nearer end. (The midpoint would be off by up to half the
    round trip: hundreds of milliseconds on a satellite link, re-ordering the
    stamps of laptops whose clocks are right.)"""
    if server_ms < sent_ms:
        return server_ms - sent_ms  # this device is ahead
    if server_ms > received_ms:
        return server_ms - received_ms  # behind
    return 0


def clock_warning(offset_ms: int) -> str | None:
    """A plain-words warning when this device's clock is off from the server's.

    ``offset_ms`` is the server's time minus this device's (what sync measures): a
    negative offset means this device's clock is ahead, a positive one behind."""
    if abs(offset_ms) <= WARN_OFFSET_MS:
        return None
    way = "ahead of" if offset_ms < 0 else "behind"
    return (
        f"This laptop's clock is {how_long(abs(offset_ms))} {way} the server's. Set its date "
        "and time correctly so that your changes are put in the right order."
    )


def how_long(ms: int) -> str:
    """A duration in plain words: "12 minutes", "5 hours", "3 days", "about 1 year"."""
    minutes = round(ms / 60000)
    hours = round(ms / 3_600_000)
    days = round(ms / 86_400_000)
    if minutes < 120:
        return _count(minutes, "minute")
    if hours < 48:
        return _count(hours, "hour")
    if days < 60:
        return _count(days, "day")
    if days < 330:
        return f"about {_count(round(days / 30.44), 'month')}"
    return f"about {_count(round(days / 365.25), 'year')} ({_count(days, 'day')})"


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


def permission_problem(
    role: str,
    user_id: str,
    table: str,
    field: str,
    value: Any,
    record: Mapping[str, Any],
    field_is_set: bool,
) -> str | None:
    """Why ``role`` may not write ``value`` into ``table.field`` of a record whose
    current fields are ``record`` (empty for a new record); None when allowed.
    Scope (whose caseload a record is in) is checked by the server separately."""
    if table not in rules.TABLES:
        return "unknown record type"
    if field not in rules.TABLES[table]:
        return "unknown field"
    if role == "admin":
        return None
    if table == "users":
        return "only an administrator changes users"
    if table in ("payers", "billing_providers"):
        return None if role == "billing" else "only billing staff change billing settings"
    if table == "billing_batches":
        if role not in rules.BILLING_ROLES:
            return "only billing staff or a supervisor export and void billing batches"
        return None
    if table == "conflicts":
        if field not in rules.CONFLICT_RESOLUTION:
            return "conflicts are recorded by the server; only their resolution is written"
        return None
    if table == "addenda":
        if field_is_set:
            return "an addendum cannot be changed once written"
        return (
            None
            if role in ("specialist", "supervisor")
            else "only staff who see the note add addenda"
        )
    if table == "supervision_sessions":
        if role not in ("supervisor", "specialist"):
            return "only supervision staff write supervision"
        return _session_problem(role, user_id, field, value, record)
    if table == "participants" and field == "assigned_specialist_id" and value != user_id:
        return "only an administrator reassigns participants"
    if table == "participants" and role == "supervisor":
        return _supervisor_participant_problem(field, value, record)
    if table == "participants" and field == "merged_into":
        return "only a supervisor merges records"
    if table == "encounters":
        return _note_problem(role, user_id, field, value, record)
    if role != "specialist":
        return f"a {role} does not change {table.replace('_', ' ')}"
    return None


def _note_problem(
    role: str, user_id: str, field: str, value: Any, record: Mapping[str, Any]
) -> str | None:
    status = record.get("status") or "draft"
    if field == "status":
        if value == status:
            return None
        if (status, value) not in rules.STATUS_MOVES.get(role, frozenset()):
            return f"a {role} cannot move a note from {status} to {value}"
        if role == "specialist" and record.get("specialist_id") not in (None, "", user_id):
            return "only the note's author signs or voids it"
        return None
    if status == "billed" and field not in rules.NOTE_BILLING:
        return "this service has been billed and cannot change"
    if field in rules.NOTE_REVIEW:
        if role != "supervisor":
            return "only a supervisor writes review fields"
        if status not in ("signed", "approved", "returned"):
            return "only a signed note is reviewed"
        return None
    if field in rules.NOTE_BILLING:
        if role not in rules.BILLING_ROLES:
            return "only billing staff or a supervisor mark services billed"
        if status not in ("approved", "billed"):
            return "only an approved service is billed"
        return None
    if role != "specialist":
        return f"a {role} does not edit notes"
    if field in rules.NOTE_CONTENT:
        if status != "draft":
            return f"this note is {status}; its content cannot change (add an addendum)"
        return None
    if field in rules.NOTE_SIGNING and status not in ("draft", "signed"):
        return f"this note is {status}; its signature cannot change"
    if field == "deleted" and value and status != "draft":
        return "only a draft can be deleted; void a signed note instead"
    return None


def decision_problem(
    role: str, user_id: str, moves: Iterable[Any], record: Mapping[str, Any]
) -> str | None:
    """Why a push's status moves of one note (their values, in stamp order) are
    refused, else None. The note's decision fields in the same push (see
    ``with_decision``) share that answer: a decision is applied whole or not at
    all, so an approved note never carries the comment of a refused return."""
    status = record.get("status") or "draft"
    for value in moves:
        problem = permission_problem(
            role, user_id, "encounters", "status", value, {**record, "status": status}, True
        )
        if problem is not None:
            return f"the review decision was refused whole: {problem}"
        status = value
    return None


SIGN_AGAIN = "sign again"  # conflict kind: a signature refused because the note changed
SIGN_REFUSED = "changed on another device before your signature arrived: read it and sign again"
REVIEW_REFUSED = (
    "the note changed on another device before your decision arrived: read it and review it again"
)

# What a decision leaves in the note's decision fields it does not write itself
# (the values the domain's life cycle gives them): a decision is applied whole, so a
# return never leaves an approval's hash behind, nor an approval a return's comment.
DECISION_SET: dict[str, dict[str, Any]] = {
    "approved": {"review_comment": ""},
    "returned": {"approved_content_hash": ""},
}


def decision_hash_problem(
    before: str, after: str, decision: Mapping[str, Any], note: Mapping[str, Any]
) -> str | None:
    """Why a status move ``before`` -> ``after`` may not be applied to a note whose
    stored fields are ``note`` (after the earlier changes of the same push), given
    the decision's own field values ``decision``; None when its hash matches.

    A signature carries the hash of the content it signed (``content_hash``), an
    approval the hash it approved (``approved_content_hash``); a return and a
    billing mark are made on the signed (approved) content, so that content must
    still be the note's."""
    current = content.stored_content_hash(note)

    def carried(name: str) -> str:
        return str(decision[name] if name in decision else (note.get(name) or ""))

    if after == "signed":  # from a draft, a returned note, or again (another laptop)
        return None if carried("content_hash") == current else SIGN_REFUSED
    if after in ("approved", "returned") and carried("content_hash") != current:
        return REVIEW_REFUSED
    if after == "approved" and carried("approved_content_hash") != current:
        return REVIEW_REFUSED
    if after == "billed" and carried("approved_content_hash") != current:
        return "the note changed after approval; it must be reviewed again"
    return None


def with_decision(table: str, field: str) -> bool:
    """A decision field (signature, review, billing mark, void reason) stands or falls
    with its push's status move on the same note."""
    return table == "encounters" and field in rules.NOTE_DECISION


def keeps_refused(table: str, field: str, decision: Decision) -> bool:
    """A refused status move whose writer had not seen the status it would replace
    (two decisions met, e.g. approved on one laptop, returned on another) is kept as
    a conflict on ``status``, so every device sees both decisions."""
    return table == "encounters" and field == "status" and decision.concurrent


# A supervisor's merge (app/services/duplicates.py): the tombstone's pointer, the
# "not the same person" marks, and the kept record's fields that were still empty.
MERGE_FIELDS = frozenset({"merged_into", "distinct_from"})
_NEVER_FILLED = frozenset({"assigned_specialist_id", "deleted", "status"})
EMPTY_VALUES = (None, "", "[]")


def _supervisor_participant_problem(
    field: str, value: Any, record: Mapping[str, Any]
) -> str | None:
    """A supervisor merges records (``merged_into``), marks pairs "not the same
    person" (``distinct_from``) and, merging, fills in the kept record's empty
    fields (or writes the value they already hold: the same merge made on two
    laptops); everything else about a participant is the specialist's."""
    if field in MERGE_FIELDS:
        return None
    if not record or field in _NEVER_FILLED:
        return "a supervisor only fills in a participant's empty fields when merging records"
    if record.get(field) not in EMPTY_VALUES and record.get(field) != value:
        return "a supervisor only fills in a participant's empty fields when merging records"
    return None


def survivor(participant_id: str, merged_into: Mapping[str, str]) -> str:
    """The live record a participant's data belongs to: follow ``merged_into`` until a
    record that is not merged. Merges made on two laptops at once can form a cycle
    (A into B on one, B into A on the other): then the smallest id in the cycle is
    the survivor and its own ``merged_into`` is ignored. A pure function of the
    converged fields, so the server and every device agree on it."""
    path: list[str] = []
    on_path: set[str] = set()
    current = participant_id
    while True:
        target = merged_into.get(current) or ""
        if not target or target == current:
            return current
        if current in on_path:
            return min(path[path.index(current) :])
        path.append(current)
        on_path.add(current)
        current = target


def merge_groups(merged_into: Mapping[str, str]) -> dict[str, str]:
    """Every participant that ``merged_into`` names (as merged or as target) ->
    its survivor."""
    ids = set(merged_into) | {t for t in merged_into.values() if t}
    return {pid: survivor(pid, merged_into) for pid in sorted(ids)}


def _session_problem(
    role: str, user_id: str, field: str, value: Any, record: Mapping[str, Any]
) -> str | None:
    """Only the session's supervisor writes what it records, and only until they
    sign it; a specialist named in the session writes only their signature."""
    if field == "specialist_signed_at":
        if role != "specialist" or user_id not in _ids(record.get("specialist_ids")):
            return "only a specialist who took part signs the session as specialist"
        return None
    if role != "supervisor" or (record.get("supervisor_id") or user_id) != user_id:
        return "only the session's supervisor records it"
    if field == "supervisor_id" and value != user_id:
        return "a supervisor records only their own sessions"
    if record.get("supervisor_signed_at"):
        return "this session is signed; what it records cannot change"
    return None


def _ids(value: Any) -> list[str]:
    """A list of ids as sync carries it (JSON text), or as a list."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else []
