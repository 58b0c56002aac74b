"""Screenshots of the note editor with the invented demo caseload.

    QT_QPA_PLATFORM=offscreen python tests/screens_notes.py OUT_DIR [SUFFIX]
    QT_SCALE_FACTOR=2 QT_QPA_PLATFORM=offscreen python tests/screens_notes.py OUT_DIR @2x
    PEERTRAIL_THEME=dark QT_QPA_PLATFORM=offscreen python tests/screens_notes.py OUT_DIR

Saves: a new GIRP note (timer running), a DAP note, sign problems marked next to
their fields, a note just signed with the PIN (the addendum form in view under it),
a signed note with an addendum, a returned note, the full-disk message, and the
Preferences dialog (usual hours). Every person and every word in them is invented.
The style sheet is the app's, light or (``PEERTRAIL_THEME=dark``) dark.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from datetime import date
from datetime import datetime
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QDeadlineTimer
from PySide6.QtCore import QEventLoop
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QWidget

from app.demo import fill_demo
from app.domain.records import GoalStatus
from app.domain.records import NoteStatus
from app.services.vaults import Session
from app.store.db import Store
from app.store.repositories import Repositories
from app.store.vault import Vault
from app.ui.notes.note_editor import NoteEditorPage
from app.ui.shell.app import load_style_sheet
from app.ui.shell.app import make_application
from app.ui.shell.context import AppContext
from app.ui.shell.tasks import TaskManager
from app.ui.shell.theme import apply_theme

FAST_KDF = {"name": "argon2id", "iterations": 1, "lanes": 1, "memory_kib": 8192}
TODAY = date.today()


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def wait(cond: Callable[[], bool], ms: int = 15_000) -> None:
    deadline = QDeadlineTimer(ms)
    app = QApplication.instance()
    while not cond():
        if deadline.hasExpired():
            raise TimeoutError("the page did not get there in time")
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)


def main(out: Path, suffix: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    app = make_application([])
    apply_theme(app, load_style_sheet(), dark=os.environ.get("PEERTRAIL_THEME") == "dark")
    folder = Path(tempfile.mkdtemp(prefix="peertrail-shots-"))
    vault = Vault(folder / "vault")
    vault.create("screenshot passphrase", FAST_KDF)
    store = Store.open(vault)
    fill_demo(store, participants=12, years=1, seed=3, today=TODAY)
    repos = Repositories(store)
    owner = repos.users.require(store.user_id)
    tasks = TaskManager()
    ctx = AppContext(tasks, Session(vault, store), owner)

    people = repos.participants.caseload()
    person = next(
        p
        for p in people
        if len(
            [
                g
                for g in repos.goals.list("participant_id = ?", (p.id,))
                if g.status is GoalStatus.ACTIVE
            ]
        )
        >= 2
    )
    notes = repos.encounters.list(order_by="service_date DESC")
    addenda = {a.encounter_id for a in repos.addenda.list()}
    with_addendum = next(
        n for n in notes if n.status in (NoteStatus.SIGNED, NoteStatus.APPROVED) and n.id in addenda
    )
    returned = next((n for n in notes if n.status is NoteStatus.RETURNED), None)
    if returned is None:  # the demo answered them all: return one more
        sup = repos.users.require(owner.supervisor_id)
        signed = next(n for n in notes if n.status is NoteStatus.SIGNED and n.id not in addenda)
        returned = repos.encounters.return_for_revision(
            signed.id,
            sup,
            "Please say how this session ties to the recovery plan, and add the "
            "person's own words about the housing goal.",
        )

    def page_for(clock: Clock) -> NoteEditorPage:
        page = NoteEditorPage(ctx, clock=clock)
        page.resize(1000, 700)
        page.show()
        return page

    def open_(page: NoteEditorPage, eid: str, pid: str = "") -> None:
        seen: list[str] = []
        page.loaded.connect(seen.append)
        page.open_note(eid, pid)
        wait(lambda: bool(seen) and not tasks.busy)

    def shot(w: QWidget, name: str) -> None:
        app.processEvents()
        w.grab().save(str(out / f"{name}{suffix}.png"))

    # A new GIRP note, the timer running, saved a moment ago.
    clock = Clock(datetime.combine(TODAY, datetime.min.time()).replace(hour=10, minute=5))
    page = page_for(clock)
    open_(page, "", person.id)
    page.start_timer()
    clock.now = clock.now.replace(minute=42, second=17)
    page.goals_list.item(0).setCheckState(Qt.CheckState.Checked)
    page.text_edits["goal_text"].setPlainText("Find a steady place to live before winter.")
    page.text_edits["intervention"].setPlainText(
        "Went through three rental listings together and practiced what to say when calling."
    )
    page.save_now()
    wait(lambda: not tasks.busy and not page.dirty)
    page._show_timer()
    shot(page, "note-new-girp")
    page.stop_timer()
    wait(lambda: not tasks.busy)

    # Signing refused: problems next to their fields.
    page2 = page_for(clock)
    open_(page2, "", person.id)
    page2.text_edits["goal_text"].setPlainText("Housing")
    page2.setting_combo.setCurrentIndex(1)
    page2.sign()
    wait(lambda: not tasks.busy)
    shot(page2, "note-sign-problems")
    page2.scroll.verticalScrollBar().setValue(page2.scroll.verticalScrollBar().maximum())
    shot(page2, "note-sign-problems-bottom")

    # A DAP note.
    page3 = page_for(clock)
    open_(page3, "", person.id)
    page3.dap_radio.setChecked(True)
    page3.start_edit.setText("1:00 PM")
    page3.end_edit.setText("1:50 PM")
    page3._update_units()
    page3.text_edits["data"].setPlainText(
        "Met at the community center. Said the week was hard but the morning walks helped."
    )
    page3.text_edits["assessment"].setPlainText(
        "Walking is becoming a routine; sleep is still uneven."
    )
    page3.text_edits["plan"].setPlainText("Walk together Friday; bring the sleep diary.")
    page3.save_now()
    wait(lambda: not tasks.busy and not page3.dirty)
    shot(page3, "note-dap")
    page3.scroll.ensureWidgetVisible(page3.text_edits["plan"], 0, 10)
    shot(page3, "note-dap-text")

    # Signed with the PIN: the addendum form is in view under the signed note.
    from app.services import signing

    signing.set_pin(repos, vault, "screenshot passphrase", owner, "4826")
    page7 = page_for(clock)
    open_(page7, "", person.id)
    page7.girp_radio.setChecked(True)  # the DAP note above is the person's last one
    page7.goals_list.item(0).setCheckState(Qt.CheckState.Checked)
    page7.start_edit.setText("10:05 AM")
    page7.end_edit.setText("10:50 AM")
    page7.text_edits["intervention"].setPlainText("Went through two rental listings together.")
    page7.text_edits["response"].setPlainText("Chose one to call and practiced what to say.")
    page7.text_edits["plan"].setPlainText("Call Thursday; meet again next week.")
    wait(lambda: not tasks.busy)
    page7._show_sign_mode()
    wait(lambda: not tasks.busy)
    page7.passphrase_edit.setText("4826")
    signed: list[str] = []
    page7.signed.connect(signed.append)
    page7.sign_refused.connect(lambda m: signed.append("refused: " + m))
    page7.sign()
    wait(lambda: bool(signed) and not tasks.busy)
    if signed[0].startswith("refused"):
        raise RuntimeError(signed[0] + str(page7._sign_problems(page7.draft())))
    shot(page7, "note-just-signed")

    # A signed note with an addendum.
    page4 = page_for(clock)
    open_(page4, with_addendum.id)
    shot(page4, "note-signed")
    page4.scroll.verticalScrollBar().setValue(page4.scroll.verticalScrollBar().maximum())
    shot(page4, "note-signed-addendum")

    # A returned note.
    page5 = page_for(clock)
    open_(page5, returned.id)
    shot(page5, "note-returned")

    # The full-disk message.
    page6 = page_for(clock)
    open_(page6, "", person.id)
    page6.girp_radio.setChecked(True)  # the text below goes in the GIRP parts
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.conn.execute(f"PRAGMA max_page_count = {pages}")
    page6.text_edits["goal_text"].setPlainText("Keep the job at the hardware store.")
    page6.text_edits["intervention"].setPlainText("Talked through the first week. " * 300)
    failed: list[str] = []
    page6.save_failed.connect(failed.append)
    page6.save_now()
    wait(lambda: bool(failed) and not tasks.busy)
    shot(page6, "note-disk-full")
    store.conn.execute("PRAGMA max_page_count = 1073741823")

    # Preferences: the usual hours and the longest service, read from the vault.
    from app.ui.shell.preferences import PreferencesDialog
    from app.ui.shell.settings import Settings

    prefs = PreferencesDialog(Settings.at(str(folder / "prefs.ini")), ctx)
    prefs.show()
    wait(lambda: prefs.times_group.isEnabled() and not tasks.busy)
    shot(prefs, "preferences")
    prefs.reject()

    tasks.shutdown(final=ctx.session.close)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "")
