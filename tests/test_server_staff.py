"""Staff life cycle with the real server and real laptops: password reset, a leaver
disabled (tokens refused at once, no sign-in, no enrolment), a supervisor change
that reaches the laptops, removal with the caseload handed over through the sync
path (the heir's laptop gets the participants, the leaver's devices are revoked),
``participants list`` with initials only, the enrolment gate after a revocation,
and a security event for each. On SQLite and PostgreSQL."""

from __future__ import annotations

import time

import pytest
import requests

from app.domain.records import Participant
from sync.server import auth
from sync.server import security
from sync.server import staff
from tests.server_proc import backend_url
from tests.server_proc import enroll_raw
from tests.server_proc import start_server
from tests.test_sync_e2e import FAST_SERVER
from tests.test_sync_e2e import Laptop

NEW_PASSWORD = "a brand new password"


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request, tmp_path):
    url = backend_url(request.param)
    s = start_server(tmp_path, database_url=url, extra_args=FAST_SERVER)
    s.sam = s.add_user("sam", "supervisor")
    s.tia = s.add_user("tia", "supervisor")
    s.ann = s.add_user("ann", "specialist", supervisor="sam")
    s.bob = s.add_user("bob", "specialist", supervisor="sam")
    yield s
    s.close()


def _sync_raw(server, device_id: str, token: str) -> requests.Response:
    return requests.post(
        f"{server.url}/v1/sync",
        json={"protocol": 2, "device_id": device_id, "client_time_ms": int(time.time() * 1000)},
        headers={"Authorization": f"Bearer {token}"},
        verify=server.verify,
        timeout=60,
    )


def _events(server) -> list[security.Event]:
    with server.engine().begin() as conn:
        return security.list_events(conn)


def _ok(done) -> None:
    assert done.returncode == 0, done.stderr


def test_passwd_disable_enable_and_supervisor(server, tmp_path):
    lap = Laptop(tmp_path, "ann-laptop", server, "ann")
    try:
        _ok(server.cli("users", "passwd", "ann", password=NEW_PASSWORD))
        assert enroll_raw(server, "ann").status_code == 401  # the old password is gone
        assert enroll_raw(server, "ann", NEW_PASSWORD).status_code == 200
        lap.sync()  # a password reset leaves enrolled laptops syncing

        _ok(server.cli("users", "set-supervisor", "ann", "tia"))
        lap.sync()
        assert lap.repos.users.get(server.ann).supervisor_id == server.tia
        refused = server.cli("users", "set-supervisor", "ann", "bob")
        assert refused.returncode == 1 and "not a supervisor" in refused.stderr

        _ok(server.cli("users", "disable", "ann"))
        token = lap.replica.server()["token"]
        device = lap.replica.device_id
        r = _sync_raw(server, device, token)
        assert r.status_code == 401 and r.json()["error"] == "revoked"
        assert enroll_raw(server, "ann", NEW_PASSWORD).status_code == 401
        listed = server.cli("users", "list").stdout
        assert any(line.startswith("ann ") and " no " in line for line in listed.splitlines())

        _ok(server.cli("users", "enable", "ann"))
        lap.sync()
        assert enroll_raw(server, "ann", NEW_PASSWORD).status_code == 200
    finally:
        lap.close()
    kinds = [e.kind for e in _events(server) if e.user_id == server.ann]
    for kind in ("password_reset", "supervisor_changed", "user_disabled", "user_enabled"):
        assert kind in kinds
    missing = server.cli("users", "disable", "nobody")
    assert missing.returncode == 4 and "no user named" in missing.stderr


def test_remove_hands_the_caseload_over_through_sync(server, tmp_path):
    ann = Laptop(tmp_path, "ann-laptop", server, "ann")
    bob = Laptop(tmp_path, "bob-laptop", server, "bob")
    try:
        people = [
            Participant(first_name=f, last_name=last, assigned_specialist_id=ann.user.id)
            for f, last in (("Wren", "Okafor"), ("Juno", "Tallis"), ("Ivo", "Brandt"))
        ]
        ann.repos.participants.add_many(people)
        ann.sync()
        bob.sync()
        assert bob.repos.participants.list() == []

        listed = server.cli("participants", "list", "--specialist", "ann")
        _ok(listed)
        for p in people:
            assert p.id in listed.stdout
        assert "WO" in listed.stdout and "JT" in listed.stdout
        assert "Wren" not in listed.stdout and "Okafor" not in listed.stdout

        no_heir = server.cli("users", "remove", "ann")
        assert no_heir.returncode == 1 and "--to" in no_heir.stderr
        _ok(server.cli("users", "remove", "ann", "--to", "bob"))

        bob.sync()
        got = {p.id: p for p in bob.repos.participants.list()}
        assert set(got) == {p.id for p in people}
        assert all(p.assigned_specialist_id == bob.user.id for p in got.values())
        assert server.cli("participants", "list", "--specialist", "ann").stdout.startswith("No")

        token = ann.replica.server()["token"]
        with server.engine().begin() as conn:
            owner = auth.lookup_token(conn, token)
            assert owner is not None and owner.revoked
            assert staff.removed_at(conn, server.ann)
        assert enroll_raw(server, "ann").status_code == 401
        again = server.cli("users", "enable", "ann")
        assert again.returncode == 1 and "removed" in again.stderr
    finally:
        ann.close()
        bob.close()
    removed = [e for e in _events(server) if e.kind == "user_removed"]
    assert removed and removed[0].detail["moved"] == 3 and removed[0].detail["devices_revoked"] == 1
    moves = [e for e in _events(server) if e.kind == "participant_reassigned"]
    assert len(moves) == 3


def test_a_revoked_device_bars_new_enrolments_until_an_admin_says_so(server):
    first = enroll_raw(server, "bob")
    assert first.status_code == 200
    devices = server.cli("devices", "list").stdout
    device_id = next(line.split()[0] for line in devices.splitlines() if " bob " in line)
    _ok(server.cli("devices", "revoke", device_id))

    blocked = enroll_raw(server, "bob")
    assert blocked.status_code == 403 and blocked.json()["error"] == "enrol_blocked"
    assert enroll_raw(server, "ann").status_code == 200  # only bob is barred
    assert "enrol blocked" in server.cli("users", "list").stdout

    _ok(server.cli("users", "enable", "bob"))
    assert enroll_raw(server, "bob").status_code == 200
    kinds = [e.kind for e in _events(server)]
    assert "device_revoked" in kinds and "user_enabled" in kinds
