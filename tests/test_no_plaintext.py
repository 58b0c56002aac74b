"""No personal data outside the encrypted database: after importing 1,000 invented
names, none appears in any byte of any file in the data folder (database, WAL,
shared memory, key file, backups, migration backups), in the temp folder, or in
what the commands print."""

from __future__ import annotations

import os
import re
from pathlib import Path

from app.domain.records import Participant
from app.store.db import Store
from app.store.repositories import Repositories
from app.store.vault import Vault
from tests.conftest import PASSPHRASE
from tests.helpers import invented_names
from tests.helpers import run_cli

_RUN8 = re.compile(rb"[A-Za-z]{8,}")
_RUN8_UTF16 = re.compile(rb"(?:[A-Za-z]\x00){8,}")


def _leaks(folder: Path, names: set[str]) -> list[str]:
    """Files under ``folder`` holding any of ``names`` (lower case, 8 or 10 letters),
    as UTF-8 or UTF-16, anywhere inside a run of letters, in any letter case."""
    lengths = {len(n) for n in names}
    found = []
    for f in sorted(folder.rglob("*")):
        if not f.is_file():
            continue
        blob = f.read_bytes()
        runs = [m.group().lower() for m in _RUN8.finditer(blob)]
        runs += [m.group().replace(b"\x00", b"").lower() for m in _RUN8_UTF16.finditer(blob)]
        if any(
            run[i : i + k].decode() in names
            for run in runs
            for k in lengths
            for i in range(len(run) - k + 1)
        ):
            found.append(f.name)
    return found


def _needles(names: list[tuple[str, str]]) -> set[str]:
    return {w.lower() for pair in names for w in pair}


def test_no_plaintext_after_importing_1000_names(vault: Vault, store: Store, tmp_path: Path):
    names = invented_names(1000, seed=11)
    needles = _needles(names)
    control = tmp_path / "control"
    control.mkdir()
    (control / "plain.txt").write_bytes(b"\x01\x02" + names[3][1].upper().encode() + b"Cass")
    (control / "wide.txt").write_bytes(("x" + names[9][0]).encode("utf-16-le"))
    assert _leaks(control, needles) == ["plain.txt", "wide.txt"]  # the scanner sees plaintext

    # half through the repositories, scanned while the WAL still holds them
    repos = Repositories(store)
    repos.participants.add_many(
        Participant(first_name=f, last_name=last, county="Cass") for f, last in names[:500]
    )
    assert _leaks(vault.dir, needles) == []
    store.close()

    # half through the spreadsheet import, as a person would
    csv = tmp_path / "outside" / "caseload.csv"
    csv.parent.mkdir()
    csv.write_text(
        "first_name,last_name,date_of_birth,medicaid_id,county,program\n"
        + "".join(
            f"{f},{last},1980-01-{1 + i % 28:02d},{100000000 + i},Cass,1915(i)\n"
            for i, (f, last) in enumerate(names[500:])
        )
    )
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {"PEERTRAIL_PASSPHRASE": PASSPHRASE, "TMPDIR": str(tmp)}
    outputs = []
    for args in (
        ("import", "participants", str(csv)),
        ("status",),
        ("check",),
        ("backup", "--out", str(vault.dir / "backups" / "weekly.zip")),
    ):
        out = run_cli(*args, "--data-dir", str(vault.dir), env=env)
        assert out.returncode == 0, out.stderr
        outputs.append(out.stdout + out.stderr)

    # reopening runs the (empty) migration check and search; still nothing leaks
    v = Vault(vault.dir)
    v.unlock(PASSPHRASE)
    s = Store.open(v)
    assert Repositories(s).participants.count() == 1000
    from app.store.search import search

    assert search(s, names[700][1])  # the data is there, only encrypted
    assert _leaks(vault.dir, needles) == []
    s.close()

    files = [p.name for p in vault.dir.rglob("*") if p.is_file()]
    assert "peertrail.db" in files and "weekly.zip" in files
    assert _leaks(vault.dir, needles) == []
    assert _leaks(tmp, needles) == []
    printed = "\n".join(outputs).lower()
    assert not any(n in printed for n in needles)
    assert all(os.stat(p).st_mode & 0o077 == 0 for p in vault.dir.rglob("*") if p.is_file())
