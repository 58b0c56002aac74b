"""The client sync engine (``SyncClient``): requests sized by the pace, each
acknowledged one kept, a cut one tried again smaller, self-healing at the end."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests

from sync import merge
from sync.client import pipeline
from sync.client.base import _DROPPED
from sync.client.base import Replica
from sync.client.base import SyncError
from sync.client.base import SyncProgress
from sync.client.base import SyncResult
from sync.client.base import audit_warning
from sync.client.healing import _Healing
from sync.client.pace import _Pace
from sync.client.pipeline import Flight
from sync.client.pipeline import Wire
from sync.client.transport import Transport
from sync.client.transport import _session_backoff
from sync.client.transport import _session_retries
from sync.client.transport import make_session
from sync.invite import ENROLL_PATH
from sync.invite import InviteEnrollRequest
from sync.protocol import MAX_PUSH_CHANGES
from sync.protocol import MAX_WANT
from sync.protocol import PROTOCOL_VERSION
from sync.protocol import AuditVerdict
from sync.protocol import EnrollBase
from sync.protocol import EnrollRequest
from sync.protocol import EnrollResponse
from sync.protocol import PushChange
from sync.protocol import ReserveBatch
from sync.protocol import ReserveRequest
from sync.protocol import ReserveResponse
from sync.protocol import SyncRequest
from sync.protocol import SyncResponse
from sync.protocol import acknowledged


def _first_request_bytes() -> int:
    """``sync.client.FIRST_REQUEST_BYTES`` as it is now (tests set it on the package)."""
    import sync.client

    return int(sync.client.FIRST_REQUEST_BYTES)


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


#: A link whose median up period (between cuts) is at least this long is one that
#: keeps going down, not one that is down: a cut connection is tried again at once.
LINK_STAYS_UP_S = 2.0


class SyncClient(Transport):
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
        self.first_bytes = _first_request_bytes() if first_bytes is None else first_bytes
        self.pace = _Pace(push_limit, pull_limit, self.first_bytes)
        self._kept_limit: int | None = None  # the push limit the vault keeps (None: unread)

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
        run = _Run(self.replica, on_progress)
        # as set now (tests change them), with what the server said it takes
        self.pace.limit(self.push_limit, self.pull_limit, self._server_takes())
        self._warm = self._preconnect()
        run.total = self.replica.pending_count()
        head_of = getattr(self.replica, "audit_head", None)  # optional for a replica
        run.audit_head = head_of() if head_of else None
        run.known = self._server_identity()
        try:
            for _round_no in range(self.max_rounds):
                if self._step(run, progress, cancel):
                    break
            else:
                raise SyncError("The sync did not finish after many rounds; try again later.")
        finally:
            run.wire.close()
        result = run.result
        result.clock_warning = merge.clock_warning(result.clock_offset_ms)
        self.replica.set_clock_offset(result.clock_offset_ms)
        self._ask_billing_number(result)
        result.seconds = time.perf_counter() - run.started
        return result

    def _step(
        self,
        run: _Run,
        progress: Callable[[int, int], None] | None,
        cancel: Callable[[], bool] | None,
    ) -> bool:
        """One request and its reply; True when the sync is done."""
        result, heal = run.result, run.heal
        if run.ahead is None and cancel is not None and cancel():
            raise SyncError(
                "The sync was stopped. What was sent and received is kept; the rest "
                "goes at the next sync.",
                "stopped",
            )
        flight, run.ahead = run.ahead or self._first(run), None
        upcoming = self._upcoming(flight, heal, run.known)  # while it is on the wire
        try:
            resp = self._land(flight, result)
        except SyncError as e:
            if self._more_than_server_takes(e, flight):
                return False  # sent again, as many as every server takes
            run.drops = self._after_drop(e, run.drops, result)
            self.pace.dropped(len(flight.changes), self._last_sent)
            return False
        run.drops = 0
        run.audit_head = None  # anchored by the first acknowledged request
        stopping = cancel is not None and cancel()
        if resp is not None and upcoming and pipeline.plain(resp, run.known) and not stopping:
            run.ahead = self._send_ahead(run.wire, resp, upcoming, heal)
        try:
            if resp is not None:
                self._apply(resp, flight, result)
        except BaseException:
            run.drop_ahead()  # its reply cannot be applied before this one
            raise
        if resp is not None:
            run.total = max(run.total, result.pushed + len(result.rejected))
        if progress:
            progress(result.pushed + len(result.rejected), max(run.total, 1))
        if run.on_progress:
            run.on_progress(self._progress_of(result, run.total, run.started, resp))
        if resp is None:
            return False  # changes that do not fit the schema were refused here: the rest
        if heal.after(resp, result):
            run.drop_ahead()  # (not sent after such a reply: pipeline.plain)
            run.known = self._server_identity()
            return False  # a reset or a repair step: go on from where it leaves the vault
        if resp.server_id:
            run.known = (resp.server_id, resp.epoch)
        if run.ahead is not None or resp.more:
            return False
        if flight.changes and self.replica.pending_count() > 0:
            return False
        try:
            if heal.finish(resp, result, self._repair):
                return False  # the repair queued changes the server lacks
        except SyncError as e:
            if e.code not in _DROPPED:
                raise
            # Everything was exchanged and acknowledged; only the repair's
            # comparison could not cross (its reply cannot be made smaller
            # than every record's digest). The next sync checks again.
            result.digest_ok = False
        return True

    def _first(self, run: _Run) -> Flight:
        """Send a request read from the vault as it is now (none on the wire)."""
        waiting = self.replica.pending_count()
        changes = self.replica.pending(self.pace.push_changes(waiting))
        extra = run.heal.request(len(changes) >= waiting)
        if run.audit_head is not None:
            extra = {**extra, "audit": run.audit_head}
        return self._launch(run.wire, changes, self.replica.cursor, extra)

    def _server_identity(self) -> tuple[str, int] | None:
        """The server's id and epoch as the vault knows them (None: it cannot say)."""
        identity = getattr(self.replica, "server_identity", None)
        return identity() if identity is not None else None

    def _upcoming(
        self, flight: Flight, heal: _Healing, known: tuple[str, int] | None
    ) -> tuple[list[PushChange], bool] | None:
        """The changes for the request after ``flight`` and whether they are the
        last waiting, read while it is on the wire; None when the next request must
        wait for its reply to be applied (pipeline module: when and why)."""
        if self.pace.keeps_time or known is None:
            return None
        if heal.able and (
            not hasattr(self.replica, "keep_replica_token") or self.replica.full_pull
        ):
            return None
        waiting = self.replica.pending_count() - len(flight.changes)
        upcoming = pipeline.next_changes(
            self.replica, flight.changes, self.pace.push_changes(waiting)
        )
        if upcoming is None:
            return None
        return upcoming, len(upcoming) >= waiting

    def _send_ahead(
        self,
        wire: Wire,
        resp: SyncResponse,
        upcoming: tuple[list[PushChange], bool],
        heal: _Healing,
    ) -> Flight | None:
        """Send the next request before ``resp`` is applied (None: nothing to send)."""
        changes, last = upcoming
        if not changes and not resp.more:
            return None
        if heal.able and resp.replica:
            self.replica.keep_replica_token(resp.replica)
        return self._launch(wire, changes, resp.cursor, heal.request(last))

    def _launch(
        self, wire: Wire, changes: list[PushChange], cursor: int, extra: dict[str, Any]
    ) -> Flight:
        """Send a request on the wire's thread: push ``changes``, pull after ``cursor``."""
        payload = SyncRequest.wire_of(
            device_id=self.replica.device_id,
            cursor=cursor,
            changes=changes,
            pull_limit=self.pace.pull_fields(len(changes)),
            client_time_ms=self.clock(),
            **extra,
        )
        sent_at = self.clock()
        began = self.pace.begin()
        outcome = wire.submit(self._call, "/v1/sync", payload, SyncResponse)
        return Flight(changes, outcome, sent_at, began)

    def _land(self, flight: Flight, result: SyncResult) -> SyncResponse | None:
        """Wait for a request's reply (not yet applied). None when the server stored
        nothing because some changes did not fit the record schema: those are
        refused here, with the reason, and the caller sends the rest."""
        out = flight.outcome.result()
        if out.arrived is not None:  # on the pace's clock, as the wire's thread saw it
            flight.arrived = flight.began + (out.arrived - out.started)
        try:
            reply = self._settle(out, result)
        except SyncError as e:
            refused = _invalid_changes(e, flight.changes)
            if not refused:
                raise
            self.replica.refuse_locally(refused)
            result.rejected += [{"stamp": r["stamp"], "reason": r["reason"]} for r in refused]
            return None
        self._note_push_limit(out.push_limit)
        resp = acknowledged(reply, flight.changes)
        if resp.audit is not None:
            self._audit_verdict(resp.audit, result)
        received_at = self.clock()
        # the server's time minus this device's (negative: this device is ahead)
        result.clock_offset_ms = merge.measured_offset(
            resp.server_time_ms, flight.sent_at, received_at
        )
        flight.sent, flight.received = out.sent, out.received
        return resp

    def _apply(self, resp: SyncResponse, flight: Flight, result: SyncResult) -> None:
        """Apply a reply to the vault (one transaction) and count it."""
        counts = self.replica.apply_response(resp)
        self.pace.acknowledged(
            len(flight.changes),
            flight.sent,
            counts["pulled"],
            flight.received,
            began=flight.began,
            arrived=flight.arrived,
        )
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

    def _server_takes(self) -> int:
        """The changes one request may push, as the server last said (its
        X-Push-Limit, kept in the vault); MAX_PUSH_CHANGES when it has not said."""
        said = getattr(self.replica, "push_limit", 0)
        self._kept_limit = said if isinstance(said, int) and said > 0 else 0
        return self._kept_limit or MAX_PUSH_CHANGES

    def _note_push_limit(self, said: int | None) -> None:
        """A reply's X-Push-Limit (None: an older server, which takes
        MAX_PUSH_CHANGES): the requests after it keep to it, and so does the next
        sync (kept in the vault when the replica can)."""
        self.pace.limit(self.push_limit, self.pull_limit, said or MAX_PUSH_CHANGES)
        keep = getattr(self.replica, "keep_push_limit", None)
        if keep is not None and (said or 0) != self._kept_limit:
            keep(said or 0)
            self._kept_limit = said or 0

    def _more_than_server_takes(self, e: SyncError, flight: Flight) -> bool:
        """A request of more than MAX_PUSH_CHANGES refused as invalid: the server is
        older than the limit the vault remembers (replaced or downgraded). Forget
        that limit; the caller sends the changes again in requests every server
        takes."""
        if e.code != "invalid" or len(flight.changes) <= MAX_PUSH_CHANGES:
            return False
        self._note_push_limit(None)
        return True

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
        in a row (then the error stands). Returns the drops in a row so far.

        A second drop in a row waits before trying again (backing off), except a
        cut connection on a link seen staying up for seconds between cuts (the
        pace's ``uptime``): there waiting only spends the time the link is up, so
        each smaller request starts later in the up period and is cut again. A link
        that is down (tries cut at once), a busy or a failing server is still
        waited for."""
        if e.code not in _DROPPED or drops >= self.retries:
            raise e
        drops += 1
        result.drops += 1
        link_cut = e.code == "offline" and (self.pace.uptime or 0.0) >= LINK_STAYS_UP_S
        wait = 0.0 if drops == 1 or link_cut else min(8.0, self._backoff * 2 ** (drops - 1))
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
        """One request on its own: push ``changes``, pull a page, apply the reply
        (None: refused here, see ``_land``)."""
        flight = self._launch(Wire(inline=True), changes, self.replica.cursor, extra)
        resp = self._land(flight, result)
        if resp is not None:
            self._apply(resp, flight, result)
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

    def _audit_verdict(self, verdict: AuditVerdict, result: SyncResult) -> None:
        keep = getattr(self.replica, "audit_verdict", None)
        if keep:
            keep(verdict)
        if not verdict.ok:
            result.audit_warning = audit_warning(verdict)

    def enroll(self, username: str, password: str, device_name: str = "") -> EnrollResponse:
        """Enrol this device with the user name and password."""
        return self._enrol("/v1/enroll", EnrollRequest, password, device_name, username=username)

    def enroll_invite(self, code: str, password: str, device_name: str = "") -> EnrollResponse:
        """Enrol with an administrator's invite code (sync.invite) and the password.
        The session should pin the certificate the code names (app.services.enrolment)."""
        return self._enrol(ENROLL_PATH, InviteEnrollRequest, password, device_name, code=code)

    def _enrol(
        self, path: str, model: type[EnrollBase], password: str, device_name: str, **who: str
    ) -> EnrollResponse:
        req = model(
            protocol=PROTOCOL_VERSION,
            password=password,
            device_id=self.replica.device_id,
            device_name=device_name,
            **who,
        )
        answer = self._post(path, req.model_dump(mode="json"), EnrollResponse, None)
        self._note_push_limit(self._last_push_limit)
        return answer

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


class _Run:
    """The state of one sync: its result, self-healing, the request sent ahead."""

    def __init__(
        self, replica: Replica, on_progress: Callable[[SyncProgress], None] | None
    ) -> None:
        self.result = SyncResult()
        self.started = time.perf_counter()
        self.heal = _Healing(replica)
        self.on_progress = on_progress
        self.total = 0  # changes to send
        self.audit_head: dict[str, Any] | None = None  # sent with the first request
        self.known: tuple[str, int] | None = None  # the server's id and epoch
        self.drops = 0  # requests cut off in a row
        self.wire = Wire()
        self.ahead: Flight | None = None  # the next request, sent before a reply was applied

    def drop_ahead(self) -> None:
        """Forget the request sent ahead (waiting for it to end): its reply is not
        applied, and the next sync repeats it (the server answers a replay alike)."""
        ahead, self.ahead = self.ahead, None
        if ahead is not None and not ahead.outcome.cancel():
            ahead.outcome.exception()
