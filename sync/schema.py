"""The record schema, declared once: every synced table, every field, its type and bounds.

The server checks every pushed value against it before anything is stored
(``validate_field``), the client checks every pulled value against it before it
reaches the vault, and the app's own copies are tested against it so they cannot
drift: the vault's DDL (tests/test_schema.py reads a real vault's columns), the
record dataclasses of app.domain.records, sync.rules.TABLES (derived from
``SCHEMA``) and the field tables of docs/ARCHITECTURE.md (generated from it by
sync/schema_docs.py). The enumerations' values come from sync/enums.py, whose
classes the records use as field types: declared once.

Values are checked in the form they travel and are stored in the vault: text as
text, integers as integers (64-bit, and inside a sensible domain range), booleans
as 0/1, dates ``YYYY-MM-DD``, times ``HH:MM``, date-times ISO 8601, lists as JSON
text of a list (``'["F11.20"]'``), ids as short ASCII ids. ``None`` only where the
vault's column allows NULL. Reasons name the field and the problem but never
repeat the value (it may identify a person).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import time
from enum import StrEnum
from typing import Any

from sync import enums

TEXT, INT, REAL, BOOL = "text", "int", "real", "bool"
DATE, TIME, DATETIME = "date", "time", "datetime"
ENUM, REF, LIST, JSON = "enum", "ref", "list", "json"
KINDS = (TEXT, INT, REAL, BOOL, DATE, TIME, DATETIME, ENUM, REF, LIST, JSON)

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
ID_MAX = 64  # record ids: sync.protocol.RecordId
ID_RE = re.compile(r"[A-Za-z0-9-]{1,64}")
STAMP_RE = re.compile(r"[0-9a-f]{12}\.[0-9a-f]{4}\.[a-z2-7]{4,32}")
FIELD_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
TIME_RE = re.compile(r"[0-9]{2}:[0-9]{2}(:[0-9]{2})?")
DATETIME_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?"
)
FIRST_DAY, LAST_DAY = date(1850, 1, 1), date(2199, 12, 31)

# Text lengths, in characters.
NAME, LINE, PARAGRAPH, NARRATIVE = 200, 1_000, 10_000, 100_000


# -- the enumerations' values (the classes are sync/enums.py's) ----------------------
def _values(e: type[StrEnum]) -> tuple[str, ...]:
    return tuple(m.value for m in e)


ROLES = _values(enums.Role)
CREDENTIALS = _values(enums.Credential)
PEER_KINDS = _values(enums.PeerKind)
PARTICIPANT_STATUSES = _values(enums.ParticipantStatus)
CONTACT_METHODS = _values(enums.ContactMethod)
CONSENT_KINDS = _values(enums.ConsentKind)
GOAL_DOMAINS = _values(enums.RecoveryDomain)
GOAL_STATUSES = _values(enums.GoalStatus)
MODALITIES = _values(enums.Modality)
SETTINGS = _values(enums.ServiceSetting)
NOTE_FORMATS = _values(enums.NoteFormat)
NOTE_STATUSES = _values(enums.NoteStatus)
TIME_CATEGORIES = _values(enums.TimeCategory)
SUPERVISION_FORMATS = _values(enums.SupervisionFormat)
SUPERVISION_TOPICS = _values(enums.SupervisionTopic)
ROUNDING_RULES = _values(enums.RoundingRuleName)
CLAIM_GROUPINGS = _values(enums.ClaimGrouping)
USAGE_INDICATORS = ("T", "P")
UNIT_BASES = _values(enums.UnitBasis)  # "": the code tables' rule (billing.json)
ADMINISTRATIVE_SEXES = _values(enums.AdministrativeSex)  # as on the Medicaid card (837P DMG03)
BATCH_STATUSES = _values(enums.BatchStatus)
CONFLICT_KINDS = ("text", "log", "edited after delete", "sign again", "undelivered")
CONFLICT_STATUSES = ("open", "resolved")
CONFLICT_RESOLUTIONS = ("", "kept", "other", "merged", "seen", "restored", "left deleted")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field: how it travels and what it may hold.

    ``required``: never empty (no "" / None / "[]"). ``null``: None allowed (the
    vault's column is nullable). ``max_len``: characters of text, items of a list.
    ``lo``/``hi``: the range of a number (of each item of an integer list).
    ``values``: an enum's values (of each item of an enum list). ``ref``: the table
    an id refers to ("" for any table). ``item``: a list's item kind.
    ``default``: the vault column's default value."""

    name: str
    kind: str
    required: bool = False
    null: bool = False
    max_len: int = 0
    lo: float | None = None
    hi: float | None = None
    values: tuple[str, ...] = ()
    ref: str = ""
    item: str = ""
    min_len: int = 0
    default: Any = ""


def text(name: str, max_len: int = NAME, default: str = "", required: bool = False) -> FieldSpec:
    return FieldSpec(name, TEXT, required=required, max_len=max_len, default=default)


def integer(name: str, lo: int, hi: int, default: int | None = 0, **kw: Any) -> FieldSpec:
    return FieldSpec(name, INT, lo=lo, hi=hi, default=default, null=default is None, **kw)


def real(name: str, lo: float, hi: float, default: float = 0.0) -> FieldSpec:
    return FieldSpec(name, REAL, lo=lo, hi=hi, default=default)


def boolean(name: str, default: int = 0) -> FieldSpec:
    return FieldSpec(name, BOOL, default=default)


def day(name: str, required: bool = False) -> FieldSpec:
    return FieldSpec(name, DATE, required=required, null=True, default=None)


def clock(name: str) -> FieldSpec:
    return FieldSpec(name, TIME, null=True, default=None)


def moment(name: str, null: bool = True, required: bool = False) -> FieldSpec:
    """A date-time: nullable, or (conflicts) text where "" means not yet."""
    return FieldSpec(name, DATETIME, null=null, required=required, default=None if null else "")


def enum(name: str, values: tuple[str, ...], default: str = "", **kw: Any) -> FieldSpec:
    return FieldSpec(name, ENUM, values=values, default=default, **kw)


def ref(name: str, table: str, required: bool = False) -> FieldSpec:
    return FieldSpec(name, REF, ref=table, required=required, max_len=ID_MAX)


def id_list(name: str, table: str, max_items: int, required: bool = False) -> FieldSpec:
    return FieldSpec(
        name, LIST, item=REF, ref=table, max_len=max_items, required=required, default="[]"
    )


def text_list(name: str, max_items: int, item_len: int) -> FieldSpec:
    return FieldSpec(name, LIST, item=TEXT, max_len=max_items, hi=item_len, default="[]")


def enum_list(name: str, values: tuple[str, ...]) -> FieldSpec:
    return FieldSpec(name, LIST, item=ENUM, values=values, max_len=len(values), default="[]")


def int_list(name: str, lo: int, hi: int, max_items: int, min_items: int = 0) -> FieldSpec:
    return FieldSpec(
        name, LIST, item=INT, lo=lo, hi=hi, max_len=max_items, min_len=min_items,
        required=min_items > 0, default="[]",
    )  # fmt: skip


DELETED = boolean("deleted")
MAX_BATCH_NOTES = 200_000

SCHEMA: dict[str, tuple[FieldSpec, ...]] = {
    "users": (
        DELETED,
        text("username", 64, required=True),
        text("display_name", NAME, required=True),
        enum("role", ROLES, "specialist"),
        enum("credential", CREDENTIALS, ""),
        enum("peer_kind", PEER_KINDS, "peer recovery"),
        text("npi", 16),
        ref("supervisor_id", "users"),
        day("certified_on"),
        day("recertify_by"),
        boolean("active", 1),
        text("first_name", NAME),  # as on the NPI record (837P 2310B NM1*82)
        text("last_name", NAME),
        text("taxonomy", 16),  # the specialist's own NUCC taxonomy (PRV*PE)
    ),
    "payers": (
        DELETED,
        text("name", NAME, required=True),
        text("payer_id", 80),
        text("funding_stream", NAME),
        enum("rounding_rule", ROUNDING_RULES, "cms-8-minute"),
        integer("unit_minutes", 1, 1440, 15),
        integer("max_units_per_day", 0, 10_000),
        integer("rate_cents_per_unit", 0, 100_000_000),
        boolean("requires_consent"),
        integer("timely_filing_days", 0, 3_650, 365),
        text("receiver_id", 80),
        text("receiver_name", NAME),
        text_list("allowed_modifiers", 100, 8),
        enum("claim_grouping", CLAIM_GROUPINGS, "participant-day"),
        text("claim_filing_code", 8, "MC"),
        enum("usage_indicator", USAGE_INDICATORS, "T"),
        enum("unit_basis", UNIT_BASES, ""),
        text_list("telehealth_places", 20, 8),
        text_list("video_modifiers", 20, 8),
        text_list("audio_modifiers", 20, 8),
    ),
    "participants": (
        DELETED,
        text("first_name", NAME, required=True),
        text("last_name", NAME, required=True),
        text("preferred_name", NAME),
        text("pronouns", 64),
        day("date_of_birth"),
        text("medicaid_id", 32),
        text("program", NAME),
        ref("payer_id", "payers"),
        text("county", NAME),
        text("state", 32, "ND"),
        text_list("diagnoses", 100, 16),
        ref("assigned_specialist_id", "users"),
        enum("status", PARTICIPANT_STATUSES, "active"),
        text("referral_source", LINE),
        day("intake_date"),
        day("discharge_date"),
        text("discharge_reason", LINE),
        text("tribal_affiliation", NAME),
        text("phone", 64),
        text("email", 254),
        text("address", LINE),
        enum_list("contact_methods", CONTACT_METHODS),
        text("contact_best_times", LINE),
        boolean("ok_to_leave_message"),
        text("emergency_contact", LINE),
        day("recovery_plan_completed_on"),
        text("address_line1", NAME),  # 837P 2010BA N3/N4, with state
        text("address_line2", NAME),
        text("city", NAME),
        text("zip_code", 16),
        enum("administrative_sex", ADMINISTRATIVE_SEXES, ""),
        # One person, one record (app/services/duplicates.py): a merged record is a
        # tombstone pointing at the record it was merged into (only supervisors and
        # administrators set it); pairs marked "not the same person" are kept on the
        # record with the smaller id.
        ref("merged_into", "participants"),
        id_list("distinct_from", "participants", 200),
    ),
    "consents": (
        DELETED,
        ref("participant_id", "participants", required=True),
        enum("kind", CONSENT_KINDS, "42 CFR Part 2"),
        text("disclosing_party", LINE),
        text("recipient", LINE),
        text("purpose", PARAGRAPH),
        text("information_scope", PARAGRAPH),
        day("signed_on"),
        day("expires_on"),
        text("expiry_event", LINE),
        day("revoked_on"),
        text("revocation_note", PARAGRAPH),
    ),
    "goals": (
        DELETED,
        ref("participant_id", "participants", required=True),
        enum("domain", GOAL_DOMAINS, "", required=True),
        text("statement", PARAGRAPH, required=True),
        text_list("steps", 200, LINE),
        int_list("steps_done", 0, 199, 200),
        enum("status", GOAL_STATUSES, "active"),
        day("started_on"),
        day("target_date"),
        day("achieved_on"),
    ),
    "barc10": (
        DELETED,
        ref("participant_id", "participants", required=True),
        day("assessed_on", required=True),
        int_list("scores", 1, 6, 10, min_items=10),
        ref("assessed_by_id", "users"),
    ),
    "encounters": (
        DELETED,
        ref("participant_id", "participants", required=True),
        ref("specialist_id", "users", required=True),
        day("service_date", required=True),
        clock("start_time"),
        clock("end_time"),
        enum("modality", MODALITIES, "in person"),
        text("place_of_service", 8, "11"),
        text("location_note", LINE),
        enum("setting", SETTINGS, "individual"),
        integer("group_size", 0, 1_000),
        text("service_code", 16, "H0038"),
        text_list("modifiers", 8, 8),
        ref("payer_id", "payers"),
        id_list("goal_ids", "goals", 200),
        enum("note_format", NOTE_FORMATS, "GIRP"),
        text("goal_text", NARRATIVE),
        text("intervention", NARRATIVE),
        text("response", NARRATIVE),
        text("plan", NARRATIVE),
        text("data", NARRATIVE),
        text("assessment", NARRATIVE),
        enum("status", NOTE_STATUSES, "draft"),
        ref("signed_by_id", "users"),
        moment("signed_at"),
        text("content_hash", 128),
        ref("reviewed_by_id", "users"),
        moment("reviewed_at"),
        text("review_comment", PARAGRAPH),
        text("approved_content_hash", 128),
        ref("billing_batch_id", "billing_batches"),
        moment("billed_at"),
        text("void_reason", PARAGRAPH),
    ),
    "addenda": (
        DELETED,
        ref("encounter_id", "encounters", required=True),
        ref("author_id", "users", required=True),
        moment("written_at", required=True),
        text("reason", LINE, required=True),
        text("text", NARRATIVE, required=True),
    ),
    "time_entries": (
        DELETED,
        ref("specialist_id", "users", required=True),
        day("entry_date", required=True),
        enum("category", TIME_CATEGORIES, "", required=True),
        integer("minutes", 0, 1_440, None, required=True),
        ref("encounter_id", "encounters"),
        ref("supervision_id", "supervision_sessions"),
        real("miles", 0.0, 10_000.0),
        text("travel_from", LINE),
        text("travel_to", LINE),
        text("purpose", LINE),
        text("ce_title", LINE),
        text("ce_provider", LINE),
        text("ce_evidence", LINE),
        boolean("ce_is_ethics"),
        text("note", PARAGRAPH),
    ),
    "supervision_sessions": (
        DELETED,
        ref("supervisor_id", "users", required=True),
        id_list("specialist_ids", "users", 200, required=True),
        day("session_date", required=True),
        integer("minutes", 0, 1_440, None, required=True),
        enum("format", SUPERVISION_FORMATS, "individual"),
        enum("modality", MODALITIES, "in person"),
        enum_list("topics", SUPERVISION_TOPICS),
        id_list("cases_reviewed", "participants", 1_000),
        text("action_items", PARAGRAPH),
        day("next_date"),
        moment("supervisor_signed_at"),
        moment("specialist_signed_at"),
    ),
    # Written by the server when merge keeps a losing value; people resolve them.
    "conflicts": (
        DELETED,
        FieldSpec("table_name", ENUM, required=True, values=()),  # filled in below
        ref("target_id", "", required=True),
        FieldSpec("field", TEXT, required=True, max_len=64),
        ref("participant_id", "participants"),
        ref("owner_id", "users"),
        enum("kind", CONFLICT_KINDS, "log"),
        FieldSpec("kept_value", JSON, max_len=2 * NARRATIVE),
        FieldSpec("kept_stamp", TEXT, max_len=64),
        FieldSpec("lost_value", JSON, max_len=2 * NARRATIVE),
        FieldSpec("lost_stamp", TEXT, max_len=64),
        ref("lost_by_id", "users"),
        moment("detected_at", null=False),
        enum("status", CONFLICT_STATUSES, "open"),
        ref("resolved_by_id", "users"),
        moment("resolved_at", null=False),
        enum("resolution", CONFLICT_RESOLUTIONS, ""),
    ),
    # Billing settings and export batches: no personal data, seen by every device.
    "billing_providers": (
        DELETED,
        text("name", NAME, required=True),
        text("npi", 16),
        text("tax_id", 16),
        text("taxonomy", 16, "175T00000X"),
        text("address_line1", NAME),
        text("address_line2", NAME),
        text("city", NAME),
        text("state", 32),
        text("zip_code", 16),
        text("contact_name", NAME),
        text("contact_phone", 64),
        text("submitter_id", 80),
        text("time_zone", 64),  # IANA name; "": America/Chicago
        text("submitter_name", NAME),  # 1000A NM103; "": the agency name
    ),
    "billing_batches": (
        DELETED,
        ref("payer_id", "payers", required=True),
        day("period_from", required=True),
        day("period_to", required=True),
        integer("interchange_control", 0, 999_999_999),
        text_list("files", 1_000, 255),
        text_list("file_hashes", 1_000, 128),
        id_list("encounter_ids", "encounters", MAX_BATCH_NOTES),
        integer("claim_count", 0, MAX_BATCH_NOTES),
        integer("line_count", 0, MAX_BATCH_NOTES),
        integer("unit_count", 0, 100 * MAX_BATCH_NOTES),
        integer("total_cents", 0, 10**13),
        ref("created_by_id", "users"),
        moment("created_at"),
        enum("status", BATCH_STATUSES, "exported"),
        ref("voided_by_id", "users"),
        moment("voided_at"),
        text("void_reason", PARAGRAPH),
    ),
}  # fmt: skip

# A conflict names the table of the record it is about.
SCHEMA["conflicts"] = tuple(
    FieldSpec("table_name", ENUM, required=True, values=tuple(SCHEMA)) if f.name == "table_name"
    else f
    for f in SCHEMA["conflicts"]
)  # fmt: skip

FIELDS: dict[str, dict[str, FieldSpec]] = {t: {f.name: f for f in fs} for t, fs in SCHEMA.items()}


# -- checking a value ------------------------------------------------------------------


def validate_field(table: str, field: str, value: Any) -> str | None:
    """Why ``value`` may not be stored in ``table.field`` (plain words naming the
    field, never the value), or None when it may."""
    spec = FIELDS.get(table, {}).get(field) if isinstance(table, str) else None
    if spec is None:
        if table not in FIELDS:
            return "unknown record type"
        return f"{field}: unknown field" if _printable(field) else "unknown field"
    problem = _check(spec, value)
    return None if problem is None else f"{field}: {problem}"


def validate_id(record_id: Any) -> str | None:
    """Why ``record_id`` is not a record id, or None."""
    if isinstance(record_id, str) and ID_RE.fullmatch(record_id):
        return None
    return "record id: not an id (1 to 64 letters, digits or hyphens)"


def _printable(name: Any) -> bool:
    return isinstance(name, str) and FIELD_RE.fullmatch(name) is not None


def _check(spec: FieldSpec, value: Any) -> str | None:
    if value is None:
        if spec.required:
            return "is required"
        return None if spec.null else "may not be empty (null)"
    return _CHECKS[spec.kind](spec, value)


def _text_problem(value: Any, max_len: int) -> str | None:
    if not isinstance(value, str):
        return "must be text"
    if len(value) > max_len:
        return f"is longer than {max_len} characters"
    if "\x00" in value:
        return "holds a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode (lone surrogate)"
    return None


def _check_text(spec: FieldSpec, value: Any) -> str | None:
    problem = _text_problem(value, spec.max_len)
    if problem is None and spec.required and not value.strip():
        return "is required"
    return problem


def _is_int(value: Any) -> bool:
    return type(value) is int


def _check_int(spec: FieldSpec, value: Any) -> str | None:
    if not _is_int(value):
        return "must be a whole number"
    lo = spec.lo if spec.lo is not None else INT64_MIN
    hi = spec.hi if spec.hi is not None else INT64_MAX
    if not lo <= value <= hi:
        return f"must be between {lo:g} and {hi:g}"
    return None


def _check_real(spec: FieldSpec, value: Any) -> str | None:
    if type(value) not in (int, float):
        return "must be a number"
    if not math.isfinite(value) or abs(value) > 1e15:
        return "must be a finite number"
    assert spec.lo is not None and spec.hi is not None
    if not spec.lo <= value <= spec.hi:
        return f"must be between {spec.lo:g} and {spec.hi:g}"
    return None


def _check_bool(spec: FieldSpec, value: Any) -> str | None:
    return None if value in (0, 1) and type(value) in (int, bool) else "must be 0 or 1"


def _temporal(spec: FieldSpec, value: Any) -> str | bool | None:
    """Shared start of the date/time checks: a problem, None (fine: ""), or True (go on)."""
    if not isinstance(value, str):
        return "must be text"
    if value == "":
        if spec.required or spec.null:
            return "is required" if spec.required else "may not be blank (leave it unset)"
        return None
    return True


def _check_date(spec: FieldSpec, value: Any) -> str | None:
    first = _temporal(spec, value)
    if first is not True:
        return first  # type: ignore[return-value]
    if not DATE_RE.fullmatch(value):
        return "must be a date written YYYY-MM-DD"
    try:
        d = date.fromisoformat(value)
    except ValueError:
        return "is not a real calendar date"
    if not FIRST_DAY <= d <= LAST_DAY:
        return f"must be between {FIRST_DAY} and {LAST_DAY}"
    return None


def _check_time(spec: FieldSpec, value: Any) -> str | None:
    first = _temporal(spec, value)
    if first is not True:
        return first  # type: ignore[return-value]
    if not TIME_RE.fullmatch(value):
        return "must be a time written HH:MM"
    try:
        time.fromisoformat(value)
    except ValueError:
        return "is not a real time of day"
    return None


def _check_datetime(spec: FieldSpec, value: Any) -> str | None:
    first = _temporal(spec, value)
    if first is not True:
        return first  # type: ignore[return-value]
    if not DATETIME_RE.fullmatch(value):
        return "must be a date and time (ISO 8601)"
    try:
        d = datetime.fromisoformat(value)
    except ValueError:
        return "is not a real date and time"
    if not FIRST_DAY <= d.date() <= LAST_DAY:
        return f"must be between {FIRST_DAY} and {LAST_DAY}"
    return None


def _check_enum(spec: FieldSpec, value: Any) -> str | None:
    if not isinstance(value, str) or value not in spec.values:
        if spec.required and value == "":
            return "is required"
        return "is not one of the allowed values"
    return None


def _check_ref(spec: FieldSpec, value: Any) -> str | None:
    if not isinstance(value, str):
        return "must be a record id"
    if value == "":
        return "is required" if spec.required else None
    return None if ID_RE.fullmatch(value) else "is not a record id"


def _check_list(spec: FieldSpec, value: Any) -> str | None:
    if not isinstance(value, str):
        return "must be a JSON list (as text)"
    if len(value) > 80 * spec.max_len + 2:
        return "is too long"
    try:
        items = json.loads(value)
    except ValueError:
        return "is not valid JSON"
    if not isinstance(items, list):
        return "must be a JSON list"
    if len(items) > spec.max_len:
        return f"has more than {spec.max_len} items"
    if len(items) < max(spec.min_len, 1 if spec.required else 0):
        return "is required" if spec.min_len <= 1 else f"must have {spec.min_len} items"
    for item in items:
        problem = _item_problem(spec, item)
        if problem is not None:
            return f"an item {problem}"
    return None


def _item_problem(spec: FieldSpec, item: Any) -> str | None:
    if spec.item == TEXT:
        return _text_problem(item, int(spec.hi or NAME))
    if spec.item == ENUM:
        return None if isinstance(item, str) and item in spec.values else "is not allowed"
    if spec.item == REF:
        return None if isinstance(item, str) and ID_RE.fullmatch(item) else "is not a record id"
    if not _is_int(item):
        return "must be a whole number"
    assert spec.lo is not None and spec.hi is not None
    return None if spec.lo <= item <= spec.hi else f"must be between {spec.lo:g} and {spec.hi:g}"


def _check_json(spec: FieldSpec, value: Any) -> str | None:
    problem = _text_problem(value, spec.max_len)
    if problem is not None or value == "":
        return problem
    try:
        json.loads(value)
    except ValueError:
        return "is not valid JSON"
    return None


_CHECKS = {
    TEXT: _check_text, INT: _check_int, REAL: _check_real, BOOL: _check_bool,
    DATE: _check_date, TIME: _check_time, DATETIME: _check_datetime, ENUM: _check_enum,
    REF: _check_ref, LIST: _check_list, JSON: _check_json,
}  # fmt: skip


def record_problems(table: str, fields: dict[str, Any]) -> dict[str, str]:
    """Every field of a (new) record that does not validate, and every required
    field it lacks: {field: reason}."""
    out = {f: r for f, v in fields.items() if (r := validate_field(table, f, v)) is not None}
    for spec in SCHEMA.get(table, ()):
        if spec.required and spec.name not in fields and spec.name not in out:
            out[spec.name] = f"{spec.name}: is required"
    return out


# -- the documentation table -------------------------------------------------------------

ABOUT: dict[str, str] = {
    "users": "Staff: written by an administrator (and the server).",
    "payers": "Who services are billed to. Written by billing staff.",
    "participants": "The people served.",
    "consents": "A consent to disclose; 42 CFR Part 2 §2.31 fields when kind is Part 2.",
    "goals": "A recovery goal, in the person's own words.",
    "barc10": "Brief Assessment of Recovery Capital: 10 items scored 1-6, total 10-60.",
    "encounters": "One service contact and its note.",
    "addenda": "An amendment to a signed note, with a reason. Never edited once written.",
    "time_entries": "A specialist's hours: direct service, travel, training, supervision.",
    "supervision_sessions": "A supervision session, recorded and signed by its supervisor.",
    "conflicts": "Written by the server when merge keeps a losing value (docs/SYNC.md); "
    "people write only the resolution fields.",
    "billing_providers": "The agency that bills. Written by billing staff; no personal data.",
    "billing_batches": "One export to one payer. Written by billing staff or a supervisor; "
    "no personal data.",
}
