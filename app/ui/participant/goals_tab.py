"""The Goals tab of a participant's record: one card per recovery goal by domain,
steps ticked in place (written on the database lane from the goal as stored, so
quick ticks never undo each other). Part of
:class:`app.ui.participant.participant_page.ParticipantPage`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog
from PySide6.QtWidgets import QGridLayout
from PySide6.QtWidgets import QGroupBox
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.domain.records import Goal
from app.domain.records import GoalStatus
from app.domain.records import RecoveryDomain
from app.services import records
from app.services.failures import message_for
from app.ui.common.layouts import scrolled
from app.ui.participant.goal_card import GoalCard
from app.ui.participant.record_dialogs import GoalDialog


class GoalsTabMixin:
    """The Goals tab and its actions."""

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
        self.goals_scroll = scrolled(body)
        self.goals_scroll.viewport().installEventFilter(self)
        return self.goals_scroll

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

        def failed(exc: BaseException) -> None:
            if card is not None and goal_id in self.goal_cards:
                card.update_goal(card.goal)  # back to what the vault holds
            self.ctx.status_message.emit(self.tr("The step was not saved. ") + message_for(exc))

        self.ctx.run(records.tick_goal_step, saved, failed, args=(goal_id, index, done))
