"""The client treats what it pulls as untrusted: a real vault applies a server reply
(parsed from wire JSON by the real protocol model) holding poison values, and
quarantines them instead of failing the sync or breaking a screen."""

from __future__ import annotations

import json
import uuid
from datetime import date

from app.domain.records import Goal, Participant, RecoveryDomain
from app.store.replica import StoreReplica
from sync.protocol import SyncResponse

WALL = 0x01A000000000


def _stamp(n: int) -> str:
    return f"{WALL:012x}.{n:04x}.serverdevice"


def _reply(records: list[tuple[str, str, dict]], cursor: int = 10) -> SyncResponse:
    """A reply as it comes off the wire: raw JSON text through SyncResponse."""
    out, n = [], 0
    for table, record_id, fields in records:
        stamps = {}
        for name in fields:
            n += 1
            stamps[name] = _stamp(n)
        first = next(iter(fields))
        rest = {k: v for k, v in stamps.items() if k != first}
        out.append({"table": table, "record_id": record_id, "stamp": stamps[first],
                    "fields": fields, "stamps": rest})  # fmt: skip
    wire = {"protocol": 2, "server_time_ms": WALL, "accepted": [], "records": out,
            "cursor": cursor}  # fmt: skip
    return SyncResponse.model_validate(json.loads(json.dumps(wire)))


def test_poison_values_are_quarantined_and_the_vault_still_reads(store, repos):
    replica = StoreReplica(store)
    me = store.user_id
    known = repos.participants.add(
        Participant(first_name="Ada", last_name="Sample", assigned_specialist_id=me,
                    date_of_birth=date(1980, 1, 2))
    )  # fmt: skip
    new_person, bad_goal, good_goal = (str(uuid.uuid4()) for _ in range(3))
    resp = _reply(
        [
            ("participants", new_person, {"first_name": "Bo", "last_name": "Nguyen",
                                          "assigned_specialist_id": me, "phone": "\ud800",
                                          "diagnoses": "F11.20"}),
            ("participants", known.id, {"date_of_birth": "not-a-date", "status": "hacked",
                                        "county": "Cass"}),
            ("goals", bad_goal, {"participant_id": known.id, "domain": "Wealth",
                                 "statement": "x"}),
            ("goals", good_goal, {"participant_id": known.id, "domain": "Home",
                                  "statement": "find a flat", "steps_done": "[0]"}),
            ("encounters", str(uuid.uuid4()), {"participant_id": known.id,
                                               "specialist_id": me,
                                               "service_date": "2026-01-01",
                                               "group_size": 10**30}),
            ("goals", known.id, {"participant_id": known.id, "domain": "Home",
                                 "statement": "an id that is a participant"}),
            ("billing_batches", str(uuid.uuid4()), {"payer_id": "p1",
                                                    "period_from": "2026-01-01",
                                                    "period_to": "2026-01-31",
                                                    "claim_count": "lots"}),
        ],
        cursor=77,
    )  # fmt: skip
    counts = replica.apply_response(resp)
    assert counts["quarantined"] == 2 + 2 + 3 + 1 + 3 + 1
    assert replica.cursor == 77  # the sync went on

    people = {p.id: p for p in repos.participants.list()}
    assert people[new_person].phone == "" and people[new_person].diagnoses == ()
    assert people[known.id].date_of_birth == date(1980, 1, 2)
    assert people[known.id].county == "Cass"
    goals = {g.id: g for g in repos.goals.list()}
    assert bad_goal not in goals and known.id not in goals
    assert goals[good_goal].domain is RecoveryDomain.HOME
    assert all(e.group_size == 0 for e in repos.encounters.list())
    assert [b.claim_count for b in repos.billing_batches.list()] == [0]

    kept = replica.quarantined()
    assert len(kept) == counts["quarantined"]
    reasons = {(k["table"], k["field"]): k["reason"] for k in kept}
    assert reasons[("participants", "phone")].startswith("phone:")
    assert "another kind" in reasons[("goals", "statement")] or any(
        "another kind" in k["reason"] for k in kept
    )
    assert all(k["value"].isascii() for k in kept)  # the lone surrogate stays escaped


def test_quarantine_is_added_to_and_bounded(store, monkeypatch):
    from app.store import replica as replica_mod

    monkeypatch.setattr(replica_mod, "QUARANTINE_KEEP", 7)
    replica = StoreReplica(store)
    for round_ in range(3):
        rid = str(uuid.uuid4())
        replica.apply_response(
            _reply(
                [("goals", rid, {"domain": "nope", "statement": "s", "participant_id": "p"})],
                cursor=round_ + 1,
            )
        )
    kept = replica.quarantined()
    assert len(kept) == 7  # the newest seven of nine
    assert kept[-1]["record_id"] == rid


def test_a_good_reply_quarantines_nothing(store, repos):
    replica = StoreReplica(store)
    p = repos.participants.add(Participant(first_name="C", last_name="D"))
    gid = str(uuid.uuid4())
    counts = replica.apply_response(
        _reply([("goals", gid, {"participant_id": p.id, "domain": "Health", "statement": "s"})])
    )
    assert counts["quarantined"] == 0 and replica.quarantined() == []
    assert isinstance(repos.goals.get(gid), Goal)
