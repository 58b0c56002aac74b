"""``migrate-to-postgresql``: copy a stopped SQLite server's database into a new,
empty PostgreSQL database, table by table, and check the row counts.

Both sides are first brought to this code's schema (Alembic). The target must
hold no users and no changes (a database made by ``createdb`` and opened once
is fine); the rows the first migration puts in (the ``counters`` row) are
replaced by the source's. PostgreSQL's sequences for the numbered logs
(``request_log``, ``security_events``) are moved past the copied ids. The copy is
one transaction on the target: it is all there or not at all.
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.engine import Engine

from sync.server import db
from sync.server.tables import changes
from sync.server.tables import metadata
from sync.server.tables import users

BATCH = 2000
SERIAL_TABLES = ("request_log", "security_events")


class TargetNotEmpty(Exception):
    """The PostgreSQL database already holds users or changes."""


def copy_database(source: Engine, target: Engine) -> dict[str, int]:
    """Copy every table of ``source`` into ``target``; returns the rows per table."""
    db.upgrade(target)
    counts: dict[str, int] = {}
    with db.reading(source) as src, target.begin() as dst:
        for t in (users, changes):
            if dst.execute(select(func.count()).select_from(t)).scalar():
                raise TargetNotEmpty(t.name)
        for t in reversed(metadata.sorted_tables):
            dst.execute(delete(t))
        for t in metadata.sorted_tables:
            n = 0
            result = src.execution_options(stream_results=True).execute(select(t))
            while chunk := result.mappings().fetchmany(BATCH):
                dst.execute(t.insert(), [dict(r) for r in chunk])
                n += len(chunk)
            counts[t.name] = n
        for t in metadata.sorted_tables:
            got = dst.execute(select(func.count()).select_from(t)).scalar()
            if got != counts[t.name]:
                raise RuntimeError(f"{t.name}: {got} rows copied of {counts[t.name]}")
        if dst.dialect.name == "postgresql":
            for name in SERIAL_TABLES:
                dst.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {name}"
                    )
                )
    return counts
