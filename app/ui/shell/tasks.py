"""The one way the UI runs work off its thread.

All database work (key derivation, ``Store.open``, every query and write) runs on
one worker thread, so the SQLCipher connection is only ever used from that thread
and calls run in the order they were made (Anki's ``taskman`` style). The result,
or the exception, comes back to the UI thread through a queued Qt signal, where
``on_done`` / ``on_error`` run.

Tests wait for the worker with ``qtbot.waitUntil(lambda: not tasks.busy)`` or
``qtbot.waitSignal(tasks.idle)``; they never sleep.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

from app.services.failures import log_failure

log = logging.getLogger(__name__)

OnDone = Callable[[Any], None]
OnError = Callable[[BaseException], None]


class TaskManager(QObject):
    """A single-thread executor for database work that reports back on the UI thread."""

    #: Emitted on the UI thread when the last pending task's callback has run.
    idle = Signal()
    _deliver = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="peertrail-db")
        self._pending = 0
        self._closed = False
        self._deliver.connect(self._on_deliver, Qt.ConnectionType.QueuedConnection)

    @property
    def busy(self) -> bool:
        """True while a task is queued, running, or waiting for its callback."""
        return self._pending > 0

    def run(
        self,
        fn: Callable[..., Any],
        on_done: OnDone | None = None,
        on_error: OnError | None = None,
        args: tuple[Any, ...] = (),
    ) -> Future[Any]:
        """Run ``fn(*args)`` on the database thread; then, on the UI thread, call
        ``on_done(result)`` or ``on_error(exception)``. Without ``on_error`` the
        failure is logged (type and frames only)."""
        if self._closed:
            raise RuntimeError("the task manager has been shut down")
        self._pending += 1
        name = getattr(fn, "__qualname__", type(fn).__name__)

        def work() -> None:
            try:
                result = fn(*args)
            except BaseException as exc:  # reported to the UI thread, never swallowed
                self._deliver.emit(partial(self._finish_error, name, exc, on_error))
            else:
                self._deliver.emit(partial(self._finish, on_done, result))

        return self._executor.submit(work)

    def post(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` on the UI thread soon; safe to call from the worker (for
        progress reports)."""
        self._deliver.emit(fn)

    def shutdown(self, final: Callable[[], None] | None = None) -> None:
        """Run ``final()`` on the worker after everything queued, then wait for the
        worker to stop. Callbacks still in flight are dropped."""
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
        self._executor.shutdown(wait=True)
        self._pending = 0

    @staticmethod
    def on_worker_thread() -> bool:
        return threading.current_thread().name.startswith("peertrail-db")

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
        self._pending -= 1
        if self._pending == 0:
            self.idle.emit()
