"""The demo's invented participants: records, timelines, goals, consents and BARC-10 scores."""

from __future__ import annotations

from datetime import date
from datetime import timedelta
from typing import Any
from typing import TypeVar

from app.demo.base import _BuilderBase
from app.demo.base import _Person
from app.demo.base import _utc  # noqa: F401
from app.demo.base import with_address
from app.demo.words import AGENCY
from app.demo.words import BEST_TIMES
from app.demo.words import DISCHARGE_REASONS
from app.demo.words import EMERGENCY
from app.demo.words import FIRST_NAMES
from app.demo.words import GOALS
from app.demo.words import LAST_NAMES
from app.demo.words import MH_DX
from app.demo.words import MN_COUNTIES
from app.demo.words import MN_TRIBES
from app.demo.words import ND_COUNTIES
from app.demo.words import ND_TRIBES
from app.demo.words import PREFERRED
from app.demo.words import PRONOUNS
from app.demo.words import REFERRAL_SOURCES
from app.demo.words import SUD_DX
from app.domain.records import Barc10
from app.domain.records import Consent
from app.domain.records import ConsentKind
from app.domain.records import ContactMethod
from app.domain.records import Goal
from app.domain.records import GoalStatus
from app.domain.records import Participant
from app.domain.records import ParticipantStatus
from app.domain.records import Payer
from app.domain.records import RecoveryDomain
from app.domain.records import User

R = TypeVar("R")


class _PeopleMixin(_BuilderBase):
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
                self._about(
                    self.uid(),
                    p,
                    Goal,
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

    @staticmethod
    def _about(uid: str, p: _Person, record: type[R], **fields: Any) -> R:
        """A new ``record`` about participant ``p``. The id is drawn by the caller before
        the fields, so the demo draws its random numbers in a fixed order."""
        return record(id=uid, participant_id=p.rec.id, **fields)

    def _consent(self, uid: str, p: _Person, kind: ConsentKind, **fields: Any) -> Consent:
        """A consent by which the agency may disclose what ``fields`` say."""
        return self._about(uid, p, Consent, kind=kind, disclosing_party=AGENCY, **fields)

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
                    self._consent(
                        self.uid(),
                        p,
                        ConsentKind.PART2,
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
                self._consent(
                    self.uid(),
                    p,
                    ConsentKind.TELEHEALTH,
                    recipient="Participant",
                    purpose="Consent to receive peer support by video or phone",
                    signed_on=intake,
                )
            )
        if rng.random() < 0.3:
            out.append(
                self._consent(
                    self.uid(),
                    p,
                    ConsentKind.GENERAL,
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
                self._about(
                    self.uid(),
                    p,
                    Barc10,
                    assessed_on=day,
                    scores=scores,
                    assessed_by_id=p.rec.assigned_specialist_id,
                )
            )
            day += timedelta(days=rng.randint(80, 100))
            t += 1
        return out
