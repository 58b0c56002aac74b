"""The first start of a freshly installed PeerTrail (no vault in the data folder
yet): a short welcome that explains the passphrase and the recovery key in plain
words, offers the demo caseload, and offers to connect to the agency's server
once the vault exists. Every step can be skipped: the app works fully alone.

:class:`WelcomePage` comes before the create page; :class:`EnrolPage` comes after
the recovery key when the person said their agency gave them a server. The
enrolment itself (:func:`app.services.enrolment.enroll`) runs on the database thread; the
password is sent once and never kept.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLineEdit

from app.services.enrolment import EnrolmentError, normalise_fingerprint, normalise_server
from app.ui.start.pages import Page, label, link, primary

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
    """Server address, certificate fingerprint, user name and password."""

    #: (server, fingerprint, username, password), already checked for form.
    submitted = Signal(str, str, str, str)
    skipped = Signal()

    def __init__(self) -> None:
        super().__init__(
            "Connect to your agency's server",
            "Type what your administrator gave you. Your notes then reach the server "
            "whenever you are online. You can skip this and connect later.",
            "enrolPage",
        )
        self.server = QLineEdit()
        self.server.setPlaceholderText("https://peertrail.example.org:8443")
        self.server.setAccessibleName("Server address")
        self.fingerprint = QLineEdit()
        self.fingerprint.setObjectName("fingerprintEdit")
        self.fingerprint.setPlaceholderText("AB:CD:EF:… (leave empty if you were not given one)")
        self.fingerprint.setAccessibleName("Certificate fingerprint")
        self.username = QLineEdit()
        self.username.setAccessibleName("User name")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("Password")
        self.add_field("Server address", self.server)
        self.fingerprint.setToolTip(
            "A long code of letter pairs that proves the server is your agency's."
        )
        self.password.setToolTip("Sent once to the server; not kept on this laptop.")
        self.add_field("Certificate fingerprint", self.fingerprint)
        self.add_field("User name", self.username)
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
        self._inputs += [self.connect_button, self.skip_button]
        self.server.returnPressed.connect(self.fingerprint.setFocus)
        self.fingerprint.returnPressed.connect(self.username.setFocus)
        self.username.returnPressed.connect(self.password.setFocus)
        self.password.returnPressed.connect(self._submit)

    def reset(self) -> None:
        for edit in (self.server, self.fingerprint, self.username, self.password):
            edit.clear()
        self.show_error("")
        self.set_busy(False)

    def failed(self, message: str, wrong_password: bool = False) -> None:
        self.set_busy(False)
        self.show_error(message)
        if wrong_password:
            self.password.clear()
            self.password.setFocus()

    def _submit(self) -> None:
        try:
            server = normalise_server(self.server.text())
        except EnrolmentError as e:
            self.show_error(str(e))
            self.server.setFocus()
            return
        try:
            fingerprint = normalise_fingerprint(self.fingerprint.text())
        except EnrolmentError as e:
            self.show_error(str(e))
            self.fingerprint.setFocus()
            return
        if not self.username.text().strip():
            self.show_error("Type the user name your administrator set up for you.")
            self.username.setFocus()
            return
        if not self.password.text():
            self.show_error("Type the password your administrator gave you.")
            self.password.setFocus()
            return
        self.show_error("")
        self.submitted.emit(server, fingerprint, self.username.text().strip(), self.password.text())
