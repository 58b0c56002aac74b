"""The caseload's table models: the caseload with its filter, and the preview of
a spreadsheet import (one row per line, what will happen to it).

The caseload model holds
:class:`app.services.caseload.CaseloadRow` values (a participant and the facts
that say whether they need attention) read on the database lane and handed over
with :meth:`CaseloadModel.set_rows`; plain ``Participant`` records are accepted too
(no attention facts). It never reads the store itself. Sorting and filtering (words,
status, program, "needs attention") happen in :class:`CaseloadFilter`, in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QSortFilterProxyModel
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush

from app.domain.attention import AttentionFacts
from app.domain.attention import Reason
from app.domain.datetext import day_text
from app.domain.records import Participant
from app.domain.records import ParticipantStatus
from app.services import importing
from app.services.caseload import CaseloadRow
from app.ui.common.table_model import FLAGS_ROLE
from app.ui.common.table_model import ID_ROLE
from app.ui.common.table_model import SORT_ROLE
from app.ui.common.table_model import AnyIndex
from app.ui.common.table_model import RowsTableModel
from app.ui.shell.theme import themed

COL_NAME = 0
COL_ATTENTION = 1
COL_STATUS = 2
COL_PROGRAM = 3
COL_COUNTY = 4
COL_LAST_CONTACT = 5
COL_INTAKE = 6
COL_MEDICAID = 7
COLUMN_COUNT = 8
_STATUS_ORDER = {
    ParticipantStatus.REFERRED: 0,
    ParticipantStatus.ACTIVE: 1,
    ParticipantStatus.ON_HOLD: 2,
    ParticipantStatus.DISCHARGED: 3,
}


def _as_row(item: CaseloadRow | Participant) -> CaseloadRow:
    if isinstance(item, CaseloadRow):
        return item
    return CaseloadRow(item, AttentionFacts(status=item.status, intake_date=item.intake_date), ())


class CaseloadModel(RowsTableModel):
    """Participants, one row each, read-only."""

    HEADERS = (
        "Name",
        "Needs attention",
        "Status",
        "Program",
        "County",
        "Last contact",
        "Intake",
        "Medicaid ID",
    )

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._sort: list[list[str]] = []

    # -- data in --------------------------------------------------------------

    def set_rows(self, rows: Sequence[CaseloadRow | Participant]) -> None:
        self.beginResetModel()
        self._rows = [_as_row(r) for r in rows]
        # Sorting asks for these n·log n times: work them out once.
        self._sort = [[sort_key(r, c) for c in range(COLUMN_COUNT)] for r in self._rows]
        self.endResetModel()

    def participant(self, row: int) -> Participant:
        return self._rows[row].participant

    def programs(self) -> list[str]:
        return sorted({r.participant.program for r in self._rows if r.participant.program})

    # -- Qt model -------------------------------------------------------------

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        r = self._rows[index.row()]
        p = r.participant
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return display_text(r, col)
        if role == SORT_ROLE:
            return self._sort[index.row()][col]
        if role == ID_ROLE:
            return p.id
        if role == FLAGS_ROLE and col == COL_ATTENTION:
            return r.flags
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_MEDICAID and not p.medicaid_id:
                return "No Medicaid ID on file: services cannot be billed to Medicaid yet."
            if col == COL_ATTENTION and r.flags:
                return "\n".join(f.detail for f in r.flags)
        if role == Qt.ItemDataRole.AccessibleTextRole and col == COL_ATTENTION:
            return display_text(r, col) or "Nothing needs attention"
        return None

    def search_text(self, row: int) -> str:
        """What the filter box matches: name, status, program, county and state."""
        p = self._rows[row].participant
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


def display_text(r: CaseloadRow | Participant, col: int) -> str:
    row = _as_row(r)
    p = row.participant
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
        return day_text(p.intake_date)
    if col == COL_LAST_CONTACT:
        return day_text(row.facts.last_contact)
    if col == COL_ATTENTION:
        return " · ".join(f.text for f in row.flags)
    return ""


def sort_key(r: CaseloadRow | Participant, col: int) -> str:
    """A string that sorts the way a person expects (case-insensitive)."""
    row = _as_row(r)
    p = row.participant
    if col == COL_NAME:
        first = p.preferred_name or p.first_name
        return f"{p.last_name.casefold()}\x00{first.casefold()}"
    if col == COL_STATUS:
        return str(_STATUS_ORDER.get(p.status, 9))
    if col == COL_INTAKE:
        return p.intake_date.isoformat() if p.intake_date else ""
    if col == COL_LAST_CONTACT:
        return row.facts.last_contact.isoformat() if row.facts.last_contact else ""
    if col == COL_ATTENTION:
        # Most reasons first when sorted descending; then by the reasons' kinds.
        return f"{len(row.flags):02d}" + "".join(f.reason.value for f in row.flags)
    return display_text(row, col).casefold()


#: The attention filter's choices: None is everyone.
ANY_REASON = "any"


class CaseloadFilter(QSortFilterProxyModel):
    """Sorts by :data:`SORT_ROLE` and keeps the rows whose words contain every word
    typed in the filter box, with the chosen status, program and attention reason."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._words: list[str] = []
        self._status: ParticipantStatus | None = None
        self._program: str | None = None
        self._attention: Reason | str | None = None

    def _refilter(self, change: Any) -> None:
        self.beginFilterChange()
        change()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_text(self, text: str) -> None:
        self._refilter(lambda: setattr(self, "_words", text.casefold().split()))

    def set_status(self, status: ParticipantStatus | None) -> None:
        self._refilter(lambda: setattr(self, "_status", status))

    def set_program(self, program: str | None) -> None:
        self._refilter(lambda: setattr(self, "_program", program))

    def set_attention(self, reason: Reason | str | None) -> None:
        """None: everyone; :data:`ANY_REASON`: anyone with a reason; a Reason: that one."""
        self._refilter(lambda: setattr(self, "_attention", reason))

    @property
    def filtering(self) -> bool:
        return bool(self._words) or any(
            v is not None for v in (self._status, self._program, self._attention)
        )

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        model = self.sourceModel()
        if not isinstance(model, CaseloadModel):
            return True
        row = model.row_at(source_row)
        p = row.participant
        if self._status is not None and p.status != self._status:
            return False
        if self._program is not None and p.program != self._program:
            return False
        if self._attention == ANY_REASON and not row.flags:
            return False
        if isinstance(self._attention, Reason) and all(
            f.reason is not self._attention for f in row.flags
        ):
            return False
        if not self._words:
            return True
        hay = model.search_text(source_row)
        return all(w in hay for w in self._words)


# -- the import preview ---------------------------------------------------------------

OK, WARNING, BAD = "ok", "warning", "bad"
COLOURS = {BAD: ("#f9dede", "#751818"), WARNING: ("#fff0c7", "#5c3d00"), OK: ("#dcefe6", "#15482f")}


class PreviewModel(RowsTableModel):
    """One row per spreadsheet line: line number, outcome, the reasons, the cells."""

    FIXED = ("Line", "Result", "Why")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.header: list[str] = []

    @property
    def rows(self) -> list[tuple[int, str, str, list[str]]]:
        return self._rows

    def set_preview(self, preview: importing.ImportPreview | None) -> None:
        """The rows of a checked spreadsheet: (line, outcome, why, cells)."""
        rows: list[tuple[int, str, str, list[str]]] = []
        header: list[str] = []
        if preview is not None:
            plan = preview.plan
            errors: dict[int, list[str]] = {}
            warnings: dict[int, list[str]] = {}
            for e in plan.errors:
                errors.setdefault(e.line, []).append(e.message)
            for w in plan.warnings:
                warnings.setdefault(w.line, []).append(w.message)
            header = list(preview.header)
            for line, cells in preview.rows:
                if line in errors:
                    rows.append((line, BAD, "; ".join(errors[line]), cells))
                elif line in warnings:
                    rows.append((line, WARNING, "; ".join(warnings[line]), cells))
                else:
                    rows.append((line, OK, "", cells))
        self.beginResetModel()
        self.header, self._rows = header, rows
        self.endResetModel()

    def counts(self) -> dict[str, int]:
        out = {OK: 0, WARNING: 0, BAD: 0}
        for _line, outcome, _why, _cells in self.rows:
            out[outcome] += 1
        return out

    def headers(self) -> list[str]:
        return [self.tr(h) for h in self.FIXED] + self.header

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        line, outcome, why, cells = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return str(line)
            if col == 1:
                return {
                    OK: self.tr("Will be imported"),
                    WARNING: self.tr("Will be imported — check"),
                    BAD: self.tr("Left out"),
                }[outcome]
            if col == 2:
                return why
            i = col - len(self.FIXED)
            return cells[i] if i < len(cells) else ""
        if role == Qt.ItemDataRole.BackgroundRole and col in (1, 2) and outcome != OK:
            return QBrush(themed(COLOURS[outcome][0]))
        if role == Qt.ItemDataRole.ForegroundRole and col == 1:
            return QBrush(themed(COLOURS[outcome][1]))
        if role == Qt.ItemDataRole.ToolTipRole and why:
            return why
        return None
