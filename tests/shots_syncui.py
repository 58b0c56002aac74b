"""Screenshots of the sync screens (not a test module): the status bar states, the
Conflicts page with a side-by-side text conflict made by a real sync with the real
server, the refused changes, and Preferences.

    QT_QPA_PLATFORM=offscreen python -m tests.shots_syncui OUTDIR
    QT_QPA_PLATFORM=offscreen QT_SCALE_FACTOR=2 python -m tests.shots_syncui OUTDIR

Every person is invented. PNGs are written as OUTDIR/<name>-<scale>.png.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
from datetime import date
from pathlib import Path

from PySide6.QtCore import QEventLoop
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QStatusBar
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.domain.records import Participant
from app.domain.records import Payer
from app.services.vaults import Session
from app.store.db import Store
from app.store.repositories import Repositories
from app.store.vault import Vault
from app.ui.shell.app import make_application
from app.ui.shell.context import AppContext
from app.ui.shell.preferences import PreferencesDialog
from app.ui.shell.settings import Settings
from app.ui.shell.tasks import TaskManager
from app.ui.sync.conflicts import ConflictsPage
from app.ui.sync.controller import SyncController
from app.ui.sync.status_widget import SyncStatus
from tests.builders import add_encounter
from tests.builders import add_goal
from tests.conftest import FAST_KDF
from tests.conftest import PASSPHRASE
from tests.server_proc import DEFAULT_PASSWORD
from tests.server_proc import start_server
from tests.shots_support import sync_states
from tests.test_sync_e2e import Laptop

PEOPLE = [
    ("Wrenna", "Halstad"),
    ("Tobiah", "Lindqvist"),
    ("Marisol", "Eagleheart"),
    ("Dagny", "Rustad"),
]


def wait(app: QApplication, cond, timeout_s: float = 120.0) -> None:
    """Run the event loop until ``cond()`` (waiting for events, not sleeping)."""
    import time as _t

    end = _t.monotonic() + timeout_s
    while not cond():
        app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 50)
        if _t.monotonic() > end:
            raise TimeoutError("the screenshot setup did not finish")


def save(widget: QWidget, out: Path, name: str, scale: str) -> None:
    path = out / f"{name}-{scale}.png"
    widget.grab().save(str(path))
    print(path)


def status_bars(out: Path, scale: str) -> None:
    named = sync_states()
    states = [
        dataclasses.replace(named["not-connected"], pending=0),
        *(named[name] for name in ("online", "offline", "syncing-long", "conflicts")),
    ]
    box = QWidget()
    box.setObjectName("workspace")
    lay = QVBoxLayout(box)
    lay.setSpacing(10)
    for st in states:
        bar = QStatusBar()
        bar.setSizeGripEnabled(False)
        w = SyncStatus()
        if st.syncing:
            w.controller = type("Long", (), {"long_sync": True})()  # show the progress bar
        w.show_state(st)
        bar.addPermanentWidget(w)
        bar.showMessage("Your vault")
        lay.addWidget(bar)
    box.resize(1000, 10)
    box.show()
    QApplication.processEvents()
    box.resize(1000, box.sizeHint().height())
    QApplication.processEvents()
    save(box, out, "status-bar", scale)
    box.close()


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    scale = "200" if os.environ.get("QT_SCALE_FACTOR") == "2" else "100"
    app = make_application([])
    status_bars(out, scale)

    tmp = Path(tempfile.mkdtemp(prefix="peertrail-shots-"))
    server = start_server(tmp, extra_args=("--rate-limit", "0"))
    try:
        server.add_user("sam", "supervisor", display_name="Sam Okafor")
        server.add_user("ann", "specialist", supervisor="sam", display_name="Ann Berg")
        vault = Vault(tmp / "vault")
        vault.create(PASSPHRASE, FAST_KDF)
        store = Store.open(vault)
        tasks = TaskManager()
        session = Session(vault, store)
        user = Repositories(store).users.get(store.user_id)
        ctx = AppContext(tasks, session, user)
        ctrl = SyncController(ctx, auto=False)
        settings = Settings.at(str(tmp / "prefs.ini"))

        prefs = PreferencesDialog(settings, ctx, ctrl)
        prefs.show()
        prefs.adjustSize()
        wait(app, lambda: not tasks.busy)
        prefs.address.setText("http://sync.example.org")
        prefs.fingerprint.setText("AB:CD")
        prefs.username.setText("ann")
        prefs.connect_button.click()
        app.processEvents()
        save(prefs, out, "preferences-checks", scale)

        finished: list[bool] = []
        ctrl.finished.connect(lambda ok, _t: finished.append(ok))
        prefs.address.setText(server.url)
        prefs.fingerprint.setText(server.fingerprint or "")
        prefs.password.setText(DEFAULT_PASSWORD)
        prefs.connect_button.click()
        wait(app, lambda: bool(finished) and not tasks.busy)
        app.processEvents()
        save(prefs, out, "preferences-connected", scale)
        prefs.close()

        other = Laptop(tmp, "other-laptop", server, "ann")
        repos = other.repos
        payer = Payer(name="Invented Medicaid Plan")
        notes = []
        for first, last in PEOPLE:
            p = repos.participants.add(
                Participant(
                    first_name=first,
                    last_name=last,
                    date_of_birth=date(1980, 1, 1),
                    assigned_specialist_id=other.user.id,
                    payer_id=payer.id,
                )
            )
            g = add_goal(repos, p, "Keep my apartment through the winter")
            girp = (
                "Housing stability",
                "Went over the lease together.",
                "Relieved; asked good questions.",
                "Call the landlord on Friday.",
            )
            notes.append(add_encounter(repos, p, g, other.user, girp=girp))
        other.sync()
        finished.clear()
        ctrl.sync_now()
        wait(app, lambda: bool(finished) and not tasks.busy)

        note = notes[0]
        theirs = (
            "Went over the lease together. She will ask the landlord about a payment "
            "plan for the December rent and bring the letter from the county."
        )
        other.repos.encounters.update(
            other.repos.encounters.require(note.id).replace(intervention=theirs)
        )
        goal_id = note.goal_ids[0]
        other.repos.goals.update(
            other.repos.goals.require(goal_id).replace(statement="Stay housed; pay rent on time")
        )
        other.sync()
        local = Repositories(store)
        mine = (
            "Read the lease aloud with her and marked the rent and repairs clauses. "
            "Practised what to say to the landlord on the phone."
        )
        local.encounters.update(local.encounters.require(note.id).replace(intervention=mine))
        local.goals.update(
            local.goals.require(goal_id).replace(statement="Keep my apartment; fix the heater")
        )
        with store.transaction():  # a change the server refuses (reassigning a participant)
            store.conn.execute(
                "UPDATE participants SET assigned_specialist_id = 'someone-else' WHERE id = ?",
                (notes[1].participant_id,),
            )
        finished.clear()
        ctrl.sync_now()
        wait(app, lambda: bool(finished) and not tasks.busy)

        page = ConflictsPage(ctx)
        page.resize(1000, 700)
        page.show()
        wait(app, lambda: not tasks.busy)
        for r in range(page.model.rowCount()):
            if page.model.view(r).conflict.field == "intervention":
                page.list.selectRow(r)
        app.processEvents()
        save(page, out, "conflicts-compare", scale)
        page.start_merge()
        app.processEvents()
        save(page, out, "conflicts-merge", scale)
        page.detail.setCurrentIndex(0)
        page.tabs.setCurrentIndex(1)
        app.processEvents()
        save(page, out, "conflicts-refused", scale)
        page.close()

        ctrl.close()
        other.close()
        tasks.shutdown(final=session.close)
    finally:
        server.close()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/work/notes/shots/syncui"))
