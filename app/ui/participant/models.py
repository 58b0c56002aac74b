"""Qt table models of the participant record page: consents, BARC-10 history and
the timeline of encounters. Small, read-only, filled with ``set_rows`` on the UI
thread from values read on the database thread; tested without widgets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush
from PySide6.QtGui import QFont

from app.domain.attention import ConsentState
from app.domain.attention import consent_state
from app.domain.attention import consent_state_text
from app.domain.datetext import clock_text
from app.domain.datetext import day_text
from app.domain.lifecycle import STATUS_TEXT
from app.domain.records import Barc10
from app.domain.records import Consent
from app.domain.records import NoteStatus
from app.services.records import TimelineRow
from app.ui.common.table_model import ID_ROLE
from app.ui.common.table_model import AnyIndex
from app.ui.common.table_model import RowsTableModel
from app.ui.shell.theme import themed

STATE_COLOURS = {
    ConsentState.EXPIRED: ("#f9dede", "#751818"),
    ConsentState.REVOKED: ("#e9e9e9", "#3d3d3d"),
    ConsentState.EXPIRING: ("#fff0c7", "#5c3d00"),
    ConsentState.NOT_YET: ("#e9e9e9", "#3d3d3d"),
    ConsentState.IN_FORCE: ("#dcefe6", "#15482f"),
}


class ConsentModel(RowsTableModel):
    """Consents, newest signature first; expired and revoked ones clearly marked."""

    HEADERS = ("State", "Kind", "Recipient", "Signed", "Expires", "Purpose")
    COL_STATE = 0

    def __init__(self, parent: Any = None, today: date | None = None) -> None:
        super().__init__(parent)
        self.today = today or date.today()

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not self._valid(index):
            return None
        c: Consent = self._rows[index.row()]
        col = index.column()
        state = consent_state(c, self.today)
        if role == Qt.ItemDataRole.DisplayRole:
            expires = day_text(c.expires_on) or c.expiry_event or "No end date"
            return (
                consent_state_text(c, self.today),
                c.kind.value,
                c.recipient,
                day_text(c.signed_on),
                expires,
                c.purpose,
            )[col]
        if role == ID_ROLE:
            return c.id
        if role == Qt.ItemDataRole.BackgroundRole and col == self.COL_STATE:
            return QBrush(themed(STATE_COLOURS[state][0]))
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == self.COL_STATE:
                return QBrush(themed(STATE_COLOURS[state][1]))
            if state in (ConsentState.EXPIRED, ConsentState.REVOKED):
                return QBrush(themed("#5a6468"))
        if role == Qt.ItemDataRole.FontRole and state in (
            ConsentState.REVOKED,
            ConsentState.EXPIRED,
        ):
            font = QFont()
            font.setStrikeOut(col != self.COL_STATE)
            font.setBold(col == self.COL_STATE)
            return font
        if role == Qt.ItemDataRole.ToolTipRole and c.revocation_note:
            return "Revocation: " + c.revocation_note
        return None

    def state(self, row: int) -> ConsentState:
        return consent_state(self._rows[row], self.today)


class Barc10Model(RowsTableModel):
    """BARC-10 assessments, newest first."""

    HEADERS = ("Date", "Total (10–60)", "Change")

    def set_rows(self, rows: Sequence[Barc10]) -> None:
        ordered = sorted(rows, key=lambda b: b.assessed_on)
        self._previous = {ordered[i].id: ordered[i - 1].total for i in range(1, len(ordered))}
        super().set_rows(list(reversed(ordered)))

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not self._valid(index):
            return None
        b: Barc10 = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            prev = self._previous.get(b.id)
            change = "" if prev is None else f"{b.total - prev:+d}"
            return (day_text(b.assessed_on), str(b.total), change)[index.column()]
        if role == ID_ROLE:
            return b.id
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class TimelineModel(RowsTableModel):
    """Encounters, newest first: date, time, minutes, modality, status, preview."""

    HEADERS = ("Date", "Time", "Minutes", "Modality", "Status", "Note")
    COL_DATE, COL_TIME, COL_MINUTES, COL_MODALITY, COL_STATUS, COL_NOTE = range(6)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not self._valid(index):
            return None
        r: TimelineRow = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == self.COL_DATE:
                return day_text(r.service_date)
            if col == self.COL_TIME:
                return clock_text(r.start_time).lower()
            if col == self.COL_MINUTES:
                return str(r.minutes) if r.start_time and r.end_time else ""
            if col == self.COL_MODALITY:
                return r.modality.value.capitalize()
            if col == self.COL_STATUS:
                return STATUS_TEXT.get(r.status, r.status.value)
            return r.preview
        if role == ID_ROLE:
            return r.id
        if role == Qt.ItemDataRole.TextAlignmentRole and col == self.COL_MINUTES:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and col == self.COL_STATUS:
            if r.status in (NoteStatus.DRAFT, NoteStatus.RETURNED):
                return QBrush(themed("#7a4a00"))
            if r.status is NoteStatus.VOID:
                return QBrush(themed("#6b7679"))
        if (
            role == Qt.ItemDataRole.FontRole
            and col == self.COL_STATUS
            and r.status
            in (
                NoteStatus.DRAFT,
                NoteStatus.RETURNED,
            )
        ):
            font = QFont()
            font.setBold(True)
            return font
        return None
