"""Help inside the app: the user guide (docs/USER_GUIDE.md, shipped as
resources/help/USER_GUIDE.md so an installed app has it too) and the list of
keyboard shortcuts, read from the guide's own "Keyboard shortcuts" table so the
two never disagree.

The guide is shown as Markdown in a QTextBrowser: its contents links jump to their
heading, links to other pages open in the system browser, and pictures that are
not shipped with the app are left out (their caption stays, in italics).
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtGui import QKeySequence
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QAbstractItemView
from PySide6.QtWidgets import QDialog
from PySide6.QtWidgets import QDialogButtonBox
from PySide6.QtWidgets import QHeaderView
from PySide6.QtWidgets import QTableWidget
from PySide6.QtWidgets import QTableWidgetItem
from PySide6.QtWidgets import QTextBrowser
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.paths import resource_path
from app.ui.common.forms import wrapped_label

GUIDE = ("help", "USER_GUIDE.md")
_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")


def guide_path() -> Path:
    return resource_path(*GUIDE)


def guide_text() -> str:
    """The guide's Markdown, pictures that are not shipped replaced by their caption."""
    path = guide_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return "# PeerTrail user guide\n\nThe guide is missing from this installation."
    base = path.parent

    def picture(m: re.Match[str]) -> str:
        return m.group(0) if (base / m.group(2)).is_file() else f"*{m.group(1)}*"

    return _IMAGE.sub(picture, text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: 'The supervisor's day' -> 'the-supervisors-day'."""
    s = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return s.replace(" ", "-")


def shortcuts(markdown: str | None = None) -> list[tuple[str, str]]:
    """(keys, what they do) from the guide's "Keyboard shortcuts" table."""
    text = guide_text() if markdown is None else markdown
    rows: list[tuple[str, str]] = []
    inside = False
    for line in text.splitlines():
        if line.startswith("## "):
            inside = line[3:].strip().lower() == "keyboard shortcuts"
            continue
        if inside and line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) >= 2 and not set(cells[0]) <= {"-", " "} and cells[0] != "Keys":
                rows.append((cells[0], cells[1]))
    return rows


class GuideBrowser(QDialog):
    """The user guide in a window of its own (not modal: it can stay open)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("guideWindow")
        self.setWindowTitle(self.tr("PeerTrail user guide"))
        self.browser = QTextBrowser()
        self.browser.setObjectName("guideText")
        self.browser.setAccessibleName(self.tr("User guide"))
        self.browser.setOpenLinks(False)
        self.browser.anchorClicked.connect(self._follow)
        self.browser.setSearchPaths([str(guide_path().parent)])
        self.browser.setMarkdown(guide_text())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser, 1)
        layout.addWidget(buttons)
        self.resize(760, 640)

    def _follow(self, url: QUrl) -> None:
        if url.scheme() in ("http", "https", "mailto"):
            QDesktopServices.openUrl(url)
        elif url.hasFragment() and not url.path():
            self.show_section(url.fragment())

    def show_section(self, anchor: str) -> bool:
        """Scroll to the heading whose anchor is ``anchor``; False when none."""
        block = self.browser.document().begin()
        while block.isValid():
            if block.blockFormat().headingLevel() and slug(block.text()) == anchor:
                cursor = QTextCursor(block)
                self.browser.setTextCursor(cursor)
                bar = self.browser.verticalScrollBar()
                top = self.browser.document().documentLayout().blockBoundingRect(block).top()
                bar.setValue(int(top))
                return True
            block = block.next()
        return False


class ShortcutsDialog(QDialog):
    """The keyboard shortcuts, as a two-column table."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle(self.tr("Keyboard shortcuts"))
        rows = shortcuts()
        intro = wrapped_label(self.tr("Keys that work in PeerTrail (on a Mac, Cmd for Ctrl)."))
        self.table = QTableWidget(len(rows), 2)
        self.table.setObjectName("shortcutsTable")
        self.table.setAccessibleName(self.tr("Keyboard shortcuts"))
        self.table.setHorizontalHeaderLabels([self.tr("Keys"), self.tr("What it does")])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setTabKeyNavigation(False)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(True)
        for r, (keys, what) in enumerate(rows):
            native = QKeySequence(keys).toString(QKeySequence.SequenceFormat.NativeText)
            self.table.setItem(r, 0, QTableWidgetItem(native or keys))
            self.table.setItem(r, 1, QTableWidgetItem(what))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.table.resizeRowsToContents()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setFocus()
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(620, 560)
