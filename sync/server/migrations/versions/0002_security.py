"""Login lockout, audit-chain anchors and security events (see sync/server/tables.py).

Revision ID: 0002_security
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_security"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("failures", sa.BigInteger, nullable=False),
        sa.Column("locked_until_ms", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("last_failure_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_login_failures_last_failure_ms", "login_failures", ["last_failure_ms"])
    op.create_table(
        "audit_anchors",
        sa.Column("device_id", sa.String(32), primary_key=True),
        sa.Column("length", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
    )
    op.create_table(
        "security_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("username", sa.String(64), nullable=False, server_default=""),
        sa.Column("user_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("device_id", sa.String(32), nullable=False, server_default=""),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_security_events_kind", "security_events", ["kind"])


def downgrade() -> None:
    op.drop_table("security_events")
    op.drop_table("audit_anchors")
    op.drop_table("login_failures")
