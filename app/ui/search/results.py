"""The search results list: its model (hits under one header per kind) and the
delegate that draws each hit with its snippet, the matched words in bold.
"""

from __future__ import annotations

import html
import re
from datetime import date
from typing import Any

from PySide6.QtCore import QAbstractListModel
from PySide6.QtCore import QModelIndex
from PySide6.QtCore import QPointF
from PySide6.QtCore import QSize
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QStyle
from PySide6.QtWidgets import QStyledItemDelegate
from PySide6.QtWidgets import QStyleOptionViewItem

from app.domain.datetext import day_text
from app.services.search import SearchHit
from app.ui.common.table_model import HEADER_ROLE
from app.ui.common.table_model import HIT_ROLE
from app.ui.common.table_model import AnyIndex
from app.ui.shell.theme import themed

#: How many hits of one kind are read (more show as "30+").
LIMIT = 30

_BRACKETS = re.compile(r"\[([^\[\]]*)\]")


def snippet_html(snippet: str) -> str:
    """The index's snippet (matches in [brackets]) as escaped HTML with bold matches."""
    out, last = [], 0
    for m in _BRACKETS.finditer(snippet):
        out.append(html.escape(snippet[last : m.start()]))
        out.append(f"<b>{html.escape(m.group(1))}</b>")
        last = m.end()
    out.append(html.escape(snippet[last:]))
    return "".join(out)


def plain_snippet(snippet: str) -> str:
    return _BRACKETS.sub(r"\1", snippet)


class SearchResultsModel(QAbstractListModel):
    """People, then notes, each group under a heading row that cannot be picked."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[tuple[str, SearchHit | None]] = []  # (heading text, None) or ("", hit)

    def set_hits(self, hits: list[SearchHit]) -> None:
        people = [h for h in hits if h.kind == "participant"]
        notes = [h for h in hits if h.kind == "note"]
        rows: list[tuple[str, SearchHit | None]] = []
        if people:
            rows.append((self.tr("People ({n})").format(n=len(people)), None))
            rows += [("", h) for h in people]
        if notes:
            more = "+" if len(notes) >= LIMIT else ""
            rows.append(
                (self.tr("Notes ({n}{more}, newest first)").format(n=len(notes), more=more), None)
            )
            rows += [("", h) for h in notes]
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def clear(self) -> None:
        self.set_hits([])

    def hit(self, row: int) -> SearchHit | None:
        return self.rows[row][1] if 0 <= row < len(self.rows) else None

    def hits(self) -> list[SearchHit]:
        return [h for _, h in self.rows if h is not None]

    def first_hit_row(self) -> int:
        return next((i for i, (_, h) in enumerate(self.rows) if h is not None), -1)

    def next_hit_row(self, row: int, step: int) -> int:
        i = row + step
        while 0 <= i < len(self.rows):
            if self.rows[i][1] is not None:
                return i
            i += step
        return row

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if self.hit(index.row()) is None:
            return Qt.ItemFlag.ItemIsEnabled
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        heading, hit = self.rows[index.row()]
        if role == HEADER_ROLE:
            return hit is None
        if role == HIT_ROLE:
            return hit
        if hit is None:
            return (
                heading
                if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole)
                else None
            )
        if role == Qt.ItemDataRole.DisplayRole:
            return self.title(hit)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            kind = self.tr("Person") if hit.kind == "participant" else self.tr("Note")
            return f"{kind}: {self.title(hit)}. {plain_snippet(hit.snippet)}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_snippet(hit.snippet)
        return None

    def title(self, hit: SearchHit) -> str:
        if hit.kind == "note" and hit.date:
            try:
                day = date.fromisoformat(hit.date)
            except ValueError:
                return f"{hit.title} · {hit.date}"
            return f"{hit.title} · {self.tr('note of')} {day_text(day)}"
        return hit.title


class ResultDelegate(QStyledItemDelegate):
    """A heading row; a hit as its title over its snippet (one line each, cut with an
    ellipsis), with the matching words in bold."""

    def paint(self, painter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        is_header = bool(index.data(HEADER_ROLE))
        if is_header:
            painter.fillRect(opt.rect, themed("#eef3f0"))
        elif opt.widget is not None:
            opt.widget.style().drawControl(
                QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget
            )
        fm = QFontMetrics(opt.font)
        pad_x = fm.averageCharWidth() * 1.5
        width = opt.rect.width() - 2 * pad_x
        x = opt.rect.left() + pad_x
        bold = QFont(opt.font)
        bold.setBold(True)
        painter.save()
        title = index.data(Qt.ItemDataRole.DisplayRole) or ""
        if is_header:
            painter.setFont(bold)
            painter.setPen(themed("#4a585c"))
            y = opt.rect.top() + (opt.rect.height() - fm.height()) / 2 + fm.ascent()
            painter.drawText(
                QPointF(x, y),
                QFontMetrics(bold).elidedText(title, Qt.TextElideMode.ElideRight, int(width)),
            )
            painter.restore()
            return
        hit: SearchHit = index.data(HIT_ROLE)
        top = opt.rect.top() + fm.height() * 0.3
        painter.setFont(bold)
        painter.setPen(themed("#1e2a2f"))
        painter.drawText(
            QPointF(x, top + fm.ascent()),
            QFontMetrics(bold).elidedText(title, Qt.TextElideMode.ElideRight, int(width)),
        )
        if shows_snippet(hit):
            y = top + fm.height() + fm.ascent()
            for text, strong, seg_x in snippet_runs(hit.snippet, width, fm, QFontMetrics(bold)):
                painter.setFont(bold if strong else opt.font)
                painter.setPen(themed("#102a2d") if strong else themed("#3f5257"))
                painter.drawText(QPointF(x + seg_x, y), text)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        fm = QFontMetrics(option.font)
        if index.data(HEADER_ROLE):
            return QSize(200, round(fm.height() * 1.5))
        hit: SearchHit | None = index.data(HIT_ROLE)
        lines = 2 if hit is not None and shows_snippet(hit) else 1
        return QSize(200, round(fm.height() * (lines + 0.6)))


def shows_snippet(hit: SearchHit) -> bool:
    """A person found by name needs no second line repeating the name."""
    if hit.kind != "participant":
        return True
    return plain_snippet(hit.snippet).casefold() not in hit.title.casefold()


def snippet_runs(
    snippet: str, width: float, fm: QFontMetrics, fm_bold: QFontMetrics
) -> list[tuple[str, bool, float]]:
    """The snippet as (text, bold, x) runs that fit in ``width``, the last cut with
    an ellipsis when the whole does not fit."""
    parts: list[tuple[str, bool]] = []
    last = 0
    for m in _BRACKETS.finditer(snippet):
        if m.start() > last:
            parts.append((snippet[last : m.start()], False))
        parts.append((m.group(1), True))
        last = m.end()
    if last < len(snippet):
        parts.append((snippet[last:], False))
    runs: list[tuple[str, bool, float]] = []
    x = 0.0
    for text, strong in parts:
        metrics = fm_bold if strong else fm
        w = metrics.horizontalAdvance(text)
        if x + w <= width:
            runs.append((text, strong, x))
            x += w
            continue
        cut = metrics.elidedText(text, Qt.TextElideMode.ElideRight, int(width - x))
        if cut:
            runs.append((cut, strong, x))
        break
    return runs
