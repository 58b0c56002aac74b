"""Sync under load: 200 devices syncing at once against one server on this machine.

Run with ``make bench`` (not part of the normal test run). The server is the real
``python -m sync.server serve`` process on 127.0.0.1 (HTTPS, default rate limit),
once on SQLite and once on PostgreSQL (``tests.server_proc.postgres_url()``: a
throwaway local cluster, or PEERTRAIL_TEST_POSTGRES_URL; skipped with the reason
when neither is there).

Workload ``200 devices``: 100 specialists (under 10 supervisors), each with two
laptops. A laptop here is a real client session (``sync.client.SyncClient`` over
its own pinned keep-alive ``requests`` session, its own device id and token from
``/v1/enroll``) on a lightweight in-memory replica (``MemoryReplica`` below,
implementing the ``sync.client.Replica`` protocol) instead of a SQLCipher vault:
200 vaults would cost minutes of set-up and their local work is measured in
test_bench_sync_link.py. Set-up (not measured): every specialist's first laptop
pushes a caseload of 10 participants with realistic fields (``app.demo``'s
generator, encoded as the vault encodes them), then every laptop syncs once to
be current. Measured: 200 threads in this process start together; each laptop
does ``ROUNDS`` rounds of "edit 3 fields of its caseload, then sync" (one push +
pull request each) with no pause between rounds. The two laptops of a specialist
pull each other's edits, sometimes concurrently edited (conflicts are records
like any other). That closed loop measures the most the server does (with 200
laptops that never pause, p99 is about 200 / throughput: how long the queue is).
Then, on the same server and laptops, a paced phase (open loop): the same rounds,
the laptops' syncs due evenly at ``PACED_SYNCS_PER_S`` in all (each laptop every
200 / 60 s, staggered), a sync's latency counted from when it was due.

The client sessions have retries turned off, so a 429, 5xx, timeout or dropped
connection counts as an error instead of being retried quietly; refused changes
are counted too. Figures: syncs per second over the measured phase, p50/p95/p99/max
latency of one sync (wall time of ``SyncClient.sync()``), errors (target 0), the
server's CPU seconds during the phase (also per sync and per pushed change), the
load generator's CPU seconds (this process: the 200 client threads share the
machine's cores with the server), PostgreSQL's CPU seconds (its processes, when
the tests started the cluster), the SQL statements, transactions and pool
checkouts per sync (the server's own count, ``peertrail_sql_*`` in /metrics),
the 1-minute load average before and after, and whether every laptop ends equal
to the server. Written to tests/benchmarks/results/sync_load.json.
"""

from __future__ import annotations

import json
import os
import platform
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from app.demo import _DemoBuilder
from app.domain.records import Participant
from app.domain.records import User
from app.store.codec import codec
from sync.client import SyncClient
from sync.client import SyncError
from sync.client import make_session
from sync.hlc import HybridLogicalClock
from sync.protocol import PushChange
from sync.protocol import SyncResponse
from tests.server_proc import DEFAULT_PASSWORD
from tests.server_proc import ServerProc
from tests.server_proc import new_device_id
from tests.server_proc import postgres_pids
from tests.server_proc import postgres_skip_reason
from tests.server_proc import postgres_url
from tests.server_proc import start_server

RESULTS = Path(__file__).parent / "results" / "sync_load.json"
SPECIALISTS = 100
SUPERVISORS = 10
LAPTOPS_PER_SPECIALIST = 2  # 200 devices
CASELOAD = 10
ROUNDS = 5  # within the default per-device burst (10), so no 429 is expected
EDITS_PER_ROUND = 3
TODAY = date(2026, 11, 20)
EDITABLE = {
    "county": ("Cass", "Burleigh", "Ward", "Grand Forks", "Stutsman", "Williams", "Clay"),
    "phone": tuple(f"701-555-01{i:02d}" for i in range(100)),
    "contact_best_times": ("Mornings", "After 3 pm", "Weekdays before noon", "Evenings"),
    "referral_source": ("Self", "Drug court", "ER peer bridge", "Family", "Shelter"),
}

# Runs of other configurations (another database, --workers) stay in the file.
figures: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}


def _save() -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


class MemoryReplica:
    """A device's replica in memory, for load tests: an outbox, the last-writer-wins
    state of every field it holds, and a cursor. Implements sync.client.Replica."""

    def __init__(self, device_id: str) -> None:
        self._device_id = device_id
        self._cursor = 0
        self.hlc = HybridLogicalClock(device_id)
        self.outbox: dict[str, PushChange] = {}  # by stamp, in insertion order
        self.fields: dict[str, dict[str, tuple[Any, str]]] = {}  # record -> field -> (v, stamp)
        self.tables: dict[str, str] = {}
        self.refused: list[tuple[str, str]] = []

    @property
    def device_id(self) -> str:
        return self._device_id

    @property
    def cursor(self) -> int:
        return self._cursor

    def write(self, table: str, record_id: str, values: dict[str, Any]) -> None:
        """A local edit: new stamps, the base is the stamp each field held."""
        rec = self.fields.setdefault(record_id, {})
        self.tables[record_id] = table
        for name, value in values.items():
            base = rec[name][1] if name in rec else None
            stamp = self.hlc.now()
            rec[name] = (value, stamp)
            self.outbox[stamp] = PushChange(
                stamp=stamp, table=table, record_id=record_id, field=name, value=value, base=base
            )

    def pending(self, limit: int) -> list[PushChange]:
        return list(self.outbox.values())[:limit]

    def pending_count(self) -> int:
        return len(self.outbox)

    def apply_response(self, resp: SyncResponse) -> dict[str, int]:
        counts = {"pulled": 0, "conflicts": 0, "evicted": 0}
        for stamp in resp.accepted:
            self.outbox.pop(stamp, None)
        for r in resp.rejected:
            self.outbox.pop(r.stamp, None)
            self.refused.append((r.stamp, r.reason))
        for rs in resp.restamped:
            for rec in self.fields.values():
                for name, (v, s) in rec.items():
                    if s == rs.stamp:
                        rec[name] = (v, rs.new_stamp)
        for pulled in resp.records:
            rec = self.fields.setdefault(pulled.record_id, {})
            self.tables[pulled.record_id] = pulled.table
            for name, (value, stamp) in pulled.fields.items():
                if name not in rec or stamp > rec[name][1]:
                    rec[name] = (value, stamp)
                    counts["pulled"] += 1
                    self.hlc.observe(stamp)
            if pulled.table == "conflicts":
                counts["conflicts"] += 1
        for pid in resp.evict:
            self.fields.pop(pid, None)
            counts["evicted"] += 1
        self._cursor = resp.cursor
        return counts

    def set_clock_offset(self, offset_ms: int) -> None:
        pass

    def participants(self) -> list[str]:
        return sorted(r for r, t in self.tables.items() if t == "participants")


@dataclass
class Laptop:
    username: str
    user_id: str
    replica: MemoryReplica
    client: SyncClient
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0

    def new_phase(self) -> None:
        """Forget the figures of the phase before."""
        self.latencies.clear()
        self.errors.clear()
        self.requests = self.bytes_sent = self.bytes_received = 0


def _add_users(server: ServerProc) -> list[tuple[str, str]]:
    """Supervisors and specialists, added in-process with the same calls as
    ``python -m sync.server users add`` (a subprocess each would take minutes)."""
    from sync.server import staff
    from sync.server.db import build_sync_engine

    engine = server.engine()
    sync_engine = build_sync_engine(engine)

    def add(name: str, role: str, supervisor_id: str = "") -> str:
        with engine.begin() as conn:
            user = staff.add_user(
                conn,
                sync_engine,
                name,
                DEFAULT_PASSWORD,
                role,
                supervisor_id=supervisor_id,
                display_name=name.title(),
            )
        return user.id

    sups = [add(f"sup{i:02d}", "supervisor") for i in range(SUPERVISORS)]
    return [
        (f"spec{i:03d}", add(f"spec{i:03d}", "specialist", sups[i % SUPERVISORS]))
        for i in range(SPECIALISTS)
    ]


def _enroll(server: ServerProc, username: str) -> Laptop:
    replica = MemoryReplica(new_device_id())
    session = make_session(server.fingerprint, retries=0)  # one keep-alive session
    client = SyncClient(replica, server.url, token="", session=session)
    answer = client.enroll(username, DEFAULT_PASSWORD, device_name=f"{username} laptop")
    client.token = answer.token
    return Laptop(username, answer.user_id, replica, client)


def _caseload(owner_id: str, seed: int) -> list[dict[str, Any]]:
    """Participants as a vault's capture trigger would push them: every field that is
    not empty, in the vault's encoding."""
    builder = _DemoBuilder(years=2, seed=seed, today=TODAY)
    owner = User(id=owner_id, username="x", display_name="x")
    payers = builder.payers()
    enc = codec(Participant)
    out = []
    for _ in range(CASELOAD):
        values = enc.to_values(builder.person(owner, payers).rec)
        out.append({k: v for k, v in values.items() if v not in (None, "", "[]")})
    return out


def _set_up(server: ServerProc) -> list[Laptop]:
    started = time.perf_counter()
    users = _add_users(server)
    with ThreadPoolExecutor(8) as pool:
        laptops = list(
            pool.map(
                lambda u: _enroll(server, u[0]),
                [u for u in users for _ in range(LAPTOPS_PER_SPECIALIST)],
            )
        )
    by_user = {name: uid for name, uid in users}
    for i, lap in enumerate(laptops):
        assert lap.user_id == by_user[lap.username]
        if i % LAPTOPS_PER_SPECIALIST == 0:  # the first laptop writes the caseload
            for values in _caseload(lap.user_id, seed=i):
                lap.replica.write("participants", values.pop("id"), values)

    def first_sync(lap: Laptop) -> None:
        lap.client.sync()
        assert not lap.replica.refused, lap.replica.refused[:3]

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(first_sync, laptops[::2]))
        list(pool.map(first_sync, laptops[1::2]))
    for lap in laptops:
        assert len(lap.replica.participants()) == CASELOAD, lap.username
    where = "postgresql" if server.database_url else "sqlite"
    figures.setdefault("setup_s", {})[where] = round(time.perf_counter() - started, 1)
    return laptops


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            out.append(int(stat.parent.name))
    return out


def _server_cpu(server: ServerProc) -> float:
    """CPU seconds of the server: its process and its other workers (--workers)."""
    assert server.proc is not None
    pid = server.proc.pid
    return sum(_cpu_seconds(p) for p in [pid, *_children(pid)])


def _database_cpu(server: ServerProc) -> dict[int, float]:
    """CPU seconds of each process of the PostgreSQL cluster the tests started
    ({} on SQLite, which runs inside the server process, or an outside PostgreSQL)."""
    out = {}
    for pid in postgres_pids() if server.database_url else []:
        try:
            out[pid] = _cpu_seconds(pid)
        except OSError:  # ended meanwhile
            continue
    return out


SQL_COUNTS = ("statements", "transactions", "checkouts")


def _sql_counts(server: ServerProc) -> dict[str, float]:
    """The server's own count of what it asked of its database (``peertrail_sql_*``
    in /metrics, served to loopback): statements, transactions, pool checkouts."""
    text = make_session(server.fingerprint, retries=0).get(f"{server.url}/metrics", timeout=30).text
    out = {}
    for line in text.splitlines():
        for name in SQL_COUNTS:
            if line.startswith(f"peertrail_sql_{name}_total "):
                out[name] = float(line.split()[1])
    return out


def _run(
    laptops: list[Laptop], server: ServerProc, workers: int = 1, rate: float | None = None
) -> dict[str, Any]:
    """One measured phase. ``rate`` None: closed loop, each laptop syncs again as soon
    as its sync returns. ``rate``: paced (open loop), the laptops' syncs scheduled
    evenly at ``rate`` syncs per second in all (each laptop every devices / rate
    seconds, staggered), and a sync's latency counted from when it was due, so a
    sync held up by the one before it counts that wait too."""
    barrier = threading.Barrier(len(laptops) + 1)
    every = len(laptops) / rate if rate else 0.0
    zero: list[float] = []  # when the phase starts (set before the barrier opens)

    def work(lap: Laptop, seed: int) -> None:
        rng = random.Random(seed)
        barrier.wait()
        for k in range(ROUNDS):
            for _e in range(EDITS_PER_ROUND):
                name = rng.choice(sorted(EDITABLE))
                pid = rng.choice(lap.replica.participants())
                lap.replica.write("participants", pid, {name: rng.choice(EDITABLE[name])})
            t0 = time.perf_counter()
            if rate:
                t0 = zero[0] + (seed / rate) + k * every  # when this sync is due
                time.sleep(max(0.0, t0 - time.perf_counter()))
            try:
                result = lap.client.sync()
            except SyncError as e:
                lap.errors.append(e.code)
                continue
            except Exception as e:  # anything else is an error too, and is shown
                lap.errors.append(type(e).__name__)
                continue
            lap.latencies.append(time.perf_counter() - t0)
            lap.requests += result.requests
            lap.bytes_sent += result.bytes_sent
            lap.bytes_received += result.bytes_received

    threads = [
        threading.Thread(target=work, args=(lap, i), daemon=True) for i, lap in enumerate(laptops)
    ]
    for t in threads:
        t.start()
    assert server.proc is not None
    sql0 = _sql_counts(server)
    db0 = _database_cpu(server)
    cpu0 = _server_cpu(server)
    load0 = os.getloadavg()[0]
    zero.append(time.perf_counter() + 0.5)
    barrier.wait()
    t0 = time.perf_counter()
    gen0 = time.process_time()  # this process: the 200 client threads
    for t in threads:
        t.join(600)
    wall = time.perf_counter() - t0
    cpu = _server_cpu(server) - cpu0
    db1 = _database_cpu(server)
    # a backend that started during the phase counts from 0; one that ended is lost
    db_cpu = sum(t - db0.get(pid, 0.0) for pid, t in db1.items()) if db1 else None
    generator_cpu = time.process_time() - gen0
    load1 = os.getloadavg()[0]
    sql1 = _sql_counts(server)

    # Settle: every laptop syncs until nothing is pending, then all must agree.
    for _ in range(2):
        for lap in laptops:
            lap.client.sync()
    lat = [x for lap in laptops for x in lap.latencies]
    errors = Counter(e for lap in laptops for e in lap.errors)
    refused = Counter(r for lap in laptops for _s, r in lap.replica.refused)
    pairs = [laptops[i : i + LAPTOPS_PER_SPECIALIST] for i in range(0, len(laptops), 2)]
    diverged = sum(1 for a, b in pairs if a.replica.fields != b.replica.fields)
    return {
        "devices": len(laptops),
        "offered_syncs_per_s": rate,  # None: closed loop
        "rounds_per_device": ROUNDS,
        "edits_per_round": EDITS_PER_ROUND,
        "syncs_ok": len(lat),
        "requests": sum(lap.requests for lap in laptops),
        "errors": sum(errors.values()),
        "errors_by_kind": dict(errors),
        "refused_changes": sum(refused.values()),
        "refused_by_reason": dict(refused),
        "wall_s": round(wall, 2),
        "syncs_per_s": round(len(lat) / wall, 1),
        "latency_p50_ms": round(_percentile(lat, 0.50) * 1000),
        "latency_p95_ms": round(_percentile(lat, 0.95) * 1000),
        "latency_p99_ms": round(_percentile(lat, 0.99) * 1000),
        "latency_max_ms": round(max(lat) * 1000),
        "server_cpu_s": round(cpu, 1),
        "server_cpu_share": round(cpu / wall / (os.cpu_count() or 1), 2),
        # per sync and per pushed change: less sensitive to the machine's load
        "server_cpu_ms_per_sync": round(cpu / max(len(lat), 1) * 1000, 2),
        "server_cpu_us_per_change": round(cpu / max(len(lat) * EDITS_PER_ROUND, 1) * 1e6, 0),
        # what the server asked of its database per sync (load-insensitive; the
        # request log's group commits and the /metrics reads included)
        # (None with several workers: /metrics shows the one that answers)
        **{
            f"sql_{name}_per_sync": round((sql1[name] - sql0[name]) / max(len(lat), 1), 1)
            if workers == 1
            else None
            for name in SQL_COUNTS
        },
        # PostgreSQL's own processes (None on SQLite: inside the server's CPU)
        "database_cpu_s": None if db_cpu is None else round(db_cpu, 1),
        "database_cpu_ms_per_sync": (
            None if db_cpu is None else round(db_cpu / max(len(lat), 1) * 1000, 2)
        ),
        # the load generator (this process's 200 client threads) on the same cores
        "generator_cpu_s": round(generator_cpu, 1),
        "load_average_1min": [round(load0, 2), round(load1, 2)],
        "body_bytes_sent": sum(lap.bytes_sent for lap in laptops),
        "body_bytes_received": sum(lap.bytes_received for lap in laptops),
        "laptop_pairs_diverged_after_settling": diverged,
    }


#: Server processes for the PostgreSQL run (``serve --workers``; SQLite is one process).
WORKERS = int(os.environ.get("PEERTRAIL_BENCH_WORKERS", "1"))


#: The paced phase's offered load: 200 laptops each syncing every 3 1/3 s.
PACED_SYNCS_PER_S = 60.0


def _bench(tmp_path: Path, database: str, url: str | None) -> list[dict[str, Any]]:
    """Both phases on one server: closed loop, then paced at PACED_SYNCS_PER_S."""
    workers = WORKERS if url else 1
    server = start_server(tmp_path, url, ("--workers", str(workers)) if workers > 1 else ())
    try:
        laptops = _set_up(server)
        closed = _run(laptops, server, workers)
        time.sleep(10)  # the per-device rate limits' buckets refill (0.5 a second)
        for lap in laptops:
            lap.new_phase()
        paced = _run(laptops, server, workers, rate=PACED_SYNCS_PER_S)
    finally:
        server.close()
    if workers > 1:
        database = f"{database}, {workers} workers"
    figures.setdefault("machine", {}).update(
        cpus=os.cpu_count(),
        python=platform.python_version(),
        platform=platform.platform(),
        clients="200 threads in the pytest process, in-memory replicas, retries off",
    )
    for phase, f in (("200 devices", closed), ("200 devices paced", paced)):
        f["database"] = database
        f["server_workers"] = workers
        figures.setdefault(phase, {})[database] = f
        _report(phase, database, f)
    _save()
    return [closed, paced]


def _report(phase: str, database: str, f: dict[str, Any]) -> None:
    rate = f["offered_syncs_per_s"]
    offered = f" at {rate:g} syncs/s offered" if rate else ""
    print(
        f"\n[{phase}{offered}, {database}] {f['syncs_ok']} syncs in {f['wall_s']} s = "
        f"{f['syncs_per_s']} syncs/s; latency p50 {f['latency_p50_ms']} ms, p95 "
        f"{f['latency_p95_ms']} ms, p99 {f['latency_p99_ms']} ms, max {f['latency_max_ms']} ms; "
        f"errors {f['errors']} {f['errors_by_kind']}; refused {f['refused_changes']}; "
        f"server CPU {f['server_cpu_s']} s ({f['server_cpu_ms_per_sync']} ms a sync); "
        f"database CPU {f['database_cpu_s']} s ({f['database_cpu_ms_per_sync']} ms a sync); "
        f"SQL per sync: {f['sql_statements_per_sync']} statements, "
        f"{f['sql_transactions_per_sync']} transactions, {f['sql_checkouts_per_sync']} checkouts; "
        f"generator CPU {f['generator_cpu_s']} s; load {f['load_average_1min']}; diverged pairs "
        f"{f['laptop_pairs_diverged_after_settling']}"
    )


def _check(f: dict[str, Any]) -> None:
    assert f["errors"] == 0, f["errors_by_kind"]
    assert f["refused_changes"] == 0, f["refused_by_reason"]
    assert f["syncs_ok"] == f["devices"] * f["rounds_per_device"]
    assert f["laptop_pairs_diverged_after_settling"] == 0


def test_200_devices_sqlite(tmp_path: Path) -> None:
    for f in _bench(tmp_path, "sqlite", None):
        _check(f)


def test_200_devices_postgresql(tmp_path: Path) -> None:
    url = postgres_url()
    if url is None:
        pytest.skip(f"PostgreSQL not available: {postgres_skip_reason()}")
    for f in _bench(tmp_path, "postgresql", url):
        _check(f)
