"""Participant records: reads and writes behind the record page and the
participant form (the caseload import is app.services.importing); every
function runs on the database thread and takes the repositories first
(``ctx.run(fn, ..., args=...)``).

Opening a record is one call, :func:`load_record`: the participant through
``participants.open`` (the read is audited), consents, goals, BARC-10 history,
and the timeline as light rows (date, times, modality, status, a short preview)
read with one indexed query — not 500 decoded notes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import time

from app.domain.record_forms import tick_step
from app.domain.records import Barc10
from app.domain.records import Consent
from app.domain.records import Goal
from app.domain.records import Modality
from app.domain.records import NoteStatus
from app.domain.records import Participant
from app.domain.records import Payer
from app.domain.records import minutes_between
from app.paths import resource_path
from app.services import duplicates
from app.services.caseload import CaseloadRow
from app.services.caseload import caseload_row
from app.services.changes import Changed
from app.services.changes import Done
from app.store.errors import StoreError
from app.store.repositories import Repositories

PREVIEW_CHARS = 90


def known_programs() -> list[str]:
    """The programs an agency offers (resources/codes/programs.json)."""
    data = json.loads(resource_path("codes", "programs.json").read_text(encoding="utf-8"))
    return list(data["programs"])


@dataclass(frozen=True, slots=True)
class TimelineRow:
    id: str
    service_date: date
    start_time: time | None
    end_time: time | None
    modality: Modality
    status: NoteStatus
    service_code: str
    preview: str

    @property
    def minutes(self) -> int:
        return minutes_between(self.start_time, self.end_time)


@dataclass
class ParticipantRecord:
    participant: Participant
    row: CaseloadRow
    payer_name: str = ""
    consents: list[Consent] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    barc10: list[Barc10] = field(default_factory=list)
    timeline: list[TimelineRow] = field(default_factory=list)


def _group_filter(repos: Repositories, participant_id: str) -> tuple[str, tuple[str]]:
    """The SQL condition (and its parameter) for the children of a participant and
    of every record merged into it; one indexed equality when there are none."""
    group = duplicates.group_ids(repos, participant_id)
    if len(group) == 1:
        return "participant_id = ?", (group[0],)
    return "participant_id IN (SELECT value FROM json_each(?))", (json.dumps(group),)


def timeline(repos: Repositories, participant_id: str) -> list[TimelineRow]:
    """Newest first; one query on the (participant_id, service_date) index. The notes
    of every record merged into this one are its notes (app.services.duplicates)."""
    by, group = _group_filter(repos, participant_id)
    rows = repos.store.conn.execute(
        "SELECT id, service_date, start_time, end_time, modality, status, service_code,"
        f" substr(CASE WHEN goal_text != '' THEN goal_text ELSE data END, 1, {PREVIEW_CHARS})"
        f" FROM encounters WHERE {by} AND deleted = 0 ORDER BY service_date DESC, start_time DESC",
        group,
    )
    return [
        TimelineRow(
            id=r[0],
            service_date=date.fromisoformat(r[1]),
            start_time=time.fromisoformat(r[2]) if r[2] else None,
            end_time=time.fromisoformat(r[3]) if r[3] else None,
            modality=Modality(r[4]),
            status=NoteStatus(r[5]),
            service_code=r[6],
            preview=" ".join((r[7] or "").split()),
        )
        for r in rows
    ]


def load_record(
    repos: Repositories, participant_id: str, today: date | None = None, audited: bool = True
) -> ParticipantRecord:
    """Everything the record page shows, in one call; opening it is audited. A
    record merged into another opens as the record it was merged into, with the
    consents, goals, scores and notes of both."""
    today = today or date.today()
    participant_id = duplicates.survivor_of(repos, participant_id)
    if audited:
        p = repos.participants.open(participant_id)
    else:
        p = repos.participants.require(participant_id)
    if p.deleted:
        raise StoreError("That participant was removed from this vault.")
    payer = repos.payers.get(p.payer_id) if p.payer_id else None
    by, group = _group_filter(repos, p.id)
    return ParticipantRecord(
        participant=p,
        row=caseload_row(repos, p, today),
        payer_name=payer.name if payer else "",
        consents=repos.consents.list(by, group, order_by="signed_on DESC"),
        goals=repos.goals.list(by, group, order_by="started_on, rowid"),
        barc10=repos.barc10.list(by, group, order_by="assessed_on"),
        timeline=timeline(repos, p.id),
    )


def reload_record(repos: Repositories, participant_id: str) -> ParticipantRecord:
    """The record again after a change, while it is open (not a new view)."""
    return load_record(repos, participant_id, audited=False)


def form_choices(repos: Repositories) -> tuple[list[str], list[Payer]]:
    """(programs, payers) the participant form offers."""
    return known_programs(), repos.payers.list(order_by="name")


# -- the participant form ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A participant already in the vault with the same name and date of birth."""

    id: str
    name: str
    status: str
    program: str


@dataclass
class SaveOutcome:
    saved: Participant | None = None
    duplicates: list[Duplicate] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> Changed:
        saved = self.saved
        return Changed.of(Participant.TABLE, ids=[saved.id]) if saved is not None else Changed()


def save_participant(
    repos: Repositories, participant: Participant, is_new: bool, allow_duplicate: bool
) -> SaveOutcome:
    """Add or update a participant. Stops with ``duplicates`` when a different
    participant has the same first and last name and date of birth (unless the
    person chose to add anyway), and with a problem when the Medicaid ID is
    another participant's."""
    p = participant
    if p.medicaid_id:
        other = repos.participants.list(  # a record merged into another is not "another"
            "medicaid_id = ? AND id != ? AND merged_into = ''", (p.medicaid_id, p.id), limit=1
        )
        if other:
            return SaveOutcome(
                problems={"medicaid_id": "Another participant already has this Medicaid ID"}
            )
    if not allow_duplicate:
        dupes = [
            d
            for d in repos.participants.find_duplicates(p.first_name, p.last_name, p.date_of_birth)
            if d.id != p.id and not d.merged_into
        ]
        if dupes:
            return SaveOutcome(
                duplicates=[
                    Duplicate(d.id, d.display_name, d.status.value, d.program) for d in dupes
                ]
            )
    if is_new:
        if not p.assigned_specialist_id:
            p = p.replace(assigned_specialist_id=repos.store.user_id)  # type: ignore[assignment]
        saved = repos.participants.add(p)
    else:
        saved = repos.participants.update(p)
    return SaveOutcome(saved=saved)


# -- consents, goals, BARC-10 -----------------------------------------------------------


def add_consent(repos: Repositories, consent: Consent) -> Done[Consent]:
    saved = repos.consents.add(consent)
    return Done(saved, Changed.of(repos.consents.table, ids=[saved.id]))


def revoke_consent(repos: Repositories, consent_id: str, on: date, note: str) -> Done[Consent]:
    with repos.store.transaction():
        c = repos.consents.require(consent_id)
        if c.revoked_on is not None:
            raise StoreError("That consent is already revoked.")
        saved = repos.consents.update(c.replace(revoked_on=on, revocation_note=note))  # type: ignore[arg-type]
    return Done(saved, Changed.of(repos.consents.table, ids=[consent_id]))


def save_goal(repos: Repositories, goal: Goal, is_new: bool) -> Done[Goal]:
    saved = repos.goals.add(goal) if is_new else repos.goals.update(goal)
    return Done(saved, Changed.of(repos.goals.table, ids=[saved.id]))


def tick_goal_step(repos: Repositories, goal_id: str, index: int, done: bool) -> Done[Goal]:
    """Tick or untick one step of the goal as it is in the vault now."""
    with repos.store.transaction():
        goal = repos.goals.require(goal_id)
        try:
            after = tick_step(goal, index, done)
        except ValueError:
            raise StoreError("That step is no longer part of the goal.") from None
        saved = repos.goals.update(after)
    return Done(saved, Changed.of(repos.goals.table, ids=[goal_id]))


def add_barc10(repos: Repositories, barc: Barc10) -> Done[Barc10]:
    saved = repos.barc10.add(barc)
    return Done(saved, Changed.of(repos.barc10.table, ids=[saved.id]))
