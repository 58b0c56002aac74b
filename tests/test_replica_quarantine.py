"""The client treats what it pulls as untrusted: a real vault applies a server reply
(parsed from wire JSON by the real protocol model) holding poison values, and
quarantines them instead of failing the sync or breaking a screen."""

from __future__ import annotations

import json
import uuid
from datetime import date

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from app.domain.records import Goal
from app.domain.records import Participant
from app.domain.records import RecoveryDomain
from app.store.replica import StoreReplica
from sync.protocol import SyncResponse
from sync.schema import SCHEMA
from sync.schema import validate_field

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


# -- any pulled value: applied and readable, or set aside ----------------------------------

VALID_RECORD = {
    "users": {"username": "u1", "display_name": "U One"},
    "payers": {"name": "Payer"},
    "participants": {"first_name": "A", "last_name": "B"},
    "consents": {"participant_id": "p-1"},
    "goals": {"participant_id": "p-1", "domain": "Home", "statement": "s"},
    "barc10": {"participant_id": "p-1", "assessed_on": "2026-01-01",
               "scores": "[1,2,3,4,5,6,1,2,3,4]"},
    "encounters": {"participant_id": "p-1", "specialist_id": "u-1",
                   "service_date": "2026-01-01"},
    "addenda": {"encounter_id": "e-1", "author_id": "u-1",
                "written_at": "2026-01-01T10:00:00+00:00", "reason": "r", "text": "t"},
    "time_entries": {"specialist_id": "u-1", "entry_date": "2026-01-01",
                     "category": "other", "minutes": 5},
    "supervision_sessions": {"supervisor_id": "u-2", "specialist_ids": '["u-1"]',
                             "session_date": "2026-01-01", "minutes": 30},
    "conflicts": {"table_name": "goals", "target_id": "g-1", "field": "statement"},
    "billing_providers": {"name": "Agency"},
    "billing_batches": {"payer_id": "py-1", "period_from": "2026-01-01",
                        "period_to": "2026-01-31"},
}  # fmt: skip


def _read_everything(store) -> None:
    """Every record of every synced table, decoded the way screens read them."""
    from app.domain.records import BY_TABLE
    from app.store.codec import codec

    for table, cls in BY_TABLE.items():
        c = codec(cls)
        cols = ", ".join(f'"{n}"' for n in c.names)
        for row in store.conn.execute(f"SELECT {cols} FROM {table}"):
            c.from_row(row)


def test_every_synced_table_has_a_valid_example():
    from sync.schema import record_problems

    assert set(VALID_RECORD) == set(SCHEMA)
    for table, fields in VALID_RECORD.items():
        assert record_problems(table, fields) == {}, table


_TARGETS = st.sampled_from([(t, f.name) for t, fs in SCHEMA.items() for f in fs])
_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30),
    st.sampled_from(["", "[]", "[1]", '["a"]', "{}", "2026-02-30", "2026-01-01", "12:30",
                     "2026-01-01T10:00:00", "active", "draft", "\ud800", "1" * 25]),
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(target=_TARGETS, value=_VALUES, new=st.booleans())
def test_any_pulled_value_is_applied_readably_or_set_aside(store, target, value, new):
    table, field = target
    replica = StoreReplica(store)
    rid = str(uuid.uuid4())
    fields = dict(VALID_RECORD[table])
    if not new:  # an existing record gets the value in a later reply
        replica.apply_response(_reply([(table, rid, fields)], cursor=1))
        fields = {}
    fields[field] = value
    counts = replica.apply_response(_reply([(table, rid, fields)], cursor=2))
    assert replica.cursor == 2
    assert (counts["quarantined"] > 0) == (validate_field(table, field, value) is not None)
    _read_everything(store)
