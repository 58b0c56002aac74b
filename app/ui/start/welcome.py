"""The first start of a freshly installed PeerTrail (no vault in the data folder
yet): a short welcome that explains the passphrase and the recovery key in plain
words, offers the demo caseload, and offers to connect to the agency's server
once the vault exists. Every step can be skipped: the app works fully alone.

:class:`WelcomePage` comes before the create page; :class:`EnrolPage` comes after
the recovery key when the person said their agency gave them a server: an invite
code (typed, or read from an invite file) and the password, or the server address,
fingerprint and user name; the machine-wide settings file pre-sets and pins the
server. The enrolment itself (:mod:`app.services.enrolment`) runs on the database
thread; the password is sent once and never kept.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox
from PySide6.QtWidgets import QFileDialog
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from app.services.enrolment import EnrolmentError
from app.services.enrolment import check_invite
from app.services.enrolment import invite_code_from_file
from app.services.enrolment import normalise_fingerprint
from app.services.enrolment import normalise_server
from app.services.site_settings import SiteSettings
from app.services.site_settings import load as load_site_settings
from app.ui.start.pages import Page
from app.ui.start.pages import label
from app.ui.start.pages import link
from app.ui.start.pages import primary

WELCOME_POINTS = (
    (
        "Your records stay on this laptop",
        "PeerTrail keeps your caseload, notes and hours in a locked (encrypted) vault "
        "on this laptop. It works with no internet connection.",
    ),
    (
        "You choose a passphrase",
        "The passphrase locks the vault. A few words you will remember work best. "
        "No one else knows it, and no one, not even your agency, can look it up.",
    ),
    (
        "You get a recovery key, once",
        "Right after, PeerTrail shows a recovery key. Write it on paper and keep it "
        "somewhere safe, away from the laptop. If you ever forget your passphrase, it "
        "is the only way back into your records.",
    ),
    (
        "Your agency's server is optional",
        "If your agency gave you a server address, PeerTrail can send your notes to "
        "your supervisor when you are online. You can connect now, later, or never.",
    ),
)


class WelcomePage(Page):
    """What PeerTrail is about to ask for, and why; demo or set up."""

    #: Set up a vault; True when the person wants to connect to a server after.
    start_requested = Signal(bool)
    demo_requested = Signal()

    def __init__(self) -> None:
        super().__init__(
            "Welcome to PeerTrail",
            "Caseload, notes and hours for peer support. Setting up takes a minute.",
            "welcomePage",
        )
        for title, text in WELCOME_POINTS:
            self.body.addWidget(label(title, "welcomePoint"))
            self.body.addWidget(label(text, "welcomeText"))
        self.body.addSpacing(4)
        self.server_check = QCheckBox("My agency gave me a server address to connect to")
        self.server_check.setObjectName("serverCheck")
        self.body.addWidget(self.server_check)
        self.add_status()
        self.start_button = primary("Set up my vault")
        self.start_button.clicked.connect(
            lambda: self.start_requested.emit(self.server_check.isChecked())
        )
        self.demo_button = link("Try the demo with invented people first")
        self.demo_button.clicked.connect(self.demo_requested)
        buttons = QHBoxLayout()
        buttons.addWidget(self.demo_button)
        buttons.addStretch(1)
        buttons.addWidget(self.start_button)
        self.body.addSpacing(8)
        self.body.addLayout(buttons)
        self._inputs += [self.server_check, self.start_button, self.demo_button]

    def reset(self) -> None:
        self.server_check.setChecked(False)
        self.show_error("")
        self.set_busy(False)


class EnrolPage(Page):
    """An invite code (or file) and the password; or, without a code, the server
    address, certificate fingerprint and user name. The machine-wide settings
    (app.services.site_settings) pre-set and pin the server when an agency's IT
    person installed them."""

    #: (server, fingerprint, username, password), already checked for form.
    submitted = Signal(str, str, str, str)
    #: An :class:`app.services.enrolment.InviteRequest`, checked (not expired, for
    #: the pinned server if any).
    invite_submitted = Signal(object)
    skipped = Signal()

    def __init__(self) -> None:
        super().__init__(
            "Connect to your agency's server",
            "Type the invite code your administrator gave you and your password. Your "
            "notes then reach the server whenever you are online. You can skip this and "
            "connect later.",
            "enrolPage",
        )
        self.site = SiteSettings()
        self.invite = QLineEdit()
        self.invite.setObjectName("inviteEdit")
        self.invite.setPlaceholderText("PT-…")
        self.invite.setAccessibleName("Invite code")
        self.invite_file_button = link("Open an invite file…")
        self.invite_file_button.clicked.connect(self._choose_invite_file)
        self.add_field("Invite code", self.invite)
        self.body.addWidget(self.invite_file_button)
        self.manual_button = link("No invite code? Type the server address instead")
        self.manual_button.setObjectName("manualButton")
        self.manual_button.clicked.connect(lambda: self.show_manual(True))
        self.body.addWidget(self.manual_button)
        self._build_manual()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("Password")
        self.password.setToolTip("Sent once to the server; not kept on this laptop.")
        self.add_field("Password", self.password)
        self.add_status()
        self.connect_button = primary("Connect")
        self.connect_button.clicked.connect(self._submit)
        self.skip_button = link("Skip: use PeerTrail on this laptop only")
        self.skip_button.clicked.connect(self.skipped)
        buttons = QHBoxLayout()
        buttons.addWidget(self.skip_button)
        buttons.addStretch(1)
        buttons.addWidget(self.connect_button)
        self.body.addSpacing(8)
        self.body.addLayout(buttons)
        self._inputs += [self.connect_button, self.skip_button, self.invite_file_button]
        self.invite.returnPressed.connect(self.password.setFocus)
        self.server.returnPressed.connect(self.fingerprint.setFocus)
        self.fingerprint.returnPressed.connect(self.username.setFocus)
        self.username.returnPressed.connect(self.password.setFocus)
        self.password.returnPressed.connect(self._submit)
        self.show_manual(False)

    def _build_manual(self) -> None:
        self.manual = QWidget()
        self.manual.setObjectName("manualEnrol")
        box = QVBoxLayout(self.manual)
        box.setContentsMargins(0, 0, 0, 0)
        self.site_note = label("", "hint")
        box.addWidget(self.site_note)
        self.server = QLineEdit()
        self.server.setPlaceholderText("https://peertrail.example.org:8443")
        self.server.setAccessibleName("Server address")
        self.fingerprint = QLineEdit()
        self.fingerprint.setObjectName("fingerprintEdit")
        self.fingerprint.setPlaceholderText("AB:CD:EF:… (leave empty if you were not given one)")
        self.fingerprint.setAccessibleName("Certificate fingerprint")
        self.fingerprint.setToolTip(
            "A long code of letter pairs that proves the server is your agency's."
        )
        self.username = QLineEdit()
        self.username.setAccessibleName("User name")
        for caption, edit in (
            ("Server address", self.server),
            ("Certificate fingerprint", self.fingerprint),
            ("User name", self.username),
        ):
            cap = label(caption, "fieldLabel")
            cap.setBuddy(edit)
            box.addWidget(cap)
            box.addWidget(edit)
            self._inputs.append(edit)
        self.body.addWidget(self.manual)

    def show_manual(self, shown: bool) -> None:
        self.manual.setVisible(shown)
        self.manual_button.setVisible(not shown)
        if shown and not self.site.presets_server:
            self.server.setFocus()

    def apply_site(self, site: SiteSettings) -> None:
        """Pre-set (and pin) the server from the machine-wide settings file."""
        self.site = site
        pinned = site.presets_server
        self.server.setText(site.server)
        self.fingerprint.setText(site.fingerprint)
        self.server.setReadOnly(pinned)
        self.fingerprint.setReadOnly(pinned)
        self.site_note.setText(
            "Your agency set up this computer for its server; type your user name."
            if pinned
            else ""
        )
        self.site_note.setVisible(pinned)
        if site.invite_file:
            self.use_invite_file(site.invite_file, quiet=True)
        self.show_manual(pinned)
        if site.problem:
            self.show_error(f"{site.problem} Type what your administrator gave you.")

    def use_invite_file(self, path: str, quiet: bool = False) -> bool:
        try:
            code = invite_code_from_file(path)
        except EnrolmentError as e:
            if not quiet:
                self.show_error(str(e))
            return False
        self.invite.setText(code)
        self.show_error("")
        self.password.setFocus()
        return True

    def _choose_invite_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open an invite file", "", "Invite files (*.txt);;All files (*)"
        )
        if path:
            self.use_invite_file(path)

    def reset(self) -> None:
        for edit in (self.invite, self.server, self.fingerprint, self.username, self.password):
            edit.clear()
        self.show_error("")
        self.set_busy(False)
        self.apply_site(load_site_settings())

    def failed(self, message: str, wrong_password: bool = False) -> None:
        self.set_busy(False)
        self.show_error(message)
        if wrong_password:
            self.password.clear()
            self.password.setFocus()

    def _submit(self) -> None:
        if self.invite.text().strip():
            self._submit_invite()
            return
        try:
            server = normalise_server(self.server.text())
        except EnrolmentError as e:
            self._refuse(str(e), self.server)
            return
        try:
            fingerprint = normalise_fingerprint(self.fingerprint.text())
        except EnrolmentError as e:
            self._refuse(str(e), self.fingerprint)
            return
        if not self.username.text().strip():
            self._refuse("Type the user name your administrator set up for you.", self.username)
            return
        if not self.password.text():
            self._refuse("Type the password your administrator gave you.", self.password)
            return
        self.show_error("")
        self.submitted.emit(server, fingerprint, self.username.text().strip(), self.password.text())

    def _submit_invite(self) -> None:
        try:
            request = check_invite(
                self.invite.text(), self.password.text(), pinned=self.site.fingerprint
            )
        except EnrolmentError as e:
            self._refuse(str(e), self.password if e.code == "usage" else self.invite)
            return
        self.show_error("")
        self.invite_submitted.emit(request)

    def _refuse(self, message: str, where: QLineEdit) -> None:
        self.show_error(message)
        if where is self.server or where is self.fingerprint or where is self.username:
            self.show_manual(True)
        where.setFocus()
