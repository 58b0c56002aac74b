"""The Team page's table model: one row per specialist with their caseload, notes
waiting, late notes and hours, sortable by each.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt

from app.domain.datetext import duration_text
from app.domain.supervision import SpecialistSummary
from app.ui.common.table_model import ID_ROLE
from app.ui.common.table_model import SORT_ROLE
from app.ui.common.table_model import AnyIndex
from app.ui.common.table_model import RowsTableModel
from app.ui.shell.theme import themed


class TeamModel(RowsTableModel):
    """One row per specialist, read-only."""

    HEADERS = (
        "Specialist", "Case-\nload", "Services\nwk / mo", "Units\nwk / mo", "To\nreview",
        "Late\n(mo)", "Old\ndrafts", "Direct\n(mo)", "CE\n(12 mo)",
    )  # fmt: skip
    TIPS = (
        "",
        "Active, referred and on-hold participants",
        "Services this week (from Monday) and this month",
        "Billing units by each payer's rounding rule",
        "Signed notes waiting for your review",
        "Notes this month signed more than the overdue limit after the service",
        "Drafts whose service is older than the overdue limit",
        "Direct-service time logged this month",
        "Continuing education in the last 12 months",
    )

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.overdue_days = 3

    def set_rows(self, rows: Sequence[SpecialistSummary], overdue_days: int = 3) -> None:
        self.overdue_days = overdue_days
        super().set_rows(rows)

    def summary(self, row: int) -> SpecialistSummary:
        return self._rows[row]

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        r, col = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return cell_text(r, col)
        if role == SORT_ROLE:
            return cell_sort(r, col)
        if role == ID_ROLE:
            return r.specialist_id
        if role == Qt.ItemDataRole.TextAlignmentRole and col > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and col in (5, 6):
            value = r.overdue_month if col == 5 else r.stale_drafts
            if value:
                return themed("#8a1c1c")
        return None


def cell_text(r: SpecialistSummary, col: int) -> str:
    if col == 0:
        return f"{r.name} ({r.credential})" if r.credential else r.name
    values = {
        1: str(r.caseload),
        2: f"{r.encounters_week} / {r.encounters_month}",
        3: f"{r.units_week} / {r.units_month}",
        4: str(r.awaiting_review),
        5: str(r.overdue_month),
        6: str(r.stale_drafts),
        7: duration_text(round(r.direct_hours_month * 60)),
        8: duration_text(round(r.ce_hours_year * 60)),
    }
    return values.get(col, "")


def cell_sort(r: SpecialistSummary, col: int) -> Any:
    keys = {
        0: r.name.casefold(), 1: r.caseload, 2: r.encounters_month, 3: r.units_month,
        4: r.awaiting_review, 5: r.overdue_month, 6: r.stale_drafts, 7: r.direct_hours_month,
        8: r.ce_hours_year,
    }  # fmt: skip
    return keys.get(col)
