"""Staff life cycle and one-code enrolment: users.enrol_blocked (a revoked device
bars new enrolments until an administrator says so), users.removed_at, and the
``invites`` table (see sync/server/staff.py and sync/invite.py).

Revision ID: 0004_ops
Revises: 0003_digest_sums
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_ops"
down_revision = "0003_digest_sums"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("enrol_blocked", sa.Boolean, nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("removed_at", sa.String(40), nullable=True))
    op.create_table(
        "invites",
        sa.Column("secret_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=False, index=True),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("expires_at_s", sa.BigInteger, nullable=False),
        sa.Column("used_at", sa.String(40), nullable=True),
        sa.Column("used_by_device", sa.String(32), nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_table("invites")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("removed_at")
        batch.drop_column("enrol_blocked")
