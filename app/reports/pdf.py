"""The one PDF page set-up every report shares (reportlab; no Qt): US Letter, the
margins, metadata that names PeerTrail and never a person, and the page footer
("Page n of m") of :func:`build_numbered`."""

from __future__ import annotations

from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.units import inch
from reportlab.pdfgen import canvas
from reportlab.platypus import SimpleDocTemplate

FOOTER_GREY = colors.HexColor("#4a585c")


def document(
    target: Any,
    title: str,
    subject: str = "",
    side: float = 0.7 * inch,
    top: float = 0.7 * inch,
    bottom: float = 0.7 * inch,
) -> SimpleDocTemplate:
    """A Letter document writing to ``target`` (a file object or bytes buffer)."""
    meta: dict[str, str] = {"title": title, "author": "PeerTrail"}
    if subject:
        meta["subject"] = subject
    return SimpleDocTemplate(
        target,
        pagesize=LETTER,
        leftMargin=side,
        rightMargin=side,
        topMargin=top,
        bottomMargin=bottom,
        **meta,
    )


class _NumberedCanvas(canvas.Canvas):
    """A canvas that holds its pages until the end, so each can say "Page n of m"."""

    footer_left = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self._footer(total)
            super().showPage()
        super().save()

    def _footer(self, total: int) -> None:
        width, _height = self._pagesize
        self.saveState()
        self.setFont("Helvetica", 8)
        self.setFillColor(FOOTER_GREY)
        y = 0.4 * inch
        if self.footer_left:
            self.drawString(0.7 * inch, y, self.footer_left)
        self.drawRightString(width - 0.7 * inch, y, f"Page {self._pageNumber} of {total}")
        self.restoreState()


def build_numbered(doc: SimpleDocTemplate, story: list[Any], footer: str = "") -> None:
    """Build ``story`` into ``doc`` with "Page n of m" at the foot of every page
    (and ``footer`` at the left: the report's name, never a person's)."""
    maker = type("NumberedCanvas", (_NumberedCanvas,), {"footer_left": footer})
    doc.build(story, canvasmaker=maker)
