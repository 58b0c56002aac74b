"""A supervisor's team: who is in it (the users whose ``supervisor_id`` is the
vault's owner; an administrator sees every specialist), the overdue setting, and
the team overview's figures (rules in app.domain.supervision). Acting on a record
outside the team fails with a plain message (:class:`OutsideTeam`). Runs on the
database thread; every function takes the repositories first.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any

from app.domain import supervision as sv
from app.domain.records import Encounter
from app.domain.records import Payer
from app.domain.records import Role
from app.domain.records import User
from app.domain.records import minutes_between
from app.services.changes import Done
from app.store.errors import StoreError
from app.store.repositories import Repositories

OVERDUE_KEY = "setting_overdue_days"


class OutsideTeam(StoreError):
    """A record that is not in the signed-in supervisor's team."""

    def __init__(self) -> None:
        super().__init__(
            "That record is not in your team, so you cannot open or review it. Nothing was changed."
        )


# -- who ------------------------------------------------------------------------------


def me(repos: Repositories) -> User:
    return repos.users.require(repos.store.user_id)


def team(repos: Repositories) -> list[User]:
    """The specialists this vault's owner supervises, by name."""
    owner = me(repos)
    if owner.role is Role.ADMIN:
        rows = repos.users.list("role = ?", (Role.SPECIALIST.value,))
    else:
        rows = repos.users.list("supervisor_id = ? AND role = ?", (owner.id, Role.SPECIALIST.value))
    return sorted(rows, key=lambda u: (u.display_name or u.username).casefold())


def team_ids(repos: Repositories) -> set[str]:
    return {u.id for u in team(repos)}


def user_names(repos: Repositories) -> dict[str, str]:
    return {
        r[0]: (r[1] or r[2])
        for r in repos.store.conn.execute("SELECT id, display_name, username FROM users")
    }


def in_team(repos: Repositories, note: Encounter) -> None:
    if note.specialist_id not in team_ids(repos):
        raise OutsideTeam()


# -- settings -----------------------------------------------------------------------------


def overdue_days(repos: Repositories) -> int:
    raw = repos.store.meta(OVERDUE_KEY, str(sv.DEFAULT_OVERDUE_DAYS))
    try:
        n = int(raw)
    except ValueError:
        return sv.DEFAULT_OVERDUE_DAYS
    return n if 0 <= n <= sv.MAX_OVERDUE_DAYS else sv.DEFAULT_OVERDUE_DAYS


def set_overdue_days(repos: Repositories, days: int) -> Done[int]:
    """A vault setting, not a record: no table changes (the team page reads it)."""
    if not 0 <= int(days) <= sv.MAX_OVERDUE_DAYS:
        raise StoreError(f"Choose 0 to {sv.MAX_OVERDUE_DAYS} days.")
    repos.store.set_meta(OVERDUE_KEY, str(int(days)))
    return Done(int(days))


# -- the team view ----------------------------------------------------------------------


def as_datetime(v: str | None) -> datetime | None:
    return datetime.fromisoformat(v) if v else None


def note_minutes(start: str | None, end: str | None) -> int:
    """A note's minutes from its stored start and end times (ISO text)."""
    if not start or not end:
        return 0
    return minutes_between(time.fromisoformat(start), time.fromisoformat(end))


#: The encounter columns :func:`facts_of_row` reads, in its order.
FACT_COLUMNS = (
    "id", "specialist_id", "participant_id", "service_date", "start_time", "end_time",
    "status", "signed_at", "payer_id", "service_code", "reviewed_at",
)  # fmt: skip


def fact_columns(alias: str = "") -> str:
    """FACT_COLUMNS for a SELECT (each prefixed with ``alias.`` when given)."""
    return ", ".join(f"{alias}.{c}" if alias else c for c in FACT_COLUMNS)


def facts_of_row(r: Sequence[Any]) -> sv.NoteFacts:
    """A note's facts from a row that starts with :data:`FACT_COLUMNS`."""
    return sv.NoteFacts(
        id=r[0], specialist_id=r[1], participant_id=r[2],
        service_date=date.fromisoformat(r[3]), minutes=note_minutes(r[4], r[5]),
        status=r[6], signed_at=as_datetime(r[7]), payer_id=r[8], service_code=r[9],
        reviewed_at=as_datetime(r[10]),
    )  # fmt: skip


def note_facts(
    repos: Repositories, specialist_ids: Sequence[str], since: date | None = None
) -> list[sv.NoteFacts]:
    if not specialist_ids:
        return []
    marks = ",".join("?" for _ in specialist_ids)
    sql = (
        f"SELECT {fact_columns()} FROM encounters WHERE deleted = 0 AND specialist_id IN ({marks})"
    )
    params: list[Any] = list(specialist_ids)
    if since is not None:
        sql += " AND (service_date >= ? OR status IN ('draft', 'signed'))"
        params.append(since.isoformat())
    return [facts_of_row(r) for r in repos.store.conn.execute(sql, params)]


def hours_facts(
    repos: Repositories, specialist_ids: Sequence[str], since: date
) -> list[sv.HoursFacts]:
    if not specialist_ids:
        return []
    marks = ",".join("?" for _ in specialist_ids)
    return [
        sv.HoursFacts(r[0], date.fromisoformat(r[1]), r[2], r[3])
        for r in repos.store.conn.execute(
            "SELECT specialist_id, entry_date, category, minutes FROM time_entries "
            f"WHERE deleted = 0 AND entry_date >= ? AND specialist_id IN ({marks})",
            (since.isoformat(), *specialist_ids),
        )
    ]


def payers_by_id(repos: Repositories) -> dict[str, Payer]:
    return {p.id: p for p in repos.payers.list()}


def team_overview(repos: Repositories, today: date | None = None) -> sv.TeamOverview:
    today = today or date.today()
    members = team(repos)
    ids = [u.id for u in members]
    marks = ",".join("?" for _ in ids) or "''"
    caseloads = dict(
        repos.store.conn.execute(
            "SELECT assigned_specialist_id, count(*) FROM participants WHERE deleted = 0 "
            "AND status IN ('active', 'referred', 'on hold') "
            # a record merged into another is not a person of its own
            "AND (merged_into = '' OR id IN (SELECT value FROM json_each(?))) "
            f"AND assigned_specialist_id IN ({marks}) "
            "GROUP BY assigned_specialist_id",
            [json.dumps(repos.participants.cycle_survivors()), *ids],
        ).fetchall()
    )
    first_week = sv.week_start(today) - timedelta(weeks=sv.CHART_WEEKS)
    since = min(first_week, date(today.year, today.month, 1))
    return sv.team_overview(
        members,
        caseloads,
        note_facts(repos, ids, since),
        hours_facts(repos, ids, min(since, today - timedelta(days=366))),
        today,
        overdue_days(repos),
        payers_by_id(repos),
    )


def as_sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "."
