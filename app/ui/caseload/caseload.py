"""The caseload view: the table of participants with a filter box, filters, a
count and the add/import buttons. Its model and filter are in models.py, the
attention badges in attention_delegate.py.

The view has no context of its own (the main window keeps one view across
unlocks): :meth:`CaseloadView.attach` gives it the unlocked session's context,
which enables "Add participant" (Ctrl+N) and "Import…" (Ctrl+Shift+I);
:meth:`CaseloadView.detach` (on lock) closes any open dialog and disables them.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex
from PySide6.QtCore import QPoint
from PySide6.QtCore import Qt
from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
from PySide6.QtGui import QFont
from PySide6.QtGui import QFontMetrics
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QAbstractItemView
from PySide6.QtWidgets import QComboBox
from PySide6.QtWidgets import QDialog
from PySide6.QtWidgets import QFrame
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QMenu
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QTableView
from PySide6.QtWidgets import QWidget

from app.domain.attention import Reason
from app.domain.records import ParticipantStatus
from app.services.duplicates import find_duplicates
from app.ui.caseload.attention_delegate import AttentionDelegate
from app.ui.caseload.models import ANY_REASON
from app.ui.caseload.models import COL_ATTENTION
from app.ui.caseload.models import COL_COUNTY
from app.ui.caseload.models import COL_INTAKE
from app.ui.caseload.models import COL_LAST_CONTACT
from app.ui.caseload.models import COL_MEDICAID
from app.ui.caseload.models import COL_NAME
from app.ui.caseload.models import COL_PROGRAM
from app.ui.caseload.models import COLUMN_COUNT
from app.ui.caseload.models import ID_ROLE
from app.ui.caseload.models import CaseloadFilter
from app.ui.caseload.models import CaseloadModel
from app.ui.caseload.models import display_text
from app.ui.common.columns import ColumnFitter
from app.ui.common.forms import wrapped_label
from app.ui.common.layouts import column
from app.ui.common.text import plural


class CaseloadView(QWidget):
    """The caseload table with a filter box, filters, a count and the add/import buttons."""

    participant_activated = Signal(str)  # record id

    def __init__(self, model: CaseloadModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("caseloadPage")
        self.model = model
        self.ctx: Any = None
        self._dialogs: list[QDialog] = []
        self.proxy = CaseloadFilter(self)
        self.proxy.setSourceModel(model)
        top = self._build_actions()
        self._build_filters()
        self._build_table()
        self._build_layout(top)
        for signal in (model.modelReset, self.proxy.rowsInserted, self.proxy.rowsRemoved):
            signal.connect(self._update_count)
        model.modelReset.connect(self._update_choices)
        self.proxy.layoutChanged.connect(self._update_count)
        self._set_attached(False)
        self._update_choices()
        self._update_count()

    def _build_actions(self) -> QHBoxLayout:
        """The title, the count and the Add and Import buttons with their shortcuts."""
        title = QLabel(self.tr("Caseload"))
        title.setObjectName("pageTitle")
        self.count_label = QLabel()
        self.count_label.setObjectName("hint")

        self.add_button = QPushButton(self.tr("Add participant"))
        self.add_button.setObjectName("primary")
        self.add_button.setAccessibleName(self.tr("Add a participant"))
        self.add_button.setToolTip(self.tr("Add a participant to your caseload (Ctrl+N)"))
        self.add_button.clicked.connect(self.add_participant)
        self.import_button = QPushButton(self.tr("Import…"))
        self.import_button.setAccessibleName(self.tr("Import participants from a spreadsheet"))
        self.import_button.setToolTip(
            self.tr("Import participants from a spreadsheet saved as CSV (Ctrl+Shift+I)")
        )
        self.import_button.clicked.connect(self.import_participants)
        self.add_action = QAction(self.tr("Add participant"), self)
        self.add_action.setShortcut(QKeySequence.StandardKey.New)
        self.add_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.add_action.triggered.connect(self.add_participant)
        self.import_action = QAction(self.tr("Import participants"), self)
        self.import_action.setShortcut(QKeySequence("Ctrl+Shift+I"))
        self.import_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.import_action.triggered.connect(self.import_participants)
        self.addAction(self.add_action)
        self.addAction(self.import_action)
        # A note for the person in the selected row, without opening the record first.
        self.new_note_action = QAction(self.tr("New note"), self)
        self.new_note_action.setShortcut(QKeySequence("Ctrl+Shift+N"))
        self.new_note_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.new_note_action.setStatusTip(self.tr("Write a new note for this participant"))
        self.new_note_action.triggered.connect(self.new_note_for_current)
        self.open_action = QAction(self.tr("Open record"), self)
        self.open_action.triggered.connect(lambda: self._on_activated(self.table.currentIndex()))
        self.addAction(self.new_note_action)
        top = QHBoxLayout()
        top.addWidget(title)
        top.addStretch(1)
        top.addWidget(self.import_button)
        top.addWidget(self.add_button)
        return top

    def _build_filters(self) -> None:
        """The filter box and the status, program and attention choices."""
        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("filter")
        self.filter_edit.setPlaceholderText(self.tr("Filter by name, county…"))
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setAccessibleName(self.tr("Filter the caseload"))
        self.filter_edit.setToolTip(
            self.tr("Filter by name, program, county or status (Ctrl+Shift+F)")
        )
        self.filter_edit.textChanged.connect(self._on_filter)
        focus_filter = QAction(self)
        focus_filter.setShortcut(QKeySequence("Ctrl+Shift+F"))
        focus_filter.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        focus_filter.triggered.connect(lambda: self.filter_edit.setFocus())
        self.addAction(focus_filter)

        self.status_filter = QComboBox()
        self.status_filter.setObjectName("statusFilter")
        self.status_filter.setAccessibleName(self.tr("Show participants with this status"))
        self.status_filter.addItem(self.tr("All statuses"), None)
        for s in ParticipantStatus:
            self.status_filter.addItem(self.tr(s.value.capitalize()), s)
        self.status_filter.currentIndexChanged.connect(
            lambda _i: self._apply(self.proxy.set_status, self.status_filter.currentData())
        )
        self.program_filter = QComboBox()
        self.program_filter.setObjectName("programFilter")
        self.program_filter.setAccessibleName(self.tr("Show participants in this program"))
        self.program_filter.addItem(self.tr("All programs"), None)
        self.program_filter.currentIndexChanged.connect(
            lambda _i: self._apply(self.proxy.set_program, self.program_filter.currentData())
        )
        self.attention_filter = QComboBox()
        self.attention_filter.setObjectName("attentionFilter")
        self.attention_filter.setAccessibleName(self.tr("Show who needs attention"))
        self._attention_labels = [
            (None, self.tr("Everyone")),
            (ANY_REASON, self.tr("Needs attention")),
            (Reason.NO_CONTACT, self.tr("No contact in 30 days")),
            (Reason.GOALS_OVERDUE, self.tr("Goals overdue")),
            (Reason.UNSIGNED_NOTES, self.tr("Unsigned notes")),
            (Reason.CONSENT, self.tr("Consent expiring or expired")),
        ]
        for value, label in self._attention_labels:
            self.attention_filter.addItem(label, value)
        self.attention_filter.currentIndexChanged.connect(
            lambda _i: self._apply(self.proxy.set_attention, self.attention_filter.currentData())
        )
        self.reset_filters_button = QPushButton(self.tr("Show everyone"))
        self.reset_filters_button.setObjectName("link")
        self.reset_filters_button.setAccessibleName(self.tr("Clear every filter"))
        self.reset_filters_button.clicked.connect(self.reset_filters)

    def _build_table(self) -> None:
        """The table, its columns fitted to its width, and what shows when it is empty."""
        self.table = QTableView()
        self.table.setObjectName("caseloadTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COL_NAME, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setItemDelegateForColumn(COL_ATTENTION, AttentionDelegate(self.table))
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        # Every column inside the table's width: the attention badges (the others
        # become "+n"), counties, programs, then names give up room, then the least needed
        # columns are hidden (the header's menu shows them again).
        self.fitter = ColumnFitter(
            self.table,
            elastic=(COL_ATTENTION, COL_COUNTY, COL_PROGRAM, COL_NAME),
            stretch=(COL_NAME, COL_ATTENTION),
            hide_order=(COL_INTAKE, COL_COUNTY, COL_MEDICAID, COL_LAST_CONTACT, COL_PROGRAM),
            min_chars={COL_NAME: 16, COL_PROGRAM: 12, COL_COUNTY: 10},
        )

        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.table.setAccessibleName(self.tr("Caseload"))
        self.table.setTabKeyNavigation(False)  # Tab leaves the table; arrows move in it
        self.table.activated.connect(self._on_activated)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._row_menu)

        self.empty_label = wrapped_label(
            self.tr(
                "No participants yet. Add a participant (Ctrl+N) or import your caseload "
                "from a spreadsheet; they will be listed here."
            )
        )
        self.no_match_label = QLabel(self.tr("Nobody matches these filters."))
        self.no_match_label.setObjectName("hint")
        self._build_duplicates_banner()

    def _build_duplicates_banner(self) -> None:
        """A line above the table when records may be one person twice (looked for
        after every sync and every change of a participant)."""
        self.duplicates_banner = QFrame()
        self.duplicates_banner.setObjectName("duplicateWarning")  # the form's warning style
        row = QHBoxLayout(self.duplicates_banner)
        row.setContentsMargins(12, 6, 8, 6)
        self.duplicates_label = QLabel()
        self.duplicates_label.setObjectName("duplicatesLabel")
        self.duplicates_button = QPushButton(self.tr("Review possible duplicates"))
        self.duplicates_button.setObjectName("duplicatesButton")
        self.duplicates_button.clicked.connect(self.show_duplicates)
        row.addWidget(self.duplicates_label, 1)
        row.addWidget(self.duplicates_button)
        self.duplicates_banner.hide()
        self.duplicate_count = 0

    def _build_layout(self, top: QHBoxLayout) -> None:
        # The filter box and the three choices share a row when there is room; on
        # a narrow window the choices go to a row of their own.
        for combo, chars in (
            (self.status_filter, 6),
            (self.program_filter, 7),
            (self.attention_filter, 9),
        ):
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(chars)
        self.filter_choices = QWidget()
        self.filter_choices.setObjectName("filterChoices")
        choices = QHBoxLayout(self.filter_choices)
        choices.setContentsMargins(0, 0, 0, 0)
        choices.setSpacing(8)
        choices.addWidget(self.status_filter, 1)
        choices.addWidget(self.program_filter, 1)
        choices.addWidget(self.attention_filter, 1)
        filters = QHBoxLayout()
        filters.setSpacing(8)
        filters.addWidget(self.filter_edit, 1)
        filters.addWidget(self.filter_choices, 2)
        self._filters_row = filters
        self._choices_row = QHBoxLayout()
        self._filters_wide = True
        counts = QHBoxLayout()
        counts.addWidget(self.count_label)
        counts.addWidget(self.reset_filters_button)
        counts.addStretch(1)
        column(
            top, filters, self._choices_row, counts, self.duplicates_banner, self.empty_label,
            self.no_match_label, (self.table, 1),
            parent=self, margins=(24, 20, 24, 12), spacing=12,
        )  # fmt: skip

    # -- the session ------------------------------------------------------------------

    def attach(self, ctx: Any) -> None:
        """The vault is unlocked: adding and importing work through ``ctx``."""
        self.ctx = ctx
        self._set_attached(True)

    def check_duplicates(self) -> None:
        """Count the likely duplicates on the database thread and show the banner
        (the main window counts them with every caseload read: after a sync and
        after any change of a participant)."""
        ctx = self.ctx
        if ctx is None:
            return
        ctx.run(
            lambda repos: len(find_duplicates(repos)), self.show_duplicate_count, lambda _e: None
        )

    def show_duplicate_count(self, n: int) -> None:
        self.duplicate_count = n
        if self.ctx is None or not n:
            self.duplicates_banner.hide()
            return
        self.duplicates_label.setText(
            self.tr("1 pair of records may be the same person.")
            if n == 1
            else self.tr("%1 pairs of records may be the same person.").replace("%1", str(n))
        )
        self.duplicates_banner.show()

    def show_duplicates(self) -> QDialog | None:
        """The "Possible duplicates" list (merging is for supervisors)."""
        if self.ctx is None:
            return None
        from app.ui.caseload.duplicates_dialog import DuplicatesDialog

        dialog = DuplicatesDialog(self.ctx, parent=self)
        dialog.changed.connect(self.check_duplicates)
        self._keep(dialog).open()
        return dialog

    def detach(self) -> None:
        """The vault is locking: close any dialog (forgetting what it showed) and
        disable adding and importing."""
        self.ctx = None
        self.duplicates_banner.hide()
        for dialog in self._dialogs:
            dialog.close()
            dialog.deleteLater()
        self._dialogs.clear()
        self._set_attached(False)

    def _set_attached(self, on: bool) -> None:
        for w in (
            self.add_button,
            self.import_button,
            self.add_action,
            self.import_action,
            self.new_note_action,
        ):
            w.setEnabled(on)

    def _keep(self, dialog: QDialog) -> QDialog:
        self._dialogs.append(dialog)
        dialog.finished.connect(lambda _r: self._forget(dialog))
        return dialog

    def _forget(self, dialog: QDialog) -> None:
        if dialog in self._dialogs:
            self._dialogs.remove(dialog)
        dialog.deleteLater()

    def add_participant(self) -> QDialog | None:
        """Open the add-participant form; the new participant's record opens after."""
        if self.ctx is None or not self.isVisible():
            return None
        from app.ui.caseload.participant_form import ParticipantForm

        ctx = self.ctx
        form = ParticipantForm(ctx, parent=self)
        form.saved.connect(lambda pid: ctx.open_participant.emit(pid))
        self._keep(form).open()
        return form

    def import_participants(self) -> QDialog | None:
        if self.ctx is None or not self.isVisible():
            return None
        from app.ui.caseload.import_dialog import ImportDialog

        dialog = ImportDialog(self.ctx, parent=self)
        self._keep(dialog).open()
        return dialog

    # -- showing ----------------------------------------------------------------------

    def fit_columns(self) -> None:
        """Measure each column's widest text (so no name is cut short when there is
        room) and fit the columns to the table's width (see app.ui.common.columns).
        Widths are measured from the texts with the table's font (Qt's
        resizeColumnToContents asks every cell for ten roles: a third of a second
        for 300 people)."""
        fm = self.table.fontMetrics()
        bold = QFont(self.table.font())
        bold.setBold(True)
        header_fm = QFontMetrics(bold)
        pad = 2 * 8 + fm.averageCharWidth() * 2  # the item padding of the style sheet, and air
        delegate = self.table.itemDelegateForColumn(COL_ATTENTION)
        cap = max(240, self.table.viewport().width() // 3)
        rows = [self.model.row_at(r) for r in range(self.model.rowCount())]
        natural: dict[int, int] = {}
        least: dict[int, int] = {}
        for col in range(COLUMN_COUNT):
            header = header_fm.horizontalAdvance(
                self.model.headerData(col, Qt.Orientation.Horizontal)
            )
            widest = header + pad + fm.height()  # room for the sort arrow
            if col == COL_ATTENTION and isinstance(delegate, AttentionDelegate):
                fewest = widest
                for row in rows:
                    widest = max(widest, delegate.width_for(row.flags, fm))
                    fewest = max(fewest, delegate.least_width_for(row.flags, fm))
                least[col] = fewest
            else:
                for text in {display_text(row, col) for row in rows}:
                    widest = max(widest, fm.horizontalAdvance(text) + pad)
            natural[col] = min(widest, cap)
        self.fitter.set_natural(natural, least)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._arrange_filters()

    def _arrange_filters(self) -> None:
        """One row for the filter box and the choices when they fit, else two."""
        margins = self.layout().contentsMargins()
        room = self.width() - margins.left() - margins.right()
        need = (
            self.filter_edit.fontMetrics().averageCharWidth() * 18
            + self.filter_choices.minimumSizeHint().width()
            + 8
        )
        wide = room >= need
        if wide == self._filters_wide:
            return
        self._filters_wide = wide
        if wide:
            self._choices_row.removeWidget(self.filter_choices)
            self._filters_row.addWidget(self.filter_choices, 2)
        else:
            self._filters_row.removeWidget(self.filter_choices)
            self._choices_row.addWidget(self.filter_choices)

    def clear(self) -> None:
        self.detach()
        self.filter_edit.clear()
        self.reset_filters()
        self.model.clear()

    def reset_filters(self) -> None:
        self.filter_edit.clear()
        for combo in (self.status_filter, self.program_filter, self.attention_filter):
            combo.setCurrentIndex(0)

    def _apply(self, setter: Any, value: Any) -> None:
        setter(value)
        self._update_count()

    def _update_choices(self) -> None:
        """Programs offered are those in the caseload; attention counts per reason."""
        current = self.program_filter.currentData()
        self.program_filter.blockSignals(True)
        while self.program_filter.count() > 1:
            self.program_filter.removeItem(1)
        for program in self.model.programs():
            self.program_filter.addItem(program, program)
        idx = self.program_filter.findData(current) if current else 0
        self.program_filter.setCurrentIndex(max(idx, 0))
        self.program_filter.blockSignals(False)
        if current and idx < 0:
            self.proxy.set_program(None)

        counts: dict[Any, int] = {ANY_REASON: 0}
        for r in range(self.model.rowCount()):
            flags = self.model.row_at(r).flags
            if flags:
                counts[ANY_REASON] += 1
            for reason in {f.reason for f in flags}:
                counts[reason] = counts.get(reason, 0) + 1
        for i, (value, label) in enumerate(self._attention_labels):
            text = label if value is None else f"{label} ({counts.get(value, 0)})"
            self.attention_filter.setItemText(i, text)

    def _on_filter(self, text: str) -> None:
        self.proxy.set_text(text)
        self._update_count()

    def _update_count(self, *_: Any) -> None:
        total = self.model.rowCount()
        shown = self.proxy.rowCount()
        self.empty_label.setVisible(total == 0)
        self.table.setVisible(total > 0)
        self.no_match_label.setVisible(total > 0 and shown == 0)
        for w in (self.filter_edit, self.status_filter, self.program_filter):
            w.setEnabled(total > 0)
        self.attention_filter.setEnabled(total > 0)
        self.reset_filters_button.setVisible(self.proxy.filtering)
        if shown == total:
            self.count_label.setText(plural(self, total, "%n participant", "%n participants"))
        else:
            self.count_label.setText(
                plural(
                    self,
                    total,
                    "Showing {shown} of %n participant",
                    "Showing {shown} of %n participants",
                ).format(shown=shown)
            )

    def row_menu(self) -> QMenu:
        """What can be done with the selected row: open the record, write a note."""
        menu = QMenu(self.table)
        menu.setAccessibleName(self.tr("Participant actions"))
        menu.addAction(self.open_action)
        menu.addAction(self.new_note_action)
        return menu

    def _row_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        if not index.isValid() or self.ctx is None:
            return
        self.table.setCurrentIndex(index)
        self.table.selectRow(index.row())
        self.row_menu().exec(self.table.viewport().mapToGlobal(pos))

    def current_participant(self) -> str:
        index = self.table.currentIndex()
        if not index.isValid():
            return ""
        return self.proxy.data(index, ID_ROLE) or ""

    def new_note_for_current(self) -> None:
        """A new note for the participant in the selected row (the note editor opens)."""
        pid = self.current_participant()
        if pid and self.ctx is not None:
            self.ctx.open_note.emit("", pid)

    def _on_activated(self, index: QModelIndex) -> None:
        record_id = self.proxy.data(index, ID_ROLE)
        if record_id:
            self.participant_activated.emit(record_id)
