"""Names on a claim: the X12 basic character set, and a specialist's name in parts.

X12 names are upper-case ASCII. A name in Latin letters with diacritics loses
only the marks (Núñez -> NUNEZ); Cyrillic, Greek, Armenian and Georgian are
alphabets with a standard one-letter-to-letters romanisation, so they are
transliterated with ``anyascii`` (Иван -> IVAN). Other scripts (Chinese,
Japanese, Korean, Arabic, Hebrew, Indic, ...) romanise only with guesses (no
vowels in Arabic, no word breaks in Chinese): such a name is refused in the
pre-flight, naming the record, so someone enters the name as on the person's
Medicaid card. A name that would come out empty is refused too.

A specialist's (last, first) comes from the user's first and last name fields
when they are filled in; otherwise from the display name: credentials after a comma are dropped
("Jane Smith, CPSS" -> Smith, Jane), and a surname particle (de, de la, van,
von, da, del, di, du, le, la, bin, ibn, ...) starts the last name ("Maria de la
Cruz" -> de la Cruz, Maria); else the last word is the last name.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from anyascii import anyascii

SAFE_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "GEORGIAN")
_NOT_ALLOWED = re.compile(r"[^A-Z0-9 &'()+,\-./;?=#@!]")
_PUNCT = str.maketrans({"’": "'", "‘": "'", "‐": "-", "–": "-", "—": "-"})
PARTICLES = frozenset(
    {"da", "das", "de", "del", "della", "der", "di", "do", "dos", "du", "la", "le",
     "st", "st.", "van", "von", "ter", "ten", "bin", "ibn", "al", "el"}
)  # fmt: skip


def _script(ch: str) -> str:
    """The script of a letter, from its Unicode name ("CYRILLIC SMALL LETTER I")."""
    try:
        return unicodedata.name(ch).split()[0]
    except ValueError:
        return ""


def unsafe_script(value: str) -> str | None:
    """The first script in ``value`` that is not safe to transliterate, or None."""
    for ch in value:
        if ord(ch) < 128 or not ch.isalpha():
            continue
        script = _script(ch)
        if script not in SAFE_SCRIPTS:
            return (script.title() if len(script) > 3 else script) or "unknown"
    return None


@lru_cache(maxsize=8192)  # the same names and settings recur on thousands of claims
def x12_text(value: str, max_len: int) -> str:
    """Upper-case X12 basic characters, separators taken out, spaces collapsed,
    cut to ``max_len``. Letters of unsafe scripts are dropped (the pre-flight
    refuses such names before a file is written)."""
    s = unicodedata.normalize("NFC", value.translate(_PUNCT))
    out = []
    for ch in s:
        if ord(ch) < 128:
            out.append(ch)
        elif ch.isalpha() and _script(ch) not in SAFE_SCRIPTS:
            out.append(" ")
        else:
            out.append(anyascii(ch))
    s = _NOT_ALLOWED.sub(" ", "".join(out).upper())
    return " ".join(s.split())[:max_len].strip()


def name_problem(value: str, what: str) -> str | None:
    """Why ``value`` cannot go on a claim as a name (no personal data), or None."""
    if not value.strip():
        return f"the {what} is missing"
    script = unsafe_script(value)
    if script:
        return (
            f"the {what} is written in {script} script, which a claim file cannot carry "
            "safely; enter it in Latin letters as on the Medicaid card"
        )
    if not any(c.isalnum() for c in x12_text(value, 60)):
        return f"the {what} has no letters a claim file can carry"
    return None


def split_display_name(display_name: str) -> tuple[str, str]:
    """(last, first) from a display name such as "Jane Smith, CPSS" or "Maria de la Cruz"."""
    name = display_name.split(",", 1)[0].strip()
    parts = [p for p in name.split() if any(c.isalnum() for c in p)]  # a stray "-" is no name
    if len(parts) < 2:
        return name, ""
    start = len(parts) - 1
    while start > 1 and parts[start - 1].lower() in PARTICLES:
        start -= 1
    return " ".join(parts[start:]), " ".join(parts[:start])


def specialist_name(user) -> tuple[str, str]:
    """(last, first) of a rendering specialist: the user's first_name/last_name
    fields when the last name is filled in, else split from the display name."""
    last = user.last_name.strip()
    first = user.first_name.strip()
    if last:
        return last, first
    return split_display_name(user.display_name)
