"""The note editor: write a service note (GIRP, or DAP), time the service, see the
units the payer will pay, sign it with the passphrase, and amend a signed note
with an addendum.

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
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from PySide6.QtCore import QDate, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QBoxLayout,
    QButtonGroup,
    QComboBox,
    QDateEdit,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.domain import note_form
from app.domain.lifecycle import NARRATIVE_FIELDS, LifecycleError
from app.domain.note_form import (
    BUILT_IN_CODES,
    CodeFileError,
    NoteCodes,
    format_clock_time,
    parse_clock_time,
)
from app.domain.records import (
    Addendum,
    Encounter,
    Modality,
    NoteFormat,
    NoteStatus,
    ServiceSetting,
    new_id,
)
from app.domain.validation import ValidationError
from app.paths import resource_path
from app.store import note_queries
from app.store.errors import DiskFull, StoreError, WrongPassphrase
from app.store.note_queries import NoteBundle
from app.store.repositories import NotFound
from app.ui.shell.context import AppContext, Page
from app.ui.shell.tasks import log_failure
from app.ui.start.start import DEMO_PASSPHRASE

log = logging.getLogger(__name__)

ROLE_GOAL_ID = Qt.ItemDataRole.UserRole + 1

#: Label and a line of guidance for each part of the narrative.
NARRATIVE_TEXT: dict[str, tuple[str, str]] = {
    "goal_text": ("&Goal", "Which of the person's goals this session worked on, in their words."),
    "intervention": ("&Intervention", "What you did: support offered, skills shared, referrals."),
    "response": ("&Response", "How the person responded, what they said and decided."),
    "plan": ("&Plan", "Next steps for the person and for you, and the next contact."),
    "data": ("Dat&a", "What happened and what the person said (facts, their words)."),
    "assessment": ("Assessme&nt", "What it means for their recovery and goals."),
}

STATUS_TEXT = {
    NoteStatus.DRAFT: "Draft",
    NoteStatus.SIGNED: "Signed",
    NoteStatus.RETURNED: "Returned for revision",
    NoteStatus.APPROVED: "Approved",
    NoteStatus.BILLED: "Billed",
    NoteStatus.VOID: "Void",
}


def load_codes() -> tuple[NoteCodes, str]:
    """The code tables and, when they could not be read, a message saying so."""
    try:
        return note_form.load_note_codes(resource_path("codes")), ""
    except CodeFileError as e:
        return BUILT_IN_CODES, f"The code list could not be read ({e}); using the basic list."


def _when(dt: datetime | None) -> str:
    """A stored moment (UTC) in local time: "Mar 4, 2025 at 2:05 PM"."""
    if dt is None:
        return ""
    local = dt.astimezone() if dt.tzinfo else dt
    return f"{local:%b} {local.day}, {local.year} at {format_clock_time(local.time())}"


def _day(d: date) -> str:
    return f"{d:%A}, {d:%B} {d.day}, {d.year}"


class FieldError(QLabel):
    """A message shown next to the field at fault; hidden when empty."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.setObjectName("fieldError")
        self.setWordWrap(True)
        self.setAccessibleName(name)
        self.hide()

    def show_messages(self, messages: list[str]) -> None:
        text = " ".join(note_form.plain_sentence(m) for m in messages)
        self.setText(text)
        self.setVisible(bool(text))


class GrowingTextEdit(QPlainTextEdit):
    """A text box that grows with what is written (between ``min_lines`` and
    ``max_lines`` lines, then it scrolls), so a short note is not a tall empty box
    and a long one does not hide in a small one."""

    def __init__(self, min_lines: int = 3, max_lines: int = 16) -> None:
        super().__init__()
        self.min_lines, self.max_lines = min_lines, max_lines
        self.setTabChangesFocus(True)
        self.setSizePolicy(self.sizePolicy().horizontalPolicy(), self.sizePolicy().Policy.Fixed)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self._fit()

    def _fit(self, *_: Any) -> None:
        lines = int(self.document().documentLayout().documentSize().height())
        lines = max(self.min_lines, min(self.max_lines, lines + 1))
        margins = self.contentsMargins()
        doc_margin = 2 * self.document().documentMargin()
        height = lines * self.fontMetrics().lineSpacing() + margins.top() + margins.bottom()
        self.setFixedHeight(int(height + doc_margin + 10))

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._fit()


class _Reflow(QWidget):
    """Its widgets side by side when they fit, else one under the other (the two
    template choices were wider than the smallest window)."""

    def __init__(self, widgets: list[QWidget]) -> None:
        super().__init__()
        self._widgets = widgets
        self.box = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        self.box.setContentsMargins(0, 0, 0, 0)
        for w in widgets:
            self.box.addWidget(w)
        self.box.addStretch(1)

    def _row_width(self) -> int:
        return sum(w.sizeHint().width() for w in self._widgets) + self.box.spacing() * (
            len(self._widgets) - 1
        )

    def minimumSizeHint(self) -> QSize:
        widest = max(w.minimumSizeHint().width() for w in self._widgets)
        return QSize(widest, super().minimumSizeHint().height())

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        fits = self.width() >= self._row_width()
        direction = QBoxLayout.Direction.LeftToRight if fits else QBoxLayout.Direction.TopToBottom
        if self.box.direction() != direction:
            self.box.setDirection(direction)


class NoteEditorPage(Page):
    """One service note at a time. Page key "note"."""

    title = "Note"
    tables = frozenset({"encounters", "addenda", "goals", "participants", "payers"})

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
        self._emitting = False
        self._saves_in_flight = 0
        self._last_saved_at: datetime | None = None
        self._modality_shown: Modality = Modality.IN_PERSON
        self._baseline: Encounter | None = None  # the content as last loaded or saved
        self._resume_timer_at: datetime | None = None

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
        hl.setContentsMargins(20, 12, 20, 12)
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
        hl.addWidget(self.back_button)
        hl.addWidget(self.heading, 1)
        hl.addWidget(self.status_chip)
        hl.addSpacing(12)
        hl.addWidget(self.save_state)
        outer.addWidget(header)

        scroll = QScrollArea()
        scroll.setObjectName("noteScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget()
        body.setObjectName("noteBody")
        self.body = QVBoxLayout(body)
        self.body.setContentsMargins(20, 8, 20, 20)
        self.body.setSpacing(12)
        scroll.setWidget(body)
        self.scroll = scroll
        outer.addWidget(scroll, 1)

        self._build_banners()
        self._build_service()
        self._build_goals()
        self._build_narrative()
        self._build_sign()
        self._build_addenda()
        self.body.addStretch(1)

    def _card(self, title: str) -> tuple[QFrame, QVBoxLayout]:
        card = QFrame()
        card.setObjectName("card")
        lay = QVBoxLayout(card)
        lay.setContentsMargins(16, 12, 16, 14)
        lay.setSpacing(6)
        if title:
            t = QLabel(title)
            t.setObjectName("sectionTitle")
            lay.addWidget(t)
        self.body.addWidget(card)
        return card, lay

    def _label(self, text: str, buddy: QWidget) -> QLabel:
        lab = QLabel(text)
        lab.setObjectName("fieldLabel")
        lab.setBuddy(buddy)
        return lab

    def _build_banners(self) -> None:
        # A save that failed: what happened, the draft is kept, try again.
        self.save_error_box = QFrame()
        self.save_error_box.setObjectName("saveErrorBox")
        el = QHBoxLayout(self.save_error_box)
        el.setContentsMargins(12, 10, 12, 10)
        texts = QVBoxLayout()
        texts.setSpacing(2)
        self.save_error_title = QLabel()
        self.save_error_title.setObjectName("saveErrorTitle")
        self.save_error_title.setWordWrap(True)
        self.save_error_label = QLabel()
        self.save_error_label.setObjectName("saveErrorText")
        self.save_error_label.setWordWrap(True)
        self.save_error_label.setAccessibleName(self.tr("Save problem"))
        self.retry_button = QPushButton(self.tr("Try saving again"))
        self.retry_button.setAccessibleName(self.tr("Try saving the draft again"))
        self.retry_button.clicked.connect(self.save_now)
        texts.addWidget(self.save_error_title)
        texts.addWidget(self.save_error_label)
        el.addLayout(texts, 1)
        el.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignTop)
        self.save_error_box.hide()
        self.body.addWidget(self.save_error_box)

        self.codes_message = QLabel()
        self.codes_message.setObjectName("hint")
        self.codes_message.setWordWrap(True)
        self.codes_message.hide()
        self.body.addWidget(self.codes_message)

        # Returned for revision: the supervisor's comment and what to do next.
        self.returned_box = QFrame()
        self.returned_box.setObjectName("returnedBox")
        rl = QVBoxLayout(self.returned_box)
        rl.setContentsMargins(16, 12, 16, 14)
        rl.setSpacing(6)
        self.returned_title = QLabel()
        self.returned_title.setObjectName("returnedTitle")
        self.returned_title.setWordWrap(True)
        self.review_comment = QLabel()
        self.review_comment.setObjectName("reviewComment")
        self.review_comment.setWordWrap(True)
        self.review_comment.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.review_comment.setAccessibleName(self.tr("Supervisor's comment"))
        self.next_step = QLabel()
        self.next_step.setObjectName("nextStep")
        self.next_step.setWordWrap(True)
        self.next_step.setAccessibleName(self.tr("What to do next"))
        self.answer_button = QPushButton(self.tr("Write the addendum"))
        self.answer_button.setObjectName("primary")
        self.answer_button.setAccessibleName(self.tr("Answer the comment with an addendum"))
        self.answer_button.clicked.connect(self._go_to_addendum)
        rl.addWidget(self.returned_title)
        rl.addWidget(self.review_comment)
        rl.addWidget(self.next_step)
        rl.addWidget(self.answer_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.returned_box.hide()
        self.body.addWidget(self.returned_box)

        # Signed and locked.
        self.locked_box = QLabel()
        self.locked_box.setObjectName("lockedBox")
        self.locked_box.setWordWrap(True)
        self.locked_box.setAccessibleName(self.tr("Signature"))
        self.locked_box.hide()
        self.body.addWidget(self.locked_box)

        self.top_problems = FieldError(self.tr("Problems with this note"))
        self.body.addWidget(self.top_problems)

    def _build_service(self) -> None:
        _card, lay = self._card(self.tr("Service"))
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(4)

        self.date_edit = QDateEdit()
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDisplayFormat("MMM d, yyyy")
        self.date_edit.setAccessibleName(self.tr("Service date"))
        self.date_edit.dateChanged.connect(self._changed)
        self.start_edit = QLineEdit()
        self.start_edit.setPlaceholderText(self.tr("e.g. 9:30 AM"))
        self.start_edit.setAccessibleName(self.tr("Start time"))
        self.end_edit = QLineEdit()
        self.end_edit.setPlaceholderText(self.tr("e.g. 10:15 AM"))
        self.end_edit.setAccessibleName(self.tr("End time"))
        for edit in (self.start_edit, self.end_edit):
            edit.setObjectName("noteField")
            edit.textEdited.connect(self._times_edited)
            edit.editingFinished.connect(self._tidy_times)
            edit.setMaximumWidth(150)
        self.timer_button = QPushButton(self.tr("Start timer"))
        self.timer_button.setObjectName("timerButton")
        self.timer_button.setAccessibleName(self.tr("Start the service timer"))
        self.timer_button.setToolTip(self.tr("Start or stop the service timer (Ctrl+T)"))
        self.timer_button.clicked.connect(self.toggle_timer)
        self.timer_clock = QLabel()
        self.timer_clock.setObjectName("timerClock")
        self.timer_clock.setAccessibleName(self.tr("Time running"))
        self.units_label = QLabel()
        self.units_label.setObjectName("units")
        self.units_label.setAccessibleName(self.tr("Billing units"))
        self.rule_label = QLabel()
        self.rule_label.setObjectName("hint")
        self.rule_label.setWordWrap(True)
        self.rule_label.setAccessibleName(self.tr("Rounding rule"))

        grid.addWidget(self._label(self.tr("Service &date"), self.date_edit), 0, 0)
        grid.addWidget(self._label(self.tr("&Start"), self.start_edit), 0, 1)
        grid.addWidget(self._label(self.tr("&End"), self.end_edit), 0, 2)
        grid.addWidget(self.date_edit, 1, 0)
        grid.addWidget(self.start_edit, 1, 1)
        grid.addWidget(self.end_edit, 1, 2)
        timer_row = QHBoxLayout()
        timer_row.addWidget(self.timer_button)
        timer_row.addWidget(self.timer_clock)
        timer_row.addStretch(1)
        grid.addLayout(timer_row, 1, 3)
        self.time_error = FieldError(self.tr("Time problem"))
        grid.addWidget(self.time_error, 2, 0, 1, 4)
        units_row = QHBoxLayout()
        units_row.setSpacing(10)
        units_row.addWidget(self.units_label)
        units_row.addWidget(self.rule_label, 1)
        grid.addLayout(units_row, 3, 0, 1, 4)
        grid.setColumnStretch(3, 1)
        lay.addLayout(grid)

        grid2 = QGridLayout()
        grid2.setHorizontalSpacing(8)  # four columns in the smallest window
        for col in range(4):  # room to spare is shared, so the modality shows in full
            grid2.setColumnStretch(col, 1)
        grid2.setVerticalSpacing(4)
        self.modality_combo = QComboBox()
        self.modality_combo.setAccessibleName(self.tr("Modality"))
        for info in self.codes.modalities:
            self.modality_combo.addItem(self.tr(info.label), info.modality.value)
        self.modality_combo.currentIndexChanged.connect(self._modality_changed)
        self.pos_combo = QComboBox()
        self.pos_combo.setAccessibleName(self.tr("Place of service"))
        for c in self.codes.places_of_service:
            self.pos_combo.addItem(f"{c.code} · {c.label}", c.code)
        self.pos_combo.currentIndexChanged.connect(self._changed)
        # The longest place and modality names made the note wider than the smallest
        # window; the combos take what room there is and show the rest when opened.
        for combo, chars in ((self.pos_combo, 14), (self.modality_combo, 8)):
            combo.setMinimumContentsLength(chars)
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
        self.location_edit = QLineEdit()
        self.location_edit.setPlaceholderText(self.tr("e.g. library in Belcourt (optional)"))
        self.location_edit.setAccessibleName(self.tr("Location details"))
        self.location_edit.setObjectName("noteField")
        self.location_edit.textEdited.connect(self._changed)
        self.setting_combo = QComboBox()
        self.setting_combo.setAccessibleName(self.tr("Setting"))
        self.setting_combo.addItem(self.tr("Individual"), ServiceSetting.INDIVIDUAL.value)
        self.setting_combo.addItem(self.tr("Group"), ServiceSetting.GROUP.value)
        self.setting_combo.currentIndexChanged.connect(self._setting_changed)
        self.group_spin = QSpinBox()
        self.group_spin.setRange(0, 99)
        self.group_spin.setSpecialValueText(self.tr("—"))
        self.group_spin.setAccessibleName(self.tr("People in the group"))
        self.group_spin.valueChanged.connect(self._changed)
        self.code_combo = QComboBox()
        self.code_combo.setEditable(True)
        self.code_combo.setAccessibleName(self.tr("Service code"))
        for c in self.codes.service_codes:
            self.code_combo.addItem(c.code, c.code)
            self.code_combo.setItemData(
                self.code_combo.count() - 1, c.label, Qt.ItemDataRole.ToolTipRole
            )
        self.code_combo.editTextChanged.connect(self._changed)
        self.modifiers_edit = QLineEdit()
        self.modifiers_edit.setPlaceholderText(self.tr("none"))
        self.modifiers_edit.setAccessibleName(self.tr("Modifiers"))
        self.modifiers_edit.setToolTip(
            self.tr("Filled from the modality and setting; add others separated by commas")
        )
        self.modifiers_edit.setObjectName("noteField")
        self.modifiers_edit.textEdited.connect(self._changed)

        grid2.addWidget(self._label(self.tr("&Modality"), self.modality_combo), 0, 0)
        grid2.addWidget(self._label(self.tr("Place of ser&vice"), self.pos_combo), 0, 1, 1, 3)
        grid2.addWidget(self.modality_combo, 1, 0)
        grid2.addWidget(self.pos_combo, 1, 1, 1, 3)
        self.pos_error = FieldError(self.tr("Place of service problem"))
        grid2.addWidget(self.pos_error, 2, 1, 1, 3)
        grid2.addWidget(self._label(self.tr("&Location details"), self.location_edit), 3, 0, 1, 4)
        grid2.addWidget(self.location_edit, 4, 0, 1, 4)
        grid2.addWidget(self._label(self.tr("Se&tting"), self.setting_combo), 5, 0)
        grid2.addWidget(self._label(self.tr("Group si&ze"), self.group_spin), 5, 1)
        grid2.addWidget(self._label(self.tr("Service &code"), self.code_combo), 5, 2)
        grid2.addWidget(self._label(self.tr("Modi&fiers"), self.modifiers_edit), 5, 3)
        grid2.addWidget(self.setting_combo, 6, 0)
        grid2.addWidget(self.group_spin, 6, 1)
        grid2.addWidget(self.code_combo, 6, 2)
        grid2.addWidget(self.modifiers_edit, 6, 3)
        self.group_error = FieldError(self.tr("Group size problem"))
        grid2.addWidget(self.group_error, 7, 0, 1, 2)
        self.code_error = FieldError(self.tr("Service code problem"))
        grid2.addWidget(self.code_error, 7, 2, 1, 2)
        for col in range(4):
            grid2.setColumnStretch(col, 1)
        lay.addLayout(grid2)

    def _build_goals(self) -> None:
        _card, lay = self._card(self.tr("Goals worked on"))
        self.goals_list = QListWidget()
        self.goals_list.setObjectName("goalList")
        self.goals_list.setAccessibleName(self.tr("Goals worked on"))
        self.goals_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.goals_list.setWordWrap(True)
        self.goals_list.itemChanged.connect(self._goal_toggled)
        self.goals_list.itemActivated.connect(self._goal_activated)
        self.goals_empty = QLabel(
            self.tr("This person has no active recovery goals yet. Add one on their record.")
        )
        self.goals_empty.setObjectName("hint")
        self.goals_empty.setWordWrap(True)
        self.goals_error = FieldError(self.tr("Goals problem"))
        lay.addWidget(self.goals_list)
        lay.addWidget(self.goals_empty)
        lay.addWidget(self.goals_error)

    def _build_narrative(self) -> None:
        _card, lay = self._card(self.tr("Note"))
        fmt_row = QHBoxLayout()
        fmt_label = QLabel(self.tr("Template:"))
        fmt_label.setObjectName("fieldLabel")
        self.girp_radio = QRadioButton(self.tr("GIRP (goal, intervention, response, plan)"))
        self.girp_radio.setAccessibleName(self.tr("GIRP template"))
        self.dap_radio = QRadioButton(self.tr("DAP (data, assessment, plan)"))
        self.dap_radio.setAccessibleName(self.tr("DAP template"))
        self.format_group = QButtonGroup(self)
        self.format_group.addButton(self.girp_radio)
        self.format_group.addButton(self.dap_radio)
        self.girp_radio.setChecked(True)
        self.girp_radio.toggled.connect(self._format_changed)
        fmt_row.addWidget(fmt_label, 0, Qt.AlignmentFlag.AlignTop)
        fmt_row.addWidget(_Reflow([self.girp_radio, self.dap_radio]), 1)
        lay.addLayout(fmt_row)

        self.text_edits: dict[str, QPlainTextEdit] = {}
        self.text_errors: dict[str, FieldError] = {}
        self.text_blocks: dict[str, QWidget] = {}
        order = ("data", "goal_text", "intervention", "response", "assessment", "plan")
        for name in order:
            label, hint = NARRATIVE_TEXT[name]
            block = QWidget()
            bl = QVBoxLayout(block)
            bl.setContentsMargins(0, 4, 0, 0)
            bl.setSpacing(2)
            edit = GrowingTextEdit()
            edit.setObjectName("narrative")
            edit.setAccessibleName(self.tr(label.replace("&", "")))
            edit.setAccessibleDescription(self.tr(hint))
            edit.textChanged.connect(self._changed)
            lab = self._label(self.tr(label), edit)
            hint_label = QLabel(self.tr(hint))
            hint_label.setObjectName("hint")
            hint_label.setWordWrap(True)
            err = FieldError(self.tr(label.replace("&", "")) + " problem")
            bl.addWidget(lab)
            bl.addWidget(hint_label)
            bl.addWidget(edit)
            bl.addWidget(err)
            lay.addWidget(block)
            self.text_edits[name] = edit
            self.text_errors[name] = err
            self.text_blocks[name] = block
        self._show_format(NoteFormat.GIRP)

    def _build_sign(self) -> None:
        self.sign_card, lay = self._card(self.tr("Sign"))
        intro = QLabel(
            self.tr(
                "Signing locks the note. Afterwards it can only be amended with an "
                "addendum. Enter your passphrase to sign."
            )
        )
        intro.setObjectName("hint")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        row = QHBoxLayout()
        self.passphrase_edit = QLineEdit()
        self.passphrase_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase_edit.setAccessibleName(self.tr("Your passphrase, to sign"))
        self.passphrase_edit.setPlaceholderText(self.tr("Passphrase"))
        self.passphrase_edit.returnPressed.connect(self.sign)
        self.sign_button = QPushButton(self.tr("Sign note"))
        self.sign_button.setObjectName("primary")
        self.sign_button.setAccessibleName(self.tr("Sign the note"))
        self.sign_button.setToolTip(self.tr("Sign the note (Ctrl+Enter)"))
        self.sign_button.clicked.connect(self.sign)
        row.addWidget(self._label(self.tr("Passp&hrase"), self.passphrase_edit))
        row.addWidget(self.passphrase_edit, 1)
        row.addWidget(self.sign_button)
        lay.addLayout(row)
        self.demo_hint = QLabel(
            self.tr("Demo vault: the passphrase is “{0}”.").format(DEMO_PASSPHRASE)
        )
        self.demo_hint.setObjectName("hint")
        self.demo_hint.setWordWrap(True)
        self.demo_hint.setVisible(self.ctx.demo)
        lay.addWidget(self.demo_hint)
        self.sign_error = FieldError(self.tr("Signing problem"))
        lay.addWidget(self.sign_error)

    def _build_addenda(self) -> None:
        self.addenda_card, lay = self._card(self.tr("Addenda"))
        self.addenda_box = QVBoxLayout()
        self.addenda_box.setSpacing(8)
        lay.addLayout(self.addenda_box)
        self.addenda_none = QLabel(self.tr("No addenda yet."))
        self.addenda_none.setObjectName("hint")
        lay.addWidget(self.addenda_none)

        self.addendum_form = QWidget()
        fl = QVBoxLayout(self.addendum_form)
        fl.setContentsMargins(0, 8, 0, 0)
        fl.setSpacing(4)
        self.addendum_reason = QLineEdit()
        self.addendum_reason.setAccessibleName(self.tr("Reason for the addendum"))
        self.addendum_reason.setPlaceholderText(
            self.tr("e.g. correcting the end time, answering my supervisor")
        )
        self.addendum_text = GrowingTextEdit()
        self.addendum_text.setObjectName("addendumEdit")
        self.addendum_text.setAccessibleName(self.tr("Addendum text"))
        self.addendum_button = QPushButton(self.tr("Add addendum"))
        self.addendum_button.setObjectName("primary")
        self.addendum_button.setAccessibleName(self.tr("Add the addendum to the note"))
        self.addendum_button.clicked.connect(self.add_addendum)
        self.addendum_error = FieldError(self.tr("Addendum problem"))
        fl.addWidget(self._label(self.tr("Reas&on"), self.addendum_reason))
        fl.addWidget(self.addendum_reason)
        fl.addWidget(self._label(self.tr("Addendum te&xt"), self.addendum_text))
        fl.addWidget(self.addendum_text)
        fl.addWidget(self.addendum_error)
        fl.addWidget(self.addendum_button, 0, Qt.AlignmentFlag.AlignLeft)
        lay.addWidget(self.addendum_form)
        self.addenda_card.hide()

    def _match_heights(self) -> None:
        """Combo, date and spin boxes keep the platform's look, as tall as the fields."""
        self.start_edit.ensurePolished()
        h = self.start_edit.sizeHint().height()
        for w in (
            self.date_edit,
            self.modality_combo,
            self.pos_combo,
            self.setting_combo,
            self.group_spin,
            self.code_combo,
        ):
            w.setMinimumHeight(h)
        fm = self.date_edit.fontMetrics()
        self.date_edit.setMinimumWidth(fm.horizontalAdvance("Sep 30, 2026") + 56)

    def _shortcuts(self) -> None:
        ctx_ = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for keys, slot in (
            ("Ctrl+S", self.save_now),
            ("Ctrl+Return", self.sign),
            ("Ctrl+Enter", self.sign),
            ("Ctrl+T", self.toggle_timer),
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

        def done(bundle: NoteBundle) -> None:
            if generation == self._generation:
                self._show_bundle(bundle)

        def failed(exc: BaseException) -> None:
            if generation != self._generation:
                return
            self.heading.setText(self.tr("Service note"))
            self.top_problems.show_messages([self._message(exc)])

        self.ctx.run(note_queries.load_note, done, failed, args=(encounter_id, participant_id))

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
        if self._emitting or self._note is None or self._bundle is None:
            return
        if self.dirty or self._saves_in_flight or self._signing:
            return  # never overwrite what the person is typing; the save brings it in line
        generation = self._generation
        note_id = self._note.id if self._stored else ""
        pid = self._note.participant_id

        def done(bundle: NoteBundle) -> None:
            if generation == self._generation and self._rev == self._saved_rev:
                self._show_bundle(bundle, keep_new_id=not self._stored)

        self.ctx.run(note_queries.load_note, done, lambda _e: None, args=(note_id, pid))

    def clear(self) -> None:
        """Forget every personal value (the vault is locking). Call save_now() first."""
        self._generation += 1
        self._reset()
        self.heading.setText(self.tr("Service note"))

    def current_note_id(self) -> str:
        return self._note.id if self._note is not None else ""

    # == showing ========================================================================

    def _reset(self) -> None:
        self._autosave.stop()
        self._stop_tick()
        self._timer_started = None
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
            note = note_queries.new_draft(bundle, self.ctx.user, self.clock().date(), new_id())
        self._note = note
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
        if resume is not None and self._editable and note.end_time is None:
            self._run_timer_from(resume)
        self._show_save_state()
        if self._editable and not self._has_focus_inside():
            self.start_edit.setFocus()
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
            self._set_text(self.start_edit, format_clock_time(note.start_time))
            self._set_text(self.end_edit, format_clock_time(note.end_time))
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
            (self.dap_radio if note.note_format is NoteFormat.DAP else self.girp_radio).setChecked(
                True
            )
            self._show_format(note.note_format)
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

    def _fill_goals(self, bundle: NoteBundle, note: Encounter) -> None:
        chosen = set(note.goal_ids)
        self.goals_list.clear()
        goals = bundle.goals
        if not self._editable:  # a finished note shows the goals it worked on
            goals = [g for g in goals if g.id in chosen]
        for g in goals:
            text = f"{g.domain.value}: {g.statement}"
            if g.status.value != "active":
                text += f" ({g.status.value})"
            item = QListWidgetItem(text)
            item.setData(ROLE_GOAL_ID, g.id)
            item.setFlags(
                Qt.ItemFlag.ItemIsEnabled
                | Qt.ItemFlag.ItemIsUserCheckable
                | Qt.ItemFlag.ItemIsSelectable
            )
            item.setCheckState(Qt.CheckState.Checked if g.id in chosen else Qt.CheckState.Unchecked)
            self.goals_list.addItem(item)
        has = bool(goals)
        self.goals_empty.setText(
            self.tr("This person has no active recovery goals yet. Add one on their record.")
            if self._editable
            else self.tr("No goals were linked to this note.")
        )
        self.goals_list.setVisible(has)
        self.goals_empty.setVisible(not has)
        rows = max(1, min(self.goals_list.count(), 6))
        row_h = self.goals_list.fontMetrics().height() + 9  # item padding and check box
        self.goals_list.setFixedHeight(rows * row_h + 12)

    def _show_format(self, fmt: NoteFormat) -> None:
        shown = set(NARRATIVE_FIELDS[fmt])
        for name, block in self.text_blocks.items():
            block.setVisible(name in shown)

    def _show_status(self, note: Encounter, bundle: NoteBundle) -> None:
        self.status_chip.setText(self.tr(STATUS_TEXT[note.status]))
        self.status_chip.setProperty("status", note.status.value)
        self._repolish(self.status_chip)
        returned = note.status is NoteStatus.RETURNED
        self.returned_box.setVisible(returned)
        if returned:
            self.returned_title.setText(
                self.tr("Returned for revision by {0} on {1}").format(
                    bundle.name(note.reviewed_by_id), _when(note.reviewed_at)
                )
            )
            self.review_comment.setText(note.review_comment)
            self.next_step.setText(
                self.tr("What to do next: ")
                + self.tr(note_form.next_step_for_returned(note, self.ctx.user.id))
            )
            self.answer_button.setVisible(
                note_form.can_add_addendum(note, self.ctx.user.id, self.ctx.is_supervisor)
            )
        if note.status is NoteStatus.DRAFT:
            if note.specialist_id != self.ctx.user.id:
                self.locked_box.setText(
                    self.tr(
                        "This draft belongs to {0}. Only its author can edit and sign it."
                    ).format(bundle.name(note.specialist_id))
                )
                self.locked_box.show()
            else:
                self.locked_box.hide()
        else:
            text = self.tr("Signed by {0} on {1}.").format(
                bundle.name(note.signed_by_id), _when(note.signed_at)
            )
            if note.status is NoteStatus.APPROVED:
                text += " " + self.tr("Approved by {0} on {1}.").format(
                    bundle.name(note.reviewed_by_id), _when(note.reviewed_at)
                )
            if note.status is NoteStatus.VOID:
                text = self.tr("This note is void: {0}").format(note.void_reason)
            elif note.status is not NoteStatus.RETURNED:
                text += " " + self.tr(
                    "The note is locked: to correct or add something, write an addendum."
                )
            self.locked_box.setText(text)
            self.locked_box.show()
        self.sign_card.setVisible(self._editable)
        self.addenda_card.setVisible(note.status is not NoteStatus.DRAFT)
        self.addendum_form.setVisible(
            note_form.can_add_addendum(note, self.ctx.user.id, self.ctx.is_supervisor)
        )

    def _show_addenda(self, addenda: list[Addendum], bundle: NoteBundle) -> None:
        self._clear_addenda()
        for a in addenda:
            frame = QFrame()
            frame.setObjectName("addendum")
            fl = QVBoxLayout(frame)
            fl.setContentsMargins(12, 8, 12, 8)
            fl.setSpacing(2)
            reason = QLabel(self.tr("Addendum: {0}").format(a.reason))
            reason.setObjectName("addendumReason")
            reason.setWordWrap(True)
            text = QLabel(a.text)
            text.setWordWrap(True)
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            text.setAccessibleName(self.tr("Addendum text"))
            by = QLabel(self.tr("{0}, {1}").format(bundle.name(a.author_id), _when(a.written_at)))
            by.setObjectName("hint")
            fl.addWidget(reason)
            fl.addWidget(text)
            fl.addWidget(by)
            self.addenda_box.addWidget(frame)
        self.addenda_none.setVisible(not addenda)

    def _clear_addenda(self) -> None:
        while self.addenda_box.count():
            item = self.addenda_box.takeAt(0)
            w = item.widget()
            if w is not None:
                w.deleteLater()

    def _apply_lock(self) -> None:
        editable = self._editable
        self.setProperty("locked", not editable)
        for w in (self.start_edit, self.end_edit, self.location_edit, self.modifiers_edit):
            w.setReadOnly(not editable)
            w.setEnabled(True)
        for w in (
            self.date_edit,
            self.modality_combo,
            self.pos_combo,
            self.setting_combo,
            self.code_combo,
            self.girp_radio,
            self.dap_radio,
            self.timer_button,
        ):
            w.setEnabled(editable)
        self.group_spin.setEnabled(editable and self._setting() is ServiceSetting.GROUP)
        for edit in self.text_edits.values():
            edit.setReadOnly(not editable)
            edit.setEnabled(True)
        self.goals_list.setEnabled(True)
        for i in range(self.goals_list.count()):
            item = self.goals_list.item(i)
            flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
            if editable:
                flags |= Qt.ItemFlag.ItemIsUserCheckable
            self._loading = True
            item.setFlags(flags)
            self._loading = False
        for w in (self.passphrase_edit, self.sign_button):
            w.setEnabled(editable)
        self.timer_button.setVisible(editable)
        self.timer_clock.setVisible(editable)
        self.save_state.setVisible(editable)
        for w in (self.addendum_reason, self.addendum_text, self.addendum_button):
            w.setEnabled(True)
        self._repolish(self)
        for w in self.findChildren(QWidget):
            if isinstance(w, QLineEdit | QPlainTextEdit | QListWidget):
                self._repolish(w)

    def _set_enabled_all(self, enabled: bool) -> None:
        """Before a note is loaded nothing can be typed (it would have nowhere to go)."""
        self.scroll.widget().setEnabled(enabled)
        if enabled:
            return
        self.setProperty("locked", False)

    @staticmethod
    def _repolish(w: QWidget) -> None:
        w.style().unpolish(w)
        w.style().polish(w)

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

    def _times_edited(self, *_: Any) -> None:
        self._check_times()
        self._changed()

    def _tidy_times(self) -> None:
        """When a time field is left, write a valid time the standard way."""
        if not self._editable:
            return
        for edit in (self.start_edit, self.end_edit):
            try:
                t = parse_clock_time(edit.text())
            except ValueError:
                continue
            tidy = format_clock_time(t)
            if edit.text() != tidy:
                edit.setText(tidy)
        self._check_times()

    def _parsed(self, edit: QLineEdit) -> Any:
        try:
            return parse_clock_time(edit.text())
        except ValueError:
            return None

    def _check_times(self) -> bool:
        messages = []
        for name, edit in (("start", self.start_edit), ("end", self.end_edit)):
            try:
                parse_clock_time(edit.text())
            except ValueError:
                messages.append(self.tr("The {0} time is not a time we can read.").format(name))
        start, end = self._parsed(self.start_edit), self._parsed(self.end_edit)
        if start and end and note_form.minutes_between(start, end) <= 0:
            messages.append(self.tr("The end time must be after the start time."))
        if messages:
            messages.append(self.tr(note_form.TIME_HINT))
        self.time_error.show_messages(messages)
        return not messages

    def _modality_changed(self, *_: Any) -> None:
        if self._loading or not self._editable:
            return
        m = self._modality()
        info = self.codes.modality(m)
        # Follow the modality's usual place of service, unless the person chose one
        # that is not the previous modality's usual place.
        previous = self._modality_shown
        self._modality_shown = m
        current_pos = self.pos_combo.currentData()
        if info.place_of_service and current_pos in (
            self.codes.modality(previous).place_of_service,
            "",
        ):
            self._set_combo(self.pos_combo, info.place_of_service)
        self._follow_modifiers()
        self._changed()

    def _setting_changed(self, *_: Any) -> None:
        group = self._setting() is ServiceSetting.GROUP
        self.group_spin.setEnabled(group and self._editable)
        if self._loading or not self._editable:
            return
        if not group:
            self.group_spin.setValue(0)
        self._follow_modifiers()
        self._changed()

    def _follow_modifiers(self) -> None:
        mods = note_form.adjust_modifiers(
            note_form.parse_modifiers(self.modifiers_edit.text()),
            self._modality(),
            self._setting(),
            self.codes,
        )
        self.modifiers_edit.setText(", ".join(mods))

    def _modality(self) -> Modality:
        return Modality(self.modality_combo.currentData() or Modality.IN_PERSON.value)

    def _setting(self) -> ServiceSetting:
        return ServiceSetting(self.setting_combo.currentData() or ServiceSetting.INDIVIDUAL.value)

    def _format_changed(self, *_: Any) -> None:
        fmt = NoteFormat.GIRP if self.girp_radio.isChecked() else NoteFormat.DAP
        self._show_format(fmt)
        self._changed()

    def _goal_toggled(self, _item: QListWidgetItem) -> None:
        if not self._loading:
            self.goals_error.show_messages([])
            self._changed()

    def _goal_activated(self, item: QListWidgetItem) -> None:
        if self._editable and item.flags() & Qt.ItemFlag.ItemIsUserCheckable:
            checked = item.checkState() == Qt.CheckState.Checked
            item.setCheckState(Qt.CheckState.Unchecked if checked else Qt.CheckState.Checked)

    def draft(self) -> Encounter | None:
        """The note as the widgets show it now (None before a note is loaded)."""
        if self._note is None:
            return None
        d = self.date_edit.date()
        fmt = NoteFormat.GIRP if self.girp_radio.isChecked() else NoteFormat.DAP
        goal_ids = tuple(
            self.goals_list.item(i).data(ROLE_GOAL_ID)
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

    def units(self) -> int:
        draft = self.draft()
        if draft is None or self._bundle is None:
            return 0
        return self._bundle.rule.units(draft.minutes)

    def _update_units(self) -> None:
        if self._bundle is None:
            return
        start, end = self._parsed(self.start_edit), self._parsed(self.end_edit)
        minutes = note_form.minutes_between(start, end)
        if self._timer_started is not None and end is None:
            minutes = int((self.clock() - self._timer_started).total_seconds() // 60)
        rule = self._bundle.rule
        self.units_label.setText(self.tr(note_form.units_text(minutes, rule)))
        payer = self._bundle.payer
        whose = payer.name if payer else self.tr("No payer on file, so the default rule")
        self.rule_label.setText(f"{whose}: {note_form.rule_name(rule)}")
        tip = self.tr(note_form.rule_explanation(rule))
        self.units_label.setToolTip(tip)
        self.rule_label.setToolTip(tip)

    # == the service timer ================================================================

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
        self.start_edit.setText(format_clock_time(span.start))
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
        self.start_edit.setText(format_clock_time(span.start))
        self.end_edit.setText(format_clock_time(span.end))
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

    # == saving ==========================================================================

    @property
    def dirty(self) -> bool:
        return self._rev != self._saved_rev

    def save_now(self) -> None:
        """Queue a save of the draft as it is now on the database worker. Safe to call
        at any time (nothing to save: nothing happens); the lead window calls it before
        locking and closing, and the worker runs it before closing the store."""
        self._autosave.stop()
        if self._note is None or not self._editable or not self.dirty:
            return
        rev = self._rev
        if rev == self._queued_rev:
            return  # this very state is already on its way
        self._queued_rev = rev
        draft = self.draft()
        assert draft is not None and self._baseline is not None
        fields = note_form.changed_content(self._baseline, draft)
        generation = self._generation
        self._saves_in_flight += 1
        self._show_save_state(saving=True)

        def done(note: Encounter) -> None:
            self._saves_in_flight -= 1
            if generation != self._generation:
                return
            self._stored = True
            self._note = note
            self._baseline = draft
            self._saved_rev = max(self._saved_rev, rev)
            self._save_error = ""
            self.save_error_box.hide()
            self._last_saved_at = self.clock()
            self._show_save_state()
            self._emitting = True
            try:
                self.ctx.changed({"encounters"})
            finally:
                self._emitting = False
            self.saved.emit(note.id)

        def failed(exc: BaseException) -> None:
            self._saves_in_flight -= 1
            if generation != self._generation:
                return
            if self._queued_rev == rev:
                self._queued_rev = -1  # the next save tries this state again
            title, _, body = self._save_message(exc).partition("\n")
            self._save_error = message = f"{title} {body}"
            self.save_error_title.setText(title)
            self.save_error_label.setText(body)
            self.save_error_box.show()
            self._show_save_state()
            self.save_failed.emit(message)

        self.ctx.run(note_queries.save_draft, done, failed, args=(draft, fields))

    def _save_message(self, exc: BaseException) -> str:
        if isinstance(exc, DiskFull):
            return self.tr(
                "The disk is full, so your latest changes are not saved yet.\n"
                "They are still here in the editor: do not close it. Free some space on "
                "this computer (empty the recycle bin, delete large downloads), then press "
                "Try saving again or keep typing; PeerTrail tries again at every save."
            )
        if isinstance(exc, LifecycleError):
            return self.tr(
                "This note was signed or changed elsewhere, so this draft was not saved "
                "over it.\nYour text is still here: copy what you need into an addendum."
            )
        return self.tr("Your latest changes could not be saved.\n{0} They are still here.").format(
            self._message(exc)
        )

    def _message(self, exc: BaseException) -> str:
        if isinstance(exc, NotFound):
            return self.tr("That note or person is not in this vault (it may have been removed).")
        if isinstance(exc, StoreError | LifecycleError):
            return note_form.plain_sentence(str(exc))
        log_failure("note editor", exc)
        return self.tr("Something went wrong ({0}). Nothing was lost.").format(type(exc).__name__)

    def _show_save_state(self, saving: bool = False) -> None:
        note = self._note
        if note is None:
            self.save_state.clear()
            return
        if not self._editable:
            self.save_state.setText("")
            return
        prop = "ok"
        if self._save_error:
            text, prop = self.tr("Not saved"), "error"
        elif saving or (self.dirty and self._queued_rev == self._rev):
            text = self.tr("Saving…")
        elif self.dirty:
            text = self.tr("Unsaved changes")
        elif self._last_saved_at is not None and self._stored:
            text = self.tr("Saved {0}").format(format_clock_time(self._last_saved_at.time()))
        elif self._stored:
            text = self.tr("Draft saved")
        else:
            text = self.tr("New note — saved as you type")
        self.save_state.setText(text)
        if self.save_state.property("state") != prop:
            self.save_state.setProperty("state", prop)
            self._repolish(self.save_state)

    def _has_focus_inside(self) -> bool:
        focus = QApplication.focusWidget()
        return focus is not None and self.isAncestorOf(focus)

    def _on_focus_changed(self, old: QWidget | None, _new: QWidget | None) -> None:
        if old is not None and self.dirty and self.isAncestorOf(old):
            self.save_now()

    # == signing =========================================================================

    def sign(self) -> None:
        """Check the note, then the passphrase on the worker, then sign and lock it."""
        if not self._editable or self._signing:
            return
        draft = self.draft()
        if draft is None:
            return
        problems = note_form.editor_problems(draft, self.clock().date())
        times_readable = self._check_times()
        if not times_readable:  # the time field already says what is wrong, in detail
            problems = [p for p in problems if p[0] not in ("start_time", "end_time")]
            problems.append(("times", "fix the times"))
        bad_mods = note_form.modifier_problem(self.modifiers_edit.text())
        if bad_mods:
            problems.append(("modifiers", bad_mods))
        self._show_problems(problems)
        if problems:
            self.save_now()  # a sign attempt is a natural moment to keep the draft
            message = self.tr("Not signed yet: fix what is marked ({0}).").format(len(problems))
            self.sign_error.show_messages([message])
            self.sign_refused.emit(message)
            return
        passphrase = self.passphrase_edit.text()
        if not passphrase:
            self.sign_error.show_messages([self.tr("Enter your passphrase to sign.")])
            self.passphrase_edit.setFocus()
            return
        self.passphrase_edit.clear()
        self._signing = True
        self._autosave.stop()
        self._editable = False  # nothing typed while signing could be kept in a signed note
        self._apply_lock()
        self.sign_button.setText(self.tr("Checking…"))
        self.sign_error.show_messages([])
        rev = self._rev
        self._queued_rev = rev
        generation = self._generation

        def done(note: Encounter) -> None:
            self._signing = False
            self.sign_button.setText(self.tr("Sign note"))
            if generation != self._generation:
                return
            self._saved_rev = max(self._saved_rev, rev)
            self._emitting = True
            try:
                self.ctx.changed({"encounters"})
            finally:
                self._emitting = False
            self.ctx.status_message.emit(self.tr("Note signed."))
            self.signed.emit(note.id)
            self._reload(note.id)

        def failed(exc: BaseException) -> None:
            self._signing = False
            self.sign_button.setText(self.tr("Sign note"))
            if generation != self._generation:
                return
            self._editable = self._note is not None and note_form.can_edit(
                self._note, self.ctx.user.id
            )
            self._apply_lock()
            if isinstance(exc, WrongPassphrase | ValidationError):
                # The draft itself was saved before the passphrase was checked.
                self._saved_rev = max(self._saved_rev, rev)
                self._stored = True
                self._baseline = draft
                self._last_saved_at = self.clock()
                self._show_save_state()
            if isinstance(exc, WrongPassphrase):
                message = self.tr(
                    "That passphrase is not the one for this vault, so the note was not "
                    "signed. Your note is saved. Try again."
                )
            elif isinstance(exc, ValidationError):
                self._show_problems(exc.problems)
                message = self.tr("Not signed yet: fix what is marked.")
            elif isinstance(exc, DiskFull):
                self._queued_rev = -1
                message = self._save_message(exc).replace("\n", " ")
            else:
                self._queued_rev = -1
                message = self._message(exc)
            self.sign_error.show_messages([message])
            self.passphrase_edit.setFocus()
            self.sign_refused.emit(message)

        self.ctx.run(
            note_queries.sign_draft,
            done,
            failed,
            args=(self.ctx.session.vault, passphrase, draft, self.ctx.user),
        )

    def _all_errors(self) -> list[FieldError]:
        return [
            self.top_problems,
            self.time_error,
            self.pos_error,
            self.group_error,
            self.code_error,
            self.goals_error,
            self.sign_error,
            self.addendum_error,
            *self.text_errors.values(),
        ]

    def _show_problems(self, problems: list[tuple[str, str]]) -> None:
        """Each problem next to its field, in plain words."""
        by = note_form.problems_by_field(problems)
        time_msgs = by.get("start_time", []) + by.get("end_time", []) + by.get("service_date", [])
        if "times" not in by:  # unreadable times keep their detailed message
            self.time_error.show_messages(time_msgs)
        self.pos_error.show_messages(by.get("place_of_service", []))
        self.group_error.show_messages(by.get("group_size", []))
        self.code_error.show_messages(by.get("service_code", []) + by.get("modifiers", []))
        self.goals_error.show_messages(by.get("goal_ids", []))
        for name, err in self.text_errors.items():
            err.show_messages(by.get(name, []))
        self.top_problems.show_messages(by.get("participant_id", []) + by.get("specialist_id", []))
        first = next(
            (
                w
                for f, w in (
                    ("times", self.start_edit),
                    ("start_time", self.start_edit),
                    ("end_time", self.end_edit),
                    ("service_date", self.date_edit),
                    ("place_of_service", self.pos_combo),
                    ("group_size", self.group_spin),
                    ("service_code", self.code_combo),
                    ("modifiers", self.modifiers_edit),
                    ("goal_ids", self.goals_list),
                    *self.text_edits.items(),
                )
                if f in by
            ),
            None,
        )
        if first is not None:
            self.scroll.ensureWidgetVisible(first)

    # == addenda =========================================================================

    def add_addendum(self) -> None:
        note = self._note
        if note is None:
            return
        reason = self.addendum_reason.text().strip()
        text = self.addendum_text.toPlainText().strip()
        missing = []
        if not reason:
            missing.append(self.tr("Say why you are adding to the note (the reason)."))
        if not text:
            missing.append(self.tr("Write the addendum itself."))
        self.addendum_error.show_messages(missing)
        if missing:
            (self.addendum_reason if not reason else self.addendum_text).setFocus()
            return
        self.addendum_button.setEnabled(False)
        generation = self._generation

        def done(_a: Addendum) -> None:
            self.addendum_button.setEnabled(True)
            if generation != self._generation:
                return
            self.addendum_reason.clear()
            self.addendum_text.clear()
            self._emitting = True
            try:
                self.ctx.changed({"encounters", "addenda"})
            finally:
                self._emitting = False
            self.ctx.status_message.emit(self.tr("Addendum added."))
            self.addendum_added.emit(note.id)
            self._reload(note.id)

        def failed(exc: BaseException) -> None:
            self.addendum_button.setEnabled(True)
            if generation != self._generation:
                return
            if isinstance(exc, DiskFull):
                msg = self.tr(
                    "The disk is full, so the addendum was not added. It is still here; "
                    "free some space and press Add addendum again."
                )
            else:
                msg = self._message(exc)
            self.addendum_error.show_messages([msg])

        self.ctx.run(
            note_queries.add_addendum, done, failed, args=(note.id, self.ctx.user, reason, text)
        )

    def _go_to_addendum(self) -> None:
        self.addendum_reason.setFocus()
        self.scroll.ensureWidgetVisible(self.addendum_form, 0, 40)

    def _reload(self, note_id: str) -> None:
        generation = self._generation

        def done(bundle: NoteBundle) -> None:
            if generation == self._generation:
                self._show_bundle(bundle)

        self.ctx.run(note_queries.load_note, done, None, args=(note_id, ""))

    # == navigation ======================================================================

    def _back(self) -> None:
        self.save_now()
        if self._note is not None:
            self.ctx.open_participant.emit(self._note.participant_id)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self._set_enabled_all(self._note is not None)

    def hideEvent(self, event: Any) -> None:
        self.save_now()
        super().hideEvent(event)
