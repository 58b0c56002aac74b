"""The supervision sessions list's table model: date, who, format, length and
who has signed.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from app.domain.datetext import day_text
from app.services import supervision
from app.ui.common.table_model import ID_ROLE
from app.ui.common.table_model import AnyIndex
from app.ui.common.table_model import RowsTableModel


class SessionModel(RowsTableModel):
    HEADERS = ("Date", "Format", "Min", "Signed", "With")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[supervision.SessionRow] = []

    def set_rows(self, rows: list[supervision.SessionRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def clear(self) -> None:
        self.set_rows([])

    def row(self, r: int) -> supervision.SessionRow:
        return self._rows[r]

    def find(self, session_id: str) -> int:
        return next((i for i, r in enumerate(self._rows) if r.session.id == session_id), -1)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row, col = self._rows[index.row()], index.column()
        s = row.session
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return day_text(s.session_date)
            if col == 1:
                return str(s.format).capitalize()
            if col == 2:
                return str(s.minutes)
            if col == 3:
                return self.signed_text(row)
            if col == 4:
                return ", ".join(row.specialist_names)
        if role == Qt.ItemDataRole.ToolTipRole and col == 4:
            return ", ".join(row.specialist_names) + "\n" + ", ".join(s.topics)
        if role == ID_ROLE:
            return s.id
        if role == Qt.ItemDataRole.TextAlignmentRole and col == 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def signed_text(self, row: supervision.SessionRow) -> str:
        sig = row.signatures
        if not sig.supervisor:
            return self.tr("Not signed")
        if sig.complete:
            return self.tr("All")
        total = len(sig.signed) + len(sig.waiting)
        return self.tr("{n} of {total}").format(n=len(sig.signed), total=total)
