"""The banners at the top of the note editor: a save that failed (the draft is kept,
try again), the code list that could not be read, a note returned for revision
(the supervisor's comment and what to do next), and who signed, approved or owns
the note. Part of :class:`app.ui.notes.note_editor.NoteEditorPage`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QVBoxLayout

from app.domain import note_form
from app.domain.datetext import moment_text
from app.domain.lifecycle import STATUS_TEXT
from app.domain.records import Encounter
from app.domain.records import NoteStatus
from app.services.notes import NoteBundle
from app.ui.common.forms import wrapped_label
from app.ui.notes.note_widgets import FieldError


class NoteBannersMixin:
    """The status banners of the note editor."""

    def _build_banners(self) -> None:
        # A save that failed: what happened, the draft is kept, try again.
        self.save_error_box = QFrame()
        self.save_error_box.setObjectName("saveErrorBox")
        el = QHBoxLayout(self.save_error_box)
        el.setContentsMargins(12, 10, 12, 10)
        texts = QVBoxLayout()
        texts.setSpacing(2)
        self.save_error_title = wrapped_label("", "saveErrorTitle")
        self.save_error_label = wrapped_label("", "saveErrorText")
        self.save_error_label.setAccessibleName(self.tr("Save problem"))
        self.retry_button = QPushButton(self.tr("Try saving again"))
        self.retry_button.setAccessibleName(self.tr("Try saving the draft again"))
        self.retry_button.clicked.connect(self.save_now)
        texts.addWidget(self.save_error_title)
        texts.addWidget(self.save_error_label)
        el.addLayout(texts, 1)
        el.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignTop)
        self.save_error_box.hide()
        self.body.addWidget(self.save_error_box)

        self.codes_message = wrapped_label(hidden=True)
        self.body.addWidget(self.codes_message)

        # Returned for revision: the supervisor's comment and what to do next.
        self.returned_box = QFrame()
        self.returned_box.setObjectName("returnedBox")
        rl = QVBoxLayout(self.returned_box)
        rl.setContentsMargins(16, 12, 16, 14)
        rl.setSpacing(6)
        self.returned_title = wrapped_label("", "returnedTitle")
        self.review_comment = wrapped_label("", "reviewComment")
        self.review_comment.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.review_comment.setAccessibleName(self.tr("Supervisor's comment"))
        self.next_step = wrapped_label("", "nextStep")
        self.next_step.setAccessibleName(self.tr("What to do next"))
        self.answer_button = QPushButton(self.tr("Write the addendum"))
        self.answer_button.setObjectName("primary")
        self.answer_button.setAccessibleName(self.tr("Answer the comment with an addendum"))
        self.answer_button.clicked.connect(self._go_to_addendum)
        rl.addWidget(self.returned_title)
        rl.addWidget(self.review_comment)
        rl.addWidget(self.next_step)
        rl.addWidget(self.answer_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.returned_box.hide()
        self.body.addWidget(self.returned_box)

        # Signed and locked.
        self.locked_box = wrapped_label("", "lockedBox")
        self.locked_box.setAccessibleName(self.tr("Signature"))
        self.locked_box.hide()
        self.body.addWidget(self.locked_box)

        self.top_problems = FieldError(self.tr("Problems with this note"))
        self.body.addWidget(self.top_problems)

    def _show_status(self, note: Encounter, bundle: NoteBundle) -> None:
        self.status_chip.setText(self.tr(STATUS_TEXT[note.status]))
        self.status_chip.setProperty("status", note.status.value)
        self._repolish(self.status_chip)
        returned = note.status is NoteStatus.RETURNED
        self.returned_box.setVisible(returned)
        if returned:
            self.returned_title.setText(
                self.tr("Returned for revision by {0} on {1}").format(
                    bundle.name(note.reviewed_by_id),
                    moment_text(note.reviewed_at, twelve_hour=True),
                )
            )
            self.review_comment.setText(note.review_comment)
            self.next_step.setText(
                self.tr("What to do next: ")
                + self.tr(note_form.next_step_for_returned(note, self.ctx.user.id))
            )
            self.answer_button.setVisible(
                note_form.can_add_addendum(note, self.ctx.user.id, self.ctx.is_supervisor)
            )
        if note.status is NoteStatus.DRAFT:
            if note.specialist_id != self.ctx.user.id:
                self.locked_box.setText(
                    self.tr(
                        "This draft belongs to {0}. Only its author can edit and sign it."
                    ).format(bundle.name(note.specialist_id))
                )
                self.locked_box.show()
            else:
                self.locked_box.hide()
        else:
            text = self.tr("Signed by {0} on {1}.").format(
                bundle.name(note.signed_by_id), moment_text(note.signed_at, twelve_hour=True)
            )
            if note.status is NoteStatus.APPROVED:
                text += " " + self.tr("Approved by {0} on {1}.").format(
                    bundle.name(note.reviewed_by_id),
                    moment_text(note.reviewed_at, twelve_hour=True),
                )
            if note.status is NoteStatus.VOID:
                text = self.tr("This note is void: {0}").format(note.void_reason)
            elif note.status is not NoteStatus.RETURNED:
                text += " " + self.tr(
                    "The note is locked: to correct or add something, write an addendum."
                )
            self.locked_box.setText(text)
            self.locked_box.show()
        self.sign_card.setVisible(self._editable)
        self.addenda_card.setVisible(note.status is not NoteStatus.DRAFT)
        self.addendum_form.setVisible(
            note_form.can_add_addendum(note, self.ctx.user.id, self.ctx.is_supervisor)
        )
        # The bar that goes gives its room now, not at the next layout pass, so the
        # one that comes is whole at once (a bar squeezed for a moment cut its text).
        if self.layout() is not None:
            self.layout().activate()
