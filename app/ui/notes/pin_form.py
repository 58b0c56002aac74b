"""The signing PIN in the note editor's Sign card: set it once (new PIN twice and the
passphrase), and "Sign finished notes", which signs every complete draft of the day
after one PIN. The PIN is checked inside the unlocked vault (app/services/signing.py).
Part of :class:`app.ui.notes.note_editor.NoteEditorPage`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.domain.records import Encounter
from app.services import signing
from app.services.failures import WrongPassphrase
from app.services.signing import PinProblem
from app.services.signing import PinState
from app.ui.notes.note_widgets import FieldError
from app.ui.notes.note_widgets import field_label


class PinFormMixin:
    """Set a signing PIN; sign the day's finished notes."""

    def _build_pin_form(self) -> QWidget:
        self.pin_form = QWidget()
        lay = QVBoxLayout(self.pin_form)
        lay.setContentsMargins(0, 4, 0, 0)
        grid = QGridLayout()  # two rows, so it fits the smallest window
        self.new_pin_edit, self.repeat_pin_edit, self.pin_passphrase_edit = (
            QLineEdit(),
            QLineEdit(),
            QLineEdit(),
        )
        for i, (edit, label, name) in enumerate(
            (
                (self.new_pin_edit, self.tr("New P&IN"), self.tr("New signing PIN")),
                (self.repeat_pin_edit, self.tr("Again"), self.tr("The new PIN again")),
                (self.pin_passphrase_edit, self.tr("Passphrase"), self.tr("Your passphrase")),
            )
        ):
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setAccessibleName(name)
            edit.returnPressed.connect(self.save_pin)
            grid.addWidget(field_label(label, edit), i // 2, (i % 2) * 2)
            grid.addWidget(edit, i // 2, (i % 2) * 2 + 1)
        self.save_pin_button = QPushButton(self.tr("Set PIN"))
        self.save_pin_button.setAccessibleName(self.tr("Set the signing PIN"))
        self.save_pin_button.clicked.connect(self.save_pin)
        grid.addWidget(self.save_pin_button, 1, 2, 1, 2, Qt.AlignmentFlag.AlignLeft)
        lay.addLayout(grid)
        self.pin_error = FieldError(self.tr("Signing PIN problem"))
        lay.addWidget(self.pin_error)
        self.pin_form.hide()
        return self.pin_form

    def show_pin_form(self) -> None:
        self.set_pin_link.hide()
        self.pin_form.show()
        self.new_pin_edit.setFocus()
        self.scroll.ensureWidgetVisible(self.pin_form)

    def save_pin(self) -> None:
        """Set the PIN (4 to 12 digits, typed twice) after the passphrase is checked."""
        pin, again = self.new_pin_edit.text(), self.repeat_pin_edit.text()
        passphrase = self.pin_passphrase_edit.text()
        problem = signing.pin_problem(pin)
        if not problem and pin != again:
            problem = self.tr("The two PINs are not the same.")
        if not problem and not passphrase:
            problem = self.tr("Enter your passphrase to set the PIN.")
        if problem:
            self.pin_error.show_messages([problem])
            return

        def done(state: PinState) -> None:
            self._pin = state
            for e in (self.new_pin_edit, self.repeat_pin_edit, self.pin_passphrase_edit):
                e.clear()
            self.pin_error.show_messages([])
            self.passphrase_edit.setFocus()
            self.pin_form.hide()
            self._apply_sign_mode()
            self.ctx.status_message.emit(self.tr("Signing PIN set."))

        def failed(exc: BaseException) -> None:
            self.pin_passphrase_edit.clear()
            if isinstance(exc, WrongPassphrase):
                msg = self.tr("That passphrase is not the one for this vault.")
            elif isinstance(exc, PinProblem):
                msg = str(exc)
            else:
                msg = self._message(exc)
            self.pin_error.show_messages([msg])
            self.pin_passphrase_edit.setFocus()

        self.ctx.run(
            signing.set_pin,
            done,
            failed,
            args=(self.ctx.session.vault, passphrase, self.ctx.user, pin),
        )

    def sign_finished(self) -> None:
        """Sign every complete draft of this note's day (this one first saved), after
        one PIN; drafts that still need something stay drafts and are counted."""
        if not self._editable or self._signing:
            return
        draft = self.draft()
        if draft is None:
            return
        if self._ask_about_times():  # this note's unusual times are answered first
            self._refuse(self.tr("Not signed yet: answer the question about the times."))
            self.time_questions.keep_button.setFocus()
            return
        secret = self._secret_or_ask()
        if not secret:
            return
        day = draft.service_date
        confirmed = frozenset({draft.id})  # its times raise no question, or were answered

        def report(result: tuple[list[Encounter], int]) -> None:
            signed, waiting = result
            n = len(signed)
            message = (
                self.tr("Signed 1 note.") if n == 1 else self.tr("Signed {0} notes.").format(n)
            )
            if waiting:
                message += " " + (
                    self.tr("1 draft of that day still needs work.")
                    if waiting == 1
                    else self.tr("{0} drafts of that day still need work.").format(waiting)
                )
            self.ctx.status_message.emit(message)
            if any(n.id == draft.id for n in signed):
                self.signed.emit(draft.id)
            self._reload(draft.id)

        vault, user = self.ctx.session.vault, self.ctx.user
        args = (vault, user, secret, self._pin.usable, day, draft, confirmed)
        self._run_signing(signing.sign_finished, args, draft, report)
