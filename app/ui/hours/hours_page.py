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
from datetime import date
from datetime import timedelta
from typing import Any

from PySide6.QtCore import QDate
from PySide6.QtCore import QEvent
from PySide6.QtCore import QModelIndex
from PySide6.QtCore import QObject
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtGui import QFontMetrics
from PySide6.QtGui import QKeySequence
from PySide6.QtGui import QShortcut
from PySide6.QtWidgets import QAbstractItemView
from PySide6.QtWidgets import QBoxLayout
from PySide6.QtWidgets import QDateEdit
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QHeaderView
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QStyle
from PySide6.QtWidgets import QTableView
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.domain import hours
from app.domain.datetext import duration_text
from app.domain.datetext import number_text
from app.domain.hours import DAYS_IN_WEEK
from app.domain.records import TimeCategory
from app.services import hours as hours_service
from app.services.failures import message_for
from app.services.hours import HoursSnapshot
from app.ui.common.date_picker import qt_date_format
from app.ui.common.forms import wrapped_label
from app.ui.common.layouts import column
from app.ui.common.layouts import scrolled
from app.ui.hours.entries_panel import EntriesPanelMixin
from app.ui.hours.hours_chart import HoursChart
from app.ui.hours.models import WeekModel
from app.ui.hours.models import category_labels
from app.ui.hours.models import week_title
from app.ui.hours.progress_cards import AdvanceCard
from app.ui.hours.progress_cards import CeCard
from app.ui.shell.context import AppContext
from app.ui.shell.context import Page


class HoursPage(EntriesPanelMixin, Page):
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
        self.go_date.setDisplayFormat(qt_date_format())
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
        self.sheet.setTabKeyNavigation(False)  # Tab leaves the table
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
        self.sheet_summary = wrapped_label()

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

        self.error = wrapped_label(name="error", hidden=True)

        content = QWidget()
        content.setObjectName("hoursContent")
        column(
            top, self.error, self.sheet, self.sheet_summary, self.middle, chart_title, self.chart,
            parent=content, margins=(20, 16, 20, 20), spacing=12,
        )  # fmt: skip
        self.scroll = scrolled(content, "hoursScroll")
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
            self.tr("{h} this week").format(h=duration_text(week.total)),
            self.tr("{h} of direct service").format(
                h=duration_text(week.category_total(TimeCategory.DIRECT))
            ),
        ]
        if week.miles:
            summary.append(self.tr("{m} miles driven").format(m=number_text(week.miles, 1)))
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
        """Days as "Mon 16" and figures as "4h 7m" when seven of them fit beside the
        kinds, else days as "Mo" over "16", figures as "4:07", shorter kinds and
        narrower cells. No day is narrower than its widest figure: rather than cut a
        figure short, the sheet scrolls."""
        model = self.week_model
        fm = self.sheet.fontMetrics()
        bold = QFont(self.sheet.font())
        bold.setBold(True)
        bfm = QFontMetrics(bold)
        margins = 2 * (self.sheet.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin) + 1)

        def figures(columns: range, compact: bool) -> list[str]:
            return [model.figure(r, c, compact) for r in range(model.rowCount()) for c in columns]

        days = range(1, DAYS_IN_WEEK + 1)
        pad = 2 * 6 + margins  # the sheet's item padding (hours.qss) and the style's
        widest = max((bfm.horizontalAdvance(t) for t in figures(days, False)), default=0)
        day = max(bfm.horizontalAdvance("Wed 30"), widest) + pad
        totals = figures(range(DAYS_IN_WEEK + 1, DAYS_IN_WEEK + 2), False)
        week = max(bfm.horizontalAdvance(t) for t in (self.tr("Week"), *totals)) + pad
        kinds = max(fm.horizontalAdvance(t) for t in model.labels.values()) + pad
        compact = self.sheet.viewport().width() < kinds + DAYS_IN_WEEK * day + week
        if compact != model.compact:
            model.set_compact(compact)
            self.sheet.setProperty("compact", compact)  # narrower cells (hours.qss)
            self.sheet.style().unpolish(self.sheet)
            self.sheet.style().polish(self.sheet)
        if compact:  # plain figures (bold only in the week's column), 4px padding
            widest = max((fm.horizontalAdvance(t) for t in figures(days, True)), default=0)
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
