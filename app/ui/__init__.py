"""The desktop UI: Qt widgets, item models and the database worker. The only
package that imports PySide6.

Importing this package first applies :func:`_keep_singletons_alive` (below).
"""

from __future__ import annotations

import ctypes
import sys


def _keep_singletons_alive() -> bool:
    """Shiboken 6.12 returns ``None`` (every void method: ``setText``,
    ``processEvents``...) and ``True`` (``Signal.emit``) without taking a
    reference, which is right only from Python 3.12 on, where those objects are
    immortal (PEP 683). On Python 3.11 each call drops their count by one and the
    interpreter aborts ("deallocating None") after a few thousand calls. Giving
    them a very large count makes them immortal in practice, as 3.12 does.
    Inert on Python 3.12+ and with other Shiboken versions. Returns whether it
    applied."""
    if sys.version_info >= (3, 12):
        return False
    try:
        import shiboken6
    except ImportError:
        return False
    version = tuple(int(p) for p in shiboken6.__version__.split(".")[:2] if p.isdigit())
    if version != (6, 12):
        return False
    for obj in (None, True, False):
        refcount = ctypes.c_ssize_t.from_address(id(obj))  # ob_refcnt, the first field
        if refcount.value < 1 << 40:
            refcount.value += 1 << 40
    return True


_keep_singletons_alive()
