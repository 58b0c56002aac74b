"""No double bill, online or offline: the server reservation an export makes before
it writes files, this device's control-number range, and billing conflicts.

* :class:`PendingReservation` / :func:`reserve_on_server` — one ``POST
  /v1/billing/reserve`` (sync.client, on its own thread while the files are
  rendered in memory; answered before any file is written) for
  every batch of an export, plus the batches whose reservations this device still
  owes back. A service in another live batch refuses the export
  (:class:`AlreadyBilled`, naming that batch, who exported it and when); an
  unreachable (or older) server lets it go on with :data:`OFFLINE_WARNING`.
* :func:`control_range` — the interchange control numbers this device may use:
  ``NNNN`` (its billing number from the server) then a 5-digit sequence, so two
  devices never write the same ISA13/GS06/ST02 or CLM01 (docs/BILLING.md).
* :func:`double_bills` — services that two live (not void) batches both bill,
  found from the batch records every device holds after sync, so every device
  sees the same conflicts whatever order the batches arrived in.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from app.domain.datetext import count_text
from app.domain.records import Role
from app.store.db import Store
from app.store.errors import EXIT_VALIDATION
from app.store.errors import StoreError
from app.store.replica import BILLING_NUMBER_KEY
from app.store.replica import StoreReplica
from sync.client import SyncClient
from sync.client import SyncError
from sync.client import make_session
from sync.protocol import ReserveBatch

PENDING_RELEASE_KEY = "billing_release_pending"  # meta: JSON list of batch ids
SEQUENCE_SPAN = 100_000  # 5 digits of sequence after the 4-digit device number
RESERVE_TIMEOUT = (5.0, 120.0)  # connect, read (seconds)
OFFLINE_WARNING = (
    "Not checked with the server ({why}): another billing laptop could bill the same "
    "services. Sync soon; a service in two batches then shows as a billing conflict "
    "on the Conflicts page, and one of the batches must be voided."
)
WHY_UNCHECKED = {
    "not_found": "the server is an older version",
    "offline": "the server cannot be reached",
}
BILLING_VIEWERS = (Role.BILLING, Role.SUPERVISOR, Role.ADMIN)


class AlreadyBilled(StoreError):
    """The server refused the export: services are in another live batch."""

    exit_code = EXIT_VALIDATION

    def __init__(self, message: str, others: list[dict] | None = None) -> None:
        super().__init__(message)
        self.others = others or []


@dataclass(frozen=True)
class PlannedBatch:
    batch_id: str
    control: int
    payer_id: str
    encounter_ids: tuple[str, ...]


@dataclass(frozen=True)
class ServerCheck:
    checked: bool  # the server reserved every service for its batch
    warning: str = ""  # why not, for the person ("" for a vault with no server)
    round_trips: int = 0
    seconds: float = 0.0  # the request's wall time


# -- control numbers -----------------------------------------------------------------


def _server(store: Store) -> dict[str, str]:
    return StoreReplica(store).server()


def enrolled(store: Store) -> bool:
    s = _server(store)
    return bool(s.get("url") and s.get("token"))


def control_range(store: Store) -> tuple[int, int]:
    """(first, last) interchange control number this device may use. A device the
    server gave billing number N uses N·100000 + 1 … N·100000 + 99999; a vault with
    no server uses 1 … 99999. An enrolled vault without a number yet must sync once
    first (the server hands numbers out at enrolment and at sync)."""
    number = StoreReplica(store).billing_number
    if number <= 0:
        if enrolled(store):
            raise StoreError(
                "This laptop has no billing number from the server yet, so its control "
                "numbers could collide with another laptop's. Sync once, then export."
            )
        return 1, SEQUENCE_SPAN - 1
    base = number * SEQUENCE_SPAN
    return base + 1, base + SEQUENCE_SPAN - 1


# -- the reservation -----------------------------------------------------------------


def _client(store: Store) -> SyncClient:
    s = _server(store)
    session = make_session(s.get("fingerprint") or None, retries=0)
    return SyncClient(StoreReplica(store), s["url"], s["token"], session, timeout=RESERVE_TIMEOUT)


def _pending(store: Store) -> list[str]:
    try:
        ids = json.loads(store.meta(PENDING_RELEASE_KEY, "[]") or "[]")
    except ValueError:
        return []
    return [str(i) for i in ids][:1000] if isinstance(ids, list) else []


def _write_meta(store: Store, key: str, value: str) -> None:
    """In the caller's open transaction (the export's)."""
    store.conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


REFUSING = {"not_billable", "control_taken", "batch_void", "forbidden", "device_mismatch",
            "invalid", "revoked", "unauthorized", "too_large", "tls"}  # fmt: skip


class _DeviceOnly:
    """What the sync client needs of a replica to reserve: the device id (so the
    request thread never touches the vault's connection)."""

    def __init__(self, device_id: str) -> None:
        self.device_id = device_id


class PendingReservation:
    """The reservation request, under way on its own thread while the export
    renders its files in memory; :meth:`result` waits for it (before any file is
    written) and applies the answer to the vault on the caller's thread."""

    def __init__(self, store: Store, planned: list[PlannedBatch]) -> None:
        self.store = store
        self.seconds = 0.0
        self._answer: Any = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if not enrolled(store):
            return
        batches = [
            ReserveBatch(
                batch_id=p.batch_id, control=f"{p.control:09d}", payer_id=p.payer_id,
                encounter_ids=list(p.encounter_ids),
            )
            for p in planned
        ]  # fmt: skip
        s = _server(store)
        session = make_session(s.get("fingerprint") or None, retries=0)
        client = SyncClient(
            _DeviceOnly(store.device_id), s["url"], s["token"], session, timeout=RESERVE_TIMEOUT
        )  # type: ignore[arg-type]
        release = _pending(store)
        self._thread = threading.Thread(
            target=self._run, args=(client, batches, release), name="billing-reserve", daemon=True
        )
        self._thread.start()

    def _run(self, client: SyncClient, batches: list[ReserveBatch], release: list[str]) -> None:
        started = time.perf_counter()
        try:
            self._answer = client.reserve(batches, release)
        except BaseException as e:  # handed to the export's thread by result()
            self._error = e
        finally:
            self.seconds = time.perf_counter() - started
            client.session.close()

    def reserved(self) -> bool:
        """Wait; True when the server reserved the services (for a clean-up)."""
        if self._thread is not None:
            self._thread.join()
        return self._answer is not None

    def result(self) -> ServerCheck:
        """Wait for the answer. Raises AlreadyBilled or StoreError when the server
        refuses; returns a warning when it cannot be asked. Called inside the
        export's transaction (the meta it writes commits with the export)."""
        if self._thread is None:
            return ServerCheck(False)
        self._thread.join()
        e = self._error
        if isinstance(e, SyncError):
            if e.code == "already_billed":
                others = e.detail if isinstance(e.detail, list) else []
                msg = _already_billed_message(self.store, others, str(e))
                raise AlreadyBilled(msg, others) from None
            if e.code in REFUSING:
                raise StoreError(f"The server refused the export: {e} Nothing was exported.")
            why = WHY_UNCHECKED.get(e.code, "the server did not answer")
            return ServerCheck(False, OFFLINE_WARNING.format(why=why), 1, self.seconds)
        if e is not None:
            raise e
        _write_meta(self.store, PENDING_RELEASE_KEY, "[]")
        if self._answer.billing_number:
            _write_meta(self.store, BILLING_NUMBER_KEY, str(self._answer.billing_number))
        return ServerCheck(True, "", 1, self.seconds)


def reserve_on_server(store: Store, planned: list[PlannedBatch]) -> ServerCheck:
    """Reserve the planned batches' services on the server in one request and wait
    for the answer (PendingReservation.result)."""
    return PendingReservation(store, planned).result()


def _already_billed_message(store: Store, others: list, fallback: str) -> str:
    seen: dict[str, dict] = {}
    for o in others:
        if isinstance(o, dict) and o.get("batch_id") not in seen:
            seen[str(o.get("batch_id"))] = o
    if not seen:
        return fallback
    named = "; ".join(
        f"batch {o.get('control')} exported by {o.get('user')} on {str(o.get('at'))[:10]}"
        for o in list(seen.values())[:3]
    )
    more = (
        f" and {count_text(len(seen) - 3, 'other batch', 'other batches')}" if len(seen) > 3 else ""
    )
    void_here = [
        b for b in seen
        if store.conn.execute(
            "SELECT 1 FROM billing_batches WHERE id = ? AND status = 'void'", (b,)
        ).fetchone()
    ]  # fmt: skip
    hint = (
        " That batch is void on this laptop but the server does not know yet: sync, then export."
        if void_here
        else " Those services are billed already; void that batch first if it should not stand."
    )
    return (
        f"Not exported: {count_text(len(others), 'service is', 'services are')} already in "
        "another live batch "
        f"({named}{more}). Nothing was written or marked billed.{hint}"
    )


def release_on_server(store: Store, batch_ids: list[str], remember: bool) -> bool:
    """Give back reservations (a voided batch, or an export that failed after it
    reserved). True when the server released them. When it cannot be asked and
    ``remember`` is set (this device's own never-written batches), the next
    reservation request carries them."""
    if not batch_ids or not enrolled(store):
        return True
    client = _client(store)
    try:
        client.reserve([], batch_ids)
        return True
    except SyncError:
        if remember:
            ids = list(dict.fromkeys(_pending(store) + batch_ids))
            store.set_meta(PENDING_RELEASE_KEY, json.dumps(ids))
        return False
    finally:
        client.session.close()


# -- billing conflicts ----------------------------------------------------------------


@dataclass(frozen=True)
class BatchRef:
    id: str
    control: int
    payer: str
    exported_by: str
    exported_at: str  # ISO date-time (UTC)


@dataclass(frozen=True)
class DoubleBill:
    """Services billed in two (or more) live batches: keep one batch, void the rest."""

    encounter_ids: tuple[str, ...]
    batches: tuple[BatchRef, ...]  # oldest first: the first is the one to keep

    @property
    def advice(self) -> str:
        keep, *rest = self.batches
        voids = ", ".join(f"{b.control:09d} (batch {b.id})" for b in rest)
        return (
            f"{count_text(len(self.encounter_ids), 'service is', 'services are')} billed in "
            f"{len(self.batches)} live batches. "
            f"Keep batch {keep.control:09d} (the first exported) and void {voids}: in the billing "
            "dialog select it and press Void, or run python main.py void-batch BATCH_ID --reason "
            '"Billed twice" (add --submitted-to DIR when its file was already sent to the payer: '
            "that writes the void (8) claim file to send). Its services stay billed in the batch "
            "you keep; only the ones no other batch bills become approved again."
        )

    def as_dict(self) -> dict:
        return {
            "kind": "double bill",
            "encounter_ids": list(self.encounter_ids),
            "batches": [
                {
                    "id": b.id,
                    "control": f"{b.control:09d}",
                    "payer": b.payer,
                    "exported_by": b.exported_by,
                    "exported_at": b.exported_at,
                }
                for b in self.batches
            ],
            "advice": self.advice,
        }


def double_bills(store: Store) -> list[DoubleBill]:
    """Every service in two or more live batches, grouped by the batches."""
    rows = store.conn.execute(
        "SELECT b.id, b.interchange_control, coalesce(p.name, ''), "
        "coalesce(nullif(u.display_name, ''), u.username, ''), b.created_at, b.encounter_ids "
        "FROM billing_batches b LEFT JOIN payers p ON p.id = b.payer_id "
        "LEFT JOIN users u ON u.id = b.created_by_id "
        "WHERE b.deleted = 0 AND b.status != 'void'"
    ).fetchall()
    refs: dict[str, BatchRef] = {}
    holders: dict[str, list[str]] = defaultdict(list)
    for bid, control, payer, who, at, enc in rows:
        refs[bid] = BatchRef(bid, int(control or 0), payer, who or "unknown", str(at or ""))
        try:
            ids = json.loads(enc or "[]")
        except ValueError:
            ids = []
        for e in ids if isinstance(ids, list) else []:
            holders[str(e)].append(bid)
    groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for e, bids in holders.items():
        if len(set(bids)) > 1:
            key = tuple(sorted(set(bids), key=lambda b: (refs[b].exported_at, refs[b].control, b)))
            groups[key].append(e)
    return [
        DoubleBill(tuple(sorted(es)), tuple(refs[b] for b in key))
        for key, es in sorted(groups.items())
    ]


def other_live_batch(store: Store, batch_id: str) -> dict[str, str]:
    """{service id: another live batch billing it}, for the services of ``batch_id``."""
    out: dict[str, str] = {}
    for d in double_bills(store):
        ids = [b.id for b in d.batches]
        if batch_id in ids:
            keep = next(b for b in ids if b != batch_id)
            out.update({e: keep for e in d.encounter_ids})
    return out


def shows_billing_conflicts(role: Role | str | None) -> bool:
    return str(getattr(role, "value", role)) in {r.value for r in BILLING_VIEWERS}


def billing_conflicts(store: Store) -> list[DoubleBill]:
    """The double bills this vault's user is shown: billing staff, supervisors and
    administrators (a specialist's screens never list them)."""
    row = store.conn.execute("SELECT role FROM users WHERE id = ?", (store.user_id,)).fetchone()
    if row is None or not shows_billing_conflicts(row[0]):
        return []
    return double_bills(store)
