"""The note editor's service timer: start it when the service starts, stop it when it
ends; the start and end times (cut at midnight) and the units follow. The timer
lives in the draft: when it started is kept in the vault with the note (saved with
the draft), so it goes on after opening another note, a lock or closing the app. A
timer found running from another day, or longer than the policy's limit, asks what
happened instead of counting on. Time is read through ``self.clock`` so tests drive
it without waiting. Part of :class:`app.ui.notes.note_editor.NoteEditorPage`.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QDate
from PySide6.QtWidgets import QFrame
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QVBoxLayout

from app.domain import note_form
from app.domain import note_times
from app.domain.datetext import day_text
from app.services import notes
from app.ui.common.forms import wrapped_label


class ServiceTimerMixin:
    """Start, stop, keep and show the service timer."""

    def _build_stale_timer(self) -> None:
        """The question asked about a timer left running (overnight, or too long)."""
        self.stale_box = QFrame()
        self.stale_box.setObjectName("returnedBox")
        lay = QVBoxLayout(self.stale_box)
        lay.setContentsMargins(16, 10, 16, 10)
        self.stale_label = wrapped_label("", "returnedTitle")
        self.stale_label.setAccessibleName(self.tr("Timer left running"))
        row = QHBoxLayout()
        self.stale_end_button = QPushButton(self.tr("It ended earlier: I'll enter the end time"))
        self.stale_end_button.setObjectName("primary")
        self.stale_end_button.clicked.connect(self._stale_enter_end)
        self.stale_keep_button = QPushButton(self.tr("It is still going"))
        self.stale_keep_button.clicked.connect(self._stale_keep)
        self.stale_drop_button = QPushButton(self.tr("Discard the timer"))
        self.stale_drop_button.clicked.connect(self._stale_drop)
        for b in (self.stale_end_button, self.stale_keep_button, self.stale_drop_button):
            b.setAccessibleName(b.text())
            row.addWidget(b)
        row.addStretch(1)
        lay.addWidget(self.stale_label)
        lay.addLayout(row)
        self.stale_box.hide()
        self.body.addWidget(self.stale_box)
        self._stale_started: datetime | None = None

    def toggle_timer(self) -> None:
        if not self._editable:
            return
        if self._timer_started is None:
            self.start_timer()
        else:
            self.stop_timer()

    def start_timer(self) -> None:
        if not self._editable or self._timer_started is not None:
            return
        now = self.clock()
        span = note_form.timer_span(now, now)
        self.date_edit.setDate(QDate(now.year, now.month, now.day))
        self._set_time(self.start_edit, span.start)
        self.end_edit.clear()
        self._run_timer_from(now)
        self._changed()
        self.save_now()  # the start time is worth keeping at once
        self._keep_timer(now)

    def _keep_timer(self, started: datetime | None) -> None:
        """Keep when the timer started in the vault, after the draft's save."""
        if self._note is None:
            return
        self.ctx.run(notes.set_timer, None, None, args=(self._note.id, started))

    def _resume_timer(self, started: datetime) -> None:
        """A draft reopened with its timer running: go on, or ask when it is stale."""
        if note_times.timer_is_stale(started, self.clock(), self.time_policy):
            self._stale_started = started
            self.stale_label.setText(
                self.tr(
                    "The service timer of this note has been running since {0}, {1} "
                    "({2}). What happened?"
                ).format(
                    day_text(started.date()),
                    note_times.time_text(started.time(), self._twelve_hour),
                    note_times.duration_text(int((self.clock() - started).total_seconds() // 60)),
                )
            )
            self.stale_box.show()
            return
        self._run_timer_from(started)

    def _stale_enter_end(self) -> None:
        self.stale_box.hide()
        self._stale_started = None
        self._keep_timer(None)
        self.expand_service(True)
        self.end_edit.setFocus()

    def _stale_keep(self) -> None:
        started, self._stale_started = self._stale_started, None
        self.stale_box.hide()
        if started is not None:
            self._run_timer_from(started)
        self.text_edits[self._first_field()].setFocus()

    def _stale_drop(self) -> None:
        self.stale_box.hide()
        self._stale_started = None
        self._keep_timer(None)
        self.text_edits[self._first_field()].setFocus()

    def _run_timer_from(self, started: datetime) -> None:
        self._timer_started = started
        self.timer_button.setText(self.tr("Stop timer"))
        self.timer_button.setAccessibleName(self.tr("Stop the service timer"))
        self.timer_button.setProperty("running", True)
        self._repolish(self.timer_button)
        self._check_times()
        self._show_timer()
        self._tick.start()

    def stop_timer(self) -> None:
        started = self._timer_started
        if started is None:
            return
        stopped = self.clock()
        span = note_form.timer_span(started, stopped)
        self._timer_started = None
        self._stop_tick()
        self._set_time(self.start_edit, span.start)
        self._set_time(self.end_edit, span.end)
        minutes = note_form.minutes_between(span.start, span.end)
        # The times are in the summary line now; the line needs the clock's room in the
        # smallest window (1000 x 700), so the timed minutes go to the button's tip.
        self.timer_clock.clear()
        self.timer_clock.hide()  # shown again while a timer runs
        self.service_card.layout().activate()  # the line has the room before it is written
        self.timer_button.setToolTip(
            self.tr("{0} min timed. Start or stop the service timer (Ctrl+T)").format(minutes)
        )
        self._check_times()
        if span.cut_at_midnight:
            self.time_error.show_messages(
                [self.tr("The service ran past midnight; the note ends it at 11:59 PM.")]
            )
            self.expand_service(True)
        self._changed()
        self.save_now()
        self._keep_timer(None)
        self._ask_about_times()

    def _stop_tick(self) -> None:
        self._tick.stop()
        # The running clock's width (kept so it does not jitter) is not kept after:
        # the summary line gets the room back.
        self.timer_clock.setMinimumWidth(0)
        self.timer_button.setText(self.tr("Start timer"))
        self.timer_button.setAccessibleName(self.tr("Start the service timer"))
        self.timer_button.setProperty("running", False)
        self._repolish(self.timer_button)

    def _show_timer(self) -> None:
        if self._timer_started is None:
            return
        seconds = (self.clock() - self._timer_started).total_seconds()
        clock = self.timer_clock
        clock.setText(self.tr("Running {0}").format(note_form.elapsed_text(seconds)))
        clock.show()
        clock.setMinimumWidth(max(clock.minimumWidth(), clock.sizeHint().width()))  # no jitter
        self._update_units()

    @property
    def timer_running(self) -> bool:
        return self._timer_started is not None
