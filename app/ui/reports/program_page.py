"""The Program report screen: choose a period, a program and a team or specialist, see
the figures as summary numbers, bar charts and a table, and export them as PDF, CSV
or XLSX. The figures and who may see them come from app.services.program_report on
the database thread (a specialist's scope list holds only their own caseload, and
the service refuses anything else); every number shown is the suppressed one the
files carry.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from PySide6.QtCore import QDate
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox
from PySide6.QtWidgets import QDateEdit
from PySide6.QtWidgets import QFileDialog
from PySide6.QtWidgets import QGridLayout
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QHeaderView
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QTableWidgetItem
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.domain.records import Role
from app.reports.program import THRESHOLD
from app.reports.program import ProgramReport
from app.reports.program import hours
from app.reports.program import table_rows
from app.services import program_report as svc
from app.services.failures import message_for
from app.ui.common.columns import read_only_widget_table
from app.ui.common.forms import wrapped_label
from app.ui.common.layouts import scrolled
from app.ui.reports.bar_chart import BarChart
from app.ui.shell.context import AppContext
from app.ui.shell.context import Page

ALL = ""  # the combo data for "all programs" / "the whole vault"
FILTERS = {"pdf": "PDF (*.pdf)", "csv": "CSV (*.csv)", "xlsx": "Excel workbook (*.xlsx)"}


def _qdate(d: date) -> QDate:
    return QDate(d.year, d.month, d.day)


def _pydate(q: QDate) -> date:
    return date(q.year(), q.month(), q.day())


class ProgramReportPage(Page):
    title = "Program report"
    tables = frozenset(
        {"users", "participants", "encounters", "goals", "barc10", "time_entries",
         "supervision_sessions", "payers"}
    )  # fmt: skip

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.setObjectName("programReportPage")
        self.report: ProgramReport | None = None
        self.last_export: Path | None = None
        heading = QLabel(self.tr("Program report"))
        heading.setObjectName("pageTitle")
        self.subtitle = QLabel()
        self.subtitle.setObjectName("hint")
        top = QHBoxLayout()
        top.addWidget(heading)
        top.addSpacing(12)
        top.addWidget(self.subtitle, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.setSpacing(10)
        layout.addLayout(top)
        layout.addLayout(self._build_choices())
        layout.addLayout(self._build_exports())
        self.scroll = scrolled(self._build_body())
        layout.addWidget(self.scroll, 1)
        self._set_busy(False)

    # -- building -----------------------------------------------------------------------

    def _date_edit(self, name: str, when: date, accessible: str) -> QDateEdit:
        edit = QDateEdit(_qdate(when))
        edit.setObjectName(name)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setCalendarPopup(True)
        edit.setAccessibleName(accessible)
        return edit

    def _build_choices(self) -> QVBoxLayout:
        today = date.today()
        self.first = self._date_edit("reportFrom", date(today.year, 1, 1), self.tr("From"))
        self.last = self._date_edit("reportTo", today, self.tr("To"))
        self.program = QComboBox()
        self.program.setObjectName("reportProgram")
        self.program.setAccessibleName(self.tr("Program"))
        self.program.addItem(self.tr("All programs"), ALL)
        self.scope = QComboBox()
        self.scope.setObjectName("reportScope")
        self.scope.setAccessibleName(self.tr("Team or specialist"))
        self.scope.setMinimumContentsLength(14)
        self.show_button = QPushButton(self.tr("Show report"))
        self.show_button.setObjectName("primary")
        self.show_button.setAccessibleName(self.tr("Show the report"))
        self.show_button.clicked.connect(self.run_report)
        rows = QVBoxLayout()
        period, who = QHBoxLayout(), QHBoxLayout()
        for row, text, widget in (
            (period, self.tr("From"), self.first),
            (period, self.tr("To"), self.last),
            (period, self.tr("Program"), self.program),
            (who, self.tr("Team or specialist"), self.scope),
        ):
            label = QLabel(text)
            label.setBuddy(widget)
            row.addWidget(label)
            row.addWidget(widget)
            row.addSpacing(6)
        period.addStretch(1)
        who.addStretch(1)
        who.addWidget(self.show_button)
        rows.addLayout(period)
        rows.addLayout(who)
        return rows

    def _build_exports(self) -> QHBoxLayout:
        note = wrapped_label(
            self.tr(
                "Counts of people from 1 to {top} show as “<11”; “*” hides a cell so a small "
                "count cannot be worked out from the total. Only signed, approved and billed "
                "notes count as services."
            ).format(top=THRESHOLD - 1)
        )
        row = QHBoxLayout()
        row.addWidget(note, 1)
        self.export_buttons: dict[str, QPushButton] = {}
        for kind, text in (
            ("pdf", "Export PDF…"),
            ("csv", "Export CSV…"),
            ("xlsx", "Export XLSX…"),
        ):
            button = QPushButton(self.tr(text))
            button.setObjectName(f"export_{kind}")
            button.setAccessibleName(self.tr(text.rstrip("…")))
            button.clicked.connect(lambda _=False, k=kind: self._choose_file(k))
            row.addWidget(button)
            self.export_buttons[kind] = button
        return row

    def _build_body(self) -> QWidget:
        body = QWidget()
        body.setObjectName("reportBody")
        v = QVBoxLayout(body)
        v.setContentsMargins(0, 0, 8, 0)
        v.setSpacing(12)
        self.cards: dict[str, QLabel] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(18)
        names = (
            ("people", "People served"), ("new", "New enrolments"),
            ("closed", "Closed enrolments"), ("services", "Services"), ("units", "Units"),
            ("direct", "Direct-service hours"), ("travel", "Travel hours"), ("miles", "Miles"),
            ("supervision", "Supervision hours"), ("barc", "BARC-10 mean change"),
        )  # fmt: skip
        for i, (key, text) in enumerate(names):
            value = QLabel("–")
            value.setObjectName(f"card_{key}")
            value.setStyleSheet("font-size: 15pt; font-weight: 600;")
            caption = wrapped_label(self.tr(text))
            grid.addWidget(value, (i // 5) * 2, i % 5)
            grid.addWidget(caption, (i // 5) * 2 + 1, i % 5)
            self.cards[key] = value
        v.addLayout(grid)
        self.charts = {
            "program": BarChart(self.tr("Services by program")),
            "payer": BarChart(self.tr("Units by payer")),
            "modality": BarChart(self.tr("Services by modality")),
            "goals": BarChart(self.tr("Recovery goals achieved, by life area")),
        }
        charts = QGridLayout()
        for i, chart in enumerate(self.charts.values()):
            charts.addWidget(chart, i // 2, i % 2, Qt.AlignmentFlag.AlignTop)
        v.addLayout(charts)
        self.table = read_only_widget_table(
            "reportTable",
            self.tr("Every figure of the report"),
            [self.tr("Section"), self.tr("Item"), self.tr("Measure"), self.tr("Value")],
        )
        self.table.setTabKeyNavigation(False)  # Tab leaves the table; arrows move in it
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        v.addWidget(self.table)
        return body

    # -- data -----------------------------------------------------------------------------

    def refresh(self) -> None:
        super().refresh()
        self.ctx.run(svc.options, self._show_options, self._failed)

    def _show_options(self, opts: svc.ReportOptions) -> None:
        keep_program = self.program.currentData()
        keep_scope = self.scope.currentData()
        self.program.blockSignals(True)
        self.program.clear()
        self.program.addItem(self.tr("All programs"), ALL)
        for name in opts.programs:
            self.program.addItem(name, name)
        self.program.setCurrentIndex(max(0, self.program.findData(keep_program)))
        self.program.blockSignals(False)
        self.scope.clear()
        if opts.whole_vault:
            label = self.tr("My team") if opts.role is Role.SUPERVISOR else self.tr("Whole agency")
            self.scope.addItem(label, ALL)
        for sid, name in opts.specialists:
            text = self.tr("My caseload") if opts.role is Role.SPECIALIST else name
            self.scope.addItem(text, sid)
        self.scope.setEnabled(self.scope.count() > 1)
        self.scope.setCurrentIndex(max(0, self.scope.findData(keep_scope)))
        self.run_report()

    def selection(self) -> tuple[date, date, str | None, str | None]:
        return (
            _pydate(self.first.date()),
            _pydate(self.last.date()),
            self.program.currentData() or None,
            self.scope.currentData() or None,
        )

    def run_report(self) -> None:
        first, last, program, spec = self.selection()
        if last < first:
            self.subtitle.setText(self.tr("The period ends before it starts."))
            return
        self._set_busy(True)
        self.ctx.run(
            svc.program_report, self._show, self._failed, args=(first, last, program, spec)
        )

    def _show(self, report: ProgramReport) -> None:
        self.report = report
        self._set_busy(False)
        self.subtitle.setText(
            f"{report.period} · {report.program_label} · {report.choice.scope_label}"
        )
        n, _first, _latest, change = report.barc.shown
        values = {
            "people": str(report.people_served), "new": str(report.new_enrolments),
            "closed": str(report.closed_enrolments), "services": str(report.services),
            "units": str(report.units), "direct": hours(report.direct_minutes),
            "travel": hours(report.travel_minutes), "miles": f"{report.miles:.1f}",
            "supervision": hours(report.supervision_minutes),
            "barc": f"{change} (n {n})" if change else "–",
        }  # fmt: skip
        for key, text in values.items():
            self.cards[key].setText(text)
        self.charts["program"].set_data([(ln.label, ln.services) for ln in report.by_program])
        self.charts["payer"].set_data([(ln.label, ln.units) for ln in report.by_payer])
        self.charts["modality"].set_data([(ln.label, ln.services) for ln in report.by_modality])
        self.charts["goals"].set_data([(g.domain, g.achieved) for g in report.goals])
        rows = [r for r in table_rows(report) if r[0] != "Report"]
        self.table.setUpdatesEnabled(False)
        self.table.setRowCount(len(rows))
        previous = ""
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for i, row in enumerate(rows):
            for col, text in enumerate(row):
                item = QTableWidgetItem("" if col == 0 and text == previous else text)
                if col == 3:
                    item.setTextAlignment(right)
                self.table.setItem(i, col, item)
            previous = row[0]
        for col in (0, 2, 3):  # once, after filling (not per cell)
            self.table.resizeColumnToContents(col)
        self.table.setUpdatesEnabled(True)
        rows_height = len(rows) * self.table.verticalHeader().defaultSectionSize()
        header = self.table.horizontalHeader().sizeHint().height()
        self.table.setFixedHeight(header + rows_height + 2 * self.table.frameWidth() + 4)

    def _failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        self.ctx.status_message.emit(self.tr("The report could not be made. ") + message_for(exc))

    def _set_busy(self, busy: bool) -> None:
        self.show_button.setEnabled(not busy)
        for button in self.export_buttons.values():
            button.setEnabled(not busy and self.report is not None)

    # -- exports --------------------------------------------------------------------------

    def _choose_file(self, kind: str) -> None:
        first, last, _p, _s = self.selection()
        name = f"program-report-{first.isoformat()}-to-{last.isoformat()}.{kind}"
        path, _filter = QFileDialog.getSaveFileName(
            self, self.tr("Save the program report"), str(Path.home() / name), FILTERS[kind]
        )
        if path:
            if not path.lower().endswith(f".{kind}"):
                path += f".{kind}"
            self.export_to(Path(path))

    def export_to(self, path: Path) -> None:
        """Write the report for the current choices to ``path`` (its suffix: the kind)."""
        first, last, program, spec = self.selection()
        self._set_busy(True)

        def done(written: list[Path]) -> None:
            self.last_export = written[0]
            self._set_busy(False)
            self.ctx.status_message.emit(self.tr("Program report saved."))

        def failed(exc: BaseException) -> None:
            self._set_busy(False)
            self.ctx.status_message.emit(message_for(exc))

        self.ctx.run(svc.export_report, done, failed, args=(first, last, [path], program, spec))

    def clear(self) -> None:
        self.report = None
        self.table.setRowCount(0)
        for chart in self.charts.values():
            chart.clear()
        for card in self.cards.values():
            card.setText("–")
        self.subtitle.setText("")
        self._set_busy(False)
