"""The Hours page's table models: the weekly timesheet (kinds of work by day) and the
week's entries, with the labels and date texts they share. No widgets here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from datetime import timedelta
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush
from PySide6.QtGui import QFont

from app.domain.datetext import clock_duration_text
from app.domain.datetext import day_range_text
from app.domain.datetext import day_text
from app.domain.datetext import duration_text
from app.domain.datetext import short_duration_text
from app.domain.datetext import time_range_text
from app.domain.datetext import weekday_text
from app.domain.hours import DAYS_IN_WEEK
from app.domain.hours import SHEET_CATEGORIES
from app.domain.hours import ServiceSpan
from app.domain.hours import WeekSheet
from app.domain.records import TimeCategory
from app.domain.records import TimeEntry
from app.ui.common.table_model import CATEGORY_ROLE
from app.ui.common.table_model import DATE_ROLE
from app.ui.common.table_model import ID_ROLE
from app.ui.common.table_model import AnyIndex
from app.ui.common.table_model import RowsTableModel
from app.ui.shell.theme import themed

TODAY_BG = "#e4f1ee"
TOTAL_BG = "#eef3f0"


def category_labels(tr: Callable[[str], str]) -> dict[TimeCategory, str]:
    return {
        TimeCategory.DIRECT: tr("Direct service"),
        TimeCategory.TRAVEL: tr("Travel"),
        TimeCategory.DOCUMENTATION: tr("Documentation"),
        TimeCategory.TRAINING: tr("Training / CE"),
        TimeCategory.SUPERVISION: tr("Supervision received"),
        TimeCategory.OTHER: tr("Other"),
    }


def week_title(start: date) -> str:
    return day_range_text(start, start + timedelta(days=DAYS_IN_WEEK - 1))


class WeekModel(RowsTableModel):
    """Rows: each kind of work and a total; columns: the kind, Monday..Sunday, the week."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.sheet: WeekSheet | None = None
        self.today: date | None = None
        self.full_labels = category_labels(self.tr)
        #: The sheet's kinds: "Supervision" is enough beside the week (the tooltip
        #: says it all).
        self.labels = dict(self.full_labels)
        self.labels[TimeCategory.SUPERVISION] = self.tr("Supervision")
        #: Narrow window: days as "Mon" over "16", shorter kinds (full ones in tooltips).
        self.compact = False
        self.short_labels = {
            TimeCategory.DIRECT: self.tr("Direct"),
            TimeCategory.TRAVEL: self.tr("Travel"),
            TimeCategory.DOCUMENTATION: self.tr("Docs"),
            TimeCategory.TRAINING: self.tr("Training"),
            TimeCategory.SUPERVISION: self.tr("Supervision"),
            TimeCategory.OTHER: self.tr("Other"),
        }

    def set_compact(self, compact: bool) -> None:
        if compact == self.compact:
            return
        self.compact = compact
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, self.columnCount() - 1)
        if self.rowCount():  # the kinds and the figures read differently
            self.dataChanged.emit(
                self.index(0, 0), self.index(self.rowCount() - 1, self.columnCount() - 1)
            )

    def set_sheet(self, sheet: WeekSheet | None, today: date | None = None) -> None:
        """The week to show: one row per kind of work (in SHEET_CATEGORIES order),
        then the total row (None)."""
        self.beginResetModel()
        self.sheet, self.today = sheet, today
        self._rows = [*SHEET_CATEGORIES, None] if sheet is not None else []
        self.endResetModel()

    def set_rows(self, rows: Any) -> None:
        raise TypeError("a week is shown with set_sheet")

    def clear(self) -> None:
        self.set_sheet(None)

    def headers(self) -> list[str]:
        kind = self.tr("Kind") if self.compact else self.tr("Kind of work")
        days = [
            f"{day:%a}"[:2] + f"\n{day.day}" if self.compact else f"{day:%a} {day.day}"
            for day in (self.sheet.days if self.sheet is not None else [])
        ]
        days += [""] * (DAYS_IN_WEEK - len(days))
        return [kind, *days, self.tr("Week")]

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or self.sheet is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return super().headerData(section, orientation, role)
        if role == Qt.ItemDataRole.ToolTipRole and 0 < section <= DAYS_IN_WEEK:
            return day_text(self.sheet.days[section - 1])
        if role == Qt.ItemDataRole.TextAlignmentRole and section > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if (
            role == Qt.ItemDataRole.FontRole
            and 0 < section <= DAYS_IN_WEEK
            and self.sheet.days[section - 1] == self.today
        ):
            f = QFont()
            f.setBold(True)
            f.setUnderline(True)
            return f
        return None

    def category(self, row: int) -> TimeCategory | None:
        return SHEET_CATEGORIES[row] if 0 <= row < len(SHEET_CATEGORIES) else None

    def day(self, column: int) -> date | None:
        if self.sheet is None or not 1 <= column <= DAYS_IN_WEEK:
            return None
        return self.sheet.days[column - 1]

    def minutes(self, row: int, column: int) -> int:
        sheet = self.sheet
        if sheet is None:
            return 0
        cat = self.category(row)
        if column == DAYS_IN_WEEK + 1:
            return sheet.total if cat is None else sheet.category_total(cat)
        if cat is None:
            return sheet.day_total(column - 1)
        return sheet.rows[cat][column - 1]

    def figure(self, row: int, column: int, compact: bool) -> str:
        """A cell's figure in a grid: packed ("4h 7m"), or on a narrow window as on a
        timesheet ("4:07"); "–" for an empty day. The full reading is the cell's
        accessible text."""
        minutes = self.minutes(row, column)
        if minutes == 0 and self.category(row) is not None and column <= DAYS_IN_WEEK:
            return "–"
        return clock_duration_text(minutes) if compact else short_duration_text(minutes)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        sheet = self.sheet
        if sheet is None or not index.isValid():
            return None
        row, col = index.row(), index.column()
        cat = self.category(row)
        total_row = cat is None
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                if total_row:
                    return self.tr("Total")
                return self.short_labels[cat] if self.compact else self.labels[cat]
            return self.figure(row, col, self.compact)
        if role == Qt.ItemDataRole.AccessibleTextRole and col > 0:
            what = self.tr("Total") if total_row else self.full_labels[cat]
            when = self.tr("this week") if col == DAYS_IN_WEEK + 1 else weekday_text(self.day(col))
            return f"{what}, {when}: {duration_text(self.minutes(row, col))}"
        if role == Qt.ItemDataRole.TextAlignmentRole and col > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        bold_total = total_row and (col == 0 or not self.compact)  # narrow days: plain
        if role == Qt.ItemDataRole.FontRole and (bold_total or col == DAYS_IN_WEEK + 1):
            f = QFont()
            f.setBold(True)
            return f
        if role == Qt.ItemDataRole.BackgroundRole:
            if total_row or col == DAYS_IN_WEEK + 1:
                return QBrush(themed(TOTAL_BG))
            if self.day(col) is not None and self.day(col) == self.today:
                return QBrush(themed(TODAY_BG))
        if role == Qt.ItemDataRole.ForegroundRole and col > 0 and self.minutes(row, col) == 0:
            return QBrush(themed("#5d6d71"))
        if role == Qt.ItemDataRole.ToolTipRole:
            if cat is TimeCategory.DIRECT:
                return self.tr("From your notes. Change a note to change these hours.")
            if col == 0 and cat is not None:
                return self.full_labels[cat]
            if cat is not None and col > 0:
                return self.tr("Double-click to add an entry for this day.")
        if role == CATEGORY_ROLE:
            return cat
        if role == DATE_ROLE:
            return self.day(col)
        return None


@dataclass(frozen=True, slots=True)
class EntryRow:
    """One line of the week's list: a note (direct service) or a typed entry."""

    day: date
    category: TimeCategory
    minutes: int
    details: str
    entry: TimeEntry | None = None
    service: ServiceSpan | None = None

    @property
    def editable(self) -> bool:
        return self.entry is not None and self.entry.category is not TimeCategory.DIRECT

    @property
    def record_id(self) -> str:
        if self.entry is not None:
            return self.entry.id
        return self.service.encounter_id if self.service is not None else ""


class EntriesModel(RowsTableModel):
    """The week's notes (direct service) and typed entries, by day."""

    HEADERS = ("Date", "Kind", "Time", "Details")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.labels = category_labels(self.tr)

    @property
    def rows(self) -> list[EntryRow]:
        return self._rows

    def set_week(self, sheet: WeekSheet | None, names: dict[str, str] | None = None) -> None:
        self.set_rows(self.rows_for(sheet, names or {}) if sheet is not None else [])

    def clear(self) -> None:
        self.set_week(None)

    def rows_for(self, sheet: WeekSheet, names: dict[str, str]) -> list[EntryRow]:
        rows = [
            EntryRow(
                s.service_date,
                TimeCategory.DIRECT,
                s.minutes,
                self._service_text(s, names),
                service=s,
            )
            for s in sheet.services
        ]
        rows += [
            EntryRow(e.entry_date, e.category, e.minutes, self.details(e), entry=e)
            for e in sheet.entries
        ]
        order = {c: i for i, c in enumerate(SHEET_CATEGORIES)}
        rows.sort(key=lambda r: (r.day, order[r.category]))
        return rows

    def _service_text(self, s: ServiceSpan, names: dict[str, str]) -> str:
        who = names.get(s.participant_id, self.tr("(a participant)"))
        when = time_range_text(s.start, s.end) if s.start and s.end else self.tr("no times yet")
        extra = f" · {self.tr('group')}" if s.setting == "group" else ""
        return f"{who} · {when}{extra} · {self.tr('note')} {s.status}"

    def details(self, e: TimeEntry) -> str:
        parts: list[str] = []
        if e.category is TimeCategory.TRAVEL:
            if e.travel_from or e.travel_to:
                parts.append(f"{e.travel_from or '?'} → {e.travel_to or '?'}")
            if e.miles:
                parts.append(f"{e.miles:g} {self.tr('mi')}")
            if e.purpose:
                parts.append(e.purpose)
        elif e.category is TimeCategory.TRAINING:
            title = e.ce_title + (f" — {e.ce_provider}" if e.ce_provider else "")
            parts.append(title)
            parts.append(
                f"{self.tr('evidence')}: {e.ce_evidence}"
                if e.ce_evidence
                else self.tr("no evidence recorded")
            )
            if e.ce_is_ethics:
                parts.append(self.tr("ethics"))
        else:
            if e.purpose:
                parts.append(e.purpose)
            if e.category is TimeCategory.DIRECT:
                parts.append(self.tr("carried over, not from a note"))
        if e.note:
            parts.append(e.note)
        return " · ".join(p for p in parts if p)

    def row(self, index: int) -> EntryRow:
        return self._rows[index]

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not self._valid(index):
            return None
        r = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                weekday_text(r.day),
                self.labels[r.category],
                duration_text(r.minutes),
                r.details,
            )[col]
        if role == Qt.ItemDataRole.TextAlignmentRole and col == 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and not r.editable:
            return QBrush(themed("#3f5257"))
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == 3:
                return r.details
            if r.service is not None:
                return self.tr("From a note: double-click or press Enter to open it.")
            if not r.editable:
                return self.tr("Direct service is not edited here.")
        if role == ID_ROLE:
            return r.record_id
        if role == CATEGORY_ROLE:
            return r.category
        return None
