"""app.domain.datetext: the one place dates and times are written for people."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

from app.domain import datetext as dt
from app.domain.note_form import format_clock_time


def test_days():
    d = date(2025, 3, 4)
    assert dt.day_text(d) == "Mar 4, 2025"
    assert dt.day_text(None) == ""
    assert dt.month_day_text(d) == "Mar 4"
    assert dt.weekday_text(d) == "Tue Mar 4"
    assert dt.short_day_text(d, date(2025, 12, 31)) == "Mar 4"
    assert dt.short_day_text(d, date(2026, 1, 1)) == "Mar 4, 2025"
    assert dt.iso_day_text("2026-11-02") == "Nov 2, 2026"
    assert dt.iso_day_text("not a day") == "not a day"


def test_clock_times():
    assert dt.clock_text(time(0, 5)) == "12:05 AM"
    assert dt.clock_text(time(12, 0)) == "12:00 PM"
    assert dt.clock_text(time(21, 30)) == "9:30 PM"
    assert dt.clock_text(None) == ""
    assert format_clock_time is dt.clock_text  # the editor's name for the same function


def test_moments_are_shown_in_local_time_unless_asked_not_to():
    naive = datetime(2025, 3, 4, 14, 5)
    assert dt.moment_text(naive) == "Mar 4, 2025 14:05"
    assert dt.moment_text(naive, twelve_hour=True) == "Mar 4, 2025 at 2:05 PM"
    assert dt.moment_text(None) == ""
    aware = datetime(2025, 3, 4, 23, 30, tzinfo=UTC)
    assert dt.moment_text(aware, in_local_time=False) == "Mar 4, 2025 23:30"
    assert dt.moment_text(aware) == dt.moment_text(aware.astimezone().replace(tzinfo=None))
    east = aware.astimezone(timezone(timedelta(hours=5)))
    assert dt.moment_text(east, in_local_time=False) == "Mar 5, 2025 04:30"
