"""One service note as a PDF (reportlab; no Qt): who and when, the service, the goals,
the narrative, the signature and review, the addenda, and — when 42 CFR Part 2
governs the person's records — the redisclosure notice of §2.32 at the top of the
first page and at the end, so it travels with every copy printed or sent.
Page numbers and the note's status are on every page.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from datetime import time
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import KeepTogether
from reportlab.platypus import Paragraph
from reportlab.platypus import Spacer
from reportlab.platypus import Table
from reportlab.platypus import TableStyle

from app.reports.pdf import document

#: 42 CFR 2.32(a)(1), as amended in 2024: the notice each Part 2 disclosure carries.
PART2_NOTICE = (
    "This record which has been disclosed to you is protected by Federal confidentiality "
    "rules (42 CFR part 2). These rules prohibit you from using or disclosing this record, "
    "or testimony that describes the information contained in this record, in any civil, "
    "criminal, administrative, or legislative proceedings by any Federal, State, or local "
    "authority, against the patient, unless authorized by the consent of the patient, "
    "except as provided at 42 CFR 2.12(c)(5) or as authorized by a court in accordance with "
    "42 CFR 2.64 or 2.65. In addition, the Federal rules prohibit you from making any "
    "further disclosure of this record unless authorized by the written consent of the "
    "person to whom it pertains, or as otherwise permitted by 42 CFR part 2. A general "
    "authorization for the release of medical or other information is NOT sufficient for "
    "this purpose (see 42 CFR 2.31). The Federal rules restrict any use of the information "
    "to investigate or prosecute with regard to a crime any patient with a substance use "
    "disorder, except as provided at 42 CFR 2.12(c)(5) and 2.65."
)


@dataclass(frozen=True)
class NotePrint:
    """What the PDF shows, already in words (the service layer fills it)."""

    person: str
    service_date: date
    start: time | None
    end: time | None
    service: list[tuple[str, str]]  # (label, value): modality, place, code, units…
    goals: list[str]
    parts: list[tuple[str, str]]  # (heading, text) in the template's order
    status: str
    signature: str = ""
    addenda: list[tuple[str, str, str]] = field(default_factory=list)  # reason, text, by
    part2: bool = False
    printed_at: datetime | None = None


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=base["BodyText"], fontSize=10, leading=13)
    return {
        "title": ParagraphStyle("title", parent=base["Title"], fontSize=16, alignment=0),
        "h": ParagraphStyle("h", parent=base["Heading3"], spaceBefore=8, spaceAfter=2),
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=8, leading=10),
        "notice": ParagraphStyle(
            "notice",
            parent=body,
            fontSize=8,
            leading=10,
            borderColor=colors.black,
            borderWidth=0.8,
            borderPadding=6,
            spaceBefore=4,
            spaceAfter=10,
        ),
    }


def _para(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>") or "—", style)


def _clock(t: time | None) -> str:
    if t is None:
        return "—"
    return f"{t.hour % 12 or 12}:{t.minute:02d} {'PM' if t.hour >= 12 else 'AM'}"


def render(note: NotePrint) -> bytes:
    """The note as PDF bytes."""
    st = _styles()
    buf = io.BytesIO()
    doc = document(buf, "Service note", "A service note printed from PeerTrail")
    flow: list = []
    if note.part2:
        flow.append(_para(PART2_NOTICE, st["notice"]))
    flow.append(_para(f"Service note · {note.person}", st["title"]))
    when = f"{note.service_date:%B} {note.service_date.day}, {note.service_date.year}"
    rows = [["Date", when], ["Time", f"{_clock(note.start)} – {_clock(note.end)}"]]
    rows += [[label, value] for label, value in note.service if value]
    rows.append(["Status", note.status])
    table = Table(
        [[_para(a, st["body"]), _para(b, st["body"])] for a, b in rows],
        colWidths=[1.4 * inch, 5.4 * inch],
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
                ("TEXTCOLOR", (0, 0), (0, -1), colors.HexColor("#444444")),
            ]
        )
    )
    flow += [table, Spacer(1, 6)]
    if note.goals:
        flow.append(_para("Goals worked on", st["h"]))
        flow += [_para(f"• {g}", st["body"]) for g in note.goals]
    for heading, text in note.parts:
        flow.append(KeepTogether([_para(heading, st["h"]), _para(text, st["body"])]))
    if note.signature:
        flow += [Spacer(1, 8), _para(note.signature, st["body"])]
    if note.addenda:
        flow.append(_para("Addenda", st["h"]))
        for reason, text, by in note.addenda:
            flow.append(
                KeepTogether(
                    [
                        _para(f"Addendum: {reason}", st["body"]),
                        _para(text, st["body"]),
                        _para(by, st["small"]),
                        Spacer(1, 4),
                    ]
                )
            )
    if note.part2:
        flow += [Spacer(1, 10), _para(PART2_NOTICE, st["notice"])]

    printed = note.printed_at

    def footer(canvas, doc_) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        left = f"Service note · {note.status}"
        if printed is not None:
            left += f" · printed {printed:%b} {printed.day}, {printed.year}"
        canvas.drawString(doc_.leftMargin, 0.45 * inch, left)
        canvas.drawRightString(
            doc_.pagesize[0] - doc_.rightMargin, 0.45 * inch, f"Page {doc_.page}"
        )
        canvas.restoreState()

    doc.build(flow, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()
