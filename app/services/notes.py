"""Progress notes: what the note editor reads and writes, as functions that run
on the database worker: load a note with everything shown beside it, save a draft (insert or
update, content fields only), check the passphrase and sign, add an addendum.

Each takes a :class:`Repositories` first, so the UI hands them to
``AppContext.run``. Nothing here imports Qt.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from app.domain.note_form import with_content
from app.domain.records import (
    Addendum,
    Encounter,
    Goal,
    GoalStatus,
    Participant,
    Payer,
    User,
)
from app.domain.units import DEFAULT_RULE, RoundingRule
from app.services import duplicates
from app.services.changes import Changed, Done
from app.services.vaults import check_passphrase
from app.store.repositories import NotFound, Repositories
from app.store.vault import Vault


@dataclass(frozen=True)
class NoteBundle:
    """A note (None for a new one) and what the editor shows beside it."""

    note: Encounter | None
    participant: Participant
    goals: list[Goal]
    payer: Payer | None
    addenda: list[Addendum] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # user id -> name to show

    @property
    def rule(self) -> RoundingRule:
        return RoundingRule.for_payer(self.payer) if self.payer else DEFAULT_RULE

    def name(self, user_id: str) -> str:
        return self.names.get(user_id) or "someone on your team"


def _user_name(user: User | None) -> str:
    if user is None:
        return ""
    return user.display_name or user.username


def load_note(repos: Repositories, encounter_id: str, participant_id: str) -> NoteBundle:
    """The note ``encounter_id`` (its reading is audited), or a new note's
    surroundings when ``encounter_id`` is "" or not (yet) in the vault."""
    note = repos.encounters.get(encounter_id) if encounter_id else None
    if note is not None:
        note = repos.encounters.open(encounter_id)
        participant_id = note.participant_id
    if not participant_id:
        raise NotFound("That note is not in this vault.")
    if note is None:  # a new note is written for the record a merge kept
        participant_id = duplicates.survivor_of(repos, participant_id)
    participant = repos.participants.require(participant_id)
    linked = set(note.goal_ids) if note else set()
    group = json.dumps(duplicates.group_ids(repos, participant_id))
    goals = [
        g
        for g in repos.goals.list(
            "participant_id IN (SELECT value FROM json_each(?))", (group,), order_by="domain"
        )
        if g.status is GoalStatus.ACTIVE or g.id in linked
    ]
    payer_id = (note.payer_id if note else "") or participant.payer_id
    payer = repos.payers.get(payer_id) if payer_id else None
    addenda = repos.encounters.addenda(note.id) if note else []
    ids = {a.author_id for a in addenda}
    if note:
        ids |= {note.specialist_id, note.signed_by_id, note.reviewed_by_id}
    names = {i: _user_name(repos.users.get(i)) for i in ids if i}
    return NoteBundle(note, participant, goals, payer, addenda, names)


def new_draft(bundle: NoteBundle, author: User, today: date, note_id: str) -> Encounter:
    """A fresh draft for the bundle's participant (not saved until the person types)."""
    return Encounter(
        id=note_id,
        participant_id=bundle.participant.id,
        specialist_id=author.id,
        service_date=today,
        payer_id=bundle.participant.payer_id,
    )


def save_draft(
    repos: Repositories, draft: Encounter, fields: Sequence[str] | None = None
) -> Done[Encounter]:
    """Insert the draft, or write its content ``fields`` (all when None) over the
    stored note; fields the person did not change keep what is stored, so a change a
    sync brought in meanwhile survives. The life-cycle rules refuse content changes
    to a note that is no longer a draft."""
    wrote = Changed.of(repos.encounters.table, ids=[draft.id])
    with repos.store.transaction():
        stored = repos.encounters.get(draft.id)
        if stored is None:
            return Done(repos.encounters.add(draft), wrote)
        after = with_content(stored, draft, fields)
        if after == stored:
            return Done(stored, wrote)
        return Done(repos.encounters.update(after), wrote)


def sign_draft(
    repos: Repositories, vault: Vault, passphrase: str, draft: Encounter, signer: User
) -> Done[Encounter]:
    """Save the draft (so nothing typed is lost whatever happens next), check the
    passphrase, then sign. Raises WrongPassphrase, ValidationError or LifecycleError."""
    save_draft(repos, draft)
    check_passphrase(vault, passphrase)
    signed = repos.encounters.sign(draft.id, signer)
    return Done(signed, Changed.of(repos.encounters.table, ids=[draft.id]))


def add_addendum(
    repos: Repositories, encounter_id: str, author: User, reason: str, text: str
) -> Done[Addendum]:
    added = repos.encounters.add_addendum(encounter_id, author, reason, text)
    tables = (repos.encounters.table, repos.addenda.table)
    return Done(added, Changed.of(*tables, ids=[encounter_id, added.id]))
