"""Field checks shared by forms, import and billing: identifiers, codes, dates.

Messages never repeat the value they reject (it may identify a person); they say
which field is wrong and what is expected.
"""

from __future__ import annotations

import re
from datetime import date

MEDICAID_ID_RE = re.compile(r"^[A-Z0-9]{6,14}\Z")
ICD10_RE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?\Z")
HCPCS_RE = re.compile(r"^[A-V][0-9]{4}\Z")
MODIFIER_RE = re.compile(r"^[A-Z0-9]{2}\Z")
POS_RE = re.compile(r"^[0-9]{2}\Z")
ZIP_RE = re.compile(r"^[0-9]{5}(-?[0-9]{4})?\Z")


class ValidationError(ValueError):
    """A record or field that does not pass; ``problems`` lists (field, message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))


def normalize_medicaid_id(value: str) -> str:
    return re.sub(r"[\s-]", "", value).upper()


def medicaid_id_problem(value: str) -> str | None:
    if not value:
        return None
    if not MEDICAID_ID_RE.match(normalize_medicaid_id(value)):
        return "Medicaid ID must be 6 to 14 letters or digits"
    return None


def normalize_icd10(code: str) -> str:
    """ICD-10-CM as written in a claim: upper case, no dot."""
    return code.strip().upper().replace(".", "")


def icd10_problem(code: str) -> str | None:
    if not ICD10_RE.match(code.strip().upper()):
        return "not an ICD-10-CM code (a letter, two characters, optionally up to four more)"
    return None


def npi_is_valid(npi: str) -> bool:
    """10 digits, starting 1 or 2, Luhn check digit over the number prefixed 80840."""
    if not re.fullmatch(r"[12][0-9]{9}", npi):
        return False
    digits = [int(d) for d in "80840" + npi]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def npi_check_digit(first_nine: str) -> str:
    """The check digit that makes ``first_nine`` + digit a valid NPI."""
    for d in "0123456789":
        if npi_is_valid(first_nine + d):
            return d
    raise ValueError("first nine digits must be digits starting with 1 or 2")


def parse_iso_date(text: str) -> date:
    """YYYY-MM-DD only; raises ValueError with a message that does not echo the value."""
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text.strip()):
        raise ValueError("expected a date written YYYY-MM-DD")
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError("not a real calendar date") from None


def birth_date_problem(dob: date, today: date) -> str | None:
    if dob > today:
        return "date of birth is in the future"
    if dob.year < today.year - 120:
        return "date of birth is more than 120 years ago"
    return None
