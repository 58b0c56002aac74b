"""A note's lock in the note editor: a note the person may not edit (signed, or
someone else's) shows its fields read-only but still selectable, its controls
disabled and its restyled "locked" look; before a note is loaded nothing can be
typed. Part of :class:`app.ui.notes.note_editor.NoteEditorPage`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QListWidget
from PySide6.QtWidgets import QPlainTextEdit
from PySide6.QtWidgets import QWidget

from app.domain.records import ServiceSetting


class NoteLockMixin:
    """Applies the note's lock to the page's widgets."""

    def _apply_lock(self) -> None:
        editable = self._editable
        self.setProperty("locked", not editable)
        for w in (self.start_edit, self.end_edit, self.location_edit, self.modifiers_edit):
            w.setReadOnly(not editable)
            w.setEnabled(True)
        for w in (
            self.date_edit,
            self.start_ampm,
            self.end_ampm,
            self.modality_combo,
            self.pos_combo,
            self.setting_combo,
            self.code_combo,
            self.girp_radio,
            self.dap_radio,
            self.timer_button,
        ):
            w.setEnabled(editable)
        self.group_spin.setEnabled(editable and self._setting() is ServiceSetting.GROUP)
        for edit in self.text_edits.values():
            edit.setReadOnly(not editable)
            edit.setEnabled(True)
        self.goals_list.setEnabled(True)
        for i in range(self.goals_list.count()):
            item = self.goals_list.item(i)
            flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
            if editable:
                flags |= Qt.ItemFlag.ItemIsUserCheckable
            self._loading = True
            item.setFlags(flags)
            self._loading = False
        for w in (self.passphrase_edit, self.sign_button, self.sign_all_button):
            w.setEnabled(editable)
        self.narrative.copy_button.setVisible(editable)
        self.timer_button.setVisible(editable)
        self.timer_clock.setVisible(editable and self.timer_running)  # room for the line
        self.save_state.setVisible(editable)
        for w in (self.addendum_reason, self.addendum_text, self.addendum_button):
            w.setEnabled(True)
        if self._polished_locked is not (not editable):  # restyling costs; only on a change
            self._polished_locked = not editable
            self._repolish(self)
            for w in self.findChildren(QWidget):
                if isinstance(w, QLineEdit | QPlainTextEdit | QListWidget):
                    self._repolish(w)

    def _set_enabled_all(self, enabled: bool) -> None:
        """Before a note is loaded nothing can be typed (it would have nowhere to go)."""
        self.scroll.widget().setEnabled(enabled)
        if enabled:
            return
        self.setProperty("locked", False)

    @staticmethod
    def _repolish(w: QWidget) -> None:
        w.style().unpolish(w)
        w.style().polish(w)
