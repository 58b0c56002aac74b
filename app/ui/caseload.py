"""The caseload: a table model of participants and the view that shows it.

The model holds plain ``Participant`` records read on the database thread and
handed over with :meth:`CaseloadModel.set_rows` on the UI thread. It never reads
the store itself. Sorting and filtering happen in :class:`CaseloadFilter`, on
the data already in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.domain.records import Participant, ParticipantStatus

AnyIndex = QModelIndex | QPersistentModelIndex

COL_NAME = 0
COL_STATUS = 1
COL_PROGRAM = 2
COL_COUNTY = 3
COL_MEDICAID = 4
COL_INTAKE = 5
COLUMN_COUNT = 6

#: The value a column sorts by (a name sorts by last name, then first name).
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
#: The participant's record id.
ID_ROLE = Qt.ItemDataRole.UserRole + 2

_STATUS_ORDER = {
    ParticipantStatus.REFERRED: 0,
    ParticipantStatus.ACTIVE: 1,
    ParticipantStatus.ON_HOLD: 2,
    ParticipantStatus.DISCHARGED: 3,
}


class CaseloadModel(QAbstractTableModel):
    """Participants, one row each, read-only."""

    HEADERS = ("Name", "Status", "Program", "County", "Medicaid ID", "Intake")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[Participant] = []

    # -- data in --------------------------------------------------------------

    def set_rows(self, rows: Sequence[Participant]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def clear(self) -> None:
        self.set_rows([])

    def participant(self, row: int) -> Participant:
        return self._rows[row]

    # -- Qt model -------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else COLUMN_COUNT

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < COLUMN_COUNT
        ):
            return self.HEADERS[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        p = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return display_text(p, col)
        if role == SORT_ROLE:
            return sort_key(p, col)
        if role == ID_ROLE:
            return p.id
        if role == Qt.ItemDataRole.ToolTipRole and col == COL_MEDICAID and not p.medicaid_id:
            return "No Medicaid ID on file: services cannot be billed to Medicaid yet."
        return None

    def search_text(self, row: int) -> str:
        """What the filter box matches: name, status, program, county and state."""
        p = self._rows[row]
        parts = (
            p.first_name,
            p.preferred_name,
            p.last_name,
            p.status,
            p.program,
            p.county,
            p.state,
        )
        return " ".join(parts).casefold()


def display_text(p: Participant, col: int) -> str:
    if col == COL_NAME:
        return p.display_name
    if col == COL_STATUS:
        return str(p.status).capitalize()
    if col == COL_PROGRAM:
        return p.program
    if col == COL_COUNTY:
        return f"{p.county}, {p.state}" if p.county and p.state else p.county or p.state
    if col == COL_MEDICAID:
        return "On file" if p.medicaid_id else "Missing"
    if col == COL_INTAKE:
        d = p.intake_date
        return f"{d:%b} {d.day}, {d.year}" if d else ""
    return ""


def sort_key(p: Participant, col: int) -> str:
    """A string that sorts the way a person expects (case-insensitive)."""
    if col == COL_NAME:
        first = p.preferred_name or p.first_name
        return f"{p.last_name.casefold()}\x00{first.casefold()}"
    if col == COL_STATUS:
        return str(_STATUS_ORDER.get(p.status, 9))
    if col == COL_INTAKE:
        return p.intake_date.isoformat() if p.intake_date else ""
    return display_text(p, col).casefold()


class CaseloadFilter(QSortFilterProxyModel):
    """Sorts by :data:`SORT_ROLE` and keeps the rows whose words contain every word
    typed in the filter box."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._words: list[str] = []

    def set_text(self, text: str) -> None:
        self.beginFilterChange()
        self._words = text.casefold().split()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        if not self._words:
            return True
        model = self.sourceModel()
        if not isinstance(model, CaseloadModel):
            return True
        hay = model.search_text(source_row)
        return all(w in hay for w in self._words)


class CaseloadView(QWidget):
    """The caseload table with a filter box and a count."""

    participant_activated = Signal(str)  # record id

    def __init__(self, model: CaseloadModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("caseloadPage")
        self.model = model
        self.proxy = CaseloadFilter(self)
        self.proxy.setSourceModel(model)

        title = QLabel("Caseload")
        title.setObjectName("pageTitle")
        self.count_label = QLabel()
        self.count_label.setObjectName("hint")

        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("filter")
        self.filter_edit.setPlaceholderText("Filter by name, program, county or status")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setAccessibleName("Filter the caseload")
        self.filter_edit.textChanged.connect(self._on_filter)

        self.table = QTableView()
        self.table.setObjectName("caseloadTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COL_NAME, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.table.setAccessibleName("Caseload")
        self.table.activated.connect(self._on_activated)

        self.empty_label = QLabel(
            "No participants yet. People you add to your caseload will be listed here."
        )
        self.empty_label.setObjectName("hint")
        self.empty_label.setWordWrap(True)

        top = QHBoxLayout()
        top.addWidget(title)
        top.addStretch(1)
        top.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 12)
        layout.setSpacing(12)
        layout.addLayout(top)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.table, 1)

        for signal in (model.modelReset, self.proxy.rowsInserted, self.proxy.rowsRemoved):
            signal.connect(self._update_count)
        self.proxy.layoutChanged.connect(self._update_count)
        self._update_count()

    def fit_columns(self) -> None:
        """Widen each column to its contents, so no name is cut short; the last
        column takes what is left."""
        for col in range(COLUMN_COUNT - 1):
            self.table.resizeColumnToContents(col)

    def clear(self) -> None:
        self.filter_edit.clear()
        self.model.clear()

    def _on_filter(self, text: str) -> None:
        self.proxy.set_text(text)
        self._update_count()

    def _update_count(self, *_: Any) -> None:
        total = self.model.rowCount()
        shown = self.proxy.rowCount()
        self.empty_label.setVisible(total == 0)
        self.table.setVisible(total > 0)
        self.filter_edit.setEnabled(total > 0)
        noun = "participant" if total == 1 else "participants"
        if shown == total:
            self.count_label.setText(f"{total} {noun}")
        else:
            self.count_label.setText(f"Showing {shown} of {total} {noun}")

    def _on_activated(self, index: QModelIndex) -> None:
        record_id = self.proxy.data(index, ID_ROLE)
        if record_id:
            self.participant_activated.emit(record_id)
