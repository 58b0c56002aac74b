"""The demo's service notes: visits planned over working days, each note's
narrative, and where it stands in its life cycle.
"""

from __future__ import annotations

import uuid
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any

from app.demo.base import _BuilderBase
from app.demo.base import _hhmm
from app.demo.base import _NotePlan
from app.demo.base import _Person
from app.demo.base import _utc
from app.demo.base import _Visit
from app.demo.base import _weekdays
from app.demo.words import ADDENDUM_TEXTS
from app.demo.words import DAP_ASSESSMENT
from app.demo.words import DAP_DATA
from app.demo.words import DAY_END
from app.demo.words import DAY_START
from app.demo.words import GOAL_LINES
from app.demo.words import INTERVENTIONS
from app.demo.words import LOCATIONS
from app.demo.words import PLANS
from app.demo.words import RESPONSES
from app.demo.words import RETURN_COMMENTS
from app.domain.records import Encounter
from app.domain.records import Modality
from app.domain.records import NoteFormat
from app.domain.records import ServiceSetting
from app.domain.records import User


class _EncounterMixin(_BuilderBase):
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
        where = self._how_and_where(v)
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
            payer_id=p.rec.payer_id,
            goal_ids=tuple(g.id for g in worked),
            note_format=fmt,
            **where,
            **text,
        )
        return enc

    def _how_and_where(self, v: _Visit) -> dict[str, Any]:
        """The visit's modality, place of service, setting and modifiers (Encounter's
        fields), drawn as a peer support specialist's week goes."""
        rng, p = self.rng, v.person
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
        return {
            "modality": modality,
            "place_of_service": pos,
            "location_note": location,
            "setting": setting,
            "group_size": group_size,
            "modifiers": modifiers,
        }

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
