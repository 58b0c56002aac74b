"""The supervisor's screens in the real window at 1000×700 on a real vault with the
demo team, driven by mouse and keys: the note under review gets most of the width
and is read whole without scrolling inside its box, the queue never scrolls
sideways, a wrong signing passphrase says so in plain words, and "Save session"
is on screen without scrolling."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.demo_team import fill_demo_team
from app.domain import datetext
from app.domain.records import Role
from app.store.repositories import Repositories
from app.ui.shell.app import load_style_sheet
from app.ui.shell.app import make_application
from app.ui.shell.main_window import MainWindow
from app.ui.shell.theme import apply_theme
from tests.helpers import new_vault
from tests.ui_support import settle
from tests.ui_support import unlock

TODAY = date(2026, 3, 18)


@pytest.fixture
def data_dir(tmp_path: Path, fast_kdf) -> Path:
    folder = tmp_path / "data"
    with new_vault(folder) as store:
        repos = Repositories(store)
        me = repos.users.require(store.user_id)
        repos.users.update(dataclasses.replace(me, role=Role.SUPERVISOR))
        fill_demo_team(store, specialists=3, participants=6, today=TODAY)
    return folder


@pytest.fixture
def styled(qtbot):
    """The app's own look (fonts, paddings), as a person sees it; put back after."""
    app = QApplication.instance()
    before = (app.styleSheet(), app.style().name(), app.palette(), app.font())
    locale = datetext.current_locale()
    app = make_application([])
    apply_theme(app, load_style_sheet(), dark=False)
    yield app
    # Exactly as it was (make_application also sets the style, palette and locale).
    sheet, style, palette, font = before
    app.setStyleSheet(sheet)
    app.setStyle(style)
    app.setPalette(palette)
    app.setFont(font)
    datetext.set_locale(str(locale))


@pytest.fixture
def window(qtbot, make_window, data_dir, styled):
    w = make_window(data_dir, (1000, 700))
    unlock(qtbot, w)
    return w


def go(qtbot, w: MainWindow, label: str):
    nav = w.workspace.nav
    row = next(r for r in range(nav.count()) if nav.item(r).text() == label)
    qtbot.mouseClick(
        nav.viewport(), Qt.MouseButton.LeftButton, pos=nav.visualItemRect(nav.item(row)).center()
    )
    settle(qtbot, w)
    return w.current_page()


def test_the_note_under_review_is_wide_and_read_without_scrolling(qtbot, window):
    page = go(qtbot, window, "Review")
    assert window.workspace.current_key() == "review"
    qtbot.waitUntil(lambda: page.proxy.rowCount() > 0, timeout=10_000)
    table = page.table
    qtbot.mouseClick(
        table.viewport(),
        Qt.MouseButton.LeftButton,
        pos=table.visualRect(page.proxy.index(0, 0)).center(),
    )
    settle(qtbot, window)
    assert page.current is not None
    reader = page.reader
    # most of the width for the note, and the queue does not scroll sideways
    assert reader.width() >= 0.55 * page.splitter.width()
    assert not table.horizontalScrollBar().isVisible()
    # the whole note (service, goals, GIRP) is in view: no scrolling inside the box
    qtbot.waitUntil(lambda: reader.document().size().height() > 50)
    assert reader.verticalScrollBar().maximum() == 0, (
        reader.document().size().height(),
        reader.viewport().height(),
    )
    text = reader.toPlainText()
    assert "Goal." in text and "Plan." in text
    # the actions are on screen, inside the window
    bottom = page.approve_button.mapTo(window, page.approve_button.rect().bottomRight())
    assert bottom.y() <= window.height() and bottom.x() <= window.width()


def test_a_wrong_approval_passphrase_says_so_plainly(qtbot, window):
    page = go(qtbot, window, "Review")
    qtbot.waitUntil(lambda: page.proxy.rowCount() > 0, timeout=10_000)
    page.table.setFocus()
    qtbot.mouseClick(
        page.table.viewport(),
        Qt.MouseButton.LeftButton,
        pos=page.table.visualRect(page.proxy.index(0, 0)).center(),
    )
    settle(qtbot, window)
    qtbot.mouseClick(page.approve_button, Qt.MouseButton.LeftButton)
    dialog = page.dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.keyClicks(dialog.passphrase, "not my passphrase at all")
    qtbot.keyClick(dialog.passphrase, Qt.Key.Key_Return)
    settle(qtbot, window)
    assert page.result_label.isVisible()
    assert (
        page.result_label.text() == "That passphrase is not right. Nothing was signed; try again."
    )
    assert "unlock" not in page.result_label.text()


def test_save_session_is_visible_without_scrolling(qtbot, window):
    page = go(qtbot, window, "Supervision")
    assert window.workspace.current_key() == "supervision"
    qtbot.keyClick(page, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)  # New session
    settle(qtbot, window)
    save = page.save_button
    assert save.isVisible() and save.isEnabled()
    # on screen: inside the window, and not inside the scrolled part of the form
    corner = save.mapTo(window, save.rect().bottomRight())
    assert 0 < corner.y() <= window.height() and corner.x() <= window.width()
    assert not page.form_scroll.isAncestorOf(save)
    # and it works from there: a click with nothing chosen says what is missing
    qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
    settle(qtbot, window)
    shown = [k for k, label in page.errors.items() if label.isVisible()]
    assert "specialist_ids" in shown


def test_a_signed_session_looks_read_only(qtbot, window):
    page = go(qtbot, window, "Supervision")
    qtbot.waitUntil(lambda: page.model.rowCount() > 0, timeout=10_000)
    signed = next(
        r for r in range(page.model.rowCount()) if page.model.row_at(r).session.supervisor_signed_at
    )
    qtbot.mouseClick(
        page.table.viewport(),
        Qt.MouseButton.LeftButton,
        pos=page.table.visualRect(page.model.index(signed, 0)).center(),
    )
    settle(qtbot, window)
    assert not page.format.isEnabled() and not page.actions.isEnabled()
    locked = {w: w.grab().toImage() for w in (page.format, page.actions, page.minutes)}
    qtbot.mouseClick(page.new_button, Qt.MouseButton.LeftButton)
    settle(qtbot, window)
    assert page.format.isEnabled()
    for widget, image in locked.items():
        open_image = widget.grab().toImage()
        x, y = image.width() // 2, 3  # inside the border, above the text
        grey, white = image.pixelColor(x, y), open_image.pixelColor(x, y)
        assert white.lightnessF() - grey.lightnessF() > 0.04, (widget, grey.name(), white.name())
