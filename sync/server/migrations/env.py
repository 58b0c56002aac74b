"""Alembic environment for the server's database.

Run programmatically by :func:`sync.server.db.upgrade`, which passes an open
connection (inside a transaction) in ``config.attributes["connection"]``. Offline
mode (``--sql``) renders the DDL for a DBA to review.
"""

from __future__ import annotations

from alembic import context

from sync.server.tables import metadata

# Any fixed number: several server processes starting at once migrate one at a time.
PG_MIGRATION_LOCK = 7_361_209_455

config = context.config


def run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url") or "postgresql+psycopg://",
        target_metadata=metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run the server's migrations with sync.server.db.upgrade(engine)")
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_MIGRATION_LOCK})")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
