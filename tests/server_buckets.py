"""Checks of the server's pull by bucket (not a test module): every stored field's
``bucket`` is where its record is placed, and for every specialist and supervisor
the pull by bucket returns exactly the fields the role's visibility rule
(``visible_clause``) lets them see."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine

from sync.server import digest_sums
from sync.server.engine.common import Caller
from sync.server.engine.pull import _bucket_pull_query
from sync.server.engine.pull import _pull_query
from sync.server.engine.scope import Scope
from sync.server.tables import field_state
from sync.server.tables import records
from sync.server.tables import users


def check_buckets(engine: Engine) -> int:
    """Assert both; return how many (caller, field) pairs were compared."""
    fs, r = field_state.c, records.c
    compared = 0
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                fs.record_id, fs.field, fs.bucket, r.table_name, r.participant_id, r.owner_id
            ).select_from(field_state.outerjoin(records, r.record_id == fs.record_id))
        ).all()
        for rid, field, bucket, table, participant, owner in rows:
            want = "x" if table is None else digest_sums.bucket_of(table, rid, participant, owner)
            assert bucket == want, (rid, field, bucket, want)
        top = max([0, *(row[0] for row in conn.execute(select(fs.seq)))])
        people = conn.execute(
            select(users.c.id, users.c.role).where(users.c.role.in_(("specialist", "supervisor")))
        ).all()
        for uid, role in people:
            scope = Scope(conn, Caller(uid, role, "nodevice"))
            params = {"cursor": 0, "top": top, "limit": 10**9, "own": ".nodevice"}
            by_rule = conn.execute(_pull_query(role, True), params | scope.params()).all()
            buckets = digest_sums.caller_buckets(
                conn, role, uid, scope.team, scope.participant_ids()
            )
            assert buckets is not None
            by_bucket = conn.execute(_bucket_pull_query(True), params | {"buckets": buckets}).all()
            assert [tuple(x) for x in by_bucket] == [tuple(x) for x in by_rule], uid
            compared += len(by_rule)
    return compared
