"""The 837P writer on its own: pyx12 accepts what it writes for generated caseloads
(odd names, many lines, more than 50 services for one person, several payers, group
and telehealth modifiers), and the payer-side checks pyx12 does not make stop a
claim that pyx12 would accept."""

from __future__ import annotations

import dataclasses
from datetime import date
from datetime import datetime
from datetime import timedelta

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from app.billing.claims import ClaimRejected
from app.billing.claims import build_claims
from app.billing.preflight import claim_diagnoses
from app.billing.preflight import run_preflight
from app.billing.x12 import Interchange
from app.billing.x12 import amount
from app.billing.x12 import render_837p
from app.billing.x12 import text
from app.domain.records import ClaimGrouping
from app.domain.records import Modality
from app.domain.records import Participant
from app.domain.records import Payer
from app.domain.records import RoundingRuleName
from app.domain.records import ServiceSetting
from app.domain.records import User
from app.domain.validation import npi_check_digit
from tests.billing_world import AGENCY
from tests.billing_world import approved_service
from tests.billing_world import billing_data
from tests.billing_world import read_837
from tests.x12check import pyx12_errors

NOW = datetime(2026, 11, 20, 9, 30)

name_part = st.text(
    # Latin with diacritics, Cyrillic and Greek: all go on a claim (names.py)
    alphabet=st.sampled_from(list("abcdefghijklmnopqrstuvwxyzéøñüÅ'- ") + list("жщыюяДЖΩβλ")),
    min_size=1,
    max_size=14,
).filter(lambda s: any(c.isalpha() for c in s))
names = st.tuples(name_part, name_part).map(lambda t: (t[0].strip(" '-") or "a", t[1]))


def _npi(n: int) -> str:
    first = f"1{n:08d}"
    return first + npi_check_digit(first)


def make_payer(i: int, grouping: ClaimGrouping, rule: RoundingRuleName) -> Payer:
    return Payer(
        name=f"Test Payer {i}",
        payer_id=f"TP{i:04d}",
        receiver_id=f"RCV{i:03d}",
        rate_cents_per_unit=1502 + i,
        claim_grouping=grouping,
        rounding_rule=rule,
    )


KINDS = {
    "individual": (Modality.IN_PERSON, ServiceSetting.INDIVIDUAL, (), "11"),
    "home": (Modality.IN_PERSON, ServiceSetting.INDIVIDUAL, (), "12"),
    "group": (Modality.IN_PERSON, ServiceSetting.GROUP, ("HQ",), "99"),
    "video": (Modality.VIDEO, ServiceSetting.INDIVIDUAL, ("95",), "10"),
    "audio": (Modality.AUDIO, ServiceSetting.INDIVIDUAL, ("93",), "02"),
    "legacy": (Modality.VIDEO, ServiceSetting.INDIVIDUAL, ("GT",), "02"),
}


@st.composite
def caseloads(draw):
    n_payers = draw(st.integers(1, 3))
    payers = [
        make_payer(
            i,
            draw(st.sampled_from(list(ClaimGrouping))),
            draw(st.sampled_from(list(RoundingRuleName))),
        )
        for i in range(n_payers)
    ]
    specialists = [
        User(username=f"s{i}", display_name=f"Sky {last}", npi=_npi(1000 + i))
        for i, (_, last) in enumerate(draw(st.lists(names, min_size=1, max_size=3)))
    ]
    people = []
    for i, (first, last) in enumerate(draw(st.lists(names, min_size=1, max_size=4))):
        dx = draw(
            st.lists(st.sampled_from(["F11.20", "F10.21", "F33.1", "F43.10", "Z59.00"]),
                     min_size=1, max_size=6, unique=True)
        )  # fmt: skip
        people.append(
            Participant(
                first_name=first,
                last_name=last,
                date_of_birth=date(1970 + i, 1 + i % 12, 3),
                medicaid_id=f"{900000000 + i}",
                payer_id=payers[i % n_payers].id,
                diagnoses=tuple(dx),
            )
        )
    encounters = []
    # one person with a heavy month: more than 50 services in the period
    heavy = draw(st.booleans())
    for pi, p in enumerate(people):
        count = draw(st.integers(55, 70)) if heavy and pi == 0 else draw(st.integers(1, 8))
        for k in range(count):
            kind = KINDS[draw(st.sampled_from(list(KINDS)))]
            day = date(2026, 10, 1) + timedelta(days=k % 28)
            spec = specialists[k % len(specialists)]
            slot = 7 * 60 + (k // 28) * 70 + pi * 5 * 70 % 600
            minutes = draw(st.integers(8, 60))
            payer = payers[pi % n_payers]
            how = dict(modality=kind[0], setting=kind[1], modifiers=kind[2])
            group = 4 if kind[1] is ServiceSetting.GROUP else 0
            e = approved_service(p, spec, payer, day, slot, minutes, group_size=group,
                                 place_of_service=kind[3], **how)  # fmt: skip
            encounters.append(e)
    return payers, specialists, people, encounters


def render_all(payers, specialists, people, encounters):
    data = billing_data(payers, people, specialists, encounters)
    pf = run_preflight(data, date(2026, 10, 1), date(2026, 10, 31), date(2026, 11, 20))
    files = []
    for n, payer in enumerate(payers, 1):
        lines = [ln for ln in pf.lines if ln.payer_id == payer.id]
        if not lines:
            continue
        dx = {p.id: claim_diagnoses(p) for p in people}
        claims = build_claims(lines, payer, dx, f"{n:09d}")
        ix = Interchange(n, NOW, f"batch-{n}", AGENCY, payer, claims, data.participants, data.users)
        files.append((render_837p(ix), lines, claims))
    return pf, files


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(caseloads())
def test_generated_caseloads_pass_pyx12(case):
    payers, specialists, people, encounters = case
    pf, files = render_all(payers, specialists, people, encounters)
    # the generator avoids every pre-flight problem except overlaps and daily limits
    assert {p.check for p in pf.problems} <= {"overlap", "daily-limit", "units"}
    # every service can be held back (e.g. one 8-minute service under a whole-units rule)
    assert bool(files) == bool(pf.lines) and (pf.lines or pf.problems)
    for body, lines, claims in files:
        assert pyx12_errors(body) == []
        got = read_837(body)
        assert got["lines"] == len(lines) and got["claims"] == len(claims)
        assert got["units"] == sum(ln.units for ln in lines)
        assert got["cents"] == got["line_cents"] == sum(ln.amount_cents for ln in lines)
        assert all(len(c.lines) <= 50 for c in claims)


def test_a_person_with_more_than_50_services_gets_split_claims():
    payer = make_payer(1, ClaimGrouping.PER_MONTH, RoundingRuleName.CMS_8_MINUTE)
    spec = User(username="s", display_name="Ren Haldane", npi=_npi(7))
    p = Participant(first_name="Mairead", last_name="Ní Bhriain-O'Toole",
                    date_of_birth=date(1990, 5, 6), medicaid_id="123456789",
                    payer_id=payer.id, diagnoses=("F11.20",))  # fmt: skip
    encs = []
    for k in range(120):
        start = 8 * 60 + (k % 4) * 60
        day = date(2026, 10, 1) + timedelta(days=k // 4)
        encs.append(approved_service(p, spec, payer, day, start, 30, place_of_service="12"))
    _pf, files = render_all([payer], [spec], [p], encs)
    ((body, _lines, claims),) = files
    assert [len(c.lines) for c in claims] == [50, 50, 20]
    assert pyx12_errors(body) == []
    assert "NM1*IL*1*NI BHRIAIN-O'TOOLE*MAIREAD****MI*123456789~" in body


def test_envelope_counts_and_numbers_match():
    payer = make_payer(3, ClaimGrouping.PER_DAY, RoundingRuleName.CMS_8_MINUTE)
    spec = User(username="s", display_name="Ren Haldane", npi=_npi(7))
    p = Participant(first_name="A", last_name="B", date_of_birth=date(1990, 5, 6),
                    medicaid_id="123456789", payer_id=payer.id, diagnoses=("F11.20",))  # fmt: skip
    e = approved_service(p, spec, payer, date(2026, 10, 2), 9 * 60, 38)
    _pf, ((body, _l, _c),) = render_all([payer], [spec], [p], [e])
    segs = [s.strip() for s in body.split("~") if s.strip()]
    assert len(body.split("~")[0]) == 105  # ISA is 106 characters with its terminator
    st_i = next(i for i, s in enumerate(segs) if s.startswith("ST*"))
    se_i = next(i for i, s in enumerate(segs) if s.startswith("SE*"))
    assert segs[se_i].split("*") == ["SE", str(se_i - st_i + 1), segs[st_i].split("*")[2]]
    assert segs[-2] == "GE*1*1" and segs[-1] == "IEA*1*000000001"
    assert "SV1*HC:H0038*45.15*UN*3***1~" in body  # 38 minutes: 3 units at $15.05


def test_text_and_amounts():
    assert text("O'Brien-Østby *~:^ Zoë", 60) == "O'BRIEN-OSTBY ZOE"
    assert text("x" * 80, 35) == "X" * 35
    assert [amount(c) for c in (3300, 3350, 3355, 5, 0)] == ["33", "33.5", "33.55", "0.05", "0"]


# -- checks payers make that pyx12 does not -----------------------------------------------


def _one_claim():
    payer = make_payer(1, ClaimGrouping.PER_DAY, RoundingRuleName.CMS_8_MINUTE)
    spec = User(username="s", display_name="Ren Haldane", npi=_npi(7))
    p = Participant(first_name="Tamsin", last_name="Vale", date_of_birth=date(1990, 5, 6),
                    medicaid_id="123456789", payer_id=payer.id,
                    diagnoses=("F11.20", "F33.1"))  # fmt: skip
    encs = []
    for h in (9, 11):
        encs.append(approved_service(p, spec, payer, date(2026, 10, 2), h * 60, 45))
    _pf, ((_b, _lines, claims),) = render_all([payer], [spec], [p], encs)
    return payer, spec, p, claims[0]


def _with(claim, **kw):
    return dataclasses.replace(claim, **kw)


def _line(claim, **kw):
    first = dataclasses.replace(claim.lines[0], **kw)
    return _with(claim, lines=(first, *claim.lines[1:]))


def _bad_npi(c, spec):
    wrong = str((int(spec.npi[-1]) + 1) % 10)
    return c, spec.replace(npi=spec.npi[:-1] + wrong), "rendering provider NPI fails the check"


def _bad_total(c, spec):
    return _with(c, charge_cents=c.charge_cents + 100), spec, "not the sum of its lines"


def _bad_pointer(c, spec):
    return _line(c, dx_pointers=(1, 3)), spec, "pointer is past the last diagnosis"


def _dotted(c, spec):
    return _with(c, diagnoses=("F11.20", "F33.1")), spec, "without the dot"


def _fraction(c, spec):
    return _line(c, units=2.5), spec, "whole number"


BROKEN = {
    "bad NPI check digit": _bad_npi,
    "CLM02 not the sum of the lines": _bad_total,
    "diagnosis pointer past the last code": _bad_pointer,
    "ICD-10 with a dot": _dotted,
    "fractional units": _fraction,
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_payer_side_checks_stop_claims_pyx12_would_accept(case):
    payer, spec, person, claim = _one_claim()
    bad_claim, bad_spec, message = BROKEN[case](claim, spec)
    ix = Interchange(
        9, NOW, "b", AGENCY, payer, [bad_claim], {person.id: person}, {spec.id: bad_spec}
    )
    # pyx12 alone would let it through ...
    assert pyx12_errors(render_837p(ix, check=False)) == []
    # ... the writer does not
    with pytest.raises(ClaimRejected, match=message):
        render_837p(ix)


def test_billing_provider_npi_is_checked_too():
    payer, spec, person, claim = _one_claim()
    agency = AGENCY.replace(npi="1558598798")
    ix = Interchange(9, NOW, "b", agency, payer, [claim], {person.id: person}, {spec.id: spec})
    assert pyx12_errors(render_837p(ix, check=False)) == []
    with pytest.raises(ClaimRejected, match="billing provider NPI"):
        render_837p(ix)
