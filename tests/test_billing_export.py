"""The billing export against a real vault: pre-flight checks, the files read back by
independent readers (pyx12, csv, pypdf), billing once only, voiding and re-billing,
control numbers, the audit log."""

from __future__ import annotations

import json
from datetime import date
from datetime import timedelta
from pathlib import Path

import pytest

from app.demo import fill_demo
from app.domain.records import BatchStatus
from app.domain.records import BillingBatch
from app.domain.records import Consent
from app.domain.records import ConsentKind
from app.domain.records import NoteStatus
from app.domain.records import ServiceSetting
from app.services.billing import BillingRefused
from app.services.billing import ExportRequest
from app.services.billing import export
from app.services.billing import next_control
from app.services.billing_batches import void_batch
from app.store.repositories import Repositories
from tests.billing_world import TODAY
from tests.billing_world import make_world
from tests.billing_world import read_837
from tests.billing_world import read_csv
from tests.billing_world import read_pdf
from tests.billing_world import service
from tests.x12check import pyx12_errors

OCT = (date(2026, 10, 1), date(2026, 10, 31))


def req(out: Path | None, **kw) -> ExportRequest:
    return ExportRequest(OCT[0], OCT[1], out, today=TODAY, **kw)


def check_batch_files(paths) -> dict:
    """Every file of a batch read by its own reader; they agree with each other."""
    x12 = next(p for p in paths if p.suffix == ".x12")
    csv_path = next(p for p in paths if p.suffix == ".csv")
    pdf = next(p for p in paths if p.suffix == ".pdf")
    text = x12.read_text()
    assert pyx12_errors(text) == []
    a = read_837(text)
    assert a["cents"] == a["line_cents"]
    b = read_csv(csv_path.read_bytes())
    c = read_pdf(pdf)
    for k in ("claims", "lines", "units", "cents"):
        assert a[k] == b[k] == c[k], k
    return a


@pytest.fixture
def out(tmp_path: Path) -> Path:
    d = tmp_path / "export"
    d.mkdir()
    return d


# -- pre-flight ---------------------------------------------------------------------


def checks(result) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for p in result.problems:
        found.setdefault(p.check, set()).update(p.encounter_ids)
    return found


def test_every_preflight_check_names_its_record(repos: Repositories, out: Path):
    w = make_world(repos, people=3, requires_consent=True, timely_filing_days=48)
    a, b, c = w.people
    fine = service(w, a, date(2026, 10, 5))
    repos.consents.add(
        Consent(participant_id=a.id, kind=ConsentKind.PART2, signed_on=date(2026, 1, 1))
    )
    repos.consents.add(
        Consent(participant_id=c.id, kind=ConsentKind.PART2, signed_on=date(2026, 1, 1))
    )
    # b has no consent in force; then Medicaid ID missing and a dotted-ok but bad code
    no_consent = service(w, b, date(2026, 10, 6))
    draft = service(w, a, date(2026, 10, 7), status="draft")
    signed = service(w, a, date(2026, 10, 8), status="signed")
    # overlapping individual services of one specialist
    ov1 = service(w, a, date(2026, 10, 9), start=(10, 0), minutes=60)
    ov2 = service(w, c, date(2026, 10, 9), start=(10, 30), minutes=45)
    # a group session: several notes at the same time are not an overlap
    g1 = service(w, a, date(2026, 10, 12), start=(13, 0), setting=ServiceSetting.GROUP,
                 group_size=4, modifiers=("HQ",))  # fmt: skip
    g2 = service(w, c, date(2026, 10, 12), start=(13, 0), setting=ServiceSetting.GROUP,
                 group_size=4, modifiers=("HQ",))  # fmt: skip
    # over the daily limit of 16 units: 5 h in one day for one person
    d1 = service(w, c, date(2026, 10, 14), start=(8, 0), minutes=150)
    d2 = service(w, c, date(2026, 10, 14), start=(11, 0), minutes=150)
    # too short for a unit under the 8-minute rule
    short = service(w, c, date(2026, 10, 15), start=(8, 0), minutes=7)
    # a service past the 48-day timely filing limit (today is 2026-11-20)
    late = service(w, c, date(2026, 10, 2), start=(8, 0))
    # a group service without the group modifier
    nomod = service(w, c, date(2026, 10, 16), start=(14, 0), setting=ServiceSetting.GROUP,
                    group_size=3)  # fmt: skip

    result = export(repos.store, req(out))
    assert result.outcome == "stopped" and not list(out.iterdir())
    found = checks(result)
    assert found["consent"] == {no_consent.id}
    assert found["not-approved"] == {draft.id, signed.id}
    assert found["overlap"] == {ov1.id, ov2.id}
    assert found["daily-limit"] == {d1.id, d2.id}
    assert found["units"] == {short.id}
    assert found["timely-filing"] == {late.id}
    assert found["modifier"] == {nomod.id}
    held = result.preflight.blocked_ids
    assert fine.id not in held and g1.id not in held and g2.id not in held
    # each problem names a record that can be opened
    for p in result.problems:
        assert p.table in ("encounters", "participants", "users", "payers", "billing_providers")
        assert p.record_id and result.labels[(p.table, p.record_id)]
        assert p.encounter_ids
    by_table = {(p.table, p.check) for p in result.problems}
    assert ("participants", "consent") in by_table
    # nothing was marked billed
    assert all(e.status is not NoteStatus.BILLED for e in repos.encounters.list())


def test_participant_specialist_and_settings_problems(repos: Repositories, out: Path):
    w = make_world(repos, people=3)
    a, b, c = w.people
    repos.participants.update(a.replace(medicaid_id=""))
    repos.participants.update(b.replace(diagnoses=()))
    repos.participants.update(c.replace(diagnoses=("FX1.20",)))  # 2nd character: not a digit
    for p in w.people:
        service(w, p, date(2026, 10, 5), start=(8 + 2 * w.people.index(p), 0))
    result = export(repos.store, req(out))
    got = {(p.table, p.record_id, p.check) for p in result.problems}
    assert ("participants", a.id, "medicaid-id") in got
    assert ("participants", b.id, "diagnosis") in got
    assert ("participants", c.id, "icd10") in got
    # a specialist NPI that fails the check digit keeps all their services out
    repos.users.update(w.me.replace(npi="1245319598"))
    result = export(repos.store, req(out))
    assert ("users", w.me.id, "npi") in {(p.table, p.record_id, p.check) for p in result.problems}
    assert result.preflight.lines == []
    # no billing provider at all: nothing can go, whatever --skip-invalid says
    repos.billing_providers.delete(repos.billing_providers.list()[0].id)
    result = export(repos.store, req(out, skip_invalid=True))
    assert result.outcome == "stopped" and result.preflight.stopped_everything
    assert not list(out.iterdir())


def test_problem_messages_hold_no_personal_data(repos: Repositories, out: Path):
    w = make_world(repos, people=2)
    repos.participants.update(w.people[0].replace(medicaid_id="12"))
    service(w, w.people[0], date(2026, 10, 5))
    result = export(repos.store, req(out))
    assert result.problems
    for p in result.problems:
        for person in repos.participants.list():
            for secret in (person.first_name, person.last_name, person.medicaid_id):
                assert secret not in p.message


# -- export, files, billing once ------------------------------------------------------


def test_export_writes_four_agreeing_files_and_bills_once(repos: Repositories, out: Path):
    w = make_world(repos, people=3)
    notes = [
        service(w, p, date(2026, 10, d), start=(8 + 2 * i, 0), minutes=20 + 10 * d)
        for d in (5, 6, 7)
        for i, p in enumerate(w.people)
    ]
    result = export(repos.store, req(out))
    assert result.outcome == "written" and not result.problems
    (b,) = result.batches
    figures = check_batch_files(b.paths)
    assert figures["lines"] == len(notes) == b.batch.line_count
    assert figures["claims"] == 9 == b.batch.claim_count  # per person per day
    assert figures["units"] == b.batch.unit_count
    assert figures["cents"] == b.batch.total_cents == b.batch.unit_count * 1650
    assert int(figures["isa13"]) == int(figures["gs06"]) == b.batch.interchange_control
    for n in notes:
        e = repos.encounters.require(n.id)
        assert e.status is NoteStatus.BILLED and e.billing_batch_id == b.batch.id
    # the batch and the billing marks are captured for sync
    fields = {
        r[0]
        for r in repos.store.conn.execute(
            "SELECT field FROM outbox WHERE record_id = ?", (notes[0].id,)
        )
    }
    assert {"status", "billing_batch_id", "billed_at"} <= fields
    assert repos.store.conn.execute(
        "SELECT count(*) FROM outbox WHERE table_name = 'billing_batches' AND record_id = ?",
        (b.batch.id,),
    ).fetchone()[0]
    # the audit log says who, when, which services, which files
    row = repos.store.conn.execute(
        "SELECT user_id, at, detail FROM audit_log WHERE action = 'export' AND record_id = ?",
        (b.batch.id,),
    ).fetchone()
    detail = json.loads(row[2])
    assert row[0] == repos.store.user_id and row[1]
    assert set(detail["encounter_ids"]) == {n.id for n in notes}
    assert detail["files"] == [p.name for p in b.paths]
    # exporting again bills nothing twice
    again = export(repos.store, req(out))
    assert again.outcome == "nothing" and again.batches == []
    assert len(list(out.iterdir())) == 4  # 837P, CSV and .xlsx worksheets, PDF summary


def test_void_and_rebill_gives_a_new_valid_file_with_new_numbers(repos: Repositories, out):
    w = make_world(repos, people=2)
    for i, p in enumerate(w.people):
        service(w, p, date(2026, 10, 5), start=(9 + i, 0))
    first = export(repos.store, req(out)).batches[0]
    with pytest.raises(BillingRefused, match="reason"):
        void_batch(repos.store, first.batch.id, "  ")
    voided = void_batch(repos.store, first.batch.id, "Payer rejected the file: wrong receiver id")
    assert voided.status is BatchStatus.VOID and voided.void_reason
    assert all(e.status is NoteStatus.APPROVED for e in repos.encounters.list())
    with pytest.raises(BillingRefused, match="already void"):
        void_batch(repos.store, first.batch.id, "again")
    second = export(repos.store, req(out)).batches[0]
    assert second.batch.interchange_control > first.batch.interchange_control
    a, b = read_837(first.paths[0].read_text()), check_batch_files(second.paths)
    assert a["isa13"] != b["isa13"] and a["units"] == b["units"]
    assert set(second.batch.encounter_ids) == set(first.batch.encounter_ids)
    # the voided batch keeps its history
    old = repos.billing_batches.require(first.batch.id)
    assert old.status is BatchStatus.VOID and old.encounter_ids == first.batch.encounter_ids


def test_control_numbers_follow_batches_synced_from_other_devices(repos: Repositories, out):
    w = make_world(repos, people=1)
    assert next_control(repos.store) == 1
    repos.billing_batches.add(
        BillingBatch(payer_id=w.payer.id, period_from=OCT[0], period_to=OCT[1],
                     interchange_control=730)
    )  # fmt: skip
    service(w, w.people[0], date(2026, 10, 5))
    batch = export(repos.store, req(out)).batches[0]
    assert batch.batch.interchange_control == 731
    assert read_837(batch.paths[0].read_text())["isa13"] == "000000731"


def test_skip_invalid_exports_the_valid_ones_and_dry_run_writes_nothing(repos, out):
    w = make_world(repos, people=2)
    ok = service(w, w.people[0], date(2026, 10, 5))
    bad = service(w, w.people[1], date(2026, 10, 5), start=(11, 0), status="signed")
    dry = export(repos.store, req(None, dry_run=True, skip_invalid=True))
    assert dry.outcome == "dry-run" and dry.totals[0].services == 1
    assert not list(out.iterdir())
    assert repos.encounters.require(ok.id).status is NoteStatus.APPROVED
    result = export(repos.store, req(out, skip_invalid=True))
    assert result.outcome == "written"
    assert result.batches[0].batch.encounter_ids == (ok.id,)
    assert repos.encounters.require(bad.id).status is NoteStatus.SIGNED


def test_bad_requests_are_refused_and_change_nothing(repos: Repositories, out: Path, tmp_path):
    w = make_world(repos, people=1)
    e = service(w, w.people[0], date(2026, 10, 5))
    with pytest.raises(BillingRefused, match="existing folder"):
        export(repos.store, req(tmp_path / "nowhere"))
    with pytest.raises(BillingRefused, match="first day is after"):
        export(repos.store, ExportRequest(OCT[1], OCT[0], out))
    with pytest.raises(BillingRefused, match="No single payer"):
        export(repos.store, req(out, payer_name="Atlantis Health"))
    # a file of the same name is never overwritten; nothing is marked billed
    n = next_control(repos.store)
    clash = out / f"837P-NDTEST1915I-{n:09d}-summary.pdf"
    clash.write_text("someone else's file")
    with pytest.raises(BillingRefused, match="already exists"):
        export(repos.store, req(out))
    assert clash.read_text() == "someone else's file"
    assert sorted(p.name for p in out.iterdir()) == [clash.name]
    assert repos.encounters.require(e.id).status is NoteStatus.APPROVED
    assert repos.billing_batches.count() == 0


def test_a_specialist_on_a_team_cannot_bill(repos: Repositories, out: Path):
    w = make_world(repos, people=1)
    service(w, w.people[0], date(2026, 10, 5))
    repos.store.set_meta("sync_server", json.dumps({"url": "https://x", "token": "t"}))
    with pytest.raises(BillingRefused, match="billing staff or a supervisor"):
        export(repos.store, req(out))


def test_the_payer_filter_and_monthly_claims(repos: Repositories, out: Path):
    from app.domain.records import ClaimGrouping

    w = make_world(repos, people=1, claim_grouping=ClaimGrouping.PER_MONTH)
    for d in range(1, 31):
        if date(2026, 10, d).weekday() < 5:
            service(w, w.people[0], date(2026, 10, d), start=(9, 0), minutes=30)
    result = export(repos.store, req(out, payer_name="ndtest1915i"))
    figures = check_batch_files(result.batches[0].paths)
    assert figures["claims"] == 1 and figures["lines"] == 22


# -- the demo caseload ------------------------------------------------------------------


def test_demo_caseload_exports_files_pyx12_accepts(store, tmp_path: Path):
    fill_demo(store, participants=30, years=1, seed=7, today=TODAY)
    out = tmp_path / "demo-export"
    out.mkdir()
    first, last = TODAY - timedelta(days=75), TODAY
    request = ExportRequest(first, last, out, skip_invalid=True, today=TODAY)
    result = export(store, request)
    assert result.outcome == "written" and len(result.batches) >= 3
    for b in result.batches:
        check_batch_files(b.paths)
    # the demo's pre-flight shows realistic problems: notes not yet approved, at least
    assert "not-approved" in {p.check for p in result.problems}
    # and nothing can be billed twice
    assert export(store, request).outcome == "nothing"
