"""Hours: the weekly timesheet, the chart's weekly series, progress toward CPSS II and
continuing education toward recertification, and the checks on a time entry.

Plain Python over records; no Qt, no SQL. Weeks start on Monday.

Direct service comes from the specialist's notes, not from typed entries: a day's
direct-service time is the union of the day's note intervals, so a group session
written as six notes (one per person) is one block of the specialist's time, and
two notes that overlap by mistake are not counted twice. Void and deleted notes do
not count. Direct-service time entries that point at a note (the demo and older
vaults write them) are ignored in favour of the note itself; a direct-service
entry without a note (hours carried over from before PeerTrail) counts as typed.

The credential rules (hours toward CPSS II, the continuing-education hours a
recertification needs) are data: resources/codes/credentials.json, read into
:class:`CredentialRules` with :func:`rules_from_json`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import date
from datetime import time
from datetime import timedelta
from typing import Any

from app.domain.datetext import duration_text
from app.domain.records import NoteStatus
from app.domain.records import ServiceSetting
from app.domain.records import TimeCategory
from app.domain.records import TimeEntry
from app.domain.records import User

DAYS_IN_WEEK = 7
MINUTES_PER_DAY = 24 * 60
CHART_WEEKS = 12
MAX_MILES = 2000.0
MAX_TEXT = 200
MAX_NOTE = 1000

#: The timesheet's rows, in order.
SHEET_CATEGORIES: tuple[TimeCategory, ...] = (
    TimeCategory.DIRECT,
    TimeCategory.TRAVEL,
    TimeCategory.DOCUMENTATION,
    TimeCategory.TRAINING,
    TimeCategory.SUPERVISION,
    TimeCategory.OTHER,
)
#: What a person types in; direct service comes from notes.
EDITABLE_CATEGORIES: tuple[TimeCategory, ...] = SHEET_CATEGORIES[1:]


# -- weeks ------------------------------------------------------------------------------


def week_start(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def week_days(start: date) -> tuple[date, ...]:
    return tuple(start + timedelta(days=i) for i in range(DAYS_IN_WEEK))


# -- direct service from notes ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServiceSpan:
    """The part of a note the timesheet needs."""

    encounter_id: str
    participant_id: str
    service_date: date
    start: time | None
    end: time | None
    setting: ServiceSetting = ServiceSetting.INDIVIDUAL
    status: NoteStatus = NoteStatus.DRAFT

    @property
    def minutes(self) -> int:
        if self.start is None or self.end is None:
            return 0
        return max(0, _minute(self.end) - _minute(self.start))

    @property
    def counts(self) -> bool:
        return self.status is not NoteStatus.VOID


def _minute(t: time) -> int:
    return t.hour * 60 + t.minute


def direct_minutes_by_day(spans: Iterable[ServiceSpan]) -> dict[date, int]:
    """Minutes of direct service per day: the union of the day's note intervals."""
    by_day: dict[date, list[tuple[int, int]]] = {}
    for s in spans:
        if s.counts and s.minutes > 0:
            assert s.start is not None and s.end is not None
            by_day.setdefault(s.service_date, []).append((_minute(s.start), _minute(s.end)))
    return {day: _union_length(intervals) for day, intervals in by_day.items()}


def _union_length(intervals: list[tuple[int, int]]) -> int:
    total, cur_start, cur_end = 0, -1, -1
    for start, end in sorted(intervals):
        if start > cur_end:
            total += cur_end - cur_start
            cur_start, cur_end = start, end
        elif end > cur_end:
            cur_end = end
    return total + (cur_end - cur_start)


def counted_entries(entries: Iterable[TimeEntry]) -> list[TimeEntry]:
    """The entries that count: not deleted, and no direct-service entry that
    duplicates a note."""
    return [
        e
        for e in entries
        if not e.deleted and not (e.category is TimeCategory.DIRECT and e.encounter_id)
    ]


def minutes_by_day_and_category(
    spans: Iterable[ServiceSpan], entries: Iterable[TimeEntry]
) -> dict[tuple[date, TimeCategory], int]:
    out: dict[tuple[date, TimeCategory], int] = {}
    for day, minutes in direct_minutes_by_day(spans).items():
        out[(day, TimeCategory.DIRECT)] = minutes
    for e in counted_entries(entries):
        key = (e.entry_date, e.category)
        out[key] = out.get(key, 0) + e.minutes
    return out


# -- the week -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WeekSheet:
    """One week of hours: a row of seven day-values (minutes) per category."""

    start: date
    rows: Mapping[TimeCategory, tuple[int, ...]]
    entries: tuple[TimeEntry, ...]  # the typed entries of the week, by date
    services: tuple[ServiceSpan, ...]  # the week's notes that count, by date and time

    @property
    def days(self) -> tuple[date, ...]:
        return week_days(self.start)

    @property
    def end(self) -> date:
        return self.start + timedelta(days=DAYS_IN_WEEK - 1)

    def day_total(self, index: int) -> int:
        return sum(row[index] for row in self.rows.values())

    @property
    def day_totals(self) -> tuple[int, ...]:
        return tuple(self.day_total(i) for i in range(DAYS_IN_WEEK))

    def category_total(self, category: TimeCategory) -> int:
        return sum(self.rows[category])

    @property
    def total(self) -> int:
        return sum(self.day_totals)

    @property
    def miles(self) -> float:
        return round(sum(e.miles for e in self.entries if e.category is TimeCategory.TRAVEL), 1)


def build_week(
    start: date, spans: Iterable[ServiceSpan], entries: Iterable[TimeEntry]
) -> WeekSheet:
    """The timesheet of the week beginning ``start`` (a Monday)."""
    if start.weekday() != 0:
        raise ValueError("a week starts on a Monday")
    days = week_days(start)
    last = days[-1]
    week_spans = [s for s in spans if start <= s.service_date <= last and s.counts]
    week_entries = [e for e in counted_entries(entries) if start <= e.entry_date <= last]
    cells = minutes_by_day_and_category(week_spans, week_entries)
    rows = {cat: tuple(cells.get((d, cat), 0) for d in days) for cat in SHEET_CATEGORIES}
    week_entries.sort(key=lambda e: (e.entry_date, SHEET_CATEGORIES.index(e.category), e.id))
    week_spans.sort(key=lambda s: (s.service_date, s.start or time(0), s.encounter_id))
    return WeekSheet(start, rows, tuple(week_entries), tuple(week_spans))


# -- the chart ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WeekBar:
    start: date
    minutes: Mapping[TimeCategory, int]

    @property
    def total(self) -> int:
        return sum(self.minutes.values())


def weekly_series(
    last_week: date,
    spans: Iterable[ServiceSpan],
    entries: Iterable[TimeEntry],
    weeks: int = CHART_WEEKS,
) -> list[WeekBar]:
    """Minutes per category for ``weeks`` weeks ending with the week of ``last_week``,
    oldest first."""
    last = week_start(last_week)
    first = last - timedelta(weeks=weeks - 1)
    totals: dict[date, dict[TimeCategory, int]] = {
        first + timedelta(weeks=i): dict.fromkeys(SHEET_CATEGORIES, 0) for i in range(weeks)
    }
    end = last + timedelta(days=DAYS_IN_WEEK - 1)
    in_range = [s for s in spans if first <= s.service_date <= end]
    entries_in_range = [e for e in entries if first <= e.entry_date <= end]
    for (day, cat), minutes in minutes_by_day_and_category(in_range, entries_in_range).items():
        totals[week_start(day)][cat] += minutes
    return [WeekBar(start, minutes) for start, minutes in totals.items()]


# -- credentials ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CredentialRule:
    advance_to: str = ""  # the next level this credential works toward ("" none)
    advance_direct_hours: int = 0
    recert_years: int = 2
    ce_hours: float = 0.0
    ethics_hours: float = 0.0


@dataclass(frozen=True, slots=True)
class CredentialRules:
    default: CredentialRule = field(default_factory=CredentialRule)
    by_credential: Mapping[str, CredentialRule] = field(default_factory=dict)

    def for_credential(self, credential: str) -> CredentialRule:
        return self.by_credential.get(str(credential), self.default)


def rules_from_json(data: Mapping[str, Any]) -> CredentialRules:
    """Read the rules file's content (see resources/codes/credentials.json)."""

    def rule(raw: Mapping[str, Any], base: CredentialRule) -> CredentialRule:
        known = {f for f in CredentialRule.__dataclass_fields__}
        unknown = set(raw) - known - {"_comment"}
        if unknown:
            raise ValueError(f"unknown credential rule settings: {', '.join(sorted(unknown))}")
        values = {k: v for k, v in raw.items() if k in known}
        for k in ("advance_direct_hours", "recert_years"):
            if k in values and (not isinstance(values[k], int) or values[k] < 0):
                raise ValueError(f"{k} must be a whole number of zero or more")
        for k in ("ce_hours", "ethics_hours"):
            if k in values and (not isinstance(values[k], int | float) or values[k] < 0):
                raise ValueError(f"{k} must be a number of zero or more")
        return replace(base, **values)

    default = rule(data.get("default", {}), CredentialRule())
    by = {name: rule(raw, default) for name, raw in data.get("credentials", {}).items()}
    return CredentialRules(default, by)


@dataclass(frozen=True, slots=True)
class AdvanceProgress:
    """Direct-service hours toward the next credential (CPSS II in North Dakota)."""

    target: str  # "CPSS II"; "" when the credential has no next level here
    target_minutes: int
    done_minutes: int
    reached: bool  # the person already holds the target credential

    @property
    def fraction(self) -> float:
        if self.reached:
            return 1.0
        if not self.target_minutes:
            return 0.0
        return min(1.0, self.done_minutes / self.target_minutes)

    @property
    def remaining_minutes(self) -> int:
        return 0 if self.reached else max(0, self.target_minutes - self.done_minutes)


def advance_progress(
    user: User, direct_minutes_total: int, rules: CredentialRules
) -> AdvanceProgress:
    """Progress toward the next credential: every direct-service minute counts."""
    rule = rules.for_credential(user.credential)
    if rule.advance_to:
        return AdvanceProgress(
            rule.advance_to, rule.advance_direct_hours * 60, direct_minutes_total, False
        )
    # Already at the top level of a ladder (CPSS II): show the total, reached.
    for name, other in rules.by_credential.items():
        if other.advance_to == str(user.credential) and name:
            return AdvanceProgress(
                other.advance_to, other.advance_direct_hours * 60, direct_minutes_total, True
            )
    return AdvanceProgress("", 0, direct_minutes_total, False)


@dataclass(frozen=True, slots=True)
class CeProgress:
    """Continuing education in the current certification period."""

    period_start: date
    period_end: date | None  # None: the recertification date is not known
    required_minutes: int
    ethics_required_minutes: int
    minutes: int
    ethics_minutes: int
    courses: int
    without_evidence: int  # CE entries with no certificate or evidence recorded
    days_left: int | None  # until recertification; negative when past

    @property
    def fraction(self) -> float:
        if not self.required_minutes:
            return 1.0
        return min(1.0, self.minutes / self.required_minutes)

    @property
    def met(self) -> bool:
        return (
            self.minutes >= self.required_minutes
            and self.ethics_minutes >= self.ethics_required_minutes
        )

    @property
    def dates_known(self) -> bool:
        return self.period_end is not None


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _years_after(day: date, years: int) -> date:
    return _years_before(day, -years)


def ce_period(user: User, rule: CredentialRule, today: date) -> tuple[date, date | None]:
    """The certification period continuing education counts in.

    With a recertification date: the ``recert_years`` before it (not before the
    certification date). With only a certification date: the current cycle of
    ``recert_years`` counted from it. With neither: the last ``recert_years`` to
    today, end unknown."""
    years = max(1, rule.recert_years)
    if user.recertify_by is not None:
        start = _years_before(user.recertify_by, years)
        if user.certified_on is not None and start < user.certified_on <= user.recertify_by:
            start = user.certified_on
        return start, user.recertify_by
    if user.certified_on is not None:
        start = user.certified_on
        end = _years_after(start, years)
        while end < today:
            start, end = end, _years_after(end, years)
        return start, end
    return _years_before(today, years), None


def ce_progress(
    user: User, entries: Iterable[TimeEntry], rules: CredentialRules, today: date
) -> CeProgress:
    rule = rules.for_credential(user.credential)
    start, end = ce_period(user, rule, today)
    last = end or today
    ce = [
        e
        for e in entries
        if not e.deleted and e.category is TimeCategory.TRAINING and start <= e.entry_date <= last
    ]
    return CeProgress(
        period_start=start,
        period_end=end,
        required_minutes=round(rule.ce_hours * 60),
        ethics_required_minutes=round(rule.ethics_hours * 60),
        minutes=sum(e.minutes for e in ce),
        ethics_minutes=sum(e.minutes for e in ce if e.ce_is_ethics),
        courses=len(ce),
        without_evidence=sum(1 for e in ce if not e.ce_evidence.strip()),
        days_left=(end - today).days if end is not None else None,
    )


# -- numbers as people write them ------------------------------------------------------


_HM = re.compile(r"^(\d{1,2}):([0-5]\d)$")
_UNITS = re.compile(
    r"^(?:(\d+(?:[.,]\d+)?)\s*(?:h|hr|hrs|hour|hours))?\s*"
    r"(?:(\d+)\s*(?:m|min|mins|minute|minutes)?)?$"
)
_NUMBER = re.compile(r"^\d+(?:[.,]\d+)?$")


def parse_duration(text: str) -> int:
    """Minutes from what a person types: ``1:30``, ``1.5`` or ``1,5`` (hours),
    ``90m``, ``1h 30m``, ``2 hours``. Raises ValueError with a message to show."""
    s = text.strip().lower()
    if not s:
        raise ValueError("Enter how long, for example 1:30 or 45m.")
    if m := _HM.match(s):
        minutes = int(m.group(1)) * 60 + int(m.group(2))
    elif _NUMBER.match(s):
        minutes = round(float(s.replace(",", ".")) * 60)
    elif (m := _UNITS.match(s)) and (m.group(1) or m.group(2)):
        hours = float(m.group(1).replace(",", ".")) if m.group(1) else 0.0
        minutes = round(hours * 60) + int(m.group(2) or 0)
    else:
        raise ValueError("Write the time as hours and minutes, for example 1:30, 1.5 or 45m.")
    if minutes <= 0:
        raise ValueError("The time must be more than zero.")
    if minutes > MINUTES_PER_DAY:
        raise ValueError("A day has at most 24 hours. For minutes, add an m (for example 45m).")
    return minutes


def parse_miles(text: str) -> float:
    """Miles from what a person types (``12``, ``12.5``, ``12,5``, ``12 mi``); blank is 0."""
    s = text.strip().lower().removesuffix("miles").removesuffix("mi").strip()
    if not s:
        return 0.0
    if not _NUMBER.match(s):
        raise ValueError("Write the miles as a number, for example 12.5.")
    miles = float(s.replace(",", "."))
    if miles > MAX_MILES:
        raise ValueError(f"That is more than {MAX_MILES:,.0f} miles; check the number.")
    return round(miles, 1)


def format_hm(minutes: int) -> str:
    """``1:05`` style; blank for zero."""
    if not minutes:
        return ""
    return f"{minutes // 60}:{minutes % 60:02d}"


def format_hours(minutes: int, decimals: int = 1) -> str:
    """Hours with a thousands separator: ``1,234.5``."""
    hours = minutes / 60
    if decimals == 0:
        return f"{math.floor(hours):,}"
    return f"{hours:,.{decimals}f}"


# -- a time entry from a form ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntryForm:
    """What the entry form holds, as typed."""

    category: TimeCategory
    entry_date: date | None
    duration: str
    miles: str = ""
    travel_from: str = ""
    travel_to: str = ""
    purpose: str = ""
    ce_title: str = ""
    ce_provider: str = ""
    ce_evidence: str = ""
    ce_is_ethics: bool = False
    note: str = ""


#: Problems are (field, message); fields are EntryForm's names.
Problems = list[tuple[str, str]]


def check_entry(form: EntryForm, today: date) -> Problems:
    """Every problem with the form, each for the field it belongs to."""
    problems: Problems = []
    if form.category not in EDITABLE_CATEGORIES:
        problems.append(("category", "Direct service comes from your notes; pick another kind."))
    if form.entry_date is None:
        problems.append(("entry_date", "Enter the date the work was done."))
    elif form.entry_date > today:
        problems.append(
            ("entry_date", "Hours are logged for work already done; this date is ahead.")
        )
    elif form.entry_date.year < 2000:
        problems.append(("entry_date", "Check the year of this date."))
    try:
        parse_duration(form.duration)
    except ValueError as e:
        problems.append(("duration", str(e)))
    if form.category is TimeCategory.TRAVEL:
        try:
            miles = parse_miles(form.miles)
        except ValueError as e:
            problems.append(("miles", str(e)))
            miles = 0.0
        if miles > 0 and not form.travel_from.strip():
            problems.append(("travel_from", "Say where the trip started."))
        if miles > 0 and not form.travel_to.strip():
            problems.append(("travel_to", "Say where the trip went."))
        if not form.purpose.strip():
            problems.append(("purpose", "Say what the trip was for (for example, a home visit)."))
    if form.category is TimeCategory.TRAINING:
        if not form.ce_title.strip():
            problems.append(("ce_title", "Enter the course or training title."))
        if not form.ce_provider.strip():
            problems.append(("ce_provider", "Enter who gave the training."))
    for name in ("travel_from", "travel_to", "purpose", "ce_title", "ce_provider", "ce_evidence"):
        if len(getattr(form, name)) > MAX_TEXT:
            problems.append((name, f"Keep this under {MAX_TEXT} characters."))
    if len(form.note) > MAX_NOTE:
        problems.append(("note", f"Keep the note under {MAX_NOTE} characters."))
    return problems


def entry_from_form(
    form: EntryForm, specialist_id: str, base: TimeEntry | None = None
) -> TimeEntry:
    """The entry the form describes (``base`` when editing one); call
    :func:`check_entry` first. Fields that do not belong to the kind are emptied."""
    travel = form.category is TimeCategory.TRAVEL
    training = form.category is TimeCategory.TRAINING
    assert form.entry_date is not None
    values: dict[str, Any] = {
        "specialist_id": specialist_id,
        "entry_date": form.entry_date,
        "category": form.category,
        "minutes": parse_duration(form.duration),
        "miles": parse_miles(form.miles) if travel else 0.0,
        "travel_from": form.travel_from.strip() if travel else "",
        "travel_to": form.travel_to.strip() if travel else "",
        "purpose": form.purpose.strip(),
        "ce_title": form.ce_title.strip() if training else "",
        "ce_provider": form.ce_provider.strip() if training else "",
        "ce_evidence": form.ce_evidence.strip() if training else "",
        "ce_is_ethics": bool(form.ce_is_ethics) if training else False,
        "note": form.note.strip(),
    }
    if base is None:
        return TimeEntry(**values)
    return replace(base, **values)


def day_limit_problem(minutes_on_day_without_entry: int, entry_minutes: int) -> str | None:
    """A day cannot hold more than 24 hours of work."""
    if minutes_on_day_without_entry + entry_minutes > MINUTES_PER_DAY:
        left = max(0, MINUTES_PER_DAY - minutes_on_day_without_entry)
        return (
            f"That day already has {duration_text(minutes_on_day_without_entry)} logged; "
            f"at most {duration_text(left)} more fits in 24 hours."
        )
    return None


def day_minutes(
    day: date, spans: Sequence[ServiceSpan], entries: Iterable[TimeEntry], skip_id: str = ""
) -> int:
    """Everything logged on ``day`` (notes and entries), leaving out entry ``skip_id``."""
    direct = direct_minutes_by_day(s for s in spans if s.service_date == day).get(day, 0)
    typed = sum(
        e.minutes for e in counted_entries(entries) if e.entry_date == day and e.id != skip_id
    )
    return direct + typed
