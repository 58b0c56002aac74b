"""Decisions carry the content they were made on, through the real server engine and
real vaults (the in-process harness of tests/sync_harness.py): a signature that
arrives after the note changed is refused whole and comes back to the signer as a
conflict; the content hash the server computes is the app's; and an edit and a
delete end the same whatever order they reach the server in. The same pairs over
real HTTP are in tests/test_sync_pairs.py."""

from __future__ import annotations

import json
from datetime import time

import pytest

from app.domain import lifecycle
from app.domain.records import Encounter
from app.domain.records import Modality
from app.domain.records import NoteStatus
from app.domain.records import ServiceSetting
from app.store.digest import state_digest
from app.store.signatures import signature_problems
from sync import content
from sync import merge
from tests.sync_harness import ANN
from tests.sync_harness import SAM
from tests.sync_harness import World
from tests.sync_harness import note_for


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    w.add_user(SAM.id, "sam", "supervisor")
    w.add_user(ANN.id, "ann", "specialist", SAM.id)
    w.add_device("a1", ANN.id, "specialist")
    w.add_device("a2", ANN.id, "specialist")
    w.add_device("s1", SAM.id, "supervisor")
    yield w
    w.close()


def _draft(w: World) -> Encounter:
    a1 = w.devices["a1"]
    n = note_for(
        a1,
        "Orla",
        "Fenwick",
        ANN.id,
        end_time=time(9, 45),
        modifiers=("HQ",),
        setting=ServiceSetting.GROUP,
        group_size=3,
        modality=Modality.AUDIO,
        intervention="Walked through the lease",
    )
    w.settle(2)
    return n


def _conflicts(d, note_id):
    return sorted(
        d.store.conn.execute(
            "SELECT field, kind, kept_value, lost_value, lost_by_id FROM conflicts "
            "WHERE target_id = ? AND deleted = 0",
            (note_id,),
        ).fetchall()
    )


def test_the_server_hashes_a_note_as_the_app_does(world):
    n = _draft(world)
    a1 = world.devices["a1"]
    signed = a1.repos.encounters.sign(n.id, ANN)
    world.settle(2)
    held = world.server_fields()[n.id]
    assert content.stored_content_hash(held) == signed.content_hash == held["content_hash"]
    assert lifecycle.content_hash(signed) == signed.content_hash
    row = a1.store.conn.execute("SELECT * FROM encounters WHERE id = ?", (n.id,))
    names = [c[0] for c in row.description]
    stored = dict(zip(names, row.fetchone(), strict=True))
    assert content.stored_content_hash(stored) == signed.content_hash
    # a field at its default is left out of a new record: the server fills it in
    assert "location_note" not in held
    assert content.hash_problem(held) is None


@pytest.mark.parametrize("first", ["edit", "sign"])
def test_a_signature_races_an_offline_edit(world, first):
    """A1 signs the draft while A2 (same specialist) edits it offline."""
    n = _draft(world)
    a1, a2, s1 = (world.devices[k] for k in ("a1", "a2", "s1"))
    a1.repos.encounters.sign(n.id, ANN)
    a2.repos.encounters.update(a2.repos.encounters.require(n.id).replace(plan="Call Tuesday"))
    order = (a2, a1) if first == "edit" else (a1, a2)
    for d in order:
        world.sync(d)
    world.settle(3)
    digests = {state_digest(d.store) for d in (a1, a2, s1)}
    assert len(digests) == 1
    for d in (a1, a2, s1):
        note = d.repos.encounters.require(n.id)
        assert signature_problems(d.store.conn) == []
        if first == "edit":  # the signature came too late: refused whole, signer told
            assert note.status is NoteStatus.DRAFT and note.plan == "Call Tuesday"
            assert note.content_hash == "" and note.signed_by_id == ""
            assert _conflicts(d, n.id) == [
                ("status", merge.SIGN_AGAIN, '"draft"', '"signed"', ANN.id)
            ]
        else:  # the edit came too late: refused (kept in A2's outbox with the reason)
            assert note.status is NoteStatus.SIGNED and note.plan == "p"
            assert note.content_hash == lifecycle.content_hash(note)
    held = world.server_fields()[n.id]
    assert content.hash_problem(held) is None
    if first == "edit":
        refused = {r["field"]: r["reason"] for r in a1.replica.rejected()}
        assert set(refused) == {"status", "signed_by_id", "signed_at", "content_hash"}
        assert refused["status"] == merge.SIGN_REFUSED
        # the signer reads it and signs again: accepted, and everyone agrees
        a1.repos.encounters.sign(n.id, ANN)
        world.settle(3)
        assert a2.repos.encounters.require(n.id).status is NoteStatus.SIGNED
        assert content.hash_problem(world.server_fields()[n.id]) is None
    else:
        assert [r["field"] for r in a2.replica.rejected()] == ["plan"]
    # the supervisor can approve the signed note (its hash matches)
    if first == "sign":
        s1.repos.encounters.approve(n.id, SAM, s1.repos.encounters.require(n.id).content_hash)
        world.settle(3)
        assert a1.repos.encounters.require(n.id).status is NoteStatus.APPROVED


def _approved_on_s1(world):
    """A draft signed on a1, synced, and approved on s1 (not synced yet): the note,
    a1 and s1."""
    n = _draft(world)
    a1, s1 = world.devices["a1"], world.devices["s1"]
    a1.repos.encounters.sign(n.id, ANN)
    world.settle(2)
    s1.repos.encounters.approve(n.id, SAM, s1.repos.encounters.require(n.id).content_hash)
    return n, a1, s1


def test_an_approval_made_on_other_content_is_refused_whole(world):
    n, _a1, s1 = _approved_on_s1(world)
    # a forged (or stale) approved hash: the server refuses the decision whole
    with s1.store.transaction():
        s1.store.conn.execute(
            "UPDATE encounters SET approved_content_hash = 'f00d' WHERE id = ?", (n.id,)
        )
    world.sync(s1)
    refused = {r["field"] for r in s1.replica.rejected()}
    assert {"status", "approved_content_hash", "reviewed_by_id"} <= refused
    held = world.server_fields()[n.id]
    assert held["status"] == "signed" and held.get("approved_content_hash", "") == ""


def _note_state(d, note_id):
    row = d.store.conn.execute(
        "SELECT deleted, status, plan, intervention FROM encounters WHERE id = ?", (note_id,)
    ).fetchone()
    conflicts = [
        (f, k, json.loads(kept)) for f, k, kept, _l, _b in _conflicts(d, note_id)
    ]  # kept stamps are the same; their text is compared here
    return row, conflicts


@pytest.mark.parametrize("first", ["edit", "delete"])
def test_edit_and_delete_end_the_same_in_either_order(world, first):
    n = _draft(world)
    a1, a2, s1 = (world.devices[k] for k in ("a1", "a2", "s1"))
    a2.repos.encounters.update(a2.repos.encounters.require(n.id).replace(plan="Call Tuesday"))
    a2.repos.encounters.update(
        a2.repos.encounters.require(n.id).replace(plan="Call Wednesday", intervention="Lease")
    )
    a1.repos.encounters.delete(n.id)
    for d in (a2, a1) if first == "edit" else (a1, a2):
        world.sync(d)
    world.settle(3)
    states = {json.dumps(_note_state(d, n.id)) for d in (a1, a2, s1)}
    assert len(states) == 1
    row, conflicts = _note_state(a1, n.id)
    assert row == (1, "draft", "Call Wednesday", "Lease")  # deleted, nothing lost
    assert conflicts == [
        ("intervention", "edited after delete", "Lease"),
        ("plan", "edited after delete", "Call Wednesday"),
    ]
    assert len({state_digest(d.store) for d in (a1, a2, s1)}) == 1


def _reassign(w: World, pid: str, to: str) -> None:
    with w.engine.begin() as c:
        w.sync_engine.server_write(c, "participants", pid, {"assigned_specialist_id": to})


def test_an_edit_made_before_a_reassignment_stands_but_not_a_later_or_moving_one(world):
    world.add_user("spec-2", "bob", "specialist", SAM.id)
    n = _draft(world)
    a2 = world.devices["a2"]
    pid = n.participant_id
    a2.repos.participants.update(a2.repos.participants.require(pid).replace(county="Ward"))
    _reassign(world, pid, "spec-2")
    world.sync(a2)
    assert world.server_fields()[pid]["county"] == "Ward"  # written while it was hers
    assert a2.replica.rejected() == [] and a2.repos.participants.get(pid) is None  # left
    # a forged request: an edit stamped after the reassignment, and one taking it back
    from sync.hlc import Stamp
    from sync.protocol import PushChange

    reassigned = Stamp.parse(_stamp(world, pid)).wall_ms
    later = str(Stamp(reassigned + 1000, 0, a2.replica.device_id))
    for field, value in (("county", "Cass"), ("assigned_specialist_id", ANN.id)):
        req = world.request(a2, changes=[PushChange(later, "participants", pid, field, value)])
        req = req.model_copy(update={"cursor": 0})
        resp = world.serve(a2, req)
        assert [r.reason for r in resp.rejected] == ["not in your caseload"], field
        later = str(Stamp(Stamp.parse(later).wall_ms + 1, 0, a2.replica.device_id))
    held = world.server_fields()[pid]
    assert held["county"] == "Ward" and held["assigned_specialist_id"] == "spec-2"


def _stamp(w: World, pid: str) -> str:
    from sqlalchemy import select

    from sync.server.tables import field_state

    with w.engine.connect() as c:
        return c.execute(
            select(field_state.c.stamp).where(
                field_state.c.record_id == pid, field_state.c.field == "assigned_specialist_id"
            )
        ).scalar_one()


def test_check_reports_a_signed_note_whose_content_does_not_match(world):
    from app.store.backup import check_vault

    n = _draft(world)
    a1 = world.devices["a1"]
    a1.repos.encounters.sign(n.id, ANN)
    vault = a1.store.vault
    assert check_vault(vault).ok
    with a1.store.transaction(mode="remote"):  # as a faulty sync once could leave it
        a1.store.conn.execute("UPDATE encounters SET plan = 'changed' WHERE id = ?", (n.id,))
    report = check_vault(vault)
    assert "signed notes match their content (content hash)" in report.checked
    assert report.problems == [
        f"note {n.id}: this signed note's content does not match the content that was signed"
    ]
    assert [rid for rid, _why in signature_problems(a1.store.conn)] == [n.id]


def test_the_client_reports_a_pulled_note_that_breaks_the_invariant(world):
    n = _draft(world)
    a1, s1 = world.devices["a1"], world.devices["s1"]
    a1.repos.encounters.sign(n.id, ANN)
    world.settle(2)
    assert s1.replica.signature_problems == []
    with world.engine.begin() as c:  # what the old rules let through (issue 12, case 1)
        world.sync_engine.server_write(c, "encounters", n.id, {"plan": "changed later"})
    world.sync(s1)
    assert [rid for rid, _why in s1.replica.signature_problems] == [n.id]


@pytest.mark.parametrize("first", ["a1", "a2"])
def test_two_laptops_sign_different_content_the_first_signature_stands(world, first):
    """A2 edits the draft and signs it; A1 signs the draft as it was. Whichever
    signature reaches the server first stands; the other was made on other content:
    refused whole, a "sign again" conflict. Never a hash that does not match."""
    n = _draft(world)
    a1, a2, s1 = (world.devices[k] for k in ("a1", "a2", "s1"))
    a2.repos.encounters.update(a2.repos.encounters.require(n.id).replace(plan="Call Tuesday"))
    a2.repos.encounters.sign(n.id, ANN)
    a1.repos.encounters.sign(n.id, ANN)
    for d in (a1, a2) if first == "a1" else (a2, a1):
        world.sync(d)
    world.settle(3)
    assert content.hash_problem(world.server_fields()[n.id]) is None
    for d in (a1, a2, s1):
        assert signature_problems(d.store.conn) == []
        note = d.repos.encounters.require(n.id)
        assert note.status is NoteStatus.SIGNED
        assert note.plan == ("p" if first == "a1" else "Call Tuesday")
        assert [c[:2] for c in _conflicts(d, n.id)] == [("status", merge.SIGN_AGAIN)]
    assert len({state_digest(d.store) for d in (a1, a2, s1)}) == 1


def test_a_billing_mark_is_refused_whole_on_content_that_was_not_approved(world):
    from sync.hlc import Stamp
    from sync.protocol import PushChange

    n, _a1, s1 = _approved_on_s1(world)
    world.settle(2)
    with world.engine.begin() as c:  # an approval hash that is not the content's
        world.sync_engine.server_write(c, "encounters", n.id, {"approved_content_hash": "bad"})
    status_stamp = Stamp.parse(s1.store.hlc.now())
    changes = [
        PushChange(str(status_stamp), "encounters", n.id, "status", "billed"),
        PushChange(
            str(Stamp(status_stamp.wall_ms, status_stamp.counter + 1, status_stamp.device)),
            "encounters", n.id, "billing_batch_id", "batch-1",
        ),
    ]  # fmt: skip
    resp = world.serve(s1, world.request(s1, changes=changes))
    assert {r.reason for r in resp.rejected} == {
        "the note changed after approval; it must be reviewed again"
    }
    assert len(resp.rejected) == 2  # the decision, whole
    held = world.server_fields()[n.id]
    assert held["status"] == "approved" and held.get("billing_batch_id", "") == ""
