"""Request sizes that follow the link (``_Pace``): a byte budget that grows while
requests get through and shrinks after a cut, and after the first cut keeps the
link's time (how long it stays up)."""

from __future__ import annotations

import time
from collections.abc import Callable

from sync.protocol import MAX_PULL_FIELDS
from sync.protocol import MAX_PUSH_CHANGES
from sync.protocol import PUSH_CHANGES_ACCEPTED

#: The first request's compressed body, each way, before anything is known of the
#: link: 64 KB is 1 s at 512 kbit/s and 8 s at 64 kbit/s.
FIRST_REQUEST_BYTES = 64 * 1024
MIN_REQUEST_BYTES = 2 * 1024
MAX_REQUEST_BYTES = 1024 * 1024  # the server takes 2 MB compressed at most


class _Pace:
    """Request sizes that follow the link. A request's push (changes) and pull
    (fields) are sized to a byte budget using the compressed bytes per change and
    per field measured on the requests before.

    Until the link is seen going down, the budget starts at ``first_bytes`` and
    doubles after every acknowledged request, so on a good link it grows to the
    protocol's limits (MAX_PUSH_CHANGES, the pull limit) in a few requests.

    No runt request: when what would be left waiting after a request is a small
    tail (at most a quarter of it), the request carries the tail too, up to what
    the server takes in one request (``accepts``: its ``X-Push-Limit``, else
    MAX_PUSH_CHANGES) and never on a link that keeps going down (there, size is
    what gets a request through). A full request followed by a small one costs a
    round trip and the server's work on the first before the second can leave.

    On a link that keeps going down, bytes alone are the wrong measure: a request
    is cut because it *ends* after the link goes down, however small it is (at a
    2 s round trip a few hundred bytes take 2 s, and the TLS handshake after each
    drop another 2 s), and halving every size after each cut leaves many small
    requests whose round trips eat the time the link is up. So after the first
    cut the pace keeps time too:

    * ``fit``: the size of the first request after a reconnect, learned per up
      period (grown by a quarter when it got through, cut to 60 % when it did
      not): one request as big as crosses between two drops;
    * ``uptimes``: how long the link stayed up, from the first request after a
      cut to the next cut; and ``rtt``, the shortest acknowledged request;
    * a later request in the same up period gets the share of ``fit`` that the
      time left before the next cut is due allows (a small one near the end).
    """

    def __init__(
        self,
        push_limit: int,
        pull_limit: int,
        first_bytes: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit(push_limit, pull_limit)
        self.budget = float(max(MIN_REQUEST_BYTES, first_bytes))
        self.per_change = 3.0  # bytes (bzip2) per pushed change: 1,000 participants' 2.7
        self.per_field = 3.0  # bytes per pulled field
        self.now = clock
        self.fit: float | None = None  # bytes of a first request after a reconnect
        self.rtt: float | None = None  # seconds: the shortest acknowledged request
        self.uptimes: list[float] = []  # seconds the link stayed up before each cut
        self.up_since: float | None = None  # the first request after the last cut
        self.fresh = False  # the next request is the first after a cut
        self._began = 0.0
        self._arrived: float | None = None

    def limit(self, push_limit: int, pull_limit: int, accepts: int = MAX_PUSH_CHANGES) -> None:
        """``push_limit``: the most changes a request is planned with (a client set
        below MAX_PUSH_CHANGES keeps to it, tails included); ``accepts``: the most
        the server takes in one request."""
        self.accepts = max(1, min(accepts, PUSH_CHANGES_ACCEPTED))
        self.push_limit = max(1, min(push_limit, MAX_PUSH_CHANGES, self.accepts))
        self.push_cap = self.accepts if push_limit >= MAX_PUSH_CHANGES else self.push_limit
        self.pull_limit = max(1, min(pull_limit, MAX_PULL_FIELDS))

    @property
    def uptime(self) -> float | None:
        """How long the link is expected to stay up: the median of the last three
        up-times seen."""
        last = sorted(self.uptimes[-3:])
        return last[len(last) // 2] if last else None

    def _bytes(self) -> float:
        """This request's byte budget (its push and its pull together)."""
        if self.fit is None:
            return self.budget
        uptime = self.uptime
        if self.fresh or self.up_since is None or uptime is None:
            return self.fit
        # later in an up period: the share of a whole period's transfer time left
        rtt = self.rtt or 0.0
        usable = uptime * 0.85
        left = usable - (self.now() - self.up_since) - rtt
        share = left / max(usable - 2 * rtt, 1e-3)
        return max(MIN_REQUEST_BYTES / 2, min(self.fit, self.fit * share))

    def push_changes(self, waiting: int | None = None) -> int:
        """Changes for the next request, of ``waiting`` (None: not known)."""
        planned = max(1, min(self.push_limit, int(self._bytes() / self.per_change)))
        if (
            waiting is not None
            and planned < waiting <= self.push_cap
            and waiting - planned <= planned // 4
            and not self.keeps_time
        ):
            return waiting  # the tail goes with this request, not in a runt after it
        return planned

    def pull_fields(self, pushing: int = 0) -> int:
        """Fields to pull in a request that also pushes ``pushing`` changes: the
        budget less what the push takes (the two cross one after the other)."""
        room = max(self._bytes() - pushing * self.per_change, MIN_REQUEST_BYTES / 2)
        return max(1, min(self.pull_limit, int(room / self.per_field)))

    def begin(self) -> float:
        """A request is about to be sent; returns when (for ``acknowledged``, when
        the next request is sent before this one is acknowledged)."""
        self._began, self._arrived = self.now(), None
        if self.up_since is None and self.fit is not None:
            self.up_since = self._began
        return self._began

    def arrived(self) -> float:
        """Its reply has arrived (before it is applied)."""
        self._arrived = self.now()
        return self._arrived

    @property
    def keeps_time(self) -> bool:
        """The link has been seen going down lately: each request's size depends on
        when it is sent (the time left in the up period), so requests go one after
        the other, each sized when the one before is acknowledged."""
        return self.fit is not None

    def acknowledged(
        self,
        changes: int,
        sent: int,
        fields: int,
        received: int,
        began: float | None = None,
        arrived: float | None = None,
    ) -> None:
        """A request got through (``began``/``arrived``: its own times, when another
        request has been sent since; by default the last ``begin``/``arrived``)."""
        began = self._began if began is None else began
        # Only big enough samples: a few changes' bytes are mostly the envelope.
        if changes >= 200:
            self.per_change = max(0.5, sent / changes)
        if fields >= 200:
            self.per_field = max(0.5, received / fields)
        end = (self._arrived if arrived is None else arrived) or self.now()
        if self.fresh and self.fit is not None:  # it crossed in one up period: try more
            self.fit = min(MAX_REQUEST_BYTES, max(self.fit, sent + received) * 1.25)
        elif began:
            took = end - began
            self.rtt = took if self.rtt is None else min(self.rtt, took)
        self.fresh = False
        self.budget = min(MAX_REQUEST_BYTES, self.budget * 2)
        up = self.uptime
        if up is not None and self.up_since is not None and end - self.up_since > 3 * up:
            # the link has stayed up three times as long as it used to: sizes by bytes again
            self.fit, self.uptimes, self.up_since = None, [], None
            self.budget = max(self.budget, MIN_REQUEST_BYTES * 8)

    def dropped(self, changes: int, sent: int) -> None:
        """A request cut off: its body's size still tells the bytes per change. The
        link was up from the first request after the last cut until now."""
        if changes >= 200 and sent:
            self.per_change = max(0.5, sent / changes)
        if self.up_since is not None:  # (before the first cut: up since when is unknown)
            self.uptimes = [*self.uptimes[-4:], self.now() - self.up_since]
        self.budget = max(MIN_REQUEST_BYTES, self.budget / 4)
        if self.fit is None:
            self.fit = self.budget
        elif self.fresh or not self.uptimes:  # too big for a whole up period
            self.fit = max(MIN_REQUEST_BYTES, min(self.fit, max(sent, MIN_REQUEST_BYTES)) * 0.6)
        self.up_since = None  # from the next request
        self.fresh = True
