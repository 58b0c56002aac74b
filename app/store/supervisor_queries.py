"""What a supervisor's screens read and write: the team, the review queue, a note
opened for review (audited), approvals signed with the passphrase, returns with a
comment, review conflicts, a note's audit trail, supervision sessions and the
month behind an oversight report.

Every function takes :class:`Repositories` and runs on the database thread. The
team is the users whose ``supervisor_id`` is the vault's owner (an administrator
sees every specialist); acting on a record outside the team fails with a plain
message. Figures and rules come from :mod:`app.domain.supervision`; this module
only reads and writes. Reads that show a person's record go through
``Repository.open`` so they are written to the audit log.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from app.domain import lifecycle
from app.domain import supervision as sv
from app.domain.records import (
    Addendum,
    Conflict,
    Encounter,
    Goal,
    NoteStatus,
    Payer,
    Role,
    SupervisionSession,
    TimeCategory,
    TimeEntry,
    User,
)
from app.store import audit
from app.store.db import utcnow
from app.store.errors import StoreError
from app.store.repositories import Repositories, Repository
from app.store.vault import Vault

OVERDUE_KEY = "setting_overdue_days"
REVIEW_FIELDS = (
    "status",
    "reviewed_by_id",
    "reviewed_at",
    "review_comment",
    "approved_content_hash",
)


class OutsideTeam(StoreError):
    """A record that is not in the signed-in supervisor's team."""

    def __init__(self) -> None:
        super().__init__(
            "That record is not in your team, so you cannot open or review it. Nothing was changed."
        )


class NotSigned(StoreError):
    def __init__(self) -> None:
        super().__init__("Enter your passphrase to sign. Approving is your electronic signature.")


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


def _team_ids(repos: Repositories) -> set[str]:
    return {u.id for u in team(repos)}


def _names(repos: Repositories) -> dict[str, str]:
    return {
        r[0]: (r[1] or r[2])
        for r in repos.store.conn.execute("SELECT id, display_name, username FROM users")
    }


def _in_team(repos: Repositories, note: Encounter) -> None:
    if note.specialist_id not in _team_ids(repos):
        raise OutsideTeam()


# -- settings -----------------------------------------------------------------------------


def overdue_days(repos: Repositories) -> int:
    raw = repos.store.meta(OVERDUE_KEY, str(sv.DEFAULT_OVERDUE_DAYS))
    try:
        n = int(raw)
    except ValueError:
        return sv.DEFAULT_OVERDUE_DAYS
    return n if 0 <= n <= sv.MAX_OVERDUE_DAYS else sv.DEFAULT_OVERDUE_DAYS


def set_overdue_days(repos: Repositories, days: int) -> int:
    if not 0 <= int(days) <= sv.MAX_OVERDUE_DAYS:
        raise StoreError(f"Choose 0 to {sv.MAX_OVERDUE_DAYS} days.")
    repos.store.set_meta(OVERDUE_KEY, str(int(days)))
    return int(days)


# -- the team view ----------------------------------------------------------------------


def _d(v: str | None) -> date | None:
    return date.fromisoformat(v) if v else None


def _dt(v: str | None) -> datetime | None:
    return datetime.fromisoformat(v) if v else None


def _minutes(start: str | None, end: str | None) -> int:
    if not start or not end:
        return 0
    a, b = time.fromisoformat(start), time.fromisoformat(end)
    return max(0, (b.hour * 60 + b.minute) - (a.hour * 60 + a.minute))


def note_facts(
    repos: Repositories, specialist_ids: Sequence[str], since: date | None = None
) -> list[sv.NoteFacts]:
    if not specialist_ids:
        return []
    marks = ",".join("?" for _ in specialist_ids)
    sql = (
        "SELECT id, specialist_id, participant_id, service_date, start_time, end_time, status, "
        "signed_at, payer_id, service_code, reviewed_at FROM encounters "
        f"WHERE deleted = 0 AND specialist_id IN ({marks})"
    )
    params: list[Any] = list(specialist_ids)
    if since is not None:
        sql += " AND (service_date >= ? OR status IN ('draft', 'signed'))"
        params.append(since.isoformat())
    return [
        sv.NoteFacts(
            id=r[0],
            specialist_id=r[1],
            participant_id=r[2],
            service_date=date.fromisoformat(r[3]),
            minutes=_minutes(r[4], r[5]),
            status=r[6],
            signed_at=_dt(r[7]),
            payer_id=r[8],
            service_code=r[9],
            reviewed_at=_dt(r[10]),
        )
        for r in repos.store.conn.execute(sql, params)
    ]


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


def _payers(repos: Repositories) -> dict[str, Payer]:
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
            f"AND assigned_specialist_id IN ({marks}) "
            "GROUP BY assigned_specialist_id",
            ids,
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
        _payers(repos),
    )


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
            f"AND rejected_reason IS NOT NULL AND field IN ({marks})",
            REVIEW_FIELDS,
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
    if participant_id:
        where.append("e.participant_id = ?")
        params.append(participant_id)
    rows = repos.store.conn.execute(
        "SELECT e.id, e.service_date, e.start_time, e.end_time, e.specialist_id, "
        "coalesce(nullif(u.display_name, ''), u.username, ''), e.participant_id, "
        "coalesce(nullif(p.preferred_name, ''), p.first_name, '') || ' ' "
        "|| coalesce(p.last_name, ''), "
        "e.status, e.signed_at, e.payer_id, e.service_code, "
        "(SELECT count(*) FROM addenda a WHERE a.encounter_id = e.id AND a.deleted = 0), "
        "e.content_hash "
        "FROM encounters e LEFT JOIN users u ON u.id = e.specialist_id "
        "LEFT JOIN participants p ON p.id = e.participant_id "
        f"WHERE {' AND '.join(where)}",
        params,
    ).fetchall()
    facts = [
        sv.NoteFacts(
            id=r[0],
            specialist_id=r[4],
            participant_id=r[6],
            service_date=date.fromisoformat(r[1]),
            minutes=_minutes(r[2], r[3]),
            status=r[8],
            payer_id=r[10],
            service_code=r[11],
        )
        for r in rows
    ]
    units = sv.units_by_note(facts, _payers(repos))
    out = [
        QueueRow(
            id=r[0],
            service_date=date.fromisoformat(r[1]),
            start_time=time.fromisoformat(r[2]) if r[2] else None,
            minutes=f.minutes,
            units=units.get(r[0], 0),
            specialist_id=r[4],
            specialist_name=r[5],
            participant_id=r[6],
            participant_name=r[7].strip(),
            status=r[8],
            signed_at=_dt(r[9]),
            addenda=r[12],
            conflict=r[0] in conflicted,
            content_hash=r[13],
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
    _in_team(repos, note)
    note = repos.encounters.open(encounter_id)
    names = _names(repos)
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
    facts = sv.NoteFacts(
        id=note.id, specialist_id=note.specialist_id, participant_id=note.participant_id,
        service_date=note.service_date, minutes=note.minutes, status=note.status,
        payer_id=note.payer_id, service_code=note.service_code,
    )  # fmt: skip
    units = sv.units_by_note([facts], _payers(repos)).get(note.id, 0)
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


def check_passphrase(vault: Vault, passphrase: str) -> None:
    """Re-enter the passphrase: the supervisor's electronic signature. Raises
    :class:`NotSigned` when empty, WrongPassphrase when it does not unlock the vault."""
    if not passphrase:
        raise NotSigned()
    vault.unlock(passphrase)  # derives the key again and checks it; the vault stays open


@dataclass(frozen=True)
class BatchResult:
    approved: tuple[str, ...]
    refused: tuple[tuple[str, str], ...]  # (note id, why)


def approve(
    repos: Repositories, vault: Vault, passphrase: str, items: Sequence[tuple[str, str]]
) -> BatchResult:
    """Approve notes, each with the content hash the supervisor loaded, after one
    passphrase check. Each note is approved or refused on its own; a refusal says why."""
    if not items:
        raise StoreError("Choose the notes to approve.")
    check_passphrase(vault, passphrase)
    reviewer = me(repos)
    team_ids = _team_ids(repos)
    approved, refused = [], []
    for note_id, loaded_hash in items:
        note = repos.encounters.get(note_id)
        if note is None or note.specialist_id not in team_ids:
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
            refused.append((note_id, _sentence(str(e))))
            continue
        approved.append(note_id)
    return BatchResult(tuple(approved), tuple(refused))


def return_for_revision(repos: Repositories, note_id: str, comment: str) -> Encounter:
    if not comment.strip():
        raise StoreError("Say what needs revising: a comment is required. Nothing was changed.")
    note = repos.encounters.require(note_id)
    _in_team(repos, note)
    try:
        return repos.encounters.return_for_revision(note_id, me(repos), comment)
    except lifecycle.LifecycleError as e:
        raise StoreError(_sentence(str(e))) from None


def mark_conflict_seen(repos: Repositories, note_id: str) -> int:
    """Resolve the open review conflicts of a note (the supervisor has seen them)."""
    note = repos.encounters.require(note_id)
    _in_team(repos, note)
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
    return len(rows)


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "."


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
        _in_team(repos, note)
    names = _names(repos)
    repos.encounters.open(note_id)  # reading the trail is reading the note
    conn = repos.store.conn
    addenda = repos.encounters.addenda(note_id)
    local: list[TrailEntry] = []
    for rid in [note_id, *(a.id for a in addenda)]:
        for e in audit.trail(conn, rid):
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
            local.append(
                TrailEntry(
                    datetime.fromisoformat(e["at"]),
                    names.get(e["user_id"], ""),
                    words,
                    extra,
                    "this device",
                )
            )
    stamps = dict(
        conn.execute("SELECT field, stamp FROM field_stamps WHERE record_id = ?", (note_id,))
    )
    derived: list[TrailEntry] = []
    if stamps:
        first = min(stamps.values())
        derived.append(
            TrailEntry(
                _stamp_time(first),
                names.get(note.specialist_id, ""),
                "created",
                "",
                "synced record",
            )
        )
        content = [s for f, s in stamps.items() if f in lifecycle.CONTENT_FIELDS and s != first]
        if content:
            derived.append(
                TrailEntry(
                    _stamp_time(max(content)),
                    names.get(note.specialist_id, ""),
                    "edited",
                    "last change to the note's content",
                    "synced record",
                )
            )
    if note.signed_at:
        derived.append(
            TrailEntry(
                note.signed_at, names.get(note.signed_by_id, ""), "signed", "", "synced record"
            )
        )
    if note.reviewed_at:
        outcome = {
            NoteStatus.APPROVED: "approved",
            NoteStatus.BILLED: "approved",
            NoteStatus.RETURNED: "returned",
        }.get(note.status, "approved" if note.approved_content_hash else "returned")
        derived.append(
            TrailEntry(
                note.reviewed_at,
                names.get(note.reviewed_by_id, ""),
                f"review: {outcome}",
                "",
                "synced record",
            )
        )
    for a in addenda:
        derived.append(
            TrailEntry(
                a.written_at,
                names.get(a.author_id, ""),
                "addendum added",
                a.reason,
                "synced record",
            )
        )
    if note.billed_at:
        derived.append(TrailEntry(note.billed_at, "", "exported", "billing batch", "synced record"))

    def same(d: TrailEntry) -> bool:
        return any(
            lo.action.split(":")[0] == d.action.split(":")[0]
            and abs((lo.at - d.at).total_seconds()) < 120
            for lo in local
        )

    entries = local + [d for d in derived if not same(d)]
    entries.sort(key=lambda t: t.at)
    return entries


# -- supervision sessions -------------------------------------------------------------------


@dataclass(frozen=True)
class SessionRow:
    session: SupervisionSession
    supervisor_name: str
    specialist_names: tuple[str, ...]
    signatures: sv.SessionSignatures
    signed_by_me: bool  # for a specialist: their signature is in


def sessions(repos: Repositories) -> list[SessionRow]:
    """Supervision sessions in this vault, newest first (a supervisor's own; a
    specialist's: those they were in)."""
    names = _names(repos)
    my_id = repos.store.user_id
    entries: dict[str, list[TimeEntry]] = defaultdict(list)
    for e in repos.time_entries.list(
        "category = ? AND supervision_id != ''", (TimeCategory.SUPERVISION.value,)
    ):
        entries[e.supervision_id].append(e)
    out = []
    for s in repos.supervision.list(order_by="session_date DESC, id"):
        if s.supervisor_id != my_id and my_id not in s.specialist_ids:
            continue
        sig = sv.signatures(s, entries.get(s.id, ()))
        out.append(
            SessionRow(
                session=s,
                supervisor_name=names.get(s.supervisor_id, ""),
                specialist_names=tuple(names.get(i, "") for i in s.specialist_ids),
                signatures=sig,
                signed_by_me=my_id in sig.signed,
            )
        )
    return out


def save_session(repos: Repositories, session: SupervisionSession) -> SupervisionSession:
    """Add or update a session the vault's owner holds (validated)."""
    owner = me(repos)
    if session.supervisor_id != owner.id:
        raise StoreError("Only the supervisor who holds a session records it.")
    problems = sv.session_problems(session, date.today())
    if problems:
        raise SessionInvalid(problems)
    team_ids = _team_ids(repos)
    if any(i not in team_ids for i in session.specialist_ids):
        raise OutsideTeam()
    before = repos.supervision.get(session.id)
    if before is None:
        return repos.supervision.add(session)
    try:
        sv.check_session_edit(before, session)
    except sv.SupervisionError as e:
        raise StoreError(_sentence(str(e))) from None
    return repos.supervision.update(session)


class SessionInvalid(StoreError):
    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__(
            "The session could not be saved: " + "; ".join(m for _f, m in problems) + "."
        )


def sign_session(repos: Repositories, vault: Vault, passphrase: str, session_id: str) -> None:
    """Sign a session with the passphrase: as its supervisor, or as a specialist who
    took part (their supervision time entry is written in the same transaction)."""
    check_passphrase(vault, passphrase)
    user = me(repos)
    s = repos.supervision.get(session_id)
    if s is None:
        raise StoreError("That session is not on this laptop yet: sync, then try again.")
    now = utcnow()
    try:
        if user.id == s.supervisor_id:
            repos.supervision.update(sv.sign_as_supervisor(s, user, now, date.today()))
            repos.store.audit("sign", "supervision_sessions", s.id, **{"as": "supervisor"})
            return
        existing = repos.time_entries.list("supervision_id = ?", (s.id,))
        after, entry = sv.sign_as_specialist(s, user, now, existing)
    except sv.SupervisionError as e:
        raise StoreError(_sentence(str(e))) from None
    with repos.store.transaction():
        if after != s:
            repos.supervision.update(after)
        repos.time_entries.add(entry)
        repos.store.audit("sign", "supervision_sessions", s.id, **{"as": "specialist"})


# -- the oversight report -------------------------------------------------------------------


def oversight_month(repos: Repositories, specialist_id: str, year: int, month: int):
    """The figures of one specialist's month for the oversight report."""
    from app.reports.oversight import EncounterLine, OversightMonth, SessionLine

    if specialist_id not in _team_ids(repos):
        raise OutsideTeam()
    first, last = sv.month_bounds(year, month)
    spec = repos.users.require(specialist_id)
    supervisor = me(repos)
    notes = repos.encounters.list(
        "specialist_id = ? AND service_date BETWEEN ? AND ?",
        (specialist_id, first.isoformat(), last.isoformat()),
        order_by="service_date, start_time",
    )
    facts = [
        sv.NoteFacts(
            id=n.id,
            specialist_id=n.specialist_id,
            participant_id=n.participant_id,
            service_date=n.service_date,
            minutes=n.minutes,
            status=n.status,
            signed_at=n.signed_at,
            payer_id=n.payer_id,
            service_code=n.service_code,
        )
        for n in notes
    ]
    units = sv.units_by_note(facts, _payers(repos))
    od = overdue_days(repos)
    initials = {
        r[0]: "".join(w[:1] for w in (r[1], r[2]) if w).upper()
        for r in repos.store.conn.execute(
            "SELECT id, coalesce(nullif(preferred_name, ''), first_name), last_name "
            "FROM participants"
        )
    }
    lines = tuple(
        EncounterLine(
            service_date=n.service_date,
            participant=initials.get(n.participant_id, "?"),
            modality=str(n.modality),
            minutes=n.minutes,
            units=units.get(n.id, 0),
            status=str(n.status),
            signed_after_days=(n.signed_at.date() - n.service_date).days if n.signed_at else None,
            overdue=sv.is_overdue(f, od),
        )
        for n, f in zip(notes, facts, strict=True)
    )
    hours: dict[str, float] = defaultdict(float)
    for e in repos.time_entries.list(
        "specialist_id = ? AND entry_date BETWEEN ? AND ?",
        (specialist_id, first.isoformat(), last.isoformat()),
    ):
        hours[str(e.category)] += e.minutes / 60
    entries: dict[str, list[TimeEntry]] = defaultdict(list)
    for e in repos.time_entries.list("supervision_id != ''"):
        entries[e.supervision_id].append(e)
    sess = []
    for s in repos.supervision.list(
        "session_date BETWEEN ? AND ?",
        (first.isoformat(), last.isoformat()),
        order_by="session_date",
    ):
        if specialist_id not in s.specialist_ids:
            continue
        sig = sv.signatures(s, entries.get(s.id, ()))
        sess.append(
            SessionLine(
                session_date=s.session_date,
                minutes=s.minutes,
                format=str(s.format),
                modality=str(s.modality),
                topics=tuple(s.topics),
                cases=len(s.cases_reviewed),
                supervisor_signed=sig.supervisor,
                specialist_signed=specialist_id in sig.signed,
            )
        )
    return OversightMonth(
        agency="",
        specialist=spec.display_name or spec.username,
        credential=str(spec.credential),
        supervisor=supervisor.display_name or supervisor.username,
        year=year,
        month=month,
        overdue_days=od,
        encounters=lines,
        hours={k: round(v, 2) for k, v in sorted(hours.items())},
        sessions=tuple(sess),
        outcomes=sv.review_outcomes(n.status for n in notes),
        generated_at=utcnow(),
    )


def export_oversight(
    repos: Repositories, specialist_id: str, year: int, month: int, path: Path
) -> Path:
    """Write the oversight PDF where the supervisor chose, and log the export."""
    from app.reports.oversight import render_pdf

    data = oversight_month(repos, specialist_id, year, month)
    blob = render_pdf(data)
    path = Path(path)
    try:
        path.write_bytes(blob)
    except OSError as e:
        path.unlink(missing_ok=True)
        raise StoreError(
            f"The report could not be written there ({e.strerror or type(e).__name__}). "
            "Choose another folder; nothing else was changed."
        ) from None
    repos.store.audit(
        "export", "users", specialist_id, what="oversight report", period=f"{year}-{month:02d}"
    )
    return path


@dataclass(frozen=True)
class SessionChoices:
    """What the session form offers: the team and their participants (id, name,
    specialist id), and the owner's id."""

    me: User
    team: tuple[User, ...]
    participants: tuple[tuple[str, str, str], ...]


def session_choices(repos: Repositories) -> SessionChoices:
    members = tuple(team(repos))
    ids = [u.id for u in members]
    marks = ",".join("?" for _ in ids) or "''"
    people = tuple(
        (r[0], f"{r[1]} {r[2]}".strip(), r[3])
        for r in repos.store.conn.execute(
            "SELECT id, coalesce(nullif(preferred_name, ''), first_name), last_name, "
            "assigned_specialist_id FROM participants WHERE deleted = 0 "
            f"AND status != 'discharged' AND assigned_specialist_id IN ({marks}) "
            "ORDER BY last_name, first_name",
            ids,
        )
    )
    return SessionChoices(me(repos), members, people)
