"""The "Possible duplicates" list: pairs of records that are likely one person
(app.services.duplicates), each with why. A supervisor merges a pair, choosing the
record to keep; anyone marks a pair "not the same person" (it is not shown again,
on any device). Reads and writes run on the database thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QAbstractItemView
from PySide6.QtWidgets import QComboBox
from PySide6.QtWidgets import QDialog
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QHeaderView
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QTableWidgetItem
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.domain.datetext import day_text
from app.services import duplicates
from app.services.team import user_names
from app.ui.common.columns import read_only_widget_table
from app.ui.common.forms import wrapped_label


@dataclass(frozen=True, slots=True)
class Side:
    id: str
    label: str  # name, Medicaid ID and specialist: enough to tell the two apart


@dataclass(frozen=True, slots=True)
class PairRow:
    a: Side
    b: Side
    born: str
    reason: str


def load_pairs(repos: Any) -> list[PairRow]:
    """On the database thread: the likely duplicates as the list shows them."""
    names = user_names(repos)

    def side(p: Any) -> Side:
        parts = [p.display_name]
        if p.medicaid_id:
            parts.append(f"Medicaid {p.medicaid_id}")
        if p.assigned_specialist_id:
            parts.append(names.get(p.assigned_specialist_id, "another specialist"))
        return Side(p.id, " · ".join(parts))

    out = []
    for pair in duplicates.find_duplicates(repos):
        born = pair.a.date_of_birth or pair.b.date_of_birth
        out.append(PairRow(side(pair.a), side(pair.b), day_text(born) if born else "", pair.reason))
    return out


class DuplicatesDialog(QDialog):
    """Possible duplicates, with Merge (supervisors) and Not the same person."""

    changed = Signal()

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.rows: list[PairRow] = []
        self.setObjectName("duplicatesDialog")
        self.setWindowTitle(self.tr("Possible duplicates"))
        self.resize(820, 420)
        intro = QLabel(
            self.tr(
                "These records may be one person registered twice. Check them with the "
                "person's specialist before merging."
            )
        )
        intro.setWordWrap(True)
        self.table = read_only_widget_table(
            "duplicatesTable",
            self.tr("Possible duplicates"),
            [self.tr("Record"), self.tr("Other record"), self.tr("Born"), self.tr("Why")],
        )
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.empty_label = QLabel(self.tr("No possible duplicates."))
        self.empty_label.setObjectName("hint")

        self.keep_combo = QComboBox()
        self.keep_combo.setObjectName("keepChoice")
        self.keep_combo.setAccessibleName(self.tr("The record to keep"))
        self.merge_button = QPushButton(self.tr("Merge"))
        self.merge_button.setObjectName("primary")
        self.merge_button.setToolTip(
            self.tr(
                "Keep the chosen record; the other one's notes, goals, consents and scores "
                "become the kept record's, and its details fill the kept record's empty ones"
            )
        )
        self.merge_button.clicked.connect(self.merge_selected)
        self.distinct_button = QPushButton(self.tr("Not the same person"))
        self.distinct_button.setObjectName("distinctButton")
        self.distinct_button.clicked.connect(self.mark_selected_distinct)
        self.status = wrapped_label()
        close = QPushButton(self.tr("Close"))
        close.clicked.connect(self.accept)

        actions = QHBoxLayout()
        self.keep_label = QLabel(self.tr("Keep:"))
        actions.addWidget(self.keep_label)
        actions.addWidget(self.keep_combo, 1)
        actions.addWidget(self.merge_button)
        actions.addWidget(self.distinct_button)
        supervisor = bool(getattr(ctx, "is_supervisor", False))
        for w in (self.keep_label, self.keep_combo, self.merge_button):
            w.setVisible(supervisor)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty_label)
        layout.addLayout(actions)
        layout.addLayout(bottom)
        self._on_selection()
        self.refresh()

    # -- reading -----------------------------------------------------------------------

    def refresh(self) -> None:
        self.ctx.run(load_pairs, self._show, self._failed)

    def _show(self, rows: list[PairRow]) -> None:
        self.rows = rows
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate((row.a.label, row.b.label, row.born, row.reason)):
                item = QTableWidgetItem(text)
                item.setFlags(Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled)
                self.table.setItem(r, c, item)
        self.table.setVisible(bool(rows))
        self.empty_label.setVisible(not rows)
        if rows:
            self.table.selectRow(0)
        self._on_selection()

    def _failed(self, exc: BaseException) -> None:
        from app.services.failures import message_for

        self.status.setText(message_for(exc))

    def selected(self) -> PairRow | None:
        r = self.table.currentRow()
        return self.rows[r] if 0 <= r < len(self.rows) and self.table.selectedItems() else None

    def _on_selection(self) -> None:
        row = self.selected()
        self.keep_combo.clear()
        if row is not None:
            for side in (row.a, row.b):
                self.keep_combo.addItem(side.label, side.id)
        for w in (self.keep_combo, self.merge_button, self.distinct_button):
            w.setEnabled(row is not None)

    # -- writing -----------------------------------------------------------------------

    def merge_selected(self) -> None:
        row = self.selected()
        if row is None:
            return
        keep = self.keep_combo.currentData()
        other = row.b.id if keep == row.a.id else row.a.id
        self.ctx.run(duplicates.merge, self._merged, self._failed, args=(keep, other))

    def _merged(self, outcome: duplicates.MergeOutcome) -> None:
        text = self.tr("Merged into %1.").replace("%1", outcome.kept.display_name)
        if outcome.filled:
            text += " " + self.tr("Filled in: %1.").replace("%1", ", ".join(outcome.filled))
        if outcome.conflicting:
            text += " " + self.tr(
                "Different on the two records (the merged record keeps its value): %1."
            ).replace("%1", ", ".join(outcome.conflicting))
        self.status.setText(text)
        self.changed.emit()
        self.refresh()

    def mark_selected_distinct(self) -> None:
        row = self.selected()
        if row is None:
            return
        self.ctx.run(
            duplicates.mark_distinct, self._marked, self._failed, args=(row.a.id, row.b.id)
        )

    def _marked(self, _left: int) -> None:
        self.status.setText(self.tr("Marked as two different people."))
        self.changed.emit()
        self.refresh()
