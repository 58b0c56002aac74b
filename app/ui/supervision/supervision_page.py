"""The supervision log: sessions a supervisor holds with their specialists.

A supervisor records a session (individual or group, date, minutes, modality,
topics from the fixed list, the cases reviewed, action items, the next date) and
signs it with their passphrase; once signed it cannot change. Each specialist who
took part signs it on their own device (the same page shows a specialist the
sessions they were in, with a Sign action); their signature is their supervision
time entry, so the session counts in their hours. Forms validate in place and
never discard what was typed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from PySide6.QtCore import (
    QDate,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.domain.records import Modality, SupervisionFormat, SupervisionSession
from app.domain.supervision import MAX_SESSION_MINUTES, TOPICS
from app.services import supervision
from app.services.failures import message_for
from app.ui.common.columns import ColumnFitter, measure_columns, read_only_table
from app.ui.common.supervisor_widgets import PassphraseDialog, plural
from app.ui.common.table_model import RowsTableModel
from app.ui.shell.context import AppContext, Page

AnyIndex = QModelIndex | QPersistentModelIndex
ID_ROLE = Qt.ItemDataRole.UserRole + 2


def _day(d: date) -> str:
    return f"{d:%b} {d.day}, {d.year}"


class SessionModel(RowsTableModel):
    HEADERS = ("Date", "Format", "Min", "Signed", "With")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[supervision.SessionRow] = []

    def set_rows(self, rows: list[supervision.SessionRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def clear(self) -> None:
        self.set_rows([])

    def row(self, r: int) -> supervision.SessionRow:
        return self._rows[r]

    def find(self, session_id: str) -> int:
        return next((i for i, r in enumerate(self._rows) if r.session.id == session_id), -1)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row, col = self._rows[index.row()], index.column()
        s = row.session
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return _day(s.session_date)
            if col == 1:
                return str(s.format).capitalize()
            if col == 2:
                return str(s.minutes)
            if col == 3:
                return self.signed_text(row)
            if col == 4:
                return ", ".join(row.specialist_names)
        if role == Qt.ItemDataRole.ToolTipRole and col == 4:
            return ", ".join(row.specialist_names) + "\n" + ", ".join(s.topics)
        if role == ID_ROLE:
            return s.id
        if role == Qt.ItemDataRole.TextAlignmentRole and col == 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def signed_text(self, row: supervision.SessionRow) -> str:
        sig = row.signatures
        if not sig.supervisor:
            return self.tr("Not signed")
        if sig.complete:
            return self.tr("All")
        total = len(sig.signed) + len(sig.waiting)
        return self.tr("{n} of {total}").format(n=len(sig.signed), total=total)


def _error_label() -> QLabel:
    label = QLabel()
    label.setObjectName("fieldError")
    label.setWordWrap(True)
    label.hide()
    return label


class SupervisionPage(Page):
    title = "Supervision"
    tables = frozenset({"supervision_sessions", "time_entries", "users", "participants"})

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.setObjectName("supervisionPage")
        self.choices: supervision.SessionChoices | None = None
        self.editing: SupervisionSession | None = None
        self.dialog: PassphraseDialog | None = None
        self._selected_id = ""

        heading = QLabel(self.tr("Supervision"))
        heading.setObjectName("pageTitle")
        self.count_label = QLabel()
        self.count_label.setObjectName("hint")

        self.model = SessionModel(self)
        self.table = read_only_table(
            "sessionTable", self.tr("Supervision sessions"), model=self.model
        )
        # "With" (the names) gives up room, then Format hides, before the list would
        # scroll sideways (app/ui/common/columns.py).
        self.fitter = ColumnFitter(
            self.table, elastic=(4,), stretch=(4,), hide_order=(1,), min_chars={4: 8}
        )
        self.table.selectionModel().selectionChanged.connect(self._on_selection)

        self.new_button = QPushButton(self.tr("New session"))
        self.new_button.setAccessibleName(self.tr("Log a new supervision session"))
        self.new_button.setShortcut(QKeySequence("Ctrl+N"))
        self.new_button.setToolTip(self.tr("Log a new session (Ctrl+N)"))
        self.new_button.clicked.connect(self.new_session)
        self.sign_button = QPushButton(self.tr("Sign…"))
        self.sign_button.setObjectName("primary")
        self.sign_button.setAccessibleName(self.tr("Sign the selected session"))
        self.sign_button.clicked.connect(self.sign_selected)

        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 8, 0)
        lv.addWidget(self.table, 1)
        lb = QHBoxLayout()
        lb.addWidget(self.new_button)
        lb.addStretch(1)
        lb.addWidget(self.sign_button)
        lv.addLayout(lb)

        # -- the form ----------------------------------------------------------------
        self.form_title = QLabel(self.tr("New session"))
        self.form_title.setObjectName("sectionTitle")
        self.form_state = QLabel()
        self.form_state.setObjectName("hint")
        self.form_state.setWordWrap(True)
        self.format = QComboBox()
        self.format.setAccessibleName(self.tr("Format"))
        for f in SupervisionFormat:
            self.format.addItem(self.tr(str(f).capitalize()), f.value)
        self.session_date = QDateEdit()
        self.session_date.setAccessibleName(self.tr("Date of the session"))
        self.session_date.setCalendarPopup(True)
        self.session_date.setDisplayFormat("MMM d, yyyy")
        self.minutes = QSpinBox()
        self.minutes.setAccessibleName(self.tr("Minutes"))
        self.minutes.setRange(0, MAX_SESSION_MINUTES)
        self.minutes.setSingleStep(15)
        self.minutes.setSuffix(self.tr(" min"))
        self.modality = QComboBox()
        self.modality.setAccessibleName(self.tr("Modality"))
        for m in Modality:
            self.modality.addItem(self.tr(str(m).capitalize()), m.value)
        self.specialists = QListWidget()
        self.specialists.setObjectName("sessionSpecialists")
        self.specialists.setAccessibleName(self.tr("Specialists who took part"))
        self.specialists.itemChanged.connect(self._refill_cases)
        self.topic_boxes: dict[str, QCheckBox] = {}
        topics = QWidget()
        tg = QGridLayout(topics)
        tg.setContentsMargins(0, 0, 0, 0)
        for i, t in enumerate(TOPICS):
            box = QCheckBox(self.tr(t.capitalize()))
            box.setAccessibleName(self.tr("Topic: {topic}").format(topic=t))
            self.topic_boxes[t] = box
            tg.addWidget(box, i, 0)  # one column: two made the form too wide for its pane
        self.cases = QListWidget()
        self.cases.setObjectName("sessionCases")
        self.cases.setAccessibleName(self.tr("Cases reviewed"))
        self.actions = QPlainTextEdit()
        self.actions.setAccessibleName(self.tr("Action items"))
        self.actions.setPlaceholderText(self.tr("What each person will do before the next session"))
        line = self.fontMetrics().lineSpacing()
        self.actions.setFixedHeight(line * 3 + 20)
        self.specialists.setFixedHeight(line * 4 + 16)
        self.cases.setFixedHeight(line * 5 + 16)
        self.has_next = QCheckBox(self.tr("Next session on"))
        self.has_next.setAccessibleName(self.tr("A next session is planned"))
        self.next_date = QDateEdit()
        self.next_date.setAccessibleName(self.tr("Date of the next session"))
        self.next_date.setCalendarPopup(True)
        self.next_date.setDisplayFormat("MMM d, yyyy")
        self.has_next.toggled.connect(self.next_date.setEnabled)
        self.errors = {
            k: _error_label()
            for k in ("specialist_ids", "minutes", "session_date", "topics", "next_date")
        }
        self.form_error = QLabel()
        self.form_error.setObjectName("error")
        self.form_error.setWordWrap(True)
        self.form_error.hide()
        self.save_button = QPushButton(self.tr("Save session"))
        self.save_button.setObjectName("primary")
        self.save_button.setAccessibleName(self.tr("Save the session"))
        self.save_button.setShortcut(QKeySequence("Ctrl+S"))
        self.save_button.setToolTip(self.tr("Save (Ctrl+S)"))
        self.save_button.clicked.connect(self.save)

        # Narrow enough for the form and the list to share the page without sideways
        # scroll bars: combos and dates no wider than what they show needs.
        for combo, chars in ((self.format, 8), (self.modality, 10)):
            combo.setMinimumContentsLength(chars)
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
        date_w = self.fontMetrics().horizontalAdvance("Sep 30, 2026") + 48
        for d in (self.session_date, self.next_date):
            d.setMinimumWidth(date_w)
            d.setSizePolicy(QSizePolicy.Policy.Ignored, d.sizePolicy().verticalPolicy())

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)

        def field(widget: QWidget, key: str | None = None) -> QWidget:
            if key is None:
                return widget
            box = QWidget()
            v = QVBoxLayout(box)
            v.setContentsMargins(0, 0, 0, 0)
            v.setSpacing(2)
            v.addWidget(widget)
            v.addWidget(self.errors[key])
            return box

        when = QWidget()
        wl = QHBoxLayout(when)
        wl.setContentsMargins(0, 0, 0, 0)
        wl.addWidget(self.session_date, 1)
        wl.addWidget(self.minutes)
        # Format and modality on rows of their own: side by side they made the form
        # too wide to share the page with the list.
        nxt = QWidget()
        nl = QHBoxLayout(nxt)
        nl.setContentsMargins(0, 0, 0, 0)
        nl.addWidget(self.has_next)
        nl.addWidget(self.next_date, 1)
        labels = (
            (self.tr("Format"), field(self.format)),
            (self.tr("How"), field(self.modality)),
            (self.tr("When"), field(when, "minutes")),
            (self.tr("With"), field(self.specialists, "specialist_ids")),
            (self.tr("Topics"), field(topics, "topics")),
            (self.tr("Cases"), field(self.cases)),
            (self.tr("Actions"), field(self.actions)),
            (self.tr("Next"), field(nxt, "next_date")),
        )
        for text, widget in labels:
            label = QLabel(text)
            label.setObjectName("fieldLabel")
            label.setBuddy(widget)
            form.addRow(label, widget)
        form.addRow("", self.errors["session_date"])

        form_box = QWidget()
        form_box.setObjectName("sessionForm")
        fv = QVBoxLayout(form_box)
        fv.setContentsMargins(12, 4, 12, 8)
        fv.addWidget(self.form_title)
        fv.addWidget(self.form_state)
        # The fields, hidden while a specialist has no session chosen (an empty,
        # greyed form with placeholder dates read as broken).
        self.form_fields = QWidget()
        self.form_fields.setLayout(form)
        form.setContentsMargins(0, 0, 0, 0)
        fv.addWidget(self.form_fields)
        fv.addWidget(self.form_error)
        fb = QHBoxLayout()
        fb.addStretch(1)
        fb.addWidget(self.save_button)
        fv.addLayout(fb)
        fv.addStretch(1)
        scroll = QScrollArea()
        scroll.setObjectName("sessionFormScroll")
        scroll.setWidgetResizable(True)
        scroll.setWidget(form_box)
        self.form_inputs: list[QWidget] = [
            self.format, self.session_date, self.minutes, self.modality, self.specialists,
            *self.topic_boxes.values(), self.cases, self.actions, self.has_next, self.next_date,
            self.save_button,
        ]  # fmt: skip

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(scroll)
        self.splitter.setStretchFactor(0, 5)
        self.splitter.setStretchFactor(1, 4)
        self.splitter.setChildrenCollapsible(False)
        self.form_scroll = scroll
        self.form_box = form_box
        self._split_done = False

        top = QHBoxLayout()
        top.addWidget(heading)
        top.addStretch(1)
        top.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.setSpacing(10)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)
        self._supervisor_mode()
        self.new_session()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if not self._split_done:
            self._split_done = True
            self._split()

    def _split(self) -> None:
        """The form gets the width it needs (no sideways scroll bar) and the list the
        rest, once, when first shown; the person can move the divider after."""
        total = sum(self.splitter.sizes())
        scroll = self.form_scroll
        need = (
            max(  # the fields count even while hidden (a specialist before choosing)
                self.form_box.minimumSizeHint().width(),
                self.form_fields.minimumSizeHint().width() + 24,
            )
            + scroll.verticalScrollBar().sizeHint().width()
            + 2 * scroll.frameWidth()
            + 4
        )
        if total > need:
            self.splitter.setSizes([max(total - need, 1), need])

    # -- mode -----------------------------------------------------------------------------

    @property
    def supervising(self) -> bool:
        return self.ctx.is_supervisor

    def _supervisor_mode(self) -> None:
        self.new_button.setVisible(self.supervising)
        if not self.supervising:  # a specialist reads and signs; the form is never editable
            self.form_title.setText(self.tr("Your supervision"))
            self.form_state.setText(self.tr("Choose a session to read it and sign it."))
            self._lock_form(True)
            self.form_fields.hide()

    # -- data -----------------------------------------------------------------------------

    def refresh(self) -> None:
        super().refresh()
        if self.supervising:
            self.ctx.run(supervision.session_choices, self._show_choices, self._failed)
        self.ctx.run(supervision.sessions, self._show_sessions, self._failed)

    def _show_choices(self, choices: supervision.SessionChoices) -> None:
        self.choices = choices
        checked = set(self._checked(self.specialists))
        self.specialists.blockSignals(True)
        self.specialists.clear()
        for u in choices.team:
            item = QListWidgetItem(u.display_name or u.username)
            item.setData(ID_ROLE, u.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(
                Qt.CheckState.Checked if u.id in checked else Qt.CheckState.Unchecked
            )
            self.specialists.addItem(item)
        self.specialists.blockSignals(False)
        if self.editing is not None:
            self._fill_form(self.editing)
        else:
            self._refill_cases()

    def _show_sessions(self, rows: list[supervision.SessionRow]) -> None:
        self.model.set_rows(rows)
        self.fitter.set_natural(measure_columns(self.table))
        noun = plural(self, len(rows), "1 session", "{n} sessions")
        self.count_label.setText(noun)
        if self._selected_id:
            r = self.model.find(self._selected_id)
            if r >= 0:
                self.table.selectRow(r)
        self._update_sign()

    def _failed(self, exc: BaseException) -> None:
        self.ctx.status_message.emit(message_for(exc))

    def clear(self) -> None:
        self.model.clear()
        self.choices = None
        self.editing = None
        self.specialists.clear()
        self.cases.clear()
        self.actions.clear()
        self._selected_id = ""
        if not self.supervising:
            self._supervisor_mode()
        if self.dialog is not None:
            self.dialog.reject()

    # -- selection and the form -----------------------------------------------------------

    def selected_row(self) -> supervision.SessionRow | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row(rows[0].row()) if rows else None

    def _on_selection(self, *_: Any) -> None:
        row = self.selected_row()
        if row is not None:
            self._selected_id = row.session.id
            self.editing = row.session
            self._fill_form(row.session)
        self._update_sign()

    def _update_sign(self) -> None:
        row = self.selected_row()
        can = False
        if row is not None:
            if row.session.supervisor_id == self.ctx.user.id:
                can = not row.signatures.supervisor
            else:
                can = row.signatures.supervisor and not row.signed_by_me
        self.sign_button.setEnabled(can)

    def new_session(self) -> None:
        if not self.supervising:
            return
        self.table.clearSelection()
        self._selected_id = ""
        self.editing = None
        today = date.today()
        self.form_title.setText(self.tr("New session"))
        self.form_state.setText(self.tr("Not signed yet. Save, then sign with your passphrase."))
        self.format.setCurrentIndex(0)
        self.session_date.setDate(QDate(today.year, today.month, today.day))
        self.minutes.setValue(60)
        self.modality.setCurrentIndex(0)
        for i in range(self.specialists.count()):
            self.specialists.item(i).setCheckState(Qt.CheckState.Unchecked)
        for box in self.topic_boxes.values():
            box.setChecked(False)
        self.actions.clear()
        self.has_next.setChecked(False)
        self.next_date.setEnabled(False)
        self.next_date.setDate(QDate(today.year, today.month, today.day).addDays(28))
        self._refill_cases()
        self._clear_errors()
        self._lock_form(False)

    def _fill_form(self, s: SupervisionSession) -> None:
        self._clear_errors()
        self.form_fields.show()
        self.form_title.setText(self.tr("Session of {day}").format(day=_day(s.session_date)))
        signed = s.supervisor_signed_at is not None
        if not signed:
            state = self.tr("Not signed yet.")
        else:
            state = self.tr("Signed by the supervisor {at} UTC; it cannot change.").format(
                at=f"{s.supervisor_signed_at:%b %d, %Y %H:%M}"
            )
        self.form_state.setText(state)
        self.format.setCurrentIndex(max(0, self.format.findData(str(s.format))))
        self.session_date.setDate(
            QDate(s.session_date.year, s.session_date.month, s.session_date.day)
        )
        self.minutes.setValue(s.minutes)
        self.modality.setCurrentIndex(max(0, self.modality.findData(str(s.modality))))
        self.specialists.blockSignals(True)
        for i in range(self.specialists.count()):
            item = self.specialists.item(i)
            on = item.data(ID_ROLE) in s.specialist_ids
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        self.specialists.blockSignals(False)
        if not self.supervising:
            self.specialists.clear()
            row = self.selected_row()
            for name in row.specialist_names if row else ():
                self.specialists.addItem(name)
        for t, box in self.topic_boxes.items():
            box.setChecked(t in s.topics)
        self._refill_cases(keep=set(s.cases_reviewed))
        self.actions.setPlainText(s.action_items)
        self.has_next.setChecked(s.next_date is not None)
        if s.next_date:
            self.next_date.setDate(QDate(s.next_date.year, s.next_date.month, s.next_date.day))
        self._lock_form(signed or not self.supervising or s.supervisor_id != self.ctx.user.id)

    def _lock_form(self, locked: bool) -> None:
        for w in self.form_inputs:
            w.setEnabled(not locked)
        if not locked:
            self.next_date.setEnabled(self.has_next.isChecked())
        self.save_button.setVisible(self.supervising)

    def _checked(self, lst: QListWidget) -> list[str]:
        return [
            lst.item(i).data(ID_ROLE)
            for i in range(lst.count())
            if lst.item(i).checkState() == Qt.CheckState.Checked
        ]

    def _refill_cases(self, *_: Any, keep: set[str] | None = None) -> None:
        """Cases offered: the participants of the specialists ticked."""
        chosen = set(self._checked(self.cases)) if keep is None else keep
        specs = set(self._checked(self.specialists))
        self.cases.clear()
        if self.choices is None:
            if keep and not self.supervising:
                self.cases.addItem(plural(self, len(keep), "1 case reviewed", "{n} cases reviewed"))
            return
        for pid, name, spec in self.choices.participants:
            if spec not in specs and pid not in chosen:
                continue
            item = QListWidgetItem(name)
            item.setData(ID_ROLE, pid)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if pid in chosen else Qt.CheckState.Unchecked)
            self.cases.addItem(item)

    def _clear_errors(self) -> None:
        for label in self.errors.values():
            label.hide()
        self.form_error.hide()

    def form_session(self) -> SupervisionSession:
        """The session as the form shows it (nothing is checked here)."""
        d = self.session_date.date()
        n = self.next_date.date()
        base = self.editing or SupervisionSession(
            supervisor_id=self.ctx.user.id, specialist_ids=(), session_date=date.today(), minutes=0
        )
        return replace(
            base,
            specialist_ids=tuple(self._checked(self.specialists)),
            session_date=date(d.year(), d.month(), d.day()),
            minutes=self.minutes.value(),
            format=SupervisionFormat(self.format.currentData()),
            modality=Modality(self.modality.currentData()),
            topics=tuple(t for t in TOPICS if self.topic_boxes[t].isChecked()),
            cases_reviewed=tuple(self._checked(self.cases)),
            action_items=self.actions.toPlainText().strip(),
            next_date=date(n.year(), n.month(), n.day()) if self.has_next.isChecked() else None,
        )

    def save(self) -> None:
        if not self.supervising:
            return
        self._clear_errors()
        session = self.form_session()

        def done(saved: SupervisionSession) -> None:
            self.editing = saved
            self._selected_id = saved.id
            self.ctx.status_message.emit(self.tr("Session saved"))

        def failed(exc: BaseException) -> None:
            problems = getattr(exc, "problems", None)
            if problems:
                for key, message in problems:
                    label = self.errors.get(key)
                    if label is not None:
                        label.setText(self.tr(message[:1].upper() + message[1:] + "."))
                        label.show()
            else:
                self.form_error.setText(message_for(exc))
                self.form_error.show()

        self.ctx.run(supervision.save_session, done, failed, args=(session,))

    # -- signing --------------------------------------------------------------------------

    def sign_selected(self) -> None:
        row = self.selected_row()
        if row is None or not self.sign_button.isEnabled():
            return
        mine = row.session.supervisor_id == self.ctx.user.id
        what = (
            self.tr("Sign this supervision session as its supervisor. It cannot change afterwards.")
            if mine
            else self.tr(
                "Sign that you took part in this supervision session. It is added to your "
                "hours as supervision received."
            )
        )
        self.dialog = PassphraseDialog(what, self)
        session_id = row.session.id
        self.dialog.signed.connect(lambda text: self._sign_with(session_id, text))
        self.dialog.open()

    def _sign_with(self, session_id: str, passphrase: str) -> None:
        vault = self.ctx.session.vault

        def done(_none: Any) -> None:
            self.ctx.status_message.emit(self.tr("Session signed"))

        def failed(exc: BaseException) -> None:
            self.form_error.setText(message_for(exc))
            self.form_error.show()

        self.ctx.run(supervision.sign_session, done, failed, args=(vault, passphrase, session_id))
