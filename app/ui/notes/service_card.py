"""The note editor's Service card: one summary line ("Today 2:10–3:05 PM · In person
· Office · H0038 · 4 units") with the timer, opening on a click into the date and
times (each with an explicit AM/PM control in a 12-hour locale), modality, place of
service, setting and group size, service code and modifiers (which follow the
modality and setting), and the billing units the payer's rounding rule gives; a time
outside usual hours or a long service is asked about before the note is signed.
Part of :class:`app.ui.notes.note_editor.NoteEditorPage`.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox
from PySide6.QtWidgets import QDateEdit
from PySide6.QtWidgets import QGridLayout
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QSizePolicy
from PySide6.QtWidgets import QSpinBox
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.domain import note_form
from app.domain import note_times
from app.domain.records import Modality
from app.domain.records import ServiceSetting
from app.ui.common.forms import wrapped_label
from app.ui.notes.note_widgets import ElidedButton
from app.ui.notes.note_widgets import FieldError
from app.ui.notes.note_widgets import TimeQuestions
from app.ui.notes.note_widgets import field_label
from app.ui.notes.note_widgets import twelve_hour_locale


class ServiceCardMixin:
    """The Service card of the note editor: a one-line summary (with the timer) that
    opens on a click, or by itself when something in it needs the person."""

    def _build_service(self) -> None:
        self.service_card, lay = self._card("")
        lay.setSpacing(4)
        lay.setContentsMargins(8, 4, 8, 4)
        top = QHBoxLayout()
        top.setSpacing(8)
        self.service_summary = ElidedButton()
        self.service_summary.setObjectName("serviceSummary")
        self.service_summary.setFlat(True)
        self.service_summary.setCheckable(True)
        self.service_summary.setAccessibleName(self.tr("Service details"))
        self.service_summary.setToolTip(self.tr("Show or hide the service details"))
        self.service_summary.toggled.connect(self.expand_service)
        # The line takes the room there is (a long one is cut, in full in its tooltip);
        # the timer beside it always shows in full.
        self.service_summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.service_summary.setMinimumWidth(120)
        self.timer_button = QPushButton(self.tr("Start timer"))
        self.timer_button.setObjectName("timerButton")
        self.timer_button.setAccessibleName(self.tr("Start the service timer"))
        self.timer_button.setToolTip(self.tr("Start or stop the service timer (Ctrl+T)"))
        self.timer_button.clicked.connect(self.toggle_timer)
        self.timer_clock = QLabel()
        self.timer_clock.setObjectName("timerClock")
        self.timer_clock.setAccessibleName(self.tr("Time running"))
        top.addWidget(self.service_summary, 1)
        top.addWidget(self.timer_clock)
        top.addWidget(self.timer_button)
        lay.addLayout(top)
        self.service_details = QWidget()
        dl = QVBoxLayout(self.service_details)
        dl.setContentsMargins(0, 4, 0, 0)
        dl.addLayout(self._build_service_times())
        dl.addLayout(self._build_service_kind())
        lay.addWidget(self.service_details)
        self.service_details.hide()
        self.time_questions = TimeQuestions(self)
        lay.addWidget(self.time_questions)

    def expand_service(self, show: bool = True) -> None:
        """Show (or fold back into the summary) the service details."""
        if self.service_summary.isChecked() != show:
            self.service_summary.setChecked(show)  # comes back here through toggled
            return
        self.service_details.setVisible(show)
        self._show_summary()

    def _show_summary(self) -> None:
        draft = self.draft() if self._note is not None else None
        if draft is None:
            self.service_summary.set_full_text("")
            return
        twelve = self._twelve_hour
        parts = [
            note_times.when_text(draft.service_date, self.clock().date()),
            note_times.span_text(draft.start_time, draft.end_time, twelve),
        ]
        when = " ".join(p for p in parts if p)
        if not draft.start_time:
            when += " · " + self.tr("no times yet")
        place = self.codes.place_label(draft.place_of_service) or draft.place_of_service
        if draft.place_of_service == "99" and draft.location_note.strip():
            place = draft.location_note.strip()  # "public library" says more than "Other place"
        units = self.units_label.text() if draft.end_time else ""
        if units and "=" in units:
            units = units.split("=", 1)[1].strip()
        line = note_times.summary_line(
            [
                when,
                self.modality_combo.currentText(),
                place,
                draft.service_code + ("-" + "-".join(draft.modifiers) if draft.modifiers else ""),
                units,
            ]
        )
        arrow = "▾" if self.service_details.isVisible() else "▸"
        self.service_summary.set_full_text(f"{arrow}  {line}")
        self.service_summary.setToolTip(
            line + "\n" + self.tr("Click to show or hide the service details")
        )

    def _build_service_times(self) -> QGridLayout:
        """Date, start and end (each with AM/PM), and the units."""
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(4)

        self.date_edit = QDateEdit()
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDisplayFormat("MMM d, yyyy")
        self.date_edit.setAccessibleName(self.tr("Service date"))
        self.date_edit.dateChanged.connect(self._changed)
        self._twelve_hour = twelve_hour_locale()
        self._ampm_chosen: set[str] = set()
        self.start_edit = QLineEdit()
        self.start_edit.setPlaceholderText(self.tr("e.g. 9:30"))
        self.start_edit.setAccessibleName(self.tr("Start time"))
        self.end_edit = QLineEdit()
        self.end_edit.setPlaceholderText(self.tr("e.g. 10:15"))
        self.end_edit.setAccessibleName(self.tr("End time"))
        self.start_ampm, self.end_ampm = QComboBox(), QComboBox()
        for edit, ampm, which in (
            (self.start_edit, self.start_ampm, "start"),
            (self.end_edit, self.end_ampm, "end"),
        ):
            edit.setObjectName("noteField")
            edit.textEdited.connect(self._times_edited)
            edit.editingFinished.connect(self._tidy_times)
            edit.setMaximumWidth(120)
            ampm.addItems([note_times.AM, note_times.PM])
            ampm.setAccessibleName(self.tr("AM or PM, {0} time").format(which))
            # Only ever hidden here: showing a widget that has no parent yet opens it
            # as a window of its own (which takes the main window's activation).
            if not self._twelve_hour:
                ampm.hide()
            ampm.activated.connect(lambda _i, w=which: self._ampm_picked(w))
        self.units_label = QLabel()
        self.units_label.setObjectName("units")
        self.units_label.setAccessibleName(self.tr("Billing units"))
        self.rule_label = wrapped_label("", "hint")
        self.rule_label.setAccessibleName(self.tr("Rounding rule"))

        grid.addWidget(field_label(self.tr("Service &date"), self.date_edit), 0, 0)
        grid.addWidget(field_label(self.tr("&Start"), self.start_edit), 0, 1)
        grid.addWidget(field_label(self.tr("&End"), self.end_edit), 0, 3)
        grid.addWidget(self.date_edit, 1, 0)
        grid.addWidget(self.start_edit, 1, 1)
        grid.addWidget(self.start_ampm, 1, 2)
        grid.addWidget(self.end_edit, 1, 3)
        grid.addWidget(self.end_ampm, 1, 4)
        self.time_error = FieldError(self.tr("Time problem"))
        grid.addWidget(self.time_error, 2, 0, 1, 6)
        units_row = QHBoxLayout()
        units_row.setSpacing(10)
        units_row.addWidget(self.units_label)
        units_row.addWidget(self.rule_label, 1)
        grid.addLayout(units_row, 3, 0, 1, 6)
        grid.setColumnStretch(5, 1)
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

    def _times_edited(self, *_: Any) -> None:
        sender = self.sender()
        which = "end" if sender is self.end_edit else "start"
        self._follow_meridiem(which)
        self._check_times()
        self._changed()

    def _follow_meridiem(self, which: str) -> None:
        """The AM/PM control follows what is typed: an AM or PM in the text, else the
        likelier half of the day (shown, never hidden) until the person picks one."""
        edit, ampm = self._time_widgets(which)
        text = edit.text()
        said = note_times.meridiem_in(text)
        if not said and which not in self._ampm_chosen:
            after = self._parsed(self.start_edit) if which == "end" else None
            said = note_times.guess_meridiem(text, after)
        hour = note_times.typed_hour(text)
        if hour is not None and (hour == 0 or hour > 12):
            said = note_times.meridiem_of(self._parsed(edit))
        if not text.strip():
            self._ampm_chosen.discard(which)
        if said and ampm.currentText() != said:
            ampm.setCurrentText(said)
        if which == "start" and self.end_edit.text():
            self._follow_meridiem("end")

    def _ampm_picked(self, which: str) -> None:
        """The person chose AM or PM: it stands, and the time says so."""
        self._ampm_chosen.add(which)
        edit, ampm = self._time_widgets(which)
        hour = note_times.typed_hour(edit.text())
        if hour is not None and 1 <= hour <= 12 and self._editable:
            t = note_times.parse_time(
                edit.text().split(" ")[0].rstrip("apmAPM."), ampm.currentText()
            )
            edit.setText(note_times.time_text(t, self._twelve_hour))
        self._check_times()
        self._changed()
        self._ask_about_times()

    def _time_widgets(self, which: str) -> tuple[QLineEdit, QComboBox]:
        if which == "end":
            return self.end_edit, self.end_ampm
        return self.start_edit, self.start_ampm

    def _tidy_times(self) -> None:
        """When a time field is left, write a valid time in full (with AM or PM)."""
        if not self._editable:
            return
        for edit in (self.start_edit, self.end_edit):
            try:
                t = self._parse(edit)
            except ValueError:
                continue
            tidy = note_times.time_text(t, self._twelve_hour)
            if edit.text() != tidy:
                edit.setText(tidy)
        self._check_times()
        self._ask_about_times()

    def _parse(self, edit: QLineEdit) -> Any:
        ampm = self.end_ampm if edit is self.end_edit else self.start_ampm
        meridiem = ampm.currentText() if self._twelve_hour else ""
        return note_times.parse_time(edit.text(), meridiem)

    def _parsed(self, edit: QLineEdit) -> Any:
        try:
            return self._parse(edit)
        except ValueError:
            return None

    def _set_time(self, edit: QLineEdit, t: Any) -> None:
        """Show a time (filled by the timer or from the record) and its AM/PM."""
        text = note_times.time_text(t, self._twelve_hour)
        if edit.text() != text:
            edit.setText(text)
        ampm = self.end_ampm if edit is self.end_edit else self.start_ampm
        if t is not None:
            ampm.setCurrentText(note_times.meridiem_of(t))

    def _check_times(self) -> bool:
        messages = []
        for name, edit in (("start", self.start_edit), ("end", self.end_edit)):
            try:
                self._parse(edit)
            except ValueError:
                messages.append(self.tr("The {0} time is not a time we can read.").format(name))
        start, end = self._parsed(self.start_edit), self._parsed(self.end_edit)
        if start and end and note_form.minutes_between(start, end) <= 0:
            messages.append(self.tr("The end time must be after the start time."))
        if messages:
            messages.append(self.tr(note_times.TIME_HINT))
            if not self._loading:
                self.expand_service(True)  # a problem is never folded away
        self.time_error.show_messages(messages)
        return not messages

    def _ask_about_times(self) -> bool:
        """Ask about a time outside usual hours or a long service (once per answer);
        True when there is an open question."""
        start, end = self._parsed(self.start_edit), self._parsed(self.end_edit)
        questions = note_times.time_questions(start, end, self.time_policy)
        if not questions or (start, end) == self._times_confirmed:
            self.time_questions.ask([])
            return False
        self.time_questions.ask(questions)
        return True

    def _times_answered(self, keep: bool) -> None:
        if keep:
            self._times_confirmed = (self._parsed(self.start_edit), self._parsed(self.end_edit))
            self.time_questions.ask([])
            self.text_edits[self._first_field()].setFocus()
        else:
            self.expand_service(True)
            self.start_edit.setFocus()
            self.start_edit.selectAll()

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
        self._show_summary()
