"""The note editor's narrative card: the GIRP or DAP template and its text fields,
only the chosen template's fields shown. Part of
:class:`app.ui.notes.note_editor.NoteEditorPage`.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.lifecycle import NARRATIVE_FIELDS
from app.domain.records import NoteFormat
from app.ui.notes.note_widgets import NARRATIVE_TEXT, FieldError, GrowingTextEdit, Reflow


class NarrativeMixin:
    """The GIRP / DAP narrative of the note editor."""

    def _build_narrative(self) -> None:
        _card, lay = self._card(self.tr("Note"))
        fmt_row = QHBoxLayout()
        fmt_label = QLabel(self.tr("Template:"))
        fmt_label.setObjectName("fieldLabel")
        self.girp_radio = QRadioButton(self.tr("GIRP (goal, intervention, response, plan)"))
        self.girp_radio.setAccessibleName(self.tr("GIRP template"))
        self.dap_radio = QRadioButton(self.tr("DAP (data, assessment, plan)"))
        self.dap_radio.setAccessibleName(self.tr("DAP template"))
        self.format_group = QButtonGroup(self)
        self.format_group.addButton(self.girp_radio)
        self.format_group.addButton(self.dap_radio)
        self.girp_radio.setChecked(True)
        self.girp_radio.toggled.connect(self._format_changed)
        fmt_row.addWidget(fmt_label, 0, Qt.AlignmentFlag.AlignTop)
        fmt_row.addWidget(Reflow([self.girp_radio, self.dap_radio]), 1)
        lay.addLayout(fmt_row)

        self.text_edits: dict[str, QPlainTextEdit] = {}
        self.text_errors: dict[str, FieldError] = {}
        self.text_blocks: dict[str, QWidget] = {}
        order = ("data", "goal_text", "intervention", "response", "assessment", "plan")
        for name in order:
            label, hint = NARRATIVE_TEXT[name]
            block = QWidget()
            bl = QVBoxLayout(block)
            bl.setContentsMargins(0, 4, 0, 0)
            bl.setSpacing(2)
            edit = GrowingTextEdit()
            edit.setObjectName("narrative")
            edit.setAccessibleName(self.tr(label.replace("&", "")))
            edit.setAccessibleDescription(self.tr(hint))
            edit.textChanged.connect(self._changed)
            lab = self._label(self.tr(label), edit)
            hint_label = QLabel(self.tr(hint))
            hint_label.setObjectName("hint")
            hint_label.setWordWrap(True)
            err = FieldError(self.tr(label.replace("&", "")) + " problem")
            bl.addWidget(lab)
            bl.addWidget(hint_label)
            bl.addWidget(edit)
            bl.addWidget(err)
            lay.addWidget(block)
            self.text_edits[name] = edit
            self.text_errors[name] = err
            self.text_blocks[name] = block
        self._show_format(NoteFormat.GIRP)

    def _show_format(self, fmt: NoteFormat) -> None:
        shown = set(NARRATIVE_FIELDS[fmt])
        for name, block in self.text_blocks.items():
            block.setVisible(name in shown)

    def _format_changed(self, *_: Any) -> None:
        fmt = NoteFormat.GIRP if self.girp_radio.isChecked() else NoteFormat.DAP
        self._show_format(fmt)
        self._changed()
