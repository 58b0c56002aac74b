"""The review queue's table model and filter: notes waiting for a supervisor, how long
they have waited and why they are flagged.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from PySide6.QtCore import QSortFilterProxyModel
from PySide6.QtCore import Qt

from app.domain.datetext import day_text
from app.domain.datetext import short_day_text
from app.services import review
from app.ui.common.supervisor_widgets import plural
from app.ui.common.table_model import ID_ROLE
from app.ui.common.table_model import SORT_ROLE
from app.ui.common.table_model import AnyIndex
from app.ui.common.table_model import RowsTableModel


class QueueModel(RowsTableModel):
    HEADERS = ("Service", "Participant", "Specialist", "Units", "Waiting", "")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[review.QueueRow] = []
        self.today = date.today()

    def set_rows(self, rows: list[review.QueueRow], today: date | None = None) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.today = today or date.today()
        self.endResetModel()

    def clear(self) -> None:
        self.set_rows([])

    def row(self, r: int) -> review.QueueRow:
        return self._rows[r]

    def rows(self) -> list[review.QueueRow]:
        return list(self._rows)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        r, col = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                d = r.service_date
                return short_day_text(d, self.today)
            if col == 1:
                return r.participant_name
            if col == 2:
                return r.specialist_name
            if col == 3:
                return str(r.units)
            if col == 4:
                return plural(self, self.waiting_days(r), "1 day", "{n} days")
            if col == 5:
                return self.flag_text(r)
        if role == SORT_ROLE:
            keys = (
                (r.service_date.isoformat(), r.start_time.isoformat() if r.start_time else ""),
                r.participant_name.casefold(),
                r.specialist_name.casefold(),
                r.units,
                self.waiting_days(r),
                self.flag_text(r),
            )
            return str(keys[col]) if col == 0 else keys[col]
        if role == ID_ROLE:
            return r.id
        if role == Qt.ItemDataRole.ToolTipRole and col == 0:
            return self.tr("{day}, {minutes} minutes").format(
                day=day_text(r.service_date), minutes=r.minutes
            )
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (3, 4):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and col == 5 and r.conflict:
            return self.tr("Two review decisions met on this note: open it to see them.")
        return None

    def waiting_days(self, r: review.QueueRow) -> int:
        if r.signed_at is None:
            return 0
        return max(0, (self.today - r.signed_at.date()).days)

    def flag_text(self, r: review.QueueRow) -> str:
        parts = []
        if r.conflict:
            parts.append(self.tr("Conflict"))
        if r.addenda:
            parts.append(self.tr("Addendum"))
        return ", ".join(parts)


class QueueFilter(QSortFilterProxyModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.specialist_id = ""
        self.participant_id = ""

    def set_filter(self, specialist_id: str, participant_id: str) -> None:
        self.beginFilterChange()
        self.specialist_id, self.participant_id = specialist_id, participant_id
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, _parent: AnyIndex) -> bool:
        model = self.sourceModel()
        if not isinstance(model, QueueModel):
            return True
        r = model.row(source_row)
        if self.specialist_id and r.specialist_id != self.specialist_id:
            return False
        return not (self.participant_id and r.participant_id != self.participant_id)
