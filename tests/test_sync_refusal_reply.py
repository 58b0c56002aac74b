"""The reply to a push with a refused change carries the server's value of the
refused field only, not the whole record the device already has (issue 18); the
device still puts the field back. Through the real server engine and real vaults
(tests/sync_harness.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.domain.records import Participant
from tests.sync_harness import World

ANN, BOB, SAM = "spec-1", "spec-2", "sup-1"


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    w.add_user(SAM, "sam", "supervisor")
    w.add_user(ANN, "ann", "specialist", SAM)
    w.add_user(BOB, "bob", "specialist", SAM)
    w.add_device("a1", ANN, "specialist")
    yield w
    w.close()


def test_a_refused_field_comes_back_alone(world) -> None:
    a1 = world.devices["a1"]
    p = a1.repos.participants.add(
        Participant(
            first_name="Tamsin",
            last_name="Ashdown",
            county="Cass",
            phone="701-555-0101",
            assigned_specialist_id=ANN,
        )
    )
    world.sync(a1)
    assert a1.replica.pending_count() == 0
    # A specialist may move the county, not hand the participant to somebody else.
    current = a1.repos.participants.require(p.id)
    a1.repos.participants.update(replace(current, county="Ward", assigned_specialist_id=BOB))
    req = world.request(a1)
    resp = world.serve(a1, req)
    assert [r.reason for r in resp.rejected] and len(resp.rejected) == 1
    back = [r for r in resp.records if r.record_id == p.id]
    assert len(back) == 1
    assert set(back[0].fields) == {"assigned_specialist_id"}  # not first_name, phone, ...
    assert back[0].fields["assigned_specialist_id"][0] == ANN
    a1.replica.apply_response(resp)
    after = a1.repos.participants.require(p.id)
    assert after.assigned_specialist_id == ANN and after.county == "Ward"
    assert world.server_fields()[p.id]["county"] == "Ward"
