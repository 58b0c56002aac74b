"""One person, one record: a partial index on ``field_state`` for the records merged
into a participant (``participants.merged_into``; SyncEngine._merge_group finds a
merge group with it instead of reading every field).

Revision ID: 0005_dupes
Revises: 0004_ops
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_dupes"
down_revision = "0004_ops"
branch_labels = None
depends_on = None

_WHERE = sa.text("field = 'merged_into'")


def upgrade() -> None:
    op.create_index(
        "field_state_merged",
        "field_state",
        ["value"],
        sqlite_where=_WHERE,
        postgresql_where=_WHERE,
    )


def downgrade() -> None:
    op.drop_index("field_state_merged", table_name="field_state")
