"""The vault gives space back after a sync (app.store.vault.reclaim_space): a new
vault is made with incremental auto-vacuum, an older one is switched by one
VACUUM, and the pages the acknowledged outbox rows took return to the disk."""

from __future__ import annotations

from app.services import syncing
from app.store.replica import StoreReplica
from app.store.vault import reclaim_space
from tests.builders import many_people


def _pages(conn) -> tuple[int, int]:
    return (
        int(conn.execute("PRAGMA page_count").fetchone()[0]),
        int(conn.execute("PRAGMA freelist_count").fetchone()[0]),
    )


def _fill_and_acknowledge(store, repos, n: int) -> None:
    long = {"preferred_name": "x" * 60, "pronouns": "they" * 20}
    people = many_people(n, "Vale", "Spaceperson", store.user_id, birthdays=True, **long)
    repos.participants.add_many(people)
    replica = StoreReplica(store)
    stamps = [c.stamp for c in replica.pending(100_000)]
    with store.transaction(mode="remote"):
        replica._ack(stamps)  # as a sync's reply does
    assert replica.pending_count() == 0


def test_a_new_vault_is_incremental_and_gives_outbox_pages_back(store, repos) -> None:
    conn = store.conn
    assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
    _fill_and_acknowledge(store, repos, 400)
    pages, free = _pages(conn)
    assert free > 0
    out = syncing.record_sync_success(store)  # what every finished sync calls
    assert out is not None
    after, free_after = _pages(conn)
    assert free_after == 0 and after <= pages - free + 1


def test_an_older_vault_is_switched_once_by_vacuum(store, repos) -> None:
    conn = store.conn
    conn.execute("PRAGMA auto_vacuum = NONE")
    conn.execute("VACUUM")  # as vaults made before incremental auto-vacuum are
    assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 0
    _fill_and_acknowledge(store, repos, 300)
    pages, free = _pages(conn)
    assert free > 0
    done = reclaim_space(conn)
    assert done["repacked"] == 1 and done["pages_after"] < pages
    assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
    assert _pages(conn)[1] == 0
    # the participants are all still there
    assert len(repos.participants.list()) == 300
