"""Enrolment: connect an unlocked vault to the organisation's sync server once.

The one copy both the command line (``peertrail enroll``) and the desktop (the
first-start welcome and the sync controller) use, with one set of rules for what
a person types:

- the server address is read with urllib.parse; a bare host (no scheme) means
  ``https://`` and, with no port, the server's default port (8443); the scheme
  must be https, except that plain http is allowed to a loopback host (a server
  on this very laptop); a user name or password in the address (``user@host``) is
  refused, so ``http://127.0.0.1@192.0.2.2`` cannot pass for loopback;
- the certificate fingerprint is 64 hex digits, any case, with or without spaces
  or colons (or empty: then the server needs a certificate the system trusts).

Enrolling is three steps so the desktop can run the network part off the database
thread: :func:`check_request` (what was typed), :func:`ask_server` (network only),
:func:`adopt` (writes the identity and the device token into the encrypted vault).
:func:`enroll` does all three in a row. The password is sent once, never stored.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.store.db import Store
from app.store.enrolment_plan import Held, plan
from app.store.replica import StoreReplica
from sync.client import SyncClient, SyncError, make_session
from sync.protocol import DEFAULT_PORT, EnrollResponse

_FINGERPRINT_HEX = re.compile(r"^[0-9A-F]{64}$")
_USERNAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
LOOPBACK_NAMES = ("localhost",)


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


@dataclass(frozen=True)
class EnrolmentRequest:
    """What the person typed, checked and normalised."""

    url: str
    fingerprint: str
    username: str
    password: str
    device_name: str = ""


def _invalid() -> EnrolmentError:
    return EnrolmentError("The server address is not valid; check it for typing mistakes.", "usage")


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalise_server(address: str) -> str:
    """``scheme://host:port`` (see the module's rules), or :class:`EnrolmentError`."""
    text = address.strip()
    if not text:
        raise EnrolmentError("Type the server address your administrator gave you.", "usage")
    if any(c.isspace() or ord(c) < 32 for c in text) or "\\" in text:
        raise _invalid()
    bare = "://" not in text
    try:
        parts = urlsplit("https://" + text if bare else text)
        port = parts.port
    except ValueError:
        raise _invalid() from None
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise EnrolmentError(
            "The server address must not hold a user name or password (user@host); "
            "type only the address your administrator gave you.",
            "usage",
        )
    host = parts.hostname or ""
    if not host or parts.query or parts.fragment or parts.path.strip("/"):
        raise _invalid()
    scheme = parts.scheme.lower()
    if scheme != "https" and not (scheme == "http" and is_loopback(host)):
        raise EnrolmentError(
            "The server address must start with https:// (a secure connection).", "usage"
        )
    if port is None and bare:
        port = DEFAULT_PORT
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}" + (f":{port}" if port is not None else "")


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


def check_request(
    server: str, username: str, password: str, fingerprint: str = "", device_name: str = ""
) -> EnrolmentRequest:
    """Check what was typed; raises :class:`EnrolmentError` ("usage")."""
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
    return EnrolmentRequest(url, pin, username, password, device_name)


@dataclass(frozen=True)
class _Device:
    """All an enrolment request needs of the vault: this device's id."""

    device_id: str


def ask_server(request: EnrolmentRequest, device_id: str, retries: int = 4) -> EnrollResponse:
    """Network only (no vault access): the server's answer, or EnrolmentError."""
    session = make_session(request.fingerprint or None, retries=retries)
    client = SyncClient(_Device(device_id), request.url, token="", session=session)  # type: ignore[arg-type]
    try:
        return client.enroll(request.username, request.password, device_name=request.device_name)
    except SyncError as e:
        if e.code == "offline":
            raise EnrolmentError(
                "The server cannot be reached, so this laptop was not enrolled; nothing "
                "was changed. Check the address and the connection, then try again.",
                "offline",
            ) from None
        if e.code == "unauthorized":
            raise EnrolmentError(
                "The server did not accept that user name and password.", "unauthorized"
            ) from None
        raise EnrolmentError(str(e), e.code) from None
    finally:
        session.close()


def adopt(store: Store, request: EnrolmentRequest, answer: EnrollResponse) -> Enrolled:
    """On the database thread: become the server's user and keep the device token."""
    replica = StoreReplica(store)
    held = replica.adopt_identity(answer.user_id, answer.role)
    replica.save_server(
        url=request.url, fingerprint=request.fingerprint, token=answer.token,
        username=request.username,
    )  # fmt: skip
    store.audit("sync", how="enrolled", kept_on_laptop=held)
    return Enrolled(username=request.username, role=answer.role, user_id=answer.user_id, held=held)


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
    request = check_request(server, username, password, fingerprint, device_name)
    answer = ask_server(request, StoreReplica(store).device_id)
    return adopt(store, request, answer)
