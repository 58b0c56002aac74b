"""The supervision session form: format, date and length, modality, the specialists
who took part, topics, cases reviewed, action items and the next session; filled
from a session, read back into one, locked once signed. Part of
:class:`app.ui.supervision.supervision_page.SupervisionPage`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from PySide6.QtCore import QDate
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QCheckBox
from PySide6.QtWidgets import QComboBox
from PySide6.QtWidgets import QDateEdit
from PySide6.QtWidgets import QFormLayout
from PySide6.QtWidgets import QGridLayout
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QListWidget
from PySide6.QtWidgets import QListWidgetItem
from PySide6.QtWidgets import QPlainTextEdit
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QScrollArea
from PySide6.QtWidgets import QSizePolicy
from PySide6.QtWidgets import QSpinBox
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.domain.datetext import day_text
from app.domain.datetext import moment_text
from app.domain.records import Modality
from app.domain.records import SupervisionFormat
from app.domain.records import SupervisionSession
from app.domain.supervision import MAX_SESSION_MINUTES
from app.domain.supervision import TOPICS
from app.ui.common.date_picker import qt_date_format
from app.ui.common.forms import wrapped_label
from app.ui.common.supervisor_widgets import plural
from app.ui.supervision.models import ID_ROLE


def _error_label() -> QLabel:
    label = wrapped_label(name="fieldError", hidden=True)
    return label


class SessionFormMixin:
    """The session form of the supervision page."""

    def _build_form(self) -> QWidget:
        """The session form in a scroll area, with Save under it (laid out; the
        fields are made by _make_form_fields)."""
        self._make_form_fields()
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)

        def field(widget: QWidget, key: str | None = None) -> QWidget:
            if key is None:
                return widget
            box = QWidget()
            v = QVBoxLayout(box)
            v.setContentsMargins(0, 0, 0, 0)
            v.setSpacing(2)
            v.addWidget(widget)
            v.addWidget(self.errors[key])
            return box

        when = QWidget()
        wl = QHBoxLayout(when)
        wl.setContentsMargins(0, 0, 0, 0)
        wl.addWidget(self.session_date, 1)
        wl.addWidget(self.minutes)
        # Format and modality on rows of their own: side by side they made the form
        # too wide to share the page with the list.
        nxt = QWidget()
        nl = QHBoxLayout(nxt)
        nl.setContentsMargins(0, 0, 0, 0)
        nl.addWidget(self.has_next)
        nl.addWidget(self.next_date, 1)
        labels = (
            (self.tr("Format"), field(self.format)),
            (self.tr("How"), field(self.modality)),
            (self.tr("When"), field(when, "minutes")),
            (self.tr("With"), field(self.specialists, "specialist_ids")),
            (self.tr("Topics"), field(self.topics_box, "topics")),
            (self.tr("Cases"), field(self.cases)),
            (self.tr("Actions"), field(self.actions)),
            (self.tr("Next"), field(nxt, "next_date")),
        )
        for text, widget in labels:
            label = QLabel(text)
            label.setObjectName("fieldLabel")
            label.setBuddy(widget)
            form.addRow(label, widget)
        form.addRow("", self.errors["session_date"])

        form_box = QWidget()
        form_box.setObjectName("sessionForm")
        fv = QVBoxLayout(form_box)
        fv.setContentsMargins(12, 4, 12, 8)
        fv.addWidget(self.form_title)
        fv.addWidget(self.form_state)
        # The fields, hidden while a specialist has no session chosen (an empty,
        # greyed form with placeholder dates read as broken).
        self.form_fields = QWidget()
        self.form_fields.setLayout(form)
        form.setContentsMargins(0, 0, 0, 0)
        fv.addWidget(self.form_fields)
        fv.addStretch(1)
        scroll = QScrollArea()
        scroll.setObjectName("sessionFormScroll")
        scroll.setWidgetResizable(True)
        scroll.setWidget(form_box)
        # The message and "Save session" stay under the form, never scrolled out of
        # sight however long the form is.
        pane = QWidget()
        pane.setObjectName("sessionFormPane")
        pv = QVBoxLayout(pane)
        pv.setContentsMargins(0, 0, 0, 0)
        pv.setSpacing(6)
        pv.addWidget(scroll, 1)
        pv.addWidget(self.form_error)
        fb = QHBoxLayout()
        fb.addStretch(1)
        fb.addWidget(self.save_button)
        pv.addLayout(fb)
        self.form_inputs: list[QWidget] = [
            self.format, self.session_date, self.minutes, self.modality, self.specialists,
            *self.topic_boxes.values(), self.cases, self.actions, self.has_next, self.next_date,
            self.save_button,
        ]  # fmt: skip
        self.form_scroll = scroll
        self.form_box = form_box
        return pane

    def _make_form_fields(self) -> None:
        self.form_title = QLabel(self.tr("New session"))
        self.form_title.setObjectName("sectionTitle")
        self.form_state = wrapped_label()
        self.format = QComboBox()
        self.format.setAccessibleName(self.tr("Format"))
        for f in SupervisionFormat:
            self.format.addItem(self.tr(str(f).capitalize()), f.value)
        self.session_date = QDateEdit()
        self.session_date.setAccessibleName(self.tr("Date of the session"))
        self.session_date.setCalendarPopup(True)
        self.session_date.setDisplayFormat(qt_date_format())
        self.minutes = QSpinBox()
        self.minutes.setAccessibleName(self.tr("Minutes"))
        self.minutes.setRange(0, MAX_SESSION_MINUTES)
        self.minutes.setSingleStep(15)
        self.minutes.setSuffix(self.tr(" min"))
        self.modality = QComboBox()
        self.modality.setAccessibleName(self.tr("Modality"))
        for m in Modality:
            self.modality.addItem(self.tr(str(m).capitalize()), m.value)
        self.specialists = QListWidget()
        self.specialists.setObjectName("sessionSpecialists")
        self.specialists.setAccessibleName(self.tr("Specialists who took part"))
        self.specialists.itemChanged.connect(self._refill_cases)
        self.topic_boxes: dict[str, QCheckBox] = {}
        self.topics_box = topics = QWidget()
        tg = QGridLayout(topics)
        tg.setContentsMargins(0, 0, 0, 0)
        for i, t in enumerate(TOPICS):
            box = QCheckBox(self.tr(t.capitalize()))
            box.setAccessibleName(self.tr("Topic: {topic}").format(topic=t))
            self.topic_boxes[t] = box
            tg.addWidget(box, i, 0)  # one column: two made the form too wide for its pane
        self.cases = QListWidget()
        self.cases.setObjectName("sessionCases")
        self.cases.setAccessibleName(self.tr("Cases reviewed"))
        self.actions = QPlainTextEdit()
        self.actions.setAccessibleName(self.tr("Action items"))
        self.actions.setPlaceholderText(self.tr("What each person will do before the next session"))
        line = self.fontMetrics().lineSpacing()
        self.actions.setFixedHeight(line * 3 + 20)
        self.specialists.setFixedHeight(line * 4 + 16)
        self.cases.setFixedHeight(line * 5 + 16)
        self.has_next = QCheckBox(self.tr("Next session on"))
        self.has_next.setAccessibleName(self.tr("A next session is planned"))
        self.next_date = QDateEdit()
        self.next_date.setAccessibleName(self.tr("Date of the next session"))
        self.next_date.setCalendarPopup(True)
        self.next_date.setDisplayFormat(qt_date_format())
        self.has_next.toggled.connect(self.next_date.setEnabled)
        self.errors = {
            k: _error_label()
            for k in ("specialist_ids", "minutes", "session_date", "topics", "next_date")
        }
        self.form_error = wrapped_label(name="error", hidden=True)
        self.save_button = QPushButton(self.tr("Save session"))
        self.save_button.setObjectName("primary")
        self.save_button.setAccessibleName(self.tr("Save the session"))
        self.save_button.setShortcut(QKeySequence("Ctrl+S"))
        self.save_button.setToolTip(self.tr("Save (Ctrl+S)"))
        self.save_button.clicked.connect(self.save)

        # Narrow enough for the form and the list to share the page without sideways
        # scroll bars: combos and dates no wider than what they show needs.
        for combo, chars in ((self.format, 8), (self.modality, 10)):
            combo.setMinimumContentsLength(chars)
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
        date_w = self.fontMetrics().horizontalAdvance(day_text(date(2026, 9, 30))) + 48
        for d in (self.session_date, self.next_date):
            d.setMinimumWidth(date_w)
            d.setSizePolicy(QSizePolicy.Policy.Ignored, d.sizePolicy().verticalPolicy())

    def _fill_form(self, s: SupervisionSession) -> None:
        self._clear_errors()
        self.form_fields.show()
        self.form_title.setText(self.tr("Session of {day}").format(day=day_text(s.session_date)))
        signed = s.supervisor_signed_at is not None
        if not signed:
            state = self.tr("Not signed yet.")
        else:
            state = self.tr("Signed by the supervisor {at}; it cannot change.").format(
                at=moment_text(s.supervisor_signed_at)
            )
        self.form_state.setText(state)
        self.format.setCurrentIndex(max(0, self.format.findData(str(s.format))))
        self.session_date.setDate(
            QDate(s.session_date.year, s.session_date.month, s.session_date.day)
        )
        self.minutes.setValue(s.minutes)
        self.modality.setCurrentIndex(max(0, self.modality.findData(str(s.modality))))
        self.specialists.blockSignals(True)
        for i in range(self.specialists.count()):
            item = self.specialists.item(i)
            on = item.data(ID_ROLE) in s.specialist_ids
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        self.specialists.blockSignals(False)
        if not self.supervising:
            self.specialists.clear()
            row = self.selected_row()
            for name in row.specialist_names if row else ():
                self.specialists.addItem(name)
        for t, box in self.topic_boxes.items():
            box.setChecked(t in s.topics)
        self._refill_cases(keep=set(s.cases_reviewed))
        self.actions.setPlainText(s.action_items)
        self.has_next.setChecked(s.next_date is not None)
        if s.next_date:
            self.next_date.setDate(QDate(s.next_date.year, s.next_date.month, s.next_date.day))
        self._lock_form(signed or not self.supervising or s.supervisor_id != self.ctx.user.id)

    def _lock_form(self, locked: bool) -> None:
        for w in self.form_inputs:
            w.setEnabled(not locked)
        if not locked:
            self.next_date.setEnabled(self.has_next.isChecked())
        self.save_button.setVisible(self.supervising)

    def _checked(self, lst: QListWidget) -> list[str]:
        return [
            lst.item(i).data(ID_ROLE)
            for i in range(lst.count())
            if lst.item(i).checkState() == Qt.CheckState.Checked
        ]

    def _refill_cases(self, *_: Any, keep: set[str] | None = None) -> None:
        """Cases offered: the participants of the specialists ticked."""
        chosen = set(self._checked(self.cases)) if keep is None else keep
        specs = set(self._checked(self.specialists))
        self.cases.clear()
        if self.choices is None:
            if keep and not self.supervising:
                self.cases.addItem(plural(self, len(keep), "1 case reviewed", "{n} cases reviewed"))
            return
        for pid, name, spec in self.choices.participants:
            if spec not in specs and pid not in chosen:
                continue
            item = QListWidgetItem(name)
            item.setData(ID_ROLE, pid)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if pid in chosen else Qt.CheckState.Unchecked)
            self.cases.addItem(item)

    def _clear_errors(self) -> None:
        for label in self.errors.values():
            label.hide()
        self.form_error.hide()

    def form_session(self) -> SupervisionSession:
        """The session as the form shows it (nothing is checked here)."""
        d = self.session_date.date()
        n = self.next_date.date()
        base = self.editing or SupervisionSession(
            supervisor_id=self.ctx.user.id, specialist_ids=(), session_date=date.today(), minutes=0
        )
        return replace(
            base,
            specialist_ids=tuple(self._checked(self.specialists)),
            session_date=date(d.year(), d.month(), d.day()),
            minutes=self.minutes.value(),
            format=SupervisionFormat(self.format.currentData()),
            modality=Modality(self.modality.currentData()),
            topics=tuple(t for t in TOPICS if self.topic_boxes[t].isChecked()),
            cases_reviewed=tuple(self._checked(self.cases)),
            action_items=self.actions.toPlainText().strip(),
            next_date=date(n.year(), n.month(), n.day()) if self.has_next.isChecked() else None,
        )
