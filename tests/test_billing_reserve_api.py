"""POST /v1/billing/reserve against hostile clients: raw HTTP to the real server
process on 127.0.0.1. Every refusal is a 4xx with a plain message, and nothing of a
refused request is stored (the reservation table stays as it was)."""

from __future__ import annotations

import json

import pytest
import requests

from sync.protocol import MAX_RESERVE_BATCHES
from sync.protocol import MAX_RESERVE_SERVICES
from tests.server_proc import start_server
from tests.test_billing_double import server  # noqa: F401 - fixtures
from tests.test_billing_double import team  # noqa: F401 - fixtures
from tests.test_sync_e2e import FAST_SERVER

PATH = "/v1/billing/reserve"


@pytest.fixture
def bare(tmp_path):
    s = start_server(tmp_path, extra_args=FAST_SERVER)
    s.add_user("sam", "supervisor")
    s.add_user("ann", "specialist", supervisor="sam")
    s.add_user("bill1", "billing")
    yield s
    s.close()


def _post(srv, token: str | None, body, raw: bytes | None = None) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else json.dumps(body).encode()
    with srv.session() as s:
        return s.post(srv.url + PATH, data=data, headers=headers, timeout=60)


def _refused(r: requests.Response, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, (r.status_code, r.text[:500])
    body = r.json()
    assert body["message"] and len(body["message"]) < 600
    if code:
        assert body["error"] == code
    return body


def _body(device: str, batches: list[dict], release: list[str] | None = None) -> dict:
    return {"protocol": 2, "device_id": device, "batches": batches, "release": release or []}


def _batch(bid: str, control: str, ids: list[str]) -> dict:
    return {"batch_id": bid, "control": control, "payer_id": "", "encounter_ids": ids}


def test_hostile_requests_are_refused_and_store_nothing(bare):
    dev, token = bare.enroll("bill1")
    ann_dev, ann_token = bare.enroll("ann")
    good = _batch("b-1", "000100001", ["e-1", "e-2"])
    # who: no token, a made-up token, a specialist
    _refused(_post(bare, None, _body(dev, [good])), 401)
    _refused(_post(bare, "not-a-token", _body(dev, [good])), 401)
    _refused(_post(bare, ann_token, _body(ann_dev, [good])), 403, "forbidden")
    # another device's id with this device's token
    _refused(_post(bare, token, _body(ann_dev, [good])), 403, "device_mismatch")
    # malformed bodies
    _refused(_post(bare, token, None, raw=b"{not json"), 400)
    _refused(_post(bare, token, None, raw=b"[1, 2]"), 422)
    _refused(_post(bare, token, {"protocol": 2, "device_id": dev, "batches": "x"}), 422)
    _refused(_post(bare, token, _body(dev, [_batch("b-1", "12", ["e-1"])])), 422)
    _refused(_post(bare, token, _body(dev, [_batch("b-1", "000000000", ["e-1"])])), 422)
    _refused(_post(bare, token, _body(dev, [_batch("b 1", "000100001", ["e-1"])])), 422)
    _refused(_post(bare, token, _body(dev, [_batch("b-1", "000100001", ["e;1"])])), 422)
    _refused(_post(bare, token, _body(dev, [_batch("b-1", "000100001", [])])), 422)
    _refused(_post(bare, token, {**_body(dev, [good]), "extra": 1}), 422)
    _refused(_post(bare, token, {**_body(dev, [good]), "protocol": 1}), 426)
    twice = [good, _batch("b-2", "000100002", ["e-2"])]
    assert "twice" in _refused(_post(bare, token, _body(dev, twice)), 422)["message"]
    same_ctrl = [good, _batch("b-2", "000100001", ["e-3"])]
    _refused(_post(bare, token, _body(dev, same_ctrl)), 422)
    both = _body(dev, [good], release=["b-1"])
    _refused(_post(bare, token, both), 422)
    # huge lists: a clear 4xx, never a 500
    huge = _batch("b-1", "000100001", [f"e-{i}" for i in range(MAX_RESERVE_SERVICES + 1)])
    _refused(_post(bare, token, _body(dev, [huge])), 422)
    many = [
        _batch(f"b-{i}", f"{100001 + i:09d}", [f"e-{i}"]) for i in range(MAX_RESERVE_BATCHES + 1)
    ]
    _refused(_post(bare, token, _body(dev, many)), 422)
    split = [
        _batch(
            f"b-{i}",
            f"{100001 + i:09d}",
            [f"e-{i}-{j}" for j in range(MAX_RESERVE_SERVICES // 2 + 1)],
        )
        for i in range(2)
    ]
    r = _post(bare, token, _body(dev, split))
    assert r.status_code in (413, 422), r.status_code
    # services the server does not hold as approved notes
    assert (
        "sync"
        in _refused(_post(bare, token, _body(dev, [good])), 409, "not_billable")["message"].lower()
    )
    assert bare.rows("billing_reservations") == []
    # a revoked device is told so
    done = bare.cli("devices", "revoke", dev)
    assert done.returncode == 0, done.stderr
    _refused(_post(bare, token, _body(dev, [good])), 401, "revoked")
    assert bare.rows("billing_reservations") == []


def test_another_devices_batch_and_double_reservations(server, team):  # noqa: F811
    b1, b2, ann = team["bill1"], team["bill2"], team["ann"]
    ids = [n.id for n in team["notes"]]
    t1, t2 = b1.replica.server()["token"], b2.replica.server()["token"]
    d1, d2 = b1.replica.device_id, b2.replica.device_id
    mine = _batch("batch-one", "000100001", ids)
    ok = _post(server, t1, _body(d1, [mine]))
    assert ok.status_code == 200 and ok.json()["reserved"] == len(ids)
    assert ok.json()["billing_number"] == b1.replica.billing_number
    again = _post(server, t1, _body(d1, [mine]))  # a retry after a lost reply: the same
    assert again.status_code == 200
    before = server.rows("billing_reservations")
    assert {r[0] for r in before} == set(ids)
    # another device using that batch id, or releasing it
    _refused(_post(server, t2, _body(d2, [_batch("batch-one", "000200001", ids[:1])])), 403)
    _refused(_post(server, t2, _body(d2, [], release=["batch-one"])), 403)
    # another batch for the same services: named, with who and when
    body = _refused(
        _post(server, t2, _body(d2, [_batch("batch-two", "000200001", ids)])), 409, "already_billed"
    )
    assert "000100001" in body["message"] and "bill1" in body["message"]
    assert {d["batch_id"] for d in body["detail"]} == {"batch-one"}
    assert {d["encounter_id"] for d in body["detail"]} == set(ids)
    # another batch's control number
    _refused(_post(server, t2, _body(d2, [_batch("batch-three", "000100001", ids[:1])])), 409)
    # a specialist, even with real ids
    ann_token = ann.replica.server()["token"]
    _refused(_post(server, ann_token, _body(ann.replica.device_id, [mine])), 403)
    assert server.rows("billing_reservations") == before
    # the owner releases it; then the other device may reserve
    rel = _post(server, t1, _body(d1, [], release=["batch-one"]))
    assert rel.status_code == 200 and rel.json()["released"] == len(ids)
    assert _post(server, t2, _body(d2, [_batch("batch-two", "000200001", ids)])).status_code == 200
    events = [r for r in server.rows("security_events") if r[2].startswith("billing_")]
    assert {e[2] for e in events} >= {"billing_reserve", "billing_refused"}
