"""Server rules as they bear on supervisors, through the real server engine (the
in-process harness of tests/sync_harness.py): review fields and decisions on
notes (a refused decision is refused whole and kept as a conflict on status),
and who writes what of a supervision session (sync/merge.py, sync/server/engine.py)."""

from __future__ import annotations

import dataclasses
import json
import time as clock
from datetime import date

import pytest

from app.domain.records import NoteStatus
from app.domain.records import Role
from app.domain.records import SupervisionSession
from app.domain.records import User
from sync.hlc import Stamp
from sync.protocol import PROTOCOL_VERSION
from sync.protocol import PushChange
from sync.protocol import SyncRequest
from tests.sync_harness import ANN
from tests.sync_harness import SAM
from tests.sync_harness import World
from tests.sync_harness import note_for

SUE = User(id="sup-2", username="sue", display_name="Sue", role=Role.SUPERVISOR)
REVIEW = {"status", "reviewed_by_id", "reviewed_at", "review_comment"}


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    w.add_user(SAM.id, "sam", "supervisor")
    w.add_user(ANN.id, "ann", "specialist", SAM.id)
    w.add_user(SUE.id, "sue", "supervisor")
    yield w
    w.close()


def _signed_note(w: World):
    ann = w.add_device("ann", ANN.id, "specialist")
    n = note_for(ann, "Vesper", "Quale", ANN.id)
    ann.repos.encounters.sign(n.id, ANN)
    return ann, n


def _sam_twice(w: World):
    """Two laptops of the same supervisor, both up to date with the signed note."""
    s1, s2 = (w.add_device(f"sam{i}", SAM.id, "supervisor") for i in (1, 2))
    w.settle()
    return s1, s2


def _approve(sup, n) -> None:
    sup.repos.encounters.approve(n.id, SAM, sup.repos.encounters.require(n.id).content_hash)


def test_a_supervisor_cannot_write_note_content(world):
    _ann, n = _signed_note(world)
    sam = world.add_device("sam1", SAM.id, "supervisor")
    world.settle()
    with sam.store.transaction():
        sam.store.conn.execute("UPDATE encounters SET plan = 'changed' WHERE id = ?", (n.id,))
    world.sync(sam)
    assert [r["field"] for r in sam.replica.rejected()] == ["plan"]
    assert sam.repos.encounters.require(n.id).plan == "p"


def test_approve_then_return_race_the_later_decision_stands_whole(world):
    ann, n = _signed_note(world)
    s1, s2 = _sam_twice(world)
    _approve(s1, n)
    s2.repos.encounters.return_for_revision(n.id, SAM, "Fix the plan")
    world.sync(s1)
    world.sync(s2)  # the return is later: it overturns the approval, whole
    world.settle()
    note = ann.repos.encounters.require(n.id)
    assert note.status is NoteStatus.RETURNED and note.review_comment == "Fix the plan"
    assert note.approved_content_hash == ""  # nothing of the approval is left


def test_a_refused_review_decision_is_refused_whole(world):
    ann, n = _signed_note(world)
    s1, s2 = _sam_twice(world)
    s2.repos.encounters.return_for_revision(n.id, SAM, "Fix the plan")
    _approve(s1, n)
    world.sync(s1)
    world.sync(s2)  # the earlier return arrives last: refused whole
    world.settle()
    note = ann.repos.encounters.require(n.id)
    assert note.status is NoteStatus.APPROVED and note.review_comment == ""
    assert {r["field"] for r in s2.replica.rejected()} == REVIEW


def _session(w: World):
    sam = w.add_device("sam1", SAM.id, "supervisor")
    ann = w.add_device("ann", ANN.id, "specialist")
    s = sam.repos.supervision.add(
        SupervisionSession(
            supervisor_id=SAM.id,
            specialist_ids=(ANN.id,),
            session_date=date(2026, 3, 2),
            minutes=60,
            topics=("skills",),
        )
    )
    return sam, ann, s


def _write_raw(device, session_id: str, **values) -> None:
    """Set a supervision session's columns on ``device`` in raw SQL, in a store
    transaction: captured like any write, so the next sync sends it to be judged."""
    cols = ", ".join(f"{name} = ?" for name in values)
    with device.store.transaction():
        device.store.conn.execute(
            f"UPDATE supervision_sessions SET {cols} WHERE id = ?", (*values.values(), session_id)
        )


def test_a_supervisor_cannot_sign_for_the_specialist(world):
    sam, _ann, s = _session(world)
    _write_raw(sam, s.id, specialist_signed_at="2026-03-02T10:00:00+00:00")
    world.sync(sam)
    assert any(r["field"] == "specialist_signed_at" for r in sam.replica.rejected())


def test_a_specialist_cannot_rewrite_a_session(world):
    _sam, ann, s = _session(world)
    world.settle()
    _write_raw(ann, s.id, minutes=240, supervisor_signed_at="2026-03-02T10:00:00+00:00")
    world.sync(ann)
    assert {r["field"] for r in ann.replica.rejected()} >= {"minutes", "supervisor_signed_at"}


def _conflicts(d, note_id):
    return d.store.conn.execute(
        "SELECT field, kept_value, lost_value, lost_by_id, status FROM conflicts "
        "WHERE target_id = ? AND deleted = 0",
        (note_id,),
    ).fetchall()


def _race(w: World, first: str, later: str = "return"):
    """Two of Sam's laptops decide the same note offline (``later``: the decision made
    last, so with the greater stamp); ``first`` syncs first."""
    ann, n = _signed_note(w)
    s1, s2 = (
        w.add_device("sam1", SAM.id, "supervisor"),
        w.add_device("sam2", SAM.id, "supervisor"),
    )
    w.settle()
    steps = [
        lambda: s1.repos.encounters.approve(
            n.id, SAM, s1.repos.encounters.require(n.id).content_hash
        ),
        lambda: s2.repos.encounters.return_for_revision(n.id, SAM, "Fix the plan"),
    ]
    for step in steps if later == "return" else steps[::-1]:
        step()
    winner, loser = (s1, s2) if first == "approve" else (s2, s1)
    w.sync(winner)
    w.sync(loser, duplicate=True)  # a retry after a lost reply gets the same answer
    w.settle()
    return ann, n, s1, s2


APPROVAL_LOST = [("status", '"returned"', '"approved"', SAM.id, "open")]
RETURN_LOST = [
    ("review_comment", '""', '"Fix the plan"', SAM.id, "open"),
    ("status", '"approved"', '"returned"', SAM.id, "open"),
]


@pytest.mark.parametrize("first", ["approve", "return"])
def test_a_later_return_stands_whole_whatever_reaches_the_server_first(world, first):
    ann, n, s1, s2 = _race(world, first, later="return")
    if first == "return":  # the approval arrives after a later return: refused whole
        assert {r["field"] for r in s1.replica.rejected()} == {
            "status", "reviewed_by_id", "reviewed_at", "approved_content_hash"
        }  # fmt: skip
    else:  # the return arrives after an earlier approval and overturns it
        assert s1.replica.rejected() == [] and s2.replica.rejected() == []
    for d in (ann, s1, s2):  # the same single conflict on every device
        assert sorted(_conflicts(d, n.id)) == APPROVAL_LOST
        note = d.repos.encounters.require(n.id)
        assert note.status is NoteStatus.RETURNED and note.review_comment == "Fix the plan"
        assert note.approved_content_hash == ""


@pytest.mark.parametrize("first", ["approve", "return"])
def test_a_later_approval_stands_whole_and_the_return_comment_is_kept(world, first):
    ann, n, s1, s2 = _race(world, first, later="approve")
    if first == "approve":
        refused = s2.replica.rejected()
        assert {r["field"] for r in refused} == REVIEW
        assert all("refused whole" in r["reason"] for r in refused if r["field"] != "status")
    for d in (ann, s1, s2):  # both supervisors' devices (and Ann's) see the lost return
        assert sorted(_conflicts(d, n.id)) == RETURN_LOST
        note = d.repos.encounters.require(n.id)
        assert note.status is NoteStatus.APPROVED and note.review_comment == ""
        assert note.approved_content_hash == note.content_hash
    # the comment is not lost: it is in the conflict (and the server keeps what it refused)
    assert "Fix the plan" in json.dumps(world.server_fields())


def test_a_decision_is_refused_whole_whatever_the_order_of_its_stamps(world):
    """A push whose review fields are stamped before its status move (another
    client, another column order) is still refused whole."""
    _ann, n = _signed_note(world)
    s1, s2 = _sam_twice(world)
    s2.repos.encounters.return_for_revision(n.id, SAM, "Fix the plan")
    _approve(s1, n)
    world.sync(s1)
    pending = s2.replica.pending(100)
    stamps = sorted(c.stamp for c in pending)
    others = [c for c in pending if c.field != "status"]
    status = next(c for c in pending if c.field == "status")
    reordered = [dataclasses.replace(c, stamp=st) for c, st in zip(others, stamps, strict=False)]
    reordered.append(dataclasses.replace(status, stamp=stamps[-1]))
    assert max(c.stamp for c in reordered if c.field != "status") < reordered[-1].stamp
    req = world.request(s2, changes=reordered)
    resp = world.serve(s2, req)
    assert {r.stamp for r in resp.rejected} == {c.stamp for c in reordered}
    held = world.server_fields()[n.id]
    assert held["status"] == "approved" and held.get("review_comment", "") == ""


def test_a_refusal_that_is_not_a_race_writes_no_conflict(world):
    ann, n = _signed_note(world)
    world.settle()
    # Ann saw her note signed and tries to approve it herself: refused, no conflict
    with ann.store.transaction():
        ann.store.conn.execute("UPDATE encounters SET status = 'approved' WHERE id = ?", (n.id,))
    world.sync(ann)
    assert [r["field"] for r in ann.replica.rejected()] == ["status"]
    # a supervisor outside Ann's team: refused by scope, no conflict either
    sue = world.add_device("sue1", SUE.id, "supervisor")
    stamp = str(Stamp(int(clock.time() * 1000), 0, sue.replica.device_id))
    req = SyncRequest(
        protocol=PROTOCOL_VERSION,
        device_id=sue.replica.device_id,
        cursor=0,
        changes=[
            PushChange(
                stamp=stamp, table="encounters", record_id=n.id, field="status", value="void"
            )
        ],
        client_time_ms=int(clock.time() * 1000),
    )
    resp = world.serve(sue, req)
    assert [r.reason for r in resp.rejected] == ["not in your caseload"]
    assert not any(f.get("table_name") for f in world.server_fields().values() if "kind" in f)
    assert ann.repos.encounters.require(n.id).status is NoteStatus.SIGNED


def test_a_signed_session_is_locked_but_the_specialist_still_signs_it(world):
    sam, ann, s = _session(world)
    _write_raw(sam, s.id, supervisor_signed_at="2026-03-02T10:00:00+00:00")
    world.settle()
    _write_raw(sam, s.id, minutes=90)
    _write_raw(ann, s.id, specialist_signed_at="2026-03-02T11:00:00+00:00")
    world.settle()
    assert [(r["field"], r["reason"]) for r in sam.replica.rejected()] == [
        ("minutes", "this session is signed; what it records cannot change")
    ]
    assert ann.replica.rejected() == []
    for d in (sam, ann):
        got = d.repos.supervision.require(s.id)
        assert got.minutes == 60 and got.specialist_signed_at is not None
    assert json.loads(world.server_fields()[s.id]["specialist_ids"]) == [ANN.id]
