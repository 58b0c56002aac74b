"""One search box across participants and notes, with results as you type.

:class:`SearchBox` is a line edit with a drop-down list of results grouped as
People and Notes, each with the matching words highlighted. Typing restarts a
short timer; when it fires the query runs on the database worker
(app.services.search over the full-text index). At most one query is on the worker at
a time: while one runs, later keystrokes only note that the text changed, and
when the answer comes back it is shown only if it answers the text now in the
box — otherwise it is dropped and the newest text is asked for. So a fast typist
never queues a backlog, and a stale answer never replaces a newer one.

Keys: Down/Up move through the results, Enter (or a double-click) opens the
person's record or the note, Ctrl+Shift+N (or the right-click menu) starts a new
note for the highlighted result's person, Esc clears the box. The main window binds Ctrl+F to
:meth:`SearchBox.focus_search` and calls :meth:`SearchBox.clear` when the vault
locks. :class:`SearchBar` is the strip the box sits in above the pages.
"""

from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtCore import QEvent
from PySide6.QtCore import QObject
from PySide6.QtCore import QPoint
from PySide6.QtCore import Qt
from PySide6.QtCore import QTimer
from PySide6.QtCore import Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QAbstractItemView
from PySide6.QtWidgets import QFrame
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QListView
from PySide6.QtWidgets import QMenu
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.services.failures import message_for
from app.services.search import SearchHit
from app.services.search import find
from app.ui.common.forms import wrapped_label
from app.ui.search.results import LIMIT
from app.ui.search.results import ResultDelegate
from app.ui.search.results import SearchResultsModel
from app.ui.shell.context import AppContext

#: How many people and how many notes a query brings back at most.


def normalize(text: str) -> str:
    """The query a text asks for: case and spacing do not change the answer."""
    return " ".join(text.split()).casefold()


def run_search(repos: Any, text: str) -> tuple[str, list[SearchHit]]:
    """On the database worker: the hits for ``text``, with the text they answer."""
    return text, find(repos, text, LIMIT)


# -- the results model -----------------------------------------------------------------------


# -- the box ---------------------------------------------------------------------------------


class SearchBox(QWidget):
    """A search line edit with a drop-down of results from the full-text index."""

    #: The results for this text are on screen (for tests and the benchmark).
    results_shown = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("searchBox")
        self.ctx = ctx
        self.debounce_ms = 30
        self.answered = 0  # answers received from the worker
        self.dropped = 0  # answers dropped because the text had changed
        self.shown_text = ""  # the text whose results are on screen
        self._in_flight: str | None = None  # the text being searched on the worker
        self._open_when_ready = False  # Enter was pressed before the results came

        self.edit = QLineEdit()
        self.edit.setObjectName("searchEdit")
        self.edit.setPlaceholderText(self.tr("Search people and notes  (Ctrl+F)"))
        self.edit.setAccessibleName(self.tr("Search people and notes"))
        self.edit.setAccessibleDescription(
            self.tr("Results appear as you type. Down arrow to pick, Enter to open, Esc to clear.")
        )
        self.edit.setClearButtonEnabled(True)
        self.edit.textChanged.connect(self._on_text)
        self.edit.installEventFilter(self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit)

        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._ask)

        self.model = SearchResultsModel(self)
        self.popup = QFrame()
        self.popup.setObjectName("searchPopup")
        self.popup.setAccessibleName(self.tr("Search results"))
        self.popup.hide()
        self.list = QListView(self.popup)
        self.list.setObjectName("searchResults")
        self.list.setModel(self.model)
        self.list.setItemDelegate(ResultDelegate(self.list))
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # typing stays in the box
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setAccessibleName(self.tr("Search results"))
        self.list.doubleClicked.connect(lambda index: self.open_row(index.row()))
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._row_menu)
        self.status = wrapped_label(name="searchStatus")
        pl = QVBoxLayout(self.popup)
        pl.setContentsMargins(1, 1, 1, 1)
        pl.setSpacing(0)
        pl.addWidget(self.status)
        pl.addWidget(self.list, 1)
        self._window: QWidget | None = None
        popup = self.popup
        # The popup may be gone already when the window closes with the bar in it.
        self.destroyed.connect(lambda *_: popup.deleteLater() if shiboken6.isValid(popup) else None)

    # -- what the lead binds ---------------------------------------------------------------

    def focus_search(self) -> None:
        """Ctrl+F: put the cursor in the box, the text selected, results showing."""
        self.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.edit.selectAll()
        if self.edit.text().strip():
            self._show_popup()

    def clear(self) -> None:
        """Forget the text and every result (the vault is locking, or Esc)."""
        self.timer.stop()
        self._open_when_ready = False
        self.edit.blockSignals(True)
        self.edit.clear()
        self.edit.blockSignals(False)
        self.model.clear()
        self.shown_text = ""
        self.status.clear()
        self.popup.hide()

    # -- asking ------------------------------------------------------------------------------

    def _on_text(self, text: str) -> None:
        self._open_when_ready = False
        if not normalize(text):
            self.timer.stop()
            self.model.clear()
            self.shown_text = ""
            self.popup.hide()
            return
        self.timer.start(self.debounce_ms)

    def _ask(self) -> None:
        text = self.edit.text()
        if not normalize(text) or self._in_flight is not None:
            return  # the answer in flight will ask again for the newest text
        if normalize(text) == normalize(self.shown_text):
            self.shown_text = text
            self.results_shown.emit(text)  # already on screen (a space was typed)
            self._after_results()
            return
        self._in_flight = text
        if not self.model.rowCount():
            self.status.setText(self.tr("Searching…"))
            self._show_popup()
        self.ctx.run(run_search, self._answer, self._failed, args=(text,))

    def _answer(self, result: tuple[str, list[SearchHit]]) -> None:
        text, hits = result
        self._in_flight = None
        self.answered += 1
        if normalize(text) != normalize(self.edit.text()):
            self.dropped += 1
            if normalize(self.edit.text()):
                self._ask()
            return
        self.model.set_hits(hits)
        self.shown_text = self.edit.text()
        if hits:
            self.status.setText("")
            self.status.hide()
            self.list.setCurrentIndex(self.model.index(self.model.first_hit_row(), 0))
        else:
            self.status.setText(self.tr("No people or notes match “{text}”.").format(text=text))
            self.status.show()
        if self.edit.hasFocus() or self.popup.isVisible():
            self._show_popup()
        self.list.scrollToTop()
        self.results_shown.emit(text)
        self._after_results()

    def _after_results(self) -> None:
        if self._open_when_ready:
            self._open_when_ready = False
            row = self.list.currentIndex().row()
            self.open_row(row if row >= 0 else self.model.first_hit_row())

    def _failed(self, exc: BaseException) -> None:
        self._in_flight = None
        self.status.setText(self.tr("Search failed: ") + message_for(exc))
        self.status.show()
        self._show_popup()

    # -- the drop-down ---------------------------------------------------------------------

    def _show_popup(self) -> None:
        window = self.window()
        if window is self:
            return
        if self._window is not window:
            if self._window is not None:
                self._window.removeEventFilter(self)
            self._window = window
            self.popup.setParent(window)
            window.installEventFilter(self)
        self.status.setVisible(bool(self.status.text()))
        self.list.setVisible(self.model.rowCount() > 0)
        self._place_popup()
        self.popup.show()
        self.popup.raise_()

    def _place_popup(self) -> None:
        window = self._window
        if window is None:
            return
        fm = self.edit.fontMetrics()
        top_left = self.edit.mapTo(window, QPoint(0, self.edit.height() + 4))
        width = min(
            max(self.edit.width(), fm.averageCharWidth() * 60), window.width() - top_left.x() - 12
        )
        rows_height = sum(self.list.sizeHintForRow(r) for r in range(self.model.rowCount()))
        status_h = self.status.sizeHint().height() if self.status.text() else 0
        room = window.height() - top_left.y() - 16
        height = min(room, rows_height + status_h + 4)
        self.popup.setGeometry(
            top_left.x(), top_left.y(), max(width, 200), max(height, status_h + 6, 40)
        )

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.edit:
            if event.type() == QEvent.Type.ShortcutOverride and self._is_new_note(event):  # type: ignore[arg-type]
                event.accept()  # Ctrl+Shift+N here is for the highlighted result
                return True
            if event.type() == QEvent.Type.KeyPress and self._key(event):  # type: ignore[arg-type]
                return True
            if event.type() == QEvent.Type.FocusOut:
                QTimer.singleShot(0, self._hide_unless_focused)
            if event.type() == QEvent.Type.FocusIn and self.model.rowCount():
                self._show_popup()
        elif (
            obj is self._window
            and event.type() in (QEvent.Type.Resize, QEvent.Type.Move)
            and self.popup.isVisible()
        ):
            self._place_popup()
        return False

    def _hide_unless_focused(self) -> None:
        if not self.edit.hasFocus():
            self.popup.hide()

    def _is_new_note(self, event: QKeyEvent) -> bool:
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        wanted = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
        return event.key() == Qt.Key.Key_N and mods == wanted and self.model.rowCount() > 0

    def _row_menu(self, pos: QPoint) -> None:
        index = self.list.indexAt(pos)
        if self.model.hit(index.row()) is None:
            return
        self.list.setCurrentIndex(index)
        self.row_menu(index.row()).exec(self.list.viewport().mapToGlobal(pos))

    def row_menu(self, row: int) -> QMenu:
        """Open the result, or write a new note for its person."""
        menu = QMenu(self.list)
        menu.setAccessibleName(self.tr("Search result actions"))
        hit = self.model.hit(row)
        opening = self.tr("Open note") if hit and hit.kind == "note" else self.tr("Open record")
        menu.addAction(opening, lambda: self.open_row(row))
        new = menu.addAction(self.tr("New note for this person"), lambda: self.new_note_row(row))
        new.setShortcut(QKeySequence("Ctrl+Shift+N"))
        return menu

    def new_note_row(self, row: int) -> None:
        """A new note for the person of the result in ``row`` (a person or a note)."""
        hit = self.model.hit(row)
        if hit is None or not hit.participant_id:
            return
        self.popup.hide()
        self.ctx.open_note.emit("", hit.participant_id)

    def _key(self, event: QKeyEvent) -> bool:
        key = event.key()
        if self._is_new_note(event):
            row = self.list.currentIndex().row()
            self.new_note_row(row if row >= 0 else self.model.first_hit_row())
            return True
        if key == Qt.Key.Key_Escape:
            if self.edit.text() or self.popup.isVisible():
                self.clear()
                return True
            return False
        if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
            if not self.model.rowCount():
                return False
            self._show_popup()
            row = self.list.currentIndex().row()
            if row < 0:
                row = self.model.first_hit_row()
            else:
                row = self.model.next_hit_row(row, 1 if key == Qt.Key.Key_Down else -1)
            self.list.setCurrentIndex(self.model.index(row, 0))
            self.list.scrollTo(self.model.index(row, 0))
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if self.timer.isActive() or self._in_flight is not None:
                self._open_when_ready = True  # open the first hit when it comes
                return True
            row = self.list.currentIndex().row()
            self.open_row(row if row >= 0 else self.model.first_hit_row())
            return True
        return False

    def open_row(self, row: int) -> None:
        """Open the person or the note in ``row``."""
        hit = self.model.hit(row)
        if hit is None:
            return
        self.popup.hide()
        if hit.kind == "note":
            self.ctx.open_note.emit(hit.record_id, hit.participant_id)
        else:
            self.ctx.open_participant.emit(hit.participant_id)


class SearchBar(QWidget):
    """The strip above the pages that holds the search box."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("searchBar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.box = SearchBox(ctx)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 8, 16, 8)
        layout.addWidget(self.box, 3)
        layout.addStretch(2)

    def focus_search(self) -> None:
        self.box.focus_search()

    def clear(self) -> None:
        self.box.clear()
