"""The hybrid logical clock that stamps every change (sync/hlc.py)."""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.hlc import MAX_COUNTER
from sync.hlc import ClockError
from sync.hlc import HybridLogicalClock
from sync.hlc import Stamp

DEV = "devaaaa"
OTHER = "devbbbb"
MAX_WALL = 16**12 - 1

device_st = st.from_regex(r"[a-z2-7]{4,32}", fullmatch=True)
wall_st = st.integers(min_value=0, max_value=2**44)  # far beyond today, well inside 12 hex digits
stamp_st = st.builds(Stamp, wall_st, st.integers(min_value=0, max_value=MAX_COUNTER - 1), device_st)


def frozen(ms: int) -> Callable[[], int]:
    return lambda: ms


def scripted(readings: list[int]) -> Callable[[], int]:
    """A wall clock that returns the given readings, then repeats the last one."""
    it: Iterator[int] = iter(readings)
    last = [readings[-1] if readings else 0]

    def wall() -> int:
        with contextlib.suppress(StopIteration):
            last[0] = next(it)
        return last[0]

    return wall


def key(text: str) -> tuple[int, int, str]:
    s = Stamp.parse(text)
    return (s.wall_ms, s.counter, s.device)


# --- format ---


def test_stamp_text_format() -> None:
    assert str(Stamp(1, 2, DEV)) == "000000000001.0002.devaaaa"
    assert str(Stamp(MAX_WALL, MAX_COUNTER, DEV)) == "ffffffffffff.ffff.devaaaa"
    assert Stamp.parse("0000000000ff.00a0.devaaaa") == Stamp(255, 160, DEV)


def test_real_wall_clock_stamps_look_like_now() -> None:
    clock = HybridLogicalClock(DEV)
    before = time.time_ns() // 1_000_000
    s = Stamp.parse(clock.now())
    after = time.time_ns() // 1_000_000
    assert before <= s.wall_ms <= after
    assert s.device == DEV


@given(stamp_st)
def test_parse_round_trip(s: Stamp) -> None:
    assert Stamp.parse(str(s)) == s


@given(stamp_st, stamp_st)
def test_string_order_is_wall_counter_device_order(a: Stamp, b: Stamp) -> None:
    ta = (a.wall_ms, a.counter, a.device)
    tb = (b.wall_ms, b.counter, b.device)
    assert (str(a) < str(b)) == (ta < tb)
    assert (str(a) == str(b)) == (ta == tb)
    assert (a < b) == (ta < tb)


@given(stamp_st, device_st, device_st)
def test_string_order_with_same_wall_and_counter(s: Stamp, d1: str, d2: str) -> None:
    a, b = Stamp(s.wall_ms, s.counter, d1), Stamp(s.wall_ms, s.counter, d2)
    assert (str(a) < str(b)) == (d1 < d2)


# --- monotonic under any wall clock ---


def test_frozen_wall_clock_still_increases() -> None:
    clock = HybridLogicalClock(DEV, wall=frozen(1_700_000_000_000))
    stamps = [clock.now() for _ in range(1000)]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)
    assert [Stamp.parse(s).counter for s in stamps[:3]] == [0, 1, 2]


def test_backwards_wall_clock_still_increases() -> None:
    readings = [5_000, 4_000, 3_000, 5_000, 1, 0, 5_001, 5_001, 2_000]
    clock = HybridLogicalClock(DEV, wall=scripted(readings))
    stamps = [clock.now() for _ in readings]
    assert all(a < b for a, b in itertools.pairwise(stamps))
    walls = [Stamp.parse(s).wall_ms for s in stamps]
    assert walls == [5_000, 5_000, 5_000, 5_000, 5_000, 5_000, 5_001, 5_001, 5_001]


def test_counter_resets_when_the_wall_clock_moves_on() -> None:
    clock = HybridLogicalClock(DEV, wall=scripted([10, 10, 10, 11]))
    assert [key(clock.now())[:2] for _ in range(4)] == [(10, 0), (10, 1), (10, 2), (11, 0)]


@given(st.lists(wall_st, min_size=1, max_size=60))
def test_stamps_strictly_increase_and_never_lag_the_wall(readings: list[int]) -> None:
    clock = HybridLogicalClock(DEV, wall=scripted(readings))
    prev = ""
    for r in readings:
        s = clock.now()
        assert s > prev
        if prev:
            assert key(s) > key(prev)
        assert Stamp.parse(s).wall_ms >= r
        assert clock.last == s
        prev = s


# --- observe ---


def test_observe_a_stamp_from_the_future() -> None:
    clock = HybridLogicalClock(DEV, wall=frozen(1_000))
    remote = str(Stamp(9_000, 7, OTHER))
    clock.observe(remote)
    s = clock.now()
    assert s > remote
    assert key(s)[:2] == (9_000, 8)


def test_observe_same_wall_and_counter_from_a_later_sorting_device() -> None:
    clock = HybridLogicalClock("aaaa", wall=frozen(1_000))
    mine = clock.now()
    remote = str(Stamp(1_000, key(mine)[1], "zzzz"))
    assert remote > mine
    clock.observe(remote)
    assert clock.now() > remote


def test_observe_an_old_stamp_does_not_move_the_clock_back() -> None:
    clock = HybridLogicalClock(DEV, wall=frozen(5_000))
    a = clock.now()
    clock.observe(str(Stamp(10, 0, OTHER)))
    assert clock.last == a
    assert clock.now() > a


def test_observe_with_a_full_counter_borrows_the_next_millisecond() -> None:
    clock = HybridLogicalClock(DEV, wall=frozen(1_000))
    remote = str(Stamp(2_000, MAX_COUNTER, OTHER))
    clock.observe(remote)
    s = clock.now()
    assert s > remote
    assert key(s)[:2] == (2_001, 0)


@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("now"), wall_st),
            st.tuples(st.just("observe"), stamp_st),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_every_stamp_is_greater_than_all_issued_and_observed(ops: list[tuple]) -> None:
    wall = [0]
    clock = HybridLogicalClock(DEV, wall=lambda: wall[0])
    high = ""  # the greatest stamp issued or observed so far
    for op, arg in ops:
        if op == "now":
            wall[0] = arg
            s = clock.now()
            assert s > high
            assert Stamp.parse(s).device == DEV
            high = s
        else:
            clock.observe(str(arg))
            high = max(high, str(arg))


# --- restart ---


def test_restart_from_last_stays_monotonic() -> None:
    first = HybridLogicalClock(DEV, wall=frozen(50_000))
    issued = [first.now() for _ in range(5)]
    saved = first.last
    assert saved == issued[-1]
    # the machine's clock went back an hour while the app was closed
    second = HybridLogicalClock(DEV, last=saved, wall=frozen(50_000 - 3_600_000))
    assert second.last == saved
    nxt = second.now()
    assert nxt > saved
    assert key(nxt)[:2] == (50_000, 5)


@given(stamp_st, wall_st)
def test_restart_from_any_last_stamp(last: Stamp, wall: int) -> None:
    saved = str(Stamp(last.wall_ms, last.counter, DEV))
    clock = HybridLogicalClock(DEV, last=saved, wall=frozen(wall))
    a, b = clock.now(), clock.now()
    assert saved < a < b


def test_restart_after_observing_keeps_the_observed_high_mark() -> None:
    first = HybridLogicalClock(DEV, wall=frozen(1_000))
    remote = str(Stamp(9_999, 3, OTHER))
    first.observe(remote)
    second = HybridLogicalClock(DEV, last=first.last, wall=frozen(1_000))
    assert second.now() > remote


def test_no_last_starts_from_zero() -> None:
    clock = HybridLogicalClock(DEV, wall=frozen(0))
    assert clock.last == "000000000000.0000.devaaaa"
    s = clock.now()
    assert s == clock.last
    assert s > "000000000000.0000.devaaaa"


# --- counter overflow ---


def test_counter_overflow_borrows_the_next_millisecond() -> None:
    start = str(Stamp(7_000, MAX_COUNTER - 1, DEV))
    clock = HybridLogicalClock(DEV, last=start, wall=frozen(7_000))
    a, b, c = clock.now(), clock.now(), clock.now()
    assert key(a)[:2] == (7_000, MAX_COUNTER)
    assert key(b)[:2] == (7_001, 0)
    assert key(c)[:2] == (7_001, 1)
    assert start < a < b < c


def test_more_than_a_counter_of_stamps_in_one_millisecond() -> None:
    clock = HybridLogicalClock(DEV, wall=frozen(123_456))
    stamps = [clock.now() for _ in range(MAX_COUNTER + 10)]
    assert all(a < b for a, b in itertools.pairwise(stamps))
    assert key(stamps[MAX_COUNTER])[:2] == (123_456, MAX_COUNTER)
    assert key(stamps[MAX_COUNTER + 1])[:2] == (123_457, 0)
    assert all(len(s) == len(stamps[0]) for s in stamps)


# --- bad input ---


@pytest.mark.parametrize(
    "device",
    [
        "",
        "abc",
        "a" * 33,
        "ABCD",
        "abcd1",
        "abc8",
        "abc0",
        "ab-cd",
        "ab cd",
        "abcd\n",
        "abcé",
        "ab.cd",
    ],
)
def test_bad_device_id(device: str) -> None:
    with pytest.raises(ClockError):
        HybridLogicalClock(device)


@pytest.mark.parametrize("device", ["abcd", "a" * 32, "dev234567", "zzzz"])
def test_good_device_id(device: str) -> None:
    assert HybridLogicalClock(device, wall=frozen(1)).now().endswith("." + device)


BAD_STAMPS = [
    "",
    "garbage",
    "00000000001.0000.devaaaa",  # 11 wall digits
    "0000000000001.0000.devaaaa",  # 13 wall digits
    "000000000001.000.devaaaa",
    "000000000001.00000.devaaaa",
    "00000000000A.0000.devaaaa",  # upper-case hex
    "000000000001.000G.devaaaa",
    "000000000001.0000.DEVAAAA",
    "000000000001.0000.dev",
    "000000000001.0000",
    "000000000001-0000-devaaaa",
    "000000000001.0000.devaaaa\n",
    " 000000000001.0000.devaaaa",
    "000000000001.0000.devaaaa.extra",
]


@pytest.mark.parametrize("text", BAD_STAMPS)
def test_bad_stamp(text: str) -> None:
    with pytest.raises(ClockError):
        Stamp.parse(text)
    with pytest.raises(ClockError):
        HybridLogicalClock(DEV, last=text or "x")
    clock = HybridLogicalClock(DEV, wall=frozen(5))
    before = clock.last
    with pytest.raises(ClockError):
        clock.observe(text)
    assert clock.last == before


def test_clock_error_is_a_value_error() -> None:
    assert issubclass(ClockError, ValueError)


# --- threads ---


@pytest.mark.parametrize("wall", [frozen(1_000_000), None])
def test_thread_safety(wall: Callable[[], int] | None) -> None:
    clock = HybridLogicalClock(DEV, wall=wall) if wall else HybridLogicalClock(DEV)
    threads_n, per_thread = 8, 3000
    results: list[list[str]] = [[] for _ in range(threads_n)]
    barrier = threading.Barrier(threads_n)

    def work(i: int) -> None:
        barrier.wait()
        out = results[i]
        for _ in range(per_thread):
            out.append(clock.now())

    threads = [threading.Thread(target=work, args=(i,)) for i in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [s for r in results for s in r]
    assert len(everything) == threads_n * per_thread
    assert len(set(everything)) == len(everything)
    for r in results:  # each thread sees its own stamps increase
        assert all(a < b for a, b in itertools.pairwise(r))
    assert clock.last == max(everything)


def test_threads_observing_and_stamping() -> None:
    clock = HybridLogicalClock(DEV, wall=frozen(1_000))
    stop = threading.Event()
    observed: list[str] = []

    def observer() -> None:
        n = 0
        while not stop.is_set() and n < 2000:
            s = str(Stamp(1_000 + n, 0, OTHER))
            clock.observe(s)
            observed.append(s)
            n += 1

    t = threading.Thread(target=observer)
    t.start()
    mine = [clock.now() for _ in range(2000)]
    stop.set()
    t.join()
    assert len(set(mine)) == len(mine)
    assert all(a < b for a, b in itertools.pairwise(mine))
    assert clock.now() > max(observed)
