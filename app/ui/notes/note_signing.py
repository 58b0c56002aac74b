"""Signing a note and amending it: the Sign card (the life-cycle rules checked first
and each problem marked by its field, then the passphrase checked on the database
lane) and the Addenda card (the addenda written so far and the form to add one).
Part of :class:`app.ui.notes.note_editor.NoteEditorPage`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame
from PySide6.QtWidgets import QGridLayout
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.domain import note_form
from app.domain.datetext import moment_text
from app.domain.records import Addendum
from app.domain.records import Encounter
from app.domain.validation import ValidationError
from app.services import notes
from app.services import signing
from app.services.demos import DEMO_PASSPHRASE
from app.services.failures import DiskFull
from app.services.failures import WrongPassphrase
from app.services.notes import NoteBundle
from app.services.signing import MAX_TRIES
from app.services.signing import PinProblem
from app.services.signing import PinState
from app.ui.notes.note_widgets import FieldError
from app.ui.notes.note_widgets import GrowingTextEdit
from app.ui.notes.note_widgets import field_label
from app.ui.notes.pin_form import PinFormMixin

#: Problems that belong to the Service details (which then open by themselves).
SERVICE_FIELDS = frozenset(
    {
        "times",
        "start_time",
        "end_time",
        "service_date",
        "place_of_service",
        "group_size",
        "service_code",
        "modifiers",
        "modality",
        "setting",
    }
)


class NoteSigningMixin(PinFormMixin):
    """The Sign and Addenda cards of the note editor."""

    def _build_sign(self) -> None:
        self.sign_card, lay = self._card("")
        lay.setSpacing(4)
        row = QHBoxLayout()
        self.passphrase_edit = QLineEdit()
        self.passphrase_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase_edit.setAccessibleName(self.tr("Your signing PIN or passphrase"))
        self.passphrase_edit.returnPressed.connect(self.sign)
        self.sign_label = field_label(self.tr("Signing &PIN"), self.passphrase_edit)
        self.sign_button = QPushButton(self.tr("Sign note"))
        self.sign_button.setObjectName("primary")
        self.sign_button.setAccessibleName(self.tr("Sign the note"))
        self.sign_button.setToolTip(
            self.tr("Signing locks the note; later changes are addenda (Ctrl+Enter)")
        )
        self.sign_button.clicked.connect(self.sign)
        self.sign_all_button = QPushButton(self.tr("Sign finished notes"))
        self.sign_all_button.setAccessibleName(self.tr("Sign all of today's finished notes"))
        self.sign_all_button.setToolTip(
            self.tr("Sign every complete draft of this day, with one PIN")
        )
        self.sign_all_button.clicked.connect(self.sign_finished)
        row.addWidget(self.sign_label)
        row.addWidget(self.passphrase_edit, 1)
        row.addWidget(self.sign_button)
        row.addWidget(self.sign_all_button)
        lay.addLayout(row)
        self.set_pin_link = QPushButton(self.tr("Set a signing PIN…"))
        self.set_pin_link.setToolTip(
            self.tr("A short PIN, set once, signs your notes instead of the passphrase")
        )
        self.set_pin_link.setObjectName("link")
        self.set_pin_link.setAccessibleName(self.tr("Set a signing PIN"))
        self.set_pin_link.clicked.connect(self.show_pin_form)
        lay.addWidget(self.set_pin_link, 0, Qt.AlignmentFlag.AlignLeft)  # gone once set
        lay.addWidget(self._build_pin_form())
        self.demo_hint = QLabel(
            self.tr("Demo vault: the passphrase is “{0}”.").format(DEMO_PASSPHRASE)
        )
        self.demo_hint.setObjectName("hint")
        self.demo_hint.setWordWrap(True)
        self.demo_hint.setVisible(self.ctx.demo)
        lay.addWidget(self.demo_hint)
        self.sign_error = FieldError(self.tr("Signing problem"))
        lay.addWidget(self.sign_error)
        self._pin = PinState(False, MAX_TRIES)

    def _build_addenda(self) -> None:
        """The addenda written so far (a card under the note) and the form to add one
        (a bar under the page, like the Sign bar of a draft: in view without
        scrolling as soon as the note is signed)."""
        self.addenda_card, lay = self._card(self.tr("Addenda"))
        self.addenda_box = QVBoxLayout()
        self.addenda_box.setSpacing(8)
        lay.addLayout(self.addenda_box)
        self.addenda_none = QLabel(self.tr("No addenda yet."))
        self.addenda_none.setObjectName("hint")
        lay.addWidget(self.addenda_none)
        self.addenda_card.hide()

        self.addendum_form = QFrame()
        self.addendum_form.setObjectName("addendumBar")
        grid = QGridLayout(self.addendum_form)
        grid.setContentsMargins(16, 6, 16, 6)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(4)
        self.addendum_reason = QLineEdit()
        self.addendum_reason.setAccessibleName(self.tr("Reason for the addendum"))
        self.addendum_reason.setPlaceholderText(
            self.tr("e.g. correcting the end time, answering my supervisor")
        )
        self.addendum_text = GrowingTextEdit(min_lines=2, max_lines=6)
        self.addendum_text.setObjectName("addendumEdit")
        self.addendum_text.setAccessibleName(self.tr("Addendum text"))
        self.addendum_button = QPushButton(self.tr("Add addendum"))
        self.addendum_button.setObjectName("primary")
        self.addendum_button.setAccessibleName(self.tr("Add the addendum to the note"))
        self.addendum_button.clicked.connect(self.add_addendum)
        self.addendum_error = FieldError(self.tr("Addendum problem"))
        grid.addWidget(field_label(self.tr("Reas&on"), self.addendum_reason), 0, 0)
        grid.addWidget(self.addendum_reason, 0, 1)
        grid.addWidget(self.addendum_button, 0, 2)
        text_label = field_label(self.tr("Addendum te&xt"), self.addendum_text)
        grid.addWidget(text_label, 1, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.addendum_text, 1, 1, 1, 2)
        grid.addWidget(self.addendum_error, 2, 1, 1, 2)
        grid.setColumnStretch(1, 1)
        QWidget.setTabOrder(self.addendum_reason, self.addendum_text)
        QWidget.setTabOrder(self.addendum_text, self.addendum_button)
        self.addendum_form.hide()

    def _show_addenda(self, addenda: list[Addendum], bundle: NoteBundle) -> None:
        self._clear_addenda()
        for a in addenda:
            frame = QFrame()
            frame.setObjectName("addendum")
            fl = QVBoxLayout(frame)
            fl.setContentsMargins(12, 8, 12, 8)
            fl.setSpacing(2)
            reason = QLabel(self.tr("Addendum: {0}").format(a.reason))
            reason.setObjectName("addendumReason")
            reason.setWordWrap(True)
            text = QLabel(a.text)
            text.setWordWrap(True)
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            text.setAccessibleName(self.tr("Addendum text"))
            by = QLabel(
                self.tr("{0}, {1}").format(
                    bundle.name(a.author_id), moment_text(a.written_at, twelve_hour=True)
                )
            )
            by.setObjectName("hint")
            fl.addWidget(reason)
            fl.addWidget(text)
            fl.addWidget(by)
            self.addenda_box.addWidget(frame)
        self.addenda_none.setVisible(not addenda)

    def _clear_addenda(self) -> None:
        while self.addenda_box.count():
            item = self.addenda_box.takeAt(0)
            w = item.widget()
            if w is not None:
                w.deleteLater()

    def sign(self) -> None:
        """Check the note, then the PIN (or passphrase) on the worker, then sign and
        lock it. Focus stays in the note throughout."""
        if not self._editable or self._signing:
            return
        draft = self.draft()
        if draft is None:
            return
        problems = self._sign_problems(draft)
        self._show_problems(problems)
        if problems or self._ask_about_times():
            self.save_now()  # a sign attempt is a natural moment to keep the draft
            if problems:
                message = self.tr("Not signed yet: fix what is marked ({0}).").format(len(problems))
            else:
                message = self.tr("Not signed yet: answer the question about the times.")
                self.time_questions.keep_button.setFocus()
            self._refuse(message)
            return
        secret = self._secret_or_ask()
        if not secret:
            return
        with_pin = self._pin.usable

        def signed(note: Encounter) -> None:
            self.ctx.status_message.emit(self.tr("Note signed."))
            self.signed.emit(note.id)
            self._reload(note.id)

        args = (self.ctx.session.vault, self.ctx.user, secret, with_pin, draft)
        self._run_signing(signing.sign_note, args, draft, signed)

    def _secret_or_ask(self) -> str:
        """The PIN or passphrase typed; "" after asking for it."""
        secret = self.passphrase_edit.text()
        if not secret:
            self._refuse(self._ask_secret_text())
            self.passphrase_edit.setFocus()
        return secret

    def _run_signing(
        self, service: Callable[..., Any], args: tuple, draft: Encounter, signed: Callable
    ) -> None:
        """Sign on the worker, the note locked meanwhile: ``signed(result)`` once it is
        done (the note still shown), the reason on the page when it was refused."""
        self._start_signing()
        rev, generation = self._rev, self._generation
        self._queued_rev = rev

        def done(result: Any) -> None:
            self._signing = False
            self.sign_button.setText(self.tr("Sign note"))
            if generation != self._generation:
                return
            self._saved_rev = max(self._saved_rev, rev)
            signed(result)

        def failed(exc: BaseException) -> None:
            self._signing = False
            self.sign_button.setText(self.tr("Sign note"))
            if generation == self._generation:
                self._sign_failed(exc, draft, rev)

        self.ctx.run(service, done, failed, args=args, origin=self)

    def _ask_secret_text(self) -> str:
        if self._pin.usable:
            return self.tr("Enter your signing PIN to sign.")
        return self.tr("Enter your passphrase to sign.")

    def _start_signing(self) -> None:
        """Lock the note while it is signed; the focus moves first to the note's text
        (read-only meanwhile), never out of the page."""
        self.passphrase_edit.clear()
        self._signing = True
        self._autosave.stop()
        first = self.text_edits[self._first_field()]
        if self._has_focus_inside() or not self.window().isActiveWindow():
            first.setFocus(Qt.FocusReason.OtherFocusReason)
        self._editable = False  # nothing typed while signing could be kept in a signed note
        self._apply_lock()
        self.sign_button.setText(self.tr("Checking…"))
        self.sign_error.show_messages([])
        self.ctx.status_message.emit("")

    def _refuse(self, message: str) -> None:
        """Say why the note was not signed, here and in the status bar (so an earlier
        "Note signed." never stays there)."""
        self.sign_error.show_messages([message])
        self.ctx.status_message.emit(message)
        self.sign_refused.emit(message)

    def _show_sign_mode(self) -> None:
        """Ask for the PIN when one is set and usable, else for the passphrase."""
        if not self._editable:
            return

        def done(state: PinState) -> None:
            self._pin = state
            self._apply_sign_mode()

        self.ctx.run(signing.pin_state, done, lambda _e: None, args=(self.ctx.user,))

    def _apply_sign_mode(self) -> None:
        pin = self._pin.usable
        self.sign_label.setText(self.tr("Signing &PIN") if pin else self.tr("Passp&hrase"))
        self.passphrase_edit.setPlaceholderText(
            self.tr("Your signing PIN") if pin else self.tr("Your passphrase")
        )
        self.set_pin_link.setVisible(not self._pin.is_set and not self.pin_form.isVisible())
        self.demo_hint.setVisible(self.ctx.demo and not pin)

    def _sign_problems(self, draft: Encounter) -> list[tuple[str, str]]:
        """What stops the draft from being signed, by field."""
        problems = note_form.editor_problems(draft, self.clock().date())
        times_readable = self._check_times()
        if not times_readable:  # the time field already says what is wrong, in detail
            problems = [p for p in problems if p[0] not in ("start_time", "end_time")]
            problems.append(("times", "fix the times"))
        bad_mods = note_form.modifier_problem(self.modifiers_edit.text())
        if bad_mods:
            problems.append(("modifiers", bad_mods))
        return problems

    def _sign_failed(self, exc: BaseException, draft: Encounter, rev: int) -> None:
        """Signing was refused or failed: say why; the note stays editable."""
        self._editable = self._note is not None and note_form.can_edit(self._note, self.ctx.user.id)
        self._apply_lock()
        if isinstance(exc, WrongPassphrase | ValidationError | PinProblem):
            # The draft itself was saved before the passphrase was checked.
            self._saved_rev = max(self._saved_rev, rev)
            self._stored = True
            self._baseline = draft
            self._last_saved_at = self.clock()
            self._show_save_state()
        if isinstance(exc, PinProblem):
            message = self.tr("{0} The note was not signed; it is saved.").format(str(exc))
            self._pin = PinState(self._pin.is_set, exc.tries_left)
            self._apply_sign_mode()
        elif isinstance(exc, WrongPassphrase):
            message = self.tr(
                "That passphrase is not the one for this vault, so the note was not "
                "signed. Your note is saved. Try again."
            )
        elif isinstance(exc, ValidationError):
            self._show_problems(exc.problems)
            message = self.tr("Not signed yet: fix what is marked.")
        elif isinstance(exc, DiskFull):
            self._queued_rev = -1
            message = self._save_message(exc).replace("\n", " ")
        else:
            self._queued_rev = -1
            message = self._message(exc)
        self.passphrase_edit.setFocus()
        self._refuse(message)

    def _all_errors(self) -> list[FieldError]:
        return [
            self.top_problems,
            self.time_error,
            self.pos_error,
            self.group_error,
            self.code_error,
            self.goals_error,
            self.sign_error,
            self.addendum_error,
            *self.text_errors.values(),
        ]

    def _show_problems(self, problems: list[tuple[str, str]]) -> None:
        """Each problem next to its field, in plain words."""
        by = note_form.problems_by_field(problems)
        if by.keys() & SERVICE_FIELDS:
            self.expand_service(True)  # what needs the person is never folded away
        time_msgs = by.get("start_time", []) + by.get("end_time", []) + by.get("service_date", [])
        if "times" not in by:  # unreadable times keep their detailed message
            self.time_error.show_messages(time_msgs)
        self.pos_error.show_messages(by.get("place_of_service", []))
        self.group_error.show_messages(by.get("group_size", []))
        self.code_error.show_messages(by.get("service_code", []) + by.get("modifiers", []))
        self.goals_error.show_messages(by.get("goal_ids", []))
        for name, err in self.text_errors.items():
            err.show_messages(by.get(name, []))
        self.top_problems.show_messages(by.get("participant_id", []) + by.get("specialist_id", []))
        first = next(
            (
                w
                for f, w in (
                    ("times", self.start_edit),
                    ("start_time", self.start_edit),
                    ("end_time", self.end_edit),
                    ("service_date", self.date_edit),
                    ("place_of_service", self.pos_combo),
                    ("group_size", self.group_spin),
                    ("service_code", self.code_combo),
                    ("modifiers", self.modifiers_edit),
                    ("goal_ids", self.goals_list),
                    *self.text_edits.items(),
                )
                if f in by
            ),
            None,
        )
        if first is not None:
            self.scroll.ensureWidgetVisible(first)

    def add_addendum(self) -> None:
        note = self._note
        if note is None:
            return
        reason = self.addendum_reason.text().strip()
        text = self.addendum_text.toPlainText().strip()
        missing = []
        if not reason:
            missing.append(self.tr("Say why you are adding to the note (the reason)."))
        if not text:
            missing.append(self.tr("Write the addendum itself."))
        self.addendum_error.show_messages(missing)
        if missing:
            (self.addendum_reason if not reason else self.addendum_text).setFocus()
            return
        if self._adding:
            return
        self._adding = True  # the button stays enabled (and focused): no focus jump
        generation = self._generation

        def done(_a: Addendum) -> None:
            self._adding = False
            if generation != self._generation:
                return
            self.addendum_reason.clear()
            self.addendum_text.clear()
            self.addendum_text.setFocus()
            self.ctx.status_message.emit(self.tr("Addendum added."))
            self.addendum_added.emit(note.id)
            self._reload(note.id)

        def failed(exc: BaseException) -> None:
            self._adding = False
            if generation != self._generation:
                return
            if isinstance(exc, DiskFull):
                msg = self.tr(
                    "The disk is full, so the addendum was not added. It is still here; "
                    "free some space and press Add addendum again."
                )
            else:
                msg = self._message(exc)
            self.addendum_error.show_messages([msg])

        self.ctx.run(
            notes.add_addendum,
            done,
            failed,
            args=(note.id, self.ctx.user, reason, text),
            origin=self,
        )

    def _go_to_addendum(self) -> None:
        """The addendum form is in the bar under the note: the cursor goes to it."""
        self.addendum_reason.setFocus(Qt.FocusReason.OtherFocusReason)

    def _reload(self, note_id: str) -> None:
        generation = self._generation

        def done(bundle: NoteBundle) -> None:
            if generation == self._generation:
                self._show_bundle(bundle)

        self.ctx.run(notes.load_note, done, None, args=(note_id, ""))
