"""A horizontal bar chart painted with QPainter (QtCharts is not in PySide6-Essentials):
one bar per label, the value written at the end of each bar."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRectF
from PySide6.QtCore import QSize
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSizePolicy
from PySide6.QtWidgets import QWidget

from app.ui.common.painting import card_painter
from app.ui.shell.theme import themed

BAR = "#1f6f78"


class BarChart(QWidget):
    """Bars for (label, value) pairs, with a title above them."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.items: list[tuple[str, float]] = []
        self.setAccessibleName(title)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_data(self, items: Sequence[tuple[str, float]]) -> None:
        self.items = [(str(k), float(v)) for k, v in items]
        self.setAccessibleDescription(
            "; ".join(f"{k}: {v:g}" for k, v in self.items) or self.tr("No data")
        )
        self.updateGeometry()
        self.update()

    def clear(self) -> None:
        self.set_data(())

    def sizeHint(self) -> QSize:
        line = self.fontMetrics().height()
        return QSize(360, int(line * 2.2 + max(1, len(self.items)) * (line + 8) + 10))

    def minimumSizeHint(self) -> QSize:
        return QSize(240, self.sizeHint().height())

    def paintEvent(self, _event: object) -> None:
        p, rect, fm = card_painter(self)
        line = fm.height()
        p.setPen(themed("#1f6f78"))
        font = p.font()
        font.setBold(True)
        p.setFont(font)
        p.drawText(QRectF(10, 6, rect.width() - 20, line), Qt.AlignmentFlag.AlignLeft, self.title)
        font.setBold(False)
        p.setFont(font)
        if not self.items:
            p.setPen(themed("#4a585c"))
            p.drawText(QRectF(10, 10 + line, rect.width() - 20, line), 0, self.tr("No services"))
            p.end()
            return
        label_w = min(rect.width() * 0.42, max(fm.horizontalAdvance(k) for k, _ in self.items) + 8)
        value_w = max(fm.horizontalAdvance(f"{v:g}") for _, v in self.items) + 10
        left = 10 + label_w
        span = max(10.0, rect.width() - left - value_w - 10)
        peak = max(v for _, v in self.items) or 1.0
        y = 12 + line * 1.4
        for label, value in self.items:
            p.setPen(themed("#1e2a2f"))
            text = fm.elidedText(label, Qt.TextElideMode.ElideRight, int(label_w - 8))
            p.drawText(
                QRectF(10, y, label_w - 8, line + 4),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                text,
            )
            w = span * value / peak
            p.fillRect(QRectF(left, y + 2, w, line), themed(BAR))
            p.drawText(
                QRectF(left + w + 4, y, value_w, line + 4),
                Qt.AlignmentFlag.AlignVCenter,
                f"{value:g}",
            )
            y += line + 8
        p.end()
