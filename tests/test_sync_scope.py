"""Who sees and writes what, by role, through the real server engine (in process)."""

from __future__ import annotations

from datetime import date
from datetime import time

import pytest

from app.domain.records import Encounter
from app.domain.records import Goal
from app.domain.records import Participant
from app.domain.records import RecoveryDomain
from app.domain.records import Role
from app.domain.records import User
from tests.builders import add_encounter
from tests.builders import add_goal
from tests.server_buckets import check_buckets
from tests.sync_harness import World


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    w.add_user("u-sup", "sam", "supervisor")
    w.add_user("u-ann", "ann", "specialist", "u-sup")
    w.add_user("u-bill", "bea", "billing")
    for name, uid, role in (
        ("ann1", "u-ann", "specialist"),
        ("sup1", "u-sup", "supervisor"),
        ("bill1", "u-bill", "billing"),
    ):
        w.add_device(name, uid, role)
    yield w
    # whatever the test did, the pull by bucket sees what the visibility rule sees
    check_buckets(w.engine)
    w.close()


def _two_notes(w: World) -> tuple[Participant, Participant, Encounter, Encounter]:
    ann = w.devices["ann1"]
    me = User(id="u-ann", username="ann", display_name="Ann", role=Role.SPECIALIST)
    notes = []
    people = []
    for first in ("Abel", "Bryn"):
        p = ann.repos.participants.add(
            Participant(
                first_name=first, last_name="Scope", date_of_birth=date(1970, 2, 2),
                assigned_specialist_id="u-ann",
            )
        )  # fmt: skip
        g = add_goal(ann.repos, p, "x")
        at = (time(9), time(10))
        n = add_encounter(ann.repos, p, g, "u-ann", on=date(2026, 10, 1), at=at)
        ann.repos.encounters.sign(n.id, me)
        people.append(p)
        notes.append(n)
    w.settle(1)
    sup = w.devices["sup1"]
    boss = User(id="u-sup", username="sam", display_name="Sam", role=Role.SUPERVISOR)
    first = sup.repos.encounters.require(notes[0].id)
    sup.repos.encounters.approve(first.id, boss, first.content_hash)
    w.settle(2)
    return people[0], people[1], notes[0], notes[1]


def test_billing_sees_approved_services_only_and_marks_them_billed(world):
    p_ok, p_other, approved, signed = _two_notes(world)
    bill = world.devices["bill1"]
    assert bill.repos.encounters.get(approved.id) is not None
    assert bill.repos.participants.get(p_ok.id) is not None
    assert bill.repos.encounters.get(signed.id) is None  # not approved: not billing's
    assert bill.repos.participants.get(p_other.id) is None
    assert bill.repos.goals.list() == []  # no clinical detail beyond the claim

    bill.repos.encounters.mark_billed(approved.id, "batch-2026-10")
    req = world.request(bill)
    resp = world.serve(bill, req)
    assert resp.rejected == []
    bill.replica.apply_response(resp)
    world.settle(2)
    assert world.devices["ann1"].repos.encounters.require(approved.id).billing_batch_id == (
        "batch-2026-10"
    )

    # billing cannot touch the narrative
    with bill.store.transaction():
        bill.store.conn.execute(
            "UPDATE encounters SET intervention = 'changed' WHERE id = ?", (approved.id,)
        )
    resp = world.serve(bill, world.request(bill))
    assert [r.reason for r in resp.rejected] == ["this service has been billed and cannot change"]


def test_supervisor_writes_review_fields_but_not_the_caseload(world):
    p_ok, _p2, _approved, signed = _two_notes(world)
    sup = world.devices["sup1"]
    with sup.store.transaction():
        sup.store.conn.execute(
            "UPDATE participants SET first_name = 'Changed' WHERE id = ?", (p_ok.id,)
        )
        sup.store.conn.execute(
            "UPDATE encounters SET plan = 'sup rewrote it' WHERE id = ?", (signed.id,)
        )
    resp = world.serve(sup, world.request(sup))
    reasons = sorted(r.reason for r in resp.rejected)
    assert reasons == [
        "a supervisor does not edit notes",
        # only a merge's filling of empty fields (sync.merge) is a supervisor's
        "a supervisor only fills in a participant's empty fields when merging records",
    ]
    sup.replica.apply_response(resp)
    assert sup.repos.participants.require(p_ok.id).first_name == p_ok.first_name  # put back
    assert sup.repos.encounters.require(signed.id).plan == "p"


def test_a_participant_reassigned_away_and_back_returns_whole(world):
    ann = world.devices["ann1"]
    world.add_user("u-bob", "bob", "specialist", "u-sup")
    p = ann.repos.participants.add(
        Participant(
            first_name="Cyra", last_name="Roundtrip", date_of_birth=date(1981, 3, 3),
            assigned_specialist_id="u-ann",
        )
    )  # fmt: skip
    world.settle(1)

    def reassign(to: str) -> None:
        with world.engine.begin() as c:
            world.sync_engine.server_write(c, "participants", p.id, {"assigned_specialist_id": to})

    reassign("u-bob")
    world.sync(ann)
    assert ann.repos.participants.get(p.id) is None  # it left this laptop
    reassign("u-ann")
    world.sync(ann)
    back = ann.repos.participants.require(p.id)
    assert (back.first_name, back.last_name, back.date_of_birth) == (
        "Cyra", "Roundtrip", date(1981, 3, 3),
    )  # fmt: skip


def test_a_gained_participant_arrives_whole_with_edits_since_the_cursor(world):
    """Fields from before the new owner's cursor come as the gained record, fields
    written since come with the page: together, the whole record, each field once."""
    ann = world.devices["ann1"]
    world.add_user("u-bob", "bob", "specialist", "u-sup")
    bob = world.add_device("bob1", "u-bob", "specialist")
    world.settle(1)  # bob's cursor is past everything so far
    p = ann.repos.participants.add(
        Participant(
            first_name="Dara", last_name="Handover", date_of_birth=date(1979, 4, 4),
            county="Cass", assigned_specialist_id="u-ann",
        )
    )  # fmt: skip
    world.sync(ann)
    world.sync(bob)  # nothing of ann's for bob
    assert bob.repos.participants.get(p.id) is None
    ann.repos.participants.update(ann.repos.participants.require(p.id).replace(county="Ward"))
    world.sync(ann)  # an edit past bob's cursor...
    with world.engine.begin() as c:  # ...then the participant moves to bob
        world.sync_engine.server_write(c, "participants", p.id, {"assigned_specialist_id": "u-bob"})
    req = world.request(bob)
    resp = world.serve(bob, req)
    (rec,) = [r for r in resp.records if r.record_id == p.id]
    assert rec.fields["county"][0] == "Ward" and rec.fields["first_name"][0] == "Dara"
    assert rec.fields["assigned_specialist_id"][0] == "u-bob"
    bob.replica.apply_response(resp)
    got = bob.repos.participants.require(p.id)
    assert (got.first_name, got.county, got.date_of_birth) == ("Dara", "Ward", date(1979, 4, 4))


def test_a_record_cannot_be_moved_into_another_caseload(world):
    """Scope is judged once per record, on the record as the server holds it and on
    where the request moves it: moving one's goal to a participant in someone else's
    caseload is refused, field by field, and the server keeps the goal where it was."""
    from sync.hlc import Stamp
    from sync.protocol import PushChange

    ann = world.devices["ann1"]
    world.add_user("u-bob", "bob", "specialist", "u-sup")
    bob = world.add_device("bob1", "u-bob", "specialist")
    mine = ann.repos.participants.add(
        Participant(first_name="Eli", last_name="Stay", date_of_birth=date(1990, 1, 1),
                    assigned_specialist_id="u-ann")
    )  # fmt: skip
    theirs = bob.repos.participants.add(
        Participant(first_name="Fay", last_name="Other", date_of_birth=date(1991, 1, 1),
                    assigned_specialist_id="u-bob")
    )  # fmt: skip
    goal = ann.repos.goals.add(
        Goal(participant_id=mine.id, domain=RecoveryDomain.HOME, statement="Keep housing")
    )
    world.settle(1)
    stamps = dict(
        ann.store.conn.execute(
            "SELECT field, stamp FROM field_stamps WHERE record_id = ?", (goal.id,)
        ).fetchall()
    )
    wall = Stamp.parse(max(stamps.values())).wall_ms + 1
    moved = [
        PushChange(stamp=str(Stamp(wall, i, ann.replica.device_id)), table="goals",
                   record_id=goal.id, field=f, value=v, base=stamps.get(f))
        for i, (f, v) in enumerate((("participant_id", theirs.id), ("statement", "Moved")))
    ]  # fmt: skip
    resp = world.serve(ann, world.request(ann, changes=moved))
    assert {r.stamp: r.reason for r in resp.rejected} == {
        c.stamp: "not in your caseload" for c in moved
    }
    server = world.server_fields()[goal.id]
    assert server["participant_id"] == mine.id and server["statement"] == "Keep housing"
