"""Small helpers the record forms share: a field with its in-place error message,
a date box, labelled form rows (and groups of them, their labels one width), a
wrapped label, and a form dialog that keeps what was typed when a check fails."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton
from PySide6.QtWidgets import QComboBox
from PySide6.QtWidgets import QDialog
from PySide6.QtWidgets import QFormLayout
from PySide6.QtWidgets import QGroupBox
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QPlainTextEdit
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget


def wrapped_label(text: str = "", name: str = "hint", hidden: bool = False) -> QLabel:
    """A word-wrapped label styled by ``name`` (a hint, an error, a banner), hidden
    until it has something to say when ``hidden``."""
    lab = QLabel(text)
    lab.setObjectName(name)
    lab.setWordWrap(True)
    if hidden:
        lab.hide()
    return lab


def form_rows(
    rows: list[tuple[str, QWidget]],
    parent: QWidget | None = None,
    spacing: int = 14,
    grow: bool = True,
) -> QFormLayout:
    """Labelled rows (labels right-aligned, each the buddy of its field; an empty label:
    the widget alone), on ``parent`` if given. With ``grow`` the fields grow with the form."""
    form = QFormLayout(parent) if parent is not None else QFormLayout()
    if grow:
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
    form.setVerticalSpacing(8)
    form.setHorizontalSpacing(spacing)
    for text, widget in rows:
        if not text:
            form.addRow("", widget)
            continue
        lab = QLabel(text)
        lab.setObjectName("formLabel")
        lab.setBuddy(getattr(widget, "widget", widget))
        form.addRow(lab, widget)
    return form


def form_group(title: str, rows: list[tuple[str, QWidget]]) -> QGroupBox:
    """A titled group of labelled rows (:func:`form_rows`)."""
    box = QGroupBox(title)
    form_rows(rows, box)
    return box


def align_form_labels(body: QWidget) -> None:
    """Give every form label under ``body`` the widest one's width, so that the
    fields of its groups line up."""
    labels = [w for w in body.findChildren(QLabel) if w.objectName() == "formLabel"]
    width = max((w.sizeHint().width() for w in labels), default=0)
    for w in labels:
        w.setMinimumWidth(width)


def line_edit(accessible: str, placeholder: str = "", name: str = "") -> QLineEdit:
    edit = QLineEdit()
    edit.setAccessibleName(accessible)
    if placeholder:
        edit.setPlaceholderText(placeholder)
    if name:
        edit.setObjectName(name)
    return edit


def date_edit(accessible: str) -> QLineEdit:
    """Dates are typed (2024-03-09 or 3/9/2024) or picked from a calendar, and may be
    left empty (app/ui/common/date_picker.py)."""
    from app.ui.common.date_picker import DateLineEdit

    return DateLineEdit(accessible)


def combo(accessible: str, items: list[tuple[str, Any]], editable: bool = False) -> QComboBox:
    box = QComboBox()
    box.setAccessibleName(accessible)
    box.setEditable(editable)
    for text, data in items:
        box.addItem(text, data)
    return box


def value_of(widget: QWidget) -> str:
    if isinstance(widget, QLineEdit):
        return widget.text()
    if isinstance(widget, QPlainTextEdit):
        return widget.toPlainText()
    if isinstance(widget, QComboBox):
        if widget.isEditable():
            return widget.currentText()
        data = widget.currentData()
        return "" if data is None else str(data)
    raise TypeError(type(widget).__name__)


def set_value(widget: QWidget, value: str) -> None:
    if isinstance(widget, QLineEdit):
        widget.setText(value)
    elif isinstance(widget, QPlainTextEdit):
        widget.setPlainText(value)
    elif isinstance(widget, QComboBox):
        idx = widget.findData(value)
        if idx < 0 and widget.isEditable():
            widget.setEditText(value)
            return
        if idx < 0 and value:
            widget.addItem(value, value)
            idx = widget.count() - 1
        widget.setCurrentIndex(max(idx, 0))


class Field(QWidget):
    """An input with its message underneath (hidden until there is a problem)."""

    def __init__(self, widget: QWidget, hint: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.widget = widget
        self.accessible = widget.accessibleName()
        self.error = wrapped_label(name="fieldError", hidden=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(widget)
        if hint:
            layout.addWidget(wrapped_label(hint))
        layout.addWidget(self.error)
        for signal in ("textEdited", "textChanged", "currentIndexChanged", "toggled"):
            sig = getattr(widget, signal, None)
            if sig is not None:
                sig.connect(lambda *_: self.set_error(""))
                break

    def set_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.setVisible(bool(message))
        self.widget.setProperty("invalid", bool(message))
        self.widget.style().unpolish(self.widget)
        self.widget.style().polish(self.widget)
        self.widget.setAccessibleDescription(message)


class FieldsMixin:
    """:class:`Field` s keyed by field name, their values, and their messages (for a
    dialog or a page; the class sets ``self.fields = {}``)."""

    fields: dict[str, Field]

    def field(self, name: str, widget: QWidget, hint: str = "") -> Field:
        f = Field(widget, hint)
        self.fields[name] = f
        return f

    def values(self) -> dict[str, str]:
        return {name: value_of(f.widget) for name, f in self.fields.items()}

    def show_problems(self, problems: Mapping[str, str], focus: bool = True) -> None:
        """Messages next to their fields; the first field with a problem gets the focus
        (with ``focus``). Nothing typed is touched."""
        first: QWidget | None = None
        for name, f in self.fields.items():
            msg = problems.get(name, "")
            f.set_error(msg)
            if msg and first is None:
                first = f.widget
        if first is not None and focus:
            first.setFocus(Qt.FocusReason.OtherFocusReason)
            parent = first.parentWidget()
            while parent is not None:
                ensure = getattr(parent, "ensureWidgetVisible", None)
                if callable(ensure):
                    ensure(first)
                    break
                parent = parent.parentWidget()

    def problems_shown(self) -> dict[str, str]:
        return {n: f.error.text() for n, f in self.fields.items() if f.error.text()}


class FormDialog(FieldsMixin, QDialog):
    """A dialog of :class:`Field` s keyed by field name."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fields = {}
        self.setWindowModality(Qt.WindowModality.WindowModal)


def set_busy(buttons: list[QAbstractButton], busy: bool) -> None:
    for b in buttons:
        b.setEnabled(not busy)
