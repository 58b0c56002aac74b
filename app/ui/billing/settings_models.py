"""The Billing settings screen's tables: the payers and the specialists, each row
saying what it still lacks for a claim file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex, Qt

from app.domain.records import Payer, User
from app.ui.common.table_model import ID_ROLE, RowsTableModel


def money(cents: int) -> str:
    return f"${cents // 100}.{cents % 100:02d}"


@dataclass(frozen=True)
class PayerRow:
    payer: Payer
    missing: int  # settings a claim file still needs


class PayerModel(RowsTableModel):
    HEADERS = ("Payer", "Payer id", "Rate per unit", "Rounding", "Files", "Settings")
    TIPS = ("", "The payer's id on claims (2010BB)", "", "How minutes become units",
            "T: test files; P: production", "")  # fmt: skip

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # type: ignore[override]
        if not self._valid(index):
            return None
        row: PayerRow = self._rows[index.row()]
        p = row.payer
        if role == ID_ROLE:
            return p.id
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        col = index.column()
        if col == 5:
            return (
                self.tr("Complete")
                if not row.missing
                else self.tr("{0} to fix").format(row.missing)
            )
        mode = self.tr("Test") if p.usage_indicator == "T" else self.tr("Production")
        return (p.name, p.payer_id or "—", money(p.rate_cents_per_unit), p.rounding_rule.value,
                mode)[col]  # fmt: skip


class SpecialistModel(RowsTableModel):
    HEADERS = ("Specialist", "Last name", "First name", "Credential", "NPI", "Taxonomy")
    TIPS = ("", "As on the NPI record (claims)", "As on the NPI record (claims)", "", "",
            "Empty: the agency's taxonomy is used")  # fmt: skip

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # type: ignore[override]
        if not self._valid(index):
            return None
        u: User = self._rows[index.row()]
        if role == ID_ROLE:
            return u.id
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        dash = "—"
        return (
            u.display_name or u.username,
            u.last_name or dash,
            u.first_name or dash,
            u.credential.value or dash,
            u.npi or dash,
            u.taxonomy or self.tr("(agency's)"),
        )[index.column()]
