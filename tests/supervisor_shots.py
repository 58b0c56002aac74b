"""Screenshots of the supervisor's screens with the demo team (not a test module).

    QT_QPA_PLATFORM=offscreen python tests/supervisor_shots.py OUT_DIR [SUFFIX]

Run once as is (100 %) and once with QT_SCALE_FACTOR=2 (200 %, SUFFIX "200").
Makes a throwaway vault, fills it with app.demo_team, applies the app's style
sheet and saves each page at 1000x700 as PNG.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from tests.conftest import FAST_KDF as KDF

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtWidgets import QApplication

from app.demo_team import fill_demo_team
from app.domain.records import Role
from app.services.vaults import Session
from app.store.db import Store
from app.store.repositories import Repositories
from app.store.vault import Vault
from app.ui.review.review_page import ReviewPage
from app.ui.shell.app import make_application
from app.ui.shell.context import AppContext
from app.ui.shell.tasks import TaskManager
from app.ui.supervision.supervision_page import SupervisionPage
from app.ui.team.team_page import TeamPage


def settle(app: QApplication, tasks: TaskManager) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        app.processEvents()
        if not tasks.busy:
            for _ in range(5):
                app.processEvents()
            if not tasks.busy:
                return
        time.sleep(0.01)


def first_row_shown(page, app: QApplication, tasks: TaskManager):
    """``page`` at 1000x700, shown with its first row selected, once the worker is idle."""
    page.resize(1000, 700)
    page.show()
    settle(app, tasks)
    page.table.selectRow(0)
    settle(app, tasks)
    return page


def main(out: Path, suffix: str = "100") -> None:
    app = make_application(["shots"])
    out.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp()) / "vault"
    vault = Vault(folder)
    vault.create("screenshot passphrase", KDF)
    store = Store.open(vault)
    fill_demo_team(store)
    user = Repositories(store).users.require(store.user_id)
    assert user.role is Role.SUPERVISOR
    tasks = TaskManager()
    ctx = AppContext(tasks, Session(vault, store, demo=True), user)

    team = first_row_shown(TeamPage(ctx), app, tasks)
    team.grab().save(str(out / f"team-{suffix}.png"))

    review = first_row_shown(ReviewPage(ctx), app, tasks)
    review.grab().save(str(out / f"review-{suffix}.png"))
    review.comment.setPlainText("")
    review.return_current()  # the in-place message for a missing comment
    review.grab().save(str(out / f"review-return-needs-comment-{suffix}.png"))
    review.show_trail()
    settle(app, tasks)
    if review.trail_dialog is not None:
        review.trail_dialog.grab().save(str(out / f"review-trail-{suffix}.png"))
        review.trail_dialog.reject()
    review.approve_current()
    if review.dialog is not None:
        review.dialog.show()
        app.processEvents()
        review.dialog.grab().save(str(out / f"review-passphrase-{suffix}.png"))
        review.dialog.reject()

    sup = first_row_shown(SupervisionPage(ctx), app, tasks)
    sup.grab().save(str(out / f"supervision-{suffix}.png"))
    sup.new_session()
    sup.minutes.setValue(0)
    sup.save()
    settle(app, tasks)
    sup.grab().save(str(out / f"supervision-new-invalid-{suffix}.png"))

    for page in (team, review, sup):
        page.close()
    tasks.shutdown(final=store.close)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "100")
