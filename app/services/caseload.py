"""The caseload as the caseload screen shows it: every participant with the facts
that say whether they need attention, read in five queries whatever the size of
the caseload (no query per participant from Python).

Runs on the database thread: ``caseload_rows(repos)`` is what the main window's
caseload load calls. The rules that turn the facts into reasons are in
app.domain.attention.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from app.domain.attention import AttentionFacts
from app.domain.attention import Flag
from app.domain.attention import reasons
from app.domain.records import Participant
from app.store.repositories import Repositories
from sync.merge import merge_groups

#: Notes in these states still need the specialist's signature.
UNSIGNED = ("draft", "returned")


@dataclass(frozen=True, slots=True)
class CaseloadRow:
    participant: Participant
    facts: AttentionFacts
    flags: tuple[Flag, ...]

    @property
    def id(self) -> str:
        return self.participant.id


def _facts(repos: Repositories, ids: list[str] | None, today: date) -> dict[str, dict[str, object]]:
    """participant id -> the raw facts, for ``ids`` or everyone."""
    conn = repos.store.conn
    facts: dict[str, dict[str, object]] = {}
    only = ""
    params: tuple[str, ...] = ()
    if ids is not None:
        only = " AND participant_id IN (SELECT value FROM json_each(?))"
        params = (json.dumps(ids),)

    # Last contact: for each participant the newest encounter that is not void or
    # deleted, found by walking the (participant_id, service_date) index backwards.
    pid_filter = "" if ids is None else " AND p.id IN (SELECT value FROM json_each(?))"
    for pid, last in conn.execute(
        "SELECT p.id, (SELECT e.service_date FROM encounters e"
        "  WHERE e.participant_id = p.id AND e.deleted = 0 AND e.status != 'void'"
        "  ORDER BY e.service_date DESC LIMIT 1)"
        f" FROM participants p WHERE p.deleted = 0{pid_filter}",
        params,
    ):
        if last:
            facts.setdefault(pid, {})["last_contact"] = date.fromisoformat(last)

    # Unsigned notes through the (status, service_date) index: few rows.
    for pid, n in conn.execute(
        "SELECT participant_id, count(*) FROM encounters"
        f" WHERE status IN {UNSIGNED!r} AND deleted = 0{only} GROUP BY participant_id",
        params,
    ):
        facts.setdefault(pid, {})["unsigned_notes"] = n

    for pid, n in conn.execute(
        "SELECT participant_id, count(*) FROM goals"
        " WHERE deleted = 0 AND status = 'active' AND target_date IS NOT NULL"
        f" AND target_date < ?{only} GROUP BY participant_id",
        (today.isoformat(), *params),
    ):
        facts.setdefault(pid, {})["overdue_goals"] = n

    iso = today.isoformat()
    for pid, open_ended, latest in conn.execute(
        "SELECT participant_id, max(expires_on IS NULL), max(expires_on) FROM consents"
        " WHERE deleted = 0 AND signed_on IS NOT NULL AND signed_on <= ?"
        " AND (revoked_on IS NULL OR revoked_on > ?)"
        f"{only} GROUP BY participant_id",
        (iso, iso, *params),
    ):
        f = facts.setdefault(pid, {})
        f["has_consent"] = True
        f["consent_open_ended"] = bool(open_ended)
        f["consent_expires"] = date.fromisoformat(latest) if latest else None
    return facts


def _fold_merged(facts: dict[str, dict[str, object]], groups: dict[str, str]) -> None:
    """A merged record's facts count for the record it was merged into (its notes,
    goals and consents are that record's: app.services.duplicates)."""
    for member, top in groups.items():
        if member == top or member not in facts:
            continue
        mine, into = facts.pop(member), facts.setdefault(top, {})
        for key, value in mine.items():
            old = into.get(key)
            if old is None:
                into[key] = value
            elif key in ("unsigned_notes", "overdue_goals"):
                into[key] = int(old) + int(value)  # type: ignore[call-overload]
            elif key in ("has_consent", "consent_open_ended"):
                into[key] = bool(old) or bool(value)
            elif value is not None:
                into[key] = max(old, value)  # type: ignore[type-var]


def rows_for(
    repos: Repositories, people: list[Participant], today: date, ids: list[str] | None = None
) -> list[CaseloadRow]:
    groups = merge_groups(
        {r[0]: r[1] for r in repos.store.conn.execute(
            "SELECT id, merged_into FROM participants WHERE merged_into != ''"
        )}
    )  # fmt: skip
    if ids is not None and groups:
        tops = {groups.get(i, i) for i in ids}
        ids = sorted(set(ids) | {m for m, t in groups.items() if t in tops})
    facts = _facts(repos, ids, today)
    _fold_merged(facts, groups)
    out = []
    for p in people:
        f = AttentionFacts(status=p.status, intake_date=p.intake_date, **facts.get(p.id, {}))  # type: ignore[arg-type]
        out.append(CaseloadRow(p, f, reasons(f, today)))
    return out


def caseload_rows(
    repos: Repositories, today: date | None = None, specialist_id: str | None = None
) -> list[CaseloadRow]:
    """Every participant (of ``specialist_id``, or all in the vault) with their
    attention facts and reasons, ordered by last name."""
    today = today or date.today()
    people = repos.participants.caseload(specialist_id)
    return rows_for(repos, people, today)


def caseload_row(repos: Repositories, participant: Participant, today: date) -> CaseloadRow:
    """One participant's row (the record page's attention badges)."""
    return rows_for(repos, [participant], today, ids=[participant.id])[0]
