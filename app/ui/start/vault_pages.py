"""The pages of the start screen that open a vault: create it (and see its recovery
key once), unlock it, recover it with the recovery key, and the demo's progress.
They only collect what the person types and emit it; app/ui/start/start.py runs
the services."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QCheckBox
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QProgressBar
from PySide6.QtWidgets import QPushButton

from app.services.demos import DEMO_PARTICIPANTS
from app.services.demos import DEMO_YEARS
from app.services.vaults import MIN_PASSPHRASE
from app.ui.start.pages import Page
from app.ui.start.pages import label
from app.ui.start.pages import link
from app.ui.start.pages import passphrase_edit
from app.ui.start.pages import primary


class CreatePage(Page):
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
        self.passphrase = passphrase_edit("Passphrase")
        self.confirm = passphrase_edit("Passphrase again")
        self.add_field("Passphrase", self.passphrase)
        self.add_field("Type it again", self.confirm)
        self.show_check = QCheckBox("Show what I type")
        self.show_check.toggled.connect(self._toggle_echo)
        self.body.addWidget(self.show_check)
        self._inputs.append(self.show_check)
        self.add_status()
        self.submit_button = self.button(primary, "Create vault", self._submit)
        self.demo_button = self.button(link, "Try the demo", self.demo_requested)
        self.demo_button.setToolTip(
            "Explore a demo caseload of invented people; your vault is not touched"
        )
        self.team_demo_button = self.button(
            link, "Team demo (supervisor)", self.team_demo_requested
        )
        self.add_buttons([self.demo_button, self.team_demo_button], [self.submit_button])
        self.passphrase.returnPressed.connect(self.confirm.setFocus)
        self.confirm.returnPressed.connect(self._submit)

    def _toggle_echo(self, shown: bool) -> None:
        mode = QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
        self.passphrase.setEchoMode(mode)
        self.confirm.setEchoMode(mode)

    def reset(self) -> None:
        self.show_check.setChecked(False)
        self.clear(self.passphrase, self.confirm)

    def _submit(self) -> None:
        first = self.passphrase.text()
        short = (
            f"The passphrase is too short: use at least {MIN_PASSPHRASE} characters "
            f"(it has {len(first)}). A few words together work well."
        )
        if self.new_passphrase_ok(self.passphrase, self.confirm, short, "The two passphrases"):
            self.show_error("")
            self.submitted.emit(first)


class RecoveryKeyPage(Page):
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
        self.continue_button = primary("Continue")
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
        from PySide6.QtPrintSupport import QPrintDialog
        from PySide6.QtPrintSupport import QPrinter

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


class UnlockPage(Page):
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
        self.passphrase = passphrase_edit("Passphrase")
        self.add_field("Passphrase", self.passphrase)
        self.add_status()
        self.submit_button = self.button(primary, "Unlock", self._submit)
        self.forgot_button = self.button(link, "Forgot passphrase?", self.forgot)
        self.demo_button = self.button(link, "Try the demo", self.demo_requested)
        self.team_demo_button = self.button(
            link, "Team demo (supervisor)", self.team_demo_requested
        )
        self.add_buttons([self.forgot_button], [self.submit_button])
        # The demos on a row of their own: three links and the button do not fit
        # the card in one row (they overlapped).
        self.add_buttons([self.demo_button, self.team_demo_button], [], spacing=0)
        self.passphrase.returnPressed.connect(self._submit)

    def reset(self) -> None:
        self.clear(self.passphrase)

    def _submit(self) -> None:
        if not self.passphrase.text():
            self.show_error("Type your passphrase first.")
            return
        self.submitted.emit(self.passphrase.text())


class RecoverPage(Page):
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
        self.passphrase = passphrase_edit("New passphrase")
        self.confirm = passphrase_edit("New passphrase again")
        self.add_field(
            "Recovery key",
            self.key_edit,
            "Capital or small letters, dashes or spaces: any is fine.",
        )
        self.add_field("New passphrase", self.passphrase, f"At least {MIN_PASSPHRASE} characters.")
        self.add_field("Type it again", self.confirm)
        self.add_status()
        self.submit_button = self.button(
            primary, "Unlock and save the new passphrase", self._submit
        )
        self.back_button = self.button(link, "Back", self.back)
        self.add_buttons([self.back_button], [self.submit_button])
        self.key_edit.returnPressed.connect(self.passphrase.setFocus)
        self.passphrase.returnPressed.connect(self.confirm.setFocus)
        self.confirm.returnPressed.connect(self._submit)

    def reset(self) -> None:
        self.clear(self.key_edit, self.passphrase, self.confirm)

    def _submit(self) -> None:
        key = self.key_edit.text()
        if not key.strip():
            self.show_error("Type your recovery key first.")
            self.key_edit.setFocus()
            return
        short = f"The new passphrase is too short: use at least {MIN_PASSPHRASE} characters."
        if self.new_passphrase_ok(self.passphrase, self.confirm, short, "The two new passphrases"):
            self.submitted.emit(key, self.passphrase.text())


class DemoPage(Page):
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
        self.stage = label("", "hint")
        self.body.addWidget(self.stage)
        self.add_status()
        self.back_button = self.button(link, "Back", self.back)
        self.back_button.hide()
        self.add_buttons([self.back_button], [], spacing=0)

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
