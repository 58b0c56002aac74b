"""One recovery goal on a participant's Goals tab: its statement, status, target
date and steps, ticked in place.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox
from PySide6.QtWidgets import QFrame
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QProgressBar
from PySide6.QtWidgets import QPushButton

from app.domain.datetext import day_text
from app.domain.records import Goal
from app.domain.records import GoalStatus
from app.ui.common.forms import wrapped_label
from app.ui.common.layouts import column

if TYPE_CHECKING:
    from app.ui.participant.participant_page import ParticipantPage


class GoalCard(QFrame):
    """One goal: statement, status and target, a progress bar and its steps."""

    def __init__(self, page: ParticipantPage, goal: Goal) -> None:
        super().__init__()
        self.setObjectName("goalCard")
        self.page = page
        self.goal = goal
        tr = self.tr
        self.statement = wrapped_label(goal.statement, "goalStatement")
        self.statement.setTextFormat(Qt.TextFormat.PlainText)
        self.meta = wrapped_label()
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
        layout = column(
            head, self.meta, self.progress, parent=self, margins=(14, 10, 14, 10), spacing=6
        )
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
                    day_text(goal.target_date)
                )
            )
            self.meta.setProperty("overdue", overdue)
        if goal.achieved_on:
            bits.append(self.tr("Achieved {0}").format(day_text(goal.achieved_on)))
        self.meta.setText(" · ".join(bits))
