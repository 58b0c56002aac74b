"""The program report from the vault of whoever runs it: who may see which figures,
the rows read for app.reports.program, and the PDF / CSV / XLSX export to the file
the person chose. Runs on the database thread; offline like everything else.

Who sees what (enforced here, not by the screens): supervisors, administrators
(directors) and billing staff may report on the whole vault or on any specialist
in it (a supervisor: on a specialist of their team); a specialist sees their own
caseload only, and asking for anyone else's is refused. Every report shown and
every file written is audited (what, the period, the program; never a figure).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.domain.records import Role
from app.domain.records import User
from app.paths import resource_path
from app.reports import program as pr
from app.services import duplicates
from app.services.files import save_export
from app.services.team import me
from app.services.team import payers_by_id
from app.services.team import team
from app.store.db import utcnow
from app.store.errors import StoreError
from app.store.repositories import Repositories

KINDS = ("pdf", "csv", "xlsx")
SEES_TEAM = (Role.SUPERVISOR, Role.ADMIN, Role.BILLING)


class NotYours(StoreError):
    """A specialist asked for figures outside their own caseload."""

    def __init__(self) -> None:
        super().__init__(
            "You can see the program report for your own caseload only. Nothing was shown."
        )


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """What the person may choose: programs in the vault, the specialists they may
    report on (id, name), and whether the whole vault is open to them."""

    role: Role
    programs: tuple[str, ...]
    specialists: tuple[tuple[str, str], ...]
    whole_vault: bool


def _name(u: User) -> str:
    return u.display_name or u.username


def allowed_specialists(repos: Repositories) -> list[User]:
    owner = me(repos)
    if owner.role is Role.SPECIALIST:
        return [owner]
    if owner.role is Role.SUPERVISOR:
        return team(repos)
    rows = repos.users.list("role = ?", (Role.SPECIALIST.value,))
    return sorted(rows, key=lambda u: _name(u).casefold())


def options(repos: Repositories) -> ReportOptions:
    owner = me(repos)
    programs = sorted(
        {
            (r[0] or "").strip() or pr.NO_PROGRAM
            for r in repos.store.conn.execute("SELECT program FROM participants WHERE deleted = 0")
        },
        key=str.casefold,
    )
    return ReportOptions(
        role=owner.role,
        programs=tuple(programs),
        specialists=tuple((u.id, _name(u)) for u in allowed_specialists(repos)),
        whole_vault=owner.role in SEES_TEAM,
    )


def find_specialist(repos: Repositories, name: str) -> str:
    """The id of the specialist this person may report on whose name or user name is
    ``name`` (case-insensitive). Raises StoreError when there is none or several."""
    want = " ".join(name.split()).casefold()
    hits = [
        u
        for u in allowed_specialists(repos)
        if want in (" ".join(_name(u).split()).casefold(), u.username.casefold())
    ]
    if len(hits) != 1:
        if me(repos).role is Role.SPECIALIST:
            raise NotYours()
        raise StoreError(
            "No specialist you can report on has that name."
            if not hits
            else "Several specialists have that name; use the user name."
        )
    return hits[0].id


def choice_for(
    repos: Repositories,
    first: date,
    last: date,
    program: str | None = None,
    specialist_id: str | None = None,
) -> pr.Choice:
    """The report's scope after the role rules: a specialist always gets their own
    caseload and is refused anyone else's."""
    if last < first:
        raise StoreError("The period ends before it starts; choose the dates again.")
    owner = me(repos)
    allowed = {u.id: u for u in allowed_specialists(repos)}
    if owner.role not in SEES_TEAM:
        if specialist_id not in (None, "", owner.id):
            raise NotYours()
        specialist_id = owner.id
    if specialist_id:
        if specialist_id not in allowed:
            raise (
                NotYours()
                if owner.role not in SEES_TEAM
                else StoreError(
                    "That specialist is not on your team, so the report cannot include them."
                )
            )
        label = f"Specialist: {_name(allowed[specialist_id])}"
        return pr.Choice(first, last, program or None, frozenset({specialist_id}), label)
    label = "Whole vault (the team)" if owner.role is Role.SUPERVISOR else "Whole vault (agency)"
    return pr.Choice(first, last, program or None, None, label)


# -- reading the rows -------------------------------------------------------------------


def _day(v: str | None) -> date | None:
    return date.fromisoformat(v) if v else None


@lru_cache(maxsize=1)
def place_labels() -> dict[str, str]:
    data = json.loads(resource_path("codes", "note_codes.json").read_text(encoding="utf-8"))
    return {str(p["code"]): str(p["label"]) for p in data.get("places_of_service", [])}


def read_rows(repos: Repositories, first: date, last: date) -> pr.Rows:
    """The vault's records the report may count (never a deleted one). Services
    (signed, approved or billed only), travel and sessions are read for the period;
    people, goals and BARC-10 whole (first scores may be older than the period).
    A person merged into another (app.services.duplicates) is counted once, as the
    record it was merged into: its own row is left out and its records count for
    the survivor."""
    q = repos.store.conn.execute
    groups = duplicates.survivors(repos)

    def top(pid: str) -> str:
        return groups.get(pid, pid) if pid else pid

    period = (first.isoformat(), last.isoformat())
    names = {r[0]: r[1] for r in q("SELECT id, name FROM payers")}
    return pr.Rows(
        _people(q, top), _services(q, top, period), _goals(q, top), _barc(q, top, last),
        _travel(q, top, period), _sessions(q, period), payers_by_id(repos), names,
        place_labels(),
    )  # fmt: skip


Query = Callable[..., Any]
Top = Callable[[str], str]


def _people(q: Query, top: Top) -> list[pr.PersonRow]:
    rows = q(
        "SELECT id, program, county, tribal_affiliation, date_of_birth, intake_date, "
        "discharge_date, assigned_specialist_id FROM participants WHERE deleted = 0"
    )
    return [
        pr.PersonRow(
            r[0], r[1] or "", r[2] or "", r[3] or "", _day(r[4]), _day(r[5]), _day(r[6]), r[7] or ""
        )
        for r in rows
        if top(r[0]) == r[0]
    ]


def _services(q: Query, top: Top, period: tuple[str, str]) -> list[pr.ServiceRow]:
    out = []
    for r in q(
        "SELECT id, participant_id, specialist_id, service_date, start_time, end_time, "
        "status, payer_id, service_code, modality, place_of_service FROM encounters "
        "WHERE deleted = 0 AND status IN ('signed', 'approved', 'billed') "
        "AND service_date BETWEEN ? AND ?",
        period,
    ):
        start, minutes = pr.span(r[4], r[5])
        row = pr.ServiceRow(r[0], top(r[1]), r[2], date.fromisoformat(r[3]), start, minutes,
                            r[6], r[7] or "", r[8] or "", r[9], r[10] or "")  # fmt: skip
        out.append(row)
    return out


def _goals(q: Query, top: Top) -> list[pr.GoalRow]:
    return [
        pr.GoalRow(top(r[0]), r[1], r[2], _day(r[3]), _day(r[4]))
        for r in q(
            "SELECT participant_id, domain, status, started_on, achieved_on FROM goals "
            "WHERE deleted = 0"
        )
    ]


def _barc(q: Query, top: Top, last: date) -> list[pr.BarcRow]:
    return [
        pr.BarcRow(r[0], top(r[1]), date.fromisoformat(r[2]), sum(json.loads(r[3])))
        for r in q(
            "SELECT id, participant_id, assessed_on, scores FROM barc10 "
            "WHERE deleted = 0 AND assessed_on <= ?",
            (last.isoformat(),),
        )
    ]


def _travel(q: Query, top: Top, period: tuple[str, str]) -> list[pr.TravelRow]:
    return [
        pr.TravelRow(r[0], date.fromisoformat(r[1]), int(r[2]), float(r[3] or 0), top(r[4] or ""))
        for r in q(
            "SELECT t.specialist_id, t.entry_date, t.minutes, t.miles, e.participant_id "
            "FROM time_entries t LEFT JOIN encounters e ON e.id = t.encounter_id "
            "AND e.deleted = 0 AND t.encounter_id != '' WHERE t.deleted = 0 "
            "AND t.category = 'travel' AND t.entry_date BETWEEN ? AND ?",
            period,
        )
    ]


def _sessions(q: Query, period: tuple[str, str]) -> list[pr.SessionRow]:
    return [
        pr.SessionRow(
            r[0], date.fromisoformat(r[1]), int(r[2]), tuple(json.loads(r[3])), bool(r[4])
        )
        for r in q(
            "SELECT id, session_date, minutes, specialist_ids, supervisor_signed_at "
            "FROM supervision_sessions WHERE deleted = 0 AND session_date BETWEEN ? AND ?",
            period,
        )
    ]


# -- the report and its files ---------------------------------------------------------------


def program_report(
    repos: Repositories,
    first: date,
    last: date,
    program: str | None = None,
    specialist_id: str | None = None,
) -> pr.ProgramReport:
    """The figures for a period, a program (None: all) and a specialist (None: the
    whole vault, for those who may see it). The read is audited."""
    c = choice_for(repos, first, last, program, specialist_id)
    report = pr.compute(read_rows(repos, first, last), c, utcnow())
    repos.store.audit("view", "users", specialist_id or "", what="program report",
                      **_period(c))  # fmt: skip
    return report


def _period(c: pr.Choice) -> dict[str, str]:
    return {"period": f"{c.first.isoformat()}..{c.last.isoformat()}", "program": c.program or ""}


def render(report: pr.ProgramReport, kind: str) -> bytes:
    from app.reports import program_files as files

    if kind == "pdf":
        return files.pdf_bytes(report)
    if kind == "csv":
        return files.csv_bytes(report)
    if kind == "xlsx":
        return files.xlsx_bytes(report)
    raise StoreError("Choose PDF, CSV or XLSX.")


def kind_of(path: Path) -> str:
    kind = Path(path).suffix.lower().lstrip(".")
    if kind not in KINDS:
        raise StoreError("Save the report as .pdf, .csv or .xlsx.")
    return kind


def write_report(repos: Repositories, report: pr.ProgramReport, path: Path) -> Path:
    """Write a report already computed (and allowed) to ``path``; logged."""
    path = save_export(path, render(report, kind_of(Path(path))))
    sid = next(iter(report.choice.specialist_ids or ()), "")
    repos.store.audit("export", "users", sid, what=f"program report ({path.suffix.lstrip('.')})",
                      **_period(report.choice))  # fmt: skip
    return path


def export_report(
    repos: Repositories,
    first: date,
    last: date,
    paths: Iterable[Path],
    program: str | None = None,
    specialist_id: str | None = None,
) -> list[Path]:
    """Compute once and write every file asked for (the command line)."""
    report = program_report(repos, first, last, program, specialist_id)
    return [write_report(repos, report, p) for p in paths]
