"""Reports from the vault: the figures of one specialist's month for the oversight
report (gathered here, rendered to PDF by app.reports.oversight) and its export
to the file the supervisor chose (logged). Runs on the database thread.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path

from app.domain import supervision as sv
from app.domain.records import TimeEntry
from app.services.files import save_export
from app.services.team import OutsideTeam
from app.services.team import me
from app.services.team import overdue_days
from app.services.team import payers_by_id
from app.services.team import team_ids
from app.store.db import utcnow
from app.store.repositories import Repositories

# -- the oversight report -------------------------------------------------------------------


def oversight_month(repos: Repositories, specialist_id: str, year: int, month: int):
    """The figures of one specialist's month for the oversight report."""
    from app.reports.oversight import EncounterLine
    from app.reports.oversight import OversightMonth

    if specialist_id not in team_ids(repos):
        raise OutsideTeam()
    first, last = sv.month_bounds(year, month)
    spec = repos.users.require(specialist_id)
    supervisor = me(repos)
    notes = repos.encounters.list(
        "specialist_id = ? AND service_date BETWEEN ? AND ?",
        (specialist_id, first.isoformat(), last.isoformat()),
        order_by="service_date, start_time",
    )
    facts = [sv.NoteFacts.of(n) for n in notes]
    units = sv.units_by_note(facts, payers_by_id(repos))
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
    sess = _session_lines(repos, specialist_id, first, last)
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


def _session_lines(repos: Repositories, specialist_id: str, first: date, last: date) -> list:
    """The month's supervision sessions the specialist was in, with who has signed."""
    from app.reports.oversight import SessionLine

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
    return sess


def export_oversight(
    repos: Repositories, specialist_id: str, year: int, month: int, path: Path
) -> Path:
    """Write the oversight PDF where the supervisor chose, and log the export."""
    from app.reports.oversight import render_pdf

    data = oversight_month(repos, specialist_id, year, month)
    path = save_export(path, render_pdf(data))
    repos.store.audit(
        "export", "users", specialist_id, what="oversight report", period=f"{year}-{month:02d}"
    )
    return path
