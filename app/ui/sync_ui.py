"""Sync in the desktop app: the status in the status bar, the Sync button (F5) and
the controller that runs syncs without freezing anything.

Threads. The network exchange runs on its own single-thread executor
("peertrail-net"); the vault is only ever touched on the database worker (the
SQLCipher connection belongs to that thread). :class:`WorkerReplica` is the bridge:
it gives sync.client.SyncClient the replica it expects, but every call it
receives on the network thread is handed to the database worker (through
``AppContext.run``, submitted from the UI thread) and waited for. So while the
network thread waits on a slow link the database worker stays free for the
screens, and the UI thread never waits for either.

When. A sync runs when the person presses Sync (F5), when a connection appears
(a cheap ``GET /v1/health`` every so often while offline, backing off up to a few
minutes, and at once when Qt's QNetworkInformation reports the network came
back), a while after local changes settle, and every so often while online to
receive the team's changes. After a sync every page refreshes
(``ctx.changed`` with every synced table).

Errors are told in plain words per SyncError code; nothing is lost by a failed
sync (the changes stay waiting in the vault).
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QToolButton,
    QWidget,
)

from app.domain.records import Role
from app.store import syncui_queries as q
from app.store.replica import StoreReplica
from app.ui.context import AppContext
from app.ui.tasks import log_failure
from sync import merge, rules
from sync.client import SyncClient, SyncError, make_session

log = logging.getLogger(__name__)

#: Every table a sync can write: pages showing any of them refresh afterwards.
SYNCED_TABLES: frozenset[str] = frozenset(rules.TABLES)


class SyncCancelled(Exception):
    """The vault locked (or the window closed) during a sync."""


# -- plain-words messages --------------------------------------------------------------


def _tr(text: str) -> str:
    from PySide6.QtCore import QCoreApplication

    return QCoreApplication.translate("SyncStatus", text)


def count_text(n: int, one: str, many: str) -> str:
    """'1 change waiting' / '3 changes waiting': ``one`` and ``many`` are the
    translatable English forms, ``many`` with %1 for the number."""
    return _tr(one) if n == 1 else _tr(many).replace("%1", str(n))


def error_message(code: str, fallback: str = "") -> str:
    """What a failed sync means for the person, per SyncError code."""
    messages = {
        "offline": _tr(
            "The server cannot be reached. Your changes are safe on this laptop and "
            "will be sent when the connection is back."
        ),
        "tls": _tr(
            "The server's security certificate is not the one this laptop trusts, so "
            "nothing was sent. Please call your administrator before syncing."
        ),
        "revoked": _tr(
            "This laptop's access to the server was withdrawn. Your records stay on "
            "this laptop. Please call your administrator."
        ),
        "unauthorized": _tr(
            "The server did not accept this laptop's sign-in. Please call your administrator."
        ),
        "update_required": _tr(
            "The server needs a newer PeerTrail. Your changes are safe; please update "
            "PeerTrail, then sync."
        ),
        "bad_reply": _tr(
            "The server's answer came back garbled (the connection may have dropped). "
            "Nothing was lost; the next sync repeats it."
        ),
        "server_error": _tr(
            "The server had a problem and could not finish. Your changes are safe and "
            "will be sent at the next sync."
        ),
        "busy": _tr("The server is busy. The sync will try again shortly."),
        "not_enrolled": _tr(
            "This laptop is not connected to a server yet. Connect it in Preferences."
        ),
        "cancelled": _tr("The sync stopped because PeerTrail was locked."),
    }
    if code in messages:
        return messages[code]
    return fallback or _tr(
        "The sync could not finish. Your changes are safe on this laptop; try again later."
    )


# -- state -------------------------------------------------------------------------------

OFFLINE, ONLINE, UNKNOWN = "offline", "online", "unknown"


@dataclass(frozen=True)
class SyncState:
    """Everything the status bar shows (no personal data)."""

    enrolled: bool = False
    connection: str = UNKNOWN  # online / offline / unknown (not checked yet)
    syncing: bool = False
    pending: int = 0
    open_conflicts: int = 0
    rejected: int = 0
    last_ok_at: datetime | None = None
    clock_offset_ms: int = 0
    error_code: str = ""
    error: str = ""
    progress_done: int = 0
    progress_total: int = 0
    received: int = 0

    @property
    def clock_warning(self) -> str | None:
        return merge.clock_warning(self.clock_offset_ms)


def ago(when: datetime | None, now: datetime | None = None) -> str:
    """'just now', '5 min ago', 'today 09:12', 'yesterday', '3 Nov' — plain and short."""
    if when is None:
        return _tr("never")
    now = now or datetime.now(UTC)
    seconds = (now - when).total_seconds()
    if seconds < 60:
        return _tr("just now")
    if seconds < 3600:
        return _tr("%1 min ago").replace("%1", str(int(seconds // 60)))
    local, local_now = when.astimezone(), now.astimezone()
    if local.date() == local_now.date():
        return _tr("today %1").replace("%1", local.strftime("%H:%M"))
    days = (local_now.date() - local.date()).days
    if days == 1:
        return _tr("yesterday %1").replace("%1", local.strftime("%H:%M"))
    if days < 7:
        return _tr("%1 days ago").replace("%1", str(days))
    return f"{local.day} {local.strftime('%b %Y')}"


# -- threads -------------------------------------------------------------------------------


class NetWorker(QObject):
    """A single-thread executor for network work; results come back on the UI thread."""

    _deliver = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="peertrail-net")
        self._closed = False
        self.busy = 0
        self._deliver.connect(self._on_deliver, Qt.ConnectionType.QueuedConnection)

    def run(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        if self._closed:
            raise RuntimeError("the network worker has been shut down")
        self.busy += 1

        def work() -> None:
            try:
                result = fn()
            except BaseException as exc:  # reported to the UI thread
                self._deliver.emit(partial(on_error, exc))
            else:
                self._deliver.emit(partial(on_done, result))

        self._executor.submit(work)

    def shutdown(self) -> None:
        """Stop taking work; a request in flight ends on its own (its result is
        dropped). Does not wait."""
        if not self._closed:
            self._closed = True
            self._executor.shutdown(wait=False, cancel_futures=True)

    @staticmethod
    def on_thread() -> bool:
        return threading.current_thread().name.startswith("peertrail-net")

    @Slot(object)
    def _on_deliver(self, closure: Callable[[], None]) -> None:
        self.busy -= 1
        if not self._closed:
            closure()


class DbBridge(QObject):
    """Lets the network thread run a function on the database worker and wait for
    its result. The request crosses to the UI thread (a queued signal) which hands
    it to ``AppContext.run``; the result is set on the database worker itself, so
    it arrives even when the vault was locked meanwhile (as an error: the store is
    closed) and the network thread never hangs."""

    _submit = Signal(object)

    def __init__(self, ctx: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.cancelled = threading.Event()
        self._submit.connect(self._on_submit, Qt.ConnectionType.QueuedConnection)

    def call(self, fn: Callable[[Any], Any]) -> Any:
        """On the network thread: ``fn(store)`` on the database worker; its result."""
        if self.cancelled.is_set():
            raise SyncCancelled()
        fut: Future[Any] = Future()
        self._submit.emit((fn, fut))
        while True:
            try:
                return fut.result(timeout=0.25)
            except FutureTimeout:
                if self.cancelled.is_set():
                    raise SyncCancelled() from None

    @Slot(object)
    def _on_submit(self, item: tuple[Callable[[Any], Any], Future[Any]]) -> None:
        fn, fut = item
        if self.cancelled.is_set() or not self.ctx.active:
            fut.set_exception(SyncCancelled())
            return

        def work(repos: Any) -> None:
            if self.cancelled.is_set():
                fut.set_exception(SyncCancelled())
                return
            try:
                fut.set_result(fn(repos.store))
            except BaseException as exc:
                fut.set_exception(exc)

        try:
            self.ctx.run(work, on_done=lambda _r: None, on_error=lambda _e: None)
        except RuntimeError as exc:  # the database worker was shut down
            fut.set_exception(SyncCancelled(str(exc)))


class WorkerReplica:
    """The replica sync.client.SyncClient drives, living on the network thread;
    every attribute of app.store.replica.StoreReplica it reads or calls is read or
    called on the database worker (one StoreReplica per sync, made there).

    Forwarding by name keeps this in step with StoreReplica as the wire format
    grows, without editing the client. ``apply_response`` is also counted, for the
    progress shown during a long pull."""

    def __init__(self, bridge: DbBridge, on_applied: Callable[[dict[str, int]], None]) -> None:
        self._bridge = bridge
        self._on_applied = on_applied
        self._replica: StoreReplica | None = None  # touched only on the database worker

    def _on_db(self, fn: Callable[[StoreReplica], Any]) -> Any:
        def run(store: Any) -> Any:
            if self._replica is None or self._replica.store is not store:
                self._replica = StoreReplica(store)
            return fn(self._replica)

        return self._bridge.call(run)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            attr = inspect.getattr_static(StoreReplica, name)
        except AttributeError:
            raise AttributeError(name) from None
        if isinstance(attr, property):
            return self._on_db(lambda r: getattr(r, name))
        if callable(attr):

            def call(*args: Any, **kw: Any) -> Any:
                result = self._on_db(lambda r: getattr(r, name)(*args, **kw))
                if name == "apply_response" and isinstance(result, dict):
                    self._on_applied(result)
                return result

            return call
        return self._on_db(lambda r: getattr(r, name))


# -- the controller --------------------------------------------------------------------------


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
        self.net = NetWorker(self)
        self.bridge = DbBridge(ctx, self)
        self._server: dict[str, str] = {}
        self._again = False
        self._closed = False
        self._broadcasting = False
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

    def refresh_state(self) -> None:
        """Read the overview (changes waiting, conflicts, last sync) on the worker."""
        if not self._usable():
            return
        self._db(lambda repos: q.overview(repos.store), self._apply_overview, self._failed_read)

    def _apply_overview(self, ov: q.SyncOverview) -> None:
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
        self._set(syncing=True, error="", error_code="", progress_done=0, progress_total=0,
                  received=0)  # fmt: skip
        self.long_sync = False
        self._show_progress.start()
        self.started.emit()
        log.info("sync started (%s)", reason)
        self._db(self._prepare, self._on_prepared, self._on_failed)
        return True

    @staticmethod
    def _prepare(repos: Any) -> tuple[dict[str, str], int]:
        replica = StoreReplica(repos.store)
        return replica.server(), replica.pending_count()

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
        bridge, retries = self.bridge, self.retries

        def progress(done: int, total: int) -> None:
            self._progress.emit((done, total, None))

        def applied(counts: dict[str, int]) -> None:
            self._progress.emit((None, None, counts.get("pulled", 0)))

        def exchange() -> Any:
            replica = WorkerReplica(bridge, applied)
            client = SyncClient(
                replica,  # type: ignore[arg-type]
                server["url"],
                server["token"],
                session=make_session(server.get("fingerprint") or None, retries=retries),
            )
            try:
                return client.sync(progress=progress)
            finally:
                client.session.close()

        try:
            self.net.run(exchange, self._on_exchanged, self._on_failed)
        except RuntimeError:
            self._end(False, "cancelled", error_message("cancelled"))
            self.finished.emit(False, error_message("cancelled"))

    _progress = Signal(object)

    @Slot(object)
    def _on_progress(self, item: tuple[int | None, int | None, int | None]) -> None:
        done, total, pulled = item
        if self._closed or not self.state.syncing:
            return
        changes: dict[str, Any] = {}
        if done is not None:
            changes["progress_done"] = done
        if total is not None and total > 1:
            changes["progress_total"] = total
        if pulled:
            changes["received"] = self.state.received + pulled
        self._set(**changes)

    def _on_exchanged(self, result: Any) -> None:
        if not self._usable():
            return
        self.last_result = result

        def done(ov: q.SyncOverview) -> None:
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

        self._db(lambda repos: q.record_sync_success(repos.store), done, self._on_failed)

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
        self._broadcasting = True
        try:
            self.ctx.changed(SYNCED_TABLES)
        finally:
            self._broadcasting = False

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
        if code != "cancelled" and (self._reason == "button" or code != "offline"):
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
        if self._broadcasting or not self._usable():
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
        self._db(lambda repos: q.sync_server(repos.store), self._check_with, self._failed_read)

    def _check_with(self, server: dict[str, str]) -> None:
        if not self._usable() or not server.get("url"):
            return

        def probe() -> int | None:
            session = make_session(server.get("fingerprint") or None, retries=0)
            try:
                r = session.get(
                    server["url"].rstrip("/") + "/v1/health",
                    timeout=(5.0, 10.0),
                    verify=session.verify,
                )
                if r.status_code != 200:
                    return None
                sent_ms = r.json().get("server_time_ms")
                return int(sent_ms) if sent_ms is not None else 0
            except Exception:  # any failure to get an answer is "offline" here
                return None
            finally:
                session.close()

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

        try:
            self.net.run(probe, answered, lambda _e: answered(None))
        except RuntimeError:
            return

    # -- enrolment ------------------------------------------------------------------------------

    def enroll(
        self, url: str, fingerprint: str, username: str, password: str, device_name: str = ""
    ) -> None:
        """Connect this vault to the server (the CLI's enrol, on the network and
        database threads). Ends with :attr:`enrolment_finished`; on success the
        first sync follows at once (it brings this user's record from the server)."""
        if not self._usable():
            return
        url = url.strip().rstrip("/")
        fingerprint = fingerprint.strip()
        bridge = self.bridge

        def talk() -> tuple[str, str, str]:
            replica = WorkerReplica(bridge, lambda _c: None)
            client = SyncClient(
                replica,  # type: ignore[arg-type]
                url,
                token="",
                session=make_session(fingerprint or None, retries=1),
            )
            try:
                answer = client.enroll(username, password, device_name=device_name)
            finally:
                client.session.close()

            def adopt(store: Any) -> None:
                replica = StoreReplica(store)
                replica.adopt_identity(answer.user_id, answer.role)
                replica.save_server(
                    url=url, fingerprint=fingerprint, token=answer.token, username=username
                )
                store.audit("sync", how="enrolled")

            bridge.call(adopt)
            return answer.user_id, answer.role, username

        def done(result: tuple[str, str, str]) -> None:
            if not self._usable():
                return
            user_id, role, name = result
            try:
                role_value = Role(role)
            except ValueError:
                role_value = self.ctx.user.role
            self.ctx.user = replace(self.ctx.user, id=user_id, role=role_value)
            self._set(enrolled=True, connection=ONLINE, error="", error_code="")
            text = self.tr("This laptop is now connected to the server as %1.").replace("%1", name)
            self.enrolment_finished.emit(True, text)
            self.sync_now("enrolled")

        def failed(exc: BaseException) -> None:
            if not self._usable():
                return
            if isinstance(exc, SyncError):
                if exc.code == "offline":
                    text = self.tr(
                        "The server cannot be reached, so this laptop was not connected; "
                        "nothing was changed. Check the address and the connection."
                    )
                elif exc.code == "unauthorized":
                    text = self.tr("The server did not accept that user name and password.")
                else:
                    text = error_message(exc.code, str(exc))
            else:
                log_failure("enrolment", exc)
                text = self.tr("This laptop could not be connected; nothing was changed.")
            self.enrolment_finished.emit(False, text)

        try:
            self.net.run(talk, done, failed)
        except RuntimeError:
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
        self.bridge.cancelled.set()
        for t in (self._settle, self._periodic, self._check, self._count, self._show_progress):
            t.stop()
        self.net.shutdown()
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


# -- the status bar widget ----------------------------------------------------------------------


class SyncStatus(QWidget):
    """Sync in the status bar: connection, changes waiting, last sync, conflicts,
    clock warning, a progress bar during a long sync, and the Sync button."""

    #: The person clicked the conflicts count: show the conflicts page.
    open_conflicts = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("syncStatus")
        self.controller: SyncController | None = None
        self._state = SyncState()
        self._long = False
        self._wanted: dict[QWidget, bool] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 4, 0)
        layout.setSpacing(6)

        self.connection = QLabel()
        self.connection.setObjectName("syncConnection")
        self.pending = QLabel()
        self.pending.setObjectName("syncPending")
        self.last = QLabel()
        self.last.setObjectName("syncLast")
        self.clock = QLabel()
        self.clock.setObjectName("syncClock")
        self.clock.setAccessibleName(self.tr("Clock warning"))
        self.conflicts = QPushButton()
        self.conflicts.setObjectName("syncConflicts")
        self.conflicts.setAccessibleName(self.tr("Open the conflicts to look at"))
        self.conflicts.setCursor(Qt.CursorShape.PointingHandCursor)
        self.conflicts.clicked.connect(self.open_conflicts)
        self.progress = QProgressBar()
        self.progress.setObjectName("syncProgress")
        self.progress.setAccessibleName(self.tr("Sync progress"))
        self.progress.setFixedWidth(140)
        self.progress.setTextVisible(False)
        self.button = QToolButton()
        self.button.setObjectName("syncButton")
        self.button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.button.setText(self.tr("Sync"))
        self.button.setAccessibleName(self.tr("Sync now"))
        self.button.setToolTip(self.tr("Send your changes and receive your team's (F5)"))

        for w in (self.connection, self.pending, self.last, self.clock):
            w.setAccessibleName(w.accessibleName() or self.tr("Sync status"))
        for w in (
            self.connection,
            self.pending,
            self.last,
            self.conflicts,
            self.clock,
            self.progress,
            self.button,
        ):
            layout.addWidget(w)
        layout.insertStretch(0, 1)  # room to spare stays on the left, not in the buttons
        #: Shown only when the state wants them and there is room (see _fit).
        self._optional = (self.pending, self.last)
        self.show_state(SyncState())

    def set_controller(self, controller: SyncController | None) -> None:
        """Follow a session's controller; None while locked (the widget hides)."""
        if self.controller is not None:
            for sig, slot in (
                (self.controller.state_changed, self.show_state),
                (self.button.clicked, self.controller.action.trigger),
            ):
                with contextlib.suppress(RuntimeError, TypeError):
                    sig.disconnect(slot)
        self.controller = controller
        if controller is None:
            self.hide()
            self.show_state(SyncState())
            return
        controller.state_changed.connect(self.show_state)
        self.button.clicked.connect(controller.action.trigger)
        self.show_state(controller.state)
        self.show()

    def show_state(self, state: SyncState) -> None:
        self._state = state
        long_sync = bool(self.controller and self.controller.long_sync)
        if not state.enrolled:
            self.connection.setText(self.tr("Not connected to a server"))
            self.connection.setProperty("state", "unenrolled")
            tip = self.tr("Your work stays on this laptop. Connect it in Preferences.")
            if state.pending:  # nothing is "waiting" without a server: say it here only
                tip += " " + count_text(
                    state.pending,
                    "1 change will be sent when you connect.",
                    "%1 changes will be sent when you connect.",
                )
            self.connection.setToolTip(tip)
        elif state.syncing:
            self.connection.setText(self.tr("Syncing…"))
            self.connection.setProperty("state", "syncing")
            self.connection.setToolTip("")
        elif state.connection == OFFLINE:
            self.connection.setText(self.tr("● Offline"))
            self.connection.setProperty("state", "offline")
            self.connection.setToolTip(state.error or error_message("offline"))
        elif state.error_code and state.error_code not in ("offline", "cancelled"):
            self.connection.setText(self.tr("● Sync problem"))
            self.connection.setProperty("state", "problem")
            self.connection.setToolTip(state.error)
        elif state.connection == ONLINE:
            self.connection.setText(self.tr("● Online"))
            self.connection.setProperty("state", "online")
            self.connection.setToolTip(self.tr("The server answers."))
        else:
            self.connection.setText(self.tr("● Checking…"))
            self.connection.setProperty("state", "unknown")
            self.connection.setToolTip("")
        self.connection.setAccessibleDescription(self.connection.toolTip())
        self.connection.style().unpolish(self.connection)
        self.connection.style().polish(self.connection)

        if state.pending:
            self.pending.setText(
                count_text(state.pending, "1 change waiting", "%1 changes waiting")
            )
        else:
            self.pending.setText(self.tr("All changes sent") if state.enrolled else "")
        # Before enrolment every change "waits" (tens of thousands in the demo): the
        # count is in the connection's tooltip instead.
        self._wanted[self.pending] = bool(self.pending.text()) and state.enrolled

        self.last.setText(self.tr("Last sync: %1").replace("%1", ago(state.last_ok_at)))
        self._wanted[self.last] = state.enrolled
        if state.last_ok_at is not None:
            self.last.setToolTip(state.last_ok_at.astimezone().strftime("%Y-%m-%d %H:%M"))

        n = state.open_conflicts
        self.conflicts.setText(count_text(n, "1 conflict", "%1 conflicts") if n else "")
        self._wanted[self.conflicts] = n > 0
        self.conflicts.setToolTip(self.tr("Compare both versions and choose (Conflicts page)"))

        warning = state.clock_warning
        self.clock.setText(self.tr("⚠ Clock is off") if warning else "")
        self.clock.setToolTip(
            _tr(
                "This laptop's clock is %1 minutes off from the server's. Set the date "
                "and time correctly so your changes are ordered right."
            ).replace("%1", str(round(abs(state.clock_offset_ms) / 60000)))
            if warning
            else ""
        )
        self.clock.setAccessibleDescription(self.clock.toolTip())
        self._wanted[self.clock] = bool(warning)

        self._wanted[self.progress] = state.syncing and long_sync
        if state.progress_total > 0 and state.progress_done < state.progress_total:
            self.progress.setRange(0, state.progress_total)
            self.progress.setValue(state.progress_done)
        else:
            self.progress.setRange(0, 0)  # receiving: no known end
        self.button.setEnabled(state.enrolled and not state.syncing)
        self.button.setVisible(True)
        self.updateGeometry()
        self._fit()

    # -- fitting a narrow status bar ---------------------------------------------------------

    def _width_of(self, widgets: list[QWidget]) -> int:
        layout = self.layout()
        m = layout.contentsMargins()
        shown = [w for w in widgets if w is not None]
        return (
            sum(w.sizeHint().width() for w in shown)
            + layout.spacing() * max(0, len(shown) - 1)
            + m.left()
            + m.right()
        )

    def _sets(self) -> tuple[list[QWidget], list[QWidget]]:
        """What the state wants shown, and the same without what can go when room is
        short: the last sync time, then "All changes sent" (both stay in tooltips)."""
        full = [self.connection] + [w for w in self._optional if self._wanted.get(w)]
        full += [w for w in (self.conflicts, self.clock, self.progress) if self._wanted.get(w)]
        full.append(self.button)
        compact = [w for w in full if w is not self.last]
        if not self._state.pending:
            compact = [w for w in compact if w is not self.pending]
        return full, compact

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(self._width_of(self._sets()[0]), hint.height())

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(self._width_of(self._sets()[1]), hint.height())

    def _fit(self) -> None:
        """Show what the state wants; when the status bar is too narrow for all of
        it, leave out the last sync time (and "All changes sent") rather than cut
        every text short. What is left out is the widget's tooltip."""
        full, compact = self._sets()
        room = self.width() if self.isVisible() else 1 << 20
        shown = full if room >= self._width_of(full) else compact
        for w in (*self._optional, self.conflicts, self.clock, self.progress):
            w.setVisible(w in shown)
        left_out = " · ".join(w.text() for w in full if w not in shown)
        self.setToolTip(left_out)  # what was left out, on hovering the sync status
        self.setAccessibleDescription(left_out)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._fit()
