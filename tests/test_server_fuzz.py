"""Property-based fuzzing of the real server, driven by its own OpenAPI description.

The server runs as a real process on 127.0.0.1 (HTTPS, its self-signed
certificate trusted by path). Its ``/openapi.json`` is loaded into schemathesis,
which generates requests that fit the schema and requests that do not, for every
path and method, sent over real HTTP three ways: without a token, with a forged
token, and with a valid device token (then, half of the time, with the body's
device id and protocol set to the enrolled device's, so the push reaches the
sync engine instead of stopping at the device check).

For every answer: never a 5xx, and a 4xx changes nothing (a SHA-256 over every
row of the record-holding tables, read through the server's own database
helpers, is the same before and after). The numbers are printed at the end.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import Phase
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from schemathesis.generation.modes import GenerationMode

from sync import schema
from sync.protocol import PROTOCOL_VERSION
from sync.protocol import PushChange
from sync.protocol import group_changes
from tests.server_proc import start_server

EXAMPLES = 25  # per operation and token kind
SYNC_EXAMPLES = 150  # /v1/sync with a valid token: the engine behind it
_STAMPS = [0]
# What a refused request must not touch: the records, their history and who may see
# them, the people, devices, invites and audit anchors. (The request log, login
# failures and security events are logs: a refused sign-in is meant to be counted.)
STATE_TABLES = (
    "records",
    "changes",
    "field_state",
    "rejected",
    "assignments",
    "access_log",
    "counters",
    "digest_sums",
    "users",
    "devices",
    "invites",
    "audit_anchors",
)
TOKEN_KINDS = ("none", "forged", "valid")


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("fuzz"), extra_args=("--rate-limit", "0"))
    try:
        sam = srv.add_user("sam", "specialist")
        device_id, token = srv.enroll("sam")
        http = srv.session()
        seeded = _seed(srv, http, device_id, token, sam)
        doc = http.get(f"{srv.url}/openapi.json", timeout=30)
        assert doc.status_code == 200, doc.text
        api = schemathesis.openapi.from_dict(doc.json())
        yield srv, http, api, device_id, token, seeded
    finally:
        srv.close()


def _seed(srv, http, device_id: str, token: str, owner: str) -> str:
    """One participant in sam's caseload, so there are records a 4xx must not touch."""
    wall = int(time.time() * 1000)
    fields = {
        "deleted": 0,
        "first_name": "Orsolya",
        "last_name": "Fenwright",
        "assigned_specialist_id": owner,
    }
    pid = str(uuid.uuid4())
    changes = [
        PushChange(
            stamp=f"{wall:012x}.{i + 1:04x}.{device_id}",
            table="participants",
            record_id=pid,
            field=f,
            value=v,
        )
        for i, (f, v) in enumerate(fields.items())
    ]
    body = {
        "protocol": PROTOCOL_VERSION,
        "device_id": device_id,
        "cursor": 0,
        "client_time_ms": wall,
        "records": group_changes(changes),
    }
    r = http.post(
        f"{srv.url}/v1/sync", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    assert r.status_code == 200, r.text
    assert not r.json()["rejected"], r.text
    return pid


def _headers(kind: str, token: str) -> dict[str, str]:
    if kind == "valid":
        return {"Authorization": f"Bearer {token}"}
    if kind == "forged":
        return {"Authorization": "Bearer " + uuid.uuid4().hex * 2}
    return {}


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(0, 200),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.dates().map(str),
    st.sampled_from(["active", "signed", "draft", "hacked", "[1, 2]", "not-a-date", ""]),
)


def _records(device_id: str, seeded: str):
    """Records for real tables and fields with fuzzed values, stamped by this device:
    edits of the seeded participant (often valid, so they reach the engine) or records
    of any table under any id (often not)."""
    tables = sorted(schema.FIELDS)
    ids = st.one_of(
        st.just(seeded), st.uuids().map(str), st.from_regex(r"[A-Za-z0-9-]{1,64}", fullmatch=True)
    )
    fields = st.lists(st.tuples(st.integers(0, 200), VALUES), min_size=1, max_size=6)
    texts = [f.name for f in schema.SCHEMA["participants"] if f.kind == schema.TEXT]
    edit = st.builds(
        lambda name, value: {"table": "participants", "record_id": seeded, "fields": {name: value}},
        st.sampled_from(texts),
        st.one_of(st.text(max_size=60), st.text(max_size=60), VALUES),
    )
    anything = st.builds(_record, st.sampled_from(tables), ids, fields)
    valid_mostly = st.lists(edit, min_size=1, max_size=3)
    mixed = st.lists(st.one_of(edit, anything), max_size=3)
    return st.one_of(valid_mostly, mixed).map(
        lambda recs: [{**r, "stamp": _stamp(device_id, len(r["fields"]))} for r in recs]
    )


def _record(table: str, record_id: str, pairs) -> dict:
    names = sorted(schema.FIELDS[table])
    fields = {names[i % len(names)]: v for i, v in pairs}
    return {"table": table, "record_id": record_id, "fields": fields}


def _stamp(device_id: str, fields: int) -> str:
    """A fresh stamp of this device now; the record's later fields follow it."""
    _STAMPS[0] = (_STAMPS[0] + fields + 1) % 0xF000
    wall = int(time.time() * 1000)
    return f"{wall:012x}.{_STAMPS[0]:04x}.{device_id}"


def _deeper(body: dict, level: int, device_id: str, seeded: str, data) -> None:
    """Mend a generated body step by step, so that it gets past the version check (1),
    the device check (2) and the envelope's validation (3), where the fuzzed values of
    real tables and fields meet the per-field checks and the sync engine."""
    body["protocol"] = PROTOCOL_VERSION
    if level < 2:
        return
    body["device_id"] = device_id
    if level < 3:
        return
    body["client_time_ms"] = int(time.time() * 1000)
    body["cursor"] = data.draw(st.integers(0, 50))
    for name in ("audit", "replica", "want", "full", "check", "digests", "pull_limit"):
        body.pop(name, None)
    body["records"] = data.draw(_records(device_id, seeded))


def _fuzz_operation(fuzzed, operation, kind: str, tally: Counter) -> None:
    srv, http, _schema, device_id, token, seeded = fuzzed
    state = {"digest": srv.state_digest(STATE_TABLES)}
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=SYNC_EXAMPLES if (kind, operation.path) == ("valid", "/v1/sync") else EXAMPLES,
        deadline=None,
        database=None,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, level=st.sampled_from((3, 3, 2, 1, 0)), data=st.data())
    def check(case, level: int, data) -> None:
        if level and isinstance(case.body, dict):
            reach = level if (kind, operation.path) == ("valid", "/v1/sync") else 1
            _deeper(case.body, reach, device_id, seeded, data)
        response = case.call(
            base_url=srv.url,
            session=http,
            headers=_headers(kind, token),
            verify=srv.verify,  # the server's self-signed certificate, by path
            timeout=60,
        )
        status = response.status_code
        tally[f"{status // 100}xx"] += 1
        tally["requests"] += 1
        code = json.loads(response.text).get("error") if status >= 400 else ""
        tally[(case.path, kind, status, code)] += 1
        if status == 200 and case.path == "/v1/sync":
            answer = json.loads(response.text)
            sent = sum(len(r["fields"]) for r in case.body.get("records") or ())
            accepted = sent - len(answer["rejected"]) if answer["accepted_all"] else None
            tally["changes accepted"] += len(answer["accepted"]) if accepted is None else accepted
            tally["changes rejected"] += len(answer["rejected"])
        where = f"{case.method} {case.path} ({kind} token) -> {status}: {response.text[:500]}"
        assert status < 500, where
        after = srv.state_digest(STATE_TABLES)
        if 400 <= status < 500:
            assert after == state["digest"], "a refused request changed state: " + where
        elif after != state["digest"]:
            tally["2xx that changed state"] += 1
        state["digest"] = after

    check()


def test_openapi_fuzz_no_5xx_and_no_state_change_on_4xx(fuzzed):
    api = fuzzed[2]
    operations = [result.ok() for result in api.get_all_operations()]
    assert {(op.method.upper(), op.path) for op in operations} >= {
        ("POST", "/v1/sync"),
        ("POST", "/v1/enroll"),
        ("POST", "/v1/enroll/invite"),
        ("GET", "/v1/health"),
    }
    tally: Counter = Counter()
    started = time.monotonic()
    for operation in operations:
        for kind in TOKEN_KINDS:
            _fuzz_operation(fuzzed, operation, kind, tally)
    took = time.monotonic() - started
    print(
        f"\nfuzzed {len(operations)} operations x {len(TOKEN_KINDS)} token kinds: "
        f"{tally['requests']} requests, 2xx {tally['2xx']}, 4xx {tally['4xx']}, "
        f"5xx {tally['5xx']}, in {took:.1f} s; pushed changes accepted "
        f"{tally['changes accepted']}, rejected one by one {tally['changes rejected']}; "
        f"2xx that changed state {tally['2xx that changed state']}"
    )
    for (path, kind, status, code), n in sorted(
        k for k in tally.items() if isinstance(k[0], tuple)
    ):
        print(f"  {path} {kind} token: {status} {code} x{n}")
    assert tally["5xx"] == 0
    assert tally["4xx"] > 0 and tally["2xx"] > 0  # both sides of the boundary were reached
    # the digest sees what a request stores: accepted changes showed in it
    assert tally["2xx that changed state"] > 0 or tally["changes accepted"] == 0
