"""Draws the caseload's "needs attention" column as coloured badges (no contact,
unsigned notes, goals overdue, consent), as many as fit and "+n" for the rest.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex
from PySide6.QtCore import QRect
from PySide6.QtCore import QSize
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtGui import QFontMetrics
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QStyle
from PySide6.QtWidgets import QStyledItemDelegate
from PySide6.QtWidgets import QStyleOptionViewItem

from app.domain.attention import Flag
from app.domain.attention import Reason
from app.ui.caseload.models import FLAGS_ROLE
from app.ui.shell.theme import themed

#: Badge colours per reason (background, text): each pair well above 4.5:1.
BADGE_COLOURS = {
    Reason.NO_CONTACT: ("#fff0c7", "#5c3d00"),
    Reason.UNSIGNED_NOTES: ("#dde9f6", "#18385a"),
    Reason.GOALS_OVERDUE: ("#ece2f4", "#44265a"),
    Reason.CONSENT: ("#f9dede", "#751818"),
}


class AttentionDelegate(QStyledItemDelegate):
    """Paints the attention reasons as small coloured badges."""

    PAD_X, GAP, RADIUS = 8, 6, 9

    def _badges(self, index: QModelIndex) -> tuple[Flag, ...]:
        flags = index.data(FLAGS_ROLE)
        return tuple(flags) if flags else ()

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        flags = self._badges(index)
        if not flags:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        fm = opt.fontMetrics
        h = fm.height() + 6
        x = opt.rect.x() + 6
        y = opt.rect.y() + (opt.rect.height() - h) // 2
        right = opt.rect.right() - 4
        for i, f in enumerate(flags):
            w = self.badge_width(f.text, fm)
            rest = len(flags) - i - 1
            # Keep room for a "+n" chip when more badges follow this one.
            need = w + (self.GAP + self.badge_width(f"+{rest}", fm) if rest else 0)
            if x + (need if i else w) > right:
                self._more(painter, fm, x, y, h, right, len(flags) - i)
                break
            bg, fg = BADGE_COLOURS.get(f.reason, ("#eeeeee", "#222222"))
            self._badge(painter, QRect(x, y, w, h), f.text, themed(bg), themed(fg))
            x += w + self.GAP
        painter.restore()

    def _badge(self, painter: QPainter, rect: QRect, text: str, bg: QColor, fg: QColor) -> None:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(bg)
        painter.drawRoundedRect(rect, self.RADIUS, self.RADIUS)
        painter.setPen(fg)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)

    def _more(
        self, painter: QPainter, fm: QFontMetrics, x: int, y: int, h: int, right: int, n: int
    ) -> None:
        """A grey "+n" chip for the badges without room (all are in the tooltip)."""
        text = f"+{n}"
        w = self.badge_width(text, fm)
        if x + w <= right:
            self._badge(painter, QRect(x, y, w, h), text, themed("#e3e8e5"), themed("#2b3a3f"))
        else:
            painter.setPen(themed("#2b3a3f"))
            painter.drawText(QRect(x, y, max(0, right - x), h), Qt.AlignmentFlag.AlignVCenter, "…")

    def badge_width(self, text: str, fm: QFontMetrics) -> int:
        return fm.horizontalAdvance(text) + 2 * self.PAD_X

    def width_for(self, flags: Sequence[Flag], fm: QFontMetrics) -> int:
        """Room for every badge."""
        return 12 + sum(self.badge_width(f.text, fm) + self.GAP for f in flags)

    def least_width_for(self, flags: Sequence[Flag], fm: QFontMetrics) -> int:
        """Room for the first badge and a "+n" chip for the others."""
        if not flags:
            return 0
        more = self.GAP + self.badge_width(f"+{len(flags) - 1}", fm) if len(flags) > 1 else 0
        return 12 + self.badge_width(flags[0].text, fm) + more

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        base = super().sizeHint(option, index)
        flags = self._badges(index)
        if not flags:
            return base
        fm = option.fontMetrics
        return QSize(self.width_for(flags, fm), max(base.height(), fm.height() + 14))
