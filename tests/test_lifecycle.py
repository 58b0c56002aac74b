"""The service note's life cycle: signing, locking, addenda, review, billing, void."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from datetime import datetime
from datetime import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

import app.domain.lifecycle as lc
from app.domain.lifecycle import CONTENT_FIELDS
from app.domain.lifecycle import NARRATIVE_FIELDS
from app.domain.lifecycle import LifecycleError
from app.domain.lifecycle import approve
from app.domain.lifecycle import check_edit
from app.domain.lifecycle import content_hash
from app.domain.lifecycle import make_addendum
from app.domain.lifecycle import mark_billed
from app.domain.lifecycle import return_for_revision
from app.domain.lifecycle import sign
from app.domain.lifecycle import signing_problems
from app.domain.lifecycle import unbill
from app.domain.lifecycle import void
from app.domain.records import Addendum
from app.domain.records import Encounter
from app.domain.records import Modality
from app.domain.records import NoteFormat
from app.domain.records import NoteStatus
from app.domain.records import Role
from app.domain.records import ServiceSetting
from app.domain.records import User
from app.domain.validation import ValidationError

S = NoteStatus
AT = datetime(2025, 3, 4, 15, 30)
LATER = datetime(2025, 3, 5, 9, 0)

AUTHOR = User(id="u-author", username="ana", display_name="Ana", role=Role.SPECIALIST)
PEER = User(id="u-peer", username="ben", display_name="Ben", role=Role.SPECIALIST)
SUPERVISOR = User(id="u-sup", username="sue", display_name="Sue", role=Role.SUPERVISOR)
ADMIN = User(id="u-admin", username="al", display_name="Al", role=Role.ADMIN)
BILLER = User(id="u-bill", username="bo", display_name="Bo", role=Role.BILLING)
ACTORS = (AUTHOR, PEER, SUPERVISOR, ADMIN, BILLER)


def girp_draft(**changes: object) -> Encounter:
    note = Encounter(
        id="enc-1",
        participant_id="p-1",
        specialist_id=AUTHOR.id,
        service_date=date(2025, 3, 4),
        start_time=time(14, 0),
        end_time=time(14, 50),
        place_of_service="11",
        service_code="H0038",
        goal_ids=("g-1",),
        note_format=NoteFormat.GIRP,
        goal_text="Find stable housing",
        intervention="Walked through the housing application together",
        response="Completed half the form and felt hopeful",
        plan="Finish the form at the next session",
    )
    return note.replace(**changes)  # type: ignore[return-value]


def dap_draft(**changes: object) -> Encounter:
    note = girp_draft(
        note_format=NoteFormat.DAP,
        goal_text="",
        intervention="",
        response="",
        data="Met at the library; talked about the job search",
        assessment="Motivated, some worry about transport",
        plan="Look up bus routes together next week",
    )
    return note.replace(**changes)  # type: ignore[return-value]


def signed_note(**changes: object) -> Encounter:
    return sign(girp_draft(**changes), AUTHOR, AT)


def approved_note() -> Encounter:
    n = signed_note()
    return approve(n, SUPERVISOR, LATER, content_hash(n))


def billed_note() -> Encounter:
    return mark_billed(approved_note(), "batch-1", LATER)


def returned_note() -> Encounter:
    return return_for_revision(signed_note(), SUPERVISOR, LATER, "Add the person's response")


def void_note() -> Encounter:
    return void(girp_draft(), AUTHOR, "entered twice")


NOTE_IN: dict[NoteStatus, Callable[[], Encounter]] = {
    S.DRAFT: girp_draft,
    S.SIGNED: signed_note,
    S.RETURNED: returned_note,
    S.APPROVED: approved_note,
    S.BILLED: billed_note,
    S.VOID: void_note,
}


def test_fixture_notes_are_in_their_status() -> None:
    assert set(NOTE_IN) == set(NoteStatus)
    for status, make in NOTE_IN.items():
        assert make().status is status


# A different value for every content field; the test below keeps it complete.
OTHER_VALUE: dict[str, object] = {
    "participant_id": "p-2",
    "specialist_id": "u-other",
    "service_date": date(2025, 3, 5),
    "start_time": time(14, 5),
    "end_time": time(14, 55),
    "modality": Modality.VIDEO,
    "place_of_service": "02",
    "location_note": "public library",
    "setting": ServiceSetting.GROUP,
    "group_size": 4,
    "service_code": "H0039",
    "modifiers": ("HQ",),
    "payer_id": "payer-2",
    "goal_ids": ("g-1", "g-2"),
    "note_format": NoteFormat.DAP,
    "goal_text": "Find stable housing.",
    "intervention": "Role-played the landlord call",
    "response": "Laughed, then practiced twice",
    "plan": "Call the landlord on Monday",
    "data": "some data",
    "assessment": "some assessment",
}


def test_other_value_table_covers_every_content_field() -> None:
    assert set(OTHER_VALUE) == set(CONTENT_FIELDS)
    base = girp_draft()
    for f, v in OTHER_VALUE.items():
        assert getattr(base, f) != v, f


# --- signing problems ---


def fields(problems: list[tuple[str, str]]) -> list[str]:
    return [f for f, _ in problems]


def test_complete_girp_and_dap_notes_have_no_problems() -> None:
    assert signing_problems(girp_draft()) == []
    assert signing_problems(dap_draft()) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"participant_id": ""}, ["participant_id"]),
        ({"specialist_id": ""}, ["specialist_id"]),
        ({"start_time": None}, ["start_time"]),
        ({"end_time": None}, ["start_time"]),
        ({"start_time": None, "end_time": None}, ["start_time"]),
        ({"end_time": time(14, 0)}, ["end_time"]),  # zero minutes
        ({"end_time": time(13, 59)}, ["end_time"]),  # end before start
        ({"goal_ids": ()}, ["goal_ids"]),
        ({"setting": ServiceSetting.GROUP}, ["group_size"]),
        ({"setting": ServiceSetting.GROUP, "group_size": 1}, ["group_size"]),
        ({"goal_text": ""}, ["goal_text"]),
        ({"intervention": "   "}, ["intervention"]),
        ({"response": "\n\t"}, ["response"]),
        ({"plan": ""}, ["plan"]),
    ],
)
def test_each_missing_thing_is_listed_for_girp(changes: dict, expected: list[str]) -> None:
    problems = signing_problems(girp_draft(**changes))
    assert fields(problems) == expected
    assert all(msg.strip() for _, msg in problems)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"data": ""}, ["data"]),
        ({"assessment": " "}, ["assessment"]),
        ({"plan": ""}, ["plan"]),
        ({"data": "", "assessment": "", "plan": ""}, ["data", "assessment", "plan"]),
        ({"start_time": None}, ["start_time"]),
        ({"end_time": time(13, 0)}, ["end_time"]),
        ({"goal_ids": ()}, ["goal_ids"]),
        ({"setting": ServiceSetting.GROUP, "group_size": 0}, ["group_size"]),
        ({"service_code": "X"}, ["service_code"]),
    ],
)
def test_each_missing_thing_is_listed_for_dap(changes: dict, expected: list[str]) -> None:
    assert fields(signing_problems(dap_draft(**changes))) == expected


def test_girp_parts_are_not_required_in_dap_and_dap_parts_not_in_girp() -> None:
    assert signing_problems(dap_draft(goal_text="", intervention="", response="")) == []
    assert signing_problems(girp_draft(data="", assessment="")) == []


def test_narrative_fields_per_format() -> None:
    assert NARRATIVE_FIELDS[NoteFormat.GIRP] == ("goal_text", "intervention", "response", "plan")
    assert NARRATIVE_FIELDS[NoteFormat.DAP] == ("data", "assessment", "plan")
    assert set(NARRATIVE_FIELDS) == set(NoteFormat)


def test_an_empty_note_lists_everything() -> None:
    empty = Encounter(
        participant_id="",
        specialist_id="",
        service_date=date(2025, 1, 1),
        service_code="",
        place_of_service="",
        modifiers=("X",),
        setting=ServiceSetting.GROUP,
    )
    assert fields(signing_problems(empty)) == [
        "participant_id",
        "specialist_id",
        "start_time",
        "service_code",
        "modifiers",
        "place_of_service",
        "group_size",
        "goal_ids",
        "goal_text",
        "intervention",
        "response",
        "plan",
    ]


@pytest.mark.parametrize(
    "code", ["", "h0038", "H003", "H00388", "W0038", "HOO38", " H0038", "H0038 ", "H0038\n"]
)
def test_bad_service_code(code: str) -> None:
    assert fields(signing_problems(girp_draft(service_code=code))) == ["service_code"]


@pytest.mark.parametrize("code", ["H0038", "H0039", "A0100", "V5008", "T1016"])
def test_good_service_code(code: str) -> None:
    assert signing_problems(girp_draft(service_code=code)) == []


@pytest.mark.parametrize(
    "mods", [("H",), ("HQQ",), ("hq",), ("H-",), ("",), ("HQ", "9"), ("HQ\n",), (" HQ",)]
)
def test_bad_modifier(mods: tuple[str, ...]) -> None:
    assert fields(signing_problems(girp_draft(modifiers=mods))) == ["modifiers"]


@pytest.mark.parametrize("mods", [(), ("HQ",), ("95",), ("GT",), ("93", "HQ"), ("U1", "U2")])
def test_good_modifiers(mods: tuple[str, ...]) -> None:
    assert signing_problems(girp_draft(modifiers=mods)) == []


@pytest.mark.parametrize("pos", ["", "2", "002", "AB", "1O", " 11", "11\n"])
def test_bad_place_of_service(pos: str) -> None:
    assert fields(signing_problems(girp_draft(place_of_service=pos))) == ["place_of_service"]


@pytest.mark.parametrize("pos", ["02", "10", "11", "12", "53", "99"])
def test_good_place_of_service(pos: str) -> None:
    assert signing_problems(girp_draft(place_of_service=pos)) == []


def test_group_with_size_and_individual_without_size_are_fine() -> None:
    assert signing_problems(girp_draft(setting=ServiceSetting.GROUP, group_size=2)) == []
    assert signing_problems(girp_draft(setting=ServiceSetting.INDIVIDUAL, group_size=0)) == []


# --- sign ---


def test_sign_by_author() -> None:
    draft = girp_draft()
    signed = sign(draft, AUTHOR, AT)
    assert signed.status is S.SIGNED
    assert signed.signed_by_id == AUTHOR.id
    assert signed.signed_at == AT
    assert signed.content_hash == content_hash(draft) == content_hash(signed)
    assert draft.status is S.DRAFT  # records are immutable: the draft is untouched
    for f in CONTENT_FIELDS:
        assert getattr(signed, f) == getattr(draft, f)


def test_sign_dap() -> None:
    assert sign(dap_draft(), AUTHOR, AT).status is S.SIGNED


@pytest.mark.parametrize("signer", [PEER, SUPERVISOR, ADMIN, BILLER])
def test_only_the_author_signs(signer: User) -> None:
    with pytest.raises(LifecycleError, match="author"):
        sign(girp_draft(), signer, AT)


@pytest.mark.parametrize("status", [s for s in NoteStatus if s is not S.DRAFT])
def test_only_a_draft_is_signed(status: NoteStatus) -> None:
    with pytest.raises(LifecycleError, match="draft"):
        sign(NOTE_IN[status](), AUTHOR, AT)


def test_sign_refuses_an_incomplete_note_and_lists_its_problems() -> None:
    draft = girp_draft(plan="", goal_ids=())
    with pytest.raises(ValidationError) as exc:
        sign(draft, AUTHOR, AT)
    assert exc.value.problems == signing_problems(draft)
    assert fields(exc.value.problems) == ["goal_ids", "plan"]


# --- a signed note's content is locked ---


def test_a_draft_can_be_edited() -> None:
    before = girp_draft()
    for f, v in OTHER_VALUE.items():
        check_edit(before, before.replace(**{f: v}))  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [s for s in NoteStatus if s is not S.DRAFT])
@pytest.mark.parametrize("field", CONTENT_FIELDS)
def test_content_cannot_change_after_signing(status: NoteStatus, field: str) -> None:
    before = NOTE_IN[status]()
    after = before.replace(**{field: OTHER_VALUE[field]})  # type: ignore[arg-type]
    with pytest.raises(LifecycleError, match="addendum") as exc:
        check_edit(before, after)  # type: ignore[arg-type]
    assert status.value in str(exc.value)


@pytest.mark.parametrize("status", list(NoteStatus))
def test_unchanged_content_is_always_allowed(status: NoteStatus) -> None:
    note = NOTE_IN[status]()
    check_edit(note, note)
    # fields outside the content (status, review, billing) are not content edits
    check_edit(note, note.replace(review_comment="ok", deleted=True))  # type: ignore[arg-type]


# --- addenda ---


@pytest.mark.parametrize(
    ("reason", "text"), [("", "text"), ("reason", ""), ("  ", "text"), ("reason", "\n"), ("", "")]
)
def test_addendum_needs_reason_and_text(reason: str, text: str) -> None:
    with pytest.raises(LifecycleError, match="reason"):
        make_addendum(signed_note(), AUTHOR, LATER, reason, text)


def test_addendum_record() -> None:
    note = signed_note()
    add, after = make_addendum(note, AUTHOR, LATER, "  late entry  ", "  Also discussed bus pass. ")
    assert isinstance(add, Addendum)
    assert add.encounter_id == note.id
    assert add.author_id == AUTHOR.id
    assert add.written_at == LATER
    assert add.reason == "late entry"
    assert add.text == "Also discussed bus pass."
    assert after == note  # a signed note stays signed, content untouched
    assert content_hash(after) == note.content_hash


def test_addendum_on_returned_note_by_author_goes_back_to_signed() -> None:
    note = returned_note()
    _, after = make_addendum(note, AUTHOR, LATER, "revision", "Response: felt hopeful.")
    assert after.status is S.SIGNED
    assert content_hash(after) == note.content_hash
    # and the reviewer can now approve it
    assert approve(after, SUPERVISOR, LATER, content_hash(after)).status is S.APPROVED


@pytest.mark.parametrize("by", [SUPERVISOR, ADMIN])
def test_addendum_on_returned_note_by_supervisor_leaves_it_returned(by: User) -> None:
    _, after = make_addendum(returned_note(), by, LATER, "note", "supervisor comment")
    assert after.status is S.RETURNED


@pytest.mark.parametrize("status", [S.SIGNED, S.APPROVED])
@pytest.mark.parametrize("by", [AUTHOR, SUPERVISOR, ADMIN])
def test_addendum_keeps_signed_and_approved_status(status: NoteStatus, by: User) -> None:
    note = NOTE_IN[status]()
    _, after = make_addendum(note, by, LATER, "correction", "text")
    assert after.status is status


@pytest.mark.parametrize("by", [PEER, BILLER])
def test_addendum_only_by_author_or_supervisor(by: User) -> None:
    with pytest.raises(LifecycleError, match="author or a supervisor"):
        make_addendum(signed_note(), by, LATER, "r", "t")


@pytest.mark.parametrize("status", [S.DRAFT, S.VOID])
def test_no_addendum_on_draft_or_void(status: NoteStatus) -> None:
    with pytest.raises(LifecycleError, match="addenda"):
        make_addendum(NOTE_IN[status](), AUTHOR, LATER, "r", "t")


def test_no_addendum_on_billed_note() -> None:
    with pytest.raises(LifecycleError, match="billed"):
        make_addendum(billed_note(), AUTHOR, LATER, "r", "t")


# --- review: approve and return ---


@pytest.mark.parametrize("reviewer", [SUPERVISOR, ADMIN])
def test_approve_by_supervisor_or_admin(reviewer: User) -> None:
    note = signed_note()
    approved = approve(note, reviewer, LATER, content_hash(note))
    assert approved.status is S.APPROVED
    assert approved.reviewed_by_id == reviewer.id
    assert approved.reviewed_at == LATER
    assert approved.approved_content_hash == note.content_hash == content_hash(note)


def test_approve_clears_an_earlier_return_comment() -> None:
    _, resubmitted = make_addendum(returned_note(), AUTHOR, LATER, "fix", "done")
    assert resubmitted.review_comment
    approved = approve(resubmitted, SUPERVISOR, LATER, content_hash(resubmitted))
    assert approved.review_comment == ""


@pytest.mark.parametrize("reviewer", [AUTHOR, PEER, BILLER])
def test_approve_refused_for_non_supervisors(reviewer: User) -> None:
    note = signed_note()
    with pytest.raises(LifecycleError, match="supervisor"):
        approve(note, reviewer, LATER, content_hash(note))


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMIN])
def test_a_supervisor_cannot_approve_their_own_note(role: Role) -> None:
    boss = User(id="u-boss", username="b", display_name="B", role=role)
    note = sign(girp_draft(specialist_id=boss.id), boss, AT)
    with pytest.raises(LifecycleError, match="own author"):
        approve(note, boss, LATER, content_hash(note))
    with pytest.raises(LifecycleError, match="own author"):
        return_for_revision(note, boss, LATER, "fix")


def test_approve_refused_when_the_reviewer_read_another_version() -> None:
    note = signed_note()
    stale = content_hash(girp_draft(plan="an older plan"))
    with pytest.raises(LifecycleError, match="changed"):
        approve(note, SUPERVISOR, LATER, stale)
    with pytest.raises(LifecycleError, match="changed"):
        approve(note, SUPERVISOR, LATER, "")


@pytest.mark.parametrize("field", CONTENT_FIELDS)
def test_approve_refused_when_content_changed_after_signing(field: str) -> None:
    tampered = signed_note().replace(**{field: OTHER_VALUE[field]})
    # even when the reviewer read the tampered version
    with pytest.raises(LifecycleError, match="changed"):
        approve(tampered, SUPERVISOR, LATER, content_hash(tampered))  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [s for s in NoteStatus if s is not S.SIGNED])
def test_only_signed_notes_are_approved_or_returned(status: NoteStatus) -> None:
    note = NOTE_IN[status]()
    with pytest.raises(LifecycleError, match="signed"):
        approve(note, SUPERVISOR, LATER, content_hash(note))
    with pytest.raises(LifecycleError, match="signed"):
        return_for_revision(note, SUPERVISOR, LATER, "fix")


@pytest.mark.parametrize("reviewer", [SUPERVISOR, ADMIN])
def test_return_for_revision(reviewer: User) -> None:
    note = return_for_revision(signed_note(), reviewer, LATER, "  Add the response. ")
    assert note.status is S.RETURNED
    assert note.review_comment == "Add the response."
    assert note.reviewed_by_id == reviewer.id
    assert note.reviewed_at == LATER


@pytest.mark.parametrize("comment", ["", "  ", "\n"])
def test_return_requires_a_comment(comment: str) -> None:
    with pytest.raises(LifecycleError, match="comment"):
        return_for_revision(signed_note(), SUPERVISOR, LATER, comment)


@pytest.mark.parametrize("reviewer", [AUTHOR, PEER, BILLER])
def test_return_only_by_supervisors(reviewer: User) -> None:
    with pytest.raises(LifecycleError, match="supervisor"):
        return_for_revision(signed_note(), reviewer, LATER, "fix")


# --- billing ---


def test_mark_billed_and_unbill() -> None:
    approved = approved_note()
    billed = mark_billed(approved, "batch-7", LATER)
    assert billed.status is S.BILLED
    assert billed.billing_batch_id == "batch-7"
    assert billed.billed_at == LATER
    back = unbill(billed)
    assert back.status is S.APPROVED
    assert back.billing_batch_id == ""
    assert back.billed_at is None
    assert back.approved_content_hash == approved.approved_content_hash
    assert mark_billed(back, "batch-8", LATER).billing_batch_id == "batch-8"


@pytest.mark.parametrize("status", [s for s in NoteStatus if s is not S.APPROVED])
def test_only_approved_notes_are_billed(status: NoteStatus) -> None:
    with pytest.raises(LifecycleError, match="approved"):
        mark_billed(NOTE_IN[status](), "b", LATER)


@pytest.mark.parametrize("field", CONTENT_FIELDS)
def test_billing_refused_when_content_changed_after_approval(field: str) -> None:
    tampered = approved_note().replace(**{field: OTHER_VALUE[field]})
    with pytest.raises(LifecycleError, match="changed"):
        mark_billed(tampered, "b", LATER)  # type: ignore[arg-type]


def test_billing_refused_without_matching_approved_hash() -> None:
    for bad in ("", "0" * 64, signed_note().content_hash.upper()):
        with pytest.raises(LifecycleError):
            mark_billed(approved_note().replace(approved_content_hash=bad), "b", LATER)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [s for s in NoteStatus if s is not S.BILLED])
def test_unbill_only_billed(status: NoteStatus) -> None:
    with pytest.raises(LifecycleError, match="not billed"):
        unbill(NOTE_IN[status]())


# --- void ---


@pytest.mark.parametrize("status", [S.DRAFT, S.SIGNED, S.RETURNED])
@pytest.mark.parametrize("by", [AUTHOR, SUPERVISOR, ADMIN])
def test_void_with_reason(status: NoteStatus, by: User) -> None:
    note = void(NOTE_IN[status](), by, "  wrong person  ")
    assert note.status is S.VOID
    assert note.void_reason == "wrong person"


@pytest.mark.parametrize("status", [S.APPROVED, S.BILLED])
@pytest.mark.parametrize("by", ACTORS)
def test_approved_or_billed_cannot_be_voided(status: NoteStatus, by: User) -> None:
    with pytest.raises(LifecycleError, match="approved or billed"):
        void(NOTE_IN[status](), by, "reason")


@pytest.mark.parametrize("by", [PEER, BILLER])
def test_void_only_by_author_or_supervisor(by: User) -> None:
    with pytest.raises(LifecycleError, match="author or a supervisor"):
        void(girp_draft(), by, "reason")


@pytest.mark.parametrize("reason", ["", "   "])
def test_void_needs_a_reason(reason: str) -> None:
    with pytest.raises(LifecycleError, match="why"):
        void(girp_draft(), AUTHOR, reason)


@pytest.mark.parametrize("by", ACTORS)
def test_a_void_note_is_final(by: User) -> None:
    note = void_note()
    with pytest.raises(LifecycleError):
        void(note, by, "another reason")
    assert note.void_reason == "entered twice"


# --- content hash ---


def test_content_hash_shape_and_stability() -> None:
    h = content_hash(girp_draft())
    assert re.fullmatch(r"[0-9a-f]{64}", h)
    assert content_hash(girp_draft()) == h
    # identity, status, signature, review and billing fields are not content
    other = girp_draft(
        id="enc-2",
        status=S.BILLED,
        signed_by_id="x",
        signed_at=AT,
        content_hash="y",
        reviewed_by_id="z",
        reviewed_at=LATER,
        review_comment="c",
        approved_content_hash="a",
        billing_batch_id="b",
        billed_at=LATER,
        void_reason="v",
        deleted=True,
    )
    assert content_hash(other) == h


def test_content_hash_is_pinned() -> None:
    """Stored signatures depend on this value: it must not drift between versions,
    runs or machines. Change it only with a migration for signed notes."""
    assert content_hash(girp_draft()) == PINNED_HASH


PINNED_HASH = "60ced25d709d3151f5b8667e6a0365185bfae057e498ba041689d8713e726095"


@pytest.mark.parametrize("field", CONTENT_FIELDS)
def test_content_hash_changes_with_every_content_field(field: str) -> None:
    base = girp_draft()
    assert content_hash(base.replace(**{field: OTHER_VALUE[field]})) != content_hash(base)  # type: ignore[arg-type]


def test_content_hash_tells_none_from_empty_and_tuples_from_order() -> None:
    base = girp_draft()
    assert content_hash(base.replace(start_time=None)) != content_hash(base)  # type: ignore[arg-type]
    a = base.replace(goal_ids=("g-1", "g-2"))
    b = base.replace(goal_ids=("g-2", "g-1"))
    assert content_hash(a) != content_hash(b)  # type: ignore[arg-type]


narrative = st.sampled_from(sorted({f for fs in NARRATIVE_FIELDS.values() for f in fs}))


@given(narrative, st.text(max_size=200), st.text(max_size=200))
def test_content_hash_follows_narrative_text(field: str, a: str, b: str) -> None:
    na = girp_draft(**{field: a})
    nb = girp_draft(**{field: b})
    assert content_hash(na) == content_hash(girp_draft(**{field: a}))
    assert (content_hash(na) == content_hash(nb)) == (a == b)


@given(st.text(min_size=1, max_size=50), st.text(min_size=1, max_size=50))
def test_content_hash_keeps_field_boundaries(a: str, b: str) -> None:
    """Moving text from one field to the next changes the hash."""
    n1 = girp_draft(intervention=a + b, response="")
    n2 = girp_draft(intervention=a, response=b)
    assert content_hash(n1) != content_hash(n2)


# --- the documented graph ---


def _documented_edges() -> set[tuple[NoteStatus, NoteStatus]]:
    doc = lc.__doc__ or ""
    edges: set[tuple[NoteStatus, NoteStatus]] = set()
    # horizontal arrows: "a --label--> b", "a/b/c --label--> d"
    for m in re.finditer(r"(?=(?<![\w/])([\w/]+) --([^>]+?)--> (\w+))", doc):
        for src in m.group(1).split("/"):
            edges.add((NoteStatus(src), NoteStatus(m.group(3))))
    # the vertical arrows of the drawing
    for label in ("return", "addendum", "void batch"):
        assert label in doc
    edges |= {(S.SIGNED, S.RETURNED), (S.RETURNED, S.SIGNED), (S.BILLED, S.APPROVED)}
    return edges


def test_documented_edges_parse() -> None:
    assert _documented_edges() == {
        (S.DRAFT, S.SIGNED),
        (S.SIGNED, S.APPROVED),
        (S.APPROVED, S.BILLED),
        (S.SIGNED, S.RETURNED),
        (S.RETURNED, S.SIGNED),
        (S.BILLED, S.APPROVED),
        (S.DRAFT, S.VOID),
        (S.SIGNED, S.VOID),
        (S.RETURNED, S.VOID),
    }


def _attempts(note: Encounter) -> list[tuple[str, Callable[[], Encounter]]]:
    out: list[tuple[str, Callable[[], Encounter]]] = []
    h = content_hash(note)
    for u in ACTORS:
        out += [
            ("sign", lambda u=u: sign(note, u, AT)),
            ("approve", lambda u=u: approve(note, u, LATER, h)),
            ("return", lambda u=u: return_for_revision(note, u, LATER, "fix")),
            ("addendum", lambda u=u: make_addendum(note, u, LATER, "why", "what")[1]),
            ("void", lambda u=u: void(note, u, "why")),
        ]
    out += [("bill", lambda: mark_billed(note, "batch", LATER)), ("unbill", lambda: unbill(note))]
    return out


def test_reachable_transitions_are_exactly_the_documented_graph() -> None:
    start = girp_draft()
    seen: dict[NoteStatus, Encounter] = {start.status: start}
    queue = [start]
    edges: set[tuple[NoteStatus, NoteStatus]] = set()
    self_loops: set[tuple[NoteStatus, str]] = set()
    while queue:
        note = queue.pop()
        for op, attempt in _attempts(note):
            try:
                after = attempt()
            except (LifecycleError, ValidationError):
                continue
            if after.status is note.status:
                self_loops.add((note.status, op))
                continue
            edges.add((note.status, after.status))
            if after.status not in seen:
                seen[after.status] = after
                queue.append(after)
    assert set(seen) == set(NoteStatus)
    assert edges == _documented_edges()
    # the only moves that keep the status are addenda, which never touch content
    assert {op for _, op in self_loops} <= {"addendum"}
    assert {s for s, _ in self_loops} == {S.SIGNED, S.RETURNED, S.APPROVED}
    # void is final
    assert not any(src is S.VOID for src, _ in edges)
