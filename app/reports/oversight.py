"""The oversight report: one specialist's month on paper, for the agency's files.

A pure module: :class:`OversightMonth` holds the figures (gathered by
app.services.reports.oversight_month) and :func:`render_pdf` turns them
into PDF bytes with reportlab, in memory, so nothing is written until the
supervisor's chosen file is. Participants appear by initials only.

On paper: every table spans the text width, numbers are right-aligned, values
read as words ("Waiting for review", not "signed"), dates, times and hours are
written by app.domain.datetext (in the computer's local time), and each page
says "Page n of m".
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from typing import Any

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import KeepTogether
from reportlab.platypus import Paragraph
from reportlab.platypus import Spacer
from reportlab.platypus import Table
from reportlab.platypus import TableStyle

from app.domain.datetext import count_text
from app.domain.datetext import day_text
from app.domain.datetext import duration_text
from app.domain.datetext import long_month_year_text
from app.domain.datetext import moment_text
from app.domain.supervision import ReviewOutcomes
from app.reports.pdf import build_numbered
from app.reports.pdf import document

#: How a note's status reads on paper.
STATUS_WORDS = {
    "draft": "Draft",
    "signed": "Waiting for review",
    "returned": "Returned",
    "approved": "Approved",
    "billed": "Billed",
    "void": "Void",
}
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
        return long_month_year_text(date(self.year, self.month, 1))

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
    """Hours of the report (kept as hours) as every screen writes a duration."""
    return duration_text(round(h * 60))


def words(value: str) -> str:
    """A stored value as a person reads it: 'telehealth audio-only' -> 'Telehealth
    audio-only', 'signed' -> 'Waiting for review'."""
    return STATUS_WORDS.get(value, value[:1].upper() + value[1:])


def _table(
    rows: list[list[Any]],
    fractions: list[float],
    width: float,
    numbers: tuple[int, ...] = (),
    total_row: bool = False,
) -> Table:
    """A table across the whole text ``width`` (columns in proportion to
    ``fractions``), its ``numbers`` columns right-aligned, header shaded."""
    scale = width / sum(fractions)
    t = Table(rows, colWidths=[f * scale for f in fractions], repeatRows=1)
    style: list[tuple[Any, ...]] = [
        ("FONTSIZE", (0, 0), (-1, -1), 9),
        ("LINEBELOW", (0, 0), (-1, -1), 0.5, GRID),
        ("BOX", (0, 0), (-1, -1), 0.5, GRID),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 5),
        ("BACKGROUND", (0, 0), (-1, 0), LIGHT),
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
    ]
    for col in numbers:
        style.append(("ALIGN", (col, 0), (col, -1), "RIGHT"))
    if total_row:
        style.append(("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"))
    t.setStyle(TableStyle(style))
    return t


def _signed(s: SessionLine) -> str:
    if s.supervisor_signed and s.specialist_signed:
        return "Both"
    if s.supervisor_signed:
        return "Supervisor only"
    return "Specialist only" if s.specialist_signed else "Not yet"


def _sections(m: OversightMonth, width: float, h2: Any, body: Any, small: Any) -> list[Any]:
    """The summary, review outcomes and hours tables."""
    o = m.outcomes
    sessions = count_text(len(m.sessions), "session", "sessions")
    story: list[Any] = [
        Paragraph("Summary", h2),
        _table(
            [
                ["Services", "Units", "Direct service", "Supervision", "Overdue notes"],
                [
                    str(m.service_count),
                    str(m.units),
                    _hours(m.hours.get("direct service", 0.0)),
                    f"{duration_text(m.supervision_minutes)} in {sessions}",
                    str(m.overdue),
                ],
            ],
            [1, 1, 1.3, 2, 1.3],
            width,
            numbers=(0, 1, 2, 4),
        ),
        Paragraph(
            f"A note is overdue when it was signed more than {m.overdue_days} days after "
            "the service, or is still unsigned after that.",
            small,
        ),
        Paragraph("Review outcomes", h2),
        _table(
            [
                ["Approved", "Billed", "Returned", "Waiting for review", "Drafts", "Void"],
                [str(v) for v in (o.approved, o.billed, o.returned, o.waiting, o.drafts, o.void)],
            ],
            [1, 1, 1, 1.6, 1, 1],
            width,
            numbers=(0, 1, 2, 3, 4, 5),
        ),
        Paragraph("Hours by kind of work", h2),
    ]
    if m.hours:
        rows: list[list[Any]] = [["Kind of work", "Time"]]
        rows += [[words(k), _hours(v)] for k, v in m.hours.items()]
        rows.append(["Total", _hours(sum(m.hours.values()))])
        story.append(_table(rows, [5, 2], width, numbers=(1,), total_row=True))
    else:
        story.append(Paragraph("No hours were logged this month.", body))
    return story


def _lists(m: OversightMonth, width: float, h2: Any, body: Any, small: Any) -> list[Any]:
    """The supervision sessions and the services, one line each."""
    story: list[Any] = [Paragraph("Supervision", h2)]
    if m.sessions:
        head = ["Date", "Time", "Format", "Modality", "Topics", "Cases", "Signed"]
        rows: list[list[Any]] = [head]
        for s in m.sessions:
            rows.append(
                [
                    day_text(s.session_date),
                    duration_text(s.minutes),
                    words(s.format),
                    words(s.modality),
                    Paragraph(", ".join(s.topics), small),
                    str(s.cases),
                    _signed(s),
                ]
            )
        story.append(_table(rows, [1.1, 0.9, 0.9, 1.4, 2.2, 0.6, 1.2], width, numbers=(1, 5)))
    else:
        story.append(Paragraph("No supervision was logged this month.", body))

    story.append(Paragraph("Services", h2))
    if m.encounters:
        rows = [["Date", "Participant", "Modality", "Time", "Units", "Status", "Signed after"]]
        for e in m.encounters:
            days = e.signed_after_days
            after = "" if days is None else count_text(days, "day", "days")
            if e.overdue:
                after = f"{after} (overdue)" if after else "Overdue"
            rows.append(
                [
                    day_text(e.service_date),
                    e.participant,
                    words(e.modality),
                    duration_text(e.minutes),
                    str(e.units),
                    words(e.status),
                    after,
                ]
            )
        story.append(_table(rows, [1.1, 0.9, 1.6, 0.9, 0.6, 1.5, 1.3], width, numbers=(3, 4)))
    else:
        story.append(Paragraph("No services this month.", body))
    return story


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

    story: list[Any] = [
        Paragraph(f"Oversight report — {esc(m.period)}", h1),
        Paragraph(
            f"Specialist: <b>{esc(m.specialist)}</b>"
            + (f" ({esc(m.credential)})" if m.credential else "")
            + f"<br/>Supervisor: {esc(m.supervisor)}"
            + (f"<br/>Agency: {esc(m.agency)}" if m.agency else "")
            + f"<br/>Prepared {esc(moment_text(m.generated_at))} with PeerTrail",
            body,
        ),
        Spacer(1, 6),
    ]
    story += _sections(m, doc.width, h2, body, small)
    story += _lists(m, doc.width, h2, body, small)
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
    build_numbered(doc, story, footer=f"Oversight report — {m.period}")
    return buf.getvalue()
