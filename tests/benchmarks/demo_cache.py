"""The five-year demo vault for benchmarks, built once and kept in a cache folder.

Building ``fill_demo(participants=300, years=5)`` takes about two minutes, and
several benchmarks need it. :func:`five_year_vault_copy` returns a fresh copy of a
cached build in a folder of the caller's; the cache (``PEERTRAIL_BENCH_CACHE`` or
``~/.cache/peertrail-bench``) is keyed by the schema version and a hash of
app/demo.py, so a change to either builds it again. The vault uses the real
default Argon2id settings.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from datetime import date
from pathlib import Path

from app.demo import fill_demo
from app.store.db import Store
from app.store.migrations import LATEST
from app.store.vault import Vault

PASSPHRASE = "benchmark passphrase 2026"
TODAY = date(2026, 11, 20)
PARTICIPANTS = 300
YEARS = 5
ROOT = Path(__file__).resolve().parents[2]


def _cache_dir() -> Path:
    base = os.environ.get("PEERTRAIL_BENCH_CACHE") or Path.home() / ".cache" / "peertrail-bench"
    demo_hash = hashlib.sha256((ROOT / "app" / "demo.py").read_bytes()).hexdigest()[:12]
    return Path(base) / f"demo-{PARTICIPANTS}x{YEARS}-v{LATEST}-{demo_hash}"


def build(folder: Path) -> None:
    vault = Vault(folder)
    vault.create(PASSPHRASE)
    store = Store.open(vault)
    try:
        fill_demo(store, participants=PARTICIPANTS, years=YEARS, seed=1, today=TODAY)
    finally:
        store.close()
        vault.lock()


def five_year_vault_copy(target: Path) -> Path:
    """A copy of the cached five-year demo vault at ``target`` (built if missing)."""
    cache = _cache_dir()
    if not (cache / "done").exists():
        if cache.exists():
            shutil.rmtree(cache)
        building = cache.with_name(cache.name + ".building")
        if building.exists():
            shutil.rmtree(building)
        build(building / "vault")
        (building / "done").write_text("ok\n")
        building.rename(cache)
    shutil.copytree(cache / "vault", target)
    return target
