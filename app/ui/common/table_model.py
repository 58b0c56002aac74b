"""The base of the app's table models, and the item data roles they share.

A table model is a list of plain rows (read on the database lane, handed over on
the UI thread with ``set_rows``) shown under translatable headers. Subclasses set
``HEADERS`` (and ``TIPS`` for header tooltips) or override :meth:`headers` when
the columns change with the data. A model that shows text alone writes
:meth:`~RowsTableModel.display` (and :meth:`~RowsTableModel.row_id` when its rows
have no ``id``); one that shows more (tooltips, colours, sort keys) writes
``data()``. Models never read the store.

Roles: every model answers :data:`ID_ROLE` with the record id of a row and
:data:`SORT_ROLE` with the value a proxy sorts by; the other roles are numbered
here too, so two models never give one number two meanings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from typing import ClassVar

from PySide6.QtCore import QAbstractTableModel
from PySide6.QtCore import QModelIndex
from PySide6.QtCore import QPersistentModelIndex
from PySide6.QtCore import Qt

AnyIndex = QModelIndex | QPersistentModelIndex

_USER = Qt.ItemDataRole.UserRole
#: The value a sort proxy sorts by.
SORT_ROLE = _USER + 1
#: The record id of a row (a participant, a note, an entry, a session...).
ID_ROLE = _USER + 2
#: The caseload's attention flags of a row.
FLAGS_ROLE = _USER + 3
#: The kind of work of a timesheet row (hours).
CATEGORY_ROLE = _USER + 4
#: The day of a timesheet column (hours).
DATE_ROLE = _USER + 5
#: A search hit (search results).
HIT_ROLE = _USER + 6
#: A search results header row (search results).
HEADER_ROLE = _USER + 7
#: The page key of a navigation item (workspace).
KEY_ROLE = _USER + 8
#: (table, record id) of a row that may be any kind of record (billing problems).
RECORD_ROLE = _USER + 9


class RowsTableModel(QAbstractTableModel):
    """Rows in a list, one column per header."""

    HEADERS: ClassVar[tuple[str, ...]] = ()
    #: Header tooltips, one per header ("" for none).
    TIPS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[Any] = []

    def set_rows(self, rows: Sequence[Any]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def clear(self) -> None:
        self.set_rows([])

    def row_at(self, row: int) -> Any:
        return self._rows[row]

    def headers(self) -> Sequence[str]:
        """The column titles, translated."""
        return [self.tr(h) for h in self.HEADERS]

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.headers())

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            headers = self.headers()
            return headers[section] if 0 <= section < len(headers) else None
        if role == Qt.ItemDataRole.ToolTipRole and 0 <= section < len(self.TIPS):
            return self.tr(self.TIPS[section]) if self.TIPS[section] else None
        return None

    def _valid(self, index: AnyIndex) -> bool:
        return index.isValid() and 0 <= index.row() < len(self._rows)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """The row's record id (:data:`ID_ROLE`) and each cell's text (``display``)."""
        if not self._valid(index):
            return None
        row = self._rows[index.row()]
        if role == ID_ROLE:
            return self.row_id(row)
        if role == Qt.ItemDataRole.DisplayRole:
            return self.display(row, index.column())
        return None

    def row_id(self, row: Any) -> str:
        """The record id of ``row`` (its ``id``)."""
        return row.id

    def display(self, row: Any, col: int) -> Any:
        """The text of column ``col`` of ``row`` (None: an empty cell)."""
        return None
