"""Times on a note without Qt (app/domain/note_times.py) and the signing PIN and
"Sign finished notes" on a real vault (app/services/signing.py)."""

from __future__ import annotations

import json
from datetime import date
from datetime import datetime
from datetime import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain import lifecycle
from app.domain import note_times
from app.domain.records import Encounter
from app.domain.records import NoteStatus
from app.services import notes
from app.services import signing
from app.services.failures import WrongPassphrase
from app.services.signing import PinProblem
from tests.builders import encounter
from tests.conftest import PASSPHRASE
from tests.note_support import person_with_goals

# -- reading times ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "meridiem", "expected"),
    [
        ("3:00", "PM", time(15, 0)),
        ("3:00", "AM", time(3, 0)),
        ("3:00 am", "PM", time(3, 0)),  # the text says, the control follows
        ("12:15", "PM", time(12, 15)),
        ("12:15", "AM", time(0, 15)),
        ("14:05", "AM", time(14, 5)),  # a 24-hour time is what it says
        ("0930", "", time(9, 30)),
        ("2pm", "", time(14, 0)),
        ("", "PM", None),
    ],
)
def test_parse_time_with_the_am_pm_control(text, meridiem, expected):
    assert note_times.parse_time(text, meridiem) == expected


@pytest.mark.parametrize("text", ["25:00", "13 pm", "9:75", "nine", "0 am"])
def test_unreadable_times_are_refused(text):
    with pytest.raises(ValueError):
        note_times.parse_time(text, "PM")


@pytest.mark.parametrize(
    ("text", "after", "expected"),
    [
        ("3:00", None, "PM"),
        ("9:30", None, "AM"),
        ("12:00", None, "PM"),
        ("6:45", None, "PM"),
        ("7:00", None, "AM"),
        ("4:15", time(15, 0), "PM"),
        ("1:15", time(11, 30), "PM"),
        ("11:45", time(11, 30), "AM"),
        ("10:00", time(10, 30), "AM"),  # earlier than the start: marked wrong, not 10 PM
        ("2 pm", None, ""),
        ("14:00", None, ""),
    ],
)
def test_the_am_pm_guess(text, after, expected):
    assert note_times.guess_meridiem(text, after) == expected


@given(st.integers(0, 23), st.integers(0, 59))
def test_a_time_written_out_reads_back_the_same(h, m):
    t = time(h, m)
    for twelve in (True, False):
        text = note_times.time_text(t, twelve)
        assert note_times.parse_time(text, note_times.meridiem_of(t) if twelve else "") == t


def test_questions_before_signing():
    assert note_times.time_questions(time(9), time(10)) == []
    q = note_times.time_questions(time(3), time(3, 40))
    assert q == ["The service (3:00–3:40 AM) is outside your usual hours (7:00 AM–9:00 PM)"]
    q = note_times.time_questions(time(6, 30), time(7, 15))
    assert q == ["6:30 AM is outside your usual hours (7:00 AM–9:00 PM)"]
    q = note_times.time_questions(time(9), time(15, 30))
    assert q == ["The service lasted 6 h 30 min, longer than 4 h"]


def test_a_stale_timer_and_the_summary_line():
    started = datetime(2025, 3, 4, 14, 10)
    assert not note_times.timer_is_stale(started, datetime(2025, 3, 4, 18, 0))
    assert note_times.timer_is_stale(started, datetime(2025, 3, 5, 8, 0))  # overnight
    assert note_times.timer_is_stale(datetime(2025, 3, 4, 1, 0), datetime(2025, 3, 4, 10, 0))
    assert note_times.span_text(time(14, 10), time(15, 5)) == "2:10–3:05 PM"
    assert note_times.span_text(time(11, 40), time(12, 20)) == "11:40 AM–12:20 PM"
    assert note_times.span_text(time(14, 10), None, twelve_hour=False) == "14:10–…"
    today = date(2025, 3, 4)
    assert note_times.when_text(today, today) == "Today"
    line = note_times.summary_line(
        ["Today 2:10–3:05 PM", "In person", "Office", "H0038", "4 units"]
    )
    assert line == "Today 2:10–3:05 PM · In person · Office · H0038 · 4 units"


# -- the signing PIN ---------------------------------------------------------------------------


def _note(p, goal, user, **kw) -> Encounter:
    kw.setdefault("at", (time(9), time(9, 45)))
    kw.setdefault("on", date(2025, 3, 4))
    return encounter(p, goal, user, girp=("Housing", "Listings", "Hopeful", "Call"), **kw)


@pytest.mark.parametrize("pin", ["12", "1234", "0000", "abcd", "1234567890123", "9876"])
def test_weak_or_malformed_pins_are_refused(pin):
    assert signing.pin_problem(pin)


def test_pin_set_with_the_passphrase_and_kept_only_as_scrypt(repos, vault):
    owner = repos.users.require(repos.store.user_id)
    with pytest.raises(WrongPassphrase):
        signing.set_pin(repos, vault, "not the passphrase", owner, "5937")
    assert not signing.pin_state(repos, owner).is_set
    state = signing.set_pin(repos, vault, PASSPHRASE, owner, "5937")
    assert state.usable and state.tries_left == 3
    raw = repos.store.meta(f"signing_pin:{owner.id}")
    rec = json.loads(raw)
    assert rec["kdf"] == "scrypt" and rec["n"] >= 2**14 and "5937" not in raw
    signing.check_pin(repos, owner, "5937")


def test_three_wrong_pins_then_only_the_passphrase(repos, vault):
    owner = repos.users.require(repos.store.user_id)
    p, goals, _payer = person_with_goals(repos)
    signing.set_pin(repos, vault, PASSPHRASE, owner, "5937")
    draft = _note(p, goals[0], owner)
    for left in (2, 1, 0):
        with pytest.raises(PinProblem) as e:
            signing.sign_note(repos, vault, owner, "1357", True, draft)
        assert e.value.tries_left == left
    with pytest.raises(PinProblem):  # the right PIN too, now
        signing.sign_note(repos, vault, owner, "5937", True, draft)
    assert repos.encounters.require(draft.id).status is NoteStatus.DRAFT  # saved, unsigned
    signed = signing.sign_note(repos, vault, owner, PASSPHRASE, False, draft).value
    assert signed.status is NoteStatus.SIGNED
    assert signed.content_hash == lifecycle.content_hash(signed)
    assert signing.pin_state(repos, owner).tries_left == 3


def test_sign_finished_signs_only_the_days_complete_drafts(repos, vault):
    owner = repos.users.require(repos.store.user_id)
    p, goals, _payer = person_with_goals(repos)
    signing.set_pin(repos, vault, PASSPHRASE, owner, "5937")
    ready = repos.encounters.add(_note(p, goals[0], owner))
    missing_plan = repos.encounters.add(_note(p, goals[0], owner, plan=""))
    other_day = repos.encounters.add(_note(p, goals[0], owner, on=date(2025, 3, 3)))
    shown = _note(p, goals[0], owner, at=(time(13), time(13, 30)))
    notes.set_timer(repos, shown.id, datetime(2025, 3, 4, 13, 0))
    with pytest.raises(PinProblem):
        signing.sign_finished(repos, vault, owner, "1111", True, date(2025, 3, 4), shown)
    assert repos.encounters.require(shown.id).status is NoteStatus.DRAFT  # kept all the same
    signed, waiting = signing.sign_finished(
        repos, vault, owner, "5937", True, date(2025, 3, 4), shown
    ).value
    assert {n.id for n in signed} == {ready.id, shown.id} and waiting == 1
    status = {n.id: n.status for n in repos.encounters.list()}
    assert status[missing_plan.id] is NoteStatus.DRAFT
    assert status[other_day.id] is NoteStatus.DRAFT
    for n in signed:
        assert n.content_hash == lifecycle.content_hash(n)


def test_a_draft_with_unusual_times_is_not_finished_unless_answered(repos, vault):
    owner = repos.users.require(repos.store.user_id)
    p, goals, _payer = person_with_goals(repos)
    signing.set_pin(repos, vault, PASSPHRASE, owner, "5937")
    night = repos.encounters.add(_note(p, goals[0], owner, at=(time(2), time(3))))
    ready, waiting = signing.finished_drafts(repos, owner, date(2025, 3, 4))
    assert ready == [] and waiting == 1
    signed, waiting = signing.sign_finished(
        repos, vault, owner, "5937", True, date(2025, 3, 4), None, frozenset({night.id})
    ).value
    assert [n.id for n in signed] == [night.id] and waiting == 0
