"""Field checks: NPI, ICD-10-CM, Medicaid ID, ISO dates, dates of birth."""

from __future__ import annotations

import traceback
from datetime import date
from datetime import timedelta

import pytest
from hypothesis import assume
from hypothesis import given
from hypothesis import strategies as st

from app.domain.validation import ICD10_RE
from app.domain.validation import ValidationError
from app.domain.validation import birth_date_problem
from app.domain.validation import icd10_problem
from app.domain.validation import medicaid_id_problem
from app.domain.validation import normalize_icd10
from app.domain.validation import normalize_medicaid_id
from app.domain.validation import npi_check_digit
from app.domain.validation import npi_is_valid
from app.domain.validation import parse_iso_date

CMS_EXAMPLE_NPI = "1558598797"  # CMS's worked example (FACTS.md)


def reference_check_digit(first_nine: str) -> str:
    """FACTS.md, written independently: add 24 to the Luhn sum of the first nine."""
    total = 24
    for i, ch in enumerate(reversed(first_nine)):
        d = int(ch)
        if i % 2 == 0:  # the rightmost of the nine is doubled: the check digit follows it
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


prefix_st = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from("12"),
    st.text(alphabet="0123456789", min_size=8, max_size=8),
)


# --- NPI ---


def test_cms_example_npi_is_valid() -> None:
    assert npi_is_valid(CMS_EXAMPLE_NPI)
    assert npi_check_digit(CMS_EXAMPLE_NPI[:9]) == "7"
    assert reference_check_digit(CMS_EXAMPLE_NPI[:9]) == "7"


def test_every_one_digit_change_of_the_example_is_invalid() -> None:
    for i in range(10):
        for d in "0123456789":
            if d == CMS_EXAMPLE_NPI[i]:
                continue
            changed = CMS_EXAMPLE_NPI[:i] + d + CMS_EXAMPLE_NPI[i + 1 :]
            assert not npi_is_valid(changed), changed


@given(prefix_st, st.integers(min_value=0, max_value=9), st.integers(min_value=1, max_value=9))
def test_any_one_digit_change_of_a_valid_npi_is_invalid(prefix: str, pos: int, delta: int) -> None:
    npi = prefix + npi_check_digit(prefix)
    changed = npi[:pos] + str((int(npi[pos]) + delta) % 10) + npi[pos + 1 :]
    assert not npi_is_valid(changed)


@pytest.mark.parametrize(
    "npi",
    [
        "",
        "155859879",  # nine digits
        "15585987970",  # eleven digits
        "0558598797",
        "3558598797",
        "9558598797",
        "155859879X",
        "1558-598797",
        " 1558598797",
        "1558598797 ",
        "1558598797\n",
        "１５５８５９８７９７",  # full-width digits
    ],
)
def test_malformed_npis_are_invalid(npi: str) -> None:
    assert not npi_is_valid(npi)


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_npi_must_start_with_1_or_2(npi: str) -> None:
    if npi[0] not in "12":
        assert not npi_is_valid(npi)
    else:
        assert npi_is_valid(npi) == (npi[9] == reference_check_digit(npi[:9]))


@given(prefix_st)
def test_npi_check_digit_round_trip(prefix: str) -> None:
    d = npi_check_digit(prefix)
    assert len(d) == 1 and d.isdigit()
    assert d == reference_check_digit(prefix)
    assert npi_is_valid(prefix + d)
    assert [x for x in "0123456789" if npi_is_valid(prefix + x)] == [d]


@pytest.mark.parametrize(
    "bad", ["", "12345678", "1234567890", "055859879", "355859879", "1A5859879"]
)
def test_npi_check_digit_rejects_bad_prefixes(bad: str) -> None:
    with pytest.raises(ValueError, match="nine digits"):
        npi_check_digit(bad)


# --- ICD-10-CM ---

VALID_ICD10 = [
    "F11.20",
    "F1120",
    "Z59.0",
    "Z590",
    "Z59.00",
    "F10.10",
    "F32.A",
    "F43.10",
    "F41.9",
    "T40.1X1A",  # seven characters
    "T401X1A",
    "A00",  # category only
    "Z63",
    "f11.20",  # case is normalised
    " F11.20 ",  # surrounding space is trimmed
    "V00.01XA",
]

INVALID_ICD10 = [
    "",
    "F",
    "F1",
    "F11.",
    "11.20",
    "1F1.20",
    "FF1.20",
    "F1.120",
    "F11.20000",  # eight characters
    "F1120000",
    "F11-20",
    "F11 20",
    "F11..20",
    "F11.2-",
    "F11.20\x00",
]


@pytest.mark.parametrize("code", VALID_ICD10)
def test_valid_icd10(code: str) -> None:
    assert icd10_problem(code) is None


@pytest.mark.parametrize("code", INVALID_ICD10)
def test_invalid_icd10(code: str) -> None:
    problem = icd10_problem(code)
    assert problem is not None
    if code.strip():
        assert code.strip() not in problem


@given(st.from_regex(ICD10_RE, fullmatch=True))
def test_codes_the_rule_describes_are_accepted(code: str) -> None:
    assert icd10_problem(code) is None
    flat = normalize_icd10(code)
    assert "." not in flat
    assert 3 <= len(flat) <= 7
    assert icd10_problem(flat) is None


@pytest.mark.parametrize("code", ["U07.1", "U071", "U09.9", "U07.0"])
def test_u_codes_used_by_icd10_cm_are_accepted(code: str) -> None:
    """ICD-10-CM uses U07.0, U07.1 and U09.9; codes starting U are not excluded."""
    assert icd10_problem(code) is None


@given(st.text(max_size=10))
def test_accepted_codes_have_the_documented_shape(code: str) -> None:
    if icd10_problem(code) is None:
        flat = normalize_icd10(code)
        assert flat[0] in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        assert flat[1].isdigit()
        assert 3 <= len(flat) <= 7
        assert all(c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" for c in flat)


@pytest.mark.parametrize(
    ("code", "flat"),
    [
        ("F11.20", "F1120"),
        ("f11.20", "F1120"),
        (" Z59.0 ", "Z590"),
        ("F1120", "F1120"),
        ("A00", "A00"),
    ],
)
def test_normalize_icd10_removes_the_dot(code: str, flat: str) -> None:
    assert normalize_icd10(code) == flat


@given(st.from_regex(ICD10_RE, fullmatch=True))
def test_normalize_icd10_is_idempotent(code: str) -> None:
    once = normalize_icd10(code)
    assert normalize_icd10(once) == once


# --- Medicaid ID ---


@pytest.mark.parametrize(
    "value", ["", "AB1234", "ab1234", "123456", "AB-12 34", "ABCDEFGH123456", " 12345678 "]
)
def test_valid_medicaid_ids(value: str) -> None:
    assert medicaid_id_problem(value) is None


@pytest.mark.parametrize(
    "value", ["AB123", "ABCDEFGH1234567", "AB12$4", "AB_1234", "AB.1234", "ÄB1234", "AB1234\x00"]
)
def test_invalid_medicaid_ids(value: str) -> None:
    problem = medicaid_id_problem(value)
    assert problem is not None
    assert value not in problem


def test_normalize_medicaid_id() -> None:
    assert normalize_medicaid_id(" ab-12 34\t") == "AB1234"


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=6, max_size=14))
def test_medicaid_id_length_range(value: str) -> None:
    assert medicaid_id_problem(value) is None
    assert medicaid_id_problem(value.lower()) is None
    assert medicaid_id_problem(value + "0" * (15 - len(value))) is not None


# --- ISO dates ---

FORMAT_MSG = "expected a date written YYYY-MM-DD"
CALENDAR_MSG = "not a real calendar date"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-02-29", date(2024, 2, 29)),
        ("2025-12-31", date(2025, 12, 31)),
        ("0001-01-01", date(1, 1, 1)),
        (" 2024-01-05 ", date(2024, 1, 5)),
    ],
)
def test_parse_iso_date_accepts_yyyy_mm_dd(text: str, expected: date) -> None:
    assert parse_iso_date(text) == expected


@given(st.dates())
def test_parse_iso_date_round_trip(d: date) -> None:
    assert parse_iso_date(d.isoformat()) == d


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2024-1-05",
        "24-01-05",
        "2024/01/05",
        "01/05/2024",
        "05.01.2024",
        "20240105",
        "2024-01-05T00:00",
        "2024-01-05 10:00",
        "2024-W01-1",
        "2024-005",
        "+2024-01-05",
        "２０２４-01-05",  # full-width digits
        "Jan 5 2024",
    ],
)
def test_parse_iso_date_rejects_other_formats(text: str) -> None:
    with pytest.raises(ValueError) as exc:
        parse_iso_date(text)
    assert str(exc.value) == FORMAT_MSG


@pytest.mark.parametrize(
    "text", ["2023-02-29", "2024-13-01", "2024-00-10", "2024-04-31", "0000-01-01", "2024-01-32"]
)
def test_parse_iso_date_rejects_impossible_dates(text: str) -> None:
    with pytest.raises(ValueError) as exc:
        parse_iso_date(text)
    assert str(exc.value) == CALENDAR_MSG


@pytest.mark.parametrize("text", ["1985-02-30", "02/14/1985", "1985-14-02", "555-12-3456"])
def test_date_errors_never_echo_the_value(text: str) -> None:
    with pytest.raises(ValueError) as exc:
        parse_iso_date(text)
    err = exc.value
    assert text not in str(err)
    assert err.__cause__ is None
    # the underlying error (which quotes the value) is hidden from tracebacks
    shown = "".join(traceback.format_exception(err))
    assert text not in shown


@given(st.text(max_size=30))
def test_date_errors_are_always_one_of_two_fixed_messages(text: str) -> None:
    try:
        parse_iso_date(text)
    except ValueError as err:
        assert str(err) in (FORMAT_MSG, CALENDAR_MSG)
        assert err.__cause__ is None


@given(st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True))
def test_well_formed_strings_give_a_date_or_the_calendar_message(text: str) -> None:
    try:
        d = parse_iso_date(text)
    except ValueError as err:
        assert str(err) == CALENDAR_MSG
        assert text not in "".join(traceback.format_exception(err))
    else:
        assert d.isoformat() == text


# --- date of birth ---

TODAY = date(2025, 6, 15)


@pytest.mark.parametrize(
    "dob", [TODAY, TODAY - timedelta(days=1), date(1990, 1, 1), date(1905, 1, 1), date(2007, 6, 15)]
)
def test_plausible_birth_dates(dob: date) -> None:
    assert birth_date_problem(dob, TODAY) is None


@pytest.mark.parametrize("dob", [TODAY + timedelta(days=1), date(2030, 1, 1)])
def test_birth_date_in_the_future(dob: date) -> None:
    problem = birth_date_problem(dob, TODAY)
    assert problem is not None and "future" in problem
    assert dob.isoformat() not in problem


@pytest.mark.parametrize("dob", [date(1904, 12, 31), date(1850, 6, 1), date(1, 1, 1)])
def test_birth_date_too_long_ago(dob: date) -> None:
    problem = birth_date_problem(dob, TODAY)
    assert problem is not None and "120" in problem
    assert dob.isoformat() not in problem


@given(st.dates(), st.dates())
def test_birth_date_problem_matches_its_rule(dob: date, today: date) -> None:
    assume(today.year > 120)
    problem = birth_date_problem(dob, today)
    assert (problem is None) == (today.year - 120 <= dob.year and dob <= today)


# --- ValidationError ---


def test_validation_error_keeps_its_problems() -> None:
    err = ValidationError([("npi", "check digit is wrong"), ("dob", "in the future")])
    assert err.problems == [("npi", "check digit is wrong"), ("dob", "in the future")]
    assert str(err) == "npi: check digit is wrong; dob: in the future"
    assert isinstance(err, ValueError)
