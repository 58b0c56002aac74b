"""Checking what a person typed into the participant record's forms.

Pure: each ``check_*`` function takes the form's text as typed (a dict of field
name -> str, plus lists for multi-choice fields) and returns either a record or the
problems, each keyed by the field it belongs to so the form can show the message
next to that field. Messages never repeat the value they reject. Dates may be
written 2024-03-09 or 3/9/2024 (month first, as people in the US write them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from enum import StrEnum
from typing import Any
from typing import TypeVar

from app.domain.address import address_problems
from app.domain.address import format_zip
from app.domain.address import one_line
from app.domain.address import parse_sex
from app.domain.records import BARC10_ITEMS
from app.domain.records import AdministrativeSex
from app.domain.records import Barc10
from app.domain.records import Consent
from app.domain.records import ConsentKind
from app.domain.records import ContactMethod
from app.domain.records import Goal
from app.domain.records import GoalStatus
from app.domain.records import Participant
from app.domain.records import ParticipantStatus
from app.domain.records import RecoveryDomain
from app.domain.validation import birth_date_problem
from app.domain.validation import icd10_problem
from app.domain.validation import medicaid_id_problem
from app.domain.validation import normalize_medicaid_id

E = TypeVar("E", bound=StrEnum)

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+\Z")
STATE_RE = re.compile(r"^[A-Z]{2}\Z")
DATE_HINT = "write the date as YYYY-MM-DD or M/D/YYYY"


@dataclass
class Checked:
    """A record built from a form, or the problems that stop it (field -> message)."""

    record: object | None = None
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def parse_date(text: str) -> date | None:
    """``""`` -> None; 2024-03-09 or 3/9/2024 -> a date; anything else: ValueError
    with a message that does not repeat the text."""
    s = text.strip()
    if not s:
        return None
    m = re.fullmatch(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})", s)
    if m:
        y, mo, d = (int(g) for g in m.groups())
    else:
        m = re.fullmatch(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})", s)
        if not m:
            raise ValueError(DATE_HINT)
        mo, d, y = (int(g) for g in m.groups())
    try:
        return date(y, mo, d)
    except ValueError:
        raise ValueError("not a real calendar date") from None


def _date(values: Mapping[str, str], name: str, problems: dict[str, str]) -> date | None:
    try:
        return parse_date(values.get(name, ""))
    except ValueError as e:
        problems[name] = str(e).capitalize()
        return None


def _choice(
    values: Mapping[str, str],
    name: str,
    default: E,
    problems: dict[str, str],
    message: str,
    required: bool = False,
) -> E:
    """One of an enum's values from the form: an empty field is ``default`` (a
    problem too when ``required``); an unknown value is a problem, and ``default``."""
    raw = values.get(name, "")
    if not raw and not required:
        return default
    try:
        return type(default)(raw)
    except ValueError:
        problems[name] = message
        return default


def split_codes(text: str) -> tuple[str, ...]:
    """Diagnosis codes typed with any of ``; , |`` or spaces between them."""
    return tuple(c.strip().upper() for c in re.split(r"[;,|\s]+", text) if c.strip())


def phone_problem(text: str) -> str | None:
    digits = re.sub(r"[^0-9]", "", text)
    if not text.strip():
        return None
    if re.search(r"[^0-9\s()+.\-]", text):
        return "A phone number has only digits, spaces, dashes and brackets"
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10:
        return "A phone number has 10 digits (area code first)"
    return None


def check_participant(
    values: Mapping[str, str],
    *,
    contact_methods: Sequence[str] = (),
    ok_to_leave_message: bool = False,
    known_programs: Sequence[str] = (),
    today: date,
    base: Participant | None = None,
) -> Checked:
    """The participant the add/edit form describes (``base`` when editing keeps the
    id and the fields the form does not show)."""
    p: dict[str, str] = {}
    v = {k: (s or "") for k, s in values.items()}
    who = _check_identity(v, p, known_programs, today)
    place = _check_place(v, p)
    diagnoses = _check_diagnoses(v, p)
    dates = _check_enrolment(v, p, who["date_of_birth"])
    contact = _check_contact(v, p, contact_methods)
    if p:
        return Checked(problems=p)
    text = {n: v.get(n, "").strip() for n in _PLAIN_FIELDS}
    address = _one_line_address(place["parts"], place["state"], place["zip_code"], v, base)
    fields = dict(
        **text,
        **who,
        **dates,
        **contact,
        **place["parts"],
        diagnoses=diagnoses,
        state=place["state"],
        zip_code=place["zip_code"],
        administrative_sex=place["administrative_sex"],
        address=address,
        ok_to_leave_message=ok_to_leave_message,
    )
    record = base.replace(**fields) if base is not None else Participant(**fields)
    return Checked(record=record)


# Fields the form takes as typed (trimmed), with no check of their own.
_PLAIN_FIELDS = (
    "preferred_name", "pronouns", "payer_id", "county", "referral_source",
    "discharge_reason", "tribal_affiliation", "phone", "contact_best_times",
    "emergency_contact",
)  # fmt: skip


def _check_identity(
    v: dict[str, str], p: dict[str, str], known_programs: Sequence[str], today: date
) -> dict[str, Any]:
    """Name, date of birth, Medicaid ID and program."""
    first, last = v.get("first_name", "").strip(), v.get("last_name", "").strip()
    if not first:
        p["first_name"] = "First name is needed"
    if not last:
        p["last_name"] = "Last name is needed"
    dob = _date(v, "date_of_birth", p)
    if dob is not None:
        why = birth_date_problem(dob, today)
        if why:
            p["date_of_birth"] = why.capitalize()
    mid = normalize_medicaid_id(v.get("medicaid_id", ""))
    why = medicaid_id_problem(mid)
    if why:
        p["medicaid_id"] = why
    program = v.get("program", "").strip()
    if program and known_programs and program not in known_programs:
        p["program"] = "Pick a program from the list"
    return dict(
        first_name=first, last_name=last, date_of_birth=dob, medicaid_id=mid,
        program=program,
    )  # fmt: skip


def _check_place(v: dict[str, str], p: dict[str, str]) -> dict[str, Any]:
    """State, the address in parts, ZIP code and the sex on the Medicaid card."""
    state = v.get("state", "").strip().upper()
    if state and not STATE_RE.match(state):
        p["state"] = "State is a two-letter code such as ND or MN"
    parts = {n: " ".join(v.get(n, "").split()) for n in ("address_line1", "address_line2", "city")}
    zip_code = format_zip(v.get("zip_code", ""))
    for name, why in address_problems(parts["address_line1"], parts["city"], state,
                                      zip_code).items():  # fmt: skip
        p.setdefault(name, why)
    sex = parse_sex(v.get("administrative_sex", ""))
    if sex is None:
        p["administrative_sex"] = "Pick F, M or U as on the Medicaid card"
    return dict(
        state=state, parts=parts, zip_code=zip_code,
        administrative_sex=AdministrativeSex(sex or ""),
    )  # fmt: skip


def _check_diagnoses(v: dict[str, str], p: dict[str, str]) -> tuple[str, ...]:
    """The ICD-10-CM codes, each checked (the problem names them by position)."""
    diagnoses = split_codes(v.get("diagnoses", ""))
    bad = [i for i, c in enumerate(diagnoses, 1) if icd10_problem(c)]
    if bad:
        which = ", ".join(str(i) for i in bad)
        p["diagnoses"] = (
            f"Code {which} is not an ICD-10-CM code (like F11.20); separate codes with ;"
        )
    return diagnoses


def _check_enrolment(v: dict[str, str], p: dict[str, str], dob: date | None) -> dict[str, Any]:
    """Status, intake, discharge and recovery plan dates, and how they fit together."""
    status = _choice(v, "status", ParticipantStatus.ACTIVE, p, "Pick a status from the list")
    intake = _date(v, "intake_date", p)
    discharge = _date(v, "discharge_date", p)
    plan_done = _date(v, "recovery_plan_completed_on", p)
    if intake and dob and intake < dob:
        p["intake_date"] = "Intake is before the date of birth"
    if discharge and intake and discharge < intake:
        p["discharge_date"] = "Discharge is before intake"
    if status is ParticipantStatus.DISCHARGED and discharge is None and "discharge_date" not in p:
        p["discharge_date"] = "A discharged participant needs a discharge date"
    if discharge and status is not ParticipantStatus.DISCHARGED:
        p["status"] = "Set the status to discharged, or clear the discharge date"
    return dict(
        status=status, intake_date=intake, discharge_date=discharge,
        recovery_plan_completed_on=plan_done,
    )  # fmt: skip


def _check_contact(
    v: dict[str, str], p: dict[str, str], contact_methods: Sequence[str]
) -> dict[str, Any]:
    """Phone, e-mail and the contact methods that need them."""
    phone_why = phone_problem(v.get("phone", ""))
    if phone_why:
        p["phone"] = phone_why
    email = v.get("email", "").strip()
    if email and not EMAIL_RE.match(email):
        p["email"] = "This is not an e-mail address (name@example.org)"
    methods = tuple(m for m in contact_methods if m)
    for m in methods:
        if m not in {c.value for c in ContactMethod}:
            p["contact_methods"] = "Unknown contact method"
    if ContactMethod.EMAIL.value in methods and not email and "email" not in p:
        p["email"] = "E-mail is a contact method: add the address"
    if {ContactMethod.PHONE.value, ContactMethod.TEXT.value} & set(methods) and not v.get(
        "phone", ""
    ).strip():
        p.setdefault("phone", "Phone or text is a contact method: add the number")
    return dict(email=email, contact_methods=methods)


def _one_line_address(
    parts: Mapping[str, str], state: str, zip_code: str, v: Mapping[str, str], base: Any
) -> str:
    """The one-line ``address`` kept beside the parts (older versions show it): the
    parts written on one line; with no parts, what the form or the record had."""
    if parts["address_line1"]:
        return one_line(parts["address_line1"], parts["address_line2"], parts["city"], state,
                        zip_code)  # fmt: skip
    if "address" in v:
        return v["address"].strip()
    return base.address if base is not None else ""


def check_consent(values: Mapping[str, str], *, participant_id: str, today: date) -> Checked:
    """A new consent. A 42 CFR Part 2 consent needs what §2.31 asks for: who may
    disclose, to whom, why, how much, the signature date and an expiry date or event."""
    p: dict[str, str] = {}
    v = {k: (s or "") for k, s in values.items()}
    kind = _choice(v, "kind", ConsentKind.PART2, p, "Pick a kind of consent from the list")
    signed = _date(v, "signed_on", p)
    expires = _date(v, "expires_on", p)
    if signed is None and "signed_on" not in p:
        p["signed_on"] = "The date the participant signed is needed"
    elif signed and signed > today:
        p["signed_on"] = "The signature date is in the future"
    if expires and signed and expires < signed:
        p["expires_on"] = "Expires before it was signed"
    if not v.get("recipient", "").strip():
        p["recipient"] = "Say who may receive the information"
    if kind is ConsentKind.PART2:
        for name, msg in (
            ("disclosing_party", "Part 2 needs who may disclose"),
            ("purpose", "Part 2 needs the purpose of the disclosure"),
            ("information_scope", "Part 2 needs what information, and how much"),
        ):
            if not v.get(name, "").strip():
                p[name] = msg
        if expires is None and not v.get("expiry_event", "").strip() and "expires_on" not in p:
            p["expires_on"] = "Part 2 needs an expiry date or an expiry event"
    if p:
        return Checked(problems=p)
    return Checked(
        record=Consent(
            participant_id=participant_id,
            kind=kind,
            disclosing_party=v.get("disclosing_party", "").strip(),
            recipient=v.get("recipient", "").strip(),
            purpose=v.get("purpose", "").strip(),
            information_scope=v.get("information_scope", "").strip(),
            signed_on=signed,
            expires_on=expires,
            expiry_event=v.get("expiry_event", "").strip(),
        )
    )


def check_revocation(consent: Consent, values: Mapping[str, str], *, today: date) -> Checked:
    p: dict[str, str] = {}
    on = _date(values, "revoked_on", p)
    if on is None and "revoked_on" not in p:
        p["revoked_on"] = "The date of the revocation is needed"
    elif on and on > today:
        p["revoked_on"] = "The revocation date is in the future"
    elif on and consent.signed_on and on < consent.signed_on:
        p["revoked_on"] = "Revoked before it was signed"
    note = (values.get("revocation_note") or "").strip()
    if not note:
        p["revocation_note"] = "Write how the participant revoked it (spoken, in writing…)"
    if consent.revoked_on is not None:
        p["revoked_on"] = "This consent is already revoked"
    if p:
        return Checked(problems=p)
    return Checked(record=consent.replace(revoked_on=on, revocation_note=note))


def check_goal(
    values: Mapping[str, str],
    *,
    steps_text: str,
    participant_id: str,
    today: date,
    base: Goal | None = None,
) -> Checked:
    """A goal from the goal form; steps one per line. Editing keeps the ticks of the
    steps whose text did not change."""
    p: dict[str, str] = {}
    v = {k: (s or "") for k, s in values.items()}
    domain = _choice(v, "domain", RecoveryDomain.HEALTH, p, "Pick a recovery domain", True)
    statement = v.get("statement", "").strip()
    if not statement:
        p["statement"] = "Write the goal in the participant's own words"
    status = _choice(v, "status", GoalStatus.ACTIVE, p, "Pick a status")
    started = _date(v, "started_on", p)
    target = _date(v, "target_date", p)
    if started and target and target < started:
        p["target_date"] = "The target date is before the start"
    steps = tuple(s.strip() for s in steps_text.splitlines() if s.strip())
    if len(set(steps)) != len(steps):
        p["steps"] = "Two steps are the same; make each step different"
    if p:
        return Checked(problems=p)
    done: tuple[int, ...] = ()
    if base is not None:
        ticked = {base.steps[i] for i in set(base.steps_done) if 0 <= i < len(base.steps)}
        done = tuple(i for i, s in enumerate(steps) if s in ticked)
    achieved = base.achieved_on if base is not None else None
    if status is GoalStatus.ACHIEVED and achieved is None:
        achieved = today
    elif status is not GoalStatus.ACHIEVED:
        achieved = None
    fields = dict(
        domain=domain,
        statement=statement,
        steps=steps,
        steps_done=done,
        status=status,
        started_on=started or (base.started_on if base else today),
        target_date=target,
        achieved_on=achieved,
    )
    if base is not None:
        return Checked(record=base.replace(**fields))
    return Checked(record=Goal(participant_id=participant_id, **fields))


def tick_step(goal: Goal, index: int, done: bool) -> Goal:
    """The goal with step ``index`` ticked or not (indexes kept sorted, no repeats)."""
    if not 0 <= index < len(goal.steps):
        raise ValueError("that step is not part of this goal")
    ticked = set(goal.steps_done)
    if done:
        ticked.add(index)
    else:
        ticked.discard(index)
    return goal.replace(steps_done=tuple(sorted(ticked)))  # type: ignore[return-value]


def check_barc10(
    scores: Sequence[int | None],
    assessed_on: str,
    *,
    participant_id: str,
    assessed_by_id: str,
    today: date,
) -> Checked:
    """A BARC-10 from its form: every item answered 1-6 (problem key ``item<n>``, 1-based)."""
    p: dict[str, str] = {}
    if len(scores) != len(BARC10_ITEMS):
        raise ValueError("a BARC-10 has ten items")
    for i, s in enumerate(scores, 1):
        if s is None:
            p[f"item{i}"] = "Choose an answer from 1 to 6"
        elif not 1 <= s <= 6:
            p[f"item{i}"] = "Answers are scored 1 to 6"
    on = _date({"assessed_on": assessed_on}, "assessed_on", p)
    if on is None and "assessed_on" not in p:
        p["assessed_on"] = "The date of the assessment is needed"
    elif on and on > today:
        p["assessed_on"] = "The assessment date is in the future"
    if p:
        return Checked(problems=p)
    assert on is not None
    return Checked(
        record=Barc10(
            participant_id=participant_id,
            assessed_on=on,
            scores=tuple(int(s) for s in scores),  # type: ignore[arg-type]
            assessed_by_id=assessed_by_id,
        )
    )
