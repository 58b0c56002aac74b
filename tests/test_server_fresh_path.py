"""The push's fast path for fields the server does not hold (sync.server.engine.fresh)
stores exactly what the general path stores.

Property: one batch of changes pushed by a specialist's device, applied by an
engine with the fast path and by one without it (``fast_new_fields = False``), each
on its own copy of the same real SQLite server database, leaves every table the
push writes identical, row for row (field states and their seq numbers, the
change log, records, assignments, access log, refusals, digest sums, the seq
counter), and answers the same (accepted, refused with reasons, re-stamped).
Batches mix what a first sync holds (new participants and goals) with what makes
the general path necessary: edits of a record another device of the same user
created (with and without the stamp they replace), new fields of that record,
fields refused for permission (assigning to someone else), for scope (a goal in
another specialist's caseload), at the trust boundary (a bad date, a missing
required field, a record id of another table), a record created deleted (and
one deleted after it was created), a field
written twice, a stamp too far ahead, the same stamp twice, a merge; pushed by a
specialist, a supervisor or an administrator; and the same batch pushed again (a
retry). Also: a realistic push of 300 new participants
takes the fast path for all its changes.
"""

from __future__ import annotations

import gc
import shutil
import uuid
import weakref
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import create_engine
from sqlalchemy import select
from sqlalchemy import text

from sync.hlc import HybridLogicalClock
from sync.protocol import PROTOCOL_VERSION
from sync.protocol import PushChange
from sync.protocol import SyncRequest
from sync.server.cli.serve import YOUNG_COLLECTION_AT
from sync.server.cli.serve import tune_collector
from sync.server.engine import Caller
from sync.server.engine import SyncEngine
from sync.server.engine import core as engine_core
from sync.server.engine import merging as engine_merging
from sync.server.tables import field_state
from sync.server.tables import metadata
from sync.server.tables import users

NOW_MS = 1_790_000_000_000
NOW_ISO = "2026-09-21T12:00:00+00:00"
ANN, BOB, SAM, ADA = "spec-ann", "spec-bob", "sup-sam", "adm-ada"
DEVICE, OTHER_DEVICE = "annaaaaa", "annbbbbb"
# who pushes: ann (specialist), sam (ann's and bob's supervisor), ada (administrator)
PUSHERS = (
    Caller(ANN, "specialist", DEVICE),
    Caller(SAM, "supervisor", "samaaaaa"),
    Caller(ADA, "admin", "adaaaaaa"),
)
P_ANN = "11111111-0000-4000-8000-000000000001"  # ann's, from her other device
P_BOB = "11111111-0000-4000-8000-000000000002"  # bob's
TABLES = (
    "field_state", "changes", "records", "assignments", "access_log", "rejected",
    "digest_sums", "counters",
)  # fmt: skip


def _engine(fast: bool) -> SyncEngine:
    se = SyncEngine(HybridLogicalClock("serverzz", wall=lambda: NOW_MS))
    se.fast_new_fields = fast
    return se


class Stamps:
    def __init__(self, device: str, wall: int = NOW_MS - 60_000) -> None:
        self.device, self.wall, self.counter = device, wall, 0

    def __call__(self, ahead_ms: int = 0) -> str:
        self.counter += 1
        return f"{self.wall + ahead_ms:012x}.{self.counter:04x}.{self.device}"


def _push(se: SyncEngine, db: Path, caller: Caller, chs: list[PushChange]):
    eng = create_engine(f"sqlite:///{db}")
    try:
        req = SyncRequest(
            protocol=PROTOCOL_VERSION, device_id=caller.device_id, changes=chs,
            client_time_ms=NOW_MS,
        )  # fmt: skip
        with eng.begin() as conn:
            pushed = se.push(conn, caller, req, NOW_MS)
        return pushed.accepted, pushed.refused, pushed.restamped, pushed.created
    finally:
        eng.dispose()


def _state(db: Path) -> dict[str, list[tuple]]:
    eng = create_engine(f"sqlite:///{db}")
    try:
        with eng.connect() as c:
            return {t: sorted(map(tuple, c.execute(text(f"SELECT * FROM {t}")))) for t in TABLES}
    finally:
        eng.dispose()


@pytest.fixture(scope="module")
def base_db(tmp_path_factory) -> Path:
    """Two specialists and their supervisor, an administrator; ann's participant
    (from her other device) with a goal, bob's."""
    db = tmp_path_factory.mktemp("fresh") / "base.db"
    eng = create_engine(f"sqlite:///{db}")
    metadata.create_all(eng)
    se = _engine(False)
    with eng.begin() as c:
        staff = (
            (ANN, "ann", "specialist", SAM), (BOB, "bob", "specialist", SAM),
            (SAM, "sam", "supervisor", ""), (ADA, "ada", "admin", ""),
        )  # fmt: skip
        for uid, name, role, sup in staff:
            c.execute(
                users.insert().values(
                    id=uid, username=name, password_hash="-", role=role,
                    supervisor_id=sup, active=True, created_at="2026-01-01",
                )
            )  # fmt: skip
            se.server_write(c, "users", uid, {"deleted": 0, "username": name,
                            "display_name": name.title(), "role": role,
                            "supervisor_id": sup, "active": 1})  # fmt: skip
    eng.dispose()
    for device, uid, pid in ((OTHER_DEVICE, ANN, P_ANN), ("bobbbbbb", BOB, P_BOB)):
        stamp = Stamps(device, NOW_MS - 3_600_000)
        chs = _participant(stamp, pid, {"first_name": "Ona", "last_name": "Vell", "county": "Cass",
                                        "assigned_specialist_id": uid})  # fmt: skip
        chs += _record(
            stamp,
            "goals",
            str(uuid.uuid4()),
            {"participant_id": pid, "domain": "Home", "statement": "A room of one's own"},
        )
        _push(se, db, Caller(uid, "specialist", device), chs)
    return db


def _record(stamp: Stamps, table: str, rid: str, fields: dict) -> list[PushChange]:
    return [PushChange(stamp(), table, rid, f, v) for f, v in fields.items()]


def _participant(stamp: Stamps, rid: str, fields: dict) -> list[PushChange]:
    return _record(stamp, "participants", rid, {"deleted": 0, **fields})


def _stored(db: Path, rid: str, name: str) -> str:
    eng = create_engine(f"sqlite:///{db}")
    try:
        with eng.connect() as c:
            return c.execute(
                select(field_state.c.stamp).where(
                    field_state.c.record_id == rid, field_state.c.field == name
                )
            ).scalar_one()
    finally:
        eng.dispose()


KINDS = (
    "new", "new", "new", "no_name", "bad_date", "other_assignee", "deleted", "twice",
    "goal_new", "goal_ann", "goal_bob", "edit_based", "edit_blind", "new_field", "wrong_table",
    "ahead", "same_stamp", "merge", "born_deleted",
)  # fmt: skip


def _batch(db: Path, kinds: list[str], seed: int, device: str = DEVICE) -> list[PushChange]:
    stamp = Stamps(device)
    out: list[PushChange] = []
    made: list[str] = []
    for i, kind in enumerate(kinds):
        rid = str(uuid.UUID(int=(seed << 16) + i + 1, version=4))
        person = {"first_name": f"Ada{i}", "last_name": "Quill", "county": "Ward",
                  "program": "Peer support", "diagnoses": '["F11.20"]',
                  "assigned_specialist_id": ANN}  # fmt: skip
        if kind in ("new", "twice", "ahead", "same_stamp"):
            out += _participant(stamp, rid, person)
            made.append(rid)
            if kind == "twice":
                out.append(PushChange(stamp(), "participants", rid, "county", "Cass"))
            elif kind == "ahead":
                out.append(PushChange(stamp(10 * 86_400_000), "participants", rid, "phone", "555"))
            elif kind == "same_stamp":
                out.append(PushChange(out[-1].stamp, "participants", rid, "pronouns", "they"))
        elif kind == "no_name":
            out += _participant(stamp, rid, {"county": "Ward", "assigned_specialist_id": ANN})
        elif kind == "bad_date":
            out += _participant(stamp, rid, {**person, "date_of_birth": "2026-13-45"})
        elif kind == "other_assignee":
            out += _participant(stamp, rid, {**person, "assigned_specialist_id": BOB})
        elif kind == "deleted":
            out += _participant(stamp, rid, person)
            out.append(PushChange(stamp(), "participants", rid, "deleted", 1))
            out.append(PushChange(stamp(), "participants", rid, "phone", "555-0100"))
        elif kind.startswith("goal_"):
            pid = {"goal_ann": P_ANN, "goal_bob": P_BOB}.get(kind) or (made[-1] if made else P_ANN)
            out += _record(stamp, "goals", rid, {"deleted": 0, "participant_id": pid,
                           "domain": "Purpose", "statement": "Work"})  # fmt: skip
        elif kind == "edit_based":
            base = _stored(db, P_ANN, "county")
            out.append(PushChange(stamp(), "participants", P_ANN, "county", f"Ward{i}", base))
        elif kind == "edit_blind":
            out.append(PushChange(stamp(), "participants", P_ANN, "county", f"Stark{i}"))
        elif kind == "new_field":
            out.append(PushChange(stamp(), "participants", P_ANN, "pronouns", f"she{i}"))
        elif kind == "wrong_table":
            out += _record(stamp, "goals", P_ANN, {"deleted": 0, "participant_id": P_ANN,
                           "domain": "Home", "statement": "x"})  # fmt: skip
        elif kind == "born_deleted":  # its later fields: edits after a delete
            out += _participant(stamp, rid, {**person, "deleted": 1})
        elif kind == "merge":
            out += _participant(stamp, rid, {**person, "merged_into": P_ANN})
    return out


@pytest.fixture()
def frozen_now(monkeypatch) -> None:
    for module in (engine_core, engine_merging):
        monkeypatch.setattr(module, "_now_iso", lambda: NOW_ISO)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=12),
    seed=st.integers(1, 10**6),
    caller=st.sampled_from(PUSHERS),
)
def test_fast_path_stores_what_the_general_path_stores(
    base_db: Path, tmp_path: Path, frozen_now, kinds: list[str], seed: int, caller: Caller
) -> None:
    chs = _batch(base_db, kinds, seed, caller.device_id)
    answers = []
    for fast in (True, False):
        db = tmp_path / f"{seed}-{fast}.db"
        shutil.copy(base_db, db)
        se = _engine(fast)
        first = _push(se, db, caller, chs)
        again = _push(se, db, caller, chs)  # a retry: answered as before, nothing new
        answers.append((first, again, _state(db)))
        db.unlink()
    fast_answer, general_answer = answers
    assert fast_answer[0] == general_answer[0]
    assert fast_answer[1] == general_answer[1]
    for table in TABLES:
        assert fast_answer[2][table] == general_answer[2][table], table


def _count_fresh(se: SyncEngine) -> list[str]:
    """The stamps ``se`` hands to its fast path, from now on."""
    taken: list[str] = []
    apply_fresh = se._apply_fresh

    def counted(p, ch):
        taken.append(ch.stamp)
        return apply_fresh(p, ch)

    se._apply_fresh = counted  # type: ignore[method-assign]
    return taken


def test_new_participants_take_the_fast_path(base_db: Path, tmp_path: Path, frozen_now) -> None:
    """300 new participants: every change applied by the fast path, none refused, and
    the same stored state as the general path's."""
    caller = Caller(ANN, "specialist", DEVICE)
    chs = _batch(base_db, ["new"] * 300, seed=7)
    states = []
    for fast in (True, False):
        db = tmp_path / f"many-{fast}.db"
        shutil.copy(base_db, db)
        se = _engine(fast)
        taken = _count_fresh(se)
        accepted, refused, _restamped, created = _push(se, db, caller, chs)
        assert len(accepted) == len(chs) and refused == []
        assert len(created) == 300
        assert len(taken) == (len(chs) if fast else 0)
        states.append(_state(db))
    assert states[0] == states[1]


def test_the_server_freezes_its_start_up_objects_and_collects_young_ones_less_often() -> None:
    before = gc.get_threshold()
    try:
        tune_collector()
        assert gc.isenabled()  # cycles are still freed
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (YOUNG_COLLECTION_AT, *before[1:])
        gone = weakref_to_cycle()  # a cycle made afterwards is still freed
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


class _Node:
    pass


def weakref_to_cycle():
    node = _Node()
    node.me = node  # type: ignore[attr-defined]
    return weakref.ref(node)
