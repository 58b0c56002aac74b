"""The sync screens' parts without a server: the status bar states, the conflict
and refused-change models (widget-free), conflict resolution rules, settings and
the text size, the Preferences dialog's checks, and the idle watcher."""

from __future__ import annotations

import json
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtCore import Qt
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QLineEdit

from app.domain import conflict_resolution as cr
from app.domain.records import Conflict
from app.domain.records import Payer
from app.services import conflicts
from app.services.changes import Changed
from app.ui.shell import settings as s
from app.ui.shell.idle import IdleWatcher
from app.ui.shell.preferences import PreferencesDialog
from app.ui.shell.preferences import check_address
from app.ui.shell.preferences import check_fingerprint
from app.ui.sync.conflict_models import ConflictListModel
from app.ui.sync.conflict_models import RejectedModel
from app.ui.sync.conflict_models import field_label
from app.ui.sync.conflict_models import record_text
from app.ui.sync.controller import SyncController
from app.ui.sync.controller import Timing
from app.ui.sync.status_widget import SyncStatus
from app.ui.sync.sync_state import OFFLINE
from app.ui.sync.sync_state import ONLINE
from app.ui.sync.sync_state import SyncState
from app.ui.sync.sync_state import ago
from app.ui.sync.sync_state import error_message
from tests.ui_support import ctx_repos
from tests.ui_support import settle

DEV_A = "aaaabbbbccccdddd"
DEV_B = "eeeeffffgggghhhh"


def stamp(when: datetime, device: str) -> str:
    return f"{int(when.timestamp() * 1000):012x}.0000.{device}"


# -- status bar ----------------------------------------------------------------------------


def test_status_not_enrolled(qtbot):
    w = SyncStatus()
    qtbot.addWidget(w)
    w.show_state(SyncState(enrolled=False))
    assert w.connection.text() == "Not connected to a server"
    assert "Preferences" in w.connection.toolTip()
    assert not w.button.isEnabled()
    assert w.last.isHidden() and w.pending.isHidden() and w.conflicts.isHidden()


def test_status_online_offline_pending_and_last_sync(qtbot):
    w = SyncStatus()
    qtbot.addWidget(w)
    now = datetime.now(UTC)
    w.show_state(SyncState(enrolled=True, connection=ONLINE, last_ok_at=now))
    assert "Online" in w.connection.text() and w.connection.property("state") == "online"
    assert w.pending.text() == "All changes sent"
    assert w.last.text() == "Last sync: just now"
    assert w.button.isEnabled()
    text = error_message("offline")
    w.show_state(
        SyncState(
            enrolled=True,
            connection=OFFLINE,
            pending=3,
            error_code="offline",
            error=text,
            last_ok_at=now - timedelta(minutes=5),
        )
    )
    assert "Offline" in w.connection.text() and w.connection.property("state") == "offline"
    assert w.connection.toolTip() == text
    assert w.pending.text() == "3 changes waiting"
    assert w.last.text() == "Last sync: 5 min ago"
    w.show_state(SyncState(enrolled=True, connection=ONLINE, pending=1))
    assert w.pending.text() == "1 change waiting"
    assert w.last.text() == "Last sync: never"


def test_status_syncing_problem_conflicts_and_clock(qtbot):
    w = SyncStatus()
    qtbot.addWidget(w)
    w.show()
    w.show_state(SyncState(enrolled=True, connection=ONLINE, syncing=True))
    assert w.connection.text() == "Syncing…" and not w.button.isEnabled()
    w.show_state(
        SyncState(
            enrolled=True,
            connection=ONLINE,
            error_code="revoked",
            error=error_message("revoked"),
            open_conflicts=2,
            clock_offset_ms=7 * 60_000,
        )
    )
    assert "problem" in w.connection.text() and "withdrawn" in w.connection.toolTip()
    assert w.conflicts.isVisible() and w.conflicts.text() == "2 conflicts"
    assert w.clock.isVisible() and "7 minutes" in w.clock.toolTip()
    with qtbot.waitSignal(w.open_conflicts):
        w.conflicts.click()
    # four minutes off is within the rule (5 minutes): no warning
    w.show_state(SyncState(enrolled=True, connection=ONLINE, clock_offset_ms=-4 * 60_000))
    assert w.clock.isHidden() and w.conflicts.isHidden()


def test_status_follows_a_controller_and_hides_when_locked(qtbot, app_ctx):
    w = SyncStatus()
    qtbot.addWidget(w)
    c = SyncController(app_ctx, auto=False)
    settle(qtbot, app_ctx)
    w.set_controller(c)
    assert not w.isHidden()
    assert w.connection.text() == "Not connected to a server"  # a new vault
    ctx_repos(app_ctx).participants.add(
        __import__("app.domain.records", fromlist=["Participant"]).Participant(
            first_name="Anneli", last_name="Rud"
        )
    )
    app_ctx.broadcast(Changed.of("participants"))
    qtbot.waitUntil(lambda: c.state.pending > 0)
    assert "waiting" in w.pending.text()
    c.close()
    w.set_controller(None)
    assert w.isHidden()


def test_every_error_code_has_plain_words():
    codes = ("offline", "tls", "revoked", "update_required", "bad_reply", "server_error")
    texts = {c: error_message(c) for c in codes}
    assert len(set(texts.values())) == len(codes)
    assert "safe" in texts["offline"] and "administrator" in texts["tls"]
    assert "update" in texts["update_required"].lower()
    assert error_message("http_418", "Teapot") == "Teapot"


def test_ago():
    now = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
    assert ago(None) == "never"
    assert ago(now - timedelta(seconds=20), now) == "just now"
    assert ago(now - timedelta(minutes=42), now) == "42 min ago"
    assert ago(now - timedelta(days=3), now) == "3 days ago"
    assert ago(now - timedelta(days=40), now).endswith("2026")


def test_f5_triggers_a_sync(qtbot, app_ctx):
    c = SyncController(app_ctx, auto=False, timing=Timing())
    settle(qtbot, app_ctx)
    assert c.action.shortcut().toString() == "F5"
    with qtbot.waitSignal(c.finished) as blk:
        c.action.trigger()
    assert blk.args[0] is False and "not connected" in blk.args[1]  # no server yet
    c.close()


# -- conflict resolution rules -------------------------------------------------------------


def _conflict(kind: str = "text", **kw) -> Conflict:
    t = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    base = dict(
        table_name="goals",
        target_id="g1",
        field="statement",
        kind=kind,
        kept_value=json.dumps("Stay housed"),
        kept_stamp=stamp(t + timedelta(minutes=5), DEV_A),
        lost_value=json.dumps("Keep my apartment"),
        lost_stamp=stamp(t, DEV_B),
    )
    base.update(kw)
    return Conflict(**base)


def test_plan_each_choice():
    c = _conflict()
    assert cr.plan(c, cr.Choice.KEEP_CURRENT).write is False
    p = cr.plan(c, cr.Choice.KEEP_OTHER)
    assert p.write and p.field == "statement" and p.value == "Keep my apartment"
    p = cr.plan(c, cr.Choice.MERGE, "  Stay housed in my apartment ")
    assert p.value == "Stay housed in my apartment"
    with pytest.raises(cr.ResolutionError, match="empty"):
        cr.plan(c, cr.Choice.MERGE, "   ")
    with pytest.raises(cr.ResolutionError):
        cr.plan(c, cr.Choice.SEEN)  # a text conflict is decided, not just seen
    with pytest.raises(cr.ResolutionError, match="already"):
        cr.plan(c.replace(status="resolved"), cr.Choice.KEEP_CURRENT)
    log = _conflict("log", field="county")
    assert cr.plan(log, cr.Choice.SEEN).write is False
    with pytest.raises(cr.ResolutionError):
        cr.plan(log, cr.Choice.KEEP_OTHER)
    gone = _conflict("edited after delete")
    assert cr.plan(gone, cr.Choice.RESTORE).field == "deleted"


def test_resolved_changes_only_the_resolution_fields():
    c = _conflict()
    at = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
    r = cr.resolved(c, "user-1", at, cr.Choice.MERGE)
    changed = {f for f in Conflict.__dataclass_fields__ if getattr(c, f) != getattr(r, f)}
    from sync.rules import CONFLICT_RESOLUTION

    assert changed <= CONFLICT_RESOLUTION
    assert r.status == "resolved" and r.resolution == "merged"


def test_merge_prefill_and_stamp_info():
    assert cr.merge_prefill("A b", "C d") == "A b\n\nC d"
    assert cr.merge_prefill("A b", "A b and more") == "A b and more"
    assert cr.merge_prefill("", "C") == "C" and cr.merge_prefill("C", "") == "C"
    when = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    info = conflicts.stamp_info(stamp(when, DEV_A))
    assert info.device == DEV_A and info.when == when
    assert conflicts.stamp_info("nonsense").when is None
    assert cr.as_text(["a", "b"]) == "a, b" and cr.as_text(None) == "" and cr.as_text(True) == "yes"


# -- models (no widgets) --------------------------------------------------------------------


def _view(c: Conflict, **kw) -> conflicts.ConflictView:
    base = dict(
        conflict=c,
        participant_name="Wrenna Halstad",
        record_date="2026-11-02",
        current_text="Stay housed",
        changed_since=False,
        record_missing=False,
        record_deleted=False,
        lost_by_name="Ann",
        this_device=DEV_A,
    )
    base.update(kw)
    return conflicts.ConflictView(**base)


def test_conflict_list_model():
    m = ConflictListModel()
    with_reset = []
    m.modelReset.connect(lambda: with_reset.append(1))
    note = _conflict(table_name="encounters", field="intervention")
    m.set_rows([_view(note), _view(_conflict("log", field="county"), record_date="")])
    assert with_reset and m.rowCount() == 2 and m.columnCount() == 4
    assert m.headerData(0, Qt.Orientation.Horizontal) == "Record"
    assert m.index(0, m.COL_RECORD).data() == "Note · Nov 2, 2026"
    assert m.index(0, m.COL_FIELD).data() == "Intervention"
    assert m.index(0, m.COL_PERSON).data() == "Wrenna Halstad"
    assert m.index(1, m.COL_RECORD).data() == "Goal"
    assert m.index(1, m.COL_KIND).data().startswith("Value replaced")
    assert m.row_of(note.id) == 0 and m.row_of("nope") == -1
    m.clear()
    assert m.rowCount() == 0


def test_rejected_model():
    m = RejectedModel()
    at = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    m.set_rows(
        [
            conflicts.RejectedView(
                table="encounters",
                field="status",
                reason="a specialist cannot move a note from signed to approved",
                at=at,
                participant_name="Wrenna Halstad",
                record_date="2026-11-02",
            )
        ]
    )
    assert m.rowCount() == 1 and m.columnCount() == 5
    assert m.index(0, m.COL_REASON).data().startswith("A specialist cannot")
    assert m.index(0, m.COL_RECORD).data() == "Note · Nov 2, 2026"
    assert m.index(0, m.COL_FIELD).data() == "Status"
    assert "2026" in m.index(0, m.COL_WHEN).data()


def test_labels():
    assert field_label("goals", "statement") == "Goal statement"
    assert field_label("participants", "date_of_birth") == "Date of birth"
    assert record_text("time_entries", "") == "Hours"


# -- settings -------------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path) -> s.Settings:
    return s.Settings.at(str(tmp_path / "prefs.ini"))


def test_settings_defaults_round_trip_and_bad_values(settings, tmp_path):
    assert settings.idle_lock_minutes == 15
    assert settings.font_size == s.BASE_FONT_PT and settings.auto_sync is True
    settings.set(s.IDLE_LOCK_MINUTES, 5)
    settings.set(s.AUTO_SYNC, False)
    settings.set(s.DEFAULT_PAYER, "payer-1")
    again = s.Settings.at(str(tmp_path / "prefs.ini"))
    assert again.idle_lock_minutes == 5 and again.auto_sync is False
    assert again.default_payer_id == "payer-1"
    with pytest.raises(ValueError):
        settings.set(s.IDLE_LOCK_MINUTES, 0)
    with pytest.raises(ValueError):
        settings.set(s.FONT_SIZE, "huge")
    # a damaged or hand-edited file gives the defaults
    raw = QSettings(str(tmp_path / "prefs.ini"), QSettings.Format.IniFormat)
    raw.setValue(s.IDLE_LOCK_MINUTES, "soon")
    raw.setValue(s.FONT_SIZE, "400")
    raw.setValue(s.AUTO_SYNC, "perhaps")
    raw.sync()
    damaged = s.Settings.at(str(tmp_path / "prefs.ini"))
    assert damaged.idle_lock_minutes == 15 and damaged.font_size == s.BASE_FONT_PT
    assert damaged.auto_sync is True
    assert raw.value("settings_version") in (1, "1")
    for option in s.OPTIONS:
        assert option.tr_label()


def test_settings_file_holds_no_personal_data(settings, tmp_path):
    for option in s.OPTIONS:
        settings.set(option.key, option.default)
    text = (tmp_path / "prefs.ini").read_text()
    assert "token" not in text and "http" not in text


def test_scale_points_and_font_size_applies_app_wide(qapp):
    sheet = "QWidget { font-size: 11pt; } QLabel#pageTitle { font-size: 18pt; } x { a: 10px; }"
    assert s.scale_points(sheet, 2.0).count("22pt") == 1
    assert "36pt" in s.scale_points(sheet, 2.0) and "10px" in s.scale_points(sheet, 2.0)
    before_font, before_sheet = qapp.font(), qapp.styleSheet()
    try:
        s.apply_font_size(qapp, 16, base_sheet=sheet)
        assert qapp.font().pointSizeF() == 16
        assert "font-size: 16pt" in qapp.styleSheet()
        s.apply_font_size(qapp, 11)  # from the same base, not compounded
        assert "font-size: 11pt" in qapp.styleSheet() and "18pt" in qapp.styleSheet()
    finally:
        qapp.setFont(before_font)
        qapp.setStyleSheet(before_sheet)
        qapp.setProperty("peertrail_base_sheet", None)


# -- preferences ----------------------------------------------------------------------------


def test_address_and_fingerprint_checks():
    assert check_address("https://sync.example.org") == ""
    assert check_address("http://127.0.0.1:8443") == ""
    assert "https://" in check_address("http://sync.example.org")
    assert check_address("") and check_address("sync.example.org")
    assert check_fingerprint("") == ""
    assert check_fingerprint(":".join(["AB"] * 32)) == ""
    assert check_fingerprint("ab" * 32) == ""
    assert "64" in check_fingerprint("AB:CD")


def test_preferences_round_trip_and_font_size(qtbot, qapp, app_ctx, settings):
    repos = ctx_repos(app_ctx)
    payer = repos.payers.add(Payer(name="Invented Health Plan"))
    c = SyncController(app_ctx, auto=False)
    d = PreferencesDialog(settings, app_ctx, c)
    qtbot.addWidget(d)
    settle(qtbot, app_ctx)
    assert d.idle_minutes.value() == 15 and d.font_size.value() == s.BASE_FONT_PT
    assert d.enrol_form.isVisibleTo(d) and "not connected" in d.server_status.text()
    assert d.payer.findData(payer.id) > 0
    d.idle_minutes.setValue(7)
    d.payer.setCurrentIndex(d.payer.findData(payer.id))
    d.font_size.setValue(14)
    d.auto_sync.setChecked(False)
    before_font, before_sheet = qapp.font(), qapp.styleSheet()
    try:
        with qtbot.waitSignal(d.settings_changed) as blk:
            d.buttons.button(d.buttons.StandardButton.Ok).click()
        assert blk.args[0] == {s.IDLE_LOCK_MINUTES, s.DEFAULT_PAYER, s.FONT_SIZE, s.AUTO_SYNC}
        assert qapp.font().pointSizeF() == 14  # applied at once
        assert c.auto is False
        stored = s.Settings(settings.qs)
        assert stored.idle_lock_minutes == 7 and stored.default_payer_id == payer.id
        assert stored.font_size == 14
        # opened again: the stored values are shown
        d2 = PreferencesDialog(stored, app_ctx, c)
        qtbot.addWidget(d2)
        settle(qtbot, app_ctx)
        assert d2.idle_minutes.value() == 7 and d2.font_size.value() == 14
        assert d2.payer.currentData() == payer.id
    finally:
        qapp.setFont(before_font)
        qapp.setStyleSheet(before_sheet)
        qapp.setProperty("peertrail_base_sheet", None)
        c.close()


def test_preferences_enrolment_checks_in_place_and_keeps_what_was_typed(qtbot, app_ctx, settings):
    c = SyncController(app_ctx, auto=False)
    d = PreferencesDialog(settings, app_ctx, c)
    qtbot.addWidget(d)
    settle(qtbot, app_ctx)
    d.address.setText("http://sync.example.org")
    d.fingerprint.setText("not a fingerprint")
    d.username.setText("")
    d.password.setText("")
    d.connect_button.click()
    assert "https://" in d.address_error.text() and not d.address_error.isHidden()
    assert "64" in d.fingerprint_error.text()
    assert not d.username_error.isHidden() and not d.password_error.isHidden()
    assert d.address.text() == "http://sync.example.org"  # nothing discarded
    assert d.fingerprint.text() == "not a fingerprint"
    assert d.connect_button.isEnabled()
    c.close()


def test_preferences_when_locked_only_app_settings(qtbot, settings):
    d = PreferencesDialog(settings)
    qtbot.addWidget(d)
    assert d.enrol_form.isHidden() and "Unlock" in d.server_status.text()
    assert not d.payer.isEnabled()
    settings.set(s.DEFAULT_PAYER, "kept")
    d.idle_minutes.setValue(30)
    d.accept()
    assert settings.idle_lock_minutes == 30 and settings.default_payer_id == "kept"


# -- idle watcher -----------------------------------------------------------------------------


def test_idle_fires_after_the_interval_without_input(qtbot):
    w = IdleWatcher(minutes=15)
    assert w.interval_ms == 15 * 60_000
    w.set_interval_ms(80)
    with qtbot.waitSignal(w.idle, timeout=5_000):
        w.start()
    w.stop()
    assert not w.watching
    with pytest.raises(ValueError):
        w.set_minutes(0)


def test_idle_does_not_fire_while_typing(qtbot):
    edit = QLineEdit()
    qtbot.addWidget(edit)
    edit.show()
    edit.setFocus()
    w = IdleWatcher()
    w.set_interval_ms(1_000)  # ten times the gap between key presses below
    fired: list[int] = []
    keys_typed: list[int] = []
    w.idle.connect(lambda: fired.append(len(keys_typed)))
    typing = QTimer()
    typing.setInterval(100)

    def type_one() -> None:
        qtbot.keyClick(edit, Qt.Key.Key_A)
        keys_typed.append(1)
        if len(keys_typed) >= 25:
            typing.stop()

    typing.timeout.connect(type_one)
    w.start()
    typing.start()
    qtbot.waitUntil(lambda: len(keys_typed) >= 25, timeout=30_000)
    assert fired == []  # 2.5 s of typing, a 1 s idle time: never idle meanwhile
    with qtbot.waitSignal(w.idle, timeout=10_000):
        pass
    assert fired == [25]
    assert edit.text() == "a" * 25
    w.stop()


def test_idle_is_restarted_by_mouse_input_and_stops_on_lock(qtbot):
    w = IdleWatcher()
    w.set_interval_ms(60_000)
    w.start()
    w.set_interval_ms(50)
    with qtbot.waitSignal(w.idle, timeout=5_000):
        pass
    w.stop()
    with qtbot.assertNotEmitted(w.idle, wait=200):
        w.poke()  # not watching: nothing
    assert QApplication.instance() is not None
