"""The program report for funders: a period's people, services, hours, demographics,
recovery goals, BARC-10 change and supervision, computed from plain rows.

Pure Python (no Qt, no SQL): app.services.program_report reads the rows from the
vault (deleted records never reach this module) and hands them in with the
choice of period, program and scope; :func:`compute` applies the rules below and
:func:`app.reports.suppression.suppress` hides small cells before anything is shown or exported.

The rules, as the user guide states them for directors:

* **A service** is a note that is *signed*, *approved* or *billed* (drafts,
  notes returned for revision and void notes do not count), dated in the period,
  written by a specialist in the scope, for a person in the chosen program (the
  person's program as recorded now).
* **People served**: the distinct people with at least one service; each person is
  counted once, however many services, specialists or programs.
* **New / closed enrolments**: people in the scope (assigned to a specialist in it,
  or every person in the vault for the whole vault) and program whose intake date /
  discharge date falls in the period.
* **Units**: each payer's rounding rule and daily cap (per person per day per payer,
  over every counted service in the vault that day), as on the Team page.
* **Direct-service hours**: per specialist per day the union of the counted
  services' start-to-end times (a group session written as six notes is one block).
  **Travel**: the scoped specialists' travel entries in the period (minutes and
  miles); with a program chosen, only travel tied to a note of a person in it.
* **Demographics** of the people served: age band on the last day of the period,
  county, self-reported tribal affiliation, program.
* **Goals set**: goals of the people served started in the period; **achieved**:
  marked achieved with an achieved date in the period; by life area.
* **BARC-10 change**: for people served with at least two assessments on or before
  the period's last day, first total against latest total (paired).
* **Supervision**: sessions signed by their supervisor, dated in the period, with at
  least one specialist of the scope; session hours count each session once, hours
  received count each scoped specialist who took part.

Small-cell suppression (CMS cell-size rule): in every table that counts *people*
(demographics, the BARC-10 n), a count from 1 to 10 is shown as "<11". So that a
hidden count cannot be worked out from the table's total, more cells are hidden
(shown "*", smallest first) until the hidden cells add up to 11 or more and none is
pinned to one value by the total, the shown cells and the rule itself ("<11" holds
1 to 10; "*" holds 0 or 11 and more). A table of fewer than 11 people, or one that
no choice of hidden cells protects, is not broken down at all. BARC-10 means are
not shown for fewer than 11 people.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime

from app.domain.units import DEFAULT_RULE
from app.domain.units import RoundingRule
from app.reports.suppression import HIDDEN
from app.reports.suppression import SMALL
from app.reports.suppression import THRESHOLD
from app.reports.suppression import PeopleTable
from app.reports.suppression import people_table

COUNTED_STATUSES = frozenset({"signed", "approved", "billed"})
GOAL_DOMAINS = ("Health", "Home", "Purpose", "Community")
AGE_BANDS = (
    ("Under 18", 0, 17),
    ("18-24", 18, 24),
    ("25-34", 25, 34),
    ("35-44", 35, 44),
    ("45-54", 45, 54),
    ("55-64", 55, 64),
    ("65 and over", 65, 200),
)
NOT_RECORDED = "Not recorded"
NO_PROGRAM = "No program"


# -- the rows handed in ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PersonRow:
    id: str
    program: str
    county: str
    tribal_affiliation: str
    date_of_birth: date | None
    intake_date: date | None
    discharge_date: date | None
    assigned_specialist_id: str


@dataclass(frozen=True, slots=True)
class ServiceRow:
    id: str
    participant_id: str
    specialist_id: str
    service_date: date
    start: int | None  # minute of the day; None when not recorded
    minutes: int  # end minus start (0 without both)
    status: str
    payer_id: str
    service_code: str
    modality: str
    place_of_service: str


def minute_of_day(text: str | None) -> int | None:
    """``HH:MM`` (or ``HH:MM:SS``) as minutes after midnight."""
    if not text:
        return None
    return int(text[:2]) * 60 + int(text[3:5])


def span(start: str | None, end: str | None) -> tuple[int | None, int]:
    """A note's start minute and its minutes (0 unless both times are there)."""
    a, b = minute_of_day(start), minute_of_day(end)
    return a, (max(0, b - a) if a is not None and b is not None else 0)


@dataclass(frozen=True, slots=True)
class GoalRow:
    participant_id: str
    domain: str
    status: str
    started_on: date | None
    achieved_on: date | None


@dataclass(frozen=True, slots=True)
class BarcRow:
    id: str
    participant_id: str
    assessed_on: date
    total: int


@dataclass(frozen=True, slots=True)
class TravelRow:
    specialist_id: str
    entry_date: date
    minutes: int
    miles: float
    participant_id: str  # of the (not deleted) note the travel was for; "" if none


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: str
    session_date: date
    minutes: int
    specialist_ids: tuple[str, ...]
    supervisor_signed: bool


@dataclass(frozen=True, slots=True)
class Rows:
    """Everything the report reads from a vault (not deleted)."""

    people: Sequence[PersonRow]
    services: Sequence[ServiceRow]
    goals: Sequence[GoalRow]
    barc: Sequence[BarcRow]
    travel: Sequence[TravelRow]
    sessions: Sequence[SessionRow]
    payers: Mapping[str, object] = field(default_factory=dict)  # id -> app.domain Payer
    payer_names: Mapping[str, str] = field(default_factory=dict)
    place_labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Choice:
    """What the report is about. ``specialist_ids`` None: the whole vault."""

    first: date
    last: date
    program: str | None = None
    specialist_ids: frozenset[str] | None = None
    scope_label: str = "Whole vault"

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError("the period ends before it starts")


# -- the figures ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServiceLine:
    label: str
    services: int
    units: int


@dataclass(frozen=True, slots=True)
class GoalLine:
    domain: str
    set: int
    achieved: int


@dataclass(frozen=True, slots=True)
class BarcChange:
    n: int
    mean_first: float | None
    mean_latest: float | None
    mean_change: float | None

    @property
    def shown(self) -> tuple[str, str, str, str]:
        """n and the three means as they may be printed (hidden under 11 people)."""
        if self.n == 0:
            return "0", "", "", ""
        if self.n < THRESHOLD:
            return SMALL, HIDDEN, HIDDEN, HIDDEN
        assert self.mean_first is not None and self.mean_latest is not None
        assert self.mean_change is not None
        return (
            str(self.n),
            f"{self.mean_first:.1f}",
            f"{self.mean_latest:.1f}",
            f"{self.mean_change:+.1f}",
        )


@dataclass(frozen=True, slots=True)
class ProgramReport:
    choice: Choice
    generated_at: datetime
    people_served: int
    new_enrolments: int
    closed_enrolments: int
    services: int
    units: int
    by_program: tuple[ServiceLine, ...]
    by_payer: tuple[ServiceLine, ...]
    by_modality: tuple[ServiceLine, ...]
    by_place: tuple[ServiceLine, ...]
    direct_minutes: int
    travel_minutes: int
    miles: float
    demographics: tuple[PeopleTable, ...]
    goals: tuple[GoalLine, ...]
    barc: BarcChange
    supervision_sessions: int
    supervision_minutes: int
    supervision_received_minutes: int

    @property
    def period(self) -> str:
        return f"{self.choice.first.isoformat()} to {self.choice.last.isoformat()}"

    @property
    def program_label(self) -> str:
        return self.choice.program if self.choice.program is not None else "All programs"


# -- computing ---------------------------------------------------------------------------


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def age_band(born: date | None, day: date) -> str:
    if born is None or born > day:
        return NOT_RECORDED
    age = age_on(born, day)
    return next(label for label, lo, hi in AGE_BANDS if lo <= age <= hi)


def tribe_key(text: str) -> str:
    """Self-reported affiliations grouped without regard to case or spacing."""
    return " ".join(text.split()).casefold()


def _in(day: date | None, c: Choice) -> bool:
    return day is not None and c.first <= day <= c.last


def _scoped(specialist_id: str, c: Choice) -> bool:
    return c.specialist_ids is None or specialist_id in c.specialist_ids


def _program_of(p: PersonRow | None) -> str:
    return (p.program.strip() or NO_PROGRAM) if p is not None else NO_PROGRAM


def counted_services(rows: Rows, c: Choice, people: Mapping[str, PersonRow]) -> list[ServiceRow]:
    """The services the report counts (the rule in the module docstring)."""
    return [
        s
        for s in rows.services
        if s.status in COUNTED_STATUSES
        and _in(s.service_date, c)
        and _scoped(s.specialist_id, c)
        and s.participant_id in people
        and (c.program is None or _program_of(people[s.participant_id]) == c.program)
    ]


def _units(rows: Rows, c: Choice) -> dict[str, int]:
    """Units of every counted service in the period in the vault (the daily cap looks
    at a person's whole day, whoever wrote the notes): each payer's rule, the cap
    applied per person per day per payer in id order (as units_by_note does)."""
    groups: dict[tuple[str, date, str], list[tuple[str, int]]] = defaultdict(list)
    for s in rows.services:
        if s.status in COUNTED_STATUSES and s.service_code and _in(s.service_date, c):
            groups[(s.participant_id, s.service_date, s.payer_id)].append((s.id, s.minutes))
    rules: dict[str, RoundingRule] = {}
    out: dict[str, int] = {}
    for (_p, _d, payer_id), group in groups.items():
        rule = rules.get(payer_id)
        if rule is None:
            payer = rows.payers.get(payer_id)
            rule = rules[payer_id] = RoundingRule.for_payer(payer) if payer else DEFAULT_RULE  # type: ignore[arg-type]
        if len(group) == 1 and not rule.max_units_per_day:
            out[group[0][0]] = rule.units(group[0][1])
            continue
        group.sort()
        for (sid, _m), u in zip(group, rule.units_for_day([m for _i, m in group]), strict=True):
            out[sid] = u
    return out


def _breakdowns(
    services: Iterable[ServiceRow], units: Mapping[str, int], keys: Sequence
) -> list[tuple[ServiceLine, ...]]:
    """Services and units per label, for each labelling function in ``keys`` (one pass)."""
    tallies: list[dict[str, list[int]]] = [{} for _ in keys]
    for s in services:
        u = units.get(s.id, 0)
        for key, tally in zip(keys, tallies, strict=True):
            cell = tally.setdefault(key(s), [0, 0])
            cell[0] += 1
            cell[1] += u
    return [
        tuple(ServiceLine(k, tally[k][0], tally[k][1]) for k in sorted(tally)) for tally in tallies
    ]


def direct_minutes(services: Iterable[ServiceRow]) -> int:
    """Per specialist per day, the union of the services' intervals."""
    spans: dict[tuple[str, date], list[tuple[int, int]]] = defaultdict(list)
    for s in services:
        if s.minutes > 0 and s.start is not None:
            spans[(s.specialist_id, s.service_date)].append((s.start, s.start + s.minutes))
    total = 0
    for intervals in spans.values():
        end = -1
        for a, b in sorted(intervals):
            if b <= end:
                continue
            total += b - max(a, end)
            end = b
    return total


def _demographics(served: Sequence[PersonRow], last: date) -> tuple[PeopleTable, ...]:
    ages: dict[str, int] = defaultdict(int)
    counties: dict[str, int] = defaultdict(int)
    programs: dict[str, int] = defaultdict(int)
    spelling: dict[str, str] = {}
    tribes: dict[str, int] = defaultdict(int)
    for p in served:
        ages[age_band(p.date_of_birth, last)] += 1
        counties[" ".join(p.county.split()) or NOT_RECORDED] += 1
        programs[_program_of(p)] += 1
        key = tribe_key(p.tribal_affiliation)
        if key:
            label = " ".join(p.tribal_affiliation.split())
            spelling[key] = min(spelling.get(key, label), label)
        tribes[key] += 1
    tribe_counts = {spelling.get(k, "None reported"): v for k, v in tribes.items()}
    age_order = [b[0] for b in AGE_BANDS] + [NOT_RECORDED]
    return (
        people_table("Age at the end of the period", ages, age_order),
        people_table("County", counties),
        people_table("Tribal affiliation (self-reported)", tribe_counts),
        people_table("Program", programs),
    )


def _goals(rows: Rows, served: set[str], c: Choice) -> tuple[GoalLine, ...]:
    set_: dict[str, int] = defaultdict(int)
    done: dict[str, int] = defaultdict(int)
    for g in rows.goals:
        if g.participant_id not in served:
            continue
        if _in(g.started_on, c):
            set_[g.domain] += 1
        if g.status == "achieved" and _in(g.achieved_on, c):
            done[g.domain] += 1
    return tuple(GoalLine(d, set_[d], done[d]) for d in GOAL_DOMAINS)


def _barc(rows: Rows, served: set[str], last: date) -> BarcChange:
    by_person: dict[str, list[BarcRow]] = defaultdict(list)
    for b in rows.barc:
        if b.participant_id in served and b.assessed_on <= last:
            by_person[b.participant_id].append(b)
    pairs = []
    for scores in by_person.values():
        if len(scores) >= 2:
            scores.sort(key=lambda b: (b.assessed_on, b.id))
            pairs.append((scores[0].total, scores[-1].total))
    n = len(pairs)
    if not n:
        return BarcChange(0, None, None, None)
    first = sum(a for a, _ in pairs) / n
    latest = sum(b for _, b in pairs) / n
    return BarcChange(n, first, latest, latest - first)


def _travel(rows: Rows, c: Choice, people: Mapping[str, PersonRow]) -> tuple[int, float]:
    minutes, miles = 0, 0.0
    for t in rows.travel:
        if not (_in(t.entry_date, c) and _scoped(t.specialist_id, c)):
            continue
        if c.program is not None and (
            t.participant_id not in people or _program_of(people[t.participant_id]) != c.program
        ):
            continue
        minutes += t.minutes
        miles += t.miles
    return minutes, round(miles, 1)


def _supervision(rows: Rows, c: Choice) -> tuple[int, int, int]:
    sessions = minutes = received = 0
    for s in rows.sessions:
        if not (s.supervisor_signed and _in(s.session_date, c)):
            continue
        there = [i for i in set(s.specialist_ids) if _scoped(i, c)]
        if not there:
            continue
        sessions += 1
        minutes += s.minutes
        received += s.minutes * len(there)
    return sessions, minutes, received


def _enrolments(rows: Rows, c: Choice) -> tuple[int, int]:
    new = closed = 0
    for p in rows.people:
        if not _scoped(p.assigned_specialist_id, c):
            continue
        if c.program is not None and _program_of(p) != c.program:
            continue
        new += _in(p.intake_date, c)
        closed += _in(p.discharge_date, c)
    return new, closed


def compute(rows: Rows, c: Choice, generated_at: datetime) -> ProgramReport:
    """The report's figures (raw; :class:`Cell` and :class:`BarcChange` carry what may
    be shown)."""
    people = {p.id: p for p in rows.people}
    services = counted_services(rows, c, people)
    units = _units(rows, c)
    served_ids = {s.participant_id for s in services}
    served = [people[i] for i in sorted(served_ids)]
    new, closed = _enrolments(rows, c)
    travel_minutes, miles = _travel(rows, c, people)
    sessions, sup_minutes, received = _supervision(rows, c)
    places, payer_names = rows.place_labels, rows.payer_names
    by_program, by_payer, by_modality, by_place = _breakdowns(
        services,
        units,
        (
            lambda s: _program_of(people[s.participant_id]),
            lambda s: payer_names.get(s.payer_id, "No payer"),
            lambda s: s.modality.capitalize(),
            lambda s: f"{s.place_of_service} {places.get(s.place_of_service, '')}".strip(),
        ),
    )
    return ProgramReport(
        choice=c,
        generated_at=generated_at,
        people_served=len(served_ids),
        new_enrolments=new,
        closed_enrolments=closed,
        services=len(services),
        units=sum(units.get(s.id, 0) for s in services),
        by_program=by_program,
        by_payer=by_payer,
        by_modality=by_modality,
        by_place=by_place,
        direct_minutes=direct_minutes(services),
        travel_minutes=travel_minutes,
        miles=miles,
        demographics=_demographics(served, c.last),
        goals=_goals(rows, served_ids, c),
        barc=_barc(rows, served_ids, c.last),
        supervision_sessions=sessions,
        supervision_minutes=sup_minutes,
        supervision_received_minutes=received,
    )


def hours(minutes: int) -> str:
    return f"{minutes / 60:.1f}"


def table_rows(r: ProgramReport) -> list[tuple[str, str, str, str]]:
    """Every figure as (section, item, measure, value as it may be shown): the CSV
    and XLSX exports and the tests read the report through this."""
    out: list[tuple[str, str, str, str]] = [
        ("Report", "Period", "", r.period),
        ("Report", "Program", "", r.program_label),
        ("Report", "Scope", "", r.choice.scope_label),
        ("Summary", "People served (unduplicated)", "people", str(r.people_served)),
        ("Summary", "New enrolments", "people", str(r.new_enrolments)),
        ("Summary", "Closed enrolments", "people", str(r.closed_enrolments)),
        ("Summary", "Services", "services", str(r.services)),
        ("Summary", "Units", "units", str(r.units)),
        ("Hours", "Direct service", "hours", hours(r.direct_minutes)),
        ("Hours", "Travel", "hours", hours(r.travel_minutes)),
        ("Hours", "Travel", "miles", f"{r.miles:.1f}"),
        ("Supervision", "Sessions", "sessions", str(r.supervision_sessions)),
        ("Supervision", "Session time", "hours", hours(r.supervision_minutes)),
        ("Supervision", "Received by specialists", "hours", hours(r.supervision_received_minutes)),
    ]
    for name, lines in (
        ("Services by program", r.by_program),
        ("Services by payer", r.by_payer),
        ("Services by modality", r.by_modality),
        ("Services by place of service", r.by_place),
    ):
        for line in lines:
            out.append((name, line.label, "services", str(line.services)))
            out.append((name, line.label, "units", str(line.units)))
    for t in r.demographics:
        if t.withheld:
            out.append((t.title, "Not broken down (too few people)", "people", HIDDEN))
        for cell in t.cells:
            out.append((t.title, cell.label, "people", cell.shown))
        out.append((t.title, "Total", "people", t.total_shown))
    for g in r.goals:
        out.append(("Recovery goals", g.domain, "set", str(g.set)))
        out.append(("Recovery goals", g.domain, "achieved", str(g.achieved)))
    n, first, latest, change = r.barc.shown
    out += [
        ("BARC-10 (paired)", "People with two or more", "people", n),
        ("BARC-10 (paired)", "Mean first total", "score", first),
        ("BARC-10 (paired)", "Mean latest total", "score", latest),
        ("BARC-10 (paired)", "Mean change", "score", change),
    ]
    return out
