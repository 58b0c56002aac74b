"""The PDF summary of a batch (reportlab): what was billed, per specialist and per
participant, with units and amounts, and a signature line.

Page one starts with the batch (payer, period, control number, file mode, who
and when) and one totals sentence ("Totals: N claims, N service lines, N units,
$X") that agrees with the 837P and the CSV; then a table per specialist and a
table per participant (each with a total row), the services of the period held back
from this payer's file with the reason for each, the files written, and lines for
the preparer's and reviewer's signatures. Every page says it holds protected
health information.

The header names the payer id (2010BB NM1*PR) and receiver id (ISA08, 1000B)
the file is addressed to, and the export time in the agency's time zone. A
re-bill (``replaces``: the voided batch it takes the place of) says so at the
top, and its certification says the services were billed before in that voided
batch instead of certifying that they "have not been billed before".
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from typing import BinaryIO
from xml.sax.saxutils import escape

from anyascii import anyascii
from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import KeepTogether
from reportlab.platypus import Paragraph
from reportlab.platypus import Spacer
from reportlab.platypus import Table
from reportlab.platypus import TableStyle

from app.billing.claims import Claim
from app.billing.preflight import BillingData
from app.billing.preflight import Preflight
from app.billing.preflight import payer_of
from app.billing.settings import agency_time
from app.billing.x12 import Interchange
from app.domain.records import BillingProvider
from app.domain.records import Participant
from app.domain.records import Payer
from app.domain.records import User
from app.reports.pdf import document


@dataclass(frozen=True)
class HeldBack:
    """A service of the period that this file does not bill, and why."""

    service: str  # e.g. "2026-10-03 09:00 · O'Sheel, Brannagh" (the PDF holds PHI anyway)
    reason: str


@dataclass(frozen=True)
class Replaces:
    """The voided batch a re-bill takes the place of."""

    batch_id: str
    control: int
    voided_on: date | None = None
    reason: str = ""


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
            out.append(base or anyascii(ch) or "?")
    return "".join(out)


def write_summary(
    fh: BinaryIO,
    ix: Interchange,
    *,
    period: tuple[date, date],
    created_by: str,
    files: list[str],
    held_back: Iterable[HeldBack] | None = None,
    replaces: Replaces | None = None,
) -> None:
    """Write the summary of the batch ``ix`` (its ``batch_ref`` is the batch id).
    ``held_back``: the period's services kept out of this file
    (``held_back_services``; None: the section is left out, as the caller did not
    say); ``replaces``: set on a re-bill of a voided batch."""
    per_spec, per_person, total = _totals(ix.claims)
    styles = getSampleStyleSheet()
    body = styles["BodyText"]
    story: list = _header(styles, ix.batch_ref, ix.control, period, ix.created, created_by,
                          ix.provider, ix.payer, replaces)  # fmt: skip
    story += [
        Spacer(1, 8),
        Paragraph(
            f"<b>Totals: {total.claims} claims, {total.lines} service lines, "
            f"{total.units} units, {dollars(total.cents)}</b>",
            body,
        ),
        Spacer(1, 10),
        Paragraph("Per specialist (rendering provider)", styles["Heading2"]),
        _per_specialist(per_spec, total, ix.specialists),
        Spacer(1, 10),
        Paragraph("Per participant", styles["Heading2"]),
        _per_participant(per_person, total, ix.participants),
    ]
    if held_back is not None:
        story += _held_back_story(list(held_back), styles)
    story += [
        Spacer(1, 10),
        Paragraph("Files", styles["Heading2"]),
        *[Paragraph(_pdf_text(f), body) for f in files],
        Spacer(1, 24),
        _signature(replaces, body),
    ]
    # no personal data in the metadata
    doc = document(fh, f"Billing summary {ix.control:09d}", side=0.75 * inch, bottom=0.8 * inch)
    doc.build(story, onFirstPage=_footer, onLaterPages=_footer)


_HEAD = ["Claims", "Lines", "Units", "Amount"]
_WIDTHS = [2.6 * inch, 1.1 * inch, 0.7 * inch, 0.7 * inch, 0.7 * inch, 1.0 * inch]


def _totals(claims: Iterable[Claim]) -> tuple[dict[str, _Row], dict[str, _Row], _Row]:
    """Claims, lines, units and amounts per specialist, per participant and in all."""
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
    return per_spec, per_person, total


def _per_specialist(per_spec: dict[str, _Row], total: _Row, specialists: dict[str, User]):
    rows = [["Specialist", "NPI", *_HEAD]]
    for sid, r in sorted(per_spec.items(), key=lambda kv: specialists[kv[0]].display_name):
        s = specialists[sid]
        rows.append([_cell(s.display_name), s.npi, *_nums(r)])
    rows.append(["Total", "", *_nums(total)])
    return _table(rows, _WIDTHS)


def _per_participant(
    per_person: dict[str, _Row], total: _Row, participants: dict[str, Participant]
):
    rows = [["Participant", "Medicaid ID", *_HEAD]]
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
    return _table(rows, _WIDTHS)


def _footer(canvas, doc) -> None:
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


def _header(styles, batch_id: str, control: int, period: tuple[date, date],
            created_at: datetime, created_by: str, provider: BillingProvider, payer: Payer,
            replaces: Replaces | None) -> list:  # fmt: skip
    """The title, the re-bill line and the table of what the batch is."""
    local = agency_time(created_at, provider)
    story: list = [
        Paragraph(_pdf_text(f"Billing summary: {payer.name}"), styles["Title"]),
    ]
    if replaces is not None:
        voided = f", voided {replaces.voided_on.isoformat()}" if replaces.voided_on else ""
        why = f" ({replaces.reason})" if replaces.reason else ""
        story.append(
            Paragraph(
                _pdf_text(
                    f"RE-BILL: replaces voided batch {replaces.batch_id} (interchange control "
                    f"{replaces.control:09d}{voided}){why}."
                ),
                styles["Heading3"],
            )
        )
    story += [
        _info_table(
            [
                ("Agency", f"{provider.name} (NPI {provider.npi}, tax id {provider.tax_id})"),
                ("Payer", f"{payer.name} (payer id {payer.payer_id})"),
                (
                    "Sent to",
                    f"{payer.receiver_name or payer.name} (receiver id {payer.receiver_id})",
                ),
                ("Services from", f"{period[0].isoformat()} to {period[1].isoformat()}"),
                ("Batch", batch_id),
                (
                    "Interchange control",
                    f"{control:09d} ({'production' if payer.usage_indicator == 'P' else 'test'}"
                    " file)",
                ),
                (
                    "Exported",
                    f"{local.strftime('%Y-%m-%d %H:%M')} {local.tzname()} by {created_by}",
                ),
            ]
        )
    ]
    return story


def _signature(replaces: Replaces | None, body) -> KeepTogether:
    """The certification sentence and the signature lines, kept on one page."""
    return KeepTogether(
        [
            Paragraph(_pdf_text(certification(replaces)), body),
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
    )


def certification(replaces: Replaces | None) -> str:
    """The sentence above the signature lines."""
    if replaces is None:
        return (
            "I certify that the services listed were provided as documented in the "
            "approved service notes and have not been billed before."
        )
    return (
        "I certify that the services listed were provided as documented in the approved "
        f"service notes. They were billed before in batch {replaces.batch_id} "
        f"(interchange control {replaces.control:09d}), which is void; this file bills "
        "them again in its place."
    )


def _held_back_story(held: list[HeldBack], styles) -> list:
    head = Paragraph(f"Services held back ({len(held)})", styles["Heading2"])
    if not held:
        none = "Every service of the period for this payer is in this file."
        return [Spacer(1, 10), head, Paragraph(none, styles["BodyText"])]
    rows = [["Service", "Why it is not in this file"]]
    cell = styles["BodyText"].clone("held", fontSize=8, leading=9.5)
    rows += [[Paragraph(_pdf_text(h.service), cell), Paragraph(_pdf_text(h.reason), cell)]
             for h in held]  # fmt: skip
    t = Table(rows, colWidths=[2.6 * inch, 4.2 * inch], repeatRows=1, hAlign="LEFT")
    t.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTSIZE", (0, 0), (-1, 0), 8.5),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f2f4f7")]),
            ]
        )
    )
    return [Spacer(1, 10), head, t]


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


def held_back_services(pf: Preflight, data: BillingData, payer_id: str) -> list[HeldBack]:
    """The period's services the pre-flight kept out, for one payer's summary (by
    its record id): those billed to that payer, and those with no payer at all.
    One row per service, its reasons joined, in date and time order."""
    reasons: dict[str, list[str]] = defaultdict(list)
    for p in pf.problems:
        for eid in p.encounter_ids:
            if p.message not in reasons[eid]:
                reasons[eid].append(p.message)
    out: list[tuple[tuple, HeldBack]] = []
    for e in data.encounters:
        if e.id not in reasons:
            continue
        owner = payer_of(e, data.participants)
        if owner != payer_id and owner in data.payers:
            continue
        person = data.participants.get(e.participant_id)
        who = f"{person.last_name}, {person.first_name}" if person else "person not in vault"
        when = e.start_time.strftime("%H:%M") if e.start_time else "--:--"
        label = f"{e.service_date.isoformat()} {when} · {who}"
        out.append(((e.service_date, when, e.id), HeldBack(label, "; ".join(reasons[e.id]))))
    return [h for _k, h in sorted(out, key=lambda t: t[0])]
