"""The caseload: a table model of participants and the view that shows it.

The model holds :class:`app.store.caseload_queries.CaseloadRow` values (a
participant and the facts that say whether they need attention) read on the
database thread and handed over with :meth:`CaseloadModel.set_rows` on the UI
thread; plain ``Participant`` records are accepted too (no attention facts). It
never reads the store itself. Sorting and filtering (words, status, program,
"needs attention") happen in :class:`CaseloadFilter`, on the data in memory.

The view has no context of its own (the main window keeps one view across
unlocks): :meth:`CaseloadView.attach` gives it the unlocked session's context,
which enables "Add participant" (Ctrl+N) and "Import…" (Ctrl+Shift+I);
:meth:`CaseloadView.detach` (on lock) closes any open dialog and disables them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QFont, QFontMetrics, QKeySequence, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.domain.attention import AttentionFacts, Flag, Reason
from app.domain.records import Participant, ParticipantStatus
from app.store.caseload_queries import CaseloadRow
from app.ui.common.columns import ColumnFitter
from app.ui.shell.theme import themed

AnyIndex = QModelIndex | QPersistentModelIndex

COL_NAME = 0
COL_ATTENTION = 1
COL_STATUS = 2
COL_PROGRAM = 3
COL_COUNTY = 4
COL_LAST_CONTACT = 5
COL_INTAKE = 6
COL_MEDICAID = 7
COLUMN_COUNT = 8

#: The value a column sorts by (a name sorts by last name, then first name).
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
#: The participant's record id.
ID_ROLE = Qt.ItemDataRole.UserRole + 2
#: The attention flags (a tuple of app.domain.attention.Flag), for the badges.
FLAGS_ROLE = Qt.ItemDataRole.UserRole + 3

_STATUS_ORDER = {
    ParticipantStatus.REFERRED: 0,
    ParticipantStatus.ACTIVE: 1,
    ParticipantStatus.ON_HOLD: 2,
    ParticipantStatus.DISCHARGED: 3,
}

#: Badge colours per reason (background, text): each pair well above 4.5:1.
BADGE_COLOURS = {
    Reason.NO_CONTACT: ("#fff0c7", "#5c3d00"),
    Reason.UNSIGNED_NOTES: ("#dde9f6", "#18385a"),
    Reason.GOALS_OVERDUE: ("#ece2f4", "#44265a"),
    Reason.CONSENT: ("#f9dede", "#751818"),
}


def short_date(d: date | None) -> str:
    return f"{d:%b} {d.day}, {d.year}" if d else ""


def _as_row(item: CaseloadRow | Participant) -> CaseloadRow:
    if isinstance(item, CaseloadRow):
        return item
    return CaseloadRow(item, AttentionFacts(status=item.status, intake_date=item.intake_date), ())


class CaseloadModel(QAbstractTableModel):
    """Participants, one row each, read-only."""

    HEADERS = (
        "Name",
        "Needs attention",
        "Status",
        "Program",
        "County",
        "Last contact",
        "Intake",
        "Medicaid ID",
    )

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[CaseloadRow] = []
        self._sort: list[list[str]] = []

    # -- data in --------------------------------------------------------------

    def set_rows(self, rows: Sequence[CaseloadRow | Participant]) -> None:
        self.beginResetModel()
        self._rows = [_as_row(r) for r in rows]
        # Sorting asks for these n·log n times: work them out once.
        self._sort = [[sort_key(r, c) for c in range(COLUMN_COUNT)] for r in self._rows]
        self.endResetModel()

    def clear(self) -> None:
        self.set_rows([])

    def participant(self, row: int) -> Participant:
        return self._rows[row].participant

    def row_at(self, row: int) -> CaseloadRow:
        return self._rows[row]

    def programs(self) -> list[str]:
        return sorted({r.participant.program for r in self._rows if r.participant.program})

    # -- Qt model -------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else COLUMN_COUNT

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < COLUMN_COUNT
        ):
            return self.tr(self.HEADERS[section])
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        r = self._rows[index.row()]
        p = r.participant
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return display_text(r, col)
        if role == SORT_ROLE:
            return self._sort[index.row()][col]
        if role == ID_ROLE:
            return p.id
        if role == FLAGS_ROLE and col == COL_ATTENTION:
            return r.flags
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_MEDICAID and not p.medicaid_id:
                return "No Medicaid ID on file: services cannot be billed to Medicaid yet."
            if col == COL_ATTENTION and r.flags:
                return "\n".join(f.detail for f in r.flags)
        if role == Qt.ItemDataRole.AccessibleTextRole and col == COL_ATTENTION:
            return display_text(r, col) or "Nothing needs attention"
        return None

    def search_text(self, row: int) -> str:
        """What the filter box matches: name, status, program, county and state."""
        p = self._rows[row].participant
        parts = (
            p.first_name,
            p.preferred_name,
            p.last_name,
            p.status,
            p.program,
            p.county,
            p.state,
        )
        return " ".join(parts).casefold()


def display_text(r: CaseloadRow | Participant, col: int) -> str:
    row = _as_row(r)
    p = row.participant
    if col == COL_NAME:
        return p.display_name
    if col == COL_STATUS:
        return str(p.status).capitalize()
    if col == COL_PROGRAM:
        return p.program
    if col == COL_COUNTY:
        return f"{p.county}, {p.state}" if p.county and p.state else p.county or p.state
    if col == COL_MEDICAID:
        return "On file" if p.medicaid_id else "Missing"
    if col == COL_INTAKE:
        return short_date(p.intake_date)
    if col == COL_LAST_CONTACT:
        return short_date(row.facts.last_contact)
    if col == COL_ATTENTION:
        return " · ".join(f.text for f in row.flags)
    return ""


def sort_key(r: CaseloadRow | Participant, col: int) -> str:
    """A string that sorts the way a person expects (case-insensitive)."""
    row = _as_row(r)
    p = row.participant
    if col == COL_NAME:
        first = p.preferred_name or p.first_name
        return f"{p.last_name.casefold()}\x00{first.casefold()}"
    if col == COL_STATUS:
        return str(_STATUS_ORDER.get(p.status, 9))
    if col == COL_INTAKE:
        return p.intake_date.isoformat() if p.intake_date else ""
    if col == COL_LAST_CONTACT:
        return row.facts.last_contact.isoformat() if row.facts.last_contact else ""
    if col == COL_ATTENTION:
        # Most reasons first when sorted descending; then by the reasons' kinds.
        return f"{len(row.flags):02d}" + "".join(f.reason.value for f in row.flags)
    return display_text(row, col).casefold()


#: The attention filter's choices: None is everyone.
ANY_REASON = "any"


class CaseloadFilter(QSortFilterProxyModel):
    """Sorts by :data:`SORT_ROLE` and keeps the rows whose words contain every word
    typed in the filter box, with the chosen status, program and attention reason."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._words: list[str] = []
        self._status: ParticipantStatus | None = None
        self._program: str | None = None
        self._attention: Reason | str | None = None

    def _refilter(self, change: Any) -> None:
        self.beginFilterChange()
        change()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_text(self, text: str) -> None:
        self._refilter(lambda: setattr(self, "_words", text.casefold().split()))

    def set_status(self, status: ParticipantStatus | None) -> None:
        self._refilter(lambda: setattr(self, "_status", status))

    def set_program(self, program: str | None) -> None:
        self._refilter(lambda: setattr(self, "_program", program))

    def set_attention(self, reason: Reason | str | None) -> None:
        """None: everyone; :data:`ANY_REASON`: anyone with a reason; a Reason: that one."""
        self._refilter(lambda: setattr(self, "_attention", reason))

    @property
    def filtering(self) -> bool:
        return bool(self._words) or any(
            v is not None for v in (self._status, self._program, self._attention)
        )

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        model = self.sourceModel()
        if not isinstance(model, CaseloadModel):
            return True
        row = model.row_at(source_row)
        p = row.participant
        if self._status is not None and p.status != self._status:
            return False
        if self._program is not None and p.program != self._program:
            return False
        if self._attention == ANY_REASON and not row.flags:
            return False
        if isinstance(self._attention, Reason) and all(
            f.reason is not self._attention for f in row.flags
        ):
            return False
        if not self._words:
            return True
        hay = model.search_text(source_row)
        return all(w in hay for w in self._words)


class AttentionDelegate(QStyledItemDelegate):
    """Paints the attention reasons as small coloured badges."""

    PAD_X, GAP, RADIUS = 8, 6, 9

    def _badges(self, index: QModelIndex) -> tuple[Flag, ...]:
        flags = index.data(FLAGS_ROLE)
        return tuple(flags) if flags else ()

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        flags = self._badges(index)
        if not flags:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        fm = opt.fontMetrics
        h = fm.height() + 6
        x = opt.rect.x() + 6
        y = opt.rect.y() + (opt.rect.height() - h) // 2
        right = opt.rect.right() - 4
        for i, f in enumerate(flags):
            w = self.badge_width(f.text, fm)
            rest = len(flags) - i - 1
            # Keep room for a "+n" chip when more badges follow this one.
            need = w + (self.GAP + self.badge_width(f"+{rest}", fm) if rest else 0)
            if x + (need if i else w) > right:
                self._more(painter, fm, x, y, h, right, len(flags) - i)
                break
            bg, fg = BADGE_COLOURS.get(f.reason, ("#eeeeee", "#222222"))
            self._badge(painter, QRect(x, y, w, h), f.text, themed(bg), themed(fg))
            x += w + self.GAP
        painter.restore()

    def _badge(self, painter: QPainter, rect: QRect, text: str, bg: QColor, fg: QColor) -> None:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(bg)
        painter.drawRoundedRect(rect, self.RADIUS, self.RADIUS)
        painter.setPen(fg)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)

    def _more(
        self, painter: QPainter, fm: QFontMetrics, x: int, y: int, h: int, right: int, n: int
    ) -> None:
        """A grey "+n" chip for the badges without room (all are in the tooltip)."""
        text = f"+{n}"
        w = self.badge_width(text, fm)
        if x + w <= right:
            self._badge(painter, QRect(x, y, w, h), text, themed("#e3e8e5"), themed("#2b3a3f"))
        else:
            painter.setPen(themed("#2b3a3f"))
            painter.drawText(QRect(x, y, max(0, right - x), h), Qt.AlignmentFlag.AlignVCenter, "…")

    def badge_width(self, text: str, fm: QFontMetrics) -> int:
        return fm.horizontalAdvance(text) + 2 * self.PAD_X

    def width_for(self, flags: Sequence[Flag], fm: QFontMetrics) -> int:
        """Room for every badge."""
        return 12 + sum(self.badge_width(f.text, fm) + self.GAP for f in flags)

    def least_width_for(self, flags: Sequence[Flag], fm: QFontMetrics) -> int:
        """Room for the first badge and a "+n" chip for the others."""
        if not flags:
            return 0
        more = self.GAP + self.badge_width(f"+{len(flags) - 1}", fm) if len(flags) > 1 else 0
        return 12 + self.badge_width(flags[0].text, fm) + more

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        base = super().sizeHint(option, index)
        flags = self._badges(index)
        if not flags:
            return base
        fm = option.fontMetrics
        return QSize(self.width_for(flags, fm), max(base.height(), fm.height() + 14))


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
        self.table.activated.connect(self._on_activated)

        self.empty_label = QLabel(
            self.tr(
                "No participants yet. Add a participant (Ctrl+N) or import your caseload "
                "from a spreadsheet; they will be listed here."
            )
        )
        self.empty_label.setObjectName("hint")
        self.empty_label.setWordWrap(True)
        self.no_match_label = QLabel(self.tr("Nobody matches these filters."))
        self.no_match_label.setObjectName("hint")

        top = QHBoxLayout()
        top.addWidget(title)
        top.addStretch(1)
        top.addWidget(self.import_button)
        top.addWidget(self.add_button)
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
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 12)
        layout.setSpacing(12)
        layout.addLayout(top)
        layout.addLayout(filters)
        layout.addLayout(self._choices_row)
        layout.addLayout(counts)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.no_match_label)
        layout.addWidget(self.table, 1)

        for signal in (model.modelReset, self.proxy.rowsInserted, self.proxy.rowsRemoved):
            signal.connect(self._update_count)
        model.modelReset.connect(self._update_choices)
        self.proxy.layoutChanged.connect(self._update_count)
        self._set_attached(False)
        self._update_choices()
        self._update_count()

    # -- the session ------------------------------------------------------------------

    def attach(self, ctx: Any) -> None:
        """The vault is unlocked: adding and importing work through ``ctx``."""
        self.ctx = ctx
        self._set_attached(True)

    def detach(self) -> None:
        """The vault is locking: close any dialog (forgetting what it showed) and
        disable adding and importing."""
        self.ctx = None
        for dialog in self._dialogs:
            dialog.close()
            dialog.deleteLater()
        self._dialogs.clear()
        self._set_attached(False)

    def _set_attached(self, on: bool) -> None:
        for w in (self.add_button, self.import_button, self.add_action, self.import_action):
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
        noun = "participant" if total == 1 else "participants"
        if shown == total:
            self.count_label.setText(f"{total} {noun}")
        else:
            self.count_label.setText(f"Showing {shown} of {total} {noun}")

    def _on_activated(self, index: QModelIndex) -> None:
        record_id = self.proxy.data(index, ID_ROLE)
        if record_id:
            self.participant_activated.emit(record_id)
