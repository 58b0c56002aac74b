"""Sync in the status bar: connection, changes waiting, last sync, conflicts, clock
warning, a progress bar during a long sync, and the Sync button.
"""

from __future__ import annotations

import contextlib
from typing import Any

from PySide6.QtCore import QSize
from PySide6.QtCore import Qt
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QProgressBar
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QToolButton
from PySide6.QtWidgets import QWidget

from app.domain.datetext import moment_text
from app.ui.sync.controller import SyncController
from app.ui.sync.sync_state import OFFLINE
from app.ui.sync.sync_state import ONLINE
from app.ui.sync.sync_state import SyncState
from app.ui.sync.sync_state import _tr
from app.ui.sync.sync_state import ago
from app.ui.sync.sync_state import count_text
from app.ui.sync.sync_state import error_message
from app.ui.sync.sync_state import progress_text


class SyncStatus(QWidget):
    """Sync in the status bar: connection, changes waiting, last sync, conflicts,
    clock warning, a progress bar during a long sync, and the Sync button."""

    #: The person clicked the conflicts count: show the conflicts page.
    open_conflicts = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("syncStatus")
        self.controller: SyncController | None = None
        self._state = SyncState()
        self._long = False
        self._wanted: dict[QWidget, bool] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 4, 0)
        layout.setSpacing(6)

        self.connection = QLabel()
        self.connection.setObjectName("syncConnection")
        self.pending = QLabel()
        self.pending.setObjectName("syncPending")
        self.last = QLabel()
        self.last.setObjectName("syncLast")
        self.clock = QLabel()
        self.clock.setObjectName("syncClock")
        self.clock.setAccessibleName(self.tr("Clock warning"))
        self.conflicts = QPushButton()
        self.conflicts.setObjectName("syncConflicts")
        self.conflicts.setAccessibleName(self.tr("Open the conflicts to look at"))
        self.conflicts.setCursor(Qt.CursorShape.PointingHandCursor)
        self.conflicts.clicked.connect(self.open_conflicts)
        self.progress = QProgressBar()
        self.progress.setObjectName("syncProgress")
        self.progress.setAccessibleName(self.tr("Sync progress"))
        self.progress.setFixedWidth(140)
        self.progress.setTextVisible(False)
        # beside the bar: changes and bytes so far, time left; and a way to stop
        self.progress_text = QLabel()
        self.progress_text.setObjectName("syncProgressText")
        self.progress_text.setAccessibleName(self.tr("Sync progress"))
        self.stop = QToolButton()
        self.stop.setObjectName("syncStop")
        self.stop.setText(self.tr("Stop"))
        self.stop.setAccessibleName(self.tr("Stop the sync"))
        self.stop.setToolTip(
            self.tr("Stop after the part under way; what was sent and received is kept")
        )
        self.stop.clicked.connect(self._stop_sync)
        self.button = QToolButton()
        self.button.setObjectName("syncButton")
        self.button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.button.setText(self.tr("Sync"))
        self.button.setAccessibleName(self.tr("Sync now"))
        self.button.setToolTip(self.tr("Send your changes and receive your team's (F5)"))

        for w in (self.connection, self.pending, self.last, self.clock):
            w.setAccessibleName(w.accessibleName() or self.tr("Sync status"))
        for w in (
            self.connection,
            self.pending,
            self.last,
            self.conflicts,
            self.clock,
            self.progress,
            self.progress_text,
            self.stop,
            self.button,
        ):
            layout.addWidget(w)
        layout.insertStretch(0, 1)  # room to spare stays on the left, not in the buttons
        #: Shown only when the state wants them and there is room (see _fit).
        self._optional = (self.pending, self.last)
        self._during = (self.conflicts, self.clock, self.progress, self.progress_text, self.stop)
        self.show_state(SyncState())

    def set_controller(self, controller: SyncController | None) -> None:
        """Follow a session's controller; None while locked (the widget hides)."""
        if self.controller is not None:
            for sig, slot in (
                (self.controller.state_changed, self.show_state),
                (self.button.clicked, self.controller.action.trigger),
            ):
                with contextlib.suppress(RuntimeError, TypeError):
                    sig.disconnect(slot)
        self.controller = controller
        if controller is None:
            self.hide()
            self.show_state(SyncState())
            return
        controller.state_changed.connect(self.show_state)
        self.button.clicked.connect(controller.action.trigger)
        self.show_state(controller.state)
        self.show()

    def _stop_sync(self) -> None:
        if self.controller is not None:
            self.controller.stop()

    def show_state(self, state: SyncState) -> None:
        self._state = state
        long_sync = bool(self.controller and self.controller.long_sync)
        self._show_connection(state)

        if state.pending:
            self.pending.setText(
                count_text(state.pending, "1 change waiting", "%1 changes waiting")
            )
        else:
            self.pending.setText(self.tr("All changes sent") if state.enrolled else "")
        # Before enrolment every change "waits" (tens of thousands in the demo): the
        # count is in the connection's tooltip instead.
        self._wanted[self.pending] = bool(self.pending.text()) and state.enrolled

        self.last.setText(self.tr("Last sync: %1").replace("%1", ago(state.last_ok_at)))
        self._wanted[self.last] = state.enrolled
        if state.last_ok_at is not None:
            self.last.setToolTip(moment_text(state.last_ok_at))

        n = state.open_conflicts
        self.conflicts.setText(count_text(n, "1 conflict", "%1 conflicts") if n else "")
        self._wanted[self.conflicts] = n > 0
        self.conflicts.setToolTip(self.tr("Compare both versions and choose (Conflicts page)"))

        warning = state.clock_warning
        self.clock.setText(self.tr("⚠ Clock is off") if warning else "")
        self.clock.setToolTip(
            _tr(
                "This laptop's clock is %1 minutes off from the server's. Set the date "
                "and time correctly so your changes are ordered right."
            ).replace("%1", str(round(abs(state.clock_offset_ms) / 60000)))
            if warning
            else ""
        )
        self.clock.setAccessibleDescription(self.clock.toolTip())
        self._wanted[self.clock] = bool(warning)

        self._wanted[self.progress] = state.syncing and long_sync
        self.progress_text.setText(progress_text(state) if state.syncing else "")
        self._wanted[self.progress_text] = self._wanted[self.progress] and bool(
            self.progress_text.text()
        )
        self._wanted[self.stop] = self._wanted[self.progress]
        if state.progress_total > 0 and state.progress_done < state.progress_total:
            self.progress.setRange(0, state.progress_total)
            self.progress.setValue(state.progress_done)
        else:
            self.progress.setRange(0, 0)  # receiving: no known end
        self.button.setEnabled(state.enrolled and not state.syncing)
        self.button.setVisible(True)
        self.updateGeometry()
        self._fit()

    def _show_connection(self, state: SyncState) -> None:
        """Online, offline, syncing, a problem or not connected, with a tooltip saying more."""
        if not state.enrolled:
            self.connection.setText(self.tr("Not connected to a server"))
            self.connection.setProperty("state", "unenrolled")
            tip = self.tr("Your work stays on this laptop. Connect it in Preferences.")
            if state.pending:  # nothing is "waiting" without a server: say it here only
                tip += " " + count_text(
                    state.pending,
                    "1 change will be sent when you connect.",
                    "%1 changes will be sent when you connect.",
                )
            self.connection.setToolTip(tip)
        elif state.syncing:
            self.connection.setText(self.tr("Syncing…"))
            self.connection.setProperty("state", "syncing")
            self.connection.setToolTip("")
        elif state.connection == OFFLINE:
            self.connection.setText(self.tr("● Offline"))
            self.connection.setProperty("state", "offline")
            self.connection.setToolTip(state.error or error_message("offline"))
        elif state.error_code and state.error_code not in ("offline", "cancelled"):
            self.connection.setText(self.tr("● Sync problem"))
            self.connection.setProperty("state", "problem")
            self.connection.setToolTip(state.error)
        elif state.connection == ONLINE:
            self.connection.setText(self.tr("● Online"))
            self.connection.setProperty("state", "online")
            self.connection.setToolTip(self.tr("The server answers."))
        else:
            self.connection.setText(self.tr("● Checking…"))
            self.connection.setProperty("state", "unknown")
            self.connection.setToolTip("")
        self.connection.setAccessibleDescription(self.connection.toolTip())
        self.connection.style().unpolish(self.connection)
        self.connection.style().polish(self.connection)

    # -- fitting a narrow status bar ---------------------------------------------------------

    def _width_of(self, widgets: list[QWidget]) -> int:
        layout = self.layout()
        m = layout.contentsMargins()
        shown = [w for w in widgets if w is not None]
        return (
            sum(w.sizeHint().width() for w in shown)
            + layout.spacing() * max(0, len(shown) - 1)
            + m.left()
            + m.right()
        )

    def _sets(self) -> tuple[list[QWidget], list[QWidget]]:
        """What the state wants shown, and the same without what can go when room is
        short: the last sync time, then "All changes sent" (both stay in tooltips)."""
        full = [self.connection] + [w for w in self._optional if self._wanted.get(w)]
        full += [w for w in self._during if self._wanted.get(w)]
        full.append(self.button)
        compact = [w for w in full if w is not self.last]
        if not self._state.pending:
            compact = [w for w in compact if w is not self.pending]
        return full, compact

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(self._width_of(self._sets()[0]), hint.height())

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(self._width_of(self._sets()[1]), hint.height())

    def _fit(self) -> None:
        """Show what the state wants; when the status bar is too narrow for all of
        it, leave out the last sync time (and "All changes sent") rather than cut
        every text short. What is left out is the widget's tooltip."""
        full, compact = self._sets()
        room = self.width() if self.isVisible() else 1 << 20
        shown = full if room >= self._width_of(full) else compact
        for w in (*self._optional, *self._during):
            w.setVisible(w in shown)
        left_out = " · ".join(w.text() for w in full if w not in shown)
        self.setToolTip(left_out)  # what was left out, on hovering the sync status
        self.setAccessibleDescription(left_out)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._fit()
