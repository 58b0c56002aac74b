"""What one small sync asks of the database (sync.server.sql.round_trips, shown in
/metrics as ``peertrail_sql_*``), on SQLite and PostgreSQL, and the checks merged
into fewer statements keeping their meaning: a device revoked after its token was
looked up is still refused inside the write, with nothing stored.

In process (the real app through Starlette's test client, the database a real
file or a real PostgreSQL database), so the counts are this sync's alone.
"""

from __future__ import annotations

import time
from itertools import groupby

import pytest
from prometheus_client import generate_latest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from sync.protocol import PROTOCOL_VERSION
from sync.protocol import PushChange
from sync.protocol import SyncRequest
from sync.server import ops
from sync.server import sql
from sync.server.api.context import Api
from sync.server.api.errors import ApiError
from sync.server.api.limits import TokenBucket
from sync.server.api.sync_routes import _sync
from sync.server.engine import Caller
from sync.server.tables import changes
from sync.server.tables import devices
from sync.server.tables import field_state
from tests.benchmarks import sync_statements as statements
from tests.benchmarks.sync_statements import Laptop
from tests.benchmarks.sync_statements import _round
from tests.server_proc import backend_url
from tests.server_proc import new_device_id

pytestmark = pytest.mark.filterwarnings("ignore:.*httpx")

# The most a small sync (3 fields pushed, a page pulled) may cost, request log
# included. Before the statements were merged (issue 18): 28 on SQLite (3 of them
# BEGIN), 24 on PostgreSQL, with 4 transactions and 4 pool checkouts.
MOST = {
    "sqlite": {"statements": 20, "transactions": 4, "checkouts": 3},
    "postgresql": {"statements": 16, "transactions": 2, "checkouts": 3},
}


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request, tmp_path):
    with statements.served(tmp_path, backend_url(request.param)) as parts:
        yield (request.param, *parts)


def _settled(engine, rows: int) -> int:
    """Wait (bounded) until the request log holds ``rows`` rows (its group commit
    runs on its own thread), reading on the driver's connection so that only the
    pool checkouts of the waiting are counted; returns how many."""
    deadline, checkouts = time.monotonic() + 10, 0
    while True:
        raw = engine.raw_connection()
        checkouts += 1
        try:
            cur = raw.cursor()
            cur.execute("SELECT count(*) FROM request_log")
            logged = cur.fetchone()[0]
            raw.rollback()
        finally:
            raw.close()
        if logged >= rows:
            return checkouts
        assert time.monotonic() < deadline, "the request log was not written"
        time.sleep(0.02)


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_a_small_sync_costs_few_statements(served):
    backend, engine, _sync_engine, client, spec_id = served
    a, b = Laptop(client, "spec"), Laptop(client, "spec")
    pids = [f"p{i}" + new_device_id()[:10] for i in range(10)]
    first = []
    for pid in pids:
        first += [(pid, "first_name", "Ada"), (pid, "last_name", "Example")]
        first += [(pid, "county", "Cass"), (pid, "assigned_specialist_id", spec_id)]
    a.sync(first)
    b.sync([])
    _settled(engine, 4)  # two enrolments, two syncs
    before = dict(vars(sql.round_trips))
    _round(a, pids, 1)  # 3 fields pushed, b's nothing pulled
    waited = _settled(engine, 5)
    spent = {k: vars(sql.round_trips)[k] - before[k] for k in MOST[backend]}
    spent["checkouts"] -= waited
    for name, most in MOST[backend].items():
        assert 0 < spent[name] <= most, (name, spent)
    # b pulls a's edits (the merged reads still find them)
    got = b.sync([])
    assert sum(len(r.fields) for r in got.records) == 3
    # and /metrics shows the counts (what the route serves, read here directly: the
    # test client is not on loopback)
    text = generate_latest(client.app.state.metrics.registry).decode()
    line = next(x for x in text.splitlines() if x.startswith("peertrail_sql_statements_total"))
    assert float(line.split()[1]) >= vars(sql.round_trips)["statements"] - 5


def test_revoked_after_the_token_was_looked_up_stores_nothing(served):
    """The revocation check and the device's last-seen mark are one statement now:
    a device revoked between its token's look-up and the write is refused there,
    nothing it sent is kept and it is not marked seen."""
    _backend, engine, sync_engine, client, spec_id = served
    lap = Laptop(client, "spec")
    kept = _count(engine, changes), _count(engine, field_state)
    with engine.begin() as conn:
        conn.execute(update(devices).where(devices.c.id == lap.id).values(revoked_at="2026-12-07"))
        seen = conn.execute(select(devices.c.last_seen_at).where(devices.c.id == lap.id)).scalar()
    clock = lambda: int(time.time() * 1000)  # noqa: E731
    api = Api(engine, sync_engine, clock, TokenBucket(0, 1), ops.Metrics())
    stamp = lap.hlc.now()
    change = PushChange(
        stamp=stamp, table="participants", record_id="p-revoked", field="first_name", value="Bo"
    )
    req = SyncRequest(
        protocol=PROTOCOL_VERSION, device_id=lap.id, client_time_ms=1, changes=[change]
    )
    with pytest.raises(ApiError) as refused:
        _sync(api, Caller(user_id=spec_id, role="specialist", device_id=lap.id), req)
    assert (refused.value.status, refused.value.error) == (401, "revoked")
    assert (_count(engine, changes), _count(engine, field_state)) == kept
    with engine.connect() as conn:
        after = conn.execute(select(devices.c.last_seen_at).where(devices.c.id == lap.id)).scalar()
    assert after == seen


def test_reads_sent_together_answer_as_they_do_one_by_one(served):
    """``sql.rows_together`` (one round trip on PostgreSQL: the push's counter lock
    and its first reads) gives each read's rows as ``sql.rows`` does, in order,
    with an empty IN list finding nothing."""
    from sync.server import replicas
    from sync.server.engine.working import SeqCounter
    from sync.server.engine.working import Working

    _backend, engine, _sync_engine, client, spec_id = served
    lap = Laptop(client, "spec")
    pids = [f"p{i}" + new_device_id()[:10] for i in range(3)]
    lap.sync(
        [(pid, name, "Ada") for pid in pids for name in ("first_name", "last_name")]
        + [(pid, "assigned_specialist_id", spec_id) for pid in pids]
    )
    again = [PushChange(stamp=lap.hlc.now(), table="participants", record_id=pids[1],
                        field="county", value="Burleigh")]  # fmt: skip
    reads = [
        SeqCounter.read(True),
        replicas.state_read(lap.id),
        *Working.pushed_reads(again),
        (Working.pushed_reads(again)[-1][0], {"ids": []}),
    ]
    with engine.connect() as conn, conn.begin():
        together = sql.rows_together(conn, reads)
    with engine.connect() as conn, conn.begin():
        one_by_one = [sql.rows(conn, stmt, params) for stmt, params in reads]
    assert [sorted(map(tuple, r)) for r in together] == [sorted(map(tuple, r)) for r in one_by_one]
    assert together[0] and together[-1] == []
    assert any(row[1] == pids[1] for read in together[2:] for row in read if len(row) == 8)


def test_concurrent_pushes_take_the_counter_one_at_a_time(served):
    """Pushes from many laptops at once: no seq is given twice and no push's changes
    interleave with another's in seq order (the counter is held from the
    push's first read to its commit, however the in-process turn is passed on)."""
    from concurrent.futures import ThreadPoolExecutor

    _backend, engine, _sync_engine, client, spec_id = served
    laps = [Laptop(client, "spec") for _ in range(6)]
    pids = [f"p{i}" + new_device_id()[:10] for i in range(6)]
    laps[0].sync(
        [(pid, name, "Ada") for pid in pids for name in ("first_name", "last_name")]
        + [(pid, "assigned_specialist_id", spec_id) for pid in pids]
    )

    def pushes(i: int) -> None:
        for k in range(4):
            laps[i].sync([(pids[(i + j) % 6], "county", f"C{i}-{k}-{j}") for j in range(5)])

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(pushes, range(6)))
    with engine.connect() as conn:
        rows = conn.execute(select(changes.c.seq, changes.c.device_id).order_by(changes.c.seq))
        seqs = rows.all()
    assert len(seqs) == 3 * 6 + 6 * 4 * 5
    assert len({s for s, _d in seqs}) == len(seqs)  # no seq given twice
    edits = seqs[3 * 6 :]  # the concurrent pushes' changes, by seq: runs of whole pushes
    lengths = [len(list(run)) for _d, run in groupby(edits, key=lambda r: r[1])]
    assert all(n % 5 == 0 for n in lengths), lengths
    runs = [d for i, (_s, d) in enumerate(seqs) if i == 0 or seqs[i - 1][1] != d]
    assert len(runs) <= 1 + 6 * 4  # a push's five changes never interleave with another's
