"""The batch files as the services layer gets them (app/billing/files.py), over a
real vault: four files that agree, a re-bill that names the voided batch, and the
void (8) file of a submitted batch, each 837P accepted by pyx12."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC
from datetime import date
from datetime import datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from app.billing.claims import build_claims
from app.billing.files import render_batch_files
from app.billing.files import replaced_batch
from app.billing.files import void_claim_file
from app.billing.preflight import claim_diagnoses
from app.billing.preflight import run_preflight
from app.billing.summary_pdf import held_back_services
from app.billing.worksheet import plain_id
from app.domain.records import NoteStatus
from app.services.billing import BillingRefused
from app.services.billing import ExportRequest
from app.services.billing import batches
from app.services.billing import export
from app.services.billing import load_data
from app.services.billing_batches import void_batch
from app.services.billing_batches import write_void_file
from app.store.repositories import Repositories
from tests.billing_world import TODAY
from tests.billing_world import make_world
from tests.billing_world import read_837
from tests.billing_world import read_csv
from tests.billing_world import service
from tests.x12check import pyx12_errors

OCT = (date(2026, 10, 1), date(2026, 10, 31))


@pytest.fixture
def out(tmp_path: Path) -> Path:
    d = tmp_path / "export"
    d.mkdir()
    return d


def _pdf_text(blob: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(blob)).pages).split())


def test_rebill_files_name_the_voided_batch_and_void_file_passes_pyx12(repos: Repositories, out):
    w = make_world(repos, people=2)
    notes = [service(w, p, date(2026, 10, 5), start=(9 + i, 0)) for i, p in enumerate(w.people)]
    held = service(w, w.people[0], date(2026, 10, 7), status="signed")
    first = export(repos.store, ExportRequest(*OCT, out, skip_invalid=True, today=TODAY))
    batch = first.batches[0].batch
    assert set(batch.encounter_ids) == {n.id for n in notes}
    # the payer accepted it; now it is voided: the void (8) file for the payer
    billed = [repos.encounters.require(i) for i in batch.encounter_ids]
    assert all(e.status is NoteStatus.BILLED for e in billed)
    data = load_data(repos.store, *OCT)  # the people of unbilled services only: add the rest
    data.participants.update({p.id: p for p in repos.participants.list()})
    body, void = void_claim_file(batch=batch, encounters=billed, data=data, control=900,
                                 created_at=datetime(2026, 11, 21, tzinfo=UTC))  # fmt: skip
    assert pyx12_errors(body) == []
    assert read_837(body)["cents"] == batch.total_cents and read_837(body)["isa13"] == "000000900"
    assert all(c.frequency == "8" and c.original_reference == c.claim_id for c in void)
    assert f"REF*F8*{void[0].claim_id}~" in body
    void_batch(repos.store, batch.id, "wrong rate")
    # the re-bill: which voided batch it replaces, and the four files
    data = load_data(repos.store, *OCT)
    again = replaced_batch(batches(repos.store), [n.id for n in notes])
    assert again is not None and again.batch_id == batch.id and again.reason == "wrong rate"
    assert replaced_batch(batches(repos.store), [held.id]) is None
    pf = run_preflight(data, *OCT, TODAY)
    dx = {pid: claim_diagnoses(p) for pid, p in data.participants.items()}
    claims = build_claims(pf.lines, w.payer, dx, "000000002")
    files = render_batch_files(
        stem="837P-NDTEST1915I-000000002", batch_id="b2", control=2,
        created_at=datetime(2026, 11, 21, 1, 0, tzinfo=UTC), created_by="Billing Desk",
        period=OCT, provider=data.provider, payer=w.payer, claims=claims,
        participants=data.participants, specialists=data.users,
        held_back=held_back_services(pf, data, w.payer.id), replaces=again,
    )  # fmt: skip
    x12, csv_blob, xlsx, pdf = files.blobs
    assert [n.rsplit(".", 1)[1] for n in files.names] == ["x12", "csv", "xlsx", "pdf"]
    assert pyx12_errors(x12.decode()) == []
    sheet = read_csv(csv_blob)
    assert sheet["cents"] == read_837(x12.decode())["cents"]
    assert {plain_id(r["claim_id"]) for r in sheet["rows"]} == {c.claim_id for c in claims}
    assert zipfile.ZipFile(io.BytesIO(xlsx)).testzip() is None
    text = _pdf_text(pdf)
    assert f"RE-BILL: replaces voided batch {batch.id}" in text
    assert "have not been billed before" not in text
    assert "Services held back (1)" in text and "signed but not approved" in text
    assert "payer id NDTEST1915I" in text and "receiver id NDMMIS" in text


def test_voiding_a_submitted_batch_writes_its_void_file_under_a_new_number(
    repos: Repositories, out: Path, tmp_path: Path
):
    """The services' path (the CLI's `void-batch --submitted-to`): the void (8)
    file of the batch as it was sent, pyx12-clean, REF*F8 per claim (the payer's
    number where given), under the next control number; then the batch is voided."""
    w = make_world(repos, people=2)
    for i, p in enumerate(w.people):
        service(w, p, date(2026, 10, 5), start=(9 + i, 0))
    batch = export(repos.store, ExportRequest(*OCT, out, today=TODAY)).batches[0].batch
    first_claim = f"{batch.interchange_control:09d}00001"  # CLM01 of its first claim
    void_dir = tmp_path / "void"
    void_dir.mkdir()
    path = write_void_file(repos.store, batch.id, void_dir, {first_claim: "PAYER-ICN-1"})
    body = path.read_text(encoding="ascii")
    assert path.name.endswith(f"-{batch.interchange_control + 1:09d}-void.x12")
    assert pyx12_errors(body) == []
    figures = read_837(body)
    assert figures["cents"] == batch.total_cents
    assert int(figures["isa13"]) == batch.interchange_control + 1
    assert body.count("REF*F8*") == batch.claim_count
    assert "REF*F8*PAYER-ICN-1~" in body
    void_batch(repos.store, batch.id, "wrong rate")
    with pytest.raises(BillingRefused):  # a void batch has nothing left to void
        write_void_file(repos.store, batch.id, void_dir)
    # the next export uses a number after the void file's
    again = export(repos.store, ExportRequest(*OCT, tmp_path, today=TODAY)).batches[0].batch
    assert again.interchange_control == batch.interchange_control + 2
