"""The note editor's reads and writes on a real vault: load, save a draft (insert,
then content-only updates), passphrase check and signing, addenda."""

from __future__ import annotations

from datetime import date
from datetime import time

import pytest

from app.domain.lifecycle import LifecycleError
from app.domain.records import Encounter
from app.domain.records import NoteStatus
from app.domain.records import RoundingRuleName
from app.domain.validation import ValidationError
from app.services import notes as note_queries
from app.store import audit
from app.store.errors import WrongPassphrase
from app.store.repositories import NotFound
from tests.builders import add_encounter
from tests.builders import encounter
from tests.conftest import PASSPHRASE
from tests.note_support import person_with_goals


def _owner(repos):
    return repos.users.require(repos.store.user_id)


def _complete(pid: str, uid: str, goal_id: str) -> Encounter:
    girp = ("Housing", "Listings", "Will call", "Thursday")
    return encounter(
        pid, goal_id, uid, on=date(2025, 3, 4), at=(time(9, 0), time(9, 40)), girp=girp
    )


def test_load_a_new_note_offers_active_goals_and_the_payers_rule(repos):
    p, goals, payer = person_with_goals(repos, rule=RoundingRuleName.WHOLE_UNITS)
    bundle = note_queries.load_note(repos, "", p.id)
    assert bundle.note is None and bundle.participant.id == p.id
    assert {g.id for g in bundle.goals} == {g.id for g in goals}
    assert bundle.payer == payer and bundle.rule.name is RoundingRuleName.WHOLE_UNITS
    draft = note_queries.new_draft(bundle, _owner(repos), date(2025, 3, 4), "fixed-id")
    assert (draft.id, draft.payer_id, draft.status) == ("fixed-id", payer.id, NoteStatus.DRAFT)


def test_load_keeps_a_linked_goal_that_is_no_longer_active(repos):
    p, _goals, _payer = person_with_goals(repos)
    old = next(g for g in repos.goals.list() if g.status.value == "discontinued")
    note = add_encounter(repos, p, old, repos.store.user_id, on=date(2025, 3, 4), at=(None, None))
    bundle = note_queries.load_note(repos, note.id, "")
    assert old.id in {g.id for g in bundle.goals}
    assert [e["action"] for e in audit.trail(repos.store.conn, note.id)][-1] == "view"


def test_load_without_a_note_or_a_person_says_not_found(repos):
    with pytest.raises(NotFound):
        note_queries.load_note(repos, "missing", "")
    with pytest.raises(NotFound):
        note_queries.load_note(repos, "", "nobody")


def test_save_draft_inserts_then_updates_only_content(repos):
    p, _goals, _payer = person_with_goals(repos)
    draft = Encounter(
        participant_id=p.id, specialist_id=repos.store.user_id, service_date=date(2025, 3, 4)
    )
    note_queries.save_draft(repos, draft)
    assert repos.encounters.require(draft.id) == draft
    again = note_queries.save_draft(repos, draft.replace(response="More words")).value
    assert again.response == "More words" and repos.encounters.count() == 1
    changes = [e for e in audit.trail(repos.store.conn, draft.id) if e["action"] == "change"]
    assert changes[-1]["detail"] == {"fields": ["response"]}
    # Saving the same state again writes nothing.
    n = len(audit.trail(repos.store.conn, draft.id))
    note_queries.save_draft(repos, draft.replace(response="More words"))
    assert len(audit.trail(repos.store.conn, draft.id)) == n


def test_save_draft_refuses_to_change_a_signed_note(repos):
    p, goals, _payer = person_with_goals(repos)
    owner = _owner(repos)
    note = repos.encounters.add(_complete(p.id, owner.id, goals[0].id))
    repos.encounters.sign(note.id, owner)
    with pytest.raises(LifecycleError, match="Add an addendum"):
        note_queries.save_draft(repos, note.replace(plan="changed"))
    assert repos.encounters.require(note.id).plan == "Thursday"


def test_check_passphrase_does_not_touch_the_open_vault(repos, vault):
    with pytest.raises(WrongPassphrase):
        note_queries.check_passphrase(vault, "wrong passphrase")
    assert vault.unlocked
    note_queries.check_passphrase(vault, PASSPHRASE)
    assert vault.unlocked
    repos.participants.count()  # the store still works


def test_sign_draft_saves_first_then_checks_the_passphrase(repos, vault):
    p, goals, _payer = person_with_goals(repos)
    owner = _owner(repos)
    draft = _complete(p.id, owner.id, goals[0].id)
    with pytest.raises(WrongPassphrase):
        note_queries.sign_draft(repos, vault, "wrong passphrase", draft, owner)
    stored = repos.encounters.require(draft.id)
    assert stored.status is NoteStatus.DRAFT and stored.plan == "Thursday"
    signed = note_queries.sign_draft(repos, vault, PASSPHRASE, draft, owner).value
    assert signed.status is NoteStatus.SIGNED and signed.content_hash


def test_sign_draft_with_problems_keeps_the_draft(repos, vault):
    p, _goals, _payer = person_with_goals(repos)
    owner = _owner(repos)
    draft = Encounter(
        participant_id=p.id, specialist_id=owner.id, service_date=date(2025, 3, 4), plan="x"
    )
    with pytest.raises(ValidationError) as e:
        note_queries.sign_draft(repos, vault, PASSPHRASE, draft, owner)
    assert "goal_ids" in {f for f, _m in e.value.problems}
    assert repos.encounters.require(draft.id).plan == "x"


def test_add_addendum_and_names(repos):
    p, goals, _payer = person_with_goals(repos)
    owner = _owner(repos)
    note = repos.encounters.add(_complete(p.id, owner.id, goals[0].id))
    repos.encounters.sign(note.id, owner)
    add = note_queries.add_addendum(repos, note.id, owner, "Correction", "Forty minutes").value
    bundle = note_queries.load_note(repos, note.id, "")
    assert [a.id for a in bundle.addenda] == [add.id]
    assert bundle.name(owner.id)  # the owner's username when there is no display name
    assert bundle.name("unknown") == "someone on your team"
    with pytest.raises(LifecycleError, match="both a reason and its text"):
        note_queries.add_addendum(repos, note.id, owner, " ", "text")
