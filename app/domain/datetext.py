"""Dates and times as people read them, written once for every screen, report and
export: "Mar 4, 2025", "Mon Mar 4", "9:05 AM", "Mar 4, 2025 14:05". Pure Python
(no Qt), so the services and the reports use the same texts as the screens.

Moments (``datetime``) stored in UTC are shown in the computer's local time; a
naive ``datetime`` is taken as already local.
"""

from __future__ import annotations

from datetime import date, datetime, time


def day_text(d: date | None) -> str:
    """'Mar 4, 2025'; '' for no date."""
    return f"{d:%b} {d.day}, {d.year}" if d is not None else ""


def month_day_text(d: date) -> str:
    """'Mar 4' (a week in a chart, a date in this year's list)."""
    return f"{d:%b} {d.day}"


def short_day_text(d: date, today: date) -> str:
    """'Mar 4' in this year, 'Mar 4, 2024' in another."""
    return month_day_text(d) if d.year == today.year else day_text(d)


def weekday_text(d: date) -> str:
    """'Mon Mar 4'."""
    return f"{d:%a} {d:%b} {d.day}"


def iso_day_text(iso: str) -> str:
    """'Nov 2, 2026' from '2026-11-02'; what cannot be read is returned as it is."""
    try:
        return day_text(datetime.fromisoformat(iso).date())
    except ValueError:
        return iso


def clock_text(t: time | None) -> str:
    """'9:05 AM'; '' for no time."""
    if t is None:
        return ""
    hour = t.hour % 12 or 12
    return f"{hour}:{t.minute:02d} {'AM' if t.hour < 12 else 'PM'}"


def local(dt: datetime) -> datetime:
    """A stored moment in local time (a naive one is already local)."""
    return dt.astimezone() if dt.tzinfo is not None else dt


def moment_text(dt: datetime | None, twelve_hour: bool = False, in_local_time: bool = True) -> str:
    """'Mar 4, 2025 14:05', or with ``twelve_hour`` 'Mar 4, 2025 at 2:05 PM'; in
    local time unless ``in_local_time`` is False; '' for no moment."""
    if dt is None:
        return ""
    at = local(dt) if in_local_time else dt
    if twelve_hour:
        return f"{day_text(at.date())} at {clock_text(at.time())}"
    return f"{day_text(at.date())} {at:%H:%M}"
