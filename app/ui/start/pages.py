"""The building blocks of the start and welcome screens: a centred card with a
title, an introduction, fields, an inline message and a busy bar, and the
buttons and labels in it (styled by resources/styles/app.qss through their
object names)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFrame
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QProgressBar
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QScrollArea
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.services.vaults import MIN_PASSPHRASE


def label(text: str, name: str = "", wrap: bool = True) -> QLabel:
    label = QLabel(text)
    if name:
        label.setObjectName(name)
    label.setWordWrap(wrap)
    label.setIndent(0)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
    return label


def passphrase_edit(accessible: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setAccessibleName(accessible)
    edit.setMinimumWidth(320)
    return edit


def link(text: str) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName("link")
    button.setFlat(True)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    return button


def primary(text: str) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName("primary")
    button.setDefault(True)
    return button


class Page(QWidget):
    """A centred card with a title, a text, a form, an inline error and a busy bar."""

    def __init__(self, title: str, intro: str, name: str) -> None:
        super().__init__()
        self.setObjectName(name)
        self.card = QFrame()
        self.card.setObjectName("card")
        self.card.setMaximumWidth(620)
        self.body = QVBoxLayout(self.card)
        self.body.setContentsMargins(36, 32, 36, 28)
        self.body.setSpacing(10)
        self.title = label(title, "pageTitle")
        self.body.addWidget(self.title)
        self.intro = label(intro, "intro")
        self.body.addWidget(self.intro)
        self.body.addSpacing(6)

        self.error = label("", "error")
        self.error.setAccessibleName("Message")
        self.error.hide()
        self.busy_bar = QProgressBar()
        self.busy_bar.setObjectName("busy")
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.hide()

        # the card is centred, and scrolls when the window is too small for it
        self.scroll = QScrollArea()
        self.scroll.setObjectName("pageScroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inner = QWidget()
        inner.setObjectName("pageInner")
        self.scroll.setWidget(inner)
        page_layout = QVBoxLayout(self)
        page_layout.setContentsMargins(0, 0, 0, 0)
        page_layout.addWidget(self.scroll)
        outer = QVBoxLayout(inner)
        outer.setContentsMargins(24, 24, 24, 24)
        outer.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.card, 10)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)
        self._inputs: list[QWidget] = []

    def add_field(self, caption: str, widget: QWidget, hint: str = "") -> None:
        cap = label(caption, "fieldLabel")
        cap.setBuddy(widget)
        self.body.addWidget(cap)
        self.body.addWidget(widget)
        if hint:
            self.body.addWidget(label(hint, "hint"))
        self._inputs.append(widget)

    def add_status(self) -> None:
        self.body.addWidget(self.error)
        self.body.addWidget(self.busy_bar)

    def button(self, make: Callable[[str], QPushButton], text: str, on_click) -> QPushButton:
        """A button made by ``make`` (primary, link) that clicks ``on_click`` and is
        disabled while the page is busy."""
        button = make(text)
        button.clicked.connect(on_click)
        self._inputs.append(button)
        return button

    def add_buttons(self, left: list[QWidget], right: list[QWidget], spacing: int = 8) -> None:
        """A row of buttons under the form: ``left`` ones, a stretch, ``right`` ones."""
        row = QHBoxLayout()
        for w in left:
            row.addWidget(w)
        row.addStretch(1)
        for w in right:
            row.addWidget(w)
        if spacing:
            self.body.addSpacing(spacing)
        self.body.addLayout(row)

    def clear(self, *edits: QLineEdit) -> None:
        """Back to the page's first state: ``edits`` empty, no message, not busy."""
        for edit in edits:
            edit.clear()
        self.show_error("")
        self.set_busy(False)

    def new_passphrase_ok(
        self, first: QLineEdit, again: QLineEdit, too_short: str, the_two: str
    ) -> bool:
        """A new passphrase typed twice: long enough and the same both times, or the
        message (``too_short``; "``the_two`` are not the same") by the right field."""
        if len(first.text()) < MIN_PASSPHRASE:
            self.show_error(too_short)
            first.setFocus()
            return False
        if first.text() != again.text():
            self.show_error(f"{the_two} are not the same. Type them again.")
            again.clear()
            again.setFocus()
            return False
        return True

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))
        if text:  # on a small screen, bring the message into view once laid out
            QTimer.singleShot(0, self, lambda: self.scroll.ensureWidgetVisible(self.error))

    def set_busy(self, busy: bool) -> None:
        self.busy_bar.setVisible(busy)
        for w in self._inputs:
            w.setEnabled(not busy)
        if busy:
            self.show_error("")
