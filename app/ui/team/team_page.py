"""The team view: every specialist the supervisor oversees, at a glance.

One row per specialist (caseload, encounters and units this week and month, notes
waiting for review, notes signed late, old drafts, direct-service and CE hours),
a chart of hours per specialist per week, the "overdue after N days" setting and
the oversight report (PDF) for the selected specialist's month. Figures come from
app.services.team.team_overview on the database thread.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate
from PySide6.QtCore import QSortFilterProxyModel
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QAbstractItemView
from PySide6.QtWidgets import QDateEdit
from PySide6.QtWidgets import QFileDialog
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QHeaderView
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QSpinBox
from PySide6.QtWidgets import QTableView
from PySide6.QtWidgets import QWidget

from app.domain.datetext import skeleton_pattern
from app.domain.supervision import MAX_OVERDUE_DAYS
from app.domain.supervision import TeamOverview
from app.services import reports
from app.services import team
from app.services.failures import message_for
from app.ui.common.date_picker import qt_date_format
from app.ui.common.forms import wrapped_label
from app.ui.common.layouts import column
from app.ui.common.supervisor_widgets import HoursChart
from app.ui.common.supervisor_widgets import plural
from app.ui.shell.context import AppContext
from app.ui.shell.context import Page
from app.ui.team.models import ID_ROLE
from app.ui.team.models import SORT_ROLE
from app.ui.team.models import TeamModel
from app.ui.team.models import cell_text


class TeamPage(Page):
    title = "Team"
    tables = frozenset(
        {"users", "participants", "encounters", "time_entries", "supervision_sessions"}
    )

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.setObjectName("teamPage")
        self.overview: TeamOverview | None = None
        self.last_report: Path | None = None

        heading = QLabel(self.tr("Team"))
        heading.setObjectName("pageTitle")
        self.subtitle = QLabel()
        self.subtitle.setObjectName("hint")

        self.overdue = QSpinBox()
        self.overdue.setObjectName("overdueDays")
        self.overdue.setRange(0, MAX_OVERDUE_DAYS)
        self.overdue.setSuffix(self.tr(" days"))
        self.overdue.setAccessibleName(self.tr("A note is late when signed more than"))
        self.overdue.setToolTip(
            self.tr("A note is late when it is signed more than this many days after the service")
        )
        self.overdue.editingFinished.connect(self._save_overdue)
        overdue_label = QLabel(self.tr("Late after"))
        overdue_label.setBuddy(self.overdue)

        self._build_table()
        self.empty_label = wrapped_label(
            self.tr(
                "No specialists on your team yet. They appear here after your first sync, "
                "once the administrator has set you as their supervisor."
            ),
            hidden=True,
        )

        chart_title = QLabel(self.tr("Hours per week (last 12 weeks, all kinds of work)"))
        chart_title.setObjectName("sectionTitle")
        self.chart = HoursChart()

        top = QHBoxLayout()
        top.addWidget(heading)
        top.addSpacing(12)
        top.addWidget(self.subtitle, 1)
        top.addWidget(overdue_label)
        top.addWidget(self.overdue)
        report = self._build_report()
        column(
            top, self.empty_label, self.table, report, chart_title, (self.chart, 1),
            parent=self, margins=(24, 20, 24, 16), spacing=10,
        )  # fmt: skip
        self._update_buttons()

    def _build_table(self) -> None:
        """The specialists, sortable."""
        self.model = TeamModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView()
        self.table.setTabKeyNavigation(False)  # Tab leaves the table
        self.table.setObjectName("teamTable")
        self.table.setAccessibleName(self.tr("Specialists on your team"))
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(48)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignCenter)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)

    def _build_report(self) -> QHBoxLayout:
        """The month and the oversight report button."""
        self.month = QDateEdit()
        self.month.setObjectName("reportMonth")
        self.month.setDisplayFormat(qt_date_format(skeleton_pattern("yMMMM")))
        self.month.setCalendarPopup(False)
        self.month.setAccessibleName(self.tr("Month of the oversight report"))
        today = date.today()
        self.month.setDate(QDate(today.year, today.month, 1))
        self.month.setMaximumDate(QDate(today.year, today.month, 28))
        self.report_button = QPushButton(self.tr("Oversight report (PDF)…"))
        self.report_button.setObjectName("primary")
        self.report_button.setAccessibleName(self.tr("Save an oversight report"))
        self.report_button.setShortcut(QKeySequence("Ctrl+P"))
        self.report_button.setToolTip(self.tr("The selected specialist's month, as a PDF (Ctrl+P)"))
        self.report_button.clicked.connect(self._choose_report_file)
        report = QHBoxLayout()
        report.addStretch(1)
        month_label = QLabel(self.tr("Report month"))
        month_label.setBuddy(self.month)
        report.addWidget(month_label)
        report.addWidget(self.month)
        report.addWidget(self.report_button)
        return report

    # -- data --------------------------------------------------------------------------

    def refresh(self) -> None:
        super().refresh()
        self.ctx.run(team.team_overview, self._show, self._failed)
        self.ctx.run(team.overdue_days, self._show_overdue)

    def _show(self, overview: TeamOverview) -> None:
        self.overview = overview
        self.model.set_rows(list(overview.rows), overview.overdue_days)
        n = len(overview.rows)
        self.empty_label.setVisible(n == 0)
        self.table.setVisible(n > 0)
        t = overview.totals
        self.subtitle.setText(
            plural(self, n, "1 specialist", "{n} specialists")
            + self.tr(
                " · {waiting} notes waiting for review · {late} signed late this month"
            ).format(waiting=int(t["awaiting_review"]), late=int(t["overdue_month"]))
        )
        self.chart.set_data(
            overview.weeks,
            [(r.name, overview.hours.get(r.specialist_id, ())) for r in overview.rows],
        )
        self._fit_columns()
        self.table.resizeRowsToContents()
        self._fit_table_height()
        self._update_buttons()

    def _fit_columns(self) -> None:
        """Number columns as wide as their header's longest line (and values); the
        name takes the rest, so the whole row fits without scrolling."""
        fm = self.table.horizontalHeader().fontMetrics()
        for col in range(1, self.model.columnCount()):
            words = str(self.model.headerData(col, Qt.Orientation.Horizontal)).split("\n")
            values = [cell_text(self.model.summary(r), col) for r in range(self.model.rowCount())]
            width = max(fm.horizontalAdvance(w) for w in [*words, *values])
            self.table.setColumnWidth(col, width + 22)

    def _fit_table_height(self) -> None:
        """As tall as its rows (up to ten), so the chart gets the rest of the page."""
        shown = min(self.model.rowCount(), 10)
        rows = sum(self.table.rowHeight(r) for r in range(shown))
        if not shown:
            rows = self.table.verticalHeader().defaultSectionSize()
        header = (
            self.table.horizontalHeader().height()
            or self.table.horizontalHeader().sizeHint().height()
        )
        bar = self.table.horizontalScrollBar()
        extra = bar.sizeHint().height() if bar.maximum() > 0 else 0
        self.table.setFixedHeight(header + rows + extra + 2 * self.table.frameWidth() + 4)

    def _show_overdue(self, days: int) -> None:
        self.overdue.blockSignals(True)
        self.overdue.setValue(days)
        self.overdue.blockSignals(False)

    def _failed(self, exc: BaseException) -> None:
        self.ctx.status_message.emit(self.tr("The team could not be read. ") + message_for(exc))

    def _save_overdue(self) -> None:
        days = self.overdue.value()
        if self.overview is not None and days == self.overview.overdue_days:
            return

        def done(_n: int) -> None:
            self.ctx.status_message.emit(
                plural(
                    self,
                    days,
                    "Notes now count as late after 1 day",
                    "Notes now count as late after {n} days",
                )
            )
            self.refresh()

        self.ctx.run(team.set_overdue_days, done, self._failed, args=(days,))

    def clear(self) -> None:
        self.overview = None
        self.model.clear()
        self.chart.clear()
        self.subtitle.setText("")

    # -- the oversight report -----------------------------------------------------------

    def selected_specialist(self) -> str:
        rows = self.table.selectionModel().selectedRows()
        return self.proxy.data(rows[0], ID_ROLE) if rows else ""

    def _update_buttons(self, *_: Any) -> None:
        self.report_button.setEnabled(bool(self.selected_specialist()))

    def _choose_report_file(self) -> None:
        if not self.selected_specialist():
            self.ctx.status_message.emit(self.tr("Choose a specialist first."))
            return
        d = self.month.date()
        name = f"oversight-report-{d.year()}-{d.month():02d}.pdf"
        path, _filter = QFileDialog.getSaveFileName(
            self, self.tr("Save the oversight report"), str(Path.home() / name), "PDF (*.pdf)"
        )
        if path:
            self.export_report(Path(path))

    def export_report(self, path: Path) -> None:
        """Write the selected specialist's report for the chosen month to ``path``."""
        specialist = self.selected_specialist()
        d = self.month.date()
        if not specialist:
            self.ctx.status_message.emit(self.tr("Choose a specialist first."))
            return
        self.report_button.setEnabled(False)

        def done(written: Path) -> None:
            self.last_report = written
            self._update_buttons()
            self.ctx.status_message.emit(self.tr("Oversight report saved."))

        def failed(exc: BaseException) -> None:
            self._update_buttons()
            self.ctx.status_message.emit(message_for(exc))

        self.ctx.run(
            reports.export_oversight, done, failed, args=(specialist, d.year(), d.month(), path)
        )
