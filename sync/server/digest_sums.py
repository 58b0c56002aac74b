"""The server's running sums for the end-of-sync scope digest (sync/digests.py).

Every field of every record counts in one *bucket*, after how the record is
placed (the same rules as ``engine.visible_clause``): global records in
"g", a supervision session in "s:<id>", a participant's records in
"p:<participant>", a person's own records in "o:<owner>", anything else in "x"
(seen by administrators only). ``digest_sums`` holds, per bucket and record type,
the number of fields and the sum of their hashes; the engine moves them as it
writes fields (``deltas`` then ``apply``), and ``scope`` adds up the buckets a
caller sees: a few hundred rows, not every field of the caseload.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from sync import digests
from sync.scope import GLOBAL_TABLES
from sync.server import sql
from sync.server.tables import digest_sums
from sync.server.tables import field_state
from sync.server.tables import records


def bucket_of(table: str, record_id: str, participant_id: str, owner_id: str) -> str:
    if table in GLOBAL_TABLES:
        return "g"
    if table == "supervision_sessions":
        return f"s:{record_id}"
    if participant_id:
        return f"p:{participant_id}"
    if owner_id:
        return f"o:{owner_id}"
    return "x"


Deltas = dict[tuple[str, str], list[int]]


def new_deltas() -> Deltas:
    return defaultdict(lambda: [0, 0])


def add(d: Deltas, bucket: str, table: str, record_id: str, field: str, stamp: str, sign: int):
    acc = d[(bucket, table)]
    acc[0] += sign
    acc[1] += sign * digests.field_hash(record_id, field, stamp)


def _upsert(insert: Any) -> Any:
    """Add to a (bucket, record type) row, making it when missing: one statement
    (``INSERT … ON CONFLICT … DO UPDATE``, SQLite 3.24+ and PostgreSQL alike)."""
    stmt = insert(digest_sums)
    return stmt.on_conflict_do_update(
        index_elements=[digest_sums.c.bucket, digest_sums.c.table_name],
        set_={"n": digest_sums.c.n + stmt.excluded.n, "h": digest_sums.c.h + stmt.excluded.h},
    )


# built once per dialect (sync.server.sql compiles each once)
_ADD = {"sqlite": _upsert(sqlite_insert), "postgresql": _upsert(postgresql_insert)}


def apply(conn: Connection, d: Deltas) -> None:
    """Add the deltas to ``digest_sums`` (rows made as needed)."""
    changed = {k: v for k, v in d.items() if v[0] or v[1]}
    if not changed:
        return
    sql.executemany(
        conn,
        _ADD[conn.dialect.name],
        [{"bucket": b, "table_name": t, "n": changed[(b, t)][0], "h": changed[(b, t)][1]}
         for b, t in sorted(changed)],
    )  # fmt: skip


# The caller's supervision sessions (``caller_buckets``), built once (sync.server.sql):
# those their team owns, and (a specialist) those that name them, as the pull's
# visibility does it: sessions are among the records placed with nobody's
# participant (an index), membership read by primary key.
_TEAM_SESSIONS = select(records.c.record_id).where(
    records.c.table_name == "supervision_sessions", records.c.owner_id.in_(sql.ids("team"))
)
_member = field_state.alias("member")
_MEMBER_SESSIONS = select(records.c.record_id).where(
    records.c.participant_id == "",
    records.c.table_name == "supervision_sessions",
    exists().where(
        _member.c.record_id == records.c.record_id,
        _member.c.field == "specialist_ids",
        _member.c.value.like(bindparam("member")),
    ),
)


def caller_buckets(
    conn: Connection, role: str, user_id: str, team: Iterable[str], participants: Iterable[str]
) -> list[str] | None:
    """The buckets a caller sees (None: all of them, for an administrator)."""
    if role == "admin":
        return None
    sessions = {r[0] for r in sql.rows(conn, _TEAM_SESSIONS, {"team": sorted(team)})}
    if role == "specialist":
        sessions |= {r[0] for r in sql.rows(conn, _MEMBER_SESSIONS, {"member": f"%{user_id}%"})}
    return buckets_of(team, participants, sessions)


def buckets_of(
    team: Iterable[str], participants: Iterable[str], sessions: Iterable[str]
) -> list[str]:
    """The buckets of a caller with this team, caseload and supervision sessions."""
    out = ["g"] + [f"p:{p}" for p in participants] + [f"o:{u}" for u in sorted(team)]
    return out + [f"s:{s}" for s in sorted(set(sessions))]


def sessions_queries(role: str) -> list[Any]:
    """The selects of a caller's supervision sessions (``caller_buckets``' reads:
    bind parameters ``team`` and, for a specialist, ``member``), for a caller that
    reads them together with other things in one statement."""
    return [_TEAM_SESSIONS] + ([_MEMBER_SESSIONS] if role == "specialist" else [])


def scope(conn: Connection, buckets: list[str] | None) -> str:
    """The scope digest of these buckets (all of them for None)."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    q = select(digest_sums.c.table_name, func.sum(digest_sums.c.n), func.sum(digest_sums.c.h))
    if buckets is None:
        parts = [q.group_by(digest_sums.c.table_name)]
    else:
        parts = [
            q.where(digest_sums.c.bucket.in_(buckets[i : i + 500])).group_by(
                digest_sums.c.table_name
            )
            for i in range(0, len(buckets), 500)
        ]
    for part in parts:
        for table, n, h in conn.execute(part):
            totals[table][0] += int(n or 0)
            totals[table][1] += int(h or 0)
    return digests.scope((t, n, h) for t, (n, h) in totals.items())
