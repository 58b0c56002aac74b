"""Likely duplicates and merges without a server: the name matcher (accents,
nicknames, typos and swaps; never on names alone with another date of birth),
the survivor rule merges converge by (property tests over random merge graphs),
the merge rules the server applies, and the duplicates service on a real vault."""

from __future__ import annotations

import json
import string
from datetime import date
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from app.domain.duplicates import SAME_BIRTH_SIMILAR_NAME
from app.domain.duplicates import SAME_MEDICAID
from app.domain.duplicates import Person
from app.domain.duplicates import fold
from app.domain.duplicates import likely_duplicates
from app.domain.records import Encounter
from app.domain.records import Participant
from app.domain.records import Role
from app.services import caseload
from app.services import duplicates
from app.store.errors import StoreError
from sync import merge

BORN = date(1988, 2, 29)


def pair(a: tuple[str, str], b: tuple[str, str], born_b: date = BORN, **kw) -> list:
    people = [Person("p1", *a, BORN), Person("p2", *b, born_b, **kw)]
    return likely_duplicates(people)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("José", "Núñez"), ("Jose", "Nunez")),
        (("Zoë", "Ødegård"), ("Zoe", "Odegard")),
        (("Łukasz", "Wiśniewski"), ("Lukasz", "Wisniewski")),
        (("Bob", "Whitehorse"), ("Robert", "Whitehorse")),
        (("Bill", "Larson"), ("William", "Larson")),
        (("Peggy", "Olson"), ("Margaret", "Olson")),
        (("Liz", "Bad Heart Bull"), ("Elizabeth", "Badheartbull")),
        (("Jonh", "Smith"), ("John", "Smith")),  # two letters swapped
        (("John", "Smtih"), ("John", "Smith")),
        (("Katherine", "Johnson"), ("Katharine", "Jonson")),  # one typo each
        (("Maria", "Garcia Lopez"), ("María", "García")),  # a compound surname
        (("Ann-Marie", "O'Neil"), ("Ann Marie", "ONeil")),
        (("Chen", "Lee"), ("Lee", "Chen")),  # first and last name swapped
    ],
)
def test_similar_names_with_the_same_birth_date_match(a, b):
    assert [m.reason for m in pair(a, b)] == [SAME_BIRTH_SIMILAR_NAME]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("Alice", "Smith"), ("Bob", "Smith")),
        (("John", "Smith"), ("John", "Jones")),
        (("Mary", "Lee"), ("Marvin", "Lee")),
        (("Ann", "Berg"), ("Ann", "Borgen")),
    ],
)
def test_different_names_do_not_match(a, b):
    assert pair(a, b) == []


def test_another_birth_date_never_matches_on_names_but_a_medicaid_id_does():
    assert pair(("Robert", "Smith"), ("Bob", "Smith"), BORN + timedelta(days=1)) == []
    assert pair(("Robert", "Smith"), ("Robert", "Smith"), None) == []  # one has no birth date
    found = pair(("Ann", "Berg"), ("Zed", "Quist"), None, medicaid_id="nd-123 456")
    assert found == []  # only one of them has the Medicaid ID
    people = [
        Person("p1", "Ann", "Berg", BORN, "ND123456"),
        Person("p2", "Zed", "Quist", None, "nd-123 456"),
    ]
    assert [m.reason for m in likely_duplicates(people)] == [SAME_MEDICAID]


def test_pairs_marked_not_the_same_person_are_left_out():
    people = [Person(i, "Robert", "Smith", BORN) for i in ("c", "a", "b")]
    assert [m.pair for m in likely_duplicates(people)] == [("a", "b"), ("a", "c"), ("b", "c")]
    assert [m.pair for m in likely_duplicates(people, [("c", "a"), ("b", "c")])] == [("a", "b")]


def test_fold():
    assert fold("  Núñez-O'Brien ") == "nunez obrien"
    assert fold("ĐURIĆ") == "duric"


names = st.text(alphabet=string.ascii_lowercase, min_size=5, max_size=12)


@settings(max_examples=200, deadline=None)
@given(first=names, last=names, i=st.integers(0, 10), accent=st.booleans())
def test_property_a_swap_or_an_accent_still_matches(first, last, i, accent):
    i %= len(last) - 1
    swapped = last[:i] + last[i + 1] + last[i] + last[i + 2 :]
    other_first = first.replace("e", "é").replace("a", "á") if accent else first.upper()
    people = [Person("p1", first, last, BORN), Person("p2", other_first, swapped, BORN)]
    assert [m.reason for m in likely_duplicates(people)] == [SAME_BIRTH_SIMILAR_NAME]


@settings(max_examples=200, deadline=None)
@given(first=names, last=names, days=st.integers(1, 20000))
def test_property_never_a_match_on_names_with_another_birth_date(first, last, days):
    people = [
        Person("p1", first, last, BORN),
        Person("p2", first, last, BORN + timedelta(days=days)),
    ]
    assert likely_duplicates(people) == []


# -- the survivor rule -------------------------------------------------------------------

ids = st.sampled_from([f"id{i}" for i in range(8)])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(ids, ids, max_size=8))
def test_property_one_survivor_per_merge_group(edges):
    """Whatever merges were made (cycles included), every record linked by merges
    has the same survivor, which is a member of the group and is itself live."""
    edges = {k: v for k, v in edges.items() if k != v}
    tops = merge.merge_groups(edges)
    # weakly connected components, independently
    comp = {n: n for n in set(edges) | set(edges.values())}

    def find(n: str) -> str:
        while comp[n] != n:
            n = comp[n]
        return n

    for a, b in edges.items():
        comp[find(a)] = find(b)
    for a in tops:
        for b in tops:
            assert (tops[a] == tops[b]) == (find(a) == find(b))
        assert merge.survivor(tops[a], edges) == tops[a]
        assert find(tops[a]) == find(a)


def test_a_cycle_keeps_the_smallest_id_and_a_chain_its_end():
    assert merge.survivor("b", {"a": "b", "b": "a"}) == "a"
    assert merge.survivor("a", {"a": "b", "b": "a"}) == "a"
    assert merge.survivor("x", {"x": "c", "c": "b", "b": "c"}) == "b"
    assert merge.survivor("a", {"a": "b", "b": "c"}) == "c"
    assert merge.survivor("q", {}) == "q"


# -- the rules the server applies ----------------------------------------------------------


def test_who_may_write_a_merge():
    rec = {"first_name": "Ada", "phone": "", "medicaid_id": "ND1", "diagnoses": "[]"}

    def problem(role: str, field: str, value) -> str | None:
        return merge.permission_problem(role, "u1", "participants", field, value, rec, True)

    assert problem("specialist", "merged_into", "p2") == "only a supervisor merges records"
    assert problem("billing", "merged_into", "p2") is not None
    assert problem("supervisor", "merged_into", "p2") is None
    assert problem("admin", "merged_into", "p2") is None
    assert problem("supervisor", "distinct_from", '["p2"]') is None
    assert problem("specialist", "distinct_from", '["p2"]') is None
    assert problem("supervisor", "phone", "701-555-0100") is None  # fills an empty field
    assert problem("supervisor", "diagnoses", '["F11.20"]') is None
    assert problem("supervisor", "medicaid_id", "ND1") is None  # the value it holds
    assert problem("supervisor", "medicaid_id", "ND2") is not None
    assert problem("supervisor", "first_name", "Eve") is not None
    assert problem("supervisor", "assigned_specialist_id", "u1") is not None
    assert problem("supervisor", "status", "discharged") is not None


# -- the service, on a real vault -------------------------------------------------------------


def _people(repos, role: Role = Role.SUPERVISOR):
    me = repos.users.require(repos.store.user_id)
    if me.role != role:
        repos.users.update(me.replace(role=role))
    a = repos.participants.add(
        Participant(first_name="Robert", last_name="Two Crows", date_of_birth=BORN,
                    phone="701-555-0111", county="Sioux", assigned_specialist_id=me.id)
    )  # fmt: skip
    b = repos.participants.add(
        Participant(first_name="Bob", last_name="Twocrows", date_of_birth=BORN,
                    phone="701-555-0222", medicaid_id="ND7770001", diagnoses=("F10.20",),
                    assigned_specialist_id=me.id)
    )  # fmt: skip
    for p in (a, b):
        repos.encounters.add(
            Encounter(participant_id=p.id, specialist_id=me.id,
                      service_date=date(2026, 9, 1), data="Met")
        )  # fmt: skip
    return a, b


def test_merge_fills_keeps_and_audits(repos):
    a, b = _people(repos)
    assert [set(d.ids) for d in duplicates.find_duplicates(repos)] == [{a.id, b.id}]
    out = duplicates.merge(repos, a.id, b.id)
    assert set(out.changed.ids) == {a.id, b.id}
    done = out.value
    assert set(done.filled) == {"medicaid_id", "diagnoses"}
    assert done.conflicting == ("first_name", "last_name", "phone")
    kept = repos.participants.require(a.id)
    assert kept.medicaid_id == "ND7770001" and kept.diagnoses == ("F10.20",)
    assert kept.phone == "701-555-0111" and kept.county == "Sioux"
    gone = repos.participants.require(b.id)
    assert gone.merged_into == a.id and gone.phone == "701-555-0222"  # nothing lost
    assert [p.id for p in repos.participants.caseload()] == [a.id]
    # the caseload row counts both records' unsigned notes
    row = caseload.caseload_rows(repos)[0]
    assert row.id == a.id and row.facts.unsigned_notes == 2
    trail = duplicates.merge_trail(repos, a.id)
    assert len(trail) == 1 and trail[0]["merged"] == b.id and trail[0]["into"] == a.id
    assert trail[0]["user_id"] == repos.store.user_id
    assert trail[0]["conflicting"] == ["first_name", "last_name", "phone"]
    assert duplicates.group_ids(repos, b.id) == sorted([a.id, b.id])
    with pytest.raises(StoreError, match="already merged"):
        duplicates.merge(repos, b.id, a.id)


def test_only_a_supervisor_merges(repos):
    a, b = _people(repos, Role.SPECIALIST)
    with pytest.raises(StoreError, match="Only a supervisor"):
        duplicates.merge(repos, a.id, b.id)
    assert repos.participants.require(b.id).merged_into == ""
    duplicates.mark_distinct(repos, b.id, a.id)
    assert duplicates.find_duplicates(repos) == []
    assert duplicates.known_count(repos) == 0


def test_after_a_merge_the_kept_record_saves_and_bills_as_one_person(repos, store):
    from app.services import billing
    from app.services import records

    a, b = _people(repos)
    duplicates.merge(repos, a.id, b.id)
    kept = repos.participants.require(a.id)
    # the kept record now holds the merged record's Medicaid ID: not "another's"
    out = records.save_participant(repos, kept.replace(county="Morton"), False, False)
    assert out.saved is not None and not out.problems and not out.duplicates
    # a note of the merged record is billed for the person the merge kept
    data = billing.load_data(store, date(2026, 9, 1), date(2026, 9, 30))
    notes = {e.participant_id for e in data.encounters}
    assert notes == {a.id, b.id}
    assert {data.participants[pid].id for pid in notes} == {a.id}
    assert data.participants[b.id].medicaid_id == "ND7770001"


def test_the_command_line_lists_merges_and_marks(vault, store, repos):
    from tests.conftest import PASSPHRASE
    from tests.helpers import run_cli

    a, b = _people(repos)
    c = repos.participants.add(
        Participant(first_name="Rob", last_name="Twocrows", date_of_birth=BORN,
                    assigned_specialist_id=repos.store.user_id)
    )  # fmt: skip
    store.close()
    env = {"PEERTRAIL_PASSPHRASE": PASSPHRASE}
    d = str(vault.dir)

    def cli(*args: str) -> dict:
        out = run_cli("duplicates", "--json", *args, "--data-dir", d, env=env)
        assert out.returncode == 0, out.stderr
        text = out.stdout
        return json.loads(text[text.index("{") :])

    assert len(cli()["duplicates"]) == 3  # every pair of the three
    assert len(cli("--merge", a.id, b.id)["duplicates"]) == 1
    left = cli("--distinct", c.id, a.id)["duplicates"]
    assert left == []
    out = run_cli("duplicates", "--merge", c.id, c.id, "--data-dir", d, env=env)
    assert out.returncode != 0 and "two different records" in out.stderr
    assert "Twocrows" not in out.stderr + out.stdout  # ids, never names


def test_search_finds_a_merged_person_as_the_record_kept(repos):
    from app.services import search

    a, b = _people(repos)
    repos.encounters.add(
        Encounter(participant_id=b.id, specialist_id=repos.store.user_id,
                  service_date=date(2026, 9, 2), data="Talked about fishing at the lake")
    )  # fmt: skip
    before = {h.record_id for h in search.find(repos, "Bob", 10) if h.kind == "participant"}
    assert before == {b.id}
    duplicates.merge(repos, a.id, b.id)
    # the merged record's own name finds the person kept, under the kept name
    people = [h for h in search.find(repos, "Bob", 10) if h.kind == "participant"]
    assert [(h.record_id, h.participant_id, h.title) for h in people] == [
        (a.id, a.id, "Robert Two Crows")
    ]
    # a name both records share lists the person once
    both = [h for h in search.find(repos, "Two", 10) if h.kind == "participant"]
    assert [h.record_id for h in both] == [a.id]
    # a note of the merged record opens the kept person; the note itself is kept
    notes = [h for h in search.find(repos, "fishing", 10) if h.kind == "note"]
    assert len(notes) == 1 and notes[0].participant_id == a.id
    assert notes[0].title == "Robert Two Crows"
    assert repos.encounters.require(notes[0].record_id).participant_id == b.id
