"""PeerTrail desktop client: domain, encrypted store, billing and the Qt user interface.

``__version__`` has one source, pyproject.toml: read from it beside the source
tree, from the VERSION file the installer build writes into the frozen app, or
from the installed package's metadata.
"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path


def _read_version() -> str:
    here = Path(__file__).resolve().parent
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:  # written by installer/build.py
        try:
            return (Path(frozen_root) / "resources" / "VERSION").read_text("utf-8").strip()
        except OSError:
            pass
    pyproject = here.parent / "pyproject.toml"
    if pyproject.is_file():
        import tomllib

        try:
            return str(tomllib.loads(pyproject.read_text("utf-8"))["project"]["version"])
        except (OSError, ValueError, KeyError):
            pass
    try:
        return metadata.version("peertrail")
    except metadata.PackageNotFoundError:
        return "0+unknown"


__version__ = _read_version()
