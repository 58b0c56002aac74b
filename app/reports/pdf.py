"""The one PDF page set-up every report shares (reportlab; no Qt): US Letter, the
margins, and metadata that names PeerTrail and never a person."""

from __future__ import annotations

from typing import Any

from reportlab.lib.pagesizes import LETTER
from reportlab.lib.units import inch
from reportlab.platypus import SimpleDocTemplate


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
