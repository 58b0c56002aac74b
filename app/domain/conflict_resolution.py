"""Resolving a sync conflict: what a person's choice writes (no Qt, no SQL).

A conflict (app.domain.records.Conflict, written by the sync server) holds the
value that won a concurrent edit ("kept") and the one that lost ("lost"), each as
JSON with its change stamp. A person resolves a *text* conflict by keeping the
version now in the record, taking the other one, or merging both into a new text;
each is an ordinary edit of the record (so it syncs like any other) plus the
conflict's resolution fields (sync.rules.CONFLICT_RESOLUTION: status,
resolved_by_id, resolved_at, resolution). A *log* conflict (a non-text field) is
only looked at and marked seen; an *edited after delete* conflict can restore the
deleted record or leave it deleted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.domain.records import Conflict

TEXT = "text"
LOG = "log"
EDITED_AFTER_DELETE = "edited after delete"
SIGN_AGAIN = "sign again"  # a signature refused: the note changed on another device first
# A change written offline for a record that has since left the writer's caseload
# (sync.server.engine.UNDELIVERED): the record's specialist may take it or keep theirs.
UNDELIVERED = "undelivered"

OPEN = "open"
RESOLVED = "resolved"


class Choice(StrEnum):
    KEEP_CURRENT = "kept"  # the version now in the record stays
    KEEP_OTHER = "other"  # the version that lost is put back
    MERGE = "merged"  # a new text made from both
    SEEN = "seen"  # a log entry looked at
    RESTORE = "restored"  # a record deleted elsewhere, brought back
    LEAVE_DELETED = "left deleted"


#: The choices each kind of conflict offers.
CHOICES: dict[str, tuple[Choice, ...]] = {
    TEXT: (Choice.KEEP_CURRENT, Choice.KEEP_OTHER, Choice.MERGE),
    LOG: (Choice.SEEN,),
    EDITED_AFTER_DELETE: (Choice.RESTORE, Choice.LEAVE_DELETED),
    SIGN_AGAIN: (Choice.SEEN,),
    UNDELIVERED: (Choice.KEEP_CURRENT, Choice.KEEP_OTHER),
}


class ResolutionError(ValueError):
    """A choice that cannot be carried out; the message is for a person."""


def decode(value_json: str) -> Any:
    """A conflict's stored value (JSON text) as the plain value."""
    if value_json == "":
        return None
    try:
        return json.loads(value_json)
    except ValueError:
        return value_json


def as_text(value: Any) -> str:
    """A value for showing side by side."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(as_text(v) for v in value)
    return str(value)


def merge_prefill(current: str, other: str) -> str:
    """The text a merge starts from: both versions, the one in the record first.
    When one already contains the other, just the longer one."""
    a, b = current.strip(), other.strip()
    if not a or a in b:
        return b
    if not b or b in a:
        return a
    return f"{a}\n\n{b}"


@dataclass(frozen=True)
class Plan:
    """What a resolution writes: the target field's new value (``write`` False when
    the record stays as it is) and the conflict's resolution label."""

    write: bool
    field: str
    value: Any
    resolution: Choice


def plan(conflict: Conflict, choice: Choice, merged: str | None = None) -> Plan:
    """The edit a choice makes. Raises ResolutionError for a choice this kind of
    conflict does not offer, or an empty merge."""
    offered = CHOICES.get(conflict.kind, (Choice.SEEN,))
    if choice not in offered:
        raise ResolutionError("This kind of conflict cannot be resolved that way.")
    if conflict.status != OPEN:
        raise ResolutionError("This conflict was already resolved.")
    if choice is Choice.KEEP_OTHER:
        value = decode(conflict.lost_value)
        return Plan(True, conflict.field, "" if value is None else value, choice)
    if choice is Choice.MERGE:
        text = (merged or "").strip()
        if not text:
            raise ResolutionError("The merged text is empty. Write the text to keep.")
        return Plan(True, conflict.field, text, choice)
    if choice is Choice.RESTORE:
        return Plan(True, "deleted", False, choice)
    return Plan(False, conflict.field, None, choice)


def resolved(conflict: Conflict, by_id: str, at: datetime, choice: Choice) -> Conflict:
    """The conflict with its resolution fields filled in (and nothing else changed)."""
    return conflict.replace(  # type: ignore[return-value]
        status=RESOLVED,
        resolved_by_id=by_id,
        resolved_at=at.astimezone(UTC).isoformat(timespec="seconds"),
        resolution=str(choice),
    )
