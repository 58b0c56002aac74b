"""Screenshots of the Program report screen and its PDF's first page (not a test module).

    QT_QPA_PLATFORM=offscreen python tests/report_shots.py OUT_DIR

Makes a throwaway vault filled with app.demo_team (a supervisor and four invented
specialists), shows the report for the year at 1200x900 with the app's style sheet,
grabs it, writes the PDF and renders its first page with pdftoppm.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QDate

from app.demo_team import fill_demo_team
from app.services import program_report as svc
from app.services.vaults import Session
from app.store.db import Store
from app.store.repositories import Repositories
from app.store.vault import Vault
from app.ui.reports.program_page import ProgramReportPage
from app.ui.shell.app import make_application
from app.ui.shell.context import AppContext
from app.ui.shell.tasks import TaskManager
from tests.supervisor_shots import KDF
from tests.supervisor_shots import settle

TODAY = date(2026, 11, 30)


def main(out: Path) -> None:
    app = make_application(["shots"])
    out.mkdir(parents=True, exist_ok=True)
    vault = Vault(Path(tempfile.mkdtemp()) / "vault")
    vault.create("screenshot passphrase", KDF)
    store = Store.open(vault)
    fill_demo_team(store, specialists=4, participants=14, today=TODAY)
    repos = Repositories(store)
    user = repos.users.require(store.user_id)
    tasks = TaskManager()
    ctx = AppContext(tasks, Session(vault, store, demo=True), user)
    page = ProgramReportPage(ctx)
    page.resize(1200, 900)
    page.first.setDate(QDate(2025, 12, 1))
    page.last.setDate(QDate(2026, 11, 30))
    page.show()
    settle(app, tasks)
    page.run_report()
    settle(app, tasks)
    page.show_button.setFocus()
    app.processEvents()
    page.grab().save(str(out / "80-program-report.png"))
    page.scroll.verticalScrollBar().setValue(page.scroll.verticalScrollBar().maximum() // 3)
    app.processEvents()
    page.grab().save(str(out / "81-program-report-table.png"))
    pdf = out / "program-report.pdf"
    svc.export_report(repos, date(2025, 12, 1), TODAY, [pdf])
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "80",
            "-f",
            "1",
            "-l",
            "2",
            str(pdf),
            str(out / "82-program-report-pdf"),
        ],
        check=True,
    )
    tasks.shutdown(final=store.close)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
