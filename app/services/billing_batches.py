"""Billing batches after the export: the list the Batches tab and ``main.py
batches`` show, and voiding a batch (its services go back to approved, to be
billed again), with the void (frequency 8) 837P when the payer already has it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.billing.files import void_claim_file
from app.domain.datetext import moment_text
from app.domain.records import BatchStatus
from app.domain.records import BillingBatch
from app.domain.records import NoteStatus
from app.services.billing import BULK_CACHE_MIB
from app.services.billing import CONTROL_META
from app.services.billing import BillingRefused
from app.services.billing import batches
from app.services.billing import billing_refusal
from app.services.billing import load_data
from app.services.billing import next_control
from app.services.billing import slug
from app.services.billing import write_new_file
from app.services.changes import Changed
from app.services.changes import Done
from app.services.double_billing import double_bills
from app.services.double_billing import other_live_batch
from app.services.double_billing import release_on_server
from app.store.db import Store
from app.store.db import utcnow
from app.store.repositories import Repositories


def void_batch(store: Store, batch_id: str, reason: str) -> BillingBatch:
    """Void an exported batch with a reason; its services become approved again."""
    refusal = billing_refusal(store)
    if refusal:
        raise BillingRefused(f"This vault cannot void batches: {refusal}.")
    if not reason.strip():
        raise BillingRefused("Say why the batch is voided: a reason is required.")
    repos = Repositories(store)
    with store.page_cache(BULK_CACHE_MIB), store.transaction():
        batch = repos.billing_batches.get(batch_id)
        if batch is None or batch.deleted:
            raise BillingRefused("That billing batch is not in this vault.")
        if batch.status is BatchStatus.VOID:
            raise BillingRefused("That billing batch is already void.")
        still = [
            row[0]
            for row in store.conn.execute(
                "SELECT id FROM encounters WHERE billing_batch_id = ? AND billing_batch_id != '' "
                "AND status = ? AND deleted = 0",
                (batch_id, NoteStatus.BILLED.value),
            )
        ]
        after = batch.replace(
            status=BatchStatus.VOID,
            voided_by_id=store.user_id,
            voided_at=utcnow(),
            void_reason=reason.strip(),
        )
        # A service another live batch also bills (a double bill) stays billed there.
        elsewhere = other_live_batch(store, batch_id)
        for keep in sorted(set(elsewhere.values())):
            repos.encounters.rebill_many(
                [e for e in still if elsewhere.get(e) == keep], batch_id, keep
            )
        repos.billing_batches.update(after)  # type: ignore[arg-type]
        repos.encounters.unbill_many(
            [e for e in still if e not in elsewhere], batch_id, reason.strip()
        )
    # Give its reservations back on the server now when it can be reached (else the
    # server releases them once this void has synced).
    release_on_server(store, [batch_id], remember=False)
    return after  # type: ignore[return-value]


def write_void_file(
    store: Store, batch_id: str, out_dir: Path, references: dict[str, str] | None = None
) -> Path:
    """The void (frequency 8) 837P of a batch the payer already received, written to
    ``out_dir`` under a new interchange control number, before the batch is voided
    (``void_batch``). Each claim carries REF*F8: ``references[CLM01]`` (the payer's
    claim control number) where given, else the original CLM01."""
    if not Path(out_dir).is_dir():
        raise BillingRefused("Choose an existing folder to write the void file to.")
    repos = Repositories(store)
    with store.transaction():
        batch = repos.billing_batches.get(batch_id)
        if batch is None or batch.deleted or batch.status is BatchStatus.VOID:
            raise BillingRefused("Only an exported batch that is not void can be voided.")
        billed = [repos.encounters.require(i) for i in batch.encounter_ids]
        data = load_data(store, batch.period_from, batch.period_to)
        people = sorted({e.participant_id for e in billed})
        data.participants.update({p.id: p for p in repos.participants.list() if p.id in people})
        control = next_control(store)
        try:
            body, _claims = void_claim_file(
                batch=batch, encounters=billed, data=data, control=control,
                created_at=utcnow(), references=references,
            )  # fmt: skip
        except (ValueError, KeyError) as e:
            raise BillingRefused(
                "The void file cannot be built as the batch was sent (payer settings "
                "changed since); void the claims through the payer's portal."
            ) from e
        payer = data.payers[batch.payer_id]
        path = Path(out_dir) / f"837P-{slug(payer.payer_id or payer.name)}-{control:09d}-void.x12"
        write_new_file(path, body.encode("ascii"))
        try:
            store.conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (CONTROL_META, str(control)),
            )
            store.audit(
                "export", "billing_batches", batch.id, how="void claim file", file=path.name
            )
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    return path


@dataclass(frozen=True)
class BatchRow:
    """One batch as the billing dialog lists it (no personal data)."""

    id: str
    control: str
    payer: str
    period: str
    claims: int
    services: int
    total_cents: int
    exported_by: str
    exported_at: str
    status: str  # "exported", "void: reason", "billed twice: void one"


def batch_rows(repos: Repositories) -> list[BatchRow]:
    store = repos.store
    payers = {p.id: p.name for p in repos.payers.list()}
    users = {u.id: u.display_name or u.username for u in repos.users.list(include_deleted=True)}
    twice = {b.id for d in double_bills(store) for b in d.batches}
    out = []
    for b in batches(store):
        if b.status is BatchStatus.VOID:
            state = f"void: {b.void_reason}"
        else:
            state = "billed twice: void one" if b.id in twice else "exported"
        out.append(
            BatchRow(
                id=b.id, control=f"{b.interchange_control:09d}", payer=payers.get(b.payer_id, ""),
                period=f"{b.period_from} to {b.period_to}", claims=b.claim_count,
                services=len(b.encounter_ids), total_cents=b.total_cents,
                exported_by=users.get(b.created_by_id, ""),
                exported_at=moment_text(b.created_at),
                status=state,
            )
        )  # fmt: skip
    return out


@dataclass(frozen=True)
class Voided:
    batch: BillingBatch
    void_file: Path | None  # the void (8) claim file, when the batch was submitted


def void_with_file(
    repos: Repositories, batch_id: str, reason: str, submitted_to: Path | None
) -> Done[Voided]:
    """The dialog's Void: when the batch's file was already sent to the payer
    (``submitted_to``: the folder for the void file), write its void (8) claim file
    first (write_void_file), then void the batch (void_batch)."""
    if not reason.strip():
        raise BillingRefused("Say why the batch is voided: a reason is required.")
    path = None
    if submitted_to is not None:
        path = write_void_file(repos.store, batch_id, submitted_to)
    batch = void_batch(repos.store, batch_id, reason)
    return Done(Voided(batch, path), Changed.of("encounters", "billing_batches", ids=[batch_id]))
