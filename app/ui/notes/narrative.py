"""The note editor's narrative card: the GIRP or DAP template and its text fields,
only the chosen template's fields shown. A widget of its own, placed in
:class:`app.ui.notes.note_editor.NoteEditorPage`; it says when the person changed
something (``changed``) and reads back the chosen template (``note_format``).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtCore import Signal
from PySide6.QtGui import QFont
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QButtonGroup
from PySide6.QtWidgets import QFrame
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QPlainTextEdit
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QRadioButton
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.domain.lifecycle import NARRATIVE_FIELDS
from app.domain.records import NoteFormat
from app.ui.notes.note_widgets import NARRATIVE_TEXT
from app.ui.notes.note_widgets import FieldError
from app.ui.notes.note_widgets import Reflow
from app.ui.notes.note_widgets import field_label
from app.ui.notes.spelling import NoteTextEdit

#: The order of the narrative's parts on screen (each template shows its own).
ORDER = ("data", "goal_text", "intervention", "response", "assessment", "plan")


def first_field(fmt: NoteFormat) -> str:
    """The narrative part the cursor starts in."""
    shown = set(NARRATIVE_FIELDS[fmt])
    return next(n for n in ORDER if n in shown)


class NarrativeCard(QFrame):
    """The template choice and one text box (with its hint and problems) per part."""

    #: The person changed the template or a text.
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(16, 10, 16, 12)
        lay.setSpacing(4)
        self.layout_ = lay
        lay.addLayout(self._template_row())
        self.text_edits: dict[str, QPlainTextEdit] = {}
        self.text_errors: dict[str, FieldError] = {}
        self.text_blocks: dict[str, QWidget] = {}
        for name in ORDER:
            lay.addWidget(self._part(name))
        self.show_format(NoteFormat.GIRP)

    def _template_row(self) -> QHBoxLayout:
        fmt_row = QHBoxLayout()
        fmt_label = QLabel(self.tr("Note:"))
        fmt_label.setObjectName("sectionTitle")
        self.girp_radio = QRadioButton(self.tr("GIRP"))
        self.girp_radio.setAccessibleName(self.tr("GIRP template"))
        self.girp_radio.setToolTip(self.tr("Goal, intervention, response, plan"))
        self.dap_radio = QRadioButton(self.tr("DAP"))
        self.dap_radio.setAccessibleName(self.tr("DAP template"))
        self.dap_radio.setToolTip(self.tr("Data, assessment, plan"))
        self.format_group = QButtonGroup(self)
        self.format_group.addButton(self.girp_radio)
        self.format_group.addButton(self.dap_radio)
        self.girp_radio.setChecked(True)
        self.girp_radio.toggled.connect(self._format_changed)
        fmt_row.addWidget(fmt_label, 0, Qt.AlignmentFlag.AlignTop)
        fmt_row.addWidget(Reflow([self.girp_radio, self.dap_radio]), 1)
        self.copy_button = QPushButton(self.tr("Copy from last note"))
        self.copy_button.setObjectName("link")
        self.copy_button.setAccessibleName(self.tr("Copy the text of this person's last note"))
        self.copy_button.setToolTip(
            self.tr("Fill the empty parts of this note with the text of the last note")
        )
        fmt_row.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignTop)
        return fmt_row

    def insert_before(self, name: str, label: QLabel, widget: QWidget) -> None:
        """Place ``widget`` (the goals) with its ``label`` just above the part ``name``."""
        block = self.text_blocks[name]
        self.layout_.insertWidget(self.layout_.indexOf(block), self._row(label, widget))

    def _row(self, label: QLabel, content: QWidget) -> QWidget:
        """A label on the left (top-aligned, one width for all), its content right."""
        row = QWidget()
        rl = QHBoxLayout(row)
        rl.setContentsMargins(0, 2, 0, 0)
        rl.setSpacing(10)
        bold = QFont(label.font())
        bold.setBold(True)
        bold.setPointSizeF(bold.pointSizeF() * 1.1)  # the style sheet's label font, and some
        label.setFixedWidth(QFontMetrics(bold).horizontalAdvance("Intervention") + 28)
        label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        rl.addWidget(label, 0, Qt.AlignmentFlag.AlignTop)
        rl.addWidget(content, 1)
        return row

    def _part(self, name: str) -> QWidget:
        label, hint = NARRATIVE_TEXT[name]
        inner = QWidget()
        bl = QVBoxLayout(inner)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.setSpacing(2)
        edit = NoteTextEdit()
        edit.setObjectName("narrative")
        edit.setAccessibleName(self.tr(label.replace("&", "")))
        edit.setAccessibleDescription(self.tr(hint))
        edit.setPlaceholderText(self.tr(hint))
        # Not textChanged: the spell checker's underlines (rehighlight) emit it too,
        # and a note must not count as changed because its underlines did.
        edit.document().contentsChange.connect(self._text_changed)
        err = FieldError(self.tr(label.replace("&", "")) + " problem")
        bl.addWidget(edit)
        bl.addWidget(err)
        block = self._row(field_label(self.tr(label), edit), inner)
        self.text_edits[name] = edit
        self.text_errors[name] = err
        self.text_blocks[name] = block
        return block

    def note_format(self) -> NoteFormat:
        return NoteFormat.GIRP if self.girp_radio.isChecked() else NoteFormat.DAP

    def set_format(self, fmt: NoteFormat) -> None:
        """Choose the template (filling a note: ``changed`` follows as for a click)."""
        (self.dap_radio if fmt is NoteFormat.DAP else self.girp_radio).setChecked(True)
        self.show_format(fmt)

    def show_format(self, fmt: NoteFormat) -> None:
        shown = set(NARRATIVE_FIELDS[fmt])
        for name, block in self.text_blocks.items():
            block.setVisible(name in shown)

    def _text_changed(self, _position: int, removed: int, added: int) -> None:
        if removed or added:
            self.changed.emit()

    def _format_changed(self, *_: Any) -> None:
        self.show_format(self.note_format())
        self.changed.emit()
