"""A long sync in the window: the progress bar with changes, bytes and time left,
and the Stop button, which ends the sync after the request under way without
losing what the server acknowledged. The real server behind tests/netproxy.py
(a 400 ms round trip so a sync is several visible steps), a real vault, the
controller's database worker and network thread. No sleeps."""

from __future__ import annotations

from datetime import date

import pytest

import sync.client
from app.domain.records import Participant
from app.ui.sync.status_widget import SyncStatus
from app.ui.sync.sync_state import progress_text
from tests import test_ui_sync as ui_sync
from tests.netproxy import LinkShape
from tests.netproxy import Proxy
from tests.test_ui_sync import SYNC_TIMEOUT
from tests.test_ui_sync import enroll
from tests.test_ui_sync import on_db
from tests.ui_support import settle

server = ui_sync.server  # the same fixtures as the app's sync tests
ann = ui_sync.ann
controller = ui_sync.controller


@pytest.fixture
def slow_link(server, monkeypatch):
    # small first requests, so the sync of a few hundred participants is several
    monkeypatch.setattr(sync.client, "FIRST_REQUEST_BYTES", 2048)
    proxy = Proxy(server.port, LinkShape())
    yield proxy
    proxy.close()


def _people(qtbot, ctx, n: int) -> int:
    def add(repos) -> int:
        me = repos.store.user_id
        repos.participants.add_many(
            Participant(
                first_name=f"Prog{i}",
                last_name="Barperson",
                date_of_birth=date(1979, 5, 1 + i % 28),
                assigned_specialist_id=me,
                county="Cass",
            )
            for i in range(n)
        )
        return n

    return on_db(qtbot, ctx, add)


def _pending(qtbot, ctx) -> int:
    from app.services import syncing

    return on_db(qtbot, ctx, lambda repos: syncing.pending_count(repos.store))


@pytest.fixture
def slow_sync(qtbot, app_ctx, controller, server, ann, slow_link):
    """A controller enrolled as ann (through the slow link), 400 people waiting to be
    sent (three requests: a last part of more than a quarter of the one before is
    not carried with it, sync.client.pace), and the link slowed to 0.2 s each way."""
    c = controller(qtbot, app_ctx, progress_after_ms=0)
    server_url = server.url
    server.url = f"https://127.0.0.1:{slow_link.port}"  # enrol through the proxy
    try:
        enroll(qtbot, c, server, ann)
    finally:
        server.url = server_url
    _people(qtbot, app_ctx, 400)
    settle(qtbot, app_ctx)
    slow_link.shape.one_way_delay_s = 0.2
    return c


def test_a_long_sync_shows_changes_bytes_and_time_left(qtbot, app_ctx, slow_sync):
    c = slow_sync
    status = SyncStatus()
    qtbot.addWidget(status)
    status.set_controller(c)
    seen: list[tuple] = []

    def watch(state) -> None:
        if state.syncing and state.progress_done:
            seen.append(
                (
                    state.progress_done,
                    state.progress_total,
                    state.bytes_moved,
                    state.seconds_left,
                    status.progress_text.text(),
                    status._wanted.get(status.stop),
                )
            )

    c.state_changed.connect(watch)
    waiting = _pending(qtbot, app_ctx)
    with qtbot.waitSignal(c.finished, timeout=SYNC_TIMEOUT) as blk:
        assert c.sync_now()
    assert blk.args[0] is True, blk.args
    assert c.last_result.requests >= 3
    partial = [s for s in seen if s[0] < s[1]]
    assert partial, seen  # at least one step shown before the end
    done, total, moved, left, text, stop_shown = partial[0]
    assert total == waiting and moved > 0 and left is not None and left > 0
    assert f"{done:,} of {total:,} changes sent" in text and "KB" in text and "left" in text
    assert stop_shown
    assert not c.state.syncing and progress_text(c.state).startswith(f"{waiting:,} of")


def test_stop_keeps_what_was_acknowledged(qtbot, app_ctx, slow_sync):
    c = slow_sync
    waiting = _pending(qtbot, app_ctx)

    def stop_after_first_part(state) -> None:
        if state.syncing and 0 < state.progress_done < state.progress_total:
            c.stop()

    c.state_changed.connect(stop_after_first_part)
    with qtbot.waitSignal(c.finished, timeout=SYNC_TIMEOUT) as blk:
        assert c.sync_now()
    c.state_changed.disconnect(stop_after_first_part)
    assert blk.args[0] is False and "stopped the sync" in blk.args[1]
    assert c.state.error_code == "stopped"
    left = _pending(qtbot, app_ctx)
    assert 0 < left < waiting  # the acknowledged parts are out of the outbox
    with qtbot.waitSignal(c.finished, timeout=SYNC_TIMEOUT) as blk:
        assert c.sync_now()
    assert blk.args[0] is True, blk.args
    assert c.last_result.pushed == left  # only the rest was sent
    assert _pending(qtbot, app_ctx) == 0
