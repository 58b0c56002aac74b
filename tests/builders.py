"""Factories for the records tests build field by field: a note (Encounter) for a person,
a goal (also made here) and a writer, with only the values a test cares about spelled out;
many invented people at once."""

from __future__ import annotations

from datetime import date
from datetime import time
from typing import Any

from app.domain.records import Encounter
from app.domain.records import Goal
from app.domain.records import Participant
from app.domain.records import RecoveryDomain
from app.store.repositories import Repositories

Id = Any  # a record (its .id is taken) or an id string


def _id(x: Id) -> str:
    return x if isinstance(x, str) else x.id


def encounter(
    person: Id,
    goal: Id | None,
    writer: Id,
    *,
    on: date = date(2026, 11, 2),
    at: tuple[time | None, time | None] = (time(10, 0), time(10, 50)),
    girp: tuple[str, ...] = ("g", "i", "r", "p"),
    **kw,
) -> Encounter:
    """A draft note (not stored) of ``person`` toward ``goal`` (None: no goal) written by
    ``writer``, on ``on`` from ``at[0]`` to ``at[1]`` (None: no time); ``girp``: its goal text,
    intervention, response and plan (a shorter tuple leaves the rest empty); ``kw``:
    other Encounter fields, or any of these."""
    fields = dict(
        participant_id=_id(person),
        specialist_id=_id(writer),
        service_date=on,
        start_time=at[0],
        end_time=at[1],
        goal_ids=() if goal is None else (_id(goal),),
    )
    fields.update(zip(("goal_text", "intervention", "response", "plan"), girp, strict=False))
    return Encounter(**{**fields, **kw})


def span(start: int, minutes: int) -> tuple[time, time]:
    """The start and end clock times of ``minutes`` from minute ``start`` of the day."""
    end = start + minutes
    return time(start // 60, start % 60), time(end // 60, end % 60)


def add_encounter(repos: Repositories, person: Id, goal: Id | None, writer: Id, **kw) -> Encounter:
    """``encounter(...)`` stored through ``repos``."""
    return repos.encounters.add(encounter(person, goal, writer, **kw))


def add_goal(
    repos: Repositories, person: Id, statement: str, domain: RecoveryDomain = RecoveryDomain.HOME
) -> Goal:
    """A goal of ``person`` stored through ``repos`` (a HOME goal unless told otherwise)."""
    return repos.goals.add(Goal(participant_id=_id(person), domain=domain, statement=statement))


def many_people(
    n: int, first: str, last: str, specialist: Id, birthdays: bool = False, **kw
) -> list[Participant]:
    """``n`` invented participants (not stored) named ``first``0.. ``last``, assigned to
    ``specialist``; ``birthdays``: born in January 1980, person i on day 1 + i % 28;
    ``kw``: other Participant fields."""
    return [
        Participant(
            first_name=f"{first}{i}",
            last_name=last,
            assigned_specialist_id=_id(specialist),
            date_of_birth=date(1980, 1, 1 + i % 28) if birthdays else None,
            **kw,
        )
        for i in range(n)
    ]
