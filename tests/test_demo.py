"""The demo caseload: complete, consistent with the domain rules, reproducible, searchable."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from datetime import date
from datetime import timedelta
from pathlib import Path

import pytest

from app.demo import fill_demo
from app.domain import lifecycle
from app.domain.records import RECORD_TYPES
from app.domain.records import NoteStatus
from app.domain.records import Role
from app.domain.records import ServiceSetting
from app.domain.validation import icd10_problem
from app.domain.validation import npi_is_valid
from app.store.db import Store
from app.store.digest import counts
from app.store.digest import state_digest
from app.store.repositories import Repositories
from app.store.search import search
from app.store.vault import Vault

TODAY = date(2026, 11, 20)  # a Friday
PASSPHRASE = "demo passphrase 42"
OWNER_ID = "0b6f1f5e-0000-4000-8000-00000000d3e0"

# -- one small demo shared by the read-only checks -------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Repositories, dict[str, int], list[tuple[int, int]]]:
    vault = Vault(tmp_path_factory.mktemp("demo") / "vault")
    vault.create(PASSPHRASE, {"name": "argon2id", "iterations": 1, "lanes": 1, "memory_kib": 8192})
    store = Store.open(vault)
    calls: list[tuple[int, int]] = []
    result = fill_demo(
        store,
        participants=12,
        years=1,
        seed=3,
        today=TODAY,
        progress=lambda d, t: calls.append((d, t)),
    )
    yield Repositories(store), result, calls
    store.close()


def test_every_record_type_is_present_and_counted(demo) -> None:
    repos, result, _ = demo
    assert result == {t: c["records"] for t, c in counts(repos.store).items()}
    for cls in RECORD_TYPES:
        if cls.TABLE != "conflicts":  # only sync writes conflicts
            assert result[cls.TABLE] > 0, cls.TABLE
    assert result["participants"] == 12
    assert 150 <= result["encounters"] <= 450  # about 27 a year each, fewer for short spans


def test_progress_is_reported_up_to_the_total(demo) -> None:
    _, _, calls = demo
    assert len(calls) > 10
    assert calls[0][0] == 0 and all(0 <= d <= t for d, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert calls[-1][0] == calls[-1][1]


def test_users_and_people_are_plausible(demo) -> None:
    repos, _, _ = demo
    owner = repos.users.require(repos.store.user_id)
    supervisor = repos.users.require(owner.supervisor_id)
    assert owner.display_name and owner.credential.value == "CPSS II"
    assert owner.role is Role.SPECIALIST and supervisor.role is Role.SUPERVISOR
    users = repos.users.list()
    assert all(npi_is_valid(u.npi) for u in users)
    people = repos.participants.list()
    ids = [p.medicaid_id for p in people if p.medicaid_id]
    assert len(ids) == len(set(ids)) and all(re.fullmatch(r"\d{9}", i) for i in ids)
    payer_ids = {p.id for p in repos.payers.list()}
    for p in people:
        age = (TODAY - p.date_of_birth).days / 365.25
        assert 18 <= age <= 76
        assert p.payer_id in payer_ids and p.assigned_specialist_id == owner.id
        assert all(icd10_problem(code) is None for code in p.diagnoses)
        assert p.county and p.program
        if p.status.value == "discharged":
            assert p.discharge_date and p.discharge_reason
        if p.status.value != "referred":
            assert p.intake_date <= p.recovery_plan_completed_on <= TODAY
    for g in repos.goals.list():
        assert 2 <= len(g.steps) <= 5 and g.statement.startswith("I ")
        assert set(g.steps_done) <= set(range(len(g.steps)))
    for a in repos.barc10.list():
        assert len(a.scores) == 10 and 10 <= a.total <= 60


def test_records_point_at_records_that_exist(demo) -> None:
    repos, _, _ = demo
    people = {p.id for p in repos.participants.list()}
    goals = {g.id: g.participant_id for g in repos.goals.list()}
    notes = {e.id: e for e in repos.encounters.list()}
    sessions = {s.id for s in repos.supervision.list()}
    for e in notes.values():
        assert e.participant_id in people
        assert e.goal_ids and all(goals[g] == e.participant_id for g in e.goal_ids)
    for c in repos.consents.list():
        assert c.participant_id in people
    for t in repos.time_entries.list():
        assert not t.encounter_id or t.encounter_id in notes
        assert not t.supervision_id or t.supervision_id in sessions
    for a in repos.addenda.list():
        assert a.encounter_id in notes


def test_notes_follow_the_life_cycle(demo) -> None:
    repos, _, _ = demo
    store = repos.store
    owner = repos.users.require(store.user_id)
    notes = repos.encounters.list()
    statuses = Counter(e.status for e in notes)
    assert {NoteStatus.DRAFT, NoteStatus.SIGNED, NoteStatus.APPROVED, NoteStatus.BILLED} <= set(
        statuses
    )
    assert repos.addenda.count() > 0
    for e in notes:
        assert e.service_date.weekday() < 5 and e.service_date <= TODAY
        assert 20 <= e.minutes <= 90
        if e.status is NoteStatus.DRAFT:
            assert (TODAY - e.service_date).days <= 6
            continue
        assert lifecycle.signing_problems(e) == []
        assert e.content_hash == lifecycle.content_hash(e)
        assert e.signed_by_id == owner.id
        if e.status in (NoteStatus.APPROVED, NoteStatus.BILLED):
            assert e.approved_content_hash == e.content_hash
            assert e.reviewed_by_id == owner.supervisor_id != e.specialist_id
        if e.status is NoteStatus.BILLED:
            assert e.billing_batch_id and e.billed_at is not None
        if e.status is NoteStatus.RETURNED:
            assert e.review_comment
    batches = {e.billing_batch_id for e in notes if e.billing_batch_id}
    months = {
        (e.service_date.year, e.service_date.month, e.payer_id) for e in notes if e.billing_batch_id
    }
    assert len(batches) == len(months)  # one batch per service month and payer
    records = {b.id: b for b in repos.billing_batches.list()}
    assert set(records) == batches
    for b in records.values():
        billed = [e for e in notes if e.billing_batch_id == b.id]
        assert set(b.encounter_ids) == {e.id for e in billed}
        assert {e.payer_id for e in billed} == {b.payer_id}
    controls = sorted(b.interchange_control for b in records.values())
    assert controls == list(range(1, len(records) + 1))
    # the audit log saw every move
    actions = Counter(r[0] for r in store.conn.execute("SELECT action FROM audit_log"))
    assert actions["sign"] == sum(n for s, n in statuses.items() if s is not NoteStatus.DRAFT)


def test_a_realistic_day_does_not_overlap(demo) -> None:
    repos, _, _ = demo
    by_day: dict[date, list] = {}
    for e in repos.encounters.list():
        if e.setting is ServiceSetting.INDIVIDUAL:
            by_day.setdefault(e.service_date, []).append(e)
    for notes in by_day.values():
        notes.sort(key=lambda e: e.start_time)
        for a, b in itertools.pairwise(notes):
            assert a.end_time <= b.start_time


def test_hours_include_travel_training_and_supervision(demo) -> None:
    repos, _, _ = demo
    entries = repos.time_entries.list()
    by_cat = Counter(t.category.value for t in entries)
    assert set(by_cat) >= {"direct service", "travel", "documentation", "training"}
    assert by_cat["supervision received"] == repos.supervision.count()
    for t in entries:
        if t.category.value == "travel":
            assert t.miles > 0 and t.travel_from == "Office" and t.travel_to
        if t.category.value == "training":
            assert t.ce_title and t.ce_provider and t.ce_evidence
    assert any(t.ce_is_ethics for t in entries)


def test_search_finds_people_by_name_prefix_and_notes_by_a_word(demo) -> None:
    repos, _, _ = demo
    person = repos.participants.list(order_by="id", limit=1)[0]
    hits = search(repos.store, f"{person.first_name[:3]} {person.last_name[:4]}")
    assert person.id in {h.record_id for h in hits if h.kind == "participant"}
    hits = search(repos.store, "wellbr")
    notes = [h for h in hits if h.kind == "note"]
    assert notes and all("[" in h.snippet for h in notes)
    assert search(repos.store, "sponsor") != search(repos.store, "budget")


# -- reproducibility and guards ------------------------------------------------------


def _fresh_store(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    """A new vault whose owner has a fixed id, so two vaults can hold equal records."""
    vault = Vault(folder)
    vault.create(PASSPHRASE)  # fast_kdf makes this cheap
    return Store.open(vault, owner_username="demo-owner", owner_id=OWNER_ID)


def test_same_seed_same_records_other_seed_other_records(tmp_path, fast_kdf, monkeypatch) -> None:
    digests = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        store = _fresh_store(tmp_path / name, monkeypatch)
        fill_demo(store, participants=5, years=1, seed=seed, today=TODAY)
        digests.append(state_digest(store))
        assert Repositories(store).addenda.count() > 0  # their ids are planned too
        store.close()
    assert digests[0] == digests[1]
    assert digests[0] != digests[2]


def test_dates_follow_today(store) -> None:
    today = TODAY - timedelta(days=400)
    fill_demo(store, participants=3, years=1, seed=1, today=today)
    repos = Repositories(store)
    assert max(e.service_date for e in repos.encounters.list()) <= today


def test_refuses_a_vault_that_already_has_participants(store) -> None:
    fill_demo(store, participants=2, years=1, seed=1, today=TODAY)
    with pytest.raises(ValueError, match="empty vault"):
        fill_demo(store, participants=2, years=1, seed=1, today=TODAY)
