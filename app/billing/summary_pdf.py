"""The PDF summary of a batch (reportlab): what was billed, per specialist and per
participant, with units and amounts, and a signature line.

Page one starts with the batch (payer, period, control number, file mode, who
and when) and one totals sentence ("Totals: N claims, N service lines, N units,
$X") that agrees with the 837P and the CSV; then a table per specialist and a
table per participant (each with a total row), the files written, and lines for
the preparer's and reviewer's signatures. Every page says it holds protected
health information.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import BinaryIO
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from app.billing.claims import Claim
from app.domain.records import BillingProvider, Participant, Payer, User
from app.reports.pdf import document


@dataclass
class _Row:
    claims: int = 0
    lines: int = 0
    units: int = 0
    cents: int = 0


def dollars(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"


def _pdf_text(value: str) -> str:
    """For a Paragraph: drawable text with markup characters escaped."""
    return escape(_cell(value))


def _cell(value: str) -> str:
    """Text the built-in fonts can draw (Windows-1252); others lose their accents."""
    out = []
    for ch in value:
        try:
            ch.encode("cp1252")
            out.append(ch)
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
            out.append(base or "?")
    return "".join(out)


def write_summary(
    fh: BinaryIO,
    *,
    batch_id: str,
    control: int,
    period: tuple[date, date],
    created_at: datetime,
    created_by: str,
    provider: BillingProvider,
    payer: Payer,
    claims: Iterable[Claim],
    participants: dict[str, Participant],
    specialists: dict[str, User],
    files: list[str],
) -> None:
    per_spec: dict[str, _Row] = defaultdict(_Row)
    per_person: dict[str, _Row] = defaultdict(_Row)
    total = _Row()
    for c in claims:
        lines = len(c.lines)
        units = int(sum(cl.units for cl in c.lines))
        for row in (per_spec[c.specialist_id], per_person[c.participant_id], total):
            row.claims += 1
            row.lines += lines
            row.units += units
            row.cents += c.charge_cents

    styles = getSampleStyleSheet()
    body = styles["BodyText"]
    story: list = [
        Paragraph(_pdf_text(f"Billing summary: {payer.name}"), styles["Title"]),
        _info_table(
            [
                ("Agency", f"{provider.name} (NPI {provider.npi}, tax id {provider.tax_id})"),
                ("Services from", f"{period[0].isoformat()} to {period[1].isoformat()}"),
                ("Batch", batch_id),
                (
                    "Interchange control",
                    f"{control:09d} ({'production' if payer.usage_indicator == 'P' else 'test'}"
                    " file)",
                ),
                (
                    "Exported",
                    f"{created_at.strftime('%Y-%m-%d %H:%M UTC')} by {created_by}",
                ),
            ]
        ),
        Spacer(1, 8),
        Paragraph(
            f"<b>Totals: {total.claims} claims, {total.lines} service lines, "
            f"{total.units} units, {dollars(total.cents)}</b>",
            body,
        ),
        Spacer(1, 10),
        Paragraph("Per specialist (rendering provider)", styles["Heading2"]),
    ]
    head = ["Claims", "Lines", "Units", "Amount"]
    rows = [["Specialist", "NPI", *head]]
    for sid, r in sorted(per_spec.items(), key=lambda kv: specialists[kv[0]].display_name):
        s = specialists[sid]
        rows.append([_cell(s.display_name), s.npi, *_nums(r)])
    rows.append(["Total", "", *_nums(total)])
    story.append(
        _table(rows, [2.6 * inch, 1.1 * inch, 0.7 * inch, 0.7 * inch, 0.7 * inch, 1.0 * inch])
    )
    story += [Spacer(1, 10), Paragraph("Per participant", styles["Heading2"])]
    rows = [["Participant", "Medicaid ID", *head]]
    order = sorted(
        per_person.items(),
        key=lambda kv: (
            participants[kv[0]].last_name.lower(),
            participants[kv[0]].first_name.lower(),
        ),
    )
    for pid, r in order:
        p = participants[pid]
        rows.append([_cell(f"{p.last_name}, {p.first_name}"), p.medicaid_id, *_nums(r)])
    rows.append(["Total", "", *_nums(total)])
    story.append(
        _table(rows, [2.6 * inch, 1.1 * inch, 0.7 * inch, 0.7 * inch, 0.7 * inch, 1.0 * inch])
    )
    story += [
        Spacer(1, 10),
        Paragraph("Files", styles["Heading2"]),
        *[Paragraph(_pdf_text(f), body) for f in files],
        Spacer(1, 24),
        KeepTogether(
            [
                Paragraph(
                    "I certify that the services listed were provided as documented in the "
                    "approved service notes and have not been billed before.",
                    body,
                ),
                Spacer(1, 28),
                Table(
                    [
                        ["Prepared by (signature)", "", "Date", ""],
                        ["Reviewed by (signature)", "", "Date", ""],
                    ],
                    colWidths=[1.8 * inch, 2.6 * inch, 0.6 * inch, 1.4 * inch],
                    rowHeights=[30, 30],
                    hAlign="LEFT",
                    style=TableStyle(
                        [
                            ("LINEBELOW", (1, 0), (1, -1), 0.8, colors.black),
                            ("LINEBELOW", (3, 0), (3, -1), 0.8, colors.black),
                            ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                            ("FONTSIZE", (0, 0), (-1, -1), 9),
                        ]
                    ),
                ),
            ]
        ),
    ]

    def footer(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7.5)
        canvas.setFillColor(colors.grey)
        canvas.drawString(
            0.75 * inch,
            0.5 * inch,
            "Contains protected health information. Keep it where the agency keeps claims.",
        )
        canvas.drawRightString(LETTER[0] - 0.75 * inch, 0.5 * inch, f"Page {doc.page}")
        canvas.restoreState()

    # no personal data in the metadata
    doc = document(fh, f"Billing summary {control:09d}", side=0.75 * inch, bottom=0.8 * inch)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)


def _info_table(pairs: list[tuple[str, str]]) -> Table:
    t = Table(
        [[k, _cell(v)] for k, v in pairs],
        colWidths=[1.5 * inch, 5.3 * inch],
        hAlign="LEFT",
    )
    t.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (0, -1), "Helvetica-Bold"),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                ("LEFTPADDING", (0, 0), (0, -1), 0),
            ]
        )
    )
    return t


def _nums(r: _Row) -> list[str]:
    return [str(r.claims), str(r.lines), str(r.units), dollars(r.cents)]


def _table(rows: list[list[str]], widths: list[float]) -> Table:
    t = Table(rows, colWidths=widths, repeatRows=1, hAlign="LEFT")
    t.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
                ("FONTSIZE", (0, 0), (-1, -1), 8.5),
                ("ALIGN", (2, 0), (-1, -1), "RIGHT"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
                ("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black),
                ("ROWBACKGROUNDS", (0, 1), (-1, -2), [colors.white, colors.HexColor("#f2f4f7")]),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return t
