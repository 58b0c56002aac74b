"""The screens fit a modest laptop: at the default window size (1000x700) and at the
smallest one (720x560) no page scrolls sideways, whatever the demo caseload holds;
table columns fit their tables (app.ui.common.columns); what the code paints itself
follows the dark scheme."""

from __future__ import annotations

from datetime import date
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtGui import QFontMetrics
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QAbstractScrollArea
from PySide6.QtWidgets import QTableView
from PySide6.QtWidgets import QWidget

from app.demo import fill_demo
from app.domain import hours
from app.domain.records import TimeCategory
from app.domain.records import TimeEntry
from app.store.repositories import Repositories
from app.ui.common.columns import ColumnFitter
from app.ui.common.table_model import ID_ROLE
from app.ui.hours.models import WeekModel
from app.ui.shell.app import load_style_sheet
from app.ui.shell.app import make_application
from app.ui.shell.main_window import MainWindow
from app.ui.shell.theme import apply_theme
from app.ui.shell.theme import themed
from tests.helpers import new_vault
from tests.ui_support import unlock

# -- the column fitter -----------------------------------------------------------------------


def table_with(headers: list[str]) -> QTableView:
    model = QStandardItemModel(0, len(headers))
    model.setHorizontalHeaderLabels(headers)
    table = QTableView()
    table.setModel(model)
    model.setParent(table)
    return table


def test_columns_fill_the_width_exactly_when_there_is_room(qtbot):
    table = table_with(["Name", "Status", "Note"])
    qtbot.addWidget(table)
    fitter = ColumnFitter(table, elastic=(2, 0), stretch=(2,), min_chars=4)
    fitter.natural = {0: 100, 1: 80, 2: 150}
    fitter.minimum = {0: 60, 1: 80, 2: 50}
    widths, hidden = fitter.plan(500)
    assert hidden == set()
    assert widths == {0: 100, 1: 80, 2: 320}  # what is left goes to the note
    assert sum(widths.values()) == 500


def test_elastic_columns_give_up_room_in_order_then_columns_hide(qtbot):
    table = table_with(["Name", "Status", "Note", "Intake"])
    qtbot.addWidget(table)
    fitter = ColumnFitter(table, elastic=(2, 0), stretch=(2,), hide_order=(3,))
    fitter.natural = {0: 100, 1: 80, 2: 150, 3: 90}
    fitter.minimum = {0: 60, 1: 80, 2: 50, 3: 90}
    widths, hidden = fitter.plan(340)  # 80 too few: the note gives them all
    assert hidden == set() and widths == {0: 100, 1: 80, 2: 70, 3: 90}
    widths, hidden = fitter.plan(300)  # the note to its least, then the name
    assert hidden == set() and widths == {0: 80, 1: 80, 2: 50, 3: 90}
    widths, hidden = fitter.plan(250)  # even the least widths do not fit: intake goes
    assert hidden == {3} and sum(widths.values()) == 250 and widths[0] == 100


def test_a_column_shown_by_hand_stays_and_one_hidden_by_hand_stays_hidden(qtbot):
    table = table_with(["Name", "Status", "Intake"])
    qtbot.addWidget(table)
    table.resize(300, 200)
    table.show()
    fitter = ColumnFitter(table, elastic=(0,), hide_order=(2,))
    fitter.set_natural({0: 200, 1: 150, 2: 150})
    assert table.isColumnHidden(2)
    assert "not enough room" in [a.text() for a in fitter.column_menu().actions()][2]
    fitter.set_shown(2, True)
    assert not table.isColumnHidden(2)
    fitter.set_shown(1, False)
    assert table.isColumnHidden(1)
    table.resize(900, 200)
    qtbot.waitUntil(lambda: table.columnWidth(0) > 200)
    assert table.isColumnHidden(1) and not table.isColumnHidden(2)


# -- the timesheet on a narrow window ---------------------------------------------------------


def test_narrow_timesheet_has_two_line_days_and_short_kinds():
    week = hours.week_start(date(2026, 3, 4))
    sheet = hours.build_week(week, [], [])
    m = WeekModel()
    m.set_sheet(sheet, date(2026, 3, 4))
    assert m.headerData(1, Qt.Orientation.Horizontal) == "Mon 2"
    assert m.headerData(0, Qt.Orientation.Horizontal) == "Kind of work"
    m.set_compact(True)
    assert m.headerData(1, Qt.Orientation.Horizontal) == "Mo\n2"
    assert m.headerData(0, Qt.Orientation.Horizontal) == "Kind"
    row = [*hours.SHEET_CATEGORIES].index(TimeCategory.DOCUMENTATION)
    assert m.data(m.index(row, 0)) == "Docs"
    assert m.data(m.index(row, 0), Qt.ItemDataRole.ToolTipRole) == "Documentation"
    assert m.headerData(1, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole) == (
        "Mar 2, 2026"
    )


# -- painted colours in the dark scheme ------------------------------------------------------


def test_painted_colours_follow_the_dark_scheme(qtbot):
    app = make_application([])
    light = load_style_sheet()
    week = hours.week_start(date(2026, 3, 4))
    m = WeekModel()
    m.set_sheet(hours.build_week(week, [], []), date(2026, 3, 4))
    total = m.index(m.rowCount() - 1, 1)
    try:
        apply_theme(app, light, dark=False)
        assert themed("#ffffff").lightnessF() == 1.0
        assert m.data(total, Qt.ItemDataRole.BackgroundRole).color().lightnessF() > 0.8
        apply_theme(app, light, dark=True)
        assert themed("#ffffff").lightnessF() < 0.2  # a chart's white ground turns dark
        assert m.data(total, Qt.ItemDataRole.BackgroundRole).color().lightnessF() < 0.3
    finally:
        apply_theme(app, light, dark=False)


# -- every page at 1000x700 and at 720x560 ----------------------------------------------------


@pytest.fixture
def demo_dir(tmp_path: Path, fast_kdf) -> Path:
    folder = tmp_path / "demo"
    with new_vault(folder) as store:
        fill_demo(store, participants=12, years=1, seed=3)
    return folder


def sideways(page: QWidget) -> list[str]:
    """The visible scroll areas of a page (the page itself, its tables) that would
    scroll sideways, by object name."""
    areas = [page] if isinstance(page, QAbstractScrollArea) else []
    areas += page.findChildren(QAbstractScrollArea)
    return [
        a.objectName() or type(a).__name__
        for a in areas
        if a.isVisible()
        and (a.horizontalScrollBar().maximum() > 0 or a.horizontalScrollBar().isVisible())
    ]


def pages_to_check(window: MainWindow):
    """(name, show it) for every page of the workspace and every tab of a record."""
    ws = window.workspace
    assert ws is not None
    first = window.caseload.proxy.index(0, 0)
    pid = window.caseload.proxy.data(first, ID_ROLE)
    yield "caseload", lambda: ws.show_page("caseload")
    yield "hours", lambda: ws.show_page("hours")
    yield "program report", lambda: ws.show_page("program_report")
    record = ws.pages["participant"]
    yield "record", lambda: window._open_participant(pid)
    for i in range(1, record.tabs.count()):
        yield f"record tab {i}", lambda i=i: record.tabs.setCurrentIndex(i)


@pytest.mark.parametrize("size", [(1000, 700), (720, 560)])
def test_no_page_scrolls_sideways(qtbot, make_window, demo_dir, size):
    app = make_application([])
    apply_theme(app, load_style_sheet(), dark=False)
    window = make_window(demo_dir, size)
    unlock(qtbot, window, timeout=20_000)
    qtbot.waitUntil(lambda: window.model.rowCount() > 0 and not window.tasks.busy, timeout=20_000)
    assert (window.width(), window.height()) == size
    for name, show in pages_to_check(window):
        show()
        qtbot.waitUntil(lambda: not window.tasks.busy, timeout=10_000)
        page = window.current_page()
        # Layouts and column fitting settle with the event loop; then nothing may
        # scroll sideways (the report names what does).
        try:
            qtbot.waitUntil(lambda page=page: not sideways(page), timeout=3_000)
        except (AssertionError, TimeoutError, qtbot.TimeoutError):
            pytest.fail(f"{name} at {size}: scrolls sideways: {sideways(page)}")
        if name == "hours":
            scroll = page.scroll
            assert scroll.horizontalScrollBar().maximum() == 0
            assert not scroll.horizontalScrollBar().isVisible()
        if name == "caseload":
            table = window.caseload.table
            assert not table.horizontalScrollBar().isVisible()
            assert not table.isColumnHidden(0) and not table.isColumnHidden(1)
    window.close()


@pytest.fixture
def busy_week_dir(tmp_path: Path, fast_kdf) -> Path:
    """A vault whose owner logged a long, full week this week: about nine hours a day
    in four kinds of work, every day (the widest ordinary figures)."""
    folder = tmp_path / "busy"
    day_one = hours.week_start(date.today())
    work = {
        TimeCategory.TRAVEL: 186,  # 3h 6m
        TimeCategory.DOCUMENTATION: 165,
        TimeCategory.OTHER: 110,
        TimeCategory.TRAINING: 75,
    }
    with new_vault(folder) as store:
        repos = Repositories(store)
        for d in range(hours.DAYS_IN_WEEK):
            for category, minutes in work.items():
                repos.time_entries.add(
                    TimeEntry(
                        specialist_id=store.user_id,
                        entry_date=day_one + timedelta(days=d),
                        category=category,
                        minutes=minutes,
                        purpose="Invented work",
                    )
                )
    return folder


@pytest.mark.parametrize(("size", "travel"), [((1000, 700), "3h 6m"), ((720, 560), "3:06")])
def test_a_full_week_fits_the_timesheet_without_cutting_a_figure(
    qtbot, make_window, busy_week_dir, size, travel
):
    """Nine hours every day of the week: the figures read whole, packed ("3h 6m") on
    a wide window and as on a timesheet ("3:06") on a narrow one, and the sheet does
    not scroll sideways."""
    app = make_application([])
    apply_theme(app, load_style_sheet(), dark=False)
    window = make_window(busy_week_dir, size)
    unlock(qtbot, window, timeout=20_000)
    window.workspace.show_page("hours")
    page = window.current_page()
    qtbot.waitUntil(lambda: page.week_model.rowCount() > 0 and not window.tasks.busy)
    qtbot.waitUntil(lambda: not sideways(page), timeout=3_000)
    m, sheet = page.week_model, page.sheet
    row = [*hours.SHEET_CATEGORIES].index(TimeCategory.TRAVEL)
    assert m.data(m.index(row, 1)) == travel
    assert m.data(m.index(row, 1), Qt.ItemDataRole.AccessibleTextRole).endswith("3 h 6 min")
    for col in range(1, m.columnCount()):  # no figure is cut short, in the font it is drawn in
        for r in range(m.rowCount()):
            font = QFont(sheet.font())
            drawn = m.data(m.index(r, col), Qt.ItemDataRole.FontRole)
            font.setBold(drawn is not None and drawn.bold())
            text = m.data(m.index(r, col))
            assert QFontMetrics(font).horizontalAdvance(text) < sheet.columnWidth(col)
    window.close()


@pytest.mark.parametrize(
    ("fg", "bg"),
    [
        ("#1e2a2f", "#b5dcd4"),  # text on the filled part of a progress bar
        ("#5d6d71", "#eef3f0"),  # an empty day ("–") on the total row
        ("#5d6d71", "#ffffff"),  # an empty day on a white row
    ],
)
def test_painted_pairs_are_readable_in_both_schemes(fg, bg):
    from app.ui.shell.theme import contrast
    from app.ui.shell.theme import dark_color

    assert contrast(fg, bg) >= 4.5
    assert contrast(dark_color(fg[1:]), dark_color(bg[1:])) >= 4.5
