"""Idle auto-lock: notice when nobody has used PeerTrail for a while.

:class:`IdleWatcher` is an application-wide event filter. Every key press, mouse
click, mouse move, wheel turn or touch restarts one single-shot timer; when the
timer runs out, :attr:`IdleWatcher.idle` is emitted once (the main window locks
the vault). It fires again only after new input and another full idle period.
The filter never consumes an event.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtCore import QEvent
from PySide6.QtCore import QObject
from PySide6.QtCore import QTimer
from PySide6.QtCore import Signal

#: Events that mean a person is at the keyboard or the mouse.
INPUT_EVENTS = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.KeyRelease,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseButtonRelease,
        QEvent.Type.MouseButtonDblClick,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
        QEvent.Type.TouchUpdate,
        QEvent.Type.TabletPress,
        QEvent.Type.InputMethod,
    }
)


class IdleWatcher(QObject):
    """Emits :attr:`idle` after ``minutes`` without input anywhere in the app."""

    idle = Signal()

    def __init__(self, minutes: float = 15, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timeout)
        self._installed = False
        self.set_minutes(minutes)

    # -- configuration -------------------------------------------------------------

    def set_minutes(self, minutes: float) -> None:
        """The idle time before :attr:`idle` (from the preferences); restarts the
        count when watching."""
        if minutes <= 0:
            raise ValueError("the idle time must be positive")
        self.set_interval_ms(int(minutes * 60_000))

    def set_interval_ms(self, ms: int) -> None:
        self._timer.setInterval(max(1, int(ms)))
        if self._installed:
            self._timer.start()

    @property
    def interval_ms(self) -> int:
        return self._timer.interval()

    @property
    def watching(self) -> bool:
        return self._installed

    # -- life cycle ----------------------------------------------------------------

    def start(self) -> None:
        """Watch input from now on (when the vault unlocks)."""
        app = QCoreApplication.instance()
        if app is None:
            raise RuntimeError("IdleWatcher needs a running QApplication")
        if not self._installed:
            app.installEventFilter(self)
            self._installed = True
        self._timer.start()

    def stop(self) -> None:
        """Stop watching (when the vault locks: nothing left to lock)."""
        self._timer.stop()
        if self._installed:
            app = QCoreApplication.instance()
            if app is not None:
                app.removeEventFilter(self)
            self._installed = False

    def poke(self) -> None:
        """Count as input (e.g. a long sync or print the person started)."""
        if self._installed:
            self._timer.start()

    # -- Qt ------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in INPUT_EVENTS and self._installed:
            self._timer.start()
        return False

    def _on_timeout(self) -> None:
        if self._installed:
            self.idle.emit()
