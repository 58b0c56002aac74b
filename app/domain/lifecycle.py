"""The service note's life cycle: who may move a note where, and what signing needs.

draft --sign--> signed --approve--> approved --bill--> billed
                  |  ^                  ^                |
            return|  |addendum          +--void batch----+
                  v  |
                returned
draft/signed/returned --void (with reason)--> void

A signed note's content cannot change: it is amended by an addendum with a
reason. A returned note goes back to the review queue when its author answers
with an addendum. Review fields are written only by supervisors. A billed note
cannot change at all until its batch is voided.
"""

from __future__ import annotations

import operator
from datetime import datetime

from app.domain.records import Addendum
from app.domain.records import Encounter
from app.domain.records import NoteFormat
from app.domain.records import NoteStatus
from app.domain.records import Role
from app.domain.records import ServiceSetting
from app.domain.records import User
from app.domain.validation import HCPCS_RE
from app.domain.validation import MODIFIER_RE
from app.domain.validation import POS_RE
from app.domain.validation import ValidationError
from sync import content as sync_content

# Fields that make up the note's content: frozen once signed, hashed at signing
# (sync.content holds the hash, so the server computes the same one).
CONTENT_FIELDS: tuple[str, ...] = sync_content.CONTENT_FIELDS

NARRATIVE_FIELDS: dict[NoteFormat, tuple[str, ...]] = {
    NoteFormat.GIRP: ("goal_text", "intervention", "response", "plan"),
    NoteFormat.DAP: ("data", "assessment", "plan"),
}

NARRATIVE_LABELS: dict[str, str] = {
    "goal_text": "Goal",
    "intervention": "Intervention",
    "response": "Response",
    "plan": "Plan",
    "data": "Data",
    "assessment": "Assessment",
}

#: What a person calls each status of a note.
STATUS_TEXT: dict[NoteStatus, str] = {
    NoteStatus.DRAFT: "Draft",
    NoteStatus.SIGNED: "Signed",
    NoteStatus.RETURNED: "Returned for revision",
    NoteStatus.APPROVED: "Approved",
    NoteStatus.BILLED: "Billed",
    NoteStatus.VOID: "Void",
}

EDITABLE_STATUSES = frozenset({NoteStatus.DRAFT})


class LifecycleError(ValueError):
    """A transition the rules do not allow; the message says why in plain words."""


_CONTENT_OF = operator.attrgetter(*CONTENT_FIELDS)


def content_hash(note: Encounter) -> str:
    """SHA-256 over the note's content fields (sync.content.content_hash): the
    sorted-key compact JSON of the fields, dates and times in ISO 8601, tuples as
    arrays, enums as their values. Billing hashes 10,000 notes at once."""
    return sync_content.content_hash(dict(zip(CONTENT_FIELDS, _CONTENT_OF(note), strict=True)))


def signing_problems(note: Encounter) -> list[tuple[str, str]]:
    """Everything that keeps a note from being signed, as (field, message)."""
    p: list[tuple[str, str]] = []
    if not note.participant_id:
        p.append(("participant_id", "choose the person served"))
    if not note.specialist_id:
        p.append(("specialist_id", "the note has no author"))
    if note.start_time is None or note.end_time is None:
        p.append(("start_time", "enter the start and end time"))
    elif note.minutes <= 0:
        p.append(("end_time", "the end time must be after the start time"))
    if not HCPCS_RE.match(note.service_code):
        p.append(("service_code", "enter a service code such as H0038"))
    if any(not MODIFIER_RE.match(m) for m in note.modifiers):
        p.append(("modifiers", "modifiers are two letters or digits"))
    if not POS_RE.match(note.place_of_service):
        p.append(("place_of_service", "choose a place of service"))
    if note.setting is ServiceSetting.GROUP and note.group_size < 2:
        p.append(("group_size", "a group service needs the number of people in the group"))
    if not note.goal_ids:
        p.append(("goal_ids", "pick the recovery goal(s) this session worked on"))
    for f in NARRATIVE_FIELDS[note.note_format]:
        if not getattr(note, f).strip():
            p.append((f, f"write the {NARRATIVE_LABELS[f]} part of the note"))
    return p


def check_edit(before: Encounter, after: Encounter) -> None:
    """Raise unless changing ``before`` into ``after`` is an allowed edit of content."""
    changed = [f for f in CONTENT_FIELDS if getattr(before, f) != getattr(after, f)]
    if not changed:
        return
    if before.status not in EDITABLE_STATUSES:
        raise LifecycleError(
            f"this note is {before.status.value}; its content cannot change. "
            "Add an addendum with a reason instead."
        )


def sign(note: Encounter, signer: User, at: datetime) -> Encounter:
    if note.status is not NoteStatus.DRAFT:
        raise LifecycleError(f"only a draft can be signed; this note is {note.status.value}")
    if signer.id != note.specialist_id:
        raise LifecycleError("only the note's author can sign it")
    problems = signing_problems(note)
    if problems:
        raise ValidationError(problems)
    return note.replace(  # type: ignore[return-value]
        status=NoteStatus.SIGNED,
        signed_by_id=signer.id,
        signed_at=at,
        content_hash=content_hash(note),
    )


def _require_reviewer(reviewer: User, note: Encounter) -> None:
    if reviewer.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise LifecycleError("only a supervisor can review notes")
    if reviewer.id == note.specialist_id:
        raise LifecycleError("a note cannot be reviewed by its own author")


def approve(note: Encounter, reviewer: User, at: datetime, loaded_hash: str) -> Encounter:
    """Approve a signed note. ``loaded_hash`` is the content hash the reviewer read:
    if the note changed since, approval is refused."""
    _require_reviewer(reviewer, note)
    if note.status is not NoteStatus.SIGNED:
        raise LifecycleError(f"only a signed note can be approved; this note is {note.status}")
    current = content_hash(note)
    if current != note.content_hash or current != loaded_hash:
        raise LifecycleError("the note changed after you opened it; reload it and review it again")
    return note.replace(  # type: ignore[return-value]
        status=NoteStatus.APPROVED,
        reviewed_by_id=reviewer.id,
        reviewed_at=at,
        review_comment="",
        approved_content_hash=current,
    )


def return_for_revision(note: Encounter, reviewer: User, at: datetime, comment: str) -> Encounter:
    _require_reviewer(reviewer, note)
    if note.status is not NoteStatus.SIGNED:
        raise LifecycleError(f"only a signed note can be returned; this note is {note.status}")
    if not comment.strip():
        raise LifecycleError("say what needs revising: a comment is required")
    return note.replace(  # type: ignore[return-value]
        status=NoteStatus.RETURNED,
        reviewed_by_id=reviewer.id,
        reviewed_at=at,
        review_comment=comment.strip(),
    )


def make_addendum(
    note: Encounter,
    author: User,
    at: datetime,
    reason: str,
    text: str,
    addendum_id: str | None = None,
) -> tuple[Addendum, Encounter]:
    """An addendum to a signed, returned or approved note. Answering a returned
    note with an addendum sends it back to the review queue."""
    if note.status in (NoteStatus.DRAFT, NoteStatus.VOID):
        raise LifecycleError("a draft is edited directly; addenda are for signed notes")
    if note.status is NoteStatus.BILLED:
        raise LifecycleError("this service has been billed; void the billing batch first")
    if not reason.strip() or not text.strip():
        raise LifecycleError("an addendum needs both a reason and its text")
    if author.id != note.specialist_id and author.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise LifecycleError("only the note's author or a supervisor can add an addendum")
    add = Addendum(
        **({"id": addendum_id} if addendum_id else {}),
        encounter_id=note.id,
        author_id=author.id,
        written_at=at,
        reason=reason.strip(),
        text=text.strip(),
    )
    after = note
    if note.status is NoteStatus.RETURNED and author.id == note.specialist_id:
        after = note.replace(status=NoteStatus.SIGNED)  # type: ignore[assignment]
    return add, after


def billing_problem(note: Encounter, current_hash: str | None = None) -> str | None:
    """Why ``note`` cannot be billed now (in plain words), or None: it must be
    approved, and its content must be the content that was approved.
    ``current_hash`` is ``content_hash(note)`` when the caller has just computed it
    for this same record (the billing pre-flight); otherwise it is computed here."""
    if note.status is not NoteStatus.APPROVED:
        return "only approved services can be billed"
    if current_hash is None:
        current_hash = content_hash(note)
    if note.approved_content_hash != current_hash:
        return "the note changed after approval; it must be reviewed again"
    return None


def mark_billed(note: Encounter, batch_id: str, at: datetime) -> Encounter:
    problem = billing_problem(note)
    if problem:
        raise LifecycleError(problem)
    return note.replace(  # type: ignore[return-value]
        status=NoteStatus.BILLED, billing_batch_id=batch_id, billed_at=at
    )


def unbill(note: Encounter) -> Encounter:
    """Undo billing when the batch is voided: the service can be billed again."""
    if note.status is not NoteStatus.BILLED:
        raise LifecycleError("this service is not billed")
    return note.replace(  # type: ignore[return-value]
        status=NoteStatus.APPROVED, billing_batch_id="", billed_at=None
    )


def void(note: Encounter, by: User, reason: str) -> Encounter:
    if note.status in (NoteStatus.APPROVED, NoteStatus.BILLED):
        raise LifecycleError("an approved or billed service cannot be voided here")
    if note.status is NoteStatus.VOID:
        raise LifecycleError("this note is already void")
    if by.id != note.specialist_id and by.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise LifecycleError("only the note's author or a supervisor can void it")
    if not reason.strip():
        raise LifecycleError("say why the note is voided")
    return note.replace(status=NoteStatus.VOID, void_reason=reason.strip())  # type: ignore[return-value]
