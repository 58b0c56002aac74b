"""Minutes to billing units, by a payer's rounding rule.

A rule is data (which rule, how long a unit is, a daily cap), kept with the payer
in settings, because payers differ: CMS's 8-minute rule is common (8-22 minutes =
1 unit of 15, 23-37 = 2, ...; under 8 = 0), some pay only whole units, some pay a
unit for any part of one. All three are one formula: a remainder of at least
``threshold`` minutes earns one more unit.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.records import Payer
from app.domain.records import RoundingRuleName


@dataclass(frozen=True, slots=True)
class RoundingRule:
    name: RoundingRuleName = RoundingRuleName.CMS_8_MINUTE
    unit_minutes: int = 15
    max_units_per_day: int = 0  # 0: no cap

    def __post_init__(self) -> None:
        if self.unit_minutes < 1:
            raise ValueError("a unit must be at least one minute long")
        if self.max_units_per_day < 0:
            raise ValueError("the daily unit cap cannot be negative")

    @property
    def threshold(self) -> int:
        """Minutes of a started unit that earn it."""
        if self.name is RoundingRuleName.CMS_8_MINUTE:
            return self.unit_minutes // 2 + 1  # 8 of 15: more than half
        if self.name is RoundingRuleName.WHOLE_UNITS:
            return self.unit_minutes
        return 1  # ANY_PART

    def units(self, minutes: int) -> int:
        """Units for one service of ``minutes`` minutes (no daily cap applied)."""
        if minutes < 0:
            raise ValueError("minutes cannot be negative")
        whole, rest = divmod(minutes, self.unit_minutes)
        return whole + (1 if rest >= self.threshold else 0)

    def units_for_day(self, minutes_per_service: list[int]) -> list[int]:
        """Units per service on one day for one person, with the daily cap applied
        in service order (later services are cut first)."""
        out: list[int] = []
        left = self.max_units_per_day or None
        for m in minutes_per_service:
            u = self.units(m)
            if left is not None:
                u = min(u, left)
                left -= u
            out.append(u)
        return out

    @classmethod
    def for_payer(cls, payer: Payer) -> RoundingRule:
        return cls(payer.rounding_rule, payer.unit_minutes, payer.max_units_per_day)


DEFAULT_RULE = RoundingRule()
