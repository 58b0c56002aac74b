"""A supervisor's rules and figures: the team at a glance, overdue notes, review
decisions that conflict, and supervision sessions signed by both sides.

Plain Python: no Qt, no SQL. The store hands in light rows (:class:`NoteFacts`,
:class:`HoursFacts`) and gets back plain results, so the same functions serve the
team view, the oversight report and the tests.

* A note is **overdue** when it was signed more than ``overdue_days`` days after
  the service (default 3); a **stale draft** is a draft whose service is more than
  ``overdue_days`` days old.
* Units are computed from the minutes by the payer's rounding rule, with the
  payer's daily cap applied per participant per day.
* A **review conflict** is a note whose review fields hold two decisions (one
  device approved it while another returned it): the server keeps the decision
  that reached it first and records the other as a conflict on the note's status
  (older data: an approved note that carries a return comment, a returned note
  that carries an approval hash), or a local review decision the server refused.
  It is shown to the supervisor, never settled silently.
* A supervision session is signed by the supervisor on their device and by each
  specialist on theirs. A specialist's signature is their own ``TimeEntry`` of
  category "supervision received" for the session (so it is counted in their
  hours); on an individual session it also sets ``specialist_signed_at``. Once
  the supervisor has signed, what the session records cannot change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from datetime import timedelta

from app.domain.records import Encounter
from app.domain.records import NoteStatus
from app.domain.records import Payer
from app.domain.records import SupervisionFormat
from app.domain.records import SupervisionSession
from app.domain.records import SupervisionTopic
from app.domain.records import TimeCategory
from app.domain.records import TimeEntry
from app.domain.records import User
from app.domain.units import DEFAULT_RULE
from app.domain.units import RoundingRule

DEFAULT_OVERDUE_DAYS = 3
MAX_OVERDUE_DAYS = 60
CHART_WEEKS = 12
TOPICS: tuple[str, ...] = tuple(t.value for t in SupervisionTopic)
MAX_SESSION_MINUTES = 8 * 60


class SupervisionError(ValueError):
    """A move the supervision rules do not allow; the message says why."""


# -- periods -----------------------------------------------------------------------


def week_start(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def month_bounds(year: int, month: int) -> tuple[date, date]:
    """First and last day of a month."""
    if not 1 <= month <= 12:
        raise ValueError("a month is 1 to 12")
    first = date(year, month, 1)
    nxt = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return first, nxt - timedelta(days=1)


# -- light rows --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NoteFacts:
    """What the figures need of one note."""

    id: str
    specialist_id: str
    participant_id: str
    service_date: date
    minutes: int
    status: str
    signed_at: datetime | None = None
    payer_id: str = ""
    service_code: str = "H0038"
    reviewed_at: datetime | None = None

    @classmethod
    def of(cls, note: Encounter) -> NoteFacts:
        """The facts of a note record."""
        return cls(
            id=note.id, specialist_id=note.specialist_id, participant_id=note.participant_id,
            service_date=note.service_date, minutes=note.minutes, status=note.status,
            signed_at=note.signed_at, payer_id=note.payer_id, service_code=note.service_code,
            reviewed_at=note.reviewed_at,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class HoursFacts:
    specialist_id: str
    entry_date: date
    category: str
    minutes: int


def is_overdue(note: NoteFacts, overdue_days: int = DEFAULT_OVERDUE_DAYS) -> bool:
    """Signed more than ``overdue_days`` days after the service."""
    if note.signed_at is None:
        return False
    return (note.signed_at.date() - note.service_date).days > overdue_days


def is_stale_draft(note: NoteFacts, today: date, overdue_days: int = DEFAULT_OVERDUE_DAYS) -> bool:
    return note.status == NoteStatus.DRAFT and (today - note.service_date).days > overdue_days


def units_by_note(
    notes: Iterable[NoteFacts], payers: Mapping[str, Payer] | None = None
) -> dict[str, int]:
    """Units of each note that is not void, by its payer's rounding rule, with the
    payer's daily cap applied per participant per day (in id order, a stable one)."""
    payers = payers or {}
    groups: dict[tuple[str, date, str], list[NoteFacts]] = defaultdict(list)
    for n in notes:
        if n.status == NoteStatus.VOID or not n.service_code:
            continue
        groups[(n.participant_id, n.service_date, n.payer_id)].append(n)
    out: dict[str, int] = {}
    for (_p, _d, payer_id), group in groups.items():
        payer = payers.get(payer_id)
        rule = RoundingRule.for_payer(payer) if payer else DEFAULT_RULE
        group.sort(key=lambda n: n.id)
        for n, u in zip(group, rule.units_for_day([n.minutes for n in group]), strict=True):
            out[n.id] = u
    return out


# -- the team view -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SpecialistSummary:
    specialist_id: str
    name: str
    credential: str
    caseload: int
    encounters_week: int
    encounters_month: int
    units_week: int
    units_month: int
    awaiting_review: int
    overdue_month: int
    stale_drafts: int
    direct_hours_month: float
    ce_hours_year: float
    supervision_hours_year: float


@dataclass(frozen=True, slots=True)
class TeamOverview:
    today: date
    overdue_days: int
    rows: tuple[SpecialistSummary, ...]
    weeks: tuple[date, ...]  # Mondays, oldest first
    hours: Mapping[str, tuple[float, ...]]  # specialist id -> hours per week

    @property
    def totals(self) -> dict[str, float]:
        keys = (
            "caseload", "encounters_week", "encounters_month", "units_week", "units_month",
            "awaiting_review", "overdue_month", "stale_drafts", "direct_hours_month",
            "ce_hours_year",
        )  # fmt: skip
        return {k: sum(getattr(r, k) for r in self.rows) for k in keys}


def team_overview(
    specialists: Sequence[User],
    caseloads: Mapping[str, int],
    notes: Iterable[NoteFacts],
    hours: Iterable[HoursFacts],
    today: date,
    overdue_days: int = DEFAULT_OVERDUE_DAYS,
    payers: Mapping[str, Payer] | None = None,
    weeks: int = CHART_WEEKS,
) -> TeamOverview:
    """Every specialist's figures for the week and month containing ``today``."""
    if not 0 <= overdue_days <= MAX_OVERDUE_DAYS:
        raise ValueError(f"the overdue limit is 0 to {MAX_OVERDUE_DAYS} days")
    monday = week_start(today)
    month_first, _ = month_bounds(today.year, today.month)
    ids = {s.id for s in specialists}
    notes = [n for n in notes if n.specialist_id in ids]
    units = units_by_note((n for n in notes if n.service_date >= min(monday, month_first)), payers)
    stats: dict[str, dict[str, float]] = {s.id: defaultdict(float) for s in specialists}
    for n in notes:
        _count_note(stats[n.specialist_id], n, units.get(n.id, 0), today, overdue_days)
    mondays = tuple(monday - timedelta(weeks=k) for k in range(weeks - 1, -1, -1))
    per_week = _count_hours(stats, hours, today, mondays)
    rows = [_summary(s, stats[s.id], caseloads.get(s.id, 0)) for s in specialists]
    rows.sort(key=lambda r: r.name.casefold())
    return TeamOverview(
        today=today,
        overdue_days=overdue_days,
        rows=tuple(rows),
        weeks=mondays,
        hours={k: tuple(round(v, 2) for v in vals) for k, vals in per_week.items()},
    )


def _count_note(
    st: dict[str, float], n: NoteFacts, units: float, today: date, overdue_days: int
) -> None:
    """Adds one note to its specialist's week and month figures."""
    monday = week_start(today)
    month_first, _ = month_bounds(today.year, today.month)
    live = n.status != NoteStatus.VOID
    if live and monday <= n.service_date <= today:
        st["encounters_week"] += 1
        st["units_week"] += units
    if live and month_first <= n.service_date <= today:
        st["encounters_month"] += 1
        st["units_month"] += units
    if n.status == NoteStatus.SIGNED:
        st["awaiting_review"] += 1
    if live and n.service_date >= month_first and is_overdue(n, overdue_days):
        st["overdue_month"] += 1
    if is_stale_draft(n, today, overdue_days):
        st["stale_drafts"] += 1


def _count_hours(
    stats: dict[str, dict[str, float]],
    hours: Iterable[HoursFacts],
    today: date,
    mondays: tuple[date, ...],
) -> dict[str, list[float]]:
    """Adds the month's direct hours and the year's CE and supervision hours to
    ``stats``; returns each specialist's hours per week of ``mondays``."""
    month_first, _ = month_bounds(today.year, today.month)
    year_ago = today - timedelta(days=365)
    index = {m: i for i, m in enumerate(mondays)}
    per_week: dict[str, list[float]] = {sid: [0.0] * len(mondays) for sid in stats}
    for h in hours:
        if h.specialist_id not in stats:
            continue
        st = stats[h.specialist_id]
        if h.category == TimeCategory.DIRECT and month_first <= h.entry_date <= today:
            st["direct_minutes_month"] += h.minutes
        if year_ago < h.entry_date <= today:
            if h.category == TimeCategory.TRAINING:
                st["ce_minutes_year"] += h.minutes
            elif h.category == TimeCategory.SUPERVISION:
                st["supervision_minutes_year"] += h.minutes
        i = index.get(week_start(h.entry_date))
        if i is not None and h.entry_date <= today:
            per_week[h.specialist_id][i] += h.minutes / 60
    return per_week


def _summary(s: User, st: dict[str, float], caseload: int) -> SpecialistSummary:
    return SpecialistSummary(
        specialist_id=s.id,
        name=s.display_name or s.username,
        credential=str(s.credential),
        caseload=caseload,
        encounters_week=int(st["encounters_week"]),
        encounters_month=int(st["encounters_month"]),
        units_week=int(st["units_week"]),
        units_month=int(st["units_month"]),
        awaiting_review=int(st["awaiting_review"]),
        overdue_month=int(st["overdue_month"]),
        stale_drafts=int(st["stale_drafts"]),
        direct_hours_month=round(st["direct_minutes_month"] / 60, 1),
        ce_hours_year=round(st["ce_minutes_year"] / 60, 1),
        supervision_hours_year=round(st["supervision_minutes_year"] / 60, 1),
    )


# -- review decisions ---------------------------------------------------------------


def review_conflict(
    status: str,
    review_comment: str,
    approved_content_hash: str,
    refused_review: bool = False,
    other_decision: str = "",
) -> str:
    """Plain words when a note holds two review decisions, else ''. ``other_decision``
    is the status a refused decision would have set (from the conflict on status)."""
    if status == NoteStatus.APPROVED and (
        review_comment.strip() or other_decision == NoteStatus.RETURNED
    ):
        return (
            "Two review decisions met: this note was approved on one device and returned "
            "for revision on another. The approval reached the server first, so the note "
            "stays approved. Decide whether the return still needs an answer, then mark "
            "the conflict as seen."
        )
    if status == NoteStatus.RETURNED and (
        approved_content_hash or other_decision == NoteStatus.APPROVED
    ):
        return (
            "Two review decisions met: this note was returned for revision on one device "
            "and approved on another. The return reached the server first, so the note "
            "stays returned until the specialist answers it. Mark the conflict as seen."
        )
    if refused_review:
        return (
            "Your review decision on this device was refused by the server because another "
            "decision reached it first. The note shows the decision that stands."
        )
    return ""


@dataclass(frozen=True, slots=True)
class ReviewOutcomes:
    approved: int = 0
    returned: int = 0
    waiting: int = 0
    drafts: int = 0
    billed: int = 0
    void: int = 0


def review_outcomes(statuses: Iterable[str]) -> ReviewOutcomes:
    c: dict[str, int] = defaultdict(int)
    for s in statuses:
        c[s] += 1
    return ReviewOutcomes(
        approved=c[NoteStatus.APPROVED],
        returned=c[NoteStatus.RETURNED],
        waiting=c[NoteStatus.SIGNED],
        drafts=c[NoteStatus.DRAFT],
        billed=c[NoteStatus.BILLED],
        void=c[NoteStatus.VOID],
    )


# -- supervision sessions -------------------------------------------------------------


def session_problems(s: SupervisionSession, today: date | None = None) -> list[tuple[str, str]]:
    """Everything that keeps a session from being saved, as (field, message)."""
    p: list[tuple[str, str]] = []
    if not s.specialist_ids:
        p.append(("specialist_ids", "choose who took part"))
    elif s.format is SupervisionFormat.INDIVIDUAL and len(s.specialist_ids) != 1:
        p.append(("specialist_ids", "individual supervision is with one specialist"))
    elif s.format is SupervisionFormat.GROUP and len(s.specialist_ids) < 2:
        p.append(("specialist_ids", "group supervision needs at least two specialists"))
    if len(set(s.specialist_ids)) != len(s.specialist_ids):
        p.append(("specialist_ids", "a specialist is listed twice"))
    if not 1 <= s.minutes <= MAX_SESSION_MINUTES:
        p.append(("minutes", f"enter the length: 1 to {MAX_SESSION_MINUTES} minutes"))
    if today is not None and s.session_date > today:
        p.append(("session_date", "a session is logged after it took place"))
    if not s.topics:
        p.append(("topics", "tick at least one topic"))
    elif any(t not in TOPICS for t in s.topics):
        p.append(("topics", "choose topics from the list"))
    if s.next_date is not None and s.next_date <= s.session_date:
        p.append(("next_date", "the next session comes after this one"))
    return p


def check_session_edit(before: SupervisionSession, after: SupervisionSession) -> None:
    """Once the supervisor signed, the session's record is fixed."""
    if before.supervisor_signed_at is None:
        return
    frozen = (
        "supervisor_id", "specialist_ids", "session_date", "minutes", "format", "modality",
        "topics", "cases_reviewed", "action_items", "next_date", "supervisor_signed_at",
    )  # fmt: skip
    changed = [f for f in frozen if getattr(before, f) != getattr(after, f)]
    if changed:
        raise SupervisionError(
            "this session is signed; what it records cannot change. Log a new session "
            "for anything that was missed."
        )


def sign_as_supervisor(
    s: SupervisionSession, supervisor: User, at: datetime, today: date | None = None
) -> SupervisionSession:
    if supervisor.id != s.supervisor_id:
        raise SupervisionError("only the supervisor who held the session signs it")
    if s.supervisor_signed_at is not None:
        raise SupervisionError("you have already signed this session")
    problems = session_problems(s, today)
    if problems:
        raise SupervisionError("; ".join(m for _f, m in problems))
    return s.replace(supervisor_signed_at=at)  # type: ignore[return-value]


def received_entry(
    s: SupervisionSession, specialist_id: str, signed_at: datetime | None, entry_id: str | None
) -> TimeEntry:
    """The specialist's hours entry for a session: supervision received, its minutes,
    linked to it; noted with the time they signed (``signed_at``) where known."""
    return TimeEntry(
        **({"id": entry_id} if entry_id else {}),
        specialist_id=specialist_id,
        entry_date=s.session_date,
        category=TimeCategory.SUPERVISION,
        minutes=s.minutes,
        supervision_id=s.id,
        purpose="Supervision received",
        note=f"Signed {signed_at.isoformat(timespec='minutes')}" if signed_at else "",
    )


def sign_as_specialist(
    s: SupervisionSession,
    specialist: User,
    at: datetime,
    existing: Sequence[TimeEntry] = (),
    entry_id: str | None = None,
) -> tuple[SupervisionSession, TimeEntry]:
    """The specialist's signature: their supervision time entry for the session (and,
    on an individual session, ``specialist_signed_at``). ``existing`` are their time
    entries already linked to the session."""
    if specialist.id not in s.specialist_ids:
        raise SupervisionError("only a specialist who took part signs the session")
    if s.supervisor_signed_at is None:
        raise SupervisionError(
            "your supervisor has not signed this session yet; sign after they have"
        )
    if any(e.specialist_id == specialist.id and not e.deleted for e in existing):
        raise SupervisionError("you have already signed this session")
    entry = received_entry(s, specialist.id, at, entry_id)
    after = s
    if s.format is SupervisionFormat.INDIVIDUAL:
        after = s.replace(specialist_signed_at=at)  # type: ignore[assignment]
    return after, entry


@dataclass(frozen=True, slots=True)
class SessionSignatures:
    supervisor: bool
    signed: tuple[str, ...] = field(default=())  # specialist ids that signed
    waiting: tuple[str, ...] = field(default=())  # specialist ids that have not

    @property
    def complete(self) -> bool:
        return self.supervisor and not self.waiting


def signatures(s: SupervisionSession, entries: Iterable[TimeEntry]) -> SessionSignatures:
    """Who has signed a session, from its supervision time entries."""
    signed_ids = {
        e.specialist_id
        for e in entries
        if e.supervision_id == s.id and e.category is TimeCategory.SUPERVISION and not e.deleted
    }
    if s.format is SupervisionFormat.INDIVIDUAL and s.specialist_signed_at is not None:
        signed_ids |= set(s.specialist_ids)
    return SessionSignatures(
        supervisor=s.supervisor_signed_at is not None,
        signed=tuple(i for i in s.specialist_ids if i in signed_ids),
        waiting=tuple(i for i in s.specialist_ids if i not in signed_ids),
    )
