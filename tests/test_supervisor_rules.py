"""Server rules as they bear on supervisors, through the real server engine (the
in-process harness of tests/sync_harness.py). The xfail(strict) tests document
rule gaps in sync/merge.py and sync/server/engine.py that belong to the sync
work: each fails today and will start passing (and so fail as XPASS) when fixed."""

from __future__ import annotations

from datetime import date, time

import pytest

from app.domain.records import (
    Encounter,
    Goal,
    NoteStatus,
    Participant,
    RecoveryDomain,
    Role,
    SupervisionSession,
    User,
)
from tests.sync_harness import World

SAM = User(id="sup-1", username="sam", display_name="Sam", role=Role.SUPERVISOR)
ANN = User(id="spec-1", username="ann", display_name="Ann", role=Role.SPECIALIST)


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    w.add_user(SAM.id, "sam", "supervisor")
    w.add_user(ANN.id, "ann", "specialist", SAM.id)
    yield w
    w.close()


def _signed_note(w: World):
    ann = w.add_device("ann", ANN.id, "specialist")
    p = ann.repos.participants.add(
        Participant(first_name="Vesper", last_name="Quale", assigned_specialist_id=ANN.id)
    )
    g = ann.repos.goals.add(Goal(participant_id=p.id, domain=RecoveryDomain.HOME, statement="x"))
    n = ann.repos.encounters.add(
        Encounter(
            participant_id=p.id,
            specialist_id=ANN.id,
            service_date=date(2026, 3, 2),
            start_time=time(9),
            end_time=time(10),
            goal_ids=(g.id,),
            goal_text="g",
            intervention="i",
            response="r",
            plan="p",
        )
    )
    ann.repos.encounters.sign(n.id, ANN)
    return ann, n


def test_a_supervisor_cannot_write_note_content(world):
    _ann, n = _signed_note(world)
    sam = world.add_device("sam1", SAM.id, "supervisor")
    world.settle()
    with sam.store.transaction():
        sam.store.conn.execute("UPDATE encounters SET plan = 'changed' WHERE id = ?", (n.id,))
    world.sync(sam)
    assert [r["field"] for r in sam.replica.rejected()] == ["plan"]
    assert sam.repos.encounters.require(n.id).plan == "p"


def test_approve_then_return_race_leaves_the_approval_alone(world):
    ann, n = _signed_note(world)
    s1, s2 = (
        world.add_device("sam1", SAM.id, "supervisor"),
        world.add_device("sam2", SAM.id, "supervisor"),
    )
    world.settle()
    s1.repos.encounters.approve(n.id, SAM, s1.repos.encounters.require(n.id).content_hash)
    s2.repos.encounters.return_for_revision(n.id, SAM, "Fix the plan")
    world.sync(s1)
    world.sync(s2)
    world.settle()
    note = ann.repos.encounters.require(n.id)
    assert note.status is NoteStatus.APPROVED  # the first decision stands
    refused = {r["field"] for r in s2.replica.rejected()}
    assert "status" in refused


def test_a_refused_review_decision_is_refused_whole(world):
    ann, n = _signed_note(world)
    s1, s2 = (
        world.add_device("sam1", SAM.id, "supervisor"),
        world.add_device("sam2", SAM.id, "supervisor"),
    )
    world.settle()
    s1.repos.encounters.approve(n.id, SAM, s1.repos.encounters.require(n.id).content_hash)
    s2.repos.encounters.return_for_revision(n.id, SAM, "Fix the plan")
    world.sync(s1)
    world.sync(s2)
    world.settle()
    note = ann.repos.encounters.require(n.id)
    assert note.status is NoteStatus.APPROVED and note.review_comment == ""


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


def test_a_supervisor_cannot_sign_for_the_specialist(world):
    sam, _ann, s = _session(world)
    with sam.store.transaction():
        sam.store.conn.execute(
            "UPDATE supervision_sessions SET specialist_signed_at = '2026-03-02T10:00:00+00:00' "
            "WHERE id = ?",
            (s.id,),
        )
    world.sync(sam)
    assert any(r["field"] == "specialist_signed_at" for r in sam.replica.rejected())


def test_a_specialist_cannot_rewrite_a_session(world):
    _sam, ann, s = _session(world)
    world.settle()
    with ann.store.transaction():
        ann.store.conn.execute(
            "UPDATE supervision_sessions SET minutes = 240, "
            "supervisor_signed_at = '2026-03-02T10:00:00+00:00' WHERE id = ?",
            (s.id,),
        )
    world.sync(ann)
    assert {r["field"] for r in ann.replica.rejected()} >= {"minutes", "supervisor_signed_at"}
