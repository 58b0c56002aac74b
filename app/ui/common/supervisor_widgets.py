"""Widgets the supervisor's screens share: the passphrase (electronic signature)
dialog, the hours-per-week chart (painted with QPainter; QtCharts is not in
PySide6-Essentials) and a note's audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from PySide6.QtCore import QPointF
from PySide6.QtCore import QRectF
from PySide6.QtCore import Qt
from PySide6.QtCore import Signal
from PySide6.QtGui import QFont
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QAbstractItemView
from PySide6.QtWidgets import QDialog
from PySide6.QtWidgets import QDialogButtonBox
from PySide6.QtWidgets import QHeaderView
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QSizePolicy
from PySide6.QtWidgets import QTableWidget
from PySide6.QtWidgets import QTableWidgetItem
from PySide6.QtWidgets import QWidget

from app.domain.datetext import moment_text
from app.domain.datetext import month_day_text
from app.domain.datetext import number_text
from app.services.review import TrailEntry
from app.ui.common.forms import wrapped_label
from app.ui.common.layouts import column
from app.ui.common.layouts import row
from app.ui.common.painting import card_painter
from app.ui.common.text import plural
from app.ui.shell.theme import themed

#: One colour per specialist: distinguishable, dark enough on white.
SERIES_COLOURS = (
    "#1f6f78", "#c0632b", "#6a4c93", "#3d8b3d", "#b03a5b", "#8a6d00", "#2f5fa8", "#5b5b5b",
)  # fmt: skip


def titled_page(page: QWidget, title: str, body: QWidget) -> QLabel:
    """Lay out a supervisor page: its title with a count on the right, the body below.
    Returns the count label (empty until the page sets it)."""
    heading = QLabel(title)
    heading.setObjectName("pageTitle")
    count = QLabel()
    count.setObjectName("hint")
    top = row(heading, 1, count)
    column(top, (body, 1), parent=page, margins=(24, 20, 24, 16), spacing=10)
    return count


class PassphraseDialog(QDialog):
    """Re-enter the passphrase to sign. Opened window-modal with :meth:`open`; the
    page continues in its ``signed`` handler, so the event loop never blocks."""

    signed = Signal(str)

    def __init__(self, what: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("passphraseDialog")
        self.setWindowTitle(self.tr("Sign with your passphrase"))
        self.setModal(True)
        intro = wrapped_label(what, "intro")
        self.passphrase = QLineEdit()
        self.passphrase.setObjectName("passphraseEdit")
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setAccessibleName(self.tr("Your passphrase"))
        self.passphrase.setPlaceholderText(self.tr("Your passphrase"))
        self.error = wrapped_label(name="error", hidden=True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(self.tr("Sign"))
        self.ok_button.setObjectName("primary")
        self.ok_button.setAccessibleName(self.tr("Sign"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName(
            self.tr("Cancel")
        )
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        column(
            intro, self.passphrase, self.error, self.buttons,
            parent=self, margins=(20, 18, 20, 16), spacing=10,
        )  # fmt: skip
        self.setMinimumWidth(420)

    def _submit(self) -> None:
        text = self.passphrase.text()
        if not text:
            self.error.setText(self.tr("Enter your passphrase: it is your signature."))
            self.error.show()
            self.passphrase.setFocus()
            return
        self.passphrase.clear()
        self.accept()
        self.signed.emit(text)

    def reject(self) -> None:
        self.passphrase.clear()
        super().reject()


class HoursChart(QWidget):
    """Grouped bars: hours logged per specialist per week."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("hoursChart")
        self.setAccessibleName(self.tr("Hours per specialist per week"))
        self.setMinimumHeight(220)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.weeks: tuple[date, ...] = ()
        self.series: list[tuple[str, tuple[float, ...]]] = []

    def set_data(
        self, weeks: Sequence[date], series: Sequence[tuple[str, Sequence[float]]]
    ) -> None:
        self.weeks = tuple(weeks)
        self.series = [(name, tuple(values)) for name, values in series]
        total = sum(sum(v) for _n, v in self.series)
        self.setAccessibleDescription(
            plural(self, len(self.series), "1 specialist, ", "{n} specialists, ")
            + self.tr("{weeks} weeks, {hours} hours in all").format(
                weeks=len(self.weeks), hours=number_text(total)
            )
        )
        self.update()

    def clear(self) -> None:
        self.set_data((), ())

    def peak(self) -> float:
        return max((max(v, default=0.0) for _n, v in self.series), default=0.0)

    @staticmethod
    def nice_top(peak: float) -> float:
        """An axis top at or above ``peak`` that divides into round steps."""
        for top in (5, 10, 15, 20, 25, 30, 40, 50, 60, 80, 100):
            if peak <= top:
                return float(top)
        return float((int(peak) // 20 + 1) * 20)

    def paintEvent(self, _event: object) -> None:
        p, rect, fm = card_painter(self)
        line = fm.height()
        if not self.weeks or not self.series:
            p.setPen(themed("#4a585c"))
            p.drawText(rect, Qt.AlignmentFlag.AlignCenter, self.tr("No hours logged yet"))
            p.end()
            return
        legend_h = line + 10
        left = fm.horizontalAdvance("100 h") + 16
        plot = QRectF(left, 12 + legend_h, rect.width() - left - 14, 0)
        plot.setBottom(rect.height() - line * 1.6 - 8)
        top = self.nice_top(self.peak())
        steps = 5
        grid = QPen(themed("#e3e8e5"))
        for i in range(steps + 1):
            y = plot.bottom() - plot.height() * i / steps
            p.setPen(grid)
            p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            p.setPen(themed("#4a585c"))
            label = f"{top * i / steps:g} h"
            p.drawText(
                QRectF(0, y - line / 2, left - 8, line),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                label,
            )
        n_weeks, n_series = len(self.weeks), len(self.series)
        slot = plot.width() / n_weeks
        bar = max(1.0, slot * 0.8 / n_series)
        label_every = 1
        while fm.horizontalAdvance("Sep 29") + 8 > slot * label_every:
            label_every += 1
        for w, monday in enumerate(self.weeks):
            x0 = plot.left() + slot * w + slot * 0.1
            for s, (_name, values) in enumerate(self.series):
                v = values[w] if w < len(values) else 0.0
                h = plot.height() * min(v, top) / top
                p.fillRect(
                    QRectF(x0 + s * bar, plot.bottom() - h, bar * 0.9, h),
                    themed(SERIES_COLOURS[s % len(SERIES_COLOURS)]),
                )
            if (n_weeks - 1 - w) % label_every == 0:
                p.setPen(themed("#1e2a2f"))
                p.drawText(
                    QRectF(plot.left() + slot * w - 20, plot.bottom() + 4, slot + 40, line),
                    Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                    month_day_text(monday),
                )
        p.setPen(QPen(themed("#9aa8a2")))
        p.drawLine(QPointF(plot.left(), plot.bottom()), QPointF(plot.right(), plot.bottom()))
        # legend, top left
        x = plot.left()
        font = QFont(p.font())
        p.setFont(font)
        for s, (name, _values) in enumerate(self.series):
            colour = themed(SERIES_COLOURS[s % len(SERIES_COLOURS)])
            p.fillRect(QRectF(x, 10 + (line - 10) / 2, 10, 10), colour)
            p.setPen(themed("#1e2a2f"))
            width = fm.horizontalAdvance(name)
            p.drawText(QRectF(x + 14, 10, width + 4, line), Qt.AlignmentFlag.AlignVCenter, name)
            x += 14 + width + 18
            if x > rect.width() - 60:
                break
        p.end()


class AuditTrailDialog(QDialog):
    """A note's audit trail: who did what, when, and where the entry comes from."""

    HEADERS = ("When", "Who", "What", "Detail", "From")

    def __init__(self, entries: Sequence[TrailEntry], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("auditTrailDialog")
        self.setWindowTitle(self.tr("Audit trail of this note"))
        intro = wrapped_label(
            self.tr(
                "Entries marked “this device” come from this laptop's audit log; entries "
                "marked “synced record” are read from the note as it arrived by sync."
            )
        )
        self.table = QTableWidget(len(entries), len(self.HEADERS))
        self.table.setObjectName("auditTrailTable")
        self.table.setAccessibleName(self.tr("Audit trail"))
        self.table.setHorizontalHeaderLabels([self.tr(h) for h in self.HEADERS])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        for r, e in enumerate(entries):
            cells = (moment_text(e.at), e.who, e.action, e.detail, e.source)
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.Close).setAccessibleName(self.tr("Close"))
        column(intro, (self.table, 1), buttons, parent=self)
        self.resize(760, 420)
