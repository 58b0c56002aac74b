"""The review queue: signed notes of the team waiting for review, oldest first.

Left, the queue (filter by specialist and participant; several rows can be
selected for a batch approval). Right, the reading pane: the note, its addenda,
the recovery goals it addresses, time and units, and the actions. Approving is the
supervisor's electronic signature: the passphrase is entered again and the
approval is recorded with the content hash of what was shown; a note that changed
since it was loaded is refused with an explanation. Returning needs a comment.
Decisions are written to the vault and sync later, so review works offline. Notes
whose review decisions conflict (two devices decided differently) come first and
say so. Only supervisors are offered any of this.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtGui import QShortcut
from PySide6.QtWidgets import QAbstractItemView
from PySide6.QtWidgets import QComboBox
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QHeaderView
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QPlainTextEdit
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QSplitter
from PySide6.QtWidgets import QTextBrowser
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.services import review
from app.services.failures import message_for
from app.ui.common.columns import ColumnFitter
from app.ui.common.columns import measure_columns
from app.ui.common.columns import read_only_table
from app.ui.common.forms import wrapped_label
from app.ui.common.supervisor_widgets import AuditTrailDialog
from app.ui.common.supervisor_widgets import PassphraseDialog
from app.ui.common.supervisor_widgets import plural
from app.ui.common.supervisor_widgets import titled_page
from app.ui.review.models import ID_ROLE
from app.ui.review.models import QueueFilter
from app.ui.review.models import QueueModel
from app.ui.review.note_html import READING_CSS
from app.ui.review.note_html import note_html
from app.ui.shell.context import AppContext
from app.ui.shell.context import Page
from app.ui.shell.theme import dark_sheet
from app.ui.shell.theme import is_dark


class ReviewPage(Page):
    title = "Review"
    tables = frozenset({"encounters", "addenda", "conflicts", "users", "participants"})

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.setObjectName("reviewPage")
        self.current: review.ReviewNote | None = None
        self.dialog: PassphraseDialog | None = None
        self.trail_dialog: AuditTrailDialog | None = None
        self._pending: list[tuple[str, str]] = []
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("reviewSplitter")
        self.splitter.addWidget(self._build_queue())
        self.splitter.addWidget(self._build_reader())
        # The note is what is read: it gets most of the width (and more of any room
        # the window gains); the queue keeps what its columns need.
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setChildrenCollapsible(False)
        self._user_split = False  # once the person moves the divider, it stays theirs
        self.splitter.splitterMoved.connect(self._moved)

        self.count_label = titled_page(self, self.tr("Review"), self.splitter)

        QShortcut(QKeySequence("Ctrl+Return"), self, self.approve_current)
        QShortcut(QKeySequence("Ctrl+R"), self, self.return_current)
        QShortcut(QKeySequence("Ctrl+T"), self, self.show_trail)
        self._set_actions()

    def _build_queue(self) -> QWidget:
        """The left side: the filters, the queue and the batch approve button."""
        self.specialist_filter = QComboBox()
        self.specialist_filter.setObjectName("specialistFilter")
        self.specialist_filter.setAccessibleName(self.tr("Show notes of specialist"))
        self.participant_filter = QComboBox()
        self.participant_filter.setObjectName("participantFilter")
        self.participant_filter.setAccessibleName(self.tr("Show notes about participant"))
        for combo in (self.specialist_filter, self.participant_filter):
            combo.setMinimumContentsLength(9)
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.currentIndexChanged.connect(self._apply_filter)

        self.model = QueueModel(self)
        self.proxy = QueueFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = read_only_table(
            "reviewQueue", self.tr("Notes waiting for review"), model=self.proxy
        )
        # The queue arrives in review order (conflicts, then oldest first); it is sorted
        # again only when the person clicks a column header.
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        # Participant and specialist names give up room first, then Waiting, Units
        # and Specialist (there is a filter for it) are hidden, so the queue never
        # scrolls sideways and the note keeps most of the width (common/columns.py).
        self.fitter = ColumnFitter(
            self.table,
            elastic=(5, 2, 1),
            stretch=(1, 2),
            hide_order=(4, 3, 2),
            min_chars={1: 14, 2: 10, 5: 6},
        )
        self.fitter.remeasure = self._fit_queue
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)  # batch
        h = self.table.horizontalHeader()
        h.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        h.setResizeContentsPrecision(60)  # widths from the first rows, not all 2,000
        self.table.selectionModel().selectionChanged.connect(self._on_selection)

        self.batch_button = QPushButton(self.tr("Approve selected…"))
        self.batch_button.setObjectName("batchApprove")
        self.batch_button.setAccessibleName(self.tr("Approve the selected notes"))
        self.batch_button.setToolTip(self.tr("One passphrase signs every selected note"))
        self.batch_button.clicked.connect(self.approve_selected)
        self.empty_label = QLabel(self.tr("Nothing is waiting for your review."))
        self.empty_label.setObjectName("hint")
        self.empty_label.hide()

        left = QWidget()
        filters = QHBoxLayout()
        filters.setSpacing(8)
        filters.addWidget(self.specialist_filter, 1)
        filters.addWidget(self.participant_filter, 1)
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 8, 0)
        lv.addLayout(filters)
        lv.addWidget(self.empty_label)
        lv.addWidget(self.table, 1)
        lb = QHBoxLayout()
        lb.addStretch(1)
        lb.addWidget(self.batch_button)
        lv.addLayout(lb)
        return left

    def _build_reader(self) -> QWidget:
        """The right side: the note to read, the comment and the actions."""
        self.conflict_label = wrapped_label(name="error", hidden=True)
        self.seen_button = QPushButton(self.tr("Mark conflict as seen"))
        self.seen_button.setAccessibleName(self.tr("Mark the review conflict as seen"))
        self.seen_button.clicked.connect(self._mark_seen)
        self.seen_button.hide()
        self.reader = QTextBrowser()
        self.reader.setObjectName("readingPane")
        self.reader.setAccessibleName(self.tr("The note"))
        self.reader.setOpenLinks(False)
        # The reading pane's HTML colours are written for light; turned for dark.
        self.reader.document().setDefaultStyleSheet(
            dark_sheet(READING_CSS) if is_dark() else READING_CSS
        )
        self.placeholder = self.tr("Choose a note in the queue to read it here.")
        self.reader.setPlainText(self.placeholder)
        self.comment = QPlainTextEdit()
        self.comment.setObjectName("returnComment")
        self.comment.setAccessibleName(self.tr("What needs revising"))
        self.comment.setPlaceholderText(
            self.tr("What needs revising (required to return the note)")
        )
        self.comment.setFixedHeight(self.fontMetrics().lineSpacing() * 3 + 20)
        # Shown when "Return for revision" is pressed (or while it holds text): the
        # height is the note's until then.
        self.comment.hide()
        self.comment.textChanged.connect(lambda: self.comment_error.hide())
        self.comment_error = wrapped_label(name="error", hidden=True)
        self.result_label = wrapped_label(name="error", hidden=True)
        self._build_actions()

        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(8, 0, 0, 0)
        rv.addWidget(self.conflict_label)
        rv.addWidget(self.seen_button, 0, Qt.AlignmentFlag.AlignLeft)
        # The note starts level with the queue's filters: every line of height is
        # for reading. The audit trail link shares the row of the two buttons.
        rv.addWidget(self.reader, 1)
        rv.addWidget(self.comment)
        rv.addWidget(self.comment_error)
        rv.addWidget(self.result_label)
        actions = QHBoxLayout()
        actions.addWidget(self.trail_button)
        actions.addStretch(1)
        for button in (self.return_button, self.approve_button):
            button.ensurePolished()
            button.setMinimumWidth(button.sizeHint().width())
            actions.addWidget(button)
        rv.addLayout(actions)
        rv.addWidget(self.not_supervisor)
        return right

    def _build_actions(self) -> None:
        """Approve, Return for revision and the audit trail link."""
        self.approve_button = QPushButton(self.tr("Approve…"))
        self.approve_button.setObjectName("primary")
        self.approve_button.setAccessibleName(self.tr("Approve this note"))
        self.approve_button.setToolTip(
            self.tr("Sign the approval with your passphrase (Ctrl+Enter)")
        )
        self.approve_button.clicked.connect(self.approve_current)
        self.return_button = QPushButton(self.tr("Return for revision"))
        self.return_button.setObjectName("returnButton")
        self.return_button.setAccessibleName(self.tr("Return this note for revision"))
        self.return_button.setToolTip(self.tr("Send the note back with your comment (Ctrl+R)"))
        self.return_button.clicked.connect(self.return_current)
        self.trail_button = QPushButton(self.tr("Audit trail…"))
        self.trail_button.setObjectName("link")
        self.trail_button.setAccessibleName(self.tr("Show the note's audit trail"))
        self.trail_button.clicked.connect(self.show_trail)
        self.not_supervisor = wrapped_label(
            self.tr("Only supervisors review notes. Your notes are reviewed by your supervisor.")
        )

    def _moved(self, *_: Any) -> None:
        if not self._splitting:
            self._user_split = True

    _splitting = False

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        if not self._user_split:
            self._split()

    def _split(self) -> None:
        """About a third of the width for the queue (at least what its filters
        need), the rest for the note, until the person moves the divider."""
        total = self.splitter.width() - self.splitter.handleWidth()
        queue = max(int(total * 0.36), self.splitter.widget(0).minimumSizeHint().width())
        if total > queue:
            self._splitting = True
            self.splitter.setSizes([queue, total - queue])
            self._splitting = False

    # -- the queue ----------------------------------------------------------------------

    def refresh(self) -> None:
        super().refresh()
        if not self.ctx.is_supervisor:
            self.model.clear()
            self._set_actions()
            return
        self.ctx.run(review.review_queue, self._show_queue, self._failed)

    def _show_queue(self, rows: list[review.QueueRow]) -> None:
        keep_spec = self.specialist_filter.currentData() or ""
        keep_part = self.participant_filter.currentData() or ""
        self.model.set_rows(rows)
        self._fill_filter(
            self.specialist_filter,
            self.tr("All specialists"),
            {r.specialist_id: r.specialist_name for r in rows},
            keep_spec,
        )
        self._fill_filter(
            self.participant_filter,
            self.tr("All participants"),
            {r.participant_id: r.participant_name for r in rows},
            keep_part,
        )
        self._apply_filter()
        self._fit_queue()
        if self.current is not None and self.current.note.id not in {r.id for r in rows}:
            still = self.current.note.id
            self._load(still)  # decided elsewhere or here: show what it is now
        self._set_actions()

    def _fit_queue(self) -> None:
        natural = measure_columns(self.table)
        if not any(self.model.flag_text(r) for r in self.model.rows()):
            natural[5] = 4  # no flags: the flag column takes no room from the names
        self.fitter.set_natural(natural)

    def _fill_filter(
        self, combo: QComboBox, all_text: str, items: dict[str, str], keep: str
    ) -> None:
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(all_text, "")
        for key, name in sorted(items.items(), key=lambda kv: kv[1].casefold()):
            combo.addItem(name, key)
        i = combo.findData(keep)
        combo.setCurrentIndex(max(0, i))
        combo.blockSignals(False)

    def _apply_filter(self, *_: Any) -> None:
        self.proxy.set_filter(
            self.specialist_filter.currentData() or "", self.participant_filter.currentData() or ""
        )
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.empty_label.setVisible(total == 0 and self.ctx.is_supervisor)
        noun = plural(self, total, "1 note waiting", "{n} notes waiting")
        self.count_label.setText(
            noun
            if shown == total
            else self.tr("Showing {shown} of {noun}").format(shown=shown, noun=noun)
        )

    def _failed(self, exc: BaseException) -> None:
        self.ctx.status_message.emit(message_for(exc))

    def selected_ids(self) -> list[str]:
        return [self.proxy.data(i, ID_ROLE) for i in self.table.selectionModel().selectedRows()]

    def _on_selection(self, *_: Any) -> None:
        ids = self.selected_ids()
        if len(ids) == 1 and (self.current is None or self.current.note.id != ids[0]):
            self._load(ids[0])
        self._set_actions()

    def select_note(self, note_id: str) -> None:
        for r in range(self.proxy.rowCount()):
            if self.proxy.data(self.proxy.index(r, 0), ID_ROLE) == note_id:
                self.table.selectRow(r)
                return

    # -- the reading pane -----------------------------------------------------------------

    def _load(self, note_id: str) -> None:
        self.result_label.hide()

        def done(rn: review.ReviewNote) -> None:
            self.current = rn
            self.reader.setHtml(note_html(rn))
            self.conflict_label.setText(rn.conflict)
            self.conflict_label.setVisible(bool(rn.conflict))
            self.seen_button.setVisible(bool(rn.conflict))
            self._set_actions()

        self.ctx.run(review.open_for_review, done, self._failed, args=(note_id,))

    def _set_actions(self) -> None:
        sup = self.ctx.is_supervisor
        rn = self.current
        for w in (self.approve_button, self.return_button, self.batch_button):
            w.setVisible(sup)
        self.comment.setVisible(
            sup and bool(self.comment.toPlainText() or self.comment_error.text())
        )
        self.not_supervisor.setVisible(not sup)
        self.trail_button.setEnabled(rn is not None)
        can = sup and rn is not None and rn.can_review
        self.approve_button.setEnabled(can)
        self.return_button.setEnabled(sup and rn is not None and str(rn.note.status) == "signed")
        self.batch_button.setEnabled(sup and len(self.selected_ids()) > 1)

    def clear(self) -> None:
        self.current = None
        self.model.clear()
        for combo in (self.specialist_filter, self.participant_filter):
            combo.clear()
        self.reader.setPlainText(self.placeholder)
        self.comment.clear()
        self.comment_error.clear()
        self.comment.hide()
        self.conflict_label.clear()
        self.result_label.clear()
        if self.dialog is not None:
            self.dialog.reject()
        if self.trail_dialog is not None:
            self.trail_dialog.reject()

    def _show_result(self, text: str) -> None:
        self.result_label.setText(text)
        self.result_label.setVisible(bool(text))

    # -- decisions -----------------------------------------------------------------------

    def approve_current(self) -> None:
        rn = self.current
        if not self.ctx.is_supervisor or rn is None or not self.approve_button.isEnabled():
            return
        self._ask([(rn.note.id, rn.loaded_hash)], self.tr("Approve this note"))

    def approve_selected(self) -> None:
        ids = set(self.selected_ids())
        if not self.ctx.is_supervisor or not ids:
            return
        items = [(r.id, r.content_hash) for r in self.model.rows() if r.id in ids]
        text = plural(self, len(items), "Approve 1 selected note", "Approve {n} selected notes")
        self._ask(items, text)

    def _ask(self, items: list[tuple[str, str]], what: str) -> None:
        self._pending = items
        self.dialog = PassphraseDialog(
            what
            + ". "
            + self.tr(
                "Enter your passphrase to sign: your approval is recorded with the content "
                "of each note as you see it."
            ),
            self,
        )
        self.dialog.signed.connect(self._approve_with)
        self.dialog.open()

    def _approve_with(self, passphrase: str) -> None:
        items, self._pending = self._pending, []
        vault = self.ctx.session.vault
        self.approve_button.setEnabled(False)

        def done(result: review.BatchResult) -> None:
            n = len(result.approved)
            if result.refused:
                why = "\n".join(f"• {reason}" for _id, reason in result.refused)
                self._show_result(
                    plural(self, n, "1 note approved. ", "{n} notes approved. ")
                    + plural(
                        self,
                        len(result.refused),
                        "1 could not be approved:",
                        "{n} could not be approved:",
                    )
                    + "\n"
                    + why
                )
            else:
                self._show_result("")
            self.ctx.status_message.emit(plural(self, n, "1 note approved", "{n} notes approved"))
            if not n:  # (approved notes are broadcast: the page refreshes)
                self._set_actions()

        def failed(exc: BaseException) -> None:
            self._set_actions()
            self._show_result(message_for(exc))

        self.ctx.run(review.approve, done, failed, args=(vault, passphrase, items))

    def return_current(self) -> None:
        rn = self.current
        if not self.ctx.is_supervisor or rn is None or not self.return_button.isEnabled():
            return
        comment = self.comment.toPlainText()
        if not comment.strip():
            self.comment.show()
            self.comment_error.setText(
                self.tr("Say what needs revising: a comment is required to return a note.")
            )
            self.comment_error.show()
            self.comment.setFocus()
            return

        def done(_note: Any) -> None:
            self.comment.clear()
            self.comment.hide()
            self.ctx.status_message.emit(self.tr("Note returned for revision"))

        def failed(exc: BaseException) -> None:
            self._show_result(message_for(exc))  # the comment stays as typed

        self.ctx.run(review.return_for_revision, done, failed, args=(rn.note.id, comment))

    def _mark_seen(self) -> None:
        rn = self.current
        if rn is None:
            return

        def done(_n: int) -> None:
            self._load(rn.note.id)

        self.ctx.run(review.mark_conflict_seen, done, self._failed, args=(rn.note.id,))

    def show_trail(self) -> None:
        rn = self.current
        if rn is None:
            return

        def done(entries: list[review.TrailEntry]) -> None:
            self.trail_dialog = AuditTrailDialog(entries, self)
            self.trail_dialog.open()

        self.ctx.run(review.note_trail, done, self._failed, args=(rn.note.id,))
