"""Claims from billable service lines, and the checks a payer makes that the X12
validator does not.

A payer's claim grouping rule decides what one claim holds: every service for one
person on one date of service (the common rule) or in one month. Services by
different rendering specialists go on different claims (loop 2310B names one),
and a claim holds at most 50 lines, so a longer one is split.

``claim_problems`` is the last gate before a claim is written: valid NPI check
digits, CLM02 equal to the sum of the lines, diagnosis pointers within the codes
(at most 12), ICD-10 codes without the dot, whole positive units. pyx12 checks
none of these (shared FACTS.md), so the writer refuses a claim that fails them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from dataclasses import replace
from functools import lru_cache

from app.billing.preflight import BillingData
from app.billing.preflight import ServiceLine
from app.billing.preflight import claim_diagnoses
from app.billing.preflight import rebuild_lines
from app.billing.record_checks import MAX_DIAGNOSES
from app.domain.records import ClaimGrouping
from app.domain.records import Encounter
from app.domain.records import Payer
from app.domain.validation import npi_is_valid

MAX_LINES_PER_CLAIM = 50
MAX_CLAIMS_PER_SUBSCRIBER = 100
CLAIM_ICD10_RE = re.compile(r"^[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}\Z")


@dataclass(frozen=True)
class ClaimLine:
    line: ServiceLine
    units: int | float  # a float only in a broken claim (tests); the check refuses it
    charge_cents: int
    dx_pointers: tuple[int, ...]  # 1-based, into the claim's diagnoses
    # Under a payer's day-total unit rule, the other services of the day billed
    # on this line (same person, specialist, code, modifiers and place).
    merged: tuple[ServiceLine, ...] = ()

    @property
    def services(self) -> tuple[ServiceLine, ...]:
        return (self.line, *self.merged)

    @property
    def minutes(self) -> int:
        return sum(ln.minutes for ln in self.services)


@dataclass(frozen=True)
class Claim:
    claim_id: str  # CLM01, the patient control number (at most 20 characters)
    payer_id: str
    participant_id: str
    specialist_id: str
    diagnoses: tuple[str, ...]  # ICD-10-CM as written on the claim (no dot)
    lines: tuple[ClaimLine, ...]
    charge_cents: int  # CLM02
    # CLM05-3 claim frequency: 1 original, 7 replacement of a prior claim, 8 void
    # of a prior claim; 7 and 8 carry the prior claim's reference (REF*F8).
    frequency: str = "1"
    original_reference: str = ""

    @property
    def units(self) -> int:
        return int(sum(cl.units for cl in self.lines))

    @property
    def first_date(self):
        return min(cl.line.service_date for cl in self.lines)

    @property
    def place_of_service(self) -> str:
        return self.lines[0].line.place_of_service


def group_key(line: ServiceLine, grouping: ClaimGrouping) -> tuple:
    period = (
        line.service_date
        if grouping is ClaimGrouping.PER_DAY
        else (line.service_date.year, line.service_date.month)
    )
    return (line.participant_id, period, line.specialist_id)


def build_claims(
    lines: list[ServiceLine],
    payer: Payer,
    diagnoses: dict[str, tuple[str, ...]],
    claim_prefix: str,
) -> list[Claim]:
    """Claims for one payer's lines, in a stable order (person, date, specialist).
    ``diagnoses`` maps a participant id to its claim diagnoses (no dot)."""
    groups: dict[tuple, list[ServiceLine]] = defaultdict(list)
    for ln in lines:
        if ln.payer_id != payer.id:
            raise ValueError("a line for another payer was given")
        groups[group_key(ln, payer.claim_grouping)].append(ln)
    claims: list[Claim] = []
    for key in sorted(groups, key=lambda k: (k[0], str(k[1]), k[2])):
        items = sorted(
            groups[key], key=lambda ln: (ln.service_date, ln.start_minute, ln.encounter_id)
        )
        dx = diagnoses[key[0]][:MAX_DIAGNOSES]
        pointers = tuple(range(1, min(4, len(dx)) + 1))
        all_lines = _claim_lines(items, pointers)
        for i in range(0, len(all_lines), MAX_LINES_PER_CLAIM):
            cls = tuple(all_lines[i : i + MAX_LINES_PER_CLAIM])
            claims.append(
                Claim(
                    claim_id=f"{claim_prefix}{len(claims) + 1:05d}",
                    payer_id=payer.id,
                    participant_id=key[0],
                    specialist_id=key[2],
                    diagnoses=dx,
                    lines=cls,
                    charge_cents=sum(cl.charge_cents for cl in cls),
                )
            )
    return claims


FREQUENCIES = {"1": "original", "7": "replacement", "8": "void"}
REFERENCE_RE = re.compile(r"^[A-Za-z0-9-]{1,50}\Z")


def resubmitted(claims: list[Claim], frequency: str, references: dict[str, str]) -> list[Claim]:
    """The same claims as a replacement (7) or void (8) of claims already submitted.

    ``references`` maps each claim's id (CLM01 as first sent) to the payer's claim
    control number for it (from the remittance), or to the original CLM01 when the
    payer asks for that; every claim needs one (REF*F8). A void claim repeats the
    original claim's lines and amounts; a replacement carries the corrected ones."""
    if frequency not in ("7", "8"):
        raise ValueError("a resubmitted claim is a replacement (7) or a void (8)")
    out = []
    for c in claims:
        ref = references.get(c.claim_id, "").strip()
        if not REFERENCE_RE.match(ref):
            raise ValueError(f"claim {c.claim_id}: the original claim reference is missing")
        out.append(replace(c, frequency=frequency, original_reference=ref))
    return out


def _claim_lines(items: list[ServiceLine], pointers: tuple[int, ...]) -> list[ClaimLine]:
    """One line per service; services priced by a day total (``ServiceLine.day_total``)
    with the same date, code, modifiers and place share one line."""
    out: list[ClaimLine] = []
    merged: dict[tuple, list[ServiceLine]] = {}
    order: list[tuple] = []
    for ln in items:
        key = (
            (ln.service_date, ln.procedure, ln.modifiers, ln.place_of_service)
            if ln.day_total
            else ("one", ln.encounter_id)
        )
        if key not in merged:
            merged[key] = []
            order.append(key)
        merged[key].append(ln)
    for key in order:
        first, *rest = merged[key]
        units = sum(ln.units for ln in merged[key])
        cents = sum(ln.amount_cents for ln in merged[key])
        out.append(ClaimLine(first, units, cents, pointers, tuple(rest)))
    return out


def original_claims(
    data: BillingData, encounters: list[Encounter], payer: Payer, control: int
) -> list[Claim]:
    """The claims of a batch already exported (interchange ``control``), rebuilt
    from its services as the export built them: the same claim ids (CLM01), lines
    and amounts while the payer's settings and the people's diagnoses are
    unchanged (compare the total with the batch's ``total_cents``). The base of a
    void (8) or replacement (7) file: see :func:`resubmitted`."""
    lines = [ln for ln in rebuild_lines(data, encounters) if ln.payer_id == payer.id]
    dx = {pid: claim_diagnoses(p) for pid, p in data.participants.items()}
    return build_claims(lines, payer, dx, f"{control:09d}")


class ClaimRejected(ValueError):
    """A claim a payer would reject; ``problems`` says why (no personal data)."""

    def __init__(self, claim_id: str, problems: list[str]) -> None:
        self.claim_id = claim_id
        self.problems = problems
        super().__init__(f"claim {claim_id}: " + "; ".join(problems))


_npi_ok = lru_cache(maxsize=1024)(npi_is_valid)  # a few NPIs, on thousands of claims


def claim_problems(claim: Claim, billing_npi: str, rendering_npi: str) -> list[str]:
    """The checks payers make that pyx12 does not (empty when the claim is fine)."""
    out: list[str] = []
    if not _npi_ok(billing_npi):
        out.append("the billing provider NPI fails the check digit")
    if not _npi_ok(rendering_npi):
        out.append("the rendering provider NPI fails the check digit")
    if not claim.lines:
        out.append("the claim has no service lines")
    if len(claim.lines) > MAX_LINES_PER_CLAIM:
        out.append(f"the claim has more than {MAX_LINES_PER_CLAIM} lines")
    if claim.charge_cents != sum(cl.charge_cents for cl in claim.lines):
        out.append("the claim total (CLM02) is not the sum of its lines")
    if not claim.diagnoses or len(claim.diagnoses) > MAX_DIAGNOSES:
        out.append(f"a claim needs 1 to {MAX_DIAGNOSES} diagnosis codes")
    if any(not CLAIM_ICD10_RE.match(c) for c in claim.diagnoses):
        out.append("a diagnosis code is not ICD-10-CM written without the dot")
    if claim.frequency not in FREQUENCIES:
        out.append("the claim frequency must be 1 (original), 7 (replacement) or 8 (void)")
    elif claim.frequency != "1" and not REFERENCE_RE.match(claim.original_reference):
        out.append("a replacement or void claim needs the original claim's reference (REF*F8)")
    if len(claim.claim_id) > 20 or not claim.claim_id:
        out.append("the claim id must be 1 to 20 characters")
    for n, cl in enumerate(claim.lines, 1):
        if not cl.dx_pointers or len(cl.dx_pointers) > 4:
            out.append(f"line {n}: needs 1 to 4 diagnosis pointers")
        elif any(not 1 <= p <= len(claim.diagnoses) for p in cl.dx_pointers):
            out.append(f"line {n}: a diagnosis pointer is past the last diagnosis code")
        if not isinstance(cl.units, int) or isinstance(cl.units, bool) or cl.units < 1:
            out.append(f"line {n}: units must be a whole number of at least 1")
        if cl.charge_cents <= 0:
            out.append(f"line {n}: the charge must be more than zero")
    return out
