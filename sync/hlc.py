"""Hybrid logical clock: totally ordered, globally unique change stamps.

A stamp is the text ``WWWWWWWWWWWW.CCCC.DEVICE``: twelve hex digits of wall time in
milliseconds since the Unix epoch, four hex digits of logical counter, and the
device id. Stamps compare correctly as plain strings, so the store and the server
can order them with SQL ``MAX`` and ``<``. Because every device id is unique and
the clock never hands out the same (wall, counter) twice on one device, a stamp is
also the globally unique id of the change that carries it.

The clock is monotonic across restarts: the owner persists :attr:`HybridLogicalClock.last`
and passes it back to the constructor. Receiving a stamp from elsewhere
(:meth:`HybridLogicalClock.observe`) moves the clock forward so that local edits
made after seeing a remote edit always sort after it, even when the local wall
clock is behind.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

WALL_DIGITS = 12
COUNTER_DIGITS = 4
MAX_COUNTER = 16**COUNTER_DIGITS - 1
DEVICE_ID_RE = re.compile(r"^[a-z2-7]{4,32}\Z")
STAMP_RE = re.compile(r"^([0-9a-f]{12})\.([0-9a-f]{4})\.([a-z2-7]{4,32})\Z")


class ClockError(ValueError):
    """A stamp or device id that does not follow the format."""


@dataclass(frozen=True, order=True, slots=True)
class Stamp:
    wall_ms: int
    counter: int
    device: str

    def __str__(self) -> str:
        return f"{self.wall_ms:012x}.{self.counter:04x}.{self.device}"

    @classmethod
    def parse(cls, text: str) -> Stamp:
        m = STAMP_RE.match(text)
        if not m:
            raise ClockError("not a change stamp")
        return cls(int(m.group(1), 16), int(m.group(2), 16), m.group(3))


def now_ms() -> int:
    return time.time_ns() // 1_000_000


_ELAPSED = getattr(time, "CLOCK_BOOTTIME", None)


def elapsed_ms() -> int:
    """Milliseconds of a clock that only moves forward and is not set by hand
    (counting sleep where the system offers such a clock: Linux's CLOCK_BOOTTIME)."""
    if _ELAPSED is not None:
        return time.clock_gettime_ns(_ELAPSED) // 1_000_000
    return time.monotonic_ns() // 1_000_000


class HybridLogicalClock:
    """A per-device hybrid logical clock (Kulkarni et al., 2014).

    Thread-safe. ``wall`` is injectable so tests can move time by hand.
    """

    def __init__(
        self,
        device: str,
        last: str | None = None,
        wall: Callable[[], int] = now_ms,
    ) -> None:
        if not DEVICE_ID_RE.match(device):
            raise ClockError("device id must be 4-32 characters of a-z and 2-7")
        self.device = device
        self.wall = wall  # replaceable: the store follows the server clock
        self._lock = threading.Lock()
        self._w, self._c = 0, 0
        if last:
            s = Stamp.parse(last)
            self._w, self._c = s.wall_ms, s.counter

    @property
    def wall_seen(self) -> int:
        """The wall time of the last stamp issued or observed, read without the lock
        (for the wall source itself, which runs under it)."""
        return self._w

    @property
    def last(self) -> str:
        with self._lock:
            return str(Stamp(self._w, self._c, self.device))

    def _advance(self, other_w: int = 0, other_c: int = -1) -> None:
        physical = self.wall()
        w = max(self._w, other_w, physical)
        if w == self._w and w == other_w:
            c = max(self._c, other_c) + 1
        elif w == self._w:
            c = self._c + 1
        elif w == other_w:
            c = other_c + 1
        else:
            c = 0
        if c > MAX_COUNTER:  # more than 65,535 stamps in one millisecond: borrow the next one
            w, c = w + 1, 0
        self._w, self._c = w, c

    def now(self) -> str:
        """A new stamp, greater than every stamp this clock has issued or observed.
        (Formatted here, as ``str(Stamp(...))`` would: change capture asks for one per
        changed field, 30,000 when a billing batch of 10,000 services is marked.)"""
        with self._lock:
            self._advance()
            return f"{self._w:012x}.{self._c:04x}.{self.device}"

    def rewind(self, wall_ms: int) -> None:
        """Forget stamps issued ahead of ``wall_ms`` (after a clock that ran far ahead
        was corrected and every stamp it issued was re-stamped by the server)."""
        with self._lock:
            if self._w > wall_ms:
                self._w, self._c = wall_ms, 0

    def observe(self, stamp: str) -> None:
        """Move the clock past a stamp received from another replica."""
        s = Stamp.parse(stamp)
        with self._lock:
            if (s.wall_ms, s.counter) > (self._w, self._c):
                self._w, self._c = s.wall_ms, s.counter
