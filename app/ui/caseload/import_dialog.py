"""Importing a caseload from a spreadsheet (CSV).

Pick a file; it is read and checked on the database worker
(app.services.importing.preview_import, which uses
app.domain.participant_import.plan_import) and every row is shown with what will
happen to it: imported, imported with a warning, or left out with the reasons.
Confirming imports only the good rows, in one transaction, and says how many were
imported and how many were left out. Nothing is written before the confirmation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QAbstractItemView
from PySide6.QtWidgets import QDialog
from PySide6.QtWidgets import QDialogButtonBox
from PySide6.QtWidgets import QFileDialog
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QHeaderView
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QTableView
from PySide6.QtWidgets import QWidget

from app.domain.participant_import import REQUIRED
from app.services import importing
from app.services.failures import message_for
from app.ui.caseload.models import BAD
from app.ui.caseload.models import WARNING
from app.ui.caseload.models import PreviewModel
from app.ui.common.forms import wrapped_label
from app.ui.common.layouts import column


class ImportDialog(QDialog):
    """Pick a CSV, see every row's outcome, import the good rows."""

    imported = Signal(int)

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.preview: importing.ImportPreview | None = None
        self.setObjectName("importDialog")
        self.setWindowTitle(self.tr("Import participants"))
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.resize(940, 620)
        tr = self.tr

        heading = QLabel(tr("Import participants from a spreadsheet"))
        heading.setObjectName("dialogTitle")
        intro = wrapped_label(
            tr(
                "Save the spreadsheet as CSV. The first line names the columns; these are "
                "needed: {0}. Optional for claims: address line1, address line2, city, state, "
                "zip code, administrative sex (F, M or U as on the Medicaid card). Nothing is "
                "added until you confirm."
            ).format(", ".join(c.replace("_", " ") for c in REQUIRED))
        )
        self.choose_button = QPushButton(tr("Choose file…"))
        self.choose_button.setAccessibleName(tr("Choose the spreadsheet file (Ctrl+O)"))
        self.choose_button.setShortcut("Ctrl+O")
        self.choose_button.clicked.connect(self.choose_file)
        self.file_label = QLabel(tr("No file chosen."))
        self.file_label.setObjectName("hint")
        self.file_label.setTextFormat(Qt.TextFormat.PlainText)
        self.summary = wrapped_label(name="importSummary")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.error = wrapped_label(name="formError", hidden=True)

        self.model = PreviewModel(self)
        self.table = QTableView()
        self.table.setTabKeyNavigation(False)  # Tab leaves the table
        self.table.setObjectName("importPreview")
        self.table.setAccessibleName(tr("Rows of the spreadsheet and what will happen to each"))
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(True)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setDefaultAlignment(
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        )

        self.buttons = QDialogButtonBox()
        self.import_button = self.buttons.addButton(
            tr("Import"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.import_button.setObjectName("primary")
        self.import_button.setEnabled(False)
        self.import_button.clicked.connect(self.confirm)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.close_button.setAccessibleName(tr("Close without importing"))
        self.close_button.clicked.connect(self.reject)

        row = QHBoxLayout()
        row.addWidget(self.choose_button)
        row.addWidget(self.file_label, 1)
        column(
            heading, intro, row, self.error, self.summary, (self.table, 1), self.buttons,
            parent=self, margins=(20, 16, 20, 16), spacing=10,
        )  # fmt: skip

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            self.tr("Choose the spreadsheet"),
            str(Path.home()),
            self.tr("Spreadsheets saved as CSV (*.csv *.txt);;All files (*)"),
        )
        if path:
            self.load_file(Path(path))

    def load_file(self, path: Path) -> None:
        """Read and check ``path`` on the worker; nothing is written."""
        self.preview = None
        self.model.set_preview(None)
        self.import_button.setEnabled(False)
        self.error.hide()
        self.summary.setText(self.tr("Reading the file…"))
        self.file_label.setText(path.name)
        self.choose_button.setEnabled(False)
        self.ctx.run(importing.preview_import, self._previewed, self._read_failed, args=(path,))

    def _previewed(self, preview: importing.ImportPreview) -> None:
        self.choose_button.setEnabled(True)
        self.preview = preview
        self.model.set_preview(preview)
        self.table.resizeColumnsToContents()
        for col in range(self.model.columnCount()):
            if self.table.columnWidth(col) > 300:
                self.table.setColumnWidth(col, 300)
        self.table.setColumnWidth(2, max(self.fontMetrics().averageCharWidth() * 42, 300))
        self.table.resizeRowsToContents()
        file_problems = [e.message for e in preview.plan.errors if e.line == 1]
        notes = [w.message for w in preview.plan.warnings if w.line == 1]
        good = len(preview.plan.participants)
        counts = self.model.counts()
        if file_problems:
            self.error.setText(
                self.tr("This file cannot be imported: {0}.").format("; ".join(file_problems))
            )
            self.error.show()
        lines = []
        if not file_problems:
            lines.append(
                self.tr("{0} rows will be imported; {1} left out because of problems.").format(
                    good, counts[BAD]
                )
            )
            if counts[WARNING]:
                lines.append(
                    self.tr(
                        "{0} of them match someone in the vault by name and birth date; check them."
                    ).format(counts[WARNING])
                )
        if notes:
            lines.append(self.tr("Not imported: {0}").format("; ".join(notes)))
        self.summary.setText("\n".join(lines))
        self.import_button.setEnabled(good > 0 and not file_problems)
        self.import_button.setText(
            self.tr("Import {0} participants").format(good)
            if good != 1
            else self.tr("Import 1 participant")
        )

    def _read_failed(self, exc: BaseException) -> None:
        self.choose_button.setEnabled(True)
        self.summary.setText("")
        self.error.setText(message_for(exc))
        self.error.show()

    def confirm(self) -> None:
        if self.preview is None or not self.import_button.isEnabled():
            return
        people = [p for _line, p in self.preview.plan.participants]
        left_out = self.model.counts()[BAD]
        self.import_button.setEnabled(False)
        self.choose_button.setEnabled(False)

        def done(n: int) -> None:
            self.summary.setText(
                self.tr("Imported {0} participants.").format(n)
                + (
                    self.tr(
                        " {0} rows were left out; fix them in the spreadsheet"
                        " and import those again."
                    ).format(left_out)
                    if left_out
                    else ""
                )
            )
            self.ctx.status_message.emit(self.tr("Imported {0} participants.").format(n))
            self.preview = None
            self.import_button.hide()
            self.close_button.setText(self.tr("Close"))
            self.choose_button.setEnabled(True)
            self.imported.emit(n)

        def failed(exc: BaseException) -> None:
            self.import_button.setEnabled(True)
            self.choose_button.setEnabled(True)
            self.error.setText(self.tr("Nothing was imported. ") + message_for(exc))
            self.error.show()

        self.ctx.run(
            importing.import_participants, done, failed, args=(people, self.preview.file_name)
        )
