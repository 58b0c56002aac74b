"""The note editor's rules, without Qt: code tables, times typed by a person, the
service timer's arithmetic, units in words, modifiers that follow the modality,
what still keeps a draft from being signed, and what to do with a returned note.

The editor (app/ui/notes/note_editor.py) shows what these functions decide; keeping them
here lets them be tested without widgets and reused by other screens.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import time
from pathlib import Path

from app.domain import lifecycle
from app.domain.datetext import clock_text
from app.domain.records import Encounter
from app.domain.records import Modality
from app.domain.records import NoteStatus
from app.domain.records import RoundingRuleName
from app.domain.records import ServiceSetting
from app.domain.records import minutes_between as minutes_between  # for the editor
from app.domain.units import RoundingRule
from app.domain.validation import MODIFIER_RE

# -- code tables ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Choice:
    """A code and what a person reads for it."""

    code: str
    label: str


@dataclass(frozen=True, slots=True)
class ModalityInfo:
    modality: Modality
    label: str
    modifiers: tuple[str, ...] = ()  # billing modifiers this modality usually needs
    place_of_service: str = ""  # the place of service it usually goes with


@dataclass(frozen=True, slots=True)
class NoteCodes:
    """What the editor offers: service codes, places of service, modalities."""

    service_codes: tuple[Choice, ...]
    places_of_service: tuple[Choice, ...]
    modalities: tuple[ModalityInfo, ...]
    group_modifiers: tuple[str, ...] = ("HQ",)

    def modality(self, m: Modality) -> ModalityInfo:
        for info in self.modalities:
            if info.modality is m:
                return info
        return ModalityInfo(m, str(m).capitalize())

    def place_label(self, code: str) -> str:
        for c in self.places_of_service:
            if c.code == code:
                return c.label
        return ""

    @property
    def automatic_modifiers(self) -> frozenset[str]:
        """Modifiers the editor adds and removes by itself as modality and setting change."""
        mods = {m for info in self.modalities for m in info.modifiers}
        return frozenset(mods | set(self.group_modifiers))


#: Used when the code file is missing or cannot be read (the editor says so).
BUILT_IN_CODES = NoteCodes(
    service_codes=(Choice("H0038", "Self-help/peer services, per 15 minutes"),),
    places_of_service=(
        Choice("11", "Office"),
        Choice("12", "Home"),
        Choice("02", "Telehealth provided other than in patient's home"),
        Choice("10", "Telehealth provided in patient's home"),
        Choice("99", "Other place of service"),
    ),
    modalities=(
        ModalityInfo(Modality.IN_PERSON, "In person", (), "11"),
        ModalityInfo(Modality.VIDEO, "Telehealth: video", ("95",), "10"),
        ModalityInfo(Modality.AUDIO, "Telehealth: audio only", ("93",), "10"),
    ),
)

NOTE_CODES_FILE = "note_codes.json"
BILLING_CODES_FILE = "billing.json"


class CodeFileError(ValueError):
    """The code file cannot be used; the message says which file and why, in plain words."""


def _choices(value: object, where: str) -> tuple[Choice, ...]:
    """A code table written as {"code": "label"} or [{"code": .., "label": ..}]."""
    if isinstance(value, dict):
        items = []
        for code, label in value.items():
            if isinstance(label, dict):
                label = label.get("description") or label.get("label") or ""
            items.append(Choice(str(code), str(label)))
        return tuple(items)
    if isinstance(value, list):
        try:
            return tuple(Choice(str(i["code"]), str(i.get("label", ""))) for i in value)
        except (TypeError, KeyError):
            raise CodeFileError(f"{where}: each entry needs a code and a label") from None
    raise CodeFileError(f"{where}: expected a list of codes")


def load_note_codes(folder: Path) -> NoteCodes:
    """Read ``note_codes.json`` from ``folder``. When the billing code table
    (``billing.json``) is there too, its service codes and places of service win,
    so the editor offers exactly what billing accepts. Raises CodeFileError."""
    path = folder / NOTE_CODES_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CodeFileError(f"{NOTE_CODES_FILE} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise CodeFileError(f"{NOTE_CODES_FILE} cannot be read (not valid JSON)") from None
    if not isinstance(raw, dict):
        raise CodeFileError(f"{NOTE_CODES_FILE}: expected an object at the top")
    services = _choices(raw.get("service_codes", []), NOTE_CODES_FILE)
    places = _choices(raw.get("places_of_service", []), NOTE_CODES_FILE)
    group = tuple(raw.get("group_modifiers", ["HQ"]))
    billing_path = folder / BILLING_CODES_FILE
    if billing_path.exists():
        try:
            billing = json.loads(billing_path.read_text(encoding="utf-8"))
            services = _choices(billing["hcpcs"], BILLING_CODES_FILE) or services
            places = _choices(billing["places_of_service"], BILLING_CODES_FILE) or places
            group = tuple(billing.get("group_modifiers", group))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
            raise CodeFileError(f"{BILLING_CODES_FILE} cannot be read") from None
    modalities = []
    for item in raw.get("modalities", []):
        try:
            modalities.append(
                ModalityInfo(
                    Modality(item["value"]),
                    str(item.get("label") or item["value"]),
                    tuple(item.get("modifiers", ())),
                    str(item.get("place_of_service", "")),
                )
            )
        except (KeyError, TypeError, ValueError):
            raise CodeFileError(
                f"{NOTE_CODES_FILE}: a modality is not one the app knows "
                f"({', '.join(m.value for m in Modality)})"
            ) from None
    known = {m.modality for m in modalities}
    modalities += [m for m in BUILT_IN_CODES.modalities if m.modality not in known]
    if not services or not places:
        raise CodeFileError(f"{NOTE_CODES_FILE}: service codes and places of service are empty")
    return NoteCodes(services, places, tuple(modalities), group)


# -- times ---------------------------------------------------------------------------

_TIME_RE = re.compile(
    r"^\s*(?P<h>\d{1,2})(?:(?::|\.|h)?(?P<m>\d{2}))?\s*(?P<ampm>[ap]\.?\s*m?\.?)?\s*\Z",
    re.IGNORECASE,
)

TIME_HINT = "Enter a time such as 9:30, 14:05 or 2:05 PM"


def parse_clock_time(text: str) -> time | None:
    """A time of day as people type it: "9:30", "0930", "14:05", "2:05 pm", "2pm".
    Empty text is no time (None). Raises ValueError with :data:`TIME_HINT`."""
    if not text.strip():
        return None
    m = _TIME_RE.match(text)
    if not m:
        raise ValueError(TIME_HINT)
    hour, minute = int(m["h"]), int(m["m"] or 0)
    ampm = (m["ampm"] or "").lower()[:1]
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueError(TIME_HINT)
        hour = hour % 12 + (12 if ampm == "p" else 0)
    if hour > 23 or minute > 59:
        raise ValueError(TIME_HINT)
    return time(hour, minute)


#: "9:05 AM" (app.domain.datetext.clock_text, under the name the editor knew).
format_clock_time = clock_text


@dataclass(frozen=True, slots=True)
class TimerSpan:
    service_date: date
    start: time
    end: time
    cut_at_midnight: bool = False


def timer_span(started: datetime, stopped: datetime) -> TimerSpan:
    """Start and end times for a service timed from ``started`` to ``stopped``
    (clock readings to the minute). A service that runs past midnight ends at 23:59
    of the day it started: a note covers one service date."""
    if stopped < started:
        stopped = started
    start = time(started.hour, started.minute)
    if stopped.date() != started.date():
        return TimerSpan(started.date(), start, time(23, 59), cut_at_midnight=True)
    return TimerSpan(started.date(), start, time(stopped.hour, stopped.minute))


def elapsed_text(seconds: float) -> str:
    """A running clock: 4:07, 1:02:05."""
    s = max(0, int(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


# -- units ---------------------------------------------------------------------------

_RULE_NAMES = {
    RoundingRuleName.CMS_8_MINUTE: "8-minute rule",
    RoundingRuleName.WHOLE_UNITS: "whole units only",
    RoundingRuleName.ANY_PART: "any part of a unit",
}


def rule_name(rule: RoundingRule) -> str:
    """A short name for a rounding rule: "8-minute rule, 15-min units"."""
    text = f"{_RULE_NAMES[rule.name]}, {rule.unit_minutes}-min units"
    if rule.max_units_per_day:
        text += f", at most {rule.max_units_per_day} a day"
    return text


def rule_explanation(rule: RoundingRule) -> str:
    """One sentence on how minutes become units under ``rule``."""
    u = rule.unit_minutes
    if rule.name is RoundingRuleName.CMS_8_MINUTE:
        return (
            f"A unit is {u} minutes; a started unit counts when at least "
            f"{rule.threshold} of its minutes were served."
        )
    if rule.name is RoundingRuleName.WHOLE_UNITS:
        return f"A unit is {u} minutes; only complete units count."
    return f"A unit is {u} minutes; any started unit counts."


def units_text(minutes: int, rule: RoundingRule) -> str:
    """ "38 min = 3 units"; a gentle prompt when there are no times yet."""
    if minutes <= 0:
        return "No time yet"
    n = rule.units(minutes)
    return f"{minutes} min = {n} unit{'' if n == 1 else 's'}"


# -- modifiers -----------------------------------------------------------------------


def parse_modifiers(text: str) -> tuple[str, ...]:
    """ "95, hq" -> ("95", "HQ"); order kept, repeats dropped."""
    out: list[str] = []
    for part in re.split(r"[\s,;]+", text.strip().upper()):
        if part and part not in out:
            out.append(part)
    return tuple(out)


def modifier_problem(text: str) -> str | None:
    bad = [m for m in parse_modifiers(text) if not MODIFIER_RE.match(m)]
    if bad:
        return "Modifiers are two letters or digits each, such as 95 or HQ"
    return None


def adjust_modifiers(
    current: Sequence[str], modality: Modality, setting: ServiceSetting, codes: NoteCodes
) -> tuple[str, ...]:
    """The modifiers after a change of modality or setting: those the editor manages
    (telehealth, group) follow the choice; any the person typed stay as they are."""
    auto = codes.automatic_modifiers
    kept = [m for m in current if m not in auto]
    wanted = list(codes.modality(modality).modifiers)
    if setting is ServiceSetting.GROUP:
        wanted += list(codes.group_modifiers)
    return tuple(dict.fromkeys([*kept, *wanted]))


# -- drafts and signing ---------------------------------------------------------------


def with_content(
    stored: Encounter, draft: Encounter, fields: Iterable[str] | None = None
) -> Encounter:
    """``stored`` with the draft's content ``fields`` (all content fields when None);
    status, signing and review fields stay as stored (the editor never writes those),
    and so do content fields the person did not touch (a sync may have changed them)."""
    names = lifecycle.CONTENT_FIELDS if fields is None else tuple(fields)
    unknown = set(names) - set(lifecycle.CONTENT_FIELDS)
    if unknown:
        raise ValueError("only content fields are written from the editor")
    return stored.replace(**{f: getattr(draft, f) for f in names})  # type: ignore[return-value]


def changed_content(before: Encounter, after: Encounter) -> tuple[str, ...]:
    """The content fields that differ between two versions of a note."""
    return tuple(f for f in lifecycle.CONTENT_FIELDS if getattr(before, f) != getattr(after, f))


def editor_problems(note: Encounter, today: date) -> list[tuple[str, str]]:
    """What keeps the draft from being signed, as (field, message): the life cycle's
    rules plus what the editor knows (a service date in the future)."""
    problems = list(lifecycle.signing_problems(note))
    if note.service_date > today:
        problems.append(("service_date", "the service date is in the future"))
    return problems


def problems_by_field(problems: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for field, message in problems:
        out.setdefault(field, []).append(message)
    return out


def plain_sentence(message: str) -> str:
    """ "enter the start and end time" -> "Enter the start and end time." """
    m = message.strip()
    if not m:
        return m
    m = m[0].upper() + m[1:]
    return m if m.endswith((".", "!", "?")) else m + "."


def can_edit(note: Encounter, user_id: str) -> bool:
    """The note's author edits a draft; nobody edits anything else."""
    return note.status in lifecycle.EDITABLE_STATUSES and note.specialist_id == user_id


def can_add_addendum(note: Encounter, user_id: str, is_supervisor: bool) -> bool:
    if note.status not in (NoteStatus.SIGNED, NoteStatus.RETURNED, NoteStatus.APPROVED):
        return False
    return note.specialist_id == user_id or is_supervisor


def next_step_for_returned(note: Encounter, user_id: str) -> str:
    """What the person should do with a note returned for revision, following the
    life-cycle rules (a returned note's content is frozen unless the rules make
    returned notes editable; an addendum by the author sends it back for review)."""
    if note.specialist_id != user_id:
        return "Its author answers with an addendum; then it comes back for review."
    if NoteStatus.RETURNED in lifecycle.EDITABLE_STATUSES:
        return "Edit the note to address the comment, then sign it again."
    return (
        "Answer with an addendum below: say what you corrected or add what was "
        "missing. Adding it sends the note back to your supervisor for review. "
        "The signed text itself stays as it is."
    )
