"""Hypothesis stateful test of self-healing: the real client engine (SyncClient,
with its replica tokens, end-of-sync digest check and repair) against the real
server engine on a real SQLite file, through an in-process transport that goes
through the real wire format (compressed JSON, pydantic validation both ways);
real SQLCipher vaults. Two laptops of one specialist and their supervisor write
goals and phone numbers and sync in random order, while vaults are restored from
earlier copies of themselves and the server database from earlier backups.

After everyone syncs:

* the two laptops of the specialist hold identical state (same digest), and the
  supervisor holds the same participants and goals;
* every goal still held anywhere (a laptop or the server) before the final syncs
  is everywhere after them: no restore loses what some replica still has;
* every goal written on a laptop that was not itself restored to a copy from
  before it was written is on the server: a server restore loses nothing;
* the last sync of every device finds its digest equal to the server's.
"""

from __future__ import annotations

import bz2
import gzip
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine
from hypothesis.stateful import initialize
from hypothesis.stateful import invariant
from hypothesis.stateful import rule

from app.domain.records import Goal
from app.domain.records import Participant
from app.domain.records import RecoveryDomain
from app.store.db import Store
from app.store.digest import state_digest
from app.store.replica import StoreReplica
from app.store.repositories import Repositories
from app.store.vault import Vault
from sync.client import SyncClient
from sync.protocol import SyncRequest
from sync.protocol import dumps
from tests.sync_harness import World
from tests.sync_harness import stateful_settings

LAPTOPS = st.sampled_from(["ann1", "ann2"])
DEVICES = st.sampled_from(["ann1", "ann2", "sup1"])
RESTORED = st.sampled_from(["ann1", "ann1", "ann1", "sup1"])  # mostly the writer


class _Reply:
    def __init__(self, body: bytes, status: int = 200) -> None:
        self.status_code = status
        self.content = body
        self.headers: dict[str, str] = {}


class InProcess:
    """A requests.Session stand-in: POST /v1/sync straight into the server engine
    (any other path answers 404, as a server without that endpoint would)."""

    verify = True

    def __init__(self, world: World, device: str) -> None:
        self.world = world
        self.device = device

    def get_adapter(self, url: str) -> None:
        return None  # no connection to open early

    def close(self) -> None:
        pass

    def post(self, url: str, data: bytes, headers: dict[str, str], **_kw: Any) -> _Reply:
        if not url.endswith("/v1/sync"):
            return _Reply(b'{"detail": "Not Found"}', 404)
        coding = headers.get("Content-Encoding")
        raw = bz2.decompress(data) if coding == "bzip2" else gzip.decompress(data)
        req = SyncRequest.model_validate_json(raw)
        d = self.world.devices[self.device]
        with self.world.engine.begin() as c:
            resp = self.world.sync_engine.sync(c, d.caller, req, int(time.time() * 1000))
        return _Reply(dumps(resp))


class HealWorld(RuleBasedStateMachine):
    @initialize()
    def build(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="pt-heal-"))
        w = self.world = World(self.dir)
        w.add_user("u-sup", "sam", "supervisor")
        w.add_user("u-ann", "ann", "specialist", "u-sup")
        for name, uid, role in (
            ("ann1", "u-ann", "specialist"),
            ("ann2", "u-ann", "specialist"),
            ("sup1", "u-sup", "supervisor"),
        ):
            w.add_device(name, uid, role)
        self.goal_written_on: dict[str, str] = {}  # goal id -> laptop
        self.written_at: dict[str, int] = {}  # goal id -> step
        self.restored_to: dict[str, list[int]] = {"ann1": [], "ann2": [], "sup1": []}
        self.vault_copies: dict[str, tuple[Path, int]] = {}
        self.server_copy: Path | None = None
        self.step = 0
        self.last: dict[str, Any] = {}
        d = w.devices["ann1"]
        self.person = d.repos.participants.add(
            Participant(
                first_name="Ines",
                last_name="Test",
                date_of_birth=date(1980, 1, 1),
                assigned_specialist_id="u-ann",
            )
        ).id
        self._sync("ann1")
        self._sync("ann2")

    # -- helpers ---------------------------------------------------------------

    def _sync(self, name: str):
        d = self.world.devices[name]
        client = SyncClient(
            d.replica, "http://in-process", "t", session=InProcess(self.world, name)
        )
        result = client.sync()
        self.last[name] = result
        return result

    def _reopen(self, name: str) -> None:
        d = self.world.devices[name]
        v = Vault(self.dir / name)
        v.unlock("harness passphrase")
        d.store = Store.open(v)
        d.replica = StoreReplica(d.store)
        d.repos = Repositories(d.store)

    # -- rules -----------------------------------------------------------------

    @rule(dev=LAPTOPS, n=st.integers(0, 10**6))
    def write_goal(self, dev: str, n: int) -> None:
        self.step += 1
        r = self.world.devices[dev].repos
        if r.participants.get(self.person) is None:
            return  # this laptop has not got the participant yet
        g = r.goals.add(
            Goal(
                participant_id=self.person,
                domain=RecoveryDomain.HOME,
                statement=f"goal {n} on {dev} at {self.step}",
            )
        )
        self.goal_written_on[g.id] = dev
        self.written_at[g.id] = self.step

    @rule(dev=LAPTOPS, n=st.integers(0, 9999))
    def edit_phone(self, dev: str, n: int) -> None:
        self.step += 1
        r = self.world.devices[dev].repos
        p = r.participants.get(self.person)
        if p is not None:
            r.participants.update(p.replace(phone=f"555-{n:04d}"))

    @rule(dev=DEVICES)
    def sync(self, dev: str) -> None:
        self.step += 1
        self._sync(dev)

    @rule(dev=RESTORED)
    def copy_vault(self, dev: str) -> None:
        self.step += 1
        d = self.world.devices[dev]
        d.store.close()
        target = self.dir / f"copy-{dev}"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(self.dir / dev, target)
        self.vault_copies[dev] = (target, self.step)
        self._reopen(dev)

    @rule(dev=RESTORED)
    def restore_vault(self, dev: str) -> None:
        if dev not in self.vault_copies:
            return
        self.step += 1
        source, taken_at = self.vault_copies[dev]
        self.world.devices[dev].store.close()
        shutil.rmtree(self.dir / dev)
        shutil.copytree(source, self.dir / dev)
        self.restored_to[dev].append(taken_at)
        self._reopen(dev)

    @rule()
    def back_up_server(self) -> None:
        self.step += 1
        self.world.engine.dispose()
        self.server_copy = self.dir / "server-copy.db"
        shutil.copyfile(self.dir / "server.db", self.server_copy)

    @rule()
    def restore_server(self) -> None:
        if self.server_copy is None:
            return
        self.step += 1
        self.world.engine.dispose()
        shutil.copyfile(self.server_copy, self.dir / "server.db")

    @invariant()
    def nothing_refused(self) -> None:
        for name, result in self.last.items():
            assert result.rejected == [], (name, result.rejected)

    # -- the end ---------------------------------------------------------------

    def _goals_held(self) -> set[str]:
        held = set(self.world.server_fields())
        for d in self.world.devices.values():
            held |= {r[0] for r in d.store.conn.execute("SELECT id FROM goals")}
        return held & set(self.goal_written_on)

    def teardown(self) -> None:
        try:
            if not hasattr(self, "world"):
                return
            before = self._goals_held()
            for _ in range(3):
                for name in ("ann1", "ann2", "sup1"):
                    self._sync(name)
            devs = self.world.devices
            server = self.world.server_fields()
            for name, d in devs.items():
                goals = {r[0] for r in d.store.conn.execute("SELECT id FROM goals")}
                assert before <= goals, (name, before - goals)
                assert self.last[name].digest_ok is True, name
                assert self.last[name].healed == "" and self.last[name].repaired == 0
            assert before <= set(server)
            assert state_digest(devs["ann1"].store) == state_digest(devs["ann2"].store)
            for gid, dev in self.goal_written_on.items():
                lost_with_vault = any(t < self.written_at[gid] for t in self.restored_to[dev])
                if not lost_with_vault:
                    assert gid in server, (gid, dev)
            phones = {d.repos.participants.require(self.person).phone for d in devs.values()}
            assert len(phones) == 1
        finally:
            if hasattr(self, "world"):
                self.world.close()
                shutil.rmtree(self.dir, ignore_errors=True)


HealWorld.TestCase.settings = stateful_settings(20)
TestHealWorld = HealWorld.TestCase
