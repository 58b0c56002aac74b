"""Sync conflicts and refused changes: the open conflicts with the context a
person needs to compare them (whose record, which field, the text now in the
record, when and where each side was written), resolving one through the
repositories (so the resolution syncs), and the changes the server refused with
its reason. Rules for a resolution are app.domain.conflict_resolution. Runs on
the database thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any

from app.domain import conflict_resolution as cr
from app.domain.records import Conflict
from app.domain.records import Encounter
from app.domain.records import NoteStatus
from app.domain.records import Role
from app.services.changes import Changed
from app.services.changes import Done
from app.store import refused
from app.store.db import Store
from app.store.db import utcnow
from app.store.repositories import Repositories
from app.store.repositories import Repository
from sync import merge
from sync.hlc import ClockError
from sync.hlc import Stamp

# -- record context ------------------------------------------------------------------

#: table -> SQL giving (participant id, a date) for one record id.
_CONTEXT_SQL: dict[str, str] = {
    "participants": "SELECT id, '' FROM participants WHERE id = ?",
    "consents": "SELECT participant_id, signed_on FROM consents WHERE id = ?",
    "goals": "SELECT participant_id, started_on FROM goals WHERE id = ?",
    "barc10": "SELECT participant_id, assessed_on FROM barc10 WHERE id = ?",
    "encounters": "SELECT participant_id, service_date FROM encounters WHERE id = ?",
    "addenda": (
        "SELECT e.participant_id, a.written_at FROM addenda a "
        "JOIN encounters e ON e.id = a.encounter_id WHERE a.id = ?"
    ),
    "time_entries": "SELECT '', entry_date FROM time_entries WHERE id = ?",
    "supervision_sessions": "SELECT '', session_date FROM supervision_sessions WHERE id = ?",
}


def _participant_name(store: Store, participant_id: str) -> str:
    if not participant_id:
        return ""
    row = store.conn.execute(
        "SELECT first_name, preferred_name, last_name FROM participants WHERE id = ?",
        (participant_id,),
    ).fetchone()
    if not row:
        return ""
    first = row[1] or row[0]
    return f"{first} {row[2]}".strip()


def _user_name(store: Store, user_id: str) -> str:
    if not user_id:
        return ""
    row = store.conn.execute(
        "SELECT display_name, username FROM users WHERE id = ?", (user_id,)
    ).fetchone()
    return (row[0] or row[1]) if row else ""


def _context(store: Store, table: str, record_id: str) -> tuple[str, str]:
    """(participant's name, the record's date as ISO text) — either may be ''."""
    sql = _CONTEXT_SQL.get(table)
    if sql is None:
        return "", ""
    row = store.conn.execute(sql, (record_id,)).fetchone()
    if not row:
        return "", ""
    return _participant_name(store, row[0] or ""), str(row[1] or "")[:10]


# -- when and where a change was written ---------------------------------------------


@dataclass(frozen=True)
class StampInfo:
    when: datetime | None  # UTC
    device: str


def stamp_info(stamp: str) -> StampInfo:
    """When and on which device a change was written, from its stamp."""
    try:
        s = Stamp.parse(stamp)
    except (ClockError, TypeError):
        return StampInfo(None, "")
    return StampInfo(datetime.fromtimestamp(s.wall_ms / 1000, UTC), s.device)


# -- conflicts -----------------------------------------------------------------------


@dataclass(frozen=True)
class ConflictView:
    """One open conflict with what a person needs to decide."""

    conflict: Conflict
    participant_name: str
    record_date: str
    current_text: str  # the field's value now in the record
    changed_since: bool  # the record's value is neither side any more
    record_missing: bool
    record_deleted: bool
    lost_by_name: str
    this_device: str
    #: Why the record's text cannot be changed any more (e.g. the note was signed);
    #: "" when every choice is open.
    locked_reason: str = ""

    @property
    def id(self) -> str:
        return self.conflict.id

    @property
    def kind(self) -> str:
        return self.conflict.kind

    @property
    def kept_text(self) -> str:
        return cr.as_text(cr.decode(self.conflict.kept_value))

    @property
    def lost_text(self) -> str:
        return cr.as_text(cr.decode(self.conflict.lost_value))


def _repos_by_table(repos: Repositories) -> dict[str, Repository[Any]]:
    return {r.table: r for r in repos.all()}


def _record_fields(rec: Any) -> dict[str, Any]:
    """The fields sync's permission rule looks at, as plain values."""
    out: dict[str, Any] = {}
    if isinstance(rec, Encounter):
        out["status"] = rec.status.value
        out["specialist_id"] = rec.specialist_id
    return out


def _locked_reason(store: Store, rec: Any, table: str, field: str, role: str) -> str:
    if rec is None:
        return "The record is no longer on this laptop."
    problem = merge.permission_problem(
        role, store.user_id, table, field, getattr(rec, field, None), _record_fields(rec), True
    )
    if problem:
        return problem[0].upper() + problem[1:] + "."
    if isinstance(rec, Encounter) and rec.status is not NoteStatus.DRAFT:
        return (
            f"This note is {rec.status.value}; its text cannot change. "
            "Keep this version, or add an addendum with the other text."
        )
    return ""


def open_conflicts(repos: Repositories, role: str | Role = Role.SPECIALIST) -> list[ConflictView]:
    """Open conflicts, newest first: text conflicts before log entries."""
    store = repos.store
    crepo = Repository(store, Conflict)
    by_table = _repos_by_table(repos)
    rows = crepo.list("status = 'open'", order_by="detected_at DESC, id")
    views: list[ConflictView] = []
    for c in rows:
        repo = by_table.get(c.table_name)
        rec = repo.get(c.target_id) if repo is not None else None
        current = cr.as_text(getattr(rec, c.field, None)) if rec is not None else ""
        kept, lost = cr.as_text(cr.decode(c.kept_value)), cr.as_text(cr.decode(c.lost_value))
        name, day = _context(store, c.table_name, c.target_id)
        views.append(
            ConflictView(
                conflict=c,
                participant_name=name,
                record_date=day,
                current_text=current,
                changed_since=rec is not None and current not in (kept, lost),
                record_missing=rec is None,
                record_deleted=bool(rec is not None and rec.deleted),
                lost_by_name=_user_name(store, c.lost_by_id),
                this_device=store.device_id,
                locked_reason=_locked_reason(store, rec, c.table_name, c.field, str(role))
                if c.kind == cr.TEXT
                else "",
            )
        )
    order = {cr.TEXT: 0, cr.EDITED_AFTER_DELETE: 1}
    views.sort(key=lambda v: order.get(v.kind, 2))
    return views


def resolve_conflict(
    repos: Repositories,
    conflict_id: str,
    choice: cr.Choice,
    merged: str | None = None,
    role: str | Role = Role.SPECIALIST,
) -> Done[Conflict]:
    """Carry out a person's choice in one transaction: the record's edit (through
    its repository, so it is captured and syncs) and the conflict's resolution."""
    store = repos.store
    crepo = Repository(store, Conflict)
    with store.transaction():
        c = crepo.require(conflict_id)
        p = cr.plan(c, choice, merged)
        if p.write:
            repo = _repos_by_table(repos).get(c.table_name)
            rec = repo.get(c.target_id) if repo is not None else None
            if repo is None or rec is None:
                raise cr.ResolutionError("The record is no longer on this laptop.")
            if choice is cr.Choice.RESTORE:
                repo.restore(rec.id)
            else:
                reason = _locked_reason(store, rec, c.table_name, p.field, str(role))
                if reason:
                    raise cr.ResolutionError(reason)
                repo.update(rec.replace(**{p.field: p.value}))
        done = crepo.update(cr.resolved(c, store.user_id, utcnow(), choice))
    return Done(done, Changed.of(crepo.table, c.table_name, ids=[conflict_id, c.target_id]))


# -- refused changes -----------------------------------------------------------------


@dataclass(frozen=True)
class RejectedView:
    table: str
    field: str
    reason: str
    at: datetime | None
    participant_name: str
    record_date: str
    value: Any = None  # the full value the person wrote
    stamp: str = ""  # the change's id (to dismiss or resend it: app.store.refused)
    record_id: str = ""
    record_here: bool = True


def rejected_changes(store: Store, limit: int = 500) -> list[RejectedView]:
    """Changes the server refused, newest first, with its reason and the value."""
    out: list[RejectedView] = []
    for r in refused.refused_changes(store, limit):
        name, day = _context(store, r.table, r.record_id)
        out.append(
            RejectedView(
                table=r.table,
                field=r.field,
                reason=r.reason or "",
                at=r.at,
                participant_name=name,
                record_date=day,
                value=r.value,
                stamp=r.stamp,
                record_id=r.record_id,
                record_here=r.record_here,
            )
        )
    return out


def dismiss_refused(store: Store, stamp: str) -> Done[None]:
    """The writer has read a refused change and lets it go (audited; the only way,
    with :func:`resend_refused`, that a refused change leaves the vault)."""
    refused.dismiss(store, stamp)
    return Done(None, Changed.of("outbox", "conflicts"))


def resend_refused(store: Store, stamp: str) -> Done[None]:
    """Write a refused value into its record again, as a new change the next sync
    sends (the server judges it again)."""
    refused.resend(store, stamp)
    return Done(None, Changed.of("outbox", "conflicts"))
