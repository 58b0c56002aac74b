"""The add / edit participant form.

Every field a specialist keeps about a person, grouped (who they are; program and
billing; dates; how to reach them; emergency contact). Saving checks the form
(app.domain.record_forms.check_participant) and shows each problem next to its
field without touching what was typed. The save itself runs on the database
worker (app.services.records.save_participant), which also looks for a
participant with the same first and last name and date of birth: the form then
shows who matches and the person can open that record or knowingly add a
different person with the same name and birthday.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtCore import Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtGui import QShortcut
from PySide6.QtWidgets import QCheckBox
from PySide6.QtWidgets import QDialogButtonBox
from PySide6.QtWidgets import QFrame
from PySide6.QtWidgets import QGroupBox
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.domain.address import PostalAddress
from app.domain.address import parse_one_line
from app.domain.record_forms import check_participant
from app.domain.records import ContactMethod
from app.domain.records import Participant
from app.domain.records import ParticipantStatus
from app.domain.records import Payer
from app.services.failures import message_for
from app.services.records import Duplicate
from app.services.records import SaveOutcome
from app.services.records import form_choices
from app.services.records import save_participant
from app.ui.common.forms import FormDialog
from app.ui.common.forms import align_form_labels
from app.ui.common.forms import combo
from app.ui.common.forms import date_edit
from app.ui.common.forms import form_group
from app.ui.common.forms import line_edit
from app.ui.common.forms import set_value
from app.ui.common.forms import wrapped_label
from app.ui.common.layouts import column
from app.ui.common.layouts import scrolled
from app.ui.common.text import plural

PRONOUNS = ("", "she/her", "he/him", "they/them", "she/they", "he/they")
STATES = ("ND", "MN", "SD", "MT", "WI", "IA")


def _iso(d: date | None) -> str:
    return d.isoformat() if d else ""


class ParticipantForm(FormDialog):
    """Add a participant (``participant`` None) or edit one."""

    saved = Signal(str)  # participant id

    def __init__(self, ctx: Any, participant: Participant | None = None, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.base = participant
        self.is_new = participant is None
        self.programs: list[str] = []
        self.allow_duplicate = False
        self.setObjectName("participantForm")
        self.setWindowTitle(
            self.tr("Add participant") if self.is_new else self.tr("Edit participant")
        )
        self.resize(760, 680)

        heading = QLabel(self.windowTitle())
        heading.setObjectName("pageTitle")
        intro = wrapped_label(
            self.tr("Only first and last name are needed now; fill in the rest when you know it.")
        )

        self.banner = wrapped_label(name="formError", hidden=True)
        self._build_duplicate_box()
        groups = (
            self._who_group(),
            self._billing_group(),
            self._dates_group(),
            self._contact_group(),
        )
        body = QWidget()
        body.setObjectName("formBody")
        blay = QVBoxLayout(body)
        blay.setContentsMargins(4, 4, 12, 4)
        blay.setSpacing(14)
        for g in groups:
            blay.addWidget(g)
        blay.addStretch(1)
        self.scroll = scrolled(body, "formScroll")
        self._build_buttons()

        column(
            heading, intro, self.banner, self.duplicate_box, (self.scroll, 1), self.buttons,
            parent=self, margins=(20, 16, 20, 16), spacing=10,
        )  # fmt: skip

        align_form_labels(body)  # the groups' fields line up
        for name in ("first_name", "last_name", "date_of_birth"):
            self.fields[name].widget.textEdited.connect(self._identity_edited)  # type: ignore[attr-defined]
        self.save_button.setEnabled(False)  # until the programs and payers are read
        if participant is not None:
            self._fill(participant)
        self.ctx.run(form_choices, self._with_choices, self._failed)

    # -- building ---------------------------------------------------------------------

    def _build_duplicate_box(self) -> None:
        """The warning shown when the name and date of birth are already in the vault."""
        self.duplicate_box = QFrame()
        self.duplicate_box.setObjectName("duplicateWarning")
        dup_layout = QVBoxLayout(self.duplicate_box)
        self.duplicate_text = QLabel()
        self.duplicate_text.setWordWrap(True)
        self.duplicate_text.setTextFormat(Qt.TextFormat.PlainText)
        dup_buttons = QHBoxLayout()
        self.open_existing_button = QPushButton(self.tr("Open the existing record"))
        self.open_existing_button.setAccessibleName(
            self.tr("Open the participant already in the vault")
        )
        self.open_existing_button.clicked.connect(self._open_existing)
        self.save_anyway_button = QPushButton(self.tr("It is a different person — save anyway"))
        self.save_anyway_button.setAccessibleName(
            self.tr("Save anyway: a different person with the same name and date of birth")
        )
        self.save_anyway_button.clicked.connect(self._save_anyway)
        dup_buttons.addWidget(self.open_existing_button)
        dup_buttons.addWidget(self.save_anyway_button)
        dup_buttons.addStretch(1)
        dup_layout.addWidget(self.duplicate_text)
        dup_layout.addLayout(dup_buttons)
        self.duplicate_box.hide()
        self._duplicates: list[Duplicate] = []

    def _who_group(self) -> QGroupBox:
        tr, f = self.tr, self.field
        return form_group(
            tr("Who they are"),
            [
                (tr("First name *"), f("first_name", line_edit(tr("First name")))),
                (tr("Last name *"), f("last_name", line_edit(tr("Last name")))),
                (
                    tr("Preferred name"),
                    f(
                        "preferred_name",
                        line_edit(tr("Preferred name"), tr("What they like to be called")),
                    ),
                ),
                (
                    tr("Pronouns"),
                    f("pronouns", combo(tr("Pronouns"), [(p, p) for p in PRONOUNS], editable=True)),
                ),
                (tr("Date of birth"), f("date_of_birth", date_edit(tr("Date of birth")))),
                (
                    tr("Sex on Medicaid card"),
                    f(
                        "administrative_sex",
                        combo(
                            tr("Sex as on the Medicaid card"),
                            [
                                (tr("Not recorded"), ""),
                                (tr("F — female"), "F"),
                                (tr("M — male"), "M"),
                                (tr("U — unknown"), "U"),
                            ],
                        ),
                        tr("As on the Medicaid card (claims need it); not gender identity."),
                    ),
                ),
                (
                    tr("Tribal affiliation"),
                    f(
                        "tribal_affiliation",
                        line_edit(tr("Tribal affiliation")),
                        tr("Optional and self-reported: only what the person chooses to share."),
                    ),
                ),
            ],
        )

    def _billing_group(self) -> QGroupBox:
        tr, f = self.tr, self.field
        program = combo(tr("Program"), [(tr("(none yet)"), "")])
        self.payer_combo = combo(tr("Payer"), [(tr("(none yet)"), "")])
        status = combo(
            tr("Status"), [(tr(s.value.capitalize()), s.value) for s in ParticipantStatus]
        )
        status.setCurrentIndex(status.findData(ParticipantStatus.ACTIVE.value))
        return form_group(
            tr("Program and billing"),
            [
                (tr("Status"), f("status", status)),
                (tr("Program"), f("program", program)),
                (tr("Payer"), f("payer_id", self.payer_combo)),
                (
                    tr("Medicaid ID"),
                    f("medicaid_id", line_edit(tr("Medicaid ID"), tr("6 to 14 letters or digits"))),
                ),
                (
                    tr("Diagnoses (ICD-10)"),
                    f(
                        "diagnoses",
                        line_edit(tr("Diagnoses, ICD-10 codes"), "F11.20; F33.1"),
                        tr("Primary first; separate codes with ;"),
                    ),
                ),
                (tr("County"), f("county", line_edit(tr("County")))),
                (tr("Referral source"), f("referral_source", line_edit(tr("Referral source")))),
            ],
        )

    def _dates_group(self) -> QGroupBox:
        tr, f = self.tr, self.field
        return form_group(
            tr("Dates"),
            [
                (tr("Intake"), f("intake_date", date_edit(tr("Intake date")))),
                (
                    tr("Recovery plan completed"),
                    f("recovery_plan_completed_on", date_edit(tr("Recovery plan completed on"))),
                ),
                (tr("Discharge"), f("discharge_date", date_edit(tr("Discharge date")))),
                (tr("Discharge reason"), f("discharge_reason", line_edit(tr("Discharge reason")))),
            ],
        )

    def _contact_group(self) -> QGroupBox:
        tr, f = self.tr, self.field
        methods = QWidget()
        methods.setAccessibleName(tr("Ways to contact"))
        mlay = QHBoxLayout(methods)
        mlay.setContentsMargins(0, 0, 0, 0)
        self.method_boxes: dict[str, QCheckBox] = {}
        for m in ContactMethod:
            box = QCheckBox(tr(m.value.capitalize()))
            box.setAccessibleName(tr("Contact by {0}").format(m.value))
            self.method_boxes[m.value] = box
            mlay.addWidget(box)
        mlay.addStretch(1)
        self.message_box = QCheckBox(tr("OK to leave a message"))
        self.message_box.setAccessibleName(tr("OK to leave a message"))
        return form_group(
            tr("How to reach them"),
            [
                (tr("Phone"), f("phone", line_edit(tr("Phone"), "701-555-0100"))),
                (tr("E-mail"), f("email", line_edit(tr("E-mail")))),
                (
                    tr("Street"),
                    f("address_line1", line_edit(tr("Street address")), self._old_address_hint()),
                ),
                (
                    tr("Second line"),
                    f("address_line2", line_edit(tr("Second address line"), tr("Apartment, unit"))),
                ),
                (tr("City"), f("city", line_edit(tr("City")))),
                (
                    tr("State"),
                    f("state", combo(tr("State"), [(s, s) for s in STATES], editable=True)),
                ),
                (tr("ZIP code"), f("zip_code", line_edit(tr("ZIP code"), "58501 or 58501-1234"))),
                (tr("Contact by"), methods),
                ("", self.message_box),
                (
                    tr("Best times"),
                    f(
                        "contact_best_times",
                        line_edit(tr("Best times to reach them"), tr("Mornings")),
                    ),
                ),
                (
                    tr("Emergency contact"),
                    f(
                        "emergency_contact",
                        line_edit(tr("Emergency contact"), tr("Name, relationship, phone")),
                    ),
                ),
            ],
        )

    def _old_address_hint(self) -> str:
        """A record's one-line address that could not be read in parts, shown so a
        person can enter it in parts (claims need the parts)."""
        p = self.base
        if p is None or p.address_line1 or not p.address or parse_one_line(p.address):
            return ""
        return self.tr("Written before on one line: {0}").format(p.address)

    def _build_buttons(self) -> None:
        self.buttons = QDialogButtonBox()
        self.save_button = self.buttons.addButton(
            self.tr("Add participant") if self.is_new else self.tr("Save changes"),
            QDialogButtonBox.ButtonRole.AcceptRole,
        )
        self.save_button.setObjectName("primary")
        self.save_button.setAccessibleName(self.tr("Save the participant (Ctrl+S)"))
        self.save_button.setDefault(True)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setAccessibleName(self.tr("Close without saving"))
        self.save_button.clicked.connect(self.submit)
        self.cancel_button.clicked.connect(self.reject)
        QShortcut(QKeySequence.StandardKey.Save, self, activated=self.submit)

    def _fill(self, p: Participant) -> None:
        text = {
            "first_name": p.first_name,
            "last_name": p.last_name,
            "preferred_name": p.preferred_name,
            "pronouns": p.pronouns,
            "date_of_birth": _iso(p.date_of_birth),
            "tribal_affiliation": p.tribal_affiliation,
            "status": p.status.value,
            "medicaid_id": p.medicaid_id,
            "diagnoses": "; ".join(p.diagnoses),
            "county": p.county,
            "state": p.state,
            "referral_source": p.referral_source,
            "intake_date": _iso(p.intake_date),
            "recovery_plan_completed_on": _iso(p.recovery_plan_completed_on),
            "discharge_date": _iso(p.discharge_date),
            "discharge_reason": p.discharge_reason,
            "phone": p.phone,
            "email": p.email,
            "administrative_sex": p.administrative_sex.value,
            "contact_best_times": p.contact_best_times,
            "emergency_contact": p.emergency_contact,
        }
        parts = PostalAddress(p.address_line1, p.address_line2, p.city, p.state, p.zip_code)
        parsed = None if p.address_line1 else parse_one_line(p.address)
        if parsed is not None and p.state.upper() in ("", parsed.state):
            parts = parsed  # an older record: its one-line address, read in parts
        text |= {"address_line1": parts.line1, "address_line2": parts.line2,
                 "city": parts.city, "state": parts.state, "zip_code": parts.zip_code}  # fmt: skip
        for name, value in text.items():
            set_value(self.fields[name].widget, value)
        for m, box in self.method_boxes.items():
            box.setChecked(m in p.contact_methods)
        self.message_box.setChecked(p.ok_to_leave_message)

    def _with_choices(self, choices: tuple[list[str], list[Payer]]) -> None:
        programs, payers = choices
        self.programs = programs
        program = self.fields["program"].widget
        for name in programs:
            program.addItem(name, name)  # type: ignore[attr-defined]
        for payer in payers:
            self.payer_combo.addItem(payer.name, payer.id)
        if self.base is not None:
            set_value(program, self.base.program)
            set_value(self.payer_combo, self.base.payer_id)
        self.save_button.setEnabled(True)

    # -- saving -------------------------------------------------------------------------

    def contact_methods(self) -> list[str]:
        return [m for m, box in self.method_boxes.items() if box.isChecked()]

    def check(self):
        known = list(self.programs)
        if self.base is not None and self.base.program:
            known.append(self.base.program)
        return check_participant(
            self.values(),
            contact_methods=self.contact_methods(),
            ok_to_leave_message=self.message_box.isChecked(),
            known_programs=known,
            today=date.today(),
            base=self.base,
        )

    def submit(self) -> None:
        if not self.save_button.isEnabled():
            return
        self.banner.hide()
        checked = self.check()
        if not checked.ok:
            self.show_problems(checked.problems)
            n = len(checked.problems)
            self.banner.setText(
                plural(
                    self,
                    n,
                    "Please fix the field marked below.",
                    "Please fix the %n fields marked below.",
                )
            )
            self.banner.show()
            return
        self.show_problems({})
        self.save_button.setEnabled(False)
        self.ctx.run(
            save_participant,
            self._saved,
            self._failed,
            args=(checked.record, self.is_new, self.allow_duplicate),
        )

    def _saved(self, outcome: SaveOutcome) -> None:
        self.save_button.setEnabled(True)
        if outcome.problems:
            self.show_problems(outcome.problems)
            self.banner.setText(self.tr("Please fix the field marked below."))
            self.banner.show()
            return
        if outcome.duplicates:
            self._show_duplicates(outcome.duplicates)
            return
        assert outcome.saved is not None
        self.ctx.status_message.emit(
            self.tr("Participant added.") if self.is_new else self.tr("Changes saved.")
        )
        self.saved.emit(outcome.saved.id)
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self.save_button.setEnabled(True)
        self.banner.setText(self.tr("Nothing was saved. ") + message_for(exc))
        self.banner.show()

    def _show_duplicates(self, dupes: list[Duplicate]) -> None:
        self._duplicates = dupes
        lines = [
            "  • " + " — ".join(x for x in (d.name, d.status.capitalize(), d.program) if x)
            for d in dupes
        ]
        self.duplicate_text.setText(
            self.tr(
                "A participant with the same first and last name and date of birth is "
                "already in your vault:"
            )
            + "\n"
            + "\n".join(lines)
            + "\n"
            + self.tr("Is this the same person? Nothing has been saved yet.")
        )
        self.duplicate_box.show()
        self.open_existing_button.setFocus()

    def _identity_edited(self, *_: object) -> None:
        """A changed name or birthday is a new question: ask about duplicates again."""
        self.allow_duplicate = False
        self.duplicate_box.hide()

    def _open_existing(self) -> None:
        if self._duplicates:
            self.ctx.open_participant.emit(self._duplicates[0].id)
        self.reject()

    def _save_anyway(self) -> None:
        self.allow_duplicate = True
        self.duplicate_box.hide()
        self.submit()
