"""Why a participant needs attention, from facts read out of the store.

Pure: the store gathers one :class:`AttentionFacts` per participant (last contact,
overdue goals, unsigned notes, the consent that runs longest); :func:`reasons`
turns them into the short list a specialist acts on. The rules:

* no contact in 30 days — no encounter (other than a voided one) in the last 30
  days, for a referred or active participant (on hold and discharged people are
  not expected to be seen);
* goals overdue — an active goal whose target date has passed;
* unsigned notes — notes still in draft or returned for revision;
* consent expiring — of the consents on file (signed, not revoked), the one that
  runs longest ends within 30 days, or they have all expired.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from app.domain.datetext import day_text
from app.domain.records import Consent
from app.domain.records import ParticipantStatus

NO_CONTACT_DAYS = 30
CONSENT_WARNING_DAYS = 30


class Reason(StrEnum):
    NO_CONTACT = "no contact"
    GOALS_OVERDUE = "goals overdue"
    UNSIGNED_NOTES = "unsigned notes"
    CONSENT = "consent expiring"


@dataclass(frozen=True, slots=True)
class AttentionFacts:
    status: ParticipantStatus = ParticipantStatus.ACTIVE
    last_contact: date | None = None
    intake_date: date | None = None
    overdue_goals: int = 0
    unsigned_notes: int = 0
    has_consent: bool = False  # any consent signed and not revoked
    consent_open_ended: bool = False  # one of them has no expiry date
    consent_expires: date | None = None  # the latest expiry among them


@dataclass(frozen=True, slots=True)
class Flag:
    reason: Reason
    text: str  # short, for a badge: "No contact 45 days"
    detail: str  # a sentence, for a tooltip

    def __str__(self) -> str:
        return self.text


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def reasons(f: AttentionFacts, today: date) -> tuple[Flag, ...]:
    """The reasons this participant needs attention today, most urgent kind first."""
    out: list[Flag] = []
    expected = f.status in (ParticipantStatus.ACTIVE, ParticipantStatus.REFERRED)
    if expected:
        since = f.last_contact or f.intake_date
        if since is None:
            out.append(Flag(Reason.NO_CONTACT, "Never seen", "No contact recorded yet."))
        elif (today - since).days > NO_CONTACT_DAYS:
            days = (today - since).days
            what = "the last contact" if f.last_contact else "intake, with no contact since"
            out.append(
                Flag(
                    Reason.NO_CONTACT,
                    f"No contact {days} days",
                    f"{_plural(days, 'day')} since {what}.",
                )
            )
    if f.unsigned_notes:
        out.append(
            Flag(
                Reason.UNSIGNED_NOTES,
                _plural(f.unsigned_notes, "unsigned note"),
                f"{_plural(f.unsigned_notes, 'note')} in draft or returned for revision.",
            )
        )
    if f.overdue_goals:
        out.append(
            Flag(
                Reason.GOALS_OVERDUE,
                _plural(f.overdue_goals, "goal") + " overdue",
                f"{_plural(f.overdue_goals, 'active goal')} past the target date.",
            )
        )
    if f.has_consent and not f.consent_open_ended and f.consent_expires is not None:
        left = (f.consent_expires - today).days
        if left < 0:
            out.append(
                Flag(Reason.CONSENT, "Consent expired", "Every consent on file has expired.")
            )
        elif left <= CONSENT_WARNING_DAYS:
            when = "today" if left == 0 else f"in {_plural(left, 'day')}"
            out.append(
                Flag(
                    Reason.CONSENT,
                    f"Consent ends {when}",
                    f"The consent on file that runs longest ends {when}.",
                )
            )
    return tuple(out)


class ConsentState(StrEnum):
    IN_FORCE = "in force"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    REVOKED = "revoked"
    NOT_YET = "not yet signed"


def consent_state(c: Consent, today: date) -> ConsentState:
    if c.revoked_on is not None and c.revoked_on <= today:
        return ConsentState.REVOKED
    if c.signed_on is None or c.signed_on > today:
        return ConsentState.NOT_YET
    if c.expires_on is not None and c.expires_on < today:
        return ConsentState.EXPIRED
    if c.expires_on is not None and (c.expires_on - today).days <= CONSENT_WARNING_DAYS:
        return ConsentState.EXPIRING
    return ConsentState.IN_FORCE


def consent_state_text(c: Consent, today: date) -> str:
    state = consent_state(c, today)
    if state is ConsentState.REVOKED:
        return f"Revoked {day_text(c.revoked_on)}"
    if state is ConsentState.EXPIRED:
        return f"Expired {day_text(c.expires_on)}"
    if state is ConsentState.EXPIRING:
        left = (c.expires_on - today).days  # type: ignore[operator]
        return "Expires today" if left == 0 else f"Expires in {_plural(left, 'day')}"
    if state is ConsentState.NOT_YET:
        return "Not yet signed"
    return "In force"
