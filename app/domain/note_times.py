"""Times on a service note, without Qt: reading a typed time with an explicit AM/PM
choice (so "3:00" is never silently 3:00 AM), guessing the likelier half of the day
for the AM/PM control, the questions asked before an unusual time or a long service
is signed, and the one-line summary of a service shown above the narrative.

The editor (app/ui/notes) shows what these functions decide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta

from app.domain.datetext import clock_text
from app.domain.datetext import day_text
from app.domain.records import minutes_between

AM, PM = "AM", "PM"

_TIME_RE = re.compile(
    r"^\s*(?P<h>\d{1,2})(?:(?::|\.|h)?(?P<m>\d{2}))?\s*(?P<ampm>[ap]\.?\s*m?\.?)?\s*\Z",
    re.IGNORECASE,
)

TIME_HINT = "Enter a time such as 9:30, 14:05 or 2:05 PM"


@dataclass(frozen=True, slots=True)
class TimePolicy:
    """What counts as usual: the specialist's working hours and the longest
    service that is signed without a question; a timer left running longer than
    ``stale_timer_hours`` asks what happened."""

    day_starts: time = time(7, 0)
    day_ends: time = time(21, 0)
    longest_minutes: int = 4 * 60
    stale_timer_hours: int = 8


DEFAULT_POLICY = TimePolicy()
#: The limits a person can set for the longest service signed without a question.
LONGEST_RANGE = (15, 16 * 60)


def policy_problem(policy: TimePolicy) -> str:
    """Why ``policy`` cannot be a specialist's usual hours ("" when it can)."""
    if policy.day_starts >= policy.day_ends:
        return "Usual hours end after they start."
    low, high = LONGEST_RANGE
    if not low <= policy.longest_minutes <= high:
        return f"The longest service is between {low} minutes and {high // 60} hours."
    return ""


def policy_to_json(policy: TimePolicy) -> dict[str, object]:
    return {
        "day_starts": policy.day_starts.strftime("%H:%M"),
        "day_ends": policy.day_ends.strftime("%H:%M"),
        "longest_minutes": policy.longest_minutes,
    }


def policy_from_json(data: object) -> TimePolicy:
    """The policy kept as JSON; :data:`DEFAULT_POLICY`'s values for anything missing
    or unreadable (a damaged value never stops a note from being written)."""
    if not isinstance(data, dict):
        return DEFAULT_POLICY
    try:
        policy = TimePolicy(
            day_starts=time.fromisoformat(str(data.get("day_starts", "07:00"))),
            day_ends=time.fromisoformat(str(data.get("day_ends", "21:00"))),
            longest_minutes=int(data.get("longest_minutes", DEFAULT_POLICY.longest_minutes)),
        )
    except (TypeError, ValueError):
        return DEFAULT_POLICY
    return DEFAULT_POLICY if policy_problem(policy) else policy


def meridiem_in(text: str) -> str:
    """ "AM" or "PM" when ``text`` says which ("2pm", "2:05 p.m."), else ""."""
    m = _TIME_RE.match(text or "")
    if not m or not m["ampm"]:
        return ""
    return PM if m["ampm"].lower().startswith("p") else AM


def typed_hour(text: str) -> int | None:
    """The hour as typed (before AM/PM is applied), None when unreadable."""
    m = _TIME_RE.match(text or "")
    return int(m["h"]) if m else None


def parse_time(text: str, meridiem: str = "") -> time | None:
    """A time of day as people type it: "9:30", "0930", "14:05", "2:05 pm", "2pm".
    A 12-hour time without AM or PM in the text takes ``meridiem`` (the AM/PM
    control); without one it is read as typed (24-hour). Empty text is None.
    Raises ValueError with :data:`TIME_HINT`."""
    if not (text or "").strip():
        return None
    m = _TIME_RE.match(text)
    if not m:
        raise ValueError(TIME_HINT)
    hour, minute = int(m["h"]), int(m["m"] or 0)
    ampm = (m["ampm"] or "").lower()[:1] or meridiem.lower()[:1]
    if ampm and 1 <= hour <= 12:
        hour = hour % 12 + (12 if ampm == "p" else 0)
    elif m["ampm"]:  # "13 pm", "0 am"
        raise ValueError(TIME_HINT)
    if hour > 23 or minute > 59:
        raise ValueError(TIME_HINT)
    return time(hour, minute)


def guess_meridiem(text: str, after: time | None = None, longest: int = 8 * 60) -> str:
    """The AM/PM the control proposes for a 12-hour time typed without one. For an
    end time: the start's half when that puts it after ``after`` (the start), else
    the other half when the service is then at most ``longest`` minutes (11:30 AM to
    "1:15" is 1:15 PM), else the start's half (and the times are marked wrong). For
    a start: the working day's likelier half (7–11 in the morning, 12 and 1–6 in the
    afternoon). "" when the text already says, or is a 24-hour time (0 or 13–23)."""
    hour = typed_hour(text)
    if hour is None or meridiem_in(text) or not 1 <= hour <= 12:
        return ""
    if after is None:
        return AM if 7 <= hour <= 11 else PM
    same = meridiem_of(after)
    other = PM if same == AM else AM
    for half in (same, other):
        t = parse_time(text, half)
        if t is not None and 0 < minutes_between(after, t) <= longest:
            return half
    return same


def meridiem_of(t: time | None) -> str:
    return "" if t is None else (PM if t.hour >= 12 else AM)


def time_text(t: time | None, twelve_hour: bool = True, with_meridiem: bool = True) -> str:
    """ "2:05 PM" (or "2:05" beside an AM/PM control), or "14:05" in 24-hour time."""
    if t is None:
        return ""
    if not twelve_hour:
        return f"{t.hour:02d}:{t.minute:02d}"
    text = clock_text(t)
    return text if with_meridiem else text.rsplit(" ", 1)[0]


def duration_text(minutes: int) -> str:
    """ "45 min", "2 h", "9 h 5 min"."""
    h, m = divmod(max(0, minutes), 60)
    if not h:
        return f"{m} min"
    return f"{h} h {m} min" if m else f"{h} h"


def time_questions(
    start: time | None, end: time | None, policy: TimePolicy = DEFAULT_POLICY
) -> list[str]:
    """What to ask before a note with these times is signed: a time outside the
    usual hours, a service longer than the policy's limit."""
    out = []
    outside = [
        t for t in (start, end) if t is not None and not policy.day_starts <= t <= policy.day_ends
    ]
    if outside:
        what = (
            f"The service ({span_text(start, end)})"
            if len(outside) == 2
            else clock_text(outside[0])
        )
        out.append(
            f"{what} is outside your usual hours "
            f"({clock_text(policy.day_starts)}–{clock_text(policy.day_ends)})"
        )
    if start is not None and end is not None:
        minutes = minutes_between(start, end)
        if minutes > policy.longest_minutes:
            out.append(
                f"The service lasted {duration_text(minutes)}, longer than "
                f"{duration_text(policy.longest_minutes)}"
            )
    return out


def timer_is_stale(started: datetime, now: datetime, policy: TimePolicy = DEFAULT_POLICY) -> bool:
    """A timer still running from another day, or for longer than the policy allows."""
    return started.date() != now.date() or now - started > timedelta(hours=policy.stale_timer_hours)


def span_text(start: time | None, end: time | None, twelve_hour: bool = True) -> str:
    """ "2:10–3:05 PM", "11:40 AM–12:20 PM", "2:10 PM–…", "" without times."""
    if start is None:
        return ""
    if end is None:
        return f"{time_text(start, twelve_hour)}–…"
    if twelve_hour and meridiem_of(start) == meridiem_of(end):
        return f"{time_text(start, True, False)}–{time_text(end)}"
    return f"{time_text(start, twelve_hour)}–{time_text(end, twelve_hour)}"


def when_text(service_date: date, today: date) -> str:
    if service_date == today:
        return "Today"
    if service_date == today - timedelta(days=1):
        return "Yesterday"
    return day_text(service_date)


def summary_line(parts: list[str]) -> str:
    """The service in one line: "Today 2:10–3:05 PM · In person · Office · H0038 · 4 units"."""
    return " · ".join(p for p in parts if p)
