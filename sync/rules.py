"""What sync knows about the records: tables, fields, and who may write what.

Sync is shared by the desktop client and the server, and the server never
imports app/, so the facts merge and authorization need live here as data.
tests/test_sync_rules.py checks them against app.domain.records and
app.domain.lifecycle, so the two cannot drift apart.
"""

from __future__ import annotations

TABLES: dict[str, tuple[str, ...]] = {
    "users": (
        "deleted", "username", "display_name", "role", "credential", "peer_kind", "npi",
        "supervisor_id", "certified_on", "recertify_by", "active",
    ),
    "payers": (
        "deleted", "name", "payer_id", "funding_stream", "rounding_rule", "unit_minutes",
        "max_units_per_day", "rate_cents_per_unit", "requires_consent", "timely_filing_days",
        "receiver_id", "receiver_name", "allowed_modifiers", "claim_grouping",
        "claim_filing_code", "usage_indicator",
    ),
    "participants": (
        "deleted", "first_name", "last_name", "preferred_name", "pronouns", "date_of_birth",
        "medicaid_id", "program", "payer_id", "county", "state", "diagnoses",
        "assigned_specialist_id", "status", "referral_source", "intake_date", "discharge_date",
        "discharge_reason", "tribal_affiliation", "phone", "email", "address", "contact_methods",
        "contact_best_times", "ok_to_leave_message", "emergency_contact",
        "recovery_plan_completed_on",
    ),
    "consents": (
        "deleted", "participant_id", "kind", "disclosing_party", "recipient", "purpose",
        "information_scope", "signed_on", "expires_on", "expiry_event", "revoked_on",
        "revocation_note",
    ),
    "goals": (
        "deleted", "participant_id", "domain", "statement", "steps", "steps_done", "status",
        "started_on", "target_date", "achieved_on",
    ),
    "barc10": ("deleted", "participant_id", "assessed_on", "scores", "assessed_by_id"),
    "encounters": (
        "deleted", "participant_id", "specialist_id", "service_date", "start_time", "end_time",
        "modality", "place_of_service", "location_note", "setting", "group_size", "service_code",
        "modifiers", "payer_id", "goal_ids", "note_format", "goal_text", "intervention",
        "response", "plan", "data", "assessment", "status", "signed_by_id", "signed_at",
        "content_hash", "reviewed_by_id", "reviewed_at", "review_comment",
        "approved_content_hash", "billing_batch_id", "billed_at", "void_reason",
    ),
    "addenda": ("deleted", "encounter_id", "author_id", "written_at", "reason", "text"),
    "time_entries": (
        "deleted", "specialist_id", "entry_date", "category", "minutes", "encounter_id",
        "supervision_id", "miles", "travel_from", "travel_to", "purpose", "ce_title",
        "ce_provider", "ce_evidence", "ce_is_ethics", "note",
    ),
    "supervision_sessions": (
        "deleted", "supervisor_id", "specialist_ids", "session_date", "minutes", "format",
        "modality", "topics", "cases_reviewed", "action_items", "next_date",
        "supervisor_signed_at", "specialist_signed_at",
    ),
    # Written by the server when merge keeps a losing value; people resolve them.
    "conflicts": (
        "deleted", "table_name", "target_id", "field", "participant_id", "owner_id", "kind",
        "kept_value", "kept_stamp", "lost_value", "lost_stamp", "lost_by_id", "detected_at",
        "status", "resolved_by_id", "resolved_at", "resolution",
    ),
    # Billing settings and export batches: no personal data, seen by every device.
    "billing_providers": (
        "deleted", "name", "npi", "tax_id", "taxonomy", "address_line1", "address_line2",
        "city", "state", "zip_code", "contact_name", "contact_phone", "submitter_id",
    ),
    "billing_batches": (
        "deleted", "payer_id", "period_from", "period_to", "interchange_control", "files",
        "file_hashes", "encounter_ids", "claim_count", "line_count", "unit_count",
        "total_cents", "created_by_id", "created_at", "status", "voided_by_id", "voided_at",
        "void_reason",
    ),
}  # fmt: skip

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
