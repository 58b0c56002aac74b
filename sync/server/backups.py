"""Backing up and restoring the server's SQLite database, with its TLS material.

A backup is one file, mode 0600: an encrypted SQLCipher copy of the database made
in one read transaction while the server runs (``atrest.backup``), to which the
data folder's TLS certificate and key are added in a table ``backup_files``
(name, content). It is encrypted with the database key (``server.db.key``), which
is needed to restore it and should be kept apart from the backups.

Restoring needs the server stopped (``serve`` holds a shared lock on
``DATA_DIR/server.lock``; restore takes it exclusively), checks the backup, refuses
one from a newer server, keeps the current database as
``server.db.before-restore-TIME``, puts the copy in place, writes the certificate
and key back, migrates it, and records a new restore epoch
(``sync.server.epoch.mark_restored``) so laptops know to heal.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from sync.server import atrest
from sync.server import db
from sync.server import epoch
from sync.server import security
from sync.server import tls

LOCK_NAME = "server.lock"
RESTORED = "database_restored"
TLS_FILES = (tls.CERT_NAME, tls.KEY_NAME)


class ServerRunning(Exception):
    """A server is running on this data folder."""


@contextlib.contextmanager
def running(data_dir: Path) -> Iterator[None]:
    """Held by ``serve`` for its life: a shared lock (several servers may share a folder)."""
    fd = os.open(Path(data_dir) / LOCK_NAME, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def stopped(data_dir: Path) -> Iterator[None]:
    """Exclusive: raises :class:`ServerRunning` when a server holds the folder."""
    fd = os.open(Path(data_dir) / LOCK_NAME, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ServerRunning(str(data_dir)) from None
        yield
    finally:
        os.close(fd)


def backup(data_dir: Path, db_file: Path, target: Path) -> dict[str, int]:
    """The database and the folder's TLS files in the new file ``target`` (0600)."""
    key = atrest.load_key(db_file)
    counts = atrest.backup(db_file, key, target)
    try:
        conn = atrest.connect(target, key)
        try:
            conn.execute("CREATE TABLE backup_files (name TEXT PRIMARY KEY, content BLOB)")
            for name in TLS_FILES:
                path = Path(data_dir) / name
                if path.is_file():
                    conn.execute(
                        "INSERT INTO backup_files VALUES (?, ?)", (name, path.read_bytes())
                    )
            conn.commit()
        finally:
            conn.close()
        os.chmod(target, 0o600)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
        raise
    return counts


def backup_revision(source: Path, key: bytes) -> str | None:
    conn = atrest.connect(source, key)
    try:
        if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise RuntimeError("the backup file is damaged (it fails its integrity check)")
        has = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'"
        ).fetchone()
        if not has:
            raise RuntimeError("the file is not a PeerTrail server backup")
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return row[0] if row else None
    finally:
        conn.close()


def restore(data_dir: Path, db_file: Path, source: Path) -> str:
    """Put the backup ``source`` in place of the stopped server's database; returns
    the new restore epoch. Raises DatabaseKeyError, SchemaTooNew, ServerRunning,
    RuntimeError (a damaged or foreign file) before anything is changed."""
    key = atrest.load_key(db_file)
    db.check_not_newer(backup_revision(source, key))
    with stopped(data_dir):
        staging = db_file.with_name(db_file.name + ".restoring")
        for leftover in (staging, Path(f"{staging}-journal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        src = atrest.connect(source, key)
        try:
            src.isolation_level = None
            files = _backup_files(src)
            atrest.export_encrypted(src, staging, key)
        finally:
            src.close()
        conn = atrest.connect(staging, key)
        try:
            conn.execute("DROP TABLE IF EXISTS backup_files")
            conn.commit()
        finally:
            conn.close()
        _swap_in(db_file, staging)
        for name, content in files.items():
            tls._write_private(Path(data_dir) / name, content)
        engine = db.open_engine(data_dir)
        try:
            db.upgrade(engine)
            with engine.begin() as c:
                new_epoch = epoch.mark_restored(c)
                security.record_event(c, RESTORED, epoch=new_epoch, source=source.name[:80])
                return new_epoch
        finally:
            engine.dispose()


def _backup_files(src) -> dict[str, bytes]:
    has = src.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='backup_files'"
    ).fetchone()
    if not has:
        return {}
    rows = src.execute("SELECT name, content FROM backup_files").fetchall()
    return {name: bytes(content) for name, content in rows if name in TLS_FILES}


def _swap_in(db_file: Path, staging: Path) -> None:
    """Keep the current database (and its WAL) aside, then rename the copy over it."""
    if db_file.exists():
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        aside = db_file.with_name(f"{db_file.name}.before-restore-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            part = Path(f"{db_file}{suffix}")
            if part.exists():
                os.replace(part, Path(f"{aside}{suffix}"))
    os.replace(staging, db_file)
    atrest._fsync_dir(db_file.parent)
