"""Screenshots of the Hours page and the search box with a small demo caseload.

``python -m tests.shots_hours OUT_DIR`` (set ``QT_SCALE_FACTOR=2`` for 200 %):
builds a demo vault of invented people in a temporary folder, shows the Hours page
(a week with entries, the form with a problem, the chart) and the search box with
results at 1000x700, and saves PNGs into OUT_DIR.
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import date
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.demo import fill_demo
from app.domain.records import TimeCategory
from app.services.vaults import Session
from app.store.db import Store
from app.store.repositories import Repositories
from app.store.vault import Vault
from app.ui.hours.hours_page import HoursPage
from app.ui.search.search import SearchBar
from app.ui.shell.app import make_application
from app.ui.shell.context import AppContext
from app.ui.shell.tasks import TaskManager
from tests.conftest import FAST_KDF
from tests.shots_support import wait_until

TODAY = date(2026, 11, 20)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    make_application([])
    with tempfile.TemporaryDirectory(prefix="peertrail-shots-") as tmp:
        vault = Vault(Path(tmp) / "vault")
        vault.create("screenshot passphrase", FAST_KDF)
        store = Store.open(vault)
        fill_demo(store, participants=12, years=1, seed=3, today=TODAY)
        user = Repositories(store).users.require(store.user_id)
        tasks = TaskManager()
        ctx = AppContext(tasks, Session(vault, store), user)
        idle = lambda: not tasks.busy  # noqa: E731

        host = QWidget()
        host.setObjectName("workspace")
        layout = QVBoxLayout(host)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        search = SearchBar(ctx)
        layout.addWidget(search)
        page = HoursPage(ctx, today=lambda: TODAY)
        layout.addWidget(page, 1)
        host.resize(1000, 700)
        host.show()
        wait_until(idle)
        host.grab().save(str(out / "hours-week.png"))

        content = page.scroll.widget()
        page.resize(1000, content.sizeHint().height() + 10)
        host.resize(1000, content.sizeHint().height() + 60)
        wait_until(idle)
        host.grab().save(str(out / "hours-full.png"))
        host.resize(1000, 700)

        page.add_entry(TODAY, TimeCategory.TRAVEL)
        page.editor.duration.setText("0:40")
        page.editor.miles.setText("23.4")
        page.editor.travel_from.setText("Office")
        page.editor.save()
        wait_until(idle)
        page.scroll.ensureWidgetVisible(page.editor)
        host.grab().save(str(out / "hours-form-problems.png"))
        page.editor.cancel()

        page.scroll.verticalScrollBar().setValue(0)
        search.box.edit.setFocus()
        search.box.edit.setText("bud")
        wait_until(lambda: search.box.answered >= 1 and idle())
        host.grab().save(str(out / "search-results.png"))
        search.box.edit.setText("sleep sched")
        wait_until(lambda: search.box.shown_text == "sleep sched" and idle())
        host.grab().save(str(out / "search-notes.png"))
        search.box.edit.setText("zzqx")
        wait_until(lambda: search.box.shown_text == "zzqx" and idle())
        host.grab().save(str(out / "search-none.png"))

        host.close()
        tasks.shutdown(final=store.close)
    for p in sorted(out.glob("*.png")):
        print(p)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots-tmp/hours"))
