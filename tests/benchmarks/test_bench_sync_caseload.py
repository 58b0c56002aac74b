"""The first sync of a real caseload over bad links (issue 18), and what it leaves
on disk.

Workload: the one-year demo caseload (``app.demo.fill_demo(participants=60,
years=1, seed=1)``: participants, goals, notes, time, supervision; about 58,000
field changes) written in a vault used alone, then enrolled like
``app.enrolment.enroll`` (what the role may not own stays on the laptop). Laptop
A's first sync pushes it (``push``); laptop B, freshly enrolled, pulls it
(``first-pull``). Both are real SQLCipher vaults syncing with ``SyncClient`` over
a pinned keep-alive HTTPS session with the real server (``python -m
sync.server serve``, SQLite, its own data folder, a new one per link) behind
tests/netproxy.py shaped as:

* ``sat``: 650 ms round trip, 512 kbit/s (64,000 B/s) each way;
* ``slow``: 2,000 ms round trip, 64 kbit/s (8,000 B/s) each way;
* ``sat-drop`` / ``slow-drop``: the same, and the whole link goes down every 10 s
  (every open connection cut, what is on the way lost).

A sync that gives up (the client's retries, 4 in a row, are spent) is started
again, as a person pressing Sync would, until ``PEERTRAIL_BENCH_DEADLINE_S``
(default 600 s) has passed; ``syncs`` counts them and ``finished`` says whether it
got there.

``link_floor_s`` = every byte on the wire (the proxy's count, both ways) / the
bandwidth + one round trip per TLS handshake (the proxy accepts TCP itself) + one
per HTTP request: what the link alone costs for what was sent, had nothing else
taken time. ``server_cpu_s``: the server process's CPU seconds (/proc);
``client_cpu_s``: this process's (the sync client with its threads, and the
proxy's threads). ``vault_mb``: the vault file (and its WAL) after A's push, against B's
after its fresh pull of the same data, each after ``syncing.record_sync_success``
(what the app and ``main.py sync`` run after a sync; ``after_sync_s`` its time).

Run alone (long: about 10 minutes):
``.venv/bin/python -m pytest tests/benchmarks/test_bench_sync_caseload.py -s -p no:cacheprovider``.
Figures go to tests/benchmarks/results/sync_caseload.json.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import shutil
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from app.demo import fill_demo
from app.services import enrolment
from app.services import syncing
from app.store.db import Store
from app.store.replica import StoreReplica
from app.store.vault import Vault
from sync.client import SyncClient
from sync.client import SyncError
from sync.client import make_session
from tests.netproxy import LinkShape
from tests.netproxy import Proxy
from tests.server_proc import DEFAULT_PASSWORD
from tests.server_proc import start_server

RESULTS = Path(__file__).parent / "results" / "sync_caseload.json"
KDF = {"name": "argon2id", "iterations": 1, "lanes": 1, "memory_kib": 8192}
PASSPHRASE = "benchmark passphrase 2026"
TODAY = date(2026, 11, 20)
LINKS = {
    "sat": (0.650, 64_000, None),
    "slow": (2.000, 8_000, None),
    "sat-drop": (0.650, 64_000, 10.0),
    "slow-drop": (2.000, 8_000, 10.0),
    "lo": (0.0, 0, None),  # loopback through the proxy, unshaped: the computing alone
}
PROFILE = os.environ.get("PEERTRAIL_BENCH_PROFILE")  # a folder: cProfile of each sync
TIMELINE = os.environ.get("PEERTRAIL_BENCH_TIMELINE")  # set: print when each step ran
DEADLINE_S = float(os.environ.get("PEERTRAIL_BENCH_DEADLINE_S", "600"))
WHICH = os.environ.get("PEERTRAIL_BENCH_LINKS", ",".join(LINKS)).split(",")
figures: dict[str, Any] = {}


def _cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def _size_mb(vault_dir: Path) -> float:
    files = [vault_dir / n for n in ("peertrail.db", "peertrail.db-wal")]
    return round(sum(f.stat().st_size for f in files if f.exists()) / 1e6, 2)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """A closed vault holding the one-year caseload, written before enrolment."""
    root = tmp_path_factory.mktemp("caseload") / "template"
    vault = Vault(root)
    vault.create(PASSPHRASE, KDF)
    store = Store.open(vault, owner_username="ann")
    try:
        fill_demo(store, participants=60, years=1, seed=1, today=TODAY)
    finally:
        store.close()
        vault.lock()
    return root


def _open(folder: Path, template: Path | None) -> Store:
    if template is not None:
        shutil.copytree(template, folder)
        vault = Vault(folder)
        vault.unlock(PASSPHRASE)
    else:
        vault = Vault(folder)
        vault.create(PASSPHRASE, KDF)
    return Store.open(vault, owner_username="ann")


def _client(store: Store, url: str, fingerprint: str) -> SyncClient:
    replica = StoreReplica(store)
    kw: dict[str, Any] = {}
    if "retries" in inspect.signature(SyncClient).parameters:
        kw["retries"] = 4
    return SyncClient(
        replica,
        url,
        replica.server()["token"],
        session=make_session(fingerprint, retries=4),
        **kw,
    )


def _measure(store: Store, proxy: Proxy, url: str, server, shape: tuple) -> dict[str, Any]:
    rtt, bps, _drop = shape
    conns, up, down, drops = proxy.connections, proxy.bytes_up, proxy.bytes_down, proxy.drops
    cpu0 = _cpu(server.proc.pid)
    client_cpu0 = time.process_time()
    t0 = time.perf_counter()
    syncs, requests, pushed, pulled, sync_drops, finished, errors = 0, 0, 0, 0, 0, False, []
    repaired, digest_ok = 0, None
    refused: list[dict[str, str]] = []
    while time.perf_counter() - t0 < DEADLINE_S:
        syncs += 1
        client = _client(store, url, server.fingerprint)
        steps = _timeline(client)
        try:
            r = _profiled(client, store.vault.dir.name)
            requests += r.requests
            pushed, pulled = pushed + r.pushed, pulled + r.pulled
            sync_drops += getattr(r, "drops", 0)
            refused += r.rejected
            repaired, digest_ok = getattr(r, "repaired", 0), getattr(r, "digest_ok", None)
            finished = True
            break
        except SyncError as e:
            errors.append(e.code)
        finally:
            client.session.close()
            if steps:
                print(store.vault.dir.name, sorted(steps, key=lambda s: s[1]))
    wall = time.perf_counter() - t0
    wire_up, wire_down = proxy.bytes_up - up, proxy.bytes_down - down
    opened = proxy.connections - conns
    floor = (opened + requests) * rtt + ((wire_up + wire_down) / bps if bps else 0.0)
    return {
        "finished": finished,
        "syncs": syncs,
        "errors": errors[:10],
        "wall_s": round(wall, 1),
        "link_floor_s": round(floor, 1),
        "wall_over_floor": round(wall / floor, 2) if floor else None,
        "requests": requests,
        "connections": opened,
        "link_drops": proxy.drops - drops,
        "client_retries": sync_drops,
        "pushed": pushed,
        "pulled": pulled,
        "refused": len(refused),
        "repaired": repaired,  # records fetched again by the end-of-sync repair
        "digest_ok": digest_ok,
        "refused_reasons": sorted({r["reason"][:80] for r in refused})[:5],
        "wire_kb_up": round(wire_up / 1000, 1),
        "wire_kb_down": round(wire_down / 1000, 1),
        "server_cpu_s": round(_cpu(server.proc.pid) - cpu0, 2),
        # this process's CPU: the sync client and its threads, and the proxy's
        # threads (a few hundred KB at 8-64 KB/s: a small share)
        "client_cpu_s": round(time.process_time() - client_cpu0, 2),
        "load_average_1min": round(os.getloadavg()[0], 1),
    }


def _timeline(client: SyncClient) -> list[tuple[str, float, float]]:
    """Record (step, start, end) of each POST, outbox read and reply applied, in
    seconds from now, when TIMELINE is set (printed after the sync)."""
    steps: list[tuple[str, float, float]] = []
    if not TIMELINE:
        return steps
    t0 = time.perf_counter()

    def wrap(obj: Any, name: str) -> None:
        inner = getattr(obj, name)

        def timed(*a: Any, **kw: Any) -> Any:
            start = time.perf_counter() - t0
            try:
                return inner(*a, **kw)
            finally:
                steps.append((name, round(start, 2), round(time.perf_counter() - t0, 2)))

        setattr(obj, name, timed)

    wrap(client.session, "post")
    for name in ("pending", "apply_response"):
        wrap(client.replica, name)
    return steps


def _profiled(client: SyncClient, name: str):
    """``client.sync()``, under cProfile (the calling thread) when PROFILE is set."""
    if not PROFILE:
        return client.sync()
    import cProfile

    prof = cProfile.Profile()
    try:
        return prof.runcall(client.sync)
    finally:
        Path(PROFILE).mkdir(parents=True, exist_ok=True)
        prof.dump_stats(str(Path(PROFILE) / f"{name}.prof"))


def _run_link(name: str, demo: Path, root: Path) -> dict[str, Any]:
    shape = LINKS[name]
    server = start_server(root / name, extra_args=("--rate-limit", "0"))
    server.add_user("sam", "supervisor")
    server.add_user("ann", "specialist", supervisor="sam")
    proxy = Proxy(
        server.port,
        LinkShape(one_way_delay_s=shape[0] / 2, bytes_per_s=shape[1], drop_every_s=shape[2]),
    )
    url = f"https://127.0.0.1:{proxy.port}"
    out: dict[str, Any] = {}
    stores: list[Store] = []
    try:
        for laptop, template, workload in (("A", demo, "push"), ("B", None, "first-pull")):
            folder = root / f"{name}-{laptop}"
            store = _open(folder, template)
            stores.append(store)
            typed = enrolment.check_request(
                server.url, "ann", DEFAULT_PASSWORD, fingerprint=server.fingerprint
            )
            enrolment.enroll(store, typed)
            if laptop == "A":
                out["changes"] = StoreReplica(store).pending_count()
            out[workload] = _measure(store, proxy, url, server, shape)
            t0 = time.perf_counter()
            syncing.record_sync_success(store)  # what the app and main.py do after a sync
            out[workload]["after_sync_s"] = round(time.perf_counter() - t0, 2)
            store.close()
            out[workload]["vault_mb"] = _size_mb(folder)
        out["vault_after_push_over_fresh_pull"] = round(
            out["push"]["vault_mb"] / out["first-pull"]["vault_mb"], 2
        )
    finally:
        for s in stores:
            with contextlib.suppress(Exception):
                s.close()
        proxy.close()
        server.close()
    return out


def test_caseload_first_sync(demo, tmp_path) -> None:
    figures.clear()
    figures["deadline_s"] = DEADLINE_S
    for name in WHICH:
        figures.setdefault("links", {})[name] = _run_link(name, demo, tmp_path)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
        print(name, json.dumps(figures["links"][name], indent=1))
    for name, f in figures["links"].items():
        for workload in ("push", "first-pull"):
            assert f[workload]["finished"], f"{name} {workload} did not finish"
