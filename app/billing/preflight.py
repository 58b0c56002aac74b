"""Pre-flight validation: every problem that would get a service's claim rejected,
found before any file is written.

``run_preflight`` takes plain records (no store) and returns the billable service
lines and the problems. Each problem names the record to open to fix it (table
and id), the check that failed, a message without personal data, and the
services it keeps out of the export. Checks:

* settings: the billing provider and the payer (settings.py)
* note: not signed, not approved, or changed after approval
* participant: Medicaid ID missing or malformed, no diagnosis, a malformed
  ICD-10-CM code or more than 12, no date of birth
* specialist: rendering NPI missing or failing the check digit, no name
* service: code, modifier or place of service not in the code tables or not
  allowed by the payer; too short for one unit; no payer
* consent: the payer requires one and none is in force on the service date
* overlapping times for one specialist (one group session is not an overlap)
* units over the payer's daily limit for one person
* past timely filing
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from app.billing.codes import CodeTables
from app.billing.settings import payer_problems, provider_problems
from app.domain import lifecycle
from app.domain.records import (
    BillingProvider,
    Consent,
    ConsentKind,
    Encounter,
    NoteStatus,
    Participant,
    Payer,
    ServiceSetting,
    User,
)
from app.domain.units import RoundingRule
from app.domain.validation import (
    icd10_problem,
    medicaid_id_problem,
    normalize_icd10,
    normalize_medicaid_id,
    npi_is_valid,
)

MAX_DIAGNOSES = 12


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
    all_ids = tuple(e.id for e in encs)
    problems: list[Problem] = []

    # -- settings ------------------------------------------------------------------
    prov = data.provider
    for msg in provider_problems(prov):
        problems.append(
            Problem("billing_providers", prov.id if prov else "", "provider", msg, all_ids)
        )

    by_payer: dict[str, list[Encounter]] = defaultdict(list)
    for e in encs:
        by_payer[payer_of(e, data.participants)].append(e)
    for pid, group in by_payer.items():
        ids = tuple(e.id for e in group)
        payer = data.payers.get(pid)
        if payer is None or payer.deleted:
            for e in group:
                problems.append(
                    Problem(
                        "encounters",
                        e.id,
                        "payer",
                        "the service has no payer to bill",
                        (e.id,),
                        e.service_date,
                    )
                )
            continue
        for msg in payer_problems(payer, set(data.codes.modifiers)):
            problems.append(Problem("payers", pid, "payer-settings", msg, ids))

    # -- notes -----------------------------------------------------------------------
    for e in encs:
        msg = None
        if e.status is NoteStatus.DRAFT:
            msg = "the note is not signed yet"
        elif e.status is NoteStatus.SIGNED:
            msg = "the note is signed but not approved by a supervisor"
        elif e.status is NoteStatus.RETURNED:
            msg = "the note was returned for revision"
        else:
            current = out.content_hashes[e.id] = lifecycle.content_hash(e)
            if e.approved_content_hash != current:
                msg = "the note changed after approval; it must be reviewed again"
        if msg:
            problems.append(
                Problem("encounters", e.id, "not-approved", msg, (e.id,), e.service_date)
            )

    # -- participants ----------------------------------------------------------------------
    by_person: dict[str, list[Encounter]] = defaultdict(list)
    for e in encs:
        by_person[e.participant_id].append(e)
    for pid, group in by_person.items():
        ids = tuple(e.id for e in group)
        person = data.participants.get(pid)
        if person is None or person.deleted:
            for e in group:
                problems.append(
                    Problem(
                        "encounters",
                        e.id,
                        "participant",
                        "the person served is not in this vault",
                        (e.id,),
                        e.service_date,
                    )
                )
            continue
        for check, msg in _person_problems(person):
            problems.append(Problem("participants", pid, check, msg, ids))

    # -- specialists -----------------------------------------------------------------------
    by_specialist: dict[str, list[Encounter]] = defaultdict(list)
    for e in encs:
        by_specialist[e.specialist_id].append(e)
    for uid, group in by_specialist.items():
        ids = tuple(e.id for e in group)
        user = data.users.get(uid)
        if user is None:
            for e in group:
                problems.append(
                    Problem(
                        "encounters",
                        e.id,
                        "specialist",
                        "the note's author is not in this vault",
                        (e.id,),
                        e.service_date,
                    )
                )
            continue
        if not user.npi:
            problems.append(
                Problem("users", uid, "npi", "the specialist has no NPI (rendering provider)", ids)
            )
        elif not npi_is_valid(user.npi):
            problems.append(
                Problem(
                    "users",
                    uid,
                    "npi",
                    "the specialist's NPI fails the check digit (Luhn with 80840)",
                    ids,
                )
            )
        if len(user.display_name.split()) < 2:
            problems.append(
                Problem("users", uid, "name", "the specialist needs a first and last name", ids)
            )
        problems.extend(_overlaps(group))

    # -- each service ---------------------------------------------------------------------
    units: dict[str, int] = {}
    rules: dict[str, RoundingRule] = {}
    for e in encs:
        payer = data.payers.get(payer_of(e, data.participants))
        for check, msg in _service_problems(e, payer, data.codes):
            problems.append(Problem("encounters", e.id, check, msg, (e.id,), e.service_date))
        if payer is None:
            continue
        minutes = e.minutes
        if minutes <= 0:
            continue  # reported above
        if payer.unit_minutes > 0:
            rule = rules.get(payer.id) or rules.setdefault(payer.id, RoundingRule.for_payer(payer))
            u = rule.units(minutes)
        else:
            u = 0
        units[e.id] = u
        if u < 1:
            problems.append(
                Problem(
                    "encounters",
                    e.id,
                    "units",
                    "the service is too short for one unit under the payer's rounding rule",
                    (e.id,),
                    e.service_date,
                )
            )
        if (
            payer.timely_filing_days > 0
            and e.service_date + timedelta(days=payer.timely_filing_days) < today
        ):
            problems.append(
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
                c.kind is not ConsentKind.TELEHEALTH and c.in_force(e.service_date)
                for c in consents
            ):
                problems.append(
                    Problem(
                        "participants",
                        e.participant_id,
                        "consent",
                        "the payer requires a consent in force on the service date; none is",
                        (e.id,),
                        e.service_date,
                    )
                )
    problems.extend(_daily_limits(encs, units, data))

    out.problems = _merge(problems)
    blocked = out.blocked_ids
    for e in encs:
        if e.id in blocked:
            continue
        payer = data.payers[payer_of(e, data.participants)]
        out.lines.append(
            ServiceLine(
                encounter_id=e.id,
                participant_id=e.participant_id,
                specialist_id=e.specialist_id,
                payer_id=payer.id,
                service_date=e.service_date,
                start_minute=_minute(e),
                minutes=e.minutes,
                units=units[e.id],
                rate_cents=payer.rate_cents_per_unit,
                procedure=e.service_code.upper(),
                modifiers=tuple(m.upper() for m in e.modifiers),
                place_of_service=e.place_of_service,
            )
        )
    return out


def _person_problems(p: Participant) -> Iterable[tuple[str, str]]:
    if not p.medicaid_id.strip():
        yield "medicaid-id", "the person has no Medicaid ID"
    elif medicaid_id_problem(p.medicaid_id):
        yield "medicaid-id", "the Medicaid ID must be 6 to 14 letters or digits"
    if not p.diagnoses:
        yield "diagnosis", "the person has no diagnosis code"
    elif any(icd10_problem(c) for c in p.diagnoses):
        yield "icd10", "a diagnosis is not a well-formed ICD-10-CM code"
    elif len(p.diagnoses) > MAX_DIAGNOSES:
        yield "icd10", f"a claim holds at most {MAX_DIAGNOSES} diagnosis codes"
    if p.date_of_birth is None:
        yield "birth-date", "the person's date of birth is missing (the claim needs it)"
    if not p.first_name.strip() or not p.last_name.strip():
        yield "name", "the person needs a first and last name on the claim"


def _service_problems(e: Encounter, payer, codes: CodeTables) -> Iterable[tuple[str, str]]:
    if e.start_time is None or e.end_time is None or e.minutes <= 0:
        yield "times", "the service has no start and end time"
    if e.service_code.upper() not in codes.hcpcs:
        yield "code", "the service code is not in the billing code table"
    mods = [m.upper() for m in e.modifiers]
    if len(mods) > 4:
        yield "modifier", "a service line holds at most four modifiers"
    for m in mods:
        if m not in codes.modifiers:
            yield "modifier", "a modifier is not in the modifier code table"
            break
        if payer is not None and payer.allowed_modifiers and m not in payer.allowed_modifiers:
            yield "modifier", "the payer does not accept one of the service's modifiers"
            break
    if e.place_of_service not in codes.places_of_service:
        yield "place-of-service", "the place of service is not in the code table"
    if (
        e.setting is ServiceSetting.GROUP
        and codes.group_modifiers
        and not set(mods) & codes.group_modifiers
    ):
        yield (
            "modifier",
            "a group service needs the group modifier ("
            + ", ".join(sorted(codes.group_modifiers))
            + ")",
        )


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
