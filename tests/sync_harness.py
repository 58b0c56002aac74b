"""An in-process sync world for property tests: the real server engine on a real
SQLite file (SQLAlchemy), and real SQLCipher vaults as devices. Requests and
replies go through the real pydantic wire models (serialised to JSON and back);
only the HTTP hop is left out, so thousands of exchanges stay fast. The HTTP
path is tested end to end in tests/test_sync_e2e.py. ``SAM`` (a supervisor) and
``ANN`` (a specialist) are the usual team; ``note_for`` puts a person, a goal and a
note on a device; ``stateful_settings`` are the property runs' settings."""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck
from hypothesis import settings
from sqlalchemy import create_engine
from sqlalchemy import select

from app.domain.records import Encounter
from app.domain.records import Participant
from app.domain.records import Role
from app.domain.records import User
from app.store.db import Store
from app.store.replica import StoreReplica
from app.store.repositories import Repositories
from app.store.vault import Vault
from sync.hlc import HybridLogicalClock
from sync.protocol import PROTOCOL_VERSION
from sync.protocol import PushChange
from sync.protocol import SyncRequest
from sync.protocol import SyncResponse
from sync.protocol import acknowledged
from sync.protocol import dumps
from sync.server.engine import Caller
from sync.server.engine import SyncEngine
from sync.server.tables import changes
from sync.server.tables import field_state
from sync.server.tables import metadata
from sync.server.tables import rejected
from sync.server.tables import users
from tests.builders import add_encounter
from tests.builders import add_goal

ANN = User(id="spec-1", username="ann", display_name="Ann", role=Role.SPECIALIST)
SAM = User(id="sup-1", username="sam", display_name="Sam", role=Role.SUPERVISOR)
KDF = {"name": "argon2id", "iterations": 1, "lanes": 1, "memory_kib": 8192}


@dataclass
class Device:
    name: str
    user_id: str
    role: str
    store: Store
    replica: StoreReplica
    repos: Repositories
    lost_requests: list[SyncRequest] = field(default_factory=list)

    @property
    def caller(self) -> Caller:
        return Caller(self.user_id, self.role, self.replica.device_id)


class World:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.engine = create_engine(f"sqlite:///{root / 'server.db'}")
        metadata.create_all(self.engine)
        self.sync_engine = SyncEngine(HybridLogicalClock("serverzz"))
        self.devices: dict[str, Device] = {}
        self.clock_skew_ms: dict[str, int] = {}

    def add_user(self, user_id: str, name: str, role: str, supervisor: str = "") -> None:
        with self.engine.begin() as c:
            c.execute(
                users.insert().values(
                    id=user_id,
                    username=name,
                    password_hash="-",
                    role=role,
                    supervisor_id=supervisor,
                    active=True,
                    created_at="2026-01-01",
                )
            )
            self.sync_engine.server_write(
                c,
                "users",
                user_id,
                {
                    "deleted": 0,
                    "username": name,
                    "display_name": name.title(),
                    "role": role,
                    "supervisor_id": supervisor,
                    "active": 1,
                },
            )

    def add_device(self, name: str, user_id: str, role: str) -> Device:
        v = Vault(self.root / name)
        v.create("harness passphrase", KDF)
        s = Store.open(v, owner_username=name)
        rep = StoreReplica(s)
        rep.adopt_identity(user_id, role)
        d = Device(name, user_id, role, s, rep, Repositories(s))
        self.devices[name] = d
        return d

    def request(self, d: Device, changes: list[PushChange] | None = None) -> SyncRequest:
        return SyncRequest(
            protocol=PROTOCOL_VERSION,
            device_id=d.replica.device_id,
            cursor=d.replica.cursor,
            changes=d.replica.pending(5000) if changes is None else changes,
            client_time_ms=int(time.time() * 1000),
        )

    def serve(self, d: Device, req: SyncRequest) -> SyncResponse:
        wire = SyncRequest.model_validate_json(dumps(req))
        with self.engine.begin() as c:
            resp = self.sync_engine.sync(c, d.caller, wire, int(time.time() * 1000))
        return acknowledged(SyncResponse.model_validate_json(dumps(resp)), req.changes)

    def sync(self, d: Device, drop_reply: bool = False, duplicate: bool = False) -> None:
        """One exchange. ``drop_reply``: the server commits but the reply is lost.
        ``duplicate``: the same request arrives twice (a retry after a lost reply)."""
        req = self.request(d)
        resp = self.serve(d, req)
        if duplicate:
            resp = self.serve(d, req)
        if drop_reply:
            return
        d.replica.apply_response(resp)

    def settle(self, rounds: int = 3) -> None:
        for _ in range(rounds):
            for d in self.devices.values():
                self.sync(d)

    # -- what the server holds -----------------------------------------------------

    def server_fields(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        with self.engine.connect() as c:
            for rid, f, v in c.execute(
                select(field_state.c.record_id, field_state.c.field, field_state.c.value)
            ):
                out.setdefault(rid, {})[f] = json.loads(v) if v is not None else None
        return out

    def server_changes(self) -> list[tuple[str, str, str | None, Any]]:
        """(stamp, origin_stamp, base, value) of every accepted change."""
        with self.engine.connect() as c:
            return [
                (st, origin, base, json.loads(v) if v is not None else None)
                for st, origin, base, v in c.execute(
                    select(changes.c.stamp, changes.c.origin_stamp, changes.c.base, changes.c.value)
                )
            ]

    def server_rejected_values(self) -> list[Any]:
        with self.engine.connect() as c:
            return [json.loads(v) for (v,) in c.execute(select(rejected.c.value))]

    def close(self) -> None:
        for d in self.devices.values():
            d.store.close()
        self.engine.dispose()


def device_fields(d: Device, tables: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for t in tables:
        cur = d.store.conn.execute(f"SELECT * FROM {t}")
        names = [c[0] for c in cur.description]
        for row in cur:
            rec = dict(zip(names, row, strict=True))
            out[rec.pop("id")] = rec
    return out


def note_for(d: Device, first: str, last: str, specialist_id: str, **note) -> Encounter:
    """A new person (assigned to ``specialist_id``) with a goal and a draft note of
    theirs on ``d``, on 2 March 2026 from 9 o'clock; ``note`` are other note fields."""
    p = d.repos.participants.add(
        Participant(first_name=first, last_name=last, assigned_specialist_id=specialist_id)
    )
    g = add_goal(d.repos, p, "x")
    at = (dt.time(9), note.pop("end_time", dt.time(10)))
    return add_encounter(d.repos, p, g, specialist_id, on=dt.date(2026, 3, 2), at=at, **note)


def stateful_settings(steps: int) -> settings:
    """Hypothesis settings of the stateful sync tests: 20 runs of ``steps`` steps,
    no deadline, slow or much-filtered runs allowed."""
    return settings(
        max_examples=20,
        stateful_step_count=steps,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
