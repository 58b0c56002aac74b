"""One small sync on the server, counted and profiled: which SQL statements it runs.

``python -m tests.benchmarks.sync_statements [--postgres] [--profile N] [--log]``

In process (the real app, ``sync.server.app.create_app``, through Starlette's test
client, so the token look-up, the fast path and the request log all run): a
specialist's laptop pushes a caseload of 10 participants, a second laptop pulls
it, then the first laptop does the load test's round (edit 3 fields, sync: one
push + pull request) and the statements, transactions and pool checkouts of that
round are counted (``sync.server.sql.round_trips``), ``--log`` printing each
statement. ``--profile N`` runs N such rounds under cProfile and prints the top of
the profile. ``--postgres`` uses ``tests.server_proc.postgres_url()``.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import event
from starlette.testclient import TestClient

from sync.hlc import HybridLogicalClock
from sync.protocol import PROTOCOL_VERSION
from sync.protocol import PushChange
from sync.protocol import SyncRequest
from sync.protocol import SyncResponse
from sync.protocol import dumps
from sync.server import db
from sync.server import sql
from sync.server import staff
from sync.server.app import create_app
from sync.server.engine import SyncEngine
from tests.server_proc import DEFAULT_PASSWORD
from tests.server_proc import new_device_id
from tests.server_proc import postgres_url


@contextmanager
def served(tmp: Path, url: str | None) -> Iterator[tuple[Engine, SyncEngine, TestClient, str]]:
    """The real app on a fresh database (SQLite in ``tmp``, or PostgreSQL at
    ``url``) with a supervisor "sup" and their specialist "spec"; yields the
    database engine, the sync engine, a test client and the specialist's id."""
    engine = db.open_engine(tmp, url)
    db.upgrade(engine)
    sync_engine = db.build_sync_engine(engine)
    with engine.begin() as conn:
        sup = staff.add_user(
            conn, sync_engine, "sup", DEFAULT_PASSWORD, "supervisor", display_name="Sup"
        )
        spec = staff.add_user(
            conn,
            sync_engine,
            "spec",
            DEFAULT_PASSWORD,
            "specialist",
            supervisor_id=sup.id,
            display_name="Spec",
        )
    app = create_app(engine, sync_engine, sync_per_minute=0)
    try:
        with TestClient(app, base_url="http://127.0.0.1") as client:
            yield engine, sync_engine, client, spec.id
    finally:
        engine.dispose()


class Laptop:
    def __init__(self, client: TestClient, username: str) -> None:
        self.client = client
        self.id = new_device_id()
        r = client.post(
            "/v1/enroll",
            json={
                "protocol": PROTOCOL_VERSION,
                "username": username,
                "password": DEFAULT_PASSWORD,
                "device_id": self.id,
                "device_name": "laptop",
            },
        )
        r.raise_for_status()
        self.token = r.json()["token"]
        self.hlc = HybridLogicalClock(self.id)
        self.cursor = 0
        self.stamps: dict[tuple[str, str], str] = {}
        self.post: Any = None  # another way to post (the profile's, on this thread)

    def sync(self, edits: list[tuple[str, str, Any]]) -> SyncResponse:
        changes = []
        for rid, name, value in edits:
            stamp = self.hlc.now()
            base = self.stamps.get((rid, name))
            change = dict(table="participants", record_id=rid, field=name, value=value)
            changes.append(PushChange(stamp=stamp, base=base, **change))
            self.stamps[(rid, name)] = stamp
        req = SyncRequest(
            protocol=PROTOCOL_VERSION, device_id=self.id, cursor=self.cursor,
            client_time_ms=int(time.time() * 1000), changes=changes,
        )  # fmt: skip
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        post = self.post or self.client.post
        r = post("/v1/sync", content=dumps(req), headers=headers)
        r.raise_for_status()
        resp = SyncResponse.model_validate_json(r.content)
        assert not resp.rejected, resp.rejected
        for rec in resp.records:
            for name, (_v, stamp) in rec.fields.items():
                self.stamps[(rec.record_id, name)] = stamp
                self.hlc.observe(stamp)
        self.cursor = resp.cursor
        return resp


def _round(lap: Laptop, pids: list[str], i: int) -> None:
    lap.sync(
        [
            (pids[i % len(pids)], "county", f"County {i}"),
            (pids[(i + 3) % len(pids)], "phone", f"701-555-{i % 10000:04d}"),
            (pids[(i + 5) % len(pids)], "referral_source", "Self"),
        ]
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--postgres", action="store_true")
    ap.add_argument("--profile", type=int, default=0)
    ap.add_argument("--log", action="store_true")
    args = ap.parse_args()
    url = postgres_url() if args.postgres else None
    if args.postgres and url is None:
        raise SystemExit("no PostgreSQL")
    with served(Path(tempfile.mkdtemp()), url) as (engine, _sync_engine, client, spec_id):
        a, b = Laptop(client, "spec"), Laptop(client, "spec")
        pids = [f"p{i:02d}" + new_device_id()[:10] for i in range(10)]
        first = []
        for pid in pids:
            first += [(pid, "first_name", "Ada"), (pid, "last_name", "Example")]
            first += [(pid, "date_of_birth", "1980-01-01"), (pid, "county", "Cass")]
            first += [(pid, "assigned_specialist_id", spec_id)]
        a.sync(first)
        b.sync([])
        a.sync([])
        time.sleep(0.3)  # the request log's group commit of the set-up
        statements: list[str] = []

        def keep(_conn, _cursor, statement, *_a) -> None:
            statements.append(statement.split("\n")[0][:110])

        event.listen(engine, "before_cursor_execute", keep)
        counted = sql.round_trips.statement

        def keep_read(statement: str) -> None:  # sync.server.sql.rows (the driver's cursor)
            statements.append("(read) " + statement.split("\n")[0][:103])
            counted()

        sql.round_trips.statement = keep_read  # type: ignore[method-assign]
        before = dict(vars(sql.round_trips))
        _round(a, pids, 1)
        time.sleep(0.3)  # its request log row
        after = dict(vars(sql.round_trips))
        event.remove(engine, "before_cursor_execute", keep)
        del sql.round_trips.statement
        counts = {k: after[k] - before[k] for k in ("statements", "transactions", "checkouts")}
        print(json.dumps({"database": "postgresql" if url else "sqlite", **counts}))
        if args.log:
            print("\n".join(statements))
        if args.profile:
            _profile(client.app, a, pids, args.profile)


def _profile(app: Any, lap: Laptop, pids: list[str], n: int) -> None:
    """``n`` rounds with the server's work on this thread (the app called through
    httpx's ASGI transport, the database work inline instead of on worker threads),
    so cProfile sees it; the request log's group commit stays on its own thread."""
    import asyncio

    import httpx

    from sync.server.api import context

    async def inline(api: Any, work: Any) -> Any:
        return api.run_db(work)

    context.Api.db = inline  # type: ignore[method-assign]
    loop = asyncio.new_event_loop()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://127.0.0.1")
    lap.post = lambda *a, **kw: loop.run_until_complete(client.post(*a, **kw))
    prof = cProfile.Profile()
    t0 = time.process_time()
    prof.enable()
    for i in range(n):
        _round(lap, pids, i + 2)
    prof.disable()
    cpu = time.process_time() - t0
    print(f"{n} rounds: {cpu / n * 1000:.2f} ms CPU a sync (profiled, client included)")
    pstats.Stats(prof).sort_stats("tottime").print_stats(40)
    pstats.Stats(prof).sort_stats("cumulative").print_stats(60)
    pstats.Stats(prof).sort_stats("cumulative").print_callees("push|_sync|pull")


if __name__ == "__main__":
    main()
