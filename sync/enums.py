"""The enumerations of the record schema, declared once: both ends hold them.

The app's records (app.domain.records) use these classes as field types; the
schema (sync/schema.py) takes each field's allowed values from them, so a value
added here is known to the vault, the server and the docs at once. Pure: no
imports of ours.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    SPECIALIST = "specialist"
    SUPERVISOR = "supervisor"
    BILLING = "billing"
    ADMIN = "admin"


class Credential(StrEnum):
    NONE = ""
    ND_CPSS_I = "CPSS I"
    ND_CPSS_II = "CPSS II"
    MN_CPRS = "CPRS"  # MN certified peer recovery specialist (SUD)
    MN_CPS_I = "CPS Level I"
    MN_CPS_II = "CPS Level II"
    MN_CFPS = "CFPS"  # MN certified family peer specialist
    LICENSED = "Licensed clinician"


class PeerKind(StrEnum):
    RECOVERY = "peer recovery"  # substance use
    MENTAL_HEALTH = "peer support"  # mental health
    FAMILY = "family peer"  # families with children up to 21


class ParticipantStatus(StrEnum):
    REFERRED = "referred"
    ACTIVE = "active"
    ON_HOLD = "on hold"
    DISCHARGED = "discharged"


class ContactMethod(StrEnum):
    PHONE = "phone"
    TEXT = "text"
    EMAIL = "email"
    IN_PERSON = "in person"
    MAIL = "mail"


class ConsentKind(StrEnum):
    PART2 = "42 CFR Part 2"
    GENERAL = "general release"
    TELEHEALTH = "telehealth"


class RecoveryDomain(StrEnum):
    HEALTH = "Health"
    HOME = "Home"
    PURPOSE = "Purpose"
    COMMUNITY = "Community"


class GoalStatus(StrEnum):
    ACTIVE = "active"
    ACHIEVED = "achieved"
    REVISED = "revised"
    DISCONTINUED = "discontinued"


class Modality(StrEnum):
    IN_PERSON = "in person"
    VIDEO = "telehealth video"
    AUDIO = "telehealth audio-only"


class ServiceSetting(StrEnum):
    INDIVIDUAL = "individual"
    GROUP = "group"


class NoteFormat(StrEnum):
    GIRP = "GIRP"
    DAP = "DAP"


class NoteStatus(StrEnum):
    DRAFT = "draft"
    SIGNED = "signed"
    RETURNED = "returned"
    APPROVED = "approved"
    BILLED = "billed"
    VOID = "void"


class TimeCategory(StrEnum):
    DIRECT = "direct service"
    TRAVEL = "travel"
    DOCUMENTATION = "documentation"
    TRAINING = "training"  # training / continuing education, with evidence
    SUPERVISION = "supervision received"
    OTHER = "other"


class SupervisionFormat(StrEnum):
    INDIVIDUAL = "individual"
    GROUP = "group"


class SupervisionTopic(StrEnum):
    CASELOAD = "caseload review"
    ETHICS = "ethics and boundaries"
    DOCUMENTATION = "documentation"
    SELF_CARE = "self-care"
    SKILLS = "skills"


class RoundingRuleName(StrEnum):
    CMS_8_MINUTE = "cms-8-minute"
    WHOLE_UNITS = "whole-units-only"
    ANY_PART = "any-part-of-unit"


class ClaimGrouping(StrEnum):
    """How a payer wants services put on claims (one claim per ...)."""

    PER_DAY = "participant-day"  # per participant per date of service (the common rule)
    PER_MONTH = "participant-month"  # per participant per month (e.g. ND SUD Voucher invoices)


class UnitBasis(StrEnum):
    """How a payer counts units: each service on its own, or the day's total minutes."""

    CODE_TABLES = ""  # the rule in the agency's code tables (resources/codes/billing.json)
    PER_SERVICE = "per_service"
    DAY_TOTAL = "day_total"


class AdministrativeSex(StrEnum):
    """The sex on the person's Medicaid card (837P DMG03), not gender identity."""

    NOT_RECORDED = ""
    FEMALE = "F"
    MALE = "M"
    UNKNOWN = "U"


class BatchStatus(StrEnum):
    EXPORTED = "exported"
    VOID = "void"
