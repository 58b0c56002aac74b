"""Supervisors end to end: the real server process over HTTPS, real SQLCipher vaults
for two specialists (one on another team) and two supervisor laptops, the real
client engine, and the supervisor's own queries (app.services.team, review and supervision)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from app.domain.records import NoteStatus
from app.domain.records import Role
from app.domain.records import SupervisionSession
from app.domain.records import SupervisionTopic
from app.services import review
from app.services import supervision
from app.services import team
from app.store.digest import state_digest
from app.store.errors import StoreError
from app.store.errors import WrongPassphrase
from tests.conftest import PASSPHRASE
from tests.server_proc import start_server
from tests.test_sync_e2e import FAST_SERVER
from tests.test_sync_e2e import _note
from tests.test_sync_e2e import _person
from tests.test_sync_e2e import answer_the_return
from tests.test_sync_e2e import signed_note


@pytest.fixture
def server(tmp_path):
    s = start_server(tmp_path, extra_args=FAST_SERVER)
    s.sup = s.add_user("sam", "supervisor", display_name="Sam Supervisor")
    s.other_sup = s.add_user("opal", "supervisor")
    s.ann = s.add_user("ann", "specialist", supervisor="sam", display_name="Ann Specialist")
    s.bob = s.add_user("bob", "specialist", supervisor="sam")
    s.cyd = s.add_user("cyd", "specialist", supervisor="opal")  # another team
    yield s
    s.close()


def test_review_round_trip_offline_decisions(server, laptops):
    ann, bob, cyd = laptops("ann1", "ann"), laptops("bob1", "bob"), laptops("cyd1", "cyd")
    sam = laptops("sam1", "sam")
    # specialists sign notes offline
    p, g = _person(ann, "Wren")
    n1, n2 = _note(ann, p, g, "First"), _note(ann, p, g, "Second")
    for n in (n1, n2):
        ann.repos.encounters.sign(n.id, ann.user)
    bp, bg = _person(bob, "Quinn")
    bob.repos.encounters.sign(_note(bob, bp, bg).id, bob.user)
    cp, cg = _person(cyd, "Tamsin")
    cyd.repos.encounters.sign(_note(cyd, cp, cg).id, cyd.user)
    for lap in (ann, bob, cyd, sam):
        assert not lap.sync().rejected

    # the supervisor's vault holds the team and never another team's participant
    assert {x.id for x in sam.repos.participants.list()} == {p.id, bp.id}
    assert sam.repos.participants.get(cp.id) is None
    assert {u.id for u in team.team(sam.repos)} == {server.ann, server.bob}
    queue = review.review_queue(sam.repos)
    assert {r.id for r in queue} == {n1.id, n2.id} | {e.id for e in bob.repos.encounters.list()}
    assert [r.id for r in review.review_queue(sam.repos, specialist_id=server.bob)] == [
        e.id for e in bob.repos.encounters.list()
    ]

    # offline on the supervisor's laptop: open (audited), approve one, return one
    opened = review.open_for_review(sam.repos, n1.id)
    assert opened.can_review and opened.participant_name.startswith("Wren")
    assert [gg.id for gg in opened.goals] == [g.id]
    result = review.approve(sam.repos, sam.vault, PASSPHRASE, [(n1.id, opened.loaded_hash)])
    assert result.approved == (n1.id,) and not result.refused
    with pytest.raises(StoreError, match="comment is required"):
        review.return_for_revision(sam.repos, n2.id, "   ")
    review.return_for_revision(sam.repos, n2.id, "Say how long the call took")
    views = sam.store.conn.execute(
        "SELECT count(*) FROM audit_log WHERE action = 'view' AND record_id IN (?, ?, ?)",
        (n1.id, p.id, g.id),
    ).fetchone()[0]
    assert views == 3  # the note, the participant and the goal it addresses
    assert not sam.sync().rejected

    answer_the_return(ann, n1, n2)  # the specialist sees both outcomes and answers

    # the note is back in the supervisor's queue, with its addendum; approve it
    sam.sync()
    row = next(r for r in review.review_queue(sam.repos) if r.id == n2.id)
    assert row.addenda == 1
    again = review.open_for_review(sam.repos, n2.id)
    assert [a.text for a, _who in again.addenda] == ["The call took 12 minutes"]
    assert review.approve(sam.repos, sam.vault, PASSPHRASE, [(n2.id, again.loaded_hash)]).approved
    sam.sync()
    ann.sync()
    assert ann.repos.encounters.require(n2.id).status is NoteStatus.APPROVED
    # the audit trail on the supervisor's laptop names the author's signing and the reviews
    trail = review.note_trail(sam.repos, n2.id)
    actions = [t.action for t in trail]
    assert "created" in actions and "signed" in actions and "addendum added" in actions
    assert "approval signed with passphrase" in actions and "review: returned" in actions
    # and the supervisor's vault still holds no other team's record
    assert sam.repos.participants.get(cp.id) is None


def test_a_specialist_cannot_approve(server, laptops):
    ann, sam = laptops("ann1", "ann"), laptops("sam1", "sam")
    _p, _g, n = signed_note(ann, "Ivo")
    # the client never offers it: the queries refuse a specialist's vault
    assert ann.user.role is Role.SPECIALIST
    assert team.team(ann.repos) == [] and review.review_queue(ann.repos) == []
    result = review.approve(ann.repos, ann.vault, PASSPHRASE, [(n.id, n.content_hash)])
    assert not result.approved and "not in your team" in result.refused[0][1]
    # and the server rejects a forged approval pushed from the specialist's laptop
    with ann.store.transaction():
        ann.store.conn.execute(
            "UPDATE encounters SET status = 'approved', reviewed_by_id = ?, "
            "approved_content_hash = content_hash WHERE id = ?",
            (ann.user.id, n.id),
        )
    r = ann.sync()
    reasons = {x["reason"] for x in r.rejected}
    assert any("supervisor" in x for x in reasons) and any("cannot move" in x for x in reasons)
    assert ann.repos.encounters.require(n.id).status is NoteStatus.SIGNED
    sam.sync()
    assert sam.repos.encounters.require(n.id).status is NoteStatus.SIGNED


def test_wrong_or_missing_passphrase_and_changed_content_are_refused(server, laptops):
    ann, sam = laptops("ann1", "ann"), laptops("sam1", "sam")
    _p, _g, n = signed_note(ann, "Lark")
    sam.sync()
    opened = review.open_for_review(sam.repos, n.id)
    with pytest.raises(review.NotSigned):
        review.approve(sam.repos, sam.vault, "", [(n.id, opened.loaded_hash)])
    with pytest.raises(WrongPassphrase):
        review.approve(sam.repos, sam.vault, "not my passphrase", [(n.id, opened.loaded_hash)])
    assert sam.repos.encounters.require(n.id).status is NoteStatus.SIGNED
    # what the supervisor loaded is not what is there now: refused, with the reason
    result = review.approve(sam.repos, sam.vault, PASSPHRASE, [(n.id, "0" * 64)])
    assert not result.approved and "changed after you opened it" in result.refused[0][1]
    assert sam.repos.encounters.require(n.id).status is NoteStatus.SIGNED


def test_two_supervisor_laptops_converge_and_an_approve_return_conflict_is_shown(server, laptops):
    ann = laptops("ann1", "ann")
    s1, s2 = laptops("sam1", "sam"), laptops("sam2", "sam")
    p, g = _person(ann, "Odette")
    both_ok, clash = _note(ann, p, g, "Agreed"), _note(ann, p, g, "Disputed")
    for n in (both_ok, clash):
        ann.repos.encounters.sign(n.id, ann.user)
    ann.sync()
    s1.sync()
    s2.sync()
    # both laptops offline: both approve one note; on the other they disagree
    for lap in (s1, s2):
        h = review.open_for_review(lap.repos, both_ok.id).loaded_hash
        assert review.approve(lap.repos, lap.vault, PASSPHRASE, [(both_ok.id, h)]).approved
    h = review.open_for_review(s1.repos, clash.id).loaded_hash
    assert review.approve(s1.repos, s1.vault, PASSPHRASE, [(clash.id, h)]).approved
    review.return_for_revision(s2.repos, clash.id, "Please add who else was present")
    # "later" is the stamps' order (milliseconds, then counter and device), which two
    # decisions made in the same millisecond may not share with the wall clock
    stamp_sql = "SELECT stamp FROM field_stamps WHERE record_id = ? AND field = 'status'"
    approved_at, returned_at = (
        lap.store.conn.execute(stamp_sql, (clash.id,)).fetchone()[0] for lap in (s1, s2)
    )
    s1.sync()
    s2.sync()
    for _ in range(2):
        for lap in (s1, s2, ann):
            lap.sync()
    # every device holds the same records
    assert state_digest(s1.store) == state_digest(s2.store) == state_digest(ann.store)
    # agreeing decisions are not a conflict to show
    assert not any(r.id == both_ok.id for r in review.review_queue(s1.repos))
    # disagreeing ones are: first in the queue on both supervisor laptops, explained
    for lap in (s1, s2):
        queue = review.review_queue(lap.repos)
        assert queue and queue[0].id == clash.id and queue[0].conflict
        shown = review.open_for_review(lap.repos, clash.id)
        assert "Two review decisions met" in shown.conflict or "refused" in shown.conflict
        assert not shown.can_review
    # the later decision (s2's return, made last) stands whole on every device; the
    # one that lost is the conflict both laptops show
    for lap in (s1, s2, ann):
        note = lap.repos.encounters.require(clash.id)
        if returned_at > approved_at:
            assert note.status is NoteStatus.RETURNED and note.approved_content_hash == ""
            assert "who else" in note.review_comment
        else:  # the same millisecond, and s1's device id sorts later
            assert note.status is NoteStatus.APPROVED and note.review_comment == ""
    # marking it seen resolves it everywhere after a sync
    assert review.mark_conflict_seen(s1.repos, clash.id).value >= 1
    s1.sync()
    s2.sync()
    assert not any(r.id == clash.id for r in review.review_queue(s1.repos))
    open_rows = s2.store.conn.execute(
        "SELECT count(*) FROM conflicts WHERE target_id = ? AND status = 'open'", (clash.id,)
    ).fetchone()[0]
    assert open_rows == 0


def test_supervision_session_signed_on_both_devices_counts_in_hours(server, laptops):
    ann, sam = laptops("ann1", "ann"), laptops("sam1", "sam")
    p, _g = _person(ann, "Pim")
    ann.sync()
    sam.sync()
    session = supervision.save_session(
        sam.repos,
        SupervisionSession(
            supervisor_id=sam.user.id,
            specialist_ids=(ann.user.id,),
            session_date=date.today(),
            minutes=60,
            topics=(SupervisionTopic.CASELOAD.value, SupervisionTopic.DOCUMENTATION.value),
            cases_reviewed=(p.id,),
            action_items="Catch up on two drafts",
        ),
    ).value
    with pytest.raises(StoreError, match="not on this laptop yet"):
        supervision.sign_session(ann.repos, ann.vault, PASSPHRASE, session.id)
    sam.sync()
    ann.sync()
    with pytest.raises(StoreError, match="has not signed this session yet"):
        supervision.sign_session(ann.repos, ann.vault, PASSPHRASE, session.id)
    supervision.sign_session(sam.repos, sam.vault, PASSPHRASE, session.id)
    assert not sam.sync().rejected
    ann.sync()
    mine = supervision.sessions(ann.repos)
    assert [r.session.id for r in mine] == [session.id] and not mine[0].signed_by_me
    supervision.sign_session(ann.repos, ann.vault, PASSPHRASE, session.id)
    assert not ann.sync().rejected
    sam.sync()
    row = next(r for r in supervision.sessions(sam.repos) if r.session.id == session.id)
    assert row.signatures.complete
    overview = team.team_overview(sam.repos)
    ann_row = next(r for r in overview.rows if r.specialist_id == ann.user.id)
    assert ann_row.supervision_hours_year == 1.0
    assert sum(overview.hours[ann.user.id]) == pytest.approx(1.0)
    entries = sam.store.conn.execute(
        "SELECT specialist_id, minutes, supervision_id FROM time_entries WHERE category = ?",
        ("supervision received",),
    ).fetchall()
    assert entries == [(ann.user.id, 60, session.id)]
    # the action items travelled intact
    got = sam.store.conn.execute(
        "SELECT action_items, cases_reviewed FROM supervision_sessions WHERE id = ?",
        (session.id,),
    ).fetchone()
    assert got[0] == "Catch up on two drafts" and json.loads(got[1]) == [p.id]
