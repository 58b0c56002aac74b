"""What a new specialist reaches for on day one, driven with real key and mouse
events on the real window and a real vault: the calendar on a record form's date
box, Help (the guide and the shortcuts), "New note" from a caseload row (menu and
Ctrl+Shift+N) and from a search result, Tab leaving a table, and no "Conflicts"
on a laptop that never connected to a server."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtCore import QTimer
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QMenu
from PySide6.QtWidgets import QTableView

from app.ui.caseload import models as cl
from app.ui.common.date_picker import DateLineEdit
from app.ui.common.forms import date_edit
from app.ui.shell import help as helpmod
from app.ui.shell.main_window import MainWindow
from tests.helpers import person
from tests.helpers import vault_of_people
from tests.ui_support import settle
from tests.ui_support import unlock as unlock_window

ROOT = Path(__file__).resolve().parent.parent

PEOPLE = [person("Odalys", "Fennimore"), person("Casimir", "Brightwater", "Ward")]


@pytest.fixture
def data_dir(tmp_path: Path, fast_kdf) -> Path:
    return vault_of_people(tmp_path / "data", PEOPLE)


@pytest.fixture
def window(make_window, data_dir):
    return make_window(data_dir, (1000, 700))


def unlock(qtbot, w: MainWindow) -> None:
    unlock_window(qtbot, w)
    assert w.current_page() is w.caseload
    qtbot.waitUntil(lambda: w.caseload.proxy.rowCount() == len(PEOPLE), timeout=10_000)


def row_of(w: MainWindow, first_name: str) -> int:
    proxy = w.caseload.proxy
    for r in range(proxy.rowCount()):
        if first_name in str(proxy.index(r, 0).data()):
            return r
    raise AssertionError(first_name)


def choose_in_menu(qtbot, text: str) -> list[str]:
    """When the next popup menu opens, click its item ``text``; returns the items seen."""
    seen: list[str] = []

    def pick() -> None:
        menu = QApplication.activePopupWidget()
        if not isinstance(menu, QMenu):
            QTimer.singleShot(10, pick)
            return
        seen.extend(a.text() for a in menu.actions())
        action = next(a for a in menu.actions() if a.text() == text)
        qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())

    QTimer.singleShot(0, pick)
    return seen


# -- the date picker ------------------------------------------------------------------


def test_every_record_form_date_box_has_a_calendar(qtbot):
    edit = date_edit("Date of birth")
    assert isinstance(edit, DateLineEdit)
    qtbot.addWidget(edit)
    edit.show()
    # typing still works as it did
    qtbot.keyClicks(edit, "3/9/2024")
    assert edit.text() == "3/9/2024" and edit.typed_date() == date(2024, 3, 9)
    # the calendar button opens the calendar on the date typed; a click on a day sets it
    button = edit.picker_button()
    assert button is not None and button.isVisible()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    popup = edit.popup
    assert popup is not None
    qtbot.waitUntil(popup.isVisible)
    cal = popup.calendar
    assert cal.selectedDate().toPython() == date(2024, 3, 9)
    # keyboard in the calendar: Right moves a day, Enter picks it and closes the popup
    qtbot.keyClick(cal.focusWidget() or cal, Qt.Key.Key_Right)
    qtbot.keyClick(cal.focusWidget() or cal, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not popup.isVisible())
    assert edit.text() == "2024-03-10"


def test_alt_down_opens_the_calendar_on_today_when_the_box_is_empty(qtbot):
    edit = date_edit("Target date")
    qtbot.addWidget(edit)
    edit.show()
    edit.setFocus()
    qtbot.keyClick(edit, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    assert edit.popup is not None and edit.popup.isVisible()
    assert edit.popup.calendar.selectedDate().toPython() == date.today()
    qtbot.keyClick(edit.popup.calendar.focusWidget(), Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not edit.popup.isVisible())
    assert edit.text() == ""  # Esc picks nothing


def test_the_participant_form_dates_have_the_calendar(qtbot, window):
    unlock(qtbot, window)
    qtbot.keyClick(window.caseload.table, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    form = window.caseload._dialogs[-1]
    for name in ("date_of_birth", "intake_date", "discharge_date"):
        assert isinstance(form.fields[name].widget, DateLineEdit), name
    form.reject()


# -- help -----------------------------------------------------------------------------


def test_the_shipped_guide_is_the_guide_in_docs():
    shipped = ROOT / "resources" / "help" / "USER_GUIDE.md"
    assert shipped.read_text() == (ROOT / "docs" / "USER_GUIDE.md").read_text(), (
        "copy docs/USER_GUIDE.md to resources/help/USER_GUIDE.md"
    )


def test_help_opens_the_guide_with_f1_and_the_shortcuts_from_the_menu(qtbot, window):
    qtbot.keyClick(window, Qt.Key.Key_F1)  # works on the locked start screen too
    guide = window.guide_window
    assert guide is not None
    qtbot.waitUntil(guide.isVisible)
    text = guide.browser.toPlainText()
    assert "The day of a specialist" in text and "Keyboard shortcuts" in text
    assert "![" not in text  # pictures not shipped become their captions
    assert guide.show_section("the-supervisors-day")
    assert guide.browser.verticalScrollBar().value() > 0
    # the Help menu, opened with the mouse, lists both
    assert window.help_menu.title() == "&Help"
    titles = [a.text() for a in window.help_menu.actions()]
    assert titles == ["PeerTrail &user guide", "&Keyboard shortcuts"]
    qtbot.keyClick(window, Qt.Key.Key_Slash, Qt.KeyboardModifier.ControlModifier)
    dialog = window.shortcuts_window
    assert dialog is not None and dialog.isVisible()
    keys = [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())]
    assert "Ctrl+F" in keys and "Ctrl+Shift+N" in keys and "F1" in keys


def test_shortcuts_are_read_from_the_guide_table():
    md = "## Other\n| Keys | x |\n| A | no |\n## Keyboard shortcuts\n\n| Keys | What |\n"
    md += "| --- | --- |\n| Ctrl+F | Search |\n| F5 | Sync now |\n\n## Next\n| B | no |\n"
    assert helpmod.shortcuts(md) == [("Ctrl+F", "Search"), ("F5", "Sync now")]
    assert helpmod.slug("The supervisor's day") == "the-supervisors-day"


# -- new note from the caseload and from search ----------------------------------------


def test_new_note_from_a_caseload_row_by_menu_and_by_shortcut(qtbot, window):
    unlock(qtbot, window)
    table = window.caseload.table
    ctx = window.ctx
    r = row_of(window, "Casimir")
    rect = table.visualRect(window.caseload.proxy.index(r, 0))
    seen = choose_in_menu(qtbot, "New note")
    with qtbot.waitSignal(ctx.open_note, timeout=5_000) as got:
        QApplication.sendEvent(
            table.viewport(),
            QContextMenuEvent(
                QContextMenuEvent.Reason.Mouse,
                rect.center(),
                table.viewport().mapToGlobal(rect.center()),
            ),
        )
    assert seen == ["Open record", "New note"]
    pid = got.args[1]
    assert got.args[0] == ""  # a new note
    assert window.workspace.current_key() == "note"
    settle(qtbot, window)
    # back to the caseload; Ctrl+Shift+N on the other row
    window.workspace.show_page("caseload")
    window.activateWindow()  # (the offscreen platform leaves the closed menu active)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    o = row_of(window, "Odalys")
    table.setFocus()
    qtbot.mouseClick(
        table.viewport(),
        Qt.MouseButton.LeftButton,
        pos=table.visualRect(window.caseload.proxy.index(o, 0)).center(),
    )
    mods = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    with qtbot.waitSignal(ctx.open_note, timeout=5_000) as got2:
        qtbot.keyClick(table, Qt.Key.Key_N, mods)
    assert got2.args[0] == "" and got2.args[1] not in ("", pid)
    assert window.workspace.current_key() == "note"
    settle(qtbot, window)


def test_new_note_from_a_search_result(qtbot, window):
    unlock(qtbot, window)
    ctx = window.ctx
    box = window.search.box
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    with qtbot.waitSignal(box.results_shown, timeout=10_000):
        qtbot.keyClicks(box.edit, "fennim")
    qtbot.keyClick(box.edit, Qt.Key.Key_Down)
    mods = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    with qtbot.waitSignal(ctx.open_note, timeout=5_000) as got:
        qtbot.keyClick(box.edit, Qt.Key.Key_N, mods)
    hit = box.model.hit(box.model.first_hit_row())
    assert got.args == ["", hit.participant_id]
    assert window.workspace.current_key() == "note"
    settle(qtbot, window)
    # the right-click menu on a result offers the same
    menu = box.row_menu(box.model.first_hit_row())
    assert [a.text() for a in menu.actions()] == ["Open record", "New note for this person"]


# -- tables and navigation -----------------------------------------------------------


def test_tab_leaves_a_table(qtbot, window):
    unlock(qtbot, window)
    table = window.caseload.table
    table.setFocus()
    qtbot.mouseClick(
        table.viewport(),
        Qt.MouseButton.LeftButton,
        pos=table.visualRect(table.model().index(0, 0)).center(),
    )
    assert table.hasFocus()
    qtbot.keyClick(table, Qt.Key.Key_Tab)
    assert not table.hasFocus()
    for t in window.findChildren(QTableView):
        assert not t.tabKeyNavigation(), t.objectName()


def test_conflicts_are_not_offered_before_the_laptop_ever_connected(qtbot, window):
    unlock(qtbot, window)
    ws = window.workspace
    settle(qtbot, window)
    assert not ws.in_nav("conflicts")
    labels = [ws.nav.item(r).text() for r in range(ws.nav.count()) if not ws.nav.item(r).isHidden()]
    assert "Conflicts" not in labels and "Caseload" in labels
    # once the laptop has a server, the page is offered
    from app.ui.sync.sync_state import SyncState

    window.sync_controller.state_changed.emit(SyncState(enrolled=True))
    assert ws.in_nav("conflicts")


def test_a_larger_text_size_cuts_no_text_where_there_is_room(qtbot, window):
    """At 16 pt (Preferences → Text size) the navigation and the caseload's columns
    are measured again: "Supervision" is whole, and no column is cut short while the
    table has room to spare."""
    from app.ui.shell.settings import BASE_FONT_PT
    from app.ui.shell.settings import apply_font_size

    unlock(qtbot, window)
    app = QApplication.instance()
    # Put back exactly what was there (the tests after this one run at the font and
    # sheet they expect, not at the base text size of Preferences).
    font, sheet, base = app.font(), app.styleSheet(), app.property("peertrail_base_sheet")
    try:
        nav = window.workspace.nav
        before = nav.fontMetrics().horizontalAdvance("Supervision")
        apply_font_size(app, 16)

        def nav_fits() -> bool:
            fm = nav.fontMetrics()
            if fm.horizontalAdvance("Supervision") < before * 1.3:
                return False  # the larger font is not in place yet
            room = nav.viewport().width() - 2 * 12  # the items' padding in the sheet
            shown = [nav.item(r) for r in range(nav.count()) if not nav.item(r).isHidden()]
            return all(fm.horizontalAdvance(i.text()) <= room for i in shown)

        qtbot.waitUntil(nav_fits, timeout=3_000)
        table = window.caseload.table

        def whole() -> bool:
            """No column's text is cut while another column is wider than it needs."""
            fm, model = table.fontMetrics(), table.model()
            if fm.horizontalAdvance("Supervision") < before * 1.3:
                return False
            cut, spare = False, False
            for c in range(model.columnCount()):
                if table.isColumnHidden(c) or c == cl.COL_ATTENTION:
                    continue
                texts = [str(model.index(r, c).data() or "") for r in range(model.rowCount())]
                need = max(fm.horizontalAdvance(t) for t in texts) + 16
                cut = cut or need > table.columnWidth(c)
                head = fm.horizontalAdvance(str(model.headerData(c, Qt.Orientation.Horizontal)))
                spare = spare or table.columnWidth(c) > max(need, head + 16 + fm.height()) + 40
            return not (cut and spare)

        qtbot.waitUntil(whole, timeout=3_000)
    finally:
        apply_font_size(app, BASE_FONT_PT)
        app.setFont(font)
        app.setStyleSheet(sheet)
        app.setProperty("peertrail_base_sheet", base)
