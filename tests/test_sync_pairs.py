"""The table of concurrent pairs (docs/SYNC.md, "Concurrent pairs"), cell by cell, in
both arrival orders: the real server process on 127.0.0.1 over HTTPS, real SQLCipher
vaults written through the app's own repositories, the real client engine.

Each cell makes the two operations offline on two laptops, syncs them in one order
or the other, lets every laptop sync until nothing moves, and checks: every laptop
that sees the record holds the same record and the same conflicts, laptops of the
same person hold the same digest, every signed note matches its hash, and both
arrival orders end in the same record and the same conflicts (the one documented
exception, sign x edit, ends safe in both: see the table)."""

from __future__ import annotations

import json
from datetime import date
from datetime import time
from functools import partial
from typing import Any

import pytest

from app.domain.records import Encounter
from app.domain.records import Participant
from app.store.digest import state_digest
from app.store.signatures import signature_problems
from sync import merge
from tests.builders import add_encounter
from tests.builders import add_goal
from tests.server_proc import start_server
from tests.test_sync_e2e import FAST_SERVER
from tests.test_sync_e2e import Laptop

VOLATILE = {
    "id",
    "participant_id",
    "goal_ids",
    "signed_at",
    "reviewed_at",
    "written_at",
    "encounter_id",
}


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    root = tmp_path_factory.mktemp("pairs")
    srv = start_server(root, extra_args=FAST_SERVER)
    srv.add_user("sam", "supervisor")
    srv.add_user("ann", "specialist", supervisor="sam")
    srv.add_user("bob", "specialist", supervisor="sam")
    laps = {
        name: Laptop(root, name, srv, user)
        for name, user in (
            ("ann1", "ann"), ("ann2", "ann"), ("bob1", "bob"), ("sam1", "sam"), ("sam2", "sam")
        )
    }  # fmt: skip
    yield srv, laps
    for lap in laps.values():
        lap.close()
    srv.close()


def settle(laps: dict[str, Laptop], rounds: int = 3) -> None:
    for _ in range(rounds):
        for lap in laps.values():
            result = lap.sync()
            assert result.signature_problems == []


def _draft(laps: dict[str, Laptop], signed: bool = False) -> tuple[Participant, Encounter]:
    ann = laps["ann1"]
    p = ann.repos.participants.add(
        Participant(first_name="Tamsin", last_name="Okoro", assigned_specialist_id=ann.user.id)
    )
    g = add_goal(ann.repos, p, "x")
    girp = ("Housing", "Reviewed the lease", "Relieved", "Call the landlord")
    at = (time(13, 0), time(13, 40))
    n = add_encounter(ann.repos, p, g, ann.user, on=date(2026, 10, 5), at=at, girp=girp)
    if signed:
        ann.repos.encounters.sign(n.id, ann.user)
    settle(laps, 2)
    return p, n


def _row(lap: Laptop, table: str, record_id: str) -> dict[str, Any] | None:
    cur = lap.store.conn.execute(f"SELECT * FROM {table} WHERE id = ?", (record_id,))
    row = cur.fetchone()
    if row is None:
        return None
    rec = dict(zip([c[0] for c in cur.description], row, strict=True))
    if table == "encounters":
        rec["approved_matches"] = rec["approved_content_hash"] == rec["content_hash"] != ""
        rec["signed"] = rec.pop("content_hash") != ""
        rec.pop("approved_content_hash")
    return {k: v for k, v in rec.items() if k not in VOLATILE}


def _conflicts(lap: Laptop, record_id: str) -> list[tuple[Any, ...]]:
    return sorted(
        lap.store.conn.execute(
            "SELECT table_name, field, kind, kept_value, lost_value, lost_by_id, status "
            "FROM conflicts WHERE target_id = ? AND deleted = 0",
            (record_id,),
        ).fetchall()
    )


def _outcome(laps: dict[str, Laptop], table: str, record_id: str, seen_by: list[str]):
    """The record and its conflicts, the same on every laptop in ``seen_by``."""
    states = {
        json.dumps([_row(laps[n], table, record_id), _conflicts(laps[n], record_id)])
        for n in seen_by
    }
    assert len(states) == 1, states
    for a, b in (("ann1", "ann2"), ("sam1", "sam2")):
        assert state_digest(laps[a].store) == state_digest(laps[b].store)
    for lap in laps.values():
        assert signature_problems(lap.store.conn) == []
    return json.loads(states.pop())


def _race(laps, first: str, ops: dict[str, tuple[str, Any]]) -> None:
    """Run both operations offline (in the order given), then sync ``first``'s laptop
    first and the other second, then everybody until nothing moves."""
    done = []
    for _name, (lap, op) in ops.items():
        for before in done:  # the later operation carries the later stamp (same ms)
            laps[lap].store.hlc.observe(laps[before].store.hlc.last)
        op()
        done.append(lap)
    (a, (lap_a, _)), (_b, (lap_b, _)) = ops.items()
    order = [lap_a, lap_b] if first == a else [lap_b, lap_a]
    for name in order:
        laps[name].sync()
    settle(laps)


def _edit(lap, n, **fields: str) -> None:
    lap.repos.encounters.update(lap.repos.encounters.require(n.id).replace(**fields))


TEAM = ["ann1", "ann2", "sam1", "sam2"]


def _delete(lap: Laptop, n: Encounter) -> None:
    lap.repos.encounters.delete(n.id)


def _sign(lap: Laptop, n: Encounter) -> None:
    lap.repos.encounters.sign(n.id, lap.user)


def _approve(lap: Laptop, n: Encounter) -> None:
    """``lap``'s user approves the note as it stands there."""
    lap.repos.encounters.approve(n.id, lap.user, lap.repos.encounters.require(n.id).content_hash)


def _return(lap: Laptop, n: Encounter) -> None:
    lap.repos.encounters.return_for_revision(n.id, lap.user, "Add times")


def _race_on_a_note(team, first: str, ops: dict[str, tuple[str, Any]], signed: bool = False):
    """A note drafted (and ``signed``) by Ann, seen by the team; then the operations
    ``ops`` (name -> (laptop, op(laptop, note))) raced (see _race). Returns the note as
    written, and the note and its conflicts as every laptop of the team ends with them."""
    _srv, laps = team
    _p, n = _draft(laps, signed)
    _race(laps, first, {k: (lap, partial(op, laps[lap], n)) for k, (lap, op) in ops.items()})
    note, conflicts = _outcome(laps, "encounters", n.id, TEAM)
    return n, note, conflicts


# -- edit x delete -----------------------------------------------------------------


@pytest.mark.parametrize("first", ["edit", "delete"])
def test_edit_x_delete(team, first, request):
    ops = {"edit": ("ann2", partial(_edit, plan="Call on Friday")), "delete": ("ann1", _delete)}
    _n, note, conflicts = _race_on_a_note(team, first, ops)
    assert note["deleted"] == 1 and note["plan"] == "Call on Friday"
    assert [c[:4] for c in conflicts] == [
        ["encounters", "plan", "edited after delete", '"Call on Friday"']
    ]
    _remember(request, "edit x delete", first, (note, conflicts))


# -- sign x edit -------------------------------------------------------------------


@pytest.mark.parametrize("first", ["edit", "sign"])
def test_sign_x_edit(team, first, request):
    a1, a2 = team[1]["ann1"], team[1]["ann2"]
    ops = {"sign": ("ann1", _sign), "edit": ("ann2", partial(_edit, intervention="Read it aloud"))}
    _n, note, conflicts = _race_on_a_note(team, first, ops)
    if first == "edit":  # the signature came after the content changed: sign again
        assert note["status"] == "draft" and not note["signed"]
        assert note["intervention"] == "Read it aloud" and note["signed_by_id"] == ""
        assert [c[:5] for c in conflicts] == [
            ["encounters", "status", merge.SIGN_AGAIN, '"draft"', '"signed"']
        ]
        refused = {r["field"]: r["reason"] for r in a1.replica.rejected()}
        assert refused["status"] == merge.SIGN_REFUSED
    else:  # the edit came after the signature: refused, the signed content stands
        assert note["status"] == "signed" and note["signed"]
        assert note["intervention"] == "Reviewed the lease"
        assert [r["field"] for r in a2.replica.rejected()] == ["intervention"]


# -- approve x return --------------------------------------------------------------


@pytest.mark.parametrize("later", ["return", "approve"])
@pytest.mark.parametrize("first", ["approve", "return"])
def test_approve_x_return(team, first, later, request):
    approve, ret = ("sam1", _approve), ("sam2", _return)
    ops = {"approve": approve, "return": ret} if later == "return" else {"return": ret}
    if later == "approve":
        ops["approve"] = approve
    _n, note, conflicts = _race_on_a_note(team, first, ops, signed=True)
    sam = team[1]["sam1"].user.id
    if later == "return":
        assert note["status"] == "returned" and note["review_comment"] == "Add times"
        assert not note["approved_matches"]  # no approval hash left on a returned note
        assert [c[1:6] for c in conflicts] == [["status", "log", '"returned"', '"approved"', sam]]
    else:
        assert note["status"] == "approved" and note["approved_matches"]
        assert note["review_comment"] == ""
        assert [c[1:6] for c in conflicts] == [
            ["review_comment", "log", '""', '"Add times"', sam],
            ["status", "log", '"approved"', '"returned"', sam],
        ]
    _remember(request, f"approve x return, {later} later", first, (note, conflicts))


@pytest.mark.parametrize("first", ["sam1", "sam2"])
def test_approve_x_approve(team, first, request):
    s1, s2 = team[1]["sam1"], team[1]["sam2"]
    ops = {"sam1": ("sam1", _approve), "sam2": ("sam2", _approve)}
    n, note, conflicts = _race_on_a_note(team, first, ops, signed=True)
    assert note["status"] == "approved" and note["approved_matches"]
    # the same decision is no disagreement: at most the review time both wrote is
    # logged, when the two differ (the later one stands)
    assert all(c[1:3] == ["reviewed_at", "log"] for c in conflicts)
    conflicts = [c for c in conflicts if c[1] != "reviewed_at"]
    assert s1.replica.rejected() == [] or all(
        r["record_id"] != n.id for r in s1.replica.rejected() + s2.replica.rejected()
    )
    _remember(request, "approve x approve", first, (note, conflicts))


# -- reassign x edit ---------------------------------------------------------------


@pytest.mark.parametrize("first", ["edit", "reassign"])
def test_reassign_x_edit(team, first, request):
    srv, laps = team
    p, _n = _draft(laps)
    a2 = laps["ann2"]

    def reassign() -> None:
        done = srv.cli("participants", "reassign", p.id, "--to", "bob")
        assert done.returncode == 0, done.stderr

    def edit() -> None:
        a2.repos.participants.update(
            a2.repos.participants.require(p.id).replace(phone="701-555-0142")
        )

    if first == "edit":
        edit()
        a2.sync()
        reassign()
    else:
        edit()
        reassign()
        a2.sync()
    settle(laps)
    person, conflicts = _outcome(laps, "participants", p.id, ["bob1", "sam1", "sam2"])
    assert person["phone"] == "701-555-0142" and conflicts == []
    assert person["assigned_specialist_id"] == laps["bob1"].user.id
    for name in ("ann1", "ann2"):  # the participant left Ann's laptops
        assert _row(laps[name], "participants", p.id) is None
    assert [r for r in a2.replica.rejected() if r["record_id"] == p.id] == []
    _remember(request, "reassign x edit", first, (person, conflicts))


# -- addendum x approve ------------------------------------------------------------


@pytest.mark.parametrize("first", ["addendum", "approve"])
def test_addendum_x_approve(team, first, request):
    laps = team[1]
    made: list[str] = []

    def addendum(lap: Laptop, n: Encounter) -> None:
        add = lap.repos.encounters.add_addendum(n.id, lap.user, "Late entry", "She called back")
        made.append(add.id)

    ops = {"addendum": ("ann1", addendum), "approve": ("sam1", _approve)}
    _n, note, conflicts = _race_on_a_note(team, first, ops, signed=True)
    assert note["status"] == "approved" and note["approved_matches"] and conflicts == []
    added, _none = _outcome(laps, "addenda", made[0], TEAM)
    assert added["text"] == "She called back"
    _remember(request, "addendum x approve", first, ([note, added], conflicts))


# -- both orders end the same --------------------------------------------------------

_RESULTS: dict[str, dict[str, Any]] = {}


def _remember(request, cell: str, first: str, outcome: Any) -> None:
    _RESULTS.setdefault(cell, {})[first] = outcome


def test_every_cell_ends_the_same_in_both_orders():
    """Runs after the cells above (same module, in file order)."""
    expected = {
        "edit x delete",
        "approve x return, return later",
        "approve x return, approve later",
        "approve x approve",
        "reassign x edit",
        "addendum x approve",
    }
    assert set(_RESULTS) == expected
    for cell, by_order in _RESULTS.items():
        assert len(by_order) == 2, cell
        a, b = by_order.values()
        assert a == b, cell
