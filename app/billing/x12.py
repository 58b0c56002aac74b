"""The ASC X12 837P (005010X222A1) professional claim file.

One interchange (ISA/IEA) holds one functional group (GS/GE, GS01 HC) with one
transaction set (ST/SE) for one payer:

    1000A submitter (NM1*41, PER)     1000B receiver (NM1*40)
    2000A billing provider HL 20 (PRV, NM1*85, N3, N4, REF*EI)
      2000B subscriber HL 22 (SBR, NM1*IL, [N3, N4], DMG, NM1*PR)   at most 100 claims each
        2300 claim (CLM, HI)                                       at most 50 lines each
          2310B rendering provider (NM1*82, PRV*PE)
          2400 service line (LX, SV1, DTP*472, REF*6R)

The interchange control number (ISA13/IEA02) is the batch's; GS06/GE02 is the
same number and ST02/SE02 the same 9 digits, so a file's numbers always match;
they come from the exporting device's own range (docs/BILLING.md), so two
devices never write the same ones. Text is upper case ASCII with the separators
(* : ^ ~) taken out (names.x12_text: accents stripped, Cyrillic and Greek
transliterated). Every claim passes :func:`claims.claim_problems` before it is
written. Content rules (docs/BILLING.md, "What the 837P says"):

* ISA09/10, GS04/05 and BHT04/05 are the agency's local date and time
  (settings.agency_time, America/Chicago unless the agency says otherwise).
* 2010BA N3/N4: the participant's address in parts (address_line1,
  address_line2, city, state, zip_code) when complete; with no parts entered, an
  older record's one-line address when it reads as "street[, line 2], city, ST zip"
  (app.domain.address.parse_one_line); else no N3/N4.
* DMG03: the participant's administrative sex (F, M), else U.
* 1000A NM1*41: the submitter name (the agency name when none is set).
* 2310B NM1*82: names.specialist_name (first/last fields, else the display name
  without credentials, surname particles kept); PRV*PE: the specialist's own
  taxonomy when set, else the agency's.
* CLM05-3 is the claim's frequency (1, or 7/8 for a replacement/void, with
  REF*F8 naming the original claim; see claims.resubmitted).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime
from functools import lru_cache

from app.billing.claims import MAX_CLAIMS_PER_SUBSCRIBER
from app.billing.claims import Claim
from app.billing.claims import ClaimRejected
from app.billing.claims import claim_problems
from app.billing.names import specialist_name
from app.billing.names import split_display_name
from app.billing.names import x12_text
from app.billing.preflight import claim_member_id
from app.billing.settings import TAXONOMY_RE
from app.billing.settings import agency_time
from app.billing.settings import digits
from app.domain.address import parse_one_line
from app.domain.records import BillingProvider
from app.domain.records import Participant
from app.domain.records import Payer
from app.domain.records import User

ELEMENT, COMPONENT, REPETITION, SEGMENT = "*", ":", "^", "~"
VERSION = "005010X222A1"


text = x12_text  # upper-case X12 basic characters (names.py)


def amount(cents: int) -> str:
    """X12 decimal without trailing zeros: 3300 -> 33, 3350 -> 33.5."""
    whole, frac = divmod(cents, 100)
    return str(whole) if frac == 0 else f"{whole}.{frac:02d}".rstrip("0")


@lru_cache(maxsize=1024)  # a batch's services fall on a few dozen days
def _d8(day: date) -> str:
    return day.strftime("%Y%m%d")


def split_name(display_name: str) -> tuple[str, str]:
    """(last, first) from a display name (names.split_display_name)."""
    return split_display_name(display_name)


def sex_code(p: Participant) -> str:
    """DMG03: the participant's administrative sex (F, M), else U (unknown)."""
    return p.administrative_sex.value if p.administrative_sex.value in ("F", "M") else "U"


def patient_address(p: Participant) -> tuple[str, str, str, str, str] | None:
    """(line1, line2, city, state, zip) for 2010BA N3/N4 from the address in parts;
    an older record's one-line address when it reads cleanly; else None."""
    line1, city, state = p.address_line1.strip(), p.city.strip(), p.state.strip().upper()
    zip_code = digits(p.zip_code)
    if line1 and city and len(state) == 2 and len(zip_code) in (5, 9):
        return line1, p.address_line2.strip(), city, state, zip_code
    if line1:
        return None  # parts entered but incomplete: the pre-flight says so
    parsed = parse_one_line(p.address)
    if parsed is not None:
        return parsed.line1, parsed.line2, parsed.city, parsed.state, digits(parsed.zip_code)
    return None


@dataclass(frozen=True)
class Interchange:
    control: int  # 1 .. 999,999,999
    created: datetime
    batch_ref: str  # BHT03, at most 50 characters
    provider: BillingProvider
    payer: Payer
    claims: list[Claim]
    participants: dict[str, Participant]
    specialists: dict[str, User]


class _Segments:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, *elements: str) -> None:
        """One segment; empty elements at its end are left out."""
        n = len(elements)
        while n > 1 and elements[n - 1] == "":
            n -= 1
        self.items.append(ELEMENT.join(elements[:n]))


def render_837p(ix: Interchange, check: bool = True) -> str:
    """The whole file as text. With ``check`` (always, outside tests) a claim that
    fails the payer-side checks raises :class:`ClaimRejected` and nothing is written."""
    if not 1 <= ix.control <= 999_999_999:
        raise ValueError("the interchange control number must be 1 to 999999999")
    prov, payer = ix.provider, ix.payer
    if check:
        for c in ix.claims:
            npi = ix.specialists[c.specialist_id].npi
            problems = claim_problems(c, prov.npi, npi)
            if problems:
                raise ClaimRejected(c.claim_id, problems)
    ctrl = f"{ix.control:09d}"
    st02 = ctrl  # the whole number (AN 4-9): unique across devices like ISA13
    submitter = text(prov.submitter_id, 15)
    receiver = text(payer.receiver_id, 15)
    local = agency_time(ix.created, prov)
    d8 = local.strftime("%Y%m%d")
    hm = local.strftime("%H%M")
    isa = ELEMENT.join(
        (
            "ISA", "00", " " * 10, "00", " " * 10, "ZZ", submitter.ljust(15), "ZZ",
            receiver.ljust(15), local.strftime("%y%m%d"), hm, REPETITION, "00501", ctrl,
            "0", payer.usage_indicator, COMPONENT,
        )
    )  # fmt: skip
    s = _Segments()
    s.add("ST", "837", st02, VERSION)
    s.add("BHT", "0019", "00", text(ix.batch_ref, 50), d8, hm, "CH")
    # 1000A submitter, 1000B receiver
    submitter_name = prov.submitter_name.strip() or prov.name
    s.add("NM1", "41", "2", text(submitter_name, 60), "", "", "", "", "46", submitter)
    s.add("PER", "IC", text(prov.contact_name, 60), "TE", digits(prov.contact_phone))
    s.add(
        "NM1",
        "40",
        "2",
        text(payer.receiver_name or payer.name, 60),
        "",
        "",
        "",
        "",
        "46",
        receiver,
    )
    # 2000A billing provider
    s.add("HL", "1", "", "20", "1")
    s.add("PRV", "BI", "PXC", text(prov.taxonomy, 10))
    s.add("NM1", "85", "2", text(prov.name, 60), "", "", "", "", "XX", prov.npi)
    s.add("N3", text(prov.address_line1, 55), text(prov.address_line2, 55))
    s.add("N4", text(prov.city, 30), text(prov.state, 2), digits(prov.zip_code))
    s.add("REF", "EI", digits(prov.tax_id))
    hl = 1
    by_person: dict[str, list[Claim]] = {}
    for c in ix.claims:
        by_person.setdefault(c.participant_id, []).append(c)
    for pid, claims in by_person.items():
        person = ix.participants[pid]
        for i in range(0, len(claims), MAX_CLAIMS_PER_SUBSCRIBER):
            hl += 1
            _subscriber(s, hl, person, payer)
            for c in claims[i : i + MAX_CLAIMS_PER_SUBSCRIBER]:
                _claim(s, c, ix.specialists[c.specialist_id], prov)
    s.add("SE", str(len(s.items) + 1), st02)
    body = [
        isa,
        ELEMENT.join(("GS", "HC", submitter, receiver, d8, hm, str(ix.control), "X", VERSION)),
    ]
    body += s.items
    body += [f"GE{ELEMENT}1{ELEMENT}{ix.control}", f"IEA{ELEMENT}1{ELEMENT}{ctrl}"]
    return "".join(seg + SEGMENT + "\n" for seg in body)


def _subscriber(s: _Segments, hl: int, p: Participant, payer: Payer) -> None:
    s.add("HL", str(hl), "1", "22", "0")
    s.add("SBR", "P", "18", "", "", "", "", "", "", payer.claim_filing_code)
    s.add(
        "NM1",
        "IL",
        "1",
        text(p.last_name, 60),
        text(p.first_name, 35),
        "",
        "",
        "",
        "MI",
        claim_member_id(p),
    )
    addr = patient_address(p)
    if addr:
        line1, line2, city, state, zip_code = addr
        s.add("N3", text(line1, 55), text(line2, 55))
        s.add("N4", text(city, 30), state, zip_code)
    dob: date = p.date_of_birth  # type: ignore[assignment]  # checked in pre-flight
    s.add("DMG", "D8", dob.strftime("%Y%m%d"), sex_code(p))
    s.add("NM1", "PR", "2", text(payer.name, 60), "", "", "", "", "PI", text(payer.payer_id, 80))


def _claim(s: _Segments, c: Claim, specialist: User, prov: BillingProvider) -> None:
    pos = c.place_of_service
    s.add(
        "CLM",
        c.claim_id,
        amount(c.charge_cents),
        "",
        "",
        f"{pos}{COMPONENT}B{COMPONENT}{c.frequency}",
        "Y",
        "A",
        "Y",
        "Y",
    )
    if c.frequency in ("7", "8"):
        s.add("REF", "F8", text(c.original_reference, 50))
    s.add(
        "HI",
        *[f"{'ABK' if i == 0 else 'ABF'}{COMPONENT}{code}" for i, code in enumerate(c.diagnoses)],
    )
    last, first = specialist_name(specialist)
    s.add("NM1", "82", "1", text(last, 60), text(first, 35), "", "", "", "XX", specialist.npi)
    taxonomy = specialist.taxonomy.strip().upper()
    s.add("PRV", "PE", "PXC", text(taxonomy if TAXONOMY_RE.match(taxonomy) else prov.taxonomy, 10))
    for n, cl in enumerate(c.lines, 1):
        ln = cl.line
        proc = COMPONENT.join(("HC", ln.procedure, *ln.modifiers))
        s.add("LX", str(n))
        s.add(
            "SV1", proc, amount(cl.charge_cents), "UN", str(cl.units),
            ln.place_of_service if ln.place_of_service != pos else "", "",
            COMPONENT.join(str(p) for p in cl.dx_pointers),
        )  # fmt: skip
        s.add("DTP", "472", "D8", _d8(ln.service_date))
        s.add("REF", "6R", ln.encounter_id.replace("-", "").upper())
