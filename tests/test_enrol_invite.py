"""One-code enrolment on the laptop side, against the real server on 127.0.0.1: the
command line (``main.py enroll --invite CODE`` / ``--invite-file``, as a subprocess)
enrols a new vault with a code and the password and then syncs; a mistyped, forged,
expired or used code, a wrong password, a server whose certificate is not the one
the code names, and a server that cannot be reached are each refused with their own
message and leave the vault as it was; a disabled user can neither enrol nor sync;
the machine-wide settings file (app.services.site_settings) is found where
platformdirs says and pre-sets the server for ``enroll --username``."""

from __future__ import annotations

import json
import os
import re
import socket
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import update

from app.services import enrolment
from app.services import site_settings
from app.services.enrolment import EnrolmentError
from app.store.db import Store
from app.store.replica import StoreReplica
from app.store.vault import Vault
from sync import invite
from sync.server import tls
from sync.server.tables import invites
from tests.conftest import FAST_KDF
from tests.conftest import PASSPHRASE
from tests.helpers import opened_vault
from tests.helpers import run_cli
from tests.server_proc import DEFAULT_PASSWORD
from tests.server_proc import specialists_server

ENV = {"PEERTRAIL_PASSPHRASE": PASSPHRASE}
PW_ENV = {**ENV, "PEERTRAIL_SERVER_PASSWORD": DEFAULT_PASSWORD}
NO_SITE = {"PEERTRAIL_DESKTOP_CONFIG": "/nonexistent/peertrail-desktop.toml"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with specialists_server(
        tmp_path_factory.mktemp("invite-server"), "ann", "bob", "cal", "dee", "eve"
    ) as s:
        yield s


@pytest.fixture(autouse=True)
def _no_machine_settings(monkeypatch):
    monkeypatch.setenv("PEERTRAIL_DESKTOP_CONFIG", NO_SITE["PEERTRAIL_DESKTOP_CONFIG"])


def make_invite(server, name: str, *extra: str) -> str:
    done = server.cli("users", "invite", name, "--address", f"127.0.0.1:{server.port}", *extra)
    assert done.returncode == 0, done.stderr
    return next(line for line in done.stdout.splitlines() if line.startswith("PT-"))


def new_vault(tmp_path: Path, name: str) -> Path:
    d = tmp_path / name
    Vault(d).create(PASSPHRASE, FAST_KDF)
    return d


def vault_server(d: Path) -> dict[str, str]:
    with opened_vault(d, PASSPHRASE) as store:
        return StoreReplica(store).server()


def enroll_cli(d: Path, *args: str, password: str = DEFAULT_PASSWORD, env=None):
    extra = {**ENV, "PEERTRAIL_SERVER_PASSWORD": password, **NO_SITE, **(env or {})}
    return run_cli("enroll", *args, "--data-dir", str(d), env=extra)


def test_cli_enrols_with_a_code_and_syncs(server, tmp_path):
    d = tmp_path / "cli"
    assert run_cli("init", "--data-dir", str(d), env=ENV).returncode == 0
    code = make_invite(server, "ann")
    out = enroll_cli(d, "--invite", code.lower().replace("-", " "))  # typing habits forgiven
    assert out.returncode == 0, out.stderr
    assert "enrolled as ann (specialist)" in out.stdout
    settings = vault_server(d)
    assert settings["url"] == f"https://127.0.0.1:{server.port}"
    assert settings["fingerprint"] == server.fingerprint  # the full fingerprint, pinned
    assert settings["username"] == "ann" and settings["token"]
    assert DEFAULT_PASSWORD not in json.dumps(settings)
    synced = run_cli("sync", "--json", "--data-dir", str(d), env={**ENV, **NO_SITE})
    assert synced.returncode == 0, synced.stderr
    assert json.loads(synced.stdout)["pulled"] > 0
    # the same code a second time, from another laptop: used
    d2 = new_vault(tmp_path, "again")
    again = enroll_cli(d2, "--invite", code)
    assert again.returncode == 3 and "used already" in again.stderr
    assert vault_server(d2) == {}


def test_cli_enrols_with_an_invite_file(server, tmp_path):
    d = new_vault(tmp_path, "file")
    make_invite(server, "bob", "--file", str(tmp_path / "bob.txt"))
    out = enroll_cli(d, "--invite-file", str(tmp_path / "bob.txt"))
    assert out.returncode == 0, out.stderr
    assert vault_server(d)["username"] == "bob"
    mixed = enroll_cli(d, "--invite-file", str(tmp_path / "bob.txt"), "--username", "bob")
    assert mixed.returncode == 2 and "only the code" in mixed.stderr
    missing = enroll_cli(d, "--invite-file", str(tmp_path / "none.txt"))
    assert missing.returncode == 3 and "cannot be read" in missing.stderr


def test_each_refusal_has_its_own_message_and_changes_nothing(server, tmp_path):
    code = make_invite(server, "cal")
    inv = invite.decode(code)
    d = new_vault(tmp_path, "refusals")

    typo = code[:-1] + ("A" if code[-1] != "A" else "B")
    out = enroll_cli(d, "--invite", typo)
    assert out.returncode == 3 and "typing mistake" in out.stderr

    forged = invite.encode(
        invite.Invite(inv.host, inv.port, inv.fingerprint_prefix, b"\x07" * 8, inv.expires_at)
    )  # a well-formed code the server never made
    out = enroll_cli(d, "--invite", forged)
    assert out.returncode == 3 and "not valid" in out.stderr

    stale = invite.encode(
        invite.Invite(inv.host, inv.port, inv.fingerprint_prefix, inv.secret, 1_700_000_000)
    )
    out = enroll_cli(d, "--invite", stale)
    assert out.returncode == 3 and "expired on" in out.stderr and "2023" in out.stderr

    out = enroll_cli(d, "--invite", code, password="not cal's password at all")
    assert out.returncode == 3 and "did not accept that password" in out.stderr

    # expired on the server (the code itself still says it is valid)
    with server.engine().begin() as conn:
        conn.execute(update(invites).values(expires_at_s=int(time.time()) - 1))
    out = enroll_cli(d, "--invite", code)
    assert out.returncode == 3 and "expired" in out.stderr
    assert vault_server(d) == {}


def test_a_certificate_that_is_not_the_codes_is_refused(server, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    tls.make_self_signed(other / "cert.pem", other / "key.pem")
    code = make_invite(server, "dee", "--tls-cert", str(other / "cert.pem"))
    d = new_vault(tmp_path, "pin")

    def used() -> int:
        with server.engine().begin() as conn:
            return len(conn.execute(invites.select().where(invites.c.used_at.is_not(None))).all())

    before = used()
    out = enroll_cli(d, "--invite", code)
    assert out.returncode == 4 and "certificate does not match the invite" in out.stderr
    assert vault_server(d) == {}
    assert used() == before  # nothing was sent: no code used, no device
    assert enroll_cli(d, "--invite", make_invite(server, "dee")).returncode == 0
    assert used() == before + 1


def test_an_unreachable_server_is_said_so(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends
    code = invite.encode(
        invite.Invite("127.0.0.1", port, b"\x01" * 16, b"\x02" * 8, int(time.time()) + 3600)
    )
    d = new_vault(tmp_path, "offline")
    with pytest.raises(EnrolmentError, match="cannot be reached") as e:
        vault = Vault(d)
        vault.unlock(PASSPHRASE)
        store = Store.open(vault)
        try:
            enrolment.enroll_invite(store, enrolment.check_invite(code, "pw"))
        finally:
            store.close()
            vault.lock()
    assert e.value.code == "offline"


def test_a_disabled_user_cannot_enrol_or_sync(server, tmp_path):
    d = new_vault(tmp_path, "eve")
    assert enroll_cli(d, "--invite", make_invite(server, "eve")).returncode == 0
    assert run_cli("sync", "--data-dir", str(d), env=ENV).returncode == 0
    pending = make_invite(server, "eve")
    assert server.cli("users", "disable", "eve").returncode == 0
    refused = run_cli("sync", "--data-dir", str(d), env=ENV)
    assert refused.returncode != 0
    assert "did not accept" in refused.stderr or "withdrawn" in refused.stderr, refused.stderr
    d2 = new_vault(tmp_path, "eve2")
    out = enroll_cli(d2, "--invite", pending)
    assert out.returncode == 3 and vault_server(d2) == {}
    by_hand = enroll_cli(d2, "--server", server.url, "--username", "eve",
                         "--fingerprint", server.fingerprint)  # fmt: skip
    assert by_hand.returncode == 3 and vault_server(d2) == {}
    assert server.cli("users", "invite", "eve", "--address", "h").returncode == 1
    assert server.cli("users", "enable", "eve").returncode == 0
    assert run_cli("sync", "--data-dir", str(d), env=ENV).returncode == 0


# -- the machine-wide settings file -------------------------------------------------------------


def test_the_settings_file_is_found_where_platformdirs_says(tmp_path, monkeypatch, server):
    monkeypatch.delenv("PEERTRAIL_DESKTOP_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "xdg"))
    assert site_settings.candidates()[0] == tmp_path / "xdg" / "peertrail" / "desktop.toml"
    (tmp_path / "xdg" / "peertrail").mkdir(parents=True)
    text = site_settings.file_text(f"127.0.0.1:{server.port}", server.fingerprint.lower())
    (tmp_path / "xdg" / "peertrail" / "desktop.toml").write_text(text)
    site = site_settings.load()
    assert site.server == f"https://127.0.0.1:{server.port}"
    assert site.fingerprint == server.fingerprint and not site.problem
    assert site.source.endswith("desktop.toml")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("[server\naddress = 1", "not a valid settings file"),
        ("[server]\naddress = 8443", "text in quotes"),
        ('[server]\naddress = "http://sync.example.org"', "https://"),
        ('[server]\naddress = "sync.example.org"\nfingerprint = "AB:CD"', "64 letters"),
        ('[server]\nfingerprint = "' + "AB" * 32 + '"', "needs an address"),
    ],
)
def test_a_bad_settings_file_is_reported_and_ignored(tmp_path, content, problem):
    path = tmp_path / "desktop.toml"
    path.write_text(content)
    site = site_settings.load([path])
    assert problem in site.problem and not site.server and not site.fingerprint


def test_cli_enrol_uses_the_machine_wide_server(server, tmp_path):
    conf = tmp_path / "desktop.toml"
    conf.write_text(site_settings.file_text(f"127.0.0.1:{server.port}", server.fingerprint))
    d = new_vault(tmp_path, "site")
    out = enroll_cli(d, "--username", "ann", env={"PEERTRAIL_DESKTOP_CONFIG": str(conf)})
    assert out.returncode == 0, out.stderr
    assert vault_server(d)["fingerprint"] == server.fingerprint
    # a code for another server than the pinned one is refused before anything is sent
    other = tmp_path / "o"
    other.mkdir()
    tls.make_self_signed(other / "c.pem", other / "k.pem")
    conf.write_text(
        site_settings.file_text(f"127.0.0.1:{server.port}", tls.fingerprint_sha256(other / "c.pem"))
    )
    d2 = new_vault(tmp_path, "site2")
    out = enroll_cli(
        d2, "--invite", make_invite(server, "bob"), env={"PEERTRAIL_DESKTOP_CONFIG": str(conf)}
    )
    assert out.returncode == 4 and "different server" in out.stderr
    assert os.path.exists(conf) and vault_server(d2) == {}


@pytest.mark.parametrize("host", ["a.example", "sync.example.org", "127.0.0.1", "abcdefgh.ij"])
def test_a_typo_in_the_last_character_is_caught(host):
    code = invite.encode(invite.Invite(host, 8443, b"\x05" * 16, b"\x09" * 8, 2_000_000_000))
    for c in invite.ALPHABET:
        if c != code[-1]:
            with pytest.raises(invite.InviteError):
                invite.decode(code[:-1] + c)


def test_site_config_writes_the_file_the_app_reads(tmp_path):
    out = tmp_path / "etc" / "desktop.toml"
    fp = "ab" * 32
    done = run_cli("site-config", "--server", "sync.example.org", "--fingerprint", fp,
                   "--out", str(out), env=NO_SITE)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert oct(out.stat().st_mode & 0o777) == "0o644"
    site = site_settings.read(out)
    assert site.server == "https://sync.example.org:8443" and site.fingerprint == ":".join(
        ["AB"] * 32
    )
    shown = run_cli("site-config", "--show", env={"PEERTRAIL_DESKTOP_CONFIG": str(out)})
    assert shown.returncode == 0 and "https://sync.example.org:8443" in shown.stdout
    bad = run_cli("site-config", "--server", "http://sync.example.org", "--out", str(out))
    assert bad.returncode == 2 and "https://" in bad.stderr
    assert site_settings.read(out).server == "https://sync.example.org:8443"  # unchanged


def test_the_windows_setup_writes_what_the_app_reads():
    """The Inno Setup script's /SERVER, /FINGERPRINT and /INVITE write desktop.toml with
    the keys app.services.site_settings reads, in the folder platformdirs names."""
    iss = (Path(__file__).resolve().parent.parent / "installer/windows/peertrail.iss").read_text()
    for switch in ("SERVER", "FINGERPRINT", "INVITE"):
        assert f"ParamText('{switch}')" in iss
    keys = set(re.findall(r"'(\w+) = \"'", iss))
    keys |= set(re.findall(r"'(invite_file) = ", iss))
    assert keys == {"address", "fingerprint", "invite_file"}
    assert "{commonappdata}\\PeerTrail" in iss and "desktop.toml" in iss
    assert "PrivilegesRequiredOverridesAllowed=commandline dialog" in iss
    # what the script writes for an invite, read back the way the app reads it
    sample = '[server]\r\naddress = "sync.example.org:8443"\r\ninvite_file = "invite.txt"\r\n'
    root = Path(tempfile.mkdtemp())
    (root / "desktop.toml").write_text(sample)
    site = site_settings.read(root / "desktop.toml")
    assert site.server == "https://sync.example.org:8443"
    assert site.invite_file == str(root / "invite.txt")


def test_an_invite_whose_file_cannot_be_written_is_not_made(server, tmp_path):
    """The code's file is opened first: when it cannot be written (or the user may not
    have an invite), no invite is recorded and no empty file is left."""
    from sync.server import security

    def made() -> int:
        with server.engine().begin() as conn:
            return [e.kind for e in security.list_events(conn)].count("invite_made")

    before = made()
    nowhere = server.cli("users", "invite", "ann", "--address", "h",
                         "--file", str(tmp_path / "no" / "such" / "x.txt"))  # fmt: skip
    assert nowhere.returncode != 0 and made() == before
    server.add_user("gil", "specialist")
    assert server.cli("users", "disable", "gil").returncode == 0
    refused = server.cli("users", "invite", "gil", "--address", "h",
                         "--file", str(tmp_path / "gil.txt"))  # fmt: skip
    assert refused.returncode == 1 and made() == before
    assert not (tmp_path / "gil.txt").exists()
