"""Setting an agency up for billing: the settings service's field-by-field checks,
the ``billing`` commands (subprocess), the vault migration that adds the fields,
an agency set up from nothing whose export pyx12 accepts (N3/N4 and DMG03 from the
participant's fields, NM1*82 from the specialist's first and last name), the
server accepting and refusing the new fields over raw HTTP, and the settings
syncing through the real server to a second vault."""

from __future__ import annotations

import inspect
import json
import shutil
import time
import uuid
from datetime import date
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from app.domain.records import AdministrativeSex
from app.domain.records import Goal
from app.domain.records import Participant
from app.domain.records import RecoveryDomain
from app.domain.records import Role
from app.domain.records import UnitBasis
from app.domain.records import User
from app.services import billing_settings as bs
from app.store import migrations
from app.store.db import Store
from app.store.repositories import Repositories
from app.store.vault import Vault
from app.store.vault import open_encrypted
from sync.protocol import PROTOCOL_VERSION
from sync.protocol import PushChange
from sync.protocol import group_changes
from tests.billing_world import SUPERVISOR_NPI
from tests.billing_world import World
from tests.billing_world import service
from tests.conftest import PASSPHRASE
from tests.helpers import run_cli
from tests.server_proc import start_server
from tests.test_sync_e2e import FAST_SERVER
from tests.test_sync_e2e import Laptop
from tests.x12check import pyx12_errors

ENV = {"PEERTRAIL_PASSPHRASE": PASSPHRASE}
FIXTURES = Path(__file__).parent / "fixtures"
AGENCY_ARGS = [
    "--name", "Prairie Peer Agency", "--npi", "1234567893", "--tax-id", "12-3456789",
    "--taxonomy", "175t00000x", "--address", "200 Demo Ave", "--address-line2", "Suite 4",
    "--city", "Bismarck", "--state", "nd", "--zip", "585014410", "--contact-name",
    "Billing Office", "--phone", "701-555-0142", "--submitter-id", "PRAIRIE01",
    "--time-zone", "America/Chicago",
]  # fmt: skip
PAYER_ARGS = [
    "--name", "ND Medicaid", "--payer-id", "ndmcd", "--receiver-id", "NDMEDICAID",
    "--receiver-name", "ND Medicaid", "--rate", "16.50", "--rounding", "cms-8-minute",
    "--modifiers", "HQ,95,93", "--usage", "T", "--timely-filing-days", "365",
    "--unit-basis", "day_total", "--telehealth-places", "02,10", "--video-modifiers", "95",
    "--audio-modifiers", "93",
]  # fmt: skip


# -- the service's checks ---------------------------------------------------------------


def test_each_field_is_checked_with_a_plain_message_that_never_repeats_the_value():
    _rec, problems = bs.provider_from_values(
        {"name": "A", "npi": "1234567890", "tax_id": "99x", "taxonomy": "123",
         "zip_code": "1234", "state": "QQ", "contact_phone": "555", "submitter_id": "!",
         "time_zone": "Mars/Olympus"}, None)  # fmt: skip
    assert set(problems) >= {"npi", "tax_id", "taxonomy", "zip_code", "state", "contact_phone",
                             "submitter_id", "time_zone"}  # fmt: skip
    for field, msg in problems.items():
        assert msg[0].isupper(), field
        for typed in ("1234567890", "99x", "1234", "QQ", "Mars/Olympus"):
            assert typed not in msg, field
    good = {"name": "A", "npi": "1234567893", "tax_id": "123456789", "taxonomy": "175t00000x",
            "address_line1": "1 Main", "city": "Fargo", "state": "nd", "zip_code": "581021234",
            "contact_name": "B", "contact_phone": "(701) 555-0100",
            "submitter_id": "SUB01"}  # fmt: skip
    ok, problems = bs.provider_from_values(good, None)
    assert problems == {}
    assert (ok.state, ok.taxonomy, ok.zip_code, ok.time_zone) == (
        "ND", "175T00000X", "58102-1234", "America/Chicago")  # fmt: skip

    bad = {"name": "P", "payer_id": "x", "rate": "ten", "usage_indicator": "Q",
           "timely_filing_days": "-3", "rounding_rule": "nearest", "unit_basis": "weekly",
           "telehealth_places": "7X", "video_modifiers": "93", "audio_modifiers": "93"}  # fmt: skip
    _payer, problems = bs.payer_from_values(bad, None)
    assert set(problems) >= {"payer_id", "rate", "usage_indicator", "timely_filing_days",
                             "rounding_rule", "unit_basis", "telehealth_places",
                             "audio_modifiers"}  # fmt: skip
    assert "ten" not in problems["rate"] and "weekly" not in problems["unit_basis"]


def test_a_malformed_value_is_refused_and_an_empty_one_waits(repos):
    with pytest.raises(bs.SettingsRefused) as e:
        bs.save_provider(repos, {"name": "Prairie", "npi": "1234567890"})
    assert set(e.value.problems) == {"npi"} and repos.billing_providers.count() == 0
    saved = bs.save_provider(repos, {"name": "Prairie", "npi": "1234567893"})
    assert saved.changed.tables == {"billing_providers"}
    assert "submitter_id" in saved.value.missing and "npi" not in saved.value.missing
    done = bs.save_payer(repos, {"name": "ND Medicaid", "payer_id": "NDMCD", "rate": "16.5"})
    assert done.value.record.rate_cents_per_unit == 1650 and done.changed.tables == {"payers"}
    with pytest.raises(bs.SettingsRefused) as e:
        bs.save_payer(repos, {"name": "Other", "payer_id": "ndmcd"})
    assert e.value.problems == {"payer_id": "Another payer already has this payer id"}
    audit = repos.store.conn.execute(
        "SELECT action, record_type FROM audit_log WHERE record_type IN "
        "('billing_providers', 'payers') ORDER BY seq"
    ).fetchall()
    assert [a[0] for a in audit] == ["create", "create"]


def test_on_a_team_only_billing_staff_and_admins_change_settings(repos):
    repos.store.set_meta("sync_server", json.dumps({"url": "https://x", "token": "t"}))
    with pytest.raises(bs.StoreError, match="Only billing staff"):
        bs.save_provider(repos, {"name": "Prairie"})
    me = repos.users.require(repos.store.user_id)
    repos.users.update(me.replace(role=Role.BILLING))
    bs.save_provider(repos, {"name": "Prairie"})
    with pytest.raises(bs.StoreError, match="administrator"):
        bs.save_specialist(repos, me.id, {"first_name": "A", "last_name": "B"})


# -- the migration -------------------------------------------------------------------------


def _migration_index() -> int:
    """The position of the migration that adds the participants' address parts."""
    for i, fn in enumerate(migrations.MIGRATIONS):
        if "address_line1 = ''" in inspect.getsource(fn):
            return i
    raise AssertionError("no migration adds the address parts")


def _older_vault(tmp_path: Path) -> Vault:
    """A copy of the newest saved vault from before the address parts existed."""
    before = _migration_index()
    found = sorted(
        int(d.name.removeprefix("vault_v")) for d in FIXTURES.glob("vault_v*")
        if d.name.removeprefix("vault_v").isdigit()
        and int(d.name.removeprefix("vault_v")) <= before
    )  # fmt: skip
    folder = FIXTURES / f"vault_v{found[-1]}"
    target = tmp_path / "older"
    shutil.copytree(folder, target, ignore=shutil.ignore_patterns("expected.json"))
    vault = Vault(target)
    vault.unlock(json.loads((folder / "expected.json").read_text())["passphrase"])
    return vault


def _insert_raw(vault: Vault, rows: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Participants written as an older PeerTrail would have (no capture needed)."""
    conn = open_encrypted(vault.db_path, vault.data_key)
    for name, fn in (("pt_capture_mode", lambda: "migrate"), ("pt_stamp", lambda: ""),
                     ("pt_user", lambda: "")):  # fmt: skip
        conn.create_function(name, 0, fn)
    conn.create_function("pt_h", 3, lambda *a: 0)
    ids = {}
    for key, (address, state) in rows.items():
        ids[key] = str(uuid.uuid4())
        conn.execute(
            "INSERT INTO participants (id, first_name, last_name, address, state) "
            "VALUES (?, ?, 'Testperson', ?, ?)",
            (ids[key], key, address, state),
        )
    conn.commit()
    conn.close()
    return ids


def test_the_migration_keeps_the_data_and_reads_a_clean_one_line_address(tmp_path: Path):
    vault = _older_vault(tmp_path)
    rows = {
        "clean": ("12 Elm St, Apt 3, Minot, nd 58701-1234", "ND"),
        "no-state": ("4 Oak Ave, Fargo, ND 58102", ""),
        "other-state": ("9 Pine Rd, Moorhead, MN 56560", "ND"),
        "unclear": ("behind the church, Minot", "ND"),
    }
    ids = _insert_raw(vault, rows)
    s = Store.open(vault)
    assert s.schema_version == migrations.LATEST and s.migration_backup is not None
    r = Repositories(s)
    clean = r.participants.require(ids["clean"])
    assert (clean.address_line1, clean.address_line2, clean.city, clean.state,
            clean.zip_code) == ("12 Elm St", "Apt 3", "Minot", "ND", "58701-1234")  # fmt: skip
    assert clean.address == rows["clean"][0]  # the text stays as it was
    assert r.participants.require(ids["no-state"]).state == "ND"
    for key in ("other-state", "unclear"):
        p = r.participants.require(ids[key])
        assert (p.address_line1, p.city, p.address) == ("", "", rows[key][0]), key
    filled = s.conn.execute(
        "SELECT count(*) FROM outbox WHERE field IN ('address_line1', 'city')"
    ).fetchone()[0]
    assert filled == 0  # derived on this device, not sent
    r.participants.update(clean.replace(administrative_sex=AdministrativeSex.FEMALE))
    sent = s.conn.execute("SELECT value FROM outbox WHERE field = 'administrative_sex'").fetchall()
    assert sent == [("F",)]  # the new columns are captured
    s.close()


# -- an agency from nothing -----------------------------------------------------------------


def _cli(vault, *args: str):
    return run_cli(*args, "--data-dir", str(vault.dir), env=ENV)


def test_an_agency_set_up_from_nothing_exports_a_file_pyx12_accepts(vault, tmp_path: Path):
    store = Store.open(vault)
    owner = Repositories(store).users.require(store.user_id)
    store.close()
    bad = _cli(vault, "billing", "provider", "set", *AGENCY_ARGS[:-2], "--npi", "1234567890")
    assert bad.returncode == 5 and "--npi" in bad.stderr and "1234567890" not in bad.stderr
    r = _cli(vault, "billing", "provider", "set", *AGENCY_ARGS)
    assert r.returncode == 0 and "Still needed" not in r.stdout, r.stdout + r.stderr
    bad = _cli(vault, "billing", "payer", "add", *PAYER_ARGS, "--usage", "X")
    assert bad.returncode == 5 and "--usage" in bad.stderr
    r = _cli(vault, "billing", "payer", "add", *PAYER_ARGS)
    assert r.returncode == 0, r.stderr
    names = ["--first-name", "Maria", "--last-name", "de la Cruz"]
    r = _cli(vault, "billing", "specialist", "set", owner.username, *names,
             "--npi", "1245319599", "--credential", "CPSS I")  # fmt: skip
    assert r.returncode == 0, r.stderr
    shown = _cli(vault, "billing", "payer", "list")
    assert "NDMCD" in shown.stdout and "to fix" not in shown.stdout

    store = Store.open(vault)
    repos = Repositories(store)
    (payer,) = repos.payers.list()
    assert payer.unit_basis is UnitBasis.DAY_TOTAL and payer.telehealth_places == ("02", "10")
    boss = repos.users.add(User(username="boss", display_name="Marit Oakes",
                                role=Role.SUPERVISOR, npi=SUPERVISOR_NPI))  # fmt: skip
    me = repos.users.require(store.user_id)
    person = repos.participants.add(Participant(
        first_name="Brannagh", last_name="O'Sheel", date_of_birth=date(1980, 3, 4),
        medicaid_id="770000001", payer_id=payer.id, diagnoses=("F11.20",),
        assigned_specialist_id=me.id, address_line1="12 Elm St", address_line2="Apt 3",
        city="Minot", state="ND", zip_code="58701-1234",
        administrative_sex=AdministrativeSex.FEMALE,
    ))  # fmt: skip
    goal = repos.goals.add(Goal(participant_id=person.id, domain=RecoveryDomain.HOME,
                                statement="I keep my home"))  # fmt: skip
    day = date.today() - timedelta(days=10)
    service(World(repos, payer, me, boss, [person], {person.id: goal}), person, day)
    store.close()

    out = tmp_path / "claims"
    out.mkdir()
    r = _cli(vault, "export", "--from", day.isoformat(), "--to", day.isoformat(),
             "--out", str(out))  # fmt: skip
    assert r.returncode == 0, r.stderr
    (x12,) = [f for f in out.iterdir() if f.suffix == ".x12"]
    text = x12.read_text()
    assert pyx12_errors(text) == []
    segs = [x.strip() for x in text.split("~")]
    assert "N3*12 ELM ST*APT 3" in segs and "N4*MINOT*ND*587011234" in segs
    assert "DMG*D8*19800304*F" in segs
    assert "NM1*82*1*DE LA CRUZ*MARIA****XX*1245319599" in segs
    assert "N3*200 DEMO AVE*SUITE 4" in segs and "N4*BISMARCK*ND*585014410" in segs
    assert "REF*EI*123456789" in segs

    bad = _cli(vault, "billing", "payer", "set", "NDMCD", "--rate", "abc")
    assert bad.returncode == 5 and "error: --rate:" in bad.stderr and "abc" not in bad.stderr
    assert _cli(vault, "billing", "payer", "set", "ndmcd", "--rate-per-unit", "17").returncode == 0
    used = _cli(vault, "billing", "payer", "remove", "NDMCD")
    assert used.returncode == 1 and "1 participant is billed" in used.stderr
    assert _cli(vault, "billing", "payer", "set", "NDMCD").returncode == 2  # nothing to change
    store = Store.open(vault)
    assert Repositories(store).payers.list()[0].rate_cents_per_unit == 1700
    store.close()


# -- the server ------------------------------------------------------------------------------


@pytest.fixture
def server(tmp_path):
    s = start_server(tmp_path, extra_args=FAST_SERVER)
    s.sam = s.add_user("sam", "supervisor")
    s.ann = s.add_user("ann", "specialist", supervisor="sam")
    s.clerk = s.add_user("clerk", "billing")
    s.adm = s.add_user("adm", "admin")
    yield s
    s.close()


class RawDevice:
    def __init__(self, srv, username: str) -> None:
        self.srv, (self.id, self.token) = srv, srv.enroll(username)
        self.n = 0

    def push(self, table: str, rid: str, fields: dict) -> requests.Response:
        changes = []
        for f, v in fields.items():
            self.n += 1
            stamp = f"{int(time.time() * 1000):012x}.{self.n:04x}.{self.id}"
            changes.append(PushChange(stamp=stamp, table=table, record_id=rid, field=f, value=v))
        body = {"protocol": PROTOCOL_VERSION, "device_id": self.id,
                "client_time_ms": int(time.time() * 1000),
                "records": [r.model_dump() if hasattr(r, "model_dump") else r
                            for r in group_changes(changes)]}  # fmt: skip
        return requests.post(
            f"{self.srv.url}/v1/sync", data=json.dumps(body, default=_plain),
            headers={"Authorization": f"Bearer {self.token}",
                     "Content-Type": "application/json"},
            verify=self.srv.verify, timeout=60,
        )  # fmt: skip


def _plain(o):
    return o.model_dump() if hasattr(o, "model_dump") else o.__dict__


def test_the_server_accepts_the_new_fields_and_refuses_bad_values(server):
    clerk, ann = RawDevice(server, "clerk"), RawDevice(server, "ann")
    ok = clerk.push("payers", str(uuid.uuid4()), {
        "name": "ND Medicaid", "unit_basis": "day_total", "telehealth_places": '["02", "10"]',
        "video_modifiers": '["95"]', "audio_modifiers": '["93"]'})  # fmt: skip
    assert ok.status_code == 200 and ok.json()["rejected"] == [], ok.text
    fields = {"name": "Prairie", "time_zone": "America/Chicago", "submitter_name": "Prairie"}
    prov = clerk.push("billing_providers", str(uuid.uuid4()), fields)
    assert prov.status_code == 200 and prov.json()["rejected"] == [], prov.text
    for table, fields, field in (
        ("payers", {"name": "X", "unit_basis": "weekly"}, "unit_basis"),
        ("payers", {"name": "X", "telehealth_places": '["02", 10]'}, "telehealth_places"),
        ("billing_providers", {"name": "X", "time_zone": "x" * 65}, "time_zone"),
    ):
        bad = clerk.push(table, str(uuid.uuid4()), fields)
        assert bad.status_code == 422 and bad.json()["error"] == "invalid_values", bad.text
        assert [d["field"] for d in bad.json()["detail"]] == [field]
    person = {"deleted": 0, "first_name": "Ada", "last_name": "Testperson",
              "assigned_specialist_id": server.ann, "address_line1": "12 Elm St",
              "city": "Minot", "zip_code": "58701", "administrative_sex": "F"}  # fmt: skip
    ok = ann.push("participants", str(uuid.uuid4()), person)
    assert ok.status_code == 200 and ok.json()["rejected"] == [], ok.text
    bad = ann.push("participants", str(uuid.uuid4()), {**person, "administrative_sex": "X"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "administrative_sex"
    refused = clerk.push("users", server.ann, {"first_name": "Ann", "taxonomy": "175T00000X"})
    assert refused.status_code == 200
    assert len(refused.json()["rejected"]) == 2  # only an administrator changes users


def test_settings_sync_through_the_server_to_a_second_vault(server, tmp_path):
    clerk = Laptop(tmp_path, "clerk", server, "clerk")
    adm = Laptop(tmp_path, "adm", server, "adm")
    ann = Laptop(tmp_path, "ann", server, "ann")
    try:
        bs.save_provider(clerk.repos, {
            "name": "Prairie Peer Agency", "npi": "1234567893", "time_zone": "America/Denver",
            "zip_code": "58501-4410", "submitter_name": "Prairie Billing"})  # fmt: skip
        payer = bs.save_payer(clerk.repos, {
            "name": "ND Medicaid", "payer_id": "NDMCD", "rate": "16.50", "unit_basis": "day_total",
            "telehealth_places": "02", "usage_indicator": "P"}).value.record  # fmt: skip
        assert not clerk.sync().rejected
        adm.sync()
        ids = {"first_name": "Ann", "last_name": "de la Cruz", "npi": "1245319599",
               "taxonomy": "175T00000X"}  # fmt: skip
        bs.save_specialist(adm.repos, server.ann, ids)
        assert not adm.sync().rejected
        ann.sync()
        prov = bs.provider_of(ann.repos)
        assert prov is not None
        assert (prov.time_zone, prov.submitter_name, prov.zip_code) == (
            "America/Denver", "Prairie Billing", "58501-4410")  # fmt: skip
        got = ann.repos.payers.require(payer.id)
        assert (got.unit_basis, got.telehealth_places, got.usage_indicator) == (
            UnitBasis.DAY_TOTAL, ("02",), "P")  # fmt: skip
        me = ann.repos.users.require(server.ann)
        assert (me.first_name, me.last_name, me.npi, me.taxonomy) == (
            "Ann", "de la Cruz", "1245319599", "175T00000X")  # fmt: skip
    finally:
        for lap in (clerk, adm, ann):
            lap.close()
