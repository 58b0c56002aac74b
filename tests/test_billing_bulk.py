"""Marking a batch billed and voiding it, set-based: the life-cycle rule still holds
for every service, a batch is marked all or nothing, every mark is captured for
sync, and an export of several payers is one transaction."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from app.billing.codes import code_tables
from app.billing.preflight import BillingData
from app.billing.preflight import run_preflight
from app.domain.lifecycle import LifecycleError
from app.domain.records import Encounter
from app.domain.records import NoteStatus
from app.domain.records import Payer
from app.domain.records import ServiceSetting
from app.services.billing import BillingRefused
from app.services.billing import ExportRequest
from app.services.billing import export
from app.services.billing import next_control
from app.services.billing_batches import void_batch
from app.store.errors import StoreError
from app.store.repositories import NotFound
from app.store.repositories import Repositories
from tests.billing_world import TODAY
from tests.billing_world import make_world
from tests.billing_world import service

OCT = (date(2026, 10, 1), date(2026, 10, 31))


def statuses(repos: Repositories, notes: list[Encounter]) -> set[NoteStatus]:
    return {repos.encounters.require(n.id).status for n in notes}


def billing_outbox(repos: Repositories, record_id: str) -> dict[str, object]:
    rows = repos.store.conn.execute(
        "SELECT field, value FROM outbox WHERE record_id = ? AND field IN "
        "('status', 'billing_batch_id', 'billed_at') ORDER BY seq",
        (record_id,),
    ).fetchall()
    return dict(rows)  # the latest value of each field


def test_a_batch_is_marked_and_unmarked_whole_and_each_service_is_captured(repos):
    w = make_world(repos, people=3)
    notes = [service(w, p, date(2026, 10, 5), start=(8 + 2 * i, 0)) for i, p in enumerate(w.people)]
    n = repos.encounters.mark_billed_many([e.id for e in notes], "batch-a")
    assert n == 3 and statuses(repos, notes) == {NoteStatus.BILLED}
    for e in notes:
        got = billing_outbox(repos, e.id)
        assert got["status"] == "billed" and got["billing_batch_id"] == "batch-a"
        assert got["billed_at"]
    assert repos.encounters.unbill_many([e.id for e in notes], "batch-a", "voided") == 3
    assert statuses(repos, notes) == {NoteStatus.APPROVED}
    for e in notes:
        got = billing_outbox(repos, e.id)
        assert got == {"status": "approved", "billing_batch_id": "", "billed_at": None}


def test_a_note_changed_after_approval_stops_the_whole_batch(repos):
    w = make_world(repos, people=2)
    good = service(w, w.people[0], date(2026, 10, 5))
    changed = service(w, w.people[1], date(2026, 10, 5), start=(11, 0))
    # a merge from another device changed the content of an approved note
    with repos.store.transaction(mode="remote"):
        repos.store.conn.execute(
            "UPDATE encounters SET plan = 'Something else' WHERE id = ?", (changed.id,)
        )
    outbox = repos.store.conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
    with pytest.raises(LifecycleError, match="changed after approval"):
        repos.encounters.mark_billed_many([good.id, changed.id], "batch-b")
    # given as records read in the transaction, with the hash of a different content
    with pytest.raises(LifecycleError, match="changed after approval"), repos.store.transaction():
        recs = [repos.encounters.require(good.id), repos.encounters.require(changed.id)]
        repos.encounters.mark_billed_many(
            recs, "batch-b", content_hashes={changed.id: changed.approved_content_hash + "x"}
        )
    # refused by the status guard inside a transaction that goes on: the good note
    # (already updated by the statement) is put back too
    other = service(w, w.people[1], date(2026, 10, 6))
    with repos.store.transaction():
        recs = [repos.encounters.require(good.id), repos.encounters.require(other.id)]
        repos.store.conn.execute(
            "UPDATE encounters SET status = 'signed' WHERE id = ?", (other.id,)
        )  # captured: the note went back to signed after it was read
        outbox = repos.store.conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
        with pytest.raises(LifecycleError, match="only approved"):
            repos.encounters.mark_billed_many(recs, "batch-b")
        after = repos.store.conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
    assert after == outbox
    assert repos.encounters.require(good.id).status is NoteStatus.APPROVED
    assert repos.encounters.require(other.id).status is NoteStatus.SIGNED


def test_records_must_come_from_the_open_transaction(repos):
    w = make_world(repos, people=1)
    e = service(w, w.people[0], date(2026, 10, 5))
    rec = repos.encounters.require(e.id)
    with pytest.raises(StoreError, match="same transaction"):
        repos.encounters.mark_billed_many([rec], "batch-c")
    # a record that went stale inside the transaction is caught by the status guard
    with pytest.raises(LifecycleError, match="only approved"), repos.store.transaction():
        rec = repos.encounters.require(e.id)
        with repos.store.mode("remote"):
            repos.store.conn.execute(
                "UPDATE encounters SET status = 'signed' WHERE id = ?", (e.id,)
            )
        repos.encounters.mark_billed_many([rec], "batch-c")
    assert repos.encounters.require(e.id).status is NoteStatus.APPROVED


def test_unknown_services_and_other_batches_are_refused(repos):
    w = make_world(repos, people=2)
    a = service(w, w.people[0], date(2026, 10, 5))
    b = service(w, w.people[1], date(2026, 10, 5), start=(11, 0))
    with pytest.raises(NotFound):
        repos.encounters.mark_billed_many([a.id, "no-such-service"], "batch-d")
    assert repos.encounters.require(a.id).status is NoteStatus.APPROVED
    assert repos.encounters.mark_billed_many([a.id, a.id, b.id, b.id], "batch-d") == 2
    with pytest.raises(LifecycleError, match="only approved"):
        repos.encounters.mark_billed_many([a.id], "batch-e")  # already billed
    assert repos.encounters.require(a.id).billing_batch_id == "batch-d"
    # unbilling names the batch: a service billed in another batch stays billed
    with pytest.raises(LifecycleError, match="not billed in that batch"):
        repos.encounters.unbill_many([a.id], "batch-e", "wrong batch")
    with pytest.raises(NotFound):
        repos.encounters.unbill_many([a.id, "no-such-service"], "batch-d", "gone")
    assert statuses(repos, [a, b]) == {NoteStatus.BILLED}


def test_an_export_of_two_payers_is_all_or_nothing(repos, tmp_path: Path):
    w = make_world(repos, people=2)
    other = repos.payers.add(
        Payer(name="Zephyr Health Plan", payer_id="ZEPHYR1", receiver_id="ZEPHYRRCV",
              rate_cents_per_unit=1500, max_units_per_day=16)
    )  # fmt: skip
    first = service(w, w.people[0], date(2026, 10, 5))
    second = service(dataclasses.replace(w, payer=other), w.people[1], date(2026, 10, 5),
                     start=(11, 0))  # fmt: skip
    out = tmp_path / "out"
    out.mkdir()
    n = next_control(repos.store)
    clash = out / f"837P-ZEPHYR1-{n + 1:09d}.x12"  # the second payer's file
    clash.write_text("another program's file")
    with pytest.raises(BillingRefused, match="already exists"):
        export(repos.store, ExportRequest(*OCT, out, today=TODAY))
    # the first payer's files are gone again and nothing was billed or recorded
    assert sorted(p.name for p in out.iterdir()) == [clash.name]
    assert statuses(repos, [first, second]) == {NoteStatus.APPROVED}
    assert repos.billing_batches.count() == 0 and next_control(repos.store) == n
    clash.unlink()
    result = export(repos.store, ExportRequest(*OCT, out, today=TODAY))
    assert [b.batch.interchange_control for b in result.batches] == [n, n + 1]
    assert statuses(repos, [first, second]) == {NoteStatus.BILLED}
    voided = void_batch(repos.store, result.batches[1].batch.id, "Wrong receiver")
    assert voided.void_reason == "Wrong receiver"
    assert repos.encounters.require(second.id).status is NoteStatus.APPROVED
    assert repos.encounters.require(first.id).status is NoteStatus.BILLED


def test_page_cache_is_raised_for_a_bulk_write_and_set_back(store):
    size = lambda: store.conn.execute("PRAGMA cache_size").fetchone()[0]  # noqa: E731
    store.conn.execute("PRAGMA cache_size = -8000")
    with store.page_cache(64):
        assert size() == -64 * 1024
    assert size() == -8000
    store.conn.execute("PRAGMA cache_size = -200000")  # never made smaller
    with store.page_cache(64):
        assert size() == -200000
    assert size() == -200000


def _overlap_ids(encounters: list[Encounter], payer: Payer, world) -> set[str]:
    data = BillingData(
        provider=None,
        payers={payer.id: payer},
        participants={p.id: p for p in world.people},
        users={world.me.id: world.me},
        consents={},
        encounters=encounters,
        codes=code_tables(),
    )
    pf = run_preflight(data, *OCT, TODAY)
    return {i for p in pf.problems if p.check == "overlap" for i in p.encounter_ids}


def test_overlaps_are_found_past_services_that_do_not_overlap(repos):
    """A long service overlaps services that start later than the next one's end."""
    w = make_world(repos, people=3)
    a, b, c = w.people
    d = date(2026, 10, 6)
    long_one = service(w, a, d, start=(9, 0), minutes=120)  # 9:00-11:00
    short = service(w, b, d, start=(9, 10), minutes=15)  # 9:10-9:25
    later = service(w, c, d, start=(10, 30), minutes=20)  # 10:30-10:50
    apart = service(w, c, d, start=(11, 0), minutes=20)  # 11:00-11:20: touches, no overlap
    g1 = service(w, a, d, start=(13, 0), setting=ServiceSetting.GROUP, group_size=3,
                 modifiers=("HQ",))  # fmt: skip
    g2 = service(w, b, d, start=(13, 0), setting=ServiceSetting.GROUP, group_size=3,
                 modifiers=("HQ",))  # fmt: skip
    lone = service(w, c, d, start=(13, 20), minutes=15)  # inside the group session
    notes = [long_one, short, later, apart, g1, g2, lone]
    found = _overlap_ids([repos.encounters.require(n.id) for n in notes], w.payer, w)
    assert found == {long_one.id, short.id, later.id, g1.id, g2.id, lone.id}
