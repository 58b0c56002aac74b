"""Caseload and participant-record benchmarks on the five-year demo caseload.

Named workloads:

* ``caseload-300x5``: ``caseload_rows`` (participants with their attention facts)
  on ``fill_demo(participants=300, years=5, seed=1, today=2026-11-20)``, 20 runs
  after one warm-up: median and p95; then handing the rows to the caseload model
  and fitting the columns on the UI thread (median of 20).
* ``open-500``: the same vault plus one invented participant with 500 encounters
  (5 goals, 3 consents, 12 BARC-10s). ``ParticipantPage.show_participant`` with the
  timeline tab showing, from the call to the page repainted with everything on it
  (through the real database worker and the audited open), alternating with a
  100-encounter participant so every open is a real one; 15 opens of each.

The vault is a private copy of the one tests/benchmarks/demo_cache.py builds once and
caches (2-6 minutes the first time). Set ``RECORDS_BENCH_VAULT`` to a folder holding
another such demo vault (passphrase ``bench passphrase 2026``, any KDF) to use it.
Figures go to tests/benchmarks/results/records.json; docs/PERFORMANCE.md keeps the
last recorded run. Targets: open participant <= 150 ms; caseload query <= 300 ms
(its share of the 1.5 s unlock-to-caseload budget).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
from datetime import date
from datetime import time as clock
from datetime import timedelta
from pathlib import Path

import pytest

from app.domain.records import Barc10
from app.domain.records import Consent
from app.domain.records import Encounter
from app.domain.records import Goal
from app.domain.records import Participant
from app.domain.records import RecoveryDomain
from app.services.caseload import caseload_rows
from app.services.vaults import Session
from app.store.db import Store
from app.store.repositories import Repositories
from app.store.vault import Vault
from app.ui.caseload.caseload import CaseloadView
from app.ui.caseload.models import CaseloadModel
from app.ui.participant.participant_page import TAB_TIMELINE
from app.ui.participant.participant_page import ParticipantPage
from app.ui.shell.context import AppContext
from app.ui.shell.tasks import TaskManager
from tests.benchmarks import demo_cache
from tests.benchmarks.demo_cache import copy_of_demo_vault

PASSPHRASE = "bench passphrase 2026"
TODAY = date(2026, 11, 20)
RESULTS = Path(__file__).parent / "results" / "records.json"
OPEN_TARGET_MS = 150.0
CASELOAD_TARGET_MS = 300.0

BIG_NAME = ("Benchmarkia", "Fivehundredsson")

figures: dict[str, dict] = {}


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _save() -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")


def _add_big_participant(store: Store) -> None:
    repos = Repositories(store)
    if repos.participants.list("first_name = ?", (BIG_NAME[0],)):
        return
    rng = random.Random(500)
    p = Participant(
        first_name=BIG_NAME[0],
        last_name=BIG_NAME[1],
        date_of_birth=date(1980, 1, 1),
        program="1915(i)",
        county="Cass",
        intake_date=TODAY - timedelta(days=5 * 365),
        assigned_specialist_id=store.user_id,
    )
    goals = [
        Goal(
            participant_id=p.id,
            domain=list(RecoveryDomain)[i % 4],
            statement=f"Invented goal number {i + 1} for the benchmark.",
            steps=tuple(f"Step {j + 1}" for j in range(4)),
            steps_done=tuple(range(i % 4)),
            target_date=TODAY + timedelta(days=30 * (i - 2)),
        )
        for i in range(5)
    ]
    notes = []
    for i in range(500):
        start = 8 * 60 + rng.randrange(0, 16) * 30
        notes.append(
            Encounter(
                participant_id=p.id,
                specialist_id=store.user_id,
                service_date=TODAY - timedelta(days=i * 3 + rng.randrange(0, 3)),
                start_time=clock(start // 60, start % 60),
                end_time=clock((start + 50) // 60, (start + 50) % 60),
                goal_ids=(goals[i % 5].id,),
                goal_text=f"Worked on invented goal {i % 5 + 1}; talked through the week.",
                intervention="Listened, shared experience, planned next steps.",
                response="Engaged and hopeful.",
                plan="Meet again next week.",
            )
        )
    with store.transaction():
        repos.participants.add(p)
        repos.goals.add_many(goals)
        repos.encounters.add_many(notes)
        repos.consents.add_many(
            [
                Consent(
                    participant_id=p.id,
                    recipient=f"Invented agency {k}",
                    signed_on=TODAY - timedelta(days=400 * k + 10),
                    expires_on=TODAY + timedelta(days=200 - 300 * k),
                )
                for k in range(3)
            ]
        )
        repos.barc10.add_many(
            [
                Barc10(
                    participant_id=p.id,
                    assessed_on=TODAY - timedelta(days=150 * k),
                    scores=tuple(rng.randint(2, 6) for _ in range(10)),
                )
                for k in range(12)
            ]
        )


@pytest.fixture(scope="module")
def demo_vault(tmp_path_factory) -> Vault:
    given = os.environ.get("RECORDS_BENCH_VAULT")
    if given:
        vault = Vault(Path(given))
        vault.unlock(PASSPHRASE)
    else:  # a private copy of the cached five-year vault (built once, then reused)
        vault = copy_of_demo_vault(tmp_path_factory.mktemp("records") / "vault")
        vault.unlock(demo_cache.PASSPHRASE)
    store = Store.open(vault)
    try:
        _add_big_participant(store)
    finally:
        store.close()
    return vault


def test_caseload_query(demo_vault, qtbot):
    store = Store.open(demo_vault)
    try:
        repos = Repositories(store)
        encounters = repos.encounters.count()
        caseload_rows(repos, TODAY)  # warm-up
        times, rows = [], []
        for _ in range(20):
            t = time.perf_counter()
            rows = caseload_rows(repos, TODAY)
            times.append((time.perf_counter() - t) * 1000)
        t0 = time.perf_counter()
        repos.participants.caseload()
        plain_ms = (time.perf_counter() - t0) * 1000
    finally:
        store.close()
    model = CaseloadModel()
    view = CaseloadView(model)
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.show()
    ui = []
    for _ in range(20):
        t = time.perf_counter()
        model.set_rows(rows)
        view.fit_columns()
        view.repaint()
        ui.append((time.perf_counter() - t) * 1000)
    figures["caseload-300x5"] = {
        "participants": len(rows),
        "encounters": encounters,
        "needing_attention": sum(1 for r in rows if r.flags),
        "query_median_ms": round(statistics.median(times), 1),
        "query_p95_ms": round(_p95(times), 1),
        "participants_only_ms": round(plain_ms, 1),
        "model_and_paint_median_ms": round(statistics.median(ui), 1),
    }
    _save()
    print("\n", json.dumps(figures["caseload-300x5"], indent=2))
    assert len(rows) == 301
    assert statistics.median(times) <= CASELOAD_TARGET_MS


def test_open_participant_with_500_encounters(demo_vault, qtbot):
    store = Store.open(demo_vault)
    repos = Repositories(store)
    big = repos.participants.list("first_name = ?", (BIG_NAME[0],))[0]
    other = max(
        repos.participants.caseload()[:40],
        key=lambda p: len(repos.encounters.for_participant(p.id)),
    )
    other_count = len(repos.encounters.for_participant(other.id))
    tasks = TaskManager()
    session = Session(demo_vault, store)
    ctx = AppContext(tasks, session, repos.users.require(store.user_id))
    page = ParticipantPage(ctx)
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    page.tabs.setCurrentIndex(TAB_TIMELINE)
    try:
        timings: dict[str, list[float]] = {"big": [], "other": []}
        for i in range(31):
            for key, who in (("big", big), ("other", other)):
                t = time.perf_counter()
                with qtbot.waitSignal(page.loaded, timeout=10_000):
                    page.show_participant(who.id)
                page.repaint()
                ms = (time.perf_counter() - t) * 1000
                if i:  # the first round warms caches and Qt's style machinery
                    timings[key].append(ms)
                page.tabs.setCurrentIndex(TAB_TIMELINE)
        assert page.timeline_model.rowCount() == other_count
        page.show_participant(big.id)
        qtbot.waitUntil(lambda: not tasks.busy)
        assert page.timeline_model.rowCount() == 500
    finally:
        tasks.shutdown(final=session.close)
    figures["open-500"] = {
        "encounters": 500,
        "median_ms": round(statistics.median(timings["big"]), 1),
        "p95_ms": round(_p95(timings["big"]), 1),
        "max_ms": round(max(timings["big"]), 1),
        "other_encounters": other_count,
        "other_median_ms": round(statistics.median(timings["other"]), 1),
        "opens": len(timings["big"]),
    }
    _save()
    print("\n", json.dumps(figures["open-500"], indent=2))
    assert statistics.median(timings["big"]) <= OPEN_TARGET_MS
