"""The replica the sync client drives from the network lane while the vault stays
on the database lane.

:class:`sync.client.SyncClient` is synchronous: in the middle of an exchange it
asks its replica for the changes waiting, applies the server's answer, and so on.
It runs on the network lane; :class:`LaneReplica` gives it the members of
:class:`sync.client.Replica`, each of which runs on the database lane (through
:meth:`app.ui.shell.tasks.Lane.call`, so the SQLCipher connection stays on its
thread) while only the network lane waits. Once the sync is cancelled (the vault
locked, the window closed) every call raises :class:`SyncCancelled`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from app.services.syncing import StoreReplica
from app.ui.shell.context import AppContext
from app.ui.shell.tasks import DB
from app.ui.shell.tasks import LaneClosed
from app.ui.sync.sync_state import SyncCancelled
from sync.protocol import PushChange
from sync.protocol import SyncResponse


class LaneReplica:
    """sync.client.Replica for a client on the network lane; the work runs on the
    database lane (one StoreReplica per vault, made there). ``apply_response`` is
    also reported to ``on_applied``, for the progress shown during a long pull."""

    def __init__(
        self,
        ctx: AppContext,
        cancelled: threading.Event,
        on_applied: Callable[[dict[str, int]], None] | None = None,
    ) -> None:
        self._ctx = ctx
        self._session = ctx.session
        self._cancelled = cancelled
        self._on_applied = on_applied
        self._replica: StoreReplica | None = None  # touched only on the database lane

    def on_store(self, fn: Callable[[Any], Any]) -> Any:
        """``fn(store)`` on the database lane; its result (waited for on this lane)."""
        return self._on_db(lambda r: fn(r.store))

    def _on_db(self, fn: Callable[[StoreReplica], Any]) -> Any:
        if self._cancelled.is_set():
            raise SyncCancelled()

        def work() -> Any:
            if self._cancelled.is_set() or not self._ctx.active:
                raise SyncCancelled()
            store = self._session.store
            if self._replica is None or self._replica.store is not store:
                self._replica = StoreReplica(store)
            return fn(self._replica)

        try:
            return self._ctx.tasks.lane(DB).call(work)
        except LaneClosed:  # the window closed
            raise SyncCancelled() from None

    # -- sync.client.Replica ------------------------------------------------------------

    @property
    def device_id(self) -> str:
        return self._on_db(lambda r: r.device_id)

    @property
    def cursor(self) -> int:
        return self._on_db(lambda r: r.cursor)

    def pending(self, limit: int) -> list[PushChange]:
        return self._on_db(lambda r: r.pending(limit))

    def pending_count(self) -> int:
        return self._on_db(lambda r: r.pending_count())

    def apply_response(self, resp: SyncResponse) -> dict[str, int]:
        counts = self._on_db(lambda r: r.apply_response(resp))
        if self._on_applied is not None and isinstance(counts, dict):
            self._on_applied(counts)
        return counts

    def pending_after(self, stamp: str, limit: int) -> list[PushChange]:
        return self._on_db(lambda r: r.pending_after(stamp, limit))

    def server_identity(self) -> tuple[str, int]:
        return self._on_db(lambda r: r.server_identity())

    def keep_replica_token(self, token: str) -> None:
        self._on_db(lambda r: r.keep_replica_token(token))

    def set_clock_offset(self, offset_ms: int) -> None:
        self._on_db(lambda r: r.set_clock_offset(offset_ms))

    def refuse_locally(self, refused: list[dict[str, str]]) -> None:
        self._on_db(lambda r: r.refuse_locally(refused))

    # -- optional members the client uses when a replica has them ---------------------
    # (audit anchoring, the signature check, self-healing: docs/SYNC.md)

    def audit_head(self) -> dict[str, Any]:
        return self._on_db(lambda r: r.audit_head())

    def audit_verdict(self, verdict: Any) -> None:
        self._on_db(lambda r: r.audit_verdict(verdict))

    @property
    def push_limit(self) -> int:
        return self._on_db(lambda r: r.push_limit)

    def keep_push_limit(self, limit: int) -> None:
        self._on_db(lambda r: r.keep_push_limit(limit))

    @property
    def wants_billing_number(self) -> bool:
        return self._on_db(lambda r: r.wants_billing_number)

    def set_billing_number(self, number: int) -> None:
        self._on_db(lambda r: r.set_billing_number(number))

    @property
    def signature_problems(self) -> list[tuple[str, str]]:
        return self._on_db(lambda r: list(r.signature_problems))

    @property
    def replica_token(self) -> str:
        return self._on_db(lambda r: r.replica_token)

    @property
    def full_pull(self) -> bool:
        return self._on_db(lambda r: r.full_pull)

    def set_full_pull(self, on: bool) -> None:
        self._on_db(lambda r: r.set_full_pull(on))

    def note_server(self, server_id: str, epoch: int) -> bool:
        return self._on_db(lambda r: r.note_server(server_id, epoch))

    def scope_digest(self) -> str:
        return self._on_db(lambda r: r.scope_digest())

    def recount_digest(self) -> str:
        return self._on_db(lambda r: r.recount_digest())

    def record_digests(self) -> dict[str, str]:
        return self._on_db(lambda r: r.record_digests())

    def requeue(self, record_ids: Any, server: dict[str, dict[str, str]]) -> int:
        return self._on_db(lambda r: r.requeue(list(record_ids), server))
