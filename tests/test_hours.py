"""Hours arithmetic (app.domain.hours): weeks, direct service from notes, the chart's
series, progress toward CPSS II and continuing education, and the entry form's checks."""

from __future__ import annotations

from datetime import date
from datetime import time

import pytest

from app.domain import hours
from app.domain.hours import EntryForm
from app.domain.hours import ServiceSpan
from app.domain.records import Credential
from app.domain.records import NoteStatus
from app.domain.records import ServiceSetting
from app.domain.records import TimeCategory
from app.domain.records import TimeEntry
from app.domain.records import User
from app.services.hours import credential_rules

MON = date(2026, 3, 2)  # a Monday
ME = "spec-1"


def span(day: date, start: str, end: str, **kw) -> ServiceSpan:
    return ServiceSpan(
        kw.pop("eid", f"e-{day}-{start}"),
        kw.pop("pid", "p-1"),
        day,
        time.fromisoformat(start),
        time.fromisoformat(end),
        **kw,
    )


def entry(day: date, cat: TimeCategory, minutes: int, **kw) -> TimeEntry:
    return TimeEntry(specialist_id=ME, entry_date=day, category=cat, minutes=minutes, **kw)


def user(**kw) -> User:
    return User(username="wren", display_name="Wren Test", **kw)


# -- weeks -------------------------------------------------------------------------------


def test_week_starts_on_monday():
    assert hours.week_start(date(2026, 3, 8)) == MON  # Sunday belongs to the week before
    assert hours.week_start(MON) == MON
    assert hours.week_start(date(2026, 3, 9)) == date(2026, 3, 9)
    assert hours.week_days(MON)[-1] == date(2026, 3, 8)
    with pytest.raises(ValueError):
        hours.build_week(date(2026, 3, 3), [], [])


def test_direct_service_is_the_union_of_the_days_notes():
    group = [
        span(MON, "10:00", "11:30", eid=f"g{i}", pid=f"p{i}", setting=ServiceSetting.GROUP)
        for i in range(6)
    ]
    spans = [
        *group,  # one 90-minute group written as six notes
        span(MON, "09:00", "09:45"),
        span(MON, "11:00", "12:00", eid="overlap"),  # overlaps the group by 30 minutes
        span(MON, "13:00", "13:30", eid="void", status=NoteStatus.VOID),
        ServiceSpan("no-times", "p-1", MON, None, None),
    ]
    assert hours.direct_minutes_by_day(spans) == {MON: 45 + 120}


def test_week_totals_per_day_per_category_and_week():
    tue, sun = date(2026, 3, 3), date(2026, 3, 8)
    spans = [span(MON, "09:00", "10:00"), span(tue, "13:00", "13:50")]
    entries = [
        entry(MON, TimeCategory.TRAVEL, 40, miles=23.4),
        entry(MON, TimeCategory.DOCUMENTATION, 20),
        entry(tue, TimeCategory.TRAVEL, 30, miles=10.0),
        entry(sun, TimeCategory.TRAINING, 180, ce_title="Ethics"),
        entry(tue, TimeCategory.SUPERVISION, 60),
        entry(tue, TimeCategory.DOCUMENTATION, 99, deleted=True),
        entry(tue, TimeCategory.DIRECT, 50, encounter_id="e-dup"),  # duplicates a note
        entry(date(2026, 3, 9), TimeCategory.OTHER, 30),  # next week
    ]
    sheet = hours.build_week(MON, spans, entries)
    assert sheet.rows[TimeCategory.DIRECT] == (60, 50, 0, 0, 0, 0, 0)
    assert sheet.rows[TimeCategory.TRAVEL] == (40, 30, 0, 0, 0, 0, 0)
    assert sheet.rows[TimeCategory.TRAINING] == (0, 0, 0, 0, 0, 0, 180)
    assert sheet.day_totals == (120, 140, 0, 0, 0, 0, 180)
    assert sheet.total == 440
    assert sheet.category_total(TimeCategory.DOCUMENTATION) == 20
    assert sheet.miles == 33.4
    assert [e.category for e in sheet.entries] == [
        TimeCategory.TRAVEL,
        TimeCategory.DOCUMENTATION,
        TimeCategory.TRAVEL,
        TimeCategory.SUPERVISION,
        TimeCategory.TRAINING,
    ]
    assert len(sheet.services) == 2


def test_direct_entry_without_a_note_counts_as_typed():
    sheet = hours.build_week(MON, [], [entry(MON, TimeCategory.DIRECT, 300, note="carried")])
    assert sheet.rows[TimeCategory.DIRECT][0] == 300


# -- chart -------------------------------------------------------------------------------


def test_weekly_series_has_twelve_weeks_oldest_first_by_category():
    last = date(2026, 5, 20)  # a Wednesday
    spans = [
        span(date(2026, 5, 18), "09:00", "10:00"),
        span(date(2026, 3, 2), "09:00", "09:30"),  # the first week of twelve
        span(date(2026, 2, 27), "09:00", "11:00"),  # before the window
    ]
    entries = [entry(date(2026, 5, 24), TimeCategory.TRAVEL, 25)]
    bars = hours.weekly_series(last, spans, entries)
    assert len(bars) == 12
    assert bars[0].start == date(2026, 3, 2) and bars[-1].start == date(2026, 5, 18)
    assert bars[0].minutes[TimeCategory.DIRECT] == 30
    assert bars[-1].minutes[TimeCategory.DIRECT] == 60
    assert bars[-1].minutes[TimeCategory.TRAVEL] == 25
    assert bars[-1].total == 85
    assert sum(b.total for b in bars[1:-1]) == 0
    assert list(bars[0].minutes) == list(hours.SHEET_CATEGORIES)


# -- CPSS II -----------------------------------------------------------------------------


def test_cpss_ii_progress_for_a_cpss_i():
    rules = credential_rules()
    p = hours.advance_progress(user(credential=Credential.ND_CPSS_I), 600 * 60 + 30, rules)
    assert p.target == "CPSS II" and p.target_minutes == 1500 * 60
    assert p.fraction == pytest.approx((600 * 60 + 30) / 90000)
    assert p.remaining_minutes == 900 * 60 - 30
    assert not p.reached
    over = hours.advance_progress(user(credential=Credential.ND_CPSS_I), 1600 * 60, rules)
    assert over.fraction == 1.0 and over.remaining_minutes == 0


def test_cpss_ii_holder_has_reached_it_and_others_have_no_target():
    rules = credential_rules()
    held = hours.advance_progress(user(credential=Credential.ND_CPSS_II), 120, rules)
    assert held.reached and held.target == "CPSS II" and held.fraction == 1.0
    assert held.done_minutes == 120
    lic = hours.advance_progress(user(credential=Credential.LICENSED), 120, rules)
    assert lic.target == "" and not lic.reached


# -- continuing education ------------------------------------------------------------------


def ce(day: date, minutes: int, ethics: bool = False, evidence: str = "CE-1") -> TimeEntry:
    return entry(
        day,
        TimeCategory.TRAINING,
        minutes,
        ce_title="Course",
        ce_provider="Board",
        ce_evidence=evidence,
        ce_is_ethics=ethics,
    )


def test_ce_counts_training_in_the_period_before_recertification():
    rules = credential_rules()
    me = user(
        credential=Credential.ND_CPSS_I,
        certified_on=date(2025, 1, 15),
        recertify_by=date(2027, 1, 15),
    )
    entries = [
        ce(date(2025, 3, 1), 6 * 60, ethics=True),
        ce(date(2026, 2, 1), 7 * 60),
        ce(date(2026, 6, 1), 3 * 60, evidence=""),
        ce(date(2024, 12, 1), 10 * 60),  # before the period
        ce(date(2026, 7, 1), 60, ethics=True).replace(deleted=True),
        entry(date(2026, 6, 1), TimeCategory.SUPERVISION, 60),
    ]
    p = hours.ce_progress(me, entries, rules, today=date(2026, 11, 21))
    assert (p.period_start, p.period_end) == (date(2025, 1, 15), date(2027, 1, 15))
    assert p.required_minutes == 20 * 60 and p.ethics_required_minutes == 60
    assert p.minutes == 16 * 60 and p.ethics_minutes == 6 * 60
    assert p.courses == 3 and p.without_evidence == 1
    assert p.days_left == 55
    assert not p.met and p.fraction == pytest.approx(0.8)
    more = [*entries, ce(date(2026, 9, 1), 4 * 60)]
    assert hours.ce_progress(me, more, rules, today=date(2026, 11, 21)).met


def test_ce_period_without_recertify_date_rolls_from_certification():
    rule = credential_rules().for_credential(Credential.ND_CPSS_II)
    me = user(credential=Credential.ND_CPSS_II, certified_on=date(2022, 2, 1))
    assert hours.ce_period(me, rule, date(2026, 11, 21)) == (date(2026, 2, 1), date(2028, 2, 1))
    none = user(credential=Credential.ND_CPSS_II)
    start, end = hours.ce_period(none, rule, date(2026, 11, 21))
    assert (start, end) == (date(2024, 11, 21), None)
    leap = user(credential=Credential.ND_CPSS_II, recertify_by=date(2028, 2, 29))
    assert hours.ce_period(leap, rule, date(2026, 11, 21))[0] == date(2026, 2, 28)


def test_ce_ethics_short_is_not_met():
    me = user(credential=Credential.ND_CPSS_I, recertify_by=date(2027, 1, 1))
    p = hours.ce_progress(me, [ce(date(2026, 1, 5), 21 * 60)], credential_rules(), date(2026, 2, 1))
    assert p.fraction == 1.0 and not p.met


def test_rules_file_refuses_unknown_or_bad_settings():
    with pytest.raises(ValueError, match="unknown"):
        hours.rules_from_json({"credentials": {"CPSS I": {"ce_hourz": 3}}})
    with pytest.raises(ValueError, match="ce_hours"):
        hours.rules_from_json({"default": {"ce_hours": -1}})
    rules = hours.rules_from_json({"default": {"ce_hours": 12}, "credentials": {"X": {}}})
    assert rules.for_credential("X").ce_hours == 12
    assert rules.for_credential("unknown").ce_hours == 12


# -- numbers as typed ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("1:30", 90),
        ("0:05", 5),
        ("1.5", 90),
        ("1,25", 75),
        ("2", 120),
        ("45m", 45),
        ("45 min", 45),
        ("1h 30m", 90),
        ("1h30", 90),
        ("1 30", None),
        ("2 hours", 120),
        (" 1 H ", 60),
        ("24:00", 1440),
    ],
)
def test_parse_duration(text, minutes):
    if minutes is None:
        with pytest.raises(ValueError):
            hours.parse_duration(text)
    else:
        assert hours.parse_duration(text) == minutes


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Enter how long"),
        ("soon", "hours and minutes"),
        ("0", "more than zero"),
        ("0:00", "more than zero"),
        ("45", "at most 24 hours"),
        ("1:75", "hours and minutes"),
        ("-1", "hours and minutes"),
    ],
)
def test_parse_duration_messages(text, message):
    with pytest.raises(ValueError, match=message):
        hours.parse_duration(text)


def test_parse_miles():
    assert hours.parse_miles("") == 0.0
    assert hours.parse_miles("12,46") == 12.5
    assert hours.parse_miles("30 mi") == 30.0
    with pytest.raises(ValueError, match="as a number"):
        hours.parse_miles("twelve")
    with pytest.raises(ValueError, match="more than 2,000"):
        hours.parse_miles("2500")


def test_formats():
    assert hours.format_hm(0) == "" and hours.format_hm(65) == "1:05"
    assert hours.format_hours(90061) == "1,501.0"
    assert hours.format_hours(90061, 0) == "1,501"


# -- the entry form ------------------------------------------------------------------------


TODAY = date(2026, 3, 6)


def test_a_travel_entry_needs_purpose_and_places_when_there_are_miles():
    form = EntryForm(TimeCategory.TRAVEL, TODAY, "0:40", miles="23.4")
    fields = [f for f, _ in hours.check_entry(form, TODAY)]
    assert fields == ["travel_from", "travel_to", "purpose"]
    ok = EntryForm(
        TimeCategory.TRAVEL, TODAY, "0:40", "23.4", "Office", "Home visit, Ward County", "Visit"
    )
    assert hours.check_entry(ok, TODAY) == []
    e = hours.entry_from_form(ok, ME)
    assert (e.minutes, e.miles, e.travel_to, e.category) == (
        40,
        23.4,
        "Home visit, Ward County",
        TimeCategory.TRAVEL,
    )


def test_a_training_entry_needs_title_and_provider():
    form = EntryForm(TimeCategory.TRAINING, TODAY, "3h", ce_evidence="CE-9")
    assert [f for f, _ in hours.check_entry(form, TODAY)] == ["ce_title", "ce_provider"]


def test_form_problems_for_dates_duration_category_and_lengths():
    bad = EntryForm(TimeCategory.DIRECT, None, "", note="x" * 1001, purpose="y" * 201)
    fields = [f for f, _ in hours.check_entry(bad, TODAY)]
    assert fields == ["category", "entry_date", "duration", "purpose", "note"]
    ahead = EntryForm(TimeCategory.OTHER, date(2026, 3, 7), "1:00")
    assert hours.check_entry(ahead, TODAY) == [
        ("entry_date", "Hours are logged for work already done; this date is ahead.")
    ]
    old = EntryForm(TimeCategory.OTHER, date(1999, 3, 7), "1:00")
    assert [f for f, _ in hours.check_entry(old, TODAY)] == ["entry_date"]
    miles = EntryForm(TimeCategory.TRAVEL, TODAY, "1:00", miles="far", purpose="Visit")
    assert [f for f, _ in hours.check_entry(miles, TODAY)] == ["miles"]


def test_entry_from_form_clears_fields_of_other_kinds_and_keeps_identity():
    base = entry(TODAY, TimeCategory.TRAVEL, 30, miles=12.0, travel_from="A", travel_to="B")
    form = EntryForm(
        TimeCategory.DOCUMENTATION, TODAY, "0:25", miles="12", travel_from="A", purpose="Notes"
    )
    e = hours.entry_from_form(form, ME, base)
    assert e.id == base.id and e.category is TimeCategory.DOCUMENTATION
    assert (e.miles, e.travel_from, e.minutes, e.purpose) == (0.0, "", 25, "Notes")


def test_day_limit():
    assert hours.day_limit_problem(23 * 60, 60) is None
    msg = hours.day_limit_problem(23 * 60, 61)
    assert msg and "has 23 h logged" in msg and "1 h more" in msg
    spans = [span(TODAY, "09:00", "10:00")]
    typed = [entry(TODAY, TimeCategory.TRAVEL, 30, id="t1"), entry(TODAY, TimeCategory.OTHER, 15)]
    assert hours.day_minutes(TODAY, spans, typed) == 105
    assert hours.day_minutes(TODAY, spans, typed, skip_id="t1") == 75


# -- reading a week from the vault before the user's record is there ----------------


def test_load_hours_uses_the_stand_in_until_the_users_record_arrives(repos):
    from app.services.hours import load_hours
    from app.store.repositories import NotFound

    me = User(id="not-synced-yet", username="marta", display_name="marta")
    repos.time_entries.add(
        TimeEntry(
            specialist_id=me.id,
            entry_date=MON,
            category=TimeCategory.DOCUMENTATION,
            minutes=30,
            purpose="Service notes",
        )
    )
    snap = load_hours(repos, me.id, MON, MON, stand_in=me)
    assert snap.user is me and snap.week.total == 30
    with pytest.raises(NotFound):
        load_hours(repos, me.id, MON, MON)  # no record and nothing to stand in
    stranger = User(id="someone-else", username="x", display_name="x")
    with pytest.raises(NotFound):
        load_hours(repos, me.id, MON, MON, stand_in=stranger)  # only for the same user
    owner = repos.users.get(repos.store.user_id)
    assert owner is not None
    assert load_hours(repos, owner.id, MON, MON, stand_in=me).user == owner  # the record wins
