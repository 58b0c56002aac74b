"""Hypothesis stateful test: five devices (two laptops of one specialist, a second
specialist, two laptops of their supervisor) and the server; random edits, deletes,
signing, approvals and returns (racing on the supervisor's two laptops), clock
jumps (a laptop a year ahead, a day behind, set right again), random sync order,
lost replies and duplicated requests. After everyone syncs:

* the two laptops of one person hold identical state (same digest);
* every signed (returned, approved, billed) note's content matches its hash, on
  every device and on the server;
* every device holds exactly the server's values for every record it may see;
* every text a person saved is in a record, in a conflict, or in a refused change
  its writer's laptop keeps and shows with the server's reason, unless someone
  replaced it knowing it was there (a later change whose base is its stamp):
  nothing is silently lost.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import date
from datetime import time
from pathlib import Path

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine
from hypothesis.stateful import initialize
from hypothesis.stateful import rule

from app.domain.lifecycle import LifecycleError
from app.domain.records import NoteStatus
from app.domain.records import Participant
from app.domain.records import RecoveryDomain
from app.domain.records import Role
from app.domain.records import User
from app.store.digest import state_digest
from app.store.replica import StoreReplica
from app.store.signatures import signature_problems
from sync import content
from sync.hlc import now_ms
from tests.builders import add_encounter
from tests.builders import add_goal
from tests.server_buckets import check_buckets
from tests.sync_harness import World
from tests.sync_harness import device_fields
from tests.sync_harness import stateful_settings

TEXT = st.text(alphabet="abcdefghij klmnop'-", min_size=3, max_size=12).map(
    lambda s: "note " + s.strip()
)
SPECIALIST_DEVICES = st.sampled_from(["ann1", "ann2", "bob1"])
ALL_DEVICES = st.sampled_from(["ann1", "ann2", "bob1", "sup1", "sup2"])
SKEWS = st.sampled_from([0, 0, 365 * 86_400_000, -86_400_000, 20 * 60_000])
NARRATIVE = st.sampled_from(["goal_text", "intervention", "response", "plan"])


class SyncWorld(RuleBasedStateMachine):
    @initialize()
    def build(self):
        self.dir = Path(tempfile.mkdtemp(prefix="pt-sync-"))
        w = self.world = World(self.dir)
        w.add_user("u-sup", "sam", "supervisor")
        w.add_user("u-ann", "ann", "specialist", "u-sup")
        w.add_user("u-bob", "bob", "specialist", "u-sup")
        for name, uid, role in (
            ("ann1", "u-ann", "specialist"),
            ("ann2", "u-ann", "specialist"),
            ("bob1", "u-bob", "specialist"),
            ("sup1", "u-sup", "supervisor"),
            ("sup2", "u-sup", "supervisor"),
        ):
            w.add_device(name, uid, role)
        self.saved_texts: set[str] = set()
        self.notes: dict[str, str] = {}
        self.goals: dict[str, str] = {}
        self.people: dict[str, str] = {}
        for dev, uid in (("ann1", "u-ann"), ("bob1", "u-bob")):
            r = w.devices[dev].repos
            p = r.participants.add(
                Participant(
                    first_name="Ines" if uid == "u-ann" else "Oskar",
                    last_name="Test",
                    date_of_birth=date(1980, 1, 1),
                    assigned_specialist_id=uid,
                )
            )
            g = add_goal(r, p, "start", RecoveryDomain.HEALTH)
            at = (time(9, 0), time(9, 45))
            e = add_encounter(r, p, g, uid, on=date(2026, 5, 4), at=at)
            self.people[uid], self.goals[uid], self.notes[uid] = p.id, g.id, e.id
        w.settle()

    def _owner(self, dev: str) -> str:
        return self.world.devices[dev].user_id

    @rule(dev=SPECIALIST_DEVICES, text=TEXT)
    def edit_goal(self, dev, text):
        d = self.world.devices[dev]
        g = d.repos.goals.get(self.goals[self._owner(dev)])
        if g is None or g.deleted:  # (deleted here: the app offers no edit)
            return
        d.repos.goals.update(g.replace(statement=text))
        self.saved_texts.add(text)

    @rule(dev=SPECIALIST_DEVICES, field=NARRATIVE, text=TEXT)
    def edit_note(self, dev, field, text):
        d = self.world.devices[dev]
        n = d.repos.encounters.get(self.notes[self._owner(dev)])
        if n is None or n.status is not NoteStatus.DRAFT or n.deleted:
            return
        d.repos.encounters.update(n.replace(**{field: text}))
        self.saved_texts.add(text)

    @rule(dev=SPECIALIST_DEVICES, county=st.sampled_from(["Cass", "Ward", "Rolette"]))
    def edit_county(self, dev, county):
        d = self.world.devices[dev]
        p = d.repos.participants.get(self.people[self._owner(dev)])
        if p is not None:
            d.repos.participants.update(p.replace(county=county))

    @rule(dev=SPECIALIST_DEVICES)
    def sign(self, dev):
        d = self.world.devices[dev]
        n = d.repos.encounters.get(self.notes[self._owner(dev)])
        if n is None or n.status is not NoteStatus.DRAFT or n.deleted:
            return
        me = User(id=d.user_id, username=dev, display_name=dev, role=Role.SPECIALIST)
        d.repos.encounters.sign(n.id, me)

    @rule(dev=SPECIALIST_DEVICES, what=st.sampled_from(["note", "goal"]))
    def delete(self, dev, what):
        d = self.world.devices[dev]
        owner = self._owner(dev)
        if what == "goal":
            g = d.repos.goals.get(self.goals[owner])
            if g is not None and not g.deleted:
                d.repos.goals.delete(g.id)
            return
        n = d.repos.encounters.get(self.notes[owner])
        if n is not None and n.status is NoteStatus.DRAFT and not n.deleted:
            d.repos.encounters.delete(n.id)

    @rule(dev=ALL_DEVICES, skew=SKEWS)
    def clock_jump(self, dev, skew):
        """This laptop's clock is set wrong (or right again), as a person might."""
        self.world.devices[dev].store.os_clock = lambda skew=skew: now_ms() + skew

    @rule(
        approve=st.booleans(),
        whose=st.sampled_from(["u-ann", "u-bob"]),
        dev=st.sampled_from(["sup1", "sup2"]),
    )
    def review(self, approve, whose, dev):
        d = self.world.devices[dev]
        n = d.repos.encounters.get(self.notes[whose])
        if n is None or n.status is not NoteStatus.SIGNED:
            return
        boss = User(id="u-sup", username="sam", display_name="Sam", role=Role.SUPERVISOR)
        try:
            if approve:
                d.repos.encounters.approve(n.id, boss, n.content_hash)
            else:
                d.repos.encounters.return_for_revision(n.id, boss, "please add the plan")
        except LifecycleError:
            pass

    @rule(dev=ALL_DEVICES, how=st.sampled_from(["normal", "normal", "drop", "duplicate"]))
    def sync(self, dev, how):
        d = self.world.devices[dev]
        self.world.sync(d, drop_reply=how == "drop", duplicate=how == "duplicate")
        if how != "drop":  # the offset the client measures, as sync.client does
            d.replica.set_clock_offset(now_ms() - d.store.os_clock())

    def teardown(self):
        w = getattr(self, "world", None)
        if w is None:
            return
        try:
            w.settle(rounds=3)
            devs = w.devices
            # nothing left waiting
            for d in devs.values():
                assert d.replica.pending_count() == 0, d.name
            # one person's two laptops hold the same state
            assert state_digest(devs["ann1"].store) == state_digest(devs["ann2"].store)
            assert state_digest(devs["sup1"].store) == state_digest(devs["sup2"].store)
            # every signed note's content matches its hash, everywhere
            for d in devs.values():
                assert signature_problems(d.store.conn) == [], d.name
            # the pull by bucket sees what the visibility rule sees (tests/server_buckets.py)
            check_buckets(w.engine)
            # every device holds the server's values for everything it may see
            server = w.server_fields()
            for rid, fields in server.items():
                if "content_hash" in fields:
                    assert content.hash_problem(fields) is None, rid
            tables = ["participants", "goals", "encounters", "addenda", "conflicts"]
            visible = {
                "u-ann": {self.people["u-ann"]},
                "u-bob": {self.people["u-bob"]},
                "u-sup": {self.people["u-ann"], self.people["u-bob"]},
            }
            for d in devs.values():
                mine = device_fields(d, tables)
                for rid, fields in server.items():
                    pid = fields.get("participant_id") or (rid if "first_name" in fields else None)
                    if pid is None or fields.get("table_name") == "users":
                        continue
                    if pid not in visible[d.user_id]:
                        assert rid not in mine, (d.name, "sees a record outside its scope")
                        continue
                    assert rid in mine, (d.name, "is missing a record")
                    for f, v in fields.items():
                        assert mine[rid][f] == v, (d.name, f)
            # nothing a person wrote is lost
            kept: set[str] = set()
            for fields in server.values():
                for f, v in fields.items():
                    if isinstance(v, str):
                        kept.add(v)
                        if f in ("kept_value", "lost_value") and v:
                            decoded = json.loads(v)
                            if isinstance(decoded, str):
                                kept.add(decoded)
            # a refused change stays with its writer, shown with the server's reason
            for d in devs.values():
                kept |= {
                    r["value"]
                    for r in StoreReplica(d.store).rejected()
                    if isinstance(r["value"], str)
                }
            history = w.server_changes()
            bases = {b for _s, _o, b, _v in history if b}
            for text in self.saved_texts:
                carriers = [(st, o) for st, o, _b, v in history if v == text]
                assert carriers or text in kept, ("never reached the server", text)
                knowingly_replaced = all(st in bases or o in bases for st, o in carriers)
                assert text in kept or knowingly_replaced, ("lost", text)
        finally:
            w.close()
            shutil.rmtree(self.dir, ignore_errors=True)


SyncWorld.TestCase.settings = stateful_settings(24)
TestSyncConverges = SyncWorld.TestCase
