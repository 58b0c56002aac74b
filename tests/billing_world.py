"""A small invented billing world for the billing tests: an agency, a payer, a
supervisor, the vault's owner as specialist, people and approved services."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from decimal import Decimal

from pypdf import PdfReader

from app.billing.codes import code_tables
from app.billing.preflight import BillingData
from app.domain.lifecycle import content_hash
from app.domain.records import BillingProvider
from app.domain.records import Encounter
from app.domain.records import Goal
from app.domain.records import NoteStatus
from app.domain.records import Participant
from app.domain.records import Payer
from app.domain.records import Role
from app.domain.records import User
from app.store.repositories import Repositories
from tests.builders import add_goal
from tests.builders import encounter
from tests.builders import span

AGENCY = BillingProvider(
    name="Juniper Creek Peer Services",
    npi="1558598797",
    tax_id="41-7654321",
    address_line1="45 Larkspur Rd",
    city="Minot",
    state="ND",
    zip_code="58701-2233",
    contact_name="Billing Desk",
    contact_phone="(701) 555-0142",
    submitter_id="JCPS0001",
)
SPECIALIST_NPI = "1245319599"  # passes the check digit
SUPERVISOR_NPI = "1003000126"
TODAY = date(2026, 11, 20)


def nd_payer(**kw) -> Payer:
    """The invented ND Medicaid 1915(i) payer (not stored): $16.50 a unit, 16 units a
    day; ``kw``: other Payer fields."""
    return Payer(
        name="ND Medicaid 1915(i)",
        payer_id="NDTEST1915I",
        receiver_id="NDMMIS",
        receiver_name="ND Medicaid",
        rate_cents_per_unit=1650,
        max_units_per_day=16,
        **kw,
    )


@dataclass
class World:
    repos: Repositories
    payer: Payer
    me: User
    boss: User
    people: list[Participant]
    goals: dict[str, Goal]


def make_world(repos: Repositories, people: int = 3, **payer_kw) -> World:
    repos.billing_providers.add(AGENCY)
    payer = repos.payers.add(nd_payer(**payer_kw))
    boss = repos.users.add(
        User(username="boss", display_name="Marit Oakes", role=Role.SUPERVISOR, npi=SUPERVISOR_NPI)
    )
    me = repos.users.require(repos.store.user_id)
    me = repos.users.update(me.replace(display_name="Tove Lindgard", npi=SPECIALIST_NPI))
    names = [("Brannagh", "O'Sheel"), ("Corvin", "Ashby-Wren"), ("Ysolt", "Dunmore")]
    out, goals = [], {}
    for i in range(people):
        first, last = names[i % len(names)]
        p = repos.participants.add(
            Participant(
                first_name=first,
                last_name=last if i < len(names) else f"{last}{i}",
                date_of_birth=date(1980 + i, 3, 4),
                medicaid_id=f"77{i:07d}",
                payer_id=payer.id,
                diagnoses=("F11.20", "F33.1"),
                assigned_specialist_id=me.id,
            )
        )
        g = add_goal(repos, p, "I keep my home")
        out.append(p)
        goals[p.id] = g
    return World(repos, payer, me, boss, out, goals)


def service(
    w: World,
    person: Participant,
    day: date,
    start: tuple[int, int] = (9, 0),
    minutes: int = 50,
    status: str = "approved",
    **kw,
) -> Encounter:
    """A service note moved to ``status`` (draft, signed, approved) through the life cycle."""
    at = span(start[0] * 60 + start[1], minutes)
    girp = ("Housing", "Went over the lease together", "Engaged", "Call the landlord")
    goal = w.goals[person.id]
    e = encounter(person, goal, w.me, on=day, at=at, girp=girp, payer_id=w.payer.id, **kw)
    r = w.repos.encounters
    r.add(e)
    if status == "draft":
        return e
    signed = r.sign(e.id, w.me, at=datetime(2026, 1, 1))
    if status == "signed":
        return signed
    return r.approve(e.id, w.boss, signed.content_hash)


def approved_service(
    person: Participant, writer: User, payer: Payer, day: date, start: int, minutes: int, **kw
) -> Encounter:
    """An approved service note (not stored; no goal, no text) of ``minutes`` from minute
    ``start`` of ``day``, with its approval hash; ``kw``: other Encounter fields."""
    start_time, end_time = span(start, minutes)
    e = Encounter(
        participant_id=person.id,
        specialist_id=writer.id,
        service_date=day,
        start_time=start_time,
        end_time=end_time,
        payer_id=payer.id,
        status=NoteStatus.APPROVED,
        **kw,
    )
    return e.replace(approved_content_hash=content_hash(e))


def billing_data(payers, people, users, encounters, codes=None) -> BillingData:
    """What the pre-flight reads, for the agency and these records (the code tables
    unless ``codes``)."""
    return BillingData(
        provider=AGENCY,
        payers={p.id: p for p in payers},
        participants={p.id: p for p in people},
        users={u.id: u for u in users},
        consents={},
        encounters=list(encounters),
        codes=codes or code_tables(),
    )


# -- independent readers -------------------------------------------------------------


def read_837(text: str) -> dict:
    """Claim count, lines, units and cents from an 837P, read segment by segment."""
    segs = [s.strip() for s in text.split("~") if s.strip()]
    claims = [s for s in segs if s.startswith("CLM*")]
    lines = [s for s in segs if s.startswith("SV1*")]
    clm_cents = sum(int(Decimal(s.split("*")[2]) * 100) for s in claims)
    line_cents = sum(int(Decimal(s.split("*")[2]) * 100) for s in lines)
    units = sum(int(s.split("*")[4]) for s in lines)
    return {
        "claims": len(claims),
        "lines": len(lines),
        "units": units,
        "cents": clm_cents,
        "line_cents": line_cents,
        "isa13": segs[0].split("*")[13],
        "gs06": next(s for s in segs if s.startswith("GS*")).split("*")[6],
    }


def read_csv(data: bytes) -> dict:
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    body, total = rows[:-1], rows[-1]
    assert total["batch_id"] == "TOTAL"
    cents = sum(int(Decimal(r["amount"]) * 100) for r in body)
    assert cents == int(Decimal(total["amount"]) * 100)
    assert sum(int(r["units"]) for r in body) == int(total["units"])
    assert len(body) == int(total["line"])
    assert len({r["claim_id"] for r in body}) == int(total["claim_id"])
    return {
        "claims": int(total["claim_id"]),
        "lines": len(body),
        "units": int(total["units"]),
        "cents": cents,
        "rows": body,
    }


def read_pdf(path) -> dict:
    reader = PdfReader(str(path))
    text = "\n".join(page.extract_text() for page in reader.pages)
    m = re.search(r"Totals: (\d+) claims, (\d+) service lines, (\d+) units, \$([\d,]+\.\d\d)", text)
    assert m, "no totals line in the PDF"
    return {
        "claims": int(m[1]),
        "lines": int(m[2]),
        "units": int(m[3]),
        "cents": int(Decimal(m[4].replace(",", "")) * 100),
        "text": text,
        "pages": len(reader.pages),
    }
