"""Writing an exported file (a report, a note PDF) where the person chose.

One place for what every export does on the way out: write the whole file, and
when that fails (no such folder, no permission, a full disk) remove what was half
written and raise a StoreError that says so in plain words, without the path
(a folder name may hold a person's name).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from app.store.errors import StoreError


def save_export(path: Path | str, blob: bytes, what: str = "report") -> Path:
    """Write ``blob`` to ``path`` (replacing a file the person chose to replace)."""
    path = Path(path)
    try:
        path.write_bytes(blob)
    except OSError as e:
        with contextlib.suppress(OSError):  # a folder in the way is left as it is
            if path.is_file():
                path.unlink()
        raise StoreError(
            f"The {what} could not be written there ({e.strerror or type(e).__name__}). "
            "Choose another folder; nothing else was changed."
        ) from None
    return path
