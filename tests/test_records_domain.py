"""The pure rules behind the caseload and the participant record: attention
reasons, consent states, and checking what the record's forms were given."""

from __future__ import annotations

from datetime import date
from datetime import timedelta

import pytest

from app.domain.attention import AttentionFacts
from app.domain.attention import ConsentState
from app.domain.attention import Reason
from app.domain.attention import consent_state
from app.domain.attention import consent_state_text
from app.domain.attention import reasons
from app.domain.record_forms import check_barc10
from app.domain.record_forms import check_consent
from app.domain.record_forms import check_goal
from app.domain.record_forms import check_participant
from app.domain.record_forms import check_revocation
from app.domain.record_forms import parse_date
from app.domain.record_forms import split_codes
from app.domain.record_forms import tick_step
from app.domain.records import Consent
from app.domain.records import ConsentKind
from app.domain.records import Goal
from app.domain.records import GoalStatus
from app.domain.records import Participant
from app.domain.records import ParticipantStatus
from app.domain.records import RecoveryDomain

TODAY = date(2026, 6, 15)


def kinds(facts: AttentionFacts) -> list[Reason]:
    return [f.reason for f in reasons(facts, TODAY)]


def test_no_contact_in_30_days_only_for_people_expected_to_be_seen():
    seen = AttentionFacts(last_contact=TODAY - timedelta(days=30))
    assert kinds(seen) == []
    late = AttentionFacts(last_contact=TODAY - timedelta(days=31))
    (flag,) = reasons(late, TODAY)
    assert flag.reason is Reason.NO_CONTACT and flag.text == "No contact 31 days"
    assert kinds(AttentionFacts()) == [Reason.NO_CONTACT]  # never seen
    assert reasons(AttentionFacts(), TODAY)[0].text == "Never seen"
    new = AttentionFacts(intake_date=TODAY - timedelta(days=3))
    assert kinds(new) == []  # intake three days ago, not seen yet: fine
    for status in (ParticipantStatus.ON_HOLD, ParticipantStatus.DISCHARGED):
        assert kinds(AttentionFacts(status=status)) == []


def test_unsigned_notes_overdue_goals_and_consent():
    f = AttentionFacts(
        last_contact=TODAY,
        unsigned_notes=2,
        overdue_goals=1,
        has_consent=True,
        consent_expires=TODAY + timedelta(days=12),
    )
    flags = reasons(f, TODAY)
    assert [x.reason for x in flags] == [
        Reason.UNSIGNED_NOTES,
        Reason.GOALS_OVERDUE,
        Reason.CONSENT,
    ]
    assert [x.text for x in flags] == [
        "2 unsigned notes",
        "1 goal overdue",
        "Consent ends in 12 days",
    ]


@pytest.mark.parametrize(
    ("expires", "open_ended", "expected"),
    [
        (TODAY + timedelta(days=31), False, None),
        (TODAY + timedelta(days=30), False, "Consent ends in 30 days"),
        (TODAY, False, "Consent ends today"),
        (TODAY - timedelta(days=1), False, "Consent expired"),
        (TODAY - timedelta(days=1), True, None),  # another one runs with no end date
    ],
)
def test_consent_expiry_window(expires, open_ended, expected):
    f = AttentionFacts(
        last_contact=TODAY, has_consent=True, consent_expires=expires, consent_open_ended=open_ended
    )
    texts = [x.text for x in reasons(f, TODAY)]
    assert texts == ([expected] if expected else [])


def test_no_consent_on_file_is_not_flagged_as_expiring():
    assert kinds(AttentionFacts(last_contact=TODAY, has_consent=False)) == []


def test_consent_states():
    c = Consent(participant_id="p", signed_on=TODAY - timedelta(days=10))
    assert consent_state(c, TODAY) is ConsentState.IN_FORCE
    assert consent_state_text(c, TODAY) == "In force"
    soon = c.replace(expires_on=TODAY + timedelta(days=3))
    assert consent_state(soon, TODAY) is ConsentState.EXPIRING
    assert consent_state_text(soon, TODAY) == "Expires in 3 days"
    gone = c.replace(expires_on=TODAY - timedelta(days=1))
    assert consent_state(gone, TODAY) is ConsentState.EXPIRED
    assert consent_state_text(gone, TODAY) == "Expired Jun 14, 2026"
    revoked = soon.replace(revoked_on=TODAY - timedelta(days=2))
    assert consent_state(revoked, TODAY) is ConsentState.REVOKED
    assert consent_state_text(revoked, TODAY) == "Revoked Jun 13, 2026"
    assert consent_state(c.replace(signed_on=None), TODAY) is ConsentState.NOT_YET


def test_parse_date_takes_iso_and_us_forms_and_never_echoes():
    assert parse_date("") is None
    assert parse_date(" 2024-03-09 ") == date(2024, 3, 9)
    assert parse_date("3/9/2024") == date(2024, 3, 9)
    with pytest.raises(ValueError, match="not a real calendar date") as e:
        parse_date("2024-02-30")
    assert "2024" not in str(e.value)
    with pytest.raises(ValueError, match="YYYY-MM-DD") as e:
        parse_date("March 9th 1987")
    assert "1987" not in str(e.value)


def test_split_codes():
    assert split_codes("f11.20; F33.1, z59.0") == ("F11.20", "F33.1", "Z59.0")
    assert split_codes("  ") == ()


def form(**kw: str) -> dict[str, str]:
    base = {"first_name": "Odessa", "last_name": "Brightwater", "status": "active"}
    base.update(kw)
    return base


def test_participant_form_builds_a_participant():
    checked = check_participant(
        form(
            date_of_birth="5/2/1987",
            medicaid_id="nd-123 456",
            diagnoses="f11.20; F33.1",
            state="mn",
            phone="(218) 555-0142",
            email="odessa@example.org",
            program="1915(i)",
            intake_date="2026-01-05",
        ),
        contact_methods=["text", "email"],
        ok_to_leave_message=True,
        known_programs=["1915(i)"],
        today=TODAY,
    )
    assert checked.ok, checked.problems
    p = checked.record
    assert isinstance(p, Participant)
    assert p.date_of_birth == date(1987, 5, 2)
    assert p.medicaid_id == "ND123456"
    assert p.diagnoses == ("F11.20", "F33.1")
    assert p.state == "MN"
    assert p.contact_methods == ("text", "email")
    assert p.ok_to_leave_message


def test_participant_form_problems_are_keyed_by_field_and_never_echo():
    checked = check_participant(
        form(
            first_name=" ",
            date_of_birth="1987-13-40",
            medicaid_id="12-AB",
            diagnoses="F11.20; banana",
            state="North Dakota",
            phone="555-01",
            email="odessa at example",
            program="Moonbeam",
            status="discharged",
        ),
        known_programs=["1915(i)"],
        today=TODAY,
    )
    assert not checked.ok and checked.record is None
    assert set(checked.problems) == {
        "first_name",
        "date_of_birth",
        "medicaid_id",
        "diagnoses",
        "state",
        "phone",
        "email",
        "program",
        "discharge_date",
    }
    assert "Code 2" in checked.problems["diagnoses"]
    text = " ".join(checked.problems.values())
    for typed in ("12-AB", "banana", "North Dakota", "555-01", "odessa", "Moonbeam"):
        assert typed not in text


def test_participant_form_date_rules():
    future = check_participant(form(date_of_birth="2030-01-01"), today=TODAY)
    assert future.problems == {"date_of_birth": "Date of birth is in the future"}
    order = check_participant(
        form(intake_date="2026-03-01", discharge_date="2026-02-01", status="discharged"),
        today=TODAY,
    )
    assert order.problems == {"discharge_date": "Discharge is before intake"}
    not_discharged = check_participant(form(discharge_date="2026-02-01"), today=TODAY)
    assert "status" in not_discharged.problems
    email_needed = check_participant(form(), contact_methods=["email"], today=TODAY)
    assert "email" in email_needed.problems


def test_editing_keeps_the_id_and_unshown_fields():
    base = Participant(first_name="A", last_name="B", assigned_specialist_id="spec-1")
    checked = check_participant(form(), today=TODAY, base=base)
    assert checked.record.id == base.id
    assert checked.record.assigned_specialist_id == "spec-1"
    assert checked.record.first_name == "Odessa"


def consent_form(**kw: str) -> dict[str, str]:
    base = {
        "kind": ConsentKind.PART2.value,
        "disclosing_party": "Prairie Path",
        "recipient": "County social services",
        "purpose": "Housing",
        "information_scope": "Attendance",
        "signed_on": "2026-06-01",
        "expires_on": "2027-06-01",
    }
    base.update(kw)
    return base


def test_part2_consent_needs_what_2_31_asks_for():
    ok = check_consent(consent_form(), participant_id="p", today=TODAY)
    assert ok.ok and ok.record.expires_on == date(2027, 6, 1)
    bad = check_consent(
        consent_form(purpose="", information_scope="", expires_on="", disclosing_party=""),
        participant_id="p",
        today=TODAY,
    )
    assert set(bad.problems) == {"purpose", "information_scope", "expires_on", "disclosing_party"}
    event = check_consent(
        consent_form(expires_on="", expiry_event="At discharge"), participant_id="p", today=TODAY
    )
    assert event.ok
    general = check_consent(
        {"kind": ConsentKind.GENERAL.value, "recipient": "Sister", "signed_on": "2026-06-01"},
        participant_id="p",
        today=TODAY,
    )
    assert general.ok
    backwards = check_consent(
        consent_form(expires_on="2026-05-01"), participant_id="p", today=TODAY
    )
    assert backwards.problems == {"expires_on": "Expires before it was signed"}
    future = check_consent(consent_form(signed_on="2026-07-01"), participant_id="p", today=TODAY)
    assert "signed_on" in future.problems


def test_revocation_needs_a_date_and_a_note():
    c = Consent(participant_id="p", signed_on=date(2026, 1, 1))
    bad = check_revocation(c, {"revoked_on": "", "revocation_note": " "}, today=TODAY)
    assert set(bad.problems) == {"revoked_on", "revocation_note"}
    early = check_revocation(
        c, {"revoked_on": "2025-12-01", "revocation_note": "Told me"}, today=TODAY
    )
    assert early.problems == {"revoked_on": "Revoked before it was signed"}
    ok = check_revocation(
        c, {"revoked_on": "2026-06-10", "revocation_note": "Told me"}, today=TODAY
    )
    assert ok.record.revoked_on == date(2026, 6, 10)
    twice = check_revocation(
        ok.record, {"revoked_on": "2026-06-10", "revocation_note": "again"}, today=TODAY
    )
    assert "already revoked" in twice.problems["revoked_on"]


def test_goal_form_and_editing_keeps_ticks_of_unchanged_steps():
    new = check_goal(
        {"domain": "Home", "statement": "My own place", "status": "active"},
        steps_text="Apply\n\n Save deposit \n",
        participant_id="p",
        today=TODAY,
    )
    assert new.ok
    g = new.record
    assert g.steps == ("Apply", "Save deposit") and g.started_on == TODAY
    ticked = tick_step(g, 1, True)
    edited = check_goal(
        {"domain": "Home", "statement": "My own place", "status": "achieved"},
        steps_text="Look at apartments\nSave deposit",
        participant_id="p",
        today=TODAY,
        base=ticked,
    ).record
    assert edited.id == g.id
    assert edited.steps_done == (1,)  # "Save deposit" kept its tick at its new place
    assert edited.achieved_on == TODAY
    bad = check_goal(
        {"domain": "Work", "statement": "", "target_date": "soon"},
        steps_text="a\na",
        participant_id="p",
        today=TODAY,
    )
    assert set(bad.problems) == {"domain", "statement", "target_date", "steps"}


def test_tick_step():
    g = Goal(participant_id="p", domain=RecoveryDomain.HEALTH, statement="s", steps=("a", "b", "c"))
    g = tick_step(tick_step(g, 2, True), 0, True)
    assert g.steps_done == (0, 2) and g.progress == pytest.approx(2 / 3)
    assert tick_step(g, 2, False).steps_done == (0,)
    assert tick_step(g, 2, True).steps_done == (0, 2)  # no repeats
    with pytest.raises(ValueError):
        tick_step(g, 3, True)
    assert g.status is GoalStatus.ACTIVE


def test_barc10_form():
    ok = check_barc10([4] * 10, "2026-06-01", participant_id="p", assessed_by_id="u", today=TODAY)
    assert ok.ok and ok.record.total == 40
    missing = check_barc10(
        [4, None, 4, 4, 4, 4, 4, 4, 4, 7], "", participant_id="p", assessed_by_id="u", today=TODAY
    )
    assert set(missing.problems) == {"item2", "item10", "assessed_on"}
    future = check_barc10(
        [4] * 10, "2026-07-01", participant_id="p", assessed_by_id="u", today=TODAY
    )
    assert "assessed_on" in future.problems


def test_enum_fields_of_the_forms_fall_back_and_say_what_to_pick():
    """An empty status is the default; an unknown one is a problem (never echoed); a
    goal's domain is required."""
    base = {"first_name": "Ada", "last_name": "Quill"}
    assert check_participant(base, today=TODAY).record.status is ParticipantStatus.ACTIVE
    bad = check_participant({**base, "status": "xyzzy-status"}, today=TODAY)
    assert bad.problems["status"] == "Pick a status from the list"
    assert "xyzzy" not in bad.problems["status"]
    for domain, ok in (("", False), ("Nowhere", False), ("Purpose", True)):
        checked = check_goal(
            {"domain": domain, "statement": "Walk daily"},
            steps_text="",
            participant_id="p",
            today=TODAY,
        )
        assert ("domain" not in checked.problems) is ok
        assert checked.ok or checked.problems["domain"] == "Pick a recovery domain"
    kind = check_consent(
        {"kind": "not-a-kind", "recipient": "R", "signed_on": "2026-01-02"},
        participant_id="p",
        today=TODAY,
    )
    assert kind.problems["kind"] == "Pick a kind of consent from the list"
