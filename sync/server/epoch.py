"""The server's restore epoch: a random id that changes each time the database is
restored from a backup (``python -m sync.server restore`` or, after a PostgreSQL
``pg_restore``, ``python -m sync.server mark-restored``).

It is stored in ``server_meta`` under ``restore_epoch`` (with ``restore_epoch_at``,
when). A laptop that remembers an older epoch knows the server went back in
time: changes it pushed after the backup was taken may be missing on the server
and its pull cursor may point past the server's last change, so it must push its
records again and pull from the start. :func:`mark_restored` is the one write;
:func:`current` is what a reply or a health check reads (an empty string until
the first restore).
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.engine import Connection

from sync.server import replicas
from sync.server.auth import now_iso
from sync.server.tables import server_meta

EPOCH_KEY = "restore_epoch"
EPOCH_AT_KEY = "restore_epoch_at"


def _put(conn: Connection, key: str, value: str) -> None:
    done = conn.execute(
        server_meta.update().where(server_meta.c.key == key).values(value=value)
    ).rowcount
    if not done:
        conn.execute(server_meta.insert().values(key=key, value=value))


def mark_restored(conn: Connection) -> str:
    """Record that this database was just restored: a new random epoch id
    (returned), in the caller's transaction."""
    epoch = secrets.token_hex(16)
    replicas.raise_epoch(conn)  # what every sync reply carries: laptops heal on it
    _put(conn, EPOCH_KEY, epoch)
    _put(conn, EPOCH_AT_KEY, now_iso())
    return epoch


def current(conn: Connection) -> str:
    """The restore epoch ('' when the database was never restored)."""
    value = conn.execute(select(server_meta.c.value).where(server_meta.c.key == EPOCH_KEY)).scalar()
    return value or ""
