"""The BARC-10 tab of a participant's record: the history of assessments, the trend
chart and the answers of the one selected. Part of
:class:`app.ui.participant.participant_page.ParticipantPage`.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QBoxLayout
from PySide6.QtWidgets import QDialog
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.domain.records import BARC10_ITEMS
from app.services import records
from app.ui.common.columns import ColumnFitter
from app.ui.common.columns import read_only_table
from app.ui.common.forms import wrapped_label
from app.ui.common.layouts import scrolled
from app.ui.participant.barc_chart import Barc10Chart
from app.ui.participant.models import Barc10Model
from app.ui.participant.record_dialogs import Barc10Dialog


class BarcTabMixin:
    """The BARC-10 tab and its actions."""

    def _barc_tab(self) -> QWidget:
        tr = self.tr
        self.chart = Barc10Chart()
        self.barc_model = Barc10Model(self)
        self.barc_table = read_only_table("barcTable", tr("BARC-10 assessments"))
        self.barc_table.setModel(self.barc_model)
        self.barc_fitter = ColumnFitter(self.barc_table, elastic=(0,), stretch=(0,))
        self.barc_table.selectionModel().currentRowChanged.connect(self._barc_selected)
        self.barc_items = wrapped_label(name="barcItems")
        self.barc_items.setTextFormat(Qt.TextFormat.PlainText)
        self.add_barc_button = QPushButton(tr("Add BARC-10…"))
        self.add_barc_button.setAccessibleName(tr("Add a BARC-10 assessment"))
        self.add_barc_button.clicked.connect(self.add_barc10)
        self.barc_summary = QLabel()
        self.barc_summary.setObjectName("hint")
        top = QHBoxLayout()
        top.addWidget(self.barc_summary, 1)
        top.addWidget(self.add_barc_button)
        # The assessments beside the chosen one's items, or above them when narrow;
        # the whole tab scrolls when the window is short.
        self.barc_lower = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self.barc_lower.addWidget(self.barc_table, 1)
        items_scroll = scrolled(self.barc_items)
        self.barc_lower.addWidget(items_scroll, 1)
        self.barc_table.setMinimumHeight(self.fontMetrics().height() * 9)
        items_scroll.setMinimumHeight(self.fontMetrics().height() * 9)
        w = QWidget()
        w.setObjectName("tabBody")
        v = QVBoxLayout(w)
        v.setContentsMargins(12, 12, 12, 12)
        v.addLayout(top)
        v.addWidget(self.chart, 3)
        v.addLayout(self.barc_lower, 2)
        self.barc_scroll = scrolled(w)
        self.barc_scroll.viewport().installEventFilter(self)
        return self.barc_scroll

    def _show_barc(self, record: records.ParticipantRecord) -> None:
        self.chart.set_points([(b.assessed_on, b.total) for b in record.barc10])
        self.barc_model.set_rows(record.barc10)
        self.barc_fitter.measure()
        self.barc_items.setText("")
        n = len(record.barc10)
        self.barc_summary.setText(
            self.tr("{0} assessments; latest total {1} of 60").format(n, record.barc10[-1].total)
            if n
            else self.tr("No BARC-10 yet.")
        )
        if n:
            self.barc_table.selectRow(0)

    def add_barc10(self) -> QDialog | None:
        if self.record is None:
            return None
        return self._keep(Barc10Dialog(self.ctx, self.participant_id, parent=self))

    def _barc_selected(self, current: Any, _previous: Any = None) -> None:
        if not current.isValid():
            self.barc_items.setText("")
            return
        b = self.barc_model.row_at(current.row())
        self.barc_items.setText(
            "\n".join(
                f"{s}  —  {self.tr(text)}" for s, text in zip(b.scores, BARC10_ITEMS, strict=True)
            )
        )
