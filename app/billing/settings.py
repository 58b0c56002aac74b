"""Billing settings checks: the billing provider (the agency) and each payer.

Settings are records (BillingProvider, Payer) that sync to every device; these
pure functions say what is missing or malformed before a claim file is written.
Messages name the setting and what is expected, never a value.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.billing.codes import code_sets
from app.domain.records import BillingProvider, Payer
from app.domain.validation import MODIFIER_RE, npi_is_valid

TAX_ID_RE = re.compile(r"^[0-9]{2}-?[0-9]{7}\Z")
TAXONOMY_RE = re.compile(r"^[0-9]{3}[0-9A-Z]{6}X\Z")
ZIP9_RE = re.compile(r"^[0-9]{5}-?[0-9]{4}\Z")
STATE_RE = re.compile(r"^[A-Z]{2}\Z")
ID_RE = re.compile(r"^[A-Za-z0-9]{2,15}\Z")  # ISA06/ISA08: up to 15 characters
PHONE_RE = re.compile(r"^[0-9]{10}\Z")
FILING_CODES = frozenset({"MC", "CI", "MB", "HM", "11", "ZZ"})
# The agency's time zone dates the files (ISA09/10, GS04/05, BHT04/05) and the PDF.
# A BillingProvider.time_zone field is used when the record has one.
DEFAULT_TIME_ZONE = "America/Chicago"


def agency_zone(provider: BillingProvider | None) -> ZoneInfo:
    """The agency's time zone (IANA name), America/Chicago when none or unknown."""
    name = str(getattr(provider, "time_zone", "") or "").strip() or DEFAULT_TIME_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIME_ZONE)


def agency_time(moment: datetime, provider: BillingProvider | None) -> datetime:
    """``moment`` (UTC when naive) in the agency's time zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(agency_zone(provider))


def digits(value: str) -> str:
    return re.sub(r"[^0-9]", "", value)


def provider_problems(p: BillingProvider | None) -> list[str]:
    """What keeps the agency's settings from going on a claim file."""
    if p is None:
        return ["set up the billing provider (agency name, NPI, tax id, address)"]
    out: list[str] = []
    if not p.name.strip():
        out.append("the agency name is missing")
    if not npi_is_valid(p.npi):
        out.append("the agency NPI is not a valid NPI (10 digits with a correct check digit)")
    if not TAX_ID_RE.match(p.tax_id.strip()):
        out.append("the tax id (EIN) must be 9 digits")
    if not TAXONOMY_RE.match(p.taxonomy.strip()):
        out.append("the taxonomy code must be 10 characters ending in X, e.g. 175T00000X")
    if not p.address_line1.strip() or not p.city.strip():
        out.append("the agency's street address and city are needed")
    if p.state.strip().upper() not in code_sets().states:
        out.append("the agency's state must be a USPS state code")
    if not ZIP9_RE.match(p.zip_code.strip()):
        out.append("the agency's ZIP code must be ZIP+4 (9 digits)")
    if not ID_RE.match(p.submitter_id.strip()):
        out.append("the submitter id (assigned by the state) must be 2 to 15 letters or digits")
    if not p.contact_name.strip() or not PHONE_RE.match(digits(p.contact_phone)):
        out.append("a billing contact name and a 10-digit phone number are needed")
    zone = str(getattr(p, "time_zone", "") or "").strip()
    if zone:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            out.append("the agency's time zone is not a known zone name (e.g. America/Chicago)")
    return out


def payer_problems(payer: Payer, known_modifiers: set[str] | frozenset[str]) -> list[str]:
    """What keeps a payer's settings from going on a claim file."""
    out: list[str] = []
    if not payer.name.strip():
        out.append("the payer has no name")
    if not ID_RE.match(payer.payer_id.strip()):
        out.append("the payer id must be 2 to 15 letters or digits")
    if not ID_RE.match(payer.receiver_id.strip()):
        out.append("the receiver id (who the file goes to) must be 2 to 15 letters or digits")
    if payer.rate_cents_per_unit <= 0:
        out.append("the rate per unit is not set")
    if payer.unit_minutes < 1:
        out.append("a unit must be at least one minute long")
    if payer.usage_indicator not in ("T", "P"):
        out.append("the file mode must be T (test) or P (production)")
    if payer.claim_filing_code not in FILING_CODES:
        out.append("the claim filing code must be one of " + ", ".join(sorted(FILING_CODES)))
    bad = [m for m in payer.allowed_modifiers if not MODIFIER_RE.match(m)]
    unknown = [m for m in payer.allowed_modifiers if MODIFIER_RE.match(m)]
    unknown = [m for m in unknown if m not in known_modifiers]
    if bad or unknown:
        out.append("an allowed modifier is not in the modifier code table")
    return out
