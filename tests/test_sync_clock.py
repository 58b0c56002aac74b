"""Laptops with wrong clocks: a year ahead cannot win forever, a day behind loses
nothing, and both are told."""

from __future__ import annotations

from datetime import date

import pytest

from app.domain.records import Goal, Participant, RecoveryDomain
from sync import merge
from sync.hlc import Stamp, now_ms
from tests.sync_harness import World

YEAR_MS = 365 * 24 * 3600 * 1000
DAY_MS = 24 * 3600 * 1000


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    w.add_user("u-ann", "ann", "specialist")
    w.add_device("fast", "u-ann", "specialist")
    w.add_device("good", "u-ann", "specialist")
    yield w
    w.close()


def _goal(w: World) -> Goal:
    r = w.devices["good"].repos
    p = r.participants.add(
        Participant(
            first_name="Clara", last_name="Test", date_of_birth=date(1990, 1, 1),
            assigned_specialist_id="u-ann",
        )
    )  # fmt: skip
    g = r.goals.add(Goal(participant_id=p.id, domain=RecoveryDomain.HOME, statement="first"))
    w.settle(2)
    return g


def test_a_clock_a_year_ahead_cannot_win_forever(world):
    g = _goal(world)
    fast, good = world.devices["fast"], world.devices["good"]
    fast.store.os_clock = lambda: now_ms() + YEAR_MS
    fast.repos.goals.update(fast.repos.goals.require(g.id).replace(statement="from the future"))
    sent = fast.store.conn.execute("SELECT stamp FROM outbox").fetchall()
    assert all(Stamp.parse(s).wall_ms > now_ms() + YEAR_MS // 2 for (s,) in sent)

    req = world.request(fast)
    resp = world.serve(fast, req)
    assert {r.stamp for r in resp.restamped} == {c.stamp for c in req.changes}
    assert all(Stamp.parse(r.new_stamp).wall_ms <= now_ms() + 1000 for r in resp.restamped)
    fast.replica.apply_response(resp)
    offset = -YEAR_MS  # what the client measures against the server
    fast.replica.set_clock_offset(offset)
    warning = merge.clock_warning(offset)
    assert warning and "about 1 year (365 days) ahead of the server" in warning
    # the fast laptop now stamps with corrected time
    stamp = Stamp.parse(fast.store.hlc.now()).wall_ms
    assert now_ms() - 60_000 < stamp < now_ms() + 60_000

    # a later edit on a laptop with a good clock wins
    world.settle(1)
    good.repos.goals.update(good.repos.goals.require(g.id).replace(statement="later, right clock"))
    world.settle(2)
    for d in (fast, good):
        assert d.repos.goals.require(g.id).statement == "later, right clock"


def test_a_clock_a_day_behind_loses_nothing(world):
    g = _goal(world)
    fast, good = world.devices["fast"], world.devices["good"]
    slow = fast
    slow.store.os_clock = lambda: now_ms() - DAY_MS
    # both edit offline; the slow laptop's edit has the lower stamp
    good.repos.goals.update(good.repos.goals.require(g.id).replace(statement="right clock"))
    slow.repos.goals.update(slow.repos.goals.require(g.id).replace(statement="slow clock"))
    world.settle(2)
    texts = {good.repos.goals.require(g.id).statement, slow.repos.goals.require(g.id).statement}
    assert texts == {"right clock"}
    conflicts = slow.store.conn.execute(
        "SELECT kind, lost_value FROM conflicts WHERE target_id = ?", (g.id,)
    ).fetchall()
    assert conflicts == [("text", '"slow clock"')]  # kept for the person to resolve
    # after syncing, the slow laptop follows the server's clock
    slow.replica.set_clock_offset(DAY_MS)
    slow.repos.goals.update(slow.repos.goals.require(g.id).replace(statement="now in order"))
    world.settle(2)
    assert good.repos.goals.require(g.id).statement == "now in order"
