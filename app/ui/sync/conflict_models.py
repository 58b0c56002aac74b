"""The Conflicts page's table models (the conflicts to look at, the changes the
server refused) and the plain-words labels they show: what a person calls each
table and field, which device and when.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import QCoreApplication
from PySide6.QtCore import Qt

from app.domain import conflict_resolution as cr
from app.domain.datetext import iso_day_text
from app.domain.datetext import moment_text
from app.services import conflicts
from app.ui.common.table_model import AnyIndex
from app.ui.common.table_model import RowsTableModel


def _t(text: str) -> str:
    return QCoreApplication.translate("Conflicts", text)


#: (table, field) -> what a person calls it.
FIELD_LABELS: dict[tuple[str, str], str] = {
    ("encounters", "goal_text"): "Goal (note)",
    ("encounters", "intervention"): "Intervention",
    ("encounters", "response"): "Response",
    ("encounters", "plan"): "Plan",
    ("encounters", "data"): "Data",
    ("encounters", "assessment"): "Assessment",
    ("goals", "statement"): "Goal statement",
    ("supervision_sessions", "action_items"): "Action items",
    ("participants", "assigned_specialist_id"): "Assigned specialist",
    ("encounters", "reviewed_by_id"): "Reviewed by",
    ("encounters", "signed_by_id"): "Signed by",
    ("encounters", "payer_id"): "Payer",
    ("participants", "payer_id"): "Payer",
}
TABLE_LABELS: dict[str, str] = {
    "participants": "Participant",
    "consents": "Consent",
    "goals": "Goal",
    "barc10": "BARC-10",
    "encounters": "Note",
    "addenda": "Addendum",
    "time_entries": "Hours",
    "supervision_sessions": "Supervision",
    "users": "User",
    "payers": "Payer",
    "conflicts": "Conflict",
}
KIND_LABELS: dict[str, str] = {
    cr.TEXT: "Two versions of a text",
    cr.LOG: "Value replaced (for your information)",
    cr.EDITED_AFTER_DELETE: "Edited after it was deleted",
    cr.SIGN_AGAIN: "Changed on another device before your signature arrived: read it and "
    "sign again",
    cr.UNDELIVERED: "Written on another laptop after the person left its caseload",
}


def field_label(table: str, field: str) -> str:
    label = FIELD_LABELS.get((table, field))
    if label:
        return _t(label)
    words = field.removesuffix("_id").replace("_", " ")
    return _t(words[:1].upper() + words[1:])


def table_label(table: str) -> str:
    return _t(TABLE_LABELS.get(table, table.replace("_", " ").capitalize()))


def when_text(when: datetime | None) -> str:
    return moment_text(when) if when is not None else _t("unknown time")


def record_text(table: str, record_date: str) -> str:
    what = table_label(table)
    return f"{what} · {iso_day_text(record_date)}" if record_date else what


def who_text(view: conflicts.ConflictView, stamp: str, lost: bool) -> str:
    """'by Ann on another device, Nov 2, 2026 09:58' / 'on this laptop, …'."""
    info = conflicts.stamp_info(stamp)
    where = (
        _t("on this laptop")
        if info.device and info.device == view.this_device
        else _t("on another device")
    )
    by = ""
    if lost and view.lost_by_name:
        by = _t("by %1 ").replace("%1", view.lost_by_name)
    return f"{by}{where}, {when_text(info.when)}"


class ConflictListModel(RowsTableModel):
    """Open conflicts, one row each."""

    COL_RECORD, COL_FIELD, COL_PERSON, COL_KIND = range(4)
    HEADERS = ("Record", "Field", "Participant", "Kind")
    _rows: list[conflicts.ConflictView]

    def view(self, row: int) -> conflicts.ConflictView:
        return self._rows[row]

    def row_of(self, conflict_id: str) -> int:
        for i, v in enumerate(self._rows):
            if v.id == conflict_id:
                return i
        return -1

    def display(self, v: conflicts.ConflictView, col: int) -> Any:
        c = v.conflict
        if col == self.COL_RECORD:
            return record_text(c.table_name, v.record_date)
        if col == self.COL_FIELD:
            return field_label(c.table_name, c.field)
        if col == self.COL_PERSON:
            return v.participant_name
        if col == self.COL_KIND:
            return _t(KIND_LABELS.get(c.kind, c.kind))
        return None


class RejectedModel(RowsTableModel):
    """Changes the server refused, newest first."""

    COL_WHEN, COL_RECORD, COL_FIELD, COL_PERSON, COL_REASON = range(5)
    HEADERS = ("When", "Record", "Field", "Participant", "The server's reason")
    _rows: list[conflicts.RejectedView]

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        r = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.ToolTipRole and col == self.COL_REASON:
            return r.reason
        if role == Qt.ItemDataRole.ToolTipRole and col in (self.COL_RECORD, self.COL_FIELD):
            return "" if r.value is None else str(r.value)  # what the person wrote, in full
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if col == self.COL_WHEN:
            return when_text(r.at)
        if col == self.COL_RECORD:
            return record_text(r.table, r.record_date)
        if col == self.COL_FIELD:
            return field_label(r.table, r.field)
        if col == self.COL_PERSON:
            return r.participant_name
        if col == self.COL_REASON:
            return r.reason[:1].upper() + r.reason[1:]
        return None
