"""What the sync engine's parts share: who calls, what one push works with (``Push``),
the fields that place a record, and the JSON text of a value."""

from __future__ import annotations

import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import UTC
from datetime import datetime
from typing import TYPE_CHECKING
from typing import Any

from sync import merge
from sync import rules
from sync.protocol import PushChange
from sync.server.tables import field_state
from sync.server.tables import records

if TYPE_CHECKING:
    from sync.server.engine.scope import Scope
    from sync.server.engine.working import Working

# The statements every sync runs are built once (sync.server.sql).

# What a pull sends of a field (and seq, for the cursor).
PULL_COLUMNS = (
    field_state.c.table_name,
    field_state.c.record_id,
    field_state.c.field,
    field_state.c.value,
    field_state.c.stamp,
    field_state.c.seq,
)
log = logging.getLogger("sync.server")


CONFLICT_NS = uuid.UUID("6f1c8a52-3c0e-4a43-9a7f-5b8f3e1d2c90")


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


@dataclass(slots=True)
class Push:
    """What one push works with, made once in ``SyncEngine.push`` (after the trust
    boundary) and handed down its path in place of the pieces: the working state,
    the caller and their scope, and the batch's facts."""

    w: Working
    scope: Scope
    caller: Caller
    now_ms: int
    now_iso: str
    fields: dict[str, dict[str, Any]]  # the values the batch gives each record
    # Each pushed record's scope verdict, (table, record id) -> reason or None:
    # scope is a property of the record, so it is judged once a push.
    scope_reasons: dict[tuple[str, str], str | None] = dc_field(default_factory=dict)
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


def _by_stamp(ch: PushChange) -> str:
    return ch.stamp


def _batch_fields(chs: Iterable[PushChange]) -> dict[str, dict[str, Any]]:
    """The values a batch gives each record (latest stamp wins), to place new records."""
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    for ch in sorted(chs, key=lambda c: c.stamp):
        out[ch.record_id][ch.field] = ch.value
    return out
