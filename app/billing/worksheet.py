"""The worksheet: one row per service line of a batch, then a totals row, as CSV
and as an .xlsx workbook beside it.

For the agency's books and for matching the payer's remittance: each row has the
claim id (CLM01), the line number, the encounter id (REF*6R on the line, without
hyphens; under a day-total unit rule a line lists every service it bills), the
person, the rendering specialist, the code, modifiers, place of service, minutes,
units, rate and amount. The last row starts with "TOTAL" and holds the claim
count (in the claim_id column), the line count (line), the units and the amount,
equal to the 837P's.

Ids keep their leading zeros in a spreadsheet: in the CSV the control number,
claim id and Medicaid ID are written as ="000000001" (a spreadsheet shows the
text 000000001; ``csv_text_id`` and ``plain_id`` convert), and in the .xlsx they
are text cells. A name cannot start a formula in either.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import BinaryIO, TextIO

from app.billing.claims import Claim
from app.domain.records import Participant, Payer, User

COLUMNS = (
    "batch_id", "interchange_control", "payer", "claim_id", "line", "service_date",
    "participant_last_name", "participant_first_name", "medicaid_id", "specialist",
    "specialist_npi", "procedure", "modifiers", "place_of_service", "minutes", "units",
    "rate", "amount", "encounter_id",
)  # fmt: skip
# Columns holding ids that a spreadsheet would turn into numbers (losing zeros).
ID_COLUMNS = frozenset({"interchange_control", "claim_id", "medicaid_id", "specialist_npi"})
_ID_INDEX = frozenset(i for i, c in enumerate(COLUMNS) if c in ID_COLUMNS)


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def csv_text_id(value: str) -> str:
    """An id as a spreadsheet keeps it as text: ="000123"."""
    return '="' + value.replace('"', "") + '"' if value else ""


def plain_id(value: str) -> str:
    """The id inside ``csv_text_id``'s form (other values unchanged)."""
    if value.startswith('="') and value.endswith('"'):
        return value[2:-1]
    return value


def worksheet_rows(
    batch_id: str,
    control: int,
    payer: Payer,
    claims: Iterable[Claim],
    participants: dict[str, Participant],
    specialists: dict[str, User],
) -> Iterator[tuple]:
    """The rows (without the header), the totals row last; ids as plain strings."""
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
            yield (
                batch_id, f"{control:09d}", payer.name, c.claim_id, i,
                ln.service_date.isoformat(), _safe(p.last_name), _safe(p.first_name),
                p.medicaid_id, _safe(s.display_name), s.npi, ln.procedure,
                " ".join(ln.modifiers), ln.place_of_service, cl.minutes, cl.units,
                money(ln.rate_cents), money(cl.charge_cents),
                " ".join(x.encounter_id for x in cl.services),
            )  # fmt: skip
    yield (
        "TOTAL", f"{control:09d}", payer.name, n_claims, n_lines, "", "", "", "", "", "", "",
        "", "", "", units, "", money(cents), "",
    )  # fmt: skip


def write_worksheet(
    fh: TextIO,
    batch_id: str,
    control: int,
    payer: Payer,
    claims: Iterable[Claim],
    participants: dict[str, Participant],
    specialists: dict[str, User],
) -> None:
    """The CSV worksheet (ids in the ="…" text form)."""
    w = csv.writer(fh, lineterminator="\r\n")
    w.writerow(COLUMNS)
    for row in worksheet_rows(batch_id, control, payer, claims, participants, specialists):
        w.writerow(
            csv_text_id(v) if k in _ID_INDEX and isinstance(v, str) else v
            for k, v in enumerate(row)
        )


def write_worksheet_xlsx(
    fh: BinaryIO,
    batch_id: str,
    control: int,
    payer: Payer,
    claims: Iterable[Claim],
    participants: dict[str, Participant],
    specialists: dict[str, User],
) -> None:
    """The same worksheet as an .xlsx: ids and names are text cells, counts are
    numbers, amounts are numbers with two decimals."""
    import xlsxwriter  # imported here: only an export needs it

    book = xlsxwriter.Workbook(fh, {"in_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet("Worksheet")
    bold = book.add_format({"bold": True})
    text = book.add_format({"num_format": "@"})
    cash = book.add_format({"num_format": "0.00"})
    sheet.write_row(0, 0, COLUMNS, bold)
    r = 0
    rows = worksheet_rows(batch_id, control, payer, claims, participants, specialists)
    for r, row in enumerate(rows, 1):
        fmt_row = bold if row[0] == "TOTAL" else None
        for k, v in enumerate(row):
            if COLUMNS[k] in ("rate", "amount") and v != "":
                sheet.write_number(r, k, float(v), cash)
            elif isinstance(v, int):  # line, minutes, units; the counts in the totals row
                sheet.write_number(r, k, int(v), fmt_row)
            else:
                sheet.write_string(r, k, str(v), fmt_row or text)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(r, 1), len(COLUMNS) - 1)
    book.close()


def _safe(value: str) -> str:
    """A name cannot start a spreadsheet formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
