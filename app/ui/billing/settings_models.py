"""The Billing settings screen's tables: the payers and the specialists, each row
saying what it still lacks for a claim file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.domain.records import Payer
from app.domain.records import User
from app.ui.common.table_model import RowsTableModel


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

    def row_id(self, row: PayerRow) -> str:
        return row.payer.id

    def display(self, row: PayerRow, col: int) -> Any:
        p = row.payer
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

    def display(self, u: User, col: int) -> Any:
        dash = "—"
        return (
            u.display_name or u.username,
            u.last_name or dash,
            u.first_name or dash,
            u.credential.value or dash,
            u.npi or dash,
            u.taxonomy or self.tr("(agency's)"),
        )[col]
