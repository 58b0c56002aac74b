"""The note editor's small parts: the labels of each narrative field and status, the
code tables, a field's error message, a text box that grows with its text and a row
that wraps when the window is narrow.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent
from PySide6.QtCore import QLocale
from PySide6.QtCore import QSize
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QBoxLayout
from PySide6.QtWidgets import QFrame
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QPlainTextEdit
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.domain import note_form
from app.domain.note_form import BUILT_IN_CODES
from app.domain.note_form import CodeFileError
from app.domain.note_form import NoteCodes
from app.paths import resource_path
from app.ui.common.forms import wrapped_label

#: Label and a line of guidance for each part of the narrative.
NARRATIVE_TEXT: dict[str, tuple[str, str]] = {
    "goal_text": ("&Goal", "Which of the person's goals this session worked on, in their words."),
    "intervention": ("&Intervention", "What you did: support offered, skills shared, referrals."),
    "response": ("&Response", "How the person responded, what they said and decided."),
    "plan": ("&Plan", "Next steps for the person and for you, and the next contact."),
    "data": ("Dat&a", "What happened and what the person said (facts, their words)."),
    "assessment": ("Assessme&nt", "What it means for their recovery and goals."),
}


def load_codes() -> tuple[NoteCodes, str]:
    """The code tables and, when they could not be read, a message saying so."""
    try:
        return note_form.load_note_codes(resource_path("codes")), ""
    except CodeFileError as e:
        return BUILT_IN_CODES, f"The code list could not be read ({e}); using the basic list."


class FieldError(QLabel):
    """A message shown next to the field at fault; hidden when empty."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.setObjectName("fieldError")
        self.setWordWrap(True)
        self.setAccessibleName(name)
        self.hide()

    def show_messages(self, messages: list[str]) -> None:
        text = " ".join(note_form.plain_sentence(m) for m in messages)
        self.setText(text)
        self.setVisible(bool(text))


class GrowingTextEdit(QPlainTextEdit):
    """A text box that grows with what is written (between ``min_lines`` and
    ``max_lines`` lines, then it scrolls), so a short note is not a tall empty box
    and a long one does not hide in a small one."""

    def __init__(self, min_lines: int = 3, max_lines: int = 16) -> None:
        super().__init__()
        self.min_lines, self.max_lines = min_lines, max_lines
        self.setTabChangesFocus(True)
        self.setSizePolicy(self.sizePolicy().horizontalPolicy(), self.sizePolicy().Policy.Fixed)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self._fit()

    def _fit(self, *_: Any) -> None:
        lines = int(self.document().documentLayout().documentSize().height())
        lines = max(self.min_lines, min(self.max_lines, lines + 1))
        margins = self.contentsMargins()
        doc_margin = 2 * self.document().documentMargin()
        height = lines * self.fontMetrics().lineSpacing() + margins.top() + margins.bottom()
        self.setFixedHeight(int(height + doc_margin + 10))

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._fit()

    def changeEvent(self, event: Any) -> None:
        """A style sheet or font that comes later (the app's, when the window is
        shown) changes the line height: fit again, so the layout is told at once."""
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._fit()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self._fit()


class Reflow(QWidget):
    """Its widgets side by side when they fit, else one under the other (the two
    template choices were wider than the smallest window)."""

    def __init__(self, widgets: list[QWidget]) -> None:
        super().__init__()
        self._widgets = widgets
        self.box = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        self.box.setContentsMargins(0, 0, 0, 0)
        for w in widgets:
            self.box.addWidget(w)
        self.box.addStretch(1)

    def _row_width(self) -> int:
        return sum(w.sizeHint().width() for w in self._widgets) + self.box.spacing() * (
            len(self._widgets) - 1
        )

    def minimumSizeHint(self) -> QSize:
        widest = max(w.minimumSizeHint().width() for w in self._widgets)
        return QSize(widest, super().minimumSizeHint().height())

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        fits = self.width() >= self._row_width()
        direction = QBoxLayout.Direction.LeftToRight if fits else QBoxLayout.Direction.TopToBottom
        if self.box.direction() != direction:
            self.box.setDirection(direction)


def card(title: str) -> tuple[QFrame, QVBoxLayout]:
    """A card of the note editor: a frame with its title; the layout to fill."""
    frame = QFrame()
    frame.setObjectName("card")
    lay = QVBoxLayout(frame)
    lay.setContentsMargins(16, 12, 16, 14)
    lay.setSpacing(6)
    if title:
        t = QLabel(title)
        t.setObjectName("sectionTitle")
        lay.addWidget(t)
    return frame, lay


def field_label(text: str, buddy: QWidget | None) -> QLabel:
    """A field's label (its mnemonic moves the focus to ``buddy``)."""
    lab = QLabel(text)
    lab.setObjectName("fieldLabel")
    if buddy is not None:
        lab.setBuddy(buddy)
    return lab


def twelve_hour_locale() -> bool:
    """Whether times are written with AM/PM here: the system locale's short time
    format says so (the C locale of a bare system counts as US English)."""
    loc = QLocale()
    if loc.language() in (QLocale.Language.C, QLocale.Language.AnyLanguage):
        return True
    return "a" in loc.timeFormat(QLocale.FormatType.ShortFormat).lower()


class TimeQuestions(QFrame):
    """A question above the Sign card about a time outside usual hours or a long
    service: "Yes, that is right" keeps the times; "Change the times" goes to them.
    The page's ``_times_answered(keep)`` receives the answer."""

    def __init__(self, page: Any) -> None:
        super().__init__()
        self.setObjectName("timeQuestion")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 8, 12, 8)
        self.label = wrapped_label("", "fieldError")
        self.label.setAccessibleName("Question about the times")
        row = QHBoxLayout()
        self.keep_button = QPushButton(self.tr("Yes, that is right"))
        self.keep_button.setAccessibleName(self.tr("Keep these times"))
        self.keep_button.clicked.connect(lambda: page._times_answered(True))
        self.change_button = QPushButton(self.tr("Change the times"))
        self.change_button.setAccessibleName(self.tr("Change the times"))
        self.change_button.clicked.connect(lambda: page._times_answered(False))
        row.addWidget(self.keep_button)
        row.addWidget(self.change_button)
        row.addStretch(1)
        lay.addWidget(self.label)
        lay.addLayout(row)
        self.hide()

    def ask(self, questions: list[str]) -> None:
        if questions:
            text = " ".join(note_form.plain_sentence(q) for q in questions)
            self.label.setText(text + " " + self.tr("Is that right?"))
        self.setVisible(bool(questions))

    @property
    def open(self) -> bool:
        return not self.isHidden()


class ElidedButton(QPushButton):
    """A flat button whose one line of text ends in "…" when the room is short (the
    whole text is in its tooltip)."""

    def __init__(self) -> None:
        super().__init__()
        self._full = ""

    def full_text(self) -> str:
        return self._full

    def set_full_text(self, text: str) -> None:
        self._full = text
        self._elide()

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        room = self.width() - 24
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, room)
        if self.text() != shown:
            self.setText(shown)
