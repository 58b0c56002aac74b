"""A screenshot tour: a PNG of every main screen with a demo caseload.

Run with ``make screenshots`` (100 % and 200 % scaling, light and dark) or
``python -m tests.screenshot_tour OUT_DIR``. Everything happens in a temporary
folder (vaults and preferences), with invented people only:

- the first start: welcome, choosing a passphrase, the recovery key;
- a specialist's demo vault in the real main window: unlock, caseload, search
  with results, hours, a participant's record tab by tab, a signed note with an
  addendum, a returned note, a new draft with the timer running, the conflicts
  page, the status bar's sync states, Preferences, the billing export with its
  pre-flight list, About, the smallest window and the locked screen;
- the supervisor's team demo, opened from the start screen as a person would
  (app.services.demos): Team, Review with a note selected, Supervision (and a new
  session), and the oversight report PDF (with PNGs of its pages when pdftoppm is
  installed). ``PEERTRAIL_TOUR=supervisor`` makes only these.

It saves ``<screen>.png`` files into OUT_DIR (the Makefile uses the ignored folder
``screenshots-tmp/``); dialogs are grabbed on their own. Scaling comes from
``QT_SCALE_FACTOR`` in the environment, the scheme from ``PEERTRAIL_THEME=dark|light``.
The guide (docs/USER_GUIDE.md) embeds a few of the 100 % light PNGs.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication
from PySide6.QtCore import QEventLoop
from PySide6.QtCore import QSettings
from PySide6.QtCore import Qt
from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor
from PySide6.QtGui import QPainter
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QWidget

from app.domain.records import NoteStatus
from app.services.changes import Changed
from app.store import vault as vault_module
from app.store.repositories import Repositories
from app.ui.common.table_model import ID_ROLE
from app.ui.common.table_model import KEY_ROLE
from app.ui.shell.app import load_style_sheet
from app.ui.shell.app import make_application
from app.ui.shell.main_window import MainWindow
from app.ui.shell.theme import apply_theme
from tests.conftest import FAST_KDF
from tests.helpers import put_conflict
from tests.shots_support import make_demo_vault
from tests.shots_support import sync_states
from tests.shots_support import wait_until

PASSPHRASE = "screenshot tour passphrase"
TODAY = date.today()  # the app counts "days since contact" from the real today


def settle(window: MainWindow) -> None:
    """Wait for the database thread, then give layouts (which re-arrange on resize,
    in posted events) a few turns of the event loop."""
    wait_until(lambda: not window.tasks.busy)
    for _ in range(3):
        loop = QEventLoop()
        QTimer.singleShot(30, loop.quit)
        loop.exec()
        QCoreApplication.processEvents()


def save(widget: QWidget, out: Path, name: str) -> None:
    path = out / f"{name}.png"
    widget.grab().save(str(path))
    print(path)


def record_steps(window: MainWindow) -> list[tuple[str, Callable[[], None]]]:
    """A participant's record, tab by tab, for the person listed first."""
    ws = window.workspace
    assert ws is not None
    first = window.caseload.proxy.index(0, 0)
    pid = window.caseload.proxy.data(first, ID_ROLE)
    page = ws.pages["participant"]
    steps: list[tuple[str, Callable[[], None]]] = [
        ("20-participant-profile", lambda: window._open_participant(pid))
    ]
    tabs = getattr(page, "tabs", None)
    if tabs is not None:
        for i in range(1, tabs.count()):
            label = tabs.tabText(i).replace("&", "").lower().replace(" ", "-")
            steps.append((f"{20 + i}-participant-{label}", lambda i=i: tabs.setCurrentIndex(i)))
    return steps


def ask(window: MainWindow, fn: Callable[..., Any], *args: Any) -> Any:
    """Run ``fn(repos, *args)`` on the database thread (between screens, so the tour
    can pick records or set up a situation) and return what it returned."""
    ctx = window.ctx
    assert ctx is not None
    done: list[Any] = []
    failed: list[BaseException] = []
    ctx.run(fn, done.append, failed.append, args=args)
    wait_until(lambda: bool(done or failed))
    if failed:
        raise failed[0]
    return done[0]


def shown(window: MainWindow, key: str) -> QWidget:
    ws = window.workspace
    assert ws is not None
    page = ws.show_page(key)
    settle(window)
    return page


def first_row_saved(window: MainWindow, key: str, out: Path, name: str) -> QWidget:
    """The page ``key`` with the first row of its table selected, saved as ``name``."""
    page = shown(window, key)
    wait_until(lambda: page.table.model().rowCount() > 0)
    page.table.selectRow(0)
    settle(window)
    save(window, out, name)
    return page


# -- situations set up in the demo vault (on the database thread) ------------------------


def pick_notes(repos: Repositories) -> dict[str, tuple[str, str]]:
    """(encounter id, participant id) of a signed note with an addendum, a returned
    note (one is returned by the supervisor when the demo has none) and a draft."""
    notes = repos.encounters.list(order_by="service_date DESC")
    addenda = {a.encounter_id for a in repos.addenda.list()}
    picked: dict[str, tuple[str, str]] = {}
    for n in notes:
        if n.status in (NoteStatus.SIGNED, NoteStatus.APPROVED) and n.id in addenda:
            picked.setdefault("addendum", (n.id, n.participant_id))
        elif n.status is NoteStatus.RETURNED:
            picked.setdefault("returned", (n.id, n.participant_id))
        elif n.status is NoteStatus.DRAFT:
            picked.setdefault("draft", (n.id, n.participant_id))
    if "returned" not in picked:
        owner = repos.users.require(repos.store.user_id)
        supervisor = repos.users.require(owner.supervisor_id)
        signed = next(n for n in notes if n.status is NoteStatus.SIGNED and n.id not in addenda)
        repos.encounters.return_for_revision(
            signed.id,
            supervisor,
            "Please say how this session ties to the recovery plan, and add the "
            "person's own words about the housing goal.",
        )
        picked["returned"] = (signed.id, signed.participant_id)
    return picked


def _stamp(at: datetime, device: str) -> str:
    return f"{int(at.timestamp() * 1000):012x}.0000.{device}"


def make_conflicts(repos: Repositories, draft_id: str) -> int:
    """Two edits that crossed during a sync, as sync records them: a draft note's
    narrative written on this laptop and on another device, and a goal statement."""
    store = repos.store
    now = datetime.now(UTC)
    draft = repos.encounters.require(draft_id)
    goal = next(g for g in repos.goals.list("participant_id = ?", (draft.participant_id,)))
    other = "officelaptop"  # a device id (base32 letters)

    def crossed(target, pid, kept, lost, kept_ago, lost_ago, detected_ago) -> None:
        put_conflict(
            repos, target, pid, kept, lost,
            owner_id=store.user_id, lost_by_id=store.user_id,
            kept_stamp=_stamp(now - kept_ago, store.device_id),
            lost_stamp=_stamp(now - lost_ago, other),
            detected_at=(now - detected_ago).isoformat(),
        )  # fmt: skip

    minutes = timedelta(minutes=1)
    more = " Also walked over to the food shelf together and signed up for the Thursday delivery."
    crossed(("encounters", draft.id, "intervention"), draft.participant_id, draft.intervention,
            draft.intervention + more, 20 * minutes, 35 * minutes, 0 * minutes)  # fmt: skip
    own_words = goal.statement + " (in my own words: one step at a time)"
    crossed(("goals", goal.id, "statement"), goal.participant_id, goal.statement, own_words,
            120 * minutes, 180 * minutes, minutes)  # fmt: skip
    return 2


# -- the parts of the tour -----------------------------------------------------------------


def first_start(tmp: Path, out: Path) -> None:
    """Welcome, the passphrase form (typed, hidden) and the recovery key."""
    fresh = MainWindow(tmp / "fresh")
    fresh.resize(1000, 700)
    fresh.show()
    settle(fresh)
    save(fresh, out, "01-welcome")
    fresh.start.welcome_page.start_button.click()
    settle(fresh)
    page = fresh.start.create_page
    page.passphrase.setText("blue heron over the river")
    page.confirm.setText("blue heron over the river")
    settle(fresh)
    save(fresh, out, "02-create-vault")
    page.submit_button.click()
    wait_until(lambda: fresh.start.currentWidget() is fresh.start.recovery_page)
    settle(fresh)
    save(fresh, out, "03-recovery-key")
    fresh.close()


def status_states(window: MainWindow, out: Path) -> None:
    """The sync part of the status bar in each state, one PNG each and all of them
    stacked in one (``47-status-bar-states``)."""
    named = sync_states()
    states = [
        (name, named[name])
        for name in ("not-connected", "online", "offline", "syncing", "problem", "conflicts")
    ]
    bar = window.statusBar()
    status = window.sync_status
    controller = window.sync_controller
    if controller is not None:  # it would put the vault's own state back meanwhile
        controller.blockSignals(True)
    shots: list[QPixmap] = []
    for name, state in states:
        status.show_state(state)
        settle(window)
        pixmap = bar.grab()
        pixmap.save(str(out / f"47-status-{name}.png"))
        shots.append(pixmap)
    if controller is not None:
        controller.blockSignals(False)
        status.show_state(controller.state)
    gap = 6
    ratio = shots[0].devicePixelRatio()
    width = max(p.width() for p in shots)
    height = sum(p.height() for p in shots) + gap * (len(shots) - 1)
    sheet = QPixmap(width, height)
    sheet.setDevicePixelRatio(1)
    sheet.fill(QColor(window.palette().color(window.backgroundRole())).darker(115))
    painter = QPainter(sheet)
    y = 0
    for p in shots:
        p.setDevicePixelRatio(1)  # paint pixel for pixel
        painter.drawPixmap(0, y, p)
        y += p.height() + gap
    painter.end()
    sheet.setDevicePixelRatio(ratio)
    path = out / "47-status-bar-states.png"
    sheet.save(str(path))
    print(path)


def specialist_day(window: MainWindow, out: Path) -> None:
    """Every screen of a specialist's day, in the main window on the demo vault."""
    ws = window.workspace
    assert ws is not None
    save(window, out, "05-caseload")

    # Search: results drop down under the box as one types.
    box = window.search.box if window.search is not None else None
    if box is not None:
        # A first name from the caseload: people and notes (which use it) both match.
        name = window.caseload.proxy.index(0, 0).data() or "walk"
        word = str(name).split()[0]
        window.find_action.trigger()
        results: list[str] = []
        box.results_shown.connect(results.append)
        box.edit.setText(word)
        wait_until(lambda: bool(results))
        box._show_popup()
        settle(window)
        save(window, out, "06-search-results")
        box.clear()

    in_nav = [ws.nav.item(r).data(KEY_ROLE) for r in range(ws.nav.count())]
    assert "hours" in in_nav and "conflicts" in in_nav, in_nav
    hours = shown(window, "hours")
    save(window, out, "10-hours")
    bar = hours.scroll.verticalScrollBar()
    bar.setValue(bar.maximum())
    settle(window)
    save(window, out, "11-hours-bottom")
    bar.setValue(0)
    hours.add_entry()
    settle(window)
    save(window, out, "12-hours-entry-form")
    hours.close_form()
    if "supervision" in in_nav:
        sup = shown(window, "supervision")
        save(window, out, "13-supervision-specialist")
        if sup.table.model().rowCount():
            sup.table.selectRow(0)
            settle(window)
            save(window, out, "14-supervision-specialist-session")

    for name, step in record_steps(window):
        step()
        settle(window)
        save(window, out, name)
    record = ws.pages["participant"]
    record.tabs.setCurrentIndex(0)
    form = record.edit_profile()
    if form is not None:
        settle(window)
        save(form, out, "30-participant-form")
        form.reject()
    ws.show_page("caseload")
    form = window.caseload.add_participant()
    if form is not None:
        settle(window)
        save(form, out, "31-add-participant-form")
        form.reject()

    # Notes: a signed one with an addendum (top and bottom), a returned one, a new draft.
    picked = ask(window, pick_notes)
    editor = ws.pages["note"]
    for key, name in (("addendum", "32-note-signed"), ("returned", "34-note-returned")):
        eid, pid = picked[key]
        loaded: list[str] = []
        editor.loaded.connect(loaded.append)
        window._open_note(eid, pid)
        wait_until(lambda loaded=loaded: bool(loaded))
        editor.loaded.disconnect(loaded.append)
        settle(window)
        save(window, out, name)
        if key == "addendum":
            sb = editor.scroll.verticalScrollBar()
            sb.setValue(sb.maximum())
            settle(window)
            save(window, out, "33-note-signed-addendum")
    loaded = []
    editor.loaded.connect(loaded.append)
    window._open_note("", picked["addendum"][1])
    wait_until(lambda: bool(loaded))
    editor.loaded.disconnect(loaded.append)
    settle(window)
    # A representative afternoon: the service from 2:10 to 3:05 PM (a fixed clock).
    day = datetime.now().date()
    editor.clock = lambda: datetime.combine(day, datetime.min.time()).replace(hour=14, minute=10)
    editor.start_timer()
    if editor.goals_list.count():
        editor.goals_list.item(0).setCheckState(Qt.CheckState.Checked)  # fills "Goal"
    else:
        editor.text_edits["goal_text"].setPlainText("Find a steady place to live before winter.")
    editor.text_edits["intervention"].setPlainText(
        "Went through three rental listings together and practiced what to say "
        "when calling a landlord."
    )
    editor.save_now()
    wait_until(lambda: not window.tasks.busy and not editor.dirty)
    settle(window)
    editor.clock = lambda: datetime.combine(day, datetime.min.time()).replace(hour=14, minute=52)
    editor._show_timer()
    save(window, out, "35-note-new-draft")
    editor.clock = lambda: datetime.combine(day, datetime.min.time()).replace(hour=15, minute=5)
    editor.stop_timer()
    settle(window)
    editor.expand_service(True)  # the service details, opened from the summary line
    settle(window)
    save(window, out, "36-note-service-details")
    editor.expand_service(False)

    # Conflicts: two edits that crossed during a sync.
    ask(window, make_conflicts, picked["draft"][0])
    window.ctx.broadcast(Changed.of("conflicts"))
    if window.sync_controller is not None:
        window.sync_controller.refresh_state()
    conflicts = shown(window, "conflicts")
    wait_until(lambda: conflicts.model.rowCount() > 0)
    conflicts.list.selectRow(0)
    settle(window)
    save(window, out, "45-conflicts")
    status_states(window, out)

    # Dialogs, each grabbed on its own.
    from app.ui.shell.preferences import PreferencesDialog

    prefs = PreferencesDialog(window.settings, window.ctx, window.sync_controller, window)
    prefs.show()
    settle(window)
    save(prefs, out, "50-preferences")
    prefs.reject()

    window.show_billing()
    billing = window.billing_dialog
    assert billing is not None
    period_end = TODAY.replace(day=1) - timedelta(days=1)
    first = (period_end.replace(day=1) - timedelta(days=50)).replace(day=1)
    billing.set_period(first, period_end)  # the last three whole months
    checked: list[bool] = []
    billing.checked.connect(lambda: checked.append(True))
    billing.run_check()
    wait_until(lambda: bool(checked) and not window.tasks.busy)
    settle(window)
    save(billing, out, "51-billing-export")
    billing.reject()
    settle(window)

    from app.ui.shell.about import AboutDialog

    about = AboutDialog(window, Path("~/.local/share/PeerTrail"))
    about.show()
    settle(window)
    save(about, out, "52-about")
    about.reject()

    # The smallest window: nothing may need sideways scrolling.
    window.resize(720, 560)
    for key, name in (("caseload", "60-small-caseload"), ("hours", "61-small-hours")):
        shown(window, key)
        save(window, out, name)
    for name, step in record_steps(window):
        step()
        settle(window)
        save(window, out, "62-small-" + name.split("-", 1)[1])
    window._open_note(*picked["addendum"])
    settle(window)
    save(window, out, "63-small-note")
    window.resize(1000, 700)


def supervisor_day(window: MainWindow, out: Path) -> None:
    """The team demo, opened from the unlock screen: Team, Review, Supervision."""
    window.start.unlock_page.team_demo_button.click()
    wait_until(lambda: window.workspace is not None, timeout_ms=180_000)
    settle(window)
    ws = window.workspace
    assert ws is not None and "team" in ws.pages
    team = first_row_saved(window, "team", out, "70-team")
    team.export_report(out / "73-oversight.pdf")
    settle(window)
    pdf_pages(out / "73-oversight.pdf")
    first_row_saved(window, "review", out, "71-review")
    sup = first_row_saved(window, "supervision", out, "72-supervision")
    sup.new_session()
    settle(window)
    save(window, out, "72-supervision-new")
    window.lock()
    settle(window)


def pdf_pages(pdf: Path) -> None:
    """PNGs of a PDF's pages beside it, when poppler's pdftoppm is installed."""
    import shutil
    import subprocess

    tool = shutil.which("pdftoppm")
    if tool and pdf.is_file():
        subprocess.run([tool, "-png", "-r", "80", str(pdf), str(pdf.with_suffix(""))], check=False)


def tour(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    app = make_application([])
    dark = os.environ.get("PEERTRAIL_THEME", "light") == "dark"
    apply_theme(app, load_style_sheet(), dark=dark)
    vault_module.DEFAULT_KDF = FAST_KDF  # a tour, not a security test
    with tempfile.TemporaryDirectory(prefix="peertrail-tour-") as tmp_name:
        tmp = Path(tmp_name)
        # Preferences go to the temporary folder, not the person's own settings.
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp))
        if os.environ.get("PEERTRAIL_TOUR") == "supervisor":  # only the supervisor's screens
            window = MainWindow(tmp / "vault")
            window.resize(1000, 700)
            window.show()
            settle(window)
            supervisor_day(window, out)
            window.close()
            QApplication.processEvents()
            return
        first_start(tmp, out)

        folder = tmp / "vault"
        make_demo_vault(folder, PASSPHRASE, TODAY)
        window = MainWindow(folder)
        window.resize(1000, 700)
        window.show()
        settle(window)
        save(window, out, "04-unlock")
        window.start.unlock_page.passphrase.setText(PASSPHRASE)
        window.start.unlock_page.submit_button.click()
        wait_until(lambda: window.workspace is not None and window.model.rowCount() > 0)
        settle(window)
        specialist_day(window, out)
        window.lock()
        settle(window)
        save(window, out, "99-locked")
        supervisor_day(window, out)
        window.close()
    QApplication.processEvents()


if __name__ == "__main__":
    tour(Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots-tmp"))
