"""Tables of records: the app's read-only table look (:func:`read_only_table`), and
columns that fit their table (no sideways scrolling on a small laptop).

:class:`ColumnFitter` keeps a QTableView's visible columns exactly as wide as its
viewport. Each column has a natural width (its widest text, measured by the page
or by :func:`measure_columns`) and a minimum; when the natural widths do not fit,
the *elastic* columns (names, details, notes: text that can be cut with "…")
give up room, one after the other in the order given, down to their minimum;
when even the minimums do not fit, the columns in ``hide_order`` are hidden one
by one (least important first) and come back when the window is wide enough
again. Room left over goes to the
``stretch`` columns. The widths are worked out again whenever the viewport
changes size (the window is resized, a vertical scroll bar comes or goes).

When the text size changes (Preferences), the widths are measured again with the
new font (:attr:`ColumnFitter.remeasure`), so no text is cut while another column
has room.

A person can still choose: right-clicking the header lists the columns; showing
a column that was hidden for lack of room keeps it shown (the table may then
scroll sideways, as they asked), and hiding one keeps it hidden.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence

from PySide6.QtCore import QAbstractItemModel
from PySide6.QtCore import QEvent
from PySide6.QtCore import QObject
from PySide6.QtCore import QPoint
from PySide6.QtCore import Qt
from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction
from PySide6.QtGui import QFont
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QAbstractItemView
from PySide6.QtWidgets import QHeaderView
from PySide6.QtWidgets import QMenu
from PySide6.QtWidgets import QTableView
from PySide6.QtWidgets import QTableWidget

#: How many rows are measured for natural widths (wider rows further down are cut
#: with "…", which the elastic columns do anyway).
SAMPLE_ROWS = 400


def measure_columns(
    table: QTableView,
    columns: Iterable[int] | None = None,
    extra: Callable[[int], int] | None = None,
) -> dict[int, int]:
    """The natural width of each column: the widest of its bold header (with room
    for a sort arrow) and its first :data:`SAMPLE_ROWS` texts, plus the item padding
    of the style sheet. ``extra(col)`` adds a column's own room (e.g. an icon)."""
    model = table.model()
    if model is None:
        return {}
    cols = list(range(model.columnCount())) if columns is None else list(columns)
    fm = table.fontMetrics()
    bold = QFont(table.font())
    bold.setBold(True)
    header_fm = QFontMetrics(bold)
    pad = 2 * 8 + fm.averageCharWidth() * 2  # the sheet's item padding, and some air
    rows = min(model.rowCount(), SAMPLE_ROWS)
    out: dict[int, int] = {}
    for col in cols:
        header = str(model.headerData(col, Qt.Orientation.Horizontal) or "")
        arrow = fm.height() if table.isSortingEnabled() else 0
        widest = header_fm.horizontalAdvance(header) + pad + arrow
        texts = {str(model.index(r, col).data() or "") for r in range(rows)}
        for text in texts:
            widest = max(widest, fm.horizontalAdvance(text) + pad)
        out[col] = widest + (extra(col) if extra else 0)
    return out


class ColumnFitter(QObject):
    """Fits a table's columns to its width (see the module's docstring)."""

    def __init__(
        self,
        table: QTableView,
        elastic: Sequence[int] = (),
        stretch: Sequence[int] = (),
        hide_order: Sequence[int] = (),
        min_chars: int | dict[int, int] = 10,
    ) -> None:
        """``min_chars``: how narrow an elastic column may get, in average characters
        (one number for all, or per column; a column's header always fits)."""
        super().__init__(table)
        self.table = table
        self.elastic = list(elastic)
        self.stretch = list(stretch) or list(elastic[:1])
        self.hide_order = list(hide_order)
        self.min_chars = min_chars
        self.natural: dict[int, int] = {}
        self.minimum: dict[int, int] = {}
        self.auto_hidden: set[int] = set()
        self.pinned: set[int] = set()  # shown by the person, never hidden for room
        self.user_hidden: set[int] = set()
        self._applying = False
        #: Measures the natural widths again (set by :meth:`measure`, or by a page
        #: that measures its own); called when the table's font changes.
        self.remeasure: Callable[[], None] | None = None
        self._remeasure_queued = False
        table.installEventFilter(self)
        header = table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._menu)
        table.viewport().installEventFilter(self)

    # -- widths --------------------------------------------------------------------------

    def set_natural(self, widths: dict[int, int], minimum: dict[int, int] | None = None) -> None:
        """The natural widths (measured with the data shown), and any column's own
        minimum; fits at once."""
        self.natural = dict(widths)
        fm = self.table.fontMetrics()
        bold = QFont(self.table.font())
        bold.setBold(True)
        header_fm = QFontMetrics(bold)
        model = self.table.model()
        self.minimum = {}
        for col, natural in self.natural.items():
            if minimum and col in minimum:
                self.minimum[col] = min(natural, minimum[col])
            elif col in self.elastic:
                chars = (
                    self.min_chars.get(col, 10)
                    if isinstance(self.min_chars, dict)
                    else self.min_chars
                )
                floor = fm.averageCharWidth() * chars + 2 * 8
                title = str(model.headerData(col, Qt.Orientation.Horizontal) or "")
                least = max(floor, header_fm.horizontalAdvance(title) + 2 * 8)
                self.minimum[col] = min(natural, least)
            else:
                self.minimum[col] = natural
        # Qt never makes a section narrower than the header's minimum: plan with it.
        floor = self.table.horizontalHeader().minimumSectionSize()
        for col in self.natural:
            self.natural[col] = max(self.natural[col], floor)
            self.minimum[col] = max(self.minimum[col], floor)
        self.apply()

    def measure(self, extra: Callable[[int], int] | None = None) -> None:
        """Measure every column's texts and fit."""
        self.remeasure = lambda: self.measure(extra)
        self.set_natural(measure_columns(self.table, extra=extra))

    def _font_changed(self) -> None:
        self._remeasure_queued = False
        if self.remeasure is not None and self.natural:
            self.remeasure()

    def available(self) -> int:
        return self.table.viewport().width()

    def plan(self, available: int) -> tuple[dict[int, int], set[int]]:
        """(width of each shown column, columns hidden for lack of room)."""
        model = self.table.model()
        count = model.columnCount() if model is not None else 0
        shown = [c for c in range(count) if c not in self.user_hidden and c in self.natural]
        hidden: set[int] = set()
        for col in self.hide_order:
            if sum(self.minimum[c] for c in shown) <= available:
                break
            if col in shown and col not in self.pinned:
                shown.remove(col)
                hidden.add(col)
        widths = {c: self.natural[c] for c in shown}
        excess = sum(widths.values()) - available
        if excess > 0:
            # Elastic columns give up room in the order given, each down to its minimum.
            for c in self.elastic:
                if excess <= 0:
                    break
                if c in widths:
                    cut = min(excess, widths[c] - self.minimum[c])
                    widths[c] -= cut
                    excess -= cut
        else:
            grow = [c for c in self.stretch if c in widths] or shown[-1:]
            for i, c in enumerate(grow):
                share = -excess // len(grow) + (1 if i < -excess % len(grow) else 0)
                widths[c] += share
        return widths, hidden

    def apply(self) -> None:
        if self._applying or not self.natural:
            return
        self._applying = True
        try:
            widths, hidden = self.plan(self.available())
            self.auto_hidden = hidden
            for col in range(self.table.model().columnCount()):
                off = col in hidden or col in self.user_hidden
                if self.table.isColumnHidden(col) != off:
                    self.table.setColumnHidden(col, off)
            for col, w in widths.items():
                if self.table.columnWidth(col) != w:
                    self.table.setColumnWidth(col, w)
        finally:
            self._applying = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and watched is self.table.viewport():
            self.apply()
        elif (
            watched is self.table
            and event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange)
            and not self._remeasure_queued
        ):
            self._remeasure_queued = True  # once the new font is in place everywhere
            QTimer.singleShot(0, self, self._font_changed)  # not after the table is gone
        return False

    # -- choosing columns ------------------------------------------------------------------

    def set_shown(self, col: int, shown: bool) -> None:
        """The person shows or hides a column (from the header's menu)."""
        if shown:
            self.user_hidden.discard(col)
            if col in self.auto_hidden:
                self.pinned.add(col)
        else:
            self.pinned.discard(col)
            self.user_hidden.add(col)
        self.apply()

    def _menu(self, pos: QPoint) -> None:
        menu = self.column_menu()
        menu.exec(self.table.horizontalHeader().mapToGlobal(pos))

    def column_menu(self) -> QMenu:
        model = self.table.model()
        menu = QMenu(self.table)
        menu.setAccessibleName(self.tr("Columns to show"))
        for col in range(model.columnCount()):
            title = str(model.headerData(col, Qt.Orientation.Horizontal) or "")
            action = QAction(title, menu)
            action.setCheckable(True)
            action.setChecked(not self.table.isColumnHidden(col))
            if col in self.auto_hidden:
                action.setText(self.tr("{0} (hidden: not enough room)").format(title))
            action.toggled.connect(lambda on, c=col: self.set_shown(c, on))
            menu.addAction(action)
        return menu


def read_only_table(
    name: str, accessible: str = "", model: QAbstractItemModel | None = None
) -> QTableView:
    """A list of records as the app shows them: whole rows selected one at a time,
    not editable, alternating rows, no grid, no row numbers, headers left-aligned;
    Tab moves on to the next control (the arrows move within the table)."""
    t = QTableView()
    t.setObjectName(name)
    if accessible:
        t.setAccessibleName(accessible)
    if model is not None:
        t.setModel(model)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setTabKeyNavigation(False)
    t.setAlternatingRowColors(True)
    t.setWordWrap(False)
    t.setShowGrid(False)
    t.verticalHeader().hide()
    header = t.horizontalHeader()
    header.setStretchLastSection(True)
    header.setHighlightSections(False)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    return t


def read_only_widget_table(name: str, accessible: str, headers: Sequence[str]) -> QTableWidget:
    """A table of fixed cells (QTableWidget) with these column ``headers``: whole rows
    selected, not editable, no row numbers."""
    t = QTableWidget(0, len(headers))
    t.setObjectName(name)
    t.setAccessibleName(accessible)
    t.setHorizontalHeaderLabels(list(headers))
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.verticalHeader().hide()
    return t
