"""The About dialog: the app's name, icon and version (the same one ``--version``
prints), where its data folder is, and the versions of the parts under it.

``show_about(parent)`` opens it window-modal and returns at once (no nested event
loop); the dialog deletes itself when closed.
"""

from __future__ import annotations

import platform
from pathlib import Path

import PySide6
from PySide6.QtCore import Qt
from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QDialog
from PySide6.QtWidgets import QDialogButtonBox
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app import __version__
from app.paths import APP_NAME
from app.paths import default_data_dir
from app.paths import resource_path
from app.ui.common.forms import wrapped_label

ABOUT_TEXT = (
    "Caseload, service notes and hours for peer support specialists. Your records "
    "stay in an encrypted vault on this computer and work with no connection; they "
    "are shared only with your organization's own server, if it has one."
)


def version_line() -> str:
    return f"Version {__version__}"


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, data_dir: Path | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle(f"About {APP_NAME}")
        self.setMinimumWidth(460)

        icon = QLabel()
        icon.setObjectName("aboutIcon")
        icon_file = resource_path("icons", "peertrail-64.png")
        if icon_file.is_file():
            from PySide6.QtGui import QPixmap

            icon.setPixmap(QPixmap(str(icon_file)))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)

        name = QLabel(APP_NAME)
        name.setObjectName("pageTitle")
        self.version_label = QLabel(version_line())
        self.version_label.setObjectName("aboutVersion")
        self.version_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        text = QLabel(ABOUT_TEXT)
        text.setWordWrap(True)
        folder = data_dir or default_data_dir()
        self.folder_label = wrapped_label(f"Your data folder: {folder}")
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        parts = wrapped_label(
            f"Python {platform.python_version()} · Qt {qVersion()} · "
            f"PySide6 {PySide6.__version__} · {platform.system()} {platform.machine()}"
        )

        column = QVBoxLayout()
        column.setSpacing(6)
        for w in (name, self.version_label, text, self.folder_label, parts):
            column.addWidget(w)
        row = QHBoxLayout()
        row.setSpacing(18)
        row.addWidget(icon)
        row.addLayout(column, 1)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 22, 24, 16)
        layout.addLayout(row)
        layout.addSpacing(8)
        layout.addWidget(buttons)


def show_about(parent: QWidget | None, data_dir: Path | None = None) -> AboutDialog:
    """Open the About dialog over ``parent`` and return it (it closes itself)."""
    dialog = AboutDialog(parent, data_dir)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog
