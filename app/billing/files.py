"""One batch's files, rendered in memory for the services layer to write: the
837P, the CSV worksheet, the .xlsx worksheet and the PDF summary; plus the void
(8) claim file of a batch already submitted, and which voided batch a re-bill
replaces. Pure functions: no store, no disk."""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from datetime import datetime

from app.billing.claims import Claim
from app.billing.claims import original_claims
from app.billing.claims import resubmitted
from app.billing.preflight import BillingData
from app.billing.summary_pdf import HeldBack
from app.billing.summary_pdf import Replaces
from app.billing.summary_pdf import write_summary
from app.billing.worksheet import worksheet_rows
from app.billing.worksheet import write_worksheet
from app.billing.worksheet import write_worksheet_xlsx
from app.billing.x12 import Interchange
from app.billing.x12 import render_837p
from app.domain.records import BatchStatus
from app.domain.records import BillingBatch
from app.domain.records import BillingProvider
from app.domain.records import Encounter
from app.domain.records import Participant
from app.domain.records import Payer
from app.domain.records import User


@dataclass(frozen=True)
class BatchFiles:
    names: tuple[str, ...]  # .x12, -worksheet.csv, -worksheet.xlsx, -summary.pdf
    blobs: tuple[bytes, ...]  # same order


def render_batch_files(
    *,
    stem: str,
    batch_id: str,
    control: int,
    created_at: datetime,
    created_by: str,
    period: tuple[date, date],
    provider: BillingProvider,
    payer: Payer,
    claims: list[Claim],
    participants: dict[str, Participant],
    specialists: dict[str, User],
    held_back: Iterable[HeldBack] | None = None,
    replaces: Replaces | None = None,
) -> BatchFiles:
    """The four files of one batch (``stem`` e.g. "837P-NDMCD-000000042")."""
    names = (
        f"{stem}.x12",
        f"{stem}-worksheet.csv",
        f"{stem}-worksheet.xlsx",
        f"{stem}-summary.pdf",
    )
    ix = Interchange(control, created_at, batch_id, provider, payer, claims, participants,
                     specialists)  # fmt: skip
    x12 = render_837p(ix).encode("ascii")
    rows = list(worksheet_rows(ix))
    csv_buf = io.StringIO()
    write_worksheet(csv_buf, rows)
    xlsx_buf = io.BytesIO()
    write_worksheet_xlsx(xlsx_buf, rows)
    pdf_buf = io.BytesIO()
    write_summary(pdf_buf, ix, period=period, created_by=created_by, files=list(names),
                  held_back=held_back, replaces=replaces)  # fmt: skip
    blobs = (x12, csv_buf.getvalue().encode("utf-8-sig"), xlsx_buf.getvalue(), pdf_buf.getvalue())
    return BatchFiles(names, blobs)


def replaced_batch(
    batches: Iterable[BillingBatch], encounter_ids: Iterable[str]
) -> Replaces | None:
    """The voided batch a new batch re-bills: the most recently voided batch that
    held any of its services (None for a first billing)."""
    wanted = set(encounter_ids)
    found = [
        b
        for b in batches
        if b.status is BatchStatus.VOID and not b.deleted and wanted & set(b.encounter_ids)
    ]
    if not found:
        return None
    last = max(
        found,
        key=lambda b: (b.voided_at.timestamp() if b.voided_at else 0.0, b.interchange_control),
    )
    voided = last.voided_at.date() if last.voided_at else None
    return Replaces(last.id, last.interchange_control, voided, last.void_reason)


def void_claim_file(
    *,
    batch: BillingBatch,
    encounters: list[Encounter],
    data: BillingData,
    control: int,
    created_at: datetime,
    references: dict[str, str] | None = None,
) -> tuple[str, list[Claim]]:
    """The void (8) 837P for a submitted ``batch`` under a new interchange
    ``control``: its claims rebuilt from its ``encounters`` (as billed), each with
    REF*F8 = ``references[CLM01]`` (the payer's claim control number) or, where
    none is given, the original CLM01. ``data`` must hold the people of these
    services (``service.load_data`` loads only those of unbilled services: add the
    rest by id), the payer and the specialists. Raises ValueError when the rebuilt claims
    do not add up to the batch's recorded total (settings changed since)."""
    payer = data.payers[batch.payer_id]
    if any(e.participant_id not in data.participants for e in encounters):
        raise ValueError("load the people of the batch's services into data.participants")
    claims = original_claims(data, encounters, payer, batch.interchange_control)
    if sum(c.charge_cents for c in claims) != batch.total_cents:
        raise ValueError(
            "the batch's claims cannot be rebuilt as sent (rates or units changed); "
            "void the claims through the payer's portal"
        )
    refs = {c.claim_id: (references or {}).get(c.claim_id, c.claim_id) for c in claims}
    void = resubmitted(claims, "8", refs)
    assert data.provider is not None
    ix = Interchange(control, created_at, f"void-{batch.id}"[:50], data.provider, payer, void,
                     data.participants, data.users)  # fmt: skip
    return render_837p(ix), void
