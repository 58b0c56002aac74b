"""The note editor's helpers around writing: "Copy from last note" (fills the empty
narrative parts with the text of the person's previous note by the same author),
the person's quick phrases (kept in the vault, offered in each field's context
menu), the people's names spell check leaves alone, and saving or printing one note
as a PDF. Part of
:class:`app.ui.notes.note_editor.NoteEditorPage`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QFileDialog

from app.domain.lifecycle import NARRATIVE_FIELDS
from app.services import notes
from app.ui.notes.spelling import Speller


class NoteExtrasMixin:
    """Copy from last note, quick phrases, PDF."""

    def copy_button_state(self) -> None:
        last = self._bundle.last_note if self._bundle is not None else None
        button = self.narrative.copy_button
        button.setEnabled(last is not None and self._editable)
        button.setToolTip(
            self.tr("Fill the empty parts of this note with the text of the last note")
            if last is not None
            else self.tr("This is your first note for this person")
        )

    def copy_from_last(self) -> None:
        """Fill the empty parts of the note with the last note's text (never over what
        is written); the cursor goes to the first part copied."""
        last = self._bundle.last_note if self._bundle is not None else None
        if last is None or not self._editable:
            return
        fmt = self.narrative.note_format()
        first = None
        for name in NARRATIVE_FIELDS[fmt]:
            edit = self.text_edits[name]
            text = getattr(last, name)
            if text and not edit.toPlainText().strip():
                edit.setPlainText(text)
                first = first or edit
        if first is None:
            self.ctx.status_message.emit(self.tr("Nothing copied: every part is written."))
            return
        first.setFocus()
        self.ctx.status_message.emit(self.tr("Copied from the last note: check and change it."))

    # -- quick phrases --------------------------------------------------------------

    def load_phrases(self) -> None:
        def done(phrases: list[str]) -> None:
            self._phrases = phrases
            self._phrases_loaded = True

        self.ctx.run(notes.quick_phrases, done, lambda _e: None, args=(self.ctx.user,))

    def load_names(self) -> None:
        """The names of the people in the vault, which spell check leaves alone."""
        self.ctx.run(notes.known_names, Speller.shared().set_names, lambda _e: None, args=())

    def save_phrases(self, phrases: list[str]) -> None:
        def done(kept: list[str]) -> None:
            self._phrases = kept
            self.ctx.status_message.emit(self.tr("Quick phrases saved."))

        self._phrases = list(phrases)
        self.ctx.run(notes.save_quick_phrases, done, lambda _e: None, args=(self.ctx.user, phrases))

    # -- PDF ------------------------------------------------------------------------

    def ask_pdf(self) -> None:
        """Ask where to save the note as a PDF (to print it, open the file)."""
        if self._note is None:
            return
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        name = f"note-{self._note.service_date.isoformat()}.pdf"
        path, _ = QFileDialog.getSaveFileName(
            self, self.tr("Save the note as a PDF"), str(Path(folder) / name), "PDF (*.pdf)"
        )
        if path:
            self.save_pdf(path)

    def save_pdf(self, path: str) -> None:
        """Write the note as shown to ``path`` on the worker; the status bar says so."""
        draft = self.draft()
        if draft is None:
            return
        self.save_now()
        rows = [
            (self.tr("Modality"), self.modality_combo.currentText()),
            (self.tr("Place"), self.pos_combo.currentText()),
            (self.tr("Location"), draft.location_note),
            (self.tr("Service code"), draft.service_code),
            (self.tr("Modifiers"), ", ".join(draft.modifiers)),
            (self.tr("Units"), self.units_label.text()),
        ]

        def done(written: str) -> None:
            self.pdf_saved.emit(written)
            self.ctx.status_message.emit(self.tr("Note saved as {0}").format(Path(written).name))

        def failed(exc: BaseException) -> None:
            self.ctx.status_message.emit(self._message(exc))

        self.ctx.run(notes.write_note_pdf, done, failed, args=(draft, rows, path, self.clock()))
