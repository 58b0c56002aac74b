"""The "Possible duplicates" screens on a real vault, the real database worker and a
real Qt event loop, driven with QTest clicks: the caseload's banner, the list, a
supervisor's merge (the kept record then holds both records' notes), "Not the
same person", and a specialist who sees the list without a Merge button."""

from __future__ import annotations

from datetime import date
from datetime import time

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.domain.records import Encounter
from app.domain.records import Participant
from app.domain.records import Role
from app.services import duplicates
from app.services import records
from app.ui.caseload.caseload import CaseloadView
from app.ui.caseload.duplicates_dialog import DuplicatesDialog
from app.ui.caseload.models import CaseloadModel
from tests.ui_support import ctx_repos
from tests.ui_support import settle

BORN = date(1990, 6, 15)


def _twins(repos) -> tuple[Participant, Participant]:
    owner = repos.store.user_id
    a = repos.participants.add(
        Participant(first_name="Renée", last_name="Dubois", date_of_birth=BORN,
                    assigned_specialist_id=owner, phone="218-555-0100")
    )  # fmt: skip
    b = repos.participants.add(
        Participant(first_name="Renee", last_name="Du Bois", date_of_birth=BORN,
                    assigned_specialist_id=owner, medicaid_id="MN44400022")
    )  # fmt: skip
    for p in (a, b):
        repos.encounters.add(
            Encounter(participant_id=p.id, specialist_id=owner, service_date=date(2026, 10, 5),
                      start_time=time(13, 0), end_time=time(13, 30), data=f"Seen as {p.id[:4]}")
        )  # fmt: skip
    # someone else entirely, born the same day
    repos.participants.add(
        Participant(first_name="Walter", last_name="Eagleheart", date_of_birth=BORN,
                    assigned_specialist_id=owner)
    )  # fmt: skip
    return a, b


def _click(button) -> None:
    assert button.isVisible() and button.isEnabled(), button.text()
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


def test_banner_list_and_merge_by_a_supervisor(qtbot, app_ctx_for):
    ctx = app_ctx_for(Role.SUPERVISOR)
    a, b = _twins(ctx_repos(ctx))
    view = CaseloadView(CaseloadModel())
    qtbot.addWidget(view)
    view.show()
    view.attach(ctx)
    view.check_duplicates()  # the main window does it with every caseload read
    settle(qtbot, ctx)
    assert view.duplicates_banner.isVisible()
    assert view.duplicates_label.text() == "1 pair of records may be the same person."
    _click(view.duplicates_button)
    dialog = view._dialogs[-1]
    assert isinstance(dialog, DuplicatesDialog)
    settle(qtbot, ctx)
    assert dialog.table.rowCount() == 1
    assert dialog.table.item(0, 3).text() == "same date of birth, similar name"
    # keep the record with the Medicaid ID
    dialog.keep_combo.setCurrentIndex(dialog.keep_combo.findData(b.id))
    _click(dialog.merge_button)
    settle(qtbot, ctx)
    assert dialog.status.text().startswith("Merged into Renee Du Bois.")
    assert "phone" in dialog.status.text()  # filled in from the other record
    assert dialog.table.rowCount() == 0 and dialog.empty_label.isVisible()
    assert not view.duplicates_banner.isVisible()  # counted again after the merge
    repos = ctx_repos(ctx)
    assert repos.participants.require(a.id).merged_into == b.id
    kept = records.load_record(repos, b.id, audited=False)
    assert kept.participant.phone == "218-555-0100"
    assert sorted(t.preview[-4:] for t in kept.timeline) == sorted([a.id[:4], b.id[:4]])
    assert {p.id for p in repos.participants.caseload()} == {b.id} | {
        p.id for p in repos.participants.list() if p.first_name == "Walter"
    }


def test_not_the_same_person_and_a_specialist_cannot_merge(qtbot, app_ctx_for):
    ctx = app_ctx_for(Role.SPECIALIST)
    a, b = _twins(ctx_repos(ctx))
    dialog = DuplicatesDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.show()
    settle(qtbot, ctx)
    assert dialog.table.rowCount() == 1
    assert not dialog.merge_button.isVisible()  # merging is for supervisors
    _click(dialog.distinct_button)
    settle(qtbot, ctx)
    assert dialog.status.text() == "Marked as two different people."
    assert dialog.table.rowCount() == 0
    repos = ctx_repos(ctx)
    assert duplicates.find_duplicates(repos) == []
    low, high = sorted([a.id, b.id])
    assert repos.participants.require(low).distinct_from == (high,)
