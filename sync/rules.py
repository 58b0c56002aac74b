"""What sync knows about the records: tables, fields, and who may write what.

Sync is shared by the desktop client and the server, and the server never
imports app/, so the facts merge and authorization need live here as data. The
tables and their fields come from sync.schema, where the record schema is
declared once.
tests/test_sync_rules.py checks them against app.domain.records and
app.domain.lifecycle, so the two cannot drift apart.
"""

from __future__ import annotations

from sync.schema import SCHEMA

# Every synced table and its fields, from the one schema (sync.schema).
TABLES: dict[str, tuple[str, ...]] = {t: tuple(f.name for f in fs) for t, fs in SCHEMA.items()}

# Who bills: marks services billed, writes and voids export batches.
BILLING_ROLES: frozenset[str] = frozenset({"billing", "supervisor"})

CONFLICT_RESOLUTION: frozenset[str] = frozenset(
    {"status", "resolved_by_id", "resolved_at", "resolution"}
)

# Concurrent edits of these keep both texts as a conflict a person resolves.
FREE_TEXT: dict[str, frozenset[str]] = {
    "goals": frozenset({"statement"}),
    "encounters": frozenset(
        {"goal_text", "intervention", "response", "plan", "data", "assessment"}
    ),
    "supervision_sessions": frozenset({"action_items"}),
}

# The note's content, frozen once it is signed (addenda only).
NOTE_CONTENT: frozenset[str] = frozenset(
    {
        "participant_id", "specialist_id", "service_date", "start_time", "end_time", "modality",
        "place_of_service", "location_note", "setting", "group_size", "service_code",
        "modifiers", "payer_id", "goal_ids", "note_format", "goal_text", "intervention",
        "response", "plan", "data", "assessment",
    }
)  # fmt: skip
# Each content field's column default: a new note is sent without the fields that
# hold their default, and its content hash is computed with them (sync.content).
NOTE_CONTENT_DEFAULTS: dict[str, object] = {
    "participant_id": "", "specialist_id": "", "service_date": None, "start_time": None,
    "end_time": None, "modality": "in person", "place_of_service": "11", "location_note": "",
    "setting": "individual", "group_size": 0, "service_code": "H0038", "modifiers": "[]",
    "payer_id": "", "goal_ids": "[]", "note_format": "GIRP", "goal_text": "",
    "intervention": "", "response": "", "plan": "", "data": "", "assessment": "",
}  # fmt: skip
NOTE_REVIEW: frozenset[str] = frozenset(
    {"reviewed_by_id", "reviewed_at", "review_comment", "approved_content_hash"}
)
NOTE_BILLING: frozenset[str] = frozenset({"billing_batch_id", "billed_at"})
NOTE_SIGNING: frozenset[str] = frozenset({"signed_by_id", "signed_at", "content_hash"})
# A decision's fields: applied with its status move, whole, or refused with it.
NOTE_DECISION: frozenset[str] = NOTE_SIGNING | NOTE_REVIEW | NOTE_BILLING | {"void_reason"}

# Note status moves, by the role that may make them (app.domain.lifecycle's graph).
STATUS_MOVES: dict[str, frozenset[tuple[str, str]]] = {
    "specialist": frozenset(
        {
            ("draft", "signed"),
            ("returned", "signed"),  # answered with an addendum
            ("draft", "void"),
            ("signed", "void"),
            ("returned", "void"),
        }
    ),
    "supervisor": frozenset(
        {
            ("signed", "approved"),
            ("signed", "returned"),
            ("draft", "void"),
            ("signed", "void"),
            ("returned", "void"),
        }
    ),
    "billing": frozenset({("approved", "billed"), ("billed", "approved")}),
}
# A supervisor may run the billing export too (issue 6: "the billing person, or a supervisor").
STATUS_MOVES["supervisor"] |= STATUS_MOVES["billing"]
STATUS_MOVES["admin"] = frozenset().union(*STATUS_MOVES.values())

# How each table's records belong to a participant (for who may see them).
PARTICIPANT_LINK: dict[str, str] = {
    "participants": "id",
    "consents": "participant_id",
    "goals": "participant_id",
    "barc10": "participant_id",
    "encounters": "participant_id",
    "conflicts": "participant_id",
}
# Records that belong to a person rather than a participant.
OWNER_LINK: dict[str, str] = {
    "time_entries": "specialist_id",
    "supervision_sessions": "supervisor_id",
    "users": "id",
    "conflicts": "owner_id",
}
