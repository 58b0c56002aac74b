"""Upgrade safety with vault files saved at every schema version.

A newer app opening an older vault migrates it after an encrypted backup and
loses nothing; an older app opening a newer vault refuses it clearly and leaves
every byte as it was. The tests run over every tests/fixtures/vault_v<N>/ there is
and over ``migrations.LATEST``, so a new schema version only needs its fixture
(``python tests/fixtures/make_vault.py N``).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from app.domain.records import Participant
from app.store import migrations
from app.store.db import Store
from app.store.errors import VaultTooNew
from app.store.repositories import Repositories
from app.store.search import search
from app.store.vault import Vault
from app.store.vault import open_encrypted
from tests.helpers import FIXTURES
from tests.helpers import copy_unlocked
from tests.helpers import raw_version
from tests.helpers import run_cli
from tests.helpers import snapshot


def _fixtures() -> dict[int, Path]:
    found = {}
    for d in FIXTURES.glob("vault_v*"):
        m = re.fullmatch(r"vault_v(\d+)", d.name)
        if m and d.is_dir():
            found[int(m.group(1))] = d
    return dict(sorted(found.items()))


FIXTURE_DIRS = _fixtures()
KNOWN = {v: d for v, d in FIXTURE_DIRS.items() if v <= migrations.LATEST}


def _expected(folder: Path) -> dict:
    return json.loads((folder / "expected.json").read_text())


def _copy(folder: Path, tmp_path: Path) -> Vault:
    return copy_unlocked(folder, tmp_path / folder.name, _expected(folder)["passphrase"])


def test_there_is_a_fixture_for_every_schema_version():
    missing = [v for v in range(1, migrations.LATEST + 1) if v not in FIXTURE_DIRS]
    assert not missing, (
        f"no vault saved at schema version(s) {missing}: run "
        f"`python tests/fixtures/make_vault.py N` with that version's code and commit it"
    )


@pytest.mark.parametrize("version", list(KNOWN), ids=[f"v{v}" for v in KNOWN])
def test_an_older_vault_opens_migrated_after_an_encrypted_backup(version: int, tmp_path: Path):
    folder = KNOWN[version]
    expected = _expected(folder)
    vault = _copy(folder, tmp_path)
    assert raw_version(vault) == version == expected["schema_version"]

    store = Store.open(vault)
    try:
        assert store.schema_version == migrations.LATEST
        backup = store.migration_backup
        if version == migrations.LATEST:
            assert backup is None  # nothing to migrate, nothing copied
        else:
            assert backup is not None and backup.is_file()
            assert backup.name.startswith(f"pre-migration-v{version}-")
            assert backup.parent == vault.dir / "backups"
            assert backup.stat().st_mode & 0o077 == 0
            # the backup is encrypted: it does not start with SQLite's plain header
            assert not backup.read_bytes()[:16].startswith(b"SQLite format 3")

        r = Repositories(store)
        for table, n in expected["counts"].items():
            assert store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == n, table
        assert sorted(p.last_name for p in r.participants.list()) == expected["last_names"]
        note = r.encounters.get(expected["note"]["encounter_id"])
        assert note is not None and note.intervention == expected["note"]["intervention"]
        # the search index covers what was there before the upgrade
        assert [h.kind for h in search(store, "snowpl")] == ["note"]
        # and the upgraded vault takes new records, captured for sync
        p = r.participants.add(Participant(first_name="Zinnia", last_name="Coldbrook"))
        captured = store.conn.execute(
            "SELECT count(*) FROM outbox WHERE record_id = ?", (p.id,)
        ).fetchone()[0]
        assert captured > 0
    finally:
        store.close()

    if version < migrations.LATEST:
        # the backup is the vault as it was, under the same key, at the old version
        assert raw_version(vault, backup) == version
        conn = open_encrypted(backup, vault.data_key)
        try:
            assert (
                conn.execute("SELECT count(*) FROM participants").fetchone()[0]
                == (expected["counts"]["participants"])
            )
        finally:
            conn.close()

    # a second start does not migrate (or back up) again
    again = Store.open(vault)
    try:
        assert again.migration_backup is None
    finally:
        again.close()


@pytest.mark.parametrize("version", list(KNOWN), ids=[f"v{v}" for v in KNOWN])
def test_an_older_vault_opens_from_the_command_line(version: int, tmp_path: Path):
    folder = KNOWN[version]
    target = tmp_path / "vault"
    shutil.copytree(folder, target)
    env = {"PEERTRAIL_PASSPHRASE": _expected(folder)["passphrase"]}
    result = run_cli("status", "--json", "--data-dir", str(target), env=env)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["schema_version"] == migrations.LATEST
    assert info["counts"]["participants"]["records"] == _expected(folder)["counts"]["participants"]


def _newer_vault(tmp_path: Path) -> Vault:
    """The newest fixture with its schema number raised past what this app knows,
    as a laptop with a newer PeerTrail would leave it."""
    newest = FIXTURE_DIRS[max(KNOWN)]
    vault = _copy(newest, tmp_path)
    store = Store.open(vault)
    with store.transaction(mode="migrate"):
        store.conn.execute(f"PRAGMA user_version = {migrations.LATEST + 1}")
    store.close()
    shutil.rmtree(vault.dir / "backups", ignore_errors=True)
    return vault


def test_a_newer_vault_is_refused_and_left_byte_identical(tmp_path: Path):
    vault = _newer_vault(tmp_path)
    before = snapshot(vault.dir)
    with pytest.raises(VaultTooNew) as caught:
        Store.open(vault)
    message = str(caught.value)
    assert "newer PeerTrail" in message and "not changed" in message
    assert f"schema {migrations.LATEST + 1}" in message
    assert snapshot(vault.dir) == before
    assert not (vault.dir / "backups").exists()


def test_a_newer_vault_is_refused_by_the_command_line(tmp_path: Path):
    vault = _newer_vault(tmp_path)
    newest = FIXTURE_DIRS[max(KNOWN)]
    before = snapshot(vault.dir)
    env = {"PEERTRAIL_PASSPHRASE": _expected(newest)["passphrase"]}
    result = run_cli("status", "--data-dir", str(vault.dir), env=env)
    assert result.returncode == 4
    assert "newer PeerTrail" in result.stderr and "Install the newer version" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(vault.dir) == before


def test_a_newer_vault_is_refused_by_the_window(qtbot, tmp_path: Path):
    from PySide6.QtCore import Qt

    from app.ui.shell.main_window import MainWindow

    vault = _newer_vault(tmp_path)
    newest = FIXTURE_DIRS[max(KNOWN)]
    before = snapshot(vault.dir)
    w = MainWindow(vault.dir)
    qtbot.addWidget(w)
    page = w.start.unlock_page
    assert w.start.currentWidget() is page
    page.passphrase.setText(_expected(newest)["passphrase"])
    qtbot.mouseClick(page.submit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.error.isHidden() and "newer PeerTrail" in page.error.text())
    qtbot.waitUntil(lambda: not w.tasks.busy)
    assert w.session is None
    w.close()
    assert snapshot(vault.dir) == before
