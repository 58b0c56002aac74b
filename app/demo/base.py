"""The demo builder's base: its seeded random source, small helpers, the
invented users, payers and billing provider, and the plain shapes the builder
passes around.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import TypeVar

from app.demo.words import AGENCY
from app.demo.words import CENTRAL_TO_UTC
from app.demo.words import FIRST_NAMES
from app.demo.words import LAST_NAMES
from app.demo.words import ND_RECEIVER
from app.demo.words import STREETS
from app.demo.words import TOWNS
from app.demo.words import WORDS
from app.domain.address import one_line
from app.domain.records import AdministrativeSex
from app.domain.records import BillingProvider
from app.domain.records import ClaimGrouping
from app.domain.records import Credential
from app.domain.records import Encounter
from app.domain.records import Goal
from app.domain.records import Participant
from app.domain.records import Payer
from app.domain.records import PeerKind
from app.domain.records import Role
from app.domain.records import RoundingRuleName
from app.domain.records import User
from app.domain.validation import npi_check_digit

T = TypeVar("T")


def claim_names(user: User) -> User:
    """A demo user's first and last name fields from their (invented, two-word)
    display name."""
    first, _, last = user.display_name.partition(" ")
    return user.replace(first_name=first, last_name=last)  # type: ignore[return-value]


def with_address(rec: Participant) -> Participant:
    """An invented address in parts (and on one line) and the sex on the Medicaid
    card, drawn from the record's id so the rest of the demo stays as it was."""
    rng = random.Random(f"address-{rec.id}")
    sex = rng.choice((AdministrativeSex.FEMALE, AdministrativeSex.MALE) * 9
                     + (AdministrativeSex.NOT_RECORDED, AdministrativeSex.UNKNOWN))  # fmt: skip
    if rng.random() < 0.12:
        return rec.replace(administrative_sex=sex)  # type: ignore[return-value]
    city, zip5 = rng.choice(TOWNS.get(rec.state, TOWNS["ND"]))
    line1 = f"{rng.randrange(100, 4999)} {rng.choice(STREETS)} {rng.choice(('Ave', 'St', 'Dr'))}"
    line2 = f"Apt {rng.randrange(1, 40)}" if rng.random() < 0.25 else ""
    zip_code = f"{zip5}-{rng.randrange(10**4):04d}" if rng.random() < 0.5 else zip5
    return rec.replace(  # type: ignore[return-value]
        address_line1=line1, address_line2=line2, city=city, zip_code=zip_code,
        address=one_line(line1, line2, city, rec.state, zip_code), administrative_sex=sex,
    )  # fmt: skip


@dataclass
class _Person:
    rec: Participant
    goals: list[Goal] = field(default_factory=list)
    span: tuple[date, date] | None = None  # first and last day services happen
    billable: bool = True


@dataclass
class _Visit:
    person: _Person
    day: date
    group: bool
    minutes: int
    start: int = 0  # minutes after midnight, set by the day planner


@dataclass
class _NotePlan:
    note: Encounter
    signed_at: datetime | None = None
    returned_at: datetime | None = None
    return_comment: str = ""
    addendum_at: datetime | None = None
    addendum: tuple[str, str] = ("", "")
    addendum_id: str = ""
    approved_at: datetime | None = None
    batch: tuple[str, datetime] | None = None


def _weekdays(first: date, last: date) -> list[date]:
    out, d = [], first
    while d <= last:
        if d.weekday() < 5:
            out.append(d)
        d += timedelta(days=1)
    return out


def _utc(day: date, minute_of_day: int) -> datetime:
    local = datetime.combine(day, time()) + timedelta(minutes=minute_of_day)
    return (local + CENTRAL_TO_UTC).replace(tzinfo=UTC)


def _hhmm(minute_of_day: int) -> time:
    return time(minute_of_day // 60, minute_of_day % 60)


class _BuilderBase:
    def __init__(self, years: int, seed: int, today: date) -> None:
        self.rng = random.Random(seed)
        self.years = years
        self.today = today
        self.first_day = today - timedelta(days=365 * years)
        self.now = _utc(today, 7 * 60)  # the demo is written at 7 am on ``today``
        self.medicaid_ids: set[str] = set()

    # -- small helpers ----------------------------------------------------------

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def pick(self, seq: tuple[T, ...] | list[T]) -> T:
        return seq[self.rng.randrange(len(seq))]

    def npi(self) -> str:
        first_nine = "1" + "".join(str(self.rng.randrange(10)) for _ in range(8))
        return first_nine + npi_check_digit(first_nine)

    def day_between(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randint(0, max(0, (last - first).days)))

    def fill(self, template: str, **slots: str) -> str:
        values = {k: self.pick(v) for k, v in WORDS.items() if "{" + k + "}" in template}
        values.update(slots)
        values["days"] = str(self.rng.choice((3, 5, 9, 14, 21, 30, 45, 60, 90, 120, 200)))
        return template.format(**values)

    # -- users and payers ---------------------------------------------------------

    def supervisor(self) -> User:
        return claim_names(
            User(
                id=self.uid(),
                username="demo-supervisor",
                display_name=f"{self.pick(FIRST_NAMES)} {self.pick(LAST_NAMES)}",
                role=Role.SUPERVISOR,
                credential=Credential.LICENSED,
                peer_kind=PeerKind.RECOVERY,
                npi=self.npi(),
            )
        )

    def owner(self, owner: User, supervisor: User) -> User:
        certified = self.today - timedelta(days=self.rng.randint(200, 600))
        return claim_names(
            owner.replace(  # type: ignore[arg-type]
                display_name=f"{self.pick(FIRST_NAMES)} {self.pick(LAST_NAMES)}",
                role=Role.SPECIALIST,
                credential=Credential.ND_CPSS_II,
                peer_kind=PeerKind.RECOVERY,
                npi=self.npi(),
                supervisor_id=supervisor.id,
                certified_on=certified,
                recertify_by=certified + timedelta(days=730),
                active=True,
            )
        )

    def payers(self) -> dict[str, Payer]:
        cms, whole, any_part = (
            RoundingRuleName.CMS_8_MINUTE,
            RoundingRuleName.WHOLE_UNITS,
            RoundingRuleName.ANY_PART,
        )
        return {
            "1915(i)": Payer(
                id=self.uid(), name="ND Medicaid 1915(i)", payer_id="NDDEMO1915I",
                funding_stream="1915(i)", rounding_rule=cms, max_units_per_day=16,
                rate_cents_per_unit=1650, timely_filing_days=365, **ND_RECEIVER,
                allowed_modifiers=("HQ", "95", "93", "GT"),
            ),
            "SUD Voucher": Payer(
                id=self.uid(), name="ND SUD Voucher", payer_id="NDDEMOSUDV",
                funding_stream="SUD Voucher", rounding_rule=whole,
                rate_cents_per_unit=1500, requires_consent=True, timely_filing_days=180,
                claim_grouping=ClaimGrouping.PER_MONTH, **ND_RECEIVER,
            ),
            "Free Through Recovery": Payer(
                id=self.uid(), name="ND Free Through Recovery", payer_id="NDDEMOFTR",
                funding_stream="Free Through Recovery", rounding_rule=any_part,
                rate_cents_per_unit=1400, timely_filing_days=365, **ND_RECEIVER,
            ),
            "MN Medical Assistance": Payer(
                id=self.uid(), name="MN Medical Assistance", payer_id="MNDEMOMA",
                funding_stream="MN Medical Assistance", rounding_rule=cms,
                rate_cents_per_unit=1502, timely_filing_days=365,
                receiver_id="MNDEMOITS", receiver_name="MN DHS MN-ITS (demo)",
                allowed_modifiers=("HQ", "95", "93"),
            ),
        }  # fmt: skip

    # -- billing settings and history ------------------------------------------------

    def billing_provider(self, seed: int) -> BillingProvider:
        """The invented agency, drawn from its own random stream so the rest of the
        demo is the same as without it."""
        rng = random.Random(f"billing-{seed}")
        first_nine = "1" + "".join(str(rng.randrange(10)) for _ in range(8))
        return BillingProvider(
            id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            name=AGENCY,
            npi=first_nine + npi_check_digit(first_nine),
            tax_id=f"99-{rng.randrange(10**7):07d}",
            address_line1="1200 E Main Ave, Suite 4",
            city="Bismarck",
            state="ND",
            zip_code="58501-4410",
            contact_name="Demo Billing Office",
            contact_phone="701-555-0100",
            submitter_id="DEMOSUB0001",
            submitter_name="Demo Billing Office",
            time_zone="America/Chicago",
        )
