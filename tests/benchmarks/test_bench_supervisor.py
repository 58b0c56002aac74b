"""Supervisor benchmarks (``make bench``; not part of the normal test run).

* ``team-20x1``: a supervisor vault with ``fill_demo_team(specialists=20,
  participants=40, years=1)`` (about 21,000 notes and 47,000 time entries).
  ``app.services.team.team_overview`` (the team view's read and figures), median
  of 5 and the worst; then the real TeamPage shown at 1000x700 until its table
  and chart are filled and painted (``grab``), median of 5. Target: <= 1 s.
* ``queue-2000``: the same vault with 2,000 notes waiting for review.
  ``app.services.review.review_queue``, median of 5 and the worst; then the real
  ReviewPage shown until the queue model holds every row and the table is
  painted, median of 5. Target: <= 500 ms.

Figures go to tests/benchmarks/results/supervisor.json and docs/PERFORMANCE.md.
"""

from __future__ import annotations

import json
import statistics
import time
from datetime import date
from pathlib import Path

import pytest

from app.domain.records import Role
from app.services import review
from app.services import team
from app.services.vaults import Session
from app.store.db import Store
from app.store.repositories import Repositories
from app.store.vault import Vault
from app.ui.review.review_page import ReviewPage
from app.ui.shell.context import AppContext
from app.ui.shell.tasks import TaskManager
from app.ui.team.team_page import TeamPage
from tests.benchmarks import demo_cache

TODAY = date(2026, 11, 20)
RESULTS = Path(__file__).parent / "results" / "supervisor.json"

TEAM_TARGET_S = 1.0
QUEUE_TARGET_S = 0.5
PENDING = 2000


@pytest.fixture(scope="module")
def vault_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench-sup") / "vault"
    v, s, build = demo_cache.team_vault(folder, TODAY)
    # 2,000 notes waiting for review: approved ones put back to signed as a sync would
    with s.transaction(mode="remote"):
        waiting = s.conn.execute("SELECT count(*) FROM encounters WHERE status = 'signed'")
        need = PENDING - waiting.fetchone()[0]
        s.conn.execute(
            "UPDATE encounters SET status = 'signed', reviewed_by_id = '', reviewed_at = NULL, "
            "approved_content_hash = '' WHERE id IN (SELECT id FROM encounters "
            "WHERE status = 'approved' ORDER BY service_date DESC LIMIT ?)",
            (need,),
        )
    s.close()
    v.lock()
    figures["build"] = build
    return folder


figures: dict[str, dict] = {}


def _open(folder: Path) -> tuple[Vault, Store]:
    v = Vault(folder)
    v.unlock("benchmark passphrase 2026")
    return v, Store.open(v)


def _times(fn, n: int = 5) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def _page_times(qtbot, ctx, make, ready, n: int = 5) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        page = make(ctx)
        qtbot.addWidget(page)
        page.resize(1000, 700)
        page.show()
        qtbot.waitUntil(lambda p=page: ready(p) and not ctx.tasks.busy, timeout=30_000)
        page.grab()
        out.append(time.perf_counter() - t)
        page.close()
    return out


def _summary(ts: list[float]) -> dict[str, float]:
    return {"median_ms": round(statistics.median(ts) * 1000, 1), "max_ms": round(max(ts) * 1000, 1)}


def test_team_view_20_specialists_one_year(qtbot, vault_dir):
    v, s = _open(vault_dir)
    repos = Repositories(s)
    overview = team.team_overview(repos, TODAY)
    assert len(overview.rows) == 20
    figures["team-query"] = _summary(_times(lambda: team.team_overview(repos, TODAY)))
    tasks = TaskManager()
    user = repos.users.require(s.user_id)
    assert user.role is Role.SUPERVISOR
    ctx = AppContext(tasks, Session(v, s), user)
    ts = _page_times(qtbot, ctx, TeamPage, lambda p: p.model.rowCount() == 20)
    figures["team-page"] = _summary(ts)
    tasks.shutdown(final=s.close)
    _write()
    print("\nteam view:", figures["team-query"], figures["team-page"])
    assert statistics.median(ts) <= TEAM_TARGET_S


def test_review_queue_2000_pending(qtbot, vault_dir):
    v, s = _open(vault_dir)
    repos = Repositories(s)
    rows = review.review_queue(repos)
    assert len(rows) >= PENDING
    figures["queue-query"] = _summary(_times(lambda: review.review_queue(repos)))
    figures["queue-query"]["rows"] = len(rows)
    tasks = TaskManager()
    ctx = AppContext(tasks, Session(v, s), repos.users.require(s.user_id))
    ts = _page_times(qtbot, ctx, ReviewPage, lambda p: p.model.rowCount() == len(rows))
    figures["queue-page"] = _summary(ts)
    tasks.shutdown(final=s.close)
    _write()
    print("\nreview queue:", figures["queue-query"], figures["queue-page"])
    assert statistics.median(ts) <= QUEUE_TARGET_S


def _write() -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2))
