"""Program report benchmark (``make bench``; not part of the normal test run).

``team-20x1``: a supervisor vault with ``fill_demo_team(specialists=20,
participants=40, years=1)`` (about 19,000 notes, 34,000 time entries, 800 people).
Measured, median of 5 and the worst:

* ``app.services.program_report.program_report`` for the whole team over the year
  (read + figures + suppression; audited): target <= 2 s (the best wall-clock run
  and the median CPU time of the process: the machine is shared by many test runs);
* the same for one specialist and for one program;
* the three files rendered from the computed report (PDF with charts, CSV, XLSX);
* the real ProgramReportPage shown at 1200x900 on the database worker until the
  report is on screen and painted (``grab``): CPU time <= 2 s; wall time recorded.

Figures go to tests/benchmarks/results/reports.json and docs/PERFORMANCE.md.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import QDate

from app.services import program_report as svc
from app.services.vaults import Session
from app.store.repositories import Repositories
from app.ui.reports.program_page import ProgramReportPage
from app.ui.shell.context import AppContext
from app.ui.shell.tasks import TaskManager
from tests.benchmarks import demo_cache

TODAY = date(2026, 11, 30)
YEAR = (date(2025, 12, 1), TODAY)
RESULTS = Path(__file__).parent / "results" / "reports.json"
TARGET_S = 2.0
figures: dict[str, dict] = {}


@pytest.fixture(scope="module")
def team_vault(tmp_path_factory):
    v, s, figures["build"] = demo_cache.team_vault(
        tmp_path_factory.mktemp("bench-report") / "vault", TODAY
    )
    yield v, s
    s.close()


def _times(fn, n: int = 5) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of ``n`` runs; CPU is the whole process's (every thread)."""
    out = []
    for _ in range(n):
        t, c = time.perf_counter(), time.process_time()
        fn()
        out.append((time.perf_counter() - t, time.process_time() - c))
    return out


def _summary(ts: list[tuple[float, float]]) -> dict[str, float]:
    wall = [w for w, _c in ts]
    cpu = [c for _w, c in ts]
    return {
        "median_ms": round(statistics.median(wall) * 1000, 1),
        "best_ms": round(min(wall) * 1000, 1),
        "max_ms": round(max(wall) * 1000, 1),
        "cpu_median_ms": round(statistics.median(cpu) * 1000, 1),
        "load_1min": round(os.getloadavg()[0], 1),
    }


def _within_target(ts: list[tuple[float, float]]) -> bool:
    """The best wall-clock run, and the median CPU time, within the target: on the
    shared 2-core machine the median wall time mostly measures waiting for a core."""
    return min(w for w, _c in ts) <= TARGET_S and statistics.median(c for _w, c in ts) <= TARGET_S


def _write() -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2))


def test_program_report_20_specialists_one_year(team_vault, tmp_path):
    _v, s = team_vault
    repos = Repositories(s)
    report = svc.program_report(repos, *YEAR)
    assert len(svc.options(repos).specialists) == 20 and report.services > 10_000
    ts = _times(lambda: svc.program_report(repos, *YEAR), n=7)
    figures["team-year"] = {**_summary(ts), "services": report.services,
                            "people": report.people_served}  # fmt: skip
    spec = svc.options(repos).specialists[0][0]
    figures["one-specialist-year"] = _summary(
        _times(lambda: svc.program_report(repos, *YEAR, None, spec))
    )
    program = svc.options(repos).programs[0]
    figures["one-program-year"] = _summary(
        _times(lambda: svc.program_report(repos, *YEAR, program, None))
    )
    for kind in ("pdf", "csv", "xlsx"):
        path = tmp_path / f"r.{kind}"
        figures[f"write-{kind}"] = _summary(
            _times(lambda p=path: svc.write_report(repos, report, p))
        )
        figures[f"write-{kind}"]["bytes"] = path.stat().st_size
    _write()
    print("\nprogram report:", json.dumps({k: v for k, v in figures.items() if k != "build"}))
    assert _within_target(ts), figures["team-year"]


def test_program_report_page_20_specialists(qtbot, team_vault):
    v, s = team_vault
    repos = Repositories(s)
    tasks = TaskManager()
    ctx = AppContext(tasks, Session(v, s), repos.users.require(s.user_id))
    ts = []
    for _ in range(5):
        t, c = time.perf_counter(), time.process_time()
        page = ProgramReportPage(ctx)
        qtbot.addWidget(page)
        page.first.setDate(QDate(2025, 12, 1))
        page.last.setDate(QDate(2026, 11, 30))
        page.resize(1200, 900)
        page.show()
        qtbot.waitUntil(lambda p=page: p.report is not None and not tasks.busy, timeout=60_000)
        page.grab()
        ts.append((time.perf_counter() - t, time.process_time() - c))
        page.close()
    tasks.shutdown()
    figures["page"] = _summary(ts)
    _write()
    print("\nprogram report page:", figures["page"])
    # The page's wall time is two hops between the UI thread and the database lane,
    # each waiting for a core on the shared machine: recorded, and its CPU time held
    # to the target (docs/PERFORMANCE.md gives both).
    assert statistics.median(c for _w, c in ts) <= TARGET_S, figures["page"]
