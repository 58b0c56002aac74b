"""The sync server's HTTP API and admin commands, against the real server process
over real HTTPS (its self-signed certificate), on SQLite and on PostgreSQL.

Every malformed request is checked to leave the server's data exactly as it was.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import json
import os
import re
import ssl
import stat
import subprocess
import sys
import time
import uuid
import zlib

import pytest
import requests
from sqlalchemy import MetaData

from sync.protocol import MAX_BODY_BYTES
from sync.protocol import MAX_COMPRESSED_BYTES
from sync.protocol import PROTOCOL_VERSION
from sync.protocol import PushChange
from sync.protocol import SyncResponse
from sync.protocol import group_changes
from sync.server.api.bodies import SMALL_REPLY
from tests.server_proc import DEFAULT_PASSWORD
from tests.server_proc import ROOT
from tests.server_proc import ServerProc
from tests.server_proc import backend_url
from tests.server_proc import enroll_raw
from tests.server_proc import new_device_id
from tests.server_proc import start_server

SERVE = (sys.executable, "-m", "sync.server", "serve")
SECRET = "Quixmorvantle-Zephyrine"  # a value that must never appear in logs or errors


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory):
    url = backend_url(request.param)
    srv = start_server(tmp_path_factory.mktemp(request.param), database_url=url)
    try:
        srv.users = {  # type: ignore[attr-defined]
            "sue": srv.add_user("sue", "supervisor", display_name="Sue Visor"),
            "sam": srv.add_user("sam", "specialist", supervisor="sue"),
            "pat": srv.add_user("pat", "specialist"),
        }
        yield srv
    finally:
        srv.close()


class Device:
    """An enrolled device talking to the server with requests over HTTPS."""

    def __init__(self, srv: ServerProc, username: str = "sam") -> None:
        self.srv = srv
        self.id, self.token = srv.enroll(username)
        self.http = srv.session()
        self.counter = 0

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **extra}

    def stamp(self) -> str:
        self.counter += 1
        return f"{int(time.time() * 1000):012x}.{self.counter:04x}.{self.id}"

    def body(self, changes: list[dict] | None = None, **kw) -> dict:
        """A protocol-2 request body; ``changes`` (one dict per field) travel grouped."""
        if changes is not None:
            kw["records"] = group_changes([PushChange(**c) for c in changes])
        return {
            "protocol": PROTOCOL_VERSION,
            "device_id": self.id,
            "client_time_ms": int(time.time() * 1000),
            **kw,
        }

    def post(self, data: bytes | dict | None = None, **headers: str) -> requests.Response:
        if isinstance(data, dict):
            data = json.dumps(data).encode()
        h = self.headers(**headers)
        h.setdefault("Content-Type", "application/json")
        return self.http.post(f"{self.srv.url}/v1/sync", data=data, headers=h, timeout=60)

    def sync(self, **kw) -> dict:
        r = self.post(self.body(**kw))
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture
def device(server) -> Device:
    return Device(server)


def _error(r: requests.Response, status: int, code: str) -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error", "message", "detail"}
    assert body["error"] == code, body
    assert body["message"]
    return body


# -- health, enrollment, sync -------------------------------------------------------


def test_health(server):
    r = requests.get(f"{server.url}/v1/health", verify=server.verify, timeout=10)
    assert r.status_code == 200
    body = r.json()
    assert body["protocol"] == 2 and body["min_protocol"] == 2
    skew_ms = abs(body["server_time_ms"] - time.time() * 1000)
    assert skew_ms < 60_000  # the server reports its wall clock (not a timing check)
    assert int(r.headers["X-Server-Time-Ms"]) >= body["server_time_ms"] - 1000


def test_fingerprint_is_what_the_server_presents(server):
    assert server.url.startswith("https://127.0.0.1:")
    der = ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", server.port)))
    digest = hashlib.sha256(der).hexdigest().upper()
    assert server.fingerprint == ":".join(digest[i : i + 2] for i in range(0, 64, 2))
    for p in (server.cert_path, server.data_dir / "tls-key.pem"):
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(server.data_dir).st_mode) == 0o700
    with pytest.raises(requests.exceptions.SSLError):  # not trusted without the pin
        requests.get(f"{server.url}/v1/health", timeout=10)


def test_enroll_good_and_bad_password(server):
    ok = enroll_raw(server, "pat", DEFAULT_PASSWORD)
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["user_id"] == server.users["pat"]
    assert body["role"] == "specialist" and len(body["token"]) >= 40
    assert ok.headers.get("cache-control") == "no-store"
    wrong = enroll_raw(server, "pat", "not the password")
    unknown = enroll_raw(server, "nobody-here", "not the password")
    assert _error(wrong, 401, "unauthorized") == _error(unknown, 401, "unauthorized")
    # only the hash of the token is stored
    tokens = [r[3] for r in server.rows("devices")]
    assert hashlib.sha256(body["token"].encode()).hexdigest() in tokens
    assert body["token"] not in json.dumps(server.rows("devices"))


def test_reenroll_replaces_token_and_other_users_device_is_refused(server):
    device_id, first = server.enroll("pat")
    _, second = server.enroll("pat", device_id)
    assert first != second
    old = requests.post(
        f"{server.url}/v1/sync",
        json={"protocol": 2, "device_id": device_id, "client_time_ms": 1},
        headers={"Authorization": f"Bearer {first}"},
        verify=server.verify,
        timeout=30,
    )
    _error(old, 401, "unauthorized")
    _error(enroll_raw(server, "sam", DEFAULT_PASSWORD, device_id), 409, "device_taken")


def test_empty_sync(device):
    r = device.post(device.body(), **{"Accept-Encoding": "gzip"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"] == [] and body["rejected"] == []
    assert body["protocol"] == 2 and body["cursor"] >= 0 and body["more"] is False
    assert int(r.headers["X-Server-Time-Ms"]) == body["server_time_ms"]
    # users are global records: the server's `users add` reached this device
    names = {rec["fields"]["username"] for rec in body["records"] if rec["table"] == "users"}
    assert {"sue", "sam", "pat"} <= names
    assert r.headers.get("content-encoding") == "gzip"  # a few hundred bytes of users
    again = device.sync(cursor=body["cursor"])
    assert again["records"] == [] and again["cursor"] == body["cursor"]


def _accepted(body: dict, sent: list[dict]) -> list[str]:
    """What the server accepted: listed, or (accepted_all) all sent but the rejected."""
    if body.get("accepted_all"):
        refused = {r["stamp"] for r in body["rejected"]}
        return sorted(c["stamp"] for c in sent if c["stamp"] not in refused)
    return sorted(body["accepted"])


def _participant(device: Device, owner: str = "sam", first: str = "Ada") -> tuple[str, list]:
    """Changes that add a participant to ``owner``'s caseload."""
    pid = str(uuid.uuid4())
    fields = {
        "deleted": 0,
        "first_name": first,
        "last_name": "Lovelace",
        "assigned_specialist_id": device.srv.users[owner],
    }
    return pid, [
        {"stamp": device.stamp(), "table": "participants", "record_id": pid, "field": f, "value": v}
        for f, v in fields.items()
    ]


CODINGS = {"bzip2": lambda b: bz2.compress(b, 9), "gzip": gzip.compress, "deflate": zlib.compress}


@pytest.mark.parametrize("coding", sorted(CODINGS))
def test_push_compressed_request_is_accepted_and_idempotent(device, server, coding):
    _, changes = _participant(device, first=SECRET)
    raw = json.dumps(device.body(changes=changes)).encode()
    pack = CODINGS[coding]
    r = device.post(pack(raw), **{"Content-Encoding": coding})
    assert r.status_code == 200, r.text
    body = r.json()
    assert _accepted(body, changes) == sorted(c["stamp"] for c in changes)
    before = server.state_digest()
    replay = device.post(pack(raw), **{"Content-Encoding": coding})
    assert replay.status_code == 200
    assert _accepted(replay.json(), changes) == _accepted(body, changes)
    assert server.state_digest() == before
    # the request log knows who and how much, never what
    log = [r for r in server.rows("request_log") if r[2] == device.id]
    assert any(row[5] == "/v1/sync" and row[6] == 200 and row[7] == 4 for row in log)
    assert all(row[9] > 0 and row[10] > 0 for row in log if row[6] == 200)
    assert SECRET not in json.dumps(server.rows("request_log"))
    last_seen = {r[0]: r[5] for r in server.rows("devices")}
    assert last_seen[device.id]


def _pull(device: Device, accept: str, cursor: int = 0) -> tuple[str | None, bytes, bytes]:
    """(coding, bytes as sent, decoded body) of one pull with this Accept-Encoding."""
    r = device.http.post(
        f"{device.srv.url}/v1/sync",
        data=json.dumps(device.body(cursor=cursor)).encode(),
        headers=device.headers(**{"Accept-Encoding": accept}),
        timeout=60,
        stream=True,
    )
    assert r.status_code == 200, r.text
    assert r.headers["vary"] == "Accept-Encoding"
    coding = r.headers.get("content-encoding")
    sent = r.raw.read(decode_content=False)
    plain = {"bzip2": bz2.decompress, "gzip": gzip.decompress, None: bytes}[coding](sent)
    return coding, sent, plain


def test_reply_uses_the_best_coding_the_client_accepts(server):
    """gzip for a small reply (one coding tried, by size), bzip2 for a big one (what
    protocol-2 clients ask for), gzip or plain for clients that accept only those;
    the same answer whichever coding carried it."""
    sam = Device(server, "sam")
    changes = []
    for i in range(400):
        changes += _participant(sam, first=f"Bulk{i}")[1]
    pushed = sam.sync(changes=changes)
    assert len(_accepted(pushed, changes)) == len(changes)
    other = Device(server, "sam")
    answers = {}
    for accept, expected in (
        ("bzip2, gzip", "bzip2"),
        ("gzip", "gzip"),
        ("bzip2;q=0, gzip", "gzip"),
        ("identity", None),
    ):
        coding, sent, plain = _pull(other, accept)
        assert coding == expected, accept
        assert len(plain) > 64 * 1024
        answer = SyncResponse.model_validate_json(plain)
        answers[accept] = {r.record_id: r.fields for r in answer.records}
        if coding == "bzip2":
            assert len(sent) < len(gzip.compress(plain, 9))
    assert len({json.dumps(a, sort_keys=True) for a in answers.values()}) == 1
    assert len(answers["gzip"]) >= 400
    # a small reply: gzip, about as small as bzip2 at a fraction of its CPU
    few = [c for i in range(3) for c in _participant(other, first=f"Few{i}")[1]]
    other.sync(changes=few)
    coding, sent, plain = _pull(sam, "bzip2, gzip", cursor=pushed["cursor"])
    assert 512 < len(plain) <= SMALL_REPLY
    assert coding == "gzip" and len(sent) == len(gzip.compress(plain, 9))
    assert len(sent) <= 1.1 * len(bz2.compress(plain, 9))
    # a middling one (past SMALL_REPLY): bzip2, smaller than gzip
    more = [c for i in range(100) for c in _participant(other, first=f"More{i}")[1]]
    other.sync(changes=more)
    coding, sent, plain = _pull(sam, "bzip2, gzip", cursor=pushed["cursor"])
    assert SMALL_REPLY < len(plain) < 64 * 1024
    assert coding == "bzip2" and len(sent) == len(bz2.compress(plain, 9))
    assert len(sent) < len(gzip.compress(plain, 9))


# -- malformed requests: a clear 4xx and no change --------------------------------


def _bomb(coding: str = "gzip") -> bytes:
    huge = b" " * (MAX_BODY_BYTES * 8)
    return {"gzip": gzip.compress, "bzip2": bz2.compress, "deflate": zlib.compress}[coding](huge)


def _v1_body(d: Device) -> bytes:
    """What a protocol-1 client sends: one object per field, gzip."""
    change = {
        "stamp": d.stamp(),
        "table": "participants",
        "record_id": str(uuid.uuid4()),
        "field": "deleted",
        "value": 0,
    }
    body = {"protocol": 1, "device_id": d.id, "client_time_ms": 1, "changes": [change]}
    return gzip.compress(json.dumps(body).encode())


GZ = {"Content-Encoding": "gzip"}
BZ = {"Content-Encoding": "bzip2"}
MALFORMED = {
    "malformed_json": (lambda d: (b'{"protocol": 2, "device_id": ', {}), 400, "bad_json"),
    "not_an_object": (lambda d: (b"[1, 2, 3]", {}), 422, "invalid"),
    "wrong_types": (
        lambda d: (
            json.dumps(
                d.body(
                    cursor="soon",
                    records=[{"stamp": 7, "table": "participants", "fields": {"x": SECRET}}],
                )
            ).encode(),
            {},
        ),
        422,
        "invalid",
    ),
    "relative_first_stamp": (
        lambda d: (
            json.dumps(
                d.body(
                    records=[
                        {
                            "stamp": 7,
                            "table": "participants",
                            "record_id": "p-1",
                            "fields": {"first_name": SECRET},
                        }
                    ],
                )
            ).encode(),
            {},
        ),
        422,
        "invalid",
    ),
    "v1_per_field_changes": (
        lambda d: (
            json.dumps(
                d.body(changes=None)
                | {
                    "changes": [
                        {
                            "stamp": d.stamp(),
                            "table": "participants",
                            "record_id": "p-1",
                            "field": "first_name",
                            "value": SECRET,
                        }
                    ]
                }
            ).encode(),
            {},
        ),
        422,
        "invalid",
    ),
    "extra_field": (lambda d: (json.dumps(d.body(extra=1)).encode(), {}), 422, "invalid"),
    "old_protocol": (lambda d: (_v1_body(d), GZ), 426, "update_required"),
    "ancient_protocol": (
        lambda d: (json.dumps({**d.body(), "protocol": 0, "changes": "old"}).encode(), {}),
        426,
        "update_required",
    ),
    "newer_protocol": (
        lambda d: (json.dumps({**d.body(), "protocol": 99}).encode(), {}),
        400,
        "server_too_old",
    ),
    "oversized_body": (
        lambda d: (b'{"protocol": 2, "pad": "' + b"x" * MAX_BODY_BYTES + b'"}', {}),
        413,
        "too_large",
    ),
    "oversized_compressed": (
        lambda d: (os.urandom(MAX_COMPRESSED_BYTES + 1024), {"Content-Encoding": "gzip"}),
        413,
        "too_large",
    ),
    "oversized_compressed_bzip2": (
        lambda d: (os.urandom(MAX_COMPRESSED_BYTES + 1024), BZ),
        413,
        "too_large",
    ),
    "gzip_bomb": (lambda d: (_bomb(), {"Content-Encoding": "gzip"}), 413, "too_large"),
    "bzip2_bomb": (lambda d: (_bomb("bzip2"), BZ), 413, "too_large"),
    "deflate_bomb": (
        lambda d: (_bomb("deflate"), {"Content-Encoding": "deflate"}),
        413,
        "too_large",
    ),
    "bad_bzip2": (lambda d: (b"BZh9 not bzip2 at all", BZ), 400, "bad_request"),
    "gzip_sent_as_bzip2": (
        lambda d: (gzip.compress(json.dumps(d.body()).encode()), BZ),
        400,
        "bad_request",
    ),
    "cut_bzip2": (
        lambda d: (bz2.compress(json.dumps(d.body()).encode())[:-10], BZ),
        400,
        "bad_request",
    ),
    "bzip2_with_trailing_data": (
        lambda d: (bz2.compress(json.dumps(d.body()).encode()) + b"more", BZ),
        400,
        "bad_request",
    ),
    "bzip2_of_garbage_json": (
        lambda d: (bz2.compress(b"{not json" + SECRET.encode()), BZ),
        400,
        "bad_json",
    ),
    "bad_deflate": (
        lambda d: (b"x\x9c not deflate", {"Content-Encoding": "deflate"}),
        400,
        "bad_request",
    ),
    "bad_gzip": (
        lambda d: (b"\x1f\x8b not gzip", {"Content-Encoding": "gzip"}),
        400,
        "bad_request",
    ),
    "cut_gzip": (
        lambda d: (
            gzip.compress(json.dumps(d.body()).encode())[:-12],
            {"Content-Encoding": "gzip"},
        ),
        400,
        "bad_request",
    ),
    "unknown_encoding": (
        lambda d: (b"{}", {"Content-Encoding": "br"}),
        415,
        "unsupported_encoding",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_request_changes_nothing(server, device, case):
    make, status, code = MALFORMED[case]
    device.sync()  # something in the log and a known state
    before = server.state_digest()
    data, headers = make(device)
    r = device.post(data, **headers)
    body = _error(r, status, code)
    assert SECRET not in r.text
    assert server.state_digest() == before
    if case in ("old_protocol", "ancient_protocol"):
        assert "update" in body["message"].lower()
        assert r.headers["upgrade"] == "PeerTrail-Sync/2"
    if case == "wrong_types":
        where = {tuple(e["loc"]) for e in body["detail"]}
        assert ("cursor",) in where and ("records", 0, "record_id") in where
        assert all(set(e) == {"loc", "msg", "type"} for e in body["detail"])
    if case == "relative_first_stamp":
        assert "full stamp" in json.dumps(body["detail"])
    # the server still answers this device normally afterwards
    assert device.sync()["protocol"] == 2


def test_missing_or_invalid_token(server, device):
    before = server.state_digest()
    url = f"{server.url}/v1/sync"
    body = device.body()
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic eDp5"}):
        r = requests.post(url, json=body, headers=headers, verify=server.verify, timeout=30)
        _error(r, 401, "unauthorized")
        assert r.headers.get("www-authenticate") == "Bearer"
    assert server.state_digest() == before


def test_device_mismatch(server, device):
    other = Device(server, "sam")
    _, changes = _participant(device)
    before = server.state_digest()
    r = device.post({**other.body(changes=changes)})
    _error(r, 403, "device_mismatch")
    assert server.state_digest() == before


def test_revoked_device_gets_401_and_nothing(server):
    dev = Device(server, "pat")
    dev.sync()
    done = server.cli("devices", "revoke", dev.id)
    assert done.returncode == 0, done.stderr
    assert "Revoked" in done.stdout
    before = server.state_digest()
    _, changes = _participant(dev)
    r = dev.post(dev.body(changes=changes))
    body = _error(r, 401, "revoked")
    assert "records" not in r.text and body["detail"] is None
    assert server.state_digest() == before
    # revoking again is fine; enrolling the revoked id again is not
    again = server.cli("devices", "revoke", dev.id)
    assert again.returncode == 0 and "already revoked" in again.stdout
    _error(enroll_raw(server, "pat", DEFAULT_PASSWORD, dev.id), 403, "revoked")
    listed = server.cli("devices", "list")
    line = next(ln for ln in listed.stdout.splitlines() if ln.startswith(dev.id))
    assert "revoked" in line and "pat" in line


def test_rate_limit(server):
    dev = Device(server, "pat")
    statuses, retry = [], None
    for _ in range(16):
        r = dev.post(dev.body())
        statuses.append(r.status_code)
        if r.status_code == 429:
            body = _error(r, 429, "rate_limited")
            retry = int(r.headers["Retry-After"])
            assert "try again" in body["message"].lower()
            break
    assert statuses[0] == 200 and statuses[-1] == 429, statuses
    assert 1 <= retry <= 60
    assert statuses.count(200) >= 10  # the burst
    # the limit is per device: another device of the same user is not held up
    assert Device(server, "pat").sync()["protocol"] == 2


def test_errors_are_errorbody_everywhere(server):
    r = requests.get(f"{server.url}/nowhere", verify=server.verify, timeout=10)
    _error(r, 404, "not_found")
    r = requests.get(f"{server.url}/v1/sync", verify=server.verify, timeout=10)
    _error(r, 405, "method_not_allowed")
    r = requests.post(
        f"{server.url}/v1/enroll", json={"protocol": 1}, verify=server.verify, timeout=10
    )
    body = _error(r, 422, "invalid")
    assert {tuple(e["loc"]) for e in body["detail"]} >= {("username",), ("password",)}
    r = requests.post(
        f"{server.url}/v1/enroll", json={"protocol": 0}, verify=server.verify, timeout=10
    )
    assert "update" in _error(r, 426, "update_required")["message"].lower()


def test_request_log_has_rows_and_no_content(server, device):
    device.sync()
    rows = server.rows("request_log")
    assert len(rows) >= 5
    paths = {r[5] for r in rows}
    assert {"/v1/sync", "/v1/enroll"} <= paths
    statuses = {r[6] for r in rows}
    assert 200 in statuses and 401 in statuses
    for r in rows:
        assert r[1] and r[4] in ("GET", "POST", "DELETE", "PUT") and r[11] >= 0
    text = json.dumps(rows)
    assert SECRET not in text and DEFAULT_PASSWORD not in text and "Lovelace" not in text


def test_openapi(server):
    doc = requests.get(f"{server.url}/openapi.json", verify=server.verify, timeout=10).json()
    assert "/v1/sync" in doc["paths"] and "/v1/enroll" in doc["paths"]
    post = doc["paths"]["/v1/sync"]["post"]
    ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/SyncRequest"
    schemas = doc["components"]["schemas"]
    for name in ("SyncRequest", "SyncResponse", "PushRecord", "PulledRecord", "ErrorBody"):
        assert name in schemas, name
    assert "426" in post["responses"] and "413" in post["responses"]
    # every $ref points at a schema that is there (InviteEnrollRequest's once dangled)
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(doc)))
    assert "InviteEnrollRequest" in refs and refs <= set(schemas), refs - set(schemas)


# -- admin commands ------------------------------------------------------------------


def test_users_cli(server):
    listed = server.cli("users", "list")
    assert listed.returncode == 0
    sam = next(ln for ln in listed.stdout.splitlines() if ln.startswith("sam "))
    assert "specialist" in sam and "sue" in sam and server.users["sam"] in sam
    dup = server.cli("users", "add", "sam", "--role", "specialist", password=DEFAULT_PASSWORD)
    assert dup.returncode == 1 and "already exists" in dup.stderr
    nosup = server.cli(
        "users", "add", "kim", "--role", "specialist", "--supervisor", "ghost", password="x" * 12
    )
    assert nosup.returncode == 4 and "ghost" in nosup.stderr
    notsup = server.cli(
        "users", "add", "kim", "--role", "specialist", "--supervisor", "pat", password="x" * 12
    )
    assert notsup.returncode == 2 and "not a supervisor" in notsup.stderr
    badrole = server.cli("users", "add", "kim", "--role", "boss", password="x" * 12)
    assert badrole.returncode == 2
    nopass = server.cli("users", "add", "kim", "--role", "billing")
    assert nopass.returncode == 2 and "PEERTRAIL_USER_PASSWORD" in nopass.stderr
    short = server.cli("users", "add", "kim", "--role", "billing", password="short")
    assert short.returncode == 2
    assert "kim" not in server.cli("users", "list").stdout


def test_devices_cli(server, device):
    listed = server.cli("devices", "list")
    assert listed.returncode == 0 and device.id in listed.stdout
    missing = server.cli("devices", "revoke", "nosuchdevice")
    assert missing.returncode == 4 and "nosuchdevice" in missing.stderr


def test_participants_reassign(server):
    sam, pat = Device(server, "sam"), Device(server, "pat")
    pid, changes = _participant(sam)
    first = sam.sync(changes=changes)
    assert len(_accepted(first, changes)) == len(changes)
    pat_cursor = pat.sync()["cursor"]
    assert pid not in json.dumps(pat.sync(cursor=pat_cursor))

    unknown = server.cli("participants", "reassign", "no-such-participant", "--to", "pat")
    assert unknown.returncode == 4 and "no-such-participant" in unknown.stderr
    nobody = server.cli("participants", "reassign", pid, "--to", "ghost")
    assert nobody.returncode == 4
    moved = server.cli("participants", "reassign", pid, "--to", "pat")
    assert moved.returncode == 0, moved.stderr
    gained = pat.sync(cursor=pat_cursor)
    got = {r["record_id"]: r for r in gained["records"]}
    assert pid in got and got[pid]["fields"]["first_name"] == "Ada"
    assert got[pid]["fields"]["assigned_specialist_id"] == server.users["pat"]
    lost = sam.sync(cursor=first["cursor"])
    assert pid in lost["evict"]
    same = server.cli("participants", "reassign", pid, "--to", "pat")
    assert same.returncode == 0 and "already" in same.stdout


def test_restart_and_sigkill_keep_data(server):
    dev = Device(server, "pat")
    pid, changes = _participant(dev, owner="pat", first="Grace")
    pushed = dev.sync(changes=changes)
    assert len(_accepted(pushed, changes)) == 4, pushed
    digest = server.state_digest()
    port, fingerprint = server.port, server.fingerprint
    server.restart(hard=True)  # SIGKILL, then start again
    assert (server.port, server.fingerprint) == (port, fingerprint)
    assert server.state_digest() == digest
    server.restart()
    assert dev.sync()["protocol"] == 2  # the device's token survived
    # another laptop of the same specialist gets the participant, whole
    full = Device(server, "pat").sync()
    got = {r["record_id"]: r["fields"] for r in full["records"]}
    assert got[pid]["first_name"] == "Grace" and got[pid]["last_name"] == "Lovelace"
    # a stamp the server writes after the restarts sorts after everything before
    done = server.cli("participants", "reassign", pid, "--to", "sam")
    assert done.returncode == 0
    newest = max(r[4] for r in server.rows("field_state") if r[0] == pid)
    assert all(newest >= r[4] for r in server.rows("field_state"))


# -- command line guards -----------------------------------------------------------------


def test_insecure_http_refused_off_loopback(tmp_path):
    done = subprocess.run(
        [*SERVE, "--data-dir", str(tmp_path / "d"), "--host", "0.0.0.0", "--insecure-http"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "refusing plain HTTP" in done.stderr
    assert not (tmp_path / "d").exists()


def test_insecure_http_on_loopback(tmp_path):
    with start_server(tmp_path, extra_args=["--insecure-http"]) as srv:
        assert srv.url.startswith("http://127.0.0.1:") and srv.fingerprint is None
        r = requests.get(f"{srv.url}/v1/health", timeout=10)
        assert r.status_code == 200 and r.json()["protocol"] == 2


def test_serve_usage_errors(tmp_path):
    def serve(*args):
        return subprocess.run(
            [*SERVE, *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert serve("--port", "0").returncode == 2  # no data folder
    half = serve("--data-dir", str(tmp_path), "--tls-cert", str(tmp_path / "c.pem"))
    assert half.returncode == 2 and "--tls-key" in half.stderr
    bad_url = serve("--data-dir", str(tmp_path), "--database-url", "mysql://x/y")
    assert bad_url.returncode == 2 and "postgresql" in bad_url.stderr


# -- schema: the migration makes exactly tables.metadata ------------------------------------


def _expected_metadata() -> MetaData:
    from sync.server import tables

    return tables.metadata


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_matches_tables(tmp_path, backend):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect

    from sync.server import db
    from sync.server import tables

    url = backend_url(backend)
    engine = db.open_engine(tmp_path / "m", url)
    try:
        db.upgrade(engine)
        db.upgrade(engine)  # a second run does nothing
        assert db.current_revision(engine) == db.head_revision()
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(ctx, _expected_metadata()) == []
        names = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert names == set(tables.metadata.tables)
        with engine.begin() as conn:  # request_log numbers its rows on every backend
            for _ in range(2):
                conn.execute(
                    tables.request_log.insert().values(at="t", method="GET", path="/", status=200)
                )
            ids = [r[0] for r in conn.execute(tables.request_log.select())]
            assert len(set(ids)) == 2 and None not in ids
            seq = conn.execute(tables.counters.select()).all()
            assert [tuple(r) for r in seq] == [("seq", 0)]
    finally:
        engine.dispose()


def test_sqlite_database_files_are_private(tmp_path):
    from sync.server import db

    engine = db.open_engine(tmp_path / "p")
    try:
        db.upgrade(engine)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 0
        for p in (tmp_path / "p").iterdir():
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
        assert stat.S_IMODE((tmp_path / "p").stat().st_mode) == 0o700
    finally:
        engine.dispose()


def test_password_hash_format():
    from sync.server import auth

    stored = auth.hash_password("a long passphrase")
    assert stored.startswith("$argon2id$v=19$m=")
    assert auth.verify_password("a long passphrase", stored)
    assert not auth.verify_password("a long passphrasE", stored)
    assert not auth.verify_password("a long passphrase", stored.replace("m=", "m=1"))
    assert auth.hash_password("a long passphrase") != stored  # salted


# -- failures inside a sync ---------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:.*httpx")
def test_failure_inside_sync_rolls_back_and_answers_500(tmp_path):
    """In process (the fault is injected into the engine): a sync that fails after
    writing leaves nothing behind, answers a bare 500 ErrorBody and is logged."""
    from fastapi.testclient import TestClient

    from sync.server import auth
    from sync.server import db
    from sync.server.app import create_app
    from sync.server.engine import Caller
    from sync.server.engine import SyncEngine

    class Failing(SyncEngine):
        def push(self, conn, caller: Caller, req, now_ms: int):
            super().push(conn, caller, req, now_ms)  # writes, then fails
            raise RuntimeError(f"disk on fire near {SECRET}")

    engine = db.open_engine(tmp_path / "f")
    db.upgrade(engine)
    failing = Failing(db.server_clock(engine))
    with engine.begin() as conn:
        user = auth.create_user(conn, "sam", DEFAULT_PASSWORD, "specialist")
    client = TestClient(create_app(engine, failing))
    device_id = new_device_id()
    r = client.post(
        "/v1/enroll",
        json={
            "protocol": 1,
            "username": "sam",
            "password": DEFAULT_PASSWORD,
            "device_id": device_id,
        },
    )
    token = r.json()["token"]
    srv = ServerProc(tmp_path / "f")

    before = srv.state_digest()
    wall = int(time.time() * 1000)
    fields = {"deleted": 0, "assigned_specialist_id": user.id}
    changes = [
        {
            "stamp": f"{wall:012x}.{n:04x}.{device_id}",
            "table": "participants",
            "record_id": "p-1",
            "field": f,
            "value": v,
        }
        for n, (f, v) in enumerate(fields.items(), 1)
    ]
    records = group_changes([PushChange(**c) for c in changes])
    r = client.post(
        "/v1/sync",
        json={"protocol": 2, "device_id": device_id, "client_time_ms": 1, "records": records},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = _error(r, 500, "server_error")
    assert SECRET not in r.text and "fire" not in r.text and body["detail"] is None
    assert srv.state_digest() == before
    last = srv.rows("request_log")[-1]
    assert last[5] == "/v1/sync" and last[6] == 500 and last[2] == device_id
    seen = {d[0]: d[5] for d in srv.rows("devices")}
    assert seen[device_id] is None  # the failed sync did not count as a visit
    srv.close()
    engine.dispose()


def test_concurrent_syncs(server):
    """Twenty devices push and pull at once: every request succeeds, seq has no gaps."""
    from concurrent.futures import ThreadPoolExecutor

    devices = [Device(server, "pat") for _ in range(20)]

    def run(dev: Device) -> list[str]:
        _, changes = _participant(dev, owner="pat", first="Concurrent")
        return _accepted(dev.sync(changes=changes), changes)

    with ThreadPoolExecutor(20) as pool:
        accepted = list(pool.map(run, devices))
    assert all(len(a) == 4 for a in accepted)
    seqs = [r[0] for r in server.rows("changes")]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
