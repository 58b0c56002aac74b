"""The search box on a real vault and the real database worker: results as you type,
grouped as people and notes; only the answer for the text now in the box is shown;
Enter and double-click open the right record; Esc clears. Plus the results model."""

from __future__ import annotations

import threading
from datetime import date
from datetime import time

import pytest
from PySide6.QtCore import Qt

from app.store.search import SearchHit
from app.ui.search.results import SearchResultsModel
from app.ui.search.results import snippet_html
from tests.builders import add_encounter
from tests.helpers import add_person
from tests.ui_support import ctx_repos
from tests.ui_support import search_window
from tests.ui_support import settle


@pytest.fixture
def found(qtbot, app_ctx):
    repos = ctx_repos(app_ctx)
    ada = add_person(repos, "Ada", "Quillfeather", county="Ward")
    bo = add_person(repos, "Bo", "Strandberg", county="Cass")
    quilting = "Practiced a quilting pattern as a calming routine."
    at = (time(9), time(10))
    me = repos.store.user_id
    note = add_encounter(repos, bo, None, me, on=date(2026, 3, 2), at=at, intervention=quilting)
    host, bar = search_window(app_ctx, (900, 600))
    qtbot.addWidget(host)
    bar.focus_search()
    yield bar.box, ada, bo, note  # (a generator keeps the host alive: qtbot holds it weakly)


def type_and_wait(qtbot, box, text: str) -> None:
    with qtbot.waitSignal(box.results_shown, timeout=10_000):
        qtbot.keyClicks(box.edit, text)


def test_typing_shows_people_and_notes_grouped(qtbot, found):
    box, ada, bo, note = found
    type_and_wait(qtbot, box, "quil")
    rows = box.model.rows
    assert [r[0] for r in rows] == ["People (1)", "", "Notes (1, newest first)", ""]
    assert rows[1][1].record_id == ada.id and rows[1][1].title == "Ada Quillfeather"
    assert rows[3][1].record_id == note.id and "[quil" in rows[3][1].snippet.lower()
    assert box.popup.isVisible() and box.list.currentIndex().row() == 1
    assert box.model.data(box.model.index(3, 0)) == "Bo Strandberg · note of Mar 2, 2026"
    # another word narrows it: every word must match
    type_and_wait(qtbot, box, " calm")
    assert [h.kind for h in box.model.hits()] == ["note"]
    # a quote or a dash typed by a person cannot break the query
    box.edit.clear()
    type_and_wait(qtbot, box, '"Strand-')
    assert [h.record_id for h in box.model.hits()] == [bo.id]


def test_no_match_says_so(qtbot, found):
    box = found[0]
    type_and_wait(qtbot, box, "zzqx")
    assert box.model.rowCount() == 0
    assert "No people or notes match" in box.status.text() and box.status.isVisible()
    assert not box.list.isVisible()


def test_only_the_answer_for_the_latest_text_is_shown(qtbot, found, app_ctx):
    box = found[0]
    box.debounce_ms = 0
    shown: list[str] = []
    box.results_shown.connect(shown.append)
    gate = threading.Event()
    app_ctx.run(lambda repos: gate.wait(10))  # the worker is busy with something else
    qtbot.keyClicks(box.edit, "q")
    qtbot.waitUntil(lambda: box._in_flight == "q")
    qtbot.keyClicks(box.edit, "uil")  # typed while "q" is still waiting
    qtbot.keyClick(box.edit, Qt.Key.Key_Backspace)
    assert box._in_flight == "q"  # no backlog: the later texts wait for the answer
    gate.set()
    qtbot.waitUntil(lambda: box.shown_text == "qui")
    settle(qtbot, app_ctx)
    assert shown == ["qui"]
    assert box.answered == 2 and box.dropped == 1
    assert [h.title for h in box.model.hits()] == ["Ada Quillfeather", "Bo Strandberg"]


def test_enter_and_arrows_open_the_right_record(qtbot, found):
    box, ada, bo, note = found
    ctx = box.ctx
    type_and_wait(qtbot, box, "quil")
    with qtbot.waitSignal(ctx.open_participant) as sig:
        qtbot.keyClick(box.edit, Qt.Key.Key_Return)
    assert sig.args == [ada.id]
    assert not box.popup.isVisible()
    box.focus_search()
    assert box.popup.isVisible() and box.edit.selectedText() == "quil"
    qtbot.keyClick(box.edit, Qt.Key.Key_Down)  # skips the Notes heading
    assert box.list.currentIndex().row() == 3
    qtbot.keyClick(box.edit, Qt.Key.Key_Down)  # stays on the last hit
    assert box.list.currentIndex().row() == 3
    with qtbot.waitSignal(ctx.open_note) as sig:
        qtbot.keyClick(box.edit, Qt.Key.Key_Enter)
    assert sig.args == [note.id, bo.id]


def test_double_click_opens_and_enter_before_results_waits_for_them(qtbot, found):
    box, ada, bo, _ = found
    ctx = box.ctx
    type_and_wait(qtbot, box, "strand")
    row = next(i for i, (_, h) in enumerate(box.model.rows) if h and h.kind == "participant")
    rect = box.list.visualRect(box.model.index(row, 0))
    with qtbot.waitSignal(ctx.open_participant) as sig:  # press, release, double-click
        qtbot.mouseClick(box.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(box.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert sig.args == [bo.id]
    box.clear()
    box.edit.setFocus()
    with qtbot.waitSignal(ctx.open_participant) as sig:
        qtbot.keyClicks(box.edit, "Quillf")
        qtbot.keyClick(box.edit, Qt.Key.Key_Return)  # before the answer
    assert sig.args == [ada.id]


def test_escape_and_clear_forget_everything(qtbot, found, app_ctx):
    box = found[0]
    type_and_wait(qtbot, box, "quil")
    qtbot.keyClick(box.edit, Qt.Key.Key_Escape)
    assert box.edit.text() == "" and box.model.rowCount() == 0
    assert not box.popup.isVisible() and box.shown_text == ""
    # a lock while a query is on the worker: its answer never shows
    qtbot.keyClicks(box.edit, "quil")
    qtbot.waitUntil(lambda: box._in_flight is not None or box.answered >= 2)
    box.clear()
    settle(qtbot, app_ctx)
    assert box.model.rowCount() == 0 and not box.popup.isVisible()


def test_results_model_groups_and_skips_headings(qtbot):
    hits = [
        SearchHit("note", "n1", "p2", "Bo Strandberg", "a [quil]ting pattern", "2026-03-02"),
        SearchHit("participant", "p1", "p1", "Ada Quillfeather", "[Quill]feather", ""),
        SearchHit("note", "n2", "p1", "Ada Quillfeather", "<b>[quil]</b>", ""),
    ]
    m = SearchResultsModel()
    m.set_hits(hits)
    assert [m.data(m.index(r, 0)) for r in range(m.rowCount())] == [
        "People (1)",
        "Ada Quillfeather",
        "Notes (2, newest first)",
        "Bo Strandberg · note of Mar 2, 2026",
        "Ada Quillfeather",
    ]
    assert not (m.flags(m.index(0, 0)) & Qt.ItemFlag.ItemIsSelectable)
    assert m.flags(m.index(1, 0)) & Qt.ItemFlag.ItemIsSelectable
    assert m.first_hit_row() == 1
    assert m.next_hit_row(1, 1) == 3 and m.next_hit_row(3, -1) == 1
    assert m.next_hit_row(4, 1) == 4
    assert m.data(m.index(3, 0), Qt.ItemDataRole.AccessibleTextRole) == (
        "Note: Bo Strandberg · note of Mar 2, 2026. a quilting pattern"
    )
    assert snippet_html(hits[2].snippet) == "&lt;b&gt;<b>quil</b>&lt;/b&gt;"
    m.clear()
    assert m.rowCount() == 0
