"""The Billing settings screen (billing staff and administrators): the agency as
billing provider, the payers, and the specialists' claim details.

The agency form shows each field's problem next to it: a value typed wrongly is
refused (nothing saved), a field left empty is saved and marked as still needed
before claims can be exported. Payers and specialists are edited in dialogs
(app.ui.billing.settings_dialogs). Everything is read and written through
app.services.billing_settings on the database worker.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QMessageBox
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QTableView
from PySide6.QtWidgets import QTabWidget
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.billing.codes import code_sets
from app.services.billing_settings import BillingSettings
from app.services.billing_settings import Saved
from app.services.billing_settings import SettingsRefused
from app.services.billing_settings import load_settings
from app.services.billing_settings import provider_values
from app.services.billing_settings import remove_payer
from app.services.billing_settings import save_provider
from app.services.failures import message_for
from app.ui.billing.settings_dialogs import PayerDialog
from app.ui.billing.settings_dialogs import SpecialistDialog
from app.ui.billing.settings_models import PayerModel
from app.ui.billing.settings_models import PayerRow
from app.ui.billing.settings_models import SpecialistModel
from app.ui.common.columns import ColumnFitter
from app.ui.common.columns import read_only_table
from app.ui.common.forms import FieldsMixin
from app.ui.common.forms import align_form_labels
from app.ui.common.forms import combo
from app.ui.common.forms import form_group
from app.ui.common.forms import line_edit
from app.ui.common.forms import set_value
from app.ui.common.forms import wrapped_label
from app.ui.common.layouts import scrolled
from app.ui.common.table_model import ID_ROLE
from app.ui.common.text import plural
from app.ui.shell.context import AppContext
from app.ui.shell.context import Page

ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
         "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu")  # fmt: skip


class BillingSettingsPage(FieldsMixin, Page):
    title = "Billing settings"
    tables = frozenset({"billing_providers", "payers", "users"})

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.fields = {}
        self.setObjectName("billingSettingsPage")
        self.settings: BillingSettings | None = None
        heading = QLabel(self.tr("Billing settings"))
        heading.setObjectName("pageTitle")
        self.notice = wrapped_label()
        self.tabs = QTabWidget()
        self.tabs.addTab(self._agency_tab(), self.tr("Agency"))
        self.tabs.addTab(self._payers_tab(), self.tr("Payers"))
        self.tabs.addTab(self._specialists_tab(), self.tr("Specialists"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.addWidget(heading)
        layout.addWidget(self.notice)
        layout.addWidget(self.tabs, 1)

    # -- building -----------------------------------------------------------------------

    def _agency_tab(self) -> QWidget:
        tr, f = self.tr, self.field
        states = [("", "")] + [(s, s) for s in sorted(code_sets().states)]
        who = form_group(tr("The agency (billing provider, 2010AA)"), [
            (tr("Agency name *"), f("name", line_edit(tr("Agency name")),
                                    tr("As on the agency's NPI record"))),
            (tr("NPI"), f("npi", line_edit(tr("Agency NPI"), "10 digits"),
                          tr("The agency's organization (type 2) NPI"))),
            (tr("Tax id (EIN)"), f("tax_id", line_edit(tr("Tax id, EIN"), "12-3456789"))),
            (tr("Taxonomy"), f("taxonomy", line_edit(tr("Taxonomy code"), "175T00000X"),
                               tr("NUCC code; 175T00000X is peer specialist"))),
        ])  # fmt: skip
        where = form_group(tr("Address"), [
            (tr("Street"), f("address_line1", line_edit(tr("Street address")))),
            (tr("Second line"), f("address_line2", line_edit(tr("Second address line")))),
            (tr("City"), f("city", line_edit(tr("City")))),
            (tr("State"), f("state", combo(tr("State"), states))),
            (tr("ZIP+4"), f("zip_code", line_edit(tr("ZIP+4"), "58501-4410"),
                            tr("All 9 digits: claims need ZIP+4 for the agency"))),
        ])  # fmt: skip
        files = form_group(tr("Contact and claim files"), [
            (tr("Billing contact"), f("contact_name", line_edit(tr("Billing contact name")))),
            (tr("Phone"), f("contact_phone", line_edit(tr("Billing contact phone"),
                                                       "701-555-0100"))),
            (tr("Submitter id"), f("submitter_id", line_edit(tr("Submitter id")),
                                   tr("The trading-partner id the state gave the agency"))),
            (tr("Submitter name"), f("submitter_name", line_edit(tr("Submitter name")),
                                     tr("Empty: the agency name"))),
            (tr("Time zone"), f("time_zone", combo(tr("Time zone"),
                                                   [(z, z) for z in ZONES], editable=True),
                                tr("Dates the files and the summary"))),
        ])  # fmt: skip
        self.agency_banner = wrapped_label(name="formError", hidden=True)
        self.save_button = QPushButton(self.tr("Save agency settings"))
        self.save_button.setObjectName("primary")
        self.save_button.clicked.connect(self.save_agency)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        body = QWidget()
        v = QVBoxLayout(body)
        v.setContentsMargins(4, 8, 12, 8)
        v.addWidget(self.agency_banner)
        for g in (who, where, files):
            v.addWidget(g)
        v.addLayout(buttons)
        v.addStretch(1)
        align_form_labels(body)
        self.agency_scroll = scroll = scrolled(body)
        return scroll

    def _table(self, name: str, model: Any) -> tuple[QTableView, ColumnFitter]:
        view = read_only_table(name, model=model)
        return view, ColumnFitter(view, elastic=(0, 5), stretch=(0,), hide_order=(3, 5))

    def _payers_tab(self) -> QWidget:
        self.payer_model = PayerModel(self)
        self.payer_view, self.payer_fitter = self._table("payerTable", self.payer_model)
        self.payer_view.setAccessibleName(self.tr("Payers"))
        self.payer_view.doubleClicked.connect(lambda *_: self.edit_payer())
        self.add_payer_button = QPushButton(self.tr("Add payer…"))
        self.edit_payer_button = QPushButton(self.tr("Edit…"))
        self.remove_payer_button = QPushButton(self.tr("Remove"))
        self.add_payer_button.clicked.connect(self.add_payer)
        self.edit_payer_button.clicked.connect(self.edit_payer)
        self.remove_payer_button.clicked.connect(self.remove_payer)
        return self._tab(self.payer_view, [self.add_payer_button, self.edit_payer_button,
                                           self.remove_payer_button])  # fmt: skip

    def _specialists_tab(self) -> QWidget:
        self.specialist_model = SpecialistModel(self)
        self.specialist_view, self.specialist_fitter = self._table(
            "specialistTable", self.specialist_model
        )
        self.specialist_view.setAccessibleName(self.tr("Specialists"))
        self.specialist_view.doubleClicked.connect(lambda *_: self.edit_specialist())
        self.edit_specialist_button = QPushButton(self.tr("Edit claim details…"))
        self.edit_specialist_button.clicked.connect(self.edit_specialist)
        return self._tab(self.specialist_view, [self.edit_specialist_button])

    def _tab(self, view: QTableView, buttons: list[QPushButton]) -> QWidget:
        w = QWidget()
        v = QVBoxLayout(w)
        v.setContentsMargins(4, 8, 4, 4)
        v.addWidget(view, 1)
        row = QHBoxLayout()
        for b in buttons:
            row.addWidget(b)
        row.addStretch(1)
        v.addLayout(row)
        return w

    # -- reading ----------------------------------------------------------------------------

    def refresh(self) -> None:
        super().refresh()
        self.ctx.run(load_settings, self._show, self._failed_load)

    def _show(self, s: BillingSettings) -> None:
        self.settings = s
        for name, value in provider_values(s.provider).items():
            set_value(self.fields[name].widget, value)
        missing = s.problems.get(s.provider.id, {}) if s.provider else {}
        self.show_problems({k: m[:1].upper() + m[1:] for k, m in missing.items()}, focus=False)
        self.payer_model.set_rows(
            [PayerRow(p, len(s.problems.get(p.id, {}))) for p in s.payers if not p.deleted]
        )
        self.specialist_model.set_rows(s.specialists)
        self.payer_fitter.measure()
        self.specialist_fitter.measure()
        self._set_editable(s.can_edit, s.can_edit_specialists)

    def _set_editable(self, billing: bool, specialists: bool) -> None:
        for fld in self.fields.values():
            fld.widget.setEnabled(billing)
        for b in (self.save_button, self.add_payer_button, self.edit_payer_button,
                  self.remove_payer_button):  # fmt: skip
            b.setEnabled(billing)
        self.edit_specialist_button.setEnabled(specialists)
        notes = [self.tr("Claims are written from these settings; they sync to every laptop.")]
        if not billing:
            notes.append(self.tr("Only billing staff or an administrator change them."))
        elif not specialists:
            notes.append(self.tr("Specialists' claim details are changed by an administrator."))
        self.notice.setText(" ".join(notes))

    def _failed_load(self, exc: BaseException) -> None:
        self.notice.setText(self.tr("The billing settings could not be read. ") + message_for(exc))

    # -- the agency -------------------------------------------------------------------------

    def save_agency(self) -> None:
        self.agency_banner.hide()
        self.save_button.setEnabled(False)
        self.ctx.run(save_provider, self._agency_saved, self._agency_failed,
                     args=(self.values(),), origin=self)  # fmt: skip

    def _agency_saved(self, saved: Saved) -> None:
        self.save_button.setEnabled(True)
        self.show_problems(saved.missing, focus=False)
        n = len(saved.missing)
        text = self.tr("Saved.")
        if n:
            text += " " + plural(
                self,
                n,
                "%n setting marked below is still needed before claims can be exported.",
                "%n settings marked below are still needed before claims can be exported.",
            )
        self.agency_banner.setObjectName("formNote" if n else "formSaved")
        self.agency_banner.setText(text)
        self.agency_banner.show()
        self.ctx.status_message.emit(self.tr("Billing settings saved."))

    def _agency_failed(self, exc: BaseException) -> None:
        self.save_button.setEnabled(True)
        if isinstance(exc, SettingsRefused):
            self.show_problems(exc.problems)
            self.agency_banner.setText(str(exc))
        else:
            self.agency_banner.setText(message_for(exc))
        self.agency_banner.setObjectName("formError")
        self.agency_banner.show()

    # -- payers and specialists -----------------------------------------------------------

    def _selected(self, view: QTableView) -> str:
        rows = view.selectionModel().selectedRows() if view.selectionModel() else []
        return str(rows[0].data(ID_ROLE)) if rows else ""

    def add_payer(self) -> PayerDialog:
        dialog = PayerDialog(self.ctx, None, self)
        dialog.open()
        return dialog

    def edit_payer(self) -> PayerDialog | None:
        pid = self._selected(self.payer_view)
        payer = (
            next((p for p in self.settings.payers if p.id == pid), None) if self.settings else None
        )
        if payer is None:
            return None
        dialog = PayerDialog(self.ctx, payer, self)
        dialog.open()
        return dialog

    def remove_payer(self) -> None:
        pid = self._selected(self.payer_view)
        if not pid:
            return
        answer = QMessageBox.question(
            self, self.tr("Remove payer"),
            self.tr("Remove this payer? Batches already exported keep naming it."),
        )  # fmt: skip
        if answer == QMessageBox.StandardButton.Yes:
            self.ctx.run(remove_payer, None, self._failed_load, args=(pid,), origin=self)

    def edit_specialist(self) -> SpecialistDialog | None:
        uid = self._selected(self.specialist_view)
        s = self.settings
        user = next((u for u in s.specialists if u.id == uid), None) if s else None
        if user is None:
            return None
        dialog = SpecialistDialog(self.ctx, user, self)
        dialog.open()
        return dialog

    def clear(self) -> None:
        self.settings = None
        for fld in self.fields.values():
            set_value(fld.widget, "")
        self.payer_model.clear()
        self.specialist_model.clear()
