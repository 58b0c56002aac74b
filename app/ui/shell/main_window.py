"""The main window: the start screen until a vault is open, then the workspace
(navigation on the left, the caseload and the other pages on the right).

The caseload is read on the database thread and handed to the model on the UI
thread. Every unlock makes a new :class:`AppContext` and a new set of pages for
it; locking (Ctrl+L) deactivates the context (late results are dropped), empties
and removes the pages at once, closes the store on the database thread and
forgets the key, and goes back to the start screen. The window title is fixed
("PeerTrail", or "PeerTrail — Demo") and never names a person.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
from PySide6.QtGui import QCloseEvent
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QMainWindow
from PySide6.QtWidgets import QStackedWidget
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.domain.records import Role
from app.domain.records import User
from app.services.caseload import CaseloadRow
from app.services.caseload import caseload_rows
from app.services.duplicates import find_duplicates
from app.services.failures import message_for
from app.services.vaults import Session
from app.services.vaults import close_session
from app.services.vaults import load_user
from app.services.vaults import vault_exists
from app.ui.billing.billing_dialog import BillingDialog
from app.ui.billing.settings_page import BillingSettingsPage
from app.ui.caseload.caseload import CaseloadView
from app.ui.caseload.models import CaseloadModel
from app.ui.common.forms import wrapped_label
from app.ui.common.text import plural
from app.ui.hours.hours_page import HoursPage
from app.ui.notes.note_editor import NoteEditorPage
from app.ui.participant.participant_page import ParticipantPage
from app.ui.reports.program_page import ProgramReportPage
from app.ui.review.review_page import ReviewPage
from app.ui.search.search import SearchBar
from app.ui.shell import settings as prefs
from app.ui.shell.about import show_about
from app.ui.shell.context import AppContext
from app.ui.shell.help import GuideBrowser
from app.ui.shell.help import ShortcutsDialog
from app.ui.shell.idle import IdleWatcher
from app.ui.shell.preferences import PreferencesDialog
from app.ui.shell.tasks import TaskManager
from app.ui.shell.workspace import Workspace
from app.ui.start.start import StartScreen
from app.ui.supervision.supervision_page import SupervisionPage
from app.ui.sync.conflicts import ConflictsPage
from app.ui.sync.controller import SyncController
from app.ui.sync.status_widget import SyncStatus
from app.ui.team.team_page import TeamPage

log = logging.getLogger(__name__)

TITLE = "PeerTrail"
DEMO_TITLE = "PeerTrail — Demo"


def load_caseload(session: Session) -> list[CaseloadRow]:
    """On the database thread: the caseload with what needs attention."""
    return caseload_rows(session.repos)


def load_caseload_and_duplicates(session: Session) -> tuple[list[CaseloadRow], int]:
    """On the database thread: the caseload and the number of likely duplicate
    pairs (the caseload's "possible duplicates" line), in one task."""
    return load_caseload(session), len(find_duplicates(session.repos))


class MainWindow(QMainWindow):
    #: The background check of every page ended (session, error or None); from its thread.
    _pages_checked = Signal(object, object)

    def __init__(self, data_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self._pages_checked.connect(self._on_pages_checked)
        self.setWindowTitle(TITLE)
        self.resize(1000, 700)
        self.setMinimumSize(720, 560)
        self.data_dir = Path(data_dir)
        self.tasks = TaskManager(self)
        self.session: Session | None = None
        self._generation = 0  # bumped on lock, so a late caseload read is dropped
        # Where the person was when the vault locked: (demo?, (page key, page state)).
        self._resume: tuple[bool, tuple[str, dict]] | None = None

        self.ctx: AppContext | None = None
        self.start = StartScreen(self.tasks, self.data_dir)
        self.model = CaseloadModel(self)
        self.caseload = CaseloadView(self.model)
        self.caseload.participant_activated.connect(self._open_participant)
        self.workspace: Workspace | None = None
        self.pages = QStackedWidget()
        self.pages.addWidget(self.start)

        self.demo_banner = wrapped_label(
            self.tr(
                "DEMO — everyone here is invented. This is practice data, "
                "not your caseload, and your own vault is not touched."
            ),
            "demoBanner",
        )
        self.demo_banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.demo_banner.hide()

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.demo_banner)
        layout.addWidget(self.pages, 1)
        self.setCentralWidget(central)

        self.settings = prefs.Settings()
        self._build_menu()

        self._build_status_bar()
        # Locks the vault after the idle time set in Preferences (default 15 minutes).
        self.idle = IdleWatcher(self.settings.idle_lock_minutes, self)
        self.idle.idle.connect(self._idle_lock)

        self.start.opened.connect(self._on_opened)
        self.start.currentChanged.connect(self._on_start_page)
        self.start.demo_active.connect(self._show_demo_marks)
        self._show_locked()

    def _build_menu(self) -> None:
        """Find, Sync (added when unlocked), Billing export, Preferences, Lock, About, Quit."""
        self.lock_action = QAction(self.tr("&Lock"), self)
        self.lock_action.setShortcut(QKeySequence("Ctrl+L"))
        self.lock_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.lock_action.setStatusTip(
            self.tr("Lock PeerTrail: hide your records until you unlock again")
        )
        self.lock_action.triggered.connect(self.lock)
        self.lock_action.setEnabled(False)
        self.search: SearchBar | None = None
        self.find_action = QAction(self.tr("&Find…"), self)
        self.find_action.setShortcut(QKeySequence.StandardKey.Find)
        self.find_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.find_action.setStatusTip(self.tr("Search people and notes"))
        self.find_action.triggered.connect(self._focus_search)
        self.find_action.setEnabled(False)
        self.addAction(self.find_action)
        self.quit_action = QAction(self.tr("&Quit"), self)
        self.quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        self.quit_action.triggered.connect(self.close)
        self.prefs_action = QAction(self.tr("&Preferences…"), self)
        self.prefs_action.setShortcut(QKeySequence("Ctrl+,"))
        self.prefs_action.setStatusTip(self.tr("Idle lock, text size, your agency's server"))
        self.prefs_action.triggered.connect(self.show_preferences)
        self.billing_action = QAction(self.tr("&Billing export…"), self)
        self.billing_action.setShortcut(QKeySequence("Ctrl+Shift+B"))
        self.billing_action.setStatusTip(
            self.tr("Check and export approved services for Medicaid billing")
        )
        self.billing_action.triggered.connect(self.show_billing)
        self.billing_action.setEnabled(False)
        self.billing_settings_action = QAction(self.tr("Billing &settings…"), self)
        self.billing_settings_action.setStatusTip(
            self.tr("The agency, payers and specialists' details that claims are written from")
        )
        self.billing_settings_action.triggered.connect(self.show_billing_settings)
        self.billing_settings_action.setEnabled(False)
        self.about_action = QAction(self.tr("&About PeerTrail"), self)
        self.about_action.triggered.connect(lambda: show_about(self, self.data_dir))
        self.menu = menu = self.menuBar().addMenu(self.tr("&PeerTrail"))
        menu.addAction(self.find_action)
        self.sync_anchor = menu.addSeparator()
        menu.addAction(self.billing_action)
        menu.addAction(self.billing_settings_action)
        menu.addAction(self.prefs_action)
        menu.addAction(self.lock_action)
        menu.addSeparator()
        menu.addAction(self.about_action)
        menu.addAction(self.quit_action)
        self.addAction(self.lock_action)
        self.addAction(self.prefs_action)
        self.addAction(self.billing_action)
        self.billing_dialog: BillingDialog | None = None
        self._build_help_menu()

    def _build_help_menu(self) -> None:
        """Help: the user guide (F1) and the keyboard shortcuts, locked or not."""
        self.guide_action = QAction(self.tr("PeerTrail &user guide"), self)
        self.guide_action.setShortcut(QKeySequence.StandardKey.HelpContents)
        self.guide_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.guide_action.triggered.connect(self.show_guide)
        self.shortcuts_action = QAction(self.tr("&Keyboard shortcuts"), self)
        self.shortcuts_action.setShortcut(QKeySequence("Ctrl+/"))
        self.shortcuts_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.shortcuts_action.triggered.connect(self.show_shortcuts)
        self.help_menu = self.menuBar().addMenu(self.tr("&Help"))
        self.help_menu.addAction(self.guide_action)
        self.help_menu.addAction(self.shortcuts_action)
        self.addAction(self.guide_action)
        self.addAction(self.shortcuts_action)
        self.guide_window: GuideBrowser | None = None
        self.shortcuts_window: ShortcutsDialog | None = None

    def show_guide(self) -> GuideBrowser:
        """The user guide in its own window (one at a time; raised when open)."""
        if self.guide_window is None:
            self.guide_window = GuideBrowser(self)
        self.guide_window.show()
        self.guide_window.raise_()
        return self.guide_window

    def show_shortcuts(self) -> ShortcutsDialog:
        if self.shortcuts_window is None:
            self.shortcuts_window = ShortcutsDialog(self)
        self.shortcuts_window.show()
        self.shortcuts_window.raise_()
        return self.shortcuts_window

    def _build_status_bar(self) -> None:
        """The vault, the caseload count and the sync status."""
        self.vault_label = QLabel()
        self.vault_label.setObjectName("statusVault")
        self.count_label = QLabel()
        self.count_label.setObjectName("statusCount")
        self.sync_status = SyncStatus()
        self.sync_status.hide()
        self.sync_status.open_conflicts.connect(self._show_conflicts)
        self.sync_controller: SyncController | None = None
        self.statusBar().addPermanentWidget(self.vault_label)
        self.statusBar().addPermanentWidget(self.count_label)
        self.statusBar().addPermanentWidget(self.sync_status)

    # -- states --------------------------------------------------------------------

    def _show_demo_marks(self, demo: bool) -> None:
        self.setWindowTitle(DEMO_TITLE if demo else TITLE)
        self.demo_banner.setVisible(demo)
        if demo and self.session is None:
            self.vault_label.setText(self.tr("Opening the demo vault"))
        elif not demo and self.session is None:
            self._on_start_page()

    def _show_locked(self) -> None:
        self._show_demo_marks(False)
        self.count_label.setText("")
        self.pages.setCurrentWidget(self.start)
        self._on_start_page()

    def _on_start_page(self, *_: object) -> None:
        if self.session is None:
            exists = vault_exists(self.data_dir)
            self.vault_label.setText(self.tr("Locked") if exists else self.tr("No vault yet"))

    def _on_opened(self, session: Session) -> None:
        self.session = session
        self._show_demo_marks(session.demo)
        self.vault_label.setText(
            self.tr("Demo vault (invented people)") if session.demo else self.tr("Your vault")
        )
        self.count_label.setText(self.tr("Loading…"))
        self.lock_action.setEnabled(True)
        generation = self._generation

        def with_user(user: User) -> None:
            if generation != self._generation or self.session is not session:
                return
            # The caseload is read first: the worker runs tasks in order, and the
            # sync status and other pages' reads can wait until it is on screen.
            self.refresh()
            # Then every page of the vault is checked, beside the work (the first
            # write waits for it): after the caseload's rows reached the screen.
            self.tasks.run(lambda: None, lambda _r: session.store.start_page_check())
            self._build_workspace(session, user)

        def failed(exc: BaseException) -> None:
            if generation != self._generation:
                return
            self.statusBar().showMessage(
                self.tr("The vault could not be read. ") + message_for(exc), 0
            )
            self.lock()

        self.tasks.run(load_user, with_user, failed, args=(session,))
        session.store.when_pages_checked(lambda error: self._pages_checked.emit(session, error))

    def _on_pages_checked(self, session: Session, error: BaseException | None) -> None:
        """A damaged page found after unlocking (nothing was written): lock, and say so
        where the passphrase is typed."""
        if session is not self.session:
            return
        if error is None:  # the reads audited meanwhile are written now
            self.tasks.run(session.store.flush_held_audit, None, lambda _e: None)
            return
        self.lock()
        self.start.unlock_page.show_error(message_for(error))

    def _build_workspace(self, session: Session, user: User) -> None:
        """A fresh context and fresh pages for this unlock."""
        self.ctx = ctx = AppContext(self.tasks, session, user, self)
        ctx.status_message.connect(lambda text: self.statusBar().showMessage(text, 10_000))
        ctx.open_participant.connect(self._open_participant)
        ctx.open_note.connect(self._open_note)
        ctx.data_changed.connect(self._on_data_changed)
        self.search = SearchBar(ctx)
        self.workspace = ws = Workspace(ctx, top=self.search)
        self.caseload.title = "Caseload"
        self.caseload.attach(ctx)
        ws.add_page("caseload", self.caseload, self.tr("Caseload"))
        # The other pages are built when first needed, or soon after the caseload's
        # rows are on screen (see refresh): unlocking does not wait for them.
        for key, label, factory in self._extra_pages(ctx):
            ws.add_page_later(key, factory, label, in_nav=bool(label))
        self.pages.addWidget(ws)
        self.pages.setCurrentWidget(ws)
        ws.show_page("team" if "team" in ws.pages else "caseload")
        self.find_action.setEnabled(True)
        self.billing_action.setEnabled(ctx.can_bill or ctx.role is Role.SPECIALIST)
        self.billing_settings_action.setEnabled("billing_settings" in ws.pages)
        controller = self.sync_controller = SyncController(ctx, auto=self.settings.auto_sync)
        self.addAction(controller.action)
        self.menu.insertAction(self.sync_anchor, controller.action)
        self.sync_status.set_controller(controller)
        self.sync_status.show()
        # "Conflicts" only once this laptop has a server (or conflicts to show): a
        # laptop that never connected can have none, and the word only puzzles.
        ws.set_in_nav("conflicts", False)
        controller.state_changed.connect(self._show_conflicts_nav)
        self.idle.start()
        self._restore_where(session)

    def _extra_pages(self, ctx: AppContext) -> list[tuple[str, str, Callable[[], QWidget]]]:
        """The pages beside the caseload for this user: (key, navigation label or
        "" for pages reached from elsewhere, what builds the page)."""
        pages: list[tuple[str, str, Callable[[], QWidget]]] = []
        if ctx.is_supervisor:
            pages += [
                ("team", self.tr("Team"), lambda: TeamPage(ctx)),
                ("review", self.tr("Review"), lambda: ReviewPage(ctx)),
            ]
        pages.append(("participant", "", lambda: self._participant_page(ctx)))
        pages.append(("note", "", lambda: NoteEditorPage(ctx)))
        pages.append(("conflicts", self.tr("Conflicts"), lambda: ConflictsPage(ctx)))
        if ctx.role in (Role.SPECIALIST, Role.SUPERVISOR, Role.ADMIN):
            pages.append(("hours", self.tr("Hours"), lambda: HoursPage(ctx)))
            # Supervisors log sessions; specialists read and sign the ones they were in.
            pages.append(("supervision", self.tr("Supervision"), lambda: SupervisionPage(ctx)))
        if ctx.role in (Role.BILLING, Role.ADMIN):
            pages.append(
                ("billing_settings", self.tr("Billing settings"), lambda: BillingSettingsPage(ctx))
            )
        # Directors, supervisors and billing see the team or agency; a specialist their own.
        pages.append(("program_report", self.tr("Reports"), lambda: ProgramReportPage(ctx)))
        return pages

    def _participant_page(self, ctx: AppContext) -> ParticipantPage:
        page = ParticipantPage(ctx)
        page.back_requested.connect(lambda: self._show_caseload(ctx))
        return page

    def _show_caseload(self, ctx: AppContext) -> None:
        if self.workspace is not None and self.ctx is ctx:
            self.workspace.show_page("caseload")

    def show_preferences(self) -> None:
        dialog = PreferencesDialog(self.settings, self.ctx, self.sync_controller, self)
        dialog.settings_changed.connect(self._on_settings_changed)
        dialog.exec()

    def _on_settings_changed(self, keys: object) -> None:
        if prefs.IDLE_LOCK_MINUTES in keys:  # type: ignore[operator]
            self.idle.set_minutes(self.settings.idle_lock_minutes)

    def show_billing(self) -> None:
        """The billing export dialog for the open vault (one at a time)."""
        if self.session is None or self.ctx is None:
            return
        if self.billing_dialog is None:
            self.billing_dialog = dialog = BillingDialog(self.ctx, self)
            dialog.open_record.connect(self._open_billing_record)
            dialog.finished.connect(self._billing_closed)
        self.billing_dialog.show()
        self.billing_dialog.raise_()

    def show_billing_settings(self) -> None:
        """The Billing settings page (billing staff and administrators)."""
        if self.workspace is not None and "billing_settings" in self.workspace.pages:
            self.workspace.show_page("billing_settings")

    def _billing_closed(self, *_: object) -> None:
        dialog, self.billing_dialog = self.billing_dialog, None
        if dialog is not None:
            dialog.deleteLater()

    def _open_billing_record(self, table: str, record_id: str) -> None:
        """A pre-flight problem's record, opened where a person can fix it."""
        if table == "participants":
            self._open_participant(record_id)
        elif table == "encounters":
            self._open_note(record_id, "")
        elif (
            table in ("payers", "billing_providers", "users")
            and self.workspace is not None
            and ("billing_settings" in self.workspace.pages)
        ):
            self.show_billing_settings()
        else:
            self.statusBar().showMessage(
                self.tr("Payers and the billing provider are set by your agency's billing staff."),
                10_000,
            )

    def _show_conflicts_nav(self, state: object) -> None:
        if self.workspace is None:
            return
        shown = bool(
            getattr(state, "enrolled", False)
            or getattr(state, "open_conflicts", 0)
            or getattr(state, "rejected", 0)
        )
        self.workspace.set_in_nav("conflicts", shown)

    def _show_conflicts(self) -> None:
        if self.workspace is not None and "conflicts" in self.workspace.pages:
            self.workspace.show_page("conflicts")

    def _idle_lock(self) -> None:
        if self.session is not None:
            log.info("locked after idle time")
            self.lock()

    def _focus_search(self) -> None:
        if self.search is not None:
            self.search.focus_search()

    def current_page(self) -> QWidget:
        """The page a person sees: a start page's stack, or the workspace's page."""
        current = self.pages.currentWidget()
        if self.workspace is not None and current is self.workspace:
            return self.workspace.stack.currentWidget()
        return current

    def _open_participant(self, participant_id: str) -> None:
        ws = self.workspace
        if ws is None or "participant" not in ws.pages:
            return
        page = ws.show_page("participant")
        show = getattr(page, "show_participant", None)
        if callable(show):
            show(participant_id)

    def _open_note(self, encounter_id: str, participant_id: str) -> None:
        """Open a note in the editor ("" encounter id: a new note for the participant)."""
        ws = self.workspace
        if ws is None or "note" not in ws.pages:
            return
        page = ws.show_page("note")
        assert isinstance(page, NoteEditorPage)
        page.open_note(encounter_id, participant_id)

    def _on_data_changed(self, tables: frozenset[str]) -> None:
        if tables & {"participants", "encounters", "goals", "consents"}:
            self.refresh()  # the caseload's "needs attention" depends on all four

    def _save_open_work(self) -> None:
        """Queue a save of whatever a page holds unsaved (a draft note), before the
        store closes: the worker runs it first, since it runs tasks in order."""
        if self.workspace is None:
            return
        for page in self.workspace.pages.values():
            save_now = getattr(page, "save_now", None)
            if callable(save_now):
                save_now()

    def _where(self) -> tuple[str, dict]:
        """The page shown and what it shows (record ids only, kept in memory), so an
        unlock returns there."""
        ws = self.workspace
        if ws is None:
            return ("caseload", {})
        key = ws.current_key()
        state = getattr(ws.pages.get(key), "state", None)
        return (key, state() if callable(state) else {})

    def _restore_where(self, session: Session) -> None:
        resume, self._resume = self._resume, None
        ws = self.workspace
        if resume is None or ws is None or resume[0] != session.demo:
            return
        key, state = resume[1]
        if key not in ws.pages:
            return
        page = ws.show_page(key)
        restore = getattr(page, "restore", None)
        if callable(restore) and state:
            restore(state)

    def _tear_down_workspace(self) -> None:
        ctx, self.ctx = self.ctx, None
        if ctx is not None:
            ctx.deactivate()
        ws, self.workspace = self.workspace, None
        self.search = None
        self.find_action.setEnabled(False)
        self.billing_action.setEnabled(False)
        self.billing_settings_action.setEnabled(False)
        if self.billing_dialog is not None:  # its store is closing: nothing may stay shown
            self.billing_dialog.reject()
            self.billing_dialog.deleteLater()
            self.billing_dialog = None
        controller, self.sync_controller = self.sync_controller, None
        if controller is not None:
            self.removeAction(controller.action)
            self.menu.removeAction(controller.action)
            controller.close()
            controller.deleteLater()
        self.sync_status.set_controller(None)
        self.sync_status.hide()
        self.idle.stop()
        self.caseload.clear()
        if ws is None:
            return
        ws.clear()
        ws.stack.removeWidget(self.caseload)
        self.caseload.setParent(None)
        self.pages.removeWidget(ws)
        ws.deleteLater()

    def refresh(self) -> None:
        """Read the caseload again on the database thread."""
        session = self.session
        if session is None:
            return
        generation = self._generation

        def done(found: tuple[list[CaseloadRow], int]) -> None:
            if generation != self._generation or self.session is not session:
                return  # locked meanwhile: never show these rows
            rows, duplicates = found
            self.model.set_rows(rows)
            self.caseload.show_duplicate_count(duplicates)
            self.caseload.fit_columns()
            n = len(rows)
            self.count_label.setText(plural(self, n, "%n participant", "%n participants"))
            if self.workspace is not None:
                self.workspace.build_pending_soon()  # the caseload is on screen: the rest

        def failed(exc: BaseException) -> None:
            if generation != self._generation:
                return
            self.count_label.setText("")
            self.statusBar().showMessage(
                self.tr("The caseload could not be read. ") + message_for(exc), 0
            )

        self.tasks.run(load_caseload_and_duplicates, done, failed, args=(session,))

    def lock(self) -> None:
        """Hide every record now; close the store and forget the key on the worker."""
        session, self.session = self.session, None
        if session is None:
            return
        self._generation += 1
        self._save_open_work()
        self._resume = (session.demo, self._where())
        self._tear_down_workspace()
        self.lock_action.setEnabled(False)
        self.statusBar().clearMessage()
        self.start.show_first()
        self._show_locked()
        self.tasks.run(close_session, args=(session,))
        log.info("locked")

    def closeEvent(self, event: QCloseEvent) -> None:
        self._generation += 1
        self.start.cancel_demo()
        self._save_open_work()
        self._tear_down_workspace()
        sessions = self.start.open_sessions()

        def close_all() -> None:
            for s in sessions + self.start.open_sessions():
                s.close()

        self.session = None
        self.tasks.shutdown(final=close_all)
        super().closeEvent(event)
