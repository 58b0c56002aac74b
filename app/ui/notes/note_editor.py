"""The note editor: write a service note (GIRP, or DAP), time the service, see the
units the payer will pay, sign it with a signing PIN (or the passphrase), and amend
a signed note with an addendum.

The page is built around writing: the note opens with the cursor in the first
narrative field, the goals sit above "Goal", and the service details fold into one
summary line (filled from the person's last note) that opens on a click or when
signing needs something from it. Esc goes back to the person's record (the draft is
saved; nothing is asked). Tab and Shift+Tab go round the page's own fields, and
focus never leaves the page when a control it is on gets disabled.

Nothing typed is ever lost. A draft is saved on the database worker a few seconds
after a change (at most every ``autosave_ms`` while typing goes on), whenever focus
leaves a field, on Ctrl+S, and when the lead window calls :meth:`save_now` before
locking or closing. Each save writes the draft's content to the vault in one
transaction (SQLite in WAL mode with ``synchronous = FULL``), so a crash or power
cut afterwards loses nothing. A save that fails (a full disk) says so at the top,
keeps every word in the editor and is retried by the next save.

Signing checks the life-cycle rules first and marks each field at fault in plain
words; then the passphrase is checked against the vault on the worker (key
derivation is slow on purpose) and the note is signed and locked. A returned note
shows the supervisor's comment at the top with what to do next.

The service timer reads time through ``self.clock`` (a callable returning a naive
local ``datetime``), which tests replace to drive it without waiting.

The page is composed of one part per card, each in its own module: the service and
goals cards (service_card), the GIRP/DAP narrative (narrative, a widget), the timer
(service_timer), saving (note_saving), signing and addenda (note_signing), the
lock of a note that cannot be edited (note_lock); this module builds the page from
them, and opens and shows a note.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from datetime import datetime
from typing import Any

from PySide6.QtCore import QDate
from PySide6.QtCore import Qt
from PySide6.QtCore import QTimer
from PySide6.QtCore import Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtGui import QShortcut
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QComboBox
from PySide6.QtWidgets import QFrame
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QScrollArea
from PySide6.QtWidgets import QSizePolicy
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.domain import note_form
from app.domain.note_times import DEFAULT_POLICY
from app.domain.note_times import TimePolicy
from app.domain.records import Encounter
from app.domain.records import Modality
from app.domain.records import ServiceSetting
from app.domain.records import new_id
from app.services import notes
from app.services.notes import NoteBundle
from app.ui.common.table_model import ID_ROLE
from app.ui.notes.goals_part import GoalsPartMixin
from app.ui.notes.narrative import NarrativeCard
from app.ui.notes.note_banners import NoteBannersMixin
from app.ui.notes.note_extras import NoteExtrasMixin
from app.ui.notes.note_focus import NoteFocusMixin
from app.ui.notes.note_lock import NoteLockMixin
from app.ui.notes.note_saving import NoteSavingMixin
from app.ui.notes.note_signing import NoteSigningMixin
from app.ui.notes.note_widgets import card
from app.ui.notes.note_widgets import load_codes
from app.ui.notes.service_card import ServiceCardMixin
from app.ui.notes.service_timer import ServiceTimerMixin
from app.ui.notes.spelling import Speller
from app.ui.shell.context import AppContext
from app.ui.shell.context import Page

log = logging.getLogger(__name__)


class NoteEditorPage(
    NoteBannersMixin,
    GoalsPartMixin,
    NoteExtrasMixin,
    NoteFocusMixin,
    NoteLockMixin,
    ServiceCardMixin,
    ServiceTimerMixin,
    NoteSavingMixin,
    NoteSigningMixin,
    Page,
):
    """One service note at a time. Page key "note"."""

    title = "Note"
    tables = frozenset(
        {"encounters", "addenda", "goals", "participants", "payers", notes.PREFERENCES}
    )

    #: A save reached the vault (encounter id).
    saved = Signal(str)
    #: A save failed; the message says why in plain words.
    save_failed = Signal(str)
    #: A note (or a new note's surroundings) was loaded and shown (encounter id).
    loaded = Signal(str)
    #: The note was signed (encounter id).
    signed = Signal(str)
    #: An addendum was added (encounter id).
    addendum_added = Signal(str)
    #: Signing was refused (wrong passphrase or problems); the message in plain words.
    sign_refused = Signal(str)
    #: The note was written as a PDF (its path).
    pdf_saved = Signal(str)

    def __init__(
        self,
        ctx: AppContext,
        parent: QWidget | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(ctx, parent)
        self.setObjectName("noteEditor")
        self.clock: Callable[[], datetime] = clock or datetime.now
        self.autosave_ms = 3000
        self.codes, codes_message = load_codes()

        self._bundle: NoteBundle | None = None
        self._note: Encounter | None = None  # the record as last read or saved
        self._stored = False  # the note exists in the vault
        self._editable = False
        self._loading = False  # filling widgets: changes are not the person's
        self._generation = 0  # bumped per open_note; late loads are dropped
        self._rev = 0  # bumped on every change by the person
        self._saved_rev = 0
        self._queued_rev = -1
        self._save_error = ""
        self._signing = False
        self._timer_started: datetime | None = None
        self._saves_in_flight = 0
        self._last_saved_at: datetime | None = None
        self._modality_shown: Modality = Modality.IN_PERSON
        self._baseline: Encounter | None = None  # the content as last loaded or saved
        self._resume_timer_at: datetime | None = None
        self.time_policy: TimePolicy = DEFAULT_POLICY
        self._times_confirmed: tuple[Any, Any] | None = None
        self._phrases: list[str] = []
        self._adding = False
        self._polished_locked: bool | None = None
        self._phrases_loaded = False

        self._autosave = QTimer(self)
        self._autosave.setSingleShot(True)
        self._autosave.timeout.connect(self.save_now)
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._show_timer)

        self._build()
        if codes_message:
            self.codes_message.setText(codes_message)
            self.codes_message.show()
        self._shortcuts()
        self._match_heights()
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._on_focus_changed)
        ctx.data_changed.connect(self._on_tables)
        self._set_enabled_all(False)

    # == building ======================================================================

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)

        # Header: who, status, save state.
        header = QFrame()
        header.setObjectName("noteHeader")
        hl = QHBoxLayout(header)
        hl.setContentsMargins(16, 6, 16, 6)
        self.back_button = QPushButton(self.tr("← Record"))
        self.back_button.setObjectName("link")
        self.back_button.setAccessibleName(self.tr("Back to the person's record"))
        self.back_button.clicked.connect(self._back)
        self.heading = QLabel(self.tr("Service note"))
        self.heading.setObjectName("pageTitle")
        self.heading.setWordWrap(True)  # a long name wraps instead of running under the badge
        self.heading.setAccessibleName(self.tr("Note for"))
        self.status_chip = QLabel()
        self.status_chip.setObjectName("statusChip")
        self.status_chip.setAccessibleName(self.tr("Note status"))
        self.save_state = QLabel()
        self.save_state.setObjectName("saveState")
        self.save_state.setAccessibleName(self.tr("Save status"))
        self.save_state.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.pdf_button = QPushButton(self.tr("Save as PDF…"))
        self.pdf_button.setObjectName("link")
        self.pdf_button.setAccessibleName(self.tr("Print or save this note as a PDF"))
        self.pdf_button.clicked.connect(self.ask_pdf)
        hl.addWidget(self.back_button)
        hl.addWidget(self.heading, 1)
        hl.addWidget(self.status_chip)
        hl.addSpacing(12)
        hl.addWidget(self.save_state)
        hl.addWidget(self.pdf_button)
        outer.addWidget(header)

        scroll = QScrollArea()
        scroll.setObjectName("noteScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget()
        body.setObjectName("noteBody")
        self.body = QVBoxLayout(body)
        self.body.setContentsMargins(16, 4, 16, 12)
        self.body.setSpacing(8)
        scroll.setWidget(body)
        self.scroll = scroll
        outer.addWidget(scroll, 1)

        self._build_banners()
        self._build_stale_timer()
        self._build_service()
        self.narrative = NarrativeCard()
        self.narrative.changed.connect(self._changed)
        self.body.addWidget(self.narrative)
        # The narrative's parts, by name, for the page's other parts (and tests).
        n = self.narrative
        self.girp_radio, self.dap_radio = n.girp_radio, n.dap_radio
        self.text_edits, self.text_errors, self.text_blocks = (
            n.text_edits,
            n.text_errors,
            n.text_blocks,
        )
        n.insert_before("goal_text", *self._build_goals())
        n.copy_button.clicked.connect(self.copy_from_last)
        for edit in self.text_edits.values():
            edit.phrases = lambda: list(self._phrases)
            edit.save_phrases = self.save_phrases
        self._build_sign()
        self._build_addenda()
        self.body.addStretch(1)
        # The Sign bar stays in view under the note, whatever its length.
        self.body.removeWidget(self.sign_card)
        self.sign_card.setObjectName("signBar")
        self.sign_card.layout().setContentsMargins(16, 6, 16, 6)
        outer.addWidget(self.sign_card)
        # So does the addendum form under a signed note (one of the two is shown).
        outer.addWidget(self.addendum_form)
        # Each bar keeps its whole height; the note above scrolls instead.
        for bar in (self.sign_card, self.addendum_form):
            bar.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def _card(self, title: str) -> tuple[QFrame, QVBoxLayout]:
        frame, lay = card(title)
        self.body.addWidget(frame)
        return frame, lay

    def _shortcuts(self) -> None:
        ctx_ = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for keys, slot in (
            ("Ctrl+S", self.save_now),
            ("Ctrl+Return", self.sign),
            ("Ctrl+Enter", self.sign),
            ("Ctrl+T", self.toggle_timer),
            ("Escape", self.leave),
            ("Ctrl+P", self.ask_pdf),
        ):
            sc = QShortcut(QKeySequence(keys), self)
            sc.setContext(ctx_)
            sc.activated.connect(slot)

    # == opening ========================================================================

    def open_note(self, encounter_id: str, participant_id: str) -> None:
        """Show a note: ``encounter_id``, or a new note for ``participant_id`` when
        the id is "". Unsaved work on the note shown before is saved first."""
        self.save_now()
        self._generation += 1
        generation = self._generation
        self._reset()
        # Another note starts at its top (its status, a returned note's comment).
        self.scroll.verticalScrollBar().setValue(0)
        self.heading.setText(self.tr("Opening the note…"))
        self.ctx.status_message.emit("")  # nothing said about the note before stays
        if not self._phrases_loaded:
            self.load_phrases()
            self.load_names()

        def done(bundle: NoteBundle) -> None:
            if generation == self._generation:
                self._show_bundle(bundle)
                self._focus_first()

        def failed(exc: BaseException) -> None:
            if generation != self._generation:
                return
            self.heading.setText(self.tr("Service note"))
            self.top_problems.show_messages([self._message(exc)])

        self.ctx.run(notes.load_note, done, failed, args=(encounter_id, participant_id))

    def state(self) -> dict[str, str]:
        """Record ids (and when a running timer started), kept in memory across a
        lock, for :meth:`restore`."""
        if self._note is None:
            return {}
        stored = self._stored or self._queued_rev >= 0
        out = {
            "encounter_id": self._note.id if stored else "",
            "participant_id": self._note.participant_id,
        }
        if self._timer_started is not None and stored:
            out["timer_started"] = self._timer_started.isoformat()
        return out

    def restore(self, state: dict[str, str]) -> None:
        """Open the note again after an unlock; a timer that was running goes on."""
        if not (state.get("participant_id") or state.get("encounter_id")):
            return
        self.open_note(state.get("encounter_id", ""), state.get("participant_id", ""))
        started = state.get("timer_started")
        self._resume_timer_at = datetime.fromisoformat(started) if started else None

    def refresh(self) -> None:
        super().refresh()
        if self.ctx.origin is self or self._note is None or self._bundle is None:
            return
        if self.dirty or self._saves_in_flight or self._signing:
            return  # never overwrite what the person is typing; the save brings it in line
        generation = self._generation
        note_id = self._note.id if self._stored else ""
        pid = self._note.participant_id

        def done(bundle: NoteBundle) -> None:
            if generation == self._generation and self._rev == self._saved_rev:
                self._show_bundle(bundle, keep_new_id=not self._stored)

        self.ctx.run(notes.load_note, done, lambda _e: None, args=(note_id, pid))

    def _on_tables(self, tables: frozenset[str]) -> None:
        """New names (a person added or renamed) are known to spell check; new usual
        hours or service limit (Preferences) apply to the note at once, even while it
        is being written (a refresh waits for the save)."""
        if self._phrases_loaded and tables & {"participants", "users"}:
            self.load_names()
        if notes.PREFERENCES not in tables or self._note is None:
            return

        def done(policy: TimePolicy) -> None:
            if self._note is not None:
                self.time_policy = policy
                if self._editable:
                    self._ask_about_times()

        self.ctx.run(notes.time_policy, done, lambda _e: None, args=(self.ctx.user.id,))

    def clear(self) -> None:
        """Forget every personal value (the vault is locking). Call save_now() first."""
        self._generation += 1
        self._reset()
        self._phrases, self._phrases_loaded = [], False
        Speller.shared().set_names(frozenset())  # no one's name stays after a lock
        self.heading.setText(self.tr("Service note"))

    def current_note_id(self) -> str:
        return self._note.id if self._note is not None else ""

    # == showing ========================================================================

    def _reset(self) -> None:
        self._autosave.stop()
        self._stop_tick()
        self._timer_started = None
        self._stale_started = None
        self._times_confirmed = None
        self._ampm_chosen.clear()
        self.stale_box.hide()
        self.time_questions.ask([])
        self.service_summary.setChecked(False)
        self._bundle = None
        self._baseline = None
        self._note = None
        self._stored = False
        self._rev = self._saved_rev = 0
        self._queued_rev = -1
        self._save_error = ""
        self._loading = True
        try:
            for edit in (self.start_edit, self.end_edit, self.location_edit, self.modifiers_edit):
                edit.clear()
            for edit in self.text_edits.values():
                edit.clear()
            self.goals_list.clear()
            self.passphrase_edit.clear()
            self.new_goal_edit.clear()
            self.addendum_reason.clear()
            self.addendum_text.clear()
            self.review_comment.clear()
            self.locked_box.clear()
            self._clear_addenda()
        finally:
            self._loading = False
        for err in self._all_errors():
            err.show_messages([])
        self.save_error_box.hide()
        self.returned_box.hide()
        self.locked_box.hide()
        self.addenda_card.hide()
        self.addendum_form.hide()
        self.status_chip.clear()
        self.save_state.clear()
        self.units_label.clear()
        self.rule_label.clear()
        self.timer_clock.clear()
        self._set_enabled_all(False)

    def _show_bundle(self, bundle: NoteBundle, keep_new_id: bool = False) -> None:
        self._bundle = bundle
        if bundle.note is not None:
            note = bundle.note
            self._stored = True
        elif keep_new_id and self._note is not None:
            note = self._note
        else:
            note = notes.new_draft(bundle, self.ctx.user, self.clock().date(), new_id())
        self._note = note
        self.time_policy = bundle.time_policy
        self._modality_shown = note.modality
        self._editable = note_form.can_edit(note, self.ctx.user.id)
        self._fill(note, bundle)
        self._set_enabled_all(True)
        self._apply_lock()
        self._show_status(note, bundle)
        self._show_addenda(bundle.addenda, bundle)
        self._update_units()
        self._baseline = self.draft()
        resume, self._resume_timer_at = self._resume_timer_at, None
        resume = bundle.timer_started or resume
        if (
            resume is not None
            and self._editable
            and note.end_time is None
            and self._timer_started is None
            and self._stale_started is None
        ):
            self._resume_timer(resume)
        self.copy_button_state()
        self._show_save_state()
        self._show_summary()
        self._show_sign_mode()
        self.loaded.emit(note.id)

    def _fill(self, note: Encounter, bundle: NoteBundle) -> None:
        """Put the record's values in the widgets, touching only those that differ
        (a refresh must not move the cursor of a field that did not change)."""
        self._loading = True
        try:
            p = bundle.participant
            self.heading.setText(self.tr("Service note · {0}").format(p.display_name))
            qd = QDate(note.service_date.year, note.service_date.month, note.service_date.day)
            if self.date_edit.date() != qd:
                self.date_edit.setDate(qd)
            self._set_time(self.start_edit, note.start_time)
            self._set_time(self.end_edit, note.end_time)
            self._set_combo(self.modality_combo, note.modality.value)
            if self.pos_combo.findData(note.place_of_service) < 0:
                self.pos_combo.addItem(note.place_of_service, note.place_of_service)
            self._set_combo(self.pos_combo, note.place_of_service)
            self._set_text(self.location_edit, note.location_note)
            self._set_combo(self.setting_combo, note.setting.value)
            if self.group_spin.value() != note.group_size:
                self.group_spin.setValue(note.group_size)
            if self.code_combo.currentText() != note.service_code:
                self.code_combo.setEditText(note.service_code)
            self._set_text(self.modifiers_edit, ", ".join(note.modifiers))
            self.narrative.set_format(note.note_format)
            for name, edit in self.text_edits.items():
                value = getattr(note, name)
                if edit.toPlainText() != value:
                    edit.setPlainText(value)
            self._fill_goals(bundle, note)
        finally:
            self._loading = False

    @staticmethod
    def _set_text(edit: QLineEdit, text: str) -> None:
        if edit.text() != text:
            edit.setText(text)

    @staticmethod
    def _set_combo(combo: QComboBox, data: Any) -> None:
        i = combo.findData(data)
        if i >= 0 and combo.currentIndex() != i:
            combo.setCurrentIndex(i)

    # == editing ========================================================================

    def _changed(self, *_: Any) -> None:
        if self._loading or self._note is None or not self._editable:
            return
        self._rev += 1
        self._clear_problem_marks_for_edit()
        if not self._autosave.isActive():
            self._autosave.start(self.autosave_ms)
        self._show_save_state()
        self._update_units()

    def _clear_problem_marks_for_edit(self) -> None:
        """Keep problem messages until the next sign attempt, except the sign error."""
        if self.sign_error.isVisible() and not self._signing:
            self.sign_error.show_messages([])

    def draft(self) -> Encounter | None:
        """The note as the widgets show it now (None before a note is loaded)."""
        if self._note is None:
            return None
        d = self.date_edit.date()
        fmt = self.narrative.note_format()
        goal_ids = tuple(
            self.goals_list.item(i).data(ID_ROLE)
            for i in range(self.goals_list.count())
            if self.goals_list.item(i).checkState() == Qt.CheckState.Checked
        )
        setting = self._setting()
        return self._note.replace(  # type: ignore[return-value]
            service_date=date(d.year(), d.month(), d.day()),
            start_time=self._parsed(self.start_edit),
            end_time=self._parsed(self.end_edit),
            modality=self._modality(),
            place_of_service=self.pos_combo.currentData() or "",
            location_note=self.location_edit.text().strip(),
            setting=setting,
            group_size=self.group_spin.value() if setting is ServiceSetting.GROUP else 0,
            service_code=self.code_combo.currentText().strip().upper(),
            modifiers=note_form.parse_modifiers(self.modifiers_edit.text()),
            goal_ids=goal_ids,
            note_format=fmt,
            **{name: edit.toPlainText() for name, edit in self.text_edits.items()},
        )

    def _back(self) -> None:
        self.save_now()
        if self._note is not None:
            self.ctx.open_participant.emit(self._note.participant_id)

    def showEvent(self, event: Any) -> None:
        Speller.shared().start()
        super().showEvent(event)
        self._set_enabled_all(self._note is not None)

    def hideEvent(self, event: Any) -> None:
        self.save_now()
        super().hideEvent(event)
