"""Sign-in lockout with the real server over HTTPS: an account is locked after five
failures in a row, for longer after each further failure; colleagues signing in
from the same address are not locked out; an administrator's ``unlock`` clears it;
each lockout and unlock is a security event."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import update

from sync.server import auth
from sync.server.tables import login_failures
from tests.server_proc import DEFAULT_PASSWORD
from tests.server_proc import backend_url
from tests.server_proc import enroll_raw
from tests.server_proc import start_server


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request, tmp_path):
    url = backend_url(request.param)
    s = start_server(tmp_path, database_url=url)
    s.add_user("ann", "specialist")
    s.add_user("bob", "specialist")
    yield s
    s.close()


def _expire_lock(server, username: str) -> None:
    with server.engine().begin() as conn:
        conn.execute(
            update(login_failures)
            .where(login_failures.c.username == username)
            .values(locked_until_ms=1)
        )


def test_lockout_is_per_account_grows_and_is_unlocked_by_an_admin(server):
    for _ in range(auth.LOCKOUT_AFTER):
        assert enroll_raw(server, "ann", "wrong password!").status_code == 401
    locked = enroll_raw(server, "ann", DEFAULT_PASSWORD)  # the right one, too late
    assert locked.status_code == 429
    assert "unlock" in locked.json()["message"]
    assert 55 <= int(locked.headers["Retry-After"]) <= 60

    # a colleague on the same address signs in, and fails, on her own account
    assert enroll_raw(server, "bob", DEFAULT_PASSWORD).status_code == 200
    assert enroll_raw(server, "bob", "not bob's password").status_code == 401
    assert enroll_raw(server, "bob", DEFAULT_PASSWORD).status_code == 200

    # when the lock runs out, one more failure locks for twice as long
    _expire_lock(server, "ann")
    assert enroll_raw(server, "ann", "wrong again!!").status_code == 401
    again = enroll_raw(server, "ann", DEFAULT_PASSWORD)
    assert again.status_code == 429 and 115 <= int(again.headers["Retry-After"]) <= 120

    done = server.cli("unlock", "ann")
    assert done.returncode == 0 and "Unlocked ann" in done.stdout, done.stderr
    assert enroll_raw(server, "ann", DEFAULT_PASSWORD).status_code == 200
    assert server.cli("unlock", "ann").returncode == 0  # nothing to clear: still fine
    assert server.cli("unlock", "nobody-here").returncode == 4

    events = server.cli("audit", "events")
    assert events.returncode == 0
    lines = [ln for ln in events.stdout.splitlines() if " ann " in f" {ln} "]
    kinds = [ln.split()[1] for ln in lines]
    assert kinds == ["lockout", "lockout", "unlock", "unlock"], events.stdout
    assert "failures=5" in lines[0] and "failures=6" in lines[1]
    assert "bob" not in events.stdout


def test_unknown_user_is_locked_alike_and_parallel_guesses_are_counted(server):
    for _ in range(auth.LOCKOUT_AFTER):
        assert enroll_raw(server, "nosuchuser", "guess guess").status_code == 401
    assert enroll_raw(server, "nosuchuser", "guess guess").status_code == 429

    with ThreadPoolExecutor(12) as pool:
        codes = list(
            pool.map(lambda i: enroll_raw(server, "bob", f"guess {i:04d}").status_code, range(24))
        )
    assert codes.count(401) == auth.LOCKOUT_AFTER, codes  # only five were ever checked
    assert codes.count(429) == 24 - auth.LOCKOUT_AFTER
    assert enroll_raw(server, "ann", DEFAULT_PASSWORD).status_code == 200


def test_lockout_durations():
    assert [auth.lockout_ms(n) for n in range(1, 5)] == [0, 0, 0, 0]
    assert auth.lockout_ms(5) == 60_000 and auth.lockout_ms(6) == 120_000
    assert auth.lockout_ms(7) == 240_000
    assert auth.lockout_ms(50) == auth.LOCKOUT_MAX_MS == auth.lockout_ms(10**6)
