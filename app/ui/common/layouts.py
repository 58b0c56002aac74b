"""Boxes of widgets declared in one call: :func:`column` and :func:`row` lay out
widgets, layouts, stretches (an int) and (item, stretch) pairs in order, with the
box's margins and spacing, so a page's build code reads as what it shows;
:func:`scrolled` puts a body in a frameless scroll area."""

from __future__ import annotations

from PySide6.QtWidgets import QBoxLayout
from PySide6.QtWidgets import QFrame
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLayout
from PySide6.QtWidgets import QScrollArea
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

Item = QWidget | QLayout | int | tuple[QWidget | QLayout, int]


def column(
    *items: Item,
    parent: QWidget | None = None,
    margins: tuple[int, int, int, int] | None = None,
    spacing: int | None = None,
) -> QVBoxLayout:
    """A vertical box of ``items`` (on ``parent`` if given); ``margins`` and ``spacing``
    as given, else the style's."""
    box = QVBoxLayout(parent) if parent is not None else QVBoxLayout()
    return _filled(box, items, margins, spacing)


def row(
    *items: Item,
    parent: QWidget | None = None,
    margins: tuple[int, int, int, int] | None = None,
    spacing: int | None = None,
) -> QHBoxLayout:
    """A horizontal box of ``items``, as :func:`column`."""
    box = QHBoxLayout(parent) if parent is not None else QHBoxLayout()
    return _filled(box, items, margins, spacing)


def scrolled(body: QWidget, name: str = "") -> QScrollArea:
    """``body`` in a frameless scroll area that resizes it to its width (named ``name``
    for the style sheet and tests, if given)."""
    scroll = QScrollArea()
    if name:
        scroll.setObjectName(name)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setWidget(body)
    return scroll


def _filled(box, items, margins, spacing):
    if margins is not None:
        box.setContentsMargins(*margins)
    if spacing is not None:
        box.setSpacing(spacing)
    for item in items:
        _add(box, item)
    return box


def _add(box: QBoxLayout, item: Item) -> None:
    if isinstance(item, int):
        box.addStretch(item)
        return
    what, stretch = item if isinstance(item, tuple) else (item, 0)
    if isinstance(what, QLayout):
        box.addLayout(what, stretch)
    else:
        box.addWidget(what, stretch)
