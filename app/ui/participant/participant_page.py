"""A participant's record: profile, Part 2 consents, recovery goals by domain,
BARC-10 history with its trend, and the timeline of encounters.

``show_participant(id)`` reads everything in one call on the database worker
(app.store.records_queries.load_record; the participants repository's ``open``
writes the "view" entry to the audit log) and fills the tabs; the timeline is a
table model, so 500 encounters cost one model reset, not 500 widgets. A refresh
after a change (``data_changed``) reads again without a new audit entry: the record
was already open. Goal steps are ticked in place; the tick is written on the worker
from the goal as it is in the vault, so quick ticks never undo each other.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QBoxLayout,
    QCheckBox,
    QDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain.attention import ConsentState, Reason
from app.domain.records import BARC10_ITEMS, Goal, GoalStatus, Participant, RecoveryDomain
from app.store import records_queries as rq
from app.ui.common.columns import ColumnFitter, read_only_table
from app.ui.participant.barc_chart import Barc10Chart
from app.ui.participant.record_dialogs import Barc10Dialog, ConsentDialog, GoalDialog, RevokeDialog
from app.ui.participant.record_models import (
    ID_ROLE,
    Barc10Model,
    ConsentModel,
    TimelineModel,
    short_date,
)
from app.ui.shell.context import AppContext, Page
from app.ui.start.start import message_for

TAB_PROFILE, TAB_GOALS, TAB_CONSENTS, TAB_BARC, TAB_TIMELINE = range(5)
BADGE_NAMES = {
    Reason.NO_CONTACT: "badgeNoContact",
    Reason.UNSIGNED_NOTES: "badgeUnsigned",
    Reason.GOALS_OVERDUE: "badgeGoals",
    Reason.CONSENT: "badgeConsent",
}


def _value_label() -> QLabel:
    lab = QLabel()
    lab.setObjectName("profileValue")
    lab.setWordWrap(True)
    lab.setTextFormat(Qt.TextFormat.PlainText)
    lab.setTextInteractionFlags(
        Qt.TextInteractionFlag.TextSelectableByMouse
        | Qt.TextInteractionFlag.TextSelectableByKeyboard
    )
    return lab


class GoalCard(QFrame):
    """One goal: statement, status and target, a progress bar and its steps."""

    def __init__(self, page: ParticipantPage, goal: Goal) -> None:
        super().__init__()
        self.setObjectName("goalCard")
        self.page = page
        self.goal = goal
        tr = self.tr
        self.statement = QLabel(goal.statement)
        self.statement.setObjectName("goalStatement")
        self.statement.setWordWrap(True)
        self.statement.setTextFormat(Qt.TextFormat.PlainText)
        self.meta = QLabel()
        self.meta.setObjectName("hint")
        self.meta.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setObjectName("goalProgress")
        self.progress.setRange(0, max(1, len(goal.steps)))
        self.progress.setAccessibleName(tr("Progress of the goal"))
        self.edit_button = QPushButton(tr("Edit…"))
        self.edit_button.setObjectName("link")
        self.edit_button.setAccessibleName(tr("Edit this goal"))
        self.edit_button.clicked.connect(lambda: page.edit_goal(self.goal))
        head = QHBoxLayout()
        head.addWidget(self.statement, 1)
        head.addWidget(self.edit_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(6)
        layout.addLayout(head)
        layout.addWidget(self.meta)
        layout.addWidget(self.progress)
        self.boxes: list[QCheckBox] = []
        for i, step in enumerate(goal.steps):
            box = QCheckBox(step)
            box.setAccessibleName(tr("Step: {0}").format(step))
            box.clicked.connect(lambda checked, n=i: page.tick_step(self.goal.id, n, checked))
            self.boxes.append(box)
            layout.addWidget(box)
        self.update_goal(goal)

    def update_goal(self, goal: Goal) -> None:
        self.goal = goal
        done = set(goal.steps_done)
        for i, box in enumerate(self.boxes):
            box.setChecked(i in done)
        n = len(goal.steps)
        self.progress.setValue(len(done & set(range(n))))
        self.progress.setFormat(
            self.tr("{0} of {1} steps").format(len(done), n) if n else self.tr("No steps yet")
        )
        bits = [goal.status.value.capitalize()]
        if goal.target_date:
            overdue = goal.status is GoalStatus.ACTIVE and goal.target_date < date.today()
            bits.append(
                (self.tr("Overdue — target was {0}") if overdue else self.tr("Target {0}")).format(
                    short_date(goal.target_date)
                )
            )
            self.meta.setProperty("overdue", overdue)
        if goal.achieved_on:
            bits.append(self.tr("Achieved {0}").format(short_date(goal.achieved_on)))
        self.meta.setText(" · ".join(bits))


class ParticipantPage(Page):
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
        self.record: rq.ParticipantRecord | None = None
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
        self.message = QLabel()
        self.message.setObjectName("formError")
        self.message.setWordWrap(True)
        self.message.hide()

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

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 12, 24, 12)
        layout.setSpacing(10)
        layout.addLayout(head)
        layout.addWidget(self.message)
        layout.addWidget(self.tabs, 1)
        self._set_enabled(False)

    # -- building the tabs -------------------------------------------------------------

    def _profile_tab(self) -> QWidget:
        tr = self.tr
        self.profile: dict[str, QLabel] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(24)
        columns = (
            [
                ("preferred", tr("Preferred name")),
                ("pronouns", tr("Pronouns")),
                ("dob", tr("Date of birth")),
                ("tribal", tr("Tribal affiliation")),
                ("status", tr("Status")),
                ("program", tr("Program")),
                ("payer", tr("Payer")),
                ("medicaid", tr("Medicaid ID")),
                ("diagnoses", tr("Diagnoses")),
                ("place", tr("County")),
            ],
            [
                ("phone", tr("Phone")),
                ("email", tr("E-mail")),
                ("address", tr("Address")),
                ("methods", tr("Contact by")),
                ("times", tr("Best times")),
                ("message", tr("Leave a message")),
                ("emergency", tr("Emergency contact")),
                ("referral", tr("Referral source")),
                ("dates", tr("Intake")),
                ("plan", tr("Recovery plan")),
                ("discharge", tr("Discharge")),
            ],
        )
        self.profile_grid = grid
        self.profile_forms: list[QFormLayout] = []
        for c, rows in enumerate(columns):
            form = QFormLayout()
            form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
            self.profile_forms.append(form)
            form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
            form.setVerticalSpacing(8)
            form.setHorizontalSpacing(12)
            for key, label in rows:
                lab = QLabel(label)
                lab.setObjectName("formLabel")
                value = _value_label()
                value.setAccessibleName(label)
                self.profile[key] = value
                form.addRow(lab, value)
            grid.addLayout(form, 0, c, Qt.AlignmentFlag.AlignTop)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        body = QWidget()
        body.setObjectName("tabBody")
        v = QVBoxLayout(body)
        v.setContentsMargins(16, 16, 16, 16)
        v.addLayout(grid)
        v.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        self.profile_scroll = scroll
        scroll.viewport().installEventFilter(self)
        return scroll

    def _goals_tab(self) -> QWidget:
        tr = self.tr
        self.add_goal_button = QPushButton(tr("Add goal…"))
        self.add_goal_button.setAccessibleName(tr("Add a recovery goal (Ctrl+G)"))
        self.add_goal_button.setShortcut(QKeySequence("Ctrl+G"))
        self.add_goal_button.clicked.connect(lambda: self.add_goal())
        self.goal_summary = QLabel()
        self.goal_summary.setObjectName("hint")
        self.goal_cards: dict[str, GoalCard] = {}
        self.domain_boxes: dict[RecoveryDomain, QGroupBox] = {}
        self.domain_empty: dict[RecoveryDomain, QLabel] = {}
        self.goals_layout = QGridLayout()
        self.goals_layout.setSpacing(14)
        for i, d in enumerate(RecoveryDomain):
            box = QGroupBox(tr(d.value))
            box.setObjectName("domainBox")
            lay = QVBoxLayout(box)
            lay.setSpacing(8)
            empty = QLabel(tr("No goals in this domain yet."))
            empty.setObjectName("hint")
            lay.addWidget(empty)
            self.domain_boxes[d] = box
            self.domain_empty[d] = empty
            self.goals_layout.addWidget(box, i // 2, i % 2, Qt.AlignmentFlag.AlignTop)
        self.goals_layout.setColumnStretch(0, 1)
        self.goals_layout.setColumnStretch(1, 1)
        body = QWidget()
        body.setObjectName("tabBody")
        v = QVBoxLayout(body)
        v.setContentsMargins(12, 12, 12, 12)
        top = QHBoxLayout()
        top.addWidget(self.goal_summary, 1)
        top.addWidget(self.add_goal_button)
        v.addLayout(top)
        v.addLayout(self.goals_layout)
        v.addStretch(1)
        self.goals_scroll = QScrollArea()
        self.goals_scroll.setWidgetResizable(True)
        self.goals_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.goals_scroll.setWidget(body)
        self.goals_scroll.viewport().installEventFilter(self)
        return self.goals_scroll

    def _consents_tab(self) -> QWidget:
        tr = self.tr
        self.consent_model = ConsentModel(self)
        self.consent_table = read_only_table("consentTable", tr("Consents"))
        self.consent_table.setModel(self.consent_model)
        self.consent_table.selectionModel().currentRowChanged.connect(self._consent_selected)
        self.consent_detail = QLabel()
        self.consent_detail.setObjectName("consentDetail")
        self.consent_detail.setWordWrap(True)
        self.consent_detail.setTextFormat(Qt.TextFormat.PlainText)
        self.consent_detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.add_consent_button = QPushButton(tr("Add consent…"))
        self.add_consent_button.setAccessibleName(tr("Add a consent"))
        self.add_consent_button.clicked.connect(self.add_consent)
        self.revoke_button = QPushButton(tr("Revoke…"))
        self.revoke_button.setAccessibleName(tr("Revoke the selected consent"))
        self.revoke_button.clicked.connect(self.revoke_consent)
        self.revoke_button.setEnabled(False)
        self.consent_summary = QLabel()
        self.consent_summary.setObjectName("hint")
        top = QHBoxLayout()
        top.addWidget(self.consent_summary, 1)
        top.addWidget(self.revoke_button)
        top.addWidget(self.add_consent_button)
        w = QWidget()
        w.setObjectName("tabBody")
        v = QVBoxLayout(w)
        v.setContentsMargins(12, 12, 12, 12)
        v.addLayout(top)
        v.addWidget(self.consent_table, 1)
        v.addWidget(self.consent_detail)
        self.consent_detail.hide()  # shown with the selected consent's details
        self.consent_fitter = ColumnFitter(
            self.consent_table,
            elastic=(5, 2),
            stretch=(5,),
            hide_order=(5, 3, 1),
            min_chars={5: 12, 2: 12},
        )
        return w

    def _barc_tab(self) -> QWidget:
        tr = self.tr
        self.chart = Barc10Chart()
        self.barc_model = Barc10Model(self)
        self.barc_table = read_only_table("barcTable", tr("BARC-10 assessments"))
        self.barc_table.setModel(self.barc_model)
        self.barc_fitter = ColumnFitter(self.barc_table, elastic=(0,), stretch=(0,))
        self.barc_table.selectionModel().currentRowChanged.connect(self._barc_selected)
        self.barc_items = QLabel()
        self.barc_items.setObjectName("barcItems")
        self.barc_items.setWordWrap(True)
        self.barc_items.setTextFormat(Qt.TextFormat.PlainText)
        self.add_barc_button = QPushButton(tr("Add BARC-10…"))
        self.add_barc_button.setAccessibleName(tr("Add a BARC-10 assessment"))
        self.add_barc_button.clicked.connect(self.add_barc10)
        self.barc_summary = QLabel()
        self.barc_summary.setObjectName("hint")
        top = QHBoxLayout()
        top.addWidget(self.barc_summary, 1)
        top.addWidget(self.add_barc_button)
        # The assessments beside the chosen one's items, or above them when narrow;
        # the whole tab scrolls when the window is short.
        self.barc_lower = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self.barc_lower.addWidget(self.barc_table, 1)
        items_scroll = QScrollArea()
        items_scroll.setWidgetResizable(True)
        items_scroll.setFrameShape(QFrame.Shape.NoFrame)
        items_scroll.setWidget(self.barc_items)
        self.barc_lower.addWidget(items_scroll, 1)
        self.barc_table.setMinimumHeight(self.fontMetrics().height() * 9)
        items_scroll.setMinimumHeight(self.fontMetrics().height() * 9)
        w = QWidget()
        w.setObjectName("tabBody")
        v = QVBoxLayout(w)
        v.setContentsMargins(12, 12, 12, 12)
        v.addLayout(top)
        v.addWidget(self.chart, 3)
        v.addLayout(self.barc_lower, 2)
        self.barc_scroll = QScrollArea()
        self.barc_scroll.setWidgetResizable(True)
        self.barc_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.barc_scroll.setWidget(w)
        self.barc_scroll.viewport().installEventFilter(self)
        return self.barc_scroll

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

    def _arrange_profile(self) -> None:
        """The profile's two columns side by side when both fit, else one below the
        other."""
        room = self.profile_scroll.viewport().width() - 32
        need = self.fontMetrics().averageCharWidth() * 84  # two labels and two values
        columns = 2 if room >= need else 1
        placed = self.profile_grid.itemAtPosition(0, 1) is not None
        if (columns == 2) != placed:
            for form in self.profile_forms:
                self.profile_grid.removeItem(form)
            for i, form in enumerate(self.profile_forms):
                row, col = (0, i) if columns == 2 else (i, 0)
                self.profile_grid.addLayout(form, row, col, Qt.AlignmentFlag.AlignTop)
            self.profile_grid.setColumnStretch(1, 1 if columns == 2 else 0)
        body = self.profile_scroll.widget().layout()
        body.invalidate()  # a tab hidden while resized keeps its old geometry otherwise
        body.activate()

    def _arrange_goals(self) -> None:
        """The domains in two columns when a goal card keeps ~36 characters of
        width, else in one."""
        room = self.goals_scroll.viewport().width() - 24
        em = self.fontMetrics().averageCharWidth()
        columns = 2 if room >= 2 * em * 40 + self.goals_layout.spacing() else 1
        if columns != getattr(self, "_goal_columns", 2):
            self._goal_columns = columns
            boxes = [self.domain_boxes[d] for d in RecoveryDomain]
            for box in boxes:
                self.goals_layout.removeWidget(box)
            for i, box in enumerate(boxes):
                self.goals_layout.addWidget(
                    box, i // columns, i % columns, Qt.AlignmentFlag.AlignTop
                )
            self.goals_layout.setColumnStretch(1, 1 if columns == 2 else 0)
        body = self.goals_scroll.widget().layout()
        body.invalidate()  # a tab hidden while resized keeps its old geometry otherwise
        body.activate()

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
        fn = rq.load_record if audited else rq.reload_record

        def done(record: rq.ParticipantRecord) -> None:
            if serial == self._load_serial and pid == self.participant_id:
                self._show(record)

        def failed(exc: BaseException) -> None:
            if serial == self._load_serial:
                self.message.setText(self.tr("This record could not be read. ") + message_for(exc))
                self.message.show()

        self.ctx.run(fn, done, failed, args=(pid,))

    def _show(self, record: rq.ParticipantRecord) -> None:
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

    def _show_header(self, record: rq.ParticipantRecord) -> None:
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

    def _show_profile(self, p: Participant, payer_name: str) -> None:
        tr = self.tr
        today = date.today()
        age = ""
        if p.date_of_birth:
            b = p.date_of_birth
            years = today.year - b.year - ((today.month, today.day) < (b.month, b.day))
            age = tr("{0} (age {1})").format(short_date(b), years)
        dash = "—"
        values = {
            "preferred": p.preferred_name or dash,
            "pronouns": p.pronouns or dash,
            "dob": age or dash,
            "tribal": p.tribal_affiliation or tr("Not shared"),
            "status": p.status.value.capitalize(),
            "program": p.program or dash,
            "payer": payer_name or dash,
            "medicaid": p.medicaid_id or tr("Missing: services cannot be billed to Medicaid"),
            "diagnoses": "; ".join(p.diagnoses) or dash,
            "place": ", ".join(x for x in (p.county, p.state) if x) or dash,
            "phone": p.phone or dash,
            "email": p.email or dash,
            "address": p.address or dash,
            "methods": ", ".join(p.contact_methods) or dash,
            "times": p.contact_best_times or dash,
            "message": tr("Yes") if p.ok_to_leave_message else tr("No"),
            "emergency": p.emergency_contact or dash,
            "referral": p.referral_source or dash,
            "dates": short_date(p.intake_date) or dash,
            "plan": tr("Completed {0}").format(short_date(p.recovery_plan_completed_on))
            if p.recovery_plan_completed_on
            else tr("Not completed yet"),
            "discharge": " — ".join(
                x for x in (short_date(p.discharge_date), p.discharge_reason) if x
            )
            or dash,
        }
        for key, text in values.items():
            self.profile[key].setText(text)

    def _show_goals(self, goals: list[Goal]) -> None:
        live = [g for g in goals if not g.deleted]
        same_shape = set(self.goal_cards) == {g.id for g in live} and all(
            (
                self.goal_cards[g.id].goal.steps,
                self.goal_cards[g.id].goal.statement,
                self.goal_cards[g.id].goal.domain,
            )
            == (g.steps, g.statement, g.domain)
            for g in live
        )
        if same_shape:
            for g in live:
                self.goal_cards[g.id].update_goal(g)
        else:
            for card in self.goal_cards.values():
                card.setParent(None)
                card.deleteLater()
            self.goal_cards = {}
            for g in live:
                card = GoalCard(self, g)
                self.goal_cards[g.id] = card
                self.domain_boxes[g.domain].layout().addWidget(card)
        for d in RecoveryDomain:
            n = sum(1 for g in live if g.domain is d)
            self.domain_empty[d].setVisible(n == 0)
            self.domain_boxes[d].setTitle(f"{self.tr(d.value)} ({n})" if n else self.tr(d.value))
        active = sum(1 for g in live if g.status is GoalStatus.ACTIVE)
        achieved = sum(1 for g in live if g.status is GoalStatus.ACHIEVED)
        self.goal_summary.setText(
            self.tr("{0} active, {1} achieved").format(active, achieved)
            if live
            else self.tr("No goals yet.")
        )

    def _show_consents(self, record: rq.ParticipantRecord) -> None:
        self.consent_model.today = date.today()
        self.consent_model.set_rows(record.consents)
        # Expired and revoked states are bold: room for the bolder letters.
        self.consent_fitter.measure(
            extra=lambda col: self.fontMetrics().averageCharWidth() * 3 if col == 0 else 0
        )
        states = [self.consent_model.state(r) for r in range(self.consent_model.rowCount())]
        in_force = sum(1 for s in states if s in (ConsentState.IN_FORCE, ConsentState.EXPIRING))
        self.consent_summary.setText(
            self.tr("{0} in force of {1} on file").format(in_force, len(states))
            if states
            else self.tr("No consents on file.")
        )
        self.consent_detail.setText("")
        self.consent_detail.hide()
        self.revoke_button.setEnabled(False)

    def _show_barc(self, record: rq.ParticipantRecord) -> None:
        self.chart.set_points([(b.assessed_on, b.total) for b in record.barc10])
        self.barc_model.set_rows(record.barc10)
        self.barc_fitter.measure()
        self.barc_items.setText("")
        n = len(record.barc10)
        self.barc_summary.setText(
            self.tr("{0} assessments; latest total {1} of 60").format(n, record.barc10[-1].total)
            if n
            else self.tr("No BARC-10 yet.")
        )
        if n:
            self.barc_table.selectRow(0)

    def _show_timeline(self, record: rq.ParticipantRecord) -> None:
        self.timeline_model.set_rows(record.timeline)
        n = len(record.timeline)
        unsigned = record.row.facts.unsigned_notes
        text = self.tr("{0} encounters").format(n) if n != 1 else self.tr("1 encounter")
        if unsigned:
            text += self.tr(" · {0} not signed yet").format(unsigned)
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

    def edit_profile(self) -> QDialog | None:
        if self.record is None:
            return None
        from app.ui.caseload.participant_form import ParticipantForm

        return self._keep(ParticipantForm(self.ctx, self.record.participant, parent=self))

    def new_note(self) -> None:
        if self.participant_id and self.record is not None:
            self.ctx.open_note.emit("", self.participant_id)

    def _timeline_activated(self, index: Any) -> None:
        encounter_id = self.timeline_model.data(self.timeline_model.index(index.row(), 0), ID_ROLE)
        if encounter_id:
            self.ctx.open_note.emit(encounter_id, self.participant_id)

    def add_goal(self, domain: RecoveryDomain | None = None) -> QDialog | None:
        if self.record is None:
            return None
        return self._keep(GoalDialog(self.ctx, self.participant_id, domain=domain, parent=self))

    def edit_goal(self, goal: Goal) -> QDialog | None:
        return self._keep(GoalDialog(self.ctx, self.participant_id, goal=goal, parent=self))

    def tick_step(self, goal_id: str, index: int, done: bool) -> None:
        card = self.goal_cards.get(goal_id)

        def saved(goal: Goal) -> None:
            if card is not None and goal_id in self.goal_cards:
                card.update_goal(goal)
            self.ctx.changed({"goals"})

        def failed(exc: BaseException) -> None:
            if card is not None and goal_id in self.goal_cards:
                card.update_goal(card.goal)  # back to what the vault holds
            self.ctx.status_message.emit(self.tr("The step was not saved. ") + message_for(exc))

        self.ctx.run(rq.tick_goal_step, saved, failed, args=(goal_id, index, done))

    def add_consent(self) -> QDialog | None:
        if self.record is None:
            return None
        return self._keep(ConsentDialog(self.ctx, self.participant_id, parent=self))

    def selected_consent(self):
        idx = self.consent_table.currentIndex()
        if not idx.isValid():
            return None
        return self.consent_model.row_at(idx.row())

    def revoke_consent(self) -> QDialog | None:
        c = self.selected_consent()
        if c is None or c.revoked_on is not None:
            return None
        return self._keep(RevokeDialog(self.ctx, c, parent=self))

    def _consent_selected(self, current: Any, _previous: Any = None) -> None:
        if not current.isValid():
            self.consent_detail.setText("")
            self.consent_detail.hide()
            self.revoke_button.setEnabled(False)
            return
        c = self.consent_model.row_at(current.row())
        tr = self.tr
        lines = [
            tr("Who may disclose: {0}").format(c.disclosing_party or "—"),
            tr("To: {0}").format(c.recipient or "—"),
            tr("Purpose: {0}").format(c.purpose or "—"),
            tr("Information: {0}").format(c.information_scope or "—"),
        ]
        if c.expiry_event:
            lines.append(tr("Ends when: {0}").format(c.expiry_event))
        if c.revoked_on:
            lines.append(tr("Revoked {0}: {1}").format(short_date(c.revoked_on), c.revocation_note))
        self.consent_detail.setText("\n".join(lines))
        self.consent_detail.show()
        self.revoke_button.setEnabled(c.revoked_on is None)

    def add_barc10(self) -> QDialog | None:
        if self.record is None:
            return None
        return self._keep(Barc10Dialog(self.ctx, self.participant_id, parent=self))

    def _barc_selected(self, current: Any, _previous: Any = None) -> None:
        if not current.isValid():
            self.barc_items.setText("")
            return
        b = self.barc_model.row_at(current.row())
        self.barc_items.setText(
            "\n".join(
                f"{s}  —  {self.tr(text)}" for s, text in zip(b.scores, BARC10_ITEMS, strict=True)
            )
        )
