"""The server's tables (SQLAlchemy Core). Alembic migrations in sync/server/migrations
create them; this metadata is what the code queries.

Record content lives in ``field_state`` (the current value and stamp of every
field of every record) and ``changes`` (every accepted change, for idempotency
and history). ``seq`` numbers come from one counter row updated under a row
lock inside the write transaction, so they are handed out in commit order and a
client's cursor never skips a change that commits late.
"""

from __future__ import annotations

from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import Column
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import Text
from sqlalchemy import text

metadata = MetaData()


def _row_number() -> Column:
    """An "id" numbering the rows of a log (INTEGER on SQLite: only an INTEGER
    PRIMARY KEY numbers rows there)."""
    return Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )


counters = Table(
    "counters",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

server_meta = Table(
    "server_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("supervisor_id", String(64), nullable=False, server_default=""),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("created_at", String(40), nullable=False),
    # A device of this user was revoked: no new enrolment until `users enable` or an invite.
    Column("enrol_blocked", Boolean, nullable=False, server_default="0"),
    Column("removed_at", String(40)),  # `users remove`: kept for history, never signs in
)

devices = Table(
    "devices",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", String(64), nullable=False, index=True),
    Column("name", String(80), nullable=False, server_default=""),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("enrolled_at", String(40), nullable=False),
    Column("last_seen_at", String(40)),
    Column("revoked_at", String(40)),
)

changes = Table(
    "changes",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("stamp", String(64), nullable=False, unique=True),
    Column("origin_stamp", String(64), nullable=False, unique=True),
    Column("table_name", String(64), nullable=False),
    Column("record_id", String(64), nullable=False),
    Column("field", String(64), nullable=False),
    Column("value", Text),  # JSON
    Column("base", String(64)),
    Column("user_id", String(64), nullable=False),
    Column("device_id", String(32), nullable=False),
    Column("received_at", String(40), nullable=False),
)

field_state = Table(
    "field_state",
    metadata,
    Column("record_id", String(64), primary_key=True),
    Column("field", String(64), primary_key=True),
    Column("table_name", String(64), nullable=False),
    Column("value", Text),  # JSON
    Column("stamp", String(64), nullable=False),
    Column("base", String(64)),
    Column("seq", BigInteger, nullable=False),
    # Where the record is placed (sync.server.digest_sums.bucket_of: "p:<participant>",
    # "o:<owner>", "s:<session>", "g", "x"), kept with every field so a pull reads
    # only the caller's buckets past its cursor (field_state_by_bucket), not every
    # field written by anyone since.
    Column("bucket", String(80), nullable=False, server_default=""),
    Index("field_state_by_seq", "seq"),
    Index("field_state_by_bucket", "bucket", "seq"),
    # the records merged into a participant (SyncEngine._merge_group): few rows
    Index(
        "field_state_merged",
        "value",
        sqlite_where=text("field = 'merged_into'"),
        postgresql_where=text("field = 'merged_into'"),
    ),
)

# One row per record: what it belongs to, for authorization and pulls.
records = Table(
    "records",
    metadata,
    Column("record_id", String(64), primary_key=True),
    Column("table_name", String(64), nullable=False),
    Column("participant_id", String(64), nullable=False, server_default=""),
    Column("owner_id", String(64), nullable=False, server_default=""),
    Column("status", String(16), nullable=False, server_default=""),
    Index("records_by_participant", "participant_id"),
    Index("records_by_owner", "owner_id"),
    Index("records_by_table", "table_name", "participant_id"),  # sessions, for digests
)

# Which specialist each participant is assigned to, and every change of that.
assignments = Table(
    "assignments",
    metadata,
    Column("participant_id", String(64), primary_key=True),
    Column("specialist_id", String(64), nullable=False, index=True),
)
access_log = Table(
    "access_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("participant_id", String(64), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("granted", Boolean, nullable=False),
    Index("access_log_by_user", "user_id", "seq"),
)

# The scope digest's running sums (sync/digests.py): per bucket (a participant's
# records "p:<id>", a person's own "o:<id>", a supervision session "s:<id>",
# global records "g") and record type, the number of fields and the sum of their
# hashes. Kept by SyncEngine as fields change; the end-of-sync check adds up the
# caller's buckets instead of reading every field.
digest_sums = Table(
    "digest_sums",
    metadata,
    Column("bucket", String(80), primary_key=True),
    Column("table_name", String(64), primary_key=True),
    Column("n", BigInteger, nullable=False),
    Column("h", BigInteger, nullable=False),
)

# Changes the rules refused: kept, with their values, so nothing a person wrote is lost.
rejected = Table(
    "rejected",
    metadata,
    Column("stamp", String(64), primary_key=True),
    Column("table_name", String(64), nullable=False),
    Column("record_id", String(64), nullable=False),
    Column("field", String(64), nullable=False),
    Column("value", Text),
    Column("user_id", String(64), nullable=False),
    Column("device_id", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", String(40), nullable=False),
)

# Every request: who, what, when, how much. Never record content.
request_log = Table(
    "request_log",
    metadata,
    _row_number(),
    Column("at", String(40), nullable=False),
    Column("device_id", String(32), nullable=False, server_default=""),
    Column("user_id", String(64), nullable=False, server_default=""),
    Column("method", String(8), nullable=False),
    Column("path", String(128), nullable=False),
    Column("status", BigInteger, nullable=False),
    Column("pushed", BigInteger, nullable=False, server_default="0"),
    Column("pulled", BigInteger, nullable=False, server_default="0"),
    Column("bytes_in", BigInteger, nullable=False, server_default="0"),
    Column("bytes_out", BigInteger, nullable=False, server_default="0"),
    Column("ms", BigInteger, nullable=False, server_default="0"),
)

# Failed sign-ins per username tried (known or not, so both are answered alike):
# the count, and until when the account is locked (epoch ms; 0 when it is not).
login_failures = Table(
    "login_failures",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("failures", BigInteger, nullable=False),
    Column("locked_until_ms", BigInteger, nullable=False, server_default="0"),
    Column("last_failure_ms", BigInteger, nullable=False, index=True),
)

# The head of each device's audit chain as last anchored here (length, hash).
audit_anchors = Table(
    "audit_anchors",
    metadata,
    Column("device_id", String(32), primary_key=True),
    Column("length", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("at", String(40), nullable=False),
)

# What an administrator must see: lockouts, unlocks, audit-chain alarms. No record content.
security_events = Table(
    "security_events",
    metadata,
    _row_number(),
    Column("at", String(40), nullable=False),
    Column("kind", String(32), nullable=False, index=True),
    Column("username", String(64), nullable=False, server_default=""),
    Column("user_id", String(64), nullable=False, server_default=""),
    Column("device_id", String(32), nullable=False, server_default=""),
    Column("detail", Text, nullable=False, server_default=""),
)

# One-code enrolment (sync/invite.py): the SHA-256 of each invite's secret, whose
# user it enrols, until when (epoch seconds), and when and by which device it was used.
invites = Table(
    "invites",
    metadata,
    Column("secret_hash", String(64), primary_key=True),
    Column("user_id", String(64), nullable=False, index=True),
    Column("created_at", String(40), nullable=False),
    Column("expires_at_s", BigInteger, nullable=False),
    Column("used_at", String(40)),
    Column("used_by_device", String(32), nullable=False, server_default=""),
)

# Billing reservations (sync/server/billing.py): a service (encounter) held for the
# export batch that is about to bill it, so no second batch bills it while the first
# is live. Released when the batch is voided (explicitly or once its void syncs).
billing_reservations = Table(
    "billing_reservations",
    metadata,
    Column("encounter_id", String(64), primary_key=True),
    Column("batch_id", String(64), nullable=False, index=True),
    Column("control", String(9), nullable=False),
    Column("payer_id", String(64), nullable=False, server_default=""),
    Column("user_id", String(64), nullable=False),
    Column("device_id", String(32), nullable=False),
    Column("reserved_at", String(40), nullable=False),
)

# A device's billing number (1-9999): the first four digits of its interchange
# control numbers, so batches of two devices exporting offline never share one.
billing_numbers = Table(
    "billing_numbers",
    metadata,
    Column("device_id", String(32), primary_key=True),
    Column("number", Integer, nullable=False, unique=True),
    Column("assigned_at", String(40), nullable=False),
)
