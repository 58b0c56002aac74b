"""The week's entries on the Hours page: the list with its Add, Edit and Delete
buttons (Delete asks first), or the entry form in its place; direct service opens
its note. Part of :class:`app.ui.hours.hours_page.HoursPage`.
"""

from __future__ import annotations

from datetime import date
from datetime import timedelta

from PySide6.QtCore import QModelIndex
from PySide6.QtCore import Qt
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QAbstractItemView
from PySide6.QtWidgets import QFrame
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QStackedWidget
from PySide6.QtWidgets import QTableView
from PySide6.QtWidgets import QWidget

from app.domain import hours
from app.domain.datetext import duration_text
from app.domain.datetext import weekday_text
from app.domain.hours import DAYS_IN_WEEK
from app.domain.records import TimeCategory
from app.domain.records import TimeEntry
from app.services import hours as hours_service
from app.services.failures import message_for
from app.ui.common.columns import ColumnFitter
from app.ui.common.layouts import column
from app.ui.hours.entry_editor import EntryEditor
from app.ui.hours.models import EntriesModel


class EntriesPanelMixin:
    """The entries list, its actions and the entry form of the Hours page."""

    def _build_entries(self) -> None:
        """The week's entries with their buttons, or the form in their place."""
        self.entries_model = EntriesModel(self)
        self.entries = QTableView()
        self.entries.setTabKeyNavigation(False)  # Tab leaves the table
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
        column(
            buttons, self.confirm, (self.entries, 1),
            parent=list_panel, margins=(0, 0, 0, 0), spacing=8,
        )  # fmt: skip

        self.editor = EntryEditor(self.ctx, self.today)
        self.editor.saved.connect(self._on_saved)
        self.editor.cancelled.connect(self.close_form)
        self.entry_stack = QStackedWidget()
        self.entry_stack.addWidget(list_panel)
        self.entry_stack.addWidget(self.editor)

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

    def ask_delete(self) -> None:
        row = self._selected_row()
        if row < 0 or not self.entries_model.row(row).editable:
            return
        r = self.entries_model.row(row)
        self.confirm_text.setText(
            self.tr("Delete this {kind} entry of {day} ({time})?").format(
                kind=self.labels[r.category].lower(),
                day=weekday_text(r.day),
                time=duration_text(r.minutes),
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

        self.ctx.run(
            hours_service.delete_entry,
            done,
            lambda exc: self.ctx.status_message.emit(self.tr("Not deleted: ") + message_for(exc)),
            args=(entry_id, self.ctx.user.id),
        )

    def _on_entry_activated(self, index: QModelIndex) -> None:
        self.entries.selectRow(index.row())
        self.edit_selected()
