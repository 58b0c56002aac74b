"""A small trend chart of BARC-10 totals over time, painted with QPainter (QtCharts is
not part of PySide6-Essentials). The y axis is the whole scale, 10 to 60, so a
change looks as big as it is; the x axis is time, so uneven gaps between
assessments show as such."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QPointF
from PySide6.QtCore import QRectF
from PySide6.QtCore import QSize
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtGui import QPainter
from PySide6.QtGui import QPainterPath
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QSizePolicy
from PySide6.QtWidgets import QWidget

from app.domain.datetext import day_text
from app.domain.datetext import month_year_text
from app.ui.shell.theme import themed

LOW, HIGH = 10, 60
LINE = "#1f6f78"
GRID = "#dde4e0"
AXIS_TEXT = "#3d4a4e"


class Barc10Chart(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("barcChart")
        self._points: list[tuple[date, int]] = []
        self.setMinimumHeight(170)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setAccessibleName(self.tr("BARC-10 trend"))
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self._describe()

    def sizeHint(self) -> QSize:
        return QSize(480, 200)

    def set_points(self, points: list[tuple[date, int]]) -> None:
        self._points = sorted(points)
        self._describe()
        self.update()

    def points(self) -> list[tuple[date, int]]:
        return list(self._points)

    def _describe(self) -> None:
        pts = self._points
        if not pts:
            text = self.tr("No BARC-10 assessments yet.")
        elif len(pts) == 1:
            text = self.tr("One assessment: total {0} on {1}.").format(
                pts[0][1], day_text(pts[0][0])
            )
        else:
            text = self.tr("{0} assessments; total went from {1} on {2} to {3} on {4}.").format(
                len(pts), pts[0][1], day_text(pts[0][0]), pts[-1][1], day_text(pts[-1][0])
            )
        self.setAccessibleDescription(text)
        self.setToolTip(text)

    # -- painting ---------------------------------------------------------------------

    def _plot_rect(self) -> QRectF:
        fm = self.fontMetrics()
        left = fm.horizontalAdvance("60") + 14
        bottom = fm.height() + 10
        return QRectF(
            left, 10, max(10, self.width() - left - 18), max(10, self.height() - bottom - 16)
        )

    def point_positions(self) -> list[QPointF]:
        """Where each point is drawn (for tests and the painter)."""
        r = self._plot_rect()
        pts = self._points
        if not pts:
            return []
        first, last = pts[0][0].toordinal(), pts[-1][0].toordinal()
        span = max(1, last - first)
        out = []
        for d, total in pts:
            x = (
                r.center().x()
                if len(pts) == 1
                else r.left() + (d.toordinal() - first) / span * r.width()
            )
            y = r.bottom() - (min(max(total, LOW), HIGH) - LOW) / (HIGH - LOW) * r.height()
            out.append(QPointF(x, y))
        return out

    def paintEvent(self, event: object) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = self._plot_rect()
        fm = self.fontMetrics()
        p.fillRect(self.rect(), themed("#ffffff"))
        for v in range(LOW, HIGH + 1, 10):
            y = r.bottom() - (v - LOW) / (HIGH - LOW) * r.height()
            p.setPen(QPen(themed(GRID), 1))
            p.drawLine(QPointF(r.left(), y), QPointF(r.right(), y))
            p.setPen(themed(AXIS_TEXT))
            p.drawText(
                QRectF(0, y - fm.height() / 2, r.left() - 6, fm.height()),
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                str(v),
            )
        if not self._points:
            p.setPen(themed(AXIS_TEXT))
            p.drawText(r, int(Qt.AlignmentFlag.AlignCenter), self.tr("No BARC-10 assessments yet"))
            p.end()
            return
        positions = self.point_positions()
        path = QPainterPath(positions[0])
        for pt in positions[1:]:
            path.lineTo(pt)
        p.setPen(QPen(themed(LINE), 2.5))
        p.drawPath(path)
        p.setBrush(themed("#ffffff"))
        for pt in positions:
            p.drawEllipse(pt, 4.5, 4.5)
        # First and last dates under the axis; the latest total beside its point.
        p.setPen(themed(AXIS_TEXT))
        y = r.bottom() + 6
        first, last = self._points[0][0], self._points[-1][0]
        p.drawText(
            QRectF(r.left(), y, r.width() / 2, fm.height() + 2),
            int(Qt.AlignmentFlag.AlignLeft),
            month_year_text(first),
        )
        if len(self._points) > 1:
            p.drawText(
                QRectF(r.center().x(), y, r.width() / 2, fm.height() + 2),
                int(Qt.AlignmentFlag.AlignRight),
                month_year_text(last),
            )
        bold = QFont(self.font())
        bold.setBold(True)
        p.setFont(bold)
        p.setPen(themed(LINE))
        lp = positions[-1]
        label = str(self._points[-1][1])
        w = p.fontMetrics().horizontalAdvance(label)
        lx = lp.x() - w - 8 if lp.x() + w + 10 > r.right() else lp.x() + 8
        ly = lp.y() - 8 if lp.y() - fm.height() > r.top() else lp.y() + fm.height() + 4
        p.drawText(QPointF(lx, ly), label)
        p.end()
