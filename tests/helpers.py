"""Small helpers shared by tests: invented people, vaults made, copied and opened in a folder,
conflicts written as sync writes them, damaged pages, folder snapshots, CLI and
Python runs."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from contextlib import closing
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from app.domain.records import Conflict
from app.domain.records import Participant
from app.domain.records import ParticipantStatus
from app.store import migrations
from app.store.codec import codec
from app.store.db import Store
from app.store.repositories import Repositories
from app.store.vault import Vault
from app.store.vault import open_encrypted

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


def person(first: str, last: str, county: str = "Cass", state: str = "ND", **kw) -> Participant:
    """An invented participant (not stored): active in the 1915(i) program in Cass
    County, ND, unless told otherwise; ``kw`` are other Participant fields."""
    kw.setdefault("program", "1915(i)")
    kw.setdefault("status", ParticipantStatus.ACTIVE)
    return Participant(first_name=first, last_name=last, county=county, state=state, **kw)


def vault_of_people(folder: Path, people: list[Participant]) -> Path:
    """``folder`` holding a new locked vault (test passphrase) with ``people`` in it."""
    with new_vault(folder) as store:
        Repositories(store).participants.add_many(people)
    return folder


def add_person(repos: Repositories, first: str, last: str, **kw) -> Participant:
    kw.setdefault("date_of_birth", date(1988, 4, 9))
    return repos.participants.add(Participant(first_name=first, last_name=last, **kw))


@contextmanager
def new_vault(folder: Path, passphrase: str | None = None, kdf=None) -> Iterator[Store]:
    """Create a vault in ``folder`` (the test passphrase unless given; ``kdf``: its key
    derivation) and yield its open store to fill; closed and locked after."""
    if passphrase is None:
        from tests.conftest import PASSPHRASE as passphrase
    vault = Vault(folder)
    vault.create(passphrase, kdf)
    with opened(vault) as store:
        yield store


def copy_unlocked(folder: Path, target: Path, passphrase: str) -> Vault:
    """A copy at ``target`` of the saved vault in ``folder`` (without its expected.json),
    unlocked with ``passphrase``."""
    shutil.copytree(folder, target, ignore=shutil.ignore_patterns("expected.json"))
    vault = Vault(target)
    vault.unlock(passphrase)
    return vault


def raw_version(vault: Vault, path: Path | None = None) -> int:
    """The schema version written in the unlocked vault's file (or in the file at
    ``path`` under its key), read without opening a store (so without migrating)."""
    conn = open_encrypted(path or vault.db_path, vault.data_key)
    try:
        return migrations.version(conn)
    finally:
        conn.close()


@contextmanager
def opened_vault(folder: Path, passphrase: str) -> Iterator[Store]:
    """The store of the existing vault in ``folder``, unlocked with ``passphrase``;
    closed and locked after."""
    vault = Vault(folder)
    vault.unlock(passphrase)
    with opened(vault) as store:
        yield store


@contextmanager
def opened(vault: Vault) -> Iterator[Store]:
    """The unlocked vault's store; closed, and the vault locked, after."""
    with ExitStack() as after:
        after.callback(vault.lock)
        yield after.enter_context(closing(Store.open(vault)))


def put_conflict(
    repos: Repositories, target: tuple[str, str, str], pid: str, kept, lost=None, **kw
) -> Conflict:
    """A conflict written as sync writes it (in ``remote`` mode): on ``target`` (table,
    record id, field) of participant ``pid``; ``kept`` and ``lost`` are field values
    (``lost`` None: no lost value); ``kw`` are other Conflict fields (kind: "text")."""
    table, target_id, field = target
    kw.setdefault("kind", "text")
    c = Conflict(
        table_name=table,
        target_id=target_id,
        field=field,
        participant_id=pid,
        kept_value=json.dumps(kept),
        lost_value="" if lost is None else json.dumps(lost),
        **kw,
    )
    cc = codec(Conflict)
    with repos.store.transaction(mode="remote"):
        marks = ", ".join("?" for _ in cc.names)
        cols = ", ".join(f'"{n}"' for n in cc.names)
        repos.store.conn.execute(f"INSERT INTO conflicts ({cols}) VALUES ({marks})", cc.to_row(c))
    return c


def flip_bytes(db: Path, page: int) -> None:
    """Invert 16 bytes in the middle of page ``page`` (1-based) of the vault file ``db``."""
    from app.store.vault import PAGE_SIZE

    with open(db, "r+b") as f:
        f.seek((page - 1) * PAGE_SIZE + 1000)
        chunk = f.read(16)
        f.seek((page - 1) * PAGE_SIZE + 1000)
        f.write(bytes(b ^ 0xFF for b in chunk))


def snapshot(folder: Path) -> dict[str, str]:
    """Name -> SHA-256 of every file under ``folder``."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def invented_names(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` unique, made-up, pronounceable (first, last) names of 7+ letters, so
    that finding one by chance in encrypted bytes is practically impossible."""
    rng = random.Random(seed)
    cons, vows = "bdfgklmnprstvz", "aeiou"

    def word(k: int) -> str:
        return "".join(rng.choice(cons) + rng.choice(vows) for _ in range(k)).capitalize()

    seen: set[tuple[str, str]] = set()
    while len(seen) < n:
        seen.add((word(4), word(5)))
    return sorted(seen)


def run_cli(*args: str, env: dict[str, str] | None = None, input: str | None = None):
    """The app's command line (main.py) run with ``args``, without the caller's
    PEERTRAIL_ settings; ``env``: settings to add."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PEERTRAIL_")}
    full_env.update(env or {})
    return run_python(str(ROOT / "main.py"), *args, env=full_env, input=input)


def run_python(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300, **kw
) -> subprocess.CompletedProcess[str]:
    """``python *args`` (this interpreter) run in the repository's root, its output
    caught as text; ``kw``: other subprocess.run arguments (input, check)."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kw,
    )


def last_json(output: str):
    """The JSON value printed on the last line of a program's ``output``."""
    return json.loads(output.strip().splitlines()[-1])
