"""Encrypted backups of a whole vault, restore, and an integrity check.

A backup is one zip file holding ``vault.json`` (the wrapped keys, no personal
data), ``peertrail.db`` (a fresh SQLCipher copy under the same data key) and
``manifest.json``. It opens with the passphrase or recovery key that was
current when it was taken. Restoring never destroys the vault it replaces: that
folder is moved aside, beside the data folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from pathlib import Path

import sqlcipher3

from app.store import audit
from app.store import migrations
from app.store.db import Store
from app.store.errors import DiskFull
from app.store.errors import StoreError
from app.store.errors import VaultDamaged
from app.store.signatures import signature_problems
from app.store.vault import DBFILE
from app.store.vault import KEYFILE
from app.store.vault import Vault
from app.store.vault import is_disk_full

MANIFEST = "manifest.json"
BACKUP_FORMAT = "peertrail-backup"


def create_backup(store: Store, out: Path) -> Path:
    """Write an encrypted backup of the open store's vault to ``out`` (a new file)."""
    vault = store.vault
    if vault is None:
        raise StoreError("This store has no vault to back up.")
    out = Path(out)
    if out.exists():
        raise StoreError(f"{out.name} already exists; choose a new file name for the backup.")
    out.parent.mkdir(parents=True, exist_ok=True)
    store.audit("backup", detail_file=out.name)
    work = Path(tempfile.mkdtemp(prefix=".peertrail-backup-", dir=out.parent))
    try:
        db_copy = work / DBFILE
        migrations.export_encrypted(store.conn, db_copy, vault.data_key.hex())
        digest = hashlib.sha256(db_copy.read_bytes()).hexdigest()
        manifest = {
            "format": BACKUP_FORMAT,
            "version": 1,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "schema_version": store.schema_version,
            "vault_id": vault.vault_id,
            "db_sha256": digest,
        }
        tmp_zip = work / "backup.zip"
        with zipfile.ZipFile(tmp_zip, "w", compression=zipfile.ZIP_STORED) as z:
            z.write(vault.keyfile_path, KEYFILE)
            z.write(db_copy, DBFILE)
            z.writestr(MANIFEST, json.dumps(manifest, indent=2))
        os.chmod(tmp_zip, 0o600)
        os.replace(tmp_zip, out)
    except OSError as e:
        if is_disk_full(e):
            raise DiskFull() from None
        raise StoreError(f"The backup could not be written ({e.strerror}).") from None
    except sqlcipher3.Error as e:
        if is_disk_full(e):
            raise DiskFull() from None
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def _read_backup(path: Path, into: Path) -> dict:
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if not {KEYFILE, DBFILE, MANIFEST} <= names:
                raise VaultDamaged("That file is not a PeerTrail backup (parts are missing).")
            manifest = json.loads(z.read(MANIFEST))
            if manifest.get("format") != BACKUP_FORMAT:
                raise VaultDamaged("That file is not a PeerTrail backup.")
            for name in (KEYFILE, DBFILE):
                target = into / name
                with z.open(name) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                os.chmod(target, 0o600)
    except FileNotFoundError:
        raise StoreError("That backup file does not exist.") from None
    except (zipfile.BadZipFile, ValueError, KeyError):
        raise VaultDamaged("That backup file is damaged or not a PeerTrail backup.") from None
    digest = hashlib.sha256((into / DBFILE).read_bytes()).hexdigest()
    if digest != manifest.get("db_sha256"):
        raise VaultDamaged("That backup file is damaged (its database does not match).")
    return manifest


def restore_backup(
    backup: Path, data_dir: Path, passphrase: str | None = None, recovery_key: str | None = None
) -> Path | None:
    """Restore ``backup`` into ``data_dir``. Returns where the replaced vault was
    moved (or None). Nothing changes unless the backup unlocks and checks out."""
    data_dir = Path(data_dir)
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".peertrail-restore-", dir=data_dir.parent))
    try:
        os.chmod(staging, 0o700)
        _read_backup(Path(backup), staging)
        v = Vault(staging)
        if recovery_key:
            v.unlock_with_recovery_key(recovery_key)
        else:
            v.unlock(passphrase or "")
        report = check_vault(v)
        if not report.ok:
            raise VaultDamaged("That backup is damaged: " + "; ".join(report.problems))
        store = Store.open(v)  # migrates an older backup, refuses a newer one
        try:
            store.audit("restore", detail_file=Path(backup).name)
        finally:
            store.close()
        for leftover in ("peertrail.db-wal", "peertrail.db-shm"):
            with contextlib.suppress(FileNotFoundError):
                (staging / leftover).unlink()
        moved: Path | None = None
        if data_dir.exists() and any(data_dir.iterdir()):
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            moved = data_dir.with_name(f"{data_dir.name}.before-restore-{stamp}")
            os.replace(data_dir, moved)
        elif data_dir.exists():
            data_dir.rmdir()
        os.replace(staging, data_dir)
        return moved
    except OSError as e:
        if is_disk_full(e):
            raise DiskFull() from None
        raise StoreError(f"The backup could not be restored ({e.strerror}).") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@dataclass
class CheckReport:
    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_vault(vault: Vault) -> CheckReport:
    """SQLCipher page HMACs, SQLite quick_check, the audit chain and the signature
    invariant (app.store.signatures). The vault must be unlocked; nothing is written."""
    report = CheckReport()
    try:
        conn = vault.connect()
    except VaultDamaged as e:
        report.problems.append(str(e))
        return report
    try:
        bad_pages = [r[0] for r in conn.execute("PRAGMA cipher_integrity_check").fetchall()]
        report.checked.append("page integrity (SQLCipher HMAC)")
        report.problems.extend(f"database {msg}" for msg in bad_pages)
        try:
            quick = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
            report.checked.append("database structure (quick_check)")
            if quick != ["ok"]:
                report.problems.extend(f"database structure: {m}" for m in quick[:20])
        except sqlcipher3.DatabaseError as e:
            report.problems.append(f"database structure could not be read ({e})")
        try:
            breaks = audit.verify(conn)
            report.checked.append("audit log hash chain")
            report.problems.extend(f"audit log entry {b.seq} {b.reason}" for b in breaks)
        except sqlcipher3.DatabaseError as e:
            report.problems.append(f"audit log could not be read ({e})")
        try:
            broken = signature_problems(conn)
            report.checked.append("signed notes match their content (content hash)")
            report.problems.extend(f"note {rid}: {why}" for rid, why in broken)
        except sqlcipher3.DatabaseError as e:
            report.problems.append(f"signed notes could not be read ({e})")
    finally:
        conn.close()
    return report
