"""The program report's files: a PDF with bar charts (reportlab graphics), a CSV and
an XLSX table (xlsxwriter). Pure: bytes in memory from a
:class:`app.reports.program.ProgramReport`; only suppressed values are written
(``Cell.shown``, ``BarcChange.shown``), never a small count.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import xlsxwriter
from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing
from reportlab.graphics.shapes import String
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import KeepTogether
from reportlab.platypus import Paragraph
from reportlab.platypus import Spacer
from reportlab.platypus import Table
from reportlab.platypus import TableStyle

from app.domain.datetext import moment_text
from app.reports.pdf import document
from app.reports.program import ProgramReport
from app.reports.program import ServiceLine
from app.reports.program import hours
from app.reports.program import table_rows
from app.reports.suppression import HIDDEN
from app.reports.suppression import SMALL
from app.reports.suppression import THRESHOLD
from app.reports.suppression import PeopleTable

TEAL = colors.HexColor("#1f6f78")
LIGHT = colors.HexColor("#e4ebe7")
GRID = colors.HexColor("#cfd6d0")
HEADER = ("Section", "Item", "Measure", "Value")

SUPPRESSION_NOTE = (
    f"Counts of people from 1 to {THRESHOLD - 1} are shown as \u201c{SMALL}\u201d (the CMS "
    f"cell-size rule). A cell shown as \u201c{HIDDEN}\u201d (0, or {THRESHOLD} or more) is "
    "hidden as well, so that no small count can be worked out from the table's total: the "
    f"hidden cells of a table add up to {THRESHOLD} or more and none can be pinned down. A "
    "table that cannot be protected that way (fewer than "
    f"{THRESHOLD} people, for one) is not broken down. BARC-10 means are shown only for "
    f"{THRESHOLD} people or more."
)
RULES_NOTE = (
    "A service is a note signed by its specialist (approved and billed notes included); "
    "drafts, notes returned for revision, void and deleted records never count. People "
    "served are counted once each. Units follow each payer's rounding rule and daily cap. "
    "Direct-service hours count overlapping notes once per specialist."
)


def csv_bytes(r: ProgramReport) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(HEADER)
    for row in table_rows(r):
        w.writerow([_safe(v) for v in row])
    return buf.getvalue().encode("utf-8-sig")


def _safe(v: str) -> str:
    """A spreadsheet never runs a cell as a formula (labels are typed by people)."""
    return "'" + v if v[:1] in ("=", "+", "-", "@") and not _number(v) else v


def _number(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return True


def xlsx_bytes(r: ProgramReport) -> bytes:
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False})
    bold = book.add_format({"bold": True, "bg_color": "#e4ebe7"})
    sheet = book.add_worksheet("Program report")
    sheet.write_row(0, 0, HEADER, bold)
    for i, row in enumerate(table_rows(r), start=1):
        sheet.write_string(i, 0, row[0])
        sheet.write_string(i, 1, row[1])
        sheet.write_string(i, 2, row[2])
        value = row[3]
        if _number(value) and value not in (SMALL, HIDDEN) and not value.startswith("+"):
            sheet.write_number(i, 3, float(value))
        else:
            sheet.write_string(i, 3, value)
    sheet.set_column(0, 0, 34)
    sheet.set_column(1, 1, 44)
    sheet.set_column(2, 3, 14)
    notes = book.add_worksheet("About")
    notes.set_column(0, 0, 120)
    for i, text in enumerate((SUPPRESSION_NOTE, RULES_NOTE)):
        notes.write_string(i, 0, text)
    book.close()
    return buf.getvalue()


# -- the PDF ----------------------------------------------------------------------------


def _table(rows: list[list], widths: Sequence[float]) -> Table:
    t = Table(rows, colWidths=list(widths), repeatRows=1, hAlign="LEFT")
    t.setStyle(
        TableStyle(
            [
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("GRID", (0, 0), (-1, -1), 0.5, GRID),
                ("BACKGROUND", (0, 0), (-1, 0), LIGHT),
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return t


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float]) -> Drawing:
    """A horizontal bar chart (one bar per label) with its title."""
    height = 34 + 18 * max(1, len(labels))
    d = Drawing(6.8 * inch, height)
    d.add(String(0, height - 12, title, fontName="Helvetica-Bold", fontSize=10, fillColor=TEAL))
    chart = HorizontalBarChart()
    chart.x, chart.y = 170, 14
    chart.width, chart.height = 6.8 * inch - 200, height - 36
    chart.data = [list(values) or [0]]
    chart.bars[0].fillColor = TEAL
    chart.bars[0].strokeColor = None
    chart.categoryAxis.categoryNames = [label[:32] for label in labels] or [""]
    chart.categoryAxis.labels.fontSize = 8
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.categoryAxis.reverseDirection = True
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = max([*values, 1]) * 1.12  # room for the last bar's label
    chart.valueAxis.labels.fontSize = 8
    chart.barLabelFormat = "%d"
    chart.barLabels.fontSize = 7
    chart.barLabels.nudge = 8
    d.add(chart)
    return d


def _service_table(title: str, lines: Sequence[ServiceLine]) -> list:
    rows: list[list] = [[title, "Services", "Units"]]
    rows += [[ln.label, str(ln.services), str(ln.units)] for ln in lines]
    if not lines:
        rows.append(["No services", "0", "0"])
    return [_table(rows, [3.6 * inch, 1.1 * inch, 1.1 * inch]), Spacer(1, 6)]


def _people_table(t: PeopleTable, body: ParagraphStyle) -> list:
    if t.withheld:
        return [
            Paragraph(
                f"<b>{_esc(t.title)}</b>: not broken down (too few people to show safely).", body
            ),
            Spacer(1, 6),
        ]
    rows: list[list] = [[t.title, "People"]]
    rows += [[c.label, c.shown] for c in t.cells]
    rows.append(["Total", t.total_shown])
    return [_table(rows, [3.6 * inch, 1.1 * inch]), Spacer(1, 6)]


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def pdf_bytes(r: ProgramReport, agency: str = "") -> bytes:
    buf = io.BytesIO()
    doc = document(buf, f"Program report {r.period}", subject="Program report for funders")
    st = _styles()
    story: list = [
        Paragraph("Program report", st["h1"]),
        Paragraph(
            f"Period: <b>{_esc(r.period)}</b><br/>Program: {_esc(r.program_label)}"
            f"<br/>Scope: {_esc(r.choice.scope_label)}"
            + (f"<br/>Agency: {_esc(agency)}" if agency else "")
            + f"<br/>Prepared {_esc(moment_text(r.generated_at))} with PeerTrail",
            st["body"],
        ),
        *_summary_story(r, st),
        *_services_story(r, st),
        *_goals_story(r, st),
        Paragraph("Demographics of the people served", st["h2"]),
    ]
    for t in r.demographics:
        story += _people_table(t, st["body"])
    story += [
        Spacer(1, 8),
        KeepTogether(
            [Paragraph(SUPPRESSION_NOTE, st["small"]), Spacer(1, 3),
             Paragraph(RULES_NOTE, st["small"])]
        ),
    ]  # fmt: skip
    doc.build(story)
    return buf.getvalue()


def _styles() -> dict[str, ParagraphStyle]:
    ss = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=ss["BodyText"], fontSize=9.5, leading=12.5)
    return {
        "h1": ParagraphStyle("h1", parent=ss["Heading1"], textColor=TEAL, fontSize=17,
                             spaceAfter=4),
        "h2": ParagraphStyle("h2", parent=ss["Heading2"], textColor=TEAL, fontSize=12.5,
                             spaceBefore=8),
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=8,
                                textColor=colors.HexColor("#4a585c")),
    }  # fmt: skip


def _summary_story(r: ProgramReport, st: dict[str, ParagraphStyle]) -> list:
    """People, enrolments, services and units; hours, miles and supervision."""
    counts = (r.people_served, r.new_enrolments, r.closed_enrolments, r.services, r.units)
    return [
        Paragraph("Summary", st["h2"]),
        _table(
            [
                ["People served", "New enrolments", "Closed enrolments", "Services", "Units"],
                [str(v) for v in counts],
            ],
            [1.36 * inch] * 5,
        ),
        Spacer(1, 6),
        _table(
            [
                [
                    "Direct-service\nhours",
                    "Travel\nhours",
                    "Miles",
                    "Supervision\nsessions",
                    "Supervision\nhours",
                ],
                [
                    hours(r.direct_minutes),
                    hours(r.travel_minutes),
                    f"{r.miles:.1f}",
                    str(r.supervision_sessions),
                    hours(r.supervision_minutes),
                ],
            ],
            [1.36 * inch] * 5,
        ),
        Paragraph(
            f"Supervision received by the specialists: {hours(r.supervision_received_minutes)} "
            "hours (a group session counts for each specialist in it).",
            st["small"],
        ),
    ]


def _services_story(r: ProgramReport, st: dict[str, ParagraphStyle]) -> list:
    """Charts of services by program and units by payer, then the four tables."""
    story: list = [
        Paragraph("Services", st["h2"]),
        bar_chart(
            "Services by program",
            [ln.label for ln in r.by_program],
            [ln.services for ln in r.by_program],
        ),
        Spacer(1, 4),
        bar_chart(
            "Units by payer", [ln.label for ln in r.by_payer], [ln.units for ln in r.by_payer]
        ),
        Spacer(1, 8),
    ]
    for title, lines in (
        ("Program", r.by_program),
        ("Payer", r.by_payer),
        ("Modality", r.by_modality),
        ("Place of service", r.by_place),
    ):
        story += _service_table(title, lines)
    return story


def _goals_story(r: ProgramReport, st: dict[str, ParagraphStyle]) -> list:
    """Goals set and achieved per life area, and the paired BARC-10 change."""
    rows = [["Life area", "Goals set", "Goals achieved"]]
    rows += [[g.domain, str(g.set), str(g.achieved)] for g in r.goals]
    n, first, latest, change = r.barc.shown
    return [
        Paragraph("Recovery goals", st["h2"]),
        bar_chart(
            "Goals achieved by life area",
            [g.domain for g in r.goals],
            [g.achieved for g in r.goals],
        ),
        _table(rows, [2.4 * inch, 1.2 * inch, 1.2 * inch]),
        Paragraph("BARC-10: first and latest total (paired)", st["h2"]),
        _table(
            [
                ["People with two or more", "Mean first", "Mean latest", "Mean change"],
                [n, first or "-", latest or "-", change or "-"],
            ],
            [1.7 * inch, 1.2 * inch, 1.2 * inch, 1.2 * inch],
        ),
    ]
