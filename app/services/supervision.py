"""Supervision sessions: the list (a supervisor's own; a specialist's, those they
were in), recording one, signing one with the passphrase (a specialist's signature
writes their supervision time entry in the same transaction), and what the session
form offers. Rules in app.domain.supervision. Runs on the database thread.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from app.domain import supervision as sv
from app.domain.records import SupervisionSession
from app.domain.records import TimeCategory
from app.domain.records import TimeEntry
from app.domain.records import User
from app.services.changes import Changed
from app.services.changes import Done
from app.services.review import check_passphrase
from app.services.team import OutsideTeam
from app.services.team import as_sentence
from app.services.team import me
from app.services.team import team
from app.services.team import team_ids
from app.services.team import user_names
from app.store.db import utcnow
from app.store.errors import StoreError
from app.store.repositories import Repositories
from app.store.vault import Vault

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
    names = user_names(repos)
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


def save_session(repos: Repositories, session: SupervisionSession) -> Done[SupervisionSession]:
    """Add or update a session the vault's owner holds (validated)."""
    owner = me(repos)
    if session.supervisor_id != owner.id:
        raise StoreError("Only the supervisor who holds a session records it.")
    problems = sv.session_problems(session, date.today())
    if problems:
        raise SessionInvalid(problems)
    members = team_ids(repos)
    if any(i not in members for i in session.specialist_ids):
        raise OutsideTeam()
    before = repos.supervision.get(session.id)
    if before is None:
        return Done(repos.supervision.add(session), _wrote(repos, session.id))
    try:
        sv.check_session_edit(before, session)
    except sv.SupervisionError as e:
        raise StoreError(as_sentence(str(e))) from None
    return Done(repos.supervision.update(session), _wrote(repos, session.id))


def _wrote(repos: Repositories, session_id: str, entries: bool = False) -> Changed:
    tables = [repos.supervision.table] + ([repos.time_entries.table] if entries else [])
    return Changed.of(*tables, ids=[session_id])


class SessionInvalid(StoreError):
    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__(
            "The session could not be saved: " + "; ".join(m for _f, m in problems) + "."
        )


def sign_session(repos: Repositories, vault: Vault, passphrase: str, session_id: str) -> Done[None]:
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
            return Done(None, _wrote(repos, s.id))
        existing = repos.time_entries.list("supervision_id = ?", (s.id,))
        after, entry = sv.sign_as_specialist(s, user, now, existing)
    except sv.SupervisionError as e:
        raise StoreError(as_sentence(str(e))) from None
    with repos.store.transaction():
        if after != s:
            repos.supervision.update(after)
        repos.time_entries.add(entry)
        repos.store.audit("sign", "supervision_sessions", s.id, **{"as": "specialist"})
    return Done(None, _wrote(repos, s.id, entries=True))


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
