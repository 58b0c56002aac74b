"""The pipelined sync (sync.client.pipeline): the next request goes out while a
reply is applied, and still nothing is lost or reordered.

Real server process on 127.0.0.1, real SQLCipher vaults, the real client engine;
cuts are made on the wire (tests/netproxy.py takes the link down at a random
moment) or by a vault that fails while applying a reply. What is checked:

* the pipeline is really used: a request is sent before the reply before it
  has been applied;
* the vault's cursor never runs ahead of what it committed: every page is
  applied on top of exactly the cursor its request carried, in order;
* a cut at a random point, or a failure while applying a page with the next
  request on the wire, loses nothing: the next sync (or the same one) gets
  everything there, without a reset, and both laptops end equal.
"""

from __future__ import annotations

import bz2
import gzip
import json
import random
import threading
import time
from typing import Any

import pytest

from app.store.digest import state_digest
from sync.client import SyncClient
from sync.client import make_session
from tests import test_sync_e2e as e2e
from tests.netproxy import LinkShape
from tests.netproxy import Proxy
from tests.test_sync_resume import _caseload
from tests.test_sync_resume import _no_duplicates

server = e2e.server  # the same fixtures as the end-to-end tests
laptops = e2e.laptops


_SESSIONS: list[Any] = []


@pytest.fixture(autouse=True)
def _close_sessions(server):
    """Each test's client sessions are closed after it: a keep-alive connection
    left open holds the server's shutdown up to its 15 s timeout."""
    yield
    while _SESSIONS:
        _SESSIONS.pop().close()


def _client(lap, url: str, retries: int = 6, **kw: Any) -> SyncClient:
    session = make_session(lap.fingerprint, retries=retries, backoff=0)
    _SESSIONS.append(session)
    return SyncClient(lap.replica, url, lap.replica.server()["token"], session=session, **kw)


class _Watch:
    """Records, in order, each sync request's cursor (read from its body on the
    wire's thread) and each reply applied (the vault's cursor before and after,
    and how many requests had been sent by the time it was applied)."""

    def __init__(self, client: SyncClient, wait_ahead_s: float = 0.0) -> None:
        # wait_ahead_s: apply reply k only once request k+1 has left, or that long
        # passed (the last reply has none): a pipeline that sends ahead is then seen
        # doing it however loaded the machine is, and one that does not is caught.
        self.lock = threading.Condition()
        self.requests: list[int] = []  # the cursor each /v1/sync request carried
        self.answered: list[int] = []  # ... of those answered (200), in order
        self.applied: list[tuple[int, int, int]] = []  # (cursor before, after, sent then)
        self.replica = client.replica
        post, apply = client.session.post, self.replica.apply_response

        def watched_post(url: str, data: bytes = b"", headers=None, **kw: Any):
            if url.endswith("/v1/sync"):
                coding = (headers or {}).get("Content-Encoding")
                raw = bz2.decompress(data) if coding == "bzip2" else gzip.decompress(data)
                cursor = json.loads(raw)["cursor"]
                with self.lock:
                    self.requests.append(cursor)
                    self.lock.notify_all()
                r = post(url, data=data, headers=headers, **kw)
                if r.status_code == 200:
                    with self.lock:
                        self.answered.append(cursor)
                return r
            return post(url, data=data, headers=headers, **kw)

        def watched_apply(resp):
            if wait_ahead_s:
                with self.lock:
                    k = len(self.applied)
                    self.lock.wait_for(lambda: len(self.requests) > k + 1, wait_ahead_s)
            before = self.replica.cursor
            counts = apply(resp)
            with self.lock:
                self.applied.append((before, self.replica.cursor, len(self.requests)))
            return counts

        client.session.post = watched_post
        self.replica.apply_response = watched_apply

    def restore(self) -> None:
        del self.replica.apply_response  # the instance attribute: the method again

    def check_order(self) -> None:
        """The k-th page applied went on top of exactly the cursor its request (the
        k-th answered) carried, and the vault's cursor moved only to where that page
        ended: never past a page it has not committed."""
        for k, (before, after, _sent) in enumerate(self.applied):
            assert before == self.answered[k], (k, self.applied, self.answered)
            assert after >= before
            if k + 1 < len(self.applied):
                assert self.applied[k + 1][0] == after


def test_the_next_request_goes_out_before_a_reply_is_applied(server, laptops):
    a1, a2 = laptops("ann1", "ann"), laptops("ann2", "ann")
    _caseload(a1, 60)
    waiting = a1.replica.pending_count()
    client = _client(a1, a1.url, push_limit=150)
    watch = _Watch(client, wait_ahead_s=2.0)
    r = client.sync()
    watch.restore()
    assert r.pushed == waiting and a1.replica.pending_count() == 0
    assert r.requests >= 6
    # sent ahead: when reply k was applied, request k+2 (0-based k+1) was out already
    ahead = sum(1 for k, (_b, _a, sent) in enumerate(watch.applied) if sent > k + 1)
    assert ahead >= len(watch.applied) // 2, watch.applied
    watch.check_order()

    puller = _client(a2, a2.url, pull_limit=200)
    watch = _Watch(puller, wait_ahead_s=2.0)
    pulled = puller.sync()
    watch.restore()
    assert pulled.pulled >= waiting and pulled.requests >= 6
    ahead = sum(1 for k, (_b, _a, sent) in enumerate(watch.applied) if sent > k + 1)
    assert ahead >= len(watch.applied) // 2, watch.applied
    watch.check_order()
    assert state_digest(a1.store) == state_digest(a2.store)
    assert pulled.digest_ok is True and a2.sync().digest_ok is True


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_a_pipelined_sync_cut_at_random_points_loses_nothing(server, laptops, seed):
    """The link goes down at random moments during a pipelined push and during a
    pipelined first pull (every open connection cut, whatever is on the way
    lost: a request on its way, a reply on its way, a request sent ahead)."""
    rng = random.Random(seed)
    a1, a2 = laptops("ann1", "ann"), laptops("ann2", "ann")
    _caseload(a1, 60)
    waiting = a1.replica.pending_count()
    proxy = Proxy(server.port, LinkShape(one_way_delay_s=0.01, bytes_per_s=400_000))
    url = f"https://127.0.0.1:{proxy.port}"
    stop = threading.Event()

    def cutter() -> None:
        while not stop.wait(rng.uniform(0.05, 0.6)):
            proxy.drop_all()

    threading.Thread(target=cutter, daemon=True).start()
    try:
        client = _client(a1, url, retries=30, push_limit=120)
        watch = _Watch(client)
        r = client.sync()
        watch.restore()
        watch.check_order()
        puller = _client(a2, url, retries=30, pull_limit=150)
        watch = _Watch(puller)
        pulled = puller.sync()
        watch.restore()
        watch.check_order()
    finally:
        stop.set()
        proxy.close()
    assert r.pushed == waiting and a1.replica.pending_count() == 0
    assert pulled.pulled >= waiting
    _no_duplicates(server)
    assert state_digest(a1.store) == state_digest(a2.store)
    assert a1.sync().digest_ok is True and a2.sync().digest_ok is True
    assert state_digest(a1.store) == state_digest(a2.store)


class _Broken(Exception):
    pass


@pytest.mark.parametrize("fail_at", [1, 3])
def test_a_vault_failing_to_apply_a_page_with_the_next_request_out(server, laptops, fail_at):
    """Applying reply ``fail_at`` fails while the request after it is on the wire
    (or already answered): the vault keeps the cursor of the page before, the
    outbox keeps what was not applied, and the next sync gets everything with no
    reset (the vault kept the token of the reply it failed to apply, so it is the
    server's recent copy of itself, not an older one)."""
    a1, a2 = laptops("ann1", "ann"), laptops("ann2", "ann")
    _caseload(a1, 60)
    a1.sync()
    _caseload(a2, 15)  # a2 has something to push too (more than 4 requests of 40)
    a2_waiting = a2.replica.pending_count()
    puller = _client(a2, a2.url, pull_limit=150, push_limit=40)
    watch = _Watch(puller)
    real = a2.replica.apply_response
    calls = {"n": 0, "cursor": None}

    def failing(resp):
        if calls["n"] == fail_at:
            calls["cursor"] = a2.replica.cursor
            time.sleep(0.3)  # the request sent ahead reaches the server meanwhile
            raise _Broken()
        calls["n"] += 1
        return real(resp)

    a2.replica.apply_response = failing
    with pytest.raises(_Broken):
        puller.sync()
    del a2.replica.apply_response
    assert len(watch.requests) == fail_at + 2  # the one that failed and the one ahead
    assert a2.replica.cursor == calls["cursor"] == watch.requests[fail_at]
    # what the applied replies acknowledged left the outbox; the rest waits
    assert 0 < a2.replica.pending_count() <= a2_waiting - fail_at
    r = a2.sync()
    assert r.healed == "" and r.digest_ok is True
    assert a2.replica.pending_count() == 0
    a1.sync()
    assert state_digest(a1.store) == state_digest(a2.store)
    _no_duplicates(server)


@pytest.mark.parametrize("cut_request", [2, 4])
def test_the_link_cut_while_the_request_sent_ahead_is_on_the_wire(server, laptops, cut_request):
    """The link goes down while a request sent ahead (before the reply before it
    was applied) is on the wire: that reply is still applied, the cut request is
    tried again (smaller), and nothing is lost or applied twice."""
    a1, a2 = laptops("ann1", "ann"), laptops("ann2", "ann")
    _caseload(a1, 40)
    waiting = a1.replica.pending_count()
    proxy = Proxy(server.port, LinkShape(one_way_delay_s=0.05, bytes_per_s=200_000))
    try:
        client = _client(a1, f"https://127.0.0.1:{proxy.port}", push_limit=150)
        watch = _Watch(client)
        inner = client.session.post
        sent_ahead = threading.Event()
        ahead: list[bool] = []

        def cutting(url: str, **kw: Any):
            if url.endswith("/v1/sync") and len(watch.requests) == cut_request:
                sent_ahead.set()
                threading.Timer(0.03, proxy.drop_all).start()  # while it is on its way
            return inner(url, **kw)

        applying = a1.replica.apply_response  # the watch's

        def holding(resp):
            # Reply n is applied only once request n+1 has left (or 10 s passed):
            # a pipeline that sends ahead always gets there first, however loaded
            # the machine, and one that does not is caught.
            if len(watch.applied) + 1 == cut_request:
                ahead.append(sent_ahead.wait(10))
            return applying(resp)

        client.session.post = cutting
        a1.replica.apply_response = holding
        r = client.sync()
        watch.restore()
    finally:
        proxy.close()
    # the cut request had been sent before the reply before it was applied
    assert ahead == [True], (ahead, watch.applied)
    assert r.drops >= 1 and proxy.drops >= 1
    watch.check_order()
    assert r.pushed == waiting and a1.replica.pending_count() == 0
    _no_duplicates(server)
    a2.sync()
    assert state_digest(a1.store) == state_digest(a2.store)
