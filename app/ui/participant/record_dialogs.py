"""The participant record's smaller forms: add a consent, revoke one, add or edit a
goal, add a BARC-10. Each checks what was typed with app.domain.record_forms,
shows problems next to the fields (keeping every character), saves on the
database worker and then tells the other screens what changed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtCore import Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtGui import QShortcut
from PySide6.QtWidgets import QButtonGroup
from PySide6.QtWidgets import QDialogButtonBox
from PySide6.QtWidgets import QFormLayout
from PySide6.QtWidgets import QGridLayout
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QPlainTextEdit
from PySide6.QtWidgets import QRadioButton
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.domain.record_forms import Checked
from app.domain.record_forms import check_barc10
from app.domain.record_forms import check_consent
from app.domain.record_forms import check_goal
from app.domain.record_forms import check_revocation
from app.domain.records import BARC10_ITEMS
from app.domain.records import Consent
from app.domain.records import ConsentKind
from app.domain.records import Goal
from app.domain.records import GoalStatus
from app.domain.records import RecoveryDomain
from app.services import records
from app.services.failures import message_for
from app.ui.common.forms import Field
from app.ui.common.forms import FormDialog
from app.ui.common.forms import combo
from app.ui.common.forms import date_edit
from app.ui.common.forms import form_rows
from app.ui.common.forms import line_edit
from app.ui.common.forms import set_value
from app.ui.common.forms import wrapped_label
from app.ui.common.layouts import column
from app.ui.common.layouts import scrolled


class _RecordDialog(FormDialog):
    """Heading, a body, an error banner and Save / Cancel (Ctrl+S saves)."""

    saved = Signal(object)  # the record written

    def __init__(self, ctx: Any, title: str, save_text: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(title)
        heading = QLabel(title)
        heading.setObjectName("dialogTitle")
        self.banner = wrapped_label(name="formError", hidden=True)
        self.body = QVBoxLayout()
        self.buttons = QDialogButtonBox()
        self.save_button = self.buttons.addButton(save_text, QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_button.setObjectName("primary")
        self.save_button.setDefault(True)
        self.save_button.setAccessibleName(save_text + " (Ctrl+S)")
        cancel = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAccessibleName(self.tr("Close without saving"))
        self.save_button.clicked.connect(self.submit)
        cancel.clicked.connect(self.reject)
        QShortcut(QKeySequence.StandardKey.Save, self, activated=self.submit)
        column(
            heading, self.banner, (self.body, 1), self.buttons,
            parent=self, margins=(20, 16, 20, 16), spacing=10,
        )  # fmt: skip

    def form(self, rows: list[tuple[str, QWidget]]) -> QFormLayout:
        return form_rows(rows)

    def check(self) -> Checked:
        raise NotImplementedError

    def write(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        """(the service that writes, its arguments); the service says what it changed."""
        raise NotImplementedError

    def submit(self) -> None:
        if not self.save_button.isEnabled():
            return
        checked = self.check()
        if not checked.ok:
            self.show_problems(checked.problems)
            self.banner.setText(self.tr("Please fix what is marked below; nothing was saved yet."))
            self.banner.show()
            return
        self.show_problems({})
        self.banner.hide()
        self.checked = checked
        fn, args = self.write()
        self.save_button.setEnabled(False)

        def done(record: Any) -> None:
            self.saved.emit(record)
            self.accept()

        def failed(exc: BaseException) -> None:
            self.save_button.setEnabled(True)
            self.banner.setText(self.tr("Nothing was saved. ") + message_for(exc))
            self.banner.show()

        self.ctx.run(fn, done, failed, args=args)


class ConsentDialog(_RecordDialog):
    def __init__(self, ctx: Any, participant_id: str, parent: QWidget | None = None):
        super().__init__(ctx, self.tr("Add consent"), self.tr("Add consent"), parent)
        self.setObjectName("consentDialog")
        self.participant_id = participant_id
        self.resize(620, 560)
        tr, f = self.tr, self.field
        kind = combo(tr("Kind of consent"), [(k.value, k.value) for k in ConsentKind])
        scope = QPlainTextEdit()
        scope.setAccessibleName(tr("What information, and how much"))
        scope.setTabChangesFocus(True)
        scope.setFixedHeight(70)
        self.body.addLayout(
            self.form(
                [
                    (tr("Kind"), f("kind", kind)),
                    (
                        tr("Who may disclose"),
                        f("disclosing_party", line_edit(tr("Who may disclose"))),
                    ),
                    (tr("To whom"), f("recipient", line_edit(tr("Recipient")))),
                    (tr("Purpose"), f("purpose", line_edit(tr("Purpose of the disclosure")))),
                    (tr("What information"), f("information_scope", scope)),
                    (tr("Signed on"), f("signed_on", date_edit(tr("Signed on")))),
                    (tr("Expires on"), f("expires_on", date_edit(tr("Expires on")))),
                    (
                        tr("Or ends when"),
                        f(
                            "expiry_event",
                            line_edit(tr("Expiry event"), tr("e.g. at discharge from the program")),
                            tr("42 CFR Part 2 consents need an expiry date or an event."),
                        ),
                    ),
                ]
            )
        )
        self.fields["signed_on"].widget.setText(date.today().isoformat())  # type: ignore[attr-defined]

    def check(self) -> Checked:
        return check_consent(self.values(), participant_id=self.participant_id, today=date.today())

    def write(self):
        return records.add_consent, (self.checked.record,)


class RevokeDialog(_RecordDialog):
    def __init__(self, ctx: Any, consent: Consent, parent: QWidget | None = None):
        super().__init__(ctx, self.tr("Revoke consent"), self.tr("Revoke consent"), parent)
        self.setObjectName("revokeDialog")
        self.consent = consent
        self.resize(560, 360)
        tr, f = self.tr, self.field
        about = QLabel(
            tr(
                "Consent to disclose to {0} ({1}). Revoking it stops disclosures"
                " from the date below."
            ).format(consent.recipient or tr("the recipient"), consent.kind.value)
        )
        about.setWordWrap(True)
        about.setTextFormat(Qt.TextFormat.PlainText)
        note = QPlainTextEdit()
        note.setAccessibleName(tr("Revocation note"))
        note.setTabChangesFocus(True)
        note.setPlaceholderText(tr("How and when the participant revoked it (spoken, in writing…)"))
        self.body.addWidget(about)
        self.body.addLayout(
            self.form(
                [
                    (tr("Revoked on"), f("revoked_on", date_edit(tr("Revoked on")))),
                    (tr("Note"), f("revocation_note", note)),
                ]
            )
        )
        self.fields["revoked_on"].widget.setText(date.today().isoformat())  # type: ignore[attr-defined]

    def check(self) -> Checked:
        return check_revocation(self.consent, self.values(), today=date.today())

    def write(self):
        r = self.checked.record
        return records.revoke_consent, (r.id, r.revoked_on, r.revocation_note)


class GoalDialog(_RecordDialog):
    def __init__(
        self,
        ctx: Any,
        participant_id: str,
        goal: Goal | None = None,
        domain: RecoveryDomain | None = None,
        parent: QWidget | None = None,
    ):
        title = self.tr("Add goal") if goal is None else self.tr("Edit goal")
        super().__init__(ctx, title, self.tr("Save goal"), parent)
        self.setObjectName("goalDialog")
        self.participant_id = participant_id
        self.goal = goal
        self.resize(640, 580)
        tr, f = self.tr, self.field
        statement = QPlainTextEdit()
        statement.setAccessibleName(tr("The goal, in the participant's own words"))
        statement.setTabChangesFocus(True)
        statement.setFixedHeight(80)
        self.steps_edit = QPlainTextEdit()
        self.steps_edit.setAccessibleName(tr("Steps, one per line"))
        self.steps_edit.setTabChangesFocus(True)
        self.steps_edit.setPlaceholderText(tr("One step per line"))
        self.body.addLayout(
            self.form(
                [
                    (
                        tr("Domain"),
                        f(
                            "domain",
                            combo(
                                tr("Recovery domain"), [(d.value, d.value) for d in RecoveryDomain]
                            ),
                        ),
                    ),
                    (tr("Goal"), f("statement", statement, tr("In the participant's own words."))),
                    (tr("Steps"), f("steps", self.steps_edit)),
                    (
                        tr("Status"),
                        f(
                            "status",
                            combo(
                                tr("Goal status"),
                                [(s.value.capitalize(), s.value) for s in GoalStatus],
                            ),
                        ),
                    ),
                    (tr("Started"), f("started_on", date_edit(tr("Started on")))),
                    (tr("Target date"), f("target_date", date_edit(tr("Target date")))),
                ]
            )
        )
        if goal is not None:
            set_value(self.fields["domain"].widget, goal.domain.value)
            set_value(statement, goal.statement)
            self.steps_edit.setPlainText("\n".join(goal.steps))
            set_value(self.fields["status"].widget, goal.status.value)
            set_value(
                self.fields["started_on"].widget,
                goal.started_on.isoformat() if goal.started_on else "",
            )
            set_value(
                self.fields["target_date"].widget,
                goal.target_date.isoformat() if goal.target_date else "",
            )
        else:
            if domain is not None:
                set_value(self.fields["domain"].widget, domain.value)
            set_value(self.fields["started_on"].widget, date.today().isoformat())

    def check(self) -> Checked:
        values = self.values()
        return check_goal(
            values,
            steps_text=values.pop("steps"),
            participant_id=self.participant_id,
            today=date.today(),
            base=self.goal,
        )

    def write(self):
        return records.save_goal, (self.checked.record, self.goal is None)


class Barc10Dialog(_RecordDialog):
    """Ten statements, each answered 1 (strongly disagree) to 6 (strongly agree)."""

    SCALE = (
        "Strongly disagree",
        "Disagree",
        "Somewhat disagree",
        "Somewhat agree",
        "Agree",
        "Strongly agree",
    )

    def __init__(self, ctx: Any, participant_id: str, parent: QWidget | None = None):
        super().__init__(ctx, self.tr("Add BARC-10"), self.tr("Save BARC-10"), parent)
        self.setObjectName("barcDialog")
        self.participant_id = participant_id
        self.resize(820, 700)
        tr = self.tr
        self.date_field = self.field("assessed_on", date_edit(tr("Date of the assessment")))
        self.date_field.widget.setText(date.today().isoformat())  # type: ignore[attr-defined]
        self.total_label = QLabel()
        self.total_label.setObjectName("barcTotal")
        top = QHBoxLayout()
        top.addLayout(self.form([(tr("Date"), self.date_field)]), 1)
        top.addWidget(self.total_label)
        self.body.addLayout(top)
        scale = QLabel(tr("1 = strongly disagree … 6 = strongly agree"))
        scale.setObjectName("hint")
        self.body.addWidget(scale)

        items = QWidget()
        grid = QGridLayout(items)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(4)
        grid.setColumnStretch(0, 1)
        self.groups: list[QButtonGroup] = []
        self.item_fields: list[Field] = []
        for i, text in enumerate(BARC10_ITEMS):
            label = QLabel(f"{i + 1}. {tr(text)}")
            label.setWordWrap(True)
            row = QWidget()
            row.setAccessibleName(tr("Item {0}").format(i + 1))
            rl = QHBoxLayout(row)
            rl.setContentsMargins(0, 0, 0, 0)
            group = QButtonGroup(self)
            for score in range(1, 7):
                b = QRadioButton(str(score))
                b.setAccessibleName(
                    tr("Item {0}: {1} ({2})").format(i + 1, score, tr(self.SCALE[score - 1]))
                )
                group.addButton(b, score)
                rl.addWidget(b)
            group.idClicked.connect(lambda _id, n=i: self._answered(n))
            self.groups.append(group)
            fld = Field(label)
            self.fields[f"item{i + 1}"] = fld
            self.item_fields.append(fld)
            grid.addWidget(fld, i, 0)
            grid.addWidget(row, i, 1, Qt.AlignmentFlag.AlignTop)
        scroll = scrolled(items)
        self.body.addWidget(scroll, 1)
        self._update_total()

    def values(self) -> dict[str, str]:
        return {"assessed_on": self.date_field.widget.text()}  # type: ignore[attr-defined]

    def scores(self) -> list[int | None]:
        return [g.checkedId() if g.checkedId() > 0 else None for g in self.groups]

    def set_scores(self, scores: list[int]) -> None:
        for g, s in zip(self.groups, scores, strict=True):
            g.button(s).setChecked(True)
        self._update_total()

    def _answered(self, n: int) -> None:
        self.item_fields[n].set_error("")
        self._update_total()

    def _update_total(self) -> None:
        s = self.scores()
        answered = [x for x in s if x is not None]
        self.total_label.setText(
            self.tr("Total {0} of 60 ({1} of 10 answered)").format(sum(answered), len(answered))
        )

    def check(self) -> Checked:
        return check_barc10(
            self.scores(),
            self.date_field.widget.text(),  # type: ignore[attr-defined]
            participant_id=self.participant_id,
            assessed_by_id=self.ctx.user.id,
            today=date.today(),
        )

    def write(self):
        return records.add_barc10, (self.checked.record,)
