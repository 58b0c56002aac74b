"""Supervisor rules and figures without Qt or a server: overdue notes, units, the
team overview, review conflicts, supervision sessions and their signatures, the
oversight PDF (read back with pypdf) and the demo team."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from io import BytesIO

import pytest
from pypdf import PdfReader

from app.demo_team import fill_demo_team
from app.domain import supervision as sv
from app.domain.records import Payer
from app.domain.records import Role
from app.domain.records import RoundingRuleName
from app.domain.records import SupervisionFormat
from app.domain.records import SupervisionSession
from app.domain.records import TimeCategory
from app.domain.records import User
from app.reports.oversight import EncounterLine
from app.reports.oversight import SessionLine
from app.reports.oversight import render_pdf
from app.services import review
from app.services import supervision
from app.services import team
from app.store.digest import state_digest
from app.store.repositories import Repositories
from tests.helpers import run_python
from tests.test_oversight_pdf import month as oversight_month

TODAY = date(2026, 3, 18)  # a Wednesday
ANN = User(id="ann", username="ann", display_name="Ann", role=Role.SPECIALIST)
BO = User(id="bo", username="bo", display_name="Bo", role=Role.SPECIALIST)


def note(i, spec="ann", day=TODAY, minutes=30, status="signed", signed_after=0, payer=""):
    signed = None
    if status != "draft":
        signed = datetime.combine(day + timedelta(days=signed_after), datetime.min.time(), UTC)
    return sv.NoteFacts(
        id=f"n{i}", specialist_id=spec, participant_id=f"p-{spec}", service_date=day,
        minutes=minutes, status=status, signed_at=signed, payer_id=payer,
    )  # fmt: skip


def test_overdue_and_stale_drafts_follow_the_setting():
    assert not sv.is_overdue(note(1, signed_after=3), 3)
    assert sv.is_overdue(note(1, signed_after=4), 3)
    assert sv.is_overdue(note(1, signed_after=1), 0)
    draft = note(2, status="draft", day=TODAY - timedelta(days=4))
    assert sv.is_stale_draft(draft, TODAY, 3) and not sv.is_stale_draft(draft, TODAY, 4)


def test_units_follow_the_payer_rule_and_daily_cap():
    capped = Payer(id="cap", name="Capped", rounding_rule=RoundingRuleName.CMS_8_MINUTE,
                   max_units_per_day=4)  # fmt: skip
    notes = [note(1, minutes=50, payer="cap"), note(2, minutes=50, payer="cap"), note(3, minutes=7)]
    units = sv.units_by_note(notes, {"cap": capped})
    assert units == {"n1": 3, "n2": 1, "n3": 0}
    assert sv.units_by_note([note(4, status="void", minutes=60)]) == {}


def test_team_overview_counts_week_month_review_and_hours():
    notes = [
        note(1, day=TODAY),  # this week, signed on the day
        note(2, day=TODAY - timedelta(days=10), signed_after=5, status="approved"),  # late
        note(3, day=TODAY - timedelta(days=5), status="draft"),  # stale draft
        note(4, spec="bo", day=TODAY - timedelta(days=1), minutes=60, status="void"),
        note(5, spec="stranger"),  # not on the team: ignored
    ]
    hours = [
        sv.HoursFacts("ann", TODAY, TimeCategory.DIRECT, 90),
        sv.HoursFacts("ann", TODAY - timedelta(days=100), TimeCategory.TRAINING, 120),
        sv.HoursFacts("bo", TODAY - timedelta(days=7), TimeCategory.SUPERVISION, 60),
    ]
    ov = sv.team_overview([BO, ANN], {"ann": 5}, notes, hours, TODAY, overdue_days=3)
    ann, bo = ov.rows  # by name
    assert (ann.name, bo.name) == ("Ann", "Bo")
    assert (ann.encounters_week, ann.encounters_month) == (1, 3)  # the draft was last week
    assert ann.awaiting_review == 1 and ann.overdue_month == 1 and ann.stale_drafts == 1
    assert ann.caseload == 5 and bo.caseload == 0
    assert ann.direct_hours_month == 1.5 and ann.ce_hours_year == 2.0
    assert bo.encounters_month == 0 and bo.supervision_hours_year == 1.0
    assert ov.weeks[-1] == date(2026, 3, 16) and len(ov.weeks) == sv.CHART_WEEKS
    assert ov.hours["ann"][-1] == 1.5 and ov.hours["bo"][-2] == 1.0
    with pytest.raises(ValueError):
        sv.team_overview([ANN], {}, [], [], TODAY, overdue_days=-1)


def test_review_conflict_words():
    assert "approved on one device" in sv.review_conflict("approved", "Fix it", "abc")
    assert "returned for revision on one device" in sv.review_conflict("returned", "Fix", "abc")
    assert "refused" in sv.review_conflict("signed", "", "", refused_review=True)
    assert sv.review_conflict("approved", "", "abc") == ""


def session(**kw):
    base = dict(
        supervisor_id="sup", specialist_ids=("ann",), session_date=TODAY, minutes=60,
        topics=("skills",),
    )  # fmt: skip
    base.update(kw)
    return SupervisionSession(**base)


def test_session_problems():
    assert sv.session_problems(session(), TODAY) == []
    fields = {f for f, _m in sv.session_problems(
        session(specialist_ids=(), minutes=0, topics=("gossip",),
                session_date=TODAY + timedelta(days=1), next_date=TODAY), TODAY
    )}  # fmt: skip
    assert fields == {"specialist_ids", "minutes", "topics", "session_date", "next_date"}
    group = session(format=SupervisionFormat.GROUP)
    assert sv.session_problems(group)[0][0] == "specialist_ids"
    assert sv.session_problems(session(specialist_ids=("ann", "ann")))


def test_signing_on_both_sides():
    sup = User(id="sup", username="s", display_name="S", role=Role.SUPERVISOR)
    at = datetime(2026, 3, 18, 17, 0, tzinfo=UTC)
    s = session()
    with pytest.raises(sv.SupervisionError, match="has not signed"):
        sv.sign_as_specialist(s, ANN, at)
    with pytest.raises(sv.SupervisionError, match="only the supervisor"):
        sv.sign_as_supervisor(s, ANN, at)
    signed = sv.sign_as_supervisor(s, sup, at)
    with pytest.raises(sv.SupervisionError, match="cannot change"):
        sv.check_session_edit(signed, signed.replace(minutes=90))
    with pytest.raises(sv.SupervisionError, match="took part"):
        sv.sign_as_specialist(signed, BO, at)
    after, entry = sv.sign_as_specialist(signed, ANN, at)
    assert after.specialist_signed_at == at
    assert (entry.category, entry.minutes, entry.supervision_id) == (
        TimeCategory.SUPERVISION,
        60,
        s.id,
    )
    with pytest.raises(sv.SupervisionError, match="already signed"):
        sv.sign_as_specialist(after, ANN, at, [entry])
    assert sv.signatures(after, [entry]).complete
    group = signed.replace(format=SupervisionFormat.GROUP, specialist_ids=("ann", "bo"))
    g_after, g_entry = sv.sign_as_specialist(group, ANN, at)
    assert g_after.specialist_signed_at is None  # one field cannot hold several signatures
    sig = sv.signatures(group, [g_entry])
    assert sig.signed == ("ann",) and sig.waiting == ("bo",) and not sig.complete


def test_oversight_pdf_reads_back():
    month = oversight_month(
        encounters=(
            EncounterLine(date(2026, 2, 3), "QV", "in person", 50, 3, "approved", 0, False),
            EncounterLine(date(2026, 2, 9), "TR", "telehealth video", 30, 2, "signed", 6, True),
        ),
        hours={"direct service": 1.33, "supervision received": 1.0},
        sessions=(
            SessionLine(
                date(2026, 2, 12),
                60,
                "individual",
                "in person",
                ("skills", "documentation"),
                2,
                True,
                False,
            ),
        ),
        outcomes=sv.review_outcomes(["approved", "signed", "returned"]),
        generated_at=datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
    )
    blob = render_pdf(month)
    reader = PdfReader(BytesIO(blob))
    text = "\n".join(p.extract_text() for p in reader.pages)
    for expected in ("Oversight report", "February 2026", "Quorra Vantablack", "Ysolde",
                     "Supervisor only", "(overdue)", "Review outcomes"):  # fmt: skip
        assert expected in text
    assert reader.metadata.title == "Oversight report February 2026"
    assert month.units == 5 and month.overdue == 1


def test_demo_team_is_a_supervisors_vault_as_if_synced(store):
    counts = fill_demo_team(store, specialists=3, participants=3, today=TODAY)
    repos = Repositories(store)
    me = repos.users.require(store.user_id)
    assert me.role is Role.SUPERVISOR
    members = team.team(repos)
    assert len(members) == 3 and all(u.supervisor_id == me.id for u in members)
    assert counts["participants"] == 9 and counts["encounters"] > 50
    # nothing waits to be sent: the supervisor did not write these records
    sent = store.conn.execute("SELECT count(*) FROM outbox WHERE record_id != ?", (me.id,))
    assert sent.fetchone()[0] == 0  # (the vault's own owner record is its only local write)
    stamped = store.conn.execute("SELECT count(DISTINCT record_id) FROM field_stamps").fetchone()[0]
    assert stamped >= sum(v for k, v in counts.items() if k != "users")
    statuses = {r[0] for r in store.conn.execute("SELECT DISTINCT status FROM encounters")}
    assert {"draft", "signed", "approved"} <= statuses
    assert review.review_queue(repos) and supervision.sessions(repos)
    with pytest.raises(ValueError):
        fill_demo_team(store)


def test_demo_team_is_reproducible(tmp_path, fast_kdf):
    from app.store.db import Store
    from app.store.vault import Vault

    digests = []
    for name in ("a", "b"):
        v = Vault(tmp_path / name)
        v.create("reproducible demo 1")
        s = Store.open(v, owner_id="00000000-0000-4000-8000-000000000001")
        fill_demo_team(s, specialists=2, participants=2, today=TODAY)
        digests.append(state_digest(s))
        s.close()
    assert digests[0] == digests[1]


def test_supervisor_core_needs_no_qt():
    code = (
        "import sys, app.domain.supervision, app.services.team, app.services.review, "
        "app.services.supervision, app.services.reports, "
        "app.reports.oversight, app.demo_team; "
        "print(any(m.startswith(('PySide6', 'shiboken6')) for m in sys.modules))"
    )
    out = run_python("-c", code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_open_demo_team_fills_once_beside_the_real_vault(tmp_path, fast_kdf):
    from app.services.demos import demo_team_dir
    from app.services.demos import open_demo_team

    data = tmp_path / "data"
    reports: list[tuple] = []
    s = open_demo_team(data, lambda *a: reports.append(a))
    try:
        assert Repositories(s.store).users.require(s.store.user_id).role is Role.SUPERVISOR
        n = Repositories(s.store).participants.count()
    finally:
        s.close()
    assert reports and not data.exists() and demo_team_dir(data).exists()
    again = open_demo_team(data, lambda *a: None)  # opened, not filled twice
    try:
        assert Repositories(again.store).participants.count() == n
    finally:
        again.close()


def test_review_conflict_words_from_the_conflict_on_status():
    """The server keeps the first decision and records the other on status: the note
    holds one decision's fields only, and the conflict says what the other was."""
    assert "approved on one device" in sv.review_conflict("approved", "", "abc", False, "returned")
    assert "returned for revision on one device" in sv.review_conflict(
        "returned", "Fix", "", False, "approved"
    )
    # two devices that agreed, or a decision that lost to a void: not a review clash
    assert sv.review_conflict("approved", "", "abc", False, "approved") == ""
    assert sv.review_conflict("void", "", "", False, "returned") == ""


def test_received_entry_is_the_session_time_noted_with_the_signature():
    at = datetime(2026, 3, 18, 17, 5, tzinfo=UTC)
    s = session()
    signed = sv.received_entry(s, "ann", at, "entry-1")
    assert (signed.id, signed.specialist_id, signed.entry_date, signed.minutes) == (
        "entry-1",
        "ann",
        s.session_date,
        s.minutes,
    )
    assert signed.category is TimeCategory.SUPERVISION and signed.supervision_id == s.id
    assert signed.note == "Signed 2026-03-18T17:05+00:00"
    unsigned = sv.received_entry(s, "ann", None, None)
    assert unsigned.note == "" and unsigned.id and unsigned.id != signed.id
