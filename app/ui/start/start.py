"""The start screens: create a vault, see its recovery key, unlock it, recover it
with the recovery key, or open the demo. On a first start (no vault in the data
folder) the welcome comes first, and enrolment with the agency's server can follow
the recovery key (app/ui/start/welcome.py).

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

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QTextDocument
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QWidget,
)

from app.services.demos import (
    DEMO_PARTICIPANTS,
    DEMO_YEARS,
    open_demo,
    open_demo_team,
    progress_fraction,
)
from app.services.enrolment import EnrolmentError, InviteRequest, enroll, enroll_invite
from app.services.failures import log_failure, message_for
from app.services.vaults import (
    MIN_PASSPHRASE,
    Session,
    create_vault,
    recover_vault,
    unlock_vault,
    vault_exists,
)
from app.ui.shell.tasks import TaskManager
from app.ui.start.pages import Page as _Page
from app.ui.start.pages import label as _label
from app.ui.start.pages import link as _link
from app.ui.start.pages import passphrase_edit as _passphrase_edit
from app.ui.start.pages import primary as _primary
from app.ui.start.welcome import EnrolPage, WelcomePage

log = logging.getLogger(__name__)

# -- widgets --------------------------------------------------------------------------


class CreatePage(_Page):
    submitted = Signal(str)
    demo_requested = Signal()
    team_demo_requested = Signal()

    def __init__(self) -> None:
        super().__init__(
            "Create your vault",
            "PeerTrail keeps your caseload and notes in an encrypted vault on this "
            "laptop. Choose a passphrase to lock it. Use at least "
            f"{MIN_PASSPHRASE} characters. A short phrase is easier to remember than "
            "a password, for example: blue canoe on the Red River.",
            "createPage",
        )
        self.passphrase = _passphrase_edit("Passphrase")
        self.confirm = _passphrase_edit("Passphrase again")
        self.add_field("Passphrase", self.passphrase)
        self.add_field("Type it again", self.confirm)
        self.show_check = QCheckBox("Show what I type")
        self.show_check.toggled.connect(self._toggle_echo)
        self.body.addWidget(self.show_check)
        self._inputs.append(self.show_check)
        self.add_status()
        self.submit_button = _primary("Create vault")
        self.submit_button.clicked.connect(self._submit)
        self._inputs.append(self.submit_button)
        self.demo_button = _link("Try the demo")
        self.demo_button.setToolTip(
            "Explore a demo caseload of invented people; your vault is not touched"
        )
        self.demo_button.clicked.connect(self.demo_requested)
        self._inputs.append(self.demo_button)
        self.team_demo_button = _link("Team demo (supervisor)")
        self.team_demo_button.clicked.connect(self.team_demo_requested)
        self._inputs.append(self.team_demo_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.demo_button)
        buttons.addWidget(self.team_demo_button)
        buttons.addStretch(1)
        buttons.addWidget(self.submit_button)
        self.body.addSpacing(8)
        self.body.addLayout(buttons)
        self.passphrase.returnPressed.connect(self.confirm.setFocus)
        self.confirm.returnPressed.connect(self._submit)

    def _toggle_echo(self, shown: bool) -> None:
        mode = QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
        self.passphrase.setEchoMode(mode)
        self.confirm.setEchoMode(mode)

    def reset(self) -> None:
        self.passphrase.clear()
        self.confirm.clear()
        self.show_check.setChecked(False)
        self.show_error("")
        self.set_busy(False)

    def _submit(self) -> None:
        first, second = self.passphrase.text(), self.confirm.text()
        if len(first) < MIN_PASSPHRASE:
            self.show_error(
                f"The passphrase is too short: use at least {MIN_PASSPHRASE} characters "
                f"(it has {len(first)}). A few words together work well."
            )
            self.passphrase.setFocus()
            return
        if first != second:
            self.show_error("The two passphrases are not the same. Type them again.")
            self.confirm.clear()
            self.confirm.setFocus()
            return
        self.show_error("")
        self.submitted.emit(first)


class RecoveryKeyPage(_Page):
    confirmed = Signal()

    def __init__(self) -> None:
        super().__init__(
            "Write down your recovery key",
            "If you ever forget your passphrase, this recovery key is the only way "
            "back into your records. No one else can get them back for you. Write it "
            "on paper now and keep it somewhere safe, away from this laptop. "
            "It is shown only this once.",
            "recoveryKeyPage",
        )
        self._key = ""
        self.key_label = QLabel()
        self.key_label.setObjectName("recoveryKey")
        self.key_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.key_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.key_label.setAccessibleName("Recovery key")
        self.body.addWidget(self.key_label)
        self.copy_button = QPushButton("Copy")
        self.copy_button.clicked.connect(self._copy)
        self.print_button = QPushButton("Print…")
        self.print_button.clicked.connect(self._print)
        tools = QHBoxLayout()
        tools.addStretch(1)
        tools.addWidget(self.copy_button)
        tools.addWidget(self.print_button)
        tools.addStretch(1)
        self.body.addLayout(tools)
        self.body.addSpacing(8)
        self.confirm_check = QCheckBox("I have written it down and put it somewhere safe")
        self.body.addWidget(self.confirm_check)
        self.add_status()
        self.continue_button = _primary("Continue")
        self.continue_button.setEnabled(False)
        self.confirm_check.toggled.connect(self.continue_button.setEnabled)
        self.continue_button.clicked.connect(self._continue)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.continue_button)
        self.body.addLayout(buttons)

    def show_key(self, key: str) -> None:
        self._key = key
        groups = key.split("-")
        lines = ["  ".join(groups[i : i + 3]) for i in range(0, len(groups), 3)]
        self.key_label.setText("\n".join(lines))
        self.confirm_check.setChecked(False)
        self.continue_button.setEnabled(False)

    @property
    def key(self) -> str:
        return self._key

    def forget(self) -> None:
        """Drop the key from the page and from the clipboard if it is still there."""
        clipboard = QGuiApplication.clipboard()
        if self._key and clipboard is not None and clipboard.text() == self._key:
            clipboard.clear()
        self._key = ""
        self.key_label.clear()
        self.confirm_check.setChecked(False)

    def _copy(self) -> None:
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(self._key)
            self.copy_button.setText("Copied")

    def _print(self) -> None:
        from PySide6.QtPrintSupport import QPrintDialog, QPrinter

        printer = QPrinter()
        dialog = QPrintDialog(printer, self)
        if dialog.exec() != QPrintDialog.DialogCode.Accepted:
            return
        doc = QTextDocument()
        doc.setPlainText(
            "PeerTrail recovery key\n\n"
            f"{self._key}\n\n"
            "Keep this paper somewhere safe, away from the laptop. With it you can\n"
            "open your vault and choose a new passphrase if you forget yours.\n"
        )
        doc.print_(printer)

    def _continue(self) -> None:
        if self.confirm_check.isChecked():
            self.forget()
            self.copy_button.setText("Copy")
            self.confirmed.emit()


class UnlockPage(_Page):
    submitted = Signal(str)
    forgot = Signal()
    demo_requested = Signal()
    team_demo_requested = Signal()

    def __init__(self) -> None:
        super().__init__(
            "Unlock PeerTrail",
            "Type your passphrase to open your caseload.",
            "unlockPage",
        )
        self.passphrase = _passphrase_edit("Passphrase")
        self.add_field("Passphrase", self.passphrase)
        self.add_status()
        self.submit_button = _primary("Unlock")
        self.submit_button.clicked.connect(self._submit)
        self._inputs.append(self.submit_button)
        self.forgot_button = _link("Forgot passphrase?")
        self.forgot_button.clicked.connect(self.forgot)
        self._inputs.append(self.forgot_button)
        self.demo_button = _link("Try the demo")
        self.demo_button.clicked.connect(self.demo_requested)
        self._inputs.append(self.demo_button)
        self.team_demo_button = _link("Team demo (supervisor)")
        self.team_demo_button.clicked.connect(self.team_demo_requested)
        self._inputs.append(self.team_demo_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.forgot_button)
        buttons.addStretch(1)
        buttons.addWidget(self.submit_button)
        # The demos on a row of their own: three links and the button do not fit
        # the card in one row (they overlapped).
        demos = QHBoxLayout()
        demos.addWidget(self.demo_button)
        demos.addWidget(self.team_demo_button)
        demos.addStretch(1)
        self.body.addSpacing(8)
        self.body.addLayout(buttons)
        self.body.addLayout(demos)
        self.passphrase.returnPressed.connect(self._submit)

    def reset(self) -> None:
        self.passphrase.clear()
        self.show_error("")
        self.set_busy(False)

    def _submit(self) -> None:
        if not self.passphrase.text():
            self.show_error("Type your passphrase first.")
            return
        self.submitted.emit(self.passphrase.text())


class RecoverPage(_Page):
    submitted = Signal(str, str)
    back = Signal()

    def __init__(self) -> None:
        super().__init__(
            "Use your recovery key",
            "Type the recovery key you wrote down when you set up PeerTrail, then "
            "choose a new passphrase. Your records stay as they are.",
            "recoverPage",
        )
        self.key_edit = QLineEdit()
        self.key_edit.setObjectName("recoveryKeyEdit")
        self.key_edit.setPlaceholderText("XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX")
        self.key_edit.setAccessibleName("Recovery key")
        self.passphrase = _passphrase_edit("New passphrase")
        self.confirm = _passphrase_edit("New passphrase again")
        self.add_field(
            "Recovery key",
            self.key_edit,
            "Capital or small letters, dashes or spaces: any is fine.",
        )
        self.add_field("New passphrase", self.passphrase, f"At least {MIN_PASSPHRASE} characters.")
        self.add_field("Type it again", self.confirm)
        self.add_status()
        self.submit_button = _primary("Unlock and save the new passphrase")
        self.submit_button.clicked.connect(self._submit)
        self._inputs.append(self.submit_button)
        self.back_button = _link("Back")
        self.back_button.clicked.connect(self.back)
        self._inputs.append(self.back_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.back_button)
        buttons.addStretch(1)
        buttons.addWidget(self.submit_button)
        self.body.addSpacing(8)
        self.body.addLayout(buttons)
        self.key_edit.returnPressed.connect(self.passphrase.setFocus)
        self.passphrase.returnPressed.connect(self.confirm.setFocus)
        self.confirm.returnPressed.connect(self._submit)

    def reset(self) -> None:
        for edit in (self.key_edit, self.passphrase, self.confirm):
            edit.clear()
        self.show_error("")
        self.set_busy(False)

    def _submit(self) -> None:
        key, first, second = self.key_edit.text(), self.passphrase.text(), self.confirm.text()
        if not key.strip():
            self.show_error("Type your recovery key first.")
            self.key_edit.setFocus()
            return
        if len(first) < MIN_PASSPHRASE:
            self.show_error(
                f"The new passphrase is too short: use at least {MIN_PASSPHRASE} characters."
            )
            self.passphrase.setFocus()
            return
        if first != second:
            self.show_error("The two new passphrases are not the same. Type them again.")
            self.confirm.clear()
            self.confirm.setFocus()
            return
        self.submitted.emit(key, first)


class DemoPage(_Page):
    back = Signal()

    def __init__(self) -> None:
        super().__init__(
            "Preparing the demo",
            f"Making up {DEMO_PARTICIPANTS} people and {DEMO_YEARS} years of notes and "
            "hours. None of them are real, and your own vault is not touched. The first "
            "time takes a little while.",
            "demoPage",
        )
        self.progress = QProgressBar()
        self.progress.setObjectName("demoProgress")
        self.progress.setRange(0, 100)
        self.progress.setAccessibleName("Demo progress")
        self.body.addWidget(self.progress)
        self.stage = _label("", "hint")
        self.body.addWidget(self.stage)
        self.add_status()
        self.back_button = _link("Back")
        self.back_button.clicked.connect(self.back)
        self.back_button.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(self.back_button)
        buttons.addStretch(1)
        self.body.addLayout(buttons)

    def reset(self) -> None:
        self.progress.setRange(0, 0)
        self.progress.setValue(0)
        self.stage.setText("Opening the demo vault…")
        self.show_error("")
        self.back_button.hide()

    def report(self, fraction: float | None, text: str) -> None:
        if fraction is not None:
            if self.progress.maximum() == 0:
                self.progress.setRange(0, 100)
            self.progress.setValue(round(fraction * 100))
        self.stage.setText(text or "Writing the invented people, their notes and hours…")

    def failed(self, message: str) -> None:
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.stage.setText("")
        self.show_error(message)
        self.back_button.show()


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
        session = self.pending
        if session is None:
            return
        page = self.enrol_page
        page.set_busy(True)

        def work() -> str:  # on the database thread
            done = enroll(session.store, server, username, password, fingerprint)
            return f"This laptop is connected to your agency's server as {done.username}."

        def done(message: str) -> None:
            log.info("enrolled with the sync server")
            self.enrolled.emit(message)
            self._finish_setup()

        def failed(exc: BaseException) -> None:
            if isinstance(exc, EnrolmentError):
                page.failed(str(exc), wrong_password=exc.code == "unauthorized")
            else:
                page.failed(message_for(exc))

        self.tasks.run(work, done, failed)

    def _enrol_invite(self, request: InviteRequest) -> None:
        """Enrol the new vault with an invite code and the password (on the database
        thread: the certificate check against the code, then the pinned enrolment)."""
        session = self.pending
        if session is None:
            return
        page = self.enrol_page
        page.set_busy(True)

        def work() -> str:  # on the database thread
            done = enroll_invite(session.store, request)
            return f"This laptop is connected to your agency's server as {done.username}."

        def done(message: str) -> None:
            log.info("enrolled with the sync server (invite)")
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

        self.tasks.run(self._tracked(unlock_vault), done, failed, args=(self.data_dir, passphrase))

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
