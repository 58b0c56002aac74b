"""The client sync engine: one HTTPS request pushes the outbox and pulls what changed.

Works against any ``Replica`` (the desktop app's is app.store.replica.StoreReplica),
so this module needs nothing of app/. Over ``requests`` with one keep-alive session:
bodies are compressed both ways (bzip2 for anything big: about 40% smaller than gzip
for a sync's JSON; gzip when that is smaller); the push is bounded
(MAX_PUSH_CHANGES) and the pull is paged by the server, so a long sync is several
bounded exchanges, each committed locally in one transaction before the next, and a
dropped link resumes where it stopped. A change leaves the outbox only when the
server has acknowledged it. Failed requests are retried with backoff (urllib3's
Retry; safe, because the server answers a replayed request the same way). A
self-signed server certificate is pinned by its SHA-256 fingerprint.
"""

from __future__ import annotations

import bz2
import gzip
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests
import urllib3
from pydantic import ValidationError
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from sync import merge
from sync.invite import ENROLL_PATH, InviteEnrollRequest
from sync.protocol import (
    MAX_PULL_FIELDS,
    MAX_PUSH_CHANGES,
    MAX_WANT,
    PROTOCOL_VERSION,
    AuditVerdict,
    EnrollRequest,
    EnrollResponse,
    ErrorBody,
    PushChange,
    ReserveBatch,
    ReserveRequest,
    ReserveResponse,
    SyncRequest,
    SyncResponse,
    acknowledged,
)


class Replica(Protocol):
    @property
    def device_id(self) -> str: ...
    @property
    def cursor(self) -> int: ...
    def pending(self, limit: int) -> list[PushChange]: ...
    def pending_count(self) -> int: ...
    def apply_response(self, resp: SyncResponse) -> dict[str, int]: ...
    def refuse_locally(self, refused: list[dict[str, str]]) -> None: ...
    def set_clock_offset(self, offset_ms: int) -> None: ...


class SyncError(Exception):
    """A sync that could not finish; the message is for a person. Nothing is lost:
    unacknowledged changes stay in the outbox."""

    def __init__(self, message: str, code: str = "error", detail: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.detail = detail


@dataclass
class SyncResult:
    pushed: int = 0
    pulled: int = 0
    conflicts: int = 0
    rejected: list[dict[str, str]] = field(default_factory=list)
    evicted: int = 0
    quarantined: int = 0  # pulled fields that did not fit the schema, kept aside
    requests: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    clock_offset_ms: int = 0
    clock_warning: str | None = None
    audit_warning: str | None = None  # the server found the audit log rewritten or cut
    seconds: float = 0.0
    # notes left signed (approved, billed) with content that does not match its hash
    signature_problems: list[str] = field(default_factory=list)
    # Self-healing (docs/SYNC.md, "Restores and repair")
    healed: str = ""  # "replica" (this vault was an older copy) or "server" (the server was)
    repaired: int = 0  # records whose digests differed and were exchanged again
    resent: int = 0  # changes of this device the server lacked, sent again
    digest_ok: bool | None = None  # the end-of-sync check (None: not made)
    drops: int = 0  # requests cut off and tried again (smaller) within this sync

    def as_dict(self) -> dict[str, Any]:
        return {
            "pushed": self.pushed,
            "pulled": self.pulled,
            "conflicts": self.conflicts,
            "rejected": self.rejected,
            "evicted": self.evicted,
            "quarantined": self.quarantined,
            "requests": self.requests,
            "bytes_sent": self.bytes_sent,
            "bytes_received": self.bytes_received,
            "clock_offset_ms": self.clock_offset_ms,
            "clock_warning": self.clock_warning,
            "audit_warning": self.audit_warning,
            "seconds": round(self.seconds, 3),
            "signature_problems": self.signature_problems,
            "healed": self.healed,
            "repaired": self.repaired,
            "resent": self.resent,
            "digest_ok": self.digest_ok,
            "drops": self.drops,
        }

    def report(self) -> str:
        """What self-healing did, in plain words ("" when nothing)."""
        parts = []
        if self.healed == "replica":
            parts.append(
                "This vault was an older copy of itself (restored from a backup); it "
                "fetched everything again."
            )
        elif self.healed == "server":
            parts.append(
                "The server had lost changes (restored from a backup or replaced); this "
                "laptop fetched everything again and sent what the server lacked."
            )
        if self.repaired:
            parts.append(
                f"{self.repaired} record(s) differed from the server's and were exchanged "
                f"again ({self.resent} change(s) re-sent)."
            )
        if self.digest_ok is False:
            parts.append("This laptop still differs from the server; the next sync retries.")
        return " ".join(parts)


_AUDIT_PROBLEMS = {
    "truncated": "is shorter than",
    "rewritten": "no longer matches",
    "unproven": "could not be shown to continue",
}


def audit_warning(verdict: AuditVerdict) -> str:
    """Plain words for an audit alarm the server raised about this laptop."""
    what = _AUDIT_PROBLEMS.get(verdict.problem, "does not continue")
    return (
        f"Warning: this laptop's audit log {what} the one the server recorded at an "
        f"earlier sync ({verdict.anchored_length} entries). The server has recorded an "
        "alarm for an administrator. Your records were synced."
    )


@dataclass
class SyncProgress:
    """How far a sync is, after each reply (for a progress bar)."""

    sent: int = 0  # changes acknowledged (accepted or refused) so far
    to_send: int = 0  # changes waiting when the sync started (and any queued since)
    received: int = 0  # fields pulled so far
    more_to_receive: bool = False  # the server has more pages to send
    bytes_sent: int = 0
    bytes_received: int = 0
    seconds: float = 0.0
    seconds_left: float | None = None  # an estimate; None: not known yet
    drops: int = 0


#: Error codes of a request that was cut off (or whose reply was): tried again smaller.
_DROPPED = frozenset({"offline", "bad_reply", "server_error", "busy"})

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

    def limit(self, push_limit: int, pull_limit: int) -> None:
        self.push_limit = max(1, min(push_limit, MAX_PUSH_CHANGES))
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

    def push_changes(self) -> int:
        return max(1, min(self.push_limit, int(self._bytes() / self.per_change)))

    def pull_fields(self, pushing: int = 0) -> int:
        """Fields to pull in a request that also pushes ``pushing`` changes: the
        budget less what the push takes (the two cross one after the other)."""
        room = max(self._bytes() - pushing * self.per_change, MIN_REQUEST_BYTES / 2)
        return max(1, min(self.pull_limit, int(room / self.per_field)))

    def begin(self) -> None:
        """A request is about to be sent."""
        self._began, self._arrived = self.now(), None
        if self.up_since is None and self.fit is not None:
            self.up_since = self._began

    def arrived(self) -> None:
        """Its reply has arrived (before it is applied)."""
        self._arrived = self.now()

    def acknowledged(self, changes: int, sent: int, fields: int, received: int) -> None:
        # Only big enough samples: a few changes' bytes are mostly the envelope.
        if changes >= 200:
            self.per_change = max(0.5, sent / changes)
        if fields >= 200:
            self.per_field = max(0.5, received / fields)
        end = self._arrived or self.now()
        if self.fresh and self.fit is not None:  # it crossed in one up period: try more
            self.fit = min(MAX_REQUEST_BYTES, max(self.fit, sent + received) * 1.25)
        elif self._began:
            took = end - self._began
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


def _session_retries(session: requests.Session) -> int:
    """The retry count the session was made with (``make_session(retries=…)``)."""
    retry = getattr(session.get_adapter("https://"), "max_retries", None)
    total = getattr(retry, "total", None)
    return total if isinstance(total, int) and total >= 0 else 4


def _session_backoff(session: requests.Session) -> float:
    retry = getattr(session.get_adapter("https://"), "max_retries", None)
    factor = getattr(retry, "backoff_factor", None)
    return float(factor) if isinstance(factor, int | float) else 0.5


class _PinnedAdapter(HTTPAdapter):
    """Accept exactly the server certificate with this SHA-256 fingerprint."""

    def __init__(self, fingerprint: str, **kw: Any) -> None:
        self.fingerprint = fingerprint.replace(":", "").lower()
        super().__init__(**kw)

    def init_poolmanager(self, *args: Any, **kw: Any) -> None:
        kw["assert_fingerprint"] = self.fingerprint
        kw["cert_reqs"] = "CERT_NONE"
        kw["assert_hostname"] = False
        super().init_poolmanager(*args, **kw)

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        super().cert_verify(conn, url, False, cert)  # the fingerprint check replaces CA trust


def make_session(
    fingerprint: str | None = None,
    ca_file: str | None = None,
    retries: int = 4,
    backoff: float = 0.5,
) -> requests.Session:
    s = requests.Session()
    retry = Retry(
        total=retries,
        connect=retries,
        # a request cut off is not re-sent here at the same size: the sync client
        # tries it again itself, smaller (_Pace), within the same retry count
        read=0,
        status=retries,
        backoff_factor=backoff,
        backoff_max=30,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=None,  # POST too: the server answers a replay the same way
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    adapter: HTTPAdapter
    if fingerprint:
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        adapter = _PinnedAdapter(fingerprint, max_retries=retry)
        s.verify = False
    else:
        adapter = HTTPAdapter(max_retries=retry)
        if ca_file:
            s.verify = ca_file
    s.mount("https://", adapter)
    s.mount("http://", adapter)
    s.headers["Accept-Encoding"] = "bzip2, gzip"
    s.headers["User-Agent"] = f"PeerTrail-sync/{PROTOCOL_VERSION}"
    return s


MAX_REPLY_BYTES = 256 * 1024 * 1024  # decompressed; a page is a few MB at most


def compress(raw: bytes) -> tuple[bytes, str]:
    """The body and its Content-Encoding: bzip2 for big bodies, else the smaller of
    bzip2 and gzip (bzip2's fixed overhead loses on a few hundred bytes)."""
    packed = bz2.compress(raw, 9)
    if len(raw) > 64 * 1024:
        return packed, "bzip2"
    small = gzip.compress(raw, 9)
    return (packed, "bzip2") if len(packed) < len(small) else (small, "gzip")


def _decoded(r: requests.Response, raw: bytes) -> bytes:
    """The reply body; urllib3 has already undone gzip, bzip2 is undone here."""
    if r.headers.get("Content-Encoding", "").strip().lower() != "bzip2":
        return raw
    d = bz2.BZ2Decompressor()
    try:
        out = d.decompress(raw, MAX_REPLY_BYTES + 1)
    except (OSError, EOFError, ValueError):
        raise _bad_reply() from None
    if len(out) > MAX_REPLY_BYTES or not d.eof or d.unused_data:
        raise _bad_reply()
    return out


def _bad_reply() -> SyncError:
    return SyncError(
        "The server's reply was not understood (it may have been cut off). Nothing "
        "was lost; the next sync will repeat it.",
        "bad_reply",
    )


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def _timeout(nbytes: int) -> tuple[float, float]:
    """Connect 15 s; read long enough for the body at 8 KB/s on a bad link."""
    return (15.0, max(60.0, nbytes / 8000))


class SyncClient:
    def __init__(
        self,
        replica: Replica,
        url: str,
        token: str,
        session: requests.Session | None = None,
        push_limit: int = MAX_PUSH_CHANGES,
        pull_limit: int = 20000,
        max_rounds: int = 1000,
        timeout: tuple[float, float] | None = None,
        clock: Callable[[], int] | None = None,
        retries: int | None = None,
        first_bytes: int | None = None,
    ) -> None:
        self.replica = replica
        # This device's clock in ms, the one its stamps follow (the replica's when it
        # says; injectable for tests): the offset to the server is measured on it.
        self.clock = clock or getattr(replica, "os_clock_ms", None) or _wall_ms
        self.url = url.rstrip("/")
        self.token = token
        self.session = session or make_session()
        self.push_limit = push_limit
        self.pull_limit = pull_limit
        self.max_rounds = max_rounds
        self.timeout = timeout  # (connect, read) seconds; default: scaled to the payload
        # Requests cut off in a row that are tried again, smaller, before the sync
        # gives up (by default the session's own retry count).
        self.retries = _session_retries(self.session) if retries is None else retries
        self.first_bytes = FIRST_REQUEST_BYTES if first_bytes is None else first_bytes
        self.pace = _Pace(push_limit, pull_limit, self.first_bytes)

    def sync(
        self,
        progress: Callable[[int, int], None] | None = None,
        on_progress: Callable[[SyncProgress], None] | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> SyncResult:
        """Exchange until the outbox is empty and the pull has no more pages; then
        check the scope digest the last reply carries, and heal or repair when the
        server says so (docs/SYNC.md, "Restores and repair").

        Each request is sized by ``_Pace`` to the link; each acknowledged one is kept
        (the server applied it in one transaction, the vault applied its reply in
        one). A request cut off is tried again, smaller, up to ``retries`` times in a
        row. ``progress(done, total)`` and ``on_progress(SyncProgress)`` report after
        every reply; ``cancel()`` returning True stops the sync between requests
        (SyncError "stopped"; what was acknowledged stays acknowledged)."""
        result = SyncResult()
        started = time.perf_counter()
        self.pace.limit(self.push_limit, self.pull_limit)  # as set now (tests change them)
        self._warm = self._preconnect()
        total = self.replica.pending_count()
        heal = _Healing(self.replica)
        head_of = getattr(self.replica, "audit_head", None)  # optional for a replica
        audit_head = head_of() if head_of else None
        drops = 0
        for _round_no in range(self.max_rounds):
            if cancel is not None and cancel():
                raise SyncError(
                    "The sync was stopped. What was sent and received is kept; the rest "
                    "goes at the next sync.",
                    "stopped",
                )
            changes = self.replica.pending(self.pace.push_changes())
            last = len(changes) >= self.replica.pending_count()
            extra = heal.request(last)
            if audit_head is not None:
                extra = {**extra, "audit": audit_head}
            try:
                resp = self._round(changes, result, extra)
            except SyncError as e:
                drops = self._after_drop(e, drops, result)
                self.pace.dropped(len(changes), self._last_sent)
                continue
            drops = 0
            audit_head = None  # anchored by the first acknowledged request
            if resp is not None:
                total = max(total, result.pushed + len(result.rejected))
            if progress:
                progress(result.pushed + len(result.rejected), max(total, 1))
            if on_progress:
                on_progress(self._progress_of(result, total, started, resp))
            if resp is None:
                continue  # changes that do not fit the schema were refused here: the rest
            if heal.after(resp, result):
                continue  # a reset or a repair step: go on from where it leaves the vault
            if not resp.more and (not changes or self.replica.pending_count() == 0):
                try:
                    if heal.finish(resp, result, self._repair):
                        continue  # the repair queued changes the server lacks
                except SyncError as e:
                    if e.code not in _DROPPED:
                        raise
                    # Everything was exchanged and acknowledged; only the repair's
                    # comparison could not cross (its reply cannot be made smaller
                    # than every record's digest). The next sync checks again.
                    result.digest_ok = False
                break
        else:
            raise SyncError("The sync did not finish after many rounds; try again later.")
        result.clock_warning = merge.clock_warning(result.clock_offset_ms)
        self.replica.set_clock_offset(result.clock_offset_ms)
        self._ask_billing_number(result)
        result.seconds = time.perf_counter() - started
        return result

    def _ask_billing_number(self, result: SyncResult) -> None:
        """A device that may bill and has no billing number asks for it once, with an
        empty reservation request (an older server without the endpoint: no number,
        and the export says to sync first). Never fails the sync."""
        if not getattr(self.replica, "wants_billing_number", False):
            return
        try:
            req = ReserveRequest(protocol=PROTOCOL_VERSION, device_id=self.replica.device_id)
            answer = self._post(
                "/v1/billing/reserve", req.model_dump(mode="json"), ReserveResponse, result
            )
        except SyncError:
            return
        if answer.billing_number:
            self.replica.set_billing_number(answer.billing_number)

    def _after_drop(self, e: SyncError, drops: int, result: SyncResult) -> int:
        """A request that was cut off (or whose reply was): nothing of it is lost (the
        outbox keeps what was not acknowledged; the server answers a replay the same
        way). Shrink the next request and go on, unless this was one drop too many
        in a row (then the error stands). Returns the drops in a row so far."""
        if e.code not in _DROPPED or drops >= self.retries:
            raise e
        drops += 1
        result.drops += 1
        wait = 0.0 if drops == 1 else min(8.0, self._backoff * 2 ** (drops - 1))
        if wait:
            time.sleep(wait)
        return drops

    @property
    def _backoff(self) -> float:
        return _session_backoff(self.session)

    def _progress_of(
        self, result: SyncResult, total: int, started: float, resp: SyncResponse | None
    ) -> SyncProgress:
        done = result.pushed + len(result.rejected)
        elapsed = time.perf_counter() - started
        left = None
        if 0 < done < total:
            left = elapsed * (total - done) / done
        elif done >= total and resp is not None and not resp.more:
            left = 0.0
        return SyncProgress(
            sent=done,
            to_send=total,
            received=result.pulled,
            more_to_receive=bool(resp is not None and resp.more),
            bytes_sent=result.bytes_sent,
            bytes_received=result.bytes_received,
            seconds=elapsed,
            seconds_left=left,
            drops=result.drops,
        )

    def _round(
        self, changes: list[PushChange], result: SyncResult, extra: dict[str, Any]
    ) -> SyncResponse | None:
        """One request: push ``changes``, pull a page, apply the reply. None when the
        server stored nothing because some changes did not fit the record schema:
        those are refused here, with the reason, and the caller sends the rest."""
        payload = SyncRequest.wire_of(
            device_id=self.replica.device_id,
            cursor=self.replica.cursor,
            changes=changes,
            pull_limit=self.pace.pull_fields(len(changes)),
            client_time_ms=self.clock(),
            **extra,
        )
        sent_at = self.clock()
        self.pace.begin()
        try:
            reply = self._post("/v1/sync", payload, SyncResponse, result)
            self.pace.arrived()
        except SyncError as e:
            refused = _invalid_changes(e, changes)
            if not refused:
                raise
            self.replica.refuse_locally(refused)
            result.rejected += [{"stamp": r["stamp"], "reason": r["reason"]} for r in refused]
            return None
        resp = acknowledged(reply, changes)
        if resp.audit is not None:
            self._audit_verdict(resp.audit, result)
        received_at = self.clock()
        # the server's time minus this device's (negative: this device is ahead)
        result.clock_offset_ms = int(resp.server_time_ms - (sent_at + received_at) // 2)
        counts = self.replica.apply_response(resp)
        self.pace.acknowledged(len(changes), self._last_sent, counts["pulled"], self._last_received)
        result.pushed += len(resp.accepted)
        result.rejected += [{"stamp": r.stamp, "reason": r.reason} for r in resp.rejected]
        result.pulled += counts["pulled"]
        result.conflicts += counts["conflicts"]
        result.evicted += counts["evicted"]
        result.quarantined += counts.get("quarantined", 0)
        if counts.get("signature_problems"):
            result.signature_problems += [
                rid for rid, _why in getattr(self.replica, "signature_problems", [])
            ]
        return resp

    def _exchange(self, result: SyncResult, extra: dict[str, Any]) -> SyncResponse:
        """A request that pushes nothing (a repair step): always answered."""
        resp = self._round([], result, extra)
        assert resp is not None  # nothing pushed, so nothing can be refused
        return resp

    def _repair(self, result: SyncResult) -> int:
        """Compare every record's digest with the server's and exchange again only
        the records that differ: the server's current fields come back (and merge by
        stamp), and this device's own newer values the server lacks are queued to be
        sent again. Returns how many changes were queued."""
        extra = {"replica": self.replica.replica_token, "digests": True}
        drops = 0
        while True:
            try:
                theirs = self._exchange(result, extra).record_digests
                break
            except SyncError as e:  # cut off: ask again (it cannot be made smaller)
                drops = self._after_drop(e, drops, result)
                self.pace.dropped(0, 0)
        mine = self.replica.record_digests()
        differ = sorted(r for r in set(theirs) | set(mine) if theirs.get(r) != mine.get(r))
        result.repaired += len(differ)
        queued, i, drops = 0, 0, 0
        while i < len(differ):
            # as many whole records as the pull budget holds (about 20 fields each)
            size = max(1, min(MAX_WANT, self.pace.pull_fields() // 20))
            chunk = differ[i : i + size]
            extra = {"replica": self.replica.replica_token, "want": chunk}
            try:
                resp = self._exchange(result, extra)
            except SyncError as e:  # cut off: again, fewer records at a time
                drops = self._after_drop(e, drops, result)
                self.pace.dropped(0, 0)
                continue
            drops, i = 0, i + len(chunk)
            wanted = set(chunk)
            server: dict[str, dict[str, str]] = {}
            for rec in resp.records:
                if rec.record_id in wanted:
                    server.setdefault(rec.record_id, {}).update(
                        {f: st for f, (_v, st) in rec.fields.items()}
                    )
            queued += self.replica.requeue(chunk, server)
        result.resent += queued
        return queued

    _warm: threading.Thread | None = None
    _last_sent = 0  # compressed bytes of the last request's body
    _last_received = 0  # ... and of its reply's, on the wire

    def _audit_verdict(self, verdict: AuditVerdict, result: SyncResult) -> None:
        keep = getattr(self.replica, "audit_verdict", None)
        if keep:
            keep(verdict)
        if not verdict.ok:
            result.audit_warning = audit_warning(verdict)

    def _preconnect(self) -> threading.Thread | None:
        """Open the keep-alive connection (TCP and TLS handshakes: one or two round
        trips, 0.65 s each on a satellite link) while the request is being read from
        the outbox and compressed, instead of after. Best effort: if it fails, the
        request connects (and reports any failure) as it always does."""
        if self.session.get_adapter(self.url + "/") is None:
            return None

        def run() -> None:
            conn = pool = None
            try:
                adapter = self.session.get_adapter(self.url + "/")
                prepared = requests.Request("POST", self.url + "/v1/sync").prepare()
                get_pool = getattr(adapter, "get_connection_with_tls_context", None)
                if get_pool is None:  # requests < 2.32.2
                    return
                env = self.session.merge_environment_settings(
                    prepared.url, {}, None, self.session.verify, None
                )
                pool = get_pool(prepared, self.session.verify, env["proxies"], None)
                conn = pool._get_conn()
                if conn.sock is None:
                    conn.timeout = (self.timeout or _timeout(0))[0]
                    conn.connect()
            except Exception:  # the request itself will connect and say what went wrong
                if conn is not None:
                    conn.close()
            finally:
                if pool is not None and conn is not None:
                    pool._put_conn(conn)

        t = threading.Thread(target=run, name="sync-preconnect", daemon=True)
        t.start()
        return t

    def _await_preconnect(self) -> None:
        """Wait for the early handshake, so the request reuses its connection."""
        warm, self._warm = self._warm, None
        if warm is not None:
            warm.join((self.timeout or _timeout(0))[0])

    def enroll(self, username: str, password: str, device_name: str = "") -> EnrollResponse:
        req = EnrollRequest(
            protocol=PROTOCOL_VERSION,
            username=username,
            password=password,
            device_id=self.replica.device_id,
            device_name=device_name,
        )
        return self._post("/v1/enroll", req.model_dump(mode="json"), EnrollResponse, None)

    def enroll_invite(self, code: str, password: str, device_name: str = "") -> EnrollResponse:
        """Enrol with an administrator's invite code (sync.invite) and the password.
        The session should pin the certificate the code names (app.services.enrolment)."""
        req = InviteEnrollRequest(
            protocol=PROTOCOL_VERSION,
            code=code,
            password=password,
            device_id=self.replica.device_id,
            device_name=device_name,
        )
        return self._post(ENROLL_PATH, req.model_dump(mode="json"), EnrollResponse, None)

    def reserve(self, batches: list[ReserveBatch], release: list[str]) -> ReserveResponse:
        """Reserve services for export batches and release others, in one request
        (``POST /v1/billing/reserve``). SyncError ``already_billed`` (its ``detail``:
        the services and the batches holding them), ``not_billable``, ``offline``, …"""
        req = ReserveRequest(
            protocol=PROTOCOL_VERSION,
            device_id=self.replica.device_id,
            batches=batches,
            release=release,
        )
        return self._post("/v1/billing/reserve", req.model_dump(mode="json"), ReserveResponse, None)

    def _post(self, path: str, payload: dict[str, Any], model: Any, result: SyncResult | None):
        body, coding = compress(
            json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        )
        headers = {"Content-Type": "application/json", "Content-Encoding": coding}
        self._last_sent, self._last_received = len(body), 0
        self._await_preconnect()
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            r = self.session.post(
                self.url + path,
                data=body,
                headers=headers,
                timeout=self.timeout or _timeout(len(body)),
                verify=self.session.verify,  # REQUESTS_CA_BUNDLE must not override the pin
            )
            raw = r.content
        except requests.exceptions.SSLError as e:
            text = str(e)
            if "Fingerprints did not match" in text or "CERTIFICATE_VERIFY_FAILED" in text:
                raise SyncError(
                    "The server's certificate does not match the one this laptop trusts. "
                    "Nothing was sent. Ask your administrator before syncing.",
                    "tls",
                ) from None
            raise SyncError(
                "The secure connection to the server broke off. Your changes are safe and "
                "will be sent at the next sync.",
                "offline",
            ) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout):
            raise SyncError(
                "The server cannot be reached right now. Your changes are safe on this "
                "laptop and will be sent at the next sync.",
                "offline",
            ) from None
        except requests.exceptions.RequestException:
            raise SyncError(
                "The connection to the server broke off. Your changes are safe and will "
                "be sent at the next sync.",
                "offline",
            ) from None
        self._last_received = _wire_size(r, raw)
        if result is not None:
            result.requests += 1
            result.bytes_sent += self._last_sent
            result.bytes_received += self._last_received
        if r.status_code != 200:
            raise _error_for(r)
        try:
            data = _decoded(r, raw)
            try:
                return model.model_validate_json(data)
            except ValidationError:
                # pydantic's JSON parser refuses a lone surrogate ("\ud800") that an older
                # server may have kept; Python's keeps it, and the replica quarantines it.
                return model.model_validate(json.loads(data))
        except (ValidationError, ValueError, RecursionError):
            raise _bad_reply() from None


class _Healing:
    """The self-healing state of one sync: a re-pull under way, a repair owed."""

    def __init__(self, replica: Any) -> None:
        self.replica = replica
        # Older replicas (tests' stand-ins) do not heal: every call is optional.
        self.able = all(hasattr(replica, n) for n in ("replica_token", "full_pull", "requeue"))
        self.repair_owed = self.able and replica.full_pull
        self.repairs_left = 1

    def request(self, last: bool) -> dict[str, Any]:
        if not self.able:
            return {}
        return {
            "replica": self.replica.replica_token,
            "full": self.replica.full_pull,
            "check": last,
        }

    def after(self, resp: SyncResponse, result: SyncResult) -> bool:
        """After a reply is applied: start a re-pull on a reset (True: go on)."""
        if not self.able:
            return False
        changed = self.replica.note_server(resp.server_id, resp.epoch)
        if resp.reset == "recent":
            # This page held our own changes too; so must the rest of this pull.
            if resp.more:
                self.replica.set_full_pull(True)
            return False
        if resp.reset or changed:
            result.healed = resp.reset or "server"
            if not resp.reset:  # the server did not know: start from 0 on our side
                self.replica.apply_response(
                    SyncResponse(protocol=resp.protocol, server_time_ms=resp.server_time_ms,
                                 cursor=0, replica=resp.replica)
                )  # fmt: skip
            self.replica.set_full_pull(True)
            self.repair_owed = True
            return True
        if self.replica.full_pull and not resp.more:
            self.replica.set_full_pull(False)
        return False

    def finish(self, resp: SyncResponse, result: SyncResult, repair: Callable) -> bool:
        """At the end: compare digests; repair once if they differ or a reset asked
        for it. True when the repair queued changes to send."""
        if not self.able or not (resp.digest or self.repair_owed):
            return False
        ok = False  # no digest (billing's scope): after a reset, repair all the same
        if resp.digest:
            ok = resp.digest == self.replica.scope_digest()
            if not ok and hasattr(self.replica, "recount_digest"):
                ok = resp.digest == self.replica.recount_digest()  # the sums, not the data?
            result.digest_ok = ok
        if (ok and not self.repair_owed) or self.repairs_left <= 0:
            return False
        self.repairs_left -= 1
        self.repair_owed = False
        queued = repair(result)
        result.digest_ok = None  # checked again by the next round's reply
        if queued:
            return True
        if resp.digest:
            result.digest_ok = resp.digest == self.replica.scope_digest() or None
        return False


def _wire_size(r: requests.Response, raw: bytes) -> int:
    """Bytes on the wire: the compressed length when the server compressed."""
    length = r.headers.get("Content-Length")
    if length and length.isdigit():
        return int(length)
    return len(raw)


def _invalid_changes(e: SyncError, sent: list[PushChange]) -> list[dict[str, str]]:
    """The changes of ``sent`` a 422 ``invalid_values`` answer names, with reasons."""
    if e.code != "invalid_values" or not isinstance(e.detail, list):
        return []
    ours = {c.stamp for c in sent}
    return [
        {"stamp": d["stamp"], "reason": str(d.get("reason", ""))[:500]}
        for d in e.detail
        if isinstance(d, dict) and d.get("stamp") in ours
    ]


def _error_for(r: requests.Response) -> SyncError:
    detail = None
    try:
        body = ErrorBody.model_validate_json(r.content)
        code, message, detail = body.error, body.message, body.detail
    except (ValidationError, ValueError):
        code, message = f"http_{r.status_code}", ""
    if r.status_code == 426:
        return SyncError(
            message or "The server needs a newer PeerTrail. Please update this laptop.",
            "update_required",
        )
    if r.status_code == 401 and code == "revoked":
        return SyncError(
            "This laptop's access to the server was withdrawn. Your records stay on this "
            "laptop; contact your administrator.",
            "revoked",
        )
    if r.status_code == 401 and code == "invite_invalid":
        return SyncError(message, "invite_invalid")
    if r.status_code == 401:
        return SyncError(
            message or "The server did not accept this laptop's sign-in.", "unauthorized"
        )
    if r.status_code == 415 or code == "server_too_old":
        return SyncError(
            "The sync server is older than this copy of PeerTrail. Your work is kept on this "
            "laptop; ask your administrator to update the server.",
            "server_too_old",
        )
    if r.status_code == 429:
        return SyncError("The server is busy; the sync will try again shortly.", "busy")
    if r.status_code >= 500:
        return SyncError(
            "The server had a problem and could not finish the sync. Your changes are safe "
            "and will be sent at the next sync.",
            "server_error",
        )
    return SyncError(message or f"The server refused the request ({r.status_code}).", code, detail)
