"""Where PeerTrail keeps things: the data folder, the demo folder, bundled resources.

Resources are found the same way from source and when frozen by PyInstaller
(``sys._MEIPASS``). Nothing here imports Qt.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "PeerTrail"
APP_AUTHOR = "PeerTrail"


def default_data_dir() -> Path:
    """``PEERTRAIL_DATA_DIR`` when set, else the platform's user data folder."""
    env = os.environ.get("PEERTRAIL_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))


def demo_data_dir(data_dir: Path | None = None) -> Path:
    """The demo vault lives beside the real one, never inside it."""
    base = data_dir or default_data_dir()
    return base.parent / (base.name + "-demo")


def resource_path(*parts: str) -> Path:
    root = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parent.parent))
    return root.joinpath("resources", *parts)
