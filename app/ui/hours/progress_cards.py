"""The progress cards on the Hours page: a title, a progress bar and lines of detail,
one toward the next credential (CPSS II) and one for continuing education.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QProgressBar
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.domain.datetext import day_text
from app.domain.datetext import duration_text
from app.domain.datetext import whole_hours_text
from app.domain.hours import AdvanceProgress
from app.domain.hours import CeProgress
from app.ui.common.forms import wrapped_label


class ProgressCard(QFrame):
    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.title = QLabel(title)
        self.title.setObjectName("sectionTitle")
        self.bar = QProgressBar()
        self.bar.setObjectName("hoursProgress")
        self.bar.setRange(0, 1000)
        self.bar.setAccessibleName(title)
        self.lines = wrapped_label(name="cardText")
        self.lines.setTextFormat(Qt.TextFormat.PlainText)
        self.warning = wrapped_label(name="cardWarning", hidden=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(6)
        layout.addWidget(self.title)
        layout.addWidget(self.bar)
        layout.addWidget(self.lines)
        layout.addWidget(self.warning)
        layout.addStretch(1)

    def show_values(self, fraction: float, bar_text: str, lines: str, warning: str = "") -> None:
        self.bar.setValue(round(fraction * 1000))
        self.bar.setFormat(bar_text)
        self.bar.setAccessibleDescription(bar_text)
        self.lines.setText(lines)
        self.warning.setText(warning)
        self.warning.setVisible(bool(warning))

    def clear(self) -> None:
        self.show_values(0.0, "", "")


class AdvanceCard(ProgressCard):
    """Direct service hours toward the next credential."""

    def show_progress(self, p: AdvanceProgress) -> None:
        done = duration_text(p.done_minutes)
        if not p.target:
            self.title.setText(self.tr("Direct service"))
            self.show_values(
                0.0,
                done,
                self.tr("{h} of direct service in all.").format(h=done),
            )
            return
        self.title.setText(self.tr("Toward {target}").format(target=p.target))
        target = whole_hours_text(p.target_minutes)
        if p.reached:
            self.show_values(
                1.0,
                self.tr("{target} held").format(target=p.target),
                self.tr("You hold {target}. {h} of direct service logged in all.").format(
                    target=p.target, h=done
                ),
            )
            return
        self.show_values(
            p.fraction,
            self.tr("{done} of {target}").format(done=done, target=target),
            self.tr("{left} of direct service to go. Hours come from your notes.").format(
                left=duration_text(p.remaining_minutes)
            ),
        )


class CeCard(ProgressCard):
    """Continuing education toward recertification."""

    def show_progress(self, ce: CeProgress, credential: str) -> None:
        if not ce.required_minutes and not credential:
            self.show_values(
                0.0,
                duration_text(ce.minutes),
                self.tr("{h} of training in the last two years.").format(
                    h=duration_text(ce.minutes)
                ),
                self.tr("Your credential is not set, so no recertification is tracked."),
            )
            return
        needed = whole_hours_text(ce.required_minutes)
        bar = self.tr("{done} of {need}").format(done=duration_text(ce.minutes), need=needed)
        lines = [
            self.tr("Ethics: {done} of {need}").format(
                done=duration_text(ce.ethics_minutes),
                need=duration_text(ce.ethics_required_minutes),
            )
            + (" ✓" if ce.ethics_minutes >= ce.ethics_required_minutes else ""),
        ]
        warnings = []
        if ce.period_end is not None:
            when = day_text(ce.period_end)
            if ce.days_left is not None and ce.days_left < 0:
                warnings.append(self.tr("Recertification was due {when}.").format(when=when))
            else:
                lines.append(
                    self.tr("Recertify by {when} ({n} days), counting from {start}.").format(
                        when=when, n=ce.days_left, start=day_text(ce.period_start)
                    )
                )
        else:
            lines.append(self.tr("Counting the last two years."))
            warnings.append(
                self.tr("Your certification dates are not set, so the deadline is unknown.")
            )
        if ce.without_evidence:
            warnings.append(
                self.tr("{n} training entries have no certificate or evidence recorded.").format(
                    n=ce.without_evidence
                )
                if ce.without_evidence > 1
                else self.tr("1 training entry has no certificate or evidence recorded.")
            )
        if ce.met:
            lines.append(self.tr("Requirement met."))
        self.show_values(ce.fraction, bar, "\n".join(lines), " ".join(warnings))
