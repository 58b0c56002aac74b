"""The wire format: compact on the wire, identical after a round trip."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from sync.hlc import Stamp
from sync.protocol import (
    PulledRecord,
    PushChange,
    SyncRequest,
    SyncResponse,
    acknowledged,
    dumps,
)

DEVICES = st.sampled_from(["aaaaaaaa", "bbbbbbbb", "cccc2345"])
STAMPS = st.builds(
    lambda w, c, d: str(Stamp(w, c, d)),
    st.integers(1_700_000_000_000, 1_700_000_000_005),
    st.integers(0, 0xFFFF),
    DEVICES,
)
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=8))
CHANGES = st.builds(
    PushChange,
    stamp=STAMPS,
    table=st.sampled_from(["participants", "goals"]),
    record_id=st.uuids().map(str),
    field=st.sampled_from(["county", "statement", "deleted"]),
    value=VALUES,
    base=st.one_of(st.none(), STAMPS),
)


@given(st.lists(CHANGES, max_size=30))
def test_request_round_trips(changes):
    req = SyncRequest(protocol=1, device_id="aaaaaaaa", changes=changes, client_time_ms=1)
    assert SyncRequest.model_validate_json(dumps(req)) == req


@given(st.lists(st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), st.tuples(VALUES, STAMPS))))
def test_response_round_trips(field_sets):
    recs = [
        PulledRecord(table="goals", record_id=f"r{i}", fields=f) for i, f in enumerate(field_sets)
    ]
    resp = SyncResponse(protocol=1, server_time_ms=5, accepted=[], records=recs, cursor=3)
    assert SyncResponse.model_validate_json(dumps(resp)) == resp


def test_stamps_of_one_transaction_travel_as_counters():
    base = Stamp(1_700_000_000_000, 7, "aaaaaaaa")
    changes = [
        PushChange(stamp=str(Stamp(base.wall_ms, 7 + i, "aaaaaaaa")), table="goals",
                   record_id="r1", field=f, value=i)
        for i, f in enumerate(["deleted", "statement", "status"])
    ]  # fmt: skip
    wire = json.loads(dumps(SyncRequest(protocol=1, device_id="aaaaaaaa", changes=changes,
                                        client_time_ms=1)))  # fmt: skip
    assert [c["stamp"] for c in wire["changes"]] == [str(base), 8, 9]
    assert "base" not in wire["changes"][0]


def test_a_relative_stamp_needs_a_full_one_before_it():
    bad = {"protocol": 1, "device_id": "aaaaaaaa", "client_time_ms": 1,
           "changes": [{"stamp": 5, "table": "goals", "record_id": "r", "field": "x"}]}  # fmt: skip
    with pytest.raises(ValidationError):
        SyncRequest.model_validate(bad)


def test_accepted_is_not_echoed_back():
    sent = [
        PushChange(stamp=str(Stamp(1_700_000_000_000, i, "aaaaaaaa")), table="goals",
                   record_id="r", field="statement", value=str(i))
        for i in range(3)
    ]  # fmt: skip
    resp = SyncResponse(
        protocol=1, server_time_ms=1, accepted=[c.stamp for c in sent[:2]], accepted_all=True,
        rejected=[{"stamp": sent[2].stamp, "reason": "no"}], cursor=1,
    )  # fmt: skip
    wire = json.loads(dumps(resp))
    assert wire["accepted"] == [] and wire["accepted_all"] is True
    back = acknowledged(SyncResponse.model_validate(wire), sent)
    assert back.accepted == [sent[0].stamp, sent[1].stamp]
