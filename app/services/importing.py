"""Importing a caseload spreadsheet: the one CSV reader and the one import, for the
import dialog and ``peertrail import participants`` alike.

The file is read as UTF-8 (with or without a byte-order mark) or, failing that, as
Windows-1252 (what Excel on Windows saves as "CSV"); a file that is neither is
refused rather than guessed at. Comma, semicolon or tab separated. The rows are
checked by app.domain.participant_import; nothing is written until the person
(or ``--skip-invalid``) says which rows go, and then all of them go in one
transaction with one audit entry. Messages never quote a value from the file.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from app.domain.participant_import import ImportPlan
from app.domain.participant_import import plan_import
from app.domain.records import Participant
from app.services.changes import Changed
from app.services.changes import Done
from app.services.records import known_programs
from app.store.errors import EXIT_USAGE
from app.store.errors import StoreError
from app.store.repositories import Repositories

#: Refuse spreadsheets bigger than this before reading them (a caseload is small).
MAX_IMPORT_BYTES = 20 * 2**20


class ImportFileError(StoreError):
    """A spreadsheet that cannot be read; the message names no value in it."""

    exit_code = EXIT_USAGE


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        raise ImportFileError(
            "That file is not a text spreadsheet export; save it from your spreadsheet "
            "as CSV (UTF-8)."
        ) from None


def read_spreadsheet(path: Path) -> list[list[str]]:
    """The rows of a CSV file (UTF-8, with or without BOM, or Windows-1252; comma,
    semicolon or tab separated)."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_IMPORT_BYTES:
            raise ImportFileError("That file is too big for a caseload spreadsheet (over 20 MB).")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ImportFileError(
            "That file does not exist (it may have been moved or renamed)."
        ) from None
    except IsADirectoryError:
        raise ImportFileError("That is a folder, not a spreadsheet file.") from None
    except PermissionError:
        raise ImportFileError("PeerTrail may not read that file (permission denied).") from None
    if b"\x00" in raw[:4096]:
        raise ImportFileError(
            "That is not a text spreadsheet export; save it from your spreadsheet as CSV."
        )
    text = _decode(raw)
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


def preview_rows(
    repos: Repositories, rows: list[list[str]], file_name: str, today: date | None = None
) -> ImportPreview:
    """Check spreadsheet rows against the vault (Medicaid ids, people already in it)."""
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
    return ImportPreview(file_name, header, body, plan)


def preview_import(repos: Repositories, path: Path, today: date | None = None) -> ImportPreview:
    return preview_rows(repos, read_spreadsheet(Path(path)), Path(path).name, today)


def import_participants(
    repos: Repositories, participants: list[Participant], file_name: str
) -> Done[int]:
    """Add the checked participants in one transaction and log the import."""
    with repos.store.transaction():
        n = repos.participants.add_many(participants)
        repos.store.audit("import", "participants", detail_file=file_name, count=n)
    return Done(n, Changed.of(repos.participants.table, ids=(p.id for p in participants)))
