"""One person, one record, end to end: the real server process on 127.0.0.1 (HTTPS,
pinned), real SQLCipher vaults, the real sync client, and a raw-HTTP hostile device.

* two specialists register the same (invented) person offline and write signed
  notes; after sync the supervisor sees the likely duplicate, merges, and after
  everyone syncs every device that holds the person holds one live record with all
  the notes, goals and scores, the same rows everywhere, every signature valid and
  every end-of-sync digest check equal;
* one specialist registering the person twice (two laptops) sees the duplicate;
  "not the same person" syncs and the pair is not shown again anywhere;
* two merges made at once on two supervisor laptops converge (A into B and B into
  A, in both orders; A into B on both);
* a specialist who sets ``merged_into`` over raw HTTP is refused.
"""

from __future__ import annotations

import hashlib
import json
import time as clock
from datetime import date
from datetime import time

import pytest

from app.domain.records import Barc10
from app.domain.records import Encounter
from app.domain.records import Goal
from app.domain.records import Participant
from app.domain.records import RecoveryDomain
from app.services import duplicates
from app.services import records
from app.services import syncing
from app.services import team
from sync import content
from tests.laptop import Laptop
from tests.laptop import team_server
from tests.test_server_trust import Raw

BIRTH = date(1979, 4, 11)


@pytest.fixture
def server(tmp_path):
    s = team_server(tmp_path)
    s.users = {"sam": s.sup, "ann": s.ann, "bob": s.bob}  # for the raw-HTTP devices
    yield s
    s.close()


def register(lap: Laptop, first: str, last: str, **extra) -> Participant:
    """The person, a goal, a BARC-10 and a signed note, all offline."""
    p = lap.repos.participants.add(
        Participant(
            first_name=first, last_name=last, date_of_birth=BIRTH,
            assigned_specialist_id=lap.user.id, **extra,
        )
    )  # fmt: skip
    g = lap.repos.goals.add(
        Goal(participant_id=p.id, domain=RecoveryDomain.HOME, statement=f"Goal from {lap.dir.name}")
    )
    lap.repos.barc10.add(
        Barc10(participant_id=p.id, assessed_on=date(2026, 11, 1), scores=(3,) * 10)
    )
    n = lap.repos.encounters.add(
        Encounter(
            participant_id=p.id, specialist_id=lap.user.id, service_date=date(2026, 11, 2),
            start_time=time(9, 0), end_time=time(9, 45), goal_ids=(g.id,),
            goal_text="Housing", intervention=f"Note by {lap.dir.name}", response="Engaged",
            plan="Call the landlord",
        )
    )  # fmt: skip
    lap.repos.encounters.sign(n.id, lap.user)
    return p


def synced(*laps: Laptop, rounds: int = 2) -> None:
    """Everyone syncs, in turn, through the app's sync service; every sync's
    end-of-sync digest check is equal."""
    for _ in range(rounds):
        for lap in laps:
            r = syncing.run_sync(lap.store).value  # the app's sync: looks for duplicates
            assert not r.rejected, r.rejected
            assert not r.signature_problems
            assert r.digest_ok is not False, lap.dir.name


def live_people(lap: Laptop) -> list[Participant]:
    return lap.repos.participants.caseload()


def person_rows(lap: Laptop, ids: list[str]) -> str:
    """A digest of every row of the person (their records and their children)."""
    h = hashlib.sha256()
    marks = json.dumps(sorted(ids))
    conn = lap.store.conn
    for table, col in (
        ("participants", "id"), ("goals", "participant_id"), ("barc10", "participant_id"),
        ("consents", "participant_id"), ("encounters", "participant_id"),
    ):  # fmt: skip
        for row in conn.execute(
            f"SELECT * FROM {table} WHERE {col} IN (SELECT value FROM json_each(?)) ORDER BY id",
            (marks,),
        ):
            h.update(json.dumps([table, *row], default=str).encode())
    return h.hexdigest()


def signatures_hold(lap: Laptop) -> None:
    names = [r[1] for r in lap.store.conn.execute("PRAGMA table_info(encounters)")]
    for row in lap.store.conn.execute("SELECT * FROM encounters"):
        assert content.hash_problem(dict(zip(names, row, strict=True))) is None


def test_two_specialists_register_one_person_and_the_supervisor_merges(server, laptops):
    ann, bob, sam = laptops("ann1", "ann"), laptops("bob1", "bob"), laptops("sam1", "sam")
    pa = register(ann, "José", "Núñez", phone="701-555-0101")
    pb = register(bob, "Jose", "Nunez", medicaid_id="ND12345678", phone="701-555-0199")
    synced(ann, bob, sam, rounds=1)
    # the supervisor (the team) sees the likely duplicate; each specialist holds one
    found = duplicates.find_duplicates(sam.repos)
    assert [set(d.ids) for d in found] == [{pa.id, pb.id}]
    assert found[0].reason == "same date of birth, similar name"
    assert duplicates.known_count(sam.repos) == 1  # found by the sync itself
    assert [p.id for p in live_people(ann)] == [pa.id]

    # a specialist cannot merge, even on their own laptop
    with pytest.raises(Exception, match="supervisor"):
        duplicates.merge(ann.repos, pa.id, pb.id)
    done = duplicates.merge(sam.repos, pa.id, pb.id).value
    assert done.filled == ("medicaid_id",) and "phone" in done.conflicting
    assert duplicates.find_duplicates(sam.repos) == []
    synced(sam, ann, bob, sam, ann)

    # the kept record is ann's caseload: ann and sam hold one live record with both
    # people's notes, goals and scores; bob's laptop no longer holds the person
    group = [pa.id, pb.id]
    for lap in (ann, sam):
        assert [p.id for p in live_people(lap)] == [pa.id], lap.dir.name
        rec = records.load_record(lap.repos, pb.id)  # the tombstone opens the kept record
        assert rec.participant.id == pa.id and rec.participant.medicaid_id == "ND12345678"
        assert sorted(n.preview for n in rec.timeline) == ["Housing", "Housing"]
        assert len(rec.goals) == 2 and len(rec.barc10) == 2
        assert lap.repos.participants.require(pb.id).merged_into == pa.id
        assert lap.repos.participants.require(pb.id).phone == "701-555-0199"  # nothing lost
        signatures_hold(lap)
    assert person_rows(ann, group) == person_rows(sam, group)
    assert bob.repos.participants.get(pb.id) is None and live_people(bob) == []
    # the audit log says who merged what
    trail = duplicates.merge_trail(sam.repos, pa.id)
    assert trail and trail[0]["user_id"] == sam.user.id and trail[0]["merged"] == pb.id


def test_one_specialist_twice_and_not_the_same_person(server, laptops):
    a1, a2, sam = laptops("ann1", "ann"), laptops("ann2", "ann"), laptops("sam1", "sam")
    p1 = register(a1, "Robert", "Whitehorse")
    p2 = register(a2, "Bob", "White Horse")
    synced(a1, a2, sam, rounds=2)
    for lap in (a1, a2, sam):  # the specialist sees it too: both are her caseload
        assert [set(d.ids) for d in duplicates.find_duplicates(lap.repos)] == [{p1.id, p2.id}]
    duplicates.mark_distinct(a2.repos, p1.id, p2.id)
    synced(a2, a1, sam, rounds=2)
    for lap in (a1, a2, sam):
        assert duplicates.find_duplicates(lap.repos) == []
        assert duplicates.known_count(lap.repos) == 0
        assert len(live_people(lap)) == 2


@pytest.mark.parametrize("first", ["one", "two"])
@pytest.mark.parametrize("directions", ["opposite", "same"])
def test_merges_made_at_once_on_two_laptops_converge(server, laptops, first, directions):
    ann, bob = laptops("ann1", "ann"), laptops("bob1", "bob")
    s1, s2 = laptops("sam1", "sam"), laptops("sam2", "sam")
    pa = register(ann, "Mary", "Lightfoot")
    pb = register(bob, "Maria", "Lightfoot", medicaid_id="ND55500011")
    synced(ann, bob, s1, s2, rounds=1)
    # offline, on both supervisor laptops
    duplicates.merge(s1.repos, pa.id, pb.id)
    if directions == "opposite":
        duplicates.merge(s2.repos, pb.id, pa.id)
    else:
        duplicates.merge(s2.repos, pa.id, pb.id)
    order = (s1, s2) if first == "one" else (s2, s1)
    synced(*order, ann, bob, *order, ann, bob)
    keep = min(pa.id, pb.id) if directions == "opposite" else pa.id
    group = sorted([pa.id, pb.id])
    holders = [lap for lap in (ann, bob, s1, s2) if lap.repos.participants.get(keep)]
    assert s1 in holders and s2 in holders and len(holders) == 3
    digests = set()
    for lap in holders:
        assert [p.id for p in live_people(lap)] == [keep], lap.dir.name
        rec = records.load_record(lap.repos, group[0])
        assert rec.participant.id == keep and len(rec.timeline) == 2 and len(rec.goals) == 2
        assert duplicates.find_duplicates(lap.repos) == []
        signatures_hold(lap)
        digests.add(person_rows(lap, group))
    assert len(digests) == 1
    leaver = next(lap for lap in (ann, bob) if lap not in holders)
    assert live_people(leaver) == []
    # the team overview counts one person (the merged record is not another one)
    for sup in (s1, s2):
        sizes = {r.specialist_id: r.caseload for r in team.team_overview(sup.repos).rows}
        assert sorted(sizes.values()) == [0, 1], sizes


def test_a_specialist_setting_merged_into_over_raw_http_is_refused(server, laptops):
    ann = laptops("ann1", "ann")
    pa = register(ann, "Ada", "Crowfeather")
    pb = register(ann, "Adah", "Crowfeather")
    synced(ann, rounds=1)
    raw = Raw(server, "ann")
    reply = raw.push(raw.changes("participants", pb.id, {"merged_into": pa.id}))
    assert [r["reason"] for r in reply["rejected"]] == ["only a supervisor merges records"]
    # a supervisor may not fill a field that already holds a value, nor merge a record
    # into one outside the team or into itself
    sup = Raw(server, "sam")
    reply = sup.push(
        sup.changes("participants", pb.id, {"first_name": "Forged", "merged_into": pb.id})
    )
    reasons = sorted(r["reason"] for r in reply["rejected"])
    assert reasons == [
        "a supervisor only fills in a participant's empty fields when merging records",
        "merged_into: a record cannot be merged into itself",
    ]
    reply = sup.push(sup.changes("participants", pb.id, {"merged_into": server.ann}))
    assert [r["reason"] for r in reply["rejected"]] == [
        "merged_into: refers to a record that is not one of participants"  # the trust step
    ]
    reply = sup.push(sup.changes("participants", pb.id, {"merged_into": "no-such-record"}))
    assert [r["reason"] for r in reply["rejected"]] == ["merged_into: must name a participant"]
    synced(ann, rounds=1)
    assert len(live_people(ann)) == 2
    assert ann.repos.participants.require(pb.id).first_name == "Adah"
    assert ann.repos.participants.require(pb.id).merged_into == ""


def test_work_written_offline_before_the_merge_was_seen(server, laptops):
    """Bob, offline, edits his record's goal before the supervisor merges his record
    into Ann's, and writes a new note after it: the edit commutes with the merge (it
    stands and follows the kept record, as an edit does with a reassignment); the new
    note is undelivered (as after a reassignment: kept on his laptop with the reason,
    and shown to the kept record's specialist and supervisor). Nothing is lost."""
    ann, bob, sam = laptops("ann1", "ann"), laptops("bob1", "bob"), laptops("sam1", "sam")
    pa = register(ann, "Nakoma", "Redcloud")
    pb = register(bob, "Nakoma", "Red Cloud")
    synced(ann, bob, sam, rounds=1)
    # bob, offline: an edit before the merge, a new note after it (by their stamps)
    goal = bob.repos.goals.list("participant_id = ?", (pb.id,))[0]
    bob.repos.goals.update(goal.replace(statement="Keep the apartment through winter"))
    clock.sleep(0.005)  # "before" and "after" are the stamps' order: not the same millisecond
    duplicates.merge(sam.repos, pa.id, pb.id)
    synced(sam, rounds=1)
    clock.sleep(0.005)
    late = bob.repos.encounters.add(
        Encounter(participant_id=pb.id, specialist_id=bob.user.id,
                  service_date=date(2026, 11, 20), data="Written offline")
    )  # fmt: skip
    r = syncing.run_sync(bob.store).value
    assert [x["reason"] for x in r.rejected] == ["not in your caseload"] * len(r.rejected)
    assert r.rejected and r.evicted == 1
    assert {row["record_id"] for row in bob.replica.rejected()} == {late.id}, bob.replica.rejected()
    assert live_people(bob) == []
    synced(ann, sam, rounds=1)
    for lap in (ann, sam):
        rec = records.load_record(lap.repos, pa.id)
        assert "Keep the apartment through winter" in [g.statement for g in rec.goals]
        undelivered = lap.store.conn.execute(
            "SELECT count(*) FROM conflicts WHERE kind = 'undelivered' AND target_id = ?",
            (late.id,),
        ).fetchone()[0]
        assert undelivered > 0, lap.dir.name
