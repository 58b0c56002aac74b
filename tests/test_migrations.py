"""Upgrading vault files saved at older schema versions, and refusing newer ones."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from app.domain.records import RECORD_TYPES
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
from tests.helpers import snapshot

V1_PASSPHRASE = "fixture passphrase v1"


@pytest.fixture
def v1_vault(tmp_path: Path) -> Vault:
    return copy_unlocked(FIXTURES / "vault_v1", tmp_path / "old", V1_PASSPHRASE)


def test_v1_vault_upgrades_with_a_backup_first(v1_vault: Vault):
    assert raw_version(v1_vault) == 1

    s = Store.open(v1_vault)
    assert s.schema_version == migrations.LATEST
    assert s.migration_backup is not None and s.migration_backup.exists()
    assert s.migration_backup.name.startswith("pre-migration-v1-")

    r = Repositories(s)
    names = sorted(p.last_name for p in r.participants.list())
    assert names == ["Ashcombe", "Belcourt"]
    # the new full-text index was built from the data already there
    assert [h.kind for h in search(s, "snowpl")] == ["note"]
    assert [h.title for h in search(s, "belc")] == ["Yarrow Belcourt"]
    # change capture still works after the upgrade, stamps keep increasing
    old_max = s.conn.execute("SELECT max(stamp) FROM outbox").fetchone()[0]
    p = r.participants.add(Participant(first_name="Zinnia", last_name="Coldbrook"))
    new = s.conn.execute("SELECT min(stamp) FROM outbox WHERE record_id = ?", (p.id,)).fetchone()[0]
    assert new > old_max
    s.close()

    # the backup is the old database, encrypted with the same key, still at v1
    b = open_encrypted(s.migration_backup, v1_vault.data_key)
    assert migrations.version(b) == 1
    assert b.execute("SELECT count(*) FROM participants").fetchone()[0] == 2
    b.close()


def test_upgraded_schema_matches_the_records(v1_vault: Vault):
    """Every record field has a column after all migrations, and nothing else."""
    s = Store.open(v1_vault)
    for cls in RECORD_TYPES:
        cols = {r[1] for r in s.conn.execute(f"PRAGMA table_info({cls.TABLE})")}
        assert cols == {f.name for f in dataclasses.fields(cls)}, cls.TABLE
    s.close()


def test_a_failing_migration_rolls_back(v1_vault: Vault, monkeypatch):
    def broken(conn):
        conn.execute("CREATE TABLE half_done (x INTEGER)")
        raise RuntimeError("interrupted")

    monkeypatch.setattr(migrations, "MIGRATIONS", (migrations.MIGRATIONS[0], broken))
    with pytest.raises(Exception, match="interrupted"):
        Store.open(v1_vault)
    raw = open_encrypted(v1_vault.db_path, v1_vault.data_key)
    assert migrations.version(raw) == 1
    assert not raw.execute("SELECT 1 FROM sqlite_master WHERE name = 'half_done'").fetchone()
    raw.close()


def test_a_newer_vault_is_refused_and_left_alone(vault: Vault, store: Store):
    with store.transaction(mode="migrate"):
        store.conn.execute(f"PRAGMA user_version = {migrations.LATEST + 1}")
    store.close()
    before = snapshot(vault.dir)
    v = Vault(vault.dir)
    from tests.conftest import PASSPHRASE

    v.unlock(PASSPHRASE)
    with pytest.raises(VaultTooNew, match="newer PeerTrail"):
        Store.open(v)
    assert snapshot(vault.dir) == before
