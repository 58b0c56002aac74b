"""The main window: the start screen until a vault is open, then the caseload.

The caseload is read on the database thread and handed to the model on the UI
thread. Locking (Ctrl+L) empties the model at once, closes the store on the
database thread and forgets the key, and goes back to the start screen. The
window title is fixed ("PeerTrail", or "PeerTrail — Demo") and never names a
person.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain.records import Participant
from app.store.repositories import Repositories
from app.store.vault import Vault
from app.ui.caseload import CaseloadModel, CaseloadView
from app.ui.start import Session, StartScreen, close_session, message_for
from app.ui.tasks import TaskManager

log = logging.getLogger(__name__)

TITLE = "PeerTrail"
DEMO_TITLE = "PeerTrail — Demo"


def load_caseload(session: Session) -> list[Participant]:
    """On the database thread."""
    return Repositories(session.store).participants.caseload()


class MainWindow(QMainWindow):
    def __init__(self, data_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowTitle(TITLE)
        self.resize(1000, 700)
        self.setMinimumSize(720, 560)
        self.data_dir = Path(data_dir)
        self.tasks = TaskManager(self)
        self.session: Session | None = None
        self._generation = 0  # bumped on lock, so a late caseload read is dropped

        self.start = StartScreen(self.tasks, self.data_dir)
        self.model = CaseloadModel(self)
        self.caseload = CaseloadView(self.model)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.start)
        self.pages.addWidget(self.caseload)

        self.demo_banner = QLabel(
            "DEMO — everyone here is invented. This is practice data, "
            "not your caseload, and your own vault is not touched."
        )
        self.demo_banner.setObjectName("demoBanner")
        self.demo_banner.setWordWrap(True)
        self.demo_banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.demo_banner.hide()

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.demo_banner)
        layout.addWidget(self.pages, 1)
        self.setCentralWidget(central)

        self.lock_action = QAction("&Lock", self)
        self.lock_action.setShortcut(QKeySequence("Ctrl+L"))
        self.lock_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.lock_action.setStatusTip("Lock PeerTrail: hide your records until you unlock again")
        self.lock_action.triggered.connect(self.lock)
        self.lock_action.setEnabled(False)
        self.quit_action = QAction("&Quit", self)
        self.quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        self.quit_action.triggered.connect(self.close)
        menu = self.menuBar().addMenu("&PeerTrail")
        menu.addAction(self.lock_action)
        menu.addSeparator()
        menu.addAction(self.quit_action)
        self.addAction(self.lock_action)

        self.vault_label = QLabel()
        self.vault_label.setObjectName("statusVault")
        self.count_label = QLabel()
        self.count_label.setObjectName("statusCount")
        self.statusBar().addPermanentWidget(self.vault_label)
        self.statusBar().addPermanentWidget(self.count_label)

        self.start.opened.connect(self._on_opened)
        self.start.currentChanged.connect(self._on_start_page)
        self.start.demo_active.connect(self._show_demo_marks)
        self._show_locked()

    # -- states --------------------------------------------------------------------

    def _show_demo_marks(self, demo: bool) -> None:
        self.setWindowTitle(DEMO_TITLE if demo else TITLE)
        self.demo_banner.setVisible(demo)
        if demo and self.session is None:
            self.vault_label.setText("Opening the demo vault")
        elif not demo and self.session is None:
            self._on_start_page()

    def _show_locked(self) -> None:
        self._show_demo_marks(False)
        self.count_label.setText("")
        self.pages.setCurrentWidget(self.start)
        self._on_start_page()

    def _on_start_page(self, *_: object) -> None:
        if self.session is None:
            exists = Vault(self.data_dir).exists()
            self.vault_label.setText("Locked" if exists else "No vault yet")

    def _on_opened(self, session: Session) -> None:
        self.session = session
        self._show_demo_marks(session.demo)
        self.vault_label.setText("Demo vault (invented people)" if session.demo else "Your vault")
        self.count_label.setText("Loading…")
        self.lock_action.setEnabled(True)
        self.pages.setCurrentWidget(self.caseload)
        self.refresh()

    def refresh(self) -> None:
        """Read the caseload again on the database thread."""
        session = self.session
        if session is None:
            return
        generation = self._generation

        def done(rows: list[Participant]) -> None:
            if generation != self._generation or self.session is not session:
                return  # locked meanwhile: never show these rows
            self.model.set_rows(rows)
            self.caseload.fit_columns()
            noun = "participant" if len(rows) == 1 else "participants"
            self.count_label.setText(f"{len(rows)} {noun}")

        def failed(exc: BaseException) -> None:
            if generation != self._generation:
                return
            self.count_label.setText("")
            self.statusBar().showMessage("The caseload could not be read. " + message_for(exc), 0)

        self.tasks.run(load_caseload, done, failed, args=(session,))

    def lock(self) -> None:
        """Hide every record now; close the store and forget the key on the worker."""
        session, self.session = self.session, None
        if session is None:
            return
        self._generation += 1
        self.caseload.clear()
        self.lock_action.setEnabled(False)
        self.statusBar().clearMessage()
        self.start.show_first()
        self._show_locked()
        self.tasks.run(close_session, args=(session,))
        log.info("locked")

    def closeEvent(self, event: QCloseEvent) -> None:
        self._generation += 1
        self.start.cancel_demo()
        self.caseload.clear()
        sessions = self.start.open_sessions()

        def close_all() -> None:
            for s in sessions + self.start.open_sessions():
                s.close()

        self.session = None
        self.tasks.shutdown(final=close_all)
        super().closeEvent(event)
