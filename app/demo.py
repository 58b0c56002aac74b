"""An invented demo caseload: fills an empty vault with realistic, reproducible records.

``fill_demo(store, participants, years, seed, today)`` writes a caseload for the
vault's owner: a supervisor, payers and billing settings (an invented agency with
NPIs that pass the check digit), participants with goals, consents and BARC-10
scores, a few years of service notes at every life-cycle stage, hours, travel,
continuing education and monthly supervision, and the billing batches of the
months already billed (recent approved notes are left to export). Every person
is invented (first and last names from lists, combined at random; phone numbers
in the 555-01xx range kept for fiction; e-mail at example.com). Rates other than
Minnesota's published $15.02 per unit, and all payer ids, are invented too.

The same (participants, years, seed, today) always gives the same records and so
the same :func:`app.store.digest.state_digest` on a vault with the same owner: all
randomness comes from one ``random.Random(seed)``, ids are drawn from it, and all
dates and times are relative to ``today``. Only what the digest leaves out (the
outbox's stamps, the audit log) differs between runs.

All writes go through the repositories in one store transaction, and notes move
through their life cycle with the repositories' sign / return / addendum /
approve / mark-billed methods, so change capture and the audit log see the demo
the way they see a person's work.

With a realistic caseload (up to about 40 people) a day's visits fit in business
hours without overlapping. Larger caseloads are a volume test (300 people is
about 32 visits a working day for one specialist): once a day is full, further
visits start again in the morning and overlap earlier ones.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from app.domain.address import one_line
from app.domain.records import (
    AdministrativeSex,
    Barc10,
    BillingBatch,
    BillingProvider,
    ClaimGrouping,
    Consent,
    ConsentKind,
    ContactMethod,
    Credential,
    Encounter,
    Goal,
    GoalStatus,
    Modality,
    NoteFormat,
    Participant,
    ParticipantStatus,
    Payer,
    PeerKind,
    RecoveryDomain,
    Role,
    RoundingRuleName,
    ServiceSetting,
    SupervisionFormat,
    SupervisionSession,
    SupervisionTopic,
    TimeCategory,
    TimeEntry,
    User,
)
from app.domain.units import RoundingRule
from app.domain.validation import npi_check_digit
from app.store.db import Store
from app.store.digest import counts
from app.store.repositories import Repositories

Progress = Callable[[int, int], None]
T = TypeVar("T")

AGENCY = "Prairie Path Peer Support (demo agency)"
# Invented receiver ids: the real ones come from the state's trading-partner set-up.
ND_RECEIVER = {"receiver_id": "NDDEMOMMIS", "receiver_name": "ND Medicaid MMIS (demo)"}
CENTRAL_TO_UTC = timedelta(hours=6)  # demo times are Central; stamps are UTC (no DST)
DAY_START = 8 * 60
DAY_END = 17 * 60 + 30

# -- invented people ------------------------------------------------------------

# fmt: off
FIRST_NAMES = (
    "Ada", "Aiyana", "Alex", "Amara", "Andre", "Angela", "Bjorn", "Brandon", "Brianna", "Carmen",
    "Cheyenne", "Chloé", "Cody", "Colton", "Dakota", "Dana", "Darnell", "DeShawn", "Destiny",
    "Dominic", "Elsa", "Emil", "Erik", "Faith", "Gabriel", "Gunnar", "Hailey", "Hope", "Ingrid",
    "Isaiah", "Jace", "Jamal", "Janelle", "Jasmine", "Jolene", "José", "Josiah", "Kaylee", "Kari",
    "Keanu", "Kendra", "Lakota", "Lars", "Leah", "Leif", "Lena", "Logan", "Lucía", "Marcus",
    "Mariah", "Maxine", "Mikkel", "Nadia", "Naomi", "Nils", "Noah", "Olivia", "Orrin", "Paige",
    "Quentin", "Raven", "Renée", "Riley", "Rosa", "Sage", "Savannah", "Shawn", "Sierra", "Sven",
    "Tanner", "Tatum", "Terrell", "Thea", "Tomás", "Tyler", "Vanessa", "Wade", "Willow", "Winona",
    "Wyatt", "Yusuf", "Zoë",
)
# fmt: on
# fmt: off
LAST_NAMES = (
    "Aasen", "Baptiste", "Bélanger", "Bergstrom", "Big-Eagle", "Blackhorse", "Brekke", "Brown",
    "Cadotte", "Charbonneau", "Clearwater", "Dahl", "DeMarce", "Dubois", "Eide", "Engstrom",
    "Falcon", "Fjeld", "Gourneau", "Grant", "Gullickson", "Halvorson", "Haugen", "Haugen-Brekke",
    "Hernández", "Hoffmann", "Iron-Hawk", "Jacobsen", "Johnson", "Keplin", "Kjos", "LaFromboise",
    "Langer", "Larsen-Tollefson", "Lefèvre", "Lindqvist", "Lundeen", "MacLeod", "Malnourie",
    "McCloud", "Moen", "Morin", "Müller", "Nelson", "Núñez", "O'Brien", "O'Neil", "Olson", "Østby",
    "Peltier", "Poitra", "Quill", "Red-Tail", "Rivera", "Schmidt", "Skogen", "Sørensen",
    "St. Claire", "Standing-Elk", "Thorson", "Two-Rivers", "Vang", "Wagner", "White-Cloud",
    "Yellow-Bird-Moen", "Zacharias",
)
# fmt: on
PREFERRED = ("", "", "", "", "", "", "Ace", "Bee", "Bud", "Cece", "Jo", "Mo", "Sunny", "Tee")
PRONOUNS = ("", "she/her", "he/him", "she/her", "he/him", "they/them")

# fmt: off
ND_COUNTIES = (
    "Burleigh", "Cass", "Grand Forks", "Ward", "Williams", "Stark", "Morton", "Stutsman",
    "Rolette", "Benson", "Sioux", "Mountrail", "McKenzie", "Ramsey", "Walsh", "Barnes", "Richland",
    "McLean",
)
# fmt: on
# fmt: off
MN_COUNTIES = (
    "Clay", "Polk", "Becker", "Beltrami", "Cass", "Hennepin", "Ramsey", "St. Louis", "Otter Tail",
    "Mahnomen", "Clearwater",
)
# fmt: on
ND_TRIBES = (
    "Standing Rock Sioux Tribe",
    "Turtle Mountain Band of Chippewa Indians",
    "Spirit Lake Nation",
    "MHA Nation",
    "Sisseton-Wahpeton Oyate",
)
MN_TRIBES = ("White Earth Nation", "Red Lake Nation", "Leech Lake Band of Ojibwe")
SUD_DX = ("F11.20", "F10.20", "F12.20", "F15.20", "F14.20", "F11.21", "F10.21")
MH_DX = ("F33.1", "F41.1", "F43.10", "F31.81", "F90.0", "F32.1", "F43.12", "F25.0")
# fmt: off
REFERRAL_SOURCES = (
    "Self", "Hospital emergency department", "Drug court", "Probation", "Tribal health",
    "Human service zone", "Treatment program", "Family member", "Shelter", "Primary care",
)
# fmt: on
BEST_TIMES = ("Mornings", "After 3 pm", "Weekdays before noon", "Evenings, not Sundays", "")
EMERGENCY = ("Sister", "Mother", "Grandmother", "Partner", "Friend", "Uncle", "Sponsor")
DISCHARGE_REASONS = (
    "Completed recovery goals",
    "Moved out of the area",
    "Chose to stop services",
    "No contact for 60 days",
    "Transferred to another program",
)

# -- recovery goals (first person), by domain, each with its steps ----------------

GOALS: dict[RecoveryDomain, tuple[tuple[str, tuple[str, ...]], ...]] = {
    RecoveryDomain.HEALTH: (
        (
            "I want to stay sober one day at a time and not end up back in detox.",
            (
                "Go to two meetings a week",
                "Write down my triggers",
                "Call my sponsor when cravings hit",
                "Keep naloxone at home",
                "Make a relapse prevention plan",
            ),
        ),
        (
            "I want to keep my MAT appointments and take my medication like I'm supposed to.",
            (
                "Put appointments in my phone",
                "Set up a ride for clinic days",
                "Talk to the pharmacy about refills",
                "Bring questions to my prescriber",
            ),
        ),
        (
            "I want to sleep better without needing a drink to do it.",
            (
                "Keep a sleep log for two weeks",
                "Cut coffee after noon",
                "Ask my doctor about sleep",
                "Try the breathing app at night",
            ),
        ),
        (
            "I want to get my anxiety under control so I can leave the house.",
            (
                "Practice grounding skills daily",
                "Go to the grocery store with support",
                "Start seeing a counselor",
                "Go somewhere new once a week",
            ),
        ),
        (
            "I want to take my meds every day and stay out of the hospital.",
            (
                "Get a pill organizer",
                "Set phone reminders",
                "Keep psychiatry appointments",
                "Tell someone when I feel off",
            ),
        ),
        (
            "I want to get my teeth fixed so I can smile again.",
            (
                "Find a dentist that takes Medicaid",
                "Make the appointment",
                "Get a ride to the dentist",
            ),
        ),
        (
            "I want to walk every day and feel stronger.",
            ("Walk ten minutes after lunch", "Join the walking group", "Walk to the grocery store"),
        ),
    ),
    RecoveryDomain.HOME: (
        (
            "I want my own place with my name on the lease.",
            (
                "Fill out the housing application",
                "Get my ID and birth certificate",
                "Save for the deposit",
                "Meet with the housing authority",
                "Look at apartments",
            ),
        ),
        (
            "I want to get out of the shelter before winter.",
            (
                "Get on the waitlist",
                "Apply for rental assistance",
                "Look at rooms for rent",
                "Make a moving plan",
            ),
        ),
        (
            "I want to keep paying rent on time and stay housed.",
            (
                "Make a monthly budget",
                "Set up automatic payments",
                "Talk to my landlord about renewing the lease",
            ),
        ),
        (
            "I want my kids back home with me.",
            (
                "Finish the parenting class",
                "Go to every visit",
                "Meet with the caseworker",
                "Get a bed for each kid",
            ),
        ),
        (
            "I want to fix things with my family so I can go home for the holidays.",
            ("Write my mom a letter", "Call my sister once a week", "Go to a family session"),
        ),
    ),
    RecoveryDomain.PURPOSE: (
        (
            "I want to finish my GED.",
            (
                "Sign up for adult learning classes",
                "Take the practice test",
                "Study math twice a week",
                "Schedule the test",
            ),
        ),
        (
            "I want a steady job where I can use my hands.",
            (
                "Write a resume",
                "Practice interviews",
                "Apply to three jobs a week",
                "Get steel-toe boots",
            ),
        ),
        (
            "I want to get my driver's license back.",
            (
                "Pay off the fines",
                "Call the DOT about reinstatement",
                "Take the written test",
                "Get car insurance",
            ),
        ),
        (
            "I want to go back to school for welding.",
            (
                "Tour the college",
                "Fill out the FAFSA",
                "Talk to an advisor",
                "Register for classes",
            ),
        ),
        (
            "I want to volunteer and give back.",
            ("Find a place to volunteer", "Go to the orientation", "Volunteer once a week"),
        ),
        (
            "I want to become a peer support specialist myself someday.",
            ("Ask about the training", "Count my recovery time", "Get a reference letter"),
        ),
    ),
    RecoveryDomain.COMMUNITY: (
        (
            "I want friends who don't use.",
            ("Go to a sober event", "Join a rec league", "Invite someone for coffee"),
        ),
        (
            "I want to reconnect with my culture and go to ceremony.",
            (
                "Talk with an elder",
                "Go to the Wellbriety circle",
                "Learn beading",
                "Go to the powwow",
            ),
        ),
        (
            "I want to get a sponsor and work the steps.",
            ("Find a home group", "Ask someone to sponsor me", "Start step one"),
        ),
        (
            "I want to feel like I belong at church again.",
            ("Meet with the pastor", "Go to Sunday service", "Stay for coffee hour"),
        ),
        (
            "I want to help coach my son's basketball team.",
            ("Ask the coach", "Pass the background check", "Go to practice"),
        ),
    ),
}

# -- note narrative building blocks -------------------------------------------------

WORDS: dict[str, tuple[str, ...]] = {
    "share_topic": (
        "getting my first apartment",
        "my first year sober",
        "going back to school",
        "rebuilding trust with family",
        "learning to ask for help",
        "dealing with court",
        "relapsing and starting again",
        "finding a sponsor",
    ),
    "roleplay": (
        "a phone call to the landlord",
        "asking for a day off",
        "talking to the caseworker",
        "saying no at a party",
        "a job interview",
        "calling the pharmacy",
        "asking the doctor about side effects",
    ),
    "list_topic": (
        "people to call when things get hard",
        "questions for the doctor",
        "monthly bills",
        "things that help with cravings",
        "documents needed for housing",
        "places that are hiring",
        "warning signs of relapse",
        "strengths",
    ),
    "place_visit": (
        "the county social services office",
        "the clinic",
        "the food pantry",
        "a job fair",
        "the driver's license office",
        "an open AA meeting",
        "the housing authority",
        "the library computer lab",
        "the courthouse",
        "the pharmacy",
    ),
    "resource": (
        "a Medicaid renewal appointment",
        "SNAP benefits",
        "a free phone program",
        "the food pantry",
        "a Wellbriety circle",
        "SMART Recovery online meetings",
        "a sober living house",
        "legal aid",
        "Job Service",
        "a bus pass program",
        "a naloxone kit",
        "Al-Anon for family",
        "a recovery community center",
        "energy assistance (LIHEAP)",
        "a warmline",
    ),
    "skill": (
        "box breathing",
        "grounding with the five senses",
        "urge surfing",
        "the HALT check-in",
        "a gratitude list",
        "journaling",
        "planning the day",
        "a budget worksheet",
        "a calendar on the phone",
    ),
    "stressor": (
        "money",
        "a fight with a partner",
        "court dates",
        "loneliness on weekends",
        "an old friend who still uses",
        "work schedule changes",
        "cold weather and being stuck inside",
        "child custody",
        "grief after a loss",
        "back pain",
        "a housing inspection",
        "a family member's drinking",
    ),
    "mood": (
        "calm",
        "tired but hopeful",
        "anxious",
        "upbeat",
        "frustrated",
        "proud",
        "distracted",
        "relaxed",
        "restless",
        "talkative",
    ),
    "feeling": ("proud", "unsure", "grateful", "nervous", "relieved"),
    "quote": (
        "I didn't think I could do this.",
        "It helps to have someone who gets it.",
        "This week was hard but I didn't pick up.",
        "I called my sponsor like we talked about.",
        "I want to keep going.",
        "I'm tired of starting over.",
        "My daughter noticed I'm different.",
        "I finally feel like I have a plan.",
        "I almost cancelled today, glad I didn't.",
        "One step at a time.",
    ),
    "event": (
        "craving",
        "family visit",
        "job interview",
        "argument",
        "holiday",
        "setback",
        "court hearing",
        "doctor visit",
        "payday weekend",
    ),
    "next_when": (
        "next week",
        "Tuesday",
        "Thursday",
        "in two weeks",
        "Monday afternoon",
        "Friday morning",
        "Wednesday after the clinic appointment",
    ),
    "meet_place": (
        "the office",
        "their home",
        "the library",
        "the coffee shop",
        "a video visit",
        "the community center",
    ),
    "bring": (
        "the lease paperwork",
        "ID and birth certificate",
        "the bill from the clinic",
        "the job application",
        "the budget sheet",
        "questions for the doctor",
        "the court paperwork",
    ),
}

GOAL_LINES = (
    '{domain} goal: "{statement}"',
    'Worked on the {domain} goal "{statement}" (step: {step}).',
    "Recovery plan goal ({domain}): {statement} Focus today: {step_l}.",
    "Session tied to the recovery plan, {domain}: {statement}",
)
INTERVENTIONS = (
    "Used motivational interviewing to explore what is getting in the way of {step_l}.",
    "Shared my own experience with {share_topic} to build hope and connection.",
    "Reviewed the recovery plan together and updated progress on '{step}'.",
    "Role-played {roleplay} so {name} felt ready to do it alone.",
    "Helped {name} make a list of {list_topic}.",
    "Went with {name} to {place_visit} and stayed for support.",
    "Connected {name} with {resource} and helped fill out the forms.",
    "Practiced {skill} for dealing with {stressor}.",
    "Talked through a recent {event} and what helped {name} get through it.",
    "Problem-solved barriers to {step_l}; {name} chose the next small step.",
)
RESPONSES = (
    '{name} was engaged and said, "{quote}"',
    "{name} appeared {mood} and took part in the whole session.",
    "{name} reported {days} days without use and feels {feeling} about it.",
    "{name} named {stressor} as a trigger this week and two ways to cope with it.",
    "{name} was quiet at first, then opened up about {stressor}.",
    "{name} said {skill} helped when {stressor} came up.",
    "{name} declined to talk about {stressor} today; we focused on {list_topic} instead.",
    "{name} seemed {mood}; followed through on last week's plan.",
)
PLANS = (
    "Meet again {next_when} at {meet_place}. {name} will {step_l} before then.",
    "Follow up by phone about {resource}. Next visit {next_when}.",
    "Next session: keep working on '{step}'. {name} will bring {bring}.",
    "{name} will call me or the warmline if cravings get strong; next visit {next_when}.",
    "Continue weekly visits; check progress on the {domain} goal at {meet_place}.",
)
DAP_DATA = (
    "Met with {name} at {meet_place}. {name} appeared {mood} and talked about {stressor}.",
    "{name} reported {days} days without use. Discussed {event} and {list_topic}.",
)
DAP_ASSESSMENT = (
    "{name} is making progress on the {domain} goal ({step_l}) and used {skill} this week.",
    "{name} is motivated but {stressor} is a barrier to {step_l}.",
)
RETURN_COMMENTS = (
    "Please add how this session ties to the recovery plan goal.",
    "The response section is thin; describe what the participant said or did.",
    "Place of service and the location note do not match; please clarify.",
    "Please state who else was present during the visit.",
)
ADDENDUM_TEXTS = (
    ("Clarify tie to recovery plan", "This session worked on the {domain} goal: {step_l}."),
    ("Add participant response", "{name} said the plan felt doable and agreed to the next step."),
    ("Clarify location", "The visit took place at {meet_place}; no one else was present."),
    ("Late entry", "{name} called after the session to say the appointment was confirmed."),
)
LOCATIONS = {
    "11": ("Office", "Office, private room"),
    "12": ("Participant's home",),
    "99": ("Public library", "Coffee shop", "Community center", "Park", "Recovery center"),
    "53": ("Community mental health center",),
}
CE_COURSES = (
    ("Ethics and boundaries for peer supporters", True),
    ("Peer support code of ethics refresher", True),
    ("Motivational interviewing refresher", False),
    ("Naloxone and overdose response", False),
    ("Trauma-informed peer support", False),
    ("Cultural humility and historical trauma", False),
    ("Mental Health First Aid", False),
    ("Suicide prevention: QPR gatekeeper training", False),
    ("Documentation for Medicaid peer services", False),
    ("Supporting families in recovery", False),
)
CE_PROVIDERS = (
    "State peer support training portal",
    "Regional recovery community organization",
    "Tribal health program",
    "University extension (online)",
)
SUPERVISION_ACTIONS = (
    "Review overdue notes before Friday.",
    "Follow up on consent renewals due this month.",
    "Plan a warm hand-off for the participant moving to another county.",
    "Practice the boundaries conversation discussed today.",
    "Take a full day off this month (self-care plan).",
    "Bring two notes to the next session for documentation feedback.",
)


# Invented street names; real towns with their main ZIP code.
STREETS = (
    "Prairie Rose",
    "Juniper",
    "Coteau",
    "Sheyenne",
    "Meadowlark",
    "Butte View",
    "Larkspur",
    "Cottonwood",
    "Badlands",
    "Riverbend",
    "Wheatland",
    "Buffalo Grass",
)
TOWNS = {
    "ND": (("Bismarck", "58501"), ("Fargo", "58102"), ("Minot", "58701"),
           ("Grand Forks", "58201"), ("Williston", "58801"), ("Dickinson", "58601"),
           ("Jamestown", "58401")),
    "MN": (("Moorhead", "56560"), ("Duluth", "55802"), ("Bemidji", "56601"),
           ("St. Cloud", "56301")),
}  # fmt: skip


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


class _DemoBuilder:
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

    # -- participants ---------------------------------------------------------------

    def person(self, owner: User, payers: dict[str, Payer]) -> _Person:
        rng = self.rng
        in_mn = rng.random() < 0.25
        if in_mn:
            program, county, tribes = "MN Medical Assistance", self.pick(MN_COUNTIES), MN_TRIBES
        else:
            program = self.pick(("1915(i)", "1915(i)", "SUD Voucher", "Free Through Recovery"))
            county, tribes = self.pick(ND_COUNTIES), ND_TRIBES
        sud = program in ("SUD Voucher", "Free Through Recovery") or rng.random() < 0.5
        dx: list[str] = []
        if rng.random() > 0.02:
            dx.append(self.pick(SUD_DX if sud else MH_DX))
            if rng.random() < 0.45:
                dx.append(self.pick(MH_DX if sud else SUD_DX))
        medicaid = ""
        if rng.random() > (0.25 if program == "Free Through Recovery" else 0.06):
            while not medicaid or medicaid in self.medicaid_ids:
                medicaid = f"{rng.randrange(10**8, 10**9)}"
            self.medicaid_ids.add(medicaid)
        first, last = self.pick(FIRST_NAMES), self.pick(LAST_NAMES)
        age_days = rng.randint(18 * 366, 75 * 365)
        status, intake, span, discharge, reason = self.timeline()
        area = "218" if in_mn else "701"
        methods = rng.sample(list(ContactMethod), rng.randint(1, 3))
        rec = Participant(
            id=self.uid(),
            first_name=first,
            last_name=last,
            preferred_name=self.pick(PREFERRED),
            pronouns=self.pick(PRONOUNS),
            date_of_birth=self.today - timedelta(days=age_days),
            medicaid_id=medicaid,
            program=program,
            payer_id=payers[program].id,
            county=county,
            state="MN" if in_mn else "ND",
            diagnoses=tuple(dx),
            assigned_specialist_id=owner.id,
            status=status,
            referral_source=self.pick(REFERRAL_SOURCES),
            intake_date=intake,
            discharge_date=discharge,
            discharge_reason=reason,
            tribal_affiliation=self.pick(tribes) if rng.random() < 0.2 else "",
            phone=f"{area}-555-01{rng.randrange(100):02d}" if rng.random() < 0.9 else "",
            email=(
                f"{first.lower()[:1]}{rng.randrange(1000)}@example.com"
                if rng.random() < 0.4
                else ""
            ),
            contact_methods=tuple(m.value for m in methods),
            contact_best_times=self.pick(BEST_TIMES),
            ok_to_leave_message=rng.random() < 0.6,
            emergency_contact=f"{self.pick(EMERGENCY)} ({self.pick(FIRST_NAMES)})"
            if rng.random() < 0.7
            else "",
        )
        p = _Person(rec=with_address(rec), span=span, billable=bool(medicaid and dx))
        p.goals = self.goals_for(p)
        return p

    def timeline(
        self,
    ) -> tuple[ParticipantStatus, date, tuple[date, date] | None, date | None, str]:
        """(status, intake, service span, discharge date, discharge reason)."""
        rng, today, first_day = self.rng, self.today, self.first_day
        if rng.random() < 0.03:
            intake = today - timedelta(days=rng.randint(1, 12))
            return ParticipantStatus.REFERRED, intake, None, None, ""
        window = (today - first_day).days
        if rng.random() < 0.8:
            intake = first_day - timedelta(days=rng.randint(0, 700))
        else:
            intake = first_day + timedelta(days=rng.randint(0, max(0, window - 21)))
        start = max(intake, first_day)
        r = rng.random()
        if r < 0.1:
            discharge = intake + timedelta(days=rng.randint(120, 900))
            if start + timedelta(days=30) < discharge < today - timedelta(days=20):
                reason = self.pick(DISCHARGE_REASONS)
                return ParticipantStatus.DISCHARGED, intake, (start, discharge), discharge, reason
        elif r < 0.16:
            last = today - timedelta(days=rng.randint(25, 150))
            if last > start + timedelta(days=30):
                return ParticipantStatus.ON_HOLD, intake, (start, last), None, ""
        return ParticipantStatus.ACTIVE, intake, (start, today), None, ""

    def goals_for(self, p: _Person) -> list[Goal]:
        rng = self.rng
        intake = p.rec.intake_date or self.today
        last = p.span[1] if p.span else self.today
        n = 1 if p.span is None else rng.randint(1, 4)
        domains = rng.sample(list(RecoveryDomain), n)
        goals = []
        for i, domain in enumerate(domains):
            statement, all_steps = self.pick(GOALS[domain])
            k = min(len(all_steps), rng.randint(2, 5))
            steps = tuple(all_steps[:k])
            started = intake if i == 0 else self.day_between(intake, max(intake, last))
            started = min(started, self.today)
            age = (self.today - started).days
            done_n = min(k, int(k * min(1.0, age / 365) * rng.uniform(0.3, 1.1)))
            status, achieved = GoalStatus.ACTIVE, None
            if done_n == k and age > 60:
                status = GoalStatus.ACHIEVED
                achieved = self.day_between(started + timedelta(days=45), min(last, self.today))
            elif age > 200 and rng.random() < 0.1:
                status = self.pick((GoalStatus.REVISED, GoalStatus.DISCONTINUED))
            goals.append(
                Goal(
                    id=self.uid(),
                    participant_id=p.rec.id,
                    domain=domain,
                    statement=statement,
                    steps=steps,
                    steps_done=tuple(range(done_n)),
                    status=status,
                    started_on=started,
                    target_date=started + timedelta(days=rng.choice((90, 180, 365))),
                    achieved_on=achieved,
                )
            )
        return goals

    def consents(self, p: _Person) -> list[Consent]:
        rng, out = self.rng, []
        intake = p.rec.intake_date or self.today
        sud = any(d.startswith("F1") for d in p.rec.diagnoses) or p.rec.program == "SUD Voucher"
        last = p.span[1] if p.span else self.today
        if sud:
            signed = intake
            recipient = self.pick(
                ("Payer for this program", "Treatment provider", "Probation officer",
                 "Primary care clinic", "Drug court team")
            )  # fmt: skip
            while signed <= last:
                expires = signed + timedelta(days=365)
                revoked = None
                if rng.random() < 0.06:
                    revoked = self.day_between(signed + timedelta(days=10), expires)
                    revoked = revoked if revoked < self.today else None
                out.append(
                    Consent(
                        id=self.uid(),
                        participant_id=p.rec.id,
                        kind=ConsentKind.PART2,
                        disclosing_party=AGENCY,
                        recipient=recipient,
                        purpose="Payment and coordination of recovery services",
                        information_scope="Dates of service, attendance and progress toward "
                        "recovery goals; no session narratives",
                        signed_on=signed,
                        expires_on=expires,
                        expiry_event="or when services end, whichever comes first",
                        revoked_on=revoked,
                        revocation_note="Participant asked to stop sharing with this recipient"
                        if revoked
                        else "",
                    )
                )
                if revoked:
                    break
                signed = expires - timedelta(days=rng.randint(0, 20))
        if rng.random() < 0.4:
            out.append(
                Consent(
                    id=self.uid(),
                    participant_id=p.rec.id,
                    kind=ConsentKind.TELEHEALTH,
                    disclosing_party=AGENCY,
                    recipient="Participant",
                    purpose="Consent to receive peer support by video or phone",
                    signed_on=intake,
                )
            )
        if rng.random() < 0.3:
            out.append(
                Consent(
                    id=self.uid(),
                    participant_id=p.rec.id,
                    kind=ConsentKind.GENERAL,
                    disclosing_party=AGENCY,
                    recipient=self.pick(("Family member", "Housing program", "Employer")),
                    purpose="Coordination of support",
                    information_scope="Appointment times and general progress",
                    signed_on=self.day_between(intake, min(last, self.today)),
                    expires_on=intake + timedelta(days=365),
                )
            )
        return out

    def barc10(self, p: _Person, owner: User) -> list[Barc10]:
        if p.span is None:
            return []
        rng, out = self.rng, []
        base = rng.uniform(2.0, 3.8)
        day, t = p.span[0], 0
        while day <= p.span[1]:
            mean = min(5.6, base + 0.12 * t)
            scores = tuple(max(1, min(6, round(rng.gauss(mean, 0.8)))) for _ in range(10))
            out.append(
                Barc10(
                    id=self.uid(),
                    participant_id=p.rec.id,
                    assessed_on=day,
                    scores=scores,
                    assessed_by_id=p.rec.assigned_specialist_id,
                )
            )
            day += timedelta(days=rng.randint(80, 100))
            t += 1
        return out

    # -- encounters ------------------------------------------------------------------

    def visits(self, people: list[_Person]) -> list[_Visit]:
        rng, out = self.rng, []
        for p in people:
            if p.span is None:
                continue
            days = _weekdays(*p.span)
            if not days:
                continue
            n = round(27 * len(days) / 261 * rng.uniform(0.8, 1.2))
            chosen = sorted(rng.sample(days, min(max(n, 1), len(days))))
            if p.span[0] == p.rec.intake_date and days[0] not in chosen:
                chosen[0] = days[0]  # the first visit is at intake
            for d in chosen:
                group = rng.random() < 0.08
                minutes = (
                    rng.choice((60, 75, 90))
                    if group
                    else rng.choice((20, 25, 30, 30, 40, 45, 45, 50, 60, 60, 75, 90))
                )
                out.append(_Visit(p, d, group, minutes))
        self.plan_days(out)
        out.sort(key=lambda v: (v.day, v.start, v.person.rec.id))
        self.recovery_plans(people, out)
        return out

    def recovery_plans(self, people: list[_Person], visits: list[_Visit]) -> None:
        """The recovery plan is complete by the second session (MN: within three)."""
        days: dict[str, list[date]] = {}
        for v in visits:
            days.setdefault(v.person.rec.id, []).append(v.day)
        for p in people:
            seen = days.get(p.rec.id)
            intake = p.rec.intake_date
            if not seen or intake is None:
                continue
            done = seen[min(1, len(seen) - 1)] if seen[0] <= intake + timedelta(days=7) else None
            p.rec = p.rec.replace(  # type: ignore[assignment]
                recovery_plan_completed_on=done or intake + timedelta(days=14)
            )

    def plan_days(self, visits: list[_Visit]) -> None:
        """Give each visit a start time: a day's visits follow one another with a gap
        for travel; group visits on one day share one session."""
        by_day: dict[date, list[_Visit]] = {}
        for v in visits:
            by_day.setdefault(v.day, []).append(v)
        for day in sorted(by_day):
            todays = by_day[day]
            self.rng.shuffle(todays)
            groups = [v for v in todays if v.group]
            block: tuple[int, int] | None = None
            if groups:
                g_start = self.rng.choice((10 * 60, 13 * 60, 13 * 60 + 30))
                g_len = groups[0].minutes
                block = (g_start, g_start + g_len)
                for v in groups:
                    v.start, v.minutes = g_start, g_len
            cursor, lane = DAY_START + self.rng.choice((0, 15, 30, 45)), 0
            for v in todays:
                if v.group:
                    continue
                if block and cursor < block[1] and cursor + v.minutes > block[0]:
                    cursor = block[1] + 10
                if cursor + v.minutes > DAY_END:  # the day is full: overlap (volume test)
                    lane += 1
                    cursor = DAY_START + (lane * 7) % 60
                v.start = cursor
                cursor += v.minutes + self.rng.choice((10, 15, 20, 30, 45))

    def note(self, v: _Visit, owner: User) -> Encounter:
        rng, p = self.rng, v.person
        live = [g for g in p.goals if g.started_on and g.started_on <= v.day] or p.goals[:1]
        worked = rng.sample(live, min(len(live), rng.choice((1, 1, 1, 2))))
        goal = worked[0]
        step = self.pick(goal.steps) if goal.steps else "the next step"
        name = p.rec.preferred_name or p.rec.first_name
        if rng.random() < 0.3:
            name = "Participant"
        slots = {
            "name": name,
            "domain": goal.domain.value,
            "statement": goal.statement,
            "step": step,
            "step_l": step[:1].lower() + step[1:],
        }
        modifiers: tuple[str, ...] = ()
        setting, group_size = ServiceSetting.INDIVIDUAL, 0
        if v.group:
            modality, setting, modifiers = Modality.IN_PERSON, ServiceSetting.GROUP, ("HQ",)
            group_size = rng.randint(3, 8)
            pos = self.pick(("11", "99"))
            location = "Recovery group room" if pos == "11" else "Community center"
        else:
            r = rng.random()
            if r < 0.16:
                modality = Modality.VIDEO
                modifiers = ("GT",) if rng.random() < 0.2 and p.rec.state == "ND" else ("95",)
                pos = "10" if rng.random() < 0.7 else "02"
                location = "Video visit; participant at home" if pos == "10" else "Video visit"
            elif r < 0.24:
                modality, modifiers = Modality.AUDIO, ("93",)
                pos = "10" if rng.random() < 0.7 else "02"
                location = "Phone visit (audio only)"
            else:
                modality = Modality.IN_PERSON
                pos = self.pick(("11", "11", "12", "12", "99", "99", "99", "53"))
                location = self.pick(LOCATIONS[pos])
        fmt = NoteFormat.DAP if rng.random() < 0.1 else NoteFormat.GIRP
        text: dict[str, str] = {}
        if fmt is NoteFormat.GIRP:
            text["goal_text"] = self.fill(self.pick(GOAL_LINES), **slots)
            text["intervention"] = " ".join(
                self.fill(t, **slots) for t in rng.sample(INTERVENTIONS, rng.randint(1, 2))
            )
            text["response"] = " ".join(
                self.fill(t, **slots) for t in rng.sample(RESPONSES, rng.randint(1, 2))
            )
        else:
            text["data"] = self.fill(self.pick(DAP_DATA), **slots)
            text["assessment"] = self.fill(self.pick(DAP_ASSESSMENT), **slots)
        text["plan"] = self.fill(self.pick(PLANS), **slots)
        enc = Encounter(
            id=self.uid(),
            participant_id=p.rec.id,
            specialist_id=owner.id,
            service_date=v.day,
            start_time=_hhmm(v.start),
            end_time=_hhmm(v.start + v.minutes),
            modality=modality,
            place_of_service=pos,
            location_note=location,
            setting=setting,
            group_size=group_size,
            modifiers=modifiers,
            payer_id=p.rec.payer_id,
            goal_ids=tuple(g.id for g in worked),
            note_format=fmt,
            **text,
        )
        return enc

    def note_plan(
        self, enc: Encounter, p: _Person, batches: dict[tuple[int, int], tuple[str, datetime]]
    ) -> _NotePlan:
        """When the note was signed, reviewed and billed, from its age."""
        rng = self.rng
        plan = _NotePlan(enc)
        age = (self.today - enc.service_date).days
        if age <= 2 or (age <= 6 and rng.random() < 0.05):
            return plan  # still a draft
        end = enc.end_time.hour * 60 + enc.end_time.minute  # type: ignore[union-attr]
        plan.signed_at = _utc(enc.service_date, end + rng.randint(5, 20 * 60))
        slots = {
            "name": p.rec.preferred_name or p.rec.first_name,
            "domain": "recovery plan",
            "step_l": "the next step in the recovery plan",
            "meet_place": enc.location_note.lower() or "the office",
        }
        if age >= 6 and rng.random() < 0.035:
            plan.returned_at = plan.signed_at + timedelta(hours=rng.randint(20, 48))
            plan.return_comment = self.pick(RETURN_COMMENTS)
            if age >= 10 or rng.random() < 0.5:
                plan.addendum_at = plan.returned_at + timedelta(hours=rng.randint(4, 36))
        elif age >= 10 and rng.random() < 0.01:
            plan.addendum_at = plan.signed_at + timedelta(hours=rng.randint(2, 48))
        if plan.addendum_at is not None:
            reason, text = self.pick(ADDENDUM_TEXTS)
            plan.addendum = (reason, text.format(**slots))
            plan.addendum_id = self.uid()
        if age >= 10:
            after = plan.addendum_at or plan.signed_at
            plan.approved_at = after + timedelta(hours=rng.randint(6, 96))
            batch = batches.get((enc.service_date.year, enc.service_date.month))
            if p.billable and batch is not None and batch[1] < self.now:
                # one batch per service month and payer (a batch is one payer's file)
                per_payer = uuid.uuid5(uuid.UUID(batch[0]), enc.payer_id or p.rec.payer_id)
                plan.batch = (str(per_payer), batch[1])
        return plan

    def batches(self) -> dict[tuple[int, int], tuple[str, datetime]]:
        """One billing batch per service month, exported 20-27 days after the month."""
        out = {}
        y, m = self.first_day.year, self.first_day.month
        while (y, m) <= (self.today.year, self.today.month):
            ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
            exported = _utc(date(ny, nm, 1) + timedelta(days=self.rng.randint(19, 26)), 10 * 60)
            out[(y, m)] = (self.uid(), exported)
            y, m = ny, nm
        return out

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

    def history_batches(
        self, plans: list[_NotePlan], payers: dict[str, Payer], by: User
    ) -> list[BillingBatch]:
        """The batch records behind the demo's billed notes, numbered in export order."""
        from app.billing.claims import build_claims
        from app.billing.preflight import ServiceLine

        by_id = {p.id: p for p in payers.values()}
        groups: dict[str, list[Encounter]] = {}
        when: dict[str, datetime] = {}
        for pl in plans:
            if pl.batch is not None:
                groups.setdefault(pl.batch[0], []).append(pl.note)
                when[pl.batch[0]] = pl.batch[1]
        out = []
        for n, bid in enumerate(sorted(groups, key=lambda b: (when[b], b)), 1):
            notes = groups[bid]
            payer = by_id[notes[0].payer_id]
            rule = RoundingRule.for_payer(payer)
            lines = [
                ServiceLine(
                    encounter_id=e.id, participant_id=e.participant_id,
                    specialist_id=e.specialist_id, payer_id=payer.id,
                    service_date=e.service_date, start_minute=0, minutes=e.minutes,
                    units=rule.units(e.minutes), rate_cents=payer.rate_cents_per_unit,
                    procedure=e.service_code, modifiers=e.modifiers,
                    place_of_service=e.place_of_service,
                )
                for e in notes
            ]  # fmt: skip
            claims = build_claims(lines, payer, {e.participant_id: ("X",) for e in notes}, "")
            first = min(e.service_date for e in notes)
            stem = f"837P-{payer.payer_id}-{n:09d}"
            out.append(
                BillingBatch(
                    id=bid,
                    payer_id=payer.id,
                    period_from=first.replace(day=1),
                    period_to=max(e.service_date for e in notes),
                    interchange_control=n,
                    files=(f"{stem}.x12", f"{stem}-worksheet.csv", f"{stem}-summary.pdf"),
                    encounter_ids=tuple(e.id for e in notes),
                    claim_count=len(claims),
                    line_count=len(lines),
                    unit_count=sum(ln.units for ln in lines),
                    total_cents=sum(ln.amount_cents for ln in lines),
                    created_by_id=by.id,
                    created_at=when[bid],
                )
            )
        return out

    # -- hours, training, supervision ------------------------------------------------

    def time_for_visits(self, owner: User, notes: list[Encounter]) -> list[TimeEntry]:
        rng, out = self.rng, []
        doc_minutes: dict[date, list[int]] = {}
        group_logged: set[tuple[date, object]] = set()
        for e in notes:
            if e.setting is ServiceSetting.GROUP:
                key = (e.service_date, e.start_time)
                if key in group_logged:
                    continue  # one group session is one block of the specialist's time
                group_logged.add(key)
            out.append(
                TimeEntry(
                    id=self.uid(),
                    specialist_id=owner.id,
                    entry_date=e.service_date,
                    category=TimeCategory.DIRECT,
                    minutes=e.minutes,
                    encounter_id=e.id,
                )
            )
            if e.modality is Modality.IN_PERSON and e.place_of_service in ("12", "99", "53"):
                miles = round(rng.choice((rng.uniform(1.5, 12), rng.uniform(12, 85))), 1)
                out.append(
                    TimeEntry(
                        id=self.uid(),
                        specialist_id=owner.id,
                        entry_date=e.service_date,
                        category=TimeCategory.TRAVEL,
                        minutes=int(8 + miles * 1.3) * 2,
                        encounter_id=e.id,
                        miles=round(miles * 2, 1),
                        travel_from="Office",
                        travel_to=e.location_note,
                        purpose="Home visit" if e.place_of_service == "12" else "Community visit",
                        note="Round trip",
                    )
                )
            doc_minutes.setdefault(e.service_date, []).append(rng.randint(8, 18))
        for day in sorted(doc_minutes):
            mins = doc_minutes[day]
            out.append(
                TimeEntry(
                    id=self.uid(),
                    specialist_id=owner.id,
                    entry_date=day,
                    category=TimeCategory.DOCUMENTATION,
                    minutes=sum(mins),
                    purpose=f"Service notes ({len(mins)})",
                )
            )
        return out

    def training(self, owner: User) -> list[TimeEntry]:
        rng, out = self.rng, []
        for year in range(self.years):
            start = self.first_day + timedelta(days=365 * year)
            end = min(start + timedelta(days=364), self.today - timedelta(days=1))
            courses = [CE_COURSES[rng.randrange(2)]]  # an ethics course every year
            courses += rng.sample(CE_COURSES[2:], rng.randint(3, 5))
            for title, ethics in courses:
                day = self.day_between(start, end)
                while day.weekday() >= 5:
                    day -= timedelta(days=1)
                out.append(
                    TimeEntry(
                        id=self.uid(),
                        specialist_id=owner.id,
                        entry_date=day,
                        category=TimeCategory.TRAINING,
                        minutes=rng.choice((60, 90, 120, 180, 360, 420)),
                        purpose="Continuing education",
                        ce_title=title,
                        ce_provider=self.pick(CE_PROVIDERS),
                        ce_evidence=f"Certificate CE-{day.year}-{rng.randrange(10000):04d}",
                        ce_is_ethics=ethics,
                    )
                )
        return out

    def supervision(
        self, owner: User, supervisor: User, people: list[_Person]
    ) -> tuple[list[SupervisionSession], list[TimeEntry]]:
        rng, sessions, entries = self.rng, [], []
        day = self.first_day + timedelta(days=rng.randint(3, 20))
        while day < self.today:
            while day.weekday() >= 5:
                day += timedelta(days=1)
            if day >= self.today:
                break
            active = [p.rec.id for p in people if p.span and p.span[0] <= day <= p.span[1]]
            minutes = rng.choice((45, 60, 60, 90))
            start = rng.choice((9 * 60, 11 * 60, 15 * 60))
            nxt = day + timedelta(days=rng.randint(27, 35))
            signed = _utc(day, start + minutes)
            fmt = SupervisionFormat.GROUP if rng.random() < 0.3 else SupervisionFormat.INDIVIDUAL
            modality = Modality.VIDEO if rng.random() < 0.35 else Modality.IN_PERSON
            topics = rng.sample([t.value for t in SupervisionTopic], rng.randint(1, 3))
            cases = rng.sample(active, min(len(active), rng.randint(1, 4)))
            s = SupervisionSession(
                id=self.uid(),
                supervisor_id=supervisor.id,
                specialist_ids=(owner.id,),
                session_date=day,
                minutes=minutes,
                format=fmt,
                modality=modality,
                topics=tuple(topics),
                cases_reviewed=tuple(cases),
                action_items=self.pick(SUPERVISION_ACTIONS),
                next_date=nxt,
                supervisor_signed_at=signed,
                specialist_signed_at=signed + timedelta(minutes=rng.randint(5, 600)),
            )
            sessions.append(s)
            entries.append(
                TimeEntry(
                    id=self.uid(),
                    specialist_id=owner.id,
                    entry_date=day,
                    category=TimeCategory.SUPERVISION,
                    minutes=minutes,
                    supervision_id=s.id,
                    purpose="Supervision received",
                )
            )
            day = nxt
        return sessions, entries


class _Ticker:
    """Counts work done and calls ``progress`` about every 1% (and at the end)."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total, self.done, self.progress = max(total, 1), 0, progress
        self.step = max(1, self.total // 100)
        self.next = self.step

    def tick(self, n: int = 1) -> None:
        self.done += n
        if self.progress is not None and self.done >= self.next:
            self.progress(min(self.done, self.total), self.total)
            self.next = self.done + self.step

    def each(self, items: Iterable[T]) -> Iterator[T]:
        for item in items:
            yield item
            self.tick()

    def start(self) -> None:
        if self.progress is not None:
            self.progress(0, self.total)

    def finish(self) -> None:
        if self.progress is not None:
            self.progress(self.total, self.total)


def fill_demo(
    store: Store,
    participants: int = 40,
    years: int = 2,
    seed: int = 1,
    today: date | None = None,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Fill an empty, opened store with an invented caseload for its owner.

    Returns how many records of each type the vault then holds (by table name). Raises
    ValueError for a vault that already holds participants or for bad sizes."""
    if participants < 1 or years < 1:
        raise ValueError("the demo needs at least one participant and one year")
    repos = Repositories(store)
    if repos.participants.count(include_deleted=True):
        raise ValueError("the demo caseload goes into an empty vault; this one has participants")
    b = _DemoBuilder(years, seed, today or date.today())

    with store.transaction():
        owner_before = repos.users.require(store.user_id)
        supervisor = b.supervisor()
        owner = b.owner(owner_before, supervisor)
        payers = b.payers()
        people = [b.person(owner, payers) for _ in range(participants)]
        goals = [g for p in people for g in p.goals]
        consents = [c for p in people for c in b.consents(p)]
        barc = [a for p in people for a in b.barc10(p, owner)]
        batches = b.batches()
        plans: list[_NotePlan] = []
        for v in b.visits(people):
            plans.append(b.note_plan(b.note(v, owner), v.person, batches))
        notes = [pl.note for pl in plans]
        time_entries = b.time_for_visits(owner, notes) + b.training(owner)
        sessions, supervision_time = b.supervision(owner, supervisor, people)
        time_entries += supervision_time

        moves = sum(
            (pl.signed_at is not None)
            + (pl.returned_at is not None)
            + (pl.addendum_at is not None)
            + (pl.approved_at is not None)
            + (pl.batch is not None)
            for pl in plans
        )
        ticker = _Ticker(
            len(people) + len(goals) + len(consents) + len(barc) + len(notes)
            + len(time_entries) + len(sessions) + moves,
            progress,
        )  # fmt: skip

        ticker.start()
        repos.users.add(supervisor)
        repos.users.update(owner)
        repos.payers.add_many(payers.values())
        repos.billing_providers.add(b.billing_provider(seed))
        repos.participants.add_many(ticker.each(p.rec for p in people))
        repos.goals.add_many(ticker.each(goals))
        repos.consents.add_many(ticker.each(consents))
        repos.barc10.add_many(ticker.each(barc))
        repos.supervision.add_many(ticker.each(sessions))
        repos.encounters.add_many(ticker.each(notes))
        repos.time_entries.add_many(ticker.each(time_entries))

        enc_repo = repos.encounters
        for pl in plans:
            if pl.signed_at is None:
                continue
            note = enc_repo.sign(pl.note.id, owner, at=pl.signed_at)
            if pl.returned_at is not None:
                enc_repo.return_for_revision(
                    note.id, supervisor, pl.return_comment, at=pl.returned_at
                )
            if pl.addendum_at is not None:
                enc_repo.add_addendum(
                    note.id, owner, *pl.addendum, at=pl.addendum_at, addendum_id=pl.addendum_id
                )
            if pl.approved_at is not None:
                enc_repo.approve(note.id, supervisor, note.content_hash, at=pl.approved_at)
            if pl.batch is not None:
                enc_repo.mark_billed(note.id, pl.batch[0], at=pl.batch[1])
            ticker.tick(
                1
                + (pl.returned_at is not None)
                + (pl.addendum_at is not None)
                + (pl.approved_at is not None)
                + (pl.batch is not None)
            )
        repos.billing_batches.add_many(b.history_batches(plans, payers, supervisor))
    ticker.finish()
    return {table: c["records"] for table, c in counts(store).items()}
