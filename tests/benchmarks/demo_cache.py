"""The five-year demo vault for benchmarks, built once and kept in a cache folder.

Building ``fill_demo(participants=300, years=5, seed=1, today=2026-11-20)`` takes a
few minutes, and several benchmarks need it. :func:`five_year_vault_copy` /
:func:`copy_of_demo_vault` put a private copy of a cached build in the caller's
folder, so the cached one is never written to. The cache
(``$PEERTRAIL_BENCH_CACHE`` or ``~/.cache/peertrail-bench``) is keyed by a hash of
the code that decides its content (app/demo.py, the migrations, the records), so
a change to any of them builds it again. The vault uses the real default
Argon2id settings, so unlock benchmarks measure the real key derivation.
Everyone in it is invented. :func:`team_vault` builds the (smaller) supervisor
vault of the team benchmarks afresh.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import shutil
import time
from datetime import date
from pathlib import Path

from app.demo import fill_demo
from app.store.db import Store
from app.store.vault import Vault

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "benchmark passphrase 2026"
TODAY = date(2026, 11, 20)
PARTICIPANTS = 300
YEARS = 5
INPUTS = ("app/demo.py", "app/store/migrations.py", "app/domain/records.py")


def _cache_dir() -> Path:
    base = os.environ.get("PEERTRAIL_BENCH_CACHE") or Path.home() / ".cache" / "peertrail-bench"
    h = hashlib.sha256(f"{PARTICIPANTS}/{YEARS}/1/{TODAY}".encode())
    for rel in INPUTS:
        h.update((ROOT / rel).read_bytes())
    return Path(base) / f"demo-{PARTICIPANTS}x{YEARS}-{h.hexdigest()[:12]}"


def build(folder: Path) -> None:
    vault = Vault(folder)
    vault.create(PASSPHRASE)
    store = Store.open(vault)
    try:
        fill_demo(store, participants=PARTICIPANTS, years=YEARS, seed=1, today=TODAY)
    finally:
        store.close()
        vault.lock()


def cached_vault() -> Path:
    """The folder of the cached, closed demo vault (built on first use)."""
    cache = _cache_dir()
    if not (cache / "done").exists():
        building = cache.with_name(cache.name + ".building")
        shutil.rmtree(building, ignore_errors=True)
        build(building / "vault")
        (building / "done").write_text("built\n")
        shutil.rmtree(cache, ignore_errors=True)
        building.rename(cache)
    return cache / "vault"


def five_year_vault_copy(target: Path) -> Path:
    """A private copy of the cached five-year demo vault at ``target``."""
    shutil.copytree(cached_vault(), target)
    return target


def copy_of_demo_vault(dest: Path) -> Vault:
    """A private, locked copy of the cached vault in ``dest``."""
    return Vault(five_year_vault_copy(dest))


def team_vault(folder: Path, today: date) -> tuple[Vault, Store, dict]:
    """A new supervisor vault in ``folder`` (fast key derivation) filled by
    ``fill_demo_team(specialists=20, participants=40, years=1)`` up to ``today``: the
    vault, its open store, and the build's figures (seconds, record counts)."""
    from app.demo_team import fill_demo_team
    from tests.conftest import FAST_KDF

    v = Vault(folder)
    v.create(PASSPHRASE, FAST_KDF)
    s = Store.open(v)
    t = time.perf_counter()
    counts = fill_demo_team(s, specialists=20, participants=40, years=1, today=today)
    return v, s, {"seconds": round(time.perf_counter() - t, 1), "counts": counts}


if __name__ == "__main__":
    print(cached_vault())


def search_queries(store: Store, n: int, seed: int, narrative: str) -> list[str]:
    """What people type into search: the first letters of a name (two in five), or of
    one to three words from the notes' ``narrative`` SQL expression."""
    rng = random.Random(seed)
    names = [
        (r[0], r[1])
        for r in store.conn.execute("SELECT first_name, last_name FROM participants ORDER BY id")
    ]
    words: list[str] = []
    for (text,) in store.conn.execute(f"SELECT {narrative} FROM encounters ORDER BY id LIMIT 2000"):
        words += re.findall(r"[^\W\d_]{4,}", text)
    prefix = lambda w: w[: rng.randint(min(2, len(w)), min(6, len(w)))]  # noqa: E731
    out = []
    for i in range(n):
        if i % 5 < 2:
            first, last = rng.choice(names)
            last = re.findall(r"[^\W\d_]+", last)[0]
            out.append(prefix(first) if rng.random() < 0.5 else f"{prefix(first)} {prefix(last)}")
        else:
            out.append(" ".join(prefix(rng.choice(words)) for _ in range(rng.randint(1, 3))))
    return out
