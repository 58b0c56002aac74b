"""Checks of one record at a time for the billing pre-flight: a participant, a
specialist, a service (codes, modifiers, place of service, telehealth rules, a
future date). Each yields (check, message) pairs with no personal data;
app.billing.preflight turns them into problems that name the record.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from app.billing.codes import CodeSets
from app.billing.codes import CodeTables
from app.billing.codes import PayerRules
from app.billing.names import name_problem
from app.billing.names import specialist_name
from app.domain.records import Encounter
from app.domain.records import Modality
from app.domain.records import Participant
from app.domain.records import ServiceSetting
from app.domain.records import User
from app.domain.validation import icd10_problem
from app.domain.validation import medicaid_id_problem
from app.domain.validation import npi_is_valid

MAX_DIAGNOSES = 12  # diagnosis codes one 837P claim can carry (HI segment)


def person_problems(p: Participant, sets: CodeSets) -> Iterable[tuple[str, str]]:
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
    elif not all(sets.icd10_billable(c) for c in p.diagnoses):
        yield (
            "icd10",
            "a diagnosis is not a billable ICD-10-CM code "
            f"({sets.icd10cm_version}); a category such as F11 needs its full code",
        )
    if p.date_of_birth is None:
        yield "birth-date", "the person's date of birth is missing (the claim needs it)"
    if p.state.strip() and p.state.strip().upper() not in sets.states:
        yield "state", "the person's state is not a USPS state code"
    if p.address_line1.strip():  # the address in parts
        zip_digits = "".join(c for c in p.zip_code if c.isdigit())
        if len(zip_digits) not in (5, 9) or not p.city.strip() or not p.state.strip():
            yield (
                "address",
                "the person's address needs a city, a state and a 5- or 9-digit ZIP code",
            )
    if not p.first_name.strip() or not p.last_name.strip():
        yield "name", "the person needs a first and last name on the claim"
    else:
        for value, what in ((p.last_name, "last name"), (p.first_name, "first name")):
            msg = name_problem(value, f"person's {what}")
            if msg:
                yield "name", msg


def specialist_problems(user: User) -> Iterable[tuple[str, str]]:
    if not user.npi:
        yield "npi", "the specialist has no NPI (rendering provider)"
    elif not npi_is_valid(user.npi):
        yield "npi", "the specialist's NPI fails the check digit (Luhn with 80840)"
    last, first = specialist_name(user)
    if not last.strip() or not first.strip():
        yield "name", "the specialist needs a first and last name"
        return
    for value, what in ((last, "last name"), (first, "first name")):
        msg = name_problem(value, f"specialist's {what}")
        if msg:
            yield "name", msg


def service_problems(
    e: Encounter, payer, codes: CodeTables, rules: PayerRules | None, today: date
) -> Iterable[tuple[str, str]]:
    if e.service_date > today:
        yield "service-date", "the service date is in the future"
    if e.start_time is None or e.end_time is None or e.minutes <= 0:
        yield "times", "the service has no start and end time"
    if e.service_code.upper() not in codes.hcpcs:
        yield "code", "the service code is not in the billing code table"
    mods = [m.upper() for m in e.modifiers]
    if len(mods) > 4:
        yield "modifier", "a service line holds at most four modifiers"
    if len(set(mods)) < len(mods):
        yield "modifier", "a modifier is listed twice"
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
    if rules is not None:
        for msg in telehealth_problems(e.modality, e.place_of_service, set(mods), rules):
            yield "telehealth", msg


def telehealth_problems(
    modality: Modality, pos: str, mods: set[str], rules: PayerRules
) -> list[str]:
    """Place of service x modality x modifier under a payer's rules (codes.PayerRules)."""
    out: list[str] = []
    remote = modality is not Modality.IN_PERSON
    tele_pos = pos in rules.telehealth_places
    tele_mods = mods & (rules.video_modifiers | rules.audio_modifiers)
    places = ", ".join(sorted(rules.telehealth_places))
    if not remote and tele_pos:
        out.append(f"an in-person service cannot use a telehealth place of service ({places})")
    if not remote and tele_mods:
        out.append("an in-person service cannot carry a telehealth modifier")
    if remote and not tele_pos and rules.telehealth_needs_telehealth_place:
        out.append(f"a telehealth service needs a telehealth place of service ({places})")
    if modality is Modality.AUDIO and mods & rules.video_modifiers:
        audio = ", ".join(sorted(rules.audio_modifiers)) or "the audio-only modifier"
        out.append(f"an audio-only service cannot be coded as audio-video; use {audio}")
    if modality is Modality.VIDEO and mods & rules.audio_modifiers:
        out.append("an audio-and-video service cannot carry the audio-only modifier")
    if remote and rules.telehealth_modifier_required:
        wanted = rules.audio_modifiers if modality is Modality.AUDIO else rules.video_modifiers
        if wanted and not mods & wanted:
            out.append(
                "the payer requires a telehealth modifier (" + ", ".join(sorted(wanted)) + ")"
            )
    return out
