"""Shared set-up for the note editor's tests: an invented person with a payer and
goals, a clock the tests move by hand, and a complete GIRP note to sign."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from app.domain.records import Goal
from app.domain.records import GoalStatus
from app.domain.records import Participant
from app.domain.records import Payer
from app.domain.records import RecoveryDomain
from app.domain.records import RoundingRuleName
from app.store.repositories import Repositories
from tests.helpers import add_person


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


def person_with_goals(
    repos: Repositories,
    rule: RoundingRuleName = RoundingRuleName.CMS_8_MINUTE,
    unit_minutes: int = 15,
    payer_name: str = "Prairie Test Payer",
) -> tuple[Participant, list[Goal], Payer]:
    payer = repos.payers.add(Payer(name=payer_name, rounding_rule=rule, unit_minutes=unit_minutes))
    p = add_person(repos, "Wrenna", "Halvorsby", payer_id=payer.id)
    goals = [
        repos.goals.add(
            Goal(
                participant_id=p.id,
                domain=RecoveryDomain.HOME,
                statement="Find a steady place to live before winter",
            )
        ),
        repos.goals.add(
            Goal(
                participant_id=p.id,
                domain=RecoveryDomain.HEALTH,
                statement="Walk by the river three times a week",
            )
        ),
    ]
    repos.goals.add(
        Goal(
            participant_id=p.id,
            domain=RecoveryDomain.PURPOSE,
            statement="An old goal no longer pursued",
            status=GoalStatus.DISCONTINUED,
        )
    )
    return p, goals, payer
