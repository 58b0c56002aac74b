"""Saving the note editor's draft: on the database lane a few seconds after a change,
when focus leaves a field, on Ctrl+S and before locking or closing; what a failed
save says, and the save state in the header. Part of
:class:`app.ui.notes.note_editor.NoteEditorPage`.
"""

from __future__ import annotations

from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QWidget

from app.domain import note_form
from app.domain.datetext import clock_text
from app.domain.lifecycle import LifecycleError
from app.domain.records import Encounter
from app.services import notes
from app.services.failures import DiskFull
from app.services.failures import NotFound
from app.services.failures import StoreError
from app.services.failures import log_failure


class NoteSavingMixin:
    """Autosave, save now, and the save state shown in the header."""

    @property
    def dirty(self) -> bool:
        return self._rev != self._saved_rev

    def save_now(self) -> None:
        """Queue a save of the draft as it is now on the database worker. Safe to call
        at any time (nothing to save: nothing happens); the lead window calls it before
        locking and closing, and the worker runs it before closing the store."""
        self._autosave.stop()
        if self._note is None or not self._editable or not self.dirty:
            return
        rev = self._rev
        if rev == self._queued_rev:
            return  # this very state is already on its way
        self._queued_rev = rev
        draft = self.draft()
        assert draft is not None and self._baseline is not None
        fields = note_form.changed_content(self._baseline, draft)
        generation = self._generation
        self._saves_in_flight += 1
        self._show_save_state(saving=True)

        def done(note: Encounter) -> None:
            self._saves_in_flight -= 1
            if generation != self._generation:
                return
            self._stored = True
            self._note = note
            self._baseline = draft
            self._saved_rev = max(self._saved_rev, rev)
            self._save_error = ""
            self.save_error_box.hide()
            self._last_saved_at = self.clock()
            self._show_save_state()
            self.saved.emit(note.id)

        def failed(exc: BaseException) -> None:
            self._saves_in_flight -= 1
            if generation != self._generation:
                return
            if self._queued_rev == rev:
                self._queued_rev = -1  # the next save tries this state again
            title, _, body = self._save_message(exc).partition("\n")
            self._save_error = message = f"{title} {body}"
            self.save_error_title.setText(title)
            self.save_error_label.setText(body)
            self.save_error_box.show()
            self._show_save_state()
            self.save_failed.emit(message)

        self.ctx.run(notes.save_draft, done, failed, args=(draft, fields), origin=self)

    def _save_message(self, exc: BaseException) -> str:
        if isinstance(exc, DiskFull):
            return self.tr(
                "The disk is full, so your latest changes are not saved yet.\n"
                "They are still here in the editor: do not close it. Free some space on "
                "this computer (empty the recycle bin, delete large downloads), then press "
                "Try saving again or keep typing; PeerTrail tries again at every save."
            )
        if isinstance(exc, LifecycleError):
            return self.tr(
                "This note was signed or changed elsewhere, so this draft was not saved "
                "over it.\nYour text is still here: copy what you need into an addendum."
            )
        return self.tr("Your latest changes could not be saved.\n{0} They are still here.").format(
            self._message(exc)
        )

    def _message(self, exc: BaseException) -> str:
        if isinstance(exc, NotFound):
            return self.tr("That note or person is not in this vault (it may have been removed).")
        if isinstance(exc, StoreError | LifecycleError):
            return note_form.plain_sentence(str(exc))
        log_failure("note editor", exc)
        return self.tr("Something went wrong ({0}). Nothing was lost.").format(type(exc).__name__)

    def _show_save_state(self, saving: bool = False) -> None:
        note = self._note
        if note is None:
            self.save_state.clear()
            return
        if not self._editable:
            self.save_state.setText("")
            return
        prop = "ok"
        if self._save_error:
            text, prop = self.tr("Not saved"), "error"
        elif saving or (self.dirty and self._queued_rev == self._rev):
            text = self.tr("Saving…")
        elif self.dirty:
            text = self.tr("Unsaved changes")
        elif self._last_saved_at is not None and self._stored:
            text = self.tr("Saved {0}").format(clock_text(self._last_saved_at.time()))
        elif self._stored:
            text = self.tr("Draft saved")
        else:
            text = self.tr("New note — saved as you type")
        self.save_state.setText(text)
        if self.save_state.property("state") != prop:
            self.save_state.setProperty("state", prop)
            self._repolish(self.save_state)

    def _has_focus_inside(self) -> bool:
        focus = QApplication.focusWidget()
        return focus is not None and self.isAncestorOf(focus)

    def _on_focus_changed(self, old: QWidget | None, _new: QWidget | None) -> None:
        if old is not None and self.dirty and self.isAncestorOf(old):
            self.save_now()
