"""A cached five-year demo vault for benchmarks that only read it.

Building ``fill_demo(participants=300, years=5, seed=1, today=2026-11-20)`` takes a
few minutes, so a benchmark that only reads the caseload reuses one built
earlier. The cache lives in ``tests/benchmarks/.cache/`` (ignored by git) or in
``$PEERTRAIL_BENCH_CACHE``, under a name made from the hash of the code that
decides its content (app/demo.py, the schema migrations, the records), so a
change to any of them builds a new one. A vault is copied from the cache into
the benchmark's own temporary folder before use, so the cached one is never
written to. Everyone in it is invented.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from datetime import date
from pathlib import Path

from app.demo import fill_demo
from app.store.db import Store
from app.store.vault import Vault

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "benchmark passphrase 2026"
TODAY = date(2026, 11, 20)
#: Cheap key derivation: these benchmarks measure reading, not unlocking.
KDF = {"name": "argon2id", "iterations": 1, "lanes": 1, "memory_kib": 8192}
INPUTS = ("app/demo.py", "app/store/migrations.py", "app/domain/records.py")


def cache_root() -> Path:
    env = os.environ.get("PEERTRAIL_BENCH_CACHE")
    return Path(env) if env else Path(__file__).parent / ".cache"


def _key(participants: int, years: int, seed: int) -> str:
    h = hashlib.sha256(f"{participants}/{years}/{seed}/{TODAY}".encode())
    for rel in INPUTS:
        h.update((ROOT / rel).read_bytes())
    return f"demo-{participants}x{years}-{h.hexdigest()[:12]}"


def cached_demo_vault(participants: int = 300, years: int = 5, seed: int = 1) -> Path:
    """The folder of a filled, closed demo vault (built on first use)."""
    folder = cache_root() / _key(participants, years, seed)
    if (folder / "done").exists():
        return folder
    building = folder.with_name(folder.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    vault = Vault(building)
    vault.create(PASSPHRASE, KDF)
    store = Store.open(vault)
    try:
        fill_demo(store, participants=participants, years=years, seed=seed, today=TODAY)
    finally:
        store.close()
        vault.lock()
    (building / "done").write_text("built\n")
    shutil.rmtree(folder, ignore_errors=True)
    building.rename(folder)
    return folder


def copy_of_demo_vault(dest: Path, participants: int = 300, years: int = 5) -> Vault:
    """A private, locked copy of the cached vault in ``dest``."""
    src = cached_demo_vault(participants, years)
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("done"))
    return Vault(dest)


if __name__ == "__main__":
    print(cached_demo_vault())
