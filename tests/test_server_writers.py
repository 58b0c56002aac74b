"""The server's SQLite writers queue (sync.server.writers) and the request log's
group commit (sync.server.api.request_log), on real encrypted SQLite files."""

from __future__ import annotations

import asyncio
import threading
import time

from sqlalchemy import event
from sqlalchemy import select
from sqlalchemy import text

from sync.server import db
from sync.server.api.request_log import GroupCommit
from sync.server.tables import counters
from sync.server.tables import request_log
from sync.server.writers import FifoLock


def test_fifo_lock_hands_over_in_arrival_order():
    lock = FifoLock()
    assert lock.acquire(1.0)
    order: list[int] = []
    threads = []
    for i in range(5):

        def take(i: int = i) -> None:
            lock.acquire(5.0)
            order.append(i)
            lock.release()

        t = threading.Thread(target=take)
        t.start()
        threads.append(t)
        while lock.waiting < i + 1:  # each one queued before the next starts
            time.sleep(0.001)
    lock.release()
    for t in threads:
        t.join(5)
    assert order == [0, 1, 2, 3, 4]
    assert lock.acquire(0.1)  # free again after the last
    lock.release()


def test_fifo_lock_wait_runs_out_and_leaves_no_waiter():
    lock = FifoLock()
    assert lock.acquire(1.0)
    assert not lock.acquire(0.05)
    assert lock.waiting == 0
    lock.release()
    assert lock.acquire(0.05)
    lock.release()


def test_concurrent_writers_all_commit_and_a_rollback_frees_the_queue(tmp_path):
    engine = db.open_engine(tmp_path / "w")
    db.upgrade(engine)
    try:
        with engine.begin() as conn:
            conn.execute(counters.insert().values(name="n", value=0))

        def bump(times: int) -> None:
            for _ in range(times):
                with engine.begin() as conn:
                    value = conn.execute(
                        select(counters.c.value).where(counters.c.name == "n")
                    ).scalar_one()
                    conn.execute(
                        counters.update().where(counters.c.name == "n").values(value=value + 1)
                    )

        def fail() -> None:
            try:
                with engine.begin() as conn:
                    conn.execute(text("UPDATE counters SET value = -1000 WHERE name = 'n'"))
                    raise RuntimeError("rolled back")
            except RuntimeError:
                pass

        threads = [threading.Thread(target=bump, args=(10,)) for _ in range(12)]
        threads += [threading.Thread(target=fail) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        with db.reading(engine) as conn:
            total = conn.execute(select(counters.c.value).where(counters.c.name == "n")).scalar()
        assert total == 120  # no lost update, no "database is locked", rollbacks undone
    finally:
        engine.dispose()


def test_request_log_rows_share_transactions_and_none_is_lost(tmp_path):
    engine = db.open_engine(tmp_path / "g")
    db.upgrade(engine)
    commits = []
    event.listen(engine, "commit", lambda _conn: commits.append(1))
    try:
        log = GroupCommit(engine)
        row = dict(at="t", device_id="d", user_id="u", method="POST", path="/v1/sync", status=200)

        async def requests_end() -> None:  # 40 requests of one event loop
            await asyncio.gather(*(log.write({**row, "ms": i}) for i in range(40)))

        loop_thread = threading.Thread(target=lambda: asyncio.run(requests_end()))
        with engine.begin():  # a sync holding the writers' queue while requests end
            loop_thread.start()
            deadline = time.monotonic() + 30
            while log.writing + len(log._pending) < 40 and time.monotonic() < deadline:
                time.sleep(0.005)  # the first batch waits; the others queue behind it
            assert log.writing and len(log._pending) == 40 - log.writing
        loop_thread.join(60)
        assert not loop_thread.is_alive()  # every request was woken
        with db.reading(engine) as conn:
            written = sorted(r[0] for r in conn.execute(select(request_log.c.ms)))
        assert written == list(range(40))
        # the held transaction, the first row's batch, then one batch for the rest
        assert len(commits) <= 4, len(commits)
    finally:
        engine.dispose()
