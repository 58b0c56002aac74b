"""Pre-flight validation: every problem that would get a service's claim rejected,
found before any file is written.

``run_preflight`` takes plain records (no store) and returns the billable service
lines and the problems. Each problem names the record to open to fix it (table
and id), the check that failed, a message without personal data, and the
services it keeps out of the export. Checks:

* settings: the billing provider and the payer (settings.py)
* note: not signed, not approved, or changed after approval
* participant: Medicaid ID missing or malformed, no diagnosis, a malformed
  ICD-10-CM code, one that is not billable (FY2026 code set), or more than 12;
  no date of birth, or one after the service; a state that is not a USPS code;
  a name a claim file cannot carry (names.py)
* specialist: rendering NPI missing or failing the check digit, no first and
  last name, a name a claim file cannot carry
* service: code, modifier or place of service not in the code tables or not
  allowed by the payer; a date in the future; place of service x modality x
  modifier against the payer's rules (codes.PayerRules); too short for one unit
  (or, under a day-total rule, the day's minutes too few); no payer
* consent: the payer requires one and none is in force on the service date
* overlapping times for one specialist (one group session is not an overlap),
  and one person served by two specialists at overlapping times
* under a day-total rule, a day's services are billed together or not at all
* units over the payer's daily limit for one person
* past timely filing
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import timedelta

from app.billing.codes import CodeSets
from app.billing.codes import CodeTables
from app.billing.codes import PayerRules
from app.billing.codes import code_sets
from app.billing.codes import rules_for_payer
from app.billing.record_checks import MAX_DIAGNOSES
from app.billing.record_checks import person_problems
from app.billing.record_checks import service_problems
from app.billing.record_checks import specialist_problems
from app.billing.settings import payer_problems
from app.billing.settings import provider_problems
from app.domain import lifecycle
from app.domain.records import BillingProvider
from app.domain.records import Consent
from app.domain.records import ConsentKind
from app.domain.records import Encounter
from app.domain.records import NoteStatus
from app.domain.records import Participant
from app.domain.records import Payer
from app.domain.records import ServiceSetting
from app.domain.records import User
from app.domain.units import RoundingRule
from app.domain.validation import normalize_icd10
from app.domain.validation import normalize_medicaid_id

MAX_AGE = 120  # a birth date further back is a typing error


@dataclass(frozen=True)
class Problem:
    table: str  # the record to open: billing_providers, payers, participants, users, encounters
    record_id: str
    check: str  # short name of the check, e.g. "medicaid-id"
    message: str  # plain words, no personal data
    encounter_ids: tuple[str, ...] = ()  # services it keeps out
    service_date: date | None = None

    @property
    def blocks_everything(self) -> bool:
        return self.table == "billing_providers"


@dataclass(frozen=True)
class ServiceLine:
    """One billable service: what goes on an 837P service line (2400)."""

    encounter_id: str
    participant_id: str
    specialist_id: str
    payer_id: str
    service_date: date
    start_minute: int
    minutes: int
    units: int
    rate_cents: int
    procedure: str
    modifiers: tuple[str, ...]
    place_of_service: str
    day_total: bool = False  # units from the day's total minutes (claims merge such lines)

    @property
    def amount_cents(self) -> int:
        return self.units * self.rate_cents


@dataclass
class BillingData:
    """Everything the checks read, loaded by the service (or built by a test)."""

    provider: BillingProvider | None
    payers: dict[str, Payer]
    participants: dict[str, Participant]
    users: dict[str, User]
    consents: dict[str, list[Consent]]  # by participant id
    encounters: list[Encounter]  # in the period, not billed, not void, not deleted
    codes: CodeTables
    code_sets: CodeSets | None = None  # None: the bundled sets (codes.code_sets())


@dataclass
class Preflight:
    period_from: date
    period_to: date
    lines: list[ServiceLine] = field(default_factory=list)  # billable services
    problems: list[Problem] = field(default_factory=list)
    considered: int = 0  # services in the period that are not billed or void
    # The content hash of each approved service, as checked against its approval
    # (the export marks those records billed without hashing them again).
    content_hashes: dict[str, str] = field(default_factory=dict)

    @property
    def blocked_ids(self) -> set[str]:
        return {i for p in self.problems for i in p.encounter_ids}

    @property
    def stopped_everything(self) -> bool:
        return any(p.blocks_everything for p in self.problems)


def _minute(e: Encounter) -> int:
    t = e.start_time
    return t.hour * 60 + t.minute if t else 0


def payer_of(e: Encounter, participants: dict[str, Participant]) -> str:
    if e.payer_id:
        return e.payer_id
    p = participants.get(e.participant_id)
    return p.payer_id if p else ""


def run_preflight(
    data: BillingData,
    period_from: date,
    period_to: date,
    today: date,
    payer_id: str | None = None,
) -> Preflight:
    """Check every service of the period (optionally one payer's) and return the
    billable lines and the problems, most fundamental first."""
    out = Preflight(period_from, period_to)
    encs = [
        e
        for e in data.encounters
        if period_from <= e.service_date <= period_to
        and not e.deleted
        and e.status not in (NoteStatus.BILLED, NoteStatus.VOID)
        and (payer_id is None or payer_of(e, data.participants) == payer_id)
    ]
    encs.sort(key=lambda e: (e.service_date, _minute(e), e.id))
    out.considered = len(encs)
    if not encs:
        return out
    rules_by_id: dict[str, PayerRules] = {
        p.id: rules_for_payer(data.codes, p) for p in data.payers.values()
    }
    problems = _settings_checks(encs, data)
    problems += _note_checks(encs, out.content_hashes)
    problems += _participant_checks(encs, data)
    problems += _specialist_checks(encs, data)
    problems += _service_checks(encs, data, today, rules_by_id)
    units, unit_problems, day_groups = _units(encs, data, rules_by_id)
    problems += unit_problems
    problems += _daily_limits(encs, units, data)
    problems += _whole_days(problems, day_groups)
    out.problems = _merge(problems)
    blocked = out.blocked_ids
    for e in encs:
        if e.id not in blocked:
            payer = data.payers[payer_of(e, data.participants)]
            out.lines.append(service_line(e, payer, units[e.id], rules_by_id[payer.id].day_total))
    return out


def _missing(group: list[Encounter], check: str, msg: str) -> list[Problem]:
    """One problem per service, when the record it needs is not in the vault."""
    return [Problem("encounters", e.id, check, msg, (e.id,), e.service_date) for e in group]


def _grouped(encs: list[Encounter], key) -> dict[str, list[Encounter]]:
    out: dict[str, list[Encounter]] = defaultdict(list)
    for e in encs:
        out[key(e)].append(e)
    return out


def _settings_checks(encs: list[Encounter], data: BillingData) -> list[Problem]:
    """The billing provider (blocks everything) and each payer."""
    problems: list[Problem] = []
    prov = data.provider
    all_ids = tuple(e.id for e in encs)
    for msg in provider_problems(prov):
        problems.append(
            Problem("billing_providers", prov.id if prov else "", "provider", msg, all_ids)
        )
    for pid, group in _grouped(encs, lambda e: payer_of(e, data.participants)).items():
        payer = data.payers.get(pid)
        if payer is None or payer.deleted:
            problems += _missing(group, "payer", "the service has no payer to bill")
            continue
        ids = tuple(e.id for e in group)
        for msg in payer_problems(
            payer, set(data.codes.modifiers), set(data.codes.places_of_service)
        ):
            problems.append(Problem("payers", pid, "payer-settings", msg, ids))
    return problems


def _note_checks(encs: list[Encounter], content_hashes: dict[str, str]) -> list[Problem]:
    """Signed, approved and unchanged since; fills ``content_hashes``."""
    problems: list[Problem] = []
    for e in encs:
        msg = None
        if e.status is NoteStatus.DRAFT:
            msg = "the note is not signed yet"
        elif e.status is NoteStatus.SIGNED:
            msg = "the note is signed but not approved by a supervisor"
        elif e.status is NoteStatus.RETURNED:
            msg = "the note was returned for revision"
        else:
            current = content_hashes[e.id] = lifecycle.content_hash(e)
            if e.approved_content_hash != current:
                msg = "the note changed after approval; it must be reviewed again"
        if msg:
            problems.append(
                Problem("encounters", e.id, "not-approved", msg, (e.id,), e.service_date)
            )
    return problems


def _participant_checks(encs: list[Encounter], data: BillingData) -> list[Problem]:
    """Each person served: claim data, code sets, birth date against the services,
    and two specialists at once."""
    sets = data.code_sets or code_sets()
    problems: list[Problem] = []
    for pid, group in _grouped(encs, lambda e: e.participant_id).items():
        person = data.participants.get(pid)
        if person is None or person.deleted:
            problems += _missing(group, "participant", "the person served is not in this vault")
            continue
        ids = tuple(e.id for e in group)
        for check, msg in person_problems(person, sets):
            problems.append(Problem("participants", pid, check, msg, ids))
        dob = person.date_of_birth
        if dob is None:
            continue
        late = tuple(e.id for e in group if dob > e.service_date)
        if late:
            msg = "the person's date of birth is after the service date"
            problems.append(Problem("participants", pid, "birth-date", msg, late))
        old = tuple(e.id for e in group if e.service_date.year - dob.year > MAX_AGE)
        if old:
            msg = f"the person's date of birth is more than {MAX_AGE} years before the service"
            problems.append(Problem("participants", pid, "birth-date", msg, old))
    return problems + _person_overlaps(encs)


def _specialist_checks(encs: list[Encounter], data: BillingData) -> list[Problem]:
    """Each rendering specialist: NPI, name, and overlapping services."""
    problems: list[Problem] = []
    for uid, group in _grouped(encs, lambda e: e.specialist_id).items():
        user = data.users.get(uid)
        if user is None:
            problems += _missing(group, "specialist", "the note's author is not in this vault")
            continue
        ids = tuple(e.id for e in group)
        for check, msg in specialist_problems(user):
            problems.append(Problem("users", uid, check, msg, ids))
        problems += _overlaps(group)
    return problems


def _service_checks(
    encs: list[Encounter], data: BillingData, today: date, rules_by_id: dict[str, PayerRules]
) -> list[Problem]:
    """Each service against the code tables, its payer's rules, dates and consent."""
    problems: list[Problem] = []
    for e in encs:
        payer = data.payers.get(payer_of(e, data.participants))
        rules = rules_by_id.get(payer.id) if payer is not None else None
        for check, msg in service_problems(e, payer, data.codes, rules, today):
            problems.append(Problem("encounters", e.id, check, msg, (e.id,), e.service_date))
        if payer is not None and e.minutes > 0:
            problems += _payer_date_problems(e, payer, data, today)
    return problems


def _whole_days(problems: list[Problem], day_groups: list[list[Encounter]]) -> list[Problem]:
    """Under a day-total rule a day is billed whole or not at all."""
    blocked = {i for p in problems for i in p.encounter_ids}
    msg = "another service of this day is held back; the payer's day-total rule bills them together"
    out: list[Problem] = []
    for group in day_groups:
        if any(e.id in blocked for e in group):
            out += [
                Problem("encounters", e.id, "day-total", msg, (e.id,), e.service_date)
                for e in group
                if e.id not in blocked
            ]
    return out


def service_line(e: Encounter, payer: Payer, units: int, day_total: bool = False) -> ServiceLine:
    """The claim line of one checked service."""
    return ServiceLine(
        encounter_id=e.id,
        participant_id=e.participant_id,
        specialist_id=e.specialist_id,
        payer_id=payer.id,
        service_date=e.service_date,
        start_minute=_minute(e),
        minutes=e.minutes,
        units=units,
        day_total=day_total,
        rate_cents=payer.rate_cents_per_unit,
        procedure=e.service_code.upper(),
        modifiers=tuple(m.upper() for m in e.modifiers),
        place_of_service=e.place_of_service,
    )


def rebuild_lines(data: BillingData, encounters: list[Encounter]) -> list[ServiceLine]:
    """The service lines of services already billed (e.g. a submitted batch being
    voided), with units by the same rules as the export, without the checks: for a
    void (8) or replacement (7) claim file. ``data.encounters`` is not read."""
    encs = sorted(encounters, key=lambda e: (e.service_date, _minute(e), e.id))
    rules: dict[str, PayerRules] = {}
    for e in encs:
        payer = data.payers.get(payer_of(e, data.participants))
        if payer is None:
            raise ValueError("a billed service has no payer in this vault")
        if payer.id not in rules:
            rules[payer.id] = rules_for_payer(data.codes, payer)
    units, _problems, _days = _units(encs, data, rules)
    out = []
    for e in encs:
        payer = data.payers[payer_of(e, data.participants)]
        out.append(service_line(e, payer, units.get(e.id, 0), rules[payer.id].day_total))
    return out


def _payer_date_problems(
    e: Encounter, payer: Payer, data: BillingData, today: date
) -> list[Problem]:
    """Timely filing and a required consent."""
    out: list[Problem] = []
    late = e.service_date + timedelta(days=payer.timely_filing_days) < today
    if payer.timely_filing_days > 0 and late:
        out.append(
            Problem(
                "encounters",
                e.id,
                "timely-filing",
                f"past the payer's timely filing limit ({payer.timely_filing_days} days)",
                (e.id,),
                e.service_date,
            )
        )
    if payer.requires_consent:
        consents = data.consents.get(e.participant_id, [])
        if not any(
            c.kind is not ConsentKind.TELEHEALTH and c.in_force(e.service_date) for c in consents
        ):
            out.append(
                Problem(
                    "participants",
                    e.participant_id,
                    "consent",
                    "the payer requires a consent in force on the service date; none is",
                    (e.id,),
                    e.service_date,
                )
            )
    return out


def _units(
    encs: list[Encounter], data: BillingData, rules: dict[str, PayerRules]
) -> tuple[dict[str, int], list[Problem], list[list[Encounter]]]:
    """Units per service. Per service: the payer's rounding rule over its minutes.
    Under a day-total rule: the services of one person, specialist, day, code,
    modifiers and place are added up, the rule gives the day's units, and each
    service gets the units its minutes add to the running total (so the units add
    up to the day's; a service can get 0 when an earlier one already earned it)."""
    units: dict[str, int] = {}
    problems: list[Problem] = []
    days: dict[tuple, list[Encounter]] = defaultdict(list)
    rounding: dict[str, RoundingRule] = {}
    for e in encs:
        payer = data.payers.get(payer_of(e, data.participants))
        if payer is None or e.minutes <= 0:
            continue
        if payer.unit_minutes < 1:
            units[e.id] = 0
            days[("one", e.id)].append(e)
            continue
        if rules[payer.id].day_total:
            mods = tuple(m.upper() for m in e.modifiers)
            key = (payer.id, e.participant_id, e.specialist_id, e.service_date,
                   e.service_code.upper(), mods, e.place_of_service)  # fmt: skip
        else:
            key = ("one", e.id)
        days[key].append(e)
    for key, items in days.items():
        payer = data.payers[payer_of(items[0], data.participants)]
        if payer.unit_minutes < 1:
            total = 0
        else:
            rule = rounding.get(payer.id) or rounding.setdefault(
                payer.id, RoundingRule.for_payer(payer)
            )
            total = run = 0
            for e in items:  # in service order (the services are sorted)
                before = rule.units(run)
                run += e.minutes
                units[e.id] = rule.units(run) - before
            total = rule.units(run)
        if total < 1:
            msg = (
                "the service is too short for one unit under the payer's rounding rule"
                if key[0] == "one"
                else "the day's services add up to less than one unit under the payer's rule"
            )
            for e in items:
                problems.append(Problem("encounters", e.id, "units", msg, (e.id,), e.service_date))
    day_groups = [items for key, items in days.items() if key[0] != "one" and len(items) > 1]
    return units, problems, day_groups


def _overlaps(group: list[Encounter]) -> list[Problem]:
    """One specialist's services whose times overlap; several notes of one group
    session (same setting, start and end) are one block of time, not an overlap."""
    out: list[Problem] = []
    by_day: dict[date, list[tuple[int, int, Encounter]]] = defaultdict(list)
    for e in group:
        minutes = e.minutes
        if e.start_time and e.end_time and minutes > 0:
            by_day[e.service_date].append((_minute(e), minutes, e))
    for day, items in by_day.items():
        items.sort(key=lambda t: (t[0], t[2].id))
        flagged: set[str] = set()
        for i, (a0, a_len, a) in enumerate(items):
            a1 = a0 + a_len
            for j in range(i + 1, len(items)):
                b0, _b_len, b = items[j]
                if b0 >= a1:
                    break  # sorted by start: no later service starts before ``a`` ends
                if (
                    a.setting is ServiceSetting.GROUP
                    and b.setting is ServiceSetting.GROUP
                    and (a.start_time, a.end_time) == (b.start_time, b.end_time)
                ):
                    continue
                flagged |= {a.id, b.id}
        for eid in sorted(flagged):
            out.append(
                Problem(
                    "encounters",
                    eid,
                    "overlap",
                    "the specialist has another service at an overlapping time",
                    (eid,),
                    day,
                )
            )
    return out


def _person_overlaps(encs: list[Encounter]) -> list[Problem]:
    """One person served by two specialists at overlapping times: at most one of
    them can have served the person then (both are flagged)."""
    out: list[Problem] = []
    by_day: dict[tuple[str, date], list[tuple[int, int, Encounter]]] = defaultdict(list)
    for e in encs:
        if e.start_time and e.end_time and e.minutes > 0:
            by_day[(e.participant_id, e.service_date)].append((_minute(e), e.minutes, e))
    for (_pid, day), items in by_day.items():
        if len(items) < 2:
            continue
        items.sort(key=lambda t: (t[0], t[2].id))
        flagged: set[str] = set()
        for i, (a0, a_len, a) in enumerate(items):
            for b0, _b_len, b in items[i + 1 :]:
                if b0 >= a0 + a_len:
                    break
                if a.specialist_id != b.specialist_id:
                    flagged |= {a.id, b.id}
        msg = "another specialist served the same person at an overlapping time"
        out += [Problem("encounters", i, "person-overlap", msg, (i,), day) for i in sorted(flagged)]
    return out


def _daily_limits(encs: list[Encounter], units: dict[str, int], data: BillingData) -> list[Problem]:
    out: list[Problem] = []
    per_day: dict[tuple[str, str, date], list[Encounter]] = defaultdict(list)
    for e in encs:
        if e.id in units:
            per_day[(payer_of(e, data.participants), e.participant_id, e.service_date)].append(e)
    for (pid, _person, day), items in per_day.items():
        cap = data.payers[pid].max_units_per_day
        total = sum(units[e.id] for e in items)
        if cap and total > cap:
            for e in items:
                out.append(
                    Problem(
                        "encounters",
                        e.id,
                        "daily-limit",
                        f"{total} units for this person on this day; the payer allows {cap}",
                        (e.id,),
                        day,
                    )
                )
    return out


def _merge(problems: list[Problem]) -> list[Problem]:
    """One row per (record, check, message): the services they keep out are joined."""
    merged: dict[tuple[str, str, str, str], Problem] = {}
    for p in problems:
        key = (p.table, p.record_id, p.check, p.message)
        if key in merged:
            old = merged[key]
            ids = tuple(dict.fromkeys(old.encounter_ids + p.encounter_ids))
            merged[key] = Problem(p.table, p.record_id, p.check, p.message, ids, old.service_date)
        else:
            merged[key] = p
    order = {"billing_providers": 0, "payers": 1, "users": 2, "participants": 3, "encounters": 4}
    return sorted(
        merged.values(),
        key=lambda p: (order.get(p.table, 9), p.service_date or date.min, p.record_id, p.check),
    )


def claim_diagnoses(p: Participant) -> tuple[str, ...]:
    """The person's diagnoses as written on a claim: no dot, upper case, at most 12."""
    return tuple(normalize_icd10(c) for c in p.diagnoses)[:MAX_DIAGNOSES]


def claim_member_id(p: Participant) -> str:
    return normalize_medicaid_id(p.medicaid_id)
