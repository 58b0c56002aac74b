"""The oversight PDF read back with pypdf, by position: every page says "Page n of
m", numbers are right-aligned (their right edges line up), every table spans the
same width, values read as words, and times are local, never "UTC"."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from io import BytesIO

import pytest
from pypdf import PdfReader
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.units import inch
from reportlab.pdfbase.pdfmetrics import stringWidth

from app.domain import datetext
from app.domain import supervision as sv
from app.reports.oversight import EncounterLine
from app.reports.oversight import OversightMonth
from app.reports.oversight import SessionLine
from app.reports.oversight import render_pdf

RIGHT_EDGE = LETTER[0] - 0.7 * inch - 5  # the text's right margin less the cell padding


@pytest.fixture(autouse=True)
def us_english():
    datetext.set_locale("en_US")
    yield
    datetext.set_locale(None)


def month(services: int = 70, **kw) -> OversightMonth:
    """Quorra Vantablack's February 2026 with ``services`` services, two supervision
    sessions and three overdue days; ``kw``: other OversightMonth fields."""
    first = date(2026, 2, 1)
    lines = tuple(
        EncounterLine(
            first + timedelta(days=i % 28),
            "QV" if i % 2 else "TR",
            "telehealth audio-only" if i % 3 == 0 else "in person",
            15 + (i * 7) % 120,
            1 + (i * 5) % 14,  # one and two digits
            ("approved", "signed", "billed", "returned")[i % 4],
            i % 6,
            i % 6 > 3,
        )
        for i in range(services)
    )
    fields = dict(
        agency="Invented Agency",
        specialist="Quorra Vantablack",
        credential="CPSS I",
        supervisor="Ysolde Merriweather",
        year=2026,
        month=2,
        overdue_days=3,
        encounters=lines,
        hours={"direct service": 17.93, "supervision received": 1.0, "travel": 120.5},
        sessions=(
            SessionLine(
                date(2026, 2, 12), 60, "individual", "in person", ("ethics",), 2, True, False
            ),
            SessionLine(date(2026, 2, 26), 90, "group", "telehealth video", (), 11, True, True),
        ),
        outcomes=sv.review_outcomes(["approved", "signed", "returned"] * 5),
        generated_at=datetime(2026, 3, 1, 23, 30, tzinfo=UTC),
    )
    return OversightMonth(**{**fields, **kw})


def fragments(blob: bytes) -> list[tuple[int, str, float, float, float]]:
    """(page, text, x, y, font size) of every string drawn."""
    out: list[tuple[int, str, float, float, float]] = []
    for n, page in enumerate(PdfReader(BytesIO(blob)).pages):

        def visit(text, cm, tm, _font, size, n=n):
            if text.strip():
                x = tm[4] * cm[0] + cm[4]
                y = tm[5] * cm[3] + cm[5]
                out.append((n, text.strip(), x, y, size * tm[0]))

        page.extract_text(visitor_text=visit)
    return out


def right_edge(frag: tuple[int, str, float, float, float], bold: bool = False) -> float:
    font = "Helvetica-Bold" if bold else "Helvetica"
    return frag[2] + stringWidth(frag[1], font, frag[4])


def test_every_page_says_page_n_of_m():
    blob = render_pdf(month())
    pages = len(PdfReader(BytesIO(blob)).pages)
    assert pages >= 2
    footers = [f for f in fragments(blob) if f[1].startswith("Page ")]
    assert [f[1] for f in footers] == [f"Page {n} of {pages}" for n in range(1, pages + 1)]
    for f in footers:  # at the foot, right-aligned to the margin
        assert f[3] < 0.6 * inch
        assert right_edge(f) == pytest.approx(LETTER[0] - 0.7 * inch, abs=0.5)


def test_numbers_are_right_aligned_and_tables_share_one_width():
    m = month()
    frags = fragments(render_pdf(m))
    # the Units column of the services: each value's right edge on one line
    first_page = [f for f in frags if f[0] == 0]
    # each service row is drawn as date, initials, modality, time, units, ...
    rows = [
        i
        for i, f in enumerate(frags[:-4])
        if f[1].startswith("Feb ") and frags[i + 1][1] in ("QV", "TR")
    ]
    assert len(rows) == len(m.encounters)
    for column in (3, 4):  # time and units
        cells = [frags[i + column] for i in rows]
        edges = [right_edge(c) for c in cells]
        assert max(edges) - min(edges) < 0.6, column
        lefts = {round(c[2], 1) for c in cells}
        assert len(lefts) > 1, column  # (values of different widths: truly right-aligned)
    assert [frags[i + 4][1] for i in rows] == [str(e.units) for e in m.encounters]
    # right-aligned last columns of different tables end at the same x: one width
    void_header = next(f for f in first_page if f[1] == "Void")
    total_time = next(f for f in first_page if f[1] == "Time" and f[2] > 300)
    assert right_edge(void_header, bold=True) == pytest.approx(RIGHT_EDGE, abs=0.6)
    assert right_edge(total_time, bold=True) == pytest.approx(RIGHT_EDGE, abs=0.6)
    overdue_header = next(f for f in first_page if f[1] == "Overdue notes")
    assert right_edge(overdue_header, bold=True) == pytest.approx(RIGHT_EDGE, abs=0.6)
    # every table starts at the left margin
    for title in ("Kind of work", "Date"):  # (first columns that are not numbers)
        cell = next(f for f in first_page if f[1] == title)
        assert cell[2] == pytest.approx(0.7 * inch + 5, abs=0.6), title


def test_values_read_as_words_in_local_time():
    text = " ".join(f[1] for f in fragments(render_pdf(month())))
    assert "UTC" not in text
    assert "Waiting for review" in text and "Telehealth audio-only" in text
    cells = {f[1] for f in fragments(render_pdf(month()))}
    assert not cells & {"signed", "approved", "in person", "individual", "direct service"}
    assert {"Approved", "In person", "Individual", "Direct service", "Supervisor only"} <= cells
    assert "17 h 56 min" in text and "120 h 30 min" in text  # hours as every screen says
    assert "17.93" not in text
    assert "Feb 12, 2026" in text and "2026-02-12" not in text
    local = datetext.moment_text(datetime(2026, 3, 1, 23, 30, tzinfo=UTC))
    assert f"Prepared {local}" in text
    assert "1 session" not in text and "2 sessions" in text
