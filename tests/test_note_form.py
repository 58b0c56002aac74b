"""The note editor's rules without Qt: times, the timer, units in words, modifiers,
code tables, signing problems and what to do with a returned note."""

from __future__ import annotations

import json
from datetime import date
from datetime import datetime
from datetime import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain import lifecycle
from app.domain import note_form
from app.domain.note_form import BUILT_IN_CODES
from app.domain.note_form import CodeFileError
from app.domain.note_form import adjust_modifiers
from app.domain.note_form import elapsed_text
from app.domain.note_form import format_clock_time
from app.domain.note_form import parse_clock_time
from app.domain.note_form import parse_modifiers
from app.domain.note_form import timer_span
from app.domain.records import Encounter
from app.domain.records import Modality
from app.domain.records import NoteStatus
from app.domain.records import RoundingRuleName
from app.domain.records import ServiceSetting
from app.domain.units import RoundingRule
from app.paths import resource_path
from tests.builders import encounter


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9:30", time(9, 30)),
        ("09:30", time(9, 30)),
        ("0930", time(9, 30)),
        ("14:05", time(14, 5)),
        ("2:05 pm", time(14, 5)),
        ("2:05PM", time(14, 5)),
        ("2pm", time(14, 0)),
        ("12:10 am", time(0, 10)),
        ("12:10 p.m.", time(12, 10)),
        (" 7 ", time(7, 0)),
        ("7.45", time(7, 45)),
        ("", None),
        ("   ", None),
    ],
)
def test_times_as_people_type_them(text, expected):
    assert parse_clock_time(text) == expected


@pytest.mark.parametrize("text", ["25:00", "9:75", "13 pm", "0 am", "noon", "9:3", "1:00 xm"])
def test_unreadable_times_say_how_to_write_one(text):
    with pytest.raises(ValueError, match="Enter a time such as"):
        parse_clock_time(text)


@given(st.times())
def test_a_formatted_time_reads_back_to_the_minute(t):
    assert parse_clock_time(format_clock_time(t)) == time(t.hour, t.minute)


def test_format_clock_time():
    assert format_clock_time(time(0, 5)) == "12:05 AM"
    assert format_clock_time(time(12, 0)) == "12:00 PM"
    assert format_clock_time(time(23, 59)) == "11:59 PM"
    assert format_clock_time(None) == ""


def test_timer_span_reads_the_clock_to_the_minute():
    span = timer_span(datetime(2025, 3, 4, 10, 2, 59), datetime(2025, 3, 4, 10, 40, 1))
    assert (span.service_date, span.start, span.end) == (
        date(2025, 3, 4),
        time(10, 2),
        time(10, 40),
    )
    assert not span.cut_at_midnight


def test_timer_span_past_midnight_ends_the_day_and_says_so():
    span = timer_span(datetime(2025, 3, 4, 23, 30), datetime(2025, 3, 5, 0, 20))
    assert (span.start, span.end, span.cut_at_midnight) == (time(23, 30), time(23, 59), True)


def test_timer_span_with_a_clock_turned_back_is_zero_minutes():
    span = timer_span(datetime(2025, 3, 4, 10, 0), datetime(2025, 3, 4, 9, 0))
    assert span.start == span.end == time(10, 0)


def test_elapsed_text():
    assert elapsed_text(0) == "0:00"
    assert elapsed_text(247) == "4:07"
    assert elapsed_text(3725) == "1:02:05"
    assert elapsed_text(-3) == "0:00"


def test_minutes_between():
    assert note_form.minutes_between(time(9, 0), time(9, 38)) == 38
    assert note_form.minutes_between(time(9, 0), time(8, 0)) == 0
    assert note_form.minutes_between(None, time(8, 0)) == 0


def test_units_text_and_rule_names():
    cms = RoundingRule()
    assert note_form.units_text(0, cms) == "No time yet"
    assert note_form.units_text(7, cms) == "7 min = 0 units"
    assert note_form.units_text(8, cms) == "8 min = 1 unit"
    assert note_form.units_text(38, cms) == "38 min = 3 units"
    assert note_form.rule_name(cms) == "8-minute rule, 15-min units"
    capped = RoundingRule(RoundingRuleName.WHOLE_UNITS, 30, 4)
    assert note_form.rule_name(capped) == "whole units only, 30-min units, at most 4 a day"
    assert "at least 8 of its minutes" in note_form.rule_explanation(cms)
    assert "only complete units" in note_form.rule_explanation(capped)
    assert "any started unit" in note_form.rule_explanation(RoundingRule(RoundingRuleName.ANY_PART))


def test_parse_modifiers_and_their_check():
    assert parse_modifiers(" 95, hq;93 95 ") == ("95", "HQ", "93")
    assert parse_modifiers("") == ()
    assert note_form.modifier_problem("95, HQ") is None
    assert "two letters or digits" in note_form.modifier_problem("95, HQX")


def test_adjust_modifiers_follows_modality_and_setting_and_keeps_typed_ones():
    codes = BUILT_IN_CODES
    assert adjust_modifiers((), Modality.VIDEO, ServiceSetting.INDIVIDUAL, codes) == ("95",)
    assert adjust_modifiers(("95",), Modality.AUDIO, ServiceSetting.GROUP, codes) == ("93", "HQ")
    assert adjust_modifiers(
        ("U1", "93", "HQ"), Modality.IN_PERSON, ServiceSetting.INDIVIDUAL, codes
    ) == ("U1",)


def test_the_shipped_code_file_reads():
    codes = note_form.load_note_codes(resource_path("codes"))
    assert "H0038" in [c.code for c in codes.service_codes]
    assert {"02", "10", "11", "12", "99"} <= {c.code for c in codes.places_of_service}
    assert codes.modality(Modality.VIDEO).modifiers == ("95",)
    assert codes.modality(Modality.VIDEO).place_of_service == "10"
    assert codes.place_label("12") == "Home"


def _write(folder: Path, name: str, data: object) -> None:
    (folder / name).write_text(json.dumps(data) if not isinstance(data, str) else data)


def test_the_billing_table_wins_for_codes_and_places(tmp_path):
    _write(
        tmp_path,
        "note_codes.json",
        {
            "service_codes": [{"code": "H0038", "label": "peer"}],
            "places_of_service": [{"code": "11", "label": "Office"}],
            "modalities": [{"value": "in person", "label": "Face to face"}],
        },
    )
    _write(
        tmp_path,
        "billing.json",
        {
            "hcpcs": {"H0038": {"description": "Peer services"}, "H0039": {"description": "X"}},
            "places_of_service": {"12": "Home", "99": "Other"},
            "group_modifiers": ["HQ", "UN"],
        },
    )
    codes = note_form.load_note_codes(tmp_path)
    assert [c.code for c in codes.service_codes] == ["H0038", "H0039"]
    assert [c.code for c in codes.places_of_service] == ["12", "99"]
    assert codes.group_modifiers == ("HQ", "UN")
    assert codes.modality(Modality.IN_PERSON).label == "Face to face"
    assert codes.modality(Modality.AUDIO).modifiers == ("93",)  # built in, not in the file


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "note_codes.json is missing"),
        ({"note_codes.json": "{not json"}, "not valid JSON"),
        ({"note_codes.json": "[]"}, "expected an object"),
        (
            {"note_codes.json": {"service_codes": [], "places_of_service": []}},
            "are empty",
        ),
        (
            {
                "note_codes.json": {
                    "service_codes": [{"code": "H0038"}],
                    "places_of_service": [{"code": "11"}],
                    "modalities": [{"value": "carrier pigeon"}],
                }
            },
            "a modality is not one the app knows",
        ),
        (
            {
                "note_codes.json": {
                    "service_codes": [{"code": "H0038"}],
                    "places_of_service": [{"code": "11"}],
                },
                "billing.json": "{broken",
            },
            "billing.json cannot be read",
        ),
    ],
)
def test_a_bad_code_file_is_named_in_plain_words(tmp_path, files, message):
    for name, data in files.items():
        _write(tmp_path, name, data)
    with pytest.raises(CodeFileError, match=message):
        note_form.load_note_codes(tmp_path)


def _note(**kw) -> Encounter:
    return encounter("p", "g", "u", on=date(2025, 3, 4), at=(time(9, 0), time(9, 30)), **kw)


def test_editor_problems_add_a_future_date_to_the_life_cycle_rules():
    assert note_form.editor_problems(_note(), date(2025, 3, 4)) == []
    problems = note_form.editor_problems(_note(service_date=date(2025, 3, 5)), date(2025, 3, 4))
    assert problems == [("service_date", "the service date is in the future")]
    by = note_form.problems_by_field(
        note_form.editor_problems(_note(plan="", goal_ids=()), date(2025, 3, 4))
    )
    assert set(by) == {"goal_ids", "plan"}


def test_plain_sentence():
    assert note_form.plain_sentence("enter the start") == "Enter the start."
    assert note_form.plain_sentence("Done.") == "Done."
    assert note_form.plain_sentence("") == ""


def test_with_content_copies_only_content():
    stored = _note(status=NoteStatus.SIGNED, review_comment="kept", signed_by_id="u")
    draft = _note(response="new words", status=NoteStatus.DRAFT, review_comment="")
    after = note_form.with_content(stored, draft)
    assert after.response == "new words"
    assert (after.status, after.review_comment, after.signed_by_id) == (
        NoteStatus.SIGNED,
        "kept",
        "u",
    )


def test_with_content_writes_only_the_named_fields():
    stored = _note(response="stored", location_note="from sync")
    draft = _note(response="typed", location_note="")
    after = note_form.with_content(stored, draft, note_form.changed_content(_note(), draft))
    assert (after.response, after.location_note) == ("typed", "from sync")
    with pytest.raises(ValueError, match="only content fields"):
        note_form.with_content(stored, draft, ["status"])


def test_who_may_edit_and_add_addenda():
    draft = _note()
    assert note_form.can_edit(draft, "u") and not note_form.can_edit(draft, "someone")
    signed = _note(status=NoteStatus.SIGNED)
    assert not note_form.can_edit(signed, "u")
    assert note_form.can_add_addendum(signed, "u", False)
    assert not note_form.can_add_addendum(signed, "other", False)
    assert note_form.can_add_addendum(signed, "other", True)
    assert not note_form.can_add_addendum(draft, "u", True)
    assert not note_form.can_add_addendum(_note(status=NoteStatus.BILLED), "u", True)


def test_next_step_for_a_returned_note_follows_the_rules(monkeypatch):
    returned = _note(status=NoteStatus.RETURNED)
    assert "addendum" in note_form.next_step_for_returned(returned, "u")
    assert "Its author" in note_form.next_step_for_returned(returned, "supervisor")
    monkeypatch.setattr(
        lifecycle, "EDITABLE_STATUSES", frozenset({NoteStatus.DRAFT, NoteStatus.RETURNED})
    )
    assert "sign it again" in note_form.next_step_for_returned(returned, "u")
