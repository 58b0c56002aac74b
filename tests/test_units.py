"""Minutes to billing units: the three named rounding rules, unit lengths, daily caps."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.records import Payer
from app.domain.records import RoundingRuleName
from app.domain.units import DEFAULT_RULE
from app.domain.units import RoundingRule

CMS = RoundingRule(RoundingRuleName.CMS_8_MINUTE)
WHOLE = RoundingRule(RoundingRuleName.WHOLE_UNITS)
ANY = RoundingRule(RoundingRuleName.ANY_PART)
ALL_NAMES = list(RoundingRuleName)

minutes_st = st.integers(min_value=0, max_value=24 * 60 * 3)
unit_len_st = st.integers(min_value=1, max_value=120)
rule_st = st.builds(RoundingRule, st.sampled_from(ALL_NAMES), unit_len_st)


# --- the CMS 8-minute table (FACTS.md: under 8 = 0, 8-22 = 1, 23-37 = 2, ...) ---


def _cms_table_units(m: int) -> int:
    """The published table, written independently of the formula under test."""
    if m < 8:
        return 0
    return (m - 8) // 15 + 1


@pytest.mark.parametrize(
    ("lo", "hi", "units"),
    [(0, 7, 0), (8, 22, 1), (23, 37, 2), (38, 52, 3), (53, 67, 4), (68, 82, 5), (83, 97, 6)],
)
def test_cms_8_minute_table(lo: int, hi: int, units: int) -> None:
    for m in range(lo, hi + 1):
        assert CMS.units(m) == units, m


def test_cms_table_matches_independent_formula_over_a_long_day() -> None:
    for m in range(0, 24 * 60 + 1):
        assert CMS.units(m) == _cms_table_units(m), m


def test_default_rule_is_cms_15_minutes_uncapped() -> None:
    assert RoundingRule(RoundingRuleName.CMS_8_MINUTE, 15, 0) == DEFAULT_RULE
    assert DEFAULT_RULE.units(8) == 1
    assert DEFAULT_RULE.units(7) == 0


@pytest.mark.parametrize(
    ("m", "expected"),
    [(0, 0), (1, 0), (14, 0), (15, 1), (16, 1), (29, 1), (30, 2), (44, 2), (45, 3), (60, 4)],
)
def test_whole_units_only_is_floor(m: int, expected: int) -> None:
    assert WHOLE.units(m) == expected


@pytest.mark.parametrize(
    ("m", "expected"),
    [(0, 0), (1, 1), (14, 1), (15, 1), (16, 2), (30, 2), (31, 3), (45, 3), (46, 4)],
)
def test_any_part_is_ceil(m: int, expected: int) -> None:
    assert ANY.units(m) == expected


@given(minutes_st, unit_len_st)
def test_whole_and_any_part_are_floor_and_ceil(m: int, unit: int) -> None:
    assert RoundingRule(RoundingRuleName.WHOLE_UNITS, unit).units(m) == m // unit
    assert RoundingRule(RoundingRuleName.ANY_PART, unit).units(m) == math.ceil(m / unit)


@given(minutes_st, unit_len_st)
def test_cms_rounds_on_more_than_half_a_unit(m: int, unit: int) -> None:
    """CMS earns the started unit when its remainder is more than half a unit."""
    whole, rest = divmod(m, unit)
    expected = whole + (1 if 2 * rest > unit else 0)
    assert RoundingRule(RoundingRuleName.CMS_8_MINUTE, unit).units(m) == expected


# --- properties common to every rule ---


@given(rule_st, minutes_st, st.integers(min_value=0, max_value=500))
def test_units_monotonic_in_minutes(rule: RoundingRule, m: int, extra: int) -> None:
    assert rule.units(m) <= rule.units(m + extra)


@given(rule_st, minutes_st)
def test_one_more_unit_length_is_one_more_unit(rule: RoundingRule, m: int) -> None:
    assert rule.units(m + rule.unit_minutes) == rule.units(m) + 1


@given(rule_st, minutes_st)
def test_whole_multiples_are_exact_for_every_rule(rule: RoundingRule, m: int) -> None:
    k = m // rule.unit_minutes
    assert rule.units(k * rule.unit_minutes) == k


@given(minutes_st, unit_len_st)
def test_whole_le_cms_le_any_part(m: int, unit: int) -> None:
    w = RoundingRule(RoundingRuleName.WHOLE_UNITS, unit).units(m)
    c = RoundingRule(RoundingRuleName.CMS_8_MINUTE, unit).units(m)
    a = RoundingRule(RoundingRuleName.ANY_PART, unit).units(m)
    assert w <= c <= a
    assert a - w <= 1


@given(st.integers(min_value=8, max_value=24 * 60 * 3))
def test_cms_error_is_at_most_half_a_unit(m: int) -> None:
    assert abs(CMS.units(m) * 15 - m) <= 7.5


@given(minutes_st)
def test_cms_pays_at_least_one_unit_from_8_minutes(m: int) -> None:
    assert (CMS.units(m) >= 1) == (m >= 8)


# --- other unit lengths ---


@pytest.mark.parametrize(
    ("name", "unit", "m", "expected"),
    [
        (RoundingRuleName.CMS_8_MINUTE, 30, 15, 0),
        (RoundingRuleName.CMS_8_MINUTE, 30, 16, 1),
        (RoundingRuleName.CMS_8_MINUTE, 30, 45, 1),
        (RoundingRuleName.CMS_8_MINUTE, 30, 46, 2),
        (RoundingRuleName.CMS_8_MINUTE, 60, 30, 0),
        (RoundingRuleName.CMS_8_MINUTE, 60, 31, 1),
        (RoundingRuleName.CMS_8_MINUTE, 60, 90, 1),
        (RoundingRuleName.CMS_8_MINUTE, 60, 91, 2),
        (RoundingRuleName.WHOLE_UNITS, 30, 29, 0),
        (RoundingRuleName.WHOLE_UNITS, 30, 59, 1),
        (RoundingRuleName.WHOLE_UNITS, 60, 119, 1),
        (RoundingRuleName.ANY_PART, 30, 1, 1),
        (RoundingRuleName.ANY_PART, 30, 31, 2),
        (RoundingRuleName.ANY_PART, 60, 61, 2),
        (RoundingRuleName.CMS_8_MINUTE, 1, 7, 7),
        (RoundingRuleName.ANY_PART, 1, 7, 7),
        (RoundingRuleName.WHOLE_UNITS, 1, 7, 7),
    ],
)
def test_other_unit_lengths(name: RoundingRuleName, unit: int, m: int, expected: int) -> None:
    assert RoundingRule(name, unit).units(m) == expected


@pytest.mark.parametrize("name", ALL_NAMES)
def test_threshold_is_within_one_unit(name: RoundingRuleName) -> None:
    for unit in range(1, 121):
        t = RoundingRule(name, unit).threshold
        assert 1 <= t <= unit


# --- bad input ---


@pytest.mark.parametrize("name", ALL_NAMES)
@pytest.mark.parametrize("m", [-1, -8, -15, -10_000])
def test_negative_minutes_raise(name: RoundingRuleName, m: int) -> None:
    with pytest.raises(ValueError, match="negative"):
        RoundingRule(name).units(m)


@pytest.mark.parametrize("unit", [0, -1, -15])
def test_unit_shorter_than_a_minute_raises(unit: int) -> None:
    with pytest.raises(ValueError, match="at least one minute"):
        RoundingRule(RoundingRuleName.CMS_8_MINUTE, unit)


def test_negative_daily_cap_raises() -> None:
    with pytest.raises(ValueError, match="cap"):
        RoundingRule(RoundingRuleName.CMS_8_MINUTE, 15, -1)


def test_negative_minutes_in_a_day_raise() -> None:
    with pytest.raises(ValueError):
        RoundingRule(max_units_per_day=4).units_for_day([15, -1])


def test_rule_is_immutable() -> None:
    with pytest.raises(AttributeError):
        CMS.unit_minutes = 30  # type: ignore[misc]


# --- the daily cap ---

day_st = st.lists(st.integers(min_value=0, max_value=300), max_size=12)


@given(rule_st, day_st, st.integers(min_value=1, max_value=40))
def test_daily_cap_is_never_exceeded(rule: RoundingRule, day: list[int], cap: int) -> None:
    capped = RoundingRule(rule.name, rule.unit_minutes, cap)
    out = capped.units_for_day(day)
    assert len(out) == len(day)
    assert sum(out) <= cap
    assert all(0 <= u <= rule.units(m) for u, m in zip(out, day, strict=True))


@given(rule_st, day_st, st.integers(min_value=1, max_value=40))
def test_daily_cap_changes_nothing_when_under_it(
    rule: RoundingRule, day: list[int], cap: int
) -> None:
    uncapped = [rule.units(m) for m in day]
    capped = RoundingRule(rule.name, rule.unit_minutes, cap).units_for_day(day)
    if sum(uncapped) <= cap:
        assert capped == uncapped
    else:
        assert sum(capped) == cap  # the cap is used up exactly, not undershot


@given(rule_st, day_st, st.integers(min_value=1, max_value=40))
def test_daily_cap_cuts_later_services_first(rule: RoundingRule, day: list[int], cap: int) -> None:
    uncapped = [rule.units(m) for m in day]
    capped = RoundingRule(rule.name, rule.unit_minutes, cap).units_for_day(day)
    # Once a service is cut, every later service gets nothing; earlier ones are whole.
    cut = next((i for i, (c, u) in enumerate(zip(capped, uncapped, strict=True)) if c < u), None)
    if cut is None:
        return
    assert capped[:cut] == uncapped[:cut]
    assert all(c == 0 for c in capped[cut + 1 :])


@given(rule_st, day_st)
def test_no_cap_means_plain_units(rule: RoundingRule, day: list[int]) -> None:
    assert rule.max_units_per_day == 0
    assert rule.units_for_day(day) == [rule.units(m) for m in day]


def test_daily_cap_example_16_units() -> None:
    rule = RoundingRule(RoundingRuleName.CMS_8_MINUTE, 15, 16)
    # 120 min = 8 units, 90 = 6, 60 = 4 (cut to 2), 30 = 2 (cut to 0)
    assert rule.units_for_day([120, 90, 60, 30]) == [8, 6, 2, 0]
    assert rule.units_for_day([30, 60, 90, 120]) == [2, 4, 6, 4]
    assert rule.units_for_day([]) == []
    assert rule.units_for_day([5, 240]) == [0, 16]


def test_units_for_day_does_not_mutate_input() -> None:
    day = [60, 60]
    RoundingRule(max_units_per_day=5).units_for_day(day)
    assert day == [60, 60]


# --- per payer ---


@pytest.mark.parametrize("name", ALL_NAMES)
def test_for_payer_copies_the_payers_settings(name: RoundingRuleName) -> None:
    payer = Payer(name="ND 1915(i)", rounding_rule=name, unit_minutes=30, max_units_per_day=16)
    rule = RoundingRule.for_payer(payer)
    assert rule == RoundingRule(name, 30, 16)
    assert rule.name is name
    assert rule.unit_minutes == 30
    assert rule.max_units_per_day == 16


def test_for_payer_defaults_to_cms_15_uncapped() -> None:
    assert RoundingRule.for_payer(Payer(name="MN DHS")) == DEFAULT_RULE


def test_for_payer_rejects_a_bad_unit_length() -> None:
    with pytest.raises(ValueError):
        RoundingRule.for_payer(Payer(name="broken", unit_minutes=0))


def test_rules_differ_per_payer() -> None:
    cms = RoundingRule.for_payer(Payer(name="a"))
    whole = RoundingRule.for_payer(Payer(name="b", rounding_rule=RoundingRuleName.WHOLE_UNITS))
    anyp = RoundingRule.for_payer(Payer(name="c", rounding_rule=RoundingRuleName.ANY_PART))
    assert (whole.units(22), cms.units(22), anyp.units(22)) == (1, 1, 2)
    assert (whole.units(8), cms.units(8), anyp.units(8)) == (0, 1, 1)
