"""Start the desktop app: the QApplication, the style sheet and the main window."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtCore import QLocale
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from app import __version__
from app.domain import datetext
from app.paths import APP_AUTHOR
from app.paths import APP_DOMAIN
from app.paths import APP_NAME
from app.paths import DESKTOP_ID
from app.paths import icon_files
from app.paths import resource_path
from app.ui.shell.main_window import MainWindow
from app.ui.shell.settings import BASE_FONT_PT
from app.ui.shell.settings import Settings
from app.ui.shell.settings import apply_font_size
from app.ui.shell.theme import follow_system

log = logging.getLogger(__name__)

STYLE_SHEET = ("styles", "app.qss")


def load_style_sheet() -> str:
    """The app's style sheets: styles/app.qss first, then every other .qss in
    styles/ by name (one per group of screens). A sheet that cannot be read is
    left out (Qt's default look for what it styled)."""
    main = resource_path(*STYLE_SHEET)
    paths = [main, *sorted(p for p in main.parent.glob("*.qss") if p != main)]
    parts = []
    for path in paths:
        try:
            parts.append(path.read_text(encoding="utf-8"))
        except OSError as e:
            log.warning("style sheet %s not loaded (%s)", path.name, type(e).__name__)
    return "\n".join(parts)


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
    # Dates, times and numbers everywhere (screens, reports) in the system's locale.
    datetext.set_locale(QLocale.system().name())
    app.setStyle("Fusion")  # the same look on Windows, macOS and Linux; the sheet builds on it
    follow_system(app, load_style_sheet())  # light or dark, as the system is
    return app


def run_gui(data_dir: Path, argv: list[str] | None = None) -> int:
    """Show PeerTrail for the vault in ``data_dir`` and run until the window closes."""
    app = make_application(argv)
    size = Settings().font_size
    if size != BASE_FONT_PT:  # the person's text size from Preferences
        apply_font_size(app, size)
    window = MainWindow(data_dir)
    window.show()
    return app.exec()
