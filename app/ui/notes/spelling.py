"""Spell check and quick phrases in the narrative fields.

Words are checked with pyspellchecker (a maintained library with its English
word-frequency dictionary; no word list of our own). The dictionary loads once per
process on a background thread when the note editor is first shown, so opening a
note never waits for it; fields are
checked again when it is ready. A misspelled word gets a red wavy underline
(:class:`SpellHighlighter`, a QSyntaxHighlighter) and its suggestions at the top of
the field's context menu (right click, the Menu key or Shift+F10), which also holds
the person's quick phrases: insert one at the cursor, save the selected text as one,
or remove one. Capitalized words are checked too, except the names of the people in
the vault (participants and the team: :meth:`Speller.set_names`, forgotten at lock)
and all-capital acronyms ("GIRP", "SUD"); words with digits are not checked.
"Ignore" hides a word until the app closes.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtCore import Qt
from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtGui import QSyntaxHighlighter
from PySide6.QtGui import QTextCharFormat
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QMenu

from app.ui.notes.note_widgets import GrowingTextEdit

_WORD = re.compile(r"[A-Za-z][A-Za-z']*[A-Za-z]|[A-Za-z]")
MAX_SUGGESTIONS = 5


class Speller(QObject):
    """The one dictionary of the process, loaded in the background."""

    ready_changed = Signal()
    _instance: Speller | None = None

    def __init__(self) -> None:
        super().__init__()
        self._checker: Any = None
        self.ignored: set[str] = set()
        self.names: frozenset[str] = frozenset()  # known names, lower case
        self._unknown: dict[str, bool] = {}
        self._lock = threading.Lock()
        self._started = False

    @classmethod
    def shared(cls) -> Speller:
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def start(self) -> None:
        """Load the dictionary in the background (once; the note editor asks when it
        is first shown, so unlocking never waits for it)."""
        if not self._started:
            self._started = True
            threading.Thread(target=self._load, name="spelling", daemon=True).start()

    def _load(self) -> None:
        try:
            from spellchecker import SpellChecker

            checker = SpellChecker(distance=1)
        except Exception:  # no dictionary: no underlines, the note still works
            return
        with self._lock:
            self._checker = checker
        self.ready_changed.emit()

    @property
    def ready(self) -> bool:
        return self._checker is not None

    def set_names(self, names: frozenset[str]) -> None:
        """The people's names in the open vault (lower case): never marked. Fields
        are checked again."""
        if names != self.names:
            self.names = names
            self.ready_changed.emit()

    def misspelled(self, word: str) -> bool:
        """Whether to underline ``word``: not in the dictionary, not a known name,
        not an acronym (two or more capitals), not ignored."""
        if self._checker is None or len(word) < 2 or word.isupper():
            return False
        w = word.lower().strip("'")
        if w.endswith("'s"):
            w = w[:-2]
        if not w or w in self.ignored or w in self.names:
            return False
        known = self._unknown.get(w)
        if known is None:
            known = self._unknown[w] = w not in self._checker
        return known

    def suggestions(self, word: str) -> list[str]:
        if self._checker is None:
            return []
        found = self._checker.candidates(word.lower()) or set()
        ranked = sorted(found, key=lambda c: -self._checker.word_usage_frequency(c))
        return [c for c in ranked if c != word.lower()][:MAX_SUGGESTIONS]

    def ignore(self, word: str) -> None:
        self.ignored.add(word.lower())
        self._unknown.pop(word.lower(), None)


class SpellHighlighter(QSyntaxHighlighter):
    """A red wavy underline under each word the dictionary does not know."""

    def __init__(self, document: Any, speller: Speller) -> None:
        super().__init__(document)
        self.speller = speller
        self.fmt = QTextCharFormat()
        self.fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.SpellCheckUnderline)
        self.fmt.setUnderlineColor(QColor("#d32f2f"))
        self.active = True  # off in a signed note: nothing there can be corrected
        speller.ready_changed.connect(self.rehighlight, Qt.ConnectionType.QueuedConnection)

    def highlightBlock(self, text: str) -> None:
        if not self.active or not self.speller.ready:
            return
        for m in _WORD.finditer(text):
            if self.speller.misspelled(m.group()):
                self.setFormat(m.start(), m.end() - m.start(), self.fmt)


class NoteTextEdit(GrowingTextEdit):
    """A narrative field: grows with its text, checks spelling, offers quick phrases.

    ``phrases`` returns the person's quick phrases; ``save_phrases`` keeps a new list
    (both set by the page)."""

    def __init__(self) -> None:
        super().__init__(min_lines=2, max_lines=12)
        self.speller = Speller.shared()
        self.highlighter = SpellHighlighter(self.document(), self.speller)
        self.phrases: Callable[[], list[str]] = list
        self.save_phrases: Callable[[list[str]], None] = lambda _p: None

    def setReadOnly(self, read_only: bool) -> None:
        super().setReadOnly(read_only)
        if self.highlighter.active == read_only:
            self.highlighter.active = not read_only
            self.highlighter.rehighlight()

    def word_at(self, cursor: QTextCursor) -> QTextCursor:
        c = QTextCursor(cursor)
        c.select(QTextCursor.SelectionType.WordUnderCursor)
        return c

    def context_menu(self, pos: Any) -> QMenu:
        """The field's menu at ``pos``: spelling suggestions first, then quick
        phrases, then the usual editing actions."""
        menu = self.createStandardContextMenu(pos)
        first = menu.actions()[0] if menu.actions() else None
        word_cursor = self.word_at(self.cursorForPosition(pos))
        word = word_cursor.selectedText()
        if not self.isReadOnly() and self.speller.misspelled(word):
            for s in self.speller.suggestions(word) or []:
                act = menu.addAction(s)
                act.triggered.connect(lambda _c=False, s=s, wc=word_cursor: self._replace(wc, s))
                menu.insertAction(first, act)
            if not self.speller.suggestions(word):
                none = menu.addAction(self.tr("(no suggestions)"))
                none.setEnabled(False)
                menu.insertAction(first, none)
            ignore = menu.addAction(self.tr("Ignore “{0}”").format(word))
            ignore.triggered.connect(lambda: self._ignore(word))
            menu.insertAction(first, ignore)
            menu.insertSeparator(first)
        if not self.isReadOnly():
            menu.insertMenu(first, self._phrases_menu(menu))
            menu.insertSeparator(first)
        return menu

    def _phrases_menu(self, parent: QMenu) -> QMenu:
        sub = QMenu(self.tr("Quick phrases"), parent)
        phrases = self.phrases()
        for p in phrases:
            label = p if len(p) <= 50 else p[:47] + "…"
            act = sub.addAction(label)
            act.triggered.connect(lambda _c=False, p=p: self.insert_phrase(p))
        if not phrases:
            none = sub.addAction(self.tr("(none yet: select text and save it)"))
            none.setEnabled(False)
        sub.addSeparator()
        selected = self.textCursor().selectedText().replace("\u2029", "\n").strip()
        save = sub.addAction(self.tr("Save the selected text as a quick phrase"))
        save.setEnabled(bool(selected))
        save.triggered.connect(lambda: self.save_phrases([*phrases, selected]))
        if phrases:
            remove = sub.addMenu(self.tr("Remove a quick phrase"))
            for p in phrases:
                act = remove.addAction(p if len(p) <= 50 else p[:47] + "…")
                act.triggered.connect(
                    lambda _c=False, p=p: self.save_phrases([x for x in phrases if x != p])
                )
        return sub

    def insert_phrase(self, phrase: str) -> None:
        cursor = self.textCursor()
        before = self.toPlainText()[: cursor.position()]
        sep = " " if before and not before.endswith((" ", "\n")) else ""
        cursor.insertText(sep + phrase)
        self.setTextCursor(cursor)

    def _replace(self, word_cursor: QTextCursor, text: str) -> None:
        word_cursor.insertText(text)

    def _ignore(self, word: str) -> None:
        self.speller.ignore(word)
        self.highlighter.rehighlight()

    def contextMenuEvent(self, event: Any) -> None:
        menu = self.context_menu(event.pos())
        menu.exec(event.globalPos())
        menu.deleteLater()
