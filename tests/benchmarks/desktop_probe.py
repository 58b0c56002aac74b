"""Measure the desktop app in a process of its own (so RSS is the app's alone).

``python -m tests.benchmarks.desktop_probe VAULT_DIR PASSPHRASE`` opens the real
main window offscreen on the vault, and prints one JSON line:

* ``unlock_to_caseload_s``: from pressing Unlock (real Argon2id key derivation,
  Store.open, the caseload query) until the caseload table shows its rows;
* ``background_done_s``: from pressing Unlock until what unlocking leaves to the
  background is done (the other pages built, every page's HMAC checked);
* ``open_participant_ms``: then, for ten participants with the most encounters, from
  the call that opens the record until the worker is idle and the page has painted
  (median and max);
* ``rss_after_ten_mib``: resident memory after those ten records were opened.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication

from app.ui.shell.app import make_application
from app.ui.shell.main_window import MainWindow
from tests.screenshot_tour import wait_until


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def busiest_participants(window: MainWindow, n: int) -> list[str]:
    session = window.session
    assert session is not None
    box: list[list[str]] = []

    def query(s=session) -> list[str]:
        rows = s.store.conn.execute(
            "SELECT participant_id FROM encounters WHERE NOT deleted "
            "GROUP BY participant_id ORDER BY count(*) DESC LIMIT ?",
            (n,),
        ).fetchall()
        return [r[0] for r in rows]

    window.tasks.run(query, box.append)
    wait_until(lambda: bool(box))
    return box[0]


def main(folder: Path, passphrase: str) -> dict:
    app = make_application([])
    window = MainWindow(folder)
    window.resize(1000, 700)
    window.show()
    wait_until(lambda: not window.tasks.busy)
    page = window.start.unlock_page
    page.passphrase.setText(passphrase)
    started = time.perf_counter()
    page.submit_button.click()
    wait_until(lambda: window.model.rowCount() > 0 and window.caseload.table.isVisible(), 60_000)
    window.caseload.table.viewport().repaint()
    figures: dict = {"unlock_to_caseload_s": round(time.perf_counter() - started, 3)}
    wait_until(lambda: not window.tasks.busy)
    figures["rss_after_unlock_mib"] = round(rss_mib(), 1)
    ws = window.workspace
    # What unlocking leaves to do in the background: the other pages built, every
    # page's HMAC checked (app.store.page_check). Participants are opened after it.
    session = window.session
    check = session.store.page_check if session is not None else None
    wait_until(
        lambda: (
            ws is not None
            and not ws.pages.pending
            and (check is None or check.done)
            and not window.tasks.busy
        ),
        60_000,
    )
    figures["background_done_s"] = round(time.perf_counter() - started, 3)
    if ws is not None and "participant" in ws.pages:
        times = []
        for pid in busiest_participants(window, 10):
            t0 = time.perf_counter()
            window._open_participant(pid)
            wait_until(lambda: not window.tasks.busy)
            ws.pages["participant"].repaint()
            QCoreApplication.processEvents()
            times.append((time.perf_counter() - t0) * 1000)
        figures["open_participant_ms"] = {
            "median": round(statistics.median(times), 1),
            "max": round(max(times), 1),
        }
    figures["rss_after_ten_mib"] = round(rss_mib(), 1)
    window.close()
    app.processEvents()
    return figures


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), sys.argv[2])))
