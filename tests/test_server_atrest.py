"""The server's SQLite database at rest: encrypted (SQLCipher) with a key kept
outside it. After 1,000 invented participants are synced through the real server
over HTTPS, none of their names is in any byte of the database, its WAL or an
encrypted backup; the server restarts and serves them again; a missing or wrong
key is a clear message and exit 3; a plaintext database from the previous
version is encrypted on upgrade with nothing lost."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy import select

from app.domain.records import Participant
from sync.server import atrest
from sync.server import auth
from sync.server import db
from sync.server.tables import users
from tests.helpers import ROOT
from tests.helpers import invented_names
from tests.helpers import run_python
from tests.helpers import snapshot
from tests.server_proc import DEFAULT_PASSWORD
from tests.server_proc import ServerProc
from tests.server_proc import backend_url
from tests.server_proc import start_server
from tests.test_no_plaintext import _leaks
from tests.test_no_plaintext import _needles
from tests.test_sync_e2e import Laptop

KEY_PROBLEM = 3


def _server_cli(data_dir: Path, *args: str, env: dict[str, str] | None = None):
    full = {k: v for k, v in os.environ.items() if not k.startswith("PEERTRAIL_")}
    full["PYTHONPATH"] = str(ROOT)
    full.update(env or {})
    return run_python(
        "-m", "sync.server", *args, "--data-dir", str(data_dir), env=full, timeout=120
    )


def _sync_people(server, tmp_path, names: list[tuple[str, str]]) -> None:
    """ann's laptop registers ``names`` and syncs them to ``server``."""
    server.add_user("ann", "specialist")
    lap = Laptop(tmp_path, "ann-laptop", server, "ann")
    lap.repos.participants.add_many(
        Participant(first_name=f, last_name=last, assigned_specialist_id=lap.user.id)
        for f, last in names
    )
    lap.sync()
    lap.close()


def test_names_synced_through_the_server_are_not_on_its_disk(tmp_path):
    names = invented_names(1000, seed=13)
    needles = _needles(names)
    server = start_server(tmp_path, extra_args=("--rate-limit", "0"))
    try:
        _sync_people(server, tmp_path, names)
        data = server.data_dir
        assert (data / "server.db-wal").exists()  # scanned while the WAL holds the sync
        backups = tmp_path / "backups"
        backups.mkdir(mode=0o700)
        done = server.cli("backup", "--to", str(backups / "server-1.db"))
        assert done.returncode == 0, done.stderr
        assert stat.S_IMODE((backups / "server-1.db").stat().st_mode) == 0o600
        assert stat.S_IMODE((data / "server.db.key").stat().st_mode) == 0o600
        assert _leaks(data, needles) == []
        assert _leaks(backups, needles) == []
        assert b"SQLite format 3" not in (data / "server.db").read_bytes()[:4096]

        # The scanner finds them in a plaintext export of the same data (it can fail).
        key = atrest.load_key(data / "server.db")
        conn = atrest.connect(backups / "server-1.db", key)
        plain = tmp_path / "plain"
        plain.mkdir()
        conn.execute(f"ATTACH DATABASE '{plain / 'p.db'}' AS p KEY ''")
        conn.execute("SELECT sqlcipher_export('p')").fetchone()
        conn.close()
        assert _leaks(plain, needles) == ["p.db"]

        server.restart()  # reads its encrypted data again
        other = Laptop(tmp_path, "ann-second", server, "ann")
        other.sync()
        got = {(p.first_name, p.last_name) for p in other.repos.participants.caseload()}
        assert got == set(names)
        other.close()
        assert _leaks(data, needles) == []
        printed = "".join(server.output).lower()
        assert not any(n in printed for n in needles)  # nor in what the server logs
    finally:
        server.close()


def test_postgresql_server_logs_hold_no_names_and_hide_the_password(tmp_path):
    """PostgreSQL is encrypted by its volume (docs/SERVER.md); what PeerTrail can
    check: the server logs no record content and never prints the password."""
    url = backend_url("postgresql")
    from sqlalchemy.engine import make_url

    with_password = (
        make_url(url).set(password="s3cret-db-pass").render_as_string(hide_password=False)
    )
    assert db.normalise_url(with_password + "?sslmode=disable").endswith("sslmode=disable")
    names = invented_names(200, seed=19)
    server = start_server(tmp_path, database_url=url, extra_args=("--rate-limit", "0"))
    try:
        _sync_people(server, tmp_path, names)
        assert not (server.data_dir / "server.db").exists()  # no SQLite file beside it
        printed = "".join(server.output).lower()
        assert "database: postgresql" in printed
        assert not any(n in printed for n in _needles(names))
    finally:
        server.close()
    shown = ServerProc(tmp_path / "pw", with_password)
    done = shown.cli("users", "list")
    assert "s3cret-db-pass" not in done.stdout + done.stderr


def test_missing_or_wrong_key_is_a_clear_refusal(tmp_path):
    data = tmp_path / "srv"
    done = _server_cli(
        data,
        "users",
        "add",
        "sam",
        "--role",
        "supervisor",
        env={"PEERTRAIL_USER_PASSWORD": DEFAULT_PASSWORD},
    )
    assert done.returncode == 0, done.stderr
    before = snapshot(data)
    key_file = data / "server.db.key"

    wrong = _server_cli(data, "users", "list", env={atrest.KEY_ENV: "ab" * 32})
    assert wrong.returncode == KEY_PROBLEM
    assert "does not open with its key" in wrong.stderr and "Traceback" not in wrong.stderr
    assert "ERROR" not in wrong.stderr  # no SQLCipher log lines

    bad = _server_cli(data, "users", "list", env={atrest.KEY_ENV: "not a key"})
    assert bad.returncode == KEY_PROBLEM and "64 hexadecimal" in bad.stderr

    key_file.rename(tmp_path / "kept.key")
    missing = _server_cli(data, "users", "list")
    assert missing.returncode == KEY_PROBLEM
    assert "key file" in missing.stderr and "missing" in missing.stderr
    assert "Traceback" not in missing.stderr
    assert not key_file.exists()  # no new key made for an encrypted database
    serve = ServerProc(data)
    with pytest.raises(Exception, match="exited with 3"):
        serve.start(0)

    (tmp_path / "kept.key").rename(key_file)
    os.chmod(key_file, 0o644)
    loose = _server_cli(data, "users", "list")
    assert loose.returncode == KEY_PROBLEM and "chmod 600" in loose.stderr
    os.chmod(key_file, 0o600)
    assert snapshot(data) == before  # nothing was written by the refused commands

    # the key in the environment instead of the file
    key_hex = key_file.read_text().strip()
    key_file.rename(tmp_path / "kept.key")
    by_env = _server_cli(data, "users", "list", env={atrest.KEY_ENV: key_hex})
    assert by_env.returncode == 0 and "sam" in by_env.stdout
    assert not key_file.exists()


def test_plaintext_database_from_the_previous_version_is_encrypted(tmp_path):
    """The old layout: a plaintext server.db in WAL mode, part of it still in the
    WAL. Opening it encrypts it in place with every row kept and no plaintext left."""
    names = invented_names(50, seed=17)
    old = tmp_path / "old"
    old.mkdir(mode=0o700)
    plain_engine = create_engine(f"sqlite:///{old / 'server.db'}")
    db.upgrade(plain_engine)
    with plain_engine.begin() as conn:
        for f, last in names[:25]:
            auth.create_user(conn, f"{f}.{last}", DEFAULT_PASSWORD, "specialist")
    plain_engine.dispose()
    live = tmp_path / "live"
    live.mkdir(mode=0o700)
    writer = sqlite3.connect(old / "server.db", isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    for f, last in names[25:]:
        writer.execute(
            "INSERT INTO users (id, username, password_hash, role, supervisor_id, active, "
            "created_at) VALUES (?, ?, 'x', 'specialist', '', 1, 't')",
            (f"id-{f}", f"{f}.{last}"),
        )
    for suffix in ("", "-wal"):  # a copy while the WAL holds the last 25 rows
        shutil.copy(old / f"server.db{suffix}", live / f"server.db{suffix}")
    writer.close()
    assert _leaks(live, _needles(names)) == ["server.db", "server.db-wal"]
    # an encryption cut short by a crash left its half-made file behind
    (live / "server.db.encrypting").write_bytes(b"\x00" * 4096)

    done = _server_cli(live, "users", "list")
    assert done.returncode == 0, done.stderr
    listed = {line.split()[0] for line in done.stdout.splitlines()[1:]}
    assert listed == {f"{f}.{last}" for f, last in names}
    assert sorted(p.name for p in live.iterdir()) == ["server.db", "server.db.key"]
    assert not atrest.is_plaintext(live / "server.db")
    assert _leaks(live, _needles(names)) == []

    engine = db.open_engine(live)  # and again: nothing more to do
    try:
        with engine.connect() as conn:
            assert len(conn.execute(select(users.c.id)).all()) == 50
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()


def test_backup_refuses_to_overwrite_and_restores(tmp_path):
    data = tmp_path / "srv"
    env = {"PEERTRAIL_USER_PASSWORD": DEFAULT_PASSWORD}
    assert _server_cli(data, "users", "add", "sam", "--role", "supervisor", env=env).returncode == 0
    target = tmp_path / "b.db"
    assert _server_cli(data, "backup", "--to", str(target)).returncode == 0
    again = _server_cli(data, "backup", "--to", str(target))
    assert again.returncode == 1 and "already exists" in again.stderr
    assert not atrest.is_plaintext(target)
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(target).execute("SELECT * FROM sqlite_master").fetchall()
    # restore: the copy in place of server.db, with the same key file
    restored = tmp_path / "restored"
    restored.mkdir(mode=0o700)
    shutil.copy(target, restored / "server.db")
    shutil.copy(data / "server.db.key", restored / "server.db.key")
    listed = _server_cli(restored, "users", "list")
    assert listed.returncode == 0 and "sam" in listed.stdout
