"""The Preferences dialog: idle lock time, text size, default payer, automatic
sync, the specialist's usual hours and longest service (asked about before a note
is signed), and connecting this laptop to the organization's server (enrolment).

Preferences are stored through app.ui.shell.settings (QSettings, no personal data),
except the usual hours and longest service: they are the person's own, kept in the
vault (app.services.notes.time_policy) and read and written on the database worker.
The server connection lives in the vault and is made by
:meth:`app.ui.sync.controller.SyncController.enroll` on the network and database
threads; this dialog only collects and checks what the person types, shows the
outcome next to the form, and never clears what was typed when something fails.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from PySide6.QtCore import Qt
from PySide6.QtCore import QTime
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QCheckBox
from PySide6.QtWidgets import QComboBox
from PySide6.QtWidgets import QDialog
from PySide6.QtWidgets import QDialogButtonBox
from PySide6.QtWidgets import QFileDialog
from PySide6.QtWidgets import QFormLayout
from PySide6.QtWidgets import QFrame
from PySide6.QtWidgets import QGroupBox
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QSpinBox
from PySide6.QtWidgets import QTimeEdit
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.domain.note_times import LONGEST_RANGE
from app.domain.note_times import TimePolicy
from app.domain.note_times import policy_problem
from app.services import enrolment
from app.services import notes
from app.services import site_settings
from app.services import syncing
from app.ui.common.forms import wrapped_label
from app.ui.common.layouts import column
from app.ui.common.text import plural
from app.ui.notes.note_widgets import twelve_hour_locale
from app.ui.shell import settings as s
from app.ui.shell.context import AppContext
from app.ui.sync.controller import SyncController

_FINGERPRINT = re.compile(r"^[0-9A-Fa-f]{64}$")
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def check_address(text: str) -> str:
    """'' when ``text`` is a server address PeerTrail can use, else why not."""
    text = text.strip()
    if not text:
        return "Enter the server's address, e.g. https://sync.example.org."
    parts = urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "The address starts with https:// and names the server."
    if parts.scheme == "http" and parts.hostname not in _LOCAL_HOSTS:
        return "The address must start with https:// so the connection is private."
    if " " in text:
        return "An address has no spaces."
    return ""


def check_fingerprint(text: str) -> str:
    """'' for an empty fingerprint (the server has a certificate from a known
    authority) or 64 hexadecimal digits, with or without colons."""
    bare = text.strip().replace(":", "").replace(" ", "")
    if not bare or _FINGERPRINT.match(bare):
        return ""
    return "Use the 64 letters and digits (0-9, A-F) your administrator sent."


def _field_error() -> QLabel:
    label = QLabel()
    label.setObjectName("fieldError")
    label.hide()
    return label


class PreferencesDialog(QDialog):
    """Preferences. ``ctx`` / ``controller`` are the open session's (None when
    locked: then only the app-wide preferences can be changed)."""

    #: Emitted after OK with the keys whose values changed.
    settings_changed = Signal(object)

    def __init__(
        self,
        settings: s.Settings,
        ctx: AppContext | None = None,
        controller: SyncController | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("preferencesDialog")
        self.setWindowTitle(self.tr("Preferences"))
        self.setModal(True)
        self.settings = settings
        self.ctx = ctx
        self.controller = controller

        general = self._build_general()
        times = self._build_times()
        server = self._build_server()

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setObjectName("separator")

        column(
            general, times, server, 1, line, self.buttons,
            parent=self, margins=(20, 18, 20, 14), spacing=12,
        )  # fmt: skip

        if controller is not None:
            controller.enrolment_finished.connect(self._on_enrolled)
        self._load_session()

    def _build_general(self) -> QGroupBox:
        """Idle lock, text size, the payer for new notes, automatic sync."""
        self.idle_minutes = QSpinBox()
        opt = s.BY_KEY[s.IDLE_LOCK_MINUTES]
        self.idle_minutes.setRange(opt.minimum or 1, opt.maximum or 240)
        self.idle_minutes.setSuffix(self.tr(" minutes"))
        self.idle_minutes.setValue(self.settings.idle_lock_minutes)
        self.idle_minutes.setAccessibleName(opt.tr_label())
        self.font_size = QSpinBox()
        opt = s.BY_KEY[s.FONT_SIZE]
        self.font_size.setRange(opt.minimum or 9, opt.maximum or 24)
        self.font_size.setSuffix(self.tr(" pt"))
        self.font_size.setValue(self.settings.font_size)
        self.font_size.setAccessibleName(opt.tr_label())
        self.payer = QComboBox()
        self.payer.setAccessibleName(s.BY_KEY[s.DEFAULT_PAYER].tr_label())
        self.payer.addItem(self.tr("The participant's own payer"), "")
        self.payer.setMinimumContentsLength(24)
        self.auto_sync = QCheckBox(s.BY_KEY[s.AUTO_SYNC].tr_label())
        self.auto_sync.setChecked(self.settings.auto_sync)
        self.auto_sync.setAccessibleName(s.BY_KEY[s.AUTO_SYNC].tr_label())

        general = QGroupBox(self.tr("General"))
        form = QFormLayout(general)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.addRow(self.tr("&Lock after"), self.idle_minutes)
        form.addRow(self.tr("&Text size"), self.font_size)
        form.addRow(self.tr("&Payer for new notes"), self.payer)
        form.addRow("", self.auto_sync)
        return general

    def _build_times(self) -> QGroupBox:
        """The specialist's usual hours and longest service (kept in the vault)."""
        fmt = "h:mm AP" if twelve_hour_locale() else "HH:mm"
        self.day_starts = QTimeEdit()
        self.day_ends = QTimeEdit()
        for edit, name in (
            (self.day_starts, self.tr("Usual hours start")),
            (self.day_ends, self.tr("Usual hours end")),
        ):
            edit.setDisplayFormat(fmt)
            edit.setAccessibleName(name)
        self.longest = QSpinBox()
        self.longest.setRange(*LONGEST_RANGE)
        self.longest.setSingleStep(15)
        self.longest.setSuffix(self.tr(" minutes"))
        self.longest.setAccessibleName(self.tr("Ask about services longer than"))
        self.times_error = _field_error()
        self.times_hint = QLabel(
            self.tr(
                "A note with a time outside these hours, or a longer service, asks you "
                "before it is signed."
            )
        )
        self.times_hint.setObjectName("hint")
        self.times_hint.setWordWrap(True)
        hours = QHBoxLayout()
        hours.addWidget(self.day_starts)
        hours.addWidget(QLabel(self.tr("to")))
        hours.addWidget(self.day_ends)
        hours.addStretch(1)
        group = QGroupBox(self.tr("Your notes"))
        form = QFormLayout(group)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        label = QLabel(self.tr("&Usual hours"))
        label.setBuddy(self.day_starts)
        form.addRow(label, hours)
        form.addRow(self.tr("Ask about services &longer than"), self.longest)
        form.addRow("", self.times_error)
        form.addRow(self.times_hint)  # the whole width: a sentence, not a field
        self._policy: TimePolicy | None = None  # as read from the vault
        self._show_policy(TimePolicy())
        group.setEnabled(False)  # until read from the vault (never when locked)
        self.times_group = group
        return group

    def _show_policy(self, policy: TimePolicy) -> None:
        self.day_starts.setTime(QTime(policy.day_starts.hour, policy.day_starts.minute))
        self.day_ends.setTime(QTime(policy.day_ends.hour, policy.day_ends.minute))
        self.longest.setValue(policy.longest_minutes)

    def _fill_times(self, policy: TimePolicy) -> None:
        self._policy = policy
        self._show_policy(policy)
        self.times_group.setEnabled(True)
        self._fit()

    def time_policy(self) -> TimePolicy:
        """The usual hours and longest service as the form shows them."""
        start, end = self.day_starts.time(), self.day_ends.time()
        return TimePolicy(
            day_starts=start.toPython(),
            day_ends=end.toPython(),
            longest_minutes=self.longest.value(),
        )

    def _build_server(self) -> QGroupBox:
        """The server this laptop syncs with, and the form that connects it."""
        self.server_status = wrapped_label(name="serverStatus")
        self.invite = QLineEdit()
        self.invite.setObjectName("inviteEdit")
        self.invite.setPlaceholderText(self.tr("PT-… (then only your password)"))
        self.invite.setAccessibleName(self.tr("Invite code"))
        self.invite_error = _field_error()
        self.invite_file_button = QPushButton(self.tr("Open an invite &file…"))
        self.invite_file_button.setObjectName("link")
        self.invite_file_button.setFlat(True)
        self.invite_file_button.setAccessibleName(self.tr("Open an invite file"))
        self.invite_file_button.clicked.connect(self._choose_invite_file)
        self.not_sent_note = wrapped_label(name="warning", hidden=True)
        self.address = QLineEdit()
        self.address.setPlaceholderText("https://sync.example.org")
        self.address.setAccessibleName(self.tr("Server address"))
        self.fingerprint = QLineEdit()
        self.fingerprint.setPlaceholderText(self.tr("From your administrator (if given)"))
        self.fingerprint.setAccessibleName(self.tr("Server certificate fingerprint"))
        self.username = QLineEdit()
        self.username.setAccessibleName(self.tr("Your user name on the server"))
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName(self.tr("Your password on the server"))
        self.address_error = _field_error()
        self.fingerprint_error = _field_error()
        self.username_error = _field_error()
        self.password_error = _field_error()
        self.connect_button = QPushButton(self.tr("&Connect this laptop"))
        self.connect_button.setObjectName("primary")
        self.connect_button.setAccessibleName(self.tr("Connect this laptop to the server"))
        self.connect_button.clicked.connect(self.start_enrolment)
        self.enrol_result = wrapped_label(name="error", hidden=True)

        self.enrol_form = QWidget()
        ef = QFormLayout(self.enrol_form)
        ef.setContentsMargins(0, 0, 0, 0)
        ef.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        ef.addRow("", self.not_sent_note)
        for text, edit, err in (
            (self.tr("&Invite code"), self.invite, self.invite_error),
            (self.tr("&Address"), self.address, self.address_error),
            (self.tr("&Fingerprint"), self.fingerprint, self.fingerprint_error),
            (self.tr("&User name"), self.username, self.username_error),
            (self.tr("Pass&word"), self.password, self.password_error),
        ):
            label = QLabel(text)
            label.setBuddy(edit)
            ef.addRow(label, edit)
            ef.addRow("", err)
            if edit is self.invite:
                ef.addRow("", self.invite_file_button)
        row = QHBoxLayout()
        row.addWidget(self.connect_button)
        row.addStretch(1)
        ef.addRow("", row)

        server = QGroupBox(self.tr("Server"))
        sl = QVBoxLayout(server)
        sl.addWidget(self.server_status)
        sl.addWidget(self.enrol_form)
        sl.addWidget(self.enrol_result)
        return server

    def _choose_invite_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, self.tr("Open an invite file"), "", self.tr("Invite files (*.txt);;All files (*)")
        )
        if path:
            self.use_invite_file(path)

    def use_invite_file(self, path: str) -> bool:
        """Fills the invite code from an invite file (its error under the field)."""
        try:
            code = enrolment.invite_code_from_file(path)
        except enrolment.EnrolmentError as e:
            self.invite_error.setText(str(e))
            self.invite_error.show()
            return False
        self.invite.setText(code)
        self.invite_error.hide()
        self.password.setFocus()
        return True

    # -- session parts ---------------------------------------------------------------------

    def _load_session(self) -> None:
        if self.ctx is not None:
            self.ctx.run(notes.time_policy, self._fill_times, args=(self.ctx.user.id,))
        else:
            self.times_hint.setText(self.tr("Unlock PeerTrail to set your usual hours."))
        if self.ctx is None or self.controller is None:
            self.server_status.setText(
                self.tr("Unlock PeerTrail to connect this laptop to your organization's server.")
            )
            self.enrol_form.hide()
            self.payer.setEnabled(False)
            return
        self.server_status.setText(self.tr("Reading…"))

        self._apply_site()

        def read(repos: Any) -> tuple[dict[str, str], list[tuple[str, str]], list[Any]]:
            payers = [(p.id, p.name) for p in repos.payers.list(order_by="name")]
            server = syncing.sync_server(repos.store)
            held = [] if server.get("token") else enrolment.not_sent(repos.store)
            return server, payers, held

        self.ctx.run(read, self._fill_session)

    def _fill_session(self, data: tuple[dict[str, str], list[tuple[str, str]], list[Any]]) -> None:
        server, payers, held = data
        self._show_not_sent(held)
        chosen = self.settings.default_payer_id
        for pid, name in payers:
            self.payer.addItem(name, pid)
        index = self.payer.findData(chosen)
        self.payer.setCurrentIndex(max(index, 0))
        self._show_server(server)

    def _show_server(self, server: dict[str, str]) -> None:
        if server.get("url") and server.get("token"):
            who = server.get("username", "")
            text = self.tr("This laptop is connected to %1").replace("%1", server["url"])
            if who:
                text += self.tr(" as %1.").replace("%1", who)
            else:
                text += "."
            self.server_status.setText(text)
            self.enrol_form.hide()
        else:
            self.server_status.setText(
                self.tr(
                    "This laptop is not connected to a server: your work stays here only. "
                    "Your administrator gives you an invite code, or the address, the "
                    "fingerprint and your user name."
                )
            )
            self.enrol_form.show()
        self._fit()  # the longer text came after the dialog was sized: grow to show it all

    # -- enrolment ---------------------------------------------------------------------------

    def _apply_site(self) -> None:
        """The machine-wide settings pre-set (and pin) the server's address and fingerprint."""
        site = site_settings.load()
        if site.presets_server:
            self.address.setText(site.server)
            self.fingerprint.setText(site.fingerprint)
        self.address.setReadOnly(site.presets_server)
        self.fingerprint.setReadOnly(site.presets_server)

    def _show_not_sent(self, held: list[Any]) -> None:
        """What enrolling keeps on this laptop (the service's plan), before enrolling."""
        if not held:
            self.not_sent_note.hide()
            return
        lines = [
            plural(self, h.changes, "%n change", "%n changes")
            + " "
            + plural(self, h.records, "to %n {table} record", "to %n {table} records").format(
                table=h.table
            )
            + f": {h.reason}"
            for h in held
        ]
        self.not_sent_note.setText(
            self.tr("Connecting keeps these on this laptop; they will not be sent:")
            + "\n"
            + "\n".join(lines)
        )
        self.not_sent_note.show()

    def validate_enrolment(self) -> bool:
        if self.invite.text().strip():
            problem = "" if self.password.text() else "Enter your password."
            for label in (self.address_error, self.fingerprint_error, self.username_error):
                label.hide()
            self.invite_error.hide()
            self.password_error.setText(self.tr(problem) if problem else "")
            self.password_error.setVisible(bool(problem))
            self._fit()
            return not problem
        self.invite_error.hide()
        checks = (
            (self.address_error, check_address(self.address.text())),
            (self.fingerprint_error, check_fingerprint(self.fingerprint.text())),
            (
                self.username_error,
                "" if self.username.text().strip() else "Enter your user name on the server.",
            ),
            (self.password_error, "" if self.password.text() else "Enter your password."),
        )
        ok = True
        for label, problem in checks:
            label.setText(self.tr(problem) if problem else "")
            label.setVisible(bool(problem))
            ok = ok and not problem
        self._fit()
        return ok

    def _fit(self) -> None:
        """Grow to show every message in full (never shrink under the person)."""
        self.layout().activate()
        hint = self.sizeHint()
        width = max(hint.width(), self.width())
        if self.layout().hasHeightForWidth():  # wrapped sentences: their height at this width
            hint.setHeight(max(hint.height(), self.layout().totalHeightForWidth(width)))
        if hint.width() > self.width() or hint.height() > self.height():
            self.resize(max(hint.width(), self.width()), max(hint.height(), self.height()))

    def start_enrolment(self) -> None:
        self.enrol_result.hide()
        if self.controller is None or not self.validate_enrolment():
            return
        self.connect_button.setEnabled(False)
        self.connect_button.setText(self.tr("Connecting…"))
        if self.invite.text().strip():
            self.controller.enroll_invite(
                self.invite.text(), self.password.text(), QApplication.applicationName()
            )
            return
        self.controller.enroll(
            self.address.text(),
            self.fingerprint.text().strip(),
            self.username.text().strip(),
            self.password.text(),
            device_name=QApplication.applicationName(),
        )

    def _on_enrolled(self, ok: bool, text: str) -> None:
        self.connect_button.setEnabled(True)
        self.connect_button.setText(self.tr("&Connect this laptop"))
        if ok:
            self.password.clear()
            self.enrol_result.setObjectName("success")
            self.invite.clear()
            self.not_sent_note.hide()
            self._show_server(
                {
                    "url": self.address.text().strip().rstrip("/") or self.tr("the server"),
                    "token": "yes",
                    "username": self.username.text().strip(),
                }
            )
        else:
            self.enrol_result.setObjectName("error")
        self.enrol_result.setText(text)
        self.enrol_result.style().unpolish(self.enrol_result)
        self.enrol_result.style().polish(self.enrol_result)
        self.enrol_result.show()
        self._fit()

    # -- saving ------------------------------------------------------------------------------

    def values(self) -> dict[str, Any]:
        return {
            s.IDLE_LOCK_MINUTES: self.idle_minutes.value(),
            s.FONT_SIZE: self.font_size.value(),
            s.DEFAULT_PAYER: self.payer.currentData() or "",
            s.AUTO_SYNC: self.auto_sync.isChecked(),
        }

    def save(self) -> set[str]:
        """Store the values; apply the text size at once. Returns the changed keys."""
        changed = set()
        for key, value in self.values().items():
            if key == s.DEFAULT_PAYER and not self.payer.isEnabled():
                continue  # the payers were not read (locked): keep the stored choice
            if self.settings.get(key) != value:
                self.settings.set(key, value)
                changed.add(key)
        if s.FONT_SIZE in changed:
            app = QApplication.instance()
            if isinstance(app, QApplication):
                s.apply_font_size(app, self.settings.font_size)
        if s.AUTO_SYNC in changed and self.controller is not None:
            self.controller.auto = self.settings.auto_sync
        return changed

    def save_times(self) -> bool:
        """Keep new usual hours and longest service in the vault (on the worker; the
        note editor hears of it). False, with the reason by the fields, when the
        values cannot be used."""
        if self._policy is None or self.ctx is None:
            return True  # not read (locked): nothing to keep
        policy = self.time_policy()
        problem = policy_problem(policy)
        self.times_error.setText(self.tr(problem) if problem else "")
        self.times_error.setVisible(bool(problem))
        if problem:
            self._fit()
            self.day_ends.setFocus()
            return False
        if policy != self._policy:
            self.ctx.run(notes.save_time_policy, args=(self.ctx.user.id, policy))
            self._policy = policy
        return True

    def accept(self) -> None:
        if not self.save_times():
            return
        changed = self.save()
        super().accept()
        if changed:
            self.settings_changed.emit(frozenset(changed))

    def keyPressEvent(self, event: Any) -> None:
        # Enter in the enrolment fields connects instead of closing the dialog
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.enrol_form.isVisible():
            focus = self.focusWidget()
            if focus in (self.address, self.fingerprint, self.username, self.password):
                self.start_enrolment()
                return
        super().keyPressEvent(event)
