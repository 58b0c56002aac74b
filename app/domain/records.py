"""The records PeerTrail keeps, as plain immutable dataclasses.

Every record that syncs has a UUID ``id`` and a ``deleted`` tombstone flag: records
are never physically removed by a person's action. Field types are limited to
what the store knows how to keep (str, int, float, bool, date, time, datetime,
enums, and tuples of str/int which are stored as JSON), so a record can be
written and read back without loss.

``FREE_TEXT`` lists the narrative fields whose concurrent edits are kept as a
conflict for a person to resolve instead of going to the conflict log.
``REVIEW_FIELDS`` are written only by supervisors. ``RECORD_TYPES`` is the
registry the store and sync walk. The enumerations are sync/enums.py's (the schema
takes their values from there), imported here under the same names.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from datetime import time
from typing import ClassVar

# The enumerations are the schema's (re-exported: the records' field types).
from sync.enums import AdministrativeSex
from sync.enums import BatchStatus
from sync.enums import ClaimGrouping
from sync.enums import ConsentKind
from sync.enums import ContactMethod  # noqa: F401
from sync.enums import Credential
from sync.enums import GoalStatus
from sync.enums import Modality
from sync.enums import NoteFormat
from sync.enums import NoteStatus
from sync.enums import ParticipantStatus
from sync.enums import PeerKind
from sync.enums import RecoveryDomain
from sync.enums import Role
from sync.enums import RoundingRuleName
from sync.enums import ServiceSetting
from sync.enums import SupervisionFormat
from sync.enums import SupervisionTopic  # noqa: F401
from sync.enums import TimeCategory
from sync.enums import UnitBasis


def minutes_between(start: time | None, end: time | None) -> int:
    """Minutes from start to end on one day; 0 when either is missing or end is earlier."""
    if start is None or end is None:
        return 0
    return max(0, (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute))


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    """Common base: identity and tombstone."""

    TABLE: ClassVar[str] = ""
    FREE_TEXT: ClassVar[frozenset[str]] = frozenset()
    REVIEW_FIELDS: ClassVar[frozenset[str]] = frozenset()

    id: str = field(default_factory=new_id)
    deleted: bool = False

    def replace(self, **changes: object) -> Record:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True, kw_only=True)
class User(Record):
    TABLE: ClassVar[str] = "users"
    username: str
    display_name: str
    role: Role = Role.SPECIALIST
    credential: Credential = Credential.NONE
    peer_kind: PeerKind = PeerKind.RECOVERY
    npi: str = ""
    supervisor_id: str = ""
    certified_on: date | None = None
    recertify_by: date | None = None
    active: bool = True
    first_name: str = ""  # as on the NPI record; "" falls back to the display name
    last_name: str = ""
    taxonomy: str = ""  # the specialist's NUCC taxonomy; "" uses the agency's


@dataclass(frozen=True, slots=True, kw_only=True)
class Payer(Record):
    TABLE: ClassVar[str] = "payers"
    name: str
    payer_id: str = ""
    funding_stream: str = ""
    rounding_rule: RoundingRuleName = RoundingRuleName.CMS_8_MINUTE
    unit_minutes: int = 15
    max_units_per_day: int = 0  # 0: no daily cap
    rate_cents_per_unit: int = 0
    requires_consent: bool = False
    timely_filing_days: int = 365
    receiver_id: str = ""  # ISA08 / 1000B: the state's (or clearinghouse's) id for the file
    receiver_name: str = ""  # 1000B NM103
    allowed_modifiers: tuple[str, ...] = ()  # empty: any modifier in the code table
    claim_grouping: ClaimGrouping = ClaimGrouping.PER_DAY
    claim_filing_code: str = "MC"  # SBR09: MC = Medicaid
    usage_indicator: str = "T"  # ISA15: T while the payer tests the files, then P
    unit_basis: UnitBasis = UnitBasis.CODE_TABLES
    telehealth_places: tuple[str, ...] = ()  # places of service for telehealth; () default
    video_modifiers: tuple[str, ...] = ()  # audio-and-video telehealth (95, GT); () default
    audio_modifiers: tuple[str, ...] = ()  # audio-only telehealth (93); () default


@dataclass(frozen=True, slots=True, kw_only=True)
class Participant(Record):
    TABLE: ClassVar[str] = "participants"
    first_name: str
    last_name: str
    preferred_name: str = ""
    pronouns: str = ""
    date_of_birth: date | None = None
    medicaid_id: str = ""
    program: str = ""  # funding stream / program, e.g. "1915(i)", "SUD Voucher"
    payer_id: str = ""  # Payer.id that services are billed to
    county: str = ""
    state: str = "ND"
    diagnoses: tuple[str, ...] = ()  # ICD-10-CM codes, primary first
    assigned_specialist_id: str = ""
    status: ParticipantStatus = ParticipantStatus.ACTIVE
    referral_source: str = ""
    intake_date: date | None = None
    discharge_date: date | None = None
    discharge_reason: str = ""
    tribal_affiliation: str = ""  # optional, self-reported
    phone: str = ""
    email: str = ""
    address: str = ""
    contact_methods: tuple[str, ...] = ()  # ContactMethod values, preferred first
    contact_best_times: str = ""
    ok_to_leave_message: bool = False
    emergency_contact: str = ""
    recovery_plan_completed_on: date | None = None
    address_line1: str = ""  # the postal address in parts; ``state`` is its state
    address_line2: str = ""
    city: str = ""
    zip_code: str = ""  # 5 or 9 digits (ZIP+4)
    administrative_sex: AdministrativeSex = AdministrativeSex.NOT_RECORDED
    merged_into: str = ""  # a merged record: the Participant.id it was merged into
    distinct_from: tuple[str, ...] = ()  # ids marked "not the same person"

    @property
    def merged(self) -> bool:
        return bool(self.merged_into)

    @property
    def display_name(self) -> str:
        first = self.preferred_name or self.first_name
        return f"{first} {self.last_name}".strip()


@dataclass(frozen=True, slots=True, kw_only=True)
class Consent(Record):
    """A consent to disclose; 42 CFR Part 2 §2.31 fields when kind is Part 2."""

    TABLE: ClassVar[str] = "consents"
    participant_id: str
    kind: ConsentKind = ConsentKind.PART2
    disclosing_party: str = ""  # who may disclose
    recipient: str = ""
    purpose: str = ""
    information_scope: str = ""  # what information, how much
    signed_on: date | None = None
    expires_on: date | None = None
    expiry_event: str = ""  # an event instead of or besides a date
    revoked_on: date | None = None
    revocation_note: str = ""

    def in_force(self, on: date) -> bool:
        if self.deleted or self.signed_on is None or self.signed_on > on:
            return False
        if self.revoked_on is not None and self.revoked_on <= on:
            return False
        return self.expires_on is None or on <= self.expires_on


@dataclass(frozen=True, slots=True, kw_only=True)
class Goal(Record):
    TABLE: ClassVar[str] = "goals"
    FREE_TEXT: ClassVar[frozenset[str]] = frozenset({"statement"})
    participant_id: str
    domain: RecoveryDomain
    statement: str  # in the person's own words
    steps: tuple[str, ...] = ()
    steps_done: tuple[int, ...] = ()  # indexes into steps
    status: GoalStatus = GoalStatus.ACTIVE
    started_on: date | None = None
    target_date: date | None = None
    achieved_on: date | None = None

    @property
    def progress(self) -> float:
        return len(set(self.steps_done)) / len(self.steps) if self.steps else 0.0


BARC10_ITEMS: tuple[str, ...] = (
    "There are more important things to me in life than using substances.",
    "In general I am happy with my life.",
    "I have enough energy to complete the tasks I set myself.",
    "I am proud of the community I live in and feel part of it.",
    "I get lots of support from friends.",
    "I regard my life as challenging and fulfilling without the need for using drugs or alcohol.",
    "My living space has helped to drive my recovery journey.",
    "I take full responsibility for my actions.",
    "I am happy dealing with a range of professional people.",
    "I am making good progress on my recovery journey.",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Barc10(Record):
    """Brief Assessment of Recovery Capital: 10 items scored 1-6, total 10-60."""

    TABLE: ClassVar[str] = "barc10"
    participant_id: str
    assessed_on: date
    scores: tuple[int, ...]
    assessed_by_id: str = ""

    @property
    def total(self) -> int:
        return sum(self.scores)


@dataclass(frozen=True, slots=True, kw_only=True)
class Encounter(Record):
    """One service contact and its note."""

    TABLE: ClassVar[str] = "encounters"
    FREE_TEXT: ClassVar[frozenset[str]] = frozenset(
        {"goal_text", "intervention", "response", "plan", "data", "assessment"}
    )
    REVIEW_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"reviewed_by_id", "reviewed_at", "review_comment", "approved_content_hash"}
    )
    participant_id: str
    specialist_id: str
    service_date: date
    start_time: time | None = None
    end_time: time | None = None
    modality: Modality = Modality.IN_PERSON
    place_of_service: str = "11"  # CMS place-of-service code
    location_note: str = ""
    setting: ServiceSetting = ServiceSetting.INDIVIDUAL
    group_size: int = 0
    service_code: str = "H0038"
    modifiers: tuple[str, ...] = ()
    payer_id: str = ""
    goal_ids: tuple[str, ...] = ()
    note_format: NoteFormat = NoteFormat.GIRP
    goal_text: str = ""  # GIRP: goal
    intervention: str = ""  # GIRP: intervention
    response: str = ""  # GIRP: response
    plan: str = ""  # GIRP and DAP: plan
    data: str = ""  # DAP: data
    assessment: str = ""  # DAP: assessment
    status: NoteStatus = NoteStatus.DRAFT
    signed_by_id: str = ""
    signed_at: datetime | None = None
    content_hash: str = ""  # hash of the signed content
    reviewed_by_id: str = ""
    reviewed_at: datetime | None = None
    review_comment: str = ""
    approved_content_hash: str = ""
    billing_batch_id: str = ""
    billed_at: datetime | None = None
    void_reason: str = ""

    @property
    def minutes(self) -> int:
        return minutes_between(self.start_time, self.end_time)


@dataclass(frozen=True, slots=True, kw_only=True)
class Addendum(Record):
    """An amendment to a signed note, with a reason. Never edited once written."""

    TABLE: ClassVar[str] = "addenda"
    FREE_TEXT: ClassVar[frozenset[str]] = frozenset()
    encounter_id: str
    author_id: str
    written_at: datetime
    reason: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeEntry(Record):
    TABLE: ClassVar[str] = "time_entries"
    specialist_id: str
    entry_date: date
    category: TimeCategory
    minutes: int
    encounter_id: str = ""  # direct service: the encounter it comes from
    supervision_id: str = ""  # supervision received: the session
    miles: float = 0.0  # travel
    travel_from: str = ""
    travel_to: str = ""
    purpose: str = ""
    ce_title: str = ""  # training / continuing education
    ce_provider: str = ""
    ce_evidence: str = ""  # certificate number or file reference
    ce_is_ethics: bool = False
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class SupervisionSession(Record):
    TABLE: ClassVar[str] = "supervision_sessions"
    FREE_TEXT: ClassVar[frozenset[str]] = frozenset({"action_items"})
    supervisor_id: str
    specialist_ids: tuple[str, ...]
    session_date: date
    minutes: int
    format: SupervisionFormat = SupervisionFormat.INDIVIDUAL
    modality: Modality = Modality.IN_PERSON
    topics: tuple[str, ...] = ()
    cases_reviewed: tuple[str, ...] = ()  # participant ids
    action_items: str = ""
    next_date: date | None = None
    supervisor_signed_at: datetime | None = None
    specialist_signed_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Conflict(Record):
    """A value that lost a concurrent edit, kept for a person to look at.

    Written by the server when sync merges two edits that did not see each other;
    ``kind`` "text" (a narrative: the person picks or merges) or "log" (other
    fields: kept in the conflict log). Values are the JSON of the field values."""

    TABLE: ClassVar[str] = "conflicts"
    table_name: str
    target_id: str
    field: str
    participant_id: str = ""
    owner_id: str = ""
    kind: str = "log"
    kept_value: str = ""
    kept_stamp: str = ""
    lost_value: str = ""
    lost_stamp: str = ""
    lost_by_id: str = ""
    detected_at: str = ""
    status: str = "open"  # open / resolved
    resolved_by_id: str = ""
    resolved_at: str = ""
    resolution: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class BillingProvider(Record):
    """The agency that bills (837P loop 2000A/2010AA) and submits (1000A). No personal data."""

    TABLE: ClassVar[str] = "billing_providers"
    name: str
    npi: str = ""  # the agency's (type 2) NPI
    tax_id: str = ""  # employer identification number, 9 digits
    taxonomy: str = "175T00000X"  # NUCC: peer specialist
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    state: str = ""
    zip_code: str = ""  # ZIP+4: 9 digits (a hyphen is allowed)
    contact_name: str = ""
    contact_phone: str = ""
    submitter_id: str = ""  # the trading-partner id the state assigned (ISA06, 1000A)
    time_zone: str = ""  # IANA zone that dates the files; "" is America/Chicago
    submitter_name: str = ""  # 1000A NM103; "" is the agency name


@dataclass(frozen=True, slots=True, kw_only=True)
class BillingBatch(Record):
    """One export to one payer: its files, control numbers and totals. No personal data:
    encounter ids, counts and amounts only."""

    TABLE: ClassVar[str] = "billing_batches"
    payer_id: str
    period_from: date
    period_to: date
    interchange_control: int = 0  # ISA13 / IEA02; GS06 / GE02 and ST02 follow it
    files: tuple[str, ...] = ()  # file names as written
    file_hashes: tuple[str, ...] = ()  # SHA-256 of each file, same order
    encounter_ids: tuple[str, ...] = ()
    claim_count: int = 0
    line_count: int = 0
    unit_count: int = 0
    total_cents: int = 0
    created_by_id: str = ""
    created_at: datetime | None = None
    status: BatchStatus = BatchStatus.EXPORTED
    voided_by_id: str = ""
    voided_at: datetime | None = None
    void_reason: str = ""


RECORD_TYPES: tuple[type[Record], ...] = (
    User,
    Payer,
    Participant,
    Consent,
    Goal,
    Barc10,
    Encounter,
    Addendum,
    TimeEntry,
    SupervisionSession,
    Conflict,
    BillingProvider,
    BillingBatch,
)

BY_TABLE: dict[str, type[Record]] = {cls.TABLE: cls for cls in RECORD_TYPES}


def record_fields(cls: type[Record]) -> tuple[dataclasses.Field, ...]:
    return dataclasses.fields(cls)
