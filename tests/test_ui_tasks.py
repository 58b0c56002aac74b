"""The lanes (app.ui.shell.tasks): the database and network lanes run work in
order on their own threads, report back on the UI thread, and a network lane that
waits (for a server, or for the database lane) never holds the database lane or
the UI thread."""

from __future__ import annotations

import threading

import pytest

from app.ui.shell.tasks import DB
from app.ui.shell.tasks import NET
from app.ui.shell.tasks import LaneClosed
from app.ui.shell.tasks import TaskManager
from app.ui.sync.lane_replica import LaneReplica
from app.ui.sync.sync_state import SyncCancelled


@pytest.fixture
def tasks(qtbot):
    t = TaskManager()
    yield t
    t.lane(NET).shutdown(wait=False)
    t.lane(DB).shutdown()


def test_each_lane_has_its_own_thread_and_reports_on_the_ui_thread(qtbot, tasks):
    seen: dict[str, str] = {}
    ui = threading.current_thread().name

    def where(lane: str) -> str:
        seen[lane] = threading.current_thread().name
        return lane

    answers: list[tuple[str, str]] = []
    for lane in (DB, NET):
        tasks.run(
            where,
            lambda r: answers.append((r, threading.current_thread().name)),
            args=(lane,),
            lane=lane,
        )
    qtbot.waitUntil(lambda: len(answers) == 2, timeout=5_000)
    assert seen[DB].startswith("peertrail-db") and seen[NET].startswith("peertrail-net")
    assert sorted(answers) == [(DB, ui), (NET, ui)]


def test_work_on_a_lane_runs_in_order(qtbot, tasks):
    order: list[int] = []
    for i in range(20):
        tasks.run(order.append, args=(i,))
    with qtbot.waitSignal(tasks.idle, timeout=5_000):
        pass
    assert order == list(range(20))


def test_a_waiting_network_lane_does_not_hold_the_database_lane(qtbot, tasks):
    release = threading.Event()
    net_done: list[str] = []
    tasks.run(lambda: release.wait(10) and "released", net_done.append, lane=NET)
    db_done: list[int] = []
    tasks.run(lambda: 42, db_done.append)
    qtbot.waitUntil(lambda: db_done == [42], timeout=5_000)  # answered while NET waits
    assert tasks.lane(NET).busy and not net_done
    release.set()
    qtbot.waitUntil(lambda: net_done == ["released"], timeout=5_000)


def test_the_network_lane_waits_for_the_database_lane_and_gets_its_answer(qtbot, tasks):
    def on_net() -> tuple[str, str]:
        return tasks.lane(DB).call(lambda: threading.current_thread().name), "net"

    got: list[tuple[str, str]] = []
    tasks.run(on_net, got.append, lane=NET)
    qtbot.waitUntil(lambda: bool(got), timeout=5_000)
    assert got[0][0].startswith("peertrail-db")
    qtbot.waitUntil(lambda: not tasks.busy, timeout=5_000)  # the call was counted, and ended


def test_errors_come_back_as_exceptions_on_the_ui_thread(qtbot, tasks):
    def boom() -> None:
        raise ValueError("invented")

    errors: list[BaseException] = []
    tasks.run(boom, None, errors.append, lane=NET)
    tasks.run(lambda: tasks.lane(DB).call(boom), None, errors.append, lane=NET)
    qtbot.waitUntil(lambda: len(errors) == 2, timeout=5_000)
    assert all(isinstance(e, ValueError) for e in errors)


def test_the_ui_thread_never_waits_and_a_lane_never_waits_for_itself(qtbot, tasks):
    with pytest.raises(RuntimeError, match="UI thread"):
        tasks.lane(DB).call(lambda: 1)
    errors: list[BaseException] = []
    tasks.run(lambda: tasks.lane(DB).call(lambda: 1), None, errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=5_000)
    assert isinstance(errors[0], RuntimeError) and "itself" in str(errors[0])


def test_a_closed_lane_refuses_work_and_the_replica_says_cancelled(qtbot, app_ctx):
    tasks = app_ctx.tasks
    tasks.lane(DB).shutdown(final=app_ctx.session.close)
    with pytest.raises(LaneClosed):
        tasks.run(lambda: 1)
    replica = LaneReplica(app_ctx, threading.Event())
    got: list[BaseException] = []
    tasks.run(lambda: replica.pending_count(), None, got.append, lane=NET)
    qtbot.waitUntil(lambda: bool(got), timeout=5_000)
    assert isinstance(got[0], SyncCancelled)


def test_a_cancelled_replica_touches_nothing(qtbot, app_ctx):
    cancelled = threading.Event()
    replica = LaneReplica(app_ctx, cancelled)
    got: list = []
    app_ctx.tasks.run(lambda: replica.pending_count(), got.append, got.append, lane=NET)
    qtbot.waitUntil(lambda: bool(got), timeout=5_000)
    assert isinstance(got[0], int)
    cancelled.set()
    app_ctx.tasks.run(lambda: replica.device_id, got.append, got.append, lane=NET)
    qtbot.waitUntil(lambda: len(got) == 2, timeout=5_000)
    assert isinstance(got[1], SyncCancelled)


def test_the_lane_replica_has_every_member_the_sync_client_uses():
    """sync.client.Replica is what SyncClient calls; LaneReplica spells each out, so
    a member added to the protocol fails here instead of in a sync."""
    from sync.client import Replica

    wanted = {n for n in vars(Replica) if not n.startswith("_")}
    assert wanted and wanted <= set(dir(LaneReplica))


def test_the_lane_replica_has_every_optional_member_the_client_looks_for():
    """SyncClient also uses members a replica may lack (audit anchoring, signature
    checks, self-healing); the desktop's replica must not lack any the vault has,
    or those features would silently switch off in the app. Only the vault's own
    clock is left out on purpose (the app uses the wall clock)."""
    import re
    from pathlib import Path

    import sync.client
    from app.store.replica import StoreReplica

    text = "\n".join(
        p.read_text(encoding="utf-8") for p in Path(sync.client.__file__).parent.glob("*.py")
    )
    used = set(re.findall(r"replica\.([a-z_]+)", text))
    used |= set(re.findall(r"(?:getattr|hasattr)\((?:self\.)?replica, \"([a-z_]+)\"", text))
    wanted = {n for n in used if hasattr(StoreReplica, n) or n == "signature_problems"}
    wanted -= {"os_clock_ms"}
    assert "replica_token" in wanted and "audit_head" in wanted
    assert wanted <= set(dir(LaneReplica)), wanted - set(dir(LaneReplica))
