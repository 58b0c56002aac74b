"""The billing code tables and code sets, kept as data in resources/codes:

* billing.json: the HCPCS codes the agency bills, modifiers, places of service,
  and the payer rules (place of service x modality x modifier, unit basis);
* icd10cm-billable.txt.gz: the ICD-10-CM billable codes (CMS FY2026 release);
* code_sets.json: where each code set comes from and its version, and the USPS
  state codes.

An agency changes them without code; docs/BILLING.md says how.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import date
from functools import cache
from pathlib import Path

from app.domain.records import Payer
from app.paths import resource_path


@dataclass(frozen=True)
class CodeTables:
    hcpcs: dict[str, dict]
    modifiers: dict[str, str]
    places_of_service: dict[str, str]
    telehealth_places: frozenset[str]
    telehealth_modifiers: frozenset[str]
    group_modifiers: frozenset[str]
    payer_rules: dict[str, dict] = field(default_factory=dict)  # "default" and by payer id

    def procedure_description(self, code: str) -> str:
        return str(self.hcpcs.get(code, {}).get("description", ""))


def read_code_tables(path: Path) -> CodeTables:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return CodeTables(
        hcpcs={k.upper(): v for k, v in raw["hcpcs"].items()},
        modifiers={k.upper(): v for k, v in raw["modifiers"].items()},
        places_of_service=dict(raw["places_of_service"]),
        telehealth_places=frozenset(raw.get("telehealth_places_of_service", ())),
        telehealth_modifiers=frozenset(raw.get("telehealth_modifiers", ())),
        group_modifiers=frozenset(raw.get("group_modifiers", ())),
        payer_rules=_payer_rules(raw.get("payer_rules", {})),
    )


UNIT_BASES = ("per_service", "day_total")
DEFAULT_RULES: dict = {
    "telehealth_places": ["02", "10"],
    "video_modifiers": ["95", "GT"],
    "audio_modifiers": ["93"],
    "telehealth_modifier_required": True,
    "telehealth_needs_telehealth_place": True,
    "unit_basis": "per_service",
}


@dataclass(frozen=True)
class PayerRules:
    """One payer's place of service x modality x modifier rules and unit basis."""

    telehealth_places: frozenset[str]
    video_modifiers: frozenset[str]  # audio and video (95, GT)
    audio_modifiers: frozenset[str]  # audio only (93)
    telehealth_modifier_required: bool
    telehealth_needs_telehealth_place: bool
    unit_basis: str  # "per_service" or "day_total"

    @property
    def day_total(self) -> bool:
        return self.unit_basis == "day_total"


def _payer_rules(raw: dict) -> dict[str, dict]:
    out = {"default": {**DEFAULT_RULES, **raw.get("default", {})}}
    for pid, over in raw.get("by_payer_id", {}).items():
        out[pid.strip().upper()] = over
    for rules in out.values():
        basis = rules.get("unit_basis", "per_service")
        if basis not in UNIT_BASES:
            raise ValueError("a payer rule's unit_basis must be per_service or day_total")
    return out


def payer_rules(tables: CodeTables, payer_id: str) -> PayerRules:
    """The rules for the payer with this payer id (the default where it lists none)."""
    base = tables.payer_rules.get("default", DEFAULT_RULES)
    merged = {**DEFAULT_RULES, **base, **tables.payer_rules.get(payer_id.strip().upper(), {})}
    return PayerRules(
        telehealth_places=frozenset(merged["telehealth_places"]),
        video_modifiers=frozenset(m.upper() for m in merged["video_modifiers"]),
        audio_modifiers=frozenset(m.upper() for m in merged["audio_modifiers"]),
        telehealth_modifier_required=bool(merged["telehealth_modifier_required"]),
        telehealth_needs_telehealth_place=bool(merged["telehealth_needs_telehealth_place"]),
        unit_basis=str(merged["unit_basis"]),
    )


@cache
def code_tables() -> CodeTables:
    """The bundled code tables (works from source and when frozen)."""
    return read_code_tables(resource_path("codes", "billing.json"))


def rules_for_payer(tables: CodeTables, payer: Payer) -> PayerRules:
    """A payer's rules: billing.json (default, then by payer id), then the payer
    record's own rule fields (Billing settings) where they are set: a unit basis
    other than "" and non-empty lists win."""
    rules = payer_rules(tables, payer.payer_id)
    over: dict = {}
    if payer.unit_basis.value in UNIT_BASES:
        over["unit_basis"] = payer.unit_basis.value
    if payer.telehealth_places:
        over["telehealth_places"] = frozenset(v.strip() for v in payer.telehealth_places)
    for name in ("video_modifiers", "audio_modifiers"):
        value = getattr(payer, name)
        if value:
            over[name] = frozenset(v.strip().upper() for v in value)
    return replace(rules, **over) if over else rules


# -- code sets (ICD-10-CM, USPS states) -----------------------------------------------


@dataclass(frozen=True)
class CodeSets:
    icd10cm: frozenset[str]  # billable codes, without the dot
    icd10cm_version: str
    icd10cm_valid: tuple[date, date]
    states: frozenset[str]
    sources: dict  # code_sets.json as read: source and version of each set

    def icd10_billable(self, code: str) -> bool:
        """Whether a code (with or without the dot) is a billable ICD-10-CM code."""
        return code.strip().upper().replace(".", "") in self.icd10cm


def read_code_sets(folder: Path) -> CodeSets:
    meta = json.loads((folder / "code_sets.json").read_text(encoding="utf-8"))
    icd = meta["icd10cm"]
    with gzip.open(folder / icd["file"], "rt", encoding="ascii") as fh:
        codes = frozenset(line.strip() for line in fh if line.strip())
    return CodeSets(
        icd10cm=codes,
        icd10cm_version=str(icd["version"]),
        icd10cm_valid=(date.fromisoformat(icd["valid_from"]), date.fromisoformat(icd["valid_to"])),
        states=frozenset(meta["usps_states"]["codes"]),
        sources=meta,
    )


@cache
def code_sets() -> CodeSets:
    """The bundled code sets (read once; about 75,000 ICD-10-CM codes)."""
    return read_code_sets(resource_path("codes"))
