"""End to end: the real server process on 127.0.0.1 over real HTTPS (pinned
self-signed certificate), real SQLCipher vaults, the real client engine and the
real command line. Faults are made on the wire (a TCP proxy that cuts or
delays), by killing processes, or by a misbehaving HTTPS server; never by
mocking the transport."""

from __future__ import annotations

import bz2
import http.server
import json
import os
import ssl
import subprocess
import sys
import textwrap
import threading
from datetime import date

import pytest

from app.domain.records import Encounter
from app.domain.records import Goal
from app.domain.records import NoteStatus
from app.domain.records import Participant
from app.domain.records import RecoveryDomain
from app.store.db import Store
from app.store.digest import state_digest
from app.store.replica import StoreReplica
from app.store.repositories import Repositories
from sync.client import SyncError
from tests import laptop
from tests.builders import add_encounter
from tests.conftest import PASSPHRASE
from tests.helpers import ROOT
from tests.helpers import run_cli
from tests.laptop import FAST_SERVER
from tests.laptop import Laptop
from tests.laptop import team_server
from tests.netproxy import LinkShape
from tests.netproxy import Proxy
from tests.server_proc import DEFAULT_PASSWORD
from tests.server_proc import backend_url
from tests.server_proc import start_server

laptops = laptop.laptops  # (conftest's; some modules take the fixture from here)


@pytest.fixture
def server(tmp_path):
    s = team_server(tmp_path)
    yield s
    s.close()


def _person(lap: Laptop, first: str) -> tuple[Participant, Goal]:
    p = lap.repos.participants.add(
        Participant(
            first_name=first,
            last_name="Testperson",
            date_of_birth=date(1985, 3, 3),
            assigned_specialist_id=lap.user.id,
        )
    )
    g = lap.repos.goals.add(
        Goal(participant_id=p.id, domain=RecoveryDomain.PURPOSE, statement="Find steady work")
    )
    return p, g


def answer_the_return(ann: Laptop, approved: Encounter, returned: Encounter) -> None:
    """The specialist syncs, finds one note approved and one returned ("how long"),
    answers the return with an addendum and syncs it."""
    ann.sync()
    assert ann.repos.encounters.require(approved.id).status is NoteStatus.APPROVED
    back = ann.repos.encounters.require(returned.id)
    assert back.status is NoteStatus.RETURNED and "how long" in back.review_comment
    ann.repos.encounters.add_addendum(
        returned.id, ann.user, "Reviewer asked", "The call took 12 minutes"
    )
    ann.sync()


def _note(lap: Laptop, p: Participant, g: Goal, text: str = "Mock interview") -> Encounter:
    return add_encounter(lap.repos, p, g, lap.user, girp=("Work", text, "Engaged", "Apply Friday"))


def noted(lap: Laptop, first: str, *seen_by: Laptop) -> tuple[Participant, Goal, Encounter]:
    """A new person with a goal and a draft note on ``lap``, synced there and then on
    each laptop of ``seen_by``."""
    p, g = _person(lap, first)
    n = _note(lap, p, g)
    for each in (lap, *seen_by):
        each.sync()
    return p, g, n


def signed_note(lap: Laptop, first: str) -> tuple[Participant, Goal, Encounter]:
    """A new person with a goal and a note the laptop's user signed, synced."""
    p, g = _person(lap, first)
    n = _note(lap, p, g)
    lap.repos.encounters.sign(n.id, lap.user)
    lap.sync()
    return p, g, lap.repos.encounters.require(n.id)


def test_review_round_trip_between_three_vaults(server, laptops):
    ann, bob, sam = laptops("ann1", "ann"), laptops("bob1", "bob"), laptops("sam1", "sam")
    p, g = _person(ann, "Wren")
    n1, n2 = _note(ann, p, g, "First"), _note(ann, p, g, "Second")
    for n in (n1, n2):
        ann.repos.encounters.sign(n.id, ann.user)
    bp, _ = _person(bob, "Quinn")
    r = ann.sync()
    assert r.pushed > 0 and not r.rejected and r.requests == 1
    bob.sync()
    sam.sync()
    # the supervisor sees the team; a specialist never sees another caseload
    assert {x.id for x in sam.repos.participants.list()} == {p.id, bp.id}
    assert [x.id for x in bob.repos.participants.list()] == [bp.id]
    # offline review: approve one, return one
    a = sam.repos.encounters.require(n1.id)
    sam.repos.encounters.approve(n1.id, sam.user, a.content_hash)
    sam.repos.encounters.return_for_revision(n2.id, sam.user, "Say how long the call took")
    assert not sam.sync().rejected
    answer_the_return(ann, n1, n2)
    sam.sync()
    again = sam.repos.encounters.require(n2.id)
    assert again.status is NoteStatus.SIGNED
    assert [x.text for x in sam.repos.encounters.addenda(n2.id)] == ["The call took 12 minutes"]
    sam.repos.encounters.approve(n2.id, sam.user, again.content_hash)
    sam.sync()
    ann.sync()
    assert ann.repos.encounters.require(n2.id).status is NoteStatus.APPROVED


def test_specialist_cannot_review_or_read_another_caseload(server, laptops):
    ann, bob = laptops("ann1", "ann"), laptops("bob1", "bob")
    p, _g, n = signed_note(ann, "Ivo")
    # forge a supervisor's review field on the specialist's own laptop (raw SQL in a
    # store transaction: still captured, so it is pushed and judged by the server)
    with ann.store.transaction():
        ann.store.conn.execute(
            "UPDATE encounters SET reviewed_by_id = ?, status = 'approved' WHERE id = ?",
            (ann.user.id, n.id),
        )
    r = ann.sync()
    reasons = {x["reason"] for x in r.rejected}
    assert any("supervisor" in x or "cannot move" in x for x in reasons), reasons
    back = ann.repos.encounters.require(n.id)
    assert back.status is NoteStatus.SIGNED and back.reviewed_by_id == ""  # put back
    assert ann.replica.rejected()  # kept, with the reason, to show
    # bob's laptop never receives ann's participant
    bob.sync()
    assert bob.repos.participants.get(p.id) is None


def test_reassigned_participant_leaves_the_old_laptop(server, laptops):
    ann, bob = laptops("ann1", "ann"), laptops("bob1", "bob")
    p, g, _n = noted(ann, "Juniper", bob)
    done = server.cli("participants", "reassign", p.id, "--to", "bob")
    assert done.returncode == 0, done.stderr
    r = ann.sync()
    assert r.evicted == 1
    assert ann.repos.participants.get(p.id) is None
    assert ann.repos.goals.get(g.id) is None
    assert not ann.store.conn.execute(
        "SELECT count(*) FROM encounters WHERE participant_id = ?", (p.id,)
    ).fetchone()[0]
    bob.sync()
    assert bob.repos.participants.require(p.id).assigned_specialist_id == bob.user.id
    assert bob.repos.goals.require(g.id).statement == "Find steady work"


def test_two_laptops_of_one_person_converge_and_keep_both_texts(server, laptops):
    a1, a2 = laptops("ann1", "ann"), laptops("ann2", "ann")
    _p, g = _person(a1, "Lior")
    a1.sync()
    a2.sync()
    a1.repos.goals.update(a1.repos.goals.require(g.id).replace(statement="Get a CDL by spring"))
    a2.repos.goals.update(
        a2.repos.goals.require(g.id).replace(statement="Work nights at the depot")
    )
    a1.sync()
    a2.sync()
    a1.sync()
    assert state_digest(a1.store) == state_digest(a2.store)
    rows = a1.store.conn.execute(
        "SELECT kind, kept_value, lost_value FROM conflicts WHERE target_id = ?", (g.id,)
    ).fetchall()
    assert len(rows) == 1 and rows[0][0] == "text"
    assert {json.loads(rows[0][1]), json.loads(rows[0][2])} == {
        "Get a CDL by spring",
        "Work nights at the depot",
    }


def test_enroll_and_sync_from_the_command_line(server, tmp_path):
    d = tmp_path / "cli-vault"
    env = {"PEERTRAIL_PASSPHRASE": PASSPHRASE}
    assert run_cli("init", "--data-dir", str(d), env=env).returncode == 0
    out = run_cli(
        "enroll", "--server", server.url, "--username", "ann", "--fingerprint",
        server.fingerprint, "--data-dir", str(d),
        env={**env, "PEERTRAIL_SERVER_PASSWORD": DEFAULT_PASSWORD},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    out = run_cli("sync", "--json", "--data-dir", str(d), env=env)
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["requests"] == 1 and info["bytes_sent"] > 0 and info["bytes_received"] > 0
    assert info["pulled"] > 0  # the team's user records
    # the device token is inside the encrypted vault, not in any plain file
    token_files = [f for f in d.rglob("*") if f.is_file() and b'"token"' in f.read_bytes()]
    assert token_files == []
    bad = run_cli(
        "enroll", "--server", server.url, "--username", "ann", "--fingerprint",
        server.fingerprint, "--data-dir", str(d),
        env={**env, "PEERTRAIL_SERVER_PASSWORD": "wrong password"},
    )  # fmt: skip
    assert bad.returncode == 3


def test_wrong_fingerprint_sends_nothing(server, laptops):
    ann = laptops("ann1", "ann")
    _person(ann, "Mika")
    ann.fingerprint = ":".join(["AB"] * 32)
    with pytest.raises(SyncError) as e:
        ann.sync()
    assert e.value.code == "tls"
    assert ann.replica.pending_count() > 0


def test_revoked_device_gets_nothing(server, laptops):
    ann = laptops("ann1", "ann")
    _person(ann, "Nell")
    ann.sync()
    listing = server.cli("devices", "list")
    assert ann.replica.device_id in listing.stdout
    assert server.cli("devices", "revoke", ann.replica.device_id).returncode == 0
    _person(ann, "Odile")
    with pytest.raises(SyncError) as e:
        ann.sync()
    assert e.value.code == "revoked"
    assert ann.replica.pending_count() > 0  # nothing lost on the laptop


# -- faults on the wire --------------------------------------------------------------


def _settled(*laps: Laptop) -> None:
    for _ in range(2):
        for lap in laps:
            lap.sync()


def test_link_cut_mid_request_and_mid_response(server, laptops):
    a1, a2 = laptops("ann1", "ann"), laptops("ann2", "ann")
    for i in range(60):  # a reply to a1 well past the 2,500-byte cut below
        _person(a2, f"Bax{i}")
    a2.sync()
    for i in range(30):
        _person(a1, f"Pax{i}")
    waiting = a1.replica.pending_count()
    for shape in (LinkShape(cut_upstream_after=3000), LinkShape(cut_downstream_after=2500)):
        proxy = Proxy(server.port, shape)
        try:
            with pytest.raises(SyncError) as e:
                a1.sync(url=f"https://127.0.0.1:{proxy.port}")
            assert e.value.code in ("offline", "bad_reply")
        finally:
            proxy.close()
        # cut mid-request: nothing applied; cut mid-response: applied on the server,
        # unknown to the laptop; either way the outbox is intact
        assert a1.replica.pending_count() == waiting
    before = server.state_digest(("field_state",))
    r = a1.sync()
    assert r.pushed == waiting and not r.rejected  # the replay is accepted, once
    assert server.state_digest(("field_state",)) != before or r.pushed
    _settled(a1, a2)
    assert state_digest(a1.store) == state_digest(a2.store)
    assert len(server.rows("changes")) == len({row[1] for row in server.rows("changes")})


def test_server_killed_after_commit_before_answering(server, laptops):
    ann = laptops("ann1", "ann")
    for i in range(5):
        _person(ann, f"Rue{i}")
    waiting = ann.replica.pending_count()
    # the request goes through; the server's answer is held on the wire while the
    # server commits, then the server is killed (SIGKILL) and the link drops
    proxy = Proxy(server.port, LinkShape(hold_reply_after_up=1000))
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            ann.sync(url=f"https://127.0.0.1:{proxy.port}")
        except BaseException as e:  # the error is the expected outcome
            outcome.append(e)

    t = threading.Thread(target=run)
    t.start()
    committed = 0
    for _ in range(400):
        committed = len(server.rows("changes"))
        if committed >= waiting and proxy.held:
            break
        threading.Event().wait(0.05)
    assert committed >= waiting and proxy.held  # committed, answered into the void
    server.kill()
    proxy.close()
    t.join(30)
    assert outcome and isinstance(outcome[0], SyncError)
    server.restart()
    assert ann.replica.pending_count() == waiting  # the laptop never heard back
    r = ann.sync()
    assert r.pushed == waiting and not r.rejected
    assert len(server.rows("changes")) == committed  # the replay changed nothing
    assert ann.replica.pending_count() == 0


def test_server_unreachable_for_days_then_drains(server, laptops):
    ann = laptops("ann1", "ann")
    _person(ann, "Sage")
    ann.sync()
    server.stop()
    for day in range(3):
        _person(ann, f"Day{day}")
        with pytest.raises(SyncError) as e:
            ann.sync()
        assert e.value.code == "offline" and "safe" in str(e.value)
    waiting = ann.replica.pending_count()
    assert waiting > 0
    server.restart()
    r = ann.sync()  # no new local edit needed
    assert r.pushed == waiting and ann.replica.pending_count() == 0


CLIENT_KILLED = textwrap.dedent(
    """
    import os, sys
    from app.store.vault import Vault
    from app.store.db import Store
    from app.store.replica import StoreReplica
    from sync.client import SyncClient, make_session
    v = Vault(sys.argv[1]); v.unlock(sys.argv[2])
    s = Store.open(v); rep = StoreReplica(s); srv = rep.server()
    def die(*a, **k):
        os._exit(9)  # killed after the pulled records were applied, before the cursor
    StoreReplica._reset_unset = die
    SyncClient(rep, srv["url"], srv["token"], session=make_session(srv["fingerprint"])).sync()
    """
)


def test_client_killed_between_applying_and_saving_the_cursor(server, laptops, tmp_path):
    a1, a2 = laptops("ann1", "ann"), laptops("ann2", "ann")
    for i in range(10):
        _person(a1, f"Tove{i}")
    a1.sync()
    cursor = a2.replica.cursor
    digest = state_digest(a2.store)
    a2.store.close()
    script = tmp_path / "killed.py"
    script.write_text(CLIENT_KILLED)
    proc = subprocess.run(
        [sys.executable, str(script), str(a2.dir), PASSPHRASE],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 9, proc.stderr
    a2.store = Store.open(a2.vault)
    a2.replica, a2.repos = StoreReplica(a2.store), Repositories(a2.store)
    assert a2.replica.cursor == cursor and state_digest(a2.store) == digest  # all or nothing
    a2.sync()
    assert state_digest(a2.store) == state_digest(a1.store)


class _BadServer(http.server.BaseHTTPRequestHandler):
    reply: tuple[int, bytes] = (200, b"")
    encoding: str | None = None

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status, body = self.reply
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if self.encoding:
            self.send_header("Content-Encoding", self.encoding)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


_CUT = b'{"protocol": 2, "server_time_ms": 5, "accep'
_OLD_SERVER = (  # what a protocol-1 server answers a bzip2 body
    b'{"error": "unsupported_encoding", "message": "Send the body as JSON, plain or gzip.",'
    b' "detail": null}'
)
_TOO_OLD = b'{"error": "update_required", "message": "Please update PeerTrail.", "detail": null}'


@pytest.mark.parametrize(
    ("status", "body", "code", "encoding"),
    [
        (200, _CUT, "bad_reply", None),  # truncated
        (200, b"\x00\xffnot json at all", "bad_reply", None),  # garbage
        (200, b'{"protocol": 2, "server_time_ms": "soon"}', "bad_reply", None),  # wrong shape
        (200, b"BZh9 not really bzip2", "bad_reply", "bzip2"),  # garbage bzip2
        (200, bz2.compress(_CUT), "bad_reply", "bzip2"),  # bzip2 of a cut reply
        (200, bz2.compress(b'{"protocol": 2}')[:-8], "bad_reply", "bzip2"),  # cut bzip2
        (200, bz2.compress(b"{}") + b"tail", "bad_reply", "bzip2"),  # data after the end
        (500, b'{"error": "internal", "message": "boom"}', "server_error", None),
        (415, _OLD_SERVER, "server_too_old", None),
        (426, _TOO_OLD, "update_required", None),
    ],
)
def test_malformed_replies_lose_nothing(server, laptops, status, body, code, encoding):
    ann = laptops("ann1", "ann")
    _person(ann, "Uma")
    waiting, digest = ann.replica.pending_count(), state_digest(ann.store)
    handler = type("H", (_BadServer,), {"reply": (status, body), "encoding": encoding})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(server.cert_path, server.cert_path.with_name("tls-key.pem"))
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with pytest.raises(SyncError) as e:
            ann.sync(url=f"https://127.0.0.1:{httpd.server_address[1]}")
        assert e.value.code == code
        words = str(e.value)
        assert "lost" in words or "safe" in words or "kept" in words or "update" in words.lower()
    finally:
        httpd.shutdown()
    assert ann.replica.pending_count() == waiting and state_digest(ann.store) == digest
    assert ann.sync().pushed == waiting  # and the real server takes it all later


def test_two_specialists_and_a_supervisor_on_postgresql(tmp_path):
    """The same review round trip with the server's store on a real PostgreSQL."""
    url = backend_url("postgresql")
    server = start_server(tmp_path, database_url=url, extra_args=FAST_SERVER)
    made: list[Laptop] = []
    try:
        server.add_user("sam", "supervisor")
        server.add_user("ann", "specialist", supervisor="sam")
        server.add_user("bob", "specialist", supervisor="sam")
        ann, bob, sam = (
            Laptop(tmp_path, n, server, u) for n, u in (("a", "ann"), ("b", "bob"), ("s", "sam"))
        )
        made += [ann, bob, sam]
        p, g = _person(ann, "Vida")
        n = _note(ann, p, g)
        ann.repos.encounters.sign(n.id, ann.user)
        _person(bob, "Wilf")
        for lap in (ann, bob, sam):
            lap.sync()
        assert sam.repos.participants.count() == 2 and bob.repos.participants.count() == 1
        sam.repos.encounters.approve(
            n.id, sam.user, sam.repos.encounters.require(n.id).content_hash
        )
        sam.sync()
        ann.sync()
        assert ann.repos.encounters.require(n.id).status is NoteStatus.APPROVED
    finally:
        for lap in made:
            lap.close()
        server.close()


def test_a_sync_uses_one_connection_opened_while_the_request_is_prepared(server, laptops):
    """The client starts the TLS handshake before it reads the outbox: the request
    then goes over that same connection (one TCP/TLS connection per sync), and a
    pre-connection that fails (nothing listening) changes nothing but the message."""
    ann = laptops("ann1", "ann")
    for i in range(40):
        _person(ann, f"Con{i}")
    proxy = Proxy(server.port, LinkShape(one_way_delay_s=0.05))
    read_outbox, opened_before = ann.replica.pending, []

    def pending(limit: int):
        """Reading the outbox waits until the connection is there: only a client that
        opens it before (not after) preparing the request gets past this."""
        for _ in range(1000):
            if proxy.connections:
                break
            threading.Event().wait(0.01)
        opened_before.append(proxy.connections)
        return read_outbox(limit)

    ann.replica.pending = pending  # type: ignore[method-assign]
    try:
        r = ann.sync(url=f"https://127.0.0.1:{proxy.port}")
        assert r.requests == 1 and not r.rejected and r.pushed > 0
        assert opened_before == [1] and proxy.connections == 1
    finally:
        del ann.replica.pending
        proxy.close()
    _person(ann, "Offline")
    waiting = ann.replica.pending_count()
    dead = Proxy(server.port)
    port = dead.port
    dead.close()  # a port nobody listens on any more
    with pytest.raises(SyncError) as e:
        ann.sync(url=f"https://127.0.0.1:{port}")
    assert e.value.code == "offline"
    assert ann.replica.pending_count() == waiting
