"""Fills an empty vault with the demo caseload: the builder put together and
:func:`fill_demo`, which writes through the repositories in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from app.demo.base import _NotePlan
from app.demo.base import _Person
from app.demo.encounters import _EncounterMixin
from app.demo.history import _HistoryMixin
from app.demo.people import _PeopleMixin
from app.domain.records import Barc10
from app.domain.records import Consent
from app.domain.records import Goal
from app.domain.records import Payer
from app.domain.records import SupervisionSession
from app.domain.records import TimeEntry
from app.domain.records import User
from app.store.db import Store
from app.store.digest import counts
from app.store.repositories import Repositories

Progress = Callable[[int, int], None]
T = TypeVar("T")


class _DemoBuilder(_PeopleMixin, _EncounterMixin, _HistoryMixin):
    """Draws every demo record from one seeded random source."""


class _Ticker:
    """Counts work done and calls ``progress`` about every 1% (and at the end)."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total, self.done, self.progress = max(total, 1), 0, progress
        self.step = max(1, self.total // 100)
        self.next = self.step

    def tick(self, n: int = 1) -> None:
        self.done += n
        if self.progress is not None and self.done >= self.next:
            self.progress(min(self.done, self.total), self.total)
            self.next = self.done + self.step

    def each(self, items: Iterable[T]) -> Iterator[T]:
        for item in items:
            yield item
            self.tick()

    def start(self) -> None:
        if self.progress is not None:
            self.progress(0, self.total)

    def finish(self) -> None:
        if self.progress is not None:
            self.progress(self.total, self.total)


@dataclass
class _Caseload:
    """Every record the demo writes, planned before anything is written."""

    supervisor: User
    owner: User
    payers: dict[str, Payer]
    people: list[_Person]
    goals: list[Goal]
    consents: list[Consent]
    barc: list[Barc10]
    plans: list[_NotePlan]
    time_entries: list[TimeEntry]
    sessions: list[SupervisionSession]

    def work(self) -> int:
        """How many steps writing it takes (records and life-cycle moves)."""
        records = (
            len(self.people) + len(self.goals) + len(self.consents) + len(self.barc)
            + len(self.plans) + len(self.time_entries) + len(self.sessions)
        )  # fmt: skip
        return records + sum(_moves(pl) for pl in self.plans)


def _moves(pl: _NotePlan) -> int:
    """The life-cycle moves a planned note goes through after it is written."""
    if pl.signed_at is None:
        return 0
    return (
        1
        + (pl.returned_at is not None)
        + (pl.addendum_at is not None)
        + (pl.approved_at is not None)
        + (pl.batch is not None)
    )


def _plan(b: _DemoBuilder, owner_before: User, participants: int) -> _Caseload:
    """Draws the whole caseload, in the order the seeded random source was
    always drawn in (so a seed gives the same records as before)."""
    supervisor = b.supervisor()
    owner = b.owner(owner_before, supervisor)
    payers = b.payers()
    people = [b.person(owner, payers) for _ in range(participants)]
    consents = [c for p in people for c in b.consents(p)]
    barc = [a for p in people for a in b.barc10(p, owner)]
    batches = b.batches()
    plans = [b.note_plan(b.note(v, owner), v.person, batches) for v in b.visits(people)]
    time_entries = b.time_for_visits(owner, [pl.note for pl in plans]) + b.training(owner)
    sessions, supervision_time = b.supervision(owner, supervisor, people)
    return _Caseload(
        supervisor=supervisor,
        owner=owner,
        payers=payers,
        people=people,
        goals=[g for p in people for g in p.goals],
        consents=consents,
        barc=barc,
        plans=plans,
        time_entries=time_entries + supervision_time,
        sessions=sessions,
    )


def _walk_life_cycles(repos: Repositories, c: _Caseload, ticker: _Ticker) -> None:
    """Moves each written note through its planned sign / return / addendum /
    approve / bill steps with the repositories' own methods."""
    enc_repo = repos.encounters
    for pl in c.plans:
        if pl.signed_at is None:
            continue
        note = enc_repo.sign(pl.note.id, c.owner, at=pl.signed_at)
        if pl.returned_at is not None:
            enc_repo.return_for_revision(
                note.id, c.supervisor, pl.return_comment, at=pl.returned_at
            )
        if pl.addendum_at is not None:
            enc_repo.add_addendum(
                note.id, c.owner, *pl.addendum, at=pl.addendum_at, addendum_id=pl.addendum_id
            )
        if pl.approved_at is not None:
            enc_repo.approve(note.id, c.supervisor, note.content_hash, at=pl.approved_at)
        if pl.batch is not None:
            enc_repo.mark_billed(note.id, pl.batch[0], at=pl.batch[1])
        ticker.tick(_moves(pl))


def fill_demo(
    store: Store,
    participants: int = 40,
    years: int = 2,
    seed: int = 1,
    today: date | None = None,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Fill an empty, opened store with an invented caseload for its owner.

    Returns how many records of each type the vault then holds (by table name). Raises
    ValueError for a vault that already holds participants or for bad sizes."""
    if participants < 1 or years < 1:
        raise ValueError("the demo needs at least one participant and one year")
    repos = Repositories(store)
    if repos.participants.count(include_deleted=True):
        raise ValueError("the demo caseload goes into an empty vault; this one has participants")
    b = _DemoBuilder(years, seed, today or date.today())

    with store.transaction():
        c = _plan(b, repos.users.require(store.user_id), participants)
        ticker = _Ticker(c.work(), progress)
        ticker.start()
        repos.users.add(c.supervisor)
        repos.users.update(c.owner)
        repos.payers.add_many(c.payers.values())
        repos.billing_providers.add(b.billing_provider(seed))
        repos.participants.add_many(ticker.each(p.rec for p in c.people))
        repos.goals.add_many(ticker.each(c.goals))
        repos.consents.add_many(ticker.each(c.consents))
        repos.barc10.add_many(ticker.each(c.barc))
        repos.supervision.add_many(ticker.each(c.sessions))
        repos.encounters.add_many(ticker.each(pl.note for pl in c.plans))
        repos.time_entries.add_many(ticker.each(c.time_entries))
        _walk_life_cycles(repos, c, ticker)
        repos.billing_batches.add_many(b.history_batches(c.plans, c.payers, c.supervisor))
    ticker.finish()
    return {table: n["records"] for table, n in counts(store).items()}
