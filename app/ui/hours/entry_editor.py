"""The form that adds or edits one time entry on the Hours page: the kind of work
chooses which fields show, every field is checked in place, and what was typed is
kept when something is wrong. Saving runs on the database lane.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from collections.abc import Sequence
from datetime import date
from typing import Any

from PySide6.QtCore import QDate
from PySide6.QtCore import Qt
from PySide6.QtCore import Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtGui import QShortcut
from PySide6.QtWidgets import QCheckBox
from PySide6.QtWidgets import QComboBox
from PySide6.QtWidgets import QDateEdit
from PySide6.QtWidgets import QFrame
from PySide6.QtWidgets import QGridLayout
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.domain import hours
from app.domain.datetext import duration_text
from app.domain.datetext import skeleton_pattern
from app.domain.hours import EDITABLE_CATEGORIES
from app.domain.hours import EntryForm
from app.domain.records import TimeCategory
from app.domain.records import TimeEntry
from app.domain.validation import ValidationError
from app.services import hours as hours_service
from app.services.failures import message_for
from app.ui.common.date_picker import qt_date_format
from app.ui.common.forms import wrapped_label
from app.ui.hours.models import category_labels
from app.ui.shell.context import AppContext


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
        self.form_error = wrapped_label(name="error", hidden=True)

        self.category = QComboBox()
        for cat in EDITABLE_CATEGORIES:
            self.category.addItem(labels[cat], cat.value)
        self.category.setAccessibleName(self.tr("Kind of work"))
        self.category.currentIndexChanged.connect(self._show_kind)
        self.entry_date = QDateEdit()
        self.entry_date.setCalendarPopup(True)
        self.entry_date.setDisplayFormat(qt_date_format(skeleton_pattern("yMMMEd")))
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

        grid = self._build_grid()

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
        for edit in self.line_edits():
            edit.returnPressed.connect(self.save)
        self._show_kind()

    def _build_grid(self) -> QGridLayout:
        """One labelled row per field, each with its error message under it."""
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
        return grid

    def line_edits(self) -> tuple[QLineEdit, ...]:
        """The one-line fields (Enter saves; emptied by reset)."""
        return (
            self.duration,
            self.travel_from,
            self.travel_to,
            self.miles,
            self.purpose,
            self.ce_title,
            self.ce_provider,
            self.ce_evidence,
            self.note,
        )

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
        err = wrapped_label(name="fieldError", hidden=True)
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
        self.duration.setText(duration_text(entry.minutes))
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
        for edit in self.line_edits():
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
        self.ctx.run(hours_service.save_entry, self._saved, self._failed, args=(entry,))

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
