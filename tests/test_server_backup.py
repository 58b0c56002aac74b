"""Server backup and restore with the real server: a backup taken while a laptop
syncs is consistent, 0600, encrypted, and carries the TLS certificate and key;
restore refuses while the server runs, refuses a backup from a newer server
(exit 5) or one made under another key (exit 3), keeps the database it replaces,
puts the certificate back, and records a new restore epoch; ``mark-restored`` does
the same after a PostgreSQL ``pg_restore``."""

from __future__ import annotations

import os
import stat
import threading

import pytest
from sqlalchemy import text

from app.domain.records import Participant
from sync.server import atrest
from sync.server import backups
from sync.server import epoch
from tests.builders import many_people
from tests.server_proc import backend_url
from tests.server_proc import start_server
from tests.test_sync_e2e import FAST_SERVER
from tests.test_sync_e2e import Laptop

SCHEMA_NEWER, KEY_PROBLEM = 5, 3


def _participants(server) -> set[str]:
    return {r[0] for r in server.rows("records") if r[1] == "participants"}


def test_backup_while_syncing_and_restore(tmp_path):
    server = start_server(tmp_path, extra_args=FAST_SERVER)
    server.add_user("ann", "specialist")
    lap = Laptop(tmp_path, "ann-laptop", server, "ann")
    fingerprint = server.fingerprint
    try:
        me = lap.user.id
        lap.repos.participants.add_many(many_people(40, "P", "Invented", me))
        lap.sync()
        stop = threading.Event()
        errors: list[BaseException] = []

        def keep_syncing() -> None:
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    lap.repos.participants.add(
                        Participant(first_name=f"Q{n}", last_name="X", assigned_specialist_id=me)
                    )
                    lap.sync()
                except BaseException as exc:  # reported below
                    errors.append(exc)
                    return

        worker = threading.Thread(target=keep_syncing)
        worker.start()
        try:
            out = tmp_path / "backups" / "server-1.ptbackup"
            out.parent.mkdir()
            done = server.cli("backup", "--out", str(out))
        finally:
            stop.set()
            worker.join(60)
        assert not errors, errors
        assert done.returncode == 0, done.stderr
        assert "TLS certificate and key" in done.stdout
        assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
        assert b"SQLite format 3" not in out.read_bytes()[:100]  # encrypted
        key = atrest.load_key(server.data_dir / "server.db")
        conn = atrest.connect(out, key)
        names = {r[0] for r in conn.execute("SELECT name FROM backup_files")}
        in_backup = {
            r[0]
            for r in conn.execute("SELECT record_id FROM records WHERE table_name='participants'")
        }
        conn.close()
        assert names == {"tls-cert.pem", "tls-key.pem"}
        assert len(in_backup) >= 40

        running = server.cli("restore", str(out))
        assert running.returncode == 1 and "stop it first" in running.stderr

        lap.repos.participants.add(
            Participant(first_name="After", last_name="Backup", assigned_specialist_id=me)
        )
        lap.sync()
        assert len(_participants(server)) > len(in_backup)
        server.stop()
        for name in ("tls-cert.pem", "tls-key.pem"):
            (server.data_dir / name).unlink()

        restored = server.cli("restore", str(out))
        assert restored.returncode == 0, restored.stderr
        assert list(server.data_dir.glob("server.db.before-restore-*"))
        server._engine = None
        assert _participants(server) == in_backup
        with server.engine().begin() as c:
            first_epoch = epoch.current(c)
        assert len(first_epoch) == 32
        events = server.cli("audit", "events").stdout
        assert "database_restored" in events

        server.start(0)
        assert server.fingerprint == fingerprint  # the certificate came back
        assert server.session().get(f"{server.url}/v1/ready", timeout=30).status_code == 200
    finally:
        lap.close()
        server.close()


def test_restore_refuses_a_newer_backup_and_another_key(tmp_path):
    server = start_server(tmp_path)
    server.add_user("ann", "specialist")
    out = tmp_path / "b.ptbackup"
    try:
        assert server.cli("backup", "--to", str(out)).returncode == 0  # --to: the old name
        again = server.cli("backup", "--out", str(out))
        assert again.returncode == 1 and "already exists" in again.stderr
    finally:
        server.stop()
    key = atrest.load_key(server.data_dir / "server.db")
    conn = atrest.connect(out, key)
    conn.execute("UPDATE alembic_version SET version_num = '0099_future'")
    conn.commit()
    conn.close()
    newer = server.cli("restore", str(out))
    assert newer.returncode == SCHEMA_NEWER and "newer PeerTrail server" in newer.stderr

    other = tmp_path / "other"
    elsewhere = start_server(other)
    elsewhere.stop()
    foreign = elsewhere.cli("restore", str(out))
    assert foreign.returncode == KEY_PROBLEM and "Traceback" not in foreign.stderr
    assert not list(server.data_dir.glob("server.db.before-restore-*"))  # nothing changed
    server.close()
    elsewhere.close()


def test_mark_restored_on_postgresql(tmp_path):
    url = backend_url("postgresql")
    server = start_server(tmp_path, database_url=url)
    try:
        refused = server.cli("backup", "--out", str(tmp_path / "x"))
        assert refused.returncode == 2 and "PostgreSQL" in refused.stderr
        done = server.cli("mark-restored")
        assert done.returncode == 0, done.stderr
        with server.engine().begin() as c:
            one = epoch.current(c)
            assert one and one in done.stdout
            assert c.execute(text("SELECT count(*) FROM security_events")).scalar() == 1
        server.cli("mark-restored")
        with server.engine().begin() as c:
            assert epoch.current(c) not in ("", one)
    finally:
        server.close()


def test_the_server_holds_its_folder_while_running(tmp_path):
    server = start_server(tmp_path)
    try:
        with pytest.raises(backups.ServerRunning), backups.stopped(server.data_dir):
            pass
    finally:
        server.stop()
    with backups.stopped(server.data_dir):
        pass
    server.close()


def test_migrate_to_postgresql(tmp_path):
    url = backend_url("postgresql")
    server = start_server(tmp_path, extra_args=FAST_SERVER)
    server.add_user("ann", "specialist")
    lap = Laptop(tmp_path, "ann-laptop", server, "ann")
    try:
        me = lap.user.id
        lap.repos.participants.add_many(many_people(25, "M", "Moved", me))
        lap.sync()
        before = server.state_digest()
        running = server.cli("migrate-to-postgresql", "--to", url)
        assert running.returncode == 1 and "stop it first" in running.stderr
        server.stop()
        done = server.cli("migrate-to-postgresql", "--to", url)
        assert done.returncode == 0, done.stderr
        again = server.cli("migrate-to-postgresql", "--to", url)
        assert again.returncode == 1 and "already holds" in again.stderr

        server.database_url = url
        server._engine = None
        assert server.state_digest() == before
        server.start()  # the same port: the laptop knows it
        lap.repos.participants.add(
            Participant(first_name="N", last_name="New", assigned_specialist_id=me)
        )
        lap.sync()  # new request_log and change rows: the sequences were moved on
        assert len(_participants(server)) == 26
        assert server.cli("users", "list").stdout.count("ann") == 1
    finally:
        lap.close()
        server.close()
