"""The Program report screen driven with clicks on a real vault holding the demo team:
the figures shown are the service's (suppressed) figures, the exports write files that
read back, a specialist's screen offers only their own caseload, and the page is in
the main window's navigation for every role."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader
from PySide6.QtCore import QDate
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog

from app.domain.records import Role
from app.reports import program as pr
from app.services import program_report as svc
from app.ui.reports.program_page import ProgramReportPage
from tests.ui_support import ctx_repos
from tests.ui_support import settle
from tests.ui_support import team_ctx

TODAY = date(2026, 11, 30)


@pytest.fixture
def sup_ctx(app_ctx_for):
    return team_ctx(app_ctx_for, specialists=3, participants=8, today=TODAY)


def _page(qtbot, ctx) -> ProgramReportPage:
    page = ProgramReportPage(ctx)
    qtbot.addWidget(page)
    page.resize(1200, 900)
    page.first.setDate(QDate(2025, 12, 1))
    page.last.setDate(QDate(2026, 11, 30))
    page.show()
    settle(qtbot, ctx)
    return page


def _table(page: ProgramReportPage) -> list[tuple[str, ...]]:
    out, section = [], ""
    for r in range(page.table.rowCount()):
        cells = [page.table.item(r, c).text() for c in range(4)]
        section = cells[0] or section
        out.append((section, *cells[1:]))
    return out


def test_the_screen_shows_the_services_figures(qtbot, sup_ctx):
    page = _page(qtbot, sup_ctx)
    QTest.mouseClick(page.show_button, Qt.MouseButton.LeftButton)
    settle(qtbot, sup_ctx)
    want = svc.program_report(ctx_repos(sup_ctx), date(2025, 12, 1), date(2026, 11, 30))
    assert page.report is not None and page.report.services == want.services > 0
    assert _table(page) == [r for r in pr.table_rows(want) if r[0] != "Report"]
    assert page.cards["people"].text() == str(want.people_served)
    assert page.cards["units"].text() == str(want.units)
    assert page.charts["program"].items == [(ln.label, ln.services) for ln in want.by_program]
    assert "<11" in {r[3] for r in _table(page)}  # small cells arrive suppressed
    # a program and one specialist
    program = page.program.itemData(1)
    page.program.setCurrentIndex(1)
    page.scope.setCurrentIndex(2)
    spec = page.scope.currentData()
    QTest.mouseClick(page.show_button, Qt.MouseButton.LeftButton)
    settle(qtbot, sup_ctx)
    narrow = svc.program_report(
        ctx_repos(sup_ctx), date(2025, 12, 1), date(2026, 11, 30), program, spec
    )
    assert page.report.choice.specialist_ids == frozenset({spec})
    assert page.report.services == narrow.services < want.services
    assert page.report.choice.program == program


def test_export_buttons_write_the_three_files(qtbot, sup_ctx, tmp_path, monkeypatch):
    page = _page(qtbot, sup_ctx)
    for kind in ("pdf", "csv", "xlsx"):
        target = tmp_path / f"report-{kind}"  # the suffix is added when missing
        monkeypatch.setattr(
            QFileDialog, "getSaveFileName", staticmethod(lambda *a, t=target: (str(t), ""))
        )
        QTest.mouseClick(page.export_buttons[kind], Qt.MouseButton.LeftButton)
        settle(qtbot, sup_ctx)
        assert page.last_export == Path(f"{target}.{kind}")
        assert page.last_export.stat().st_size > 0
    text = "".join(p.extract_text() for p in PdfReader(tmp_path / "report-pdf.pdf").pages)
    assert f"{page.report.services}" in text and "Services by program" in text
    rows = list(csv.reader(io.StringIO((tmp_path / "report-csv.csv").read_text("utf-8-sig"))))
    assert [tuple(r) for r in rows[1:]] == pr.table_rows(page.report)


def test_a_specialist_sees_only_their_own_caseload(qtbot, sup_ctx, app_ctx_for):
    repos = ctx_repos(sup_ctx)
    spec_id = repos.store.conn.execute(
        "SELECT id FROM users WHERE role = 'specialist' ORDER BY id"
    ).fetchone()[0]
    team_services = svc.program_report(repos, date(2025, 12, 1), date(2026, 11, 30)).services
    store = sup_ctx.session.store
    with store.transaction(mode="remote"):  # this laptop now belongs to that specialist
        store.conn.execute("UPDATE meta SET value = ? WHERE key = 'owner_user_id'", (spec_id,))
    store.user_id = spec_id
    user = repos.users.require(spec_id)
    sup_ctx.user = user
    page = _page(qtbot, sup_ctx)
    assert page.scope.count() == 1 and not page.scope.isEnabled()
    assert page.scope.itemText(0) == "My caseload" and page.scope.currentData() == spec_id
    assert page.report is not None
    assert page.report.choice.specialist_ids == frozenset({spec_id})
    assert 0 < page.report.services < team_services
    # someone else's id slipped into the list is refused by the service
    other = repos.store.conn.execute(
        "SELECT id FROM users WHERE role = 'specialist' AND id != ?", (spec_id,)
    ).fetchone()[0]
    page.scope.addItem("someone else", other)
    page.scope.setCurrentIndex(1)
    messages: list[str] = []
    sup_ctx.status_message.connect(messages.append)
    QTest.mouseClick(page.show_button, Qt.MouseButton.LeftButton)
    settle(qtbot, sup_ctx)
    assert any("own caseload" in m for m in messages)
    assert page.report.choice.specialist_ids == frozenset({spec_id})


def test_the_page_is_in_the_navigation_for_every_role(qtbot, app_ctx_for):
    from PySide6.QtCore import QObject

    from app.ui.shell.main_window import MainWindow

    for role in (Role.SPECIALIST, Role.SUPERVISOR, Role.BILLING, Role.ADMIN):
        ctx = app_ctx_for(role)
        built = MainWindow._extra_pages(QObject(), ctx)  # the page list only needs tr()
        pages = {key: label for key, label, _factory in built}  # nothing built yet
        assert pages.get("program_report") == "Reports", role
