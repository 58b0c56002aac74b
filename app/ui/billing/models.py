"""The billing dialog's table models: the pre-flight problems of an export, one row
per record and check, with how many services each holds back; and the batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex
from PySide6.QtCore import Qt

from app.billing.worksheet import money
from app.services.billing import ExportResult
from app.services.billing_batches import BatchRow
from app.ui.common.table_model import RECORD_ROLE
from app.ui.common.table_model import RowsTableModel


@dataclass(frozen=True)
class ProblemRow:
    table: str
    record_id: str
    record: str  # what the record is, in words (may name a person: on screen only)
    problem: str
    services: int


class ProblemModel(RowsTableModel):
    """The pre-flight problems, one row per record and check."""

    HEADERS = ("Record", "Problem", "Held back")
    RECORD_ROLE = RECORD_ROLE  # (table, record id)

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return (r.record, r.problem, str(r.services))[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 0:
            return "Double-click to open this record and fix it"
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == self.RECORD_ROLE:
            return (r.table, r.record_id)
        return None


def rows_from(result: ExportResult) -> list[ProblemRow]:
    return [
        ProblemRow(
            p.table,
            p.record_id,
            result.labels.get((p.table, p.record_id), p.table),
            p.message[:1].upper() + p.message[1:],
            len(p.encounter_ids),
        )
        for p in result.problems
    ]


class BatchModel(RowsTableModel):
    """The billing batches this vault knows (app.services.billing_batches.batch_rows)."""

    HEADERS = ("Control", "Payer", "Period", "Claims", "Services", "Total", "Exported by",
               "When", "Status")  # fmt: skip
    BATCH_ROLE = RECORD_ROLE  # the batch id

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r: BatchRow = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                r.control, r.payer, r.period, str(r.claims), str(r.services),
                f"${money(r.total_cents)}", r.exported_by, r.exported_at, r.status,
            )[index.column()]  # fmt: skip
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in (3, 4, 5):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == self.BATCH_ROLE:
            return r.id
        return None
