"""The content hash of a service note: what a signature, an approval and a billing
mark are made on.

One function for both ends (the server never imports app/): ``content_hash`` takes
the note's content fields as plain values (strings, integers, lists, None; dates
and times as ISO 8601 text) and hashes their sorted-key compact JSON with SHA-256.
``stored_content`` turns a note's fields as sync carries them (and the server and
the vault store them: lists as JSON text, times as ``HH:MM``, fields left out of a
new record at their column default) into those plain values, so a note hashes the
same on the laptop that signed it, on the server and on every other device.
app.domain.lifecycle.content_hash is this function over a note object.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date
from datetime import time
from typing import Any

from sync import rules

# How the service was given (a new note takes them from the person's last note).
SERVICE_FIELDS: tuple[str, ...] = (
    "modality",
    "place_of_service",
    "location_note",
    "setting",
    "group_size",
    "service_code",
    "modifiers",
)
# The note's content fields, in the order the domain declares them.
CONTENT_FIELDS: tuple[str, ...] = (
    "participant_id",
    "specialist_id",
    "service_date",
    "start_time",
    "end_time",
    *SERVICE_FIELDS,
    "payer_id",
    "goal_ids",
    "note_format",
    "goal_text",
    "intervention",
    "response",
    "plan",
    "data",
    "assessment",
)
LIST_FIELDS = frozenset({"modifiers", "goal_ids"})
TIME_FIELDS = frozenset({"start_time", "end_time"})
DATE_FIELDS = frozenset({"service_date"})


def _plain(v: object) -> object:
    if v is None or isinstance(v, str | int | float | bool):
        return v
    if isinstance(v, tuple | list):
        return [_plain(x) for x in v]
    return v.isoformat() if hasattr(v, "isoformat") else str(v)


_HASH_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=_plain)


def content_hash(values: Mapping[str, Any]) -> str:
    """SHA-256 over the content fields, stable across runs and machines: the
    sorted-key compact JSON of the fields (dates and times ISO 8601, tuples as
    arrays, enums as their values)."""
    payload = {f: values.get(f) for f in CONTENT_FIELDS}
    return hashlib.sha256(_HASH_JSON.encode(payload).encode()).hexdigest()


def _stored_value(name: str, v: Any) -> Any:
    """A stored (wire) value as the domain object holds it, in plain form."""
    if v is None:
        return None
    try:
        if name in LIST_FIELDS:
            items = json.loads(v) if isinstance(v, str) else v
            return [_plain(x) for x in items] if isinstance(items, list) else v
        if name in TIME_FIELDS and isinstance(v, str):
            return time.fromisoformat(v).isoformat()
        if name in DATE_FIELDS and isinstance(v, str):
            return date.fromisoformat(v).isoformat()
    except (ValueError, TypeError):
        return v  # not a well-formed value: hashed as it is (it matches no signature)
    return v


def stored_content(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The content of a note held as stored fields (missing ones at their default)."""
    out = {}
    for name in CONTENT_FIELDS:
        v = fields[name] if name in fields else rules.NOTE_CONTENT_DEFAULTS[name]
        out[name] = _stored_value(name, v)
    return out


def stored_content_hash(fields: Mapping[str, Any]) -> str:
    """``content_hash`` of a note held as stored fields (server, vault rows)."""
    return content_hash(stored_content(fields))


def hash_problem(fields: Mapping[str, Any]) -> str | None:
    """Why a stored note breaks the signature invariant, else None: a signed,
    returned, approved or billed note's ``content_hash`` is the hash of its content,
    and an approved or billed note's ``approved_content_hash`` is too."""
    status = fields.get("status") or "draft"
    if status not in ("signed", "returned", "approved", "billed"):
        return None
    current = stored_content_hash(fields)
    if (fields.get("content_hash") or "") != current:
        return f"this {status} note's content does not match the content that was signed"
    if status in ("approved", "billed") and (fields.get("approved_content_hash") or "") != current:
        return f"this {status} note's content does not match the content that was approved"
    return None
