"""The Hours page: a weekly timesheet, the week's entries with a form to add and edit
them, progress toward CPSS II and continuing education for recertification, and a
chart of the last twelve weeks.

Direct service is read-only here: it comes from the week's notes (double-click one
to open it). Travel with mileage, documentation, training / continuing education
with evidence, supervision received and other work are typed in the form, which
checks every field in place and keeps what was typed when something is wrong.
A deleted entry is a tombstone. Everything is read and written on the database
thread (app.store.hours_queries); the arithmetic is app.domain.hours.

Keyboard: Alt+Left / Alt+Right previous / next week, Alt+Home this week, Insert a
new entry, Enter edits the selected entry (or opens its note), Delete removes it
after a confirmation, Ctrl+S saves the form and Esc closes it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QDate,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QFont, QFontMetrics, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QBoxLayout,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QStyle,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.domain import hours
from app.domain.hours import (
    DAYS_IN_WEEK,
    EDITABLE_CATEGORIES,
    SHEET_CATEGORIES,
    AdvanceProgress,
    CeProgress,
    EntryForm,
    ServiceSpan,
    WeekSheet,
    format_hm,
    format_hours,
)
from app.domain.records import TimeCategory, TimeEntry
from app.domain.validation import ValidationError
from app.store import hours_queries
from app.store.hours_queries import HoursSnapshot
from app.ui.common.columns import ColumnFitter
from app.ui.hours.hours_chart import HoursChart
from app.ui.shell.context import AppContext, Page
from app.ui.shell.theme import themed
from app.ui.start.start import message_for

AnyIndex = QModelIndex | QPersistentModelIndex

ID_ROLE = Qt.ItemDataRole.UserRole + 1
CATEGORY_ROLE = Qt.ItemDataRole.UserRole + 2
DATE_ROLE = Qt.ItemDataRole.UserRole + 3

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


def short_date(day: date) -> str:
    return f"{day:%a} {day:%b} {day.day}"


def week_title(start: date) -> str:
    end = start + timedelta(days=DAYS_IN_WEEK - 1)
    if start.month == end.month:
        return f"{start:%b} {start.day} – {end.day}, {end.year}"
    if start.year == end.year:
        return f"{start:%b} {start.day} – {end:%b} {end.day}, {end.year}"
    return f"{start:%b} {start.day}, {start.year} – {end:%b} {end.day}, {end.year}"


def long_date(day: date) -> str:
    return f"{day:%b} {day.day}, {day.year}"


# -- the timesheet model ---------------------------------------------------------------------


class WeekModel(QAbstractTableModel):
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
        if self.rowCount():
            self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, 0))

    def set_sheet(self, sheet: WeekSheet | None, today: date | None = None) -> None:
        self.beginResetModel()
        self.sheet, self.today = sheet, today
        self.endResetModel()

    def clear(self) -> None:
        self.set_sheet(None)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() or self.sheet is None else len(SHEET_CATEGORIES) + 1

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else DAYS_IN_WEEK + 2

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or self.sheet is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            if section == 0:
                return self.tr("Kind") if self.compact else self.tr("Kind of work")
            if section == DAYS_IN_WEEK + 1:
                return self.tr("Week")
            day = self.sheet.days[section - 1]
            return f"{day:%a}"[:2] + f"\n{day.day}" if self.compact else f"{day:%a} {day.day}"
        if role == Qt.ItemDataRole.ToolTipRole and 0 < section <= DAYS_IN_WEEK:
            return long_date(self.sheet.days[section - 1])
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
            minutes = self.minutes(row, col)
            if minutes == 0:
                return "0:00" if total_row or col == DAYS_IN_WEEK + 1 else "–"
            return format_hm(minutes)
        if role == Qt.ItemDataRole.AccessibleTextRole and col > 0:
            what = self.tr("Total") if total_row else self.full_labels[cat]
            when = self.tr("this week") if col == DAYS_IN_WEEK + 1 else short_date(self.day(col))
            return f"{what}, {when}: {format_hours(self.minutes(row, col), 2)} {self.tr('hours')}"
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


# -- the week's entries --------------------------------------------------------------------


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


class EntriesModel(QAbstractTableModel):
    HEADERS = ("Date", "Kind", "Time", "Details")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[EntryRow] = []
        self.labels = category_labels(self.tr)

    def set_week(self, sheet: WeekSheet | None, names: dict[str, str] | None = None) -> None:
        self.beginResetModel()
        self.rows = self.rows_for(sheet, names or {}) if sheet is not None else []
        self.endResetModel()

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
        when = f"{s.start:%H:%M}–{s.end:%H:%M}" if s.start and s.end else self.tr("no times yet")
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
        return self.rows[index]

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.tr(self.HEADERS[section])
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        r = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                short_date(r.day),
                self.labels[r.category],
                format_hm(r.minutes) or "0:00",
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


# -- the entry form --------------------------------------------------------------------------


class EntryEditor(QFrame):
    """Add or edit one entry. Checks in place; never throws away what was typed."""

    saved = Signal(object)  # the TimeEntry as saved
    cancelled = Signal()

    FIELDS = (
        "category",
        "entry_date",
        "duration",
        "travel_from",
        "travel_to",
        "miles",
        "purpose",
        "ce_title",
        "ce_provider",
        "ce_evidence",
        "note",
    )

    def __init__(self, ctx: AppContext, today: Callable[[], date], parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("hoursForm")
        self.ctx = ctx
        self.today = today
        self.base: TimeEntry | None = None
        self.saving = False
        labels = category_labels(self.tr)

        self.heading = QLabel()
        self.heading.setObjectName("sectionTitle")
        self.form_error = QLabel()
        self.form_error.setObjectName("error")
        self.form_error.setWordWrap(True)
        self.form_error.hide()

        self.category = QComboBox()
        for cat in EDITABLE_CATEGORIES:
            self.category.addItem(labels[cat], cat.value)
        self.category.setAccessibleName(self.tr("Kind of work"))
        self.category.currentIndexChanged.connect(self._show_kind)
        self.entry_date = QDateEdit()
        self.entry_date.setCalendarPopup(True)
        self.entry_date.setDisplayFormat("ddd MMM d, yyyy")
        self.entry_date.setAccessibleName(self.tr("Date"))
        self.duration = self._line(self.tr("Time spent"), self.tr("for example 1:30 or 45m"))
        self.travel_from = self._line(self.tr("From"), self.tr("for example Office"))
        self.travel_to = self._line(self.tr("To"), self.tr("for example a town or a visit"))
        self.miles = self._line(self.tr("Miles"), self.tr("for example 23.4"))
        self.purpose = self._line(self.tr("Purpose"), "")
        self.ce_title = self._line(self.tr("Course or training title"), "")
        self.ce_provider = self._line(self.tr("Provider"), self.tr("who gave the training"))
        self.ce_evidence = self._line(
            self.tr("Certificate or evidence"), self.tr("certificate number or where the file is")
        )
        self.ce_is_ethics = QCheckBox(self.tr("Counts as &ethics training"))
        self.ce_is_ethics.setAccessibleName(self.tr("Counts as ethics training"))
        self.note = self._line(self.tr("Note"), self.tr("optional"))

        self.errors: dict[str, QLabel] = {}
        self.rows: dict[str, list[QWidget]] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(2)
        self._grid_row = 0
        self._add_row(grid, "category", self.tr("&Kind"), self.category)
        self._add_row(grid, "entry_date", self.tr("&Date"), self.entry_date)
        self._add_row(grid, "duration", self.tr("&Time spent"), self.duration)
        self._add_row(grid, "travel_from", self.tr("&From"), self.travel_from)
        self._add_row(grid, "travel_to", self.tr("T&o"), self.travel_to)
        self._add_row(grid, "miles", self.tr("&Miles"), self.miles)
        self._add_row(grid, "purpose", self.tr("&Purpose"), self.purpose)
        self._add_row(grid, "ce_title", self.tr("T&itle"), self.ce_title)
        self._add_row(grid, "ce_provider", self.tr("P&rovider"), self.ce_provider)
        self._add_row(grid, "ce_evidence", self.tr("E&vidence"), self.ce_evidence)
        self._add_row(grid, "ce_is_ethics", "", self.ce_is_ethics)
        self._add_row(grid, "note", self.tr("&Note"), self.note)
        grid.setColumnStretch(1, 1)

        self.save_button = QPushButton(self.tr("&Save entry"))
        self.save_button.setObjectName("primary")
        self.save_button.setAccessibleName(self.tr("Save entry"))
        self.save_button.setToolTip(self.tr("Save (Ctrl+S)"))
        self.save_button.clicked.connect(self.save)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.setAccessibleName(self.tr("Cancel editing"))
        self.cancel_button.setToolTip(self.tr("Close the form (Esc)"))
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.save_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(8)
        layout.addWidget(self.heading)
        layout.addWidget(self.form_error)
        layout.addLayout(grid)
        layout.addLayout(buttons)

        for seq, slot in (("Ctrl+S", self.save), ("Escape", self.cancel)):
            sc = QShortcut(QKeySequence(seq), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(slot)
        for edit in (
            self.duration,
            self.travel_from,
            self.travel_to,
            self.miles,
            self.purpose,
            self.ce_title,
            self.ce_provider,
            self.ce_evidence,
            self.note,
        ):
            edit.returnPressed.connect(self.save)
        self._show_kind()

    def _line(self, name: str, placeholder: str) -> QLineEdit:
        edit = QLineEdit()
        edit.setAccessibleName(name)
        edit.setPlaceholderText(placeholder)
        return edit

    def _add_row(self, grid: QGridLayout, name: str, label: str, widget: QWidget) -> None:
        r = self._grid_row
        lab = QLabel(label)
        lab.setObjectName("fieldLabel")
        lab.setBuddy(widget)
        err = QLabel()
        err.setObjectName("fieldError")
        err.setWordWrap(True)
        err.hide()
        err.setAccessibleName(self.tr("Problem"))
        grid.addWidget(lab, r, 0, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        grid.addWidget(widget, r, 1)
        grid.addWidget(err, r + 1, 1)
        self.errors[name] = err
        self.rows[name] = [lab, widget, err]
        self._grid_row += 2

    # -- kinds ------------------------------------------------------------------------------

    def kind(self) -> TimeCategory:
        return TimeCategory(self.category.currentData())

    def _show_kind(self, *_: object) -> None:
        cat = self.kind()
        travel = cat is TimeCategory.TRAVEL
        training = cat is TimeCategory.TRAINING
        visible = {
            "travel_from": travel,
            "travel_to": travel,
            "miles": travel,
            "ce_title": training,
            "ce_provider": training,
            "ce_evidence": training,
            "ce_is_ethics": training,
        }
        for name, show in visible.items():
            lab, widget, err = self.rows[name]
            lab.setVisible(show)
            widget.setVisible(show)
            err.setVisible(show and bool(err.text()))
        self.purpose.setPlaceholderText(
            {
                TimeCategory.TRAVEL: self.tr("for example a home visit (required)"),
                TimeCategory.TRAINING: self.tr("for example continuing education"),
                TimeCategory.DOCUMENTATION: self.tr("for example service notes"),
                TimeCategory.SUPERVISION: self.tr("for example monthly supervision"),
            }.get(cat, self.tr("what the time was for"))
        )

    # -- filling and reading ------------------------------------------------------------------

    def start_new(self, day: date, category: TimeCategory = TimeCategory.TRAVEL) -> None:
        self.reset()
        self.heading.setText(self.tr("New entry"))
        self.entry_date.setDate(QDate(day.year, day.month, day.day))
        self.category.setCurrentIndex(max(0, self.category.findData(category.value)))
        self.duration.setFocus()

    def start_edit(self, entry: TimeEntry) -> None:
        self.reset()
        self.base = entry
        self.heading.setText(self.tr("Edit entry"))
        self.category.setCurrentIndex(max(0, self.category.findData(entry.category.value)))
        d = entry.entry_date
        self.entry_date.setDate(QDate(d.year, d.month, d.day))
        self.duration.setText(format_hm(entry.minutes))
        self.miles.setText(f"{entry.miles:g}" if entry.miles else "")
        self.travel_from.setText(entry.travel_from)
        self.travel_to.setText(entry.travel_to)
        self.purpose.setText(entry.purpose)
        self.ce_title.setText(entry.ce_title)
        self.ce_provider.setText(entry.ce_provider)
        self.ce_evidence.setText(entry.ce_evidence)
        self.ce_is_ethics.setChecked(entry.ce_is_ethics)
        self.note.setText(entry.note)
        self.duration.setFocus()

    def reset(self) -> None:
        """Empty every field (after saving, on cancel, and when the vault locks)."""
        self.base = None
        self.saving = False
        for edit in (
            self.duration,
            self.travel_from,
            self.travel_to,
            self.miles,
            self.purpose,
            self.ce_title,
            self.ce_provider,
            self.ce_evidence,
            self.note,
        ):
            edit.clear()
        self.ce_is_ethics.setChecked(False)
        self.show_problems([])
        self._set_busy(False)

    def form(self) -> EntryForm:
        qd = self.entry_date.date()
        return EntryForm(
            category=self.kind(),
            entry_date=date(qd.year(), qd.month(), qd.day()) if qd.isValid() else None,
            duration=self.duration.text(),
            miles=self.miles.text(),
            travel_from=self.travel_from.text(),
            travel_to=self.travel_to.text(),
            purpose=self.purpose.text(),
            ce_title=self.ce_title.text(),
            ce_provider=self.ce_provider.text(),
            ce_evidence=self.ce_evidence.text(),
            ce_is_ethics=self.ce_is_ethics.isChecked(),
            note=self.note.text(),
        )

    def values(self) -> dict[str, Any]:
        """What the form holds (for returning to it after a lock; kept in memory)."""
        form = self.form()
        out: dict[str, Any] = {f.name: getattr(form, f.name) for f in dataclasses.fields(EntryForm)}
        out["category"] = form.category.value
        out["base_id"] = self.base.id if self.base is not None else ""
        return out

    def set_values(self, values: dict[str, Any], base: TimeEntry | None) -> None:
        self.reset()
        self.base = base
        self.heading.setText(self.tr("Edit entry") if base else self.tr("New entry"))
        self.category.setCurrentIndex(max(0, self.category.findData(values.get("category"))))
        day = values.get("entry_date")
        if isinstance(day, date):
            self.entry_date.setDate(QDate(day.year, day.month, day.day))
        for name in (
            "duration",
            "miles",
            "travel_from",
            "travel_to",
            "purpose",
            "ce_title",
            "ce_provider",
            "ce_evidence",
            "note",
        ):
            getattr(self, name).setText(str(values.get(name, "")))
        self.ce_is_ethics.setChecked(bool(values.get("ce_is_ethics")))

    def show_problems(self, problems: Sequence[tuple[str, str]], general: str = "") -> None:
        by_field: dict[str, str] = {}
        for name, message in problems:
            by_field.setdefault(name if name in self.errors else "", message)
        general = general or by_field.pop("", "")
        for name, label in self.errors.items():
            text = by_field.get(name, "")
            label.setText(text)
            label.setVisible(bool(text) and self.rows[name][1].isVisibleTo(self))
            widget = self.rows[name][1]
            widget.setProperty("invalid", bool(text))
            widget.style().unpolish(widget)
            widget.style().polish(widget)
        self.form_error.setText(general)
        self.form_error.setVisible(bool(general))
        first = next((n for n in self.FIELDS if n in by_field), None)
        if first is not None:
            self.rows[first][1].setFocus()

    def problem(self, name: str) -> str:
        return self.errors[name].text()

    # -- saving --------------------------------------------------------------------------------

    def _set_busy(self, busy: bool) -> None:
        self.saving = busy
        self.save_button.setEnabled(not busy)
        self.save_button.setText(self.tr("Saving…") if busy else self.tr("&Save entry"))

    def save(self) -> None:
        if self.saving or not self.isVisible():
            return
        form = self.form()
        problems = hours.check_entry(form, self.today())
        self.show_problems(problems)
        if problems:
            return
        entry = hours.entry_from_form(form, self.ctx.user.id, self.base)
        self._set_busy(True)
        self.ctx.run(hours_queries.save_entry, self._saved, self._failed, args=(entry,))

    def _saved(self, entry: TimeEntry) -> None:
        self._set_busy(False)
        self.reset()
        self.saved.emit(entry)

    def _failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        if isinstance(exc, ValidationError):
            self.show_problems(exc.problems)
        else:
            self.show_problems([], self.tr("Not saved: ") + message_for(exc))

    def cancel(self) -> None:
        if self.saving:
            return
        self.reset()
        self.cancelled.emit()


# -- progress cards ----------------------------------------------------------------------------


class ProgressCard(QFrame):
    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.title = QLabel(title)
        self.title.setObjectName("sectionTitle")
        self.bar = QProgressBar()
        self.bar.setObjectName("hoursProgress")
        self.bar.setRange(0, 1000)
        self.bar.setAccessibleName(title)
        self.lines = QLabel()
        self.lines.setObjectName("cardText")
        self.lines.setWordWrap(True)
        self.lines.setTextFormat(Qt.TextFormat.PlainText)
        self.warning = QLabel()
        self.warning.setObjectName("cardWarning")
        self.warning.setWordWrap(True)
        self.warning.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(6)
        layout.addWidget(self.title)
        layout.addWidget(self.bar)
        layout.addWidget(self.lines)
        layout.addWidget(self.warning)
        layout.addStretch(1)

    def show_values(self, fraction: float, bar_text: str, lines: str, warning: str = "") -> None:
        self.bar.setValue(round(fraction * 1000))
        self.bar.setFormat(bar_text)
        self.bar.setAccessibleDescription(bar_text)
        self.lines.setText(lines)
        self.warning.setText(warning)
        self.warning.setVisible(bool(warning))

    def clear(self) -> None:
        self.show_values(0.0, "", "")


# -- the page ----------------------------------------------------------------------------------


class HoursPage(Page):
    """The weekly timesheet and credential progress of the signed-in person."""

    title = "Hours"
    tables = frozenset({"time_entries", "encounters", "users", "participants"})

    def __init__(
        self,
        ctx: AppContext,
        parent: QWidget | None = None,
        today: Callable[[], date] = date.today,
    ) -> None:
        super().__init__(ctx, parent)
        self.setObjectName("hoursPage")
        self.today = today
        self.week = hours.week_start(today())
        self.snapshot: HoursSnapshot | None = None
        self.loads = 0  # answers shown (tests wait on it)
        self._select_on_load = ""  # an entry just saved, selected when the week is read
        self._restore_form: dict[str, Any] | None = None  # a form open when the vault locked
        self.labels = category_labels(self.tr)

        title = QLabel(self.tr("Hours"))
        title.setObjectName("pageTitle")
        self.prev_button = QPushButton(self.tr("◀  Previous"))
        self.prev_button.setAccessibleName(self.tr("Previous week"))
        self.prev_button.setToolTip(self.tr("Previous week (Alt+Left)"))
        self.prev_button.clicked.connect(lambda: self.show_week(self.week - timedelta(weeks=1)))
        self.this_button = QPushButton(self.tr("This &week"))
        self.this_button.setAccessibleName(self.tr("This week"))
        self.this_button.setToolTip(self.tr("This week (Alt+Home)"))
        self.this_button.clicked.connect(lambda: self.show_week(self.today()))
        self.next_button = QPushButton(self.tr("Next  ▶"))
        self.next_button.setAccessibleName(self.tr("Next week"))
        self.next_button.setToolTip(self.tr("Next week (Alt+Right)"))
        self.next_button.clicked.connect(lambda: self.show_week(self.week + timedelta(weeks=1)))
        self.week_label = QLabel()
        self.week_label.setObjectName("weekTitle")
        self.week_label.setAccessibleName(self.tr("Week shown"))
        self.go_date = QDateEdit()
        self.go_date.setCalendarPopup(True)
        self.go_date.setDisplayFormat("MMM d, yyyy")
        self.go_date.setAccessibleName(self.tr("Go to the week of a date"))
        self.go_date.setToolTip(self.tr("Go to the week of a date"))
        self.go_date.dateChanged.connect(self._on_go_date)

        # The title and the week on one row, the week picker below it: on one row
        # they do not fit a small laptop.
        heading = QHBoxLayout()
        heading.setSpacing(8)
        heading.addWidget(title)
        heading.addSpacing(12)
        heading.addWidget(self.week_label, 1)
        self.week_label.setWordWrap(True)
        go_label = QLabel(self.tr("&Go to"))
        go_label.setObjectName("hint")
        go_label.setBuddy(self.go_date)
        self.go_box = QWidget()
        go = QHBoxLayout(self.go_box)
        go.setContentsMargins(0, 0, 0, 0)
        go.setSpacing(8)
        go.addWidget(go_label)
        go.addWidget(self.go_date)
        self.picker = QHBoxLayout()
        self.picker.setSpacing(8)
        self.picker.addWidget(self.prev_button)
        self.picker.addWidget(self.this_button)
        self.picker.addWidget(self.next_button)
        self.picker.addSpacing(12)
        self.picker.addWidget(self.go_box)
        self.picker.addStretch(1)
        self.go_row = QHBoxLayout()  # "Go to" on a row of its own on a narrow window
        self.go_row.addStretch(1)
        top = QVBoxLayout()
        top.setSpacing(8)
        top.addLayout(heading)
        top.addLayout(self.picker)
        top.addLayout(self.go_row)

        # the timesheet
        self.week_model = WeekModel(self)
        self.sheet = QTableView()
        self.sheet.setObjectName("timesheet")
        self.sheet.setModel(self.week_model)
        self.sheet.setAccessibleName(self.tr("Timesheet for the week"))
        self.sheet.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.sheet.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.sheet.verticalHeader().hide()
        self.sheet.setShowGrid(False)
        self.sheet.setWordWrap(False)
        self.sheet.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.sheet.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        header = self.sheet.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(DAYS_IN_WEEK + 1, QHeaderView.ResizeMode.ResizeToContents)
        header.setHighlightSections(False)
        header.setMinimumSectionSize(8)
        self.sheet.viewport().installEventFilter(self)
        self.sheet.activated.connect(self._on_sheet_activated)
        self.sheet_summary = QLabel()
        self.sheet_summary.setObjectName("hint")
        self.sheet_summary.setWordWrap(True)

        # the week's entries, or the form
        self.entries_model = EntriesModel(self)
        self.entries = QTableView()
        self.entries.setObjectName("hoursEntries")
        self.entries.setModel(self.entries_model)
        self.entries.setAccessibleName(self.tr("Entries this week"))
        self.entries.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.entries.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.entries.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.entries.verticalHeader().hide()
        self.entries.setShowGrid(False)
        self.entries.setAlternatingRowColors(True)
        self.entries.setWordWrap(False)
        eh = self.entries.horizontalHeader()
        eh.setHighlightSections(False)
        eh.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        # Details take what is left and give up room first; then the kind.
        self.entries_fitter = ColumnFitter(
            self.entries, elastic=(3, 1), stretch=(3,), min_chars={3: 12, 1: 8}
        )
        self.entries.activated.connect(self._on_entry_activated)
        self.entries.selectionModel().selectionChanged.connect(self._update_buttons)
        self.entries.setMinimumHeight(220)

        self.add_button = QPushButton(self.tr("&Add entry"))
        self.add_button.setObjectName("primary")
        self.add_button.setAccessibleName(self.tr("Add entry"))
        self.add_button.setToolTip(
            self.tr("Add travel, documentation, training or other time (Insert)")
        )
        self.add_button.clicked.connect(lambda: self.add_entry())
        self.edit_button = QPushButton(self.tr("&Edit"))
        self.edit_button.setAccessibleName(self.tr("Edit the selected entry"))
        self.edit_button.clicked.connect(self.edit_selected)
        self.delete_button = QPushButton(self.tr("De&lete"))
        self.delete_button.setAccessibleName(self.tr("Delete the selected entry"))
        self.delete_button.setToolTip(self.tr("Delete the selected entry (Delete)"))
        self.delete_button.clicked.connect(self.ask_delete)

        self.confirm = QFrame()
        self.confirm.setObjectName("confirmBar")
        self.confirm_text = QLabel()
        self.confirm_text.setWordWrap(True)
        self.confirm_yes = QPushButton(self.tr("Delete it"))
        self.confirm_yes.setAccessibleName(self.tr("Confirm delete"))
        self.confirm_yes.clicked.connect(self.delete_selected)
        self.confirm_no = QPushButton(self.tr("Keep it"))
        self.confirm_no.setAccessibleName(self.tr("Keep the entry"))
        self.confirm_no.clicked.connect(lambda: self.confirm.hide())
        cl = QHBoxLayout(self.confirm)
        cl.setContentsMargins(12, 6, 12, 6)
        cl.addWidget(self.confirm_text, 1)
        cl.addWidget(self.confirm_no)
        cl.addWidget(self.confirm_yes)
        self.confirm.hide()

        entries_title = QLabel(self.tr("This week's entries"))
        entries_title.setObjectName("sectionTitle")
        buttons = QHBoxLayout()
        buttons.addWidget(entries_title)
        buttons.addStretch(1)
        buttons.addWidget(self.delete_button)
        buttons.addWidget(self.edit_button)
        buttons.addWidget(self.add_button)
        list_panel = QWidget()
        lp = QVBoxLayout(list_panel)
        lp.setContentsMargins(0, 0, 0, 0)
        lp.setSpacing(8)
        lp.addLayout(buttons)
        lp.addWidget(self.confirm)
        lp.addWidget(self.entries, 1)

        self.editor = EntryEditor(ctx, today)
        self.editor.saved.connect(self._on_saved)
        self.editor.cancelled.connect(self.close_form)
        self.entry_stack = QStackedWidget()
        self.entry_stack.addWidget(list_panel)
        self.entry_stack.addWidget(self.editor)

        # progress
        self.cpss_card = ProgressCard(self.tr("Toward CPSS II"))
        self.ce_card = ProgressCard(self.tr("Continuing education"))
        self.cards = QWidget()
        self.cards.setObjectName("hoursCards")
        self.cards_layout = QBoxLayout(QBoxLayout.Direction.LeftToRight, self.cards)
        self.cards_layout.setContentsMargins(0, 0, 0, 0)
        self.cards_layout.setSpacing(12)
        self.cards_layout.addWidget(self.cpss_card, 1)
        self.cards_layout.addWidget(self.ce_card, 1)

        # The entries take the page's width (their details need it) with the two
        # cards side by side below them; on a wide window the cards sit beside the
        # entries, on a narrow one below each other (see _arrange).
        self.middle = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        self.middle.setSpacing(16)
        self.middle.addWidget(self.entry_stack)
        self.middle.addWidget(self.cards)

        # chart
        chart_title = QLabel(self.tr("Hours per week, last 12 weeks"))
        chart_title.setObjectName("sectionTitle")
        self.chart = HoursChart()
        self.chart.labels = dict(self.labels)
        self.chart.week_clicked.connect(self.show_week)
        self.chart.setMinimumHeight(240)

        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.hide()

        content = QWidget()
        content.setObjectName("hoursContent")
        layout = QVBoxLayout(content)
        layout.setContentsMargins(20, 16, 20, 20)
        layout.setSpacing(12)
        layout.addLayout(top)
        layout.addWidget(self.error)
        layout.addWidget(self.sheet)
        layout.addWidget(self.sheet_summary)
        layout.addLayout(self.middle)
        layout.addWidget(chart_title)
        layout.addWidget(self.chart)
        self.scroll = QScrollArea()
        self.scroll.setObjectName("hoursScroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll)
        self.scroll.viewport().installEventFilter(self)

        shortcuts: list[tuple[str, Callable[[], None]]] = [
            ("Alt+Left", lambda: self.show_week(self.week - timedelta(weeks=1))),
            ("Alt+Right", lambda: self.show_week(self.week + timedelta(weeks=1))),
            ("Alt+Home", lambda: self.show_week(self.today())),
            ("Insert", lambda: self.add_entry()),
        ]
        for seq, slot in shortcuts:
            sc = QShortcut(QKeySequence(seq), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(slot)
        delete = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.entries)
        delete.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete.activated.connect(self.ask_delete)

        self._show_week_header()
        self._update_buttons()

    # -- reading --------------------------------------------------------------------------------

    def refresh(self) -> None:
        super().refresh()
        self.ctx.run(
            hours_queries.load_hours,
            self._show,
            self._load_failed,
            # ctx.user stands in for the user's record until a new laptop's first sync
            args=(self.ctx.user.id, self.week, self.today(), self.ctx.user),
        )

    def show_week(self, day: date) -> None:
        start = hours.week_start(day)
        this_week = hours.week_start(self.today())
        if start > this_week:
            start = this_week
        if start == self.week and self.snapshot is not None:
            return
        self.week = start
        self.confirm.hide()
        self._show_week_header()
        self.refresh()

    def _show_week_header(self) -> None:
        this_week = hours.week_start(self.today())
        label = week_title(self.week)
        if self.week == this_week:
            label += "  ·  " + self.tr("this week")
        self.week_label.setText(label)
        self.next_button.setEnabled(self.week < this_week)
        self.this_button.setEnabled(self.week != this_week)
        today = self.today()
        self.go_date.blockSignals(True)
        self.go_date.setMaximumDate(QDate(today.year, today.month, today.day))
        shown = min(self.week + timedelta(days=DAYS_IN_WEEK - 1), today)
        self.go_date.setDate(QDate(shown.year, shown.month, shown.day))
        self.go_date.blockSignals(False)

    def _on_go_date(self, qd: QDate) -> None:
        if qd.isValid():
            self.show_week(date(qd.year(), qd.month(), qd.day()))

    def _show(self, snap: HoursSnapshot) -> None:
        if snap.week.start != self.week:
            return  # an answer for a week no longer shown
        self.snapshot = snap
        self.loads += 1
        self.error.hide()
        selected = self._select_on_load or self._selected_id()
        self._select_on_load = ""
        self.week_model.set_sheet(snap.week, snap.today)
        self.entries_model.set_week(snap.week, snap.names)
        self.entries_fitter.measure()
        self._fit_sheet()
        self._select_id(selected)
        week = snap.week
        summary = [
            self.tr("{h} hours this week").format(h=format_hours(week.total, 2)),
            self.tr("{h} of direct service").format(
                h=format_hours(week.category_total(TimeCategory.DIRECT), 2)
            ),
        ]
        if week.miles:
            summary.append(self.tr("{m} miles driven").format(m=f"{week.miles:,.1f}"))
        if not week.services and not week.entries:
            summary.append(self.tr("nothing logged yet: press Add entry (Insert) to log time"))
        self.sheet_summary.setText(" · ".join(summary) + ".")
        self._show_advance(snap.advance)
        self._show_ce(snap.ce, snap.user.credential)
        self.chart.set_bars(snap.chart, snap.week.start)
        self._update_buttons()
        if self._restore_form:
            self._reopen_form()

    def _load_failed(self, exc: BaseException) -> None:
        self.error.setText(self.tr("Your hours could not be read. ") + message_for(exc))
        self.error.show()

    def _fit_sheet(self) -> None:
        self._fit_days()
        self.sheet.resizeRowsToContents()
        height = self.sheet.horizontalHeader().height() + 2 * self.sheet.frameWidth()
        for row in range(self.week_model.rowCount()):
            height += self.sheet.rowHeight(row)
        if self.sheet.horizontalScrollBar().isVisible():
            height += self.sheet.horizontalScrollBar().height()
        self.sheet.setFixedHeight(height + 2)

    def _fit_days(self) -> None:
        """Days as "Mon 16" when seven of them fit beside the kinds, else as "Mo"
        over "16" with shorter kinds and narrower cells. No day is narrower than
        its widest figure: rather than cut a figure short, the sheet scrolls."""
        model = self.week_model
        fm = self.sheet.fontMetrics()
        bold = QFont(self.sheet.font())
        bold.setBold(True)
        bfm = QFontMetrics(bold)
        margins = 2 * (self.sheet.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin) + 1)
        figures = [
            model.data(model.index(r, c)) or ""
            for r in range(model.rowCount())
            for c in range(1, DAYS_IN_WEEK + 1)
        ]
        widest = max((bfm.horizontalAdvance(t) for t in figures), default=0)
        pad = 2 * 6 + margins  # the sheet's item padding (hours.qss) and the style's
        day = max(bfm.horizontalAdvance("Wed 30"), widest) + pad
        week = max(bfm.horizontalAdvance(t) for t in (self.tr("Week"), "00:00")) + pad
        kinds = max(fm.horizontalAdvance(t) for t in model.labels.values()) + pad
        compact = self.sheet.viewport().width() < kinds + DAYS_IN_WEEK * day + week
        if compact != model.compact:
            model.set_compact(compact)
            self.sheet.setProperty("compact", compact)  # narrower cells (hours.qss)
            self.sheet.style().unpolish(self.sheet)
            self.sheet.style().polish(self.sheet)
        if compact:  # plain figures (bold only in the week's column), 4px padding
            widest = max((fm.horizontalAdvance(t) for t in figures), default=0)
            pad = 2 * 4 + margins
        header = self.sheet.horizontalHeader()
        header.setMinimumSectionSize(widest + pad)
        header.setFixedHeight(header.sizeHint().height())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            if watched is self.sheet.viewport():
                compact = self.week_model.compact
                self._fit_days()
                if compact != self.week_model.compact:
                    self._fit_sheet()
            elif watched is self.scroll.viewport():
                self._arrange()
        return super().eventFilter(watched, event)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._arrange()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self._arrange()

    def _arrange(self) -> None:
        """The week picker on one row or two; the cards beside the entries, in a
        row below them or below each other: whatever fits the page's width."""
        m = self.scroll.widget().layout().contentsMargins()
        bar = self.scroll.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        room = self.width() - bar - m.left() - m.right()  # current even while hidden
        em = self.fontMetrics().averageCharWidth()
        # Beside the entries only when the entries keep ~90 characters of width.
        beside = room >= em * 90 + self.middle.spacing() + em * 34
        cards_in_row = beside is False and room >= 2 * em * 30 + self.cards_layout.spacing()
        ltr, ttb = QBoxLayout.Direction.LeftToRight, QBoxLayout.Direction.TopToBottom
        direction = ltr if beside else ttb
        cards_direction = ltr if cards_in_row else ttb
        if self.cards_layout.direction() != cards_direction:
            self.cards_layout.setDirection(cards_direction)
        buttons = sum(
            b.sizeHint().width() for b in (self.prev_button, self.this_button, self.next_button)
        )
        go_beside = room >= buttons + 3 * 8 + 12 + self.go_box.sizeHint().width()
        if go_beside != (self.picker.indexOf(self.go_box) >= 0):
            if go_beside:
                self.go_row.removeWidget(self.go_box)
                self.picker.insertWidget(self.picker.count() - 1, self.go_box)
            else:
                self.picker.removeWidget(self.go_box)
                self.go_row.insertWidget(0, self.go_box)
        if self.middle.direction() != direction:
            self.middle.setDirection(direction)
            self.middle.setStretch(0, 5 if beside else 0)
            self.middle.setStretch(1, 2 if beside else 0)

    def _show_advance(self, p: AdvanceProgress) -> None:
        done = format_hours(p.done_minutes)
        if not p.target:
            self.cpss_card.title.setText(self.tr("Direct service"))
            self.cpss_card.show_values(
                0.0,
                self.tr("{h} h").format(h=done),
                self.tr("{h} hours of direct service in all.").format(h=done),
            )
            return
        self.cpss_card.title.setText(self.tr("Toward {target}").format(target=p.target))
        target = format_hours(p.target_minutes, 0)
        if p.reached:
            self.cpss_card.show_values(
                1.0,
                self.tr("{target} held").format(target=p.target),
                self.tr("You hold {target}. {h} hours of direct service logged in all.").format(
                    target=p.target, h=done
                ),
            )
            return
        self.cpss_card.show_values(
            p.fraction,
            self.tr("{done} of {target} h").format(done=done, target=target),
            self.tr("{left} hours of direct service to go. Hours come from your notes.").format(
                left=format_hours(p.remaining_minutes)
            ),
        )

    def _show_ce(self, ce: CeProgress, credential: str) -> None:
        if not ce.required_minutes and not credential:
            self.ce_card.show_values(
                0.0,
                self.tr("{h} h").format(h=format_hours(ce.minutes)),
                self.tr("{h} hours of training in the last two years.").format(
                    h=format_hours(ce.minutes)
                ),
                self.tr("Your credential is not set, so no recertification is tracked."),
            )
            return
        needed = format_hours(ce.required_minutes, 0)
        bar = self.tr("{done} of {need} h").format(done=format_hours(ce.minutes), need=needed)
        lines = [
            self.tr("Ethics: {done} of {need} h").format(
                done=format_hours(ce.ethics_minutes),
                need=format_hours(ce.ethics_required_minutes),
            )
            + (" ✓" if ce.ethics_minutes >= ce.ethics_required_minutes else ""),
        ]
        warnings = []
        if ce.period_end is not None:
            when = long_date(ce.period_end)
            if ce.days_left is not None and ce.days_left < 0:
                warnings.append(self.tr("Recertification was due {when}.").format(when=when))
            else:
                lines.append(
                    self.tr("Recertify by {when} ({n} days), counting from {start}.").format(
                        when=when, n=ce.days_left, start=long_date(ce.period_start)
                    )
                )
        else:
            lines.append(self.tr("Counting the last two years."))
            warnings.append(
                self.tr("Your certification dates are not set, so the deadline is unknown.")
            )
        if ce.without_evidence:
            warnings.append(
                self.tr("{n} training entries have no certificate or evidence recorded.").format(
                    n=ce.without_evidence
                )
                if ce.without_evidence > 1
                else self.tr("1 training entry has no certificate or evidence recorded.")
            )
        if ce.met:
            lines.append(self.tr("Requirement met."))
        self.ce_card.show_values(ce.fraction, bar, "\n".join(lines), " ".join(warnings))

    # -- entries --------------------------------------------------------------------------------

    def _selected_row(self) -> int:
        rows = self.entries.selectionModel().selectedRows()
        return rows[0].row() if rows else -1

    def _selected_id(self) -> str:
        row = self._selected_row()
        return self.entries_model.row(row).record_id if row >= 0 else ""

    def _select_id(self, record_id: str) -> None:
        if not record_id:
            return
        for i, r in enumerate(self.entries_model.rows):
            if r.record_id == record_id:
                self.entries.selectRow(i)
                return

    def _update_buttons(self, *_: object) -> None:
        row = self._selected_row()
        editable = row >= 0 and self.entries_model.row(row).editable
        self.edit_button.setEnabled(editable)
        self.delete_button.setEnabled(editable)
        self.add_button.setEnabled(self.snapshot is not None)

    def add_entry(
        self, day: date | None = None, category: TimeCategory = TimeCategory.TRAVEL
    ) -> None:
        if self.snapshot is None:
            return
        if day is None:
            today = self.today()
            end = self.week + timedelta(days=DAYS_IN_WEEK - 1)
            day = today if self.week <= today <= end else end
        self.confirm.hide()
        self.entry_stack.setCurrentWidget(self.editor)
        self.editor.start_new(day, category)
        self._reveal_form()

    def edit_selected(self) -> None:
        row = self._selected_row()
        if row < 0:
            return
        r = self.entries_model.row(row)
        if r.service is not None:
            self.ctx.open_note.emit(r.service.encounter_id, r.service.participant_id)
            return
        if not r.editable or r.entry is None:
            self.ctx.status_message.emit(self.tr("Direct-service hours come from your notes."))
            return
        self.confirm.hide()
        self.entry_stack.setCurrentWidget(self.editor)
        self.editor.start_edit(r.entry)
        self._reveal_form()

    def _reveal_form(self) -> None:
        """Scroll the page so the form just opened is in view (once laid out)."""
        QTimer.singleShot(0, lambda: self.scroll.ensureWidgetVisible(self.editor, 0, 0))

    def close_form(self) -> None:
        self.entry_stack.setCurrentIndex(0)
        self.entries.setFocus()

    def _on_saved(self, entry: TimeEntry) -> None:
        self.ctx.status_message.emit(self.tr("Entry saved."))
        self.close_form()
        self.week = hours.week_start(entry.entry_date)
        self._show_week_header()
        self._select_on_load = entry.id
        self.ctx.changed({"time_entries"})

    def ask_delete(self) -> None:
        row = self._selected_row()
        if row < 0 or not self.entries_model.row(row).editable:
            return
        r = self.entries_model.row(row)
        self.confirm_text.setText(
            self.tr("Delete this {kind} entry of {day} ({time})?").format(
                kind=self.labels[r.category].lower(),
                day=short_date(r.day),
                time=format_hm(r.minutes),
            )
        )
        self.confirm.show()
        self.confirm_no.setFocus()

    def delete_selected(self) -> None:
        row = self._selected_row()
        self.confirm.hide()
        if row < 0 or not self.entries_model.row(row).editable:
            return
        entry_id = self.entries_model.row(row).record_id

        def done(_: object) -> None:
            self.ctx.status_message.emit(self.tr("Entry deleted."))
            self.ctx.changed({"time_entries"})

        self.ctx.run(
            hours_queries.delete_entry,
            done,
            lambda exc: self.ctx.status_message.emit(self.tr("Not deleted: ") + message_for(exc)),
            args=(entry_id, self.ctx.user.id),
        )

    def _on_entry_activated(self, index: QModelIndex) -> None:
        self.entries.selectRow(index.row())
        self.edit_selected()

    def _on_sheet_activated(self, index: QModelIndex) -> None:
        cat = self.week_model.category(index.row())
        day = self.week_model.day(index.column())
        if cat is TimeCategory.DIRECT:
            self.ctx.status_message.emit(
                self.tr("Direct-service hours come from your notes; open a note to change them.")
            )
            return
        if cat is None or day is None:
            return
        if day > self.today():
            self.ctx.status_message.emit(self.tr("Hours are logged for work already done."))
            return
        self.add_entry(day, cat)

    # -- returning after a lock ------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """The week shown and an open form's values (in memory only), so unlocking
        returns here with nothing typed lost."""
        out: dict[str, Any] = {"week": self.week}
        if self.entry_stack.currentWidget() is self.editor:
            out["form"] = self.editor.values()
        return out

    def restore(self, state: dict[str, Any]) -> None:
        week = state.get("week")
        if isinstance(week, date):
            self.week = hours.week_start(min(week, self.today()))
            self._show_week_header()
        form = state.get("form")
        if form:
            self._restore_form = form
        if self.isVisible():
            self.refresh()

    def _reopen_form(self) -> None:
        form, self._restore_form = self._restore_form, None
        if not form or self.snapshot is None:
            return
        base_id = form.get("base_id", "")
        base = (
            next((e for e in self.snapshot.week.entries if e.id == base_id), None)
            if base_id
            else None
        )
        self.entry_stack.setCurrentWidget(self.editor)
        self.editor.set_values(form, base)

    # -- lock ---------------------------------------------------------------------------

    def clear(self) -> None:
        self.snapshot = None
        self._restore_form = None
        self.week_model.clear()
        self.entries_model.clear()
        self.chart.clear()
        self.cpss_card.clear()
        self.ce_card.clear()
        self.editor.reset()
        self.entry_stack.setCurrentIndex(0)
        self.confirm.hide()
        self.confirm_text.clear()
        self.sheet_summary.clear()
        self.error.hide()
        self._stale = True
        self._update_buttons()
