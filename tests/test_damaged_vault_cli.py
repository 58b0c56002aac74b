"""A damaged vault database, through the real command line: with bytes flipped in
page 4 or in a page of the outbox table of a real, enrolled SQLCipher vault,
every command that opens the vault exits 4 with a plain message (no traceback)
and the vault folder is byte-identical afterwards. The same commands work on an
undamaged copy, so the test can fail."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.domain.records import Participant
from app.store.vault import Vault
from tests.conftest import PASSPHRASE
from tests.helpers import flip_bytes
from tests.helpers import run_cli
from tests.helpers import snapshot
from tests.server_proc import DEFAULT_PASSWORD
from tests.server_proc import start_server
from tests.test_sync_e2e import Laptop

ENV = {
    "PEERTRAIL_PASSPHRASE": PASSPHRASE,
    "PEERTRAIL_SERVER_PASSWORD": DEFAULT_PASSWORD,
    "PEERTRAIL_NEW_PASSPHRASE": "another passphrase 43",
}


def _commands(folder: Path, server_url: str, out: Path) -> list[tuple[str, ...]]:
    csv = out / "more.csv"
    csv.write_text(
        "first_name,last_name,date_of_birth,medicaid_id,county,program\n"
        "Velora,Quintash,1980-01-02,100000009,Cass,1915(i)\n"
    )
    return [
        ("status",),
        ("status", "--json"),
        ("sync",),
        ("backup", "--out", str(out / "b.ptb")),
        ("import", "participants", str(csv)),
        ("batches",),
        ("enroll", "--server", server_url, "--username", "ann"),
        ("passwd",),
    ]


@pytest.fixture(scope="module")
def enrolled(tmp_path_factory):
    """An enrolled vault that synced once and has changes waiting in its outbox."""
    root = tmp_path_factory.mktemp("damaged")
    server = start_server(root, extra_args=("--rate-limit", "0"))
    server.add_user("ann", "specialist")
    lap = Laptop(root, "ann-laptop", server, "ann")
    lap.repos.participants.add_many(
        Participant(first_name=f"Pers{i:03d}", last_name="Doe", assigned_specialist_id=lap.user.id)
        for i in range(40)
    )
    lap.sync()
    lap.repos.participants.add_many(
        Participant(first_name=f"Wait{i:03d}", last_name="Doe", assigned_specialist_id=lap.user.id)
        for i in range(300)
    )
    outbox_root = lap.store.conn.execute(
        "SELECT rootpage FROM sqlite_master WHERE name = 'outbox'"
    ).fetchone()[0]
    lap.close()
    yield root, lap.dir, server, outbox_root
    server.close()


@pytest.mark.parametrize("where", ["page 4", "outbox page"])
def test_every_command_exits_4_and_writes_nothing(enrolled, tmp_path, where):
    _root, clean, server, outbox_root = enrolled
    assert outbox_root != 4
    page = 4 if where == "page 4" else outbox_root

    good = tmp_path / "good"
    shutil.copytree(clean, good)
    for args in (("status",), ("sync",)):  # the undamaged copy works
        done = run_cli(*args, "--data-dir", str(good), env=ENV)
        assert done.returncode == 0, (args, done.stderr)

    vault = tmp_path / "vault"
    shutil.copytree(clean, vault)
    flip_bytes(vault / "peertrail.db", page)
    before = snapshot(vault)
    out = tmp_path / "out"
    out.mkdir()
    for args in _commands(vault, server.url, out):
        done = run_cli(*args, "--data-dir", str(vault), env=ENV)
        assert done.returncode == 4, (args, done.returncode, done.stderr)
        assert "Traceback" not in done.stderr, (args, done.stderr)
        assert "damaged" in done.stderr, (args, done.stderr)
        assert snapshot(vault) == before, args  # nothing written, nothing added
    assert not (out / "b.ptb").exists()

    check = run_cli("check", "--data-dir", str(vault), env=ENV)
    assert check.returncode == 4
    assert snapshot(vault) == before


def test_damaged_page_is_refused_when_opening_the_store(enrolled, tmp_path):
    from app.store.db import Store
    from app.store.errors import VaultDamaged

    _root, clean, _server, outbox_root = enrolled
    vault_dir = tmp_path / "v"
    shutil.copytree(clean, vault_dir)
    flip_bytes(vault_dir / "peertrail.db", outbox_root)
    vault = Vault(vault_dir)
    vault.unlock(PASSPHRASE)
    with pytest.raises(VaultDamaged, match="damaged"):
        Store.open(vault)
