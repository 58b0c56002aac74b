"""app.domain.datetext: the one place dates, times, durations and counts are written
for people, in the system's locale (US English by default)."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from datetime import timezone

import pytest

from app.domain import datetext as dt
from app.domain.note_form import format_clock_time


@pytest.fixture(autouse=True)
def us_english():
    dt.set_locale("en_US")
    yield
    dt.set_locale(None)


def test_days():
    d = date(2025, 3, 4)
    assert dt.day_text(d) == "Mar 4, 2025"
    assert dt.day_text(None) == ""
    assert dt.month_day_text(d) == "Mar 4"
    assert dt.weekday_text(d) == "Tue, Mar 4"
    assert dt.month_year_text(d) == "Mar 2025"
    assert dt.long_month_year_text(d) == "March 2025"
    assert dt.short_day_text(d, date(2025, 12, 31)) == "Mar 4"
    assert dt.short_day_text(d, date(2026, 1, 1)) == "Mar 4, 2025"
    assert dt.iso_day_text("2026-11-02") == "Nov 2, 2026"
    assert dt.iso_day_text("not a day") == "not a day"


def test_day_ranges_say_a_month_or_year_once():
    assert dt.day_range_text(date(2025, 3, 3), date(2025, 3, 9)) == "Mar 3 – 9, 2025"
    assert dt.day_range_text(date(2025, 2, 24), date(2025, 3, 2)) == "Feb 24 – Mar 2, 2025"
    assert dt.day_range_text(date(2025, 12, 29), date(2026, 1, 4)) == "Dec 29, 2025 – Jan 4, 2026"
    assert dt.day_range_text(date(2025, 3, 3), date(2025, 3, 3)) == "Mar 3, 2025"


def test_clock_times():
    assert dt.clock_text(time(0, 5)) == "12:05 AM"
    assert dt.clock_text(time(12, 0)) == "12:00 PM"
    assert dt.clock_text(time(21, 30, 59)) == "9:30 PM"  # seconds are never shown
    assert dt.clock_text(None) == ""
    assert dt.time_range_text(time(8, 15), time(9, 45)) == "8:15 AM – 9:45 AM"
    assert dt.time_range_text(time(8, 15), None) == "8:15 AM"
    assert not dt.uses_24_hour()
    assert format_clock_time is dt.clock_text  # the editor's name for the same function


def test_moments_are_shown_in_local_time_unless_asked_not_to():
    naive = datetime(2025, 3, 4, 14, 5)
    assert dt.moment_text(naive) == "Mar 4, 2025, 2:05 PM"
    assert dt.moment_text(None) == ""
    aware = datetime(2025, 3, 4, 23, 30, tzinfo=UTC)
    assert dt.moment_text(aware, in_local_time=False) == "Mar 4, 2025, 11:30 PM"
    assert dt.moment_text(aware) == dt.moment_text(aware.astimezone().replace(tzinfo=None))
    east = aware.astimezone(timezone(timedelta(hours=5)))
    assert dt.moment_text(east, in_local_time=False) == "Mar 5, 2025, 4:30 AM"


def test_durations_one_way():
    assert dt.duration_text(1076) == "17 h 56 min"
    assert dt.duration_text(45) == "45 min"
    assert dt.duration_text(120) == "2 h"
    assert dt.duration_text(0) == "0 min"
    assert dt.duration_text(None) == ""
    assert dt.duration_text(90_000) == "1,500 h"
    assert dt.duration_text(-90) == "-1 h 30 min"
    assert dt.whole_hours_text(89_999) == "1,499 h"


def test_counts_have_correct_plurals():
    assert dt.count_text(1, "service", "services") == "1 service"
    assert dt.count_text(2, "service", "services") == "2 services"
    assert dt.count_text(0, "batch", "batches") == "0 batches"
    assert dt.count_text(1500, "unit", "units") == "1,500 units"
    assert dt.number_text(1234.56, 1) == "1,234.6"


def test_other_locales_write_their_own_way():
    dt.set_locale("de_DE")
    assert dt.day_text(date(2025, 3, 4)) == "04.03.2025"
    assert dt.clock_text(time(21, 5)) == "21:05"
    assert dt.uses_24_hour()
    assert dt.duration_text(90_030) == "1.500 h 30 min"
    assert dt.moment_text(datetime(2025, 3, 4, 14, 5)) == "04.03.2025, 14:05"
    dt.set_locale("en_GB")
    assert dt.day_text(date(2025, 3, 4)) == "4 Mar 2025"
    assert dt.clock_text(time(21, 5)) == "21:05"
    dt.set_locale("fr-CA.UTF-8")
    assert dt.current_locale().language == "fr"


def test_the_locale_comes_from_the_environment_with_us_english_for_c(monkeypatch):
    dt.set_locale(None)
    for var in ("LC_ALL", "LC_TIME", "LANG", "LANGUAGE", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    assert str(dt.current_locale()) == "en_US"
    monkeypatch.setenv("LC_TIME", "de_DE.UTF-8")
    assert dt.clock_text(time(21, 5)) == "21:05"
    assert str(dt.set_locale("xx_not_a_locale")) == "de_DE"  # unknown: the environment's


def test_the_packed_duration_of_a_timesheet_reads_the_same_way():
    assert dt.short_duration_text(1076) == "17h 56m"
    assert dt.short_duration_text(45) == "45m"
    assert dt.short_duration_text(120) == "2h"
    assert dt.short_duration_text(0) == "0m"


def test_the_clock_duration_of_a_narrow_timesheet():
    assert dt.clock_duration_text(1076) == "17:56"
    assert dt.clock_duration_text(45) == "0:45"
    assert dt.clock_duration_text(120) == "2:00"
    assert dt.clock_duration_text(0) == "0:00"
    assert dt.clock_duration_text(90_000) == "1,500:00"
    assert dt.clock_duration_text(-65) == "-1:05"


def test_screens_and_reports_write_no_dates_or_counts_of_their_own():
    """Dates, times and hours go through this module; counts say '1 service' and
    '2 services', never 'service(s)'; US English. (The note editor and the billing
    dialog are checked by their own owners.)"""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "app"
    skip = ("ui/notes/", "ui/billing/")
    bad = re.compile(r"strftime\(|%H:%M|:%02d|organis")
    maybe_plural = re.compile(r"\w\((?:s|es)\)[\s\"',.]")
    found = []
    for path in [*root.glob("ui/**/*.py"), *root.glob("reports/*.py"), *root.glob("services/*.py")]:
        rel = path.relative_to(root).as_posix()
        if rel.startswith(skip):
            continue
        if rel == "ui/common/text.py":  # (it states the rule)
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            m = maybe_plural.search(line)
            # "(s)" counts only inside a string (an odd number of quotes before it)
            if bad.search(line) or (m and line[: m.start()].count('"') % 2):
                found.append(f"{rel}:{n}: {line.strip()}")
    assert not found, "\n".join(found)
