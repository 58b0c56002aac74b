"""Sync in the desktop app: the controller that runs syncs (and enrolment) without
freezing anything, and the Sync now action (F5). The status bar widget is
status_widget.py; the texts it shows are sync_state.py.

Threads. The network exchange runs on the network lane (app.ui.shell.tasks); the
vault is only ever touched on the database lane (the SQLCipher connection belongs
to that thread). :class:`app.ui.sync.lane_replica.LaneReplica` gives
sync.client.SyncClient the replica it expects, and runs each of its calls on the
database lane while the network lane waits. So while the network lane waits on a
slow link the database lane stays free for the screens, and the UI thread never
waits for either.

When. A sync runs when the person presses Sync (F5), when a connection appears
(a cheap ``GET /v1/health`` every so often while offline, backing off up to a few
minutes, and at once when Qt's QNetworkInformation reports the network came
back), a while after local changes settle, and every so often while online to
receive the team's changes. After a sync every page refreshes (the context
broadcasts app.services.syncing.SYNC_CHANGED: every synced table).

Errors are told in plain words per SyncError code; nothing is lost by a failed
sync (the changes stay waiting in the vault).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtCore import Qt
from PySide6.QtCore import QTimer
from PySide6.QtCore import Signal
from PySide6.QtCore import Slot
from PySide6.QtGui import QAction
from PySide6.QtGui import QKeySequence

from app.domain.records import Role
from app.services import enrolment
from app.services import site_settings
from app.services import syncing
from app.services.failures import log_failure
from app.ui.shell.context import AppContext
from app.ui.shell.tasks import NET
from app.ui.shell.tasks import LaneClosed
from app.ui.sync.lane_replica import LaneReplica
from app.ui.sync.sync_state import OFFLINE
from app.ui.sync.sync_state import ONLINE
from app.ui.sync.sync_state import UNKNOWN
from app.ui.sync.sync_state import SyncCancelled
from app.ui.sync.sync_state import SyncState
from app.ui.sync.sync_state import count_text
from app.ui.sync.sync_state import error_message
from sync.client import SyncError

log = logging.getLogger(__name__)


@dataclass
class Timing:
    """How often things happen (ms). Tests shorten them."""

    settle_ms: int = 20_000  # after the last local change
    periodic_ms: int = 15 * 60_000  # while online, to receive the team's work
    check_first_ms: int = 15_000  # first reachability check after going offline
    check_max_ms: int = 5 * 60_000  # back-off ceiling
    progress_after_ms: int = 700  # a sync longer than this shows a progress bar
    count_ms: int = 400  # re-read "changes waiting" after local changes


class SyncController(QObject):
    """Runs syncs and enrolment for one unlocked session (a new one per unlock)."""

    #: The state changed (a SyncState).
    state_changed = Signal(object)
    #: A sync started.
    started = Signal()
    #: A sync ended: (ok, a message for the person; "" when there is nothing to say).
    finished = Signal(bool, str)
    #: Enrolment ended: (ok, message).
    enrolment_finished = Signal(bool, str)
    #: The reachability check answered (True: the server answers).
    reachability = Signal(bool)

    def __init__(
        self,
        ctx: AppContext,
        parent: QObject | None = None,
        timing: Timing | None = None,
        retries: int = 3,
        auto: bool = True,
    ) -> None:
        super().__init__(parent if parent is not None else ctx)
        self.ctx = ctx
        self.timing = timing or Timing()
        self.retries = retries
        self.auto = auto
        self.state = SyncState()
        self._cancelled = threading.Event()  # set on close: the exchange stops
        self._stop = threading.Event()  # set by stop(): this sync ends after its request
        self._server: dict[str, str] = {}
        self._again = False
        self._closed = False
        self._check_ms = self.timing.check_first_ms
        self._reason = ""
        self.last_result: Any = None

        self._settle = self._timer(self.timing.settle_ms, self._on_settled)
        self._periodic = self._timer(self.timing.periodic_ms, self._on_periodic)
        self._check = self._timer(self.timing.check_first_ms, self._on_check_timer)
        self._count = self._timer(self.timing.count_ms, self.refresh_state)
        self._show_progress = self._timer(self.timing.progress_after_ms, self._on_long_sync)
        self.long_sync = False

        self.action = QAction(self.tr("&Sync now"), self)
        self.action.setShortcut(QKeySequence(Qt.Key.Key_F5))
        self.action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.action.setStatusTip(self.tr("Send your changes and receive your team's (F5)"))
        self.action.triggered.connect(lambda: self.sync_now())

        self._progress.connect(self._on_progress, Qt.ConnectionType.QueuedConnection)
        ctx.data_changed.connect(self._on_data_changed)
        self._network_info = _network_information()
        if self._network_info is not None:
            self._network_info.reachabilityChanged.connect(self._on_reachability)
        self.refresh_state()

    def _timer(self, ms: int, slot: Callable[[], None]) -> QTimer:
        t = QTimer(self)
        t.setSingleShot(True)
        t.setInterval(ms)
        t.timeout.connect(slot)
        return t

    # -- state -----------------------------------------------------------------------------

    def _set(self, **changes: Any) -> None:
        self.state = replace(self.state, **changes)
        self.state_changed.emit(self.state)

    def _usable(self) -> bool:
        return not self._closed and self.ctx.active

    def _db(
        self,
        fn: Callable[..., Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        """``ctx.run`` unless the session is over (then this controller closes)."""
        if not self._usable():
            return
        try:
            self.ctx.run(fn, on_done, on_error)
        except RuntimeError:  # the database worker was shut down: the window closed
            self.close()

    def _net(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
    ) -> bool:
        """``fn()`` on the network lane; its callbacks run only while this controller
        is open (a result that arrives after the vault locked is dropped unseen).
        False when the lane no longer takes work (the window is closing)."""
        cancelled = self._cancelled

        def work() -> Any:
            if cancelled.is_set():
                raise SyncCancelled()
            return fn()

        def done(result: Any) -> None:
            if not self._closed:
                on_done(result)

        def failed(exc: BaseException) -> None:
            if not self._closed:
                on_error(exc)

        try:
            self.ctx.tasks.run(work, done, failed, lane=NET)
        except LaneClosed:
            return False
        return True

    def refresh_state(self) -> None:
        """Read the overview (changes waiting, conflicts, last sync) on the worker."""
        if not self._usable():
            return
        self._db(
            lambda repos: syncing.overview(repos.store), self._apply_overview, self._failed_read
        )

    def _apply_overview(self, ov: syncing.SyncOverview) -> None:
        if self._closed:
            return
        was_enrolled = self.state.enrolled
        self._set(
            enrolled=ov.enrolled,
            pending=ov.pending,
            open_conflicts=ov.open_conflicts,
            rejected=ov.rejected,
            last_ok_at=ov.last_ok_at,
            clock_offset_ms=ov.clock_offset_ms,
        )
        if ov.enrolled and not was_enrolled and self.auto and self.state.connection == UNKNOWN:
            self._check.start(0)  # find out whether the server answers

    def _failed_read(self, exc: BaseException) -> None:
        log_failure("reading the sync overview", exc)

    # -- syncing -----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.state.syncing

    def sync_now(self, reason: str = "button") -> bool:
        """Start a sync unless one is running (then another follows it). Returns
        False when nothing was started."""
        if not self._usable():
            return False
        if self.state.syncing:
            self._again = True
            return False
        self._again = False
        self._reason = reason
        self._settle.stop()
        self._periodic.stop()
        self._stop.clear()
        self._set(syncing=True, error="", error_code="", progress_done=0, progress_total=0,
                  received=0, bytes_moved=0, seconds_left=None)  # fmt: skip
        self.long_sync = False
        self._show_progress.start()
        self.started.emit()
        log.info("sync started (%s)", reason)
        self._db(self._prepare, self._on_prepared, self._on_failed)
        return True

    @staticmethod
    def _prepare(repos: Any) -> tuple[dict[str, str], int]:
        return syncing.sync_server(repos.store), syncing.pending_count(repos.store)

    def _on_prepared(self, prepared: tuple[dict[str, str], int]) -> None:
        if self._closed:
            return
        server, pending = prepared
        if not server.get("url") or not server.get("token"):
            text = error_message("not_enrolled")
            self._end(False, "not_enrolled", text, enrolled=False)
            self.finished.emit(False, text)
            return
        self._server = server
        self._set(progress_total=pending, pending=pending)
        ctx, cancelled, retries = self.ctx, self._cancelled, self.retries

        stop = self._stop

        def progress(p: Any) -> None:  # a sync.client.SyncProgress, after each reply
            self._progress.emit(p)

        def exchange() -> Any:
            replica = LaneReplica(ctx, cancelled)
            return syncing.exchange(
                replica,  # type: ignore[arg-type]
                server,
                retries,
                on_progress=progress,
                cancel=stop.is_set,
            )

        if not self._net(exchange, self._on_exchanged, self._on_failed):
            self._end(False, "cancelled", error_message("cancelled"))
            self.finished.emit(False, error_message("cancelled"))

    _progress = Signal(object)

    @Slot(object)
    def _on_progress(self, p: Any) -> None:
        if self._closed or not self.state.syncing:
            return
        self._set(
            progress_done=p.sent,
            progress_total=max(p.to_send, p.sent),
            received=p.received,
            bytes_moved=p.bytes_sent + p.bytes_received,
            seconds_left=p.seconds_left,
        )

    def stop(self) -> None:
        """Stop the running sync after the request under way (what was acknowledged
        stays acknowledged; the rest goes at the next sync)."""
        if self.state.syncing:
            self._stop.set()

    def _on_exchanged(self, result: Any) -> None:
        if not self._usable():
            return
        self.last_result = result

        def done(ov: syncing.SyncOverview) -> None:
            self._apply_overview(ov)
            message = self._summary(result)
            self._end(True, "", "", connection=ONLINE, clock_offset_ms=ov.clock_offset_ms)
            self._broadcast()
            quiet = self._reason != "button" and not (
                result.pushed
                or result.pulled
                or result.conflicts
                or result.rejected
                or getattr(result, "healed", "")
                or getattr(result, "repaired", 0)
            )
            if message and not quiet:
                self.ctx.status_message.emit(message)
            self.finished.emit(True, message)
            if self._again:
                self.sync_now("changes during the last sync")

        self._db(lambda repos: syncing.record_sync_success(repos.store), done, self._on_failed)

    def _summary(self, result: Any) -> str:
        parts = []
        if result.pushed:
            parts.append(count_text(result.pushed, "1 change sent", "%1 changes sent"))
        if result.pulled:
            parts.append(count_text(result.pulled, "1 received", "%1 received"))
        if result.conflicts:
            parts.append(
                count_text(result.conflicts, "1 conflict to look at", "%1 conflicts to look at")
            )
        if result.rejected:
            parts.append(
                count_text(
                    len(result.rejected), "1 refused by the server", "%1 refused by the server"
                )
            )
        # What self-healing did (a restored vault or server, a repair), in full.
        healed = result.report() if hasattr(result, "report") else ""
        if not parts:
            return (self.tr("Synced: everything is up to date.") + " " + healed).strip()
        return (self.tr("Synced: ") + ", ".join(parts) + ". " + healed).strip()

    def _broadcast(self) -> None:
        self.ctx.broadcast(syncing.SYNC_CHANGED, origin=self)

    def _on_failed(self, exc: BaseException) -> None:
        if self._closed:
            return
        if isinstance(exc, SyncError):
            code, text = exc.code, error_message(exc.code, str(exc))
        elif isinstance(exc, SyncCancelled):
            code, text = "cancelled", error_message("cancelled")
        else:
            log_failure("sync", exc)
            code, text = "error", error_message("error")
        connection = OFFLINE if code == "offline" else self.state.connection
        if code in ("server_error", "busy", "bad_reply", "tls", "update_required"):
            connection = ONLINE  # the server answered
        self._end(False, code, text, connection=connection)
        self.refresh_state()
        if code not in ("cancelled", "stopped") and (self._reason == "button" or code != "offline"):
            self.ctx.status_message.emit(text)  # automatic syncs offline: the status shows it
        self.finished.emit(False, text)

    def _end(self, ok: bool, code: str, text: str, **changes: Any) -> None:
        self._show_progress.stop()
        self.long_sync = False
        self._set(syncing=False, error_code=code, error=text, **changes)
        self._schedule()

    def _on_long_sync(self) -> None:
        if self.state.syncing:
            self.long_sync = True
            self.state_changed.emit(self.state)

    # -- automatic syncs ------------------------------------------------------------------------

    def _schedule(self) -> None:
        """After a sync or a check: what happens next on its own."""
        if not self._usable() or not self.auto or not self.state.enrolled:
            return
        if self.state.connection == OFFLINE or self.state.error_code == "server_error":
            self._check.start(self._check_ms)
            self._check_ms = min(self._check_ms * 2, self.timing.check_max_ms)
        elif self.state.error_code in ("", "busy", "bad_reply"):
            self._check_ms = self.timing.check_first_ms
            self._periodic.start()

    def _on_data_changed(self, tables: frozenset[str]) -> None:
        if self.ctx.origin is self or not self._usable():
            return
        self._count.start()  # "changes waiting" follows the person's edits
        if self.auto and self.state.enrolled and self.state.connection != OFFLINE:
            self._settle.start()  # restarted by every change: sync once they settle

    def _on_settled(self) -> None:
        if self.state.pending or self.state.connection == ONLINE:
            self.sync_now("local changes")

    def _on_periodic(self) -> None:
        self.sync_now("periodic")

    @Slot(object)
    def _on_reachability(self, reachability: Any) -> None:
        from PySide6.QtNetwork import QNetworkInformation

        self._on_network_changed(reachability == QNetworkInformation.Reachability.Online)

    def _on_network_changed(self, reachable: bool) -> None:
        if reachable and self._usable():
            self._check_ms = self.timing.check_first_ms
            self._check.start(0)

    def _on_check_timer(self) -> None:
        self.check_connection()

    def check_connection(self) -> None:
        """Ask the server's /v1/health on the network thread; sync when it answers
        and this laptop was offline (or has changes waiting)."""
        if not self._usable() or self.state.syncing:
            return
        self._db(
            lambda repos: syncing.sync_server(repos.store), self._check_with, self._failed_read
        )

    def _check_with(self, server: dict[str, str]) -> None:
        if not self._usable() or not server.get("url"):
            return

        def probe() -> int | None:
            return syncing.server_time(server)

        def answered(server_ms: int | None) -> None:
            if not self._usable():
                return
            up = server_ms is not None
            self.reachability.emit(up)
            was = self.state.connection
            self._set(connection=ONLINE if up else OFFLINE)
            if up and (was != ONLINE or self.state.pending or self.state.error_code):
                self._check_ms = self.timing.check_first_ms
                self.sync_now("connection appeared")
            else:
                self._schedule()

        self._net(probe, answered, lambda _e: answered(None))

    # -- enrolment ------------------------------------------------------------------------------

    def enroll(
        self, url: str, fingerprint: str, username: str, password: str, device_name: str = ""
    ) -> None:
        """Connect this vault to the server (the CLI's enrol, on the network and
        database threads). Ends with :attr:`enrolment_finished`; on success the
        first sync follows at once (it brings this user's record from the server)."""
        self._enrol(
            lambda: enrolment.check_request(
                url, username, password, fingerprint=fingerprint, device_name=device_name
            ),
            lambda request, device: (request, enrolment.ask_server(request, device, retries=1)),
        )

    def enroll_invite(self, code: str, password: str, device_name: str = "") -> None:
        """Connect this vault with an invite code and the password (the certificate is
        checked against the code, then pinned); ends with :attr:`enrolment_finished`."""

        def check() -> Any:
            site = site_settings.load()
            return enrolment.check_invite(
                code, password, pinned=site.fingerprint, device_name=device_name
            )

        self._enrol(
            check, lambda request, device: enrolment.ask_server_invite(request, device, retries=1)
        )

    def _enrol(self, check: Callable[[], Any], ask: Callable[[Any, str], tuple[Any, Any]]) -> None:
        """``check()`` the request here (a problem is said at once); ``ask(request,
        device_id)`` the server on the network lane for (the request kept, the answer),
        which the vault adopts on the database lane."""
        if not self._usable():
            return
        try:
            request = check()
        except enrolment.EnrolmentError as e:
            self.enrolment_finished.emit(False, str(e))
            return
        ctx, cancelled = self.ctx, self._cancelled

        def talk() -> enrolment.Enrolled:  # on the network lane
            replica = LaneReplica(ctx, cancelled)
            kept, answer = ask(request, replica.device_id)
            return replica.on_store(lambda store: enrolment.adopt(store, kept, answer))

        self._run_enrolment(talk)

    def _run_enrolment(self, talk: Callable[[], enrolment.Enrolled]) -> None:
        """Run ``talk`` on the network lane; then the identity, the state and the first sync."""

        def done(enrolled: enrolment.Enrolled) -> None:
            if not self._usable():
                return
            try:
                role_value = Role(enrolled.role)
            except ValueError:
                role_value = self.ctx.user.role
            self.ctx.user = replace(self.ctx.user, id=enrolled.user_id, role=role_value)
            self._set(enrolled=True, connection=ONLINE, error="", error_code="")
            text = self.tr("This laptop is now connected to the server as %1.")
            self.enrolment_finished.emit(True, text.replace("%1", enrolled.username))
            self.sync_now("enrolled")

        def failed(exc: BaseException) -> None:
            if not self._usable():
                return
            if isinstance(exc, enrolment.EnrolmentError):
                text = str(exc)
            else:
                log_failure("enrolment", exc)
                text = self.tr("This laptop could not be connected; nothing was changed.")
            self.enrolment_finished.emit(False, text)

        if not self._net(talk, done, failed):
            self.enrolment_finished.emit(False, error_message("cancelled"))

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Begin automatic syncing (after the page set is built)."""
        self.refresh_state()

    def close(self) -> None:
        """The vault is locking: stop timers, drop any running exchange."""
        if self._closed:
            return
        self._closed = True
        self._cancelled.set()
        for t in (self._settle, self._periodic, self._check, self._count, self._show_progress):
            t.stop()
        self.action.setEnabled(False)
        if self._network_info is not None:
            with contextlib.suppress(RuntimeError, TypeError):
                self._network_info.reachabilityChanged.disconnect(self._on_reachability)


def _network_information() -> Any:
    """Qt's QNetworkInformation when the platform has a backend, else None."""
    try:
        from PySide6.QtNetwork import QNetworkInformation
    except ImportError:
        return None
    try:
        if not QNetworkInformation.loadDefaultBackend():
            return None
        return QNetworkInformation.instance()
    except Exception:  # no backend on this platform: the periodic check does the work
        return None
