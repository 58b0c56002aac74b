"""The first-start welcome and enrolment with the agency's server, against a real
vault, the real database thread, a real (offscreen) Qt event loop and the real
sync server on 127.0.0.1."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.store.replica import StoreReplica
from app.store.vault import Vault
from app.ui.shell.main_window import MainWindow
from app.ui.start.welcome import WELCOME_POINTS
from tests.conftest import PASSPHRASE
from tests.helpers import opened_vault
from tests.server_proc import DEFAULT_PASSWORD
from tests.server_proc import specialists_server
from tests.ui_support import settle as wait

NEW_PASSPHRASE = "prairie wind over the coulee"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with specialists_server(tmp_path_factory.mktemp("welcome-server"), "ann") as s:
        yield s


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def window(make_window, data_dir):
    return make_window(data_dir)


def settle(qtbot, w: MainWindow) -> None:
    wait(qtbot, w, 20_000)


def click(qtbot, button) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def set_up_vault(qtbot, w: MainWindow, with_server: bool) -> None:
    """Welcome -> create -> recovery key, as a person would."""
    welcome = w.start.welcome_page
    welcome.server_check.setChecked(with_server)
    click(qtbot, welcome.start_button)
    create = w.start.create_page
    create.passphrase.setText(NEW_PASSPHRASE)
    create.confirm.setText(NEW_PASSPHRASE)
    click(qtbot, create.submit_button)
    settle(qtbot, w)
    key_page = w.start.recovery_page
    assert w.start.currentWidget() is key_page
    key_page.confirm_check.setChecked(True)
    click(qtbot, key_page.continue_button)
    settle(qtbot, w)


def server_settings(data_dir: Path) -> dict[str, str]:
    with opened_vault(data_dir, NEW_PASSPHRASE) as store:
        return StoreReplica(store).server()


def test_first_start_explains_the_passphrase_and_recovery_key(window):
    page = window.start.welcome_page
    assert window.start.currentWidget() is page
    shown = " ".join(lab.text() for lab in page.findChildren(type(page.title)))
    for title, text in WELCOME_POINTS:
        assert title in shown and text in shown
    assert "passphrase" in shown and "recovery key" in shown and "only way back" in shown
    assert page.demo_button.isVisible() and page.start_button.isVisible()
    assert not page.server_check.isChecked()  # connecting is opt-in


def test_the_welcome_is_not_shown_when_a_vault_exists(qtbot, fast_kdf, data_dir):
    Vault(data_dir).create(PASSPHRASE)
    w = MainWindow(data_dir)
    qtbot.addWidget(w)
    assert w.start.currentWidget() is w.start.unlock_page
    w.close()


def test_the_demo_can_be_tried_from_the_welcome(qtbot, window, data_dir, monkeypatch):
    fills: list[int] = []
    demo = types.ModuleType("app.demo")
    demo.fill_demo = lambda store, participants, **kw: fills.append(participants)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "app.demo", demo)
    click(qtbot, window.start.welcome_page.demo_button)
    settle(qtbot, window)
    assert fills == [40]
    assert window.session is not None and window.session.demo
    assert not data_dir.exists()  # no real vault was made


def caseload_then_locked_without_a_server(qtbot, window, data_dir) -> None:
    """The new vault's caseload is shown; locked, the vault names no server."""
    settle(qtbot, window)
    assert window.current_page() is window.caseload
    assert window.session is not None and not window.session.demo
    window.lock()
    settle(qtbot, window)
    assert server_settings(data_dir) == {}


def test_setting_up_without_a_server_opens_the_caseload(qtbot, window, data_dir):
    set_up_vault(qtbot, window, with_server=False)
    caseload_then_locked_without_a_server(qtbot, window, data_dir)


def test_enrolment_can_be_skipped(qtbot, window, data_dir):
    set_up_vault(qtbot, window, with_server=True)
    page = window.start.enrol_page
    assert window.start.currentWidget() is page
    assert window.session is None  # nothing shown before this step is done or skipped
    click(qtbot, page.skip_button)
    caseload_then_locked_without_a_server(qtbot, window, data_dir)


def test_bad_enrolment_input_is_explained_and_nothing_is_sent(qtbot, window, data_dir):
    set_up_vault(qtbot, window, with_server=True)
    page = window.start.enrol_page
    cases = [
        ("", "", "ann", "pw", "server address"),
        ("http://peertrail.example.org", "", "ann", "pw", "https://"),
        ("https://127.0.0.1:1", "AB:CD", "ann", "pw", "64 letters and digits"),
        ("https://127.0.0.1:1", "", "", "pw", "user name"),
        ("https://127.0.0.1:1", "", "ann", "", "password"),
    ]
    for server, fingerprint, user, password, expected in cases:
        page.server.setText(server)
        page.fingerprint.setText(fingerprint)
        page.username.setText(user)
        page.password.setText(password)
        click(qtbot, page.connect_button)
        assert not window.tasks.busy  # refused before anything ran
        assert not page.error.isHidden() and expected in page.error.text(), page.error.text()
        assert window.start.currentWidget() is page


def test_enrolment_failures_keep_the_page_and_change_nothing(qtbot, window, data_dir, server):
    set_up_vault(qtbot, window, with_server=True)
    page = window.start.enrol_page

    def attempt(url: str, fingerprint: str, password: str) -> str:
        page.server.setText(url)
        page.fingerprint.setText(fingerprint)
        page.username.setText("ann")
        page.password.setText(password)
        click(qtbot, page.connect_button)
        settle(qtbot, window)
        assert window.start.currentWidget() is page and window.session is None
        return page.error.text()

    wrong_pw = attempt(server.url, server.fingerprint, "not the password at all")
    assert wrong_pw and "password" not in page.password.text()
    assert page.password.text() == ""  # cleared for another try
    wrong_pin = attempt(server.url, ":".join(["AB"] * 32), DEFAULT_PASSWORD)
    assert "certificate does not match" in wrong_pin
    unreachable = attempt("https://127.0.0.1:1", server.fingerprint, DEFAULT_PASSWORD)
    assert "cannot be reached" in unreachable
    click(qtbot, page.skip_button)
    window.lock()
    settle(qtbot, window)
    assert server_settings(data_dir) == {}


def test_enrolment_connects_the_new_vault(qtbot, window, data_dir, server):
    messages: list[str] = []
    window.start.enrolled.connect(messages.append)
    set_up_vault(qtbot, window, with_server=True)
    page = window.start.enrol_page
    page.server.setText(server.url)
    page.fingerprint.setText(server.fingerprint.replace(":", " ").lower())  # any spacing or case
    page.username.setText("ann")
    page.password.setText(DEFAULT_PASSWORD)
    qtbot.keyClick(page.password, Qt.Key.Key_Return)
    settle(qtbot, window)
    assert window.current_page() is window.caseload
    assert messages == ["This laptop is connected to your agency's server as ann."]
    assert page.password.text() == ""  # not kept on the page
    window.lock()
    settle(qtbot, window)
    settings = server_settings(data_dir)
    assert settings["url"] == server.url
    assert settings["fingerprint"] == server.fingerprint
    assert settings["username"] == "ann" and settings["role"] == "specialist"
    assert settings["token"]
    assert DEFAULT_PASSWORD not in str(settings)
    devices = server.cli("devices", "list")
    assert "ann" in devices.stdout
