"""No double bill, online or offline, end to end: the real server process on
127.0.0.1 over HTTPS, real SQLCipher vaults for a specialist, a supervisor, an
administrator and two billing users, the real client and the real export.

Offline, both billing laptops export the same approved services: their control
numbers and claim ids differ (each laptop's billing number from the server), and
after both sync — in either order — every billing laptop and the supervisor see
the same billing conflict naming both batches; voiding one resolves it on every
device while the services stay billed in the other. Online, the second export is
refused naming the first batch (control number, user, date) and writes nothing.
Every 837P written is read back with pyx12.
"""

from __future__ import annotations

import json
import re
import zipfile
from datetime import date
from datetime import time
from pathlib import Path
from xml.dom import minidom

import pytest

from app.domain.records import NoteStatus
from app.domain.records import Participant
from app.services import billing
from app.services import billing_batches
from app.services.double_billing import AlreadyBilled
from app.services.double_billing import billing_conflicts
from app.services.double_billing import double_bills
from tests.billing_world import AGENCY
from tests.billing_world import SPECIALIST_NPI
from tests.billing_world import nd_payer
from tests.builders import add_encounter
from tests.builders import add_goal
from tests.conftest import PASSPHRASE
from tests.helpers import run_cli
from tests.server_proc import start_server
from tests.test_sync_e2e import FAST_SERVER
from tests.test_sync_e2e import Laptop
from tests.x12check import pyx12_errors

PERIOD = (date(2026, 11, 1), date(2026, 11, 30))
TODAY = date(2026, 12, 1)


@pytest.fixture
def server(tmp_path):
    s = start_server(tmp_path, extra_args=FAST_SERVER)
    s.sup = s.add_user("sam", "supervisor", display_name="Sam Oakes")
    s.ann = s.add_user("ann", "specialist", supervisor="sam", display_name="Ann Lindgard")
    s.add_user("ada", "admin")
    s.add_user("bill1", "billing", display_name="Bea Ledger")
    s.add_user("bill2", "billing", display_name="Cal Ledger")
    yield s
    s.close()


@pytest.fixture
def team(tmp_path, server):
    """Laptops with approved services every billing laptop has pulled."""
    made: dict[str, Laptop] = {}
    for name in ("ada", "bill1", "bill2", "ann", "sam"):
        made[name] = Laptop(tmp_path, name, server, name)
    ada, b1, ann, sam = made["ada"], made["bill1"], made["ann"], made["sam"]
    for lap in made.values():
        lap.sync()
    # the administrator gives the specialist an NPI; billing sets up the agency and payer
    who = ada.repos.users.require(ann.user.id)
    ada.repos.users.update(who.replace(npi=SPECIALIST_NPI))
    assert not ada.sync().rejected
    b1.repos.billing_providers.add(AGENCY)
    payer = b1.repos.payers.add(nd_payer())
    assert not b1.sync().rejected
    ann.sync()
    notes = []
    for i, first in enumerate(("Brannagh", "Corvin")):
        p = ann.repos.participants.add(
            Participant(
                first_name=first, last_name="Ashby", date_of_birth=date(1981 + i, 3, 4),
                medicaid_id=f"77{i:07d}", payer_id=payer.id, diagnoses=("F11.20",),
                assigned_specialist_id=ann.user.id,
            )
        )  # fmt: skip
        g = add_goal(ann.repos, p, "I keep my home")
        girp = ("Housing", "Went over the lease", "Engaged", "Call")
        at = (time(9 + i, 0), time(9 + i, 50))
        for day in (3, 4):
            on = date(2026, 11, day)
            e = add_encounter(ann.repos, p, g, ann.user, on=on, at=at, girp=girp, payer_id=payer.id)
            notes.append(ann.repos.encounters.sign(e.id, ann.user))
    assert not ann.sync().rejected
    sam.sync()
    for n in notes:
        sam.repos.encounters.approve(n.id, sam.user, n.content_hash)
    assert not sam.sync().rejected
    for lap in made.values():
        lap.sync()
    made["notes"] = notes  # type: ignore[assignment]
    yield made
    for lap in made.values():
        if isinstance(lap, Laptop):
            lap.close()


def _export(lap: Laptop, out: Path) -> billing.ExportResult:
    out.mkdir(exist_ok=True)
    req = billing.ExportRequest(*PERIOD, out_dir=out, today=TODAY)
    return billing.export(lap.store, req)


def _claim_ids(x12: str) -> set[str]:
    return set(re.findall(r"^CLM\*([^*]+)\*", x12, re.M))


def _read_back(result: billing.ExportResult) -> str:
    """The 837P passes pyx12; the .xlsx worksheet is well-formed and holds the
    claim ids as text cells."""
    (x12,) = [p for p in result.files if p.suffix == ".x12"]
    text = x12.read_text()
    assert pyx12_errors(text) == []
    (xlsx,) = [p for p in result.files if p.suffix == ".xlsx"]
    with zipfile.ZipFile(xlsx) as z:
        parts = {n: z.read(n).decode() for n in z.namelist() if n.endswith(".xml")}
    for body in parts.values():
        minidom.parseString(body)  # well-formed XML
    strings = parts["xl/sharedStrings.xml"]
    assert all(f"<t>{c}</t>" in strings for c in _claim_ids(text))
    assert 'formatCode="@"' in parts["xl/styles.xml"]
    return text


@pytest.mark.parametrize("first", ["bill1", "bill2"])
def test_offline_double_bill_becomes_a_billing_conflict(tmp_path, server, team, first):
    b1, b2, sam, ann = team["bill1"], team["bill2"], team["sam"], team["ann"]
    numbers = {b1.replica.billing_number, b2.replica.billing_number}
    assert len(numbers) == 2 and 0 not in numbers  # from the server, one each
    server.stop()  # both laptops offline
    r1, r2 = _export(b1, tmp_path / "out1"), _export(b2, tmp_path / "out2")
    for r in (r1, r2):
        assert r.outcome == "written" and not r.server_checked
        assert "not checked with the server" in r.warning.lower()
    c1, c2 = r1.batches[0].batch.interchange_control, r2.batches[0].batch.interchange_control
    assert c1 != c2 and c1 // 100_000 == b1.replica.billing_number
    t1, t2 = _read_back(r1), _read_back(r2)
    assert f"*{c1:09d}*" in t1 and f"ST*837*{c2:09d}*" in t2
    assert _claim_ids(t1) and not (_claim_ids(t1) & _claim_ids(t2))

    server.restart()
    order = [b1, b2] if first == "bill1" else [b2, b1]
    for lap in (*order, *order, sam, ann):
        lap.sync()
    seen = [double_bills(lap.store) for lap in (b1, b2, sam)]
    assert seen[0] == seen[1] == seen[2] and len(seen[0]) == 1
    conflict = seen[0][0]
    assert {b.id for b in conflict.batches} == {r1.batches[0].batch.id, r2.batches[0].batch.id}
    assert set(conflict.encounter_ids) == {n.id for n in team["notes"]}
    assert "void" in conflict.advice.lower()
    assert billing_conflicts(ann.store) == []  # not a specialist's business
    # `batches` never lists one control number twice
    controls = [b.interchange_control for b in billing.batches(b1.store)]
    assert len(controls) == len(set(controls)) == 2

    # the billing user's sync --json names it (the real command line, same vault)
    done = run_cli(
        "sync", "--json", "--data-dir", str(b2.dir), env={"PEERTRAIL_PASSPHRASE": PASSPHRASE}
    )
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)["billing_conflicts"]
    assert [sorted(b["id"] for b in d["batches"]) for d in shown] == [
        sorted(b.id for b in conflict.batches)
    ]
    # resolve: void the later batch; every service stays billed in the one kept
    keep, drop = conflict.batches
    owner = b1 if drop.id == r1.batches[0].batch.id else b2
    billing_batches.void_batch(owner.store, drop.id, "Billed twice")
    for lap in (owner, b1, b2, sam, owner, b1, b2, sam):
        lap.sync()
    for lap in (b1, b2, sam):
        assert double_bills(lap.store) == []
        for n in team["notes"]:
            e = lap.repos.encounters.require(n.id)
            assert e.status is NoteStatus.BILLED and e.billing_batch_id == keep.id


def test_online_second_export_is_refused_naming_the_first(tmp_path, server, team):
    b1, b2 = team["bill1"], team["bill2"]
    # an export that fails after its reservation (a file in the way) gives it back
    out1 = tmp_path / "out1"
    out1.mkdir()
    number = b1.replica.billing_number
    (out1 / f"837P-NDTEST1915I-{number:04d}00001.x12").write_text("in the way")
    with pytest.raises(billing.BillingRefused, match="already exists"):
        _export(b1, out1)
    assert server.rows("billing_reservations") == [] and billing.batches(b1.store) == []
    (out1 / f"837P-NDTEST1915I-{number:04d}00001.x12").unlink()
    r1 = _export(b1, out1)
    assert r1.outcome == "written" and r1.server_checked and not r1.warning
    assert r1.round_trips == 1
    _read_back(r1)
    first = r1.batches[0].batch
    out2 = tmp_path / "out2"
    with pytest.raises(AlreadyBilled) as refused:
        _export(b2, out2)  # b2 has not synced: it still sees the services unbilled
    text = str(refused.value)
    assert f"{first.interchange_control:09d}" in text and "bill1" in text
    assert first.created_at.date().isoformat() in text
    assert list(out2.iterdir()) == [] and billing.batches(b2.store) == []
    assert all(
        e.status is NoteStatus.APPROVED for e in b2.repos.encounters.list()
    )  # nothing marked billed
    held = {r[0] for r in server.rows("billing_reservations")}
    assert held == {n.id for n in team["notes"]}
    # after b1 synced its batch, the server refuses from the billed notes as well
    b1.sync()
    with pytest.raises(AlreadyBilled):
        _export(b2, out2)
    # voiding the batch (online) releases it; once the void synced b2 may bill them
    billing_batches.void_batch(b1.store, first.id, "Wrong period")
    assert server.rows("billing_reservations") == []
    b1.sync()
    b2.sync()
    r2 = _export(b2, out2)
    assert r2.outcome == "written" and r2.server_checked
    assert r2.batches[0].batch.interchange_control // 100_000 == b2.replica.billing_number
    _read_back(r2)


def test_a_lost_laptops_reservation_is_released_by_the_administrator(tmp_path, server, team):
    """bill1 exports online and is lost before it syncs: its reservation blocks bill2
    until the administrator lists and releases it (audited); a batch that has
    synced is not released that way (it is voided from a billing laptop)."""
    b1, b2 = team["bill1"], team["bill2"]
    r1 = _export(b1, tmp_path / "out1")
    lost = r1.batches[0].batch
    with pytest.raises(AlreadyBilled):
        _export(b2, tmp_path / "out2")
    listed = server.cli("billing", "reservations")
    assert listed.returncode == 0, listed.stderr
    assert lost.id in listed.stdout and f"{lost.interchange_control:09d}" in listed.stdout
    assert "bill1" in listed.stdout and "Brannagh" not in listed.stdout  # no names
    unknown = server.cli("billing", "release", "no-such-batch")
    assert unknown.returncode == 4 and "nothing was changed" in unknown.stderr
    done = server.cli("billing", "release", lost.id)
    assert done.returncode == 0, done.stderr
    assert "Released 4 services" in done.stdout
    assert server.rows("billing_reservations") == []
    kind = "billing_released_by_admin"
    events = [json.loads(r[-1]) for r in server.rows("security_events") if kind in r]
    assert len(events) == 1 and events[0]["services"] == 4 and events[0]["batch_id"] == lost.id
    r2 = _export(b2, tmp_path / "out2")
    assert r2.outcome == "written" and r2.server_checked and not r2.warning
    # once a batch has synced, the release is refused and nothing changes
    b2.sync()
    again = server.cli("billing", "release", r2.batches[0].batch.id)
    assert again.returncode == 1 and "void it from a billing laptop" in again.stderr
    assert {r[0] for r in server.rows("billing_reservations")} == {n.id for n in team["notes"]}
