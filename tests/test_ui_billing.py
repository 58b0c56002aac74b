"""The billing dialog with a real vault and a real event loop (offscreen): the check
lists problems naming their records, a double-click asks to open the record, the
export needs confirmation when some services have problems, and writes the files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QCheckBox
from PySide6.QtWidgets import QStyle
from PySide6.QtWidgets import QStyleOptionButton
from PySide6.QtWidgets import QWidget

from app.services.vaults import Session
from app.store.db import Store
from app.store.repositories import Repositories
from app.ui.billing.billing_dialog import BillingDialog
from app.ui.billing.models import ProblemModel
from app.ui.shell.app import load_style_sheet
from app.ui.shell.context import AppContext
from app.ui.shell.tasks import TaskManager
from tests.billing_world import TODAY
from tests.billing_world import make_world
from tests.billing_world import service
from tests.x12check import pyx12_errors

SHOTS = Path("/work/notes/shots/billing")


@pytest.fixture
def world(vault):
    store = Store.open(vault)
    repos = Repositories(store)
    w = make_world(repos, people=3)
    a, b, c = w.people
    service(w, a, date(2026, 10, 5))
    service(w, a, date(2026, 10, 6), start=(8, 0), minutes=40)
    service(w, c, date(2026, 10, 6), start=(10, 0), minutes=25)
    repos.participants.update(b.replace(medicaid_id=""))
    service(w, b, date(2026, 10, 7))
    service(w, c, date(2026, 10, 8), status="signed")
    service(w, a, date(2026, 10, 9), start=(9, 0), minutes=60)
    service(w, c, date(2026, 10, 9), start=(9, 30), minutes=45)
    return Session(vault, store), w


def _shown_dialog(qtbot, world):
    """The billing dialog on the world's vault, shown once it has read; shut down after."""
    session, _w = world
    tasks = TaskManager()
    owner = Repositories(session.store).users.get(session.store.user_id)
    dlg = BillingDialog(AppContext(tasks, session, owner), today=TODAY)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitUntil(lambda: not tasks.busy)
    yield dlg
    tasks.shutdown(final=session.close)


@pytest.fixture
def dialog(qtbot, world):
    QApplication.instance().setStyleSheet(load_style_sheet())
    yield from _shown_dialog(qtbot, world)


def test_check_lists_problems_and_rows_open_their_records(qtbot, dialog, world):
    _session, w = world
    assert dialog.payer.count() == 2  # all payers + the one payer
    assert (dialog.date_from.date().toPython(), dialog.date_to.date().toPython()) == (
        date(2026, 10, 1),
        date(2026, 10, 31),
    )
    with qtbot.waitSignal(dialog.checked):
        dialog.check_button.click()
    model = dialog.model
    rows = [model.row_at(i) for i in range(model.rowCount())]
    assert {(r.table, r.record_id) for r in rows if r.table == "participants"} == {
        ("participants", w.people[1].id)
    }
    assert any(r.record.startswith("Participant: O") or "Ashby" in r.record for r in rows)
    assert {r.problem for r in rows} >= {
        "The person has no Medicaid ID",
        "The note is signed but not approved by a supervisor",
        "The specialist has another service at an overlapping time",
    }
    assert "3 ready to bill" in dialog.summary.text()
    assert "personal data leaves the vault" in dialog.privacy.text()
    assert "O'Sheel" not in dialog.windowTitle()

    SHOTS.mkdir(parents=True, exist_ok=True)
    dialog.grab().save(str(SHOTS / "preflight.png"))

    index = model.index(
        next(i for i in range(model.rowCount()) if model.row_at(i).table == "participants"), 1
    )
    rect = dialog.table.visualRect(index)
    qtbot.mouseClick(dialog.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    with qtbot.waitSignal(dialog.open_record) as sig:
        qtbot.mouseDClick(dialog.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert sig.args == ["participants", w.people[1].id]
    assert model.data(index, ProblemModel.RECORD_ROLE) == ("participants", w.people[1].id)


def test_export_needs_a_folder_and_confirmation_then_writes(qtbot, dialog, tmp_path):
    out = tmp_path / "claims"
    out.mkdir()
    with qtbot.waitSignal(dialog.checked):
        dialog.check_button.click()
    assert not dialog.export_button.isEnabled()
    dialog.folder.setText(str(out))
    assert not dialog.export_button.isEnabled()  # problems: the person must confirm
    assert dialog.confirm.isVisible() and "3 valid services only" in dialog.confirm.text()
    dialog.confirm.setChecked(True)
    assert dialog.export_button.isEnabled()
    broadcasts: list = []
    dialog.ctx.changes.connect(broadcasts.append)
    with qtbot.waitSignal(dialog.exported):
        dialog.export_button.click()
    assert dialog.last_error == ""
    # through the context: every page showing notes learns they were billed
    [changed] = broadcasts
    assert {"encounters", "billing_batches"} <= changed.tables
    batch_ids = {b.id for b in dialog.ctx.session.repos.billing_batches.list()}
    assert batch_ids and changed.ids == batch_ids
    files = sorted(out.iterdir())
    assert len(files) == 4 and "Exported 3 claims in 1 batch" in dialog.status.text()
    x12 = next(f for f in files if f.suffix == ".x12")
    assert pyx12_errors(x12.read_text()) == []
    # a second check finds nothing more to bill, only the held-back problems
    with qtbot.waitSignal(dialog.checked):
        dialog.check_button.click()
    assert "0 ready to bill" in dialog.summary.text()
    assert not dialog.export_button.isEnabled()
    assert len(broadcasts) == 1  # a check changes nothing, so it tells no page


def test_a_refused_export_says_why_and_writes_nothing(qtbot, dialog, tmp_path):
    with qtbot.waitSignal(dialog.checked):
        dialog.check_button.click()
    dialog.folder.setText(str(tmp_path / "not-there"))
    dialog.confirm.setChecked(True)
    with qtbot.waitSignal(dialog.exported):
        dialog.export_button.click()
    assert "existing folder" in dialog.last_error
    assert not (tmp_path / "not-there").exists()


@pytest.fixture
def iso_dialog(qtbot, platformdirs_isolated, world):
    """The dialog with platformdirs' folders (Documents) under the test's tmp_path."""
    yield from _shown_dialog(qtbot, world)


def _click(qtbot, widget) -> None:
    """A click where a person aims: a tick box's box (its middle may be empty room
    past the text, which Qt does not count), else the middle."""
    if isinstance(widget, QCheckBox):
        opt = QStyleOptionButton()
        widget.initStyleOption(opt)
        box = widget.style().subElementRect(QStyle.SubElement.SE_CheckBoxIndicator, opt, widget)
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=box.center())
        return
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def _export_default(qtbot, dlg) -> list:
    steps: list = []
    dlg.progressed.connect(lambda *a: steps.append(a))
    with qtbot.waitSignal(dlg.checked):
        _click(qtbot, dlg.check_button)
    _click(qtbot, dlg.confirm)
    assert dlg.confirm.isChecked() and dlg.export_button.isEnabled()
    with qtbot.waitSignal(dlg.exported):
        _click(qtbot, dlg.export_button)
    return steps


def test_default_folder_progress_and_the_result_screen(qtbot, iso_dialog, platformdirs_isolated):
    dlg = iso_dialog
    import platformdirs

    folder = Path(platformdirs.user_documents_dir()) / "PeerTrail billing"
    assert str(platformdirs_isolated) in str(folder) and dlg.folder.text() == str(folder)
    assert not folder.exists()  # made at the first export
    steps = _export_default(qtbot, dlg)
    assert dlg.last_error == "" and folder.is_dir() and len(list(folder.iterdir())) == 4
    # progress: the check, the server step, one step per payer, done
    assert [s[0] for s in steps][:2] == ["checking", "checking with the server"]
    assert steps[-1][1] == steps[-1][2] and steps[-1][2] >= 3
    assert not dlg.progress.isVisible()
    # the result screen: counts agree with the batch written
    panel = dlg.result_panel
    assert dlg.pages.currentWidget() is panel
    [batch] = dlg.ctx.session.repos.billing_batches.list()
    assert panel.services_value.text() == str(len(batch.encounter_ids)) == "3"
    assert panel.claims_value.text() == str(batch.claim_count)
    assert panel.total_value.text() == f"${batch.total_cents // 100}.{batch.total_cents % 100:02d}"
    assert panel.held_value.text() == "4"  # missing Medicaid ID, not approved, overlaps
    assert f"{batch.interchange_control:09d}" in panel.batches_text.text()
    opened: list = []
    panel.open_url = opened.append
    _click(qtbot, panel.open_button)
    assert [Path(u.toLocalFile()) for u in opened] == [folder]
    _click(qtbot, panel.back_button)
    assert dlg.pages.currentIndex() == 0
    # every control says what it is to a screen reader
    from PySide6.QtWidgets import QAbstractButton
    from PySide6.QtWidgets import QAbstractItemView
    from PySide6.QtWidgets import QComboBox
    from PySide6.QtWidgets import QDateEdit
    from PySide6.QtWidgets import QHeaderView
    from PySide6.QtWidgets import QLineEdit
    from PySide6.QtWidgets import QProgressBar
    from PySide6.QtWidgets import QTabBar
    from PySide6.QtWidgets import QTabWidget

    kinds = (QAbstractButton, QAbstractItemView, QComboBox, QDateEdit, QLineEdit, QProgressBar,
             QTabWidget)  # fmt: skip
    controls = [w for w in dlg.findChildren(QWidget) if isinstance(w, kinds)]
    unnamed = [
        f"{type(w).__name__}:{w.objectName()}"
        for w in controls
        if not w.accessibleName()
        and not isinstance(w, QHeaderView)  # a table's own headers
        and not w.objectName().startswith("qt_")  # Qt's inner parts (spin box, tab bar)
        and not isinstance(w.parent(), (QComboBox, QDateEdit, QTabBar))
        and w.window() is dlg  # not a combo box's popup list
    ]
    assert len(controls) >= 15 and unnamed == []


def test_void_button_voids_the_selected_batch_and_writes_the_void_file(qtbot, iso_dialog, world):
    dlg = iso_dialog
    _export_default(qtbot, dlg)
    [batch] = dlg.ctx.session.repos.billing_batches.list()
    panel = dlg.batches
    qtbot.mouseClick(
        dlg.tabs.tabBar(), Qt.MouseButton.LeftButton, pos=dlg.tabs.tabBar().tabRect(1).center()
    )
    assert dlg.tabs.currentWidget() is panel
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1)
    assert not panel.void_button.isEnabled()  # nothing selected, no reason
    rect = panel.table.visualRect(panel.model.index(0, 0))
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert panel.selected_id() == batch.id and not panel.void_button.isEnabled()
    qtbot.keyClicks(panel.reason, "Payer rejected the file")
    _click(qtbot, panel.submitted)
    assert panel.void_button.isEnabled()
    with qtbot.waitSignal(panel.voided):
        _click(qtbot, panel.void_button)
    assert panel.last_error == "", panel.last_error
    after = dlg.ctx.session.repos.billing_batches.require(batch.id)
    assert after.status.value == "void" and after.void_reason == "Payer rejected the file"
    void_file = panel.last_void.void_file
    assert void_file is not None and void_file.parent == Path(dlg.folder.text())
    text = void_file.read_text()
    assert pyx12_errors(text) == [] and "REF*F8*" in text
    qtbot.waitUntil(
        lambda: panel.model.rowCount() == 1 and panel.model.row_at(0).status.startswith("void")
    )
    assert "is void" in panel.status.text()
