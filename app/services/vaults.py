"""Opening, creating, recovering and locking a vault, and the vault-wide chores
(status, check, backup, restore, passphrase changes) — for the start screen and
the command line alike.

An open vault is a :class:`Session`: the unlocked key and its store, used only on
the database thread. Every opener locks the key again if the store does not open,
so a failed open never leaves a key in memory. Nothing here creates a vault over
an existing one (``Vault.create`` refuses too).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.domain.records import Role
from app.domain.records import User
from app.store.backup import CheckReport
from app.store.backup import check_vault
from app.store.backup import create_backup
from app.store.backup import restore_backup
from app.store.db import Store
from app.store.digest import status
from app.store.errors import VaultExists
from app.store.replica import StoreReplica
from app.store.repositories import Repositories
from app.store.vault import MIN_PASSPHRASE as MIN_PASSPHRASE  # for the passphrase forms
from app.store.vault import Vault


@dataclass
class Session:
    """An unlocked vault and its open store. The store is used only on the database
    thread."""

    vault: Vault
    store: Store
    demo: bool = False
    closed: bool = False

    @property
    def repos(self) -> Repositories:
        """The store's repositories (on the database thread only)."""
        return Repositories(self.store)

    def close(self) -> None:
        """Close the store and forget the key (on the database thread; idempotent)."""
        if self.closed:
            return
        self.closed = True
        try:
            self.store.close()
        finally:
            self.vault.lock()


def vault_exists(data_dir: Path) -> bool:
    """Whether ``data_dir`` holds a vault (or any part of one)."""
    return Vault(data_dir).exists()


def open_session(
    vault: Vault,
    demo: bool = False,
    owner_username: str | None = None,
    check_in_background: bool = False,
) -> Session:
    """The store of an unlocked vault; the key is locked again if it does not open.
    ``check_in_background``: every page's check runs beside the first reads (the
    first write waits for it; see app.store.page_check)."""
    try:
        store = Store.open(
            vault, owner_username=owner_username, check_in_background=check_in_background
        )
        return Session(vault, store, demo)
    except BaseException:
        vault.lock()
        raise


def close_session(session: Session) -> None:
    session.close()


def load_user(session: Session) -> User:
    """The vault owner's user record (role, name), on the database thread."""
    store = session.store
    user = session.repos.users.get(store.user_id)
    if user is not None:
        return user
    # Enrolled, but the server's user record has not arrived yet (it comes with the
    # first sync): the identity the server gave at enrolment stands in for it.
    server = StoreReplica(store).server()
    if server.get("user_id") == store.user_id and server.get("role"):
        return User(
            id=store.user_id,
            username=server.get("username", ""),
            display_name=server.get("username", ""),
            role=Role(server["role"]),
        )
    raise LookupError("the vault has no owner record")  # never open up without one


def create_vault(
    data_dir: Path, passphrase: str, owner_username: str | None = None
) -> tuple[Session, str]:
    """A new vault and its recovery key (shown once). Refuses an existing vault."""
    vault = Vault(data_dir)
    if vault.exists():
        raise VaultExists(
            "A vault already exists in this folder; it was left as it is. "
            "Use another folder for a new one."
        )
    recovery_key = vault.create(passphrase)
    return open_session(vault, owner_username=owner_username), recovery_key


def unlock(data_dir: Path, passphrase: str) -> Vault:
    """The vault in ``data_dir`` unlocked (its store not opened)."""
    vault = Vault(data_dir)
    vault.unlock(passphrase)
    return vault


def unlock_vault(data_dir: Path, passphrase: str, check_in_background: bool = False) -> Session:
    """The vault unlocked and its store open (the desktop checks its pages in the
    background; a command checks them before anything else)."""
    return open_session(unlock(data_dir, passphrase), check_in_background=check_in_background)


def recover_vault(data_dir: Path, recovery_key: str, new_passphrase: str) -> Session:
    """Unlock with the recovery key, check the database opens, then set the new
    passphrase. A damaged database leaves the passphrase as it was."""
    session = open_session(unlock_with_recovery_key(data_dir, recovery_key))
    vault = session.vault
    try:
        vault.change_passphrase(new_passphrase)
        session.store.audit("passphrase", how="recovery key")
    except BaseException:
        close_session(session)
        raise
    return session


@contextmanager
def opened(data_dir: Path, passphrase: str) -> Iterator[Repositories]:
    """The vault's repositories (and ``.store``) for one command; the store is
    closed and the key locked after."""
    session = unlock_vault(data_dir, passphrase)
    try:
        yield Repositories(session.store)
    finally:
        session.close()


def check_passphrase(vault: Vault, passphrase: str) -> None:
    """Raise WrongPassphrase unless ``passphrase`` unlocks this vault (an electronic
    signature). A separate Vault object derives the key, so the open one is untouched."""
    probe = Vault(vault.dir)
    try:
        probe.unlock(passphrase)
    finally:
        probe.lock()


def require_vault(data_dir: Path) -> None:
    """Raise a plain error when ``data_dir`` holds no vault (before asking anything)."""
    Vault(data_dir).keyfile()


def unlock_with_recovery_key(data_dir: Path, recovery_key: str) -> Vault:
    vault = Vault(data_dir)
    vault.unlock_with_recovery_key(recovery_key)
    return vault


def change_passphrase(vault: Vault, new_passphrase: str, how: str = "changed") -> None:
    """Set a new passphrase on an unlocked vault (the recovery key keeps working)
    and log it; ``how`` says whether it was changed or reset with the recovery key."""
    vault.change_passphrase(new_passphrase)
    session = open_session(vault)
    try:
        session.store.audit("passphrase", how=how)
    finally:
        session.close()


def vault_status(data_dir: Path, passphrase: str) -> dict:
    with opened(data_dir, passphrase) as repos:
        return status(repos.store)


def check(data_dir: Path, passphrase: str) -> CheckReport:
    return check_vault(unlock(data_dir, passphrase))


def backup(data_dir: Path, passphrase: str, out: Path) -> Path:
    with opened(data_dir, passphrase) as repos:
        return create_backup(repos.store, Path(out))


def restore(
    file: Path, data_dir: Path, passphrase: str | None, recovery_key: str | None
) -> Path | None:
    """Restore a backup; returns where the vault that was there was kept, if any."""
    return restore_backup(
        Path(file), Path(data_dir), passphrase=passphrase, recovery_key=recovery_key
    )
