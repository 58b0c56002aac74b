"""The Conflicts page: edits that crossed during sync, compared side by side, and
the changes the server refused.

A text conflict (two versions of a note's narrative, a goal statement, supervision
action items) shows the version now in the record beside the one that lost, with
who wrote each and when; the person keeps one, takes the other, or merges both in
an editable text. The choice is an ordinary edit through the repositories (so it
syncs) plus the conflict's resolution (app.services.conflicts.resolve_conflict).
A log entry (another field) is only looked at and marked seen; an edit of a record
deleted elsewhere can restore it. The second tab lists the changes the server
refused, with its reason. The third, for billing staff, supervisors and
administrators, lists billing conflicts: services billed in two live batches
(app.services.double_billing), with which batches and what to do.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from PySide6.QtCore import QModelIndex
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtGui import QShortcut
from PySide6.QtWidgets import QFrame
from PySide6.QtWidgets import QGridLayout
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QPlainTextEdit
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QStackedWidget
from PySide6.QtWidgets import QTabWidget
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.domain import conflict_resolution as cr
from app.domain.datetext import day_text
from app.domain.lifecycle import LifecycleError
from app.services import conflicts
from app.services.double_billing import DoubleBill
from app.services.double_billing import billing_conflicts
from app.services.double_billing import shows_billing_conflicts
from app.services.failures import StoreError
from app.services.failures import message_for
from app.ui.common.columns import read_only_table
from app.ui.common.forms import wrapped_label
from app.ui.common.layouts import column
from app.ui.common.layouts import row
from app.ui.shell.context import AppContext
from app.ui.shell.context import Page
from app.ui.sync.conflict_models import ConflictListModel
from app.ui.sync.conflict_models import RejectedModel
from app.ui.sync.conflict_models import field_label
from app.ui.sync.conflict_models import record_text
from app.ui.sync.conflict_models import who_text


class _Side(QFrame):
    """One version: a heading, who/when, and the text (read-only)."""

    def __init__(self, heading: str, accessible: str) -> None:
        super().__init__()
        self.setObjectName("conflictSide")
        self.heading = QLabel(heading)
        self.heading.setObjectName("conflictHeading")
        self.meta = wrapped_label()
        self.text = QPlainTextEdit()
        self.text.setObjectName("conflictText")
        self.text.setReadOnly(True)
        self.text.setAccessibleName(accessible)
        self.text.setTabChangesFocus(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 10, 12, 12)
        lay.setSpacing(6)
        lay.addWidget(self.heading)
        lay.addWidget(self.meta)
        lay.addWidget(self.text, 1)

    def clear(self) -> None:
        self.meta.clear()
        self.text.clear()


class ConflictsPage(Page):
    title = "Conflicts"
    tables = frozenset(
        {"conflicts", "encounters", "goals", "supervision_sessions", "billing_batches"}
    )

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.setObjectName("conflictsPage")
        self.model = ConflictListModel(self)
        self.rejected_model = RejectedModel(self)
        self._current: conflicts.ConflictView | None = None
        self._merge_for = ""  # the conflict id the merge text belongs to

        title = QLabel(self.tr("Conflicts"))
        title.setObjectName("pageTitle")
        intro = wrapped_label(
            self.tr(
                "When the same text was changed on two devices before they synced, both "
                "versions are kept here. Compare them and choose which to keep, or merge them."
            ),
            "intro",
        )

        self.tabs = QTabWidget()
        self.tabs.setObjectName("conflictTabs")
        self.tabs.setAccessibleName(self.tr("Conflicts and refused changes"))

        self.tabs.addTab(self._build_conflicts_tab(), self.tr("To resolve"))
        self.tabs.addTab(self._build_refused_tab(), self.tr("Refused by the server"))
        self.tabs.addTab(self._build_billing_tab(), self.tr("Billing"))
        self.tabs.setTabVisible(2, shows_billing_conflicts(ctx.role))

        column(title, intro, (self.tabs, 1), parent=self, margins=(24, 20, 24, 12), spacing=10)
        self._show(None)

    def _build_conflicts_tab(self) -> QWidget:
        """The conflicts to look at, and the one chosen: compared or merged."""
        self.list = read_only_table("conflictList", model=self.model)
        self.list.setAccessibleName(self.tr("Conflicts to look at"))
        self.list.selectionModel().currentRowChanged.connect(self._on_current)
        self.list.setMaximumHeight(190)
        # At least two and a half rows, so a second conflict is seen to be there (the
        # texts below gave the list all but one row).
        self.list.ensurePolished()
        row_h = self.list.verticalHeader().defaultSectionSize()
        head_h = self.list.horizontalHeader().sizeHint().height()
        self.list.setMinimumHeight(min(190, head_h + row_h * 5 // 2 + 4))
        self.empty = wrapped_label(
            self.tr("No conflicts. Everything you and your team wrote fits together."), "emptyHint"
        )

        self.record = wrapped_label(name="conflictRecord")
        self.record.setTextFormat(Qt.TextFormat.RichText)
        self.locked = wrapped_label()
        self.error = wrapped_label(name="error", hidden=True)

        self.detail = QStackedWidget()
        self.detail.addWidget(self._build_compare())
        self.detail.addWidget(self._build_merge())
        self.detail_box = QWidget()
        column(
            self.record, (self.detail, 1), self.locked, self.error,
            parent=self.detail_box, margins=(0, 4, 0, 0), spacing=8,
        )  # fmt: skip

        tab1 = QWidget()
        column(
            self.empty, self.list, (self.detail_box, 1),
            parent=tab1, margins=(12, 12, 12, 12), spacing=10,
        )  # fmt: skip
        return tab1

    def _build_compare(self) -> QWidget:
        """The two versions side by side with a button under each, and the choices."""
        self.current_side = _Side(self.tr("Now in the record"), self.tr("The version kept"))
        self.other_side = _Side(self.tr("The other version"), self.tr("The version that lost"))
        self.keep_current = QPushButton(self.tr("&Keep this version"))
        self.keep_current.setAccessibleName(self.tr("Keep the version now in the record"))
        self.keep_other = QPushButton(self.tr("Keep the &other version"))
        self.keep_other.setAccessibleName(self.tr("Keep the other version"))
        self.merge_button = QPushButton(self.tr("&Merge both…"))
        self.merge_button.setAccessibleName(self.tr("Merge both versions into one text"))
        self.seen_button = QPushButton(self.tr("Mark as &seen"))
        self.seen_button.setAccessibleName(self.tr("Mark this entry as seen"))
        self.restore_button = QPushButton(self.tr("&Restore the record"))
        self.restore_button.setAccessibleName(self.tr("Restore the deleted record"))
        self.leave_button = QPushButton(self.tr("&Leave it deleted"))
        self.leave_button.setAccessibleName(self.tr("Leave the record deleted"))
        self.keep_current.clicked.connect(lambda: self._resolve(cr.Choice.KEEP_CURRENT))
        self.keep_other.clicked.connect(lambda: self._resolve(cr.Choice.KEEP_OTHER))
        self.merge_button.clicked.connect(self.start_merge)
        self.seen_button.clicked.connect(lambda: self._resolve(cr.Choice.SEEN))
        self.restore_button.clicked.connect(lambda: self._resolve(cr.Choice.RESTORE))
        self.leave_button.clicked.connect(lambda: self._resolve(cr.Choice.LEAVE_DELETED))
        sides = QGridLayout()
        sides.setHorizontalSpacing(12)
        sides.addWidget(self.current_side, 0, 0)
        sides.addWidget(self.other_side, 0, 1)
        sides.addWidget(self.keep_current, 1, 0, Qt.AlignmentFlag.AlignLeft)
        sides.addWidget(self.keep_other, 1, 1, Qt.AlignmentFlag.AlignLeft)
        buttons = QHBoxLayout()
        for b in (self.merge_button, self.seen_button, self.restore_button, self.leave_button):
            buttons.addWidget(b)
        buttons.addStretch(1)

        compare = QWidget()
        cl = QVBoxLayout(compare)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addLayout(sides, 1)
        cl.addLayout(buttons)
        return compare

    def _build_merge(self) -> QWidget:
        """Both versions in one text box to edit into the text to keep."""
        self.merge_edit = QPlainTextEdit()
        self.merge_edit.setObjectName("mergeText")
        self.merge_edit.setAccessibleName(self.tr("Merged text"))
        self.merge_edit.setTabChangesFocus(True)
        self.save_merge = QPushButton(self.tr("Save the &merged text"))
        self.save_merge.setObjectName("primary")
        self.save_merge.setAccessibleName(self.tr("Save the merged text"))
        self.save_merge.setToolTip(self.tr("Ctrl+Enter"))
        self.save_merge.clicked.connect(self._save_merge)
        self.cancel_merge = QPushButton(self.tr("Back to &comparing"))
        self.cancel_merge.setAccessibleName(self.tr("Back to comparing; the merged text is kept"))
        self.cancel_merge.clicked.connect(lambda: self.detail.setCurrentIndex(0))
        QShortcut(QKeySequence("Ctrl+Return"), self.merge_edit, self._save_merge)
        merge_hint = wrapped_label(
            self.tr(
                "Both versions are below, the one in the record first. Edit them into the "
                "text to keep, then save. Saving replaces the text in the record."
            )
        )

        merge = QWidget()
        buttons = row(self.save_merge, self.cancel_merge, 1)
        column(merge_hint, (self.merge_edit, 1), buttons, parent=merge, margins=(0, 0, 0, 0))
        return merge

    def _build_refused_tab(self) -> QWidget:
        """The changes the server refused, with its reasons."""
        self.rejected = read_only_table("rejectedList", model=self.rejected_model)
        self.rejected.setAccessibleName(self.tr("Changes the server refused"))
        self.rejected.setWordWrap(True)
        self.rejected.setTextElideMode(Qt.TextElideMode.ElideNone)
        rej_intro = wrapped_label(
            self.tr(
                "The server did not accept these changes, so the record shows the "
                "server's version. The reason is the server's own words. Each stays "
                "here until you send it again or dismiss it."
            )
        )
        tab2 = QWidget()
        t2 = QVBoxLayout(tab2)
        t2.setContentsMargins(12, 12, 12, 12)
        t2.addWidget(rej_intro)
        t2.addWidget(self.rejected, 1)
        self.refused_error = wrapped_label(name="fieldError", hidden=True)
        t2.addWidget(self.refused_error)
        row = QHBoxLayout()
        self.resend_button = QPushButton(self.tr("Send again"))
        self.resend_button.setToolTip(
            self.tr("Write this value into the record again; the next sync sends it.")
        )
        self.dismiss_button = QPushButton(self.tr("Dismiss"))
        self.dismiss_button.setToolTip(self.tr("You have read it; let this change go."))
        self.resend_button.clicked.connect(lambda: self._act_on_refused(resend=True))
        self.dismiss_button.clicked.connect(lambda: self._act_on_refused(resend=False))
        row.addStretch(1)
        row.addWidget(self.resend_button)
        row.addWidget(self.dismiss_button)
        t2.addLayout(row)
        self.rejected.selectionModel().currentRowChanged.connect(self._refused_selected)
        self._refused_selected()
        return tab2

    def _build_billing_tab(self) -> QWidget:
        """Services billed in two live batches (two laptops exporting offline)."""
        intro = wrapped_label(
            self.tr(
                "Services billed in two batches that are both live: two billing laptops "
                "exported them while offline. Keep one batch and void the other in the "
                "billing dialog's Batches tab (with the void claim file if its file was "
                "already sent to the payer)."
            )
        )
        self.billing_text = QPlainTextEdit()
        self.billing_text.setObjectName("billingConflicts")
        self.billing_text.setReadOnly(True)
        self.billing_text.setAccessibleName(self.tr("Billing conflicts"))
        tab = QWidget()
        t = QVBoxLayout(tab)
        t.setContentsMargins(12, 12, 12, 12)
        t.addWidget(intro)
        t.addWidget(self.billing_text, 1)
        return tab

    def _fill_billing(self, found: list[DoubleBill]) -> None:
        lines = []
        for d in found:
            lines.append(
                "Batches "
                + " and ".join(
                    f"{b.control:09d} ({b.payer}, exported by {b.exported_by} on "
                    f"{day_text(date.fromisoformat(b.exported_at[:10]))})"
                    for b in d.batches
                )
            )
            lines.append(d.advice)
            lines.append("")
        self.billing_text.setPlainText(
            "\n".join(lines) if lines else self.tr("No service is billed in two batches.")
        )
        self.tabs.setTabText(2, self.tr("Billing (%1)").replace("%1", str(len(found))))

    def _refused_view(self) -> conflicts.RejectedView | None:
        row = self.rejected.currentIndex().row()
        if not 0 <= row < self.rejected_model.rowCount():
            return None
        return self.rejected_model.row_at(row)

    def _refused_selected(self, *_args: Any) -> None:
        view = self._refused_view()
        self.dismiss_button.setEnabled(view is not None)
        self.resend_button.setEnabled(view is not None and view.record_here)

    def _act_on_refused(self, resend: bool) -> None:
        """Send a refused change again, or dismiss it: the only ways one leaves."""
        view = self._refused_view()
        if view is None:
            return
        self.refused_error.hide()
        stamp = view.stamp
        act = conflicts.resend_refused if resend else conflicts.dismiss_refused

        def done(_none: Any) -> None:
            self.ctx.status_message.emit(
                self.tr("It will be sent again at the next sync.")
                if resend
                else self.tr("Refused change dismissed.")
            )

        def failed(exc: BaseException) -> None:
            text = str(exc) if isinstance(exc, StoreError) else message_for(exc)
            self.refused_error.setText(text)
            self.refused_error.show()

        self.ctx.run(lambda repos: act(repos.store, stamp), done, failed)

    # -- data ---------------------------------------------------------------------------

    def refresh(self) -> None:
        super().refresh()
        role = self.ctx.role

        def read(repos: Any) -> tuple[list, list, list[DoubleBill]]:
            return (
                conflicts.open_conflicts(repos, role),
                conflicts.rejected_changes(repos.store),
                billing_conflicts(repos.store),
            )

        self.ctx.run(read, self._fill)

    def _fill(self, data: tuple[list, list, list[DoubleBill]]) -> None:
        conflicts, rejected, double = data
        self._fill_billing(double)
        keep = self._current.id if self._current else ""
        self.model.set_rows(conflicts)
        self.rejected_model.set_rows(rejected)
        self.list.resizeColumnsToContents()
        for col in range(RejectedModel.COL_REASON):
            self.rejected.resizeColumnToContents(col)
        self.rejected.resizeRowsToContents()
        if rejected:
            self.rejected.selectRow(0)
        self._refused_selected()
        self.tabs.setTabText(0, self.tr("To resolve (%1)").replace("%1", str(len(conflicts))))
        self.tabs.setTabText(
            1, self.tr("Refused by the server (%1)").replace("%1", str(len(rejected)))
        )
        has = bool(conflicts)
        self.empty.setVisible(not has)
        self.list.setVisible(has)
        row = self.model.row_of(keep) if keep else -1
        if has:
            self.list.selectRow(max(row, 0))
            self._on_current(self.model.index(max(row, 0), 0))
        else:
            self._show(None)

    def clear(self) -> None:
        self._current = None
        self._merge_for = ""
        self.model.clear()
        self.rejected_model.clear()
        self.merge_edit.clear()
        self.billing_text.clear()
        self._show(None)
        self._stale = True

    # -- showing one --------------------------------------------------------------------

    def _on_current(self, index: QModelIndex, _previous: Any = None) -> None:
        if not index.isValid():
            self._show(None)
            return
        self._show(self.model.view(index.row()))

    def select(self, conflict_id: str) -> None:
        row = self.model.row_of(conflict_id)
        if row >= 0:
            self.list.selectRow(row)

    def _show(self, view: conflicts.ConflictView | None) -> None:
        self._current = view
        self.error.hide()
        self.detail.setCurrentIndex(0)
        self.detail_box.setVisible(view is not None)
        if view is None:
            self.current_side.clear()
            self.other_side.clear()
            self.record.clear()
            self.locked.clear()
            return
        c = view.conflict
        where = record_text(c.table_name, view.record_date)
        person = f" — {view.participant_name}" if view.participant_name else ""
        self.record.setText(
            f"<b>{_esc(where)}{_esc(person)}</b> · {_esc(field_label(c.table_name, c.field))}"
        )
        text_kind = c.kind == cr.TEXT
        after_delete = c.kind == cr.EDITED_AFTER_DELETE
        if after_delete:
            self.current_side.heading.setText(self.tr("The edit that arrived"))
            self.other_side.heading.setText(self.tr("The record"))
            self.current_side.text.setPlainText(view.kept_text)
            self.other_side.text.setPlainText(
                self.tr("This record was deleted on another device.")
                if view.record_deleted
                else self.tr("This record is no longer deleted.")
            )
            self.current_side.meta.setText(who_text(view, c.kept_stamp, lost=False))
            self.other_side.meta.clear()
        else:
            self.current_side.heading.setText(self.tr("Now in the record"))
            self.other_side.heading.setText(self.tr("The other version"))
            shown = view.current_text if text_kind else view.kept_text
            self.current_side.text.setPlainText(shown)
            self.other_side.text.setPlainText(view.lost_text)
            meta = who_text(view, c.kept_stamp, lost=False)
            if view.changed_since:
                meta = self.tr("Changed again since the conflict.")
            self.current_side.meta.setText(meta)
            self.other_side.meta.setText(who_text(view, c.lost_stamp, lost=True))
        for b in (self.keep_current, self.keep_other, self.merge_button):
            b.setVisible(text_kind)
        self.seen_button.setVisible(not text_kind and not after_delete)
        self.restore_button.setVisible(after_delete and view.record_deleted)
        self.leave_button.setVisible(after_delete)
        editable = not view.locked_reason
        self.keep_other.setEnabled(editable)
        self.merge_button.setEnabled(editable)
        self.locked.setText(view.locked_reason)
        self.locked.setVisible(bool(view.locked_reason))
        if self._merge_for != view.id:
            self.merge_edit.clear()

    # -- resolving ----------------------------------------------------------------------

    def start_merge(self) -> None:
        view = self._current
        if view is None or view.kind != cr.TEXT:
            return
        if self._merge_for != view.id or not self.merge_edit.toPlainText().strip():
            self.merge_edit.setPlainText(cr.merge_prefill(view.current_text, view.lost_text))
            self._merge_for = view.id
        self.detail.setCurrentIndex(1)
        self.merge_edit.setFocus()

    def _save_merge(self) -> None:
        self._resolve(cr.Choice.MERGE, self.merge_edit.toPlainText())

    def _resolve(self, choice: cr.Choice, merged: str | None = None) -> None:
        view = self._current
        if view is None:
            return
        if choice is cr.Choice.MERGE and not (merged or "").strip():
            self._show_error(self.tr("The merged text is empty. Write the text to keep."))
            return
        self.error.hide()
        role = self.ctx.role
        conflict_id = view.id

        def done(_resolved: Any) -> None:
            if self._merge_for == conflict_id:
                self._merge_for = ""
                self.merge_edit.clear()
            self._current = None
            self.ctx.status_message.emit(self.tr("Conflict resolved. It will sync with your work."))

        self.ctx.run(
            conflicts.resolve_conflict,
            done,
            self._failed,
            args=(conflict_id, choice, merged, role),
        )

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, cr.ResolutionError | LifecycleError | StoreError):
            text = str(exc)
            text = text[:1].upper() + text[1:]
        else:
            text = message_for(exc)
        self._show_error(text)

    def _show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
