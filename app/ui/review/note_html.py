"""A note to review as reading text (HTML with its style sheet): the service, the
narrative, addenda and earlier review comments.
"""

from __future__ import annotations

import html

from app.domain.datetext import count_text
from app.domain.datetext import day_text
from app.domain.datetext import duration_text
from app.domain.datetext import moment_text
from app.domain.datetext import time_range_text
from app.domain.lifecycle import NARRATIVE_FIELDS
from app.domain.lifecycle import NARRATIVE_LABELS
from app.services import review


def note_html(rn: review.ReviewNote) -> str:
    """The reading pane's document (every value escaped)."""
    n = rn.note
    e = html.escape
    when = day_text(n.service_date)
    if n.start_time and n.end_time:
        when += ", " + time_range_text(n.start_time, n.end_time)
    units = count_text(rn.units, "unit", "units")
    parts = [
        f"<h2>{e(rn.participant_name)}</h2>",
        f"<p class='meta'>{e(when)} · {duration_text(rn.minutes)} · {units} "
        f"({e(n.service_code)}{' ' + e(' '.join(n.modifiers)) if n.modifiers else ''})<br>"
        f"{e(str(n.modality).capitalize())}, {e(str(n.setting))}"
        f"{f' (group of {n.group_size})' if n.group_size else ''}"
        f"{' · ' + e(n.location_note) if n.location_note else ''}<br>"
        f"Written by {e(rn.specialist_name)}"
        + (f", signed {moment_text(n.signed_at)}" if n.signed_at else "")
        + "</p>",
    ]
    if not rn.signature_intact:
        parts.append(
            "<p class='warn'><b>The note's content no longer matches what its author signed.</b> "
            "It cannot be approved; ask the specialist to check it.</p>"
        )
    if n.review_comment and str(n.status) != "signed":
        parts.append(f"<p class='comment'><b>Review comment:</b> {e(n.review_comment)}</p>")
    parts.append("<h3>Goals worked on</h3><ul>")
    for g in rn.goals:
        parts.append(f"<li><b>{e(str(g.domain))}:</b> {e(g.statement)}</li>")
    if rn.missing_goals:
        missing = count_text(rn.missing_goals, "goal", "goals")
        parts.append(f"<li><i>{missing} not in this vault</i></li>")
    if not rn.goals and not rn.missing_goals:
        parts.append("<li><i>No goal chosen</i></li>")
    parts.append("</ul>")
    parts.append(f"<h3>Note ({e(str(n.note_format))})</h3>")
    for f in NARRATIVE_FIELDS[n.note_format]:
        text = e(getattr(n, f)).replace("\n", "<br>")
        parts.append(f"<p><b>{e(NARRATIVE_LABELS[f])}.</b> {text}</p>")
    if rn.addenda:
        parts.append("<h3>Addenda</h3>")
        for a, author in rn.addenda:
            parts.append(
                f"<p class='addendum'><b>{e(a.reason)}</b> — {e(author)}, "
                f"{moment_text(a.written_at)}<br>{e(a.text)}</p>"
            )
    return "\n".join(parts)


READING_CSS = """
h2 { color: #173b3f; margin: 0 0 2px 0; font-size: large; }
h3 { color: #173b3f; margin: 10px 0 2px 0; font-size: medium; }
p { margin: 0 0 6px 0; }
ul { margin: 0 0 4px 0; }
p.meta { color: #3a4a4f; font-size: small; }
p.warn { color: #8a1c1c; }
p.comment { background: #fff6e0; }
p.addendum { background: #f4f7f2; }
"""
