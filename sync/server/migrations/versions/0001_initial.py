"""Initial schema: counters, server_meta, users, devices, changes, field_state,
records, assignments, access_log, rejected, request_log (as in sync/server/tables.py).

Revision ID: 0001
Revises:
Create Date: 2026-05-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    counters = op.create_table(
        "counters",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "server_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("supervisor_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("active", sa.Boolean, nullable=False, server_default="1"),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(80), nullable=False, server_default=""),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("enrolled_at", sa.String(40), nullable=False),
        sa.Column("last_seen_at", sa.String(40)),
        sa.Column("revoked_at", sa.String(40)),
    )
    op.create_index("ix_devices_user_id", "devices", ["user_id"])
    op.create_table(
        "changes",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("stamp", sa.String(64), nullable=False, unique=True),
        sa.Column("origin_stamp", sa.String(64), nullable=False, unique=True),
        sa.Column("table_name", sa.String(64), nullable=False),
        sa.Column("record_id", sa.String(64), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("value", sa.Text),
        sa.Column("base", sa.String(64)),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(32), nullable=False),
        sa.Column("received_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "field_state",
        sa.Column("record_id", sa.String(64), primary_key=True),
        sa.Column("field", sa.String(64), primary_key=True),
        sa.Column("table_name", sa.String(64), nullable=False),
        sa.Column("value", sa.Text),
        sa.Column("stamp", sa.String(64), nullable=False),
        sa.Column("base", sa.String(64)),
        sa.Column("seq", sa.BigInteger, nullable=False),
    )
    op.create_index("field_state_by_seq", "field_state", ["seq"])
    op.create_table(
        "records",
        sa.Column("record_id", sa.String(64), primary_key=True),
        sa.Column("table_name", sa.String(64), nullable=False),
        sa.Column("participant_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("owner_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("status", sa.String(16), nullable=False, server_default=""),
    )
    op.create_index("records_by_participant", "records", ["participant_id"])
    op.create_index("records_by_owner", "records", ["owner_id"])
    op.create_table(
        "assignments",
        sa.Column("participant_id", sa.String(64), primary_key=True),
        sa.Column("specialist_id", sa.String(64), nullable=False),
    )
    op.create_index("ix_assignments_specialist_id", "assignments", ["specialist_id"])
    op.create_table(
        "access_log",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("participant_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("granted", sa.Boolean, nullable=False),
    )
    op.create_index("access_log_by_user", "access_log", ["user_id", "seq"])
    op.create_table(
        "rejected",
        sa.Column("stamp", sa.String(64), primary_key=True),
        sa.Column("table_name", sa.String(64), nullable=False),
        sa.Column("record_id", sa.String(64), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("value", sa.Text),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
    )
    op.create_table(
        "request_log",
        # INTEGER on SQLite: only an INTEGER PRIMARY KEY numbers rows by itself there.
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("device_id", sa.String(32), nullable=False, server_default=""),
        sa.Column("user_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("path", sa.String(128), nullable=False),
        sa.Column("status", sa.BigInteger, nullable=False),
        sa.Column("pushed", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("pulled", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("bytes_in", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("bytes_out", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("ms", sa.BigInteger, nullable=False, server_default="0"),
    )
    # The one seq counter row exists from the start, so the first syncs of
    # several server processes lock it instead of racing to insert it.
    op.bulk_insert(counters, [{"name": "seq", "value": 0}])


def downgrade() -> None:
    for table in (
        "request_log",
        "rejected",
        "access_log",
        "assignments",
        "records",
        "field_state",
        "changes",
        "devices",
        "users",
        "server_meta",
        "counters",
    ):
        op.drop_table(table)
