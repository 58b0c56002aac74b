"""The Hours page: a weekly timesheet, the week's entries with a form to add and edit
them, progress toward CPSS II and continuing education for recertification, and a
chart of the last twelve weeks.

Direct service is read-only here: it comes from the week's notes (double-click one
to open it). Travel with mileage, documentation, training / continuing education
with evidence, supervision received and other work are typed in the form, which
checks every field in place and keeps what was typed when something is wrong.
A deleted entry is a tombstone. Everything is read and written on the database
thread (app.services.hours); the arithmetic is app.domain.hours.

Keyboard: Alt+Left / Alt+Right previous / next week, Alt+Home this week, Insert a
new entry, Enter edits the selected entry (or opens its note), Delete removes it
after a confirmation, Ctrl+S saves the form and Esc closes it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from PySide6.QtCore import QDate, QEvent, QModelIndex, QObject, Qt, QTimer
from PySide6.QtGui import QFont, QFontMetrics, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QBoxLayout,
    QDateEdit,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QStyle,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.domain import hours
from app.domain.hours import DAYS_IN_WEEK, format_hm, format_hours
from app.domain.records import TimeCategory, TimeEntry
from app.services import hours as hours_service
from app.services.failures import message_for
from app.services.hours import HoursSnapshot
from app.ui.common.columns import ColumnFitter
from app.ui.hours.entry_editor import EntryEditor
from app.ui.hours.hours_chart import HoursChart
from app.ui.hours.models import EntriesModel, WeekModel, category_labels, short_date, week_title
from app.ui.hours.progress_cards import AdvanceCard, CeCard
from app.ui.shell.context import AppContext, Page

# -- the entry form --------------------------------------------------------------------------


# -- progress cards ----------------------------------------------------------------------------


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
        top = self._build_week_bar()
        self._build_sheet()
        self._build_entries()
        self._build_progress()
        self._build_layout(top)
        self._shortcuts()
        self._show_week_header()
        self._update_buttons()

    def _build_week_bar(self) -> QVBoxLayout:
        """The title, the week shown and the week picker."""
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
        return top

    def _build_sheet(self) -> None:
        """The timesheet: kinds of work by day."""
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

    def _build_entries(self) -> None:
        """The week's entries with their buttons, or the form in their place."""
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

        self.editor = EntryEditor(self.ctx, self.today)
        self.editor.saved.connect(self._on_saved)
        self.editor.cancelled.connect(self.close_form)
        self.entry_stack = QStackedWidget()
        self.entry_stack.addWidget(list_panel)
        self.entry_stack.addWidget(self.editor)

    def _build_progress(self) -> None:
        """The two progress cards, placed by _arrange."""
        self.cpss_card = AdvanceCard(self.tr("Toward CPSS II"))
        self.ce_card = CeCard(self.tr("Continuing education"))
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

    def _build_layout(self, top: QVBoxLayout) -> None:
        """The chart, then everything in one scrolling column."""
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

    def _shortcuts(self) -> None:
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

    # -- reading --------------------------------------------------------------------------------

    def refresh(self) -> None:
        super().refresh()
        self.ctx.run(
            hours_service.load_hours,
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
        self.cpss_card.show_progress(snap.advance)
        self.ce_card.show_progress(snap.ce, snap.user.credential)
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

        self.ctx.run(
            hours_service.delete_entry,
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
