"""The billing dialog's two panels besides the check: the result screen after an
export (counts, the batches written, any warning, "Open folder") and the batches
list with its Void button (a reason, and the void (8) claim file when the batch's
file was already sent to the payer). Every control has an accessible name. The
work runs through the context on the database thread (app.services.billing).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtCore import Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QAbstractItemView
from PySide6.QtWidgets import QCheckBox
from PySide6.QtWidgets import QFormLayout
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QHeaderView
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QTableView
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.billing.worksheet import money
from app.services.billing import ExportResult
from app.services.billing_batches import Voided
from app.services.billing_batches import batch_rows
from app.services.billing_batches import void_with_file
from app.services.failures import StoreError
from app.ui.billing.models import BatchModel
from app.ui.shell.context import AppContext


def named(widget: QWidget, name: str, description: str = "") -> QWidget:
    widget.setAccessibleName(name)
    if description:
        widget.setAccessibleDescription(description)
    return widget


class ResultPanel(QWidget):
    """What an export wrote: services, claims, total, held back; the batches and
    their control numbers; a warning (e.g. not checked with the server)."""

    back = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("billingResult")
        self.folder: Path | None = None
        self.open_url = QDesktopServices.openUrl  # replaceable in tests
        self.heading = named(QLabel("Exported"), "Export result")
        self.heading.setObjectName("resultHeading")
        self.services_value = named(QLabel(), "Services billed")
        self.claims_value = named(QLabel(), "Claims")
        self.total_value = named(QLabel(), "Total billed")
        self.held_value = named(QLabel(), "Services held back")
        form = QFormLayout()
        form.addRow("Services billed", self.services_value)
        form.addRow("Claims", self.claims_value)
        form.addRow("Total", self.total_value)
        form.addRow("Held back for a later export", self.held_value)
        self.batches_text = named(QLabel(), "Batches written")
        self.batches_text.setWordWrap(True)
        self.warning = named(QLabel(), "Warning")
        self.warning.setObjectName("billingWarning")
        self.warning.setWordWrap(True)
        self.open_button = named(
            QPushButton("Open folder"), "Open folder", "Show the written files in the file manager"
        )
        self.open_button.clicked.connect(self.open_folder)
        self.back_button = named(QPushButton("Back to the check"), "Back to the check")
        self.back_button.clicked.connect(self.back)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        buttons.addWidget(self.back_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addLayout(form)
        layout.addWidget(self.batches_text)
        layout.addWidget(self.warning)
        layout.addStretch(1)
        layout.addLayout(buttons)

    def show_result(self, result: ExportResult, folder: Path) -> None:
        self.folder = folder
        services = sum(len(b.batch.encounter_ids) for b in result.batches)
        claims = sum(b.batch.claim_count for b in result.batches)
        cents = sum(b.batch.total_cents for b in result.batches)
        self.heading.setText(f"Exported to {folder}")
        self.services_value.setText(str(services))
        self.claims_value.setText(str(claims))
        self.total_value.setText(f"${money(cents)}")
        self.held_value.setText(str(result.held_back))
        self.batches_text.setText(
            "\n".join(
                f"{b.payer_name}: batch {b.batch.interchange_control:09d}, "
                f"{len(b.paths)} files ({', '.join(p.name for p in b.paths)})"
                for b in result.batches
            )
        )
        checked = "Checked with the server: no other batch bills these services."
        self.warning.setText(result.warning or (checked if result.server_checked else ""))

    def open_folder(self) -> None:
        if self.folder is not None:
            self.open_url(QUrl.fromLocalFile(str(self.folder)))


class BatchesPanel(QWidget):
    """The batches, and Void for the selected one."""

    voided = Signal()  # a void finished (or was refused: see ``last_error``)

    def __init__(self, ctx: AppContext, folder: QLineEdit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.folder = ctx, folder
        self.last_error = ""
        self.last_void: Voided | None = None
        self.model = BatchModel(self)
        self.table = named(QTableView(), "Billing batches")
        self.table.setObjectName("billingBatches")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.selectionModel().selectionChanged.connect(self._update)
        self.reason = named(QLineEdit(), "Reason for voiding")
        self.reason.setPlaceholderText("Why the batch is voided (required)")
        self.reason.textChanged.connect(self._update)
        self.submitted = named(
            QCheckBox("Its file was already sent to the payer: write the void (8) claim file"),
            "Write the void claim file",
            "Write the frequency 8 claim file to the export folder before voiding",
        )
        self.void_button = named(QPushButton("Void batch"), "Void the selected batch")
        self.void_button.clicked.connect(self.void_selected)
        self.status = named(QLabel(), "Batches status")
        self.status.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.reason, 1)
        row.addWidget(self.void_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.submitted)
        layout.addLayout(row)
        layout.addWidget(self.status)
        self._update()

    def refresh(self) -> None:
        self.ctx.run(batch_rows, self._loaded, self._failed)

    def selected_id(self) -> str:
        rows = self.table.selectionModel().selectedRows()
        return self.model.data(rows[0], BatchModel.BATCH_ROLE) if rows else ""

    def select(self, batch_id: str) -> None:
        for i in range(self.model.rowCount()):
            if self.model.row_at(i).id == batch_id:
                self.table.selectRow(i)

    def void_selected(self) -> None:
        batch_id = self.selected_id()
        if not batch_id:
            return
        folder = Path(self.folder.text().strip()) if self.submitted.isChecked() else None
        self.void_button.setEnabled(False)
        self.status.setText("Voiding…")
        args = (batch_id, self.reason.text(), folder)
        self.ctx.run(void_with_file, self._voided, self._failed, args=args)

    def _loaded(self, rows: list) -> None:
        self.model.set_rows(rows)
        twice = sum(1 for r in rows if r.status.startswith("billed twice"))
        if twice:
            self.status.setText(
                f"{twice} batches bill the same services (exported on two laptops offline): "
                "keep the first exported and void the other; tick the box above if its file "
                "was already sent to the payer."
            )
        self._update()

    def _voided(self, done: Voided) -> None:
        self.last_void, self.last_error = done, ""
        extra = f" Void claim file for the payer: {done.void_file}" if done.void_file else ""
        self.status.setText(f"Batch {done.batch.interchange_control:09d} is void.{extra}")
        self.reason.clear()
        self.submitted.setChecked(False)
        self.refresh()
        self.voided.emit()

    def _failed(self, exc: BaseException) -> None:
        self.last_error = str(exc) if isinstance(exc, StoreError) else "The batch was not voided."
        self.status.setText(self.last_error)
        self._update()
        self.voided.emit()

    def _update(self, *_a: object) -> None:
        rows = self.table.selectionModel().selectedRows()
        live = bool(rows) and not self.model.row_at(rows[0].row()).status.startswith("void")
        self.void_button.setEnabled(live and bool(self.reason.text().strip()))
