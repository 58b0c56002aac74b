"""The wire format (protocol 2): grouped by record, stamps implied where they follow
each other, compact on the wire and identical after a round trip."""

from __future__ import annotations

import bz2
import dataclasses
import gzip
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from sync.hlc import Stamp
from sync.protocol import MAX_PUSH_CHANGES
from sync.protocol import PROTOCOL_VERSION
from sync.protocol import PUSH_CHANGES_ACCEPTED
from sync.protocol import PulledRecord
from sync.protocol import PushChange
from sync.protocol import SyncRequest
from sync.protocol import SyncResponse
from sync.protocol import acknowledged
from sync.protocol import dumps

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
    record_id=st.sampled_from(["r1", "r2", "r3"]),  # few ids: runs of one record
    field=st.sampled_from(["county", "statement", "deleted"]),
    value=VALUES,
    base=st.one_of(st.none(), STAMPS),
)
W = 1_700_000_000_000


def _req(changes, **kw) -> SyncRequest:
    return SyncRequest(protocol=PROTOCOL_VERSION, device_id="aaaaaaaa", changes=changes,
                       client_time_ms=1, **kw)  # fmt: skip


def _change(wall: int, counter: int, field: str, record: str = "r1", **kw) -> PushChange:
    value = kw.pop("value", field)
    stamp = str(Stamp(wall, counter, "aaaaaaaa"))
    return PushChange(stamp=stamp, table="goals", record_id=record, field=field, value=value, **kw)


@given(st.lists(CHANGES, max_size=40))
def test_request_round_trips_change_for_change(changes):
    req = _req(changes)
    back = SyncRequest.model_validate_json(dumps(req))
    assert back == req
    assert back.changes == changes  # same stamps, values, bases, in the same order


@given(st.lists(st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), st.tuples(VALUES, STAMPS))))
def test_response_round_trips(field_sets):
    recs = [
        PulledRecord(table="goals", record_id=f"r{i}", fields=f) for i, f in enumerate(field_sets)
    ]
    resp = SyncResponse(protocol=PROTOCOL_VERSION, server_time_ms=5, records=recs, cursor=3)
    assert SyncResponse.model_validate_json(dumps(resp)) == resp


def test_worked_example_on_the_wire():
    """docs/SYNC.md's example: one record, stamps implied, a wall-clock tick, a base."""
    changes = [
        _change(W, 7, "deleted", value=0),
        _change(W, 8, "statement", value="Keep my apartment"),
        _change(W + 1, 0, "status", value="active"),
        _change(W + 1, 1, "domain", value="housing", base=str(Stamp(W - 5, 0, "bbbbbbbb"))),
        _change(W + 1, 2, "county", record="r2", value="Cass"),
        _change(W + 1, 9, "deleted", record="r2", value=0),
    ]
    wire = json.loads(dumps(_req(changes)))
    assert wire["protocol"] == 2 and "changes" not in wire
    assert wire["records"] == [
        {
            "table": "goals",
            "record_id": "r1",
            "stamp": "018bcfe56800.0007.aaaaaaaa",
            "fields": {"deleted": 0, "statement": "Keep my apartment", "status": "active",
                       "domain": "housing"},
            "stamps": {"status": [1, 0]},  # 1 ms later, counter 0; the others are implied
            "bases": {"domain": "018bcfe567fb.0000.bbbbbbbb"},
        },
        {
            "table": "goals",
            "record_id": "r2",  # its first stamp follows r1's last: implied
            "fields": {"county": "Cass", "deleted": 0},
            "stamps": {"deleted": 9},  # same millisecond, counter 9
        },
    ]  # fmt: skip
    assert SyncRequest.model_validate(wire).changes == changes


def test_a_field_written_twice_starts_a_new_record_entry():
    changes = [_change(W, 1, "status", value="a"), _change(W, 2, "status", value="b")]
    wire = json.loads(dumps(_req(changes)))
    assert [r["fields"] for r in wire["records"]] == [{"status": "a"}, {"status": "b"}]
    assert SyncRequest.model_validate(wire).changes == changes


def test_pulled_fields_travel_in_stamp_order_with_implied_stamps():
    rec = PulledRecord(
        table="goals",
        record_id="r1",
        fields={
            "status": ("active", str(Stamp(W, 3, "aaaaaaaa"))),
            "deleted": (0, str(Stamp(W, 2, "aaaaaaaa"))),
            "domain": ("housing", str(Stamp(W, 9, "bbbbbbbb"))),
        },
    )
    resp = SyncResponse(protocol=PROTOCOL_VERSION, server_time_ms=1, records=[rec], cursor=1)
    (wire,) = json.loads(dumps(resp))["records"]
    assert list(wire["fields"]) == ["deleted", "status", "domain"]
    assert wire["stamp"] == str(Stamp(W, 2, "aaaaaaaa"))
    assert wire["stamps"] == {"domain": str(Stamp(W, 9, "bbbbbbbb"))}  # another device: full
    assert SyncResponse.model_validate(json.loads(dumps(resp))) == resp


def _wire(*records, **kw) -> dict:
    return {"protocol": PROTOCOL_VERSION, "device_id": "aaaaaaaa", "client_time_ms": 1,
            "records": list(records), **kw}  # fmt: skip


GOOD = {"table": "goals", "record_id": "r", "stamp": "018bcfe56800.0007.aaaaaaaa",
        "fields": {"deleted": 0}}  # fmt: skip
BAD_RECORDS = {
    "relative_first_stamp": {**GOOD, "stamp": 5},
    "implied_first_stamp": {k: v for k, v in GOOD.items() if k != "stamp"},
    "counter_too_big": {**GOOD, "fields": {"deleted": 0, "x": 1}, "stamps": {"x": 0x10000}},
    "counter_is_bool": {**GOOD, "fields": {"deleted": 0, "x": 1}, "stamps": {"x": True}},
    "counter_as_text": {**GOOD, "fields": {"deleted": 0, "x": 1}, "stamps": {"x": "5"}},
    "wall_step_zero": {**GOOD, "fields": {"deleted": 0, "x": 1}, "stamps": {"x": [0, 1]}},
    "wall_step_negative": {**GOOD, "fields": {"deleted": 0, "x": 1}, "stamps": {"x": [-3, 1]}},
    "wall_step_past_the_end": {
        **GOOD, "stamp": "ffffffffffff.0000.aaaaaaaa", "fields": {"deleted": 0, "x": 1},
        "stamps": {"x": [1, 0]},
    },
    "implied_counter_past_the_end": {
        **GOOD, "stamp": "018bcfe56800.ffff.aaaaaaaa", "fields": {"deleted": 0, "x": 1},
    },
    "bad_full_stamp": {**GOOD, "stamp": "not-a-stamp"},
    "no_fields": {**GOOD, "fields": {}},
    "bad_field_name": {**GOOD, "fields": {"Drop Table": 1}},
    "list_value": {**GOOD, "fields": {"deleted": [1, 2]}},
    "bad_base": {**GOOD, "bases": {"deleted": "yesterday"}},
    "unknown_key": {**GOOD, "seq": 4},
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_RECORDS))
def test_malformed_records_are_refused(case):
    with pytest.raises(ValidationError):
        SyncRequest.model_validate(_wire(BAD_RECORDS[case]))


def _hundreds(n: int) -> list[dict]:
    """``n`` records of 100 fields each."""
    fields = {f"f{i}": i for i in range(100)}
    return [{**GOOD, "record_id": f"r{k}", "stamp": str(Stamp(W + k, 0, "aaaaaaaa")),
             "fields": fields} for k in range(n)]  # fmt: skip


def test_too_many_changes_in_one_request():
    records = _hundreds(PUSH_CHANGES_ACCEPTED // 100 + 1)
    with pytest.raises(ValidationError, match="at most"):
        SyncRequest.model_validate(_wire(*records))


def test_a_request_may_carry_a_tail_past_the_planned_size():
    """The server takes a planned request (MAX_PUSH_CHANGES, what every protocol-2
    server takes) and a tail of a quarter of it, and says so in X-Push-Limit."""
    assert PUSH_CHANGES_ACCEPTED == MAX_PUSH_CHANGES + MAX_PUSH_CHANGES // 4
    req = SyncRequest.model_validate(_wire(*_hundreds(PUSH_CHANGES_ACCEPTED // 100)))
    assert len(req.changes) == PUSH_CHANGES_ACCEPTED


def test_a_bad_stamp_cannot_be_sent():
    with pytest.raises(ValidationError):
        _req([PushChange(stamp="0001.0001.aaaaaaaa", table="goals", record_id="r", field="x")])


def test_grouped_form_is_far_smaller_than_one_object_per_field():
    """The reason for protocol 2: 200 records of 15 fields, written in one go."""
    changes = [
        _change(W + (n * 15 + i) // 40, (n * 15 + i) % 40, f"field_{i}", record=f"rec-{n:04d}",
                value=f"value {n % 7} {i}")
        for n in range(200) for i in range(15)
    ]  # fmt: skip
    per_field = json.dumps([dataclasses.asdict(c) for c in changes]).encode()
    grouped = dumps(_req(changes))
    assert len(grouped) < len(per_field) / 3
    assert len(bz2.compress(grouped, 9)) < len(gzip.compress(per_field, 9)) / 2


def test_accepted_is_not_echoed_back():
    sent = [_change(W, i, "statement", record=f"r{i}", value=str(i)) for i in range(3)]
    resp = SyncResponse(
        protocol=PROTOCOL_VERSION, server_time_ms=1, accepted=[c.stamp for c in sent[:2]],
        accepted_all=True, rejected=[{"stamp": sent[2].stamp, "reason": "no"}], cursor=1,
    )  # fmt: skip
    wire = json.loads(dumps(resp))
    assert wire["accepted"] == [] and wire["accepted_all"] is True
    back = acknowledged(SyncResponse.model_validate(wire), sent)
    assert back.accepted == [sent[0].stamp, sent[1].stamp]


@given(st.lists(CHANGES, max_size=20))
def test_the_clients_shortcut_makes_the_same_wire_form(changes):
    """SyncClient builds the JSON straight from its changes (no model): the same bytes."""
    req = _req(changes, cursor=4, pull_limit=50)
    quick = SyncRequest.wire_of(
        device_id="aaaaaaaa", cursor=4, changes=changes, pull_limit=50, client_time_ms=1
    )
    assert json.dumps(quick, sort_keys=True) == json.dumps(req.wire(), sort_keys=True)
    assert SyncRequest.model_validate(quick).changes == changes
