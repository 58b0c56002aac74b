"""The one way the UI runs work off its thread: named lanes.

A lane is one worker thread with a queue; work on a lane runs in the order it was
given (Anki's ``taskman`` style), and its result, or its exception, comes back to
the UI thread through a queued Qt signal, where ``on_done`` / ``on_error`` run.
The :class:`TaskManager` has two lanes built the same way:

- ``DB`` ("peertrail-db"): all database work (key derivation, ``Store.open``,
  every query and write), so the SQLCipher connection is only ever used from that
  thread.
- ``NET`` ("peertrail-net"): network exchanges (a sync, a health check, enrolment),
  which can wait a long time on a slow link without holding the database lane.

Work on the network lane that needs the vault hands a function to the database
lane with :meth:`Lane.call` and waits for its result; only the network lane waits,
never the UI thread (``call`` refuses to run there) and never the database lane.

Tests wait for the database lane with ``qtbot.waitUntil(lambda: not tasks.busy)``
or ``qtbot.waitSignal(tasks.idle)`` (``tasks.lane(NET).busy`` for the network
lane); they never sleep.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from PySide6.QtCore import QCoreApplication
from PySide6.QtCore import QObject
from PySide6.QtCore import Qt
from PySide6.QtCore import QThread
from PySide6.QtCore import Signal
from PySide6.QtCore import Slot

from app.services.failures import log_failure

log = logging.getLogger(__name__)

OnDone = Callable[[Any], None]
OnError = Callable[[BaseException], None]

#: The database lane and the network lane.
DB, NET = "db", "net"


class LaneClosed(RuntimeError):
    """Work was given to a lane that has been shut down (the window is closing)."""


def on_ui_thread() -> bool:
    app = QCoreApplication.instance()
    return app is not None and QThread.currentThread() is app.thread()


class Lane(QObject):
    """One worker thread that runs work in order and reports back on the UI thread."""

    #: Emitted on the UI thread when the last pending task's callback has run.
    idle = Signal()
    _deliver = Signal(object)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.thread_name = f"peertrail-{name}"
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.thread_name)
        self._lock = threading.Lock()
        self._pending = 0
        self._closed = False
        self._deliver.connect(self._on_deliver, Qt.ConnectionType.QueuedConnection)

    @property
    def busy(self) -> bool:
        """True while a task is queued, running, or waiting for its callback."""
        return self._pending > 0

    @property
    def pending(self) -> int:
        return self._pending

    def on_thread(self) -> bool:
        return threading.current_thread().name.startswith(self.thread_name)

    def run(
        self,
        fn: Callable[..., Any],
        on_done: OnDone | None = None,
        on_error: OnError | None = None,
        args: tuple[Any, ...] = (),
    ) -> Future[Any]:
        """Run ``fn(*args)`` on this lane; then, on the UI thread, call
        ``on_done(result)`` or ``on_error(exception)``. Without ``on_error`` the
        failure is logged (type and frames only)."""
        name = getattr(fn, "__qualname__", type(fn).__name__)

        def work() -> None:
            try:
                result = fn(*args)
            except BaseException as exc:  # reported to the UI thread, never swallowed
                self._deliver.emit(partial(self._finish_error, name, exc, on_error))
            else:
                self._deliver.emit(partial(self._finish, on_done, result))

        return self._submit(work)

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """From another lane's thread: run ``fn(*args)`` on this lane, wait for it and
        return its result (or raise its exception). The wait blocks only the calling
        lane; the UI thread may not wait, and a lane cannot wait for itself."""
        if on_ui_thread():
            raise RuntimeError("the UI thread never waits for a lane; use run()")
        if self.on_thread():
            raise RuntimeError(f"the {self.name} lane cannot wait for itself")
        box: Future[Any] = Future()

        def work() -> None:
            try:
                box.set_result(fn(*args))
            except BaseException as exc:
                box.set_exception(exc)
            finally:
                self._deliver.emit(self._task_done)

        self._submit(work)
        return box.result()  # the work always ends: the lane runs its whole queue

    def post(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` on the UI thread soon; safe to call from any thread (for
        progress reports)."""
        self._deliver.emit(fn)

    def shutdown(self, final: Callable[[], None] | None = None, wait: bool = True) -> None:
        """Stop taking work. With ``wait``: run ``final()`` after everything queued
        and wait for the thread to stop. Without: drop what has not started; work
        under way ends on its own. Callbacks still in flight are dropped."""
        if self._closed:
            return
        self._closed = True
        if final is not None:

            def run_final() -> None:
                try:
                    final()
                except BaseException as exc:
                    log_failure("closing", exc)

            self._executor.submit(run_final)
        self._executor.shutdown(wait=wait, cancel_futures=not wait)
        with self._lock:
            self._pending = 0

    def _submit(self, work: Callable[[], None]) -> Future[Any]:
        with self._lock:
            if self._closed:
                raise LaneClosed(f"the {self.name} lane has been shut down")
            self._pending += 1
        try:
            return self._executor.submit(work)
        except RuntimeError as exc:  # the executor stopped (interpreter shutdown)
            with self._lock:
                self._pending -= 1
            raise LaneClosed(str(exc)) from exc

    # -- UI thread ----------------------------------------------------------------

    @Slot(object)
    def _on_deliver(self, closure: Callable[[], None]) -> None:
        if self._closed:
            return
        closure()

    def _finish(self, on_done: OnDone | None, result: Any) -> None:
        try:
            if on_done is not None:
                on_done(result)
        finally:
            self._task_done()

    def _finish_error(self, name: str, exc: BaseException, on_error: OnError | None) -> None:
        try:
            if on_error is not None:
                on_error(exc)
            else:
                log_failure(name, exc)
        finally:
            self._task_done()

    def _task_done(self) -> None:
        with self._lock:
            self._pending -= 1
            now_idle = self._pending == 0
        if now_idle:
            self.idle.emit()


class TaskManager(QObject):
    """The app's lanes: ``DB`` for the vault, ``NET`` for the network. ``run``,
    ``busy``, ``idle`` and ``post`` without a lane name mean the database lane."""

    #: The database lane went idle (its last pending callback has run).
    idle = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lanes = {DB: Lane(DB, self), NET: Lane(NET, self)}
        self._lanes[DB].idle.connect(self.idle)

    def lane(self, name: str) -> Lane:
        return self._lanes[name]

    @property
    def busy(self) -> bool:
        """True while database work is queued, running, or waiting for its callback."""
        return self._lanes[DB].busy

    def run(
        self, fn: Callable[..., Any], *callbacks: Any, lane: str = DB, **kw: Any
    ) -> Future[Any]:
        """:meth:`Lane.run` on ``lane``: ``fn(*args)`` there; ``on_done`` /
        ``on_error`` on the UI thread."""
        return self._lanes[lane].run(fn, *callbacks, **kw)

    def post(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` on the UI thread soon; safe to call from any thread."""
        self._lanes[DB].post(fn)

    def shutdown(self, final: Callable[[], None] | None = None) -> None:
        """Drop network work not yet started (an exchange under way ends on its own,
        its result unseen); run ``final()`` on the database lane after everything
        queued there, then wait for that lane to stop."""
        self._lanes[NET].shutdown(wait=False)
        self._lanes[DB].shutdown(final, wait=True)

    def on_worker_thread(self) -> bool:
        """True on the database lane's thread."""
        return self._lanes[DB].on_thread()
