"""Encryption at rest for the server's SQLite database (SQLCipher 4).

The database file, its write-ahead log and every backup made by
``python -m sync.server backup`` are encrypted with one random 256-bit key (raw,
so no key derivation is needed). The key is kept outside the database: in
``<database>.key`` beside it (``DATA_DIR/server.db.key``, hex, mode 0600, made at
first start), or in the environment variable ``PEERTRAIL_SERVER_DB_KEY`` (64 hex
digits), which overrides the file.

A plaintext database left by an earlier version is encrypted in place on the
first open (``sqlcipher_export`` into a new file, checked row for row, then
renamed over the old one; the old file's bytes are overwritten with zeros).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterator
from pathlib import Path

import sqlcipher3

KEY_ENV = "PEERTRAIL_SERVER_DB_KEY"
KEY_SUFFIX = ".key"
KEY_BYTES = 32
SQLITE_MAGIC = b"SQLite format 3\x00"
_HEX_KEY = re.compile(r"^[0-9a-fA-F]{64}\Z")


class DatabaseKeyError(Exception):
    """The database key is missing, malformed, too widely readable, or does not
    open the database. The message says which and what to do; it holds no key."""


def key_path(db_file: Path) -> Path:
    return db_file.with_name(db_file.name + KEY_SUFFIX)


def is_plaintext(db_file: Path) -> bool:
    """Whether ``db_file`` is an unencrypted SQLite database (its header is readable)."""
    try:
        with open(db_file, "rb") as f:
            return f.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except FileNotFoundError:
        return False


def _has_content(db_file: Path) -> bool:
    try:
        return db_file.stat().st_size > 0
    except FileNotFoundError:
        return False


def _parse(text: str, where: str) -> bytes:
    text = text.strip()
    if not _HEX_KEY.match(text):
        raise DatabaseKeyError(f"{where} does not hold a database key (64 hexadecimal digits)")
    return bytes.fromhex(text)


def _read_key_file(path: Path) -> bytes:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise DatabaseKeyError(
            f"the database key file {path} can be read by other users (mode {mode:o}); "
            f"make it private first: chmod 600 {path}"
        )
    return _parse(path.read_text(encoding="ascii", errors="replace"), f"the key file {path}")


def _write_key_file(path: Path, key: bytes) -> None:
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        os.write(fd, (key.hex() + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load_key(db_file: Path) -> bytes:
    """The key for ``db_file``: from the environment, else its key file, which is
    made now (random, 0600) only when there is no encrypted database yet."""
    env = os.environ.get(KEY_ENV)
    if env:
        return _parse(env, KEY_ENV)
    path = key_path(db_file)
    if path.exists():
        return _read_key_file(path)
    if _has_content(db_file) and not is_plaintext(db_file):
        raise DatabaseKeyError(
            f"the database {db_file} is encrypted but its key file {path} is missing; "
            f"put the key file back (or set {KEY_ENV}). Nothing was changed"
        )
    with contextlib.suppress(FileExistsError):  # another process made it a moment ago
        _write_key_file(path, os.urandom(KEY_BYTES))
    return _read_key_file(path)


def connect(db_file: Path, key: bytes, timeout: float = 30.0) -> sqlcipher3.Connection:
    """A connection to ``db_file`` keyed with ``key``; the key is checked at once."""
    conn = sqlcipher3.connect(str(db_file), timeout=timeout, check_same_thread=False)
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")  # a wrong key: our message, no log
        conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
        conn.execute("PRAGMA cipher_compatibility = 4")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlcipher3.DatabaseError as exc:
        conn.close()
        if "not a database" in str(exc):
            raise DatabaseKeyError(
                f"the database {db_file} does not open with its key: the key is not this "
                "database's key, or the file is damaged. Nothing was changed"
            ) from None
        raise
    return conn


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``folder`` (flock on the directory itself), so two
    processes starting at once do not both encrypt or both make a key."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def prepare(db_file: Path) -> bytes:
    """The key for ``db_file``, after encrypting a plaintext database in place."""
    with folder_lock(db_file.parent):
        key = load_key(db_file)
        if is_plaintext(db_file):
            encrypt_plaintext(db_file, key)
        return key


def _tables(conn: sqlcipher3.Connection, schema: str = "main") -> list[str]:
    rows = conn.execute(
        f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table' "
        "AND name NOT LIKE 'sqlite_%' ORDER BY name"
    )
    return [r[0] for r in rows]


def _counts(conn: sqlcipher3.Connection, schema: str = "main") -> dict[str, int]:
    return {
        t: conn.execute(f'SELECT count(*) FROM {schema}."{t}"').fetchone()[0]
        for t in _tables(conn, schema)
    }


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _remove(*paths: Path) -> None:
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def export_encrypted(src: sqlcipher3.Connection, target: Path, key: bytes) -> None:
    """Write everything ``src`` holds into the new file ``target``, encrypted with
    ``key`` (mode 0600; an existing ``target`` is refused), and check it."""
    fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    try:
        src.execute(f"ATTACH DATABASE {_sql_text(str(target))} AS enc KEY \"x'{key.hex()}'\"")
        try:
            src.execute("BEGIN")  # one read snapshot for the export and the counts
            try:
                src.execute("SELECT sqlcipher_export('enc')").fetchone()
                version = src.execute("PRAGMA main.user_version").fetchone()[0]
                src.execute(f"PRAGMA enc.user_version = {int(version)}")
                expected = _counts(src)
                src.execute("COMMIT")
            except BaseException:
                src.execute("ROLLBACK")
                raise
        finally:
            src.execute("DETACH DATABASE enc")
        check = connect(target, key)
        try:
            if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise RuntimeError("the encrypted copy does not pass its integrity check")
            if _counts(check) != expected:
                raise RuntimeError("the encrypted copy does not hold every row")
            check.execute("PRAGMA journal_mode = DELETE")
        finally:
            check.close()
        with open(target, "rb") as f:
            os.fsync(f.fileno())
    except BaseException:
        _remove(target, Path(f"{target}-journal"), Path(f"{target}-wal"), Path(f"{target}-shm"))
        raise


def encrypt_plaintext(db_file: Path, key: bytes) -> None:
    """Replace the plaintext database ``db_file`` by an encrypted copy of it."""
    tmp = db_file.with_name(db_file.name + ".encrypting")
    _remove(tmp, Path(f"{tmp}-journal"))
    src = sqlcipher3.connect(str(db_file), isolation_level=None, timeout=30)
    try:
        src.execute("PRAGMA busy_timeout = 30000")
        # Fold the write-ahead log into the file and remove it: it is plaintext too.
        src.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        src.execute("PRAGMA journal_mode = DELETE").fetchone()
        export_encrypted(src, tmp, key)
    finally:
        src.close()
    with open(db_file, "r+b") as old:
        os.replace(tmp, db_file)
        _fsync_dir(db_file.parent)
        # The plaintext is unlinked; overwrite its blocks through the open handle.
        size = old.seek(0, os.SEEK_END)
        old.seek(0)
        zeros = b"\x00" * 65536
        for _ in range(0, size, len(zeros)):
            old.write(zeros)
        old.flush()
        os.fsync(old.fileno())
    _remove(Path(f"{db_file}-wal"), Path(f"{db_file}-shm"))


def backup(db_file: Path, key: bytes, target: Path) -> dict[str, int]:
    """An encrypted, checked copy of the live database in ``target`` (0600), made
    in one read transaction, so a sync in progress is either in it or not.
    Returns the number of rows per table."""
    src = connect(db_file, key)
    try:
        src.isolation_level = None
        src.execute("PRAGMA busy_timeout = 30000")
        export_encrypted(src, target, key)
    finally:
        src.close()
    check = connect(target, key)
    try:
        return _counts(check)
    finally:
        check.close()
