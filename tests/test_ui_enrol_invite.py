"""The welcome's enrol page with an invite code, driven by keys and clicks (QTest)
against a real new vault, the real database thread and the real server on
127.0.0.1: the specialist types the code and the password and nothing else; a
used or mistyped code and a wrong password keep the page with their message; the
machine-wide settings file (found through platformdirs' site folder,
``XDG_CONFIG_DIRS``) pre-fills and pins the server, or brings the invite file's
code, so only the user name (or nothing) and the password are typed."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.services import site_settings
from app.ui.shell.main_window import MainWindow
from tests.server_proc import DEFAULT_PASSWORD
from tests.server_proc import specialists_server
from tests.test_ui_welcome import click
from tests.test_ui_welcome import server_settings
from tests.test_ui_welcome import set_up_vault
from tests.test_ui_welcome import settle


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with specialists_server(tmp_path_factory.mktemp("ui-invite"), "ann", "bob", "cal") as s:
        yield s


@pytest.fixture
def site_dir(tmp_path, monkeypatch) -> Path:
    """platformdirs' machine-wide folder for this test: empty unless a test writes it."""
    monkeypatch.delenv("PEERTRAIL_DESKTOP_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "xdg"))
    folder = tmp_path / "xdg" / "peertrail"
    folder.mkdir(parents=True)
    assert site_settings.candidates()[0] == folder / "desktop.toml"
    return folder


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def make_window(qtbot, data_dir: Path) -> MainWindow:
    w = MainWindow(data_dir)
    qtbot.addWidget(w)
    w.show()
    return w


def invite_code(server, name: str, *extra: str) -> str:
    done = server.cli("users", "invite", name, "--address", f"127.0.0.1:{server.port}", *extra)
    assert done.returncode == 0, done.stderr
    return next(line for line in done.stdout.splitlines() if line.startswith("PT-"))


def finish(qtbot, w: MainWindow, data_dir: Path) -> dict[str, str]:
    settle(qtbot, w)
    assert w.current_page() is w.caseload
    w.lock()
    settle(qtbot, w)
    return server_settings(data_dir)


def test_a_code_and_a_password_connect_the_new_vault(qtbot, fast_kdf, data_dir, server, site_dir):
    w = make_window(qtbot, data_dir)
    messages: list[str] = []
    w.start.enrolled.connect(messages.append)
    set_up_vault(qtbot, w, with_server=True)
    page = w.start.enrol_page
    assert w.start.currentWidget() is page
    assert page.invite.hasFocus() and page.manual.isHidden()  # the code comes first
    code = invite_code(server, "ann")

    # a mistyped code: caught on the page, nothing sent
    # (one character of the secret changed: the checksum catches it; a change in the last
    # group can land on padding bits and another valid code)
    typo = code[:9] + ("2" if code[9] != "2" else "3") + code[10:]
    qtbot.keyClicks(page.invite, typo)
    qtbot.keyClick(page.invite, Qt.Key.Key_Return)
    assert page.password.hasFocus()
    qtbot.keyClicks(page.password, DEFAULT_PASSWORD)
    qtbot.keyClick(page.password, Qt.Key.Key_Return)
    assert not w.tasks.busy and "typing mistake" in page.error.text()

    # the right code, a wrong password: the password is cleared for another try
    page.invite.clear()
    qtbot.keyClicks(page.invite, code.lower())
    page.password.clear()
    qtbot.keyClicks(page.password, "not ann's password")
    click(qtbot, page.connect_button)
    settle(qtbot, w)
    assert "did not accept that password" in page.error.text()
    assert page.password.text() == "" and w.start.currentWidget() is page

    qtbot.keyClicks(page.password, DEFAULT_PASSWORD)
    qtbot.keyClick(page.password, Qt.Key.Key_Return)
    settle(qtbot, w)
    assert messages == ["This laptop is connected to your agency's server as ann."]
    settings = finish(qtbot, w, data_dir)
    assert settings["url"] == f"https://127.0.0.1:{server.port}"
    assert settings["fingerprint"] == server.fingerprint and settings["username"] == "ann"
    assert DEFAULT_PASSWORD not in str(settings)
    w.close()

    # the same code again on another new vault: used
    w2 = make_window(qtbot, data_dir.parent / "data2")
    set_up_vault(qtbot, w2, with_server=True)
    page = w2.start.enrol_page
    qtbot.keyClicks(page.invite, code)
    qtbot.keyClicks(page.password, DEFAULT_PASSWORD)
    click(qtbot, page.connect_button)
    settle(qtbot, w2)
    assert "used already" in page.error.text() and w2.session is None
    click(qtbot, page.skip_button)
    assert finish(qtbot, w2, data_dir.parent / "data2") == {}
    w2.close()


def test_the_machine_wide_file_presets_and_pins_the_server(
    qtbot, fast_kdf, data_dir, server, site_dir
):
    (site_dir / "desktop.toml").write_text(
        site_settings.file_text(f"127.0.0.1:{server.port}", server.fingerprint.lower())
    )
    w = make_window(qtbot, data_dir)
    set_up_vault(qtbot, w, with_server=True)
    page = w.start.enrol_page
    assert not page.manual.isHidden()
    assert page.server.text() == f"https://127.0.0.1:{server.port}" and page.server.isReadOnly()
    assert page.fingerprint.text() == server.fingerprint and page.fingerprint.isReadOnly()
    assert "set up this computer" in page.site_note.text()
    qtbot.keyClicks(page.server, "https://elsewhere.example")  # read-only: nothing changes
    assert page.server.text() == f"https://127.0.0.1:{server.port}"
    qtbot.keyClicks(page.username, "bob")
    qtbot.keyClicks(page.password, DEFAULT_PASSWORD)
    qtbot.keyClick(page.password, Qt.Key.Key_Return)
    settle(qtbot, w)
    settings = finish(qtbot, w, data_dir)
    assert settings["username"] == "bob" and settings["fingerprint"] == server.fingerprint
    w.close()


def test_a_pinned_laptop_refuses_another_servers_code(qtbot, fast_kdf, data_dir, server, site_dir):
    (site_dir / "desktop.toml").write_text(
        site_settings.file_text(f"127.0.0.1:{server.port}", "AB" * 32)
    )
    w = make_window(qtbot, data_dir)
    set_up_vault(qtbot, w, with_server=True)
    page = w.start.enrol_page
    qtbot.keyClicks(page.invite, invite_code(server, "cal"))
    qtbot.keyClicks(page.password, DEFAULT_PASSWORD)
    click(qtbot, page.connect_button)
    assert not w.tasks.busy and "different server" in page.error.text()
    # by hand too: the pinned fingerprint is not the server's
    page.invite.clear()
    qtbot.keyClicks(page.username, "cal")
    click(qtbot, page.connect_button)
    settle(qtbot, w)
    assert "certificate does not match" in page.error.text() and w.session is None
    w.close()


def test_an_invite_file_named_by_the_settings_is_read(qtbot, fast_kdf, data_dir, server, site_dir):
    invite_code(server, "cal", "--file", str(site_dir / "invite.txt"))
    (site_dir / "desktop.toml").write_text(
        site_settings.file_text(f"127.0.0.1:{server.port}", server.fingerprint, "invite.txt")
    )
    w = make_window(qtbot, data_dir)
    set_up_vault(qtbot, w, with_server=True)
    page = w.start.enrol_page
    assert page.invite.text().startswith("PT-")  # from the file: only the password to type
    qtbot.keyClicks(page.password, DEFAULT_PASSWORD)
    qtbot.keyClick(page.password, Qt.Key.Key_Return)
    settle(qtbot, w)
    assert finish(qtbot, w, data_dir)["username"] == "cal"
    w.close()


def test_without_a_code_the_address_can_be_typed(qtbot, fast_kdf, data_dir, server, site_dir):
    w = make_window(qtbot, data_dir)
    set_up_vault(qtbot, w, with_server=True)
    page = w.start.enrol_page
    click(qtbot, page.manual_button)
    assert not page.manual.isHidden() and page.server.hasFocus()
    assert not page.server.isReadOnly()
    qtbot.keyClicks(page.server, server.url)
    qtbot.keyClick(page.server, Qt.Key.Key_Return)
    qtbot.keyClicks(page.fingerprint, server.fingerprint)
    qtbot.keyClick(page.fingerprint, Qt.Key.Key_Return)
    qtbot.keyClicks(page.username, "ann")
    qtbot.keyClick(page.username, Qt.Key.Key_Return)
    qtbot.keyClicks(page.password, DEFAULT_PASSWORD)
    qtbot.keyClick(page.password, Qt.Key.Key_Return)
    settle(qtbot, w)
    assert finish(qtbot, w, data_dir)["username"] == "ann"
    w.close()


def test_preferences_enrol_an_existing_vault_with_a_code(
    qtbot, app_ctx, server, tmp_path, site_dir
):
    """An existing vault: the dialog says first what will stay on this laptop (the
    enrolment plan), then connects with only the code and the password."""
    from app.domain.records import Participant
    from app.ui.shell.preferences import PreferencesDialog
    from app.ui.shell.settings import Settings
    from app.ui.sync.controller import SyncController
    from tests.ui_support import ctx_repos
    from tests.ui_support import settle as settle_ctx

    ctx_repos(app_ctx).participants.add(
        Participant(first_name="Tovald", last_name="Rennick", assigned_specialist_id="someone-else")
    )
    c = SyncController(app_ctx, auto=False, retries=0)
    d = PreferencesDialog(Settings.at(str(tmp_path / "prefs.ini")), app_ctx, c)
    qtbot.addWidget(d)
    settle_ctx(qtbot, app_ctx)
    assert not d.not_sent_note.isHidden() and "will not be sent" in d.not_sent_note.text()
    assert "participants" in d.not_sent_note.text()
    assert not d.address.isReadOnly()  # no machine-wide file here
    qtbot.keyClicks(d.invite, invite_code(server, "ann"))
    d.password.setText("")
    d.connect_button.click()
    assert "password" in d.password_error.text()  # checked in place, nothing sent
    qtbot.keyClicks(d.password, DEFAULT_PASSWORD)
    with qtbot.waitSignal(c.enrolment_finished, timeout=60_000) as blk:
        d.connect_button.click()
    assert blk.args[0] is True, blk.args[1]
    assert "ann" in d.enrol_result.text() and d.enrol_form.isHidden()
    assert d.invite.text() == "" and d.password.text() == ""
    settle_ctx(qtbot, app_ctx)
    assert c.state.enrolled
    c.close()


def test_preferences_take_an_invite_file(qtbot, app_ctx, server, tmp_path, monkeypatch):
    """Preferences' "Open an invite file…": a file that is not an invite says so under
    the field; the file from ``users invite --file`` fills the code, and the laptop
    connects with only the password typed."""
    from PySide6.QtWidgets import QFileDialog

    from app.ui.shell.preferences import PreferencesDialog
    from app.ui.shell.settings import Settings
    from app.ui.sync.controller import SyncController
    from tests.ui_support import settle as settle_ctx

    c = SyncController(app_ctx, auto=False, retries=0)
    d = PreferencesDialog(Settings.at(str(tmp_path / "prefs.ini")), app_ctx, c)
    qtbot.addWidget(d)
    d.show()
    settle_ctx(qtbot, app_ctx)
    chosen: list[str] = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (chosen[-1], ""))
    not_invite = tmp_path / "notes.txt"
    not_invite.write_text("shopping list\n", encoding="utf-8")
    chosen.append(str(not_invite))
    qtbot.mouseClick(d.invite_file_button, Qt.MouseButton.LeftButton)
    assert d.invite.text() == "" and not d.invite_error.isHidden()
    assert "invite" in d.invite_error.text().lower()
    good = tmp_path / "invite.txt"
    invite_code(server, "ann", "--file", str(good))
    chosen.append(str(good))
    qtbot.mouseClick(d.invite_file_button, Qt.MouseButton.LeftButton)
    assert d.invite.text().startswith("PT-") and d.invite_error.isHidden()
    assert d.password.hasFocus()
    qtbot.keyClicks(d.password, DEFAULT_PASSWORD)
    with qtbot.waitSignal(c.enrolment_finished, timeout=60_000) as blk:
        qtbot.mouseClick(d.connect_button, Qt.MouseButton.LeftButton)
    assert blk.args[0] is True, blk.args[1]
    assert "ann" in d.enrol_result.text()
    c.close()
