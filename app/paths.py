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
#: The organization name for platformdirs and QSettings (the folder the data and
#: settings live under on Windows and macOS).
APP_AUTHOR = "PeerTrail"
#: The organization domain for QSettings on macOS (``org.peertrail.PeerTrail``).
APP_DOMAIN = "peertrail.org"
#: The .desktop file name on Linux (without ".desktop"), so the window is linked
#: to its menu entry and icon.
DESKTOP_ID = "peertrail"
#: Sizes of the rendered app icon in resources/icons (peertrail-<size>.png).
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


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
    """A file under resources/: beside the source tree, or inside the frozen app
    (PyInstaller unpacks the listed data folders under ``sys._MEIPASS``)."""
    root = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parent.parent))
    return root.joinpath("resources", *parts)


def icon_files() -> list[Path]:
    """The app icon's PNG sizes that exist, smallest first."""
    files = [resource_path("icons", f"peertrail-{size}.png") for size in ICON_SIZES]
    return [f for f in files if f.is_file()]
