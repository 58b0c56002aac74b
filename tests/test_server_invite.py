"""One-code enrolment: the code format (sync.invite) round-trips, forgives typing
habits and catches typing mistakes; ``users invite`` prints a code and writes it to
a 0600 file holding the server's address, port and certificate fingerprint; the
real server enrols a device with the code and the user's password once, refuses
it a second time, after its expiry, with a wrong password or for a disabled user,
and lifts the enrolment gate after a revocation. Each step is a security event."""

from __future__ import annotations

import hashlib
import os
import stat
import time

import pytest
import requests
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import update

from sync import invite
from sync.server import security
from sync.server.tables import invites
from tests.server_proc import DEFAULT_PASSWORD
from tests.server_proc import new_device_id
from tests.server_proc import start_server

FP = hashlib.sha256(b"an invented certificate").digest()


@pytest.fixture
def server(tmp_path):
    """The real server, closed after the test."""
    s = start_server(tmp_path)
    yield s
    s.close()


def _invite(**kw) -> invite.Invite:
    base = dict(
        host="peertrail.example.org",
        port=8443,
        fingerprint_prefix=FP[:16],
        secret=b"\x01" * 8,
        expires_at=2_000_000_000,
    )
    return invite.Invite(**{**base, **kw})


@settings(max_examples=200, deadline=None)
@given(
    host=st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z]{2,6}){0,3}", fullmatch=True),
    port=st.integers(1, 65535),
    secret=st.binary(min_size=8, max_size=8),
    expires=st.integers(0, 2**32 - 1),
)
def test_codes_round_trip(host, port, secret, expires):
    inv = _invite(host=host, port=port, secret=secret, expires_at=expires)
    code = invite.encode(inv)
    assert invite.decode(code) == inv
    assert invite.decode(code.lower().replace("-", " ")) == inv


def test_typing_mistakes_are_caught_and_habits_forgiven():
    inv = _invite()
    code = invite.encode(inv)
    assert code.startswith("PT-") and len(code.replace("-", "")) <= 92  # 21-letter host
    assert invite.decode(code.replace("0", "O").replace("1", "l")) == inv
    chars = [i for i, c in enumerate(code) if c not in "-" and i > 2]
    caught = 0
    for i in chars:
        for c in "0123456789ABCDEFGHJKMNPQRSTVWXYZ":
            if c == code[i]:
                continue
            with pytest.raises(invite.InviteError):
                invite.decode(code[:i] + c + code[i + 1 :])
            caught += 1
    assert caught > 1000
    for bad in ("", "PT", "XX-1234", code[:-4], code + "ABCD", "PT-!!!!"):
        with pytest.raises(invite.InviteError):
            invite.decode(bad)
    full = ":".join(f"{b:02X}" for b in FP)
    assert inv.fingerprint_matches(full) and inv.fingerprint_matches(FP.hex())
    assert not inv.fingerprint_matches(hashlib.sha256(b"other").hexdigest())
    assert inv.server_url == "https://peertrail.example.org:8443"
    assert _invite(host="::1").server_url == "https://[::1]:8443"


def _post(server, code: str, password: str = DEFAULT_PASSWORD, device: str | None = None):
    return requests.post(
        f"{server.url}{invite.ENROLL_PATH}",
        json={
            "protocol": 2,
            "code": code,
            "password": password,
            "device_id": device or new_device_id(),
            "device_name": "laptop",
        },
        verify=server.verify,
        timeout=60,
    )


def _make(server, name: str, *extra: str) -> tuple[str, invite.Invite]:
    done = server.cli("users", "invite", name, "--address", f"127.0.0.1:{server.port}", *extra)
    assert done.returncode == 0, done.stderr
    code = next(line for line in done.stdout.splitlines() if line.startswith("PT-"))
    return code, invite.decode(code)


def test_invite_enrols_once_with_the_password(server, tmp_path):
    ann_id = server.add_user("ann", "specialist")
    server.add_user("bob", "specialist")
    before = int(time.time())
    code, inv = _make(server, "ann")
    after = int(time.time()) + 1
    path = server.data_dir / "invites" / "ann.txt"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert invite.read_file(path) == inv
    assert inv.host == "127.0.0.1" and inv.port == server.port
    assert inv.fingerprint_matches(server.fingerprint)
    # valid for the default 72 hours from when it was made (whole seconds)
    assert before + 72 * 3600 <= inv.expires_at <= after + 72 * 3600

    assert _post(server, code, "not ann's password").status_code == 401
    ok = _post(server, code)
    assert ok.status_code == 200, ok.text
    assert ok.json()["user_id"] == ann_id and ok.json()["token"]
    used = _post(server, code)
    assert used.status_code == 401 and used.json()["error"] == "invite_invalid"
    typo = _post(server, code[:-1] + ("A" if code[-1] != "A" else "B"))
    assert typo.status_code == 400 and typo.json()["error"] == "bad_invite"

    # expired
    code2, _ = _make(server, "bob", "--hours", "1", "--file", str(tmp_path / "bob.txt"))
    assert (tmp_path / "bob.txt").read_text().count(code2) == 1
    with server.engine().begin() as conn:
        conn.execute(update(invites).values(expires_at_s=int(time.time()) - 1))
    assert _post(server, code2).json()["error"] == "invite_invalid"

    # a disabled user's invite does not enrol
    code3, _ = _make(server, "bob")
    assert server.cli("users", "disable", "bob").returncode == 0
    assert _post(server, code3).status_code == 401
    refused = server.cli("users", "invite", "bob", "--server", "h")
    assert refused.returncode == 1 and "not active" in refused.stderr
    with server.engine().begin() as conn:
        kinds = [e.kind for e in security.list_events(conn)]
    assert kinds.count("invite_made") == 3 and kinds.count("invite_used") == 1


def test_an_invite_lifts_the_gate_after_a_revocation(server, tmp_path):
    server.add_user("ann", "specialist")
    device, _token = server.enroll("ann")
    assert server.cli("devices", "revoke", device).returncode == 0
    with pytest.raises(requests.HTTPError):
        server.enroll("ann")  # barred: a device was revoked
    code, _ = _make(server, "ann")
    assert _post(server, code).status_code == 200
    # the revoked device itself stays revoked, invite or not
    code2, _ = _make(server, "ann")
    again = _post(server, code2, device=device)
    assert again.status_code == 403 and again.json()["error"] == "revoked"
    assert _post(server, code2).status_code == 200  # rolled back: still unused


def test_invite_needs_a_certificate_and_a_sane_address(server, tmp_path):
    server.add_user("ann", "specialist")
    bad = server.cli("users", "invite", "ann", "--server", "host:99999")
    assert bad.returncode == 2
    missing = server.cli(
        "users", "invite", "ann", "--server", "h", "--tls-cert", str(tmp_path / "none.pem")
    )
    assert missing.returncode == 4 and "no certificate" in missing.stderr
    _code, inv = _make(server, "ann")
    assert inv.port == server.port
    # --server: the first name of --address
    default_port = server.cli("users", "invite", "ann", "--server", "sync.example.org")  # old name
    assert "PT-" in default_port.stdout
    assert invite.decode(default_port.stdout.split("\n")[1]).port == 8443
