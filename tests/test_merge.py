"""The merge rules in sync/merge.py, as pure functions."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from sync import merge
from sync.hlc import Stamp

S = [str(Stamp(1_000 + i, 0, "devaaaa")) for i in range(10)]


def test_first_write_applies():
    assert merge.decide(None, None, S[1], None) == merge.Decision(merge.Outcome.APPLY, False)


def test_duplicate_is_ignored():
    assert merge.decide(S[1], None, S[1], None).outcome is merge.Outcome.DUPLICATE


def test_informed_overwrite_is_not_a_conflict():
    d = merge.decide(S[1], None, S[2], S[1])
    assert d.applies and not d.concurrent


def test_concurrent_newer_wins_and_flags_the_loser():
    d = merge.decide(S[2], S[0], S[3], S[0])  # both written on top of S[0]
    assert d.applies and d.concurrent


def test_concurrent_older_loses_and_is_kept():
    d = merge.decide(S[3], S[0], S[2], S[0])
    assert d.outcome is merge.Outcome.KEEP and d.concurrent


def test_late_delivery_of_a_superseded_change_is_not_a_conflict():
    d = merge.decide(S[3], S[2], S[2], S[1])  # current was written on top of it
    assert d.outcome is merge.Outcome.KEEP and not d.concurrent


@given(st.permutations(range(6)))
def test_last_writer_wins_in_any_delivery_order(order):
    """Whatever order changes arrive in, the greatest stamp ends up in the field."""
    current = None
    for i in order:
        d = merge.decide(current, None, S[i], None)
        if d.applies:
            current = S[i]
    assert current == S[5]


def test_conflict_kind():
    assert merge.conflict_kind("encounters", "intervention") == "text"
    assert merge.conflict_kind("goals", "statement") == "text"
    assert merge.conflict_kind("participants", "county") == "log"


def test_future_stamps_and_clock_warnings():
    now = 10_000_000
    assert not merge.too_far_ahead(str(Stamp(now + 9 * 60_000, 0, "devaaaa")), now)
    assert merge.too_far_ahead(str(Stamp(now + 11 * 60_000, 0, "devaaaa")), now)
    assert merge.clock_warning(4 * 60_000) is None
    # the offset is the server's time minus this laptop's: negative = laptop ahead
    assert "6 minutes behind" in merge.clock_warning(6 * 60_000)
    assert "24 hours ahead" in merge.clock_warning(-86_400_000)
    assert "about 1 year (365 days) ahead" in merge.clock_warning(-365 * 86_400_000)
    assert "about 1 year (365 days) behind" in merge.clock_warning(365 * 86_400_000)
    assert "3 days behind" in merge.clock_warning(3 * 86_400_000)
    assert "1 minute" not in (merge.clock_warning(-6 * 60_000) or "")


def P(role, table, field, value, record=None, is_set=False, user="u1"):
    return merge.permission_problem(role, user, table, field, value, record or {}, is_set)


def test_signed_note_content_is_frozen():
    assert P("specialist", "encounters", "intervention", "x", {"status": "draft"}) is None
    msg = P("specialist", "encounters", "intervention", "x", {"status": "signed"})
    assert "addendum" in msg


def test_billed_note_cannot_change():
    assert "billed" in P("specialist", "encounters", "plan", "x", {"status": "billed"})
    assert "billed" in P("supervisor", "encounters", "review_comment", "x", {"status": "billed"})
    assert P("billing", "encounters", "status", "approved", {"status": "billed"}) is None


def test_review_fields_are_for_supervisors_only():
    rec = {"status": "signed", "specialist_id": "u1"}
    assert "supervisor" in P("specialist", "encounters", "reviewed_by_id", "u1", rec)
    assert P("supervisor", "encounters", "reviewed_by_id", "u2", rec, user="u2") is None
    assert P("specialist", "encounters", "status", "approved", rec) is not None
    assert P("supervisor", "encounters", "status", "approved", rec, user="u2") is None
    assert P("supervisor", "encounters", "intervention", "x", {"status": "draft"}) is not None


def test_status_moves_by_role():
    for (a, b), role in itertools.product(
        [("draft", "signed"), ("signed", "approved"), ("approved", "billed")],
        ["specialist", "supervisor", "billing"],
    ):
        ok = (a, b) in merge.rules.STATUS_MOVES[role]
        got = P(role, "encounters", "status", b, {"status": a, "specialist_id": "u1"})
        assert (got is None) == ok, (a, b, role, got)


def test_only_the_author_signs():
    assert "author" in P(
        "specialist", "encounters", "status", "signed", {"status": "draft", "specialist_id": "u9"}
    )


def test_addenda_never_change_and_users_are_admin_only():
    assert P("specialist", "addenda", "text", "x", is_set=False) is None
    assert "cannot be changed" in P("specialist", "addenda", "text", "y", is_set=True)
    assert "administrator" in P("specialist", "users", "role", "admin")
    assert P("admin", "users", "role", "admin") is None
    assert "reassign" in P("specialist", "participants", "assigned_specialist_id", "u2")
    assert P("specialist", "participants", "assigned_specialist_id", "u1") is None


def test_unknown_tables_and_fields_are_refused():
    assert P("admin", "nonsense", "x", 1) == "unknown record type"
    assert P("admin", "participants", "nonsense", 1) == "unknown field"


def test_conflicts_only_take_a_resolution():
    assert P("specialist", "conflicts", "status", "resolved") is None
    assert P("specialist", "conflicts", "lost_value", "x") is not None


def test_a_refused_status_move_refuses_the_whole_review_decision():
    signed = {"status": "signed", "specialist_id": "ann"}
    approved = {**signed, "status": "approved"}
    assert merge.decision_problem("supervisor", "sam", ["returned"], signed) is None
    why = merge.decision_problem("supervisor", "sam", ["returned"], approved)
    assert why and "refused whole" in why and "approved to returned" in why
    # moves are taken in order: returned, then void, is allowed from signed
    assert merge.decision_problem("supervisor", "sam", ["returned", "void"], signed) is None
    assert merge.decision_problem("supervisor", "sam", ["void", "returned"], signed) is not None
    assert merge.decision_problem("admin", "root", ["returned"], approved) is None
    # a new note: no status yet means draft
    assert merge.decision_problem("specialist", "ann", ["signed"], {}) is None
    # review fields go with the decision; nothing else does
    assert all(merge.with_decision("encounters", f) for f in merge.rules.NOTE_REVIEW)
    assert not merge.with_decision("encounters", "status")
    assert not merge.with_decision("encounters", "plan")
    assert not merge.with_decision("supervision_sessions", "minutes")


def test_only_a_refused_status_move_made_without_seeing_the_other_is_kept():
    concurrent = merge.decide(S[2], S[0], S[3], S[0])
    informed = merge.decide(S[2], S[0], S[3], S[2])
    assert merge.keeps_refused("encounters", "status", concurrent)
    assert not merge.keeps_refused("encounters", "status", informed)
    assert not merge.keeps_refused("encounters", "review_comment", concurrent)
    assert not merge.keeps_refused("goals", "status", concurrent)


SESSION = {"supervisor_id": "sam", "specialist_ids": '["ann","bo"]', "minutes": 60}


def sess(role, field, value, record=SESSION, user="sam"):
    return P(role, "supervision_sessions", field, value, record, is_set=True, user=user)


def test_only_a_specialist_named_in_the_session_signs_as_specialist():
    at = "2026-03-02T10:00:00+00:00"
    signed = {**SESSION, "supervisor_signed_at": at}
    assert "specialist who took part" in sess("supervisor", "specialist_signed_at", at, signed)
    assert sess("specialist", "specialist_signed_at", at, signed, user="ann") is None
    assert sess("specialist", "specialist_signed_at", at, signed, user="bo") is None
    assert sess("specialist", "specialist_signed_at", at, signed, user="cy") is not None
    # the ids as a list (not JSON text) and unreadable ids
    listed = {**signed, "specialist_ids": ["ann"]}
    assert sess("specialist", "specialist_signed_at", at, listed, user="ann") is None
    broken = {**signed, "specialist_ids": "[ann"}
    assert sess("specialist", "specialist_signed_at", at, broken, user="ann") is not None
    # a new session has no specialists yet: nobody signs it as specialist
    assert sess("specialist", "specialist_signed_at", at, {}, user="ann") is not None


def test_only_the_sessions_supervisor_records_it_until_they_sign():
    at = "2026-03-02T10:00:00+00:00"
    assert sess("supervisor", "minutes", 90) is None
    assert sess("supervisor", "supervisor_signed_at", at) is None
    assert "session's supervisor" in sess("specialist", "minutes", 240, user="ann")
    assert "session's supervisor" in sess("specialist", "supervisor_signed_at", at, user="ann")
    assert "session's supervisor" in sess("specialist", "deleted", 1, user="ann")
    assert "session's supervisor" in sess("supervisor", "minutes", 90, user="sue")
    assert "own sessions" in sess("supervisor", "supervisor_id", "sue")
    signed = {**SESSION, "supervisor_signed_at": at}
    for field, value in (("minutes", 90), ("topics", "[]"), ("supervisor_signed_at", None)):
        assert "is signed" in sess("supervisor", field, value, signed)
    assert sess("admin", "minutes", 90, signed, user="root") is None
    assert "supervision staff" in sess("billing", "minutes", 90, user="bea")


def test_a_supervisor_creates_their_own_sessions_only():
    assert sess("supervisor", "supervisor_id", "sam", {}) is None
    assert sess("supervisor", "minutes", 60, {}) is None
    assert sess("supervisor", "supervisor_id", "sue", {}) is not None
    assert sess("specialist", "supervisor_id", "sam", {}, user="ann") is not None
    assert sess("specialist", "minutes", 60, {}, user="ann") is not None
