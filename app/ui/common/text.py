"""Counted words on screen: "1 service", "2 services", never "service(s)".

:func:`plural` asks Qt's ``tr()`` with ``n``, so ``%n`` in the text becomes the
number (and a translation file can give a language its own plural forms); in
the source language the English singular or plural sentence is chosen here.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtCore import QObject


def plural(obj: QObject | str, n: int, one: str, many: str) -> str:
    """The sentence for ``n`` things: ``one`` when n is 1, else ``many``; ``%n`` (or
    the older ``{n}``) in either is the number. ``obj`` is the QObject whose tr()
    context is used, or a context name."""
    text = one if n == 1 else many
    if isinstance(obj, QObject):
        out = obj.tr(text, "", n)
    else:
        out = QCoreApplication.translate(obj, text, "", n)
    return out.replace("{n}", str(n))
