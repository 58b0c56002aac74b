"""The Profile tab of a participant's record: contact, programme, payer and
Medicaid details, laid out in one or two columns as the width allows. Part of
:class:`app.ui.participant.participant_page.ParticipantPage`.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog
from PySide6.QtWidgets import QFormLayout
from PySide6.QtWidgets import QGridLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.domain.address import one_line
from app.domain.datetext import day_text
from app.domain.records import Participant
from app.ui.common.forms import form_rows
from app.ui.common.forms import wrapped_label
from app.ui.common.layouts import scrolled

SEX_TEXT = {"F": "F (female)", "M": "M (male)", "U": "U (unknown)"}


def _address_text(p: Participant) -> str:
    """The address in parts on one line, else the one-line address as written."""
    if p.address_line1:
        return one_line(p.address_line1, p.address_line2, p.city, p.state, p.zip_code)
    return p.address


def value_label() -> QLabel:
    lab = wrapped_label(name="profileValue")
    lab.setTextFormat(Qt.TextFormat.PlainText)
    lab.setTextInteractionFlags(
        Qt.TextInteractionFlag.TextSelectableByMouse
        | Qt.TextInteractionFlag.TextSelectableByKeyboard
    )
    return lab


class ProfileTabMixin:
    """The Profile tab (built, arranged, filled) and its Edit action."""

    def _profile_tab(self) -> QWidget:
        tr = self.tr
        self.profile: dict[str, QLabel] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(24)
        columns = (
            [
                ("preferred", tr("Preferred name")),
                ("pronouns", tr("Pronouns")),
                ("dob", tr("Date of birth")),
                ("sex", tr("Sex (Medicaid card)")),
                ("tribal", tr("Tribal affiliation")),
                ("status", tr("Status")),
                ("program", tr("Program")),
                ("payer", tr("Payer")),
                ("medicaid", tr("Medicaid ID")),
                ("diagnoses", tr("Diagnoses")),
                ("place", tr("County")),
            ],
            [
                ("phone", tr("Phone")),
                ("email", tr("E-mail")),
                ("address", tr("Address")),
                ("methods", tr("Contact by")),
                ("times", tr("Best times")),
                ("message", tr("Leave a message")),
                ("emergency", tr("Emergency contact")),
                ("referral", tr("Referral source")),
                ("dates", tr("Intake")),
                ("plan", tr("Recovery plan")),
                ("discharge", tr("Discharge")),
            ],
        )
        self.profile_grid = grid
        self.profile_forms: list[QFormLayout] = []
        for c, rows in enumerate(columns):
            for key, label in rows:
                self.profile[key] = value = value_label()
                value.setAccessibleName(label)
            form = form_rows([(label, self.profile[k]) for k, label in rows], None, 12, False)
            form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
            self.profile_forms.append(form)
            grid.addLayout(form, 0, c, Qt.AlignmentFlag.AlignTop)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        body = QWidget()
        body.setObjectName("tabBody")
        v = QVBoxLayout(body)
        v.setContentsMargins(16, 16, 16, 16)
        v.addLayout(grid)
        v.addStretch(1)
        scroll = scrolled(body)
        self.profile_scroll = scroll
        scroll.viewport().installEventFilter(self)
        return scroll

    def _arrange_profile(self) -> None:
        """The profile's two columns side by side when both fit, else one below the
        other."""
        room = self.profile_scroll.viewport().width() - 32
        need = self.fontMetrics().averageCharWidth() * 84  # two labels and two values
        columns = 2 if room >= need else 1
        placed = self.profile_grid.itemAtPosition(0, 1) is not None
        if (columns == 2) != placed:
            for form in self.profile_forms:
                self.profile_grid.removeItem(form)
            for i, form in enumerate(self.profile_forms):
                row, col = (0, i) if columns == 2 else (i, 0)
                self.profile_grid.addLayout(form, row, col, Qt.AlignmentFlag.AlignTop)
            self.profile_grid.setColumnStretch(1, 1 if columns == 2 else 0)
        body = self.profile_scroll.widget().layout()
        body.invalidate()  # a tab hidden while resized keeps its old geometry otherwise
        body.activate()

    def _show_profile(self, p: Participant, payer_name: str) -> None:
        tr = self.tr
        today = date.today()
        age = ""
        if p.date_of_birth:
            b = p.date_of_birth
            years = today.year - b.year - ((today.month, today.day) < (b.month, b.day))
            age = tr("{0} (age {1})").format(day_text(b), years)
        dash = "—"
        values = {
            "preferred": p.preferred_name or dash,
            "pronouns": p.pronouns or dash,
            "dob": age or dash,
            "tribal": p.tribal_affiliation or tr("Not shared"),
            "status": p.status.value.capitalize(),
            "program": p.program or dash,
            "payer": payer_name or dash,
            "medicaid": p.medicaid_id or tr("Missing: services cannot be billed to Medicaid"),
            "diagnoses": "; ".join(p.diagnoses) or dash,
            "place": ", ".join(x for x in (p.county, p.state) if x) or dash,
            "phone": p.phone or dash,
            "email": p.email or dash,
            "address": _address_text(p) or dash,
            "sex": SEX_TEXT.get(p.administrative_sex.value, "") or tr("Not recorded"),
            "methods": ", ".join(p.contact_methods) or dash,
            "times": p.contact_best_times or dash,
            "message": tr("Yes") if p.ok_to_leave_message else tr("No"),
            "emergency": p.emergency_contact or dash,
            "referral": p.referral_source or dash,
            "dates": day_text(p.intake_date) or dash,
            "plan": tr("Completed {0}").format(day_text(p.recovery_plan_completed_on))
            if p.recovery_plan_completed_on
            else tr("Not completed yet"),
            "discharge": " — ".join(
                x for x in (day_text(p.discharge_date), p.discharge_reason) if x
            )
            or dash,
        }
        for key, text in values.items():
            self.profile[key].setText(text)

    def edit_profile(self) -> QDialog | None:
        if self.record is None:
            return None
        from app.ui.caseload.participant_form import ParticipantForm

        return self._keep(ParticipantForm(self.ctx, self.record.participant, parent=self))
