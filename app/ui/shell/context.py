"""What every screen of an unlocked vault shares: the open session, the signed-in
user, the database worker, and the app-wide "what changed" broadcast.

Screens never hold the store. They ask :meth:`AppContext.run` to run a service
(app.services) on the database thread; a result that arrives after the vault was
locked is dropped, so a locked screen can never be refilled by a late read. A
write's service returns what it changed (app.services.changes: a ``Done`` or a
result with a ``changed`` field); the context broadcasts that after the screen's
``on_done`` ran, and every screen showing those tables refreshes (Anki's
operations/"OpChanges" style). No screen names tables by hand. Navigation between
screens goes through the ``open_*`` signals, which the main window routes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from app.domain.records import Role
from app.domain.records import User
from app.services.changes import Changed
from app.services.changes import Done
from app.services.failures import message_for
from app.services.vaults import Session
from app.ui.shell.tasks import TaskManager


def changes_of(result: Any) -> Changed | None:
    """What a service's result says it changed, if anything."""
    changed = getattr(result, "changed", None)
    return changed if isinstance(changed, Changed) else None


class AppContext(QObject):
    """Shared by the screens of one unlocked session (a new one per unlock)."""

    #: Tables written (a frozenset of table names); screens showing them refresh.
    data_changed = Signal(object)
    #: The whole :class:`Changed` of the last broadcast (tables and record ids).
    changes = Signal(object)
    #: Ask the main window to show a participant's record (participant id).
    open_participant = Signal(str)
    #: Ask the main window to open a note in the editor (encounter id, "" for new;
    #: the participant id for a new one).
    open_note = Signal(str, str)
    #: A short message for the status bar.
    status_message = Signal(str)

    def __init__(
        self, tasks: TaskManager, session: Session, user: User, parent: QObject | None = None
    ):
        super().__init__(parent)
        self.tasks = tasks
        self.session = session
        self.user = user
        self.active = True
        #: The screen whose write is being broadcast (None for other broadcasts), so
        #: it can skip reloading what it just wrote.
        self.origin: object | None = None

    # -- who is signed in -------------------------------------------------------------

    @property
    def role(self) -> Role:
        return self.user.role

    @property
    def is_supervisor(self) -> bool:
        return self.user.role in (Role.SUPERVISOR, Role.ADMIN)

    @property
    def can_bill(self) -> bool:
        return self.user.role in (Role.BILLING, Role.SUPERVISOR, Role.ADMIN)

    @property
    def demo(self) -> bool:
        return self.session.demo

    # -- work on the database thread ---------------------------------------------------

    def run(
        self,
        fn: Callable[..., Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        args: tuple[Any, ...] = (),
        origin: object | None = None,
    ) -> None:
        """Run ``fn(repositories, *args)`` on the database thread, then call
        ``on_done(result)`` or ``on_error(exc)`` on the UI thread — unless the vault
        was locked meanwhile, in which case the result is dropped unseen. A
        :class:`Done` result reaches ``on_done`` as its value; whatever the result
        says it changed is broadcast after ``on_done`` (``origin``: the screen that
        asked, told apart during the broadcast)."""
        session = self.session

        def work(*a: Any) -> Any:
            return fn(session.repos, *a)

        def done(result: Any) -> None:
            if not self.active:
                return
            changed = changes_of(result)
            if on_done is not None:
                on_done(result.value if isinstance(result, Done) else result)
            if changed:
                self.broadcast(changed, origin)

        def failed(exc: BaseException) -> None:
            if not self.active:
                return
            if on_error is not None:
                on_error(exc)
            else:
                self.status_message.emit(message_for(exc))

        self.tasks.run(work, done, failed, args=args)

    def broadcast(self, changed: Changed, origin: object | None = None) -> None:
        """Tell every screen what a service changed."""
        if not self.active or not changed:
            return
        self.origin = origin
        try:
            self.changes.emit(changed)
            self.data_changed.emit(changed.tables)
        finally:
            self.origin = None

    def deactivate(self) -> None:
        """The vault is being locked: drop every late result from now on."""
        self.active = False


class Page(QWidget):
    """A screen of the workspace. Subclasses fill themselves in :meth:`refresh` and
    empty every personal field in :meth:`clear` (called when the vault locks)."""

    #: The name in the navigation list.
    title = ""
    #: Tables whose change makes this page refresh when it is visible.
    tables: frozenset[str] = frozenset()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._stale = True
        ctx.data_changed.connect(self._on_changed)

    def refresh(self) -> None:
        """Read again what the page shows (through ``self.ctx.run``)."""
        self._stale = False

    def clear(self) -> None:
        """Forget everything shown; the vault is locking."""

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def _on_changed(self, tables: frozenset[str]) -> None:
        if not (tables & self.tables):
            return
        if self.isVisible():
            self.refresh()
        else:
            self._stale = True
