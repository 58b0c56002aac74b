"""The workspace of an unlocked vault: a navigation list on the left and one page
at a time on the right.

The main window builds a new workspace for every unlock and throws it away on
lock, so nothing a page showed survives a lock. Pages are
:class:`app.ui.shell.context.Page` widgets added with :meth:`Workspace.add_page`; a page
can be left out of the navigation list (a participant's record is reached from the
caseload, not from the list). A page added with :meth:`Workspace.add_page_later` is
listed at once but built when first asked for (``pages[key]``, a click) or by
:meth:`Workspace.build_pending_soon`, one after the other shortly after: building
every page (and polishing it in the style sheet) took most of the time between
Unlock and the caseload on screen.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent
from PySide6.QtCore import QObject
from PySide6.QtCore import Qt
from PySide6.QtCore import QTimer
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QListWidget
from PySide6.QtWidgets import QListWidgetItem
from PySide6.QtWidgets import QStackedWidget
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.ui.common.table_model import KEY_ROLE
from app.ui.shell.context import AppContext


class NavList(QListWidget):
    """The navigation list. Receiving focus never changes the page: Qt's item views
    make the first row current when they gain focus without a current row (Tab past
    a page's last field, a disabled widget handing on its focus, the window becoming
    active again), which would open the Caseload in the middle of someone's note.
    Only a click or the arrow keys choose a page."""

    def focusInEvent(self, event: object) -> None:
        had_current = self.currentRow() >= 0
        self.blockSignals(True)
        try:
            super().focusInEvent(event)  # type: ignore[arg-type]
            if not had_current and self.currentRow() >= 0:
                self.setCurrentRow(-1)  # what Qt chose on its own is undone
                self.clearSelection()
        finally:
            self.blockSignals(False)


class PageSet(dict):
    """The workspace's pages by key. A page not built yet counts as there (``in``,
    ``len``, iterating the keys), and ``pages[key]`` / ``pages.get(key)`` build it;
    ``values()`` and ``items()`` are the pages built so far (nothing is built to be
    saved or cleared)."""

    def __init__(self, build: Callable[[str], None]) -> None:
        super().__init__()
        self.pending: dict[str, Callable[[], QWidget]] = {}
        self._build = build

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or key in self.pending

    def __iter__(self):  # type: ignore[no-untyped-def]
        yield from dict.keys(self)
        yield from list(self.pending)

    def keys(self):  # type: ignore[no-untyped-def, override]
        return list(self)

    def __len__(self) -> int:
        return dict.__len__(self) + len(self.pending)

    def __getitem__(self, key: str) -> QWidget:
        if not dict.__contains__(self, key) and key in self.pending:
            self._build(key)
        return dict.__getitem__(self, key)

    def get(self, key: str, default: QWidget | None = None) -> QWidget | None:  # type: ignore[override]
        return self[key] if key in self else default  # noqa: SIM401 (builds the page)


class Workspace(QWidget):
    """Navigation list + page stack."""

    page_changed = Signal(str)

    def __init__(
        self, ctx: AppContext, top: QWidget | None = None, parent: QWidget | None = None
    ) -> None:
        """``top`` (the search bar) sits above the pages, right of the navigation."""
        super().__init__(parent)
        self.setObjectName("workspace")
        self.ctx = ctx
        self.pages = PageSet(self._build_page)
        self.nav = NavList()
        self.nav.setObjectName("navList")
        self.nav.setAccessibleName("Sections")
        self.nav.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.nav.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.nav.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.nav.currentItemChanged.connect(self._on_nav)
        self.nav.installEventFilter(self)  # refit when the text size changes
        self.stack = QStackedWidget()
        self.stack.setObjectName("pageStack")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.nav)
        right = QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        right.setSpacing(0)
        self.top = top
        if top is not None:
            right.addWidget(top)
        right.addWidget(self.stack, 1)
        layout.addLayout(right, 1)

    def add_page(self, key: str, page: QWidget, label: str = "", in_nav: bool = True) -> None:
        self.pages[key] = page
        self.stack.addWidget(page)
        if in_nav:
            item = QListWidgetItem(label or getattr(page, "title", key))
            item.setData(KEY_ROLE, key)
            self.nav.addItem(item)
        self._fit_nav()

    def add_page_later(
        self, key: str, factory: Callable[[], QWidget], label: str = "", in_nav: bool = True
    ) -> None:
        """List the page now; build it (``factory()``) when it is first needed."""
        self.pages.pending[key] = factory
        if in_nav:
            item = QListWidgetItem(label or key)
            item.setData(KEY_ROLE, key)
            self.nav.addItem(item)
        self._fit_nav()

    def _build_page(self, key: str) -> None:
        page = self.pages.pending.pop(key)()
        dict.__setitem__(self.pages, key, page)
        self.stack.addWidget(page)

    def build_pending_soon(self, delay_ms: int = 300) -> None:
        """Build the pages not built yet, starting in ``delay_ms`` (the caseload is
        painted first: started at once, the chain ran ahead of painting), one after
        the other, and only while the database worker is idle (what the person just
        asked for comes first)."""
        if self.pages.pending:
            QTimer.singleShot(delay_ms, self, self._build_next)

    def _build_next(self) -> None:
        if not self.pages.pending:
            return
        if self.ctx.tasks.busy:  # a page is loading what the person asked for: after it
            QTimer.singleShot(100, self, self._build_next)
            return
        self._build_page(next(iter(self.pages.pending)))
        QTimer.singleShot(0, self, self._build_next)

    def set_in_nav(self, key: str, shown: bool) -> None:
        """Show or hide a page's navigation item (the page itself stays reachable)."""
        for row in range(self.nav.count()):
            item = self.nav.item(row)
            if item.data(KEY_ROLE) == key and item.isHidden() == shown:
                item.setHidden(not shown)

    def in_nav(self, key: str) -> bool:
        """Whether the page's navigation item is listed and not hidden."""
        return any(
            self.nav.item(r).data(KEY_ROLE) == key and not self.nav.item(r).isHidden()
            for r in range(self.nav.count())
        )

    def show_page(self, key: str) -> QWidget:
        page = self.pages[key]
        self.stack.setCurrentWidget(page)
        for row in range(self.nav.count()):
            item = self.nav.item(row)
            if item.data(KEY_ROLE) == key:
                self.nav.blockSignals(True)
                self.nav.setCurrentItem(item)
                self.nav.blockSignals(False)
                break
        else:
            self.nav.blockSignals(True)
            self.nav.setCurrentRow(-1)
            self.nav.clearSelection()
            self.nav.blockSignals(False)
        self.page_changed.emit(key)
        return page

    def current_key(self) -> str:
        current = self.stack.currentWidget()
        for key, page in self.pages.items():
            if page is current:
                return key
        return ""

    def clear(self) -> None:
        """Empty every page and the top bar (the vault is locking)."""
        if self.top is not None and callable(getattr(self.top, "clear", None)):
            self.top.clear()
        for page in self.pages.values():
            clear = getattr(page, "clear", None)
            if callable(clear):
                clear()

    def _on_nav(self, item: QListWidgetItem | None, _previous: object = None) -> None:
        if item is not None:
            self.show_page(item.data(KEY_ROLE))

    def _fit_nav(self) -> None:
        """As wide as the longest label in the style sheet's font, plus padding."""
        self.nav.ensurePolished()
        metrics = self.nav.fontMetrics()
        width = max(
            (metrics.horizontalAdvance(self.nav.item(r).text()) for r in range(self.nav.count())),
            default=80,
        )
        self.nav.setFixedWidth(width + 2 * metrics.averageCharWidth() + 34)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.nav and event.type() in (
            QEvent.Type.FontChange,
            QEvent.Type.StyleChange,
        ):
            QTimer.singleShot(0, self, self._fit_nav)  # after the new font is polished in
        return False

    def showEvent(self, event: object) -> None:
        super().showEvent(event)  # type: ignore[arg-type]
        self._fit_nav()  # the style sheet's font is known once shown
