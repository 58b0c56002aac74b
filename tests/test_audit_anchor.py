"""The laptop's audit chain anchored on the server: real vaults, the real server
over HTTPS. Someone holding the vault key rewrites the chain (recomputing every
hash, so the laptop's own check passes) or cuts its tail; the next sync is still
made, the reply carries a warning, and the server lists an alarm. An intact chain
never raises one, also when a reply was lost or the laptop forgot what it sent."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.domain.records import Participant
from app.store import audit
from app.store.replica import AUDIT_ANCHORED_KEY
from app.store.replica import AUDIT_SENT_KEY
from sync.protocol import SyncRequest
from sync.server.tables import audit_anchors
from tests.server_proc import backend_url
from tests.server_proc import start_server
from tests.server_proc import sync_raw
from tests.test_sync_e2e import Laptop


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request, tmp_path):
    url = backend_url(request.param)
    s = start_server(tmp_path, database_url=url, extra_args=("--rate-limit", "0"))
    s.add_user("ann", "specialist")
    s.add_user("bob", "specialist")
    yield s
    s.close()


def _work(lap: Laptop, n: int = 3) -> None:
    for i in range(n):
        p = lap.repos.participants.add(
            Participant(
                first_name=f"Anchor{i}", last_name="Test", assigned_specialist_id=lap.user.id
            )
        )
        lap.store.audit("view", "participants", p.id)


def _anchored_laptop(tmp_path, server, name: str) -> Laptop:
    """A laptop that worked and synced twice: the server holds an anchor of its chain."""
    lap = Laptop(tmp_path, name, server, name)
    for _ in range(2):
        _work(lap)
        lap.sync()
    return lap


def _anchor(server, device_id: str) -> tuple[int, str] | None:
    with server.engine().begin() as conn:
        row = conn.execute(
            select(audit_anchors.c.length, audit_anchors.c.hash).where(
                audit_anchors.c.device_id == device_id
            )
        ).first()
    return (int(row[0]), row[1]) if row else None


def _length(lap: Laptop) -> int:
    return audit.head(lap.store.conn)["length"]


def _alarms(server) -> list[list[str]]:
    done = server.cli("audit", "alarms")
    assert done.returncode == 0, done.stderr
    return [ln.split() for ln in done.stdout.splitlines()[1:] if ln.strip()]


def _rewrite_entry(lap: Laptop, seq: int) -> None:
    """What someone with the key can do: change one entry and recompute the chain."""
    conn = lap.store.conn
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("UPDATE audit_log SET detail = ? WHERE seq = ?", (json.dumps({"forged": 1}), seq))
    prev = audit.GENESIS
    rows = conn.execute(
        "SELECT seq, id, at, user_id, device_id, action, record_type, record_id, detail "
        "FROM audit_log ORDER BY seq"
    ).fetchall()
    for row in rows:
        h = audit._entry_hash(prev, tuple(row))
        conn.execute(
            "UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, h, row[0])
        )
        prev = h
    assert audit.verify(conn) == []  # the laptop's own check cannot tell


def _truncate(lap: Laptop, keep: int) -> None:
    conn = lap.store.conn
    conn.execute("DROP TRIGGER audit_log_no_delete")
    conn.execute("DELETE FROM audit_log WHERE seq > ?", (keep,))
    assert audit.verify(conn) == []


def test_intact_chain_is_anchored_and_moves_forward(server, tmp_path):
    lap = Laptop(tmp_path, "ann", server, "ann")
    _work(lap)
    n1 = _length(lap)
    first = lap.sync()
    assert first.audit_warning is None
    assert _anchor(server, lap.replica.device_id)[0] == n1
    _work(lap)
    n2 = _length(lap)
    assert lap.sync().audit_warning is None
    stored = lap.store.conn.execute("SELECT hash FROM audit_log WHERE seq = ?", (n2,))
    assert _anchor(server, lap.replica.device_id) == (n2, stored.fetchone()[0])
    assert n2 > n1
    assert _alarms(server) == []
    lap.close()


def test_rewritten_chain_raises_an_alarm_until_accepted(server, tmp_path):
    lap = _anchored_laptop(tmp_path, server, "ann")
    anchored = _anchor(server, lap.replica.device_id)
    _rewrite_entry(lap, 2)
    _work(lap, 1)
    result = lap.sync()
    assert result.audit_warning and "no longer matches" in result.audit_warning
    assert result.pushed > 0  # the records still synced
    alarms = _alarms(server)
    assert len(alarms) == 1
    assert alarms[0][1] == lap.replica.device_id and alarms[0][3] == "rewritten"
    assert alarms[0][4] == str(anchored[0])
    assert _anchor(server, lap.replica.device_id) == anchored  # the anchor is kept

    again = lap.sync()  # the alarm repeats: the chain still does not extend the anchor
    assert again.audit_warning and len(_alarms(server)) == 2

    done = server.cli("audit", "accept", lap.replica.device_id)
    assert done.returncode == 0, done.stderr
    assert lap.sync().audit_warning is None
    assert lap.sync().audit_warning is None
    assert len(_alarms(server)) == 2
    assert "audit_accept" in server.cli("audit", "events").stdout
    lap.close()


def test_truncated_chain_raises_an_alarm(server, tmp_path):
    lap = _anchored_laptop(tmp_path, server, "bob")
    anchored_len = _anchor(server, lap.replica.device_id)[0]
    _truncate(lap, anchored_len - 2)
    result = lap.sync()
    assert result.audit_warning and "shorter" in result.audit_warning
    alarms = _alarms(server)
    assert [a[3] for a in alarms] == ["truncated"]

    # the same through the command line: the warning is printed, the sync succeeds
    lap.close()
    from tests.conftest import PASSPHRASE
    from tests.helpers import run_cli

    done = run_cli("sync", "--data-dir", str(lap.dir), env={"PEERTRAIL_PASSPHRASE": PASSPHRASE})
    assert done.returncode == 0, done.stderr
    assert "audit log is shorter" in done.stderr


def test_lost_reply_and_forgotten_lengths_raise_no_lasting_alarm(server, tmp_path):
    lap = Laptop(tmp_path, "ann", server, "ann")
    _work(lap)
    lap.sync()
    _work(lap)
    # a sync whose reply never arrives: the server anchors the head, the laptop
    # applies nothing
    head = lap.replica.audit_head()
    payload = SyncRequest.wire_of(
        device_id=lap.replica.device_id,
        cursor=lap.replica.cursor,
        changes=[],
        pull_limit=100,
        client_time_ms=1,
        audit=head,
    )
    token = lap.replica.server()["token"]
    r = sync_raw(server, token, payload)
    assert r.status_code == 200 and r.json()["audit"]["ok"] is True
    assert _anchor(server, lap.replica.device_id)[0] == head["length"]
    _work(lap, 1)
    assert lap.sync().audit_warning is None  # proves the length it sent before

    # a laptop that forgot which lengths it sent: one 'unproven' alarm, then fine
    lap.store.set_meta(AUDIT_SENT_KEY, "[]")
    lap.store.set_meta(AUDIT_ANCHORED_KEY, "0")
    _work(lap, 1)
    first = lap.sync()
    assert first.audit_warning and "could not be shown" in first.audit_warning
    assert lap.sync().audit_warning is None
    assert [a[3] for a in _alarms(server)] == ["unproven"]
    lap.close()


def test_old_client_without_audit_head_is_served_as_before(server, tmp_path):
    lap = Laptop(tmp_path, "ann", server, "ann")
    payload = SyncRequest.wire_of(
        device_id=lap.replica.device_id, cursor=0, changes=[], pull_limit=100, client_time_ms=1
    )
    assert "audit" not in payload
    r = sync_raw(server, lap.replica.server()["token"], payload)
    assert r.status_code == 200 and "audit" not in r.json()
    assert _anchor(server, lap.replica.device_id) is None
    bad = dict(payload, audit={"length": 3, "hash": "zz"})
    r = sync_raw(server, lap.replica.server()["token"], bad)
    assert r.status_code == 422
    lap.close()
