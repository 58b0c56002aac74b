"""The server is the trust boundary: hostile pushes over the real wire protocol.

A real server process on 127.0.0.1 (HTTPS, pinned), raw HTTP devices that send
whatever they like, and real laptops (SQLCipher vaults, the real sync client)
that must keep syncing and reading afterwards:

* a record id belongs to one table forever: every table x a record of another
  caseload x specialist / supervisor / billing is refused, and nothing of that
  caseload is ever pulled afterwards (also after a reassignment away);
* every poison value of issue 13 is refused naming the field, and every other
  device still syncs and reads;
* forged authorship and forged stamps are refused;
* cursors, limits and ids out of bounds get 4xx, never 500.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from sync import schema
from sync.protocol import PROTOCOL_VERSION
from sync.protocol import PushChange
from sync.protocol import group_changes
from tests.server_proc import backend_url
from tests.server_proc import start_server
from tests.test_sync_e2e import Laptop

SECRET_FIRST, SECRET_LAST = "Quenby", "Zarathustrine"  # pat's participant: never seen by others
SECRET_MEDICAID = "ZQX9981234"


class Raw:
    """A hostile device: enrolled for real, then sends raw JSON of its choosing."""

    def __init__(self, srv, username: str) -> None:
        self.srv = srv
        self.user_id = srv.users[username]
        self.id, self.token = srv.enroll(username)
        self.http = srv.session()
        self.counter = 0
        self.wall = int(time.time() * 1000)

    def stamp(self, device: str | None = None) -> str:
        self.counter += 1
        if self.counter > 0xFFF0:
            self.counter, self.wall = 1, self.wall + 1
        return f"{self.wall:012x}.{self.counter:04x}.{device or self.id}"

    def changes(self, table: str, record_id: str, fields: dict) -> list[dict]:
        return [
            {"stamp": self.stamp(), "table": table, "record_id": record_id, "field": f, "value": v}
            for f, v in fields.items()
        ]

    def post(self, body: dict | bytes) -> requests.Response:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        return self.http.post(f"{self.srv.url}/v1/sync", data=data, headers=headers, timeout=60)

    def body(self, changes: list[dict] = (), cursor: int = 0, **kw) -> dict:
        return {
            "protocol": PROTOCOL_VERSION,
            "device_id": self.id,
            "cursor": cursor,
            "client_time_ms": int(time.time() * 1000),
            "records": group_changes([PushChange(**c) for c in changes]),
            **kw,
        }

    def push(self, changes: list[dict]) -> dict:
        r = self.post(self.body(changes))
        assert r.status_code == 200, r.text
        return r.json()

    def pull_all(self) -> tuple[list[dict], bytes]:
        """Every record visible to this device, from cursor 0, and the raw bodies."""
        out, raw, cursor = [], b"", 0
        while True:
            r = self.post(self.body(cursor=cursor))
            assert r.status_code == 200, r.text
            raw += r.content
            body = r.json()
            out += body["records"]
            cursor = body["cursor"]
            if not body["more"]:
                return out, raw


def refused(answer: dict, sent: list[dict]) -> dict[str, str]:
    return {r["stamp"]: r["reason"] for r in answer["rejected"] if r["stamp"] in
            {c["stamp"] for c in sent}}  # fmt: skip


def accepted(answer: dict, sent: list[dict]) -> set[str]:
    gone = {r["stamp"] for r in answer["rejected"]}
    return {c["stamp"] for c in sent if c["stamp"] not in gone}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory):
    """sam (specialist) under sue (supervisor); pat (specialist) under val; bill
    (billing). pat's caseload has one record of every kind, and a conflict."""
    url = backend_url(request.param)
    srv = start_server(
        tmp_path_factory.mktemp("trust"), database_url=url, extra_args=("--rate-limit", "0")
    )
    try:
        srv.users = {
            "sue": srv.add_user("sue", "supervisor"),
            "val": srv.add_user("val", "supervisor"),
            "sam": srv.add_user("sam", "specialist", supervisor="sue"),
            "pat": srv.add_user("pat", "specialist", supervisor="val"),
            "bill": srv.add_user("bill", "billing"),
        }
        devices = {name: Raw(srv, name) for name in srv.users}
        srv.devices = devices
        srv.own = _seed(srv.users["sam"], devices["sam"], "Ada", "Sample")
        srv.foreign = _seed(srv.users["pat"], devices["pat"], SECRET_FIRST, SECRET_LAST)
        session = _session(srv.users, devices["val"], srv.foreign["participants"])
        srv.foreign["supervision_sessions"] = session
        srv.foreign["conflicts"] = _conflict(srv, devices["pat"], srv.foreign["goals"])
        srv.foreign["users"] = srv.users["pat"]
        srv.tmp = tmp_path_factory.mktemp("laptops")
        yield srv
    finally:
        srv.close()


def _seed(user_id: str, dev: Raw, first: str, last: str) -> dict[str, str]:
    """A caseload of one participant with a record of every kind; {table: id}."""
    ids = {t: str(uuid.uuid4()) for t in (
        "participants", "consents", "goals", "barc10", "encounters", "addenda", "time_entries"
    )}  # fmt: skip
    p = ids["participants"]
    sent = (
        dev.changes("participants", p, {
            "first_name": first, "last_name": last, "assigned_specialist_id": user_id,
            "medicaid_id": SECRET_MEDICAID if first == SECRET_FIRST else "AB123456",
            "date_of_birth": "1980-05-05", "diagnoses": '["F11.20"]',
        })
        + dev.changes("consents", ids["consents"], {"participant_id": p, "signed_on": "2026-01-02"})
        + dev.changes("goals", ids["goals"], {
            "participant_id": p, "domain": "Health", "statement": "walk daily"})
        + dev.changes("barc10", ids["barc10"], {
            "participant_id": p, "assessed_on": "2026-01-03",
            "scores": "[1,2,3,4,5,6,1,2,3,4]", "assessed_by_id": user_id})
        + dev.changes("encounters", ids["encounters"], {
            "participant_id": p, "specialist_id": user_id, "service_date": "2026-01-04",
            "start_time": "09:00", "end_time": "10:00", "goal_text": "met at the library"})
        + dev.changes("addenda", ids["addenda"], {
            "encounter_id": ids["encounters"], "author_id": user_id,
            "written_at": "2026-01-05T10:00:00+00:00", "reason": "typo", "text": "fixed"})
        + dev.changes("time_entries", ids["time_entries"], {
            "specialist_id": user_id, "entry_date": "2026-01-04", "category": "documentation",
            "minutes": 30})
    )  # fmt: skip
    answer = dev.push(sent)
    assert answer["rejected"] == [], answer["rejected"]
    return ids


def _session(users: dict[str, str], val: Raw, _participant: str) -> str:
    sid = str(uuid.uuid4())
    sent = val.changes("supervision_sessions", sid, {
        "supervisor_id": users["val"], "specialist_ids": json.dumps([users["pat"]]),
        "session_date": "2026-01-06", "minutes": 60, "topics": '["skills"]'})  # fmt: skip
    assert val.push(sent)["rejected"] == []
    return sid


def _conflict(srv, pat: Raw, goal_id: str) -> str:
    """Two edits of pat's goal that did not see each other: the server keeps a conflict."""
    other = Raw(srv, "pat")
    a = pat.changes("goals", goal_id, {"statement": "walk twice a day"})
    b = other.changes("goals", goal_id, {"statement": "walk every morning"})
    assert pat.push(a)["rejected"] == [] and other.push(b)["rejected"] == []
    records, _raw = other.pull_all()
    ids = [r["record_id"] for r in records if r["table"] == "conflicts"]
    assert ids
    return ids[0]


# -- identity and scope -----------------------------------------------------------------


def _attack_fields(table: str, me: str, own: dict[str, str]) -> dict:
    """Valid values (so only identity and scope can refuse them) that would pull the
    record into the attacker's reach, plus a delete."""
    p = own["participants"]
    fields: dict = {"deleted": 1}
    link = {
        "participants": {"assigned_specialist_id": me, "first_name": "Mallory"},
        "consents": {"participant_id": p}, "goals": {"participant_id": p},
        "barc10": {"participant_id": p}, "encounters": {"participant_id": p},
        "conflicts": {"participant_id": p, "status": "resolved", "resolved_by_id": me},
        "addenda": {"encounter_id": own["encounters"], "author_id": me},
        "time_entries": {"specialist_id": me},
        "supervision_sessions": {"supervisor_id": me, "specialist_ids": json.dumps([me])},
        "users": {"display_name": "Mallory", "supervisor_id": me},
        "payers": {"name": "Mallory Health"},
        "billing_providers": {"name": "Mallory Billing"},
        "billing_batches": {"payer_id": p, "claim_count": 1},
    }[table]  # fmt: skip
    return fields | link


ROLES = ("sam", "sue", "bill")


@pytest.mark.parametrize("attacker", ROLES)
@pytest.mark.parametrize("table", list(schema.SCHEMA))
def test_foreign_record_ids_are_refused_in_every_table(world, attacker, table):
    """Every table named for a record of pat's caseload (or pat himself): refused,
    whatever the attacker's role, and pat's records are unchanged."""
    dev = world.devices[attacker]
    fields = _attack_fields(table, dev.user_id, world.own)
    for foreign_table, record_id in sorted(world.foreign.items()):
        sent = dev.changes(table, record_id, fields)
        answer = dev.push(sent)
        assert accepted(answer, sent) == set(), (attacker, table, foreign_table)
        for record in answer["records"]:  # the server's copy, to put back: never foreign
            assert record["record_id"] not in _caseload(world)


def _caseload(world) -> set[str]:
    """pat's caseload (his users record is global: every device has it)."""
    return {rid for table, rid in world.foreign.items() if table != "users"}


def test_nothing_of_another_caseload_is_ever_pulled(world):
    # after the matrix above (and again after everything else, see the last test)
    for name in ROLES:
        records, raw = world.devices[name].pull_all()
        assert not {r["record_id"] for r in records} & _caseload(world), name
        for secret in (SECRET_FIRST, SECRET_LAST, SECRET_MEDICAID):
            assert secret.encode() not in raw, name


def test_pat_still_has_his_records_as_they_were(world):
    records, _raw = Raw(world, "pat").pull_all()
    by_id = {r["record_id"]: r for r in records}
    for table, record_id in world.foreign.items():
        if table == "supervision_sessions":
            continue  # val's: pat is in it, sees it
        assert by_id[record_id]["table"] == table
        assert by_id[record_id]["fields"].get("deleted", 0) == 0, table
    person = by_id[world.foreign["participants"]]["fields"]
    assert person["first_name"] == SECRET_FIRST
    assert person["assigned_specialist_id"] == world.users["pat"]


def test_the_issue_13_goal_trick_is_refused(world):
    """goals with record_id = pat's participant and participant_id = sam's own."""
    sam = world.devices["sam"]
    sent = sam.changes(
        "goals", world.foreign["participants"], {"participant_id": world.own["participants"]}
    )
    reasons = refused(sam.push(sent), sent)
    assert set(reasons) == {c["stamp"] for c in sent}
    assert "another kind of record" in next(iter(reasons.values()))


def test_a_new_id_given_two_tables_in_one_push_is_refused(world):
    sam = world.devices["sam"]
    rid = str(uuid.uuid4())
    p = world.own["participants"]
    sent = sam.changes("goals", rid, {"participant_id": p, "domain": "Home", "statement": "x"})
    sent += sam.changes("consents", rid, {"participant_id": p})
    assert accepted(sam.push(sent), sent) == set()


def test_a_reference_must_name_a_record_of_its_kind(world):
    sam, own = world.devices["sam"], world.own
    goal = sam.changes("goals", str(uuid.uuid4()), {
        "participant_id": own["encounters"], "domain": "Home", "statement": "x"})  # fmt: skip
    assert "participant_id:" in next(iter(refused(sam.push(goal), goal).values()))
    addendum = sam.changes("addenda", str(uuid.uuid4()), {
        "encounter_id": own["participants"], "author_id": sam.user_id,
        "written_at": "2026-02-02T09:00:00+00:00", "reason": "r", "text": "t"})  # fmt: skip
    assert accepted(sam.push(addendum), addendum) == set()
    note = sam.changes("encounters", own["encounters"], {"goal_ids": json.dumps([own["goals"]])})
    assert sam.push(note)["rejected"] == []
    bad = sam.changes("encounters", own["encounters"], {"goal_ids": json.dumps([own["barc10"]])})
    assert refused(sam.push(bad), bad)


def test_a_taken_conflict_id_does_not_hide_the_conflict(world):
    """A device that can predict the id of a conflict its own edit will cause takes
    that id for a consent first: the conflict is still recorded, under its own id."""
    from sync.server.engine import CONFLICT_NS

    sam, own = world.devices["sam"], world.own
    other = Raw(world, "sam")
    first = sam.changes("goals", own["goals"], {"statement": "first words"})
    assert sam.push(first)["rejected"] == []
    second = other.changes("goals", own["goals"], {"statement": "other words"})  # base unseen
    predicted = str(
        uuid.uuid5(
            CONFLICT_NS, f"{own['goals']}/statement/{first[0]['stamp']}/{second[0]['stamp']}"
        )
    )
    squat = sam.changes("consents", predicted, {"participant_id": own["participants"]})
    assert sam.push(squat)["rejected"] == []
    assert other.push(second)["rejected"] == []
    records, _raw = Raw(world, "sam").pull_all()
    tables = {r["record_id"]: r["table"] for r in records}
    assert tables[predicted] == "consents"
    about = [r for r in records if r["table"] == "conflicts"
             and r["fields"].get("lost_stamp") == first[0]["stamp"]]  # fmt: skip
    assert len(about) == 1 and about[0]["record_id"] != predicted


def test_devices_do_not_create_conflicts(world):
    for name in ("sam", "sue"):
        dev = world.devices[name]
        sent = dev.changes("conflicts", str(uuid.uuid4()), {
            "table_name": "goals", "target_id": world.own["goals"], "field": "statement",
            "participant_id": world.own["participants"], "status": "resolved",
            "resolved_by_id": dev.user_id, "resolution": "seen"})  # fmt: skip
        reasons = refused(dev.push(sent), sent)
        assert set(reasons) == {c["stamp"] for c in sent}, name


def test_after_reassignment_away_the_old_specialist_is_refused(world):
    sam = world.devices["sam"]
    ids = _seed(world.users["sam"], sam, "Moving", "Person")
    done = world.cli("participants", "reassign", ids["participants"], "--to", "pat")
    assert done.returncode == 0, done.stderr
    for table, record_id in ids.items():
        if table == "time_entries":
            continue  # sam's own hours, not the participant's
        sent = sam.changes(table, record_id, {"deleted": 1})
        assert accepted(sam.push(sent), sent) == set(), table
        trick = sam.changes(
            "goals", record_id, {"participant_id": world.own["participants"], "deleted": 1}
        )
        assert accepted(sam.push(trick), trick) == set(), table
    records, _raw = sam.pull_all()
    assert not {r["record_id"] for r in records} & set(ids.values()) - {ids["time_entries"]}


# -- poison values -----------------------------------------------------------------------


POISON = [  # (device, table, field, value as raw JSON text)
    ("sam", "participants", "first_name", '"\\ud800"'),
    ("sam", "encounters", "group_size", "1" + "0" * 29),
    ("sam", "participants", "ok_to_leave_message", '"yes"'),
    ("sam", "participants", "last_name", '""'),
    ("sam", "participants", "status", '"hacked"'),
    ("sam", "participants", "date_of_birth", '"not-a-date"'),
    ("sam", "participants", "diagnoses", '"F11.20, F32.9"'),
    ("sam", "goals", "steps_done", '"[1e400]"'),
    ("sam", "participants", "phone", json.dumps("9" * 5000)),
    ("sam", "encounters", "start_time", '"25:61"'),
    ("sam", "barc10", "scores", '"[7,7,7,7,7,7,7,7,7,7]"'),
    ("sam", "time_entries", "miles", "1e400"),
]


def _raw_push(dev: Raw, table: str, record_id: str, field: str, raw_value: str) -> tuple:
    """A push whose one value is written as raw JSON text (lone surrogates, huge
    numbers), with a valid change to the same record beside it."""
    poison_stamp, good_stamp = dev.stamp(), dev.stamp()
    good_field = "deleted"
    head = {"protocol": PROTOCOL_VERSION, "device_id": dev.id, "cursor": 0,
            "client_time_ms": int(time.time() * 1000)}  # fmt: skip
    poison = (
        f'{{"table": "{table}", "record_id": "{record_id}", "stamp": "{poison_stamp}", '
        f'"fields": {{"{field}": {raw_value}}}}}'
    )
    good = {"table": table, "record_id": record_id, "stamp": good_stamp, "fields": {good_field: 0}}
    text = json.dumps(head)[:-1] + f', "records": [{poison}, {json.dumps(good)}]}}'
    return dev.post(text.encode("utf-8")), poison_stamp, good_stamp


@pytest.mark.parametrize(("who", "table", "field", "raw"), POISON)
def test_poison_values_are_refused_naming_the_field(world, who, table, field, raw):
    """A push with a poison value beside a good change: 422 naming only the poison,
    nothing stored; the good change sent again alone is accepted."""
    dev = world.devices[who]
    before = _server_rows(world)
    r, poison, good = _raw_push(dev, table, world.own[table], field, raw)
    assert 400 <= r.status_code < 500, r.text
    assert _server_rows(world) == before
    if r.json()["error"] == "invalid_values":
        detail = r.json()["detail"]
        assert [d["stamp"] for d in detail] == [poison]
        assert detail[0]["field"] == field and detail[0]["reason"].startswith(f"{field}:")
    # else refused while parsing (a number JSON cannot hold)
    again = [{"stamp": good, "table": table, "record_id": world.own[table],
              "field": "deleted", "value": 0}]  # fmt: skip
    assert dev.push(again)["rejected"] == []
    _others_still_sync(world)


def test_claim_count_lots_on_a_global_batch_is_refused(world):
    sue, bill = world.devices["sue"], world.devices["bill"]
    payer = str(uuid.uuid4())
    assert bill.push(bill.changes("payers", payer, {"name": "State Medicaid"}))["rejected"] == []
    batch = str(uuid.uuid4())
    sent = sue.changes("billing_batches", batch, {
        "payer_id": payer, "period_from": "2026-01-01", "period_to": "2026-01-31",
        "created_by_id": sue.user_id})  # fmt: skip
    assert sue.push(sent)["rejected"] == []
    lots = sue.changes("billing_batches", batch, {"claim_count": "lots"})
    r = sue.post(sue.body(lots))
    assert r.status_code == 422 and r.json()["error"] == "invalid_values"
    assert r.json()["detail"][0]["reason"].startswith("claim_count:")
    _others_still_sync(world)


@pytest.mark.parametrize(("who", "table", "field", "raw"), POISON)
def test_a_push_of_nothing_but_poison_gets_422_and_stores_nothing(world, who, table, field, raw):
    dev = world.devices[who]
    stamp = dev.stamp()
    text = json.dumps(dev.body())[: -len(', "records": []}')] + (
        f', "records": [{{"table": "{table}", "record_id": "{world.own[table]}", '
        f'"stamp": "{stamp}", "fields": {{"{field}": {raw}}}}}]}}'
    )
    before = _server_rows(world)
    r = dev.post(text.encode("utf-8"))
    assert 400 <= r.status_code < 500, r.text
    if r.status_code == 422 and r.json()["error"] == "invalid_values":
        assert r.json()["detail"] == [
            {
                "stamp": stamp,
                "table": table,
                "field": field,
                "reason": r.json()["detail"][0]["reason"],
            }
        ]
        assert r.json()["detail"][0]["reason"].startswith(f"{field}:")
    assert _server_rows(world) == before


def _server_rows(world) -> tuple[int, int, int]:
    return tuple(len(world.rows(t)) for t in ("field_state", "changes", "rejected"))


def test_the_real_client_goes_on_after_a_422(world):
    """A laptop whose outbox holds a change that does not fit (written behind the
    app's back) beside a good one: the bad one is marked refused with the reason,
    the good one is sent again and accepted, the sync finishes."""
    laptop = Laptop(Path(world.tmp), f"sam-{uuid.uuid4().hex[:6]}", world, "sam")
    try:
        laptop.sync()
        with laptop.store.transaction():
            laptop.store.conn.execute(
                "UPDATE participants SET status = 'hacked', county = 'Stutsman' WHERE id = ?",
                (world.own["participants"],),
            )
        result = laptop.sync()
        assert [r["reason"] for r in result.rejected] == [
            "status: is not one of the allowed values"
        ]
        assert laptop.replica.pending_count() == 0
        assert laptop.replica.rejected()[0]["field"] == "status"
        assert laptop.sync().rejected == []  # not sent again
        records, _raw = Raw(world, "sam").pull_all()  # the good change went through
        person = next(r for r in records if r["record_id"] == world.own["participants"])
        assert person["fields"]["county"] == "Stutsman"
        assert person["fields"].get("status", "active") != "hacked"
    finally:
        laptop.close()


def _others_still_sync(world) -> None:
    for name in ("pat", "bill", "val"):
        records, _raw = world.devices[name].pull_all()
        for r in records:
            for f, v in r["fields"].items():
                assert schema.validate_field(r["table"], f, v) is None, (r["table"], f)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    target=st.sampled_from([(t, f.name) for t, fs in schema.SCHEMA.items() for f in fs
                            if t in ("participants", "goals", "encounters", "time_entries")]),
    value=st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40),
                    st.sampled_from(["", "[]", "[1]", '["x"]', "2026-02-30", "12:00", "{}"])),
)  # fmt: skip
def test_any_value_is_either_refused_or_kept_valid(world, target, value):
    """Whatever sam pushes to his own records: 422 exactly when the value does not
    fit the schema, else 200 (the rules may still refuse it); never a 5xx."""
    table, field = target
    dev = world.devices["sam"]
    sent = dev.changes(table, world.own[table], {field: value})
    r = dev.post(dev.body(sent))
    assert r.status_code in (200, 422), r.text
    assert (r.status_code == 422) == (schema.validate_field(table, field, value) is not None)


# -- authorship and stamps ---------------------------------------------------------------


def test_forged_authorship_is_refused(world):
    sam, bill = world.devices["sam"], world.devices["bill"]
    users, p = world.users, world.own["participants"]
    note = str(uuid.uuid4())
    forged = sam.changes(
        "encounters",
        note,
        {"participant_id": p, "specialist_id": users["pat"], "service_date": "2026-02-01"},
    )
    assert accepted(sam.push(forged), forged) == set()  # the record is never half made
    signed = sam.changes("encounters", world.own["encounters"], {"signed_by_id": users["sue"]})
    assert "signed_by_id:" in next(iter(refused(sam.push(signed), signed).values()))
    addendum = sam.changes(
        "addenda",
        str(uuid.uuid4()),
        {
            "encounter_id": world.own["encounters"],
            "author_id": users["sue"],
            "written_at": "2026-02-02T09:00:00+00:00",
            "reason": "late entry",
            "text": "more",
        },
    )
    assert accepted(sam.push(addendum), addendum) == set()
    review = world.devices["sue"].changes(
        "encounters", world.own["encounters"], {"reviewed_by_id": users["val"]}
    )
    assert refused(world.devices["sue"].push(review), review)
    batch = bill.changes("billing_batches", str(uuid.uuid4()), {
        "payer_id": str(uuid.uuid4()), "period_from": "2026-01-01", "period_to": "2026-01-31",
        "created_by_id": users["sue"]})  # fmt: skip
    assert accepted(bill.push(batch), batch) == set()
    # one's own name is fine
    ok = sam.changes(
        "encounters",
        str(uuid.uuid4()),
        {"participant_id": p, "specialist_id": users["sam"], "service_date": "2026-02-01"},
    )
    assert sam.push(ok)["rejected"] == []


def test_a_stamp_of_another_device_is_refused_whole_and_does_not_preempt_it(world):
    sam, pat = world.devices["sam"], world.devices["pat"]
    stolen = pat.stamp()  # pat's next stamp, sent by sam
    mine = sam.changes("participants", world.own["participants"], {"pronouns": "she/her"})
    forged = [
        *mine,
        {
            "stamp": stolen,
            "table": "participants",
            "record_id": world.own["participants"],
            "field": "county",
            "value": "X",
        },
    ]
    r = sam.post(sam.body(forged))
    assert r.status_code == 403 and r.json()["error"] == "stamp_device_mismatch"
    # nothing of it was stored: pat's own change with that stamp is taken
    real = [{"stamp": stolen, "table": "participants", "record_id": world.foreign["participants"],
             "field": "county", "value": "Burleigh"}]  # fmt: skip
    assert pat.push(real)["rejected"] == []
    assert accepted(sam.push(mine), mine) == {mine[0]["stamp"]}


# -- bounds --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "override",
    [
        {"cursor": 2**63}, {"cursor": 2**64}, {"cursor": -1}, {"cursor": "5"}, {"cursor": 1.5},
        {"cursor": 10**30}, {"cursor": None}, {"pull_limit": 10**30}, {"pull_limit": 0},
        {"client_time_ms": 2**70}, {"client_time_ms": -5}, {"device_id": "x" * 500},
    ],
)  # fmt: skip
def test_out_of_bounds_requests_get_4xx(world, override):
    dev = world.devices["sam"]
    r = dev.post(dev.body() | override)
    assert 400 <= r.status_code < 500, (override, r.status_code, r.text)


def test_largest_cursor_is_answered(world):
    dev = world.devices["sam"]
    r = dev.post(dev.body(cursor=2**63 - 1))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "record_id", ["x" * 65, "", "a b", "../etc", "\u00e9t\u00e9", "id;drop"]
)  # fmt: skip
def test_bad_record_ids_get_4xx(world, record_id):
    dev = world.devices["sam"]
    sent = [{"stamp": dev.stamp(), "table": "goals", "record_id": record_id,
             "field": "deleted", "value": 1}]  # fmt: skip
    body = dev.body()
    body["records"] = [{"table": "goals", "record_id": record_id, "stamp": sent[0]["stamp"],
                        "fields": {"deleted": 1}}]  # fmt: skip
    r = dev.post(body)
    assert 400 <= r.status_code < 500, r.text


# -- values an older server stored ----------------------------------------------------------


def _store_behind_the_servers_back(world, table: str, record_id: str, field: str, raw: str):
    """Write a field straight into the server's database (as an older server without
    these checks did), with a fresh seq so every device pulls it, and its bucket as
    migration 0007 fills it in when this server's schema is installed."""
    from sqlalchemy import select
    from sqlalchemy import update

    from sync.server.digest_sums import bucket_of
    from sync.server.tables import counters
    from sync.server.tables import field_state
    from sync.server.tables import records

    with world.engine().begin() as conn:
        seq = conn.execute(select(counters.c.value).where(counters.c.name == "seq")).scalar() + 1
        conn.execute(update(counters).where(counters.c.name == "seq").values(value=seq))
        stamp = f"{int(time.time() * 1000):012x}.0000.legacyserver"
        conn.execute(
            field_state.delete().where(
                field_state.c.record_id == record_id, field_state.c.field == field
            )
        )
        place = select(records.c.table_name, records.c.participant_id, records.c.owner_id)
        known = conn.execute(place.where(records.c.record_id == record_id)).first()
        if known is None:
            conn.execute(records.insert().values(record_id=record_id, table_name=table))
            known = (table, "", "")
        conn.execute(
            field_state.insert().values(record_id=record_id, field=field, table_name=table,
                                        value=raw, stamp=stamp, base=None, seq=seq,
                                        bucket=bucket_of(known[0], record_id, *known[1:]))
        )  # fmt: skip


def test_poison_an_older_server_kept_never_breaks_a_pull(world):
    sam = world.devices["sam"]
    _store_behind_the_servers_back(world, "participants", world.own["participants"], "county",
                                   '"\\ud800"')  # fmt: skip
    _store_behind_the_servers_back(world, "encounters", world.own["encounters"], "group_size",
                                   "1" + "0" * 29)  # fmt: skip
    _store_behind_the_servers_back(world, "billing_batches", str(uuid.uuid4()), "claim_count",
                                   '"lots"')  # fmt: skip
    for name in ("sam", "pat", "bill", "sue"):
        records, _raw = world.devices[name].pull_all()  # 200 every time
        assert records
    records, _raw = sam.pull_all()
    person = next(r for r in records if r["record_id"] == world.own["participants"])
    assert person["fields"]["county"] == "\ud800"  # arrives escaped, as valid JSON


# -- real laptops afterwards ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["sam", "pat", "bill", "sue"])
def test_real_laptops_still_sync_and_read(world, name):
    """After everything above, a new laptop of each user syncs everything and reads
    its caseload; nothing of pat's reaches anyone else."""
    laptop = Laptop(Path(world.tmp), f"{name}-{uuid.uuid4().hex[:6]}", world, name)
    try:
        result = laptop.sync()
        assert result.pulled > 0
        assert result.quarantined >= 1  # the older server's "lots" (global), at least
        people = laptop.repos.participants.list()
        names = {p.first_name for p in people}
        if name == "pat":
            assert SECRET_FIRST in names
        else:
            assert SECRET_FIRST not in names
        for table in ("goals", "encounters", "consents", "barc10", "time_entries"):
            getattr(laptop.repos, table).list()
    finally:
        laptop.close()
