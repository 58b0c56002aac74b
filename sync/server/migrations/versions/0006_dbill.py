"""Billing reservations and device billing numbers (sync/server/billing.py):
``billing_reservations`` holds each service reserved for an export batch,
``billing_numbers`` each billing device's number (the first four digits of its
interchange control numbers).

Revision ID: 0006_dbill
Revises: 0005_dupes
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_dbill"
down_revision = "0005_dupes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "billing_reservations",
        sa.Column("encounter_id", sa.String(64), primary_key=True),
        sa.Column("batch_id", sa.String(64), nullable=False, index=True),
        sa.Column("control", sa.String(9), nullable=False),
        sa.Column("payer_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(32), nullable=False),
        sa.Column("reserved_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "billing_numbers",
        sa.Column("device_id", sa.String(32), primary_key=True),
        sa.Column("number", sa.Integer, nullable=False, unique=True),
        sa.Column("assigned_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("billing_numbers")
    op.drop_table("billing_reservations")
