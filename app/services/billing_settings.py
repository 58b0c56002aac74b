"""Billing settings: reading and saving the billing provider (the agency), the
payers, and the specialists' claim identity (first and last name, credential,
NPI, taxonomy), for the Billing settings screen and ``main.py billing ...``.

Values come in as typed (text keyed by field name). Each is checked on its own
(app.billing.settings' checks, then the record schema the server applies), and
problems come back keyed by field, in plain words that never repeat the value:
nothing is saved while any field has a problem (:class:`SettingsRefused`). A save
goes through the repositories, so it is audited and captured for sync like any
other write, and returns what it changed (app.services.changes).

Who may change them: billing staff and an administrator; anyone in a vault that
is not connected to a server (a one-person practice). Specialists' records are
users, which on a team only an administrator changes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal
from decimal import InvalidOperation
from typing import Any

from app.billing.codes import code_tables
from app.billing.settings import DEFAULT_TIME_ZONE
from app.billing.settings import TAXONOMY_RE
from app.billing.settings import payer_field_problems
from app.billing.settings import provider_field_problems
from app.domain.address import format_zip
from app.domain.datetext import count_text
from app.domain.records import BillingProvider
from app.domain.records import ClaimGrouping
from app.domain.records import Credential
from app.domain.records import Payer
from app.domain.records import Record
from app.domain.records import Role
from app.domain.records import RoundingRuleName
from app.domain.records import UnitBasis
from app.domain.records import User
from app.domain.validation import npi_is_valid
from app.services.changes import Changed
from app.services.changes import Done
from app.store.codec import codec
from app.store.db import Store
from app.store.errors import EXIT_VALIDATION
from app.store.errors import StoreError
from app.store.repositories import Repositories
from sync.schema import validate_field

PROVIDER_FIELDS = (
    "name", "npi", "tax_id", "taxonomy", "address_line1", "address_line2", "city", "state",
    "zip_code", "contact_name", "contact_phone", "submitter_id", "submitter_name", "time_zone",
)  # fmt: skip
PAYER_FIELDS = (
    "name", "payer_id", "funding_stream", "receiver_id", "receiver_name", "rate",
    "unit_minutes", "rounding_rule", "unit_basis", "max_units_per_day", "timely_filing_days",
    "claim_filing_code", "claim_grouping", "usage_indicator", "allowed_modifiers",
    "requires_consent", "telehealth_places", "video_modifiers", "audio_modifiers",
)  # fmt: skip
SPECIALIST_FIELDS = ("first_name", "last_name", "credential", "npi", "taxonomy")
_RECORD_NAME = {"rate": "rate_cents_per_unit"}  # form field -> record field
_NUMBERS = {"unit_minutes": (1, 1440), "max_units_per_day": (0, 10_000),
            "timely_filing_days": (0, 3650)}  # fmt: skip
_YES = {"yes", "y", "true", "1", "on"}
_NO = {"no", "n", "false", "0", "off", ""}


class SettingsRefused(StoreError):
    """Nothing was saved: ``problems`` says, by field, what to fix."""

    exit_code = EXIT_VALIDATION

    def __init__(self, problems: Mapping[str, str], message: str = "") -> None:
        self.problems = dict(problems)
        n = len(self.problems)
        super().__init__(
            message
            or (
                "Nothing was saved: one field needs fixing."
                if n == 1
                else f"Nothing was saved: {n} fields need fixing."
            )
        )


@dataclass(frozen=True)
class Saved:
    """A saved settings record and what it still lacks for a claim file (field ->
    message): a field left empty may wait; a field filled in wrongly is refused."""

    record: Any
    missing: dict[str, str] = field(default_factory=dict)


def _split(
    rec: Record, problems: dict[str, str], values: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, str]]:
    """(refused, missing): a problem of a field left empty only says it is missing;
    something typed that fails its check is refused."""
    refused, missing = {}, {}
    for key, msg in problems.items():
        if key in values:
            empty = not str(values[key] or "").strip()
        else:
            empty = getattr(rec, _RECORD_NAME.get(key, key), None) in ("", 0, ())
        (missing if empty and key != "name" else refused)[key] = msg
    return refused, missing


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:]


# -- who may change them ------------------------------------------------------------


def _connected(store: Store) -> bool:
    return '"token"' in store.meta("sync_server")


def _role(store: Store) -> str | None:
    """The vault user's role: the server's word once enrolled (the user record may
    not have arrived yet), else the user record's."""
    try:
        server_role = json.loads(store.meta("sync_server") or "{}").get("role")
    except (ValueError, AttributeError):
        server_role = None
    user = Repositories(store).users.get(store.user_id)
    return server_role or (user.role.value if user is not None else None)


def settings_refusal(store: Store) -> str | None:
    """Why this vault's user may not change the provider and payers, or None."""
    if not _connected(store):
        return None
    if _role(store) in (Role.BILLING.value, Role.ADMIN.value):
        return None
    return "only billing staff or an administrator change billing settings"


def specialists_refusal(store: Store) -> str | None:
    """Why this vault's user may not change specialists' claim identity, or None."""
    if not _connected(store) or _role(store) == Role.ADMIN.value:
        return None
    return "only an administrator changes a specialist's name, NPI and taxonomy"


def _require(refusal: str | None) -> None:
    if refusal:
        raise StoreError(_sentence(refusal) + ". Nothing was changed.")


# -- reading ------------------------------------------------------------------------------


@dataclass
class BillingSettings:
    provider: BillingProvider | None
    payers: list[Payer]
    specialists: list[User]
    can_edit: bool
    can_edit_specialists: bool
    problems: dict[str, dict[str, str]] = field(default_factory=dict)  # record id -> field


def provider_of(repos: Repositories) -> BillingProvider | None:
    """The agency (the first provider by name, as the export uses it)."""
    found = repos.billing_providers.list(order_by="name, id", limit=1)
    return found[0] if found else None


def payers_of(repos: Repositories) -> list[Payer]:
    return repos.payers.list(order_by="name, id")


def load_settings(repos: Repositories) -> BillingSettings:
    """Everything the Billing settings screen shows, with what is still missing."""
    tables = code_tables()
    provider = provider_of(repos)
    payers = payers_of(repos)
    specialists = repos.users.list(
        "role IN (?, ?)", (Role.SPECIALIST.value, Role.SUPERVISOR.value), order_by="display_name"
    )
    problems: dict[str, dict[str, str]] = {}
    if provider is not None:
        problems[provider.id] = provider_field_problems(provider)
    for p in payers:
        problems[p.id] = payer_field_problems(
            p, set(tables.modifiers), set(tables.places_of_service)
        )
    return BillingSettings(
        provider=provider,
        payers=payers,
        specialists=specialists,
        can_edit=settings_refusal(repos.store) is None,
        can_edit_specialists=specialists_refusal(repos.store) is None,
        problems=problems,
    )


def find_payer(repos: Repositories, which: str) -> Payer:
    """A payer by its payer id, record id or exact name (case-insensitive)."""
    wanted = which.strip().lower()
    found = [
        p
        for p in payers_of(repos)
        if wanted in (p.payer_id.lower(), p.id.lower(), p.name.strip().lower())
    ]
    if len(found) != 1:
        ids = ", ".join(p.payer_id or p.name for p in payers_of(repos)) or "none set up"
        what = "No payer" if not found else "More than one payer"
        raise StoreError(f"{what} has that payer id or name. Payers: {ids}.")
    return found[0]


def find_user(repos: Repositories, username: str) -> User:
    user = repos.users.by_username(username.strip())
    if user is None:
        raise StoreError("No user with that username is in this vault.")
    return user


# -- reading what was typed --------------------------------------------------------------


def _text(values: Mapping[str, Any], name: str, base: str) -> str:
    raw = values.get(name)
    return base if raw is None else str(raw).strip()


def _codes(text: str, upper: bool = True) -> tuple[str, ...]:
    items = [c.strip() for c in re.split(r"[;,\s]+", text) if c.strip()]
    out: list[str] = []
    for c in items:
        c = c.upper() if upper else c
        if c not in out:
            out.append(c)
    return tuple(out)


def parse_dollars(text: str) -> int | None:
    """``16.50`` / ``$16.5`` / ``16`` -> cents; None when it is not an amount."""
    s = text.strip().removeprefix("$").replace(",", "").strip()
    if not re.fullmatch(r"[0-9]{1,7}(\.[0-9]{1,2})?", s):
        return None
    try:
        return int(Decimal(s) * 100)
    except InvalidOperation:
        return None


def dollars(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _schema_problems(rec: Record, names: tuple[str, ...]) -> dict[str, str]:
    """What the server's record schema would refuse (lengths, kinds)."""
    c = codec(type(rec))
    out = {}
    for name in names:
        problem = validate_field(rec.TABLE, name, c.encode_field(name, getattr(rec, name)))
        if problem:
            out[name] = problem.replace("_", " ")
    return out


def provider_from_values(
    values: Mapping[str, Any], base: BillingProvider | None
) -> tuple[BillingProvider, dict[str, str]]:
    """The provider the values describe (over ``base``) and its problems by field."""
    b = base or BillingProvider(name="", taxonomy="175T00000X", time_zone=DEFAULT_TIME_ZONE)
    v = {name: _text(values, name, str(getattr(b, name))) for name in PROVIDER_FIELDS}
    v["state"] = v["state"].upper()
    v["taxonomy"] = v["taxonomy"].upper()
    v["npi"] = re.sub(r"\s+", "", v["npi"])
    v["zip_code"] = format_zip(v["zip_code"])
    rec = b.replace(**v)
    assert isinstance(rec, BillingProvider)
    problems = {k: _sentence(m) for k, m in provider_field_problems(rec).items()}
    for k, m in _schema_problems(rec, PROVIDER_FIELDS).items():
        problems.setdefault(k, _sentence(m))
    return rec, problems


def _enum(values: Mapping[str, Any], name: str, enum_cls: Any, base: Any, problems: dict) -> Any:
    raw = values.get(name)
    if raw is None:
        return base
    text = str(raw).strip()
    if text.lower() == "default":
        text = ""
    for member in enum_cls:
        if text.lower() in (member.value.lower(), member.name.lower().replace("_", "-")):
            return member
    choices = ", ".join(m.value for m in enum_cls if m.value)
    problems[name] = f"Choose one of: {choices}"
    return base


def _payer_numbers(values: Mapping[str, Any], b: Payer, problems: dict) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (lo, hi) in _NUMBERS.items():
        raw = values.get(name)
        if raw is None:
            continue
        text = str(raw).strip()
        if not re.fullmatch(r"[0-9]{1,6}", text) or not lo <= int(text) <= hi:
            problems[name] = f"Enter a whole number from {lo} to {hi}"
        else:
            out[name] = int(text)
    raw = values.get("rate")
    if raw is not None:
        cents = parse_dollars(str(raw))
        if cents is None:
            problems["rate"] = "Enter the rate per unit in dollars, e.g. 16.50"
        else:
            out["rate_cents_per_unit"] = cents
    raw = values.get("requires_consent")
    if raw is not None:
        text = str(raw).strip().lower()
        if text not in _YES | _NO:
            problems["requires_consent"] = "Answer yes or no"
        else:
            out["requires_consent"] = text in _YES
    return out


def payer_from_values(
    values: Mapping[str, Any], base: Payer | None
) -> tuple[Payer, dict[str, str]]:
    """The payer the values describe (over ``base``) and its problems by field."""
    b = base or Payer(name="", claim_filing_code="MC", usage_indicator="T")
    problems: dict[str, str] = {}
    texts = ("name", "payer_id", "funding_stream", "receiver_id", "receiver_name")
    changes: dict[str, Any] = {n: _text(values, n, str(getattr(b, n))) for n in texts}
    changes["payer_id"] = changes["payer_id"].upper()
    changes["receiver_id"] = changes["receiver_id"].upper()
    changes["claim_filing_code"] = _text(values, "claim_filing_code", b.claim_filing_code).upper()
    changes["usage_indicator"] = _text(values, "usage_indicator", b.usage_indicator).upper()
    changes["rounding_rule"] = _enum(values, "rounding_rule", RoundingRuleName, b.rounding_rule,
                                     problems)  # fmt: skip
    changes["unit_basis"] = _enum(values, "unit_basis", UnitBasis, b.unit_basis, problems)
    changes["claim_grouping"] = _enum(values, "claim_grouping", ClaimGrouping, b.claim_grouping,
                                      problems)  # fmt: skip
    for name in ("allowed_modifiers", "video_modifiers", "audio_modifiers", "telehealth_places"):
        raw = values.get(name)
        changes[name] = getattr(b, name) if raw is None else _codes(str(raw))
    changes |= _payer_numbers(values, b, problems)
    rec = b.replace(**changes)
    assert isinstance(rec, Payer)
    tables = code_tables()
    found = payer_field_problems(rec, set(tables.modifiers), set(tables.places_of_service))
    names = tuple(_RECORD_NAME.get(f, f) for f in PAYER_FIELDS)
    for k, m in (found | _schema_problems(rec, names)).items():
        key = "rate" if k == "rate_cents_per_unit" else k
        problems.setdefault(key, _sentence(m))
    return rec, problems


def specialist_from_values(values: Mapping[str, Any], base: User) -> tuple[User, dict[str, str]]:
    """A specialist's claim identity over ``base`` and its problems by field."""
    problems: dict[str, str] = {}
    changes: dict[str, Any] = {
        n: _text(values, n, str(getattr(base, n))) for n in ("first_name", "last_name")
    }
    changes["npi"] = re.sub(r"\s+", "", _text(values, "npi", base.npi))
    changes["taxonomy"] = _text(values, "taxonomy", base.taxonomy).upper()
    changes["credential"] = _enum(values, "credential", Credential, base.credential, problems)
    if changes["npi"] and not npi_is_valid(changes["npi"]):
        problems["npi"] = "Not a valid NPI (10 digits with a correct check digit)"
    if changes["taxonomy"] and not TAXONOMY_RE.match(changes["taxonomy"]):
        problems["taxonomy"] = "A taxonomy code is 10 characters ending in X, e.g. 175T00000X"
    if bool(changes["first_name"]) != bool(changes["last_name"]):
        which = "last_name" if changes["first_name"] else "first_name"
        problems[which] = "Enter both the first and the last name (as on the NPI record)"
    rec = base.replace(**changes)
    assert isinstance(rec, User)
    for k, m in _schema_problems(rec, SPECIALIST_FIELDS).items():
        problems.setdefault(k, _sentence(m))
    return rec, problems


# -- saving ----------------------------------------------------------------------------------


def save_provider(repos: Repositories, values: Mapping[str, Any]) -> Done[Saved]:
    """Create or change the agency's settings; every field checked first (a field
    left empty is saved and reported as still missing)."""
    _require(settings_refusal(repos.store))
    with repos.store.transaction():
        base = provider_of(repos)
        rec, problems = provider_from_values(values, base)
        refused, missing = _split(rec, problems, values)
        if refused:
            raise SettingsRefused(refused)
        repo = repos.billing_providers
        saved = repo.add(rec) if base is None else repo.update(rec)
    return Done(Saved(saved, missing), Changed.of(BillingProvider.TABLE, ids=[saved.id]))


def save_payer(
    repos: Repositories, values: Mapping[str, Any], payer_id: str | None = None
) -> Done[Saved]:
    """Add a payer (``payer_id`` None) or change one (its record id)."""
    _require(settings_refusal(repos.store))
    with repos.store.transaction():
        base = repos.payers.require(payer_id) if payer_id else None
        if base is not None and base.deleted:
            raise StoreError("That payer was removed. Nothing was changed.")
        rec, problems = payer_from_values(values, base)
        twin = repos.payers.list(
            "upper(payer_id) = ? AND id != ?", (rec.payer_id.upper(), rec.id), limit=1
        )
        if twin and rec.payer_id:
            problems["payer_id"] = "Another payer already has this payer id"
        refused, missing = _split(rec, problems, values)
        if refused:
            raise SettingsRefused(refused)
        saved = repos.payers.add(rec) if base is None else repos.payers.update(rec)
    return Done(Saved(saved, missing), Changed.of(Payer.TABLE, ids=[saved.id]))


def remove_payer(repos: Repositories, payer_id: str) -> Done[Payer]:
    """Mark a payer deleted (the record stays; batches keep naming it)."""
    _require(settings_refusal(repos.store))
    with repos.store.transaction():
        payer = repos.payers.require(payer_id)
        in_use = repos.store.conn.execute(
            "SELECT count(*) FROM participants WHERE deleted = 0 AND payer_id = ?", (payer_id,)
        ).fetchone()[0]
        if in_use:
            raise StoreError(
                f"{count_text(in_use, 'participant is', 'participants are')} billed to this "
                "payer; give them another payer "
                "first. Nothing was changed."
            )
        saved = repos.payers.delete(payer.id)
    return Done(saved, Changed.of(Payer.TABLE, ids=[payer_id]))


def save_specialist(repos: Repositories, user_id: str, values: Mapping[str, Any]) -> Done[User]:
    """A specialist's first and last name, credential, NPI and taxonomy."""
    _require(specialists_refusal(repos.store))
    with repos.store.transaction():
        base = repos.users.require(user_id)
        rec, problems = specialist_from_values(values, base)
        if problems:
            raise SettingsRefused(problems)
        saved = repos.users.update(rec)
    return Done(saved, Changed.of(User.TABLE, ids=[user_id]))


def provider_values(p: BillingProvider | None) -> dict[str, str]:
    """The provider as the form and ``billing provider show`` write it."""
    b = p or BillingProvider(name="", time_zone=DEFAULT_TIME_ZONE)
    return {name: str(getattr(b, name)) for name in PROVIDER_FIELDS}


def payer_values(p: Payer) -> dict[str, str]:
    """The payer as the form and ``billing payer list`` write it."""
    out: dict[str, str] = {}
    for name in PAYER_FIELDS:
        if name == "rate":
            out[name] = dollars(p.rate_cents_per_unit)
            continue
        value = getattr(p, name)
        if isinstance(value, tuple):
            out[name] = ", ".join(value)
        elif isinstance(value, bool):
            out[name] = "yes" if value else "no"
        else:
            out[name] = str(getattr(value, "value", value))
    return out
