"""Enrolment's one set of rules (app.services.enrolment), used by the command line,
the first-start welcome and the sync controller alike: the server address (read
with urllib.parse; https unless the host is loopback; no user@host; a bare host
gets the server's default port), the certificate fingerprint (any spacing, colons
or case), and an enrolment against the real server on loopback."""

from __future__ import annotations

import pytest

from app.services import enrolment
from app.services.enrolment import EnrolmentError
from app.services.enrolment import normalise_fingerprint
from app.services.enrolment import normalise_server
from app.store.db import Store
from app.store.replica import StoreReplica
from app.store.vault import Vault
from sync.protocol import DEFAULT_PORT
from sync.server.cli.config import _parser as server_parser
from tests.conftest import FAST_KDF
from tests.conftest import PASSPHRASE
from tests.server_proc import DEFAULT_PASSWORD
from tests.server_proc import specialists_server

FP = "".join(f"{i:02X}" for i in range(32))  # 64 hex digits
FP_COLONS = ":".join(FP[i : i + 2] for i in range(0, 64, 2))


def test_the_default_port_is_the_servers() -> None:
    assert DEFAULT_PORT == 8443
    assert server_parser().parse_args(["serve"]).port == DEFAULT_PORT  # where a bare host points


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("peertrail.agency.example", f"https://peertrail.agency.example:{DEFAULT_PORT}"),
        ("  peertrail.agency.example/  ", f"https://peertrail.agency.example:{DEFAULT_PORT}"),
        ("peertrail.agency.example:9443", "https://peertrail.agency.example:9443"),
        ("https://peertrail.agency.example:9443/", "https://peertrail.agency.example:9443"),
        ("HTTPS://PeerTrail.Agency.Example:9443", "https://peertrail.agency.example:9443"),
        ("https://peertrail.agency.example", "https://peertrail.agency.example"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://127.8.9.10:8000", "http://127.8.9.10:8000"),  # all of 127/8 is loopback
        ("http://localhost:8000", "http://localhost:8000"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("192.0.2.7", f"https://192.0.2.7:{DEFAULT_PORT}"),
        ("[2001:db8::5]", f"https://[2001:db8::5]:{DEFAULT_PORT}"),
    ],
)
def test_server_addresses_accepted(typed: str, expected: str) -> None:
    assert normalise_server(typed) == expected


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("", "Type the server address"),
        ("   ", "Type the server address"),
        ("http://peertrail.agency.example", "https://"),
        ("http://192.0.2.2:8443", "https://"),
        ("ftp://peertrail.agency.example", "https://"),
        ("http://127.0.0.1@192.0.2.2:8443", "user name or password"),  # not loopback at all
        ("https://ann@peertrail.agency.example", "user name or password"),
        ("https://ann:secret@peertrail.agency.example:9443", "user name or password"),
        ("127.0.0.1@192.0.2.2", "user name or password"),
        ("https://peertrail.agency.example:99999", "not valid"),
        ("https://peertrail.agency.example:port", "not valid"),
        ("https://peer trail.example", "not valid"),
        ("https://", "not valid"),
        ("https://peertrail.agency.example/v1/sync", "not valid"),
        ("https://peertrail.agency.example/?x=1", "not valid"),
        ("https://peertrail.agency.example/#top", "not valid"),
    ],
)
def test_server_addresses_refused(typed: str, words: str) -> None:
    with pytest.raises(EnrolmentError, match=words) as e:
        normalise_server(typed)
    assert e.value.code == "usage"


@pytest.mark.parametrize(
    "typed", [FP, FP.lower(), FP_COLONS, FP_COLONS.lower(), FP_COLONS.replace(":", " "),
              " ".join(FP[i : i + 4] for i in range(0, 64, 4)), f"  {FP_COLONS}\n"],
)  # fmt: skip
def test_fingerprints_in_any_spacing_or_case(typed: str) -> None:
    assert normalise_fingerprint(typed) == FP_COLONS


@pytest.mark.parametrize("typed", [FP[:-2], FP + "AB", FP[:-1] + "G", "AB:CD"])
def test_bad_fingerprints_refused(typed: str) -> None:
    with pytest.raises(EnrolmentError, match="64 letters and digits"):
        normalise_fingerprint(typed)


def test_no_fingerprint_means_the_system_trust() -> None:
    assert normalise_fingerprint("  ") == ""


def test_a_request_is_checked_before_anything_is_sent() -> None:
    ok = enrolment.check_request(
        "peertrail.example", " ann ", "pw", fingerprint=FP.lower(), device_name="laptop"
    )
    assert ok.url == f"https://peertrail.example:{DEFAULT_PORT}" and ok.username == "ann"
    assert ok.fingerprint == FP_COLONS and ok.device_name == "laptop"
    for server, user, password in [("x.example", "a b", "pw"), ("x.example", "ann", "")]:
        with pytest.raises(EnrolmentError):
            enrolment.check_request(server, user, password)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with specialists_server(tmp_path_factory.mktemp("enrol-server"), "ann") as s:
        yield s


@pytest.fixture
def store(tmp_path):
    vault = Vault(tmp_path / "laptop")
    vault.create(PASSPHRASE, FAST_KDF)
    s = Store.open(vault)
    yield s
    s.close()


def test_enrol_against_the_real_server(server, store) -> None:
    spaced = server.fingerprint.replace(":", " ").lower()
    typed = enrolment.check_request(
        server.url + "/", "ann", DEFAULT_PASSWORD, fingerprint=spaced, device_name="lap"
    )
    done = enrolment.enroll(store, typed)
    assert done.username == "ann" and done.role == "specialist"
    saved = StoreReplica(store).server()
    assert saved["url"] == server.url and saved["fingerprint"] == server.fingerprint
    assert saved["token"] and store.user_id == done.user_id


def test_failures_change_nothing(server, store) -> None:
    cases = [
        (server.url, server.fingerprint, "not the password", "unauthorized"),
        (server.url, ":".join(["AB"] * 32), DEFAULT_PASSWORD, "tls"),
        ("https://127.0.0.1:1", server.fingerprint, DEFAULT_PASSWORD, "offline"),
    ]
    for url, pin, password, code in cases:
        with pytest.raises(EnrolmentError) as e:
            enrolment.enroll(store, enrolment.check_request(url, "ann", password, fingerprint=pin))
        assert e.value.code == code
        assert password not in str(e.value)
    assert StoreReplica(store).server() == {}
