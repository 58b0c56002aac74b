"""Reads and writes behind the participant record page, the participant form and
the caseload import; every function runs on the database thread and takes the
repositories first (``ctx.run(fn, ..., args=...)``).

Opening a record is one call, :func:`load_record`: the participant through
``participants.open`` (the read is audited), consents, goals, BARC-10 history,
and the timeline as light rows (date, times, modality, status, a short preview)
read with one indexed query — not 500 decoded notes.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path

from app.domain.participant_import import ImportPlan, plan_import
from app.domain.record_forms import tick_step
from app.domain.records import (
    Barc10,
    Consent,
    Goal,
    Modality,
    NoteStatus,
    Participant,
    Payer,
)
from app.paths import resource_path
from app.store.caseload_queries import CaseloadRow, caseload_row
from app.store.errors import StoreError
from app.store.repositories import Repositories

PREVIEW_CHARS = 90
#: Refuse spreadsheets bigger than this before reading them (a caseload is small).
MAX_IMPORT_BYTES = 20 * 2**20


def known_programs() -> list[str]:
    """The programs an agency offers (resources/codes/programs.json)."""
    data = json.loads(resource_path("codes", "programs.json").read_text(encoding="utf-8"))
    return list(data["programs"])


@dataclass(frozen=True, slots=True)
class TimelineRow:
    id: str
    service_date: date
    start_time: time | None
    end_time: time | None
    modality: Modality
    status: NoteStatus
    service_code: str
    preview: str

    @property
    def minutes(self) -> int:
        if self.start_time is None or self.end_time is None:
            return 0
        start = self.start_time.hour * 60 + self.start_time.minute
        end = self.end_time.hour * 60 + self.end_time.minute
        return max(0, end - start)


@dataclass
class ParticipantRecord:
    participant: Participant
    row: CaseloadRow
    payer_name: str = ""
    consents: list[Consent] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    barc10: list[Barc10] = field(default_factory=list)
    timeline: list[TimelineRow] = field(default_factory=list)


def timeline(repos: Repositories, participant_id: str) -> list[TimelineRow]:
    """Newest first; one query on the (participant_id, service_date) index."""
    rows = repos.store.conn.execute(
        "SELECT id, service_date, start_time, end_time, modality, status, service_code,"
        f" substr(CASE WHEN goal_text != '' THEN goal_text ELSE data END, 1, {PREVIEW_CHARS})"
        " FROM encounters WHERE participant_id = ? AND deleted = 0"
        " ORDER BY service_date DESC, start_time DESC",
        (participant_id,),
    )
    return [
        TimelineRow(
            id=r[0],
            service_date=date.fromisoformat(r[1]),
            start_time=time.fromisoformat(r[2]) if r[2] else None,
            end_time=time.fromisoformat(r[3]) if r[3] else None,
            modality=Modality(r[4]),
            status=NoteStatus(r[5]),
            service_code=r[6],
            preview=" ".join((r[7] or "").split()),
        )
        for r in rows
    ]


def load_record(
    repos: Repositories, participant_id: str, today: date | None = None, audited: bool = True
) -> ParticipantRecord:
    """Everything the record page shows, in one call; opening it is audited."""
    today = today or date.today()
    if audited:
        p = repos.participants.open(participant_id)
    else:
        p = repos.participants.require(participant_id)
    if p.deleted:
        raise StoreError("That participant was removed from this vault.")
    payer = repos.payers.get(p.payer_id) if p.payer_id else None
    by = "participant_id = ?"
    return ParticipantRecord(
        participant=p,
        row=caseload_row(repos, p, today),
        payer_name=payer.name if payer else "",
        consents=repos.consents.list(by, (p.id,), order_by="signed_on DESC"),
        goals=repos.goals.list(by, (p.id,), order_by="started_on, rowid"),
        barc10=repos.barc10.list(by, (p.id,), order_by="assessed_on"),
        timeline=timeline(repos, p.id),
    )


def reload_record(repos: Repositories, participant_id: str) -> ParticipantRecord:
    """The record again after a change, while it is open (not a new view)."""
    return load_record(repos, participant_id, audited=False)


def form_choices(repos: Repositories) -> tuple[list[str], list[Payer]]:
    """(programs, payers) the participant form offers."""
    return known_programs(), repos.payers.list(order_by="name")


# -- the participant form ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A participant already in the vault with the same name and date of birth."""

    id: str
    name: str
    status: str
    program: str


@dataclass
class SaveOutcome:
    saved: Participant | None = None
    duplicates: list[Duplicate] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)


def save_participant(
    repos: Repositories, participant: Participant, is_new: bool, allow_duplicate: bool
) -> SaveOutcome:
    """Add or update a participant. Stops with ``duplicates`` when a different
    participant has the same first and last name and date of birth (unless the
    person chose to add anyway), and with a problem when the Medicaid ID is
    another participant's."""
    p = participant
    if p.medicaid_id:
        other = repos.participants.list(
            "medicaid_id = ? AND id != ?", (p.medicaid_id, p.id), limit=1
        )
        if other:
            return SaveOutcome(
                problems={"medicaid_id": "Another participant already has this Medicaid ID"}
            )
    if not allow_duplicate:
        dupes = [
            d
            for d in repos.participants.find_duplicates(p.first_name, p.last_name, p.date_of_birth)
            if d.id != p.id
        ]
        if dupes:
            return SaveOutcome(
                duplicates=[
                    Duplicate(d.id, d.display_name, d.status.value, d.program) for d in dupes
                ]
            )
    if is_new:
        if not p.assigned_specialist_id:
            p = p.replace(assigned_specialist_id=repos.store.user_id)  # type: ignore[assignment]
        saved = repos.participants.add(p)
    else:
        saved = repos.participants.update(p)
    return SaveOutcome(saved=saved)


# -- consents, goals, BARC-10 -----------------------------------------------------------


def add_consent(repos: Repositories, consent: Consent) -> Consent:
    return repos.consents.add(consent)


def revoke_consent(repos: Repositories, consent_id: str, on: date, note: str) -> Consent:
    with repos.store.transaction():
        c = repos.consents.require(consent_id)
        if c.revoked_on is not None:
            raise StoreError("That consent is already revoked.")
        return repos.consents.update(c.replace(revoked_on=on, revocation_note=note))  # type: ignore[arg-type]


def save_goal(repos: Repositories, goal: Goal, is_new: bool) -> Goal:
    return repos.goals.add(goal) if is_new else repos.goals.update(goal)


def tick_goal_step(repos: Repositories, goal_id: str, index: int, done: bool) -> Goal:
    """Tick or untick one step of the goal as it is in the vault now."""
    with repos.store.transaction():
        goal = repos.goals.require(goal_id)
        try:
            after = tick_step(goal, index, done)
        except ValueError:
            raise StoreError("That step is no longer part of the goal.") from None
        return repos.goals.update(after)


def add_barc10(repos: Repositories, barc: Barc10) -> Barc10:
    return repos.barc10.add(barc)


# -- importing a caseload spreadsheet -------------------------------------------------------


class ImportFileError(StoreError):
    """A spreadsheet that cannot be read; the message names no value in it."""


def read_spreadsheet(path: Path) -> list[list[str]]:
    """The rows of a CSV file (UTF-8, with or without BOM, or Windows-1252; comma,
    semicolon or tab separated)."""
    try:
        if path.stat().st_size > MAX_IMPORT_BYTES:
            raise ImportFileError("That file is too big for a caseload spreadsheet (over 20 MB).")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ImportFileError("That file no longer exists.") from None
    except IsADirectoryError:
        raise ImportFileError("That is a folder, not a spreadsheet file.") from None
    except PermissionError:
        raise ImportFileError("PeerTrail may not read that file (permission denied).") from None
    if b"\x00" in raw[:4096]:
        raise ImportFileError(
            "That is not a text spreadsheet export; save it from your spreadsheet as CSV."
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    try:
        dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        return list(csv.reader(io.StringIO(text), dialect))
    except csv.Error:
        raise ImportFileError("That file is not a readable CSV file.") from None


@dataclass
class ImportPreview:
    file_name: str
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (line in the file, cells), blank lines left out
    plan: ImportPlan


def preview_import(repos: Repositories, path: Path, today: date | None = None) -> ImportPreview:
    rows = read_spreadsheet(Path(path))
    existing = {
        (first.lower(), last.lower(), date.fromisoformat(dob))
        for first, last, dob in repos.store.conn.execute(
            "SELECT first_name, last_name, date_of_birth FROM participants"
            " WHERE deleted = 0 AND date_of_birth IS NOT NULL"
        )
    }
    plan = plan_import(
        rows,
        known_programs=known_programs(),
        existing_medicaid_ids=repos.participants.medicaid_ids(),
        existing_people=existing,
        today=today or date.today(),
        assigned_specialist_id=repos.store.user_id,
    )
    header = rows[0] if rows else []
    body = [
        (line, cells)
        for line, cells in enumerate(rows[1:], start=2)
        if any(c.strip() for c in cells)
    ]
    return ImportPreview(Path(path).name, header, body, plan)


def import_participants(
    repos: Repositories, participants: list[Participant], file_name: str
) -> int:
    """Add the checked participants in one transaction and log the import."""
    with repos.store.transaction():
        n = repos.participants.add_many(participants)
        repos.store.audit("import", "participants", detail_file=file_name, count=n)
    return n
