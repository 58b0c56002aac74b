"""Laptops with wrong clocks: a year ahead cannot win forever, a day behind loses
nothing, and both are told."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.records import Goal
from app.domain.records import Participant
from app.domain.records import RecoveryDomain
from sync import merge
from sync.hlc import Stamp
from sync.hlc import now_ms
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


def _conflicts_of(d, record_id):
    return d.store.conn.execute(
        "SELECT field, kind FROM conflicts WHERE target_id = ? AND deleted = 0", (record_id,)
    ).fetchall()


@pytest.mark.parametrize("pushes", [1, 2])
def test_two_offline_edits_on_a_fast_laptop_never_conflict_with_each_other(world, pushes):
    """The second edit's base is the first edit's stamp; the server re-stamps both and
    keeps that relation (also when they reach it in two separate requests)."""
    g = _goal(world)
    fast, good = world.devices["fast"], world.devices["good"]
    fast.store.os_clock = lambda: now_ms() + YEAR_MS
    fast.repos.goals.update(fast.repos.goals.require(g.id).replace(statement="first edit"))
    fast.repos.goals.update(fast.repos.goals.require(g.id).replace(statement="second edit"))
    pending = fast.replica.pending(100)
    assert [c.base for c in pending][1] == pending[0].stamp  # based on the first
    if pushes == 2:  # the first edit alone, then the second
        req = world.request(fast, changes=pending[:1])
        fast.replica.apply_response(world.serve(fast, req))
    world.sync(fast)
    world.settle(2)
    for d in (fast, good):
        assert d.repos.goals.require(g.id).statement == "second edit"
        assert _conflicts_of(d, g.id) == []
    # the server kept the relation: the second change's base is the first's new stamp
    kept = [c for c in world.server_changes() if c[3] in ("first edit", "second edit")]
    assert kept[1][2] == kept[0][0]


def test_a_correction_ends_as_soon_as_the_clock_is_right_again(world):
    g = _goal(world)
    fast, good = world.devices["fast"], world.devices["good"]
    fast.store.os_clock = lambda: now_ms() + YEAR_MS
    fast.repos.goals.update(fast.repos.goals.require(g.id).replace(statement="from the future"))
    world.sync(fast)
    fast.replica.set_clock_offset(-YEAR_MS)  # what its sync measured
    world.settle(2)
    good.repos.goals.update(good.repos.goals.require(g.id).replace(statement="older, good"))
    world.settle(2)
    fast.store.os_clock = now_ms  # Ann sets the laptop's clock right; no sync yet
    fast.repos.goals.update(fast.repos.goals.require(g.id).replace(statement="newest, fast"))
    (stamp,) = fast.store.conn.execute(
        "SELECT stamp FROM outbox WHERE acked_at IS NULL AND rejected_reason IS NULL"
    ).fetchone()
    assert abs(Stamp.parse(stamp).wall_ms - now_ms()) < 60_000  # not a year behind
    assert fast.store.clock_offset_ms == 0
    world.settle(2)
    for d in (fast, good):  # the newest edit wins
        assert d.repos.goals.require(g.id).statement == "newest, fast"
        assert _conflicts_of(d, g.id) == []
    assert fast.store.meta("clock_offset_ms") == "0"  # saved: not applied after a restart


def test_a_slow_laptop_set_right_stops_correcting(world):
    g = _goal(world)
    slow = world.devices["fast"]
    slow.store.os_clock = lambda: now_ms() - DAY_MS
    slow.replica.set_clock_offset(DAY_MS)
    assert abs(slow.store.corrected_now() - now_ms()) < 60_000
    slow.store.os_clock = now_ms  # set right: the correction would put it a day ahead
    slow.repos.goals.update(slow.repos.goals.require(g.id).replace(statement="in time"))
    (stamp,) = slow.store.conn.execute(
        "SELECT stamp FROM outbox WHERE acked_at IS NULL AND rejected_reason IS NULL"
    ).fetchone()
    assert abs(Stamp.parse(stamp).wall_ms - now_ms()) < 60_000
    assert slow.store.clock_offset_ms == 0


def test_a_clock_set_part_way_keeps_correcting_what_remains(world):
    fast = world.devices["fast"]
    fast.store.os_clock = lambda: now_ms() + YEAR_MS
    fast.replica.set_clock_offset(-YEAR_MS)
    fast.store.os_clock = lambda: now_ms() + DAY_MS  # still a day ahead
    assert abs(fast.store.corrected_now() - now_ms()) < 60_000
    assert abs(fast.store.clock_offset_ms + DAY_MS) < 60_000


def test_a_laptop_set_right_before_a_restart_drops_the_stale_correction(world):
    g = _goal(world)
    fast = world.devices["fast"]
    fast.store.os_clock = lambda: now_ms() + YEAR_MS
    fast.repos.goals.update(fast.repos.goals.require(g.id).replace(statement="from the future"))
    world.sync(fast)
    fast.replica.set_clock_offset(-YEAR_MS)
    fast.store.hlc.now()  # a stamp made with the correction
    # the app restarts with the clock set right (no elapsed-clock reference survives)
    fast.store._clock_anchor = None
    fast.store.os_clock = now_ms
    assert abs(fast.store.corrected_now() - now_ms()) < 60_000


def test_the_warning_says_which_way_and_how_far_over_real_http(tmp_path):
    """The real client against the real server, with this laptop's clock injected."""
    from app.store.db import Store
    from app.store.replica import StoreReplica
    from app.store.vault import Vault
    from sync.client import SyncClient
    from sync.client import make_session
    from tests.conftest import FAST_KDF
    from tests.conftest import PASSPHRASE
    from tests.server_proc import DEFAULT_PASSWORD
    from tests.server_proc import start_server

    srv = start_server(tmp_path / "srv", extra_args=("--rate-limit", "0"))
    try:
        srv.add_user("ann", "specialist")
        v = Vault(tmp_path / "lap")
        v.create(PASSPHRASE, FAST_KDF)
        store = Store.open(v, owner_username="ann")
        rep = StoreReplica(store)
        c = SyncClient(rep, srv.url, "", session=make_session(srv.fingerprint))
        answer = c.enroll("ann", DEFAULT_PASSWORD, device_name="lap")
        rep.adopt_identity(answer.user_id, answer.role)
        for skew, words in (
            (YEAR_MS, "about 1 year (365 days) ahead of"),
            (-DAY_MS, "24 hours behind"),
            (-3 * DAY_MS, "3 days behind"),
        ):
            store.os_clock = lambda skew=skew: now_ms() + skew
            client = SyncClient(rep, srv.url, answer.token, session=make_session(srv.fingerprint))
            result = client.sync()
            assert words in (result.clock_warning or ""), result.clock_warning
            assert abs(result.clock_offset_ms + skew) < 60_000
        store.os_clock = now_ms
        for _ in range(5):  # on the server's own clock: no correction, however long the trip
            client = SyncClient(rep, srv.url, answer.token, session=make_session(srv.fingerprint))
            result = client.sync()
            assert result.clock_warning is None
            assert result.clock_offset_ms == 0
            assert store.clock_offset_ms == 0
        store.close()
    finally:
        srv.close()


@given(
    sent=st.integers(0, 10**13),
    trip=st.integers(0, 10**6),
    server=st.integers(0, 10**13),
)
def test_the_measured_offset_is_the_smallest_the_request_proves(sent, trip, server):
    """The server read its clock between the request leaving and the reply arriving:
    the correction is consistent with that, and none larger is made (a laptop whose
    clock is right is never moved by a slow or lopsided round trip)."""
    received = sent + trip
    offset = merge.measured_offset(server, sent, received)
    assert sent + offset <= server <= received + offset  # consistent with the request
    if sent <= server <= received:
        assert offset == 0
    else:  # any smaller correction would put the server's reading outside the trip
        smaller = offset - 1 if offset > 0 else offset + 1
        assert not sent + smaller <= server <= received + smaller
