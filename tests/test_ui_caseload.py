"""The caseload: the table model without widgets, then the main window with a real
vault: rows appear after unlocking, the filter, Ctrl+L locking, and window titles
that never name a person."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.domain.records import ParticipantStatus
from app.ui.caseload import models as cl
from app.ui.shell import main_window as mw
from app.ui.shell.main_window import TITLE
from app.ui.shell.main_window import MainWindow
from tests.conftest import PASSPHRASE
from tests.helpers import person
from tests.helpers import vault_of_people
from tests.ui_support import settle
from tests.ui_support import unlock as unlock_window

PEOPLE = [
    person(
        "Theodora",
        "Quillfeather",
        preferred_name="Teddy",
        medicaid_id="ND1234567",
        intake_date=date(2024, 3, 4),
    ),
    person(
        "marcus",
        "abernathy",
        "Clay",
        "MN",
        program="SUD Voucher",
        status=ParticipantStatus.REFERRED,
    ),
    person(
        "Ruth",
        "Moberg",
        "Polk",
        "MN",
        status=ParticipantStatus.DISCHARGED,
        medicaid_id="MN7654321",
        intake_date=date(2022, 11, 30),
    ),
]


def cell(model, row: int, col: int, role=Qt.ItemDataRole.DisplayRole):
    return model.data(model.index(row, col), role)


def column(model, col: int) -> list[str]:
    return [cell(model, r, col) for r in range(model.rowCount())]


# -- the model, no widgets -----------------------------------------------------------


def test_model_rows_and_cells():
    model = cl.CaseloadModel()
    assert model.rowCount() == 0
    assert model.columnCount() == cl.COLUMN_COUNT
    model.set_rows(PEOPLE)
    assert model.rowCount() == 3
    assert model.rowCount(model.index(0, 0)) == 0  # a table, not a tree
    assert cell(model, 0, cl.COL_NAME) == "Teddy Quillfeather"  # preferred name first
    assert cell(model, 1, cl.COL_NAME) == "marcus abernathy"
    assert cell(model, 0, cl.COL_STATUS) == "Active"
    assert cell(model, 2, cl.COL_STATUS) == "Discharged"
    assert cell(model, 0, cl.COL_PROGRAM) == "1915(i)"
    assert cell(model, 1, cl.COL_COUNTY) == "Clay, MN"
    assert cell(model, 0, cl.COL_MEDICAID) == "On file"
    assert cell(model, 1, cl.COL_MEDICAID) == "Missing"
    assert "cannot be billed" in cell(model, 1, cl.COL_MEDICAID, Qt.ItemDataRole.ToolTipRole)
    assert cell(model, 0, cl.COL_MEDICAID, Qt.ItemDataRole.ToolTipRole) is None
    assert cell(model, 0, cl.COL_INTAKE) == "Mar 4, 2024"
    assert cell(model, 1, cl.COL_INTAKE) == ""
    assert cell(model, 0, cl.COL_NAME, cl.ID_ROLE) == PEOPLE[0].id
    assert model.data(QModelIndex()) is None
    assert model.data(model.index(0, 0), Qt.ItemDataRole.DecorationRole) is None
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers == list(cl.CaseloadModel.HEADERS)
    # The Medicaid ID itself is never shown in the list.
    for r in range(3):
        for c in range(cl.COLUMN_COUNT):
            assert "1234567" not in (cell(model, r, c) or "")


def test_set_rows_resets_the_model():
    model = cl.CaseloadModel()
    resets: list[str] = []
    model.modelAboutToBeReset.connect(lambda: resets.append("begin"))
    model.modelReset.connect(lambda: resets.append("end"))
    model.set_rows(PEOPLE)
    model.clear()
    assert resets == ["begin", "end", "begin", "end"]
    assert model.rowCount() == 0


def test_sorting_by_name_status_and_intake():
    model = cl.CaseloadModel()
    model.set_rows(PEOPLE)
    proxy = cl.CaseloadFilter()
    proxy.setSourceModel(model)

    proxy.sort(cl.COL_NAME, Qt.SortOrder.AscendingOrder)
    # By last name, case-insensitive, whatever name is shown first.
    assert column(proxy, cl.COL_NAME) == [
        "marcus abernathy",
        "Ruth Moberg",
        "Teddy Quillfeather",
    ]
    proxy.sort(cl.COL_NAME, Qt.SortOrder.DescendingOrder)
    assert column(proxy, cl.COL_NAME)[0] == "Teddy Quillfeather"

    proxy.sort(cl.COL_STATUS, Qt.SortOrder.AscendingOrder)
    assert column(proxy, cl.COL_STATUS) == ["Referred", "Active", "Discharged"]

    proxy.sort(cl.COL_INTAKE, Qt.SortOrder.AscendingOrder)
    assert column(proxy, cl.COL_INTAKE) == ["", "Nov 30, 2022", "Mar 4, 2024"]


def test_filter_matches_every_word_in_name_program_county_or_status():
    model = cl.CaseloadModel()
    model.set_rows(PEOPLE)
    proxy = cl.CaseloadFilter()
    proxy.setSourceModel(model)
    proxy.sort(cl.COL_NAME)

    proxy.set_text("1915")
    assert column(proxy, cl.COL_NAME) == ["Ruth Moberg", "Teddy Quillfeather"]
    proxy.set_text("1915 polk")
    assert column(proxy, cl.COL_NAME) == ["Ruth Moberg"]
    proxy.set_text("THEODORA")  # the legal first name finds the person shown as Teddy
    assert column(proxy, cl.COL_NAME) == ["Teddy Quillfeather"]
    proxy.set_text("referred")
    assert column(proxy, cl.COL_NAME) == ["marcus abernathy"]
    proxy.set_text("nobody like this")
    assert proxy.rowCount() == 0
    proxy.set_text("  ")
    assert proxy.rowCount() == 3


# -- the window ---------------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path, fast_kdf) -> Path:
    return vault_of_people(tmp_path / "data", PEOPLE)


@pytest.fixture
def window(make_window, data_dir):
    return make_window(data_dir)


def unlock(qtbot, w: MainWindow) -> None:
    unlock_window(qtbot, w)
    assert w.current_page() is w.caseload


def visible_texts(w: MainWindow) -> str:
    """Every text a person could see in the window's widgets."""
    from PySide6.QtWidgets import QAbstractButton
    from PySide6.QtWidgets import QLabel
    from PySide6.QtWidgets import QLineEdit

    texts = [w.windowTitle()]
    for widget in w.findChildren(QLabel) + w.findChildren(QAbstractButton):
        if widget.isVisible():
            texts.append(widget.text())
    for edit in w.findChildren(QLineEdit):
        if edit.isVisible():
            texts.append(edit.text())
    return "\n".join(texts)


def test_caseload_is_read_on_the_database_thread(qtbot, window, monkeypatch):
    threads: list[str] = []
    real = mw.load_caseload

    def spy(session):
        threads.append(threading.current_thread().name)
        return real(session)

    monkeypatch.setattr(mw, "load_caseload", spy)
    unlock(qtbot, window)
    assert threads and threads[0].startswith("peertrail-db")
    assert window.model.rowCount() == 3
    assert window.caseload.table.isVisible()
    assert "3 participants" in window.count_label.text()
    assert window.vault_label.text() == "Your vault"


def test_filter_box_narrows_the_table(qtbot, window):
    unlock(qtbot, window)
    qtbot.keyClicks(window.caseload.filter_edit, "mn")
    assert window.caseload.proxy.rowCount() == 2
    assert window.caseload.count_label.text() == "Showing 2 of 3 participants"
    window.caseload.filter_edit.clear()
    assert window.caseload.proxy.rowCount() == 3


def test_ctrl_l_locks_and_hides_every_record(qtbot, window):
    unlock(qtbot, window)
    session = window.session
    assert window.model.rowCount() == 3
    window.caseload.filter_edit.setText("Quill")

    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert window.session is None
    assert window.model.rowCount() == 0  # emptied at once, before the worker runs
    assert window.pages.currentWidget() is window.start
    settle(qtbot, window)

    assert session is not None and session.closed
    assert not session.vault.unlocked
    texts = visible_texts(window)
    for p in PEOPLE:
        assert p.last_name not in texts
        assert p.first_name not in texts
    assert window.caseload.filter_edit.text() == ""
    assert window.vault_label.text() == "Locked"
    assert not window.lock_action.isEnabled()

    unlock(qtbot, window)  # and back again
    assert window.model.rowCount() == 3


def test_rows_read_before_a_lock_are_never_shown_after_it(qtbot, window, monkeypatch):
    gate = threading.Event()
    real = mw.load_caseload

    def slow(session):
        gate.wait(5)
        return real(session)

    monkeypatch.setattr(mw, "load_caseload", slow)
    window.start.unlock_page.passphrase.setText(PASSPHRASE)
    qtbot.mouseClick(window.start.unlock_page.submit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.session is not None, timeout=10_000)
    window.lock()  # while the caseload is still being read
    gate.set()
    settle(qtbot, window)
    assert window.model.rowCount() == 0
    assert window.pages.currentWidget() is window.start


def test_window_title_never_names_a_participant(qtbot, window):
    titles = [window.windowTitle()]
    window.windowTitleChanged.connect(titles.append)
    unlock(qtbot, window)
    window.caseload.table.selectRow(0)
    window.caseload.filter_edit.setText("Teddy")
    window.lock()
    settle(qtbot, window)
    assert set(titles) == {TITLE}
    for p in PEOPLE:
        for part in (p.first_name, p.last_name, p.preferred_name):
            if part:
                assert all(part.casefold() not in t.casefold() for t in titles)


def test_closing_the_window_closes_the_store(qtbot, data_dir):
    w = MainWindow(data_dir)
    qtbot.addWidget(w)
    w.show()
    unlock(qtbot, w)
    session = w.session
    w.close()
    assert session is not None and session.closed
    assert not session.vault.unlocked


def test_unlock_returns_to_the_record_the_person_had_open(qtbot, window):
    unlock(qtbot, window)
    table = window.caseload.table
    index = window.caseload.proxy.index(1, 0)
    table.setCurrentIndex(index)
    with qtbot.waitSignal(window.workspace.pages["participant"].loaded, timeout=10_000) as seen:
        table.activated.emit(index)
    opened = seen.args[0]
    window.workspace.pages["participant"].tabs.setCurrentIndex(2)
    settle(qtbot, window)
    window.lock()
    settle(qtbot, window)
    assert window.workspace is None
    assert window.pages.currentWidget() is window.start
    unlock_window(qtbot, window)
    page = window.workspace.pages["participant"]
    assert page.record is not None and page.record.participant.id == opened
    assert window.current_page() is page
    assert page.tabs.currentIndex() == 2


def test_ctrl_f_searches_and_a_result_opens_the_record(qtbot, window):
    unlock(qtbot, window)
    assert window.find_action.isEnabled()
    window.activateWindow()
    window.find_action.trigger()
    edit = window.search.box.edit
    qtbot.waitUntil(edit.hasFocus, timeout=5_000)
    with qtbot.waitSignal(window.search.box.results_shown, timeout=10_000):
        qtbot.keyClicks(edit, "Quill")
    qtbot.waitUntil(lambda: window.search.box.shown_text == "Quill", timeout=10_000)
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    page = window.workspace.pages["participant"]
    qtbot.waitUntil(lambda: window.current_page() is page, timeout=10_000)
    settle(qtbot, window)
    assert page.record is not None and page.record.participant.last_name == "Quillfeather"
    window.lock()
    settle(qtbot, window)
    assert window.search is None and not window.find_action.isEnabled()
