"""Painting the charts' card: a white, thinly framed rectangle (themed for the dark
look), the same under every chart, so a chart's paintEvent draws only its data."""

from __future__ import annotations

from PySide6.QtCore import QRectF
from PySide6.QtGui import QFontMetrics
from PySide6.QtGui import QPainter
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QWidget

from app.ui.shell.theme import themed


def card_painter(widget: QWidget) -> tuple[QPainter, QRectF, QFontMetrics]:
    """An antialiased painter on ``widget`` with the card already drawn; the card's
    rectangle and the painter's font metrics. The caller ends the painter."""
    p = QPainter(widget)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    rect = QRectF(widget.rect())
    p.fillRect(rect, themed("#ffffff"))
    p.setPen(QPen(themed("#cfd6d0")))
    p.drawRect(rect.adjusted(0.5, 0.5, -0.5, -0.5))
    return p, rect, p.fontMetrics()
