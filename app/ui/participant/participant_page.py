"""A participant's record: profile, Part 2 consents, recovery goals by domain,
BARC-10 history with its trend, and the timeline of encounters.

``show_participant(id)`` reads everything in one call on the database worker
(app.services.records.load_record; the participants repository's ``open``
writes the "view" entry to the audit log) and fills the tabs; the timeline is a
table model, so 500 encounters cost one model reset, not 500 widgets. A refresh
after a change (``data_changed``) reads again without a new audit entry: the record
was already open. Goal steps are ticked in place; the tick is written on the worker
from the goal as it is in the vault, so quick ticks never undo each other.

Each tab is its own module (profile_tab, goals_tab, consents_tab, barc_tab); this
one builds the page (header, tabs, timeline), loads the record and clears it.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent
from PySide6.QtCore import Qt
from PySide6.QtCore import QTimer
from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QBoxLayout
from PySide6.QtWidgets import QDialog
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QTabWidget
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.domain.attention import Reason
from app.services import records
from app.services.failures import message_for
from app.ui.common.columns import ColumnFitter
from app.ui.common.columns import read_only_table
from app.ui.common.forms import wrapped_label
from app.ui.common.layouts import column
from app.ui.common.text import plural
from app.ui.participant.barc_tab import BarcTabMixin
from app.ui.participant.consents_tab import ConsentsTabMixin
from app.ui.participant.goals_tab import GoalsTabMixin
from app.ui.participant.models import ID_ROLE
from app.ui.participant.models import TimelineModel
from app.ui.participant.profile_tab import ProfileTabMixin
from app.ui.shell.context import AppContext
from app.ui.shell.context import Page

TAB_PROFILE, TAB_GOALS, TAB_CONSENTS, TAB_BARC, TAB_TIMELINE = range(5)
BADGE_NAMES = {
    Reason.NO_CONTACT: "badgeNoContact",
    Reason.UNSIGNED_NOTES: "badgeUnsigned",
    Reason.GOALS_OVERDUE: "badgeGoals",
    Reason.CONSENT: "badgeConsent",
}


class ParticipantPage(ProfileTabMixin, GoalsTabMixin, ConsentsTabMixin, BarcTabMixin, Page):
    title = "Participant"
    tables = frozenset({"participants", "consents", "goals", "barc10", "encounters"})

    #: Emitted when everything of the opened participant is on screen (participant id).
    loaded = Signal(str)
    #: The person asked to go back to the caseload (Escape / the Back button).
    back_requested = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.setObjectName("participantPage")
        self.participant_id = ""
        self.record: records.ParticipantRecord | None = None
        self._dialogs: list[QDialog] = []
        self._load_serial = 0
        tr = self.tr

        # -- header ----------------------------------------------------------------
        self.back_button = QPushButton(tr("← Caseload"))
        self.back_button.setObjectName("link")
        self.back_button.setAccessibleName(tr("Back to the caseload (Alt+Left)"))
        self.back_button.setShortcut(QKeySequence("Alt+Left"))
        self.back_button.clicked.connect(self.back_requested.emit)
        self.name_label = QLabel()
        self.name_label.setObjectName("pageTitle")
        self.name_label.setTextFormat(Qt.TextFormat.PlainText)
        self.summary_label = QLabel()
        self.summary_label.setObjectName("hint")
        self.summary_label.setTextFormat(Qt.TextFormat.PlainText)
        self.badges = QHBoxLayout()
        self.badges.setSpacing(6)
        self.edit_button = QPushButton(tr("Edit profile"))
        self.edit_button.setAccessibleName(tr("Edit the profile (Ctrl+E)"))
        self.edit_button.setShortcut(QKeySequence("Ctrl+E"))
        self.edit_button.clicked.connect(self.edit_profile)
        self.new_note_button = QPushButton(tr("New note"))
        self.new_note_button.setObjectName("primary")
        self.new_note_button.setAccessibleName(
            tr("Write a new note for this participant (Ctrl+Shift+N)")
        )
        self.new_note_button.setShortcut(QKeySequence("Ctrl+Shift+N"))
        self.new_note_button.clicked.connect(self.new_note)
        self.message = wrapped_label(name="formError", hidden=True)

        # The back link and the buttons share the first row, so the name, the
        # summary and the badges have the page's whole width below them.
        first = QHBoxLayout()
        first.addWidget(self.back_button, 0, Qt.AlignmentFlag.AlignLeft)
        first.addStretch(1)
        first.addWidget(self.edit_button)
        first.addWidget(self.new_note_button)
        self.name_label.setWordWrap(True)
        self.summary_label.setWordWrap(True)
        head = QVBoxLayout()
        head.setSpacing(2)
        head.addLayout(first)
        head.addWidget(self.name_label)
        head.addWidget(self.summary_label)
        head.addLayout(self.badges)

        # -- tabs --------------------------------------------------------------------
        self.tabs = QTabWidget()
        self.tabs.setObjectName("recordTabs")
        self.tabs.setAccessibleName(tr("Sections of the record"))
        self.tabs.addTab(self._profile_tab(), tr("Profile"))
        self.tabs.addTab(self._goals_tab(), tr("Goals"))
        self.tabs.addTab(self._consents_tab(), tr("Consents"))
        self.tabs.addTab(self._barc_tab(), tr("BARC-10"))
        self.tabs.addTab(self._timeline_tab(), tr("Timeline"))
        for i in range(self.tabs.count()):
            action = QAction(self)
            action.setShortcut(QKeySequence(f"Alt+{i + 1}"))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(lambda _c=False, n=i: self.tabs.setCurrentIndex(n))
            self.addAction(action)

        column(
            head, self.message, (self.tabs, 1), parent=self, margins=(24, 12, 24, 12), spacing=10
        )
        self._set_enabled(False)

    # -- building the tabs -------------------------------------------------------------

    def _timeline_tab(self) -> QWidget:
        tr = self.tr
        self.timeline_model = TimelineModel(self)
        self.timeline_table = read_only_table("timelineTable", tr("Timeline of encounters"))
        self.timeline_table.setModel(self.timeline_model)
        TL = TimelineModel
        self.timeline_fitter = ColumnFitter(
            self.timeline_table,
            elastic=(TL.COL_MODALITY, TL.COL_NOTE),
            stretch=(TL.COL_NOTE,),
            hide_order=(TL.COL_MODALITY, TL.COL_TIME, TL.COL_MINUTES),
            min_chars={TL.COL_NOTE: 24, TL.COL_MODALITY: 9},
        )
        self.timeline_table.activated.connect(self._timeline_activated)  # double-click, Enter
        self.timeline_summary = QLabel()
        self.timeline_summary.setObjectName("hint")
        new_note = QPushButton(tr("New note"))
        new_note.setAccessibleName(tr("Write a new note for this participant"))
        new_note.clicked.connect(self.new_note)
        self.timeline_new_note = new_note
        top = QHBoxLayout()
        top.addWidget(self.timeline_summary, 1)
        top.addWidget(new_note)
        w = QWidget()
        w.setObjectName("tabBody")
        v = QVBoxLayout(w)
        v.setContentsMargins(12, 12, 12, 12)
        v.addLayout(top)
        v.addWidget(self.timeline_table, 1)
        return w

    # -- fitting the width -------------------------------------------------------------

    def eventFilter(self, watched: Any, event: Any) -> bool:
        if event.type() == QEvent.Type.Resize:
            # After the resize is handled (the tab may have been hidden meanwhile).
            if watched is self.profile_scroll.viewport():
                QTimer.singleShot(0, self._arrange_profile)
            elif watched is self.goals_scroll.viewport():
                QTimer.singleShot(0, self._arrange_goals)
            elif watched is self.barc_scroll.viewport():
                narrow = watched.width() < self.fontMetrics().averageCharWidth() * 76
                ttb, ltr = QBoxLayout.Direction.TopToBottom, QBoxLayout.Direction.LeftToRight
                self.barc_lower.setDirection(ttb if narrow else ltr)
        return super().eventFilter(watched, event)

    # -- loading -------------------------------------------------------------------------

    def show_participant(self, participant_id: str) -> None:
        """Open this participant's record (the read is audited)."""
        if participant_id != self.participant_id:
            self.clear()
            self.tabs.setCurrentIndex(TAB_PROFILE)
        self.participant_id = participant_id
        self._load(audited=True)

    def refresh(self) -> None:
        super().refresh()
        if self.participant_id:
            self._load(audited=False)

    def state(self) -> dict:
        """What to reopen after an unlock (record id and tab; kept in memory only)."""
        return {"participant_id": self.participant_id, "tab": self.tabs.currentIndex()}

    def restore(self, state: dict) -> None:
        if state.get("participant_id"):
            self.show_participant(state["participant_id"])
            self.tabs.setCurrentIndex(int(state.get("tab", TAB_PROFILE)))

    def _load(self, audited: bool) -> None:
        self._load_serial += 1
        serial, pid = self._load_serial, self.participant_id
        fn = records.load_record if audited else records.reload_record

        def done(record: records.ParticipantRecord) -> None:
            if serial == self._load_serial and pid == self.participant_id:
                self._show(record)

        def failed(exc: BaseException) -> None:
            if serial == self._load_serial:
                self.message.setText(self.tr("This record could not be read. ") + message_for(exc))
                self.message.show()

        self.ctx.run(fn, done, failed, args=(pid,))

    def _show(self, record: records.ParticipantRecord) -> None:
        self.record = record
        self.message.hide()
        p = record.participant
        self._show_header(record)
        self._show_profile(p, record.payer_name)
        self._show_goals(record.goals)
        self._show_consents(record)
        self._show_barc(record)
        self._show_timeline(record)
        self._set_enabled(True)
        self.loaded.emit(p.id)

    def _set_enabled(self, on: bool) -> None:
        for b in (
            self.edit_button,
            self.new_note_button,
            self.add_goal_button,
            self.add_consent_button,
            self.add_barc_button,
            self.timeline_new_note,
        ):
            b.setEnabled(on)

    def _show_header(self, record: records.ParticipantRecord) -> None:
        p = record.participant
        self.name_label.setText(p.display_name)
        bits = [p.status.value.capitalize()]
        if p.program:
            bits.append(p.program)
        if p.pronouns:
            bits.append(p.pronouns)
        self.summary_label.setText(" · ".join(bits))
        while self.badges.count():
            item = self.badges.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        for flag in record.row.flags:
            badge = QLabel(flag.text)
            badge.setObjectName(BADGE_NAMES.get(flag.reason, "badge"))
            badge.setToolTip(flag.detail)
            badge.setAccessibleName(flag.detail)
            self.badges.addWidget(badge)
        if not record.row.flags:
            ok = QLabel(self.tr("Nothing needs attention"))
            ok.setObjectName("badgeOk")
            self.badges.addWidget(ok)
        self.badges.addStretch(1)

    def _show_timeline(self, record: records.ParticipantRecord) -> None:
        self.timeline_model.set_rows(record.timeline)
        n = len(record.timeline)
        unsigned = record.row.facts.unsigned_notes
        text = plural(self, n, "%n encounter", "%n encounters")
        if unsigned:
            text += " · " + plural(self, unsigned, "%n not signed yet", "%n not signed yet")
        self.timeline_summary.setText(text if n else self.tr("No encounters yet."))
        self.timeline_fitter.measure()

    # -- clearing ------------------------------------------------------------------------

    def clear(self) -> None:
        self._load_serial += 1
        for d in list(self._dialogs):
            d.close()
            d.deleteLater()
        self._dialogs.clear()
        self.record = None
        self.name_label.setText("")
        self.summary_label.setText("")
        while self.badges.count():
            item = self.badges.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        for lab in self.profile.values():
            lab.setText("")
        self._show_goals([])
        for model in (self.consent_model, self.barc_model, self.timeline_model):
            model.clear()
        self.chart.set_points([])
        for lab in (
            self.consent_detail,
            self.barc_items,
            self.consent_summary,
            self.barc_summary,
            self.timeline_summary,
            self.goal_summary,
            self.message,
        ):
            lab.setText("")
        self.message.hide()
        self._set_enabled(False)

    # -- actions --------------------------------------------------------------------------

    def _keep(self, dialog: QDialog) -> QDialog:
        self._dialogs.append(dialog)
        dialog.finished.connect(
            lambda _r: self._dialogs.remove(dialog) if dialog in self._dialogs else None
        )
        dialog.open()
        return dialog

    def new_note(self) -> None:
        if self.participant_id and self.record is not None:
            self.ctx.open_note.emit("", self.participant_id)

    def _timeline_activated(self, index: Any) -> None:
        encounter_id = self.timeline_model.data(self.timeline_model.index(index.row(), 0), ID_ROLE)
        if encounter_id:
            self.ctx.open_note.emit(encounter_id, self.participant_id)
