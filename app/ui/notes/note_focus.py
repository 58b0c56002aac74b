"""Where the keyboard focus goes in the note editor: the note opens with the cursor
in its first narrative part; Tab and Shift+Tab go round the page's own fields
(never on to the navigation list); Esc goes back to the person's record, the draft
saved on the way. Part of :class:`app.ui.notes.note_editor.NoteEditorPage`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QWidget

from app.ui.notes.narrative import first_field


class NoteFocusMixin:
    """First field, Tab round the page, Esc."""

    def _first_field(self) -> str:
        return first_field(self.narrative.note_format())

    def _focus_first(self) -> None:
        """A note opens with the cursor at the end of its first narrative part."""
        edit = self.text_edits[self._first_field()]
        if self.isVisible():
            edit.setFocus(Qt.FocusReason.OtherFocusReason)
            edit.moveCursor(edit.textCursor().MoveOperation.End)

    def leave(self) -> None:
        """Esc: back to the person's record. The draft is saved on the way, so nothing
        is asked; a save that is failing keeps the person here (the banner says why)."""
        if self._save_error and self.dirty:
            self.save_now()
            self.save_error_box.show()
            self.retry_button.setFocus()
            return
        self._back()

    def focusNextPrevChild(self, next: bool) -> bool:
        """Tab and Shift+Tab go round the page's own fields: past the last one, back
        to the first (never on to the navigation list)."""
        current = QApplication.focusWidget()
        if not self.isVisible() or current is None or not self.isAncestorOf(current):
            return super().focusNextPrevChild(next)  # the page is being hidden: Qt's way
        chain = self._focus_chain()
        if not chain:
            return super().focusNextPrevChild(next)
        i = chain.index(current) if current in chain else (-1 if next else 0)
        target = chain[(i + (1 if next else -1)) % len(chain)]
        reason = Qt.FocusReason.TabFocusReason if next else Qt.FocusReason.BacktabFocusReason
        target.setFocus(reason)
        if isinstance(target, QLineEdit) and reason is Qt.FocusReason.TabFocusReason:
            target.selectAll()
        self.scroll.ensureWidgetVisible(target, 10, 10)
        return True

    def _focus_chain(self) -> list[QWidget]:
        """The widgets Tab stops at, in Qt's focus order, within this page."""
        out: list[QWidget] = []
        w = self.nextInFocusChain()
        while w is not self and w is not None and len(out) < 500:
            if (
                self.isAncestorOf(w)
                and w.isVisibleTo(self)
                and w.isEnabled()
                and w.focusPolicy() & Qt.FocusPolicy.TabFocus
                and w.focusProxy() is None
            ):
                out.append(w)
            w = w.nextInFocusChain()
        return out
