"""Rate limits of the API: per-key token buckets in memory, per server process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

DEFAULT_SYNC_PER_MINUTE = 30.0
DEFAULT_SYNC_BURST = 10
# Per address, only a high ceiling: accounts are locked one by one (auth.begin_attempt),
# so one person's failures never lock out colleagues behind the same address.
IP_FAILURES_PER_MINUTE = 60.0
IP_FAILURE_BURST = 100


class TokenBucket:
    """Per-key token buckets: ``rate`` tokens a second, at most ``burst`` saved up.
    In memory, per server process."""

    def __init__(self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate = per_minute / 60.0
        self.burst = max(1, int(burst))
        self.enabled = per_minute > 0
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def _level(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - at) * self.rate)

    def wait(self, key: str) -> float:
        """Seconds until one token is there (0 when it is), without taking it."""
        if not self.enabled:
            return 0.0
        with self._lock:
            level = self._level(key, self._clock())
        return 0.0 if level >= 1 else (1 - level) / self.rate

    def take(self, key: str) -> float:
        """Take one token; 0 when allowed, else the seconds to wait (nothing taken)."""
        if not self.enabled:
            return 0.0
        with self._lock:
            now = self._clock()
            level = self._level(key, now)
            if level < 1:
                self._buckets[key] = (level, now)
                return (1 - level) / self.rate
            self._buckets[key] = (level - 1, now)
            if len(self._buckets) > 10_000:
                self._prune(now)
            return 0.0

    def _prune(self, now: float) -> None:
        full = [k for k in self._buckets if self._level(k, now) >= self.burst]
        for k in full:
            del self._buckets[k]
