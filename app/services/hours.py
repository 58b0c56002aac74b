"""The reads and writes behind the Hours page, run on the database thread.

:func:`load_hours` gathers one week's timesheet, the chart's twelve weeks and the
credential progress in one call; the arithmetic is app.domain.hours. Writes go
through the repositories (change capture, audit) after the checks that need the
database: a day cannot hold more than 24 hours, and direct-service hours are
never typed or changed here (they come from notes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from datetime import time
from datetime import timedelta
from functools import lru_cache

from app.domain import hours
from app.domain.hours import AdvanceProgress
from app.domain.hours import CeProgress
from app.domain.hours import CredentialRules
from app.domain.hours import ServiceSpan
from app.domain.hours import WeekBar
from app.domain.hours import WeekSheet
from app.domain.records import NoteStatus
from app.domain.records import ServiceSetting
from app.domain.records import TimeCategory
from app.domain.records import TimeEntry
from app.domain.records import User
from app.domain.validation import ValidationError
from app.paths import resource_path
from app.services.changes import Changed
from app.services.changes import Done
from app.store.errors import StoreError
from app.store.repositories import Repositories

RULES_FILE = ("codes", "credentials.json")


@lru_cache(maxsize=1)
def credential_rules() -> CredentialRules:
    """The credential rules shipped in resources/ (read once)."""
    path = resource_path(*RULES_FILE)
    return hours.rules_from_json(json.loads(path.read_text(encoding="utf-8")))


@dataclass(frozen=True, slots=True)
class HoursSnapshot:
    """Everything the Hours page shows, read in one go."""

    user: User
    today: date
    week: WeekSheet
    chart: list[WeekBar]
    direct_total_minutes: int
    advance: AdvanceProgress
    ce: CeProgress
    names: dict[str, str]  # participant id -> display name, for the week's notes


def service_spans(
    repos: Repositories, specialist_id: str, first: date | None = None, last: date | None = None
) -> list[ServiceSpan]:
    """The specialist's notes that are not deleted, as spans (void ones left out)."""
    sql = (
        "SELECT id, participant_id, service_date, start_time, end_time, setting, status "
        "FROM encounters WHERE specialist_id = ? AND deleted = 0 AND status != ?"
    )
    params: list[object] = [specialist_id, NoteStatus.VOID.value]
    if first is not None:
        sql += " AND service_date >= ?"
        params.append(first.isoformat())
    if last is not None:
        sql += " AND service_date <= ?"
        params.append(last.isoformat())
    out = []
    for eid, pid, day, start, end, setting, status in repos.store.conn.execute(sql, params):
        out.append(
            ServiceSpan(
                eid,
                pid,
                date.fromisoformat(day),
                time.fromisoformat(start) if start else None,
                time.fromisoformat(end) if end else None,
                ServiceSetting(setting),
                NoteStatus(status),
            )
        )
    return out


def direct_total_minutes(repos: Repositories, specialist_id: str) -> int:
    """All direct-service minutes ever: from notes, plus typed carry-over entries."""
    spans = service_spans(repos, specialist_id)
    from_notes = sum(hours.direct_minutes_by_day(spans).values())
    carried = repos.store.conn.execute(
        "SELECT coalesce(sum(minutes), 0) FROM time_entries WHERE specialist_id = ? "
        "AND deleted = 0 AND category = ? AND encounter_id = ''",
        (specialist_id, TimeCategory.DIRECT.value),
    ).fetchone()[0]
    return from_notes + int(carried)


def entries_between(
    repos: Repositories, specialist_id: str, first: date, last: date
) -> list[TimeEntry]:
    """The specialist's counted entries dated ``first``..``last`` (no direct-service
    entries that duplicate a note)."""
    return repos.time_entries.list(
        "specialist_id = ? AND entry_date BETWEEN ? AND ? "
        "AND NOT (category = ? AND encounter_id != '')",
        (specialist_id, first.isoformat(), last.isoformat(), TimeCategory.DIRECT.value),
        order_by="entry_date, id",
    )


def load_hours(
    repos: Repositories, user_id: str, week: date, today: date, stand_in: User | None = None
) -> HoursSnapshot:
    """The week of ``week`` (any day of it), the chart's twelve weeks ending there,
    and progress toward the next credential and recertification as of ``today``.

    ``stand_in`` is used when the user's record is not in the vault yet: a laptop
    enrolled on the welcome screens gets it with its first sync, and the window
    signs in with the identity the server gave at enrolment until then."""
    user = repos.users.get(user_id)
    if user is None:
        user = stand_in if stand_in is not None and stand_in.id == user_id else None
    if user is None:
        user = repos.users.require(user_id)  # says plainly that the user is not here
    rules = credential_rules()
    start = hours.week_start(week)
    end = start + timedelta(days=hours.DAYS_IN_WEEK - 1)
    chart_first = start - timedelta(weeks=hours.CHART_WEEKS - 1)
    spans = service_spans(repos, user_id, chart_first, end)
    entries = entries_between(repos, user_id, chart_first, end)
    sheet = hours.build_week(start, spans, entries)
    chart = hours.weekly_series(start, spans, entries)
    rule = rules.for_credential(user.credential)
    ce_first, ce_last = hours.ce_period(user, rule, today)
    ce_entries = repos.time_entries.list(
        "specialist_id = ? AND category = ? AND entry_date BETWEEN ? AND ?",
        (
            user_id,
            TimeCategory.TRAINING.value,
            ce_first.isoformat(),
            (ce_last or today).isoformat(),
        ),
    )
    total = direct_total_minutes(repos, user_id)
    ids = sorted({s.participant_id for s in sheet.services})
    names: dict[str, str] = {}
    for pid in ids:
        p = repos.participants.get(pid)
        if p is not None:
            names[pid] = p.display_name
    return HoursSnapshot(
        user=user,
        today=today,
        week=sheet,
        chart=chart,
        direct_total_minutes=total,
        advance=hours.advance_progress(user, total, rules),
        ce=hours.ce_progress(user, ce_entries, rules, today),
        names=names,
    )


def _check_day(repos: Repositories, entry: TimeEntry) -> None:
    day = entry.entry_date
    spans = service_spans(repos, entry.specialist_id, day, day)
    others = entries_between(repos, entry.specialist_id, day, day)
    already = hours.day_minutes(day, spans, others, skip_id=entry.id)
    problem = hours.day_limit_problem(already, entry.minutes)
    if problem:
        raise ValidationError([("duration", problem)])


def _check_editable(entry: TimeEntry) -> None:
    if entry.category is TimeCategory.DIRECT:
        raise StoreError("Direct-service hours come from your notes; change the note instead.")


def save_entry(repos: Repositories, entry: TimeEntry) -> Done[TimeEntry]:
    """Add or update a typed entry after the checks that need the database.
    Raises ValidationError (field, message) for a day over 24 hours."""
    _check_editable(entry)
    with repos.store.transaction():
        before = repos.time_entries.get(entry.id)
        if before is not None:
            _check_editable(before)
            if before.specialist_id != entry.specialist_id:
                raise StoreError("That entry belongs to someone else's timesheet.")
        _check_day(repos, entry)
        saved = (
            repos.time_entries.add(entry) if before is None else repos.time_entries.update(entry)
        )
    return Done(saved, Changed.of(repos.time_entries.table, ids=[entry.id]))


def delete_entry(repos: Repositories, entry_id: str, specialist_id: str) -> Done[TimeEntry]:
    """Tombstone a typed entry of this specialist."""
    with repos.store.transaction():
        before = repos.time_entries.require(entry_id)
        _check_editable(before)
        if before.specialist_id != specialist_id:
            raise StoreError("That entry belongs to someone else's timesheet.")
        gone = repos.time_entries.delete(entry_id)
    return Done(gone, Changed.of(repos.time_entries.table, ids=[entry_id]))
