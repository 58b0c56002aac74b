"""The note editor's Service and Goals cards: date and times, modality, place of
service, setting and group size, service code and modifiers (which follow the
modality and setting), the goals worked on, and the billing units the payer's
rounding rule gives. Part of :class:`app.ui.notes.note_editor.NoteEditorPage`.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
)

from app.domain import note_form
from app.domain.datetext import clock_text
from app.domain.note_form import parse_clock_time
from app.domain.records import Encounter, Modality, ServiceSetting
from app.services.notes import NoteBundle
from app.ui.common.table_model import ID_ROLE
from app.ui.notes.note_widgets import FieldError, field_label


class ServiceCardMixin:
    """The Service and Goals cards of the note editor (built, filled, checked)."""

    def _build_service(self) -> None:
        _card, lay = self._card(self.tr("Service"))
        lay.addLayout(self._build_service_times())
        lay.addLayout(self._build_service_kind())

    def _build_service_times(self) -> QGridLayout:
        """Date, start and end, the timer and the units."""
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(4)

        self.date_edit = QDateEdit()
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDisplayFormat("MMM d, yyyy")
        self.date_edit.setAccessibleName(self.tr("Service date"))
        self.date_edit.dateChanged.connect(self._changed)
        self.start_edit = QLineEdit()
        self.start_edit.setPlaceholderText(self.tr("e.g. 9:30 AM"))
        self.start_edit.setAccessibleName(self.tr("Start time"))
        self.end_edit = QLineEdit()
        self.end_edit.setPlaceholderText(self.tr("e.g. 10:15 AM"))
        self.end_edit.setAccessibleName(self.tr("End time"))
        for edit in (self.start_edit, self.end_edit):
            edit.setObjectName("noteField")
            edit.textEdited.connect(self._times_edited)
            edit.editingFinished.connect(self._tidy_times)
            edit.setMaximumWidth(150)
        self.timer_button = QPushButton(self.tr("Start timer"))
        self.timer_button.setObjectName("timerButton")
        self.timer_button.setAccessibleName(self.tr("Start the service timer"))
        self.timer_button.setToolTip(self.tr("Start or stop the service timer (Ctrl+T)"))
        self.timer_button.clicked.connect(self.toggle_timer)
        self.timer_clock = QLabel()
        self.timer_clock.setObjectName("timerClock")
        self.timer_clock.setAccessibleName(self.tr("Time running"))
        self.units_label = QLabel()
        self.units_label.setObjectName("units")
        self.units_label.setAccessibleName(self.tr("Billing units"))
        self.rule_label = QLabel()
        self.rule_label.setObjectName("hint")
        self.rule_label.setWordWrap(True)
        self.rule_label.setAccessibleName(self.tr("Rounding rule"))

        grid.addWidget(field_label(self.tr("Service &date"), self.date_edit), 0, 0)
        grid.addWidget(field_label(self.tr("&Start"), self.start_edit), 0, 1)
        grid.addWidget(field_label(self.tr("&End"), self.end_edit), 0, 2)
        grid.addWidget(self.date_edit, 1, 0)
        grid.addWidget(self.start_edit, 1, 1)
        grid.addWidget(self.end_edit, 1, 2)
        timer_row = QHBoxLayout()
        timer_row.addWidget(self.timer_button)
        timer_row.addWidget(self.timer_clock)
        timer_row.addStretch(1)
        grid.addLayout(timer_row, 1, 3)
        self.time_error = FieldError(self.tr("Time problem"))
        grid.addWidget(self.time_error, 2, 0, 1, 4)
        units_row = QHBoxLayout()
        units_row.setSpacing(10)
        units_row.addWidget(self.units_label)
        units_row.addWidget(self.rule_label, 1)
        grid.addLayout(units_row, 3, 0, 1, 4)
        grid.setColumnStretch(3, 1)
        return grid

    def _build_service_kind(self) -> QGridLayout:
        """Modality, place of service, location, setting, group size, code, modifiers."""
        grid2 = QGridLayout()
        grid2.setHorizontalSpacing(8)  # four columns in the smallest window
        for col in range(4):  # room to spare is shared, so the modality shows in full
            grid2.setColumnStretch(col, 1)
        grid2.setVerticalSpacing(4)
        self.modality_combo = QComboBox()
        self.modality_combo.setAccessibleName(self.tr("Modality"))
        for info in self.codes.modalities:
            self.modality_combo.addItem(self.tr(info.label), info.modality.value)
        self.modality_combo.currentIndexChanged.connect(self._modality_changed)
        self.pos_combo = QComboBox()
        self.pos_combo.setAccessibleName(self.tr("Place of service"))
        for c in self.codes.places_of_service:
            self.pos_combo.addItem(f"{c.code} · {c.label}", c.code)
        self.pos_combo.currentIndexChanged.connect(self._changed)
        # The longest place and modality names made the note wider than the smallest
        # window; the combos take what room there is and show the rest when opened.
        for combo, chars in ((self.pos_combo, 14), (self.modality_combo, 8)):
            combo.setMinimumContentsLength(chars)
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
        self.location_edit = QLineEdit()
        self.location_edit.setPlaceholderText(self.tr("e.g. library in Belcourt (optional)"))
        self.location_edit.setAccessibleName(self.tr("Location details"))
        self.location_edit.setObjectName("noteField")
        self.location_edit.textEdited.connect(self._changed)
        self.setting_combo = QComboBox()
        self.setting_combo.setAccessibleName(self.tr("Setting"))
        self.setting_combo.addItem(self.tr("Individual"), ServiceSetting.INDIVIDUAL.value)
        self.setting_combo.addItem(self.tr("Group"), ServiceSetting.GROUP.value)
        self.setting_combo.currentIndexChanged.connect(self._setting_changed)
        self.group_spin = QSpinBox()
        self.group_spin.setRange(0, 99)
        self.group_spin.setSpecialValueText(self.tr("—"))
        self.group_spin.setAccessibleName(self.tr("People in the group"))
        self.group_spin.valueChanged.connect(self._changed)
        self.code_combo = QComboBox()
        self.code_combo.setEditable(True)
        self.code_combo.setAccessibleName(self.tr("Service code"))
        for c in self.codes.service_codes:
            self.code_combo.addItem(c.code, c.code)
            self.code_combo.setItemData(
                self.code_combo.count() - 1, c.label, Qt.ItemDataRole.ToolTipRole
            )
        self.code_combo.editTextChanged.connect(self._changed)
        self.modifiers_edit = QLineEdit()
        self.modifiers_edit.setPlaceholderText(self.tr("none"))
        self.modifiers_edit.setAccessibleName(self.tr("Modifiers"))
        self.modifiers_edit.setToolTip(
            self.tr("Filled from the modality and setting; add others separated by commas")
        )
        self.modifiers_edit.setObjectName("noteField")
        self.modifiers_edit.textEdited.connect(self._changed)

        grid2.addWidget(field_label(self.tr("&Modality"), self.modality_combo), 0, 0)
        grid2.addWidget(field_label(self.tr("Place of ser&vice"), self.pos_combo), 0, 1, 1, 3)
        grid2.addWidget(self.modality_combo, 1, 0)
        grid2.addWidget(self.pos_combo, 1, 1, 1, 3)
        self.pos_error = FieldError(self.tr("Place of service problem"))
        grid2.addWidget(self.pos_error, 2, 1, 1, 3)
        grid2.addWidget(field_label(self.tr("&Location details"), self.location_edit), 3, 0, 1, 4)
        grid2.addWidget(self.location_edit, 4, 0, 1, 4)
        grid2.addWidget(field_label(self.tr("Se&tting"), self.setting_combo), 5, 0)
        grid2.addWidget(field_label(self.tr("Group si&ze"), self.group_spin), 5, 1)
        grid2.addWidget(field_label(self.tr("Service &code"), self.code_combo), 5, 2)
        grid2.addWidget(field_label(self.tr("Modi&fiers"), self.modifiers_edit), 5, 3)
        grid2.addWidget(self.setting_combo, 6, 0)
        grid2.addWidget(self.group_spin, 6, 1)
        grid2.addWidget(self.code_combo, 6, 2)
        grid2.addWidget(self.modifiers_edit, 6, 3)
        self.group_error = FieldError(self.tr("Group size problem"))
        grid2.addWidget(self.group_error, 7, 0, 1, 2)
        self.code_error = FieldError(self.tr("Service code problem"))
        grid2.addWidget(self.code_error, 7, 2, 1, 2)
        for col in range(4):
            grid2.setColumnStretch(col, 1)
        return grid2

    def _build_goals(self) -> None:
        _card, lay = self._card(self.tr("Goals worked on"))
        self.goals_list = QListWidget()
        self.goals_list.setObjectName("goalList")
        self.goals_list.setAccessibleName(self.tr("Goals worked on"))
        self.goals_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.goals_list.setWordWrap(True)
        self.goals_list.itemChanged.connect(self._goal_toggled)
        self.goals_list.itemActivated.connect(self._goal_activated)
        self.goals_empty = QLabel(
            self.tr("This person has no active recovery goals yet. Add one on their record.")
        )
        self.goals_empty.setObjectName("hint")
        self.goals_empty.setWordWrap(True)
        self.goals_error = FieldError(self.tr("Goals problem"))
        lay.addWidget(self.goals_list)
        lay.addWidget(self.goals_empty)
        lay.addWidget(self.goals_error)

    def _match_heights(self) -> None:
        """Combo, date and spin boxes keep the platform's look, as tall as the fields."""
        self.start_edit.ensurePolished()
        h = self.start_edit.sizeHint().height()
        for w in (
            self.date_edit,
            self.modality_combo,
            self.pos_combo,
            self.setting_combo,
            self.group_spin,
            self.code_combo,
        ):
            w.setMinimumHeight(h)
        fm = self.date_edit.fontMetrics()
        self.date_edit.setMinimumWidth(fm.horizontalAdvance("Sep 30, 2026") + 56)

    def _fill_goals(self, bundle: NoteBundle, note: Encounter) -> None:
        chosen = set(note.goal_ids)
        self.goals_list.clear()
        goals = bundle.goals
        if not self._editable:  # a finished note shows the goals it worked on
            goals = [g for g in goals if g.id in chosen]
        for g in goals:
            text = f"{g.domain.value}: {g.statement}"
            if g.status.value != "active":
                text += f" ({g.status.value})"
            item = QListWidgetItem(text)
            item.setData(ID_ROLE, g.id)
            item.setFlags(
                Qt.ItemFlag.ItemIsEnabled
                | Qt.ItemFlag.ItemIsUserCheckable
                | Qt.ItemFlag.ItemIsSelectable
            )
            item.setCheckState(Qt.CheckState.Checked if g.id in chosen else Qt.CheckState.Unchecked)
            self.goals_list.addItem(item)
        has = bool(goals)
        self.goals_empty.setText(
            self.tr("This person has no active recovery goals yet. Add one on their record.")
            if self._editable
            else self.tr("No goals were linked to this note.")
        )
        self.goals_list.setVisible(has)
        self.goals_empty.setVisible(not has)
        rows = max(1, min(self.goals_list.count(), 6))
        row_h = self.goals_list.fontMetrics().height() + 9  # item padding and check box
        self.goals_list.setFixedHeight(rows * row_h + 12)

    def _times_edited(self, *_: Any) -> None:
        self._check_times()
        self._changed()

    def _tidy_times(self) -> None:
        """When a time field is left, write a valid time the standard way."""
        if not self._editable:
            return
        for edit in (self.start_edit, self.end_edit):
            try:
                t = parse_clock_time(edit.text())
            except ValueError:
                continue
            tidy = clock_text(t)
            if edit.text() != tidy:
                edit.setText(tidy)
        self._check_times()

    def _parsed(self, edit: QLineEdit) -> Any:
        try:
            return parse_clock_time(edit.text())
        except ValueError:
            return None

    def _check_times(self) -> bool:
        messages = []
        for name, edit in (("start", self.start_edit), ("end", self.end_edit)):
            try:
                parse_clock_time(edit.text())
            except ValueError:
                messages.append(self.tr("The {0} time is not a time we can read.").format(name))
        start, end = self._parsed(self.start_edit), self._parsed(self.end_edit)
        if start and end and note_form.minutes_between(start, end) <= 0:
            messages.append(self.tr("The end time must be after the start time."))
        if messages:
            messages.append(self.tr(note_form.TIME_HINT))
        self.time_error.show_messages(messages)
        return not messages

    def _modality_changed(self, *_: Any) -> None:
        if self._loading or not self._editable:
            return
        m = self._modality()
        info = self.codes.modality(m)
        # Follow the modality's usual place of service, unless the person chose one
        # that is not the previous modality's usual place.
        previous = self._modality_shown
        self._modality_shown = m
        current_pos = self.pos_combo.currentData()
        if info.place_of_service and current_pos in (
            self.codes.modality(previous).place_of_service,
            "",
        ):
            self._set_combo(self.pos_combo, info.place_of_service)
        self._follow_modifiers()
        self._changed()

    def _setting_changed(self, *_: Any) -> None:
        group = self._setting() is ServiceSetting.GROUP
        self.group_spin.setEnabled(group and self._editable)
        if self._loading or not self._editable:
            return
        if not group:
            self.group_spin.setValue(0)
        self._follow_modifiers()
        self._changed()

    def _follow_modifiers(self) -> None:
        mods = note_form.adjust_modifiers(
            note_form.parse_modifiers(self.modifiers_edit.text()),
            self._modality(),
            self._setting(),
            self.codes,
        )
        self.modifiers_edit.setText(", ".join(mods))

    def _modality(self) -> Modality:
        return Modality(self.modality_combo.currentData() or Modality.IN_PERSON.value)

    def _setting(self) -> ServiceSetting:
        return ServiceSetting(self.setting_combo.currentData() or ServiceSetting.INDIVIDUAL.value)

    def _goal_toggled(self, _item: QListWidgetItem) -> None:
        if not self._loading:
            self.goals_error.show_messages([])
            self._changed()

    def _goal_activated(self, item: QListWidgetItem) -> None:
        if self._editable and item.flags() & Qt.ItemFlag.ItemIsUserCheckable:
            checked = item.checkState() == Qt.CheckState.Checked
            item.setCheckState(Qt.CheckState.Unchecked if checked else Qt.CheckState.Checked)

    def units(self) -> int:
        draft = self.draft()
        if draft is None or self._bundle is None:
            return 0
        return self._bundle.rule.units(draft.minutes)

    def _update_units(self) -> None:
        if self._bundle is None:
            return
        start, end = self._parsed(self.start_edit), self._parsed(self.end_edit)
        minutes = note_form.minutes_between(start, end)
        if self._timer_started is not None and end is None:
            minutes = int((self.clock() - self._timer_started).total_seconds() // 60)
        rule = self._bundle.rule
        self.units_label.setText(self.tr(note_form.units_text(minutes, rule)))
        payer = self._bundle.payer
        whose = payer.name if payer else self.tr("No payer on file, so the default rule")
        self.rule_label.setText(f"{whose}: {note_form.rule_name(rule)}")
        tip = self.tr(note_form.rule_explanation(rule))
        self.units_label.setToolTip(tip)
        self.rule_label.setToolTip(tip)
