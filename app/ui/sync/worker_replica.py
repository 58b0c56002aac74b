"""The replica the sync client drives from the network thread while the vault stays
on the database worker.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

from app.services.syncing import StoreReplica
from app.ui.shell.context import AppContext
from app.ui.sync.sync_state import SyncCancelled


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
