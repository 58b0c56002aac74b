"""A laptop for end-to-end sync tests: a real SQLCipher vault enrolled with the real
server process (tests/server_proc.py) and synced with the real client over HTTPS;
``laptops(name, username)`` makes them for a test (and closes them after), and
``team_server`` starts a server with a supervisor (sam) and two specialists (ann, bob)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.domain.records import Role
from app.domain.records import User
from app.store.db import Store
from app.store.replica import StoreReplica
from app.store.repositories import Repositories
from app.store.vault import Vault
from sync.client import SyncClient
from sync.client import make_session
from tests.server_proc import DEFAULT_PASSWORD
from tests.server_proc import start_server

FAST_SERVER = ("--rate-limit", "0")


class Laptop:
    """A vault enrolled with the server, synced with the real client."""

    def __init__(self, root: Path, name: str, server, username: str, url: str | None = None):
        from tests.conftest import FAST_KDF  # (conftest imports this module)
        from tests.conftest import PASSPHRASE  # (conftest imports this module)

        self.dir = root / name
        self.vault = Vault(self.dir)
        self.vault.create(PASSPHRASE, FAST_KDF)
        self.store = Store.open(self.vault, owner_username=username)
        self.replica = StoreReplica(self.store)
        self.repos = Repositories(self.store)
        self.fingerprint = server.fingerprint
        self.url = url or server.url
        client = SyncClient(self.replica, self.url, "", session=make_session(self.fingerprint))
        answer = client.enroll(username, DEFAULT_PASSWORD, device_name=name)
        self.replica.adopt_identity(answer.user_id, answer.role)
        self.replica.save_server(url=self.url, fingerprint=self.fingerprint, token=answer.token)
        self.user = User(
            id=answer.user_id, username=username, display_name=username, role=Role(answer.role)
        )

    def client(self, url: str | None = None, retries: int = 0) -> SyncClient:
        server = self.replica.server()
        return SyncClient(
            self.replica,
            url or self.url,
            server["token"],
            session=make_session(self.fingerprint, retries=retries, backoff=0),
        )

    def sync(self, url: str | None = None, retries: int = 0):
        return self.client(url, retries).sync()

    def close(self) -> None:
        self.store.close()


def team_server(tmp_path: Path):
    """The real server with a supervisor (``sup``, sam) and two of the supervisor's
    specialists (``ann``, ``bob``); the caller closes it."""
    s = start_server(tmp_path, extra_args=FAST_SERVER)
    s.sup = s.add_user("sam", "supervisor")
    s.ann = s.add_user("ann", "specialist", supervisor="sam")
    s.bob = s.add_user("bob", "specialist", supervisor="sam")
    return s


@pytest.fixture
def laptops(tmp_path, server):
    """``laptops(name, username, url=None)``: a new enrolled laptop on the test's
    ``server`` fixture; all closed after the test."""
    made: list[Laptop] = []

    def make(name: str, username: str, url: str | None = None) -> Laptop:
        lap = Laptop(tmp_path, name, server, username, url)
        made.append(lap)
        return lap

    yield make
    for lap in made:
        lap.close()
