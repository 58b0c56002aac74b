"""The billing code tables (HCPCS codes in use, modifiers, places of service),
read from resources/codes/billing.json so an agency can change them without code."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from app.paths import resource_path


@dataclass(frozen=True)
class CodeTables:
    hcpcs: dict[str, dict]
    modifiers: dict[str, str]
    places_of_service: dict[str, str]
    telehealth_places: frozenset[str]
    telehealth_modifiers: frozenset[str]
    group_modifiers: frozenset[str]

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
    )


@cache
def code_tables() -> CodeTables:
    """The bundled code tables (works from source and when frozen)."""
    return read_code_tables(resource_path("codes", "billing.json"))
