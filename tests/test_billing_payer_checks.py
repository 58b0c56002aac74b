"""Issue 14, items 3-5: what payers reject that the pre-flight now stops, what the
837P says, and the files a clerk reads. Every 837P written here passes pyx12."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import zipfile
from dataclasses import replace
from datetime import UTC
from datetime import date
from datetime import datetime

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from pypdf import PdfReader

from app.billing.claims import ClaimRejected
from app.billing.claims import build_claims
from app.billing.claims import claim_problems
from app.billing.claims import original_claims
from app.billing.claims import resubmitted
from app.billing.codes import code_sets
from app.billing.codes import code_tables
from app.billing.codes import payer_rules
from app.billing.names import name_problem
from app.billing.names import split_display_name
from app.billing.names import x12_text
from app.billing.preflight import claim_diagnoses
from app.billing.preflight import run_preflight
from app.billing.settings import provider_problems
from app.billing.summary_pdf import Replaces
from app.billing.summary_pdf import held_back_services
from app.billing.summary_pdf import write_summary
from app.billing.worksheet import plain_id
from app.billing.worksheet import worksheet_rows
from app.billing.worksheet import write_worksheet
from app.billing.worksheet import write_worksheet_xlsx
from app.billing.x12 import Interchange
from app.billing.x12 import render_837p
from app.domain.records import AdministrativeSex
from app.domain.records import Encounter
from app.domain.records import Modality
from app.domain.records import NoteStatus
from app.domain.records import Participant
from app.domain.records import Payer
from app.domain.records import RoundingRuleName
from app.domain.records import UnitBasis
from app.domain.records import User
from app.paths import resource_path
from tests.billing_world import AGENCY
from tests.billing_world import SPECIALIST_NPI
from tests.billing_world import SUPERVISOR_NPI
from tests.billing_world import TODAY
from tests.billing_world import approved_service
from tests.billing_world import billing_data
from tests.billing_world import read_837
from tests.x12check import pyx12_errors

DAY = date(2026, 10, 5)
PAYER = Payer(name="ND Medicaid", payer_id="NDMCD", receiver_id="NDMMIS", rate_cents_per_unit=1650)
SPEC = User(username="tove", display_name="Tove Lindgard", npi=SPECIALIST_NPI)
SPEC2 = User(username="jane", display_name="Jane Smith, CPSS", npi=SUPERVISOR_NPI)
PERSON = Participant(
    first_name="Brannagh",
    last_name="O'Sheel",
    date_of_birth=date(1980, 3, 4),
    medicaid_id="770000001",
    payer_id=PAYER.id,
    diagnoses=("F11.20", "Z59.00"),
)


def enc(start=(9, 0), minutes=50, person=PERSON, spec=SPEC, **kw) -> Encounter:
    day = kw.pop("service_date", DAY)
    return approved_service(person, spec, PAYER, day, start[0] * 60 + start[1], minutes, **kw)


def check(encs, people=(PERSON,), users=(SPEC, SPEC2), payers=(PAYER,), codes=None, today=TODAY):
    data = billing_data(payers, people, users, encs, codes)
    return run_preflight(data, date(2026, 10, 1), date(2026, 10, 31), today), data


def checks_of(pf, eid: str) -> set[str]:
    return {p.check for p in pf.problems if eid in p.encounter_ids}


def render(pf, data, payer=PAYER, created=datetime(2026, 11, 20, 15, 0, tzinfo=UTC), **ix_kw):
    lines = [ln for ln in pf.lines if ln.payer_id == payer.id]
    dx = {p.id: claim_diagnoses(p) for p in data.participants.values()}
    claims = build_claims(lines, payer, dx, "000000042")
    claims = ix_kw.pop("transform", lambda c: c)(claims)
    ix = Interchange(42, created, "batch-42", ix_kw.pop("provider", AGENCY), payer, claims,
                     data.participants, data.users)  # fmt: skip
    body = render_837p(ix)
    assert pyx12_errors(body) == []
    return body, claims


def segments(body: str, tag: str) -> list[str]:
    return [s.strip() for s in body.split("~") if s.strip().startswith(tag + "*")]


# -- 3. code sets ----------------------------------------------------------------------


def test_code_sets_are_data_with_their_source_and_version():
    meta = json.loads(resource_path("codes", "code_sets.json").read_text())
    icd = meta["icd10cm"]
    assert "CMS" in icd["source"] and "2026" in icd["version"]
    with gzip.open(resource_path("codes", icd["file"]), "rt") as fh:
        listed = [ln.strip() for ln in fh if ln.strip()]
    assert len(listed) == icd["code_count"] == len(code_sets().icd10cm)
    # peer support's chapters are there in full: F01-F99 and the Z codes
    assert sum(c.startswith("F") for c in listed) > 800 and sum(c[0] == "Z" for c in listed) > 1000
    sets = code_sets()
    for ok in ("F11.20", "F1120", "F33.1", "F43.10", "Z59.00", "F32.A", "F10.21"):
        assert sets.icd10_billable(ok), ok
    for header in ("F11", "F11.2", "Z99.999", "Z99", "F32", "F43.1"):
        assert not sets.icd10_billable(header), header
    assert "ND" in sets.states and "QQ" not in sets.states and len(sets.states) == 62


@pytest.mark.parametrize("code", ["F11", "Z99.999", "F43.1"])
def test_well_formed_but_not_billable_diagnosis_is_refused(code):
    e = enc()
    pf, _ = check([e], people=(PERSON.replace(diagnoses=("F33.1", code)),))
    (p,) = [p for p in pf.problems if p.check == "icd10"]
    assert p.table == "participants" and p.record_id == PERSON.id and "billable" in p.message
    assert not pf.lines


def test_billable_codes_pass():
    pf, data = check([enc()])
    assert pf.problems == [] and len(pf.lines) == 1
    render(pf, data)


def test_future_service_and_birth_after_service_are_refused():
    future = enc(service_date=date(2026, 10, 30))
    pf, _ = check([future], today=date(2026, 10, 20))
    assert "service-date" in checks_of(pf, future.id) and not pf.lines
    e = enc()
    pf, _ = check([e], people=(PERSON.replace(date_of_birth=date(2026, 10, 6)),))
    (p,) = [p for p in pf.problems if p.check == "birth-date"]
    assert p.record_id == PERSON.id and p.encounter_ids == (e.id,) and not pf.lines


def test_state_must_be_a_usps_code():
    e = enc()
    pf, _ = check([e], people=(PERSON.replace(state="QQ"),))
    assert "state" in checks_of(pf, e.id) and not pf.lines
    assert any("USPS" in m for m in provider_problems(replace(AGENCY, state="QQ")))
    assert provider_problems(AGENCY) == []


# -- 3. place of service x modality x modifier ---------------------------------------------

V, A, P = Modality.VIDEO, Modality.AUDIO, Modality.IN_PERSON


@pytest.mark.parametrize(
    ("modality", "pos", "mods", "ok"),
    [
        (V, "02", (), False),  # telehealth with no modifier
        (P, "11", ("95",), False),  # 95 at an office, in person
        (V, "11", ("95",), False),  # 95 at an office
        (A, "10", ("95",), False),  # audio-only coded as 95
        (A, "02", ("GT",), False),  # GT is audio and video too
        (V, "10", ("93",), False),  # video coded audio-only
        (P, "10", (), False),  # in person at the patient's-home telehealth place
        (P, "02", (), False),
        (V, "10", ("95",), True),
        (V, "02", ("GT",), True),
        (A, "10", ("93",), True),
        (A, "02", ("93",), True),
        (P, "11", (), True),
        (P, "12", (), True),
    ],
)
def test_place_modality_and_modifier(modality, pos, mods, ok):
    e = enc(modality=modality, place_of_service=pos, modifiers=mods)
    pf, data = check([e])
    assert ("telehealth" not in checks_of(pf, e.id)) is ok
    if ok:
        render(pf, data)


def test_payer_rules_are_settings_with_defaults():
    tables = code_tables()
    default = payer_rules(tables, "ANY")
    assert default.telehealth_places == {"02", "10"} and default.unit_basis == "per_service"
    assert default.audio_modifiers == {"93"} and "95" in default.video_modifiers
    # a payer that takes telehealth at the usual place of service with 95 and no 02/10
    lenient = replace(tables, payer_rules={**tables.payer_rules, "NDMCD": {
        "telehealth_needs_telehealth_place": False}})  # fmt: skip
    e = enc(modality=V, place_of_service="11", modifiers=("95",))
    assert "telehealth" in checks_of(check([e])[0], e.id)
    pf, data = check([e], codes=lenient)
    assert pf.problems == []
    render(pf, data)


# -- 3. units from the day's total ---------------------------------------------------------


def day_total_tables():
    t = code_tables()
    return replace(t, payer_rules={**t.payer_rules, "NDMCD": {"unit_basis": "day_total"}})


def test_two_10_minute_services_are_one_unit_under_a_day_total_rule():
    a, b = enc((9, 0), 10), enc((14, 0), 10)
    per_service, _ = check([a, b])
    assert sum(ln.units for ln in per_service.lines) == 2
    pf, data = check([a, b], codes=day_total_tables())
    assert pf.problems == [] and sum(ln.units for ln in pf.lines) == 1
    assert {ln.encounter_id for ln in pf.lines} == {a.id, b.id}  # both are billed
    body, claims = render(pf, data)
    got = read_837(body)
    assert got["lines"] == 1 and got["units"] == 1 and got["cents"] == 1650
    assert {s.encounter_id for s in claims[0].lines[0].services} == {a.id, b.id}
    buf = io.StringIO()
    ix = Interchange(42, datetime(2026, 11, 20, tzinfo=UTC), "b", AGENCY, PAYER, claims,
                     data.participants, data.users)  # fmt: skip
    write_worksheet(buf, worksheet_rows(ix))
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert rows[0]["minutes"] == "20" and rows[0]["units"] == "1"
    assert set(rows[0]["encounter_id"].split()) == {a.id, b.id}


def test_day_total_under_one_unit_holds_back_the_day():
    a, b = enc((9, 0), 3), enc((14, 0), 4)
    pf, _ = check([a, b], codes=day_total_tables())
    assert checks_of(pf, a.id) == checks_of(pf, b.id) == {"units"} and not pf.lines
    c = enc((16, 0), 1)
    pf, _ = check([a, b, c], codes=day_total_tables())  # 8 minutes: one unit
    assert pf.problems == [] and sum(ln.units for ln in pf.lines) == 1


def test_day_total_with_whole_units_and_a_daily_cap():
    payer = replace(PAYER, rounding_rule=RoundingRuleName.WHOLE_UNITS, max_units_per_day=3)
    encs = [enc((8 + k, 0), 25) for k in range(4)]  # 100 minutes: 6 whole units, over 3
    pf, _ = check(encs, payers=(payer,), codes=day_total_tables())
    assert {p.check for p in pf.problems} == {"daily-limit"}
    pf, data = check(encs[:2], payers=(payer,), codes=day_total_tables())  # 50 min: 3
    assert sum(ln.units for ln in pf.lines) == 3
    render(pf, data, payer=payer)


# -- 3. one person, two specialists, same time ---------------------------------------------


def test_one_person_served_by_two_specialists_at_overlapping_times_is_flagged():
    a = enc((9, 0), 60, spec=SPEC)
    b = enc((9, 30), 30, spec=SPEC2)
    c = enc((11, 0), 30, spec=SPEC2)  # later, no overlap
    pf, _ = check([a, b, c])
    assert "person-overlap" in checks_of(pf, a.id) and "person-overlap" in checks_of(pf, b.id)
    assert checks_of(pf, c.id) == set() and [ln.encounter_id for ln in pf.lines] == [c.id]


# -- 3. names in the X12 character set -----------------------------------------------------


def test_cyrillic_and_accented_names_are_transliterated_and_pyx12_accepts_them():
    ivan = replace(PERSON, first_name="Иван", last_name="Петров-Ødegård")
    nunez = replace(PERSON, id="n", first_name="José", last_name="Núñez", medicaid_id="770000002")
    spec = replace(SPEC, display_name="Ζωή Παππά")
    encs = [enc(person=ivan, spec=spec), enc((11, 0), person=nunez, spec=spec)]
    pf, data = check(encs, people=(ivan, nunez), users=(spec,))
    assert pf.problems == []
    body, _ = render(pf, data)
    assert "NM1*IL*1*PETROV-ODEGARD*IVAN****MI*770000001~" in body
    assert "NM1*IL*1*NUNEZ*JOSE****MI*770000002~" in body
    assert "NM1*82*1*PAPPA*ZOI****XX*" + SPECIALIST_NPI in body


@pytest.mark.parametrize("last", ["王", "محمد", "---", "   "])
def test_a_name_that_cannot_be_carried_stops_with_the_record_named(last):
    e = enc()
    pf, _ = check([e], people=(replace(PERSON, last_name=last),))
    (p,) = [p for p in pf.problems if p.check == "name"]
    assert p.table == "participants" and p.record_id == PERSON.id and not pf.lines
    assert last.strip() == "" or last not in p.message
    assert name_problem("Петров", "last name") is None
    assert "script" in (name_problem("王", "last name") or "")
    assert x12_text("Straße", 60) == "STRASSE"


def test_specialist_with_an_unusable_name_is_held_back():
    spec = replace(SPEC, display_name="李")
    e = enc(spec=spec)
    pf, _ = check([e], users=(spec,))
    assert any(p.check == "name" and p.table == "users" for p in pf.problems) and not pf.lines


# -- 4. 837P content -------------------------------------------------------------------------


def test_patient_address_from_structured_fields_else_the_parsed_text():
    female = AdministrativeSex.FEMALE
    p = replace(PERSON, address_line1="12 Elm St", address_line2="Apt 3", city="Minot",
                state="ND", zip_code="58701-1234", administrative_sex=female)  # fmt: skip
    pf, data = check([enc(person=p)], people=(p,))
    body, _ = render(pf, data)
    assert "N3*12 ELM ST*APT 3~" in body and "N4*MINOT*ND*587011234~" in body
    assert "DMG*D8*19800304*F~" in body
    free = replace(PERSON, address="45 Birch Ave, Bismarck, ND 58501")
    pf, data = check([enc(person=free)], people=(free,))
    body, _ = render(pf, data)
    assert "N3*45 BIRCH AVE~" in body and "N4*BISMARCK*ND*58501~" in body
    assert "DMG*D8*19800304*U~" in body  # no sex recorded: U
    pf, data = check([enc()])
    assert not segments(render(pf, data)[0].split("NM1*IL")[1], "N3")  # no address: no N3


def test_specialist_names_and_taxonomy():
    assert split_display_name("Jane Smith, CPSS") == ("Smith", "Jane")
    assert split_display_name("Maria de la Cruz") == ("de la Cruz", "Maria")
    assert split_display_name("Ana Ruiz -") == ("Ruiz", "Ana")  # a stray dash is no name
    assert split_display_name("Ludwig van der Berg, CPSS II") == ("van der Berg", "Ludwig")
    assert split_display_name("Tove Lindgard") == ("Lindgard", "Tove")
    maria = replace(SPEC2, display_name="Maria de la Cruz, CPSS")
    own = User(id=SPEC.id, username="t", display_name="T. L., CPSS",
                              npi=SPECIALIST_NPI, first_name="Tove", last_name="Lind Gard",
                              taxonomy="175T00000X")  # fmt: skip
    other = replace(
        PERSON, id="o", first_name="Ysolt", last_name="Dunmore", medicaid_id="770000003"
    )
    encs = [enc(spec=SPEC2), enc(person=other, spec=own)]
    agency = replace(AGENCY, taxonomy="251S00000X")
    for users, want in (((SPEC2,), "NM1*82*1*SMITH*JANE****XX*"),
                        ((maria,), "NM1*82*1*DE LA CRUZ*MARIA****XX*")):  # fmt: skip
        pf, data = check(encs[:1], users=users)
        body, _ = render(pf, data, provider=agency)
        assert want + SUPERVISOR_NPI in body and "CPSS" not in body
        assert "PRV*PE*PXC*251S00000X~" in body  # no taxonomy of their own: the agency's
    pf, data = check(encs[1:], people=(other,), users=(own,))
    body, _ = render(pf, data, provider=agency)
    assert "NM1*82*1*LIND GARD*TOVE****XX*" + SPECIALIST_NPI in body
    assert "PRV*PE*PXC*175T00000X~" in body and "PRV*BI*PXC*251S00000X~" in body


@pytest.mark.parametrize("frequency", ["7", "8"])
def test_replacement_and_void_claims_carry_ref_f8(frequency):
    pf, data = check([enc(), enc((13, 0))])
    refs = {}

    def resubmit(claims):
        refs.update({c.claim_id: f"ICN{i:08d}" for i, c in enumerate(claims)})
        return resubmitted(claims, frequency, refs)

    body, claims = render(pf, data, transform=resubmit)
    (clm,) = segments(body, "CLM")
    assert clm.split("*")[5] == f"11:B:{frequency}"
    assert segments(body, "REF*F8") == ["REF*F8*ICN00000000"]
    order = [s.split("*")[0] + s.split("*")[1] for s in body.split("~\n") if s[:3] in ("CLM",
             "REF", "HI*")]  # fmt: skip
    assert order.index("REFF8") < next(i for i, s in enumerate(order) if s.startswith("HI"))
    with pytest.raises(ValueError, match="original claim reference"):
        resubmitted(claims, frequency, {})
    with pytest.raises(ValueError):
        resubmitted(claims, "1", refs)
    broken = replace(claims[0], original_reference="")
    assert any("REF*F8" in m for m in claim_problems(broken, AGENCY.npi, SPECIALIST_NPI))
    ix = Interchange(43, datetime(2026, 11, 20, tzinfo=UTC), "b", AGENCY, PAYER, [broken],
                     data.participants, data.users)  # fmt: skip
    with pytest.raises(ClaimRejected):
        render_837p(ix)


def test_envelope_dates_are_the_agencys_local_time():
    pf, data = check([enc()])
    late = datetime(2026, 11, 21, 1, 30, tzinfo=UTC)  # 7:30 pm in Chicago on Nov 20
    body, _ = render(pf, data, created=late)
    isa = body.split("~")[0].split("*")
    assert (isa[9], isa[10]) == ("261120", "1930")
    gs = segments(body, "GS")[0].split("*")
    bht = segments(body, "BHT")[0].split("*")
    assert gs[4] == bht[4] == "20261120" and gs[5] == bht[5] == "1930"


# -- 5. files a clerk trusts -------------------------------------------------------------------


def _files(tmp_path, replaces=None):
    good = enc()
    unsigned = enc((13, 0)).replace(status=NoteStatus.SIGNED)
    future = enc((15, 0), service_date=date(2026, 10, 30))
    pf, data = check([good, unsigned, future], today=date(2026, 10, 20))
    _body, claims = render(pf, data)
    held = held_back_services(pf, data, PAYER.id)
    pdf = tmp_path / ("rebill.pdf" if replaces else "summary.pdf")
    ix = Interchange(42, datetime(2026, 11, 21, 1, 30, tzinfo=UTC), "batch-42", AGENCY, PAYER,
                     claims, data.participants, data.users)  # fmt: skip
    with pdf.open("wb") as fh:
        write_summary(fh, ix, period=(date(2026, 10, 1), date(2026, 10, 31)),
                      created_by="Billing Desk", files=["a.x12"], held_back=held,
                      replaces=replaces)  # fmt: skip
    return pdf, held, ix, data


def test_pdf_lists_held_back_services_and_the_payer_and_receiver_ids(tmp_path):
    pdf, held, _claims, _data = _files(tmp_path)
    assert len(held) == 2
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(str(pdf)).pages).split())
    assert "Services held back (2)" in text
    assert "signed but not approved" in text and "in the future" in text
    assert "payer id NDMCD" in text and "receiver id NDMMIS" in text
    assert "2026-11-20 19:30 CST" in text  # the agency's time zone
    assert "have not been billed before" in text and "RE-BILL" not in text


def test_a_rebill_names_the_voided_batch_and_does_not_certify_first_billing(tmp_path):
    gone = Replaces("batch-7", 7, date(2026, 11, 19), "wrong rate")
    pdf, _held, _c, _d = _files(tmp_path, gone)
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(str(pdf)).pages).split())
    assert "RE-BILL: replaces voided batch batch-7 (interchange control 000000007" in text
    assert "have not been billed before" not in text
    assert "billed before in batch batch-7" in text


def test_worksheet_keeps_ids_as_text_in_csv_and_xlsx(tmp_path):
    _pdf, _held, ix, _data = _files(tmp_path)
    sheet_rows = list(worksheet_rows(ix))
    buf = io.StringIO()
    write_worksheet(buf, sheet_rows)
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert rows[0]["interchange_control"] == '="000000042"'
    assert rows[0]["claim_id"] == '="00000004200001"'
    assert plain_id(rows[0]["claim_id"]) == ix.claims[0].claim_id
    assert plain_id(rows[0]["medicaid_id"]) == PERSON.medicaid_id
    out = io.BytesIO()
    write_worksheet_xlsx(out, sheet_rows)
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as z:
        shared = z.read("xl/sharedStrings.xml").decode()
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<t>00000004200001</t>" in shared and "<t>000000042</t>" in shared
    # the id cells are strings (t="s"), the units a number
    cells = dict(re.findall(r'<c r="([A-Z]+[0-9]+)"([^>]*)>', sheet))
    for ref in ("B2", "D2", "I2", "K2"):  # control, claim id, Medicaid ID, NPI
        assert 't="s"' in cells[ref], ref
    assert 't="s"' not in cells["P2"]  # units: a number


def test_a_day_total_day_is_billed_whole_or_not_at_all():
    a, b = enc((9, 0), 10), enc((14, 0), 10).replace(status=NoteStatus.SIGNED)
    pf, _ = check([a, b], codes=day_total_tables())
    assert "day-total" in checks_of(pf, a.id) and "not-approved" in checks_of(pf, b.id)
    assert not pf.lines  # neither: billing a alone now and b later would earn 2 units


def test_void_file_repeats_the_original_claims_with_frequency_8():
    encs = [enc(), enc((13, 0)), enc((9, 0), service_date=date(2026, 10, 6))]
    pf, data = check(encs)
    first, claims = render(pf, data)
    billed = [e.replace(status=NoteStatus.BILLED) for e in encs]
    again = original_claims(data, billed, PAYER, 42)
    assert [(c.claim_id, c.charge_cents, len(c.lines)) for c in again] == [
        (c.claim_id, c.charge_cents, len(c.lines)) for c in claims
    ]
    void = resubmitted(again, "8", {c.claim_id: c.claim_id for c in again})
    ix = Interchange(43, datetime(2026, 11, 21, tzinfo=UTC), "void-42", AGENCY, PAYER, void,
                     data.participants, data.users)  # fmt: skip
    body = render_837p(ix)
    assert pyx12_errors(body) == []
    assert [s.split("*")[5] for s in segments(body, "CLM")] == ["11:B:8", "11:B:8"]
    assert segments(body, "REF*F8") == [f"REF*F8*{c.claim_id}" for c in claims]
    assert read_837(body)["cents"] == read_837(first)["cents"]


# -- generated: whatever the mix, what passes the pre-flight is a file pyx12 accepts ----------

_letters = list("abcdefghijklmnopqrstuvwxyzéøñÅ'- ") + list("жщыюяДЖΩβλ") + ["王", "ש"]
_name = st.text(alphabet=st.sampled_from(_letters), min_size=1, max_size=10)
_kinds = st.tuples(
    st.sampled_from([V, A, P]),
    st.sampled_from(["02", "10", "11", "12", "99"]),
    st.sampled_from([(), ("95",), ("93",), ("GT",), ("HQ",)]),
)


@st.composite
def mixed_caseloads(draw):
    basis = draw(st.sampled_from(["per_service", "day_total"]))
    t = code_tables()
    codes = replace(t, payer_rules={**t.payer_rules, "NDMCD": {"unit_basis": basis}})
    rule = draw(st.sampled_from(list(RoundingRuleName)))
    payer = replace(PAYER, rounding_rule=rule)
    people = [
        replace(PERSON, id=f"p{i}", first_name=draw(_name), last_name=draw(_name),
                medicaid_id=f"77000000{i}", payer_id=payer.id)
        for i in range(draw(st.integers(1, 3)))
    ]  # fmt: skip
    specs = [SPEC, replace(SPEC2, display_name=draw(_name) + " " + draw(_name))]
    encs = []
    for _k in range(draw(st.integers(1, 14))):
        modality, pos, mods = draw(_kinds)
        start = draw(st.integers(8 * 60, 16 * 60))
        minutes = draw(st.integers(3, 40))
        who = draw(st.sampled_from(people)), draw(st.sampled_from(specs))
        day = date(2026, 10, 1 + draw(st.integers(0, 2)))
        how = dict(modality=modality, place_of_service=pos, modifiers=mods)
        encs.append(approved_service(*who, payer, day, start, minutes, **how))
    return codes, payer, people, specs, encs


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixed_caseloads())
def test_generated_mixes_pass_pyx12_or_are_held_back(case):
    codes, payer, people, specs, encs = case
    pf, data = check(encs, people=people, users=specs, payers=(payer,), codes=codes)
    billed = {ln.encounter_id for ln in pf.lines}
    assert billed.isdisjoint(pf.blocked_ids) and billed | pf.blocked_ids == {e.id for e in encs}
    if not pf.lines:
        return
    body, claims = render(pf, data, payer=payer)
    assert {s.encounter_id for c in claims for cl in c.lines for s in cl.services} == billed
    assert read_837(body)["units"] == sum(ln.units for ln in pf.lines)
    assert all(cl.units >= 1 for c in claims for cl in c.lines)


def test_duplicate_modifiers_an_implausible_birth_date_and_a_bad_structured_zip():
    e = enc(modality=V, place_of_service="10", modifiers=("95", "95"))
    assert "modifier" in checks_of(check([e])[0], e.id)
    e = enc()
    pf, _ = check([e], people=(replace(PERSON, date_of_birth=date(1890, 1, 1)),))
    assert "birth-date" in checks_of(pf, e.id) and not pf.lines
    p = Participant(id=PERSON.id, first_name="A", last_name="Bee", medicaid_id="770000001",
                          date_of_birth=date(1980, 1, 1), diagnoses=("F33.1",),
                          address_line1="1 Main St", city="Minot", zip_code="5870")  # fmt: skip
    pf, _ = check([e], people=(p,))
    assert "address" in checks_of(pf, e.id)
    pf, _ = check([e], people=(replace(p, zip_code="58701"),))
    assert pf.problems == []


def test_payer_record_rule_fields_override_the_data():
    payer = replace(PAYER, unit_basis=UnitBasis.DAY_TOTAL)
    a, b = enc((9, 0), 10), enc((14, 0), 10)
    pf, data = check([a, b], payers=(payer,))
    assert pf.problems == [] and sum(ln.units for ln in pf.lines) == 1
    render(pf, data, payer=payer)
    only_10 = replace(payer, unit_basis=UnitBasis.CODE_TABLES, telehealth_places=("10",))
    e = enc(modality=V, place_of_service="02", modifiers=("95",))
    assert "telehealth" in checks_of(check([e], payers=(only_10,))[0], e.id)
    assert check([e], payers=(replace(only_10, telehealth_places=()),))[0].problems == []
