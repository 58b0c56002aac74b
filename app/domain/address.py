"""A postal address in parts (street, second line, city, state, ZIP), and reading
one that was written on one line.

Claims carry the person's address in parts (837P 2010BA N3/N4). Older vaults kept
one free-text line; :func:`parse_one_line` reads the common written form
("12 Main St, Apt 4, Bismarck, ND 58501-1234") and nothing else: an address it
cannot read without guessing is left for a person to enter in parts. Messages
never repeat a value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STATE_RE = re.compile(r"^[A-Z]{2}\Z")
ZIP_RE = re.compile(r"^[0-9]{5}(?:-?[0-9]{4})?\Z")
_LAST_PART = re.compile(r"^(?P<state>[A-Za-z]{2})\s+(?P<zip>[0-9]{5}(?:-?[0-9]{4})?)\Z")


@dataclass(frozen=True, slots=True)
class PostalAddress:
    line1: str
    line2: str
    city: str
    state: str  # two upper-case letters
    zip_code: str  # 12345 or 12345-6789

    def one_line(self) -> str:
        return one_line(self.line1, self.line2, self.city, self.state, self.zip_code)


def zip_digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


def format_zip(value: str) -> str:
    """``585011234`` or ``58501-1234`` -> ``58501-1234``; five digits stay five; any
    other text is returned stripped (a check says what is wrong with it)."""
    d = zip_digits(value)
    if ZIP_RE.match(value.strip()):
        return d if len(d) == 5 else f"{d[:5]}-{d[5:]}"
    return value.strip()


def zip_problem(value: str, need_nine: bool = False) -> str | None:
    """Why ``value`` is not a ZIP code (5 digits, or ZIP+4 with ``need_nine``)."""
    v = value.strip()
    if not v:
        return "The ZIP code is needed" if need_nine else None
    if not ZIP_RE.match(v):
        return "A ZIP code is 5 digits, or 9 digits for ZIP+4 (58501-1234)"
    if need_nine and len(zip_digits(v)) != 9:
        return "Enter the full ZIP+4 (9 digits, e.g. 58501-1234)"
    return None


def one_line(line1: str, line2: str, city: str, state: str, zip_code: str) -> str:
    """The parts written on one line: ``12 Main St, Apt 4, Bismarck, ND 58501``."""
    tail = " ".join(x for x in (state.strip(), zip_code.strip()) if x)
    parts = (line1.strip(), line2.strip(), city.strip(), tail)
    return ", ".join(x for x in parts if x)


def parse_one_line(text: str) -> PostalAddress | None:
    """The parts of an address written ``street[, second line], city, ST ZIP``, or
    None when it is not written that way (no guessing)."""
    parts = [p.strip() for p in text.strip().split(",")]
    if len(parts) not in (3, 4) or not all(parts):
        return None
    m = _LAST_PART.match(parts[-1])
    if m is None:
        return None
    line2 = parts[1] if len(parts) == 4 else ""
    return PostalAddress(
        line1=" ".join(parts[0].split()),
        line2=" ".join(line2.split()),
        city=" ".join(parts[-2].split()),
        state=m["state"].upper(),
        zip_code=format_zip(m["zip"]),
    )


def address_problems(line1: str, city: str, state: str, zip_code: str) -> dict[str, str]:
    """What is wrong with an address in parts, by field (an address may be left out
    entirely; once any part is there, a claim needs street, city, state and ZIP)."""
    out: dict[str, str] = {}
    why = zip_problem(zip_code)
    if why:
        out["zip_code"] = why
    if state.strip() and not STATE_RE.match(state.strip().upper()):
        out["state"] = "State is a two-letter code such as ND or MN"
    if line1.strip() or city.strip() or zip_code.strip():
        for name, value, what in (("address_line1", line1, "street"), ("city", city, "city"),
                                  ("zip_code", zip_code, "ZIP code"),
                                  ("state", state, "state")):  # fmt: skip
            if not value.strip():
                out.setdefault(name, f"The {what} is needed for a complete address")
    return out


SEX_WORDS = {"f": "F", "female": "F", "m": "M", "male": "M", "u": "U", "unknown": "U", "": ""}


def parse_sex(text: str) -> str | None:
    """The administrative sex code ("F", "M", "U", or "" for not recorded) of what
    was typed, or None when it is none of them."""
    return SEX_WORDS.get(text.strip().lower())
