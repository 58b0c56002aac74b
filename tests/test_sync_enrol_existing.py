"""Enrolling a vault that already holds work (issue 12, case 7), against the real
server over HTTPS with real SQLCipher vaults: everything the person wrote reaches
the server on the first sync with no refusals, whatever the order and size of the
outbox; what the role may not own is explained before enrolment and kept on the
laptop (visible, never sent, never refused)."""

from __future__ import annotations

from datetime import date

import pytest

from app.demo import fill_demo
from app.services import enrolment
from app.store.db import Store
from app.store.enrolment_plan import HELD_PREFIX
from app.store.replica import StoreReplica
from app.store.repositories import Repositories
from app.store.vault import Vault
from sync.client import SyncClient
from sync.client import make_session
from tests.builders import many_people
from tests.conftest import FAST_KDF
from tests.conftest import PASSPHRASE
from tests.server_proc import DEFAULT_PASSWORD
from tests.server_proc import start_server


@pytest.fixture
def server(tmp_path):
    s = start_server(tmp_path, extra_args=("--rate-limit", "0"))
    s.sam = s.add_user("sam", "supervisor")
    s.ann = s.add_user("ann", "specialist", supervisor="sam")
    yield s
    s.close()


def _vault(tmp_path, name: str) -> Store:
    v = Vault(tmp_path / name)
    v.create(PASSPHRASE, FAST_KDF)
    return Store.open(v, owner_username="ann")


def _enrol_and_sync(store: Store, server, push_limit: int):
    typed = enrolment.check_request(
        server.url, "ann", DEFAULT_PASSWORD, fingerprint=server.fingerprint
    )
    answer = enrolment.enroll(store, typed)
    waiting = StoreReplica(store).pending_count()
    return answer, waiting, _client(store, server, push_limit=push_limit).sync()


def _client(store: Store, server, **kw) -> SyncClient:
    """A client of the enrolled ``store`` (``kw``: SyncClient's options), no retries."""
    replica = StoreReplica(store)
    return SyncClient(
        replica,
        server.url,
        replica.server()["token"],
        session=make_session(server.fingerprint, retries=0),
        **kw,
    )


def _server_fields(server, record_id: str) -> dict[str, str]:
    return {r[1]: r[3] for r in server.rows("field_state") if r[0] == record_id}


def test_demo_caseload_enrolled_then_synced_in_small_batches_has_no_refusals(server, tmp_path):
    store = _vault(tmp_path, "alone")
    try:
        fill_demo(store, participants=6, years=1, seed=3, today=date(2026, 11, 2))
        waiting = StoreReplica(store).pending_count()
        # Explained before enrolment: the demo's supervisor decisions, other people's
        # user records and billing settings are not a specialist's to send.
        before = enrolment.not_sent(store, "specialist")
        assert before, "the demo holds records a specialist does not own"
        reasons = {h.reason for h in before}
        assert any("administrator" in r for r in reasons)
        assert not any(h.table == "participants" for h in before)
        held = sum(h.changes for h in before)

        answer, after_enrol, result = _enrol_and_sync(store, server, push_limit=300)
        assert answer.role == "specialist"
        assert result.rejected == []  # no refusal at all
        replica = StoreReplica(store)
        assert replica.pending_count() == 0
        assert result.pushed == after_enrol
        # only the held changes and the local owner's own user record were not sent
        owner_record = waiting - held - after_enrol
        assert 0 < owner_record < 20
        kept = replica.rejected()
        assert len(kept) == held and all(k["reason"].startswith(HELD_PREFIX) for k in kept)
        # every participant is on the server, assigned to ann's server id
        people = list(Repositories(store).participants.iter())
        assert len(people) == 6
        for p in people:
            assert _server_fields(server, p.id)["assigned_specialist_id"] == f'"{server.ann}"'
        notes = store.conn.execute("SELECT id, specialist_id FROM encounters").fetchall()
        assert notes and all(s == server.ann for _i, s in notes)
        for note_id, _s in notes[:50]:
            assert _server_fields(server, note_id)["specialist_id"] == f'"{server.ann}"'
    finally:
        store.close()


def test_imported_participants_enrolled_then_synced_have_no_refusals(server, tmp_path):
    store = _vault(tmp_path, "imported")
    try:
        repos = Repositories(store)
        people = many_people(1000, "Imported", "Testperson", store.user_id, birthdays=True)
        repos.participants.add_many(people)
        assert enrolment.not_sent(store, "specialist") == []
        _answer, _waiting, result = _enrol_and_sync(store, server, push_limit=2000)
        assert result.rejected == []
        assert StoreReplica(store).pending_count() == 0
        assert StoreReplica(store).rejected() == []
        on_server = {r[0] for r in server.rows("assignments") if r[1] == server.ann}
        ids = {r[0] for r in store.conn.execute("SELECT id FROM participants")}
        assert ids == on_server and len(ids) == 1000
    finally:
        store.close()


def test_a_vault_holding_changes_back_matches_the_server_without_repair(server, tmp_path):
    """The demo supervisor's decisions on ann's notes stay on the laptop: the note's
    ``status`` here is a held value, and the server holds ann's older one. The
    end-of-sync digests count the server's stamp for such a field (remembered at
    enrolment), so the first sync and every later one match the server with no
    repair (before, each sync fetched the differing notes again)."""
    store = _vault(tmp_path, "holding")
    try:
        fill_demo(store, participants=6, years=1, seed=3, today=date(2026, 11, 2))
        _answer, _after_enrol, first = _enrol_and_sync(store, server, push_limit=2000)
        replica = StoreReplica(store)
        held_status = store.conn.execute(
            "SELECT count(*) FROM held_now WHERE table_name = 'encounters' AND field = 'status'"
        ).fetchone()[0]
        assert held_status > 0  # notes whose status here is the held decision
        assert first.digest_ok is True and first.repaired == 0 and first.resent == 0
        again = _client(store, server).sync()
        assert again.digest_ok is True and again.repaired == 0 and again.requests == 1
        # the held values are still here, and not on the server
        kept = {(k["record_id"], k["field"]): k["value"] for k in replica.rejected()}
        for (rid, field), value in list(kept.items())[:30]:
            if field == "status":
                assert _server_fields(server, rid).get("status") != value
    finally:
        store.close()
