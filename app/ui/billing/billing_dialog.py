"""The billing export dialog: pick a period and a payer, see the pre-flight problems,
export to the default folder (Documents/PeerTrail billing) or another, and see the
result screen (counts, batches, "Open folder"); the Batches tab lists every batch
with a Void button (app.ui.billing.panels).

All database work (the check, the export) runs through the context
(``AppContext.run``) on the database thread, through the same service as
``python main.py export`` (app.services.billing); the context broadcasts what an
export marked billed, so every page showing notes refreshes. Each problem row
names its record; a double-click emits ``open_record(table, record_id)`` for the
main window to open it. When some services have problems, Export needs the
person to confirm that only the valid ones go (the others wait for a later
export). A progress bar follows the export's steps (check, server reservation,
one step per payer). The dialog says that exported files are the only place
personal data leaves the vault. Its title never names a person. Every control has
an accessible name.
"""

from __future__ import annotations

from datetime import date
from datetime import timedelta
from pathlib import Path

from PySide6.QtCore import QDate
from PySide6.QtCore import QModelIndex
from PySide6.QtCore import Qt
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QAbstractItemView
from PySide6.QtWidgets import QCheckBox
from PySide6.QtWidgets import QComboBox
from PySide6.QtWidgets import QDateEdit
from PySide6.QtWidgets import QDialog
from PySide6.QtWidgets import QFileDialog
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QHeaderView
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QProgressBar
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QStackedWidget
from PySide6.QtWidgets import QTableView
from PySide6.QtWidgets import QTabWidget
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.billing.worksheet import money
from app.services.billing import PRIVACY_NOTE
from app.services.billing import ExportRequest
from app.services.billing import ExportResult
from app.services.billing import default_export_folder
from app.services.billing import export_with
from app.services.billing import payer_names
from app.services.failures import StoreError
from app.ui.billing.models import ProblemModel
from app.ui.billing.models import rows_from
from app.ui.billing.panels import BatchesPanel
from app.ui.billing.panels import ResultPanel
from app.ui.billing.panels import named
from app.ui.common.forms import wrapped_label
from app.ui.common.text import plural
from app.ui.shell.context import AppContext

ALL_PAYERS = "All payers"


def previous_month(today: date) -> tuple[date, date]:
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


class BillingDialog(QDialog):
    """The one-click billing export. The lead's main window connects ``open_record``."""

    open_record = Signal(str, str)  # table, record id
    checked = Signal()  # a pre-flight check finished (tests and the status line)
    exported = Signal()  # an export finished (files written or refused)
    progressed = Signal(str, int, int)  # from the database thread: step, done, total

    def __init__(
        self,
        ctx: AppContext,
        parent: QWidget | None = None,
        today: date | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("billingDialog")
        self.setWindowTitle("Billing export")
        self.resize(1040, 640)
        self.ctx = ctx
        self.today = today or date.today()
        self.result: ExportResult | None = None
        self.last_error = ""
        self._working = False
        top = self._build_period()
        self._build_problems()
        folder_row, buttons = self._build_export()
        self.result_panel = ResultPanel()
        self.result_panel.back.connect(self._back_to_check)
        check_page = QWidget()
        check_layout = QVBoxLayout(check_page)
        check_layout.setContentsMargins(0, 0, 0, 0)
        for w in (self.summary, self.table, self.hint, self.confirm):
            check_layout.addWidget(w, 1 if w is self.table else 0)
        self.pages = QStackedWidget()
        self.pages.addWidget(check_page)
        self.pages.addWidget(self.result_panel)

        export_tab = QWidget()
        layout = QVBoxLayout(export_tab)
        layout.addLayout(top)
        layout.addWidget(self.pages, 1)
        layout.addLayout(folder_row)
        layout.addWidget(self.progress)
        layout.addWidget(self.privacy)
        layout.addLayout(buttons)
        self.batches = BatchesPanel(ctx, self.folder)
        self.tabs = named(QTabWidget(), "Billing")
        self.tabs.addTab(export_tab, "Export")
        self.tabs.addTab(self.batches, "Batches")
        self.tabs.currentChanged.connect(self._tab_changed)
        outer = QVBoxLayout(self)
        outer.addWidget(self.tabs)
        self.progressed.connect(self._on_progress, Qt.ConnectionType.QueuedConnection)
        self._update_buttons()
        self.check_button.setFocus()
        ctx.run(payer_names, self._payers_loaded, self._failed)

    def _build_period(self) -> QHBoxLayout:
        """From, to, payer and the Check button."""
        first, last = previous_month(self.today)
        self.date_from = QDateEdit(QDate(first.year, first.month, first.day))
        self.date_to = QDateEdit(QDate(last.year, last.month, last.day))
        for d in (self.date_from, self.date_to):
            d.setCalendarPopup(True)
            d.setDisplayFormat("yyyy-MM-dd")
            d.dateChanged.connect(self._invalidate)
        self.payer = QComboBox()
        self.payer.addItem(ALL_PAYERS)
        self.payer.currentIndexChanged.connect(self._invalidate)
        self.check_button = QPushButton("Check")
        self.check_button.clicked.connect(self.run_check)
        named(self.date_from, "First day of the period")
        named(self.date_to, "Last day of the period")
        named(self.payer, "Payer")
        named(self.check_button, "Check", "Run the pre-flight checks for the period")

        top = QHBoxLayout()
        for label, w in (("From", self.date_from), ("To", self.date_to), ("Payer", self.payer)):
            top.addWidget(QLabel(label))
            top.addWidget(w)
        top.addStretch(1)
        top.addWidget(self.check_button)
        return top

    def _build_problems(self) -> None:
        """The summary of the check and the table of problems."""
        self.summary = wrapped_label("Pick a period and press Check.", "billingSummary")
        self.model = ProblemModel(self)
        self.table = QTableView()
        self.table.setObjectName("preflightProblems")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.table.setWordWrap(True)
        self.table.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.table.doubleClicked.connect(self._open)
        self.hint = QLabel("Double-click a problem to open its record.")
        self.hint.setObjectName("hint")
        named(self.summary, "Check summary")
        named(self.table, "Pre-flight problems", "Double-click a problem to open its record")
        named(self.hint, "Hint")

    def _build_export(self) -> tuple[QHBoxLayout, QHBoxLayout]:
        """The confirmation, the folder, the privacy note and the Export button."""
        self.confirm = QCheckBox()
        self.confirm.setVisible(False)
        self.confirm.toggled.connect(self._update_buttons)
        self.folder = named(QLineEdit(), "Export folder")
        self.folder.setPlaceholderText("Folder for the claim file, worksheet and summary")
        self.default_folder = default_export_folder()
        self.folder.setText(str(self.default_folder))
        self.folder.textChanged.connect(self._update_buttons)
        browse = named(QPushButton("Choose…"), "Choose the export folder")
        browse.clicked.connect(self._choose_folder)
        self.progress = named(QProgressBar(), "Export progress")
        self.progress.setVisible(False)
        self.progress.setTextVisible(True)
        folder_row = QHBoxLayout()
        folder_row.addWidget(QLabel("Save to"))
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)

        self.privacy = wrapped_label(PRIVACY_NOTE, "privacyNote")
        # Its colours are in resources/styles/billing.qss (turned for the dark scheme).
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.export_button = named(QPushButton("Export"), "Export", "Write the claim files")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.run_export)
        named(self.confirm, "Export the valid services only")
        named(self.privacy, "Privacy note")
        named(self.status, "Export status")
        close = named(QPushButton("Close"), "Close")
        close.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(close)
        buttons.addWidget(self.export_button)
        return folder_row, buttons

    # -- reading the form -----------------------------------------------------------

    def request(self, dry_run: bool) -> ExportRequest:
        payer = self.payer.currentText()
        return ExportRequest(
            period_from=self.date_from.date().toPython(),
            period_to=self.date_to.date().toPython(),
            out_dir=None if dry_run else Path(self.folder.text().strip()),
            payer_name=None if payer == ALL_PAYERS else payer,
            skip_invalid=True if dry_run else self.confirm.isChecked(),
            dry_run=dry_run,
            today=self.today,
            create_folder=Path(self.folder.text().strip()) == self.default_folder,
        )

    def set_period(self, first: date, last: date) -> None:
        self.date_from.setDate(QDate(first.year, first.month, first.day))
        self.date_to.setDate(QDate(last.year, last.month, last.day))

    # -- work on the database thread -------------------------------------------------

    def run_check(self) -> None:
        self.pages.setCurrentIndex(0)
        self._busy("Checking the period's services…")
        self.ctx.run(export_with, self._checked, self._failed, args=(self.request(True),))

    def run_export(self) -> None:
        if self.result is None:
            self.run_check()
            return
        self._busy("Writing the files…")
        self.progress.setRange(0, 0)  # busy until the first step is known
        self.progress.setVisible(True)
        # through the context: what the export marked billed is broadcast to every page
        args = (self.request(False), self.progressed.emit)
        self.ctx.run(export_with, self._exported, self._failed, args=args)

    # -- results on the UI thread ------------------------------------------------------

    def _payers_loaded(self, names: list[str]) -> None:
        self.payer.blockSignals(True)
        for n in names:
            self.payer.addItem(n)
        self.payer.blockSignals(False)

    def _checked(self, result: ExportResult) -> None:
        self.result = result
        self.last_error = ""
        self.model.set_rows(rows_from(result))
        self.table.resizeRowsToContents()
        pf = result.preflight
        valid = len(pf.lines)
        units = sum(t.units for t in result.totals)
        cents = sum(t.cents for t in result.totals)
        if pf.considered == 0:
            text = "No services to bill in this period (nothing approved and not yet billed)."
        else:
            text = (
                plural(self, pf.considered, "%n service in the period", "%n services in the period")
                + f": {valid} ready to bill ("
                + plural(self, units, "%n unit", "%n units")
                + f", ${money(cents)})"
            )
            text += (
                f"; {len(pf.blocked_ids)} held back by "
                + plural(self, len(result.problems), "%n problem below.", "%n problems below.")
                if result.problems
                else "; no problems found."
            )
        self.summary.setText(text)
        held = len(pf.blocked_ids)
        self.confirm.setText(
            plural(
                self, valid, "Export the %n valid service only", "Export the %n valid services only"
            )
            + f"; the {held} with problems wait for a later export."
        )
        self.confirm.setChecked(False)
        self.confirm.setVisible(bool(result.problems) and valid > 0 and not pf.stopped_everything)
        self.status.setText("")
        self._idle()
        self.checked.emit()

    def _exported(self, result: ExportResult) -> None:
        self._idle()
        self.last_error = ""
        if result.outcome == "written":
            claims = sum(b.batch.claim_count for b in result.batches)
            folder = Path(self.folder.text().strip())
            self.status.setText(
                plural(self, claims, "Exported %n claim", "Exported %n claims")
                + " "
                + plural(self, len(result.batches), "in %n batch", "in %n batches")
                + f" to {folder}."
            )
            self.result_panel.show_result(result, folder)
            self.pages.setCurrentWidget(self.result_panel)
            self.result = None  # the billed services are gone from the period: check again
            self.model.set_rows([])
            self.confirm.setVisible(False)
            self.summary.setText("Exported. Press Check to see what is left in the period.")
        elif result.outcome == "nothing":
            self.status.setText("Nothing to bill in this period.")
        else:
            self._checked(result)
            self.status.setText("Nothing was exported: confirm that the valid services go alone.")
        self._update_buttons()
        self.exported.emit()

    def _failed(self, exc: BaseException) -> None:
        self._idle()
        # Billing and store errors carry plain messages without personal data.
        self.last_error = (
            str(exc) if isinstance(exc, StoreError) else "The export failed; nothing was billed."
        )
        self.status.setText(self.last_error)
        self.exported.emit()

    # -- small things -------------------------------------------------------------------

    def _on_progress(self, step: str, done: int, total: int) -> None:
        if not self._working:
            return
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{step} (%p%)")

    def _back_to_check(self) -> None:
        self.pages.setCurrentIndex(0)

    def _tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.batches:
            self.batches.refresh()

    def _invalidate(self) -> None:
        self.result = None
        self.model.set_rows([])
        self.confirm.setVisible(False)
        self.summary.setText("Press Check to look at this period.")
        self._update_buttons()

    def _busy(self, text: str) -> None:
        self._working = True
        self.status.setText(text)
        self.check_button.setEnabled(False)
        self.export_button.setEnabled(False)

    def _idle(self) -> None:
        self._working = False
        self.progress.setVisible(False)
        self.check_button.setEnabled(True)
        self._update_buttons()

    def _update_buttons(self) -> None:
        r = self.result
        ready = (
            r is not None
            and bool(r.preflight.lines)
            and not r.preflight.stopped_everything
            and (not r.problems or self.confirm.isChecked())
            and bool(self.folder.text().strip())
        )
        self.export_button.setEnabled(ready and not self._working)

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for the billing files")
        if folder:
            self.folder.setText(folder)

    def _open(self, index: QModelIndex) -> None:
        table, record_id = self.model.data(index, ProblemModel.RECORD_ROLE)
        if record_id:
            self.open_record.emit(table, record_id)
