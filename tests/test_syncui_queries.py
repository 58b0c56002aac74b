"""The sync screens' store queries on a real vault: the overview, open conflicts
with their context, and resolutions written through the repositories (captured,
so they sync). Conflicts are put in as sync puts them: in ``remote`` mode."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time

import pytest

from app.domain import conflict_resolution as cr
from app.domain.records import Participant
from app.domain.records import RecoveryDomain
from app.domain.records import Role
from app.services import conflicts
from app.services import syncing
from tests.builders import add_encounter
from tests.builders import add_goal
from tests.helpers import put_conflict

OTHER_DEVICE = "zzzzyyyyxxxxwwww"


def _stamp(device: str, minute: int) -> str:
    ms = int(datetime(2026, 11, 2, 9, minute, tzinfo=UTC).timestamp() * 1000)
    return f"{ms:012x}.0000.{device}"


def _lost_to_this_vault(repos, target: tuple[str, str, str], pid: str, kept, lost):
    """A conflict where this vault's edit (9:05) beat the other device's (9:03)."""
    stamps = {"kept_stamp": _stamp(repos.store.device_id, 5), "lost_stamp": _stamp(OTHER_DEVICE, 3)}
    return put_conflict(repos, target, pid, kept, lost, **stamps)


@pytest.fixture
def person(repos):
    p = repos.participants.add(
        Participant(first_name="Idunn", last_name="Skaar", date_of_birth=date(1990, 2, 2))
    )
    g = add_goal(repos, p, "Walk daily", RecoveryDomain.HEALTH)
    return p, g


def _outbox(repos, record_id):
    return repos.store.conn.execute(
        "SELECT field, value FROM outbox WHERE record_id = ? AND acked_at IS NULL",
        (record_id,),
    ).fetchall()


def test_overview_of_a_new_vault(store):
    ov = syncing.overview(store)
    assert not ov.enrolled and ov.open_conflicts == 0 and ov.rejected == 0
    assert ov.last_ok_at is None and ov.pending > 0  # the owner's own record waits
    at = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert syncing.record_sync_success(store, at).last_ok_at == at


def test_open_conflicts_give_context_and_merge_writes_through_the_repository(repos, person):
    p, g = person
    repos.goals.update(g.replace(statement="Walk every morning"))
    target = ("goals", g.id, "statement")
    c = _lost_to_this_vault(repos, target, p.id, "Walk every morning", "Walk to the lake")
    views = conflicts.open_conflicts(repos)
    assert len(views) == 1
    v = views[0]
    assert v.participant_name == "Idunn Skaar" and v.current_text == "Walk every morning"
    assert v.lost_text == "Walk to the lake" and not v.changed_since and not v.locked_reason
    before = {f for f, _ in _outbox(repos, c.id)}
    assert before == set()
    conflicts.resolve_conflict(repos, c.id, cr.Choice.MERGE, "Walk to the lake every morning")
    assert repos.goals.require(g.id).statement == "Walk to the lake every morning"
    # both edits are captured for the next sync; only resolution fields of the conflict
    assert {f for f, _ in _outbox(repos, c.id)} <= {
        "status",
        "resolved_by_id",
        "resolved_at",
        "resolution",
    }
    assert _outbox(repos, g.id)[-1] == ("statement", "Walk to the lake every morning")
    assert conflicts.open_conflicts(repos) == []
    with pytest.raises(cr.ResolutionError, match="already"):
        conflicts.resolve_conflict(repos, c.id, cr.Choice.KEEP_CURRENT)


def test_signed_note_cannot_take_the_other_text_and_nothing_changes(repos, person, store):
    p, g = person
    me = repos.users.require(store.user_id)
    girp = ("Health", "Walked together", "Good", "Again Tuesday")
    n = add_encounter(repos, p, g, me, at=(time(10, 0), time(10, 45)), girp=girp)
    repos.encounters.sign(n.id, me)
    target = ("encounters", n.id, "plan")
    c = _lost_to_this_vault(repos, target, p.id, "Again Tuesday", "Again Thursday")
    [v] = conflicts.open_conflicts(repos)
    assert "signed" in v.locked_reason and v.record_date == "2026-11-02"
    with pytest.raises(cr.ResolutionError, match="signed"):
        conflicts.resolve_conflict(repos, c.id, cr.Choice.KEEP_OTHER)
    assert repos.encounters.require(n.id).plan == "Again Tuesday"
    assert len(conflicts.open_conflicts(repos)) == 1  # rolled back: still open
    conflicts.resolve_conflict(repos, c.id, cr.Choice.KEEP_CURRENT)
    assert conflicts.open_conflicts(repos) == []


def test_a_supervisor_cannot_rewrite_a_goal(repos, person):
    p, g = person
    put_conflict(repos, ("goals", g.id, "statement"), p.id, "Walk daily", "Swim")
    [v] = conflicts.open_conflicts(repos, Role.SUPERVISOR)
    assert "supervisor" in v.locked_reason


def test_log_entry_seen_and_edited_after_delete_restored(repos, person):
    p, g = person
    log = put_conflict(repos, ("participants", p.id, "county"), p.id, "Cass", "Clay", kind="log")
    repos.goals.delete(g.id)
    gone = put_conflict(
        repos,
        ("goals", g.id, "statement"),
        p.id,
        "Walk daily, rain or shine",
        kind="edited after delete",
        kept_stamp=_stamp(OTHER_DEVICE, 7),
    )
    views = conflicts.open_conflicts(repos)
    assert [v.kind for v in views] == ["edited after delete", "log"]
    assert views[0].record_deleted and views[1].locked_reason == ""
    conflicts.resolve_conflict(repos, log.id, cr.Choice.SEEN)
    conflicts.resolve_conflict(repos, gone.id, cr.Choice.RESTORE)
    assert repos.goals.require(g.id).deleted is False
    assert _outbox(repos, g.id)[-1] == ("deleted", 0)  # the restore waits to sync
    assert conflicts.open_conflicts(repos) == []


def test_rejected_changes_with_context(repos, person, store):
    p, _g = person
    with store.transaction():
        store.conn.execute(
            "UPDATE outbox SET rejected_reason = 'only an administrator reassigns participants', "
            "rejected_at = '2026-11-02T09:00:00+00:00' WHERE record_id = ? AND field = 'last_name'",
            (p.id,),
        )
    [r] = conflicts.rejected_changes(store)
    assert r.participant_name == "Idunn Skaar" and r.table == "participants"
    assert r.at == datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert syncing.overview(store).rejected == 1
