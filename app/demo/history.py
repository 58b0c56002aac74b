"""The demo's billing history and hours: past batches, time for visits, training and supervision."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any

from app.demo.base import _BuilderBase
from app.demo.base import _NotePlan
from app.demo.base import _Person
from app.demo.base import _utc
from app.demo.base import _weekdays  # noqa: F401
from app.demo.words import CE_COURSES
from app.demo.words import CE_PROVIDERS
from app.demo.words import SUPERVISION_ACTIONS
from app.domain.records import BillingBatch
from app.domain.records import Encounter
from app.domain.records import Modality
from app.domain.records import Payer
from app.domain.records import ServiceSetting
from app.domain.records import SupervisionFormat
from app.domain.records import SupervisionSession
from app.domain.records import SupervisionTopic
from app.domain.records import TimeCategory
from app.domain.records import TimeEntry
from app.domain.records import User
from app.domain.supervision import received_entry
from app.domain.units import RoundingRule


class _HistoryMixin(_BuilderBase):
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

    def _entry(
        self, uid: str, owner: User, day: date, category: TimeCategory, minutes: int, **fields: Any
    ) -> TimeEntry:
        """One entry of the specialist's hours."""
        return TimeEntry(
            id=uid, specialist_id=owner.id, entry_date=day, category=category, minutes=minutes,
            **fields,
        )  # fmt: skip

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
                self._entry(
                    self.uid(),
                    owner,
                    e.service_date,
                    TimeCategory.DIRECT,
                    e.minutes,
                    encounter_id=e.id,
                )
            )
            if e.modality is Modality.IN_PERSON and e.place_of_service in ("12", "99", "53"):
                miles = round(rng.choice((rng.uniform(1.5, 12), rng.uniform(12, 85))), 1)
                out.append(
                    self._entry(
                        self.uid(),
                        owner,
                        e.service_date,
                        TimeCategory.TRAVEL,
                        int(8 + miles * 1.3) * 2,
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
                self._entry(
                    self.uid(),
                    owner,
                    day,
                    TimeCategory.DOCUMENTATION,
                    sum(mins),
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
                    self._entry(
                        self.uid(),
                        owner,
                        day,
                        TimeCategory.TRAINING,
                        rng.choice((60, 90, 120, 180, 360, 420)),
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
            entries.append(received_entry(s, owner.id, None, self.uid()))
            day = nxt
        return sessions, entries
