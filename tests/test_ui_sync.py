"""Sync in the desktop app, end to end: the real server process on 127.0.0.1 over
HTTPS with its pinned certificate, real SQLCipher vaults, the real database worker
and network thread, driven through SyncController (enrolment, sync, the server
down and back, a conflict made by two laptops and resolved on the Conflicts page).
No sleeps: qtbot.waitSignal / waitUntil only."""

from __future__ import annotations

import itertools
import threading
from datetime import date

import pytest
from PySide6.QtCore import Qt

from app.domain.records import Encounter
from app.domain.records import Participant
from app.domain.records import Role
from app.services.changes import Changed
from app.store.digest import state_digest
from app.store.replica import StoreReplica
from app.store.repositories import Repositories
from app.ui.shell.tasks import NET
from app.ui.sync.conflicts import ConflictsPage
from app.ui.sync.controller import SyncController
from app.ui.sync.controller import Timing
from app.ui.sync.lane_replica import LaneReplica
from app.ui.sync.status_widget import SyncStatus
from app.ui.sync.sync_state import OFFLINE
from app.ui.sync.sync_state import ONLINE
from tests.builders import add_encounter
from tests.builders import add_goal
from tests.server_proc import DEFAULT_PASSWORD
from tests.server_proc import start_server
from tests.test_sync_e2e import Laptop
from tests.ui_support import ctx_repos
from tests.ui_support import settle

SYNC_TIMEOUT = 60_000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = start_server(tmp_path_factory.mktemp("sync"), extra_args=("--rate-limit", "0"))
    s.add_user("sam", "supervisor")
    s.users = itertools.count(1)
    yield s
    s.close()


@pytest.fixture
def ann(server) -> str:
    """A specialist of her own for each test (the server is shared by the module)."""
    if not server.running:  # a test before stopped it
        server.restart()
    name = f"ann{next(server.users)}"
    server.add_user(name, "specialist", supervisor="sam")
    return name


@pytest.fixture
def other(tmp_path, server, ann):
    lap = Laptop(tmp_path, "other-laptop", server, ann)
    yield lap
    lap.close()


@pytest.fixture
def controller(qtbot, app_ctx, request):
    def make(qtbot, ctx, auto: bool = False, **timing) -> SyncController:
        c = SyncController(ctx, timing=Timing(**timing), retries=0, auto=auto)
        request.addfinalizer(c.close)
        settle(qtbot, ctx)
        return c

    return make


def enroll(qtbot, c: SyncController, server, username: str) -> None:
    told: list[tuple[str, bool, str]] = []
    c.enrolment_finished.connect(lambda ok, text: told.append(("enrolled", ok, text)))
    c.finished.connect(lambda ok, text: told.append(("synced", ok, text)))
    c.enroll(server.url, server.fingerprint, username, DEFAULT_PASSWORD, "ui laptop")
    qtbot.waitUntil(lambda: len(told) >= 2 or bool(told and not told[0][1]), timeout=SYNC_TIMEOUT)
    assert told[0][:2] == ("enrolled", True), told
    assert told[1][:2] == ("synced", True), told
    settle(qtbot, c.ctx)


def sync(qtbot, c: SyncController, expect_ok: bool = True) -> str:
    with qtbot.waitSignal(c.finished, timeout=SYNC_TIMEOUT) as blk:
        assert c.sync_now()
    ok, text = blk.args
    assert ok is expect_ok, text
    settle(qtbot, c.ctx)
    return text


def on_db(qtbot, ctx, fn):
    box: list = []
    ctx.run(fn, box.append)
    settle(qtbot, ctx)
    return box[0]


def test_enrol_then_sync_through_the_controller(qtbot, app_ctx, controller, server, ann):
    c = controller(qtbot, app_ctx)
    assert not c.state.enrolled
    # before enrolment: a plain message, nothing sent
    with qtbot.waitSignal(c.finished) as blk:
        c.sync_now()
    assert blk.args[0] is False and "not connected" in blk.args[1]
    enroll(qtbot, c, server, ann)
    assert c.state.enrolled and c.state.connection == ONLINE
    assert c.last_result.pulled > 0  # the team's user records
    # the signed-in user became the server's user
    me = on_db(qtbot, app_ctx, lambda repos: repos.users.get(repos.store.user_id))
    assert me is not None and me.username == ann and app_ctx.user.id == me.id
    assert app_ctx.user.role is Role.SPECIALIST

    p = ctx_repos(app_ctx).participants.add(
        Participant(first_name="Tamsin", last_name="Odegaard", assigned_specialist_id=me.id)
    )
    app_ctx.broadcast(Changed.of("participants"))
    qtbot.waitUntil(lambda: c.state.pending > 0)
    pages_told: list[frozenset] = []
    app_ctx.data_changed.connect(pages_told.append)
    text = sync(qtbot, c)
    assert "sent" in text
    assert c.state.pending == 0 and c.state.last_ok_at is not None
    assert any("participants" in t and "conflicts" in t for t in pages_told)  # pages refresh
    assert [r[0] for r in server.rows("records") if r[0] == p.id] == [p.id]


def test_network_waits_do_not_hold_the_database_worker(qtbot, app_ctx, controller, server, ann):
    """While the network thread waits for the server, work queued for the database
    worker runs at once (the worker is not blocked by the exchange)."""
    c = controller(qtbot, app_ctx)
    enroll(qtbot, c, server, ann)
    threads: dict[str, str] = {}
    lane_replica = LaneReplica(app_ctx, threading.Event())

    def on_net() -> str:
        threads["net"] = threading.current_thread().name
        return lane_replica.device_id  # read on the database lane, waited for here

    done: list[str] = []
    app_ctx.tasks.run(on_net, done.append, lambda e: done.append(repr(e)), lane=NET)
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)
    assert threads["net"].startswith("peertrail-net")
    assert done[0] == on_db(qtbot, app_ctx, lambda repos: repos.store.device_id)

    # a real sync with the server stopped mid-way (no answer) keeps the db worker free
    server.stop()
    with qtbot.waitSignal(c.finished, timeout=SYNC_TIMEOUT):
        c.sync_now()
        # queued while the sync is in flight: answered without waiting for it
        seen = on_db(qtbot, app_ctx, lambda repos: repos.participants.count())
        assert seen == 0


def test_server_down_then_back_loses_nothing_and_syncs_on_its_own(
    qtbot, app_ctx, controller, server, ann
):
    c = controller(qtbot, app_ctx)
    enroll(qtbot, c, server, ann)
    status = SyncStatus()
    qtbot.addWidget(status)
    status.set_controller(c)
    server.stop()
    me = app_ctx.user.id
    for first in ("Ilse", "Corwin"):
        ctx_repos(app_ctx).participants.add(
            Participant(first_name=first, last_name="Brekke", assigned_specialist_id=me)
        )
    app_ctx.broadcast(Changed.of("participants"))
    qtbot.waitUntil(lambda: c.state.pending > 0)
    waiting = c.state.pending
    text = sync(qtbot, c, expect_ok=False)
    assert "cannot be reached" in text and "safe" in text
    assert c.state.connection == OFFLINE and c.state.error_code == "offline"
    assert c.state.pending == waiting  # nothing lost, nothing counted as sent
    assert "Offline" in status.connection.text()
    assert status.connection.toolTip() == text
    assert status.pending.text() == f"{waiting} changes waiting"

    # automatic: the reachability check backs off while the server is down, and
    # syncs by itself once it answers again
    c.auto = True
    c.timing.check_first_ms = 50
    c.timing.check_max_ms = 400
    c._check_ms = 50
    checks: list[bool] = []
    c.reachability.connect(checks.append)
    c._schedule()
    qtbot.waitUntil(lambda: len(checks) >= 2, timeout=20_000)
    assert not any(checks) and c._check_ms > 50  # backing off
    server.restart()
    with qtbot.waitSignal(c.finished, timeout=SYNC_TIMEOUT) as blk:
        pass
    assert blk.args[0] is True, blk.args[1]
    settle(qtbot, app_ctx)
    assert c.state.pending == 0 and c.state.connection == ONLINE
    assert "Online" in status.connection.text()
    c.close()


def test_local_changes_settle_then_sync(qtbot, app_ctx, controller, server, ann):
    c = controller(qtbot, app_ctx)
    enroll(qtbot, c, server, ann)
    c.auto = True
    c._settle.setInterval(100)
    me = app_ctx.user.id
    with qtbot.waitSignal(c.finished, timeout=SYNC_TIMEOUT) as blk:
        ctx_repos(app_ctx).participants.add(
            Participant(first_name="Oona", last_name="Vik", assigned_specialist_id=me)
        )
        app_ctx.broadcast(Changed.of("participants"))
    assert blk.args[0] is True
    settle(qtbot, app_ctx)
    assert c.state.pending == 0
    c.close()


def test_revoked_device_is_told_in_plain_words(qtbot, app_ctx, controller, server, ann):
    c = controller(qtbot, app_ctx)
    enroll(qtbot, c, server, ann)
    device = on_db(qtbot, app_ctx, lambda repos: repos.store.device_id)
    assert server.cli("devices", "revoke", device).returncode == 0
    text = sync(qtbot, c, expect_ok=False)
    assert c.state.error_code == "revoked" and "withdrawn" in text and "administrator" in text


def test_wrong_fingerprint_and_wrong_password_at_enrolment(qtbot, app_ctx, controller, server, ann):
    c = controller(qtbot, app_ctx)
    with qtbot.waitSignal(c.enrolment_finished, timeout=SYNC_TIMEOUT) as blk:
        c.enroll(server.url, ":".join(["AB"] * 32), ann, DEFAULT_PASSWORD)
    assert blk.args[0] is False and "certificate" in blk.args[1]
    with qtbot.waitSignal(c.enrolment_finished, timeout=SYNC_TIMEOUT) as blk:
        c.enroll(server.url, server.fingerprint, ann, "not the password")
    assert blk.args[0] is False and "user name and password" in blk.args[1]
    settle(qtbot, app_ctx)
    assert not c.state.enrolled
    server_settings = on_db(qtbot, app_ctx, lambda repos: StoreReplica(repos.store).server())
    assert server_settings == {}  # nothing was changed


def _note(repos: Repositories, user_id: str) -> tuple[Participant, Encounter]:
    p = repos.participants.add(
        Participant(
            first_name="Wrenna",
            last_name="Halstad",
            date_of_birth=date(1984, 5, 6),
            assigned_specialist_id=user_id,
        )
    )
    g = add_goal(repos, p, "Keep my place")
    girp = ("Housing", "Went over the lease together", "Relieved", "Call the landlord")
    return p, add_encounter(repos, p, g, user_id, girp=girp)


def test_conflict_from_a_real_sync_resolved_on_the_page_and_both_converge(
    qtbot, app_ctx, controller, server, ann, other
):
    c = controller(qtbot, app_ctx)
    enroll(qtbot, c, server, ann)
    _p, note = _note(other.repos, other.user.id)
    other.sync()
    sync(qtbot, c)
    assert on_db(qtbot, app_ctx, lambda repos: repos.encounters.get(note.id)) is not None

    # both laptops edit the same narrative offline: the other laptop first
    theirs = "Went over the lease; she will ask about a payment plan"
    other.repos.encounters.update(
        other.repos.encounters.require(note.id).replace(intervention=theirs)
    )
    mine = "Read the lease aloud and marked the rent clause"
    repos = ctx_repos(app_ctx)
    repos.encounters.update(repos.encounters.require(note.id).replace(intervention=mine))
    other.sync()
    text = sync(qtbot, c)
    assert "1 conflict" in text
    assert c.state.open_conflicts == 1

    page = ConflictsPage(app_ctx)
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    settle(qtbot, app_ctx)
    assert page.model.rowCount() == 1
    view = page.model.view(0)
    assert view.kind == "text" and view.conflict.field == "intervention"
    # side by side: the version in the record (the greater stamp won) and the other
    assert {view.kept_text, view.lost_text} == {mine, theirs}
    assert page.current_side.text.toPlainText() == view.kept_text
    assert page.other_side.text.toPlainText() == view.lost_text
    mine_won = view.kept_text == mine
    assert ("this laptop" in page.current_side.meta.text()) is mine_won
    assert ("this laptop" in page.other_side.meta.text()) is not mine_won
    assert ann in page.other_side.meta.text()  # who wrote the version that lost
    assert page.keep_other.isEnabled() and page.merge_button.isEnabled()

    # merge: prefilled with both, edited, an empty merge refused in place
    page.merge_button.click()
    assert page.detail.currentIndex() == 1
    assert mine in page.merge_edit.toPlainText() and theirs in page.merge_edit.toPlainText()
    page.merge_edit.setPlainText("   ")
    page.save_merge.click()
    assert page.error.isVisible() and "empty" in page.error.text()
    merged = "Read the lease aloud; she will ask about a payment plan"
    page.merge_edit.setPlainText(merged)
    with qtbot.waitSignal(app_ctx.data_changed, timeout=10_000):
        page.save_merge.click()
    settle(qtbot, app_ctx)
    assert page.model.rowCount() == 0 and page.empty.isVisible()
    got = on_db(qtbot, app_ctx, lambda repos: repos.encounters.require(note.id).intervention)
    assert got == merged

    # the resolution syncs like any edit; both laptops converge
    sync(qtbot, c)
    other.sync()
    assert other.repos.encounters.require(note.id).intervention == merged
    status = other.store.conn.execute("SELECT status, resolution FROM conflicts").fetchall()
    assert status == [("resolved", "merged")]
    mine_digest = on_db(qtbot, app_ctx, lambda repos: state_digest(repos.store))
    assert mine_digest == state_digest(other.store)
    assert c.state.open_conflicts == 0


def test_keep_the_other_version_and_a_signed_note_offers_only_keep(
    qtbot, app_ctx, controller, server, ann, other
):
    c = controller(qtbot, app_ctx)
    enroll(qtbot, c, server, ann)
    _p, note = _note(other.repos, other.user.id)
    g2 = note.goal_ids[0]
    other.sync()
    sync(qtbot, c)
    # a goal statement edited on both
    other.repos.goals.update(other.repos.goals.require(g2).replace(statement="Stay housed"))
    repos = ctx_repos(app_ctx)
    repos.goals.update(repos.goals.require(g2).replace(statement="Keep my apartment"))
    # and the note's plan, which this laptop then signs
    other.repos.encounters.update(other.repos.encounters.require(note.id).replace(plan="Text"))
    repos.encounters.update(repos.encounters.require(note.id).replace(plan="Call Friday"))
    other.sync()
    sync(qtbot, c)
    me = on_db(qtbot, app_ctx, lambda r: r.users.get(r.store.user_id))
    ctx_repos(app_ctx).encounters.sign(note.id, me)

    page = ConflictsPage(app_ctx)
    qtbot.addWidget(page)
    page.show()
    settle(qtbot, app_ctx)
    assert page.model.rowCount() == 2
    fields = {page.model.view(r).conflict.field: r for r in range(2)}
    page.list.selectRow(fields["plan"])
    assert not page.keep_other.isEnabled() and not page.merge_button.isEnabled()
    assert "signed" in page.locked.text() and page.locked.isVisible()
    page.list.selectRow(fields["statement"])
    assert page.keep_other.isEnabled()
    lost = page.model.view(fields["statement"]).lost_text
    assert lost in ("Stay housed", "Keep my apartment")
    assert page.other_side.text.toPlainText() == lost
    with qtbot.waitSignal(app_ctx.data_changed, timeout=10_000):
        page.keep_other.click()
    settle(qtbot, app_ctx)
    assert on_db(qtbot, app_ctx, lambda r: r.goals.require(g2).statement) == lost
    assert page.model.rowCount() == 1
    page.list.selectRow(0)
    with qtbot.waitSignal(app_ctx.data_changed, timeout=10_000):
        page.keep_current.click()
    settle(qtbot, app_ctx)
    assert page.model.rowCount() == 0
    sync(qtbot, c)
    other.sync()
    assert other.repos.goals.require(g2).statement == lost
    assert on_db(qtbot, app_ctx, lambda r: state_digest(r.store)) == state_digest(other.store)


def test_refused_changes_listed_with_the_servers_reason(qtbot, app_ctx, controller, server, ann):
    c = controller(qtbot, app_ctx)
    enroll(qtbot, c, server, ann)
    repos = ctx_repos(app_ctx)
    me = app_ctx.user.id
    p = repos.participants.add(
        Participant(first_name="Sigrun", last_name="Aas", assigned_specialist_id=me)
    )
    sync(qtbot, c)
    # a specialist's laptop cannot hand a participant to someone else: the server refuses
    with repos.store.transaction():
        repos.store.conn.execute(
            "UPDATE participants SET assigned_specialist_id = 'someone-else' WHERE id = ?",
            (p.id,),
        )
    text = sync(qtbot, c)
    assert "refused" in text
    assert c.state.rejected == 1
    page = ConflictsPage(app_ctx)
    qtbot.addWidget(page)
    page.show()
    settle(qtbot, app_ctx)
    assert page.rejected_model.rowCount() == 1
    reason = page.rejected_model.index(0, page.rejected_model.COL_REASON).data()
    assert "administrator" in reason
    assert page.rejected_model.index(0, page.rejected_model.COL_PERSON).data() == "Sigrun Aas"
    assert "(1)" in page.tabs.tabText(1)

    # "Send again" (a real click): the value goes back into the record and out at
    # the next sync, where the server refuses it again: listed again, not lost.
    page.tabs.setCurrentIndex(1)
    assert page.resend_button.isEnabled() and page.dismiss_button.isEnabled()
    qtbot.mouseClick(page.resend_button, Qt.MouseButton.LeftButton)
    settle(qtbot, app_ctx)
    assert page.rejected_model.rowCount() == 0
    assert "refused" in sync(qtbot, c)
    settle(qtbot, app_ctx)
    assert page.rejected_model.rowCount() == 1
    # "Dismiss": the person has read it and lets it go; only then does it leave.
    qtbot.mouseClick(page.dismiss_button, Qt.MouseButton.LeftButton)
    settle(qtbot, app_ctx)
    assert page.rejected_model.rowCount() == 0 and "(0)" in page.tabs.tabText(1)
    assert not page.dismiss_button.isEnabled()
    assert "refused" not in sync(qtbot, c)


def test_enrolment_from_the_preferences_dialog(qtbot, app_ctx, controller, server, ann, tmp_path):
    from app.ui.shell.preferences import PreferencesDialog
    from app.ui.shell.settings import Settings

    c = controller(qtbot, app_ctx)
    d = PreferencesDialog(Settings.at(str(tmp_path / "prefs.ini")), app_ctx, c)
    qtbot.addWidget(d)
    settle(qtbot, app_ctx)
    d.address.setText(server.url)
    d.fingerprint.setText(server.fingerprint)
    d.username.setText(ann)
    d.password.setText("wrong password")
    with qtbot.waitSignal(c.enrolment_finished, timeout=SYNC_TIMEOUT):
        d.connect_button.click()
    assert not d.enrol_result.isHidden() and "password" in d.enrol_result.text()
    assert d.enrol_result.objectName() == "error"
    assert d.username.text() == ann and d.password.text() == "wrong password"  # kept
    d.password.setText(DEFAULT_PASSWORD)
    with qtbot.waitSignal(c.finished, timeout=SYNC_TIMEOUT) as blk:  # enrol, then first sync
        d.connect_button.click()
    assert blk.args[0] is True, blk.args[1]
    assert d.enrol_result.objectName() == "success" and ann in d.enrol_result.text()
    assert d.password.text() == "" and d.enrol_form.isHidden()
    assert server.url in d.server_status.text()
    settle(qtbot, app_ctx)
    assert c.state.enrolled


def test_locking_during_a_sync_loses_nothing_and_the_next_sync_finishes_it(
    qtbot, app_ctx, controller, server, ann
):
    c = controller(qtbot, app_ctx)
    enroll(qtbot, c, server, ann)
    repos = ctx_repos(app_ctx)
    me = app_ctx.user.id
    ids = [
        repos.participants.add(
            Participant(first_name=f"Solvei{i}", last_name="Moe", assigned_specialist_id=me)
        ).id
        for i in range(40)
    ]
    c.sync_now()
    net = app_ctx.tasks.lane(NET)
    qtbot.waitUntil(lambda: net.pending == 1, timeout=10_000)  # the exchange is under way
    c.close()  # what the main window does when the vault locks
    qtbot.waitUntil(lambda: net.pending == 0, timeout=SYNC_TIMEOUT)  # no hang
    settle(qtbot, app_ctx)
    assert c.state.syncing  # its result was dropped, never shown

    again = controller(qtbot, app_ctx)  # the next unlock's controller
    sync(qtbot, again)
    assert again.state.pending == 0
    on_server = {r[0] for r in server.rows("records")}
    assert set(ids) <= on_server
