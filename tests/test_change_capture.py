"""Change capture: every repository write records its field-level changes in the
outbox, in the same transaction, and no write path can go around it."""

from __future__ import annotations

import inspect
from datetime import date

import pytest

from app.domain.records import Barc10
from app.domain.records import Consent
from app.domain.records import Encounter
from app.domain.records import Goal
from app.domain.records import NoteStatus
from app.domain.records import Participant
from app.domain.records import Payer
from app.domain.records import RecoveryDomain
from app.domain.records import Role
from app.domain.records import SupervisionSession
from app.domain.records import TimeCategory
from app.domain.records import TimeEntry
from app.domain.records import User
from app.store import repositories as repo_mod
from app.store.codec import codec
from app.store.errors import CaptureViolation
from app.store.repositories import Repositories
from app.store.repositories import Repository
from tests.builders import encounter

READS = {
    "get",
    "require",
    "open",
    "list",
    "iter",
    "count",
    "by_username",
    "find_duplicates",
    "medicaid_ids",
    "caseload",
    "for_participant",
    "addenda",
    "cycle_survivors",
}
WRITES = {
    "add",
    "add_many",
    "update",
    "delete",
    "restore",
    "sign",
    "approve",
    "return_for_revision",
    "add_addendum",
    "mark_billed",
    "unbill",
    "mark_billed_many",
    "unbill_many",
    "rebill_many",
    "void",
}


def _public_methods() -> set[str]:
    names: set[str] = set()
    for _, cls in inspect.getmembers(repo_mod, inspect.isclass):
        if issubclass(cls, Repository):
            names |= {n for n, _ in inspect.getmembers(cls, inspect.isfunction) if n[0] != "_"}
    return names


def test_every_repository_method_is_classified():
    """A new write method must be added to WRITES, and so to the walk below."""
    assert _public_methods() == READS | WRITES


class Outbox:
    def __init__(self, store):
        self.store = store
        self.mark = self._max()

    def _max(self) -> int:
        return self.store.conn.execute("SELECT coalesce(max(seq), 0) FROM outbox").fetchone()[0]

    def new(self) -> list[tuple]:
        rows = self.store.conn.execute(
            "SELECT table_name, record_id, field, value, stamp, base_stamp, device_id, user_id "
            "FROM outbox WHERE seq > ? ORDER BY seq",
            (self.mark,),
        ).fetchall()
        self.mark = self._max()
        return rows


def _stamps(store, record_id: str) -> dict[str, str]:
    return dict(
        store.conn.execute(
            "SELECT field, stamp FROM field_stamps WHERE record_id = ?", (record_id,)
        ).fetchall()
    )


def _check_changes(store, rows, table, record_id, before, after, stamps_before):
    """rows are exactly the fields that differ, with the new values, fresh stamps
    and the replaced stamps as base."""
    c = codec(type(after))
    old = c.to_values(before) if before else {}
    new = c.to_values(after)
    mine = [r for r in rows if r[1] == record_id]
    assert all(r[0] == table for r in mine)
    if before is None:
        defaults = {r[1]: r[4] for r in store.conn.execute(f"PRAGMA table_info({table})")}
        expected = {k for k, v in new.items() if k != "id" and not _is_default(v, defaults[k])}
    else:
        expected = {k for k in new if old[k] != new[k]}
    assert {r[2] for r in mine} == expected
    for _t, _rid, field, value, stamp, base, device, user in mine:
        assert value == new[field]
        assert base == stamps_before.get(field)
        assert stamp.endswith("." + store.device_id) and device == store.device_id
        assert user == store.user_id
        assert base is None or stamp > base
    assert _stamps(store, record_id) == {**stamps_before, **{r[2]: r[4] for r in mine}}


def _is_default(value, literal) -> bool:
    """Whether ``value`` equals a column's default (an SQL literal, or None)."""
    if literal is None:
        return value is None
    if literal.startswith("'"):
        return value == literal[1:-1].replace("''", "'")
    return value == float(literal)


def test_walk_every_write_method(store):
    r = Repositories(store)
    ob = Outbox(store)
    covered: set[str] = set()

    def walk(method: str, table: str, record_id: str, before, call):
        stamps = _stamps(store, record_id)
        result = call()
        after = (
            getattr(r, table if table != "supervision_sessions" else "supervision").get(record_id)
            if table not in ("addenda",)
            else None
        )
        rows = ob.new()
        assert rows, f"{method} wrote nothing to the outbox"
        if after is not None:
            _check_changes(store, rows, table, record_id, before, after, stamps)
        covered.add(method)
        return result

    me = r.users.require(store.user_id)
    boss = User(username="sup", display_name="Supervisor", role=Role.SUPERVISOR)
    walk("add", "users", boss.id, None, lambda: r.users.add(boss))
    me2 = me.replace(display_name="Dana Fieldstone", npi="1558598797")
    walk("update", "users", me.id, me, lambda: r.users.update(me2))
    me = r.users.require(me.id)

    payer = Payer(name="ND Medicaid 1915(i)", max_units_per_day=16)
    r.payers.add(payer)
    ob.new()
    p = Participant(first_name="Ysolde", last_name="Brackenridge", date_of_birth=date(1979, 2, 3))
    people = [
        Participant(first_name=f"Orrin{i}", last_name="Talvesh", date_of_birth=date(1990, 1, i))
        for i in range(1, 4)
    ]
    stamps0 = {}
    r.participants.add_many(people)
    rows = ob.new()
    for person in people:
        _check_changes(store, rows, "participants", person.id, None, person, stamps0)
    covered.add("add_many")
    walk("add", "participants", p.id, None, lambda: r.participants.add(p))
    p2 = p.replace(county="Rolette", diagnoses=("F11.20",), medicaid_id="123456789")
    walk("update", "participants", p.id, p, lambda: r.participants.update(p2))
    gone = people[0]
    walk("delete", "participants", gone.id, gone, lambda: r.participants.delete(gone.id))
    assert r.participants.get(gone.id).deleted  # a tombstone: the row stays
    dead = r.participants.require(gone.id)
    walk("restore", "participants", gone.id, dead, lambda: r.participants.restore(gone.id))
    assert not r.participants.get(gone.id).deleted

    for rec, table in (
        (Consent(participant_id=p.id, recipient="County social services"), "consents"),
        (Goal(participant_id=p.id, domain=RecoveryDomain.HOME, statement="Stay housed"), "goals"),
        (Barc10(participant_id=p.id, assessed_on=date(2026, 1, 5), scores=(3,) * 10), "barc10"),
        (
            TimeEntry(
                specialist_id=me.id,
                entry_date=date(2026, 1, 5),
                category=TimeCategory.TRAVEL,
                minutes=40,
                miles=22.5,
            ),
            "time_entries",
        ),
        (
            SupervisionSession(
                supervisor_id=boss.id,
                specialist_ids=(me.id,),
                session_date=date(2026, 1, 9),
                minutes=60,
            ),
            "supervision_sessions",
        ),
    ):
        repo = r.supervision if table == "supervision_sessions" else getattr(r, table)
        walk("add", table, rec.id, None, lambda rec=rec, repo=repo: repo.add(rec))

    goal = r.goals.list()[0]
    girp = (
        "Keep the apartment",
        "Went over the lease renewal together",
        "Engaged, asked questions",
        "Call the landlord before Friday",
    )
    note = encounter(p, goal, me, on=date(2026, 1, 6), girp=girp)
    walk("add", "encounters", note.id, None, lambda: r.encounters.add(note))
    edited = note.replace(plan="Call the landlord Thursday")
    walk("update", "encounters", note.id, note, lambda: r.encounters.update(edited))
    cur = r.encounters.require(note.id)
    walk("sign", "encounters", note.id, cur, lambda: r.encounters.sign(note.id, me))
    cur = r.encounters.require(note.id)
    walk(
        "return_for_revision",
        "encounters",
        note.id,
        cur,
        lambda: r.encounters.return_for_revision(note.id, boss, "Add how long the call took"),
    )
    cur = r.encounters.require(note.id)
    stamps = _stamps(store, note.id)
    add = r.encounters.add_addendum(note.id, me, "Reviewer asked", "The call took 10 minutes")
    rows = ob.new()
    _check_changes(store, rows, "addenda", add.id, None, r.addenda.require(add.id), {})
    _check_changes(store, rows, "encounters", note.id, cur, r.encounters.require(note.id), stamps)
    covered.add("add_addendum")
    cur = r.encounters.require(note.id)
    assert cur.status is NoteStatus.SIGNED
    walk(
        "approve",
        "encounters",
        note.id,
        cur,
        lambda: r.encounters.approve(note.id, boss, cur.content_hash),
    )
    cur = r.encounters.require(note.id)
    walk("mark_billed", "encounters", note.id, cur, lambda: r.encounters.mark_billed(note.id, "b1"))
    cur = r.encounters.require(note.id)
    walk("unbill", "encounters", note.id, cur, lambda: r.encounters.unbill(note.id, "batch voided"))
    cur = r.encounters.require(note.id)
    walk(
        "mark_billed_many",
        "encounters",
        note.id,
        cur,
        lambda: r.encounters.mark_billed_many([note.id], "b2"),
    )
    cur = r.encounters.require(note.id)
    walk(
        "rebill_many",
        "encounters",
        note.id,
        cur,
        lambda: r.encounters.rebill_many([note.id], "b2", "b3"),
    )
    cur = r.encounters.require(note.id)
    walk(
        "unbill_many",
        "encounters",
        note.id,
        cur,
        lambda: r.encounters.unbill_many([note.id], "b3", "batch voided"),
    )

    draft = Encounter(participant_id=p.id, specialist_id=me.id, service_date=date(2026, 1, 7))
    r.encounters.add(draft)
    ob.new()
    walk(
        "void", "encounters", draft.id, draft, lambda: r.encounters.void(draft.id, me, "Duplicate")
    )

    assert covered == WRITES


def test_a_failed_write_leaves_no_outbox_rows(repos, store):
    before = store.conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
    p = Participant(first_name="Tamsin", last_name="Oakhaven")
    with pytest.raises(RuntimeError), store.transaction():
        repos.participants.add(p)
        raise RuntimeError("power cut in the middle")
    assert store.conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == before
    assert repos.participants.get(p.id) is None


def test_raw_sql_outside_a_store_transaction_is_refused(repos, store):
    p = repos.participants.add(Participant(first_name="Ulric", last_name="Penhallow"))
    with pytest.raises(Exception, match="store transaction"):
        store.conn.execute("UPDATE participants SET county = 'Cass' WHERE id = ?", (p.id,))
    with pytest.raises(Exception, match="store transaction"):
        store.conn.execute(
            "INSERT INTO participants (id, first_name, last_name) VALUES ('x','a','b')"
        )


def test_raw_sql_inside_a_transaction_is_still_captured(repos, store):
    p = repos.participants.add(Participant(first_name="Vesna", last_name="Greythorn"))
    with store.transaction():
        store.conn.execute("UPDATE participants SET county = 'Cass' WHERE id = ?", (p.id,))
    last = store.conn.execute(
        "SELECT field, value FROM outbox ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    assert last == ("county", "Cass")


def test_records_are_never_physically_deleted(repos, store):
    p = repos.participants.add(Participant(first_name="Wendell", last_name="Ashgrove"))
    with pytest.raises(CaptureViolation, match="never deleted"), store.transaction():
        store.conn.execute("DELETE FROM participants WHERE id = ?", (p.id,))
    with pytest.raises(CaptureViolation, match="id never changes"), store.transaction():
        store.conn.execute("UPDATE participants SET id = 'other' WHERE id = ?", (p.id,))
    assert repos.participants.get(p.id) is not None


def test_stamps_stay_monotonic_across_reopen(vault, store):
    from app.store.db import Store

    repos = Repositories(store)
    repos.participants.add(Participant(first_name="Xavia", last_name="Morrow"))
    last = store.conn.execute("SELECT max(stamp) FROM outbox").fetchone()[0]
    store.close()
    s2 = Store.open(vault)
    assert s2.hlc is not None
    assert s2.hlc.now() > last
    s2.close()


def test_every_record_type_round_trips(repos):
    """What is written is what is read back, for every record type."""
    for repo in repos.all():
        for rec in repo.list():
            assert repo.get(rec.id) == rec
