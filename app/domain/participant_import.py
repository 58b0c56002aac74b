"""Checking a caseload spreadsheet (CSV rows) before anything is imported.

Pure: takes the rows as lists of strings and returns the participants it would
create plus every problem, each with the spreadsheet line number and a reason
that never repeats the cell's value (it may identify a person). Headers match
case-insensitively, and spaces, dashes and dots count as underscores.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from typing import Any

from app.domain.address import address_problems
from app.domain.address import format_zip
from app.domain.address import parse_sex
from app.domain.records import AdministrativeSex
from app.domain.records import Participant
from app.domain.records import ParticipantStatus
from app.domain.validation import birth_date_problem
from app.domain.validation import icd10_problem
from app.domain.validation import medicaid_id_problem
from app.domain.validation import normalize_medicaid_id
from app.domain.validation import parse_iso_date

REQUIRED = ("first_name", "last_name", "date_of_birth", "medicaid_id", "county", "program")
OPTIONAL = (
    "preferred_name",
    "pronouns",
    "state",
    "phone",
    "email",
    "tribal_affiliation",
    "diagnoses",
    "status",
    "intake_date",
    "referral_source",
    "address_line1",
    "address_line2",
    "city",
    "zip_code",
    "administrative_sex",
)
ALIASES = {
    "dob": "date_of_birth",
    "birth_date": "date_of_birth",
    "birthdate": "date_of_birth",
    "first": "first_name",
    "given_name": "first_name",
    "firstname": "first_name",
    "last": "last_name",
    "surname": "last_name",
    "family_name": "last_name",
    "lastname": "last_name",
    "medicaid": "medicaid_id",
    "medicaid_number": "medicaid_id",
    "ma_id": "medicaid_id",
    "funding_stream": "program",
    "diagnosis": "diagnoses",
    "icd10": "diagnoses",
    "street": "address_line1",
    "address_1": "address_line1",
    "address1": "address_line1",
    "address_2": "address_line2",
    "address2": "address_line2",
    "zip": "zip_code",
    "zipcode": "zip_code",
    "postal_code": "zip_code",
    "sex": "administrative_sex",
}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Problem:
    line: int  # 1-based line in the file; 1 is the header
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ImportPlan:
    participants: list[tuple[int, Participant]] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    rows_read: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def normalize_header(name: str) -> str:
    key = re.sub(r"[\s.\-/]+", "_", name.strip().lower()).strip("_")
    return ALIASES.get(key, key)


def _address(row: dict[str, str], state: str, errs: list[str]) -> dict[str, Any]:
    """The optional address-in-parts and administrative sex columns of a row."""
    parts = {n: row.get(n, "") for n in ("address_line1", "address_line2", "city")}
    zip_code = format_zip(row.get("zip_code", ""))
    for name, why in address_problems(
        parts["address_line1"], parts["city"], state, zip_code
    ).items():
        errs.append(f"{name}: {why[:1].lower()}{why[1:]}")
    sex = parse_sex(row.get("administrative_sex", ""))
    if sex is None:
        errs.append("administrative_sex must be F, M or U (as on the Medicaid card)")
        sex = ""
    return {**parts, "zip_code": zip_code, "administrative_sex": AdministrativeSex(sex)}


@dataclass
class _Seen:
    """What the rows checked so far and the vault already hold, for duplicates."""

    medicaid_ids: set[str]
    people: set[tuple[str, str, date]]
    ids_on_line: dict[str, int] = field(default_factory=dict)
    people_on_line: dict[tuple[str, str, date], int] = field(default_factory=dict)


def plan_import(
    rows: Iterable[Sequence[str]],
    *,
    known_programs: Sequence[str],
    existing_medicaid_ids: set[str],
    existing_people: set[tuple[str, str, date]],
    today: date,
    assigned_specialist_id: str = "",
) -> ImportPlan:
    """Check every row; ``existing_people`` holds (first, last, dob) lower-cased."""
    plan = ImportPlan()
    it = iter(rows)
    cols = _columns(next(it, None), plan)
    if cols is None:
        return plan
    programs = {p.lower(): p for p in known_programs}
    seen = _Seen(existing_medicaid_ids, existing_people)
    for line, raw in enumerate(it, start=2):
        if not any(cell.strip() for cell in raw):
            continue  # blank line
        plan.rows_read += 1
        if len(raw) != len(cols):
            plan.errors.append(
                Problem(line, f"has {len(raw)} cells but the header names {len(cols)} columns")
            )
            continue
        row = {c: v.strip() for c, v in zip(cols, raw, strict=True)}
        errs: list[str] = []
        fields = _row_fields(row, errs, programs, today, (line, seen))
        if errs:
            plan.errors.extend(Problem(line, e) for e in errs)
            continue
        _warn_same_person(row, fields["date_of_birth"], line, seen, plan)
        record = Participant(**fields, assigned_specialist_id=assigned_specialist_id)
        plan.participants.append((line, record))
    if plan.rows_read == 0 and not plan.errors:
        plan.errors.append(Problem(1, "the file has a header but no rows"))
    return plan


def _columns(header: Sequence[str] | None, plan: ImportPlan) -> list[str] | None:
    """The header's column names, or None (with the problems in ``plan``)."""
    if header is None or not any(h.strip() for h in header):
        plan.errors.append(Problem(1, "the file is empty; the first line must name the columns"))
        return None
    cols = [normalize_header(h) for h in header]
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        label = "missing column: " if len(missing) == 1 else "missing columns: "
        plan.errors.append(Problem(1, label + ", ".join(missing)))
    dupes = sorted({c for c in cols if cols.count(c) > 1 and c})
    if dupes:
        label = "column named twice: " if len(dupes) == 1 else "columns named twice: "
        plan.errors.append(Problem(1, label + ", ".join(dupes)))
    unknown = [h.strip() for h, c in zip(header, cols, strict=True) if c not in REQUIRED + OPTIONAL]
    if unknown:
        plan.warnings.append(Problem(1, "column(s) not imported: " + ", ".join(unknown)))
    return None if plan.errors else cols


def _row_fields(
    row: dict[str, str],
    errs: list[str],
    programs: dict[str, str],
    today: date,
    where: tuple[int, _Seen],
) -> dict[str, Any]:
    """A row's participant fields, each problem added to ``errs`` in column order."""
    for name in ("first_name", "last_name"):
        if not row[name]:
            errs.append(f"{name} is empty")
    dob = _birth_date(row, errs, today)
    mid = normalize_medicaid_id(row["medicaid_id"])
    _check_medicaid_id(mid, *where, errs)
    program = row["program"]
    if program and program.lower() not in programs:
        known = ", ".join(programs.values())
        errs.append(f"program is not one of: {known} (edit programs.json)")
    diagnoses, status, intake = _diagnoses(row, errs), _status(row, errs), _intake(row, errs)
    if row.get("email") and not EMAIL_RE.match(row["email"]):
        errs.append("email is not an e-mail address")
    state = (row.get("state") or "ND").upper()
    if not re.fullmatch(r"[A-Z]{2}", state):
        errs.append("state must be a two-letter code such as ND or MN")
    return dict(
        first_name=row["first_name"],
        last_name=row["last_name"],
        preferred_name=row.get("preferred_name", ""),
        pronouns=row.get("pronouns", ""),
        date_of_birth=dob,
        medicaid_id=mid,
        program=programs.get(program.lower(), program) if program else "",
        county=row["county"],
        state=state,
        diagnoses=diagnoses,
        status=status,
        intake_date=intake,
        referral_source=row.get("referral_source", ""),
        tribal_affiliation=row.get("tribal_affiliation", ""),
        phone=row.get("phone", ""),
        email=row.get("email", ""),
        **_address(row, state, errs),
    )


def _birth_date(row: dict[str, str], errs: list[str], today: date) -> date | None:
    if not row["date_of_birth"]:
        errs.append("date_of_birth is empty")
        return None
    try:
        dob = parse_iso_date(row["date_of_birth"])
    except ValueError as e:
        errs.append(f"date_of_birth: {e}")
        return None
    why = birth_date_problem(dob, today)
    if why:
        errs.append(why)
    return dob


def _diagnoses(row: dict[str, str], errs: list[str]) -> tuple[str, ...]:
    if not row.get("diagnoses"):
        return ()
    codes = tuple(d.strip().upper() for d in re.split(r"[;,|]", row["diagnoses"]))
    codes = tuple(d for d in codes if d)
    if any(icd10_problem(d) for d in codes):
        errs.append("diagnoses: each must be an ICD-10-CM code, separated by ;")
    return codes


def _status(row: dict[str, str], errs: list[str]) -> ParticipantStatus:
    if not row.get("status"):
        return ParticipantStatus.ACTIVE
    try:
        return ParticipantStatus(row["status"].lower())
    except ValueError:
        errs.append("status must be one of: " + ", ".join(s.value for s in ParticipantStatus))
        return ParticipantStatus.ACTIVE


def _intake(row: dict[str, str], errs: list[str]) -> date | None:
    if not row.get("intake_date"):
        return None
    try:
        return parse_iso_date(row["intake_date"])
    except ValueError as e:
        errs.append(f"intake_date: {e}")
        return None


def _check_medicaid_id(mid: str, line: int, seen: _Seen, errs: list[str]) -> None:
    """A Medicaid ID must be well formed and new to the vault and to the file."""
    if not mid:
        return
    why = medicaid_id_problem(mid)
    if why:
        errs.append(why)
    elif mid in seen.medicaid_ids:
        errs.append("Medicaid ID already belongs to a participant in this vault")
    elif mid in seen.ids_on_line:
        errs.append(f"Medicaid ID is the same as on line {seen.ids_on_line[mid]}")
    else:
        seen.ids_on_line[mid] = line


def _warn_same_person(
    row: dict[str, str], dob: date, line: int, seen: _Seen, plan: ImportPlan
) -> None:
    """Same name and date of birth as someone in the vault or earlier in the file."""
    person = (row["first_name"].lower(), row["last_name"].lower(), dob)
    if person in seen.people:
        plan.warnings.append(
            Problem(line, "same name and date of birth as a participant already in the vault")
        )
    elif person in seen.people_on_line:
        plan.warnings.append(
            Problem(line, f"same name and date of birth as line {seen.people_on_line[person]}")
        )
    seen.people_on_line.setdefault(person, line)
