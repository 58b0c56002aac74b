"""A stacked bar chart of hours per week by kind of work, painted with QPainter.

QtCharts is not part of PySide6-Essentials, so this small widget draws the twelve
weeks itself: one bar per week, one colour per kind (direct service at the bottom),
hour gridlines, week labels and a legend. The selected week is outlined; clicking
a bar (or pressing Left/Right when the chart has focus) asks to show that week.
Hovering a bar shows its figures in a tooltip, and the accessible description
reads the same figures out for a screen reader.
"""

from __future__ import annotations

import math
from datetime import date

from PySide6.QtCore import QPointF
from PySide6.QtCore import QRectF
from PySide6.QtCore import QSize
from PySide6.QtCore import Qt
from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtGui import QFont
from PySide6.QtGui import QFontMetrics
from PySide6.QtGui import QHelpEvent
from PySide6.QtGui import QKeyEvent
from PySide6.QtGui import QMouseEvent
from PySide6.QtGui import QPainter
from PySide6.QtGui import QPaintEvent
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QSizePolicy
from PySide6.QtWidgets import QToolTip
from PySide6.QtWidgets import QWidget

from app.domain.datetext import duration_text
from app.domain.datetext import month_day_text
from app.domain.hours import SHEET_CATEGORIES
from app.domain.hours import WeekBar
from app.domain.records import TimeCategory
from app.ui.shell.theme import themed

#: One colour per kind of work, distinct for common colour-vision differences
#: (blue/orange/purple/green/grey families, different lightness).
CATEGORY_COLOURS: dict[TimeCategory, str] = {
    TimeCategory.DIRECT: "#1f6f78",
    TimeCategory.TRAVEL: "#e0a043",
    TimeCategory.DOCUMENTATION: "#7fa6d6",
    TimeCategory.TRAINING: "#7b5aa6",
    TimeCategory.SUPERVISION: "#8cc08a",
    TimeCategory.OTHER: "#a7b0ad",
}


def nice_step(max_hours: float, lines: int = 4) -> float:
    """A round gridline step (1, 2, 5, 10, 20 … hours) for about ``lines`` lines."""
    if max_hours <= 0:
        return 1.0
    raw = max_hours / lines
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * power:
            return max(1.0, m * power)
    return max(1.0, 10 * power)


class HoursChart(QWidget):
    """Hours per week for the last weeks, stacked by kind."""

    #: A week was picked (its Monday).
    week_clicked = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("hoursChart")
        self.setAccessibleName(self.tr("Hours per week, last 12 weeks"))
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.bars: list[WeekBar] = []
        self.selected: date | None = None
        self.labels: dict[TimeCategory, str] = {c: str(c).capitalize() for c in SHEET_CATEGORIES}

    # -- data ------------------------------------------------------------------------------

    def set_bars(self, bars: list[WeekBar], selected: date | None = None) -> None:
        self.bars = list(bars)
        self.selected = selected
        self.setAccessibleDescription(self.describe())
        self.update()

    def clear(self) -> None:
        self.set_bars([])

    def describe(self) -> str:
        """The chart's figures in words."""
        if not self.bars:
            return self.tr("No hours to show.")
        parts = []
        for bar in self.bars:
            kinds = ", ".join(
                f"{self.labels[c]} {duration_text(m)}" for c, m in bar.minutes.items() if m
            )
            total = duration_text(bar.total)
            parts.append(
                f"{self.tr('Week of')} {month_day_text(bar.start)}: {total}"
                + (f" ({kinds})" if kinds else "")
            )
        return "; ".join(parts)

    # -- geometry ----------------------------------------------------------------------------

    def sizeHint(self) -> QSize:
        fm = self.fontMetrics()
        return QSize(640, fm.height() * 14)

    def minimumSizeHint(self) -> QSize:
        fm = self.fontMetrics()
        return QSize(fm.horizontalAdvance("0000") * 12, fm.height() * 10)

    def _small_font(self) -> QFont:
        f = QFont(self.font())
        f.setPointSizeF(max(9.0, f.pointSizeF() * 0.85))
        return f

    def _layout(self) -> tuple[QRectF, QRectF, float]:
        """(legend area, plot area, top of the axis in hours)."""
        fm = QFontMetrics(self._small_font())
        pad = fm.height() * 0.6
        legend_h = self._legend_height(fm, self.width() - 2 * pad)
        axis_w = fm.horizontalAdvance("000 h") + pad
        top = pad + legend_h + pad
        bottom = self.height() - pad - fm.height() * 1.4
        plot = QRectF(pad + axis_w, top, max(10.0, self.width() - 2 * pad - axis_w), bottom - top)
        legend = QRectF(pad, pad, self.width() - 2 * pad, legend_h)
        max_hours = max((b.total for b in self.bars), default=0) / 60
        step = nice_step(max_hours)
        top_hours = max(step, math.ceil(max_hours / step) * step)
        return legend, plot, top_hours

    def _legend_items(self, fm: QFontMetrics) -> list[tuple[TimeCategory, float]]:
        box = fm.height() * 0.8
        return [
            (c, box + fm.height() * 0.35 + fm.horizontalAdvance(self.labels[c]) + fm.height())
            for c in SHEET_CATEGORIES
        ]

    def _legend_height(self, fm: QFontMetrics, width: float) -> float:
        rows, x = 1, 0.0
        for _, w in self._legend_items(fm):
            if x and x + w > width:
                rows, x = rows + 1, 0.0
            x += w
        return rows * fm.height() * 1.3

    def bar_rects(self) -> list[QRectF]:
        """The full-height hit area of each bar (for clicks and tooltips)."""
        if not self.bars:
            return []
        _, plot, _ = self._layout()
        slot = plot.width() / len(self.bars)
        width = min(slot * 0.62, self.fontMetrics().height() * 3.0)
        return [
            QRectF(plot.left() + slot * i + (slot - width) / 2, plot.top(), width, plot.height())
            for i in range(len(self.bars))
        ]

    def bar_at(self, x: float, y: float) -> int | None:
        if not self.bars:
            return None
        _, plot, _ = self._layout()
        if not plot.adjusted(0, 0, 0, 40).contains(QPointF(x, y)):
            return None
        slot = plot.width() / len(self.bars)
        i = int((x - plot.left()) // slot)
        return i if 0 <= i < len(self.bars) else None

    # -- painting ----------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), themed("#ffffff"))
        small = self._small_font()
        p.setFont(small)
        fm = QFontMetrics(small)
        legend, plot, top_hours = self._layout()
        text = themed("#2b3a3f")
        grid = themed("#e3e8e5")

        self._paint_legend(p, fm, legend, text)
        self._paint_grid(p, fm, plot, top_hours, text, grid)

        if not self.bars:
            p.setPen(text)
            p.drawText(plot, int(Qt.AlignmentFlag.AlignCenter), self.tr("No hours to show."))
            p.end()
            return

        self._paint_bars(p, fm, small, plot, top_hours, text)
        p.setPen(QPen(themed("#9aa8a2"), 1))
        p.drawLine(QPointF(plot.left(), plot.bottom()), QPointF(plot.right(), plot.bottom()))
        if self.hasFocus():
            p.setPen(QPen(themed("#1f6f78"), 2, Qt.PenStyle.DotLine))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(QRectF(self.rect()).adjusted(1, 1, -1, -1))
        p.end()

    def _paint_legend(self, p: QPainter, fm: QFontMetrics, legend: QRectF, text: QColor) -> None:
        """A coloured box and the name of each kind of work, wrapping as needed."""
        x, y = legend.left(), legend.top()
        box = fm.height() * 0.8
        for cat, w in self._legend_items(fm):
            if x > legend.left() and x + w > legend.right():
                x, y = legend.left(), y + fm.height() * 1.3
            p.fillRect(
                QRectF(x, y + (fm.height() - box) / 2, box, box), themed(CATEGORY_COLOURS[cat])
            )
            p.setPen(text)
            p.drawText(QPointF(x + box + fm.height() * 0.35, y + fm.ascent()), self.labels[cat])
            x += w

    def _paint_grid(
        self,
        p: QPainter,
        fm: QFontMetrics,
        plot: QRectF,
        top_hours: float,
        text: QColor,
        grid: QColor,
    ) -> None:
        """Gridlines and hour labels."""
        step = nice_step(top_hours)
        h = 0.0
        while h <= top_hours + 1e-9:
            yy = plot.bottom() - plot.height() * h / top_hours
            p.setPen(QPen(grid, 1))
            p.drawLine(QPointF(plot.left(), yy), QPointF(plot.right(), yy))
            p.setPen(text)
            label = f"{h:g} h" if h + step > top_hours + 1e-9 else f"{h:g}"
            p.drawText(
                QRectF(0, yy - fm.height() / 2, plot.left() - fm.height() * 0.4, fm.height()),
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                label,
            )
            h += step

    def _paint_bars(
        self,
        p: QPainter,
        fm: QFontMetrics,
        small: QFont,
        plot: QRectF,
        top_hours: float,
        text: QColor,
    ) -> None:
        """One stacked bar per week, the selected one outlined, and week labels."""
        rects = self.bar_rects()
        slot = plot.width() / len(self.bars)
        label_every = max(1, math.ceil(fm.horizontalAdvance("Mmm 00 ") / slot))
        starts = [b.start for b in self.bars]
        for i, (bar, r) in enumerate(zip(self.bars, rects, strict=True)):
            base = plot.bottom()
            for cat in SHEET_CATEGORIES:
                minutes = bar.minutes.get(cat, 0)
                if not minutes:
                    continue
                height = plot.height() * (minutes / 60) / top_hours
                p.fillRect(
                    QRectF(r.left(), base - height, r.width(), height),
                    themed(CATEGORY_COLOURS[cat]),
                )
                base -= height
            if bar.start == self.selected:
                pen = QPen(themed("#173b3f"), 2)
                p.setPen(pen)
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRect(
                    QRectF(
                        r.left() - 3,
                        min(base, plot.bottom() - 2) - 3,
                        r.width() + 6,
                        plot.bottom() - min(base, plot.bottom() - 2) + 3,
                    )
                )
            near_selected = (
                self.selected in starts and 0 < abs(starts.index(self.selected) - i) < label_every
            )
            selected = bar.start == self.selected
            if selected or (i % label_every == 0 and not near_selected):
                f = QFont(small)
                f.setBold(bar.start == self.selected)
                p.setFont(f)
                p.setPen(text)
                p.drawText(
                    QRectF(
                        plot.left() + slot * i - slot,
                        plot.bottom() + fm.height() * 0.2,
                        slot * 3,
                        fm.height(),
                    ),
                    int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop),
                    month_day_text(bar.start),
                )
                p.setFont(small)

    # -- interaction ---------------------------------------------------------------------------

    def tooltip_for(self, index: int) -> str:
        bar = self.bars[index]
        lines = [
            f"<b>{self.tr('Week of')} {month_day_text(bar.start)}</b>: {duration_text(bar.total)}"
        ]
        for cat in SHEET_CATEGORIES:
            if bar.minutes.get(cat):
                lines.append(f"{self.labels[cat]}: {duration_text(bar.minutes[cat])}")
        return "<br>".join(lines)

    def event(self, event) -> bool:  # type: ignore[override]
        if isinstance(event, QHelpEvent) and event.type() == QHelpEvent.Type.ToolTip:
            i = self.bar_at(event.pos().x(), event.pos().y())
            if i is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(event.globalPos(), self.tooltip_for(i), self)
            return True
        return super().event(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        i = self.bar_at(event.position().x(), event.position().y())
        if i is not None and event.button() == Qt.MouseButton.LeftButton:
            self.week_clicked.emit(self.bars[i].start)
            return
        super().mousePressEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.bars and event.key() in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            starts = [b.start for b in self.bars]
            i = starts.index(self.selected) if self.selected in starts else len(starts) - 1
            i += -1 if event.key() == Qt.Key.Key_Left else 1
            if 0 <= i < len(starts):
                self.week_clicked.emit(starts[i])
            return
        super().keyPressEvent(event)
