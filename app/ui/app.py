"""Start the desktop app: the QApplication, the style sheet and the main window."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from app import __version__
from app.paths import APP_AUTHOR, APP_DOMAIN, APP_NAME, DESKTOP_ID, icon_files, resource_path
from app.ui.main_window import MainWindow

log = logging.getLogger(__name__)

STYLE_SHEET = ("styles", "app.qss")


def load_style_sheet() -> str:
    """The app's style sheet, or "" (Qt's default look) if it cannot be read."""
    path = resource_path(*STYLE_SHEET)
    try:
        return path.read_text(encoding="utf-8")
    except OSError as e:
        log.warning("style sheet not loaded (%s)", type(e).__name__)
        return ""


def app_icon() -> QIcon:
    """The PeerTrail icon in every rendered size (an empty icon if none are found)."""
    icon = QIcon()
    for path in icon_files():
        icon.addFile(str(path))
    return icon


def make_application(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(list(sys.argv if argv is None else argv))
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName(APP_AUTHOR)
    app.setOrganizationDomain(APP_DOMAIN)
    app.setDesktopFileName(DESKTOP_ID)
    app.setWindowIcon(app_icon())
    app.setStyle("Fusion")  # the same look on Windows, macOS and Linux; the sheet builds on it
    app.setStyleSheet(load_style_sheet())
    return app


def run_gui(data_dir: Path, argv: list[str] | None = None) -> int:
    """Show PeerTrail for the vault in ``data_dir`` and run until the window closes."""
    app = make_application(argv)
    window = MainWindow(data_dir)
    window.show()
    return app.exec()
