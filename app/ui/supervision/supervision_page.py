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

from datetime import date
from typing import Any

from PySide6.QtCore import QDate
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QListWidgetItem
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QSplitter
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.domain.records import SupervisionSession
from app.services import supervision
from app.services.failures import message_for
from app.ui.common.columns import ColumnFitter
from app.ui.common.columns import read_only_table
from app.ui.common.supervisor_widgets import PassphraseDialog
from app.ui.common.supervisor_widgets import plural
from app.ui.common.supervisor_widgets import titled_page
from app.ui.shell.context import AppContext
from app.ui.shell.context import Page
from app.ui.supervision.models import ID_ROLE
from app.ui.supervision.models import SessionModel
from app.ui.supervision.session_form import SessionFormMixin


class SupervisionPage(SessionFormMixin, Page):
    title = "Supervision"
    tables = frozenset({"supervision_sessions", "time_entries", "users", "participants"})

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.setObjectName("supervisionPage")
        self.choices: supervision.SessionChoices | None = None
        self.editing: SupervisionSession | None = None
        self.dialog: PassphraseDialog | None = None
        self._selected_id = ""

        left = self._build_list()
        scroll = self._build_form()
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(scroll)
        self.splitter.setStretchFactor(0, 5)
        self.splitter.setStretchFactor(1, 4)
        self.splitter.setChildrenCollapsible(False)
        self._split_done = False

        self.count_label = titled_page(self, self.tr("Supervision"), self.splitter)
        self._supervisor_mode()
        self.new_session()

    def _build_list(self) -> QWidget:
        """The sessions list with the New and Sign buttons."""
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
        return left

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
        self.fitter.measure()
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
