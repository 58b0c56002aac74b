"""Reviewing notes: the review queue, a note opened for review (every read
audited), approvals signed with the passphrase, returns with a comment, review
conflicts seen, and a note's audit trail. Only notes of the supervisor's team
(app.services.team). Runs on the database thread.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import time
from typing import Any

from app.domain import lifecycle
from app.domain import supervision as sv
from app.domain.records import Addendum
from app.domain.records import Conflict
from app.domain.records import Encounter
from app.domain.records import Goal
from app.domain.records import NoteStatus
from app.domain.records import Role
from app.services import duplicates
from app.services.changes import NOTHING
from app.services.changes import Changed
from app.services.changes import Done
from app.services.team import FACT_COLUMNS
from app.services.team import OutsideTeam
from app.services.team import as_sentence
from app.services.team import fact_columns
from app.services.team import facts_of_row
from app.services.team import in_team
from app.services.team import me
from app.services.team import payers_by_id
from app.services.team import team
from app.services.team import team_ids
from app.services.team import user_names
from app.services.vaults import check_passphrase as _check_vault_passphrase
from app.store import audit
from app.store.db import utcnow
from app.store.errors import StoreError
from app.store.errors import WrongPassphrase
from app.store.repositories import Repositories
from app.store.repositories import Repository
from app.store.vault import Vault

REVIEW_FIELDS = (
    "status",
    "reviewed_by_id",
    "reviewed_at",
    "review_comment",
    "approved_content_hash",
)


class NotSigned(StoreError):
    def __init__(self) -> None:
        super().__init__("Enter your passphrase to sign. Approving is your electronic signature.")


# -- the review queue -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueRow:
    id: str
    service_date: date
    start_time: time | None
    minutes: int
    units: int
    specialist_id: str
    specialist_name: str
    participant_id: str
    participant_name: str
    status: str
    signed_at: datetime | None
    addenda: int
    conflict: bool = False
    content_hash: str = ""  # as signed: what a batch approval is recorded with


def _conflicted_notes(repos: Repositories, ids: Sequence[str] | None = None) -> dict[str, str]:
    """Notes with open conflicts on review fields whose decisions differ (id -> the
    words that explain it). A conflict on ``status`` holds the decision that lost."""
    marks = ",".join("?" for _ in REVIEW_FIELDS)
    rows = repos.store.conn.execute(
        "SELECT DISTINCT e.id, e.status, e.review_comment, e.approved_content_hash, "
        "CASE WHEN c.field = 'status' AND c.lost_value IS NOT c.kept_value "
        "THEN c.lost_value ELSE '' END "
        "FROM conflicts c "
        "JOIN encounters e ON e.id = c.target_id "
        f"WHERE c.deleted = 0 AND c.status = 'open' AND c.table_name = 'encounters' "
        f"AND c.field IN ({marks})",
        REVIEW_FIELDS,
    ).fetchall()
    refused = _refused_review_ids(repos)
    out: dict[str, str] = {}
    for rid, status, comment, approved_hash, lost in rows:
        if ids is not None and rid not in ids:
            continue
        other = _json_text(lost)
        words = sv.review_conflict(status, comment, approved_hash, rid in refused, other)
        if words:
            out[rid] = words
    return out


def _json_text(value: str) -> str:
    """A conflict's value is the JSON of the field value; '' when it is not a text."""
    try:
        v = json.loads(value) if value else ""
    except ValueError:
        return ""
    return v if isinstance(v, str) else ""


def _refused_review_ids(repos: Repositories) -> set[str]:
    marks = ",".join("?" for _ in REVIEW_FIELDS)
    return {
        r[0]
        for r in repos.store.conn.execute(
            "SELECT DISTINCT record_id FROM outbox WHERE table_name = 'encounters' "
            f"AND rejected_reason IS NOT NULL AND field IN ({marks}) UNION "
            "SELECT record_id FROM held_fields WHERE table_name = 'encounters' "
            f"AND field IN ({marks})",
            (*REVIEW_FIELDS, *REVIEW_FIELDS),
        )
    }


def review_queue(
    repos: Repositories, specialist_id: str = "", participant_id: str = ""
) -> list[QueueRow]:
    """Signed notes of the team waiting for review, oldest service first, and notes
    whose review decisions conflict (first of all)."""
    ids = [u.id for u in team(repos)]
    if not ids:
        return []
    conflicted = _conflicted_notes(repos)
    marks = ",".join("?" for _ in ids)
    where = [f"e.deleted = 0 AND e.specialist_id IN ({marks})"]
    params: list[Any] = list(ids)
    cmarks = ",".join("?" for _ in conflicted)
    where.append(
        f"(e.status = 'signed' OR e.id IN ({cmarks}))" if conflicted else "e.status = 'signed'"
    )
    params += list(conflicted)
    if specialist_id:
        where.append("e.specialist_id = ?")
        params.append(specialist_id)
    if participant_id:  # and every record merged into it
        where.append("e.participant_id IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(duplicates.group_ids(repos, participant_id)))
    rows = repos.store.conn.execute(
        f"SELECT {fact_columns('e')}, "
        "coalesce(nullif(u.display_name, ''), u.username, ''), "
        "coalesce(nullif(p.preferred_name, ''), p.first_name, '') || ' ' "
        "|| coalesce(p.last_name, ''), "
        "(SELECT count(*) FROM addenda a WHERE a.encounter_id = e.id AND a.deleted = 0), "
        "e.content_hash "
        "FROM encounters e LEFT JOIN users u ON u.id = e.specialist_id "
        "LEFT JOIN participants p ON p.id = e.participant_id "
        f"WHERE {' AND '.join(where)}",
        params,
    ).fetchall()
    facts = [facts_of_row(r) for r in rows]
    extra = len(FACT_COLUMNS)
    units = sv.units_by_note(facts, payers_by_id(repos))
    out = [
        QueueRow(
            id=f.id,
            service_date=f.service_date,
            start_time=time.fromisoformat(r[4]) if r[4] else None,
            minutes=f.minutes,
            units=units.get(f.id, 0),
            specialist_id=f.specialist_id,
            specialist_name=r[extra],
            participant_id=f.participant_id,
            participant_name=r[extra + 1].strip(),
            status=r[6],
            signed_at=f.signed_at,
            addenda=r[extra + 2],
            conflict=f.id in conflicted,
            content_hash=r[extra + 3],
        )
        for r, f in zip(rows, facts, strict=True)
    ]
    out.sort(key=lambda q: (not q.conflict, q.service_date, q.start_time or time(), q.id))
    return out


# -- one note, opened for review ------------------------------------------------------------


@dataclass(frozen=True)
class ReviewNote:
    note: Encounter
    loaded_hash: str  # the content hash of what the reviewer is shown
    participant_name: str
    specialist_name: str
    reviewer_name: str
    addenda: tuple[tuple[Addendum, str], ...]  # (addendum, author name)
    goals: tuple[Goal, ...]
    missing_goals: int
    minutes: int
    units: int
    signature_intact: bool  # the content still hashes to what the author signed
    conflict: str  # plain words when two review decisions met, else ""

    @property
    def can_review(self) -> bool:
        return self.note.status is NoteStatus.SIGNED and self.signature_intact


def open_for_review(repos: Repositories, encounter_id: str) -> ReviewNote:
    """The note, its addenda and goals, each read written to the audit log."""
    note = repos.encounters.require(encounter_id)
    in_team(repos, note)
    note = repos.encounters.open(encounter_id)
    names = user_names(repos)
    participant = repos.participants.open(note.participant_id)
    addenda = tuple(
        (repos.addenda.open(a.id), names.get(a.author_id, ""))
        for a in repos.encounters.addenda(note.id)
    )
    goals = []
    missing = 0
    for gid in note.goal_ids:
        if repos.goals.get(gid) is None:
            missing += 1
        else:
            goals.append(repos.goals.open(gid))
    facts = sv.NoteFacts.of(note)
    units = sv.units_by_note([facts], payers_by_id(repos)).get(note.id, 0)
    loaded = lifecycle.content_hash(note)
    conflict = _conflicted_notes(repos, [note.id]).get(note.id, "")
    return ReviewNote(
        note=note,
        loaded_hash=loaded,
        participant_name=participant.display_name,
        specialist_name=names.get(note.specialist_id, ""),
        reviewer_name=names.get(note.reviewed_by_id, ""),
        addenda=addenda,
        goals=tuple(goals),
        missing_goals=missing,
        minutes=note.minutes,
        units=units,
        signature_intact=(not note.content_hash) or loaded == note.content_hash,
        conflict=conflict,
    )


# -- review decisions -----------------------------------------------------------------------


#: What a signer reads when the passphrase typed to sign is not theirs: said as a
#: signature, not as an unlock ("does not unlock this vault" puzzled supervisors).
WRONG_SIGNING_PASSPHRASE = "That passphrase is not right. Nothing was signed; try again."


def check_passphrase(vault: Vault, passphrase: str) -> None:
    """Re-enter the passphrase: the supervisor's electronic signature. Raises
    :class:`NotSigned` when empty, WrongPassphrase (with
    :data:`WRONG_SIGNING_PASSPHRASE`) when it is not the vault's passphrase."""
    if not passphrase:
        raise NotSigned()
    try:
        _check_vault_passphrase(vault, passphrase)
    except WrongPassphrase:
        raise WrongPassphrase(message=WRONG_SIGNING_PASSPHRASE) from None


@dataclass(frozen=True)
class BatchResult:
    approved: tuple[str, ...]
    refused: tuple[tuple[str, str], ...]  # (note id, why)

    @property
    def changed(self) -> Changed:
        return Changed.of(Encounter.TABLE, ids=self.approved) if self.approved else NOTHING


def approve(
    repos: Repositories, vault: Vault, passphrase: str, items: Sequence[tuple[str, str]]
) -> BatchResult:
    """Approve notes, each with the content hash the supervisor loaded, after one
    passphrase check. Each note is approved or refused on its own; a refusal says why."""
    if not items:
        raise StoreError("Choose the notes to approve.")
    check_passphrase(vault, passphrase)
    reviewer = me(repos)
    members = team_ids(repos)
    approved, refused = [], []
    for note_id, loaded_hash in items:
        note = repos.encounters.get(note_id)
        if note is None or note.specialist_id not in members:
            refused.append((note_id, str(OutsideTeam())))
            continue
        try:
            with repos.store.transaction():
                after = repos.encounters.approve(note_id, reviewer, loaded_hash)
                audit.append(
                    repos.store.conn,
                    at=utcnow(),
                    user_id=repos.store.user_id,
                    device_id=repos.store.device_id,
                    action="sign",
                    record_type="encounters",
                    record_id=note_id,
                    detail={"as": "reviewer", "content_hash": after.approved_content_hash},
                )
        except lifecycle.LifecycleError as e:
            refused.append((note_id, as_sentence(str(e))))
            continue
        approved.append(note_id)
    return BatchResult(tuple(approved), tuple(refused))


def return_for_revision(repos: Repositories, note_id: str, comment: str) -> Done[Encounter]:
    if not comment.strip():
        raise StoreError("Say what needs revising: a comment is required. Nothing was changed.")
    note = repos.encounters.require(note_id)
    in_team(repos, note)
    try:
        returned = repos.encounters.return_for_revision(note_id, me(repos), comment)
    except lifecycle.LifecycleError as e:
        raise StoreError(as_sentence(str(e))) from None
    return Done(returned, Changed.of(repos.encounters.table, ids=[note_id]))


def mark_conflict_seen(repos: Repositories, note_id: str) -> Done[int]:
    """Resolve the open review conflicts of a note (the supervisor has seen them)."""
    note = repos.encounters.require(note_id)
    in_team(repos, note)
    conflicts = Repository(repos.store, Conflict)
    marks = ",".join("?" for _ in REVIEW_FIELDS)
    rows = conflicts.list(
        f"target_id = ? AND status = 'open' AND field IN ({marks})", (note_id, *REVIEW_FIELDS)
    )
    with repos.store.transaction():
        for c in rows:
            conflicts.update(
                c.replace(  # type: ignore[arg-type]
                    status="resolved",
                    resolved_by_id=repos.store.user_id,
                    resolved_at=utcnow().isoformat(),
                    resolution="seen by the supervisor",
                )
            )
    return Done(len(rows), Changed.of(conflicts.table, ids=[c.id for c in rows]))


# -- the audit trail of a note --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrailEntry:
    at: datetime
    who: str
    action: str
    detail: str
    source: str  # "this device" or "synced record"


ACTION_WORDS = {
    "create": "created",
    "change": "edited",
    "delete": "deleted",
    "sign": "signed",
    "review": "reviewed",
    "addendum": "addendum added",
    "view": "opened",
    "export": "exported",
}


def _stamp_time(stamp: str) -> datetime:
    from datetime import UTC

    return datetime.fromtimestamp(int(stamp.split(".")[0], 16) / 1000, UTC).replace(microsecond=0)


def note_trail(repos: Repositories, note_id: str) -> list[TrailEntry]:
    """Who created, edited, signed, reviewed, exported and opened the note, and when:
    this device's audit log, plus what the synced record itself says (other devices'
    audit logs stay on those devices). Viewing the trail is audited too."""
    note = repos.encounters.require(note_id)
    if me(repos).role in (Role.SUPERVISOR, Role.ADMIN):
        in_team(repos, note)
    names = user_names(repos)
    repos.encounters.open(note_id)  # reading the trail is reading the note
    addenda = repos.encounters.addenda(note_id)
    local = _logged_here(repos, note_id, [a.id for a in addenda], names)
    derived = _from_the_record(repos, note, addenda, names)

    def same(d: TrailEntry) -> bool:
        return any(
            lo.action.split(":")[0] == d.action.split(":")[0]
            and abs((lo.at - d.at).total_seconds()) < 120
            for lo in local
        )

    entries = local + [d for d in derived if not same(d)]
    entries.sort(key=lambda t: t.at)
    return entries


def _logged_here(
    repos: Repositories, note_id: str, addendum_ids: list[str], names: dict[str, str]
) -> list[TrailEntry]:
    """The note's and its addenda's entries in this device's audit log."""
    local: list[TrailEntry] = []
    for rid in [note_id, *addendum_ids]:
        for e in audit.trail(repos.store.conn, rid):
            detail = e["detail"] or {}
            words = ACTION_WORDS.get(e["action"], e["action"])
            extra = ""
            if e["action"] == "review":
                words = f"review: {detail.get('outcome', '')}".rstrip(": ")
            elif e["action"] == "sign" and detail.get("as") == "reviewer":
                words = "approval signed with passphrase"
            elif e["action"] == "change" and detail.get("fields"):
                extra = "fields: " + ", ".join(detail["fields"])
            if rid != note_id:
                extra = ("addendum " + extra).strip()
            at = datetime.fromisoformat(e["at"])
            local.append(TrailEntry(at, names.get(e["user_id"], ""), words, extra, "this device"))
    return local


def _from_the_record(
    repos: Repositories, note: Encounter, addenda: Sequence[Addendum], names: dict[str, str]
) -> list[TrailEntry]:
    """What the synced record says: its stamps, signature, review, addenda, billing."""
    synced = "synced record"
    author = names.get(note.specialist_id, "")
    stamps = dict(
        repos.store.conn.execute(
            "SELECT field, stamp FROM field_stamps WHERE record_id = ?", (note.id,)
        )
    )
    derived: list[TrailEntry] = []
    if stamps:
        first = min(stamps.values())
        derived.append(TrailEntry(_stamp_time(first), author, "created", "", synced))
        content = [s for f, s in stamps.items() if f in lifecycle.CONTENT_FIELDS and s != first]
        if content:
            last = "last change to the note's content"
            derived.append(TrailEntry(_stamp_time(max(content)), author, "edited", last, synced))
    if note.signed_at:
        signer = names.get(note.signed_by_id, "")
        derived.append(TrailEntry(note.signed_at, signer, "signed", "", synced))
    if note.reviewed_at:
        outcome = {
            NoteStatus.APPROVED: "approved",
            NoteStatus.BILLED: "approved",
            NoteStatus.RETURNED: "returned",
        }.get(note.status, "approved" if note.approved_content_hash else "returned")
        reviewer = names.get(note.reviewed_by_id, "")
        derived.append(TrailEntry(note.reviewed_at, reviewer, f"review: {outcome}", "", synced))
    for a in addenda:
        writer = names.get(a.author_id, "")
        derived.append(TrailEntry(a.written_at, writer, "addendum added", a.reason, synced))
    if note.billed_at:
        derived.append(TrailEntry(note.billed_at, "", "exported", "billing batch", synced))
    return derived
