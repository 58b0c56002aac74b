"""The goals worked on, inside the narrative card above "Goal": tick the goals the
session worked on (a ticked goal fills "Goal" with its words, unless the person has
written something of their own there), and, for a person with no goal yet, add one
here without leaving the note. Part of :class:`app.ui.notes.note_editor.NoteEditorPage`.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QAbstractItemView
from PySide6.QtWidgets import QComboBox
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QListWidget
from PySide6.QtWidgets import QListWidgetItem
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QStyledItemDelegate
from PySide6.QtWidgets import QStyleOptionViewItem
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.domain.lifecycle import NARRATIVE_FIELDS
from app.domain.records import Encounter
from app.domain.records import Goal
from app.domain.records import NoteFormat
from app.domain.records import RecoveryDomain
from app.services import records
from app.services.notes import NoteBundle
from app.ui.common.forms import wrapped_label
from app.ui.common.table_model import ID_ROLE
from app.ui.notes.note_widgets import FieldError
from app.ui.notes.note_widgets import field_label
from app.ui.shell.theme import indicator_palette
from app.ui.shell.theme import is_dark


class _TickDelegate(QStyledItemDelegate):
    """Fusion draws a tick box's edge from the window colour made darker: on a dark
    window the unticked goals' boxes were invisible. The checkboxes' own palette
    (app.ui.shell.theme.indicator_palette) gives them an edge in the dark scheme."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: Any) -> None:
        super().initStyleOption(option, index)
        if is_dark():
            option.palette.setColor(
                QPalette.ColorRole.Window, indicator_palette(True).color(QPalette.ColorRole.Window)
            )


class GoalsPartMixin:
    """Goals list, the "Add a goal" form, and the Goal text that follows the ticks."""

    def _build_goals(self) -> tuple[QLabel, QWidget]:
        """The goals' label and box, for the narrative card."""
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        title = field_label(self.tr("Goa&ls"), None)
        self.goals_list = QListWidget()
        self.goals_list.setObjectName("goalList")
        self.goals_list.setAccessibleName(self.tr("Goals worked on"))
        self.goals_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        # One line a goal (the whole goal in its tooltip): the list's height is known.
        self.goals_list.setWordWrap(False)
        self.goals_list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.goals_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.goals_list.setItemDelegate(_TickDelegate(self.goals_list))
        self.goals_list.itemChanged.connect(self._goal_toggled)
        self.goals_list.itemActivated.connect(self._goal_activated)
        self.goals_list.itemPressed.connect(self._goal_pressed)
        self.goals_list.itemClicked.connect(self._goal_clicked)
        self._pressed_state: Qt.CheckState | None = None
        self.goals_empty = wrapped_label("", "hint")
        self.goals_error = FieldError(self.tr("Goals problem"))
        title.setBuddy(self.goals_list)
        lay.addWidget(self.goals_list)
        lay.addWidget(self.goals_empty)
        lay.addWidget(self._build_add_goal())
        lay.addWidget(self.goals_error)
        self._auto_goal_text = ""
        return title, box

    def _build_add_goal(self) -> QWidget:
        self.add_goal_form = QWidget()
        row = QHBoxLayout(self.add_goal_form)
        row.setContentsMargins(0, 0, 0, 0)
        self.goal_domain = QComboBox()
        self.goal_domain.setAccessibleName(self.tr("Area of the new goal"))
        for d in RecoveryDomain:
            self.goal_domain.addItem(self.tr(d.value.capitalize()), d.value)
        self.new_goal_edit = QLineEdit()
        self.new_goal_edit.setObjectName("noteField")
        self.new_goal_edit.setAccessibleName(self.tr("New goal, in the person's words"))
        self.new_goal_edit.setPlaceholderText(self.tr("A goal in the person's own words"))
        self.new_goal_edit.returnPressed.connect(self.add_goal)
        self.add_goal_button = QPushButton(self.tr("Add a goal"))
        self.add_goal_button.setAccessibleName(self.tr("Add the goal to the person's record"))
        self.add_goal_button.clicked.connect(self.add_goal)
        row.addWidget(self.goal_domain)
        row.addWidget(self.new_goal_edit, 1)
        row.addWidget(self.add_goal_button)
        self.add_goal_form.hide()
        return self.add_goal_form

    def _fill_goals(self, bundle: NoteBundle, note: Encounter) -> None:
        chosen = set(note.goal_ids)
        self.goals_list.clear()
        goals = bundle.goals
        if not self._editable:  # a finished note shows the goals it worked on
            goals = [g for g in goals if g.id in chosen]
        for g in goals:
            text = f"{g.domain.value.capitalize()}: {g.statement}"
            if g.status.value != "active":
                text += f" ({g.status.value})"
            item = QListWidgetItem(text)
            item.setToolTip(text)
            item.setData(ID_ROLE, g.id)
            item.setData(Qt.ItemDataRole.UserRole + 7, g.statement)
            item.setFlags(
                Qt.ItemFlag.ItemIsEnabled
                | Qt.ItemFlag.ItemIsUserCheckable
                | Qt.ItemFlag.ItemIsSelectable
            )
            item.setCheckState(Qt.CheckState.Checked if g.id in chosen else Qt.CheckState.Unchecked)
            self.goals_list.addItem(item)
        has = bool(goals)
        self.goals_empty.setText(
            self.tr("This person has no active recovery goal yet. Add one here, in their words:")
            if self._editable
            else self.tr("No goals were linked to this note.")
        )
        self.goals_list.setVisible(has)
        self.goals_empty.setVisible(not has)
        self.add_goal_form.setVisible(not has and self._editable)
        rows = max(1, min(self.goals_list.count(), 4))
        row_h = self.goals_list.fontMetrics().height() + 9  # item padding and check box
        if self.goals_list.count():
            row_h = max(row_h, self.goals_list.sizeHintForRow(0))
        frame = 2 * self.goals_list.frameWidth()
        self.goals_list.setFixedHeight(rows * row_h + frame + 4)
        self._auto_goal_text = self._ticked_goal_text()

    def _ticked_goal_text(self) -> str:
        return "; ".join(
            self.goals_list.item(i).data(Qt.ItemDataRole.UserRole + 7)
            for i in range(self.goals_list.count())
            if self.goals_list.item(i).checkState() == Qt.CheckState.Checked
        )

    def _goal_toggled(self, _item: QListWidgetItem) -> None:
        if self._loading:
            return
        self.goals_error.show_messages([])
        goal_edit = self.text_edits["goal_text"]
        wanted = self._ticked_goal_text()
        current = goal_edit.toPlainText().strip()
        girp = self.narrative.note_format() is NoteFormat.GIRP
        if girp and current in ("", self._auto_goal_text):  # never over the person's own words
            goal_edit.setPlainText(wanted)
        self._auto_goal_text = wanted
        self._changed()

    def _goal_activated(self, item: QListWidgetItem) -> None:
        if self._editable and item.flags() & Qt.ItemFlag.ItemIsUserCheckable:
            checked = item.checkState() == Qt.CheckState.Checked
            item.setCheckState(Qt.CheckState.Unchecked if checked else Qt.CheckState.Checked)

    def _goal_pressed(self, item: QListWidgetItem) -> None:
        self._pressed_state = item.checkState()

    def _goal_clicked(self, item: QListWidgetItem) -> None:
        """A click anywhere on a goal ticks it (not only on its small box)."""
        pressed, self._pressed_state = self._pressed_state, None
        if pressed is not None and item.checkState() == pressed:
            self._goal_activated(item)
        if item.checkState() == Qt.CheckState.Checked:
            self._write_next()

    def _write_next(self) -> None:
        """After a goal is ticked with the mouse, the cursor goes on to the first
        empty part of the note (the goal's words are in "Goal" already)."""
        for name in NARRATIVE_FIELDS[self.narrative.note_format()]:
            edit = self.text_edits[name]
            if not edit.toPlainText().strip():
                edit.setFocus(Qt.FocusReason.OtherFocusReason)
                return

    def add_goal(self) -> None:
        """Add the typed goal to the person's record and tick it on this note."""
        statement = self.new_goal_edit.text().strip()
        if self._note is None or not self._editable:
            return
        if not statement:
            self.goals_error.show_messages([self.tr("Write the goal in the person's words.")])
            self.new_goal_edit.setFocus()
            return
        goal = Goal(
            participant_id=self._note.participant_id,
            domain=RecoveryDomain(self.goal_domain.currentData()),
            statement=statement,
            started_on=self.clock().date(),
        )
        generation = self._generation

        def done(added: Goal) -> None:
            if generation != self._generation or self._bundle is None:
                return
            self.new_goal_edit.clear()
            self.goals_error.show_messages([])
            self._bundle.goals.append(added)
            draft = self.draft()
            assert draft is not None
            self._loading = True
            try:
                self._fill_goals(self._bundle, draft.replace(goal_ids=(added.id,)))
            finally:
                self._loading = False
            self._goal_toggled(self.goals_list.item(self.goals_list.count() - 1))
            self.text_edits["intervention"].setFocus()

        self.ctx.run(
            records.save_goal,
            done,
            lambda e: self.goals_error.show_messages([self._message(e)]),
            args=(goal, True),
            origin=self,
        )
