"""The server's trust boundary: what it checks of a push before the merge sees it.

A pushed change comes from a device the server authenticated, but its content is
whatever that device chose to send. Before anything is stored:

* stamps: every stamp must carry the pushing device's own id (a stamp is also the
  change's id, so a forged one could pre-empt another device's change);
  otherwise the whole push is refused (``PushRefused``, HTTP 403);
* values: every value must fit the record schema (sync.schema.validate_field);
  a push holding one that does not is refused whole (422, each such field named;
  ``check_values``), and the engine refuses them one by one as well;
* identity: a record id belongs to one table forever, so a change naming another
  table for an id the server holds (or a staff member's id) is refused, and so is
  one push naming two tables for one new id, and a new record of a table only
  the server writes (conflicts);
* completeness: a new record must bring every required field;
* authorship: fields that say who did something (signed, reviewed, wrote, billed,
  resolved, ...) must name the signed-in user (an administrator may name others).

Each check answers {stamp: reason}; the engine refuses those changes like any
other refused change (kept with the reason, the rest of the push goes on).
Scope (whose caseload) is decided by the engine from the record as stored.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any

from sync import schema
from sync.protocol import PUSH_CHANGES_ACCEPTED
from sync.protocol import PushChange


class Refusal(Exception):
    """What the server refuses a client, before the API words it: the HTTP
    ``status``, a stable ``code``, a message for a person and a ``detail`` (never a
    request's content). The API answers it as it is (api.errors.refused)."""

    def __init__(self, status: int, code: str, message: str, detail: Any = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.detail = status, code, message, detail


class PushRefused(Refusal):
    """A push refused whole (nothing of it is stored)."""


def check_stamps(device_id: str, chs: Iterable[PushChange]) -> None:
    """Every stamp must name the pushing device (stamps end in ``.<device id>``)."""
    suffix = "." + device_id
    if any(not c.stamp.endswith(suffix) or c.stamp.count(".") != 2 for c in chs):
        raise PushRefused(
            403,
            "stamp_device_mismatch",
            "A change in this push carries another device's stamp. Nothing was stored.",
        )


def value_problems(chs: Iterable[PushChange]) -> dict[str, str]:
    """Changes whose value does not fit the schema: {stamp: reason}."""
    out: dict[str, str] = {}
    for c in chs:
        reason = schema.validate_field(c.table, c.field, c.value)
        if reason is not None:
            out[c.stamp] = reason
    return out


def check_values(chs: list[PushChange]) -> None:
    """A push holding any change that does not fit the schema is refused whole with
    422 ``invalid_values``, naming each such change (``detail``: stamp, table,
    field, reason), and nothing of it is stored: the device marks those changes
    refused and sends the rest again. (The engine refuses such changes one by one
    too, for callers that skip this check.)"""
    problems = value_problems(chs)
    if not problems:
        return
    detail = [
        {"stamp": c.stamp, "table": c.table, "field": c.field, "reason": problems[c.stamp]}
        for c in chs
        if c.stamp in problems
    ][:MAX_DETAIL]
    raise PushRefused(
        422,
        "invalid_values",
        f"{len(problems)} change(s) do not fit the record schema; nothing was stored. "
        + "; ".join(sorted({d["reason"] for d in detail})[:5]),
        detail,
    )


MAX_DETAIL = PUSH_CHANGES_ACCEPTED  # every change of the largest push


# Fields that say who did something: they must name the signed-in user.
AUTHOR_FIELDS: frozenset[tuple[str, str]] = frozenset(
    {
        ("encounters", "specialist_id"),
        ("encounters", "signed_by_id"),
        ("encounters", "reviewed_by_id"),
        ("addenda", "author_id"),
        ("barc10", "assessed_by_id"),
        ("time_entries", "specialist_id"),
        ("supervision_sessions", "supervisor_id"),
        ("billing_batches", "created_by_id"),
        ("billing_batches", "voided_by_id"),
        ("conflicts", "resolved_by_id"),
    }
)


def authorship_problem(role: str, user_id: str, table: str, field: str, value: Any) -> str | None:
    """Why ``value`` may not stand as the author in ``table.field``, or None."""
    if role == "admin" or (table, field) not in AUTHOR_FIELDS:
        return None
    if value in ("", None, user_id):
        return None
    return f"{field}: must name you, the signed-in user"


def identity_problems(
    chs: Iterable[PushChange],
    stored_table: Mapping[str, str],
    staff_ids: frozenset[str] | set[str],
) -> dict[str, str]:
    """Changes that name a table other than the one their record id belongs to:
    the table the server holds the record in (``stored_table``), ``users`` for a
    staff member's id, or (for a new id) the only table the push names for it."""
    chs = list(chs)
    named: dict[str, set[str]] = defaultdict(set)
    for c in chs:
        named[c.record_id].add(c.table)
    out: dict[str, str] = {}
    for c in chs:
        owner = stored_table.get(c.record_id) or ("users" if c.record_id in staff_ids else None)
        if owner is not None and owner != c.table:
            out[c.stamp] = "this record id belongs to another kind of record"
        elif owner is None and len(named[c.record_id]) > 1:
            out[c.stamp] = "one new record id was given to two kinds of record"
        elif owner is None and c.table in SERVER_ONLY:
            out[c.stamp] = "conflicts are recorded by the server; devices only resolve them"
    return out


def reference_problems(chs: Iterable[PushChange], table_of: Mapping[str, str]) -> dict[str, str]:
    """Changes whose value refers to a record of the wrong kind (a goal's
    ``participant_id`` naming a note, an addendum's ``encounter_id`` naming a
    participant): ``table_of`` gives the table of every referenced id the server
    (or this push) knows; unknown ids are left to scope."""
    out: dict[str, str] = {}
    for c in chs:
        spec = schema.FIELDS.get(c.table, {}).get(c.field)
        if spec is None or not spec.ref or not isinstance(c.value, str) or not c.value:
            continue
        if spec.kind == schema.REF:
            ids = [c.value]
        elif spec.kind == schema.LIST and spec.item == schema.REF:
            ids = referenced_ids(spec, c.value)
        else:
            continue
        if any(table_of.get(i, spec.ref) != spec.ref for i in ids):
            out[c.stamp] = f"{c.field}: refers to a record that is not one of {spec.ref}"
    return out


def referenced_ids(spec: schema.FieldSpec, value: Any) -> list[str]:
    """The ids a (validated) reference field holds."""
    if spec.kind == schema.REF:
        return [value] if isinstance(value, str) and value else []
    try:
        items = json.loads(value)
    except (TypeError, ValueError):
        return []
    return [i for i in items if isinstance(i, str)] if isinstance(items, list) else []


# Records only the server creates (devices write some fields of existing ones).
SERVER_ONLY: frozenset[str] = frozenset({"conflicts"})


def missing_required(chs: Iterable[PushChange], is_new: Mapping[str, bool] | Any) -> dict[str, str]:
    """Changes of new records that lack a required field (all of that record's
    changes are refused: a record is never created half-valid).
    ``is_new(record_id)`` says whether the server holds nothing of the record."""
    by_record: dict[str, list[PushChange]] = defaultdict(list)
    for c in chs:
        by_record[c.record_id].append(c)
    out: dict[str, str] = {}
    for record_id, group in by_record.items():
        if not is_new(record_id):
            continue
        table = group[0].table
        given = {c.field for c in group}
        lacking = [
            s.name for s in schema.SCHEMA.get(table, ()) if s.required and s.name not in given
        ]
        if lacking:
            reason = f"{lacking[0]}: is required (a new record needs it)"
            for c in group:
                out[c.stamp] = reason
    return out
