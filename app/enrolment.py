"""Enrolment: connect an unlocked vault to the organisation's sync server once.

The one place both the command line (``peertrail enroll``) and the first-start
welcome use. It checks what the person typed, asks the server (pinning a
self-signed certificate's SHA-256 fingerprint when one is given), then makes the
vault the server's user and keeps the device token inside the encrypted vault.
The password is sent once and never stored. No Qt here; it runs on the database
thread when the window calls it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.store.db import Store
from app.store.enrolment_plan import Held, plan
from app.store.replica import StoreReplica
from sync.client import SyncClient, SyncError, make_session

_FINGERPRINT_HEX = re.compile(r"^[0-9A-F]{64}$")
_USERNAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


class EnrolmentError(Exception):
    """What went wrong, in plain words; ``code`` is "usage", "unauthorized",
    "offline", "tls" or another sync error code. Nothing was changed."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Enrolled:
    username: str
    role: str
    user_id: str
    held: int = 0  # changes kept on this laptop, not sent (see ``not_sent``)


def normalise_server(address: str) -> str:
    """``https://host:port`` without a trailing slash; a bare host gets https://."""
    url = address.strip().rstrip("/")
    if not url:
        raise EnrolmentError("Type the server address your administrator gave you.", "usage")
    if "://" not in url:
        url = "https://" + url
    if not url.startswith("https://") and not url.startswith("http://127.0.0.1"):
        raise EnrolmentError(
            "The server address must start with https:// (a secure connection).", "usage"
        )
    if any(c.isspace() for c in url) or url in ("https://", "http://127.0.0.1"):
        raise EnrolmentError(
            "The server address is not valid; check it for typing mistakes.", "usage"
        )
    return url


def normalise_fingerprint(text: str) -> str:
    """``AB:CD:…`` (64 hex digits, any case, with or without colons or spaces), or
    "" when none was given (the server then needs a certificate the system trusts)."""
    raw = re.sub(r"[\s:]", "", text).upper()
    if not raw:
        return ""
    if not _FINGERPRINT_HEX.match(raw):
        raise EnrolmentError(
            "The fingerprint has 64 letters and digits (0-9, A-F) in pairs; check it "
            "against what your administrator gave you.",
            "usage",
        )
    return ":".join(raw[i : i + 2] for i in range(0, 64, 2))


def not_sent(store: Store, role: str = "specialist") -> list[Held]:
    """What enrolling this vault as ``role`` would keep on this laptop instead of
    sending, by kind and reason (the server would refuse it: another person's user
    record, a supervisor's decision, a participant assigned to somebody else).
    Shown before enrolment; empty when everything in the vault is the person's own."""
    return plan(store, role)


def enroll(
    store: Store,
    server: str,
    username: str,
    password: str,
    fingerprint: str = "",
    device_name: str = "",
) -> Enrolled:
    """Enrol this vault with the server. Raises :class:`EnrolmentError`; on any
    error the vault is as it was."""
    url = normalise_server(server)
    pin = normalise_fingerprint(fingerprint)
    username = username.strip()
    if not _USERNAME.match(username):
        raise EnrolmentError(
            "Type the user name your administrator set up for you (letters, digits, "
            "'.', '_', '@' or '-').",
            "usage",
        )
    if not password:
        raise EnrolmentError("Type the password your administrator gave you.", "usage")
    replica = StoreReplica(store)
    client = SyncClient(replica, url, token="", session=make_session(pin or None))
    try:
        answer = client.enroll(username, password, device_name=device_name)
    except SyncError as e:
        if e.code == "offline":
            raise EnrolmentError(
                "The server cannot be reached, so this laptop was not enrolled; nothing "
                "was changed. Check the address and the connection, then try again.",
                "offline",
            ) from None
        raise EnrolmentError(str(e), e.code) from None
    held = replica.adopt_identity(answer.user_id, answer.role)
    replica.save_server(url=url, fingerprint=pin, token=answer.token, username=username)
    store.audit("sync", how="enrolled", kept_on_laptop=held)
    return Enrolled(username=username, role=answer.role, user_id=answer.user_id, held=held)
