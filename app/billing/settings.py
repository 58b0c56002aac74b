"""Billing settings checks: the billing provider (the agency) and each payer.

Settings are records (BillingProvider, Payer) that sync to every device; these
pure functions say what is missing or malformed before a claim file is written.
Messages name the setting and what is expected, never a value.
"""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

from app.billing.codes import code_sets
from app.billing.names import name_problem
from app.domain.records import BillingProvider
from app.domain.records import Payer
from app.domain.validation import MODIFIER_RE
from app.domain.validation import npi_is_valid

TAX_ID_RE = re.compile(r"^[0-9]{2}-?[0-9]{7}\Z")
TAXONOMY_RE = re.compile(r"^[0-9]{3}[0-9A-Z]{6}X\Z")
ZIP9_RE = re.compile(r"^[0-9]{5}-?[0-9]{4}\Z")
STATE_RE = re.compile(r"^[A-Z]{2}\Z")
ID_RE = re.compile(r"^[A-Za-z0-9]{2,15}\Z")  # ISA06/ISA08: up to 15 characters
PHONE_RE = re.compile(r"^[0-9]{10}\Z")
MAX_FILING_DAYS = 3650
FILING_CODES = frozenset({"MC", "CI", "MB", "HM", "11", "ZZ"})
# The agency's time zone dates the files (ISA09/10, GS04/05, BHT04/05) and the PDF.
# BillingProvider.time_zone names it; "" is the default.
DEFAULT_TIME_ZONE = "America/Chicago"


def agency_zone(provider: BillingProvider | None) -> ZoneInfo:
    """The agency's time zone (IANA name), America/Chicago when none or unknown."""
    name = (provider.time_zone if provider is not None else "").strip() or DEFAULT_TIME_ZONE
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


def provider_field_problems(p: BillingProvider) -> dict[str, str]:
    """What keeps the agency's settings from going on a claim file, by field."""
    out: dict[str, str] = {}
    if not p.name.strip():
        out["name"] = "the agency name is missing"
    elif msg := name_problem(p.name, "agency name"):
        out["name"] = msg
    if not npi_is_valid(p.npi.strip()):
        out["npi"] = "the agency NPI is not a valid NPI (10 digits with a correct check digit)"
    if not TAX_ID_RE.match(p.tax_id.strip()):
        out["tax_id"] = "the tax id (EIN) must be 9 digits, e.g. 12-3456789"
    if not TAXONOMY_RE.match(p.taxonomy.strip()):
        out["taxonomy"] = "the taxonomy code must be 10 characters ending in X, e.g. 175T00000X"
    if not p.address_line1.strip():
        out["address_line1"] = "the agency's street address is needed"
    if not p.city.strip():
        out["city"] = "the agency's city is needed"
    if p.state.strip().upper() not in code_sets().states:
        out["state"] = "the agency's state must be a USPS state code"
    if not ZIP9_RE.match(p.zip_code.strip()):
        out["zip_code"] = "the agency's ZIP code must be ZIP+4 (9 digits, e.g. 58501-4410)"
    if not ID_RE.match(p.submitter_id.strip()):
        out["submitter_id"] = (
            "the submitter id (assigned by the state) must be 2 to 15 letters or digits"
        )
    if p.submitter_name.strip() and (msg := name_problem(p.submitter_name, "submitter name")):
        out["submitter_name"] = msg
    if not p.contact_name.strip():
        out["contact_name"] = "a billing contact name is needed"
    if not PHONE_RE.match(digits(p.contact_phone)):
        out["contact_phone"] = "the billing contact phone must be a 10-digit number"
    if zone_problem(p.time_zone):
        out["time_zone"] = zone_problem(p.time_zone)  # type: ignore[assignment]
    return out


def zone_problem(zone: str) -> str | None:
    """Why ``zone`` is not an IANA time zone name ("" is fine: the default)."""
    zone = zone.strip()
    if not zone:
        return None
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return "the agency's time zone is not a known zone name (e.g. America/Chicago)"
    return None


def provider_problems(p: BillingProvider | None) -> list[str]:
    """What keeps the agency's settings from going on a claim file."""
    if p is None:
        return ["set up the billing provider (agency name, NPI, tax id, address)"]
    return list(provider_field_problems(p).values())


def payer_field_problems(
    payer: Payer,
    known_modifiers: set[str] | frozenset[str],
    known_places: set[str] | frozenset[str] | None = None,
) -> dict[str, str]:
    """What keeps a payer's settings from going on a claim file, by field
    (``known_places``: the places of service in the code table; None skips that)."""
    out: dict[str, str] = {}
    if not payer.name.strip():
        out["name"] = "the payer has no name"
    if not ID_RE.match(payer.payer_id.strip()):
        out["payer_id"] = "the payer id must be 2 to 15 letters or digits"
    if not ID_RE.match(payer.receiver_id.strip()):
        out["receiver_id"] = (
            "the receiver id (who the file goes to) must be 2 to 15 letters or digits"
        )
    if payer.rate_cents_per_unit <= 0:
        out["rate_cents_per_unit"] = "the rate per unit is not set"
    if payer.unit_minutes < 1:
        out["unit_minutes"] = "a unit must be at least one minute long"
    if payer.usage_indicator not in ("T", "P"):
        out["usage_indicator"] = "the file mode must be T (test) or P (production)"
    if payer.claim_filing_code not in FILING_CODES:
        out["claim_filing_code"] = "the claim filing code must be one of " + ", ".join(
            sorted(FILING_CODES)
        )
    if not 0 <= payer.timely_filing_days <= MAX_FILING_DAYS:
        out["timely_filing_days"] = f"timely filing must be 0 to {MAX_FILING_DAYS} days"
    for name in ("allowed_modifiers", "video_modifiers", "audio_modifiers"):
        codes = getattr(payer, name)
        if any(not MODIFIER_RE.match(m) or m not in known_modifiers for m in codes):
            out[name] = "a modifier is not in the modifier code table"
    if set(payer.video_modifiers) & set(payer.audio_modifiers):
        out["audio_modifiers"] = "a modifier cannot mean both video and audio-only telehealth"
    if known_places is not None and any(p not in known_places for p in payer.telehealth_places):
        out["telehealth_places"] = "a telehealth place of service is not in the code table"
    return out


def payer_problems(
    payer: Payer,
    known_modifiers: set[str] | frozenset[str],
    known_places: set[str] | frozenset[str] | None = None,
) -> list[str]:
    """What keeps a payer's settings from going on a claim file."""
    return list(payer_field_problems(payer, known_modifiers, known_places).values())
