"""The oversight report: one specialist's month on paper, for the agency's files.

A pure module: :class:`OversightMonth` holds the figures (gathered by
app.services.reports.oversight_month) and :func:`render_pdf` turns them
into PDF bytes with reportlab, in memory, so nothing is written until the
supervisor's chosen file is. Participants appear by initials only.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from app.domain.supervision import ReviewOutcomes
from app.reports.pdf import document

MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
TEAL = colors.HexColor("#1f6f78")
LIGHT = colors.HexColor("#e4ebe7")
GRID = colors.HexColor("#cfd6d0")


@dataclass(frozen=True)
class EncounterLine:
    service_date: date
    participant: str  # initials
    modality: str
    minutes: int
    units: int
    status: str
    signed_after_days: int | None
    overdue: bool


@dataclass(frozen=True)
class SessionLine:
    session_date: date
    minutes: int
    format: str
    modality: str
    topics: tuple[str, ...]
    cases: int
    supervisor_signed: bool
    specialist_signed: bool


@dataclass(frozen=True)
class OversightMonth:
    agency: str
    specialist: str
    credential: str
    supervisor: str
    year: int
    month: int
    overdue_days: int
    encounters: tuple[EncounterLine, ...]
    hours: Mapping[str, float]  # time category -> hours
    sessions: tuple[SessionLine, ...]
    outcomes: ReviewOutcomes
    generated_at: datetime
    notes: tuple[str, ...] = field(default=())

    @property
    def period(self) -> str:
        return f"{MONTHS[self.month - 1]} {self.year}"

    @property
    def units(self) -> int:
        return sum(e.units for e in self.encounters if e.status != "void")

    @property
    def service_count(self) -> int:
        return sum(1 for e in self.encounters if e.status != "void")

    @property
    def overdue(self) -> int:
        return sum(1 for e in self.encounters if e.overdue)

    @property
    def supervision_minutes(self) -> int:
        return sum(s.minutes for s in self.sessions)


def _hours(h: float) -> str:
    return f"{h:.1f}"


def _table(rows: list[list[str]], widths: list[float], header: bool = True) -> Table:
    t = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
    style = [
        ("FONTSIZE", (0, 0), (-1, -1), 9),
        ("GRID", (0, 0), (-1, -1), 0.5, GRID),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        style += [
            ("BACKGROUND", (0, 0), (-1, 0), LIGHT),
            ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
        ]
    t.setStyle(TableStyle(style))
    return t


def render_pdf(m: OversightMonth) -> bytes:
    """The report as PDF bytes."""
    buf = io.BytesIO()
    doc = document(buf, f"Oversight report {m.period}", subject="Supervisor oversight report")
    ss = getSampleStyleSheet()
    h1 = ParagraphStyle("h1", parent=ss["Heading1"], textColor=TEAL, fontSize=17, spaceAfter=4)
    h2 = ParagraphStyle("h2", parent=ss["Heading2"], textColor=TEAL, fontSize=12.5, spaceBefore=10)
    body = ParagraphStyle("body", parent=ss["BodyText"], fontSize=9.5, leading=12.5)
    small = ParagraphStyle("small", parent=body, fontSize=8, textColor=colors.HexColor("#4a585c"))

    def esc(s: str) -> str:
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    story: list = [
        Paragraph(f"Oversight report — {esc(m.period)}", h1),
        Paragraph(
            f"Specialist: <b>{esc(m.specialist)}</b>"
            + (f" ({esc(m.credential)})" if m.credential else "")
            + f"<br/>Supervisor: {esc(m.supervisor)}"
            + (f"<br/>Agency: {esc(m.agency)}" if m.agency else "")
            + f"<br/>Prepared {m.generated_at:%Y-%m-%d %H:%M} UTC with PeerTrail",
            body,
        ),
        Spacer(1, 6),
    ]
    o = m.outcomes
    summary = [
        ["Services", "Units", "Direct hours", "Supervision", "Overdue notes"],
        [
            str(m.service_count),
            str(m.units),
            _hours(m.hours.get("direct service", 0.0)),
            f"{m.supervision_minutes} min in {len(m.sessions)} session(s)",
            f"{m.overdue} (signed > {m.overdue_days} days after service)",
        ],
    ]
    story += [
        Paragraph("Summary", h2),
        _table(summary, [0.9 * inch, 0.8 * inch, 1.1 * inch, 1.9 * inch, 2.3 * inch]),
    ]

    story.append(Paragraph("Review outcomes", h2))
    story.append(
        _table(
            [
                ["Approved", "Billed", "Returned", "Waiting for review", "Drafts", "Void"],
                [
                    str(o.approved),
                    str(o.billed),
                    str(o.returned),
                    str(o.waiting),
                    str(o.drafts),
                    str(o.void),
                ],
            ],
            [1.0 * inch] * 3 + [1.5 * inch, 1.0 * inch, 0.9 * inch],
        )
    )

    story.append(Paragraph("Hours by kind of work", h2))
    if m.hours:
        rows = [["Kind of work", "Hours"]] + [
            [k.capitalize(), _hours(v)] for k, v in m.hours.items()
        ]
        rows.append(["Total", _hours(sum(m.hours.values()))])
        story.append(_table(rows, [3.0 * inch, 1.0 * inch]))
    else:
        story.append(Paragraph("No hours were logged this month.", body))

    story.append(Paragraph("Supervision", h2))
    if m.sessions:
        rows = [["Date", "Minutes", "Format", "Modality", "Topics", "Cases", "Signed"]]
        for s in m.sessions:
            signed = "both" if s.supervisor_signed and s.specialist_signed else (
                "supervisor only" if s.supervisor_signed else (
                    "specialist only" if s.specialist_signed else "not yet"
                )
            )  # fmt: skip
            rows.append(
                [
                    s.session_date.isoformat(),
                    str(s.minutes),
                    s.format,
                    s.modality,
                    Paragraph(esc(", ".join(s.topics)), small),
                    str(s.cases),
                    signed,
                ]
            )
        story.append(
            _table(
                rows,
                [
                    0.85 * inch,
                    0.6 * inch,
                    0.75 * inch,
                    1.15 * inch,
                    1.9 * inch,
                    0.5 * inch,
                    1.1 * inch,
                ],
            )
        )
    else:
        story.append(Paragraph("No supervision was logged this month.", body))

    story.append(Paragraph("Services", h2))
    if m.encounters:
        rows = [["Date", "Participant", "Modality", "Minutes", "Units", "Status", "Signed after"]]
        for e in m.encounters:
            after = "" if e.signed_after_days is None else f"{e.signed_after_days} d"
            if e.overdue:
                after += " (overdue)"
            rows.append(
                [
                    e.service_date.isoformat(),
                    e.participant,
                    e.modality,
                    str(e.minutes),
                    str(e.units),
                    e.status,
                    after,
                ]
            )
        story.append(
            _table(
                rows,
                [
                    0.85 * inch,
                    0.8 * inch,
                    1.45 * inch,
                    0.65 * inch,
                    0.5 * inch,
                    0.8 * inch,
                    1.25 * inch,
                ],
            )
        )
    else:
        story.append(Paragraph("No services this month.", body))
    story.append(Spacer(1, 14))
    story.append(
        KeepTogether(
            [
                Paragraph(
                    "Participants are shown by initials. Units follow each payer's rounding "
                    "rule and daily cap. This report is confidential: keep it with the "
                    "agency's supervision records.",
                    small,
                )
            ]
        )
    )
    doc.build(story)
    return buf.getvalue()
