"""The team view on a real vault filled with the demo team: one row per specialist
with the figures, the chart, the late-after setting, and the oversight report saved
as a PDF that pypdf reads back."""

from __future__ import annotations

from datetime import date

import pytest
from pypdf import PdfReader
from PySide6.QtCore import Qt

from app.domain.records import Role
from app.domain.supervision import SpecialistSummary
from app.services import team
from app.ui.common.table_model import ID_ROLE
from app.ui.team.models import TeamModel
from app.ui.team.team_page import TeamPage
from tests.ui_support import ctx_repos
from tests.ui_support import settle
from tests.ui_support import shown
from tests.ui_support import team_ctx


@pytest.fixture
def sup_ctx(app_ctx_for):
    return team_ctx(app_ctx_for, specialists=3, participants=6)


@pytest.fixture
def page(qtbot, sup_ctx):
    return shown(qtbot, TeamPage(sup_ctx), sup_ctx)


def test_team_model_without_widgets():
    row = SpecialistSummary(
        specialist_id="s1", name="Ann Example", credential="CPSS I", caseload=12,
        encounters_week=3, encounters_month=11, units_week=9, units_month=40,
        awaiting_review=4, overdue_month=2, stale_drafts=1, direct_hours_month=10.25,
        ce_hours_year=14.0, supervision_hours_year=6.0,
    )  # fmt: skip
    m = TeamModel()
    m.set_rows([row])
    cells = [m.data(m.index(0, c)) for c in range(m.columnCount())]
    assert cells == [
        "Ann Example (CPSS I)",
        "12",
        "3 / 11",
        "9 / 40",
        "4",
        "2",
        "1",
        "10 h 15 min",
        "14 h",
    ]
    assert m.data(m.index(0, 0), ID_ROLE) == "s1"
    assert m.headerData(4, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)


def test_every_specialist_has_a_row_and_the_chart_their_hours(qtbot, page, sup_ctx):
    members = team.team(ctx_repos(sup_ctx))
    assert page.model.rowCount() == 3 == len(members)
    names = {page.model.summary(r).name for r in range(3)}
    assert names == {u.display_name for u in members}
    assert "3 specialists" in page.subtitle.text()
    assert len(page.chart.series) == 3 and len(page.chart.weeks) == 12
    assert page.chart.peak() > 0
    image = page.chart.grab().toImage()
    assert image.width() > 200  # painted without error
    total_waiting = sum(page.model.summary(r).awaiting_review for r in range(3))
    signed = ctx_repos(sup_ctx).encounters.list("status = 'signed'")
    assert total_waiting == len(signed)


def test_late_after_setting_is_kept_and_changes_the_figures(qtbot, page, sup_ctx):
    assert page.overdue.value() == 3
    late_at_3 = sum(page.model.summary(r).overdue_month for r in range(3))
    page.overdue.setValue(0)
    page.overdue.editingFinished.emit()
    settle(qtbot, sup_ctx)
    assert team.overdue_days(ctx_repos(sup_ctx)) == 0
    assert page.model.overdue_days == 0
    assert sum(page.model.summary(r).overdue_month for r in range(3)) >= late_at_3


def test_oversight_report_for_the_selected_specialist(qtbot, page, sup_ctx, tmp_path):
    assert not page.report_button.isEnabled()
    page.table.selectRow(0)
    assert page.report_button.isEnabled()
    spec = page.selected_specialist()
    name = next(u.display_name for u in team.team(ctx_repos(sup_ctx)) if u.id == spec)
    today = date.today()
    out = tmp_path / "report.pdf"
    page.export_report(out)
    settle(qtbot, sup_ctx)
    assert page.last_report == out
    text = "\n".join(p.extract_text() for p in PdfReader(out).pages)
    assert "Oversight report" in text and name in text
    assert today.strftime("%B") in text and "Review outcomes" in text and "Supervision" in text
    logged = (
        ctx_repos(sup_ctx)
        .store.conn.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'export' AND record_id = ?", (spec,)
        )
        .fetchone()[0]
    )
    assert logged == 1


def test_report_to_an_unwritable_place_says_so(qtbot, page, sup_ctx, tmp_path):
    page.table.selectRow(0)
    messages: list[str] = []
    sup_ctx.status_message.connect(messages.append)
    page.export_report(tmp_path / "no such folder" / "r.pdf")
    settle(qtbot, sup_ctx)
    assert messages and "could not be written" in messages[-1]
    assert page.report_button.isEnabled()


def test_no_team_yet(qtbot, app_ctx_for):
    ctx = app_ctx_for(Role.SUPERVISOR)
    p = shown(qtbot, TeamPage(ctx), ctx, None)
    assert p.empty_label.isVisible() and not p.table.isVisible()
