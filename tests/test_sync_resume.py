"""A sync over a link that keeps going down finishes and loses nothing.

The real server process on 127.0.0.1, real SQLCipher vaults and the real client
engine; between them tests/netproxy.py takes the whole link down (every open
connection cut, whatever is on the way lost) every N bytes or every N seconds.
The client sizes its requests to what gets through (``sync.client._Pace``: it
starts at ``first_bytes``, doubles after an acknowledged request, quarters after
a cut one) and keeps every acknowledged part, so it gets there in one sync."""

from __future__ import annotations

import hashlib

import pytest

from app.store.digest import state_digest
from sync.client import SyncClient
from sync.client import SyncError
from sync.client import _Pace
from sync.client import make_session
from tests import test_sync_e2e as e2e
from tests.netproxy import LinkShape
from tests.netproxy import Proxy
from tests.test_sync_e2e import _note
from tests.test_sync_e2e import _person

server = e2e.server  # the same fixtures as the end-to-end tests
laptops = e2e.laptops


def _client(lap, url: str, retries: int, first_bytes: int | None = None) -> SyncClient:
    kw = {} if first_bytes is None else {"first_bytes": first_bytes}
    return SyncClient(
        lap.replica,
        url,
        lap.replica.server()["token"],
        session=make_session(lap.fingerprint, retries=retries, backoff=0),
        **kw,
    )


def _caseload(lap, people: int) -> None:
    for i in range(people):
        p, g = _person(lap, f"Dro{i}")
        # text that does not compress away: each note adds a few hundred bytes
        words = hashlib.sha256(f"note {i}".encode()).hexdigest()
        _note(lap, p, g, text=f"Practised the interview ({words} {words[::-1]}).")


def _no_duplicates(server) -> None:
    stamps = [row[1] for row in server.rows("changes")]
    assert len(stamps) == len(set(stamps))


def test_push_and_first_pull_finish_when_the_link_drops_every_few_kilobytes(server, laptops):
    a1, a2 = laptops("ann1", "ann"), laptops("ann2", "ann")
    _caseload(a1, 100)
    waiting = a1.replica.pending_count()
    assert waiting > 1500
    # The link carries 14 KB (the TLS handshake included), then goes down: the whole
    # outbox in one request (tens of KB) can never get through.
    proxy = Proxy(server.port, LinkShape(drop_every_bytes=14_000))
    url = f"https://127.0.0.1:{proxy.port}"
    try:
        pushed = _client(a1, url, retries=10).sync()
        assert proxy.drops >= 2 and pushed.drops >= 1
        assert pushed.requests >= 2  # in parts, each kept when acknowledged
        assert pushed.pushed == waiting and not pushed.rejected
        assert a1.replica.pending_count() == 0
        drops_before = proxy.drops
        pulled = _client(a2, url, retries=10).sync()
        assert proxy.drops > drops_before and pulled.drops >= 1
        assert pulled.pulled >= waiting
    finally:
        proxy.close()
    _no_duplicates(server)
    a1.sync()
    a2.sync()
    assert state_digest(a1.store) == state_digest(a2.store)


def test_acknowledged_parts_are_kept_when_the_sync_gives_up(server, laptops):
    """Too many cuts in a row end the sync with an error, but every part the server
    acknowledged before is out of the outbox and on the server; the next sync
    sends only the rest."""
    a1, a2 = laptops("ann1", "ann"), laptops("ann2", "ann")
    _caseload(a1, 200)
    waiting = a1.replica.pending_count()
    # 24 KB a window: the handshake and the first small parts get through, the
    # whole outbox (well over 24 KB) cannot
    proxy = Proxy(server.port, LinkShape(drop_every_bytes=24_000))
    try:
        with pytest.raises(SyncError) as e:
            # small first requests, and no second try: it stops at the first cut
            _client(a1, f"https://127.0.0.1:{proxy.port}", retries=0, first_bytes=2048).sync()
        assert e.value.code in ("offline", "bad_reply")
    finally:
        proxy.close()
    left = a1.replica.pending_count()
    assert 0 < left < waiting  # some parts were acknowledged and kept
    on_server = len(server.rows("changes"))
    assert on_server >= waiting - left
    r = a1.sync()
    assert r.pushed == left  # the rest only (a part whose reply was lost: accepted again)
    assert a1.replica.pending_count() == 0
    _no_duplicates(server)
    a2.sync()
    assert state_digest(a1.store) == state_digest(a2.store)


def test_a_timed_drop_on_a_slow_link(server, laptops):
    """The link (100 KB/s) goes down every 0.6 s: a first request sized for an
    unknown link is cut, and the sync settles to requests that fit."""
    a1 = laptops("ann1", "ann")
    _caseload(a1, 60)
    waiting = a1.replica.pending_count()
    proxy = Proxy(server.port, LinkShape(bytes_per_s=100_000, drop_every_s=0.6))
    try:
        r = _client(a1, f"https://127.0.0.1:{proxy.port}", retries=12).sync()
    finally:
        proxy.close()
    assert r.pushed == waiting and a1.replica.pending_count() == 0
    _no_duplicates(server)


class _Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _request(pace: _Pace, clock: _Clock, seconds: float, ok: bool, sent: int = 0) -> None:
    pace.begin()
    clock.t += seconds
    if ok:
        pace.arrived()
        pace.acknowledged(0, sent, 0, 0)
    else:
        pace.dropped(0, sent)


def test_pace_grows_while_requests_succeed_and_shrinks_after_a_drop() -> None:
    clock = _Clock()
    pace = _Pace(push_limit=20000, pull_limit=20000, first_bytes=8192, clock=clock)
    first = pace.push_changes()
    pace.begin()
    clock.t += 1
    pace.acknowledged(changes=first, sent=first * 8, fields=1000, received=4000)
    assert pace.per_change == 8 and pace.per_field == 4
    grown = pace.push_changes()
    assert grown == int(2 * 8192 / 8)
    _request(pace, clock, 3.0, ok=False, sent=grown * 8)
    # the first cut: a quarter, and that is the first size after a reconnect
    assert pace.fit == 2 * 8192 / 4 and pace.push_changes() == int(2 * 8192 / 8 / 4)
    # up 10 s from the reconnect to the next cut (a request that got through first)
    _request(pace, clock, 4.0, ok=True, sent=4096)
    assert pace.fit == 4096 * 1.25  # it crossed in one up period: the next one tries more
    _request(pace, clock, 6.0, ok=False)
    assert pace.uptime == 10.0
    fit = pace.fit
    # right after the reconnect: the whole fit; later in the period, its share
    assert pace._bytes() == fit
    _request(pace, clock, 2.0, ok=True, sent=int(fit))
    whole = pace.fit
    assert whole == fit * 1.25
    early = pace._bytes()
    clock.t += 4.0
    late = pace._bytes()
    assert whole > early > late
    clock.t += 4.0  # past the time the link is expected to stay up: the smallest
    assert pace._bytes() == 1024
    _request(pace, clock, 0.5, ok=False)
    _request(pace, clock, 1.0, ok=False, sent=int(whole))  # the first request cut: smaller
    assert pace.fit == pytest.approx(whole * 0.6, rel=1e-3)
    for _ in range(20):
        pace.dropped(0, 0)
    assert pace.push_changes() >= 1 and pace.pull_fields() >= 1
    # the link stays up (more than three up-times): sizes follow the bytes again
    for _ in range(40):
        _request(pace, clock, 2.0, ok=True, sent=1000)
    assert pace.fit is None
    assert pace.push_changes() == 20000 and pace.pull_fields() == 20000


def test_a_push_through_a_slow_link_that_drops_faster_than_small_requests_cross(server, laptops):
    """A link (400 ms round trip, 24 KB/s) that goes down every 2 s, the ratios of
    the slow-drop benchmark (2 s round trip, a drop every 10 s) scaled down: after
    the handshake a few round trips fit between two drops, so sizes must follow
    the time the link stays up, not only bytes. Quartering the size after each
    cut and doubling it after each success (the pace before) settled on small
    requests whose round trips ate each up period; the pace now sends one request
    as big as crosses right after each reconnect. The push finishes in one sync,
    within a bounded number of link drops, matches the server (no repair) and
    loses nothing."""
    a1, a2 = laptops("ann1", "ann"), laptops("ann2", "ann")
    _caseload(a1, 300)
    waiting = a1.replica.pending_count()
    proxy = Proxy(server.port, LinkShape(one_way_delay_s=0.2, bytes_per_s=24_000, drop_every_s=2.0))
    try:
        r = _client(a1, f"https://127.0.0.1:{proxy.port}", retries=6).sync()
        periods = proxy.drops
    finally:
        proxy.close()
    print(f"pushed {r.pushed} of {waiting} in {r.requests} requests, {periods} link drops")
    assert r.pushed == waiting and not r.rejected and a1.replica.pending_count() == 0
    assert r.digest_ok is True and r.repaired == 0
    assert periods <= PERIODS_BOUND and r.requests <= PERIODS_BOUND
    _no_duplicates(server)
    a2.sync()
    a1.sync()
    assert state_digest(a1.store) == state_digest(a2.store)


#: Link drops (up periods of 2 s) the push may take, and acknowledged requests:
#: 3-6 drops and 3-4 requests with the pace that keeps time, 10 drops and 13
#: requests with the pace before (measured on this machine, 2 cores under load).
PERIODS_BOUND = 8


def test_a_repair_whose_reply_cannot_cross_does_not_undo_the_sync(server, laptops):
    """The repair's first step asks for every record's digest in one reply, which
    cannot be made smaller; on a link that cuts every reply over a few kilobytes
    it never crosses. The exchange before it was acknowledged part by part, so
    the sync ends (it does not fail): nothing is waiting, the server has it all,
    and the result says this laptop could not be checked (the next sync checks)."""
    a1 = laptops("ann1", "ann")
    _caseload(a1, 150)
    a1.sync()
    assert a1.replica.pending_count() == 0
    p, _g = _person(a1, "Late")  # something still to send
    waiting = a1.replica.pending_count()
    a1.replica.set_full_pull(True)  # a re-pull, and a repair after it
    proxy = Proxy(server.port, LinkShape(cut_downstream_after=9_000))
    try:
        r = _client(a1, f"https://127.0.0.1:{proxy.port}", retries=3).sync()
    finally:
        proxy.close()
    assert r.pushed == waiting and a1.replica.pending_count() == 0
    assert r.digest_ok is False and "still differs" in r.report()
    assert p.id in {row[0] for row in server.rows("field_state")}
    assert a1.sync().digest_ok is not False  # on a good link the check passes again


def test_a_cut_link_that_keeps_going_down_is_tried_again_at_once(monkeypatch) -> None:
    """Backing off after a drop spends the time a dropping link is up (each try
    starts later in the up period, so a smaller request is cut again, until the
    sync gives up): once the link has been seen staying up for seconds between
    cuts, a cut connection is tried again at once. A link that is down (each try
    cut at once), a busy or a failing server is still waited for."""
    from sync.client import SyncResult
    from sync.client import engine as client_engine

    waits: list[float] = []
    monkeypatch.setattr(client_engine.time, "sleep", waits.append)
    session = make_session(retries=8, backoff=1.0)
    client = SyncClient(object(), "https://127.0.0.1:9", "token", session=session)
    result = SyncResult()

    def drops(code: str, n: int, up_s: float) -> list[float]:
        """``n`` requests in a row, each cut ``up_s`` seconds after it began."""
        waits.clear()
        seen = 0
        for _ in range(n):
            client.pace.begin()
            clock.t += up_s
            seen = client._after_drop(SyncError("cut", code), seen, result)
            client.pace.dropped(0, 4096)
        return list(waits)

    clock = _Clock()
    client.pace = _Pace(20_000, 20_000, 64 * 1024, clock=clock)
    assert drops("offline", 4, up_s=0.05) == [2.0, 4.0, 8.0]  # down: backing off
    clock = _Clock()
    client.pace = _Pace(20_000, 20_000, 64 * 1024, clock=clock)
    assert drops("offline", 3, up_s=9.0) == [2.0]  # its up time not known yet
    assert drops("offline", 3, up_s=9.0) == []  # up 9 s between cuts: at once
    assert drops("busy", 3, up_s=9.0) == [2.0, 4.0]  # a busy server is waited for
    with pytest.raises(SyncError):  # and the tries in a row are still counted
        drops("offline", 9, up_s=9.0)
