"""How many changes a request pushes: no runt request after a full one, and the
server's own limit (``X-Push-Limit``) learnt, kept and, when the server turns out
older than the vault remembers, forgotten.

Pace rules on their own (``_Pace.push_changes``), then the real server process on
127.0.0.1 with real SQLCipher vaults and the real client: enrolment and every
sync reply carry the server's limit and the vault keeps it; a small tail goes with
the request before it (one request where two went before); and against a server
that refuses more than MAX_PUSH_CHANGES and says no limit (an older server, made
by refusing such requests before they leave and hiding the header: the protocol
scaled down so a test holds a few dozen changes, not 20,000), a vault that
remembers a higher limit forgets it and still pushes everything.
"""

from __future__ import annotations

from typing import Any

import pytest

from sync.client import SyncClient
from sync.client import SyncError
from sync.client import _Pace
from sync.client import engine as client_engine
from sync.client import make_session
from sync.client import pace as client_pace
from sync.client.transport import Posted
from sync.protocol import MAX_PUSH_CHANGES
from sync.protocol import PUSH_CHANGES_ACCEPTED
from tests import test_sync_e2e as e2e
from tests.test_sync_e2e import _person

server = e2e.server  # the same fixtures as the end-to-end tests
laptops = e2e.laptops


def _pace(planned: int, push_limit: int = MAX_PUSH_CHANGES, accepts: int = MAX_PUSH_CHANGES):
    """A pace whose byte budget plans ``planned`` changes (3 bytes a change)."""
    pace = _Pace(push_limit, 20000, first_bytes=3 * planned)
    pace.limit(push_limit, 20000, accepts)
    return pace


def test_a_small_tail_goes_with_the_request_before_it() -> None:
    pace = _pace(4000)
    assert pace.push_changes() == 4000  # nothing known of what waits
    assert pace.push_changes(3000) >= 3000  # all that waits
    assert pace.push_changes(5000) == 5000  # a tail of a quarter: carried
    assert pace.push_changes(5001) == 4000  # more: a request of its own
    assert pace.push_changes(9000) == 4000


def test_the_tail_stays_within_what_the_server_takes() -> None:
    older = _pace(30000)  # an older server (no X-Push-Limit): MAX_PUSH_CHANGES
    assert older.push_changes(22059) == MAX_PUSH_CHANGES
    newer = _pace(30000, accepts=PUSH_CHANGES_ACCEPTED)
    assert newer.push_changes(22059) == 22059  # 1,000 new participants: one request
    assert newer.push_changes(PUSH_CHANGES_ACCEPTED) == PUSH_CHANGES_ACCEPTED
    assert newer.push_changes(PUSH_CHANGES_ACCEPTED + 1) == MAX_PUSH_CHANGES
    smaller = _pace(30000, accepts=8000)  # a server that says it takes fewer
    assert smaller.push_changes() == 8000 and smaller.push_changes(9000) == 8000
    # nothing the server says lifts a request past what this client knows is safe
    huge = _pace(30000, accepts=10**9)
    assert huge.accepts == PUSH_CHANGES_ACCEPTED


def test_a_client_set_to_a_smaller_limit_keeps_to_it() -> None:
    pace = _pace(30000, push_limit=5, accepts=PUSH_CHANGES_ACCEPTED)
    assert pace.push_changes(6) == 5 and pace.push_changes(5) == 5


def test_no_tail_on_a_link_that_keeps_going_down() -> None:
    pace = _pace(4000, accepts=PUSH_CHANGES_ACCEPTED)
    pace.dropped(0, 0)  # the link went down: sizes follow the time it stays up
    assert pace.keeps_time
    planned = pace.push_changes()
    assert pace.push_changes(planned + 1) == planned


def _sync(lap, per_change: float | None = None, **kw: Any):
    session = make_session(lap.fingerprint, retries=0)
    try:
        token = lap.replica.server()["token"]
        client = SyncClient(lap.replica, lap.url, token, session=session, **kw)
        if per_change is not None:  # bytes a change, as if measured before
            client.pace.per_change = per_change
        return client.sync()
    finally:
        session.close()


def _fill(lap, people: int) -> int:
    for i in range(people):
        _person(lap, f"Tai{i}")
    return lap.replica.pending_count()


def test_the_server_says_what_a_request_may_push_and_the_vault_keeps_it(server, laptops):
    a = laptops("a1", "ann")
    assert a.replica.push_limit == PUSH_CHANGES_ACCEPTED  # from the enrolment reply
    a.replica.keep_push_limit(0)
    _fill(a, 2)
    _sync(a)
    assert a.replica.push_limit == PUSH_CHANGES_ACCEPTED  # from a sync reply


def test_a_tail_that_would_be_a_runt_request_goes_in_the_first(server, laptops):
    a = laptops("a1", "ann")
    waiting = _fill(a, 30)
    # a first request planned at ~85 % of what waits: the rest goes with it
    r = _sync(a, per_change=20.0, first_bytes=int(20 * waiting * 0.85))
    assert r.pushed == waiting and r.requests == 1
    b = laptops("b1", "bob")
    waiting = _fill(b, 30)
    # planned at 70 %: what is left (30 %) is more than a quarter, a request of its own
    r = _sync(b, per_change=20.0, first_bytes=int(20 * waiting * 0.7))
    assert r.pushed == waiting and r.requests == 2


class _OlderServer:
    """Makes ``client`` see an older server: no X-Push-Limit on its replies, and a
    request of more than MAX_PUSH_CHANGES changes refused (422 ``invalid``, as its
    request model refuses it) before it leaves."""

    def __init__(self, client: SyncClient) -> None:
        self.sizes: list[int] = []
        call = client._call

        def older(path: str, payload: dict[str, Any], model: Any) -> Posted:
            if path != "/v1/sync":
                return call(path, payload, model)
            size = sum(len(r["fields"]) for r in payload["records"])
            self.sizes.append(size)
            if size > client_engine.MAX_PUSH_CHANGES:
                return Posted(error=SyncError("not a valid SyncRequest", "invalid"), answered=True)
            out = call(path, payload, model)
            out.push_limit = None
            return out

        client._call = older  # type: ignore[method-assign]


@pytest.fixture()
def small_protocol(monkeypatch) -> tuple[int, int]:
    """The protocol's push limits scaled down (40 planned, 50 taken) on the client."""
    planned, taken = 40, 50
    for module in (client_engine, client_pace):
        monkeypatch.setattr(module, "MAX_PUSH_CHANGES", planned)
    monkeypatch.setattr(client_pace, "PUSH_CHANGES_ACCEPTED", taken)
    return planned, taken


def test_a_remembered_limit_an_older_server_refuses_is_forgotten(server, laptops, small_protocol):
    planned, taken = small_protocol
    a = laptops("a1", "ann")
    waiting = _fill(a, 2)
    while waiting <= planned:
        waiting = _fill(a, 1)
    assert waiting <= taken, "the test needs a push between the two limits"
    a.replica.keep_push_limit(taken)  # as a newer server once said
    session = make_session(a.fingerprint, retries=0)
    try:
        client = SyncClient(a.replica, a.url, a.replica.server()["token"], session=session)
        older = _OlderServer(client)
        r = client.sync()
    finally:
        session.close()
    assert older.sizes[0] == waiting  # sent whole, as the remembered limit allows
    assert older.sizes[1] <= planned and sum(older.sizes[1:]) == waiting
    assert r.pushed == waiting and a.replica.pending_count() == 0
    assert a.replica.push_limit == 0  # an older server: nothing said, nothing kept
