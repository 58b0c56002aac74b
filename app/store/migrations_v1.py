"""The DDL of the vault's first schema version (migration 1): the record tables and
the local support tables (outbox, field stamps, meta, audit log...).

Frozen like every released migration (app/store/migrations.py runs it); kept in a
module of its own because it is long and declarative.
"""

RECORD_TABLES_V1 = (
    "users",
    "payers",
    "participants",
    "consents",
    "goals",
    "barc10",
    "encounters",
    "addenda",
    "time_entries",
    "supervision_sessions",
)

V1_RECORDS = """
    CREATE TABLE users (
        id TEXT PRIMARY KEY NOT NULL,
        "deleted" INTEGER NOT NULL DEFAULT 0,
        "username" TEXT NOT NULL DEFAULT '',
        "display_name" TEXT NOT NULL DEFAULT '',
        "role" TEXT NOT NULL DEFAULT 'specialist',
        "credential" TEXT NOT NULL DEFAULT '',
        "peer_kind" TEXT NOT NULL DEFAULT 'peer recovery',
        "npi" TEXT NOT NULL DEFAULT '',
        "supervisor_id" TEXT NOT NULL DEFAULT '',
        "certified_on" TEXT,
        "recertify_by" TEXT,
        "active" INTEGER NOT NULL DEFAULT 1
    ) STRICT;

    CREATE TABLE payers (
        id TEXT PRIMARY KEY NOT NULL,
        "deleted" INTEGER NOT NULL DEFAULT 0,
        "name" TEXT NOT NULL DEFAULT '',
        "payer_id" TEXT NOT NULL DEFAULT '',
        "funding_stream" TEXT NOT NULL DEFAULT '',
        "rounding_rule" TEXT NOT NULL DEFAULT 'cms-8-minute',
        "unit_minutes" INTEGER NOT NULL DEFAULT 15,
        "max_units_per_day" INTEGER NOT NULL DEFAULT 0,
        "rate_cents_per_unit" INTEGER NOT NULL DEFAULT 0,
        "requires_consent" INTEGER NOT NULL DEFAULT 0,
        "timely_filing_days" INTEGER NOT NULL DEFAULT 365
    ) STRICT;

    CREATE TABLE participants (
        id TEXT PRIMARY KEY NOT NULL,
        "deleted" INTEGER NOT NULL DEFAULT 0,
        "first_name" TEXT NOT NULL DEFAULT '',
        "last_name" TEXT NOT NULL DEFAULT '',
        "preferred_name" TEXT NOT NULL DEFAULT '',
        "pronouns" TEXT NOT NULL DEFAULT '',
        "date_of_birth" TEXT,
        "medicaid_id" TEXT NOT NULL DEFAULT '',
        "program" TEXT NOT NULL DEFAULT '',
        "payer_id" TEXT NOT NULL DEFAULT '',
        "county" TEXT NOT NULL DEFAULT '',
        "state" TEXT NOT NULL DEFAULT 'ND',
        "diagnoses" TEXT NOT NULL DEFAULT '[]',
        "assigned_specialist_id" TEXT NOT NULL DEFAULT '',
        "status" TEXT NOT NULL DEFAULT 'active',
        "referral_source" TEXT NOT NULL DEFAULT '',
        "intake_date" TEXT,
        "discharge_date" TEXT,
        "discharge_reason" TEXT NOT NULL DEFAULT '',
        "tribal_affiliation" TEXT NOT NULL DEFAULT '',
        "phone" TEXT NOT NULL DEFAULT '',
        "email" TEXT NOT NULL DEFAULT '',
        "address" TEXT NOT NULL DEFAULT '',
        "contact_methods" TEXT NOT NULL DEFAULT '[]',
        "contact_best_times" TEXT NOT NULL DEFAULT '',
        "ok_to_leave_message" INTEGER NOT NULL DEFAULT 0,
        "emergency_contact" TEXT NOT NULL DEFAULT '',
        "recovery_plan_completed_on" TEXT
    ) STRICT;

    CREATE TABLE consents (
        id TEXT PRIMARY KEY NOT NULL,
        "deleted" INTEGER NOT NULL DEFAULT 0,
        "participant_id" TEXT NOT NULL DEFAULT '',
        "kind" TEXT NOT NULL DEFAULT '42 CFR Part 2',
        "disclosing_party" TEXT NOT NULL DEFAULT '',
        "recipient" TEXT NOT NULL DEFAULT '',
        "purpose" TEXT NOT NULL DEFAULT '',
        "information_scope" TEXT NOT NULL DEFAULT '',
        "signed_on" TEXT,
        "expires_on" TEXT,
        "expiry_event" TEXT NOT NULL DEFAULT '',
        "revoked_on" TEXT,
        "revocation_note" TEXT NOT NULL DEFAULT ''
    ) STRICT;

    CREATE TABLE goals (
        id TEXT PRIMARY KEY NOT NULL,
        "deleted" INTEGER NOT NULL DEFAULT 0,
        "participant_id" TEXT NOT NULL DEFAULT '',
        "domain" TEXT NOT NULL DEFAULT '',
        "statement" TEXT NOT NULL DEFAULT '',
        "steps" TEXT NOT NULL DEFAULT '[]',
        "steps_done" TEXT NOT NULL DEFAULT '[]',
        "status" TEXT NOT NULL DEFAULT 'active',
        "started_on" TEXT,
        "target_date" TEXT,
        "achieved_on" TEXT
    ) STRICT;

    CREATE TABLE barc10 (
        id TEXT PRIMARY KEY NOT NULL,
        "deleted" INTEGER NOT NULL DEFAULT 0,
        "participant_id" TEXT NOT NULL DEFAULT '',
        "assessed_on" TEXT,
        "scores" TEXT NOT NULL DEFAULT '[]',
        "assessed_by_id" TEXT NOT NULL DEFAULT ''
    ) STRICT;

    CREATE TABLE encounters (
        id TEXT PRIMARY KEY NOT NULL,
        "deleted" INTEGER NOT NULL DEFAULT 0,
        "participant_id" TEXT NOT NULL DEFAULT '',
        "specialist_id" TEXT NOT NULL DEFAULT '',
        "service_date" TEXT,
        "start_time" TEXT,
        "end_time" TEXT,
        "modality" TEXT NOT NULL DEFAULT 'in person',
        "place_of_service" TEXT NOT NULL DEFAULT '11',
        "location_note" TEXT NOT NULL DEFAULT '',
        "setting" TEXT NOT NULL DEFAULT 'individual',
        "group_size" INTEGER NOT NULL DEFAULT 0,
        "service_code" TEXT NOT NULL DEFAULT 'H0038',
        "modifiers" TEXT NOT NULL DEFAULT '[]',
        "payer_id" TEXT NOT NULL DEFAULT '',
        "goal_ids" TEXT NOT NULL DEFAULT '[]',
        "note_format" TEXT NOT NULL DEFAULT 'GIRP',
        "goal_text" TEXT NOT NULL DEFAULT '',
        "intervention" TEXT NOT NULL DEFAULT '',
        "response" TEXT NOT NULL DEFAULT '',
        "plan" TEXT NOT NULL DEFAULT '',
        "data" TEXT NOT NULL DEFAULT '',
        "assessment" TEXT NOT NULL DEFAULT '',
        "status" TEXT NOT NULL DEFAULT 'draft',
        "signed_by_id" TEXT NOT NULL DEFAULT '',
        "signed_at" TEXT,
        "content_hash" TEXT NOT NULL DEFAULT '',
        "reviewed_by_id" TEXT NOT NULL DEFAULT '',
        "reviewed_at" TEXT,
        "review_comment" TEXT NOT NULL DEFAULT '',
        "approved_content_hash" TEXT NOT NULL DEFAULT '',
        "billing_batch_id" TEXT NOT NULL DEFAULT '',
        "billed_at" TEXT,
        "void_reason" TEXT NOT NULL DEFAULT ''
    ) STRICT;

    CREATE TABLE addenda (
        id TEXT PRIMARY KEY NOT NULL,
        "deleted" INTEGER NOT NULL DEFAULT 0,
        "encounter_id" TEXT NOT NULL DEFAULT '',
        "author_id" TEXT NOT NULL DEFAULT '',
        "written_at" TEXT,
        "reason" TEXT NOT NULL DEFAULT '',
        "text" TEXT NOT NULL DEFAULT ''
    ) STRICT;

    CREATE TABLE time_entries (
        id TEXT PRIMARY KEY NOT NULL,
        "deleted" INTEGER NOT NULL DEFAULT 0,
        "specialist_id" TEXT NOT NULL DEFAULT '',
        "entry_date" TEXT,
        "category" TEXT NOT NULL DEFAULT '',
        "minutes" INTEGER,
        "encounter_id" TEXT NOT NULL DEFAULT '',
        "supervision_id" TEXT NOT NULL DEFAULT '',
        "miles" REAL NOT NULL DEFAULT 0.0,
        "travel_from" TEXT NOT NULL DEFAULT '',
        "travel_to" TEXT NOT NULL DEFAULT '',
        "purpose" TEXT NOT NULL DEFAULT '',
        "ce_title" TEXT NOT NULL DEFAULT '',
        "ce_provider" TEXT NOT NULL DEFAULT '',
        "ce_evidence" TEXT NOT NULL DEFAULT '',
        "ce_is_ethics" INTEGER NOT NULL DEFAULT 0,
        "note" TEXT NOT NULL DEFAULT ''
    ) STRICT;

    CREATE TABLE supervision_sessions (
        id TEXT PRIMARY KEY NOT NULL,
        "deleted" INTEGER NOT NULL DEFAULT 0,
        "supervisor_id" TEXT NOT NULL DEFAULT '',
        "specialist_ids" TEXT NOT NULL DEFAULT '[]',
        "session_date" TEXT,
        "minutes" INTEGER,
        "format" TEXT NOT NULL DEFAULT 'individual',
        "modality" TEXT NOT NULL DEFAULT 'in person',
        "topics" TEXT NOT NULL DEFAULT '[]',
        "cases_reviewed" TEXT NOT NULL DEFAULT '[]',
        "action_items" TEXT NOT NULL DEFAULT '',
        "next_date" TEXT,
        "supervisor_signed_at" TEXT,
        "specialist_signed_at" TEXT
    ) STRICT;
"""

V1_SUPPORT = """
    CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) STRICT;

    -- Field-level changes made on this device, waiting for (or acknowledged by) the
    -- server. The stamp is a hybrid-logical-clock stamp that embeds the device id;
    -- it is unique across all devices and serves as the change id.
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY,
        stamp TEXT NOT NULL UNIQUE,
        table_name TEXT NOT NULL,
        record_id TEXT NOT NULL,
        field TEXT NOT NULL,
        value ANY,
        base_stamp TEXT,
        user_id TEXT NOT NULL,
        acked_at TEXT,
        device_id TEXT GENERATED ALWAYS AS (substr(stamp, 19)) VIRTUAL
    ) STRICT;
    CREATE INDEX outbox_pending ON outbox(seq) WHERE acked_at IS NULL;

    -- The stamp of the value each field holds now (local or merged from sync).
    CREATE TABLE field_stamps (
        record_id TEXT NOT NULL,
        field TEXT NOT NULL,
        table_name TEXT NOT NULL,
        stamp TEXT NOT NULL,
        PRIMARY KEY (record_id, field)
    ) STRICT, WITHOUT ROWID;

    CREATE TRIGGER outbox_sets_field_stamp AFTER INSERT ON outbox
    BEGIN
        INSERT INTO field_stamps (record_id, field, table_name, stamp)
        VALUES (NEW.record_id, NEW.field, NEW.table_name, NEW.stamp)
        ON CONFLICT (record_id, field) DO UPDATE SET stamp = excluded.stamp;
    END;

    -- Who did what, when: append-only, hash-chained.
    CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        at TEXT NOT NULL,
        user_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        action TEXT NOT NULL,
        record_type TEXT NOT NULL DEFAULT '',
        record_id TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT '{}',
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    ) STRICT;
    CREATE INDEX audit_by_record ON audit_log(record_id);
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'peertrail: the audit log is append-only'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    WHEN pt_capture_mode() IS NOT 'purge'
    BEGIN SELECT RAISE(ABORT, 'peertrail: the audit log is append-only'); END;

    CREATE INDEX participants_by_specialist ON participants(assigned_specialist_id);
    CREATE INDEX participants_by_medicaid ON participants(medicaid_id);
    CREATE INDEX consents_by_participant ON consents(participant_id);
    CREATE INDEX goals_by_participant ON goals(participant_id);
    CREATE INDEX barc10_by_participant ON barc10(participant_id, assessed_on);
    CREATE INDEX encounters_by_participant ON encounters(participant_id, service_date);
    CREATE INDEX encounters_by_specialist ON encounters(specialist_id, service_date);
    CREATE INDEX encounters_by_status ON encounters(status, service_date);
    CREATE INDEX addenda_by_encounter ON addenda(encounter_id);
    CREATE INDEX time_by_specialist ON time_entries(specialist_id, entry_date);
    CREATE INDEX supervision_by_date ON supervision_sessions(session_date);
"""
