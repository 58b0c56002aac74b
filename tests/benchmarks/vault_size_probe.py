"""How big a vault is after its first sync, against a fresh pull of the same data
(issue 18, "vault after sync <= 1.3x a fresh pull"), without the emulated link.

The same vaults as tests/benchmarks/test_bench_sync_caseload.py builds: the
one-year demo caseload (``fill_demo(participants=60, years=1, seed=1)``) written
in a vault used alone, enrolled as a specialist (what the role may not own is
held on the laptop), pushed to a real server on loopback (laptop A); a second
vault enrolled as the same person pulls it (laptop B). Both run
``syncing.record_sync_success`` and are closed; the figure is file + WAL.
With ``--tables``, the pages each table and index takes (SQLite's dbstat) in both.

Run: ``.venv/bin/python -m tests.benchmarks.vault_size_probe [--tables] [--keep DIR]``
(about 2-4 minutes; prints JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from app.demo import fill_demo
from app.services import enrolment
from app.services import syncing
from app.store.db import Store
from app.store.replica import StoreReplica
from app.store.vault import Vault
from tests.benchmarks.test_bench_sync_caseload import KDF
from tests.benchmarks.test_bench_sync_caseload import PASSPHRASE
from tests.benchmarks.test_bench_sync_caseload import TODAY
from tests.benchmarks.test_bench_sync_caseload import _client
from tests.benchmarks.test_bench_sync_caseload import _open
from tests.benchmarks.test_bench_sync_caseload import _size_mb
from tests.server_proc import DEFAULT_PASSWORD
from tests.server_proc import start_server


def _tables(store: Store) -> dict[str, int]:
    """Pages per table or index (dbstat), largest first; {} without dbstat."""
    try:
        rows = store.conn.execute(
            "SELECT name, count(*) FROM dbstat GROUP BY name ORDER BY 2 DESC"
        ).fetchall()
    except Exception:
        return {}
    return {name: n for name, n in rows if n >= 5}


def _sync(store: Store, server) -> dict[str, Any]:
    client = _client(store, server.url, server.fingerprint)
    t0 = time.perf_counter()
    try:
        r = client.sync()
    finally:
        client.session.close()
    return {"wall_s": round(time.perf_counter() - t0, 1), "pushed": r.pushed, "pulled": r.pulled}


def run(root: Path, tables: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"load_average_start": [round(x, 1) for x in os.getloadavg()]}
    template = root / "template"
    vault = Vault(template)
    vault.create(PASSPHRASE, KDF)
    store = Store.open(vault, owner_username="ann")
    t0 = time.perf_counter()
    fill_demo(store, participants=60, years=1, seed=1, today=TODAY)
    store.close()
    vault.lock()
    out["fill_s"] = round(time.perf_counter() - t0, 1)
    server = start_server(root / "server", extra_args=("--rate-limit", "0"))
    try:
        server.add_user("sam", "supervisor")
        server.add_user("ann", "specialist", supervisor="sam")
        for laptop in ("A", "B"):
            folder = root / laptop
            store = _open(folder, template if laptop == "A" else None)
            try:
                typed = enrolment.check_request(
                    server.url, "ann", DEFAULT_PASSWORD, fingerprint=server.fingerprint
                )
                got = enrolment.enroll(store, typed)
                fig: dict[str, Any] = {"held": got.held}
                fig["sent"] = StoreReplica(store).pending_count()
                fig.update(_sync(store, server))
                syncing.record_sync_success(store)
                fig["pages"] = int(store.conn.execute("PRAGMA page_count").fetchone()[0])
                fig["free_pages"] = int(store.conn.execute("PRAGMA freelist_count").fetchone()[0])
                if tables:
                    fig["tables"] = _tables(store)
            finally:
                store.close()
            fig["vault_mb"] = _size_mb(folder)
            out[laptop] = fig
    finally:
        server.close()
    out["A_over_B"] = round(out["A"]["vault_mb"] / out["B"]["vault_mb"], 3)
    out["load_average_end"] = [round(x, 1) for x in os.getloadavg()]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", action="store_true")
    parser.add_argument("--keep", default="", help="build the vaults in this folder and keep them")
    args = parser.parse_args()
    if args.keep:
        root = Path(args.keep)
        root.mkdir(parents=True, exist_ok=False)
        print(json.dumps(run(root, args.tables), indent=1))
        return
    with tempfile.TemporaryDirectory(prefix="vault-size-") as tmp:
        print(json.dumps(run(Path(tmp), args.tables), indent=1))


if __name__ == "__main__":
    main()
