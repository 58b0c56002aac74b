"""Progress notes: what the note editor reads and writes, as functions that run
on the database worker: load a note with everything shown beside it, save a draft (insert or
update, content fields only), check the passphrase and sign, add an addendum.

Each takes a :class:`Repositories` first, so the UI hands them to
``AppContext.run``. Nothing here imports Qt.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime

from app.domain.lifecycle import EDITABLE_STATUSES
from app.domain.lifecycle import NARRATIVE_FIELDS
from app.domain.lifecycle import NARRATIVE_LABELS
from app.domain.lifecycle import STATUS_TEXT
from app.domain.note_form import with_content
from app.domain.note_times import DEFAULT_POLICY
from app.domain.note_times import TimePolicy
from app.domain.note_times import policy_from_json
from app.domain.note_times import policy_problem
from app.domain.note_times import policy_to_json
from app.domain.records import Addendum
from app.domain.records import ConsentKind
from app.domain.records import Encounter
from app.domain.records import Goal
from app.domain.records import GoalStatus
from app.domain.records import NoteStatus
from app.domain.records import Participant
from app.domain.records import Payer
from app.domain.records import User
from app.domain.units import DEFAULT_RULE
from app.domain.units import RoundingRule
from app.domain.validation import ValidationError
from app.reports.note_pdf import NotePrint
from app.reports.note_pdf import render
from app.services import duplicates
from app.services.changes import Changed
from app.services.changes import Done
from app.services.files import save_export
from app.services.vaults import check_passphrase
from app.store.repositories import NotFound
from app.store.repositories import Repositories
from app.store.vault import Vault
from sync.content import SERVICE_FIELDS


@dataclass(frozen=True)
class NoteBundle:
    """A note (None for a new one) and what the editor shows beside it."""

    note: Encounter | None
    participant: Participant
    goals: list[Goal]
    payer: Payer | None
    addenda: list[Addendum] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # user id -> name to show
    timer_started: datetime | None = None  # a service timer running in this draft
    last_note: Encounter | None = None  # the participant's previous note by this author
    part2: bool = False  # 42 CFR Part 2 governs this person's records
    time_policy: TimePolicy = DEFAULT_POLICY  # the vault owner's usual hours and limit

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
    timer = timer_started(repos, note.id) if note is not None else None
    author = note.specialist_id if note else repos.store.user_id
    last = last_note(repos, participant_id, author, note.id if note else "")
    return NoteBundle(
        note,
        participant,
        goals,
        payer,
        addenda,
        names,
        timer,
        last,
        is_part2(repos, participant),
        time_policy(repos, repos.store.user_id),
    )


def is_part2(repos: Repositories, participant: Participant) -> bool:
    """Whether 42 CFR Part 2 governs the person's records: a Part 2 consent on file,
    or a substance use program."""
    program = participant.program.lower()
    if any(word in program for word in ("sud", "substance", "part 2", "opioid")):
        return True
    return bool(
        repos.consents.list(
            "participant_id = ? AND kind = ?", (participant.id, ConsentKind.PART2.value), limit=1
        )
    )


def last_note(
    repos: Repositories, participant_id: str, author_id: str, not_id: str = ""
) -> Encounter | None:
    """The person's most recent other note written by ``author_id`` (for defaults
    and "Copy from last note")."""
    rows = repos.encounters.list(
        "participant_id = ? AND specialist_id = ? AND id != ? AND status != ?",
        (participant_id, author_id, not_id, NoteStatus.VOID.value),
        order_by="service_date DESC, start_time DESC, rowid DESC",
        limit=1,
    )
    return rows[0] if rows else None


#: What a new note takes from the person's last note (the service, not the story).
DEFAULT_FIELDS = (*SERVICE_FIELDS, "note_format")


def new_draft(bundle: NoteBundle, author: User, today: date, note_id: str) -> Encounter:
    """A fresh draft for the bundle's participant (not saved until the person types),
    with the service details of this person's last note."""
    draft = Encounter(
        id=note_id,
        participant_id=bundle.participant.id,
        specialist_id=author.id,
        service_date=today,
        payer_id=bundle.participant.payer_id,
    )
    last = bundle.last_note
    if last is None or last.specialist_id != author.id:
        return draft
    return draft.replace(**{f: getattr(last, f) for f in DEFAULT_FIELDS})  # type: ignore[return-value]


# -- the service timer, kept in the vault with the draft --------------------------------


def _timer_key(note_id: str) -> str:
    return f"note_timer:{note_id}"


def timer_started(repos: Repositories, note_id: str) -> datetime | None:
    raw = repos.store.meta(_timer_key(note_id))
    try:
        return datetime.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def set_timer(repos: Repositories, note_id: str, started: datetime | None) -> datetime | None:
    """Keep (or, with None, forget) when the draft's service timer started. The editor
    queues the draft's save first, so the timer is never kept for a note not saved."""
    repos.store.set_meta(_timer_key(note_id), started.isoformat() if started else "")
    return started


# -- usual hours and the longest service (the specialist's own, kept in the vault) -------

TIMES_KEY = "note_times"
#: What a change to these preferences is broadcast as (the note editor reads them).
PREFERENCES = "preferences"


def time_policy(repos: Repositories, user_id: str) -> TimePolicy:
    """The specialist's usual hours and longest service (the defaults until set)."""
    raw = repos.store.meta(f"{TIMES_KEY}:{user_id}")
    try:
        return policy_from_json(json.loads(raw)) if raw else DEFAULT_POLICY
    except ValueError:
        return DEFAULT_POLICY


def save_time_policy(repos: Repositories, user_id: str, policy: TimePolicy) -> Done[TimePolicy]:
    """Keep the specialist's usual hours and longest service in the vault; the time
    questions before signing use them. Raises ValidationError for impossible values."""
    problem = policy_problem(policy)
    if problem:
        raise ValidationError([("time_policy", problem)])
    repos.store.set_meta(f"{TIMES_KEY}:{user_id}", json.dumps(policy_to_json(policy)))
    return Done(policy, Changed.of(PREFERENCES))


# -- the names of the people in the vault (spell check leaves them alone) ---------------

_NAME_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def known_names(repos: Repositories) -> frozenset[str]:
    """Every word of the names of the participants and of the team (users), lower
    case: "Mary-Kate O'Neil" gives mary, kate and o'neil."""
    rows = repos.store.conn.execute(
        "SELECT first_name || ' ' || last_name || ' ' || preferred_name FROM participants "
        "UNION ALL SELECT display_name || ' ' || username FROM users"
    ).fetchall()
    return frozenset(w.lower() for (text,) in rows for w in _NAME_WORD.findall(text or ""))


# -- quick phrases (the specialist's own, kept in the vault) ------------------------------

PHRASES_KEY = "quick_phrases"
MAX_PHRASES = 40


def quick_phrases(repos: Repositories, user: User) -> list[str]:
    raw = repos.store.meta(f"{PHRASES_KEY}:{user.id}")
    try:
        value = json.loads(raw) if raw else []
    except ValueError:
        return []
    return [p for p in value if isinstance(p, str)] if isinstance(value, list) else []


def save_quick_phrases(repos: Repositories, user: User, phrases: Sequence[str]) -> list[str]:
    """Keep ``phrases`` (trimmed, no repeats, at most :data:`MAX_PHRASES`)."""
    kept = list(dict.fromkeys(p.strip() for p in phrases if p.strip()))[:MAX_PHRASES]
    repos.store.set_meta(f"{PHRASES_KEY}:{user.id}", json.dumps(kept))
    return kept


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
    repos.store.set_meta(_timer_key(draft.id), "")
    signed = repos.encounters.sign(draft.id, signer)
    return Done(signed, Changed.of(repos.encounters.table, ids=[draft.id]))


def add_addendum(
    repos: Repositories, encounter_id: str, author: User, reason: str, text: str
) -> Done[Addendum]:
    added = repos.encounters.add_addendum(encounter_id, author, reason, text)
    tables = (repos.encounters.table, repos.addenda.table)
    return Done(added, Changed.of(*tables, ids=[encounter_id, added.id]))


# -- one note as a PDF -------------------------------------------------------------------


def write_note_pdf(
    repos: Repositories,
    draft: Encounter,
    service_rows: Sequence[tuple[str, str]],
    path: str,
    printed_at: datetime,
) -> str:
    """Write the note as shown (``draft``; ``service_rows`` in the editor's words) to
    ``path`` as a PDF, with the 42 CFR Part 2 notice when the person's records need
    it; the export is audited. Returns the path."""
    bundle = load_note(repos, "", draft.participant_id)
    goals = {g.id: g for g in repos.goals.list("participant_id = ?", (draft.participant_id,))}
    stored = repos.encounters.get(draft.id)
    note = stored if stored is not None and not lifecycle_editable(stored) else draft
    signature = ""
    if note.signed_by_id:
        who = _user_name(repos.users.get(note.signed_by_id)) or "the author"
        at = note.signed_at
        signature = f"Electronically signed by {who}" + (
            f" on {at:%b} {at.day}, {at.year}" if at else ""
        )
    addenda = [
        (a.reason, a.text, f"{_user_name(repos.users.get(a.author_id))}, {a.written_at:%b %d, %Y}")
        for a in (repos.encounters.addenda(note.id) if stored else [])
    ]
    data = NotePrint(
        person=bundle.participant.display_name,
        service_date=note.service_date,
        start=note.start_time,
        end=note.end_time,
        service=list(service_rows),
        goals=[goals[g].statement for g in note.goal_ids if g in goals],
        parts=[(NARRATIVE_LABELS[f], getattr(note, f)) for f in NARRATIVE_FIELDS[note.note_format]],
        status=STATUS_TEXT[note.status],
        signature=signature,
        addenda=addenda,
        part2=bundle.part2,
        printed_at=printed_at,
    )
    path = save_export(path, render(data), what="note PDF")
    repos.store.audit("export", "encounters", note.id, what="note PDF", part2=bundle.part2)
    return path


def lifecycle_editable(note: Encounter) -> bool:
    return note.status in EDITABLE_STATUSES
