"""Each field's bucket (where its record is placed: sync.server.digest_sums.bucket_of;
"x", nobody's, for a field without a ``records`` row)
on ``field_state``, filled from ``records``, and an index by bucket and seq: a pull
reads only the caller's buckets past its cursor.

Revision ID: 0007_srv2
Revises: 0006_dbill
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_srv2"
down_revision = "0006_dbill"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from sync.scope import GLOBAL_TABLES

    op.add_column(
        "field_state", sa.Column("bucket", sa.String(80), nullable=False, server_default="")
    )
    # bucket_of in SQL: the same order of rules (global, session, participant, owner).
    global_list = ", ".join(f"'{t}'" for t in GLOBAL_TABLES)
    op.execute(
        "UPDATE field_state SET bucket = COALESCE(("
        "SELECT CASE"
        f" WHEN r.table_name IN ({global_list}) THEN 'g'"
        " WHEN r.table_name = 'supervision_sessions' THEN 's:' || r.record_id"
        " WHEN r.participant_id <> '' THEN 'p:' || r.participant_id"
        " WHEN r.owner_id <> '' THEN 'o:' || r.owner_id"
        " ELSE 'x' END"
        " FROM records r WHERE r.record_id = field_state.record_id), 'x')"
    )
    op.create_index("field_state_by_bucket", "field_state", ["bucket", "seq"])


def downgrade() -> None:
    op.drop_index("field_state_by_bucket", "field_state")
    with op.batch_alter_table("field_state") as batch:
        batch.drop_column("bucket")
