"""The Consents tab of a participant's record: Part 2 consents, adding and revoking
one. Part of :class:`app.ui.participant.participant_page.ParticipantPage`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.domain.attention import ConsentState
from app.domain.datetext import day_text
from app.services import records
from app.ui.common.columns import ColumnFitter
from app.ui.common.columns import read_only_table
from app.ui.common.forms import wrapped_label
from app.ui.participant.models import ConsentModel
from app.ui.participant.record_dialogs import ConsentDialog
from app.ui.participant.record_dialogs import RevokeDialog


class ConsentsTabMixin:
    """The Consents tab and its actions."""

    def _consents_tab(self) -> QWidget:
        tr = self.tr
        self.consent_model = ConsentModel(self)
        self.consent_table = read_only_table("consentTable", tr("Consents"))
        self.consent_table.setModel(self.consent_model)
        self.consent_table.selectionModel().currentRowChanged.connect(self._consent_selected)
        self.consent_detail = wrapped_label(name="consentDetail")
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

    def _show_consents(self, record: records.ParticipantRecord) -> None:
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
            lines.append(tr("Revoked {0}: {1}").format(day_text(c.revoked_on), c.revocation_note))
        self.consent_detail.setText("\n".join(lines))
        self.consent_detail.show()
        self.revoke_button.setEnabled(c.revoked_on is None)
