"""The caseload and participant-record queries on a real SQLCipher vault: attention
facts, opening a record (audited), saving with the duplicate check, goal ticks,
consent revocation and the CSV import."""

from __future__ import annotations

from datetime import date
from datetime import time
from datetime import timedelta

import pytest

from app.domain.attention import Reason
from app.domain.records import Consent
from app.domain.records import Encounter
from app.domain.records import Goal
from app.domain.records import GoalStatus
from app.domain.records import NoteStatus
from app.domain.records import Participant
from app.domain.records import ParticipantStatus
from app.domain.records import RecoveryDomain
from app.services import importing
from app.services import records
from app.services.caseload import caseload_rows
from app.store.errors import StoreError
from tests.helpers import add_person

TODAY = date(2026, 6, 15)


def note(repos, p: Participant, day: date, **kw) -> Encounter:
    return repos.encounters.add(
        Encounter(
            participant_id=p.id,
            specialist_id=repos.store.user_id,
            service_date=day,
            start_time=time(10, 0),
            end_time=time(10, 50),
            goal_text=kw.pop("goal_text", "Talked about the housing application."),
            **kw,
        )
    )


def by_name(rows) -> dict[str, object]:
    return {r.participant.first_name: r for r in rows}


def test_caseload_rows_carry_each_attention_reason(repos):
    seen = add_person(repos, "Odessa", "Brightwater")
    quiet = add_person(repos, "Lorcan", "Featherby")
    goals = add_person(repos, "Mirela", "Stonebrook")
    consent = add_person(repos, "Thaddeus", "Quillon")
    add_person(repos, "Ysolde", "Marrowby", status=ParticipantStatus.ON_HOLD)

    walk = repos.goals.add(
        Goal(participant_id=seen.id, domain=RecoveryDomain.HEALTH, statement="Walk daily")
    )
    signed = note(
        repos,
        seen,
        TODAY - timedelta(days=2),
        goal_ids=(walk.id,),
        intervention="Walked together.",
        response="Enjoyed it.",
        plan="Walk again Friday.",
    )
    repos.encounters.sign(signed.id, repos.users.require(repos.store.user_id))
    note(repos, quiet, TODAY - timedelta(days=45))
    voided = note(repos, quiet, TODAY - timedelta(days=3))  # a deleted draft is no contact
    repos.encounters.delete(voided.id)
    note(repos, goals, TODAY - timedelta(days=1))
    note(repos, goals, TODAY - timedelta(days=4))  # two drafts: unsigned
    repos.goals.add_many(
        [
            Goal(
                participant_id=goals.id,
                domain=RecoveryDomain.HOME,
                statement="My own place",
                target_date=TODAY - timedelta(days=1),
            ),
            Goal(  # achieved: never overdue
                participant_id=goals.id,
                domain=RecoveryDomain.HEALTH,
                statement="Sleep",
                target_date=TODAY - timedelta(days=90),
                status=GoalStatus.ACHIEVED,
            ),
        ]
    )
    note(repos, consent, TODAY - timedelta(days=5))
    repos.consents.add_many(
        [
            Consent(
                participant_id=consent.id,
                signed_on=TODAY - timedelta(days=300),
                expires_on=TODAY + timedelta(days=10),
            ),
            Consent(  # runs longer, but revoked
                participant_id=consent.id,
                signed_on=TODAY - timedelta(days=100),
                expires_on=TODAY + timedelta(days=300),
                revoked_on=TODAY - timedelta(days=20),
            ),
        ]
    )
    repos.participants.add(Participant(first_name="Gone", last_name="Person", deleted=True))

    rows = by_name(caseload_rows(repos, TODAY))
    assert set(rows) == {"Odessa", "Lorcan", "Mirela", "Thaddeus", "Ysolde"}
    assert rows["Odessa"].flags == ()
    assert rows["Odessa"].facts.last_contact == TODAY - timedelta(days=2)
    # The 45-day-old draft is unsigned; the deleted draft neither counts as contact
    # nor as unsigned.
    assert [f.text for f in rows["Lorcan"].flags] == ["No contact 45 days", "1 unsigned note"]
    assert [f.text for f in rows["Mirela"].flags] == ["2 unsigned notes", "1 goal overdue"]
    assert [f.text for f in rows["Thaddeus"].flags] == [
        "1 unsigned note",
        "Consent ends in 10 days",
    ]
    assert rows["Ysolde"].flags == ()  # on hold: not expected to be seen

    # A new consent with no end date settles it.
    repos.consents.add(Consent(participant_id=consent.id, signed_on=TODAY))
    rows = by_name(caseload_rows(repos, TODAY))
    assert [f.reason for f in rows["Thaddeus"].flags] == [Reason.UNSIGNED_NOTES]


def test_caseload_rows_for_one_specialist(repos):
    mine = add_person(repos, "Odessa", "Brightwater", assigned_specialist_id=repos.store.user_id)
    add_person(repos, "Lorcan", "Featherby", assigned_specialist_id="someone-else")
    rows = caseload_rows(repos, TODAY, specialist_id=repos.store.user_id)
    assert [r.id for r in rows] == [mine.id]


def audit_views(store, record_id: str) -> int:
    return store.conn.execute(
        "SELECT count(*) FROM audit_log WHERE action = 'view' AND record_id = ?", (record_id,)
    ).fetchone()[0]


def test_load_record_reads_everything_and_audits_the_view(repos, store):
    p = add_person(repos, "Odessa", "Brightwater")
    for d in range(5):
        note(repos, p, TODAY - timedelta(days=10 * d), goal_text="  Walked\n to the   clinic  ")
    repos.goals.add(Goal(participant_id=p.id, domain=RecoveryDomain.HEALTH, statement="Walk"))
    assert audit_views(store, p.id) == 0
    rec = records.load_record(repos, p.id, TODAY)
    assert audit_views(store, p.id) == 1
    assert rec.participant.id == p.id
    assert [r.service_date for r in rec.timeline] == [
        TODAY - timedelta(days=10 * d) for d in range(5)
    ]
    assert rec.timeline[0].minutes == 50
    assert rec.timeline[0].status is NoteStatus.DRAFT
    assert rec.timeline[0].preview == "Walked to the clinic"
    assert len(rec.goals) == 1
    assert rec.row.facts.unsigned_notes == 5
    records.reload_record(repos, p.id)
    assert audit_views(store, p.id) == 1  # a refresh of an open record is not a new view
    with pytest.raises(StoreError):
        records.load_record(repos, "no-such-id")


def test_save_participant_warns_about_duplicates_and_medicaid_ids(repos):
    first = add_person(
        repos, "Odessa", "Brightwater", date_of_birth=date(1987, 5, 2), medicaid_id="ND4455667"
    )
    twin = Participant(first_name="odessa", last_name="BRIGHTWATER", date_of_birth=date(1987, 5, 2))
    out = records.save_participant(repos, twin, is_new=True, allow_duplicate=False)
    assert out.saved is None
    assert [d.id for d in out.duplicates] == [first.id]
    assert repos.participants.count() == 1
    out = records.save_participant(repos, twin, is_new=True, allow_duplicate=True)
    assert out.saved is not None and repos.participants.count() == 2
    assert repos.participants.require(twin.id).assigned_specialist_id == repos.store.user_id

    # Editing a participant does not count the participant as their own duplicate.
    edited = first.replace(pronouns="she/her")
    out = records.save_participant(repos, edited, is_new=False, allow_duplicate=False)
    assert out.saved is None and [d.id for d in out.duplicates] == [twin.id]

    taken = Participant(first_name="Lorcan", last_name="Featherby", medicaid_id="ND4455667")
    out = records.save_participant(repos, taken, is_new=True, allow_duplicate=True)
    assert out.problems == {"medicaid_id": "Another participant already has this Medicaid ID"}
    assert "4455667" not in str(out.problems)


def test_goal_ticks_apply_to_the_goal_as_stored(repos):
    p = add_person(repos, "Odessa", "Brightwater")
    g = repos.goals.add(
        Goal(
            participant_id=p.id,
            domain=RecoveryDomain.HOME,
            statement="My own place",
            steps=("Apply", "Save", "Move"),
        )
    )
    records.tick_goal_step(repos, g.id, 0, True)
    records.tick_goal_step(repos, g.id, 2, True)  # made from the stale copy: both ticks kept
    assert repos.goals.require(g.id).steps_done == (0, 2)
    records.tick_goal_step(repos, g.id, 0, False)
    assert repos.goals.require(g.id).steps_done == (2,)
    with pytest.raises(StoreError, match="no longer part"):
        records.tick_goal_step(repos, g.id, 7, True)


def test_revoke_consent_once(repos):
    p = add_person(repos, "Odessa", "Brightwater")
    c = repos.consents.add(Consent(participant_id=p.id, signed_on=TODAY - timedelta(days=9)))
    records.revoke_consent(repos, c.id, TODAY, "Told me in person")
    stored = repos.consents.require(c.id)
    assert stored.revoked_on == TODAY and stored.revocation_note == "Told me in person"
    with pytest.raises(StoreError, match="already revoked"):
        records.revoke_consent(repos, c.id, TODAY, "again")


CSV = (
    "First Name,Last Name,DOB,Medicaid ID,County,Program\n"
    "Odessa,Brightwater,1987-05-02,ND4455667,Cass,1915(i)\n"
    "Lorcan,Featherby,1990-13-01,ND1122334,Ward,SUD Voucher\n"
    "\n"
    "Mirela,Stonebrook,1979-09-30,ND998,Burleigh,Moonbeam\n"
    "Wren,Halvorsen,1988-04-09,,Stark,1915(i)\n"
)


def test_import_preview_then_import_good_rows(repos, tmp_path, store):
    add_person(repos, "Wren", "Halvorsen", date_of_birth=date(1988, 4, 9))
    path = tmp_path / "caseload.csv"
    path.write_text(CSV, encoding="utf-8-sig")
    preview = importing.preview_import(repos, path, TODAY)
    assert preview.header[:2] == ["First Name", "Last Name"]
    assert [line for line, _cells in preview.rows] == [2, 3, 5, 6]  # the blank line left out
    assert {e.line for e in preview.plan.errors} == {3, 5}
    assert [w.line for w in preview.plan.warnings] == [6]  # same name and birthday
    assert [line for line, _p in preview.plan.participants] == [2, 6]
    assert repos.participants.count() == 1  # nothing written by the preview

    people = [p for _l, p in preview.plan.participants]
    n = importing.import_participants(repos, people, path.name).value
    assert n == 2 and repos.participants.count() == 3
    logged = store.conn.execute(
        "SELECT count(*) FROM audit_log WHERE action = 'import'"
    ).fetchone()[0]
    assert logged == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\x01PK\x03\x04binary", "not a text spreadsheet"),
        (None, "does not exist"),
    ],
)
def test_unreadable_spreadsheets_get_a_plain_message(repos, tmp_path, content, message):
    path = tmp_path / "Odessa Brightwater.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(importing.ImportFileError, match=message) as e:
        importing.preview_import(repos, path, TODAY)
    assert "Odessa" not in str(e.value)


def test_windows_1252_and_semicolons_are_read(repos, tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(
        "first_name;last_name;date_of_birth;medicaid_id;county;program\n"
        "Renée;Bélanger;1987-05-02;ND4455667;Cass;1915(i)\n".encode("cp1252")
    )
    preview = importing.preview_import(repos, path, TODAY)
    assert preview.plan.ok
    assert preview.plan.participants[0][1].first_name == "Renée"
