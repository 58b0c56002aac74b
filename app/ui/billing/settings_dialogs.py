"""The Billing settings screen's dialogs: add or edit a payer, and a specialist's
claim details (first and last name as on the NPI record, credential, NPI,
taxonomy). Each field's problem is shown next to it; the save runs on the
database worker (app.services.billing_settings) and a refused save keeps what
was typed."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QDialogButtonBox
from PySide6.QtWidgets import QGroupBox
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.billing.codes import code_tables
from app.billing.settings import FILING_CODES
from app.domain.records import ClaimGrouping
from app.domain.records import Credential
from app.domain.records import Payer
from app.domain.records import RoundingRuleName
from app.domain.records import User
from app.services.billing_settings import SettingsRefused
from app.services.billing_settings import payer_values
from app.services.billing_settings import save_payer
from app.services.billing_settings import save_specialist
from app.services.failures import message_for
from app.ui.common.forms import FormDialog
from app.ui.common.forms import align_form_labels
from app.ui.common.forms import combo
from app.ui.common.forms import form_group
from app.ui.common.forms import line_edit
from app.ui.common.forms import set_value
from app.ui.common.forms import wrapped_label
from app.ui.common.layouts import scrolled

ROUNDING = {
    RoundingRuleName.CMS_8_MINUTE: "CMS 8-minute rule",
    RoundingRuleName.WHOLE_UNITS: "Whole units only (drop a part unit)",
    RoundingRuleName.ANY_PART: "Any part of a unit counts",
}
UNIT_BASIS = (("Agency default (code tables)", ""), ("Each service on its own", "per_service"),
              ("The day's total minutes", "day_total"))  # fmt: skip


class _SettingsDialog(FormDialog):
    """Shared: heading, banner, scrolled groups, Save/Cancel; saving on the worker."""

    def _layout(self, title: str, groups: list[QGroupBox], save_text: str) -> None:
        self.setWindowTitle(title)
        heading = QLabel(title)
        heading.setObjectName("pageTitle")
        self.banner = wrapped_label(name="formError", hidden=True)
        body = QWidget()
        blay = QVBoxLayout(body)
        blay.setContentsMargins(4, 4, 12, 4)
        for g in groups:
            blay.addWidget(g)
        blay.addStretch(1)
        scroll = scrolled(body)
        self.buttons = QDialogButtonBox()
        self.save_button = self.buttons.addButton(save_text, QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_button.setObjectName("primary")
        self.save_button.setDefault(True)
        cancel = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.save_button.clicked.connect(self.submit)
        cancel.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.addWidget(heading)
        layout.addWidget(self.banner)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.buttons)
        align_form_labels(body)

    def submit(self) -> None:
        raise NotImplementedError

    def _failed(self, exc: BaseException) -> None:
        self.save_button.setEnabled(True)
        if isinstance(exc, SettingsRefused):
            self.show_problems(exc.problems)
        self.banner.setText(str(exc) if isinstance(exc, SettingsRefused) else message_for(exc))
        self.banner.show()

    def _saved(self, _result: Any) -> None:
        self.save_button.setEnabled(True)
        self.accept()


class PayerDialog(_SettingsDialog):
    """Add a payer (``payer`` None) or edit one."""

    def __init__(self, ctx: Any, payer: Payer | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx, self.payer = ctx, payer
        self.setObjectName("payerDialog")
        self.resize(700, 720)
        tr, f = self.tr, self.field
        places = ", ".join(sorted(code_tables().places_of_service))
        ident = form_group(tr("Payer"), [
            (tr("Name *"), f("name", line_edit(tr("Payer name")))),
            (tr("Payer id"), f("payer_id", line_edit(tr("Payer id"), "NDMCD"),
                               tr("The payer's id on claims (2010BB), 2 to 15 letters or digits"))),
            (tr("Program"), f("funding_stream", line_edit(tr("Program or funding stream")))),
            (tr("Receiver id"), f("receiver_id", line_edit(tr("Receiver id")),
                                  tr("Who the file goes to (ISA08): the state or clearinghouse"))),
            (tr("Receiver name"), f("receiver_name", line_edit(tr("Receiver name")))),
            (tr("Files"), f("usage_indicator", combo(tr("Test or production files"), [
                (tr("T — test files (while the payer tests them)"), "T"),
                (tr("P — production"), "P")]))),
            (tr("Claim filing code"), f("claim_filing_code", combo(
                tr("Claim filing code"), [(c, c) for c in sorted(FILING_CODES)]),
                tr("MC is Medicaid"))),
        ])  # fmt: skip
        units = form_group(tr("Rate and units"), [
            (tr("Rate per unit"), f("rate", line_edit(tr("Rate per unit in dollars"), "16.50"))),
            (tr("Minutes in a unit"), f("unit_minutes", line_edit(tr("Minutes in a unit"), "15"))),
            (tr("Rounding rule"), f("rounding_rule", combo(
                tr("Rounding rule"), [(tr(t), r.value) for r, t in ROUNDING.items()]))),
            (tr("Units counted from"), f("unit_basis", combo(
                tr("Units counted from"), [(tr(t), v) for t, v in UNIT_BASIS]))),
            (tr("Most units a day"), f("max_units_per_day", line_edit(
                tr("Most units a day"), "0"), tr("0: no daily cap"))),
            (tr("Timely filing (days)"), f("timely_filing_days", line_edit(
                tr("Timely filing in days"), "365"), tr("0: no limit"))),
            (tr("One claim per"), f("claim_grouping", combo(tr("One claim per"), [
                (tr("Person and day"), ClaimGrouping.PER_DAY.value),
                (tr("Person and month"), ClaimGrouping.PER_MONTH.value)]))),
            (tr("Needs consent"), f("requires_consent", combo(
                tr("Needs a consent on file"), [(tr("No"), "no"), (tr("Yes"), "yes")]))),
        ])  # fmt: skip
        mods = form_group(tr("Modifiers and telehealth"), [
            (tr("Allowed modifiers"), f("allowed_modifiers", line_edit(
                tr("Allowed modifiers"), "HQ, 95, 93"), tr("Empty: any in the code table"))),
            (tr("Telehealth places"), f("telehealth_places", line_edit(
                tr("Telehealth places of service"), "02, 10"),
                tr("Empty: the agency default. Known: {0}").format(places))),
            (tr("Video modifiers"), f("video_modifiers", line_edit(
                tr("Audio and video telehealth modifiers"), "95"), tr("Empty: default (95, GT)"))),
            (tr("Audio-only modifiers"), f("audio_modifiers", line_edit(
                tr("Audio-only telehealth modifiers"), "93"), tr("Empty: default (93)"))),
        ])  # fmt: skip
        self._layout(tr("Edit payer") if payer else tr("Add payer"), [ident, units, mods],
                     tr("Save payer"))  # fmt: skip
        defaults = payer_values(payer or Payer(name=""))
        if payer is None:
            defaults["rate"] = ""
        for name, fld in self.fields.items():
            set_value(fld.widget, defaults[name])

    def submit(self) -> None:
        self.banner.hide()
        self.save_button.setEnabled(False)
        args = (self.values(), self.payer.id if self.payer else None)
        self.ctx.run(save_payer, self._saved, self._failed, args=args, origin=self)


class SpecialistDialog(_SettingsDialog):
    """A specialist's claim details."""

    def __init__(self, ctx: Any, user: User, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.user = ctx, user
        self.setObjectName("specialistDialog")
        self.resize(560, 420)
        tr, f = self.tr, self.field
        group = form_group(tr("On claims (2310B rendering provider)"), [
            (tr("First name"), f("first_name", line_edit(tr("First name")),
                                 tr("As on the NPI record"))),
            (tr("Last name"), f("last_name", line_edit(tr("Last name")),
                                tr("Whole, e.g. de la Cruz"))),
            (tr("Credential"), f("credential", combo(
                tr("Credential"), [(c.value or tr("(none)"), c.value) for c in Credential]))),
            (tr("NPI"), f("npi", line_edit(tr("NPI"), "10 digits"))),
            (tr("Taxonomy"), f("taxonomy", line_edit(tr("Taxonomy"), "175T00000X"),
                               tr("Empty: the agency's taxonomy"))),
        ])  # fmt: skip
        self._layout(tr("Claim details: {0}").format(user.display_name or user.username),
                     [group], tr("Save"))  # fmt: skip
        for name in ("first_name", "last_name", "npi", "taxonomy"):
            set_value(self.fields[name].widget, getattr(user, name))
        set_value(self.fields["credential"].widget, user.credential.value)

    def submit(self) -> None:
        self.banner.hide()
        self.save_button.setEnabled(False)
        args = (self.user.id, self.values())
        self.ctx.run(save_specialist, self._saved, self._failed, args=args, origin=self)
