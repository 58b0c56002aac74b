"""A date box of the record forms: type the date (2024-03-09 or 3/9/2024) or pick
it from a calendar.

:class:`DateLineEdit` is a QLineEdit, so the forms read and fill it as text and
what was typed is never changed behind the person's back. A calendar button at
its right end (or Alt+Down, or F4) opens a month calendar on the date typed (or
today); clicking a day, or Enter on it, writes the date as 2024-03-09 and closes
the calendar; Esc closes it without a change.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate
from PySide6.QtCore import QPoint
from PySide6.QtCore import QRectF
from PySide6.QtCore import Qt
from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
from PySide6.QtGui import QColor
from PySide6.QtGui import QIcon
from PySide6.QtGui import QKeyEvent
from PySide6.QtGui import QPainter
from PySide6.QtGui import QPen
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QCalendarWidget
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.domain.datetext import date_pattern
from app.domain.record_forms import parse_date
from app.ui.shell.theme import themed


def qt_date_format(cldr: str | None = None) -> str:
    """A CLDR date pattern ('MMM d, y'; the locale's medium date when None) as a
    Qt display format ('MMM d, yyyy'), for QDateEdit boxes that read like every
    other date of the app."""
    pattern = date_pattern() if cldr is None else cldr
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "'":  # a quoted literal is the same in both
            end = pattern.find("'", i + 1)
            end = len(pattern) - 1 if end < 0 else end
            out.append(pattern[i : end + 1])
            i = end + 1
            continue
        run = len(pattern[i:]) - len(pattern[i:].lstrip(ch))
        if ch == "y":
            out.append("yy" if run == 2 else "yyyy")
        elif ch in "Ec":
            out.append("dddd" if run >= 4 else "ddd")
        elif ch == "L":
            out.append("M" * min(run, 4))
        else:
            out.append(ch * run)
        i += run
    return "".join(out)


def calendar_icon(color: str = "#1f6f78", size: int = 32) -> QIcon:
    """A small calendar drawn here (no icon theme on Windows or in a frozen app)."""
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(QColor(color))
    pen.setWidthF(size / 14)
    p.setPen(pen)
    m = size * 0.14
    body = QRectF(m, m * 1.6, size - 2 * m, size - 2.4 * m)
    p.drawRoundedRect(body, size / 12, size / 12)
    p.fillRect(QRectF(body.left(), body.top(), body.width(), size * 0.16), QColor(color))
    for x in (0.32, 0.68):  # the rings
        p.drawLine(QPoint(int(size * x), int(m * 0.8)), QPoint(int(size * x), int(m * 2.4)))
    dot = size / 9
    for row in range(2):
        for col in range(3):
            cx = body.left() + body.width() * (0.22 + 0.28 * col)
            cy = body.top() + body.height() * (0.5 + 0.27 * row)
            p.fillRect(QRectF(cx - dot / 2, cy - dot / 2, dot, dot), QColor(color))
    p.end()
    return QIcon(pix)


class CalendarPopup(QWidget):
    """The month calendar under a date box (a popup: a click elsewhere closes it)."""

    picked = Signal(QDate)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setObjectName("datePopup")
        self.calendar = QCalendarWidget(self)
        self.calendar.setObjectName("datePopupCalendar")
        self.calendar.setAccessibleName(self.tr("Pick a date"))
        self.calendar.setGridVisible(False)
        self.calendar.setVerticalHeaderFormat(QCalendarWidget.VerticalHeaderFormat.NoVerticalHeader)
        self.calendar.clicked.connect(self._pick)
        self.calendar.activated.connect(self._pick)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(1, 1, 1, 1)
        layout.addWidget(self.calendar)

    def _pick(self, day: QDate) -> None:
        self.picked.emit(day)
        self.close()


class DateLineEdit(QLineEdit):
    """A typed date with a calendar to pick from (see the module's docstring)."""

    def __init__(self, accessible: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(accessible)
        self.setPlaceholderText(self.tr("YYYY-MM-DD"))
        self.setMaxLength(10)
        self.popup: CalendarPopup | None = None
        icon = calendar_icon(themed("#1f6f78").name())  # (light teal on a dark box)
        self.pick_action = QAction(icon, self.tr("Pick a date"), self)
        self.pick_action.setObjectName("pickDate")
        self.pick_action.setToolTip(self.tr("Pick the date from a calendar (Alt+Down)"))
        self.pick_action.triggered.connect(self.open_calendar)
        self.addAction(self.pick_action, QLineEdit.ActionPosition.TrailingPosition)

    def picker_button(self) -> QWidget | None:
        """The calendar button in the box (the widget Qt made for the action)."""
        for w in self.pick_action.associatedObjects():
            if isinstance(w, QWidget) and w is not self:
                return w
        return None

    def typed_date(self) -> date | None:
        try:
            return parse_date(self.text())
        except ValueError:
            return None

    def open_calendar(self) -> CalendarPopup | None:
        if not self.isEnabled() or self.isReadOnly():
            return None
        if self.popup is None:
            self.popup = CalendarPopup(self)
            self.popup.picked.connect(self._picked)
        d = self.typed_date() or date.today()
        self.popup.calendar.setSelectedDate(QDate(d.year, d.month, d.day))
        fm = self.popup.calendar.fontMetrics()
        cell = fm.horizontalAdvance("Wed") + fm.averageCharWidth() * 3
        self.popup.resize(
            max(self.popup.sizeHint().width(), 7 * cell + 8),
            max(self.popup.sizeHint().height(), fm.height() * 13),
        )
        below = self.mapToGlobal(QPoint(0, self.height()))
        self.popup.move(below)
        self.popup.show()
        self.popup.calendar.setFocus(Qt.FocusReason.PopupFocusReason)
        return self.popup

    def _picked(self, day: QDate) -> None:
        self.setText(f"{day.year():04d}-{day.month():02d}-{day.day():02d}")
        self.textEdited.emit(self.text())  # the field's error goes, as when typing
        self.setFocus(Qt.FocusReason.PopupFocusReason)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        alt_down = event.key() == Qt.Key.Key_Down and bool(
            event.modifiers() & Qt.KeyboardModifier.AltModifier
        )
        if alt_down or event.key() == Qt.Key.Key_F4:
            self.open_calendar()
            event.accept()
            return
        super().keyPressEvent(event)
