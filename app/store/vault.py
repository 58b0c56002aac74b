"""The vault: the data key, its two wrappings, and the one place SQLCipher is keyed.

A vault is a folder holding two files:

* ``vault.json`` - no personal data: the key-derivation parameters, the random
  256-bit data key wrapped (AES-256-GCM) once by a key derived from the passphrase
  with Argon2id and once by the recovery key, and a key-check value;
* ``peertrail.db`` - the SQLCipher 4 database, keyed with the raw data key.

Changing the passphrase re-wraps the data key and rewrites only ``vault.json``.
A wrong passphrase fails the GCM tag before the database is touched, so it is
told apart from a damaged database, and nothing on disk changes. Existing
databases are opened with ``mode=rw`` so a missing file is never created empty.
Files are created readable by the owner only.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlcipher3
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.store.errors import DiskFull
from app.store.errors import StoreError
from app.store.errors import VaultDamaged
from app.store.errors import VaultExists
from app.store.errors import VaultMissing
from app.store.errors import WrongPassphrase

KEYFILE = "vault.json"
DBFILE = "peertrail.db"
FORMAT = "peertrail-vault"
FORMAT_VERSION = 1
PAGE_SIZE = 4096
MIN_PASSPHRASE = 10

# Argon2id: 128 MiB, 3 passes, 4 lanes. About 0.3 s on a 2-core build machine;
# raise these for new vaults as laptops get faster (they are stored per vault).
DEFAULT_KDF = {"name": "argon2id", "iterations": 3, "lanes": 4, "memory_kib": 131072}

_RECOVERY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_RECOVERY_BYTES = 20  # 160 bits: 32 base32 characters, plus a 4-character checksum


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def _unb64(s: str) -> bytes:
    return base64.b64decode(s.encode(), validate=True)


def derive_passphrase_key(passphrase: str, kdf: dict[str, Any]) -> bytes:
    if kdf.get("name") != "argon2id":
        raise VaultDamaged("The vault's key settings are not readable by this version.")
    return Argon2id(
        salt=_unb64(kdf["salt"]),
        length=32,
        iterations=int(kdf["iterations"]),
        lanes=int(kdf["lanes"]),
        memory_cost=int(kdf["memory_kib"]),
    ).derive(passphrase.encode("utf-8"))


def _recovery_wrap_key(secret: bytes, salt: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=salt, info=b"peertrail recovery wrap v1"
    ).derive(secret)


def format_recovery_key(secret: bytes) -> str:
    body = base64.b32encode(secret).decode().rstrip("=")
    check = base64.b32encode(hashlib.sha256(secret).digest()[:3]).decode()[:4]
    text = body + check
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def parse_recovery_key(text: str) -> bytes:
    """The secret in a recovery key as typed: case, spaces and dashes do not
    matter, and 0/1/8 are read as O/I/B."""
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
    cleaned = cleaned.translate(str.maketrans("018", "OIB"))
    if len(cleaned) != 36 or any(ch not in _RECOVERY_ALPHABET for ch in cleaned):
        raise WrongPassphrase(
            message="That does not look like a recovery key: it is 9 groups of 4 letters "
            "and digits. Check what you typed; nothing was changed."
        )
    secret = base64.b32decode(cleaned[:32])
    if format_recovery_key(secret).replace("-", "") != cleaned:
        raise WrongPassphrase(
            message="That recovery key has a typing mistake in it (its last group does not "
            "match). Check each group; nothing was changed."
        )
    return secret


def _key_check(data_key: bytes) -> str:
    return hmac.new(data_key, b"peertrail key check v1", hashlib.sha256).hexdigest()


def _wrap(wrap_key: bytes, data_key: bytes, label: bytes) -> dict[str, str]:
    nonce = os.urandom(12)
    ct = AESGCM(wrap_key).encrypt(nonce, data_key, b"peertrail-vault-v1|" + label)
    return {"nonce": _b64(nonce), "ciphertext": _b64(ct)}


def _unwrap(wrap_key: bytes, blob: dict[str, str], label: bytes) -> bytes:
    return AESGCM(wrap_key).decrypt(
        _unb64(blob["nonce"]), _unb64(blob["ciphertext"]), b"peertrail-vault-v1|" + label
    )


def is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno == 28:  # ENOSPC
        return True
    text = str(exc).lower()
    return "database or disk is full" in text or "no space left" in text


def write_private_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file, fsync, rename), mode 0600."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if is_disk_full(e):
            raise DiskFull() from None
        raise StoreError(f"Could not write {path.name}: {e.strerror}.") from None


@dataclass
class KeyFile:
    data: dict[str, Any]

    @classmethod
    def read(cls, path: Path) -> KeyFile:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise VaultMissing("No vault here yet. Create one first.") from None
        try:
            data = json.loads(raw)
            assert data["format"] == FORMAT
            for k in ("kdf", "passphrase_wrap", "recovery_wrap", "key_check"):
                assert k in data
        except (ValueError, KeyError, AssertionError, TypeError):
            raise VaultDamaged(
                f"The vault's key file ({KEYFILE}) is damaged. Restore it from a backup; "
                "the database itself was not touched."
            ) from None
        if int(data.get("version", 0)) > FORMAT_VERSION:
            raise VaultDamaged(
                "This vault was made by a newer PeerTrail. Install the newer version to open it."
            )
        return cls(data)

    def write(self, path: Path) -> None:
        write_private_file(path, json.dumps(self.data, indent=2, sort_keys=True).encode())


class Vault:
    """One vault folder. Holds the data key only while unlocked."""

    def __init__(self, data_dir: Path | str) -> None:
        self.dir = Path(data_dir)
        self.keyfile_path = self.dir / KEYFILE
        self.db_path = self.dir / DBFILE
        self._key: bytearray | None = None

    # -- state -------------------------------------------------------------

    def exists(self) -> bool:
        return self.keyfile_path.exists() or self.db_path.exists()

    @property
    def unlocked(self) -> bool:
        return self._key is not None

    @property
    def data_key(self) -> bytes:
        if self._key is None:
            raise StoreError("The vault is locked.")
        return bytes(self._key)

    def lock(self) -> None:
        """Forget the data key (overwritten in place, as far as Python allows)."""
        if self._key is not None:
            for i in range(len(self._key)):
                self._key[i] = 0
        self._key = None

    # -- create / unlock ---------------------------------------------------

    def create(self, passphrase: str, kdf_params: dict[str, Any] | None = None) -> str:
        """Create the vault; returns the recovery key, to be shown once."""
        if len(passphrase) < MIN_PASSPHRASE:
            raise StoreError(f"Choose a passphrase of at least {MIN_PASSPHRASE} characters.")
        if self.exists():
            raise VaultExists(
                "A vault already exists in this folder; it was left as it is. "
                "Unlock it, or choose another folder."
            )
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(OSError):
            os.chmod(self.dir, 0o700)
        data_key = os.urandom(32)
        recovery_secret = secrets.token_bytes(_RECOVERY_BYTES)
        kdf = dict(kdf_params or DEFAULT_KDF)
        kdf["salt"] = _b64(os.urandom(16))
        rsalt = os.urandom(16)
        keyfile = KeyFile(
            {
                "format": FORMAT,
                "version": FORMAT_VERSION,
                "db_file": DBFILE,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "vault_id": secrets.token_hex(16),
                "kdf": kdf,
                "passphrase_wrap": _wrap(
                    derive_passphrase_key(passphrase, kdf), data_key, b"passphrase"
                ),
                "recovery_wrap": {
                    "salt": _b64(rsalt),
                    **_wrap(_recovery_wrap_key(recovery_secret, rsalt), data_key, b"recovery"),
                },
                "key_check": _key_check(data_key),
            }
        )
        # The database first (exclusively, owner-only), the key file last: a vault
        # folder never holds a key file without its database.
        try:
            fd = os.open(self.db_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            os.close(fd)
            conn = self._connect(data_key, create=True)
            conn.close()
            keyfile.write(self.keyfile_path)
        except BaseException:
            with contextlib.suppress(OSError):
                self.db_path.unlink()
            raise
        self._key = bytearray(data_key)
        return format_recovery_key(recovery_secret)

    def keyfile(self) -> KeyFile:
        if not self.keyfile_path.exists() and self.db_path.exists():
            raise VaultDamaged(
                f"The vault's key file ({KEYFILE}) is missing, so the database cannot be "
                "opened. Restore the key file from a backup."
            )
        return KeyFile.read(self.keyfile_path)

    def _accept_key(self, kf: KeyFile, data_key: bytes) -> None:
        if not hmac.compare_digest(_key_check(data_key), kf.data["key_check"]):
            raise VaultDamaged("The vault's key file does not match its key check; it is damaged.")
        self._key = bytearray(data_key)

    def unlock(self, passphrase: str) -> None:
        kf = self.keyfile()
        wrap_key = derive_passphrase_key(passphrase, kf.data["kdf"])
        try:
            data_key = _unwrap(wrap_key, kf.data["passphrase_wrap"], b"passphrase")
        except InvalidTag:
            raise WrongPassphrase() from None
        except (KeyError, ValueError):
            raise VaultDamaged("The vault's key file is damaged.") from None
        self._accept_key(kf, data_key)

    def unlock_with_recovery_key(self, recovery_key: str) -> None:
        secret = parse_recovery_key(recovery_key)
        kf = self.keyfile()
        blob = kf.data["recovery_wrap"]
        try:
            data_key = _unwrap(_recovery_wrap_key(secret, _unb64(blob["salt"])), blob, b"recovery")
        except InvalidTag:
            raise WrongPassphrase("recovery key") from None
        except (KeyError, ValueError):
            raise VaultDamaged("The vault's key file is damaged.") from None
        self._accept_key(kf, data_key)

    def change_passphrase(self, new_passphrase: str, kdf_params: dict[str, Any] | None = None):
        """Re-wrap the data key under a new passphrase (the vault must be unlocked).
        The database is not rewritten; the recovery key keeps working."""
        if len(new_passphrase) < MIN_PASSPHRASE:
            raise StoreError(f"Choose a passphrase of at least {MIN_PASSPHRASE} characters.")
        kf = self.keyfile()
        self.connect_checked().close()  # a damaged database: VaultDamaged, nothing rewritten
        kdf = dict(kdf_params or kf.data["kdf"])
        kdf["salt"] = _b64(os.urandom(16))
        kf.data["kdf"] = kdf
        kf.data["passphrase_wrap"] = _wrap(
            derive_passphrase_key(new_passphrase, kdf), self.data_key, b"passphrase"
        )
        kf.data["passphrase_changed_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        kf.write(self.keyfile_path)

    @property
    def vault_id(self) -> str:
        return str(self.keyfile().data["vault_id"])

    # -- the database --------------------------------------------------------

    def check_db_file(self) -> None:
        """Refuse a database file that is missing, empty or cut short, before SQLCipher
        sees it (SQLite would otherwise treat an empty file as a new database)."""
        try:
            size = self.db_path.stat().st_size
        except FileNotFoundError:
            raise VaultDamaged(
                f"The vault's database ({DBFILE}) is missing. Nothing was created in its "
                "place. Restore it from a backup."
            ) from None
        if size == 0:
            raise VaultDamaged(
                f"The vault's database ({DBFILE}) is empty. It was left as it is. "
                "Restore it from a backup."
            )
        if size % PAGE_SIZE:
            raise VaultDamaged(
                f"The vault's database ({DBFILE}) is cut short (truncated). It was left as "
                "it is. Restore it from a backup."
            )

    def connect(self) -> sqlcipher3.Connection:
        """Open the existing database with the data key (the vault must be unlocked)."""
        self.check_db_file()
        return self._connect(self.data_key, create=False)

    def connect_checked(self) -> sqlcipher3.Connection:
        """:meth:`connect`, then every page's HMAC checked before anything reads or
        writes more: a damaged page (bit rot, a bad sector, a cut-off copy) raises
        :class:`VaultDamaged` and the file is left exactly as it was."""
        conn = self.connect()
        try:
            check_pages(conn, self.db_path)
        except BaseException:
            conn.close()
            raise
        return conn

    def _connect(self, data_key: bytes, create: bool) -> sqlcipher3.Connection:
        return open_encrypted(self.db_path, data_key, create=create)


def check_pages(conn: sqlcipher3.Connection, path: Path) -> None:
    """Raise :class:`VaultDamaged` unless every page of the database file passes
    its SQLCipher HMAC check (any changed byte fails it). Reads only; 0.1-0.2 s for
    a 36 MB vault (the demo caseload)."""
    try:
        bad = conn.execute("PRAGMA cipher_integrity_check").fetchall()
    except sqlcipher3.DatabaseError as e:
        if is_disk_full(e):
            raise DiskFull() from None
        bad = [("unreadable",)]
    if bad:
        raise VaultDamaged(
            f"The vault's database ({path.name}) is damaged: "
            + ("1 part of it fails its" if len(bad) == 1 else f"{len(bad)} parts of it fail their")
            + " checks. Nothing was read or written; it was left as it is. Run 'check' "
            "for details, or restore a backup (peertrail restore FILE)."
        )


def open_encrypted(path: Path, data_key: bytes, create: bool = False) -> sqlcipher3.Connection:
    """Open a SQLCipher file keyed with ``data_key``: the one place a key is set."""
    mode = "rwc" if create else "rw"
    try:
        conn = sqlcipher3.connect(
            f"file:{path}?mode={mode}",
            uri=True,
            check_same_thread=False,
            isolation_level=None,
            timeout=30,
            cached_statements=512,  # migrations must not push out the capture triggers' SQL
        )
    except sqlcipher3.OperationalError:
        raise VaultDamaged(
            f"The database file ({path.name}) could not be opened. It was left as it is."
        ) from None
    try:
        conn.execute(f"PRAGMA key = \"x'{data_key.hex()}'\"")
        conn.execute("PRAGMA cipher_compatibility = 4")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        if create:  # before any table: free pages can be given back (reclaim_space)
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
    except sqlcipher3.DatabaseError as e:
        conn.close()
        if is_disk_full(e):
            raise DiskFull() from None
        raise VaultDamaged(
            f"The database ({path.name}) is damaged: it does not open with the vault's key. "
            "It was left as it is. Restore it from a backup."
        ) from None
    return conn


#: Rewrite the whole file (VACUUM) when at least this share of it is free pages.
REPACK_FREE_SHARE = 0.25


def reclaim_space(conn: sqlcipher3.Connection) -> dict[str, int]:
    """Give the file's free pages back to the disk (after a sync emptied the outbox).

    A vault made before incremental auto-vacuum (or one a quarter free, its pages
    scattered by a big sync) is rewritten once with VACUUM, which switches it to
    ``auto_vacuum = INCREMENTAL`` and packs its tables; afterwards an
    ``incremental_vacuum`` returns the free pages at the end of every sync in
    milliseconds. Runs outside any transaction, on the thread that owns the
    connection (the database worker in the app, never the UI thread). Returns the
    page counts before and after."""
    try:
        return _reclaim(conn)
    except sqlcipher3.OperationalError as e:  # busy or locked: the next sync tries again
        if is_disk_full(e):
            raise DiskFull() from None
        return {}


def _reclaim(conn: sqlcipher3.Connection) -> dict[str, int]:
    pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
    mode = int(conn.execute("PRAGMA auto_vacuum").fetchone()[0])
    if mode != 2 or (pages and free / pages >= REPACK_FREE_SHARE):
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        conn.execute("VACUUM")
        repacked = 1
    elif free:
        conn.execute("PRAGMA incremental_vacuum").fetchall()
        repacked = 0
    else:
        return {"pages_before": pages, "pages_after": pages, "repacked": 0}
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    after = int(conn.execute("PRAGMA page_count").fetchone()[0])
    return {"pages_before": pages, "pages_after": after, "repacked": repacked}
