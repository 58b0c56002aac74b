"""Likely duplicate participants: one person registered twice (two specialists, each
offline, each on their own laptop).

Two records are likely the same person when they carry the same Medicaid ID, or
the same date of birth and similar names. Names are compared the way people
misspell them: accents and letter case folded (``José`` = ``Jose``, ``Łukasz`` =
``Lukasz``, via ``anyascii``), nicknames known (``Bob`` = ``Robert``, from the
maintained ``nicknames`` list), one typo or two letters swapped (``Jonh`` =
``John``, optimal string alignment distance via ``rapidfuzz``), Jaro-Winkler
similarity for longer near-misses, compound and hyphenated surnames by any of
their parts, and first and last name swapped. Different dates of birth never
match on names alone.

Plain Python, no Qt, no storage: app.services.duplicates feeds it the vault's
live participants and the pairs people marked "not the same person".
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from anyascii import anyascii
from nicknames import NickNamer
from rapidfuzz.distance import OSA
from rapidfuzz.distance import JaroWinkler

SAME_MEDICAID = "same Medicaid ID"
SAME_BIRTH_SIMILAR_NAME = "same date of birth, similar name"

#: Jaro-Winkler similarity from which two (folded) names of 6+ letters match.
JARO_WINKLER_MIN = 0.92
_NOT_LETTERS = re.compile(r"[^a-z ]+")


@dataclass(frozen=True, slots=True)
class Person:
    """What the matcher looks at of a participant."""

    id: str
    first_name: str
    last_name: str
    date_of_birth: date | None = None
    medicaid_id: str = ""
    preferred_name: str = ""


@dataclass(frozen=True, slots=True)
class Match:
    """A likely duplicate pair, ``a_id`` < ``b_id``, and why."""

    a_id: str
    b_id: str
    reason: str

    @property
    def pair(self) -> tuple[str, str]:
        return (self.a_id, self.b_id)


def pair_key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def fold(name: str) -> str:
    """Lower-case ASCII letters and single spaces: accents, case, punctuation and
    hyphens folded away (``"Núñez-O'Brien"`` -> ``"nunez obrien"``)."""
    text = anyascii(unicodedata.normalize("NFKC", name or "")).lower()
    text = text.replace("'", "").replace("-", " ")
    return " ".join(_NOT_LETTERS.sub(" ", text).split())


def medicaid_key(value: str) -> str:
    """A Medicaid ID compared without case, spaces or dashes."""
    return "".join(ch for ch in (value or "").upper() if ch.isalnum())


@lru_cache(maxsize=1)
def _namer() -> NickNamer:
    return NickNamer()


@lru_cache(maxsize=4096)
def _name_forms(name: str) -> frozenset[str]:
    """A folded first name with its nicknames and the names it is a nickname of."""
    namer = _namer()
    forms = {name}
    forms |= {n.lower() for n in namer.nicknames_of(name)}
    forms |= {n.lower() for n in namer.canonicals_of(name)}
    return frozenset(forms)


def spelled_alike(a: str, b: str) -> bool:
    """Two folded words that are one typo or one swap apart, or very similar."""
    if not a or not b:
        return False
    if a == b:
        return True
    shortest = min(len(a), len(b))
    if shortest >= 4 and OSA.distance(a, b) <= 1:
        return True
    return shortest >= 6 and JaroWinkler.similarity(a, b) >= JARO_WINKLER_MIN


def first_names_match(a: str, b: str) -> bool:
    """Folded first names: spelled alike, or one a nickname of the other (or both
    nicknames of one name: ``Bobby`` and ``Rob``)."""
    if spelled_alike(a, b):
        return True
    if not a or not b:
        return False
    wa, wb = a.split()[0], b.split()[0]
    if spelled_alike(wa, wb):
        return True
    if wb in _name_forms(wa) or wa in _name_forms(wb):
        return True
    return bool(_canonicals(wa) & _canonicals(wb))


@lru_cache(maxsize=4096)
def _canonicals(name: str) -> frozenset[str]:
    """The full names a (folded) first name is a form of, itself included."""
    return frozenset({name} | {n.lower() for n in _namer().canonicals_of(name)})


def last_names_match(a: str, b: str) -> bool:
    """Folded last names: spelled alike whole, without spaces, or by any part of a
    compound name (``Garcia Lopez`` and ``Garcia``)."""
    if spelled_alike(a, b) or spelled_alike(a.replace(" ", ""), b.replace(" ", "")):
        return True
    parts_a, parts_b = a.split(), b.split()
    if len(parts_a) == 1 and len(parts_b) == 1:
        return False
    return any(spelled_alike(x, y) for x in parts_a for y in parts_b if min(len(x), len(y)) >= 3)


def names_match(a: Person, b: Person) -> bool:
    """Similar names: first (or preferred) and last name, or the two swapped."""
    last_a, last_b = fold(a.last_name), fold(b.last_name)
    firsts_a = {fold(a.first_name), fold(a.preferred_name)} - {""}
    firsts_b = {fold(b.first_name), fold(b.preferred_name)} - {""}
    if last_names_match(last_a, last_b) and any(
        first_names_match(x, y) for x in firsts_a for y in firsts_b
    ):
        return True
    first_a, first_b = fold(a.first_name), fold(b.first_name)
    return last_names_match(last_a, first_b) and last_names_match(first_a, last_b)


def likely_duplicates(
    people: Iterable[Person], distinct: Iterable[tuple[str, str]] = ()
) -> list[Match]:
    """Every likely duplicate pair among ``people``, leaving out the pairs in
    ``distinct`` (marked "not the same person"), sorted by pair."""
    skip = {pair_key(a, b) for a, b in distinct}
    found: dict[tuple[str, str], str] = {}
    by_medicaid: dict[str, list[Person]] = defaultdict(list)
    by_birth: dict[date, list[Person]] = defaultdict(list)
    for p in people:
        if key := medicaid_key(p.medicaid_id):
            by_medicaid[key].append(p)
        if p.date_of_birth is not None:
            by_birth[p.date_of_birth].append(p)
    for group in by_medicaid.values():
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                if a.id != b.id:
                    found.setdefault(pair_key(a.id, b.id), SAME_MEDICAID)
    for group in by_birth.values():
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                key = pair_key(a.id, b.id)
                if a.id != b.id and key not in found and names_match(a, b):
                    found[key] = SAME_BIRTH_SIMILAR_NAME
    return [Match(a, b, why) for (a, b), why in sorted(found.items()) if (a, b) not in skip]
