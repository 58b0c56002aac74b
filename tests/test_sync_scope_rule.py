"""The caseload scope rule both ends apply (sync.scope), case by case: what a
specialist, a supervisor, billing and an admin may reach."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

import pytest

from sync.scope import NOT_IN_CASELOAD
from sync.scope import id_set
from sync.scope import scope_problem


@dataclass
class Facts:
    team: tuple[str, ...] = ("ann",)
    known: dict[str, str] = field(default_factory=dict)  # participant -> assignee (server)
    links: dict[str, str] = field(default_factory=lambda: {"p-ann": "ann", "p-bo": "bo"})
    notes: dict[str, str] = field(default_factory=lambda: {"n-ann": "p-ann", "n-bo": "p-bo"})

    def known_assignee(self, pid: str) -> str | None:
        return self.known.get(pid)

    def assignee(self, pid: str) -> str | None:
        return self.links.get(pid)

    def encounter_participant(self, eid: str) -> str | None:
        return self.notes.get(eid)


CASES = [
    # role, table, record id, known fields, facts, status, expected
    ("specialist", "participants", "p1", {"assigned_specialist_id": "ann"}, Facts(), None, None),
    ("specialist", "participants", "p1", {"assigned_specialist_id": "bo"}, Facts(), None,
     "a new participant must be assigned to you"),
    ("supervisor", "participants", "p1", {"assigned_specialist_id": "ann"}, Facts(), None,
     "only specialists add participants"),
    ("specialist", "participants", "p-bo", {}, Facts(known={"p-bo": "bo"}), None,
     NOT_IN_CASELOAD),
    ("supervisor", "participants", "p-bo", {}, Facts(team=("sam", "bo"), known={"p-bo": "bo"}),
     None, None),
    ("specialist", "encounters", "e1", {"participant_id": "p-ann"}, Facts(), "draft", None),
    ("specialist", "encounters", "e1", {"participant_id": "p-bo"}, Facts(), "draft",
     NOT_IN_CASELOAD),
    ("specialist", "encounters", "e1", {"participant_id": "p-new"}, Facts(), "draft",
     NOT_IN_CASELOAD),
    ("billing", "encounters", "e1", {"participant_id": "p-bo"}, Facts(), "approved", None),
    ("billing", "encounters", "e1", {"participant_id": "p-bo"}, Facts(), "signed",
     "billing sees approved services only"),
    ("specialist", "addenda", "a1", {"encounter_id": "n-ann"}, Facts(), None, None),
    ("specialist", "addenda", "a1", {"encounter_id": "n-bo"}, Facts(), None, NOT_IN_CASELOAD),
    ("specialist", "addenda", "a1", {"encounter_id": "gone"}, Facts(), None,
     "the record it belongs to is missing"),
    ("specialist", "time_entries", "t1", {"specialist_id": "ann"}, Facts(), None, None),
    ("specialist", "time_entries", "t1", {"specialist_id": "bo"}, Facts(), None, "not your record"),
    ("specialist", "supervision_sessions", "s1",
     {"supervisor_id": "sam", "specialist_ids": '["ann", "bo"]'}, Facts(), None, None),
    ("specialist", "supervision_sessions", "s1",
     {"supervisor_id": "sam", "specialist_ids": '["bo"]'}, Facts(), None,
     "not your supervision session"),
    ("specialist", "users", "u-bo", {}, Facts(), None, None),  # field rules decide
    ("admin", "encounters", "e1", {"participant_id": "p-bo"}, Facts(), "draft", None),
    ("specialist", "no_such_table", "x", {}, Facts(), None, "unknown record type"),
]  # fmt: skip


@pytest.mark.parametrize(("role", "table", "rid", "known", "facts", "status", "want"), CASES)
def test_scope(role, table, rid, known, facts, status, want) -> None:
    assert scope_problem(role, "ann", table, rid, known, facts, status=status) == want


def test_id_set_reads_only_lists() -> None:
    assert id_set('["a", "b"]') == {"a", "b"}
    assert id_set(["a"]) == {"a"}
    assert id_set('{"a": 1}') == set() and id_set("not json") == set() and id_set(None) == set()
