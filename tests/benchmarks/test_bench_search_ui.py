"""Search as you type through the real widget: keystroke to results on screen.

Workload **search-ui** on the five-year demo vault (``fill_demo(participants=300,
years=5, seed=1)``, reused from tests/benchmarks/demo_cache.py): a
:class:`app.ui.search.search.SearchBox` in a shown window (offscreen platform), the real
database worker and :class:`app.ui.shell.context.AppContext`. 60 queries like those of
the foundation's search benchmark (names, and 1-3 words from notes, each word a
prefix of 2-6 letters) are typed one key at a time with QTest key clicks:

* **per key**: after each key, the time until the box's ``results_shown`` signal
  for the text now in the box (debounce + worker + model + popup), the person
  waiting for the results of every key;
* **burst**: a whole query typed at once, then the time from the last key to its
  results (the stale-answer rule and the one-query-in-flight rule at work).

Figures go to tests/benchmarks/results/search_ui.json and docs/PERFORMANCE.md.
Target: keystroke to results p95 <= 100 ms.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QWidget

from app.services.vaults import Session
from app.store.db import Store
from app.store.repositories import Repositories
from app.store.search import search
from app.ui.shell.context import AppContext
from app.ui.shell.tasks import TaskManager
from tests.benchmarks.demo_cache import PASSPHRASE
from tests.benchmarks.demo_cache import copy_of_demo_vault
from tests.benchmarks.demo_cache import search_queries
from tests.ui_support import search_window

RESULTS = Path(__file__).parent / "results" / "search_ui.json"
TARGET_P95_MS = 100.0


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _queries(store: Store, n: int = 60) -> list[str]:
    return search_queries(store, n, 4, "intervention || ' ' || response || ' ' || plan")


def type_key(qtbot, widget: QWidget, ch: str) -> None:
    """One key, as a keyboard sends it (QTest knows only ASCII keys by name)."""
    if ch.isascii():
        qtbot.keyClick(widget, ch)
        return
    for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
        QApplication.sendEvent(
            widget, QKeyEvent(kind, Qt.Key.Key_unknown, Qt.KeyboardModifier.NoModifier, ch)
        )


@pytest.fixture(scope="module")
def searching(qapp, tmp_path_factory):
    vault = copy_of_demo_vault(tmp_path_factory.mktemp("search-ui") / "vault")
    vault.unlock(PASSPHRASE)
    store = Store.open(vault)
    repos = Repositories(store)
    user = repos.users.require(store.user_id)
    counts = {
        "participants": repos.participants.count(),
        "notes": repos.encounters.count(),
    }
    queries = _queries(store)
    tasks = TaskManager()
    ctx = AppContext(tasks, Session(vault, store), user)
    host, bar = search_window(ctx, (1000, 700))
    yield bar.box, store, queries, counts
    host.close()
    tasks.shutdown(final=store.close)


def test_keystroke_to_results(qtbot, searching) -> None:
    box, store, queries, counts = searching
    emitted: dict[str, float] = {}
    box.results_shown.connect(lambda text: emitted.__setitem__(text, time.perf_counter()))

    def wait_for(text: str) -> None:
        qtbot.waitUntil(lambda: text in emitted, timeout=10_000)

    # warm up (statement cache, first paint), not counted
    box.focus_search()
    qtbot.keyClicks(box.edit, "warm")
    wait_for("warm")
    box.clear()

    per_key: list[float] = []
    for q in queries:
        box.clear()
        box.edit.setFocus()
        for ch in q:
            emitted.clear()
            started = time.perf_counter()
            type_key(qtbot, box.edit, ch)
            text = box.edit.text()
            wait_for(text)
            per_key.append((emitted[text] - started) * 1000)

    burst: list[float] = []
    dropped_before = box.dropped
    for q in queries:
        box.clear()
        box.edit.setFocus()
        emitted.clear()
        for ch in q[:-1]:
            type_key(qtbot, box.edit, ch)
        started = time.perf_counter()
        type_key(qtbot, box.edit, q[-1])
        wait_for(q)
        burst.append((emitted[q] - started) * 1000)

    worker: list[float] = []
    for q in queries:
        started = time.perf_counter()
        search(store, q)
        worker.append((time.perf_counter() - started) * 1000)

    figures = {
        "vault": counts,
        "queries": len(queries),
        "keystrokes": len(per_key),
        "debounce_ms": box.debounce_ms,
        "per_key_median_ms": round(statistics.median(per_key), 1),
        "per_key_p95_ms": round(_percentile(per_key, 0.95), 1),
        "per_key_max_ms": round(max(per_key), 1),
        "burst_median_ms": round(statistics.median(burst), 1),
        "burst_p95_ms": round(_percentile(burst, 0.95), 1),
        "burst_stale_answers_dropped": box.dropped - dropped_before,
        "search_only_median_ms": round(statistics.median(worker), 1),
        "search_only_p95_ms": round(_percentile(worker, 0.95), 1),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    print(f"\n[search-ui] {json.dumps(figures, indent=2)}")
    assert figures["per_key_p95_ms"] <= TARGET_P95_MS
    assert figures["burst_p95_ms"] <= TARGET_P95_MS
