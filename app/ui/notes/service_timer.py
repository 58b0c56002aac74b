"""The note editor's service timer: start it when the service starts, stop it when it
ends; the start and end times (cut at midnight) and the units follow. Time is read
through ``self.clock`` so tests drive it without waiting. Part of
:class:`app.ui.notes.note_editor.NoteEditorPage`.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QDate

from app.domain import note_form
from app.domain.datetext import clock_text


class ServiceTimerMixin:
    """Start, stop and show the service timer."""

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
        self.start_edit.setText(clock_text(span.start))
        self.end_edit.clear()
        self._run_timer_from(now)
        self._changed()
        self.save_now()  # the start time is worth keeping at once

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
        self.start_edit.setText(clock_text(span.start))
        self.end_edit.setText(clock_text(span.end))
        minutes = note_form.minutes_between(span.start, span.end)
        self.timer_clock.setText(self.tr("{0} min timed").format(minutes))
        self._check_times()
        if span.cut_at_midnight:
            self.time_error.show_messages(
                [self.tr("The service ran past midnight; the note ends it at 11:59 PM.")]
            )
        self._changed()
        self.save_now()

    def _stop_tick(self) -> None:
        self._tick.stop()
        self.timer_button.setText(self.tr("Start timer"))
        self.timer_button.setAccessibleName(self.tr("Start the service timer"))
        self.timer_button.setProperty("running", False)
        self._repolish(self.timer_button)

    def _show_timer(self) -> None:
        if self._timer_started is None:
            return
        seconds = (self.clock() - self._timer_started).total_seconds()
        self.timer_clock.setText(self.tr("Running {0}").format(note_form.elapsed_text(seconds)))
        self._update_units()

    @property
    def timer_running(self) -> bool:
        return self._timer_started is not None
