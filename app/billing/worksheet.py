"""The CSV worksheet: one row per service line of a batch, then a totals row.

For the agency's books and for matching the payer's remittance: each row has the
claim id (CLM01), the line number, the encounter id (REF*6R on the line, without hyphens), the
person, the rendering specialist, the code, modifiers, place of service, minutes,
units, rate and amount. The last row starts with "TOTAL" and holds the claim
count (in the claim_id column), the line count (line), the units and the amount,
equal to the 837P's.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import TextIO

from app.billing.claims import Claim
from app.domain.records import Participant, Payer, User

COLUMNS = (
    "batch_id", "interchange_control", "payer", "claim_id", "line", "service_date",
    "participant_last_name", "participant_first_name", "medicaid_id", "specialist",
    "specialist_npi", "procedure", "modifiers", "place_of_service", "minutes", "units",
    "rate", "amount", "encounter_id",
)  # fmt: skip


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def write_worksheet(
    fh: TextIO,
    batch_id: str,
    control: int,
    payer: Payer,
    claims: Iterable[Claim],
    participants: dict[str, Participant],
    specialists: dict[str, User],
) -> None:
    w = csv.writer(fh, lineterminator="\r\n")
    w.writerow(COLUMNS)
    n_claims = n_lines = units = cents = 0
    for c in claims:
        n_claims += 1
        p = participants[c.participant_id]
        s = specialists[c.specialist_id]
        for i, cl in enumerate(c.lines, 1):
            ln = cl.line
            n_lines += 1
            units += int(cl.units)
            cents += cl.charge_cents
            w.writerow(
                (
                    batch_id, f"{control:09d}", payer.name, c.claim_id, i,
                    ln.service_date.isoformat(), _safe(p.last_name), _safe(p.first_name),
                    p.medicaid_id, _safe(s.display_name), s.npi, ln.procedure,
                    " ".join(ln.modifiers), ln.place_of_service, ln.minutes, cl.units,
                    money(ln.rate_cents), money(cl.charge_cents), ln.encounter_id,
                )
            )  # fmt: skip
    w.writerow(
        ("TOTAL", f"{control:09d}", payer.name, n_claims, n_lines, "", "", "", "", "", "", "",
         "", "", "", units, "", money(cents), "")
    )  # fmt: skip


def _safe(value: str) -> str:
    """A name cannot start a spreadsheet formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
