"""Dates, times, durations and counts as people read them, written once for every
screen, report and export, in the computer's locale (US English by default):
"Mar 4, 2025", "Tue, Mar 4", "9:05 AM", "8:15 AM – 9:45 AM", "Mar 4, 2025, 2:05 PM",
"17 h 56 min", "1,500 h". Pure Python (no Qt): the formats come from the Unicode
CLDR through Babel, so "de_DE" gets "04.03.2025" and "09:05" without a line of
German here. The services and the reports use the same texts as the screens.

The locale is the one :func:`set_locale` was given (the desktop app passes the
system's), else the environment's (LC_ALL, LC_TIME, LANG), else US English; "C"
and "POSIX" count as US English.

Moments (``datetime``) stored in UTC are shown in the computer's local time; a
naive ``datetime`` is taken as already local.
"""

from __future__ import annotations

import math
from datetime import date
from datetime import datetime
from datetime import time

from babel import Locale
from babel import UnknownLocaleError
from babel import dates as bdates
from babel import default_locale
from babel import numbers as bnumbers

DEFAULT_LOCALE = "en_US"
_locale: Locale | None = None


def _parse(name: str | None) -> Locale | None:
    if not name:
        return None
    base = name.split(".")[0].split("@")[0].replace("-", "_")
    if base.upper() in ("C", "POSIX", "EN_US_POSIX"):
        base = DEFAULT_LOCALE
    try:
        return Locale.parse(base)
    except (UnknownLocaleError, ValueError):
        return None


def set_locale(name: str | None) -> Locale:
    """Write every text in this locale from now on ("en_US", "de-DE", "fr_CA.UTF-8");
    ``None`` or an unknown name goes back to the environment's (or US English)."""
    global _locale
    _locale = _parse(name)
    return current_locale()


def current_locale() -> Locale:
    """The locale texts are written in (see the module's docstring)."""
    if _locale is not None:
        return _locale
    found = _parse(default_locale(("LC_ALL", "LC_TIME", "LANG")))
    return found or Locale.parse(DEFAULT_LOCALE)


def _clean(text: str) -> str:
    """CLDR puts narrow no-break and thin spaces before AM/PM and around range dashes;
    a plain space reads the same and types the same."""
    return text.replace("\u202f", " ").replace("\u2009", " ")


# -- dates ----------------------------------------------------------------------------------


def day_text(d: date | None) -> str:
    """'Mar 4, 2025'; '' for no date."""
    if d is None:
        return ""
    return _clean(bdates.format_date(d, "medium", locale=current_locale()))


def month_day_text(d: date) -> str:
    """'Mar 4' (a week in a chart, a date in this year's list)."""
    return _clean(bdates.format_skeleton("MMMd", d, locale=current_locale()))


def month_year_text(d: date) -> str:
    """'Mar 2025' (an axis of months); 'March 2025' with ``long``."""
    return _clean(bdates.format_skeleton("yMMM", d, locale=current_locale()))


def long_month_year_text(d: date) -> str:
    """'March 2025' (the month a report covers)."""
    return _clean(bdates.format_skeleton("yMMMM", d, locale=current_locale()))


def short_day_text(d: date, today: date) -> str:
    """'Mar 4' in this year, 'Mar 4, 2024' in another."""
    return month_day_text(d) if d.year == today.year else day_text(d)


def weekday_text(d: date) -> str:
    """'Tue, Mar 4'."""
    return _clean(bdates.format_skeleton("MMMEd", d, locale=current_locale()))


def day_range_text(first: date, last: date) -> str:
    """'Mar 3 – 9, 2025', 'Feb 24 – Mar 2, 2025', 'Dec 29, 2025 – Jan 4, 2026'."""
    if first == last:
        return day_text(first)
    return _clean(bdates.format_interval(first, last, "yMMMd", locale=current_locale()))


def iso_day_text(iso: str) -> str:
    """'Nov 2, 2026' from '2026-11-02'; what cannot be read is returned as it is."""
    try:
        return day_text(datetime.fromisoformat(iso).date())
    except ValueError:
        return iso


def date_pattern() -> str:
    """The locale's medium date pattern in CLDR letters ('MMM d, y'): what a date
    box shows, so it reads like every other date."""
    return str(current_locale().date_formats["medium"].pattern)


def skeleton_pattern(skeleton: str) -> str:
    """The locale's pattern for a CLDR skeleton ('yMMMM' -> 'MMMM y', 'yMMMEd' ->
    'E, MMM d, y'), for date boxes that show a month or a weekday."""
    return str(current_locale().datetime_skeletons[skeleton].pattern)


def uses_24_hour() -> bool:
    """Whether the locale writes times on a 24-hour clock (no AM/PM)."""
    return "a" not in str(current_locale().time_formats["short"].pattern)


# -- times ----------------------------------------------------------------------------------


def clock_text(t: time | None) -> str:
    """'9:05 AM' (or '09:05' where the locale uses a 24-hour clock); '' for no time."""
    if t is None:
        return ""
    plain = time(t.hour, t.minute)
    return _clean(bdates.format_time(plain, "short", locale=current_locale()))


def time_range_text(start: time | None, end: time | None) -> str:
    """'8:15 AM – 9:45 AM'; one end alone when the other is not known yet."""
    if start is None or end is None:
        return clock_text(start or end)
    return f"{clock_text(start)} – {clock_text(end)}"


def local(dt: datetime) -> datetime:
    """A stored moment in local time (a naive one is already local)."""
    return dt.astimezone() if dt.tzinfo is not None else dt


def moment_text(dt: datetime | None, twelve_hour: bool = True, in_local_time: bool = True) -> str:
    """'Mar 4, 2025, 2:05 PM': the date and the time as the locale joins them, in
    local time unless ``in_local_time`` is False; '' for no moment. (``twelve_hour``
    is kept for old callers: the locale decides the clock.)"""
    del twelve_hour
    if dt is None:
        return ""
    at = local(dt) if in_local_time else dt
    joined = str(current_locale().datetime_formats["medium"])
    return joined.replace("{1}", day_text(at.date())).replace("{0}", clock_text(at.time()))


# -- numbers, durations and counts ----------------------------------------------------------


def number_text(value: float, decimals: int = 0) -> str:
    """'1,234' or '1,234.5' (the locale's separators)."""
    if decimals == 0:
        return bnumbers.format_decimal(round(value), locale=current_locale())
    pattern = "#,##0." + "0" * decimals
    return bnumbers.format_decimal(value, format=pattern, locale=current_locale())


def duration_text(minutes: int | None) -> str:
    """How long, the one way every screen and report writes it: '17 h 56 min',
    '45 min', '2 h', '1,500 h'; '0 min' for zero, '' for not known."""
    if minutes is None:
        return ""
    sign = "-" if minutes < 0 else ""
    hours, rest = divmod(abs(int(minutes)), 60)
    parts = []
    if hours:
        parts.append(f"{number_text(hours)} h")
    if rest or not hours:
        parts.append(f"{rest} min")
    return sign + " ".join(parts)


def short_duration_text(minutes: int) -> str:
    """The same reading, packed for a grid of figures (the week's timesheet):
    '17h 56m', '45m', '2h'."""
    return duration_text(minutes).replace(" h", "h").replace(" min", "m")


def clock_duration_text(minutes: int) -> str:
    """The narrowest reading, hours and minutes as on a timesheet, for a grid on a
    narrow window: '17:56', '0:45', '2:00', '1,500:00'."""
    sign = "-" if minutes < 0 else ""
    hours, rest = divmod(abs(int(minutes)), 60)
    return f"{sign}{number_text(hours)}:{rest:02d}"


def whole_hours_text(minutes: int) -> str:
    """'1,500 h': a target or a requirement counted in whole hours (rounded down)."""
    return f"{number_text(math.floor(minutes / 60))} h"


def count_text(n: int, one: str, many: str) -> str:
    """'1 service', '2 services' (for texts outside the screens; the screens use
    Qt's tr() with %n, see app.ui.common.text)."""
    return f"{number_text(n)} {one if n == 1 else many}"
