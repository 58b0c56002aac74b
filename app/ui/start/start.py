"""The start screens: create a vault, see its recovery key, unlock it, recover it
with the recovery key, or open the demo. On a first start (no vault in the data
folder) the welcome comes first, and enrolment with the agency's server can follow
the recovery key (app/ui/start/welcome.py). The pages themselves are in
app/ui/start/vault_pages.py; this module runs what they ask for.

Every step that derives a key or opens the database is a service
(app.services.vaults, app.services.demos, app.services.enrolment) run on the
database thread (:class:`app.ui.shell.tasks.TaskManager`); the screens only collect
what the person types and show the outcome. When a vault is open the screen emits
:attr:`StartScreen.opened` with a :class:`Session`. Nothing here ever creates a
vault over an existing one: the create page is offered only when the data folder
holds no vault, and ``Vault.create`` refuses anyway.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QStackedWidget
from PySide6.QtWidgets import QWidget

from app.services.demos import open_demo
from app.services.demos import open_demo_team
from app.services.demos import progress_fraction
from app.services.enrolment import EnrolmentError
from app.services.enrolment import InviteRequest
from app.services.enrolment import check_request
from app.services.enrolment import enroll
from app.services.enrolment import enroll_invite
from app.services.failures import log_failure
from app.services.failures import message_for
from app.services.vaults import Session
from app.services.vaults import create_vault
from app.services.vaults import recover_vault
from app.services.vaults import unlock_vault
from app.services.vaults import vault_exists
from app.ui.shell.tasks import TaskManager
from app.ui.start.vault_pages import CreatePage
from app.ui.start.vault_pages import DemoPage
from app.ui.start.vault_pages import RecoverPage
from app.ui.start.vault_pages import RecoveryKeyPage
from app.ui.start.vault_pages import UnlockPage
from app.ui.start.welcome import EnrolPage
from app.ui.start.welcome import WelcomePage

log = logging.getLogger(__name__)


class StartScreen(QStackedWidget):
    """Create / recovery key / unlock / recover / demo, in one stack."""

    #: A vault is open (the caseload can be shown).
    opened = Signal(object)
    #: The demo is being prepared (True) or no longer (False).
    demo_active = Signal(bool)
    #: The new vault was connected to the agency's server (a plain sentence to show).
    enrolled = Signal(str)

    def __init__(self, tasks: TaskManager, data_dir: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("startScreen")
        self.tasks = tasks
        self.data_dir = Path(data_dir)
        self.pending: Session | None = None
        self._demo_cancel = threading.Event()
        self._opened: list[Session] = []
        self._opened_lock = threading.Lock()

        self.create_page = CreatePage()
        self.recovery_page = RecoveryKeyPage()
        self.unlock_page = UnlockPage()
        self.recover_page = RecoverPage()
        self.demo_page = DemoPage()
        self.welcome_page = WelcomePage()
        self.enrol_page = EnrolPage()
        self._enrol_after_create = False
        for page in (
            self.welcome_page,
            self.create_page,
            self.recovery_page,
            self.unlock_page,
            self.recover_page,
            self.demo_page,
            self.enrol_page,
        ):
            self.addWidget(page)

        self.create_page.submitted.connect(self._create)
        self.create_page.demo_requested.connect(self._open_demo)
        self.create_page.team_demo_requested.connect(lambda: self._open_demo(team=True))
        self.recovery_page.confirmed.connect(self._recovery_key_confirmed)
        self.unlock_page.submitted.connect(self._unlock)
        self.unlock_page.forgot.connect(self._show_recover)
        self.unlock_page.demo_requested.connect(self._open_demo)
        self.unlock_page.team_demo_requested.connect(lambda: self._open_demo(team=True))
        self.recover_page.submitted.connect(self._recover)
        self.recover_page.back.connect(self.show_first)
        self.demo_page.back.connect(self.show_first)
        self.welcome_page.start_requested.connect(self._start_setup)
        self.welcome_page.demo_requested.connect(self._open_demo)
        self.enrol_page.submitted.connect(self._enrol)
        self.enrol_page.invite_submitted.connect(self._enrol_invite)
        self.enrol_page.skipped.connect(self._finish_setup)
        self.show_first()

    # -- navigation ---------------------------------------------------------------

    def show_first(self) -> None:
        """Unlock when a vault (or any part of one) is in the data folder, else the
        welcome (a first start)."""
        for page in (self.welcome_page, self.create_page, self.unlock_page, self.recover_page):
            page.reset()
        if vault_exists(self.data_dir):
            self.setCurrentWidget(self.unlock_page)
            self.unlock_page.passphrase.setFocus()
        else:
            self.setCurrentWidget(self.welcome_page)
            self.welcome_page.start_button.setFocus()

    def _start_setup(self, then_enrol: bool) -> None:
        self._enrol_after_create = then_enrol
        self.create_page.reset()
        self.setCurrentWidget(self.create_page)
        self.create_page.passphrase.setFocus()

    def _show_recover(self) -> None:
        self.recover_page.reset()
        self.setCurrentWidget(self.recover_page)
        self.recover_page.key_edit.setFocus()

    def cancel_demo(self) -> None:
        self._demo_cancel.set()

    def open_sessions(self) -> list[Session]:
        """Every session opened on the database thread and not closed yet, including
        one whose result has not reached the UI (for closing the window)."""
        with self._opened_lock:
            return [s for s in self._opened if not s.closed]

    def _tracked(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any) -> Any:  # on the database thread
            result = fn(*args)
            session = result[0] if isinstance(result, tuple) else result
            with self._opened_lock:
                self._opened = [s for s in self._opened if not s.closed]
                self._opened.append(session)
            return result

        run.__qualname__ = getattr(fn, "__qualname__", "task")
        return run

    # -- actions -------------------------------------------------------------------

    def _create(self, passphrase: str) -> None:
        page = self.create_page
        page.set_busy(True)

        def done(result: tuple[Session, str]) -> None:
            session, key = result
            self.pending = session
            page.reset()
            self.recovery_page.show_key(key)
            self.setCurrentWidget(self.recovery_page)
            log.info("vault created")

        def failed(exc: BaseException) -> None:
            page.set_busy(False)
            page.show_error(message_for(exc))

        self.tasks.run(self._tracked(create_vault), done, failed, args=(self.data_dir, passphrase))

    def _recovery_key_confirmed(self) -> None:
        if self.pending is not None and self._enrol_after_create:
            self.enrol_page.reset()
            self.setCurrentWidget(self.enrol_page)
            self.enrol_page.invite.setFocus()
            return
        self._finish_setup()

    def _finish_setup(self) -> None:
        """Open the new vault (after the recovery key, and enrolment or its skip)."""
        self._enrol_after_create = False
        self.enrol_page.reset()
        session, self.pending = self.pending, None
        if session is not None:
            self.opened.emit(session)

    def _enrol(self, server: str, fingerprint: str, username: str, password: str) -> None:
        self._run_enrolment(
            lambda store: enroll(
                store, check_request(server, username, password, fingerprint=fingerprint)
            ),
            "enrolled with the sync server",
        )

    def _enrol_invite(self, request: InviteRequest) -> None:
        """Enrol the new vault with an invite code and the password (on the database
        thread: the certificate check against the code, then the pinned enrolment)."""
        self._run_enrolment(
            lambda store: enroll_invite(store, request),
            "enrolled with the sync server (invite)",
            clear_invite=True,
        )

    def _run_enrolment(self, enrol, what: str, clear_invite: bool = False) -> None:
        """Run ``enrol(store)`` for the pending new vault on the database thread; say
        who this laptop is connected as, or show why it failed on the enrol page."""
        session = self.pending
        if session is None:
            return
        page = self.enrol_page
        page.set_busy(True)

        def work() -> str:  # on the database thread
            done = enrol(session.store)
            return f"This laptop is connected to your agency's server as {done.username}."

        def done(message: str) -> None:
            log.info(what)
            if clear_invite:
                page.invite.clear()
            self.enrolled.emit(message)
            self._finish_setup()

        def failed(exc: BaseException) -> None:
            if isinstance(exc, EnrolmentError):
                page.failed(str(exc), wrong_password=exc.code == "unauthorized")
            else:
                page.failed(message_for(exc))

        self.tasks.run(work, done, failed)

    def _unlock(self, passphrase: str) -> None:
        page = self.unlock_page
        page.set_busy(True)

        def done(session: Session) -> None:
            page.reset()
            log.info("vault unlocked")
            self.opened.emit(session)

        def failed(exc: BaseException) -> None:
            page.set_busy(False)
            page.show_error(message_for(exc))
            page.passphrase.selectAll()
            page.passphrase.setFocus()

        self.tasks.run(
            self._tracked(unlock_vault), done, failed, args=(self.data_dir, passphrase, True)
        )

    def _recover(self, key: str, new_passphrase: str) -> None:
        page = self.recover_page
        page.set_busy(True)

        def done(session: Session) -> None:
            page.reset()
            log.info("vault unlocked with the recovery key; passphrase changed")
            self.opened.emit(session)

        def failed(exc: BaseException) -> None:
            page.set_busy(False)
            page.show_error(message_for(exc))

        self.tasks.run(
            self._tracked(recover_vault), done, failed, args=(self.data_dir, key, new_passphrase)
        )

    def _open_demo(self, team: bool = False) -> None:
        """The specialist's demo caseload, or (``team``) a supervisor's demo team."""
        opener = open_demo_team if team else open_demo
        page = self.demo_page
        page.reset()
        self.setCurrentWidget(page)
        self.demo_active.emit(True)
        self._demo_cancel = cancel = threading.Event()
        last: list[Any] = [None, ""]

        def progress(*args: Any, **kwargs: Any) -> None:  # on the database thread
            fraction, text = progress_fraction(*args, **kwargs)
            percent = None if fraction is None else round(fraction * 100)
            if percent == last[0] and text == last[1]:
                return
            last[0], last[1] = percent, text
            self.tasks.post(lambda: page.report(fraction, text))

        def done(session: Session) -> None:
            log.info("demo vault opened")
            self.opened.emit(session)

        def failed(exc: BaseException) -> None:
            self.demo_active.emit(False)
            if isinstance(exc, ImportError):
                log_failure("opening the demo", exc)
                page.failed("The demo is not available in this version of PeerTrail.")
            else:
                page.failed(message_for(exc))

        self.tasks.run(self._tracked(opener), done, failed, args=(self.data_dir, progress, cancel))
