"""The Billing settings screen on a real vault and a real event loop (offscreen),
driven with key and mouse events: a wrong NPI is shown by its field and nothing
is saved, a right one saves; payers are added and edited in a dialog with each
problem by its field; specialists' claim details; who may change what."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QComboBox
from PySide6.QtWidgets import QLineEdit

from app.domain.records import Role
from app.domain.records import User
from app.ui.billing.settings_dialogs import PayerDialog
from app.ui.billing.settings_dialogs import SpecialistDialog
from app.ui.billing.settings_page import BillingSettingsPage
from app.ui.shell.app import load_style_sheet
from tests.ui_support import ctx_repos
from tests.ui_support import settle
from tests.ui_support import shown

LEFT = Qt.MouseButton.LeftButton


def type_into(widget, text: str) -> None:
    """Replace what a field holds by typing, as a person would."""
    target = widget.lineEdit() if isinstance(widget, QComboBox) else widget
    assert isinstance(target, QLineEdit)
    target.setFocus()
    QTest.keyClick(target, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(target, Qt.Key.Key_Delete)
    QTest.keyClicks(target, text)


def pick(combo: QComboBox, data: str) -> None:
    """Choose an item of a combo box with the keyboard."""
    combo.setFocus()
    want = combo.findData(data)
    assert want >= 0
    while combo.currentIndex() != want:
        key = Qt.Key.Key_Down if combo.currentIndex() < want else Qt.Key.Key_Up
        QTest.keyClick(combo, key)


def make_page(qtbot, ctx) -> BillingSettingsPage:
    QApplication.instance().setStyleSheet(load_style_sheet())
    return shown(qtbot, BillingSettingsPage(ctx), ctx, (1000, 860))


AGENCY = {
    "name": "Prairie Peer Agency", "tax_id": "12-3456789", "taxonomy": "175T00000X",
    "address_line1": "200 Demo Ave", "city": "Bismarck", "zip_code": "58501-4410",
    "contact_name": "Billing Office", "contact_phone": "701-555-0142",
    "submitter_id": "PRAIRIE01",
}  # fmt: skip


def test_a_wrong_npi_is_shown_by_its_field_and_a_right_one_saves(qtbot, app_ctx_for):
    ctx = app_ctx_for(Role.BILLING)
    page = make_page(qtbot, ctx)
    assert page.save_button.isEnabled() and ctx_repos(ctx).billing_providers.count() == 0
    for name, text in AGENCY.items():
        type_into(page.fields[name].widget, text)
    pick(page.fields["state"].widget, "ND")  # type: ignore[arg-type]
    type_into(page.fields["npi"].widget, "1234567890")  # check digit wrong
    QTest.mouseClick(page.save_button, LEFT)
    settle(qtbot, ctx)
    npi = page.fields["npi"]
    assert npi.error.isVisible() and "check digit" in npi.error.text()
    assert "1234567890" not in npi.error.text()
    assert not any(f.error.isVisible() for n, f in page.fields.items() if n != "npi")
    assert page.agency_banner.isVisible() and "Nothing was saved" in page.agency_banner.text()
    assert ctx_repos(ctx).billing_providers.count() == 0  # nothing saved

    type_into(npi.widget, "1234567893")
    assert not npi.error.isVisible()  # typing clears the message
    QTest.mouseClick(page.save_button, LEFT)
    settle(qtbot, ctx)
    assert not any(f.error.isVisible() for f in page.fields.values())
    assert page.agency_banner.text() == "Saved."
    (saved,) = ctx_repos(ctx).billing_providers.list()
    assert (saved.npi, saved.state, saved.zip_code, saved.time_zone) == (
        "1234567893", "ND", "58501-4410", "America/Chicago")  # fmt: skip
    audit = (
        ctx_repos(ctx)
        .store.conn.execute(
            "SELECT count(*) FROM audit_log WHERE record_type = 'billing_providers'"
        )
        .fetchone()[0]
    )
    assert audit >= 1
    sent = (
        ctx_repos(ctx)
        .store.conn.execute(
            "SELECT count(*) FROM outbox WHERE table_name = 'billing_providers' AND field = 'npi'"
        )
        .fetchone()[0]
    )
    assert sent == 1  # captured for sync


def test_an_empty_setting_is_saved_and_marked_as_still_needed(qtbot, app_ctx_for):
    ctx = app_ctx_for(Role.ADMIN)
    page = make_page(qtbot, ctx)
    type_into(page.fields["name"].widget, "Prairie Peer Agency")
    QTest.mouseClick(page.save_button, LEFT)
    settle(qtbot, ctx)
    assert ctx_repos(ctx).billing_providers.count() == 1
    assert page.fields["submitter_id"].error.isVisible()
    assert "still needed" in page.agency_banner.text()


def _payer_dialog(qtbot, page) -> PayerDialog:
    QTest.mouseClick(page.add_payer_button, LEFT)
    dialogs = [d for d in page.findChildren(PayerDialog) if d.isVisible()]
    assert len(dialogs) == 1
    return dialogs[0]


def test_payers_are_added_and_edited_with_problems_by_their_fields(qtbot, app_ctx_for):
    ctx = app_ctx_for(Role.BILLING)
    page = make_page(qtbot, ctx)
    page.tabs.setCurrentIndex(1)
    dlg = _payer_dialog(qtbot, page)
    for name, text in (("name", "ND Medicaid"), ("payer_id", "ndmcd"),
                       ("receiver_id", "NDMEDICAID"), ("rate", "16,5x"),
                       ("allowed_modifiers", "HQ, 95, ZZ")):  # fmt: skip
        type_into(dlg.fields[name].widget, text)
    pick(dlg.fields["unit_basis"].widget, "day_total")  # type: ignore[arg-type]
    QTest.mouseClick(dlg.save_button, LEFT)
    settle(qtbot, ctx)
    assert dlg.isVisible() and set(dlg.problems_shown()) == {"rate", "allowed_modifiers"}
    assert "16.50" in dlg.fields["rate"].error.text()  # the example, not what was typed
    assert ctx_repos(ctx).payers.count() == 0
    type_into(dlg.fields["rate"].widget, "16.50")
    type_into(dlg.fields["allowed_modifiers"].widget, "HQ, 95, 93")
    QTest.mouseClick(dlg.save_button, LEFT)
    settle(qtbot, ctx)
    assert not dlg.isVisible()
    (payer,) = ctx_repos(ctx).payers.list()
    assert (payer.payer_id, payer.rate_cents_per_unit, payer.unit_basis.value) == (
        "NDMCD", 1650, "day_total")  # fmt: skip
    assert payer.allowed_modifiers == ("HQ", "95", "93")
    settle(qtbot, ctx)
    assert page.payer_model.rowCount() == 1
    view = page.payer_view
    QTest.mouseClick(
        view.viewport(), LEFT, pos=view.visualRect(page.payer_model.index(0, 0)).center()
    )
    QTest.mouseClick(page.edit_payer_button, LEFT)
    (edit,) = [d for d in page.findChildren(PayerDialog) if d.isVisible()]
    assert edit.fields["rate"].widget.text() == "16.50"  # type: ignore[attr-defined]
    pick(edit.fields["usage_indicator"].widget, "P")  # type: ignore[arg-type]
    QTest.mouseClick(edit.save_button, LEFT)
    settle(qtbot, ctx)
    assert ctx_repos(ctx).payers.require(payer.id).usage_indicator == "P"


def test_specialists_claim_details_keep_a_whole_last_name(qtbot, app_ctx_for):
    ctx = app_ctx_for(Role.ADMIN)
    maria = ctx_repos(ctx).users.add(
        User(username="mdlc", display_name="Maria de la Cruz, CPSS", role=Role.SPECIALIST)
    )
    page = make_page(qtbot, ctx)
    page.tabs.setCurrentIndex(2)
    row = next(r for r in range(page.specialist_model.rowCount())
               if page.specialist_model.row_at(r).id == maria.id)  # fmt: skip
    view = page.specialist_view
    QTest.mouseClick(
        view.viewport(), LEFT, pos=view.visualRect(page.specialist_model.index(row, 0)).center()
    )
    QTest.mouseClick(page.edit_specialist_button, LEFT)
    (dlg,) = [d for d in page.findChildren(SpecialistDialog) if d.isVisible()]
    type_into(dlg.fields["first_name"].widget, "Maria")
    type_into(dlg.fields["last_name"].widget, "de la Cruz")
    type_into(dlg.fields["npi"].widget, "1234567890")
    QTest.mouseClick(dlg.save_button, LEFT)
    settle(qtbot, ctx)
    assert set(dlg.problems_shown()) == {"npi"}
    type_into(dlg.fields["npi"].widget, "1234567893")
    QTest.mouseClick(dlg.save_button, LEFT)
    settle(qtbot, ctx)
    saved = ctx_repos(ctx).users.require(maria.id)
    assert (saved.first_name, saved.last_name, saved.npi) == ("Maria", "de la Cruz", "1234567893")


@pytest.mark.parametrize("role", [Role.SPECIALIST, Role.SUPERVISOR])
def test_on_a_team_only_billing_staff_and_admins_change_settings(qtbot, app_ctx_for, role):
    ctx = app_ctx_for(role)
    repos = ctx_repos(ctx)
    repos.store.set_meta("sync_server", json.dumps({"url": "https://x", "token": "t"}))
    page = make_page(qtbot, ctx)
    assert not page.save_button.isEnabled() and not page.add_payer_button.isEnabled()
    assert not page.fields["npi"].widget.isEnabled()
    assert "Only billing staff" in page.notice.text()


@pytest.mark.parametrize("role", [Role.BILLING, Role.ADMIN, Role.SPECIALIST])
def test_the_main_window_offers_billing_settings_to_billing_and_admin(
    qtbot, tmp_path, make_window, role
):
    from app.store.repositories import Repositories
    from tests.helpers import new_vault
    from tests.ui_support import unlock

    folder = tmp_path / "data"
    with new_vault(folder) as store:
        repos = Repositories(store)
        repos.users.update(repos.users.require(store.user_id).replace(role=role))
    w = make_window(folder)
    unlock(qtbot, w)
    offered = role in (Role.BILLING, Role.ADMIN)
    assert ("billing_settings" in w.workspace.pages) is offered
    assert w.billing_settings_action.isEnabled() is offered
    if offered:
        w.billing_settings_action.trigger()
        assert isinstance(w.current_page(), BillingSettingsPage)
    w.close()
