"""The scope digest's running sums (``digest_sums``, sync/digests.py), filled from
the fields already stored, and an index of records by type.

Revision ID: 0003_digest_sums
Revises: 0002_security
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0003_digest_sums"
down_revision = "0002_security"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from sync import digests
    from sync.server.digest_sums import bucket_of

    sums = op.create_table(
        "digest_sums",
        sa.Column("bucket", sa.String(80), primary_key=True),
        sa.Column("table_name", sa.String(64), primary_key=True),
        sa.Column("n", sa.BigInteger, nullable=False),
        sa.Column("h", sa.BigInteger, nullable=False),
    )
    # A supervision session is found by its type (the digest's session buckets).
    op.create_index("records_by_table", "records", ["table_name", "participant_id"])
    conn = op.get_bind()
    acc: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    rows = conn.execute(
        sa.text(
            "SELECT f.record_id, f.field, f.stamp, r.table_name, r.participant_id, r.owner_id "
            "FROM field_state f JOIN records r ON r.record_id = f.record_id"
        )
    )
    for rid, field, stamp, table, participant, owner in rows:
        b = bucket_of(table, rid, participant, owner)
        if b:
            a = acc[(b, table)]
            a[0] += 1
            a[1] += digests.field_hash(rid, field, stamp)
    if acc:
        op.bulk_insert(
            sums,
            [{"bucket": b, "table_name": t, "n": n, "h": h} for (b, t), (n, h) in acc.items()],
        )


def downgrade() -> None:
    op.drop_index("records_by_table", "records")
    op.drop_table("digest_sums")
