"""The vault: key wrapping, wrong passphrase vs damaged file, recovery, file modes."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from app.store.db import Store
from app.store.errors import VaultDamaged
from app.store.errors import VaultExists
from app.store.errors import VaultMissing
from app.store.errors import WrongPassphrase
from app.store.repositories import Repositories
from app.store.vault import DEFAULT_KDF
from app.store.vault import Vault
from app.store.vault import format_recovery_key
from app.store.vault import parse_recovery_key
from tests.conftest import PASSPHRASE
from tests.helpers import add_person
from tests.helpers import snapshot


def test_create_unlock_roundtrip(vault_dir: Path, fast_kdf):
    v = Vault(vault_dir)
    rk = v.create(PASSPHRASE)
    assert len(rk.split("-")) == 9
    s = Store.open(v)
    add_person(Repositories(s), "Ilsa", "Marrowby")
    s.close()
    v.lock()
    assert not v.unlocked

    again = Vault(vault_dir)
    again.unlock(PASSPHRASE)
    s = Store.open(again)
    assert [p.last_name for p in Repositories(s).participants.list()] == ["Marrowby"]
    s.close()


def test_default_kdf_is_argon2id_with_stored_parameters(vault: Vault):
    kdf = json.loads(vault.keyfile_path.read_text())["kdf"]
    assert kdf["name"] == "argon2id"
    assert {"salt", "iterations", "lanes", "memory_kib"} <= set(kdf)
    assert DEFAULT_KDF["memory_kib"] >= 65536  # the real default is memory-hard


def test_files_are_owner_only(vault: Vault, store: Store):
    add_person(Repositories(store), "Ode", "Thistlewick")
    assert stat.S_IMODE(vault.dir.stat().st_mode) == 0o700
    for f in vault.dir.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) & 0o077 == 0, f.name


def test_wrong_passphrase_changes_nothing(vault: Vault, store: Store):
    add_person(Repositories(store), "Perrin", "Vastholm")
    store.close()
    before = snapshot(vault.dir)
    with pytest.raises(WrongPassphrase) as e:
        Vault(vault.dir).unlock("not the passphrase")
    assert e.value.exit_code == 3
    assert snapshot(vault.dir) == before


def test_create_refuses_existing_vault(vault: Vault):
    before = snapshot(vault.dir)
    with pytest.raises(VaultExists):
        Vault(vault.dir).create("another passphrase")
    assert snapshot(vault.dir) == before


def test_missing_vault_is_not_created(tmp_path: Path):
    v = Vault(tmp_path / "nothing")
    with pytest.raises(VaultMissing):
        v.unlock(PASSPHRASE)
    assert not (tmp_path / "nothing").exists()


def test_missing_database_is_not_recreated(vault: Vault, store: Store):
    store.close()
    vault.db_path.unlink()
    for extra in ("peertrail.db-wal", "peertrail.db-shm"):
        (vault.dir / extra).unlink(missing_ok=True)
    v = Vault(vault.dir)
    v.unlock(PASSPHRASE)
    with pytest.raises(VaultDamaged, match="missing"):
        Store.open(v)
    assert not vault.db_path.exists()


def test_empty_database_is_refused(vault: Vault, store: Store):
    store.close()
    vault.db_path.write_bytes(b"")
    v = Vault(vault.dir)
    v.unlock(PASSPHRASE)
    with pytest.raises(VaultDamaged, match="empty"):
        Store.open(v)
    assert vault.db_path.read_bytes() == b""


def test_truncated_database_is_refused_and_left_alone(vault: Vault, store: Store):
    add_person(Repositories(store), "Quenby", "Arkwright")
    store.close()
    data = vault.db_path.read_bytes()
    vault.db_path.write_bytes(data[: len(data) // 2 + 100])
    before = snapshot(vault.dir)
    v = Vault(vault.dir)
    v.unlock(PASSPHRASE)
    with pytest.raises(VaultDamaged):
        Store.open(v)
    assert snapshot(vault.dir) == before


def test_garbled_database_header_is_damaged_not_wrong_passphrase(vault: Vault, store: Store):
    store.close()
    data = bytearray(vault.db_path.read_bytes())
    data[100:200] = bytes(100)
    vault.db_path.write_bytes(bytes(data))
    before = snapshot(vault.dir)
    v = Vault(vault.dir)
    v.unlock(PASSPHRASE)  # the passphrase is right: the key file tells
    with pytest.raises(VaultDamaged, match="damaged"):
        Store.open(v)
    assert snapshot(vault.dir) == before


def test_damaged_or_missing_key_file(vault: Vault, store: Store):
    store.close()
    good = vault.keyfile_path.read_bytes()
    vault.keyfile_path.write_text("{not json")
    with pytest.raises(VaultDamaged, match="key file"):
        Vault(vault.dir).unlock(PASSPHRASE)
    vault.keyfile_path.unlink()
    with pytest.raises(VaultDamaged, match="missing"):
        Vault(vault.dir).unlock(PASSPHRASE)
    vault.keyfile_path.write_bytes(good)
    Vault(vault.dir).unlock(PASSPHRASE)


def test_key_check_catches_a_swapped_key(vault: Vault, store: Store):
    store.close()
    kf = json.loads(vault.keyfile_path.read_text())
    kf["key_check"] = "0" * 64
    vault.keyfile_path.write_text(json.dumps(kf))
    with pytest.raises(VaultDamaged, match="key check"):
        Vault(vault.dir).unlock(PASSPHRASE)


def test_change_passphrase_rewraps_without_rewriting_the_database(vault: Vault, store: Store):
    add_person(Repositories(store), "Rowena", "Kettleburn")
    store.close()
    db_before = vault.db_path.read_bytes()
    v = Vault(vault.dir)
    v.unlock(PASSPHRASE)
    v.change_passphrase("a brand new passphrase")
    assert vault.db_path.read_bytes() == db_before
    with pytest.raises(WrongPassphrase):
        Vault(vault.dir).unlock(PASSPHRASE)
    fresh = Vault(vault.dir)
    fresh.unlock("a brand new passphrase")
    s = Store.open(fresh)
    assert Repositories(s).participants.count() == 1
    s.close()
    # the recovery key shown at creation still works
    Vault(vault.dir).unlock_with_recovery_key(vault.recovery_key)  # type: ignore[attr-defined]


def test_recovery_key_resets_a_forgotten_passphrase(vault: Vault, store: Store):
    store.close()
    typed = vault.recovery_key.lower().replace("-", " ")  # type: ignore[attr-defined]
    v = Vault(vault.dir)
    v.unlock_with_recovery_key(typed)
    v.change_passphrase("remembered this time")
    Vault(vault.dir).unlock("remembered this time")


def test_recovery_key_typos_are_caught_before_trying(vault: Vault):
    key = vault.recovery_key  # type: ignore[attr-defined]
    flipped = ("B" if key[0] != "B" else "C") + key[1:]
    with pytest.raises(WrongPassphrase, match="typing mistake"):
        parse_recovery_key(flipped)
    with pytest.raises(WrongPassphrase, match="9 groups"):
        parse_recovery_key("ABCD-EFGH")
    other = format_recovery_key(bytes(20))
    with pytest.raises(WrongPassphrase, match="recovery key"):
        Vault(vault.dir).unlock_with_recovery_key(other)


def test_lock_forgets_the_key(vault: Vault):
    assert vault.unlocked
    vault.lock()
    with pytest.raises(Exception, match="locked"):
        _ = vault.data_key
