"""Enrolment: connect an unlocked vault to the organization's sync server once.

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

**With an invite code** (``users invite NAME`` on the server, sync.invite): the person
types the code (or picks the invite file) and their password only.
:func:`check_invite` reads the code (typing mistakes, expiry, and, when the laptop's
machine-wide settings pin a server, that the code is for that server);
:func:`ask_server_invite` reads the certificate the server presents, checks it
against the fingerprint in the code, then enrols over a connection pinned to that
full fingerprint (so a certificate swapped between the two connections is refused
too) and returns the request :func:`adopt` keeps. :func:`enroll_invite` does it all.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import ssl
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from app.domain.datetext import moment_text
from app.store.db import Store
from app.store.enrolment_plan import Held
from app.store.enrolment_plan import plan
from app.store.replica import StoreReplica
from sync import invite as invites
from sync.client import SyncClient
from sync.client import SyncError
from sync.client import make_session
from sync.protocol import DEFAULT_PORT
from sync.protocol import EnrollResponse

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
    server: str, username: str, password: str, *, fingerprint: str = "", device_name: str = ""
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


def enroll(store: Store, request: EnrolmentRequest) -> Enrolled:
    """Enrol this vault with the server, as :func:`check_request` read what was typed.
    Raises :class:`EnrolmentError`; on any error the vault is as it was."""
    answer = ask_server(request, StoreReplica(store).device_id)
    return adopt(store, request, answer)


# -- invite codes ------------------------------------------------------------------------------

CERT_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class InviteRequest:
    """An invite code read and checked, with the password to send once."""

    invite: invites.Invite
    code: str  # as the server reads it (sync.invite.encode)
    password: str
    device_name: str = ""


def read_invite(code: str = "", file: str | Path = "") -> invites.Invite:
    """The invite in a typed code or an invite file; :class:`EnrolmentError` ("bad_invite")."""
    try:
        if file:
            return invites.read_file(Path(file))
        if not code.strip():
            raise EnrolmentError(
                "Type the invite code your administrator gave you (it starts with PT).",
                "usage",
            )
        return invites.decode(code)
    except OSError:
        raise EnrolmentError(
            "The invite file cannot be read; check the file and try again.", "bad_invite"
        ) from None
    except invites.InviteError as e:
        raise EnrolmentError(_sentence(str(e)), "bad_invite") from None


def invite_code_from_file(path: str | Path) -> str:
    """The invite code an invite file (written by ``users invite``) holds, to show in
    the invite field; :class:`EnrolmentError` for a file that holds none."""
    return invites.encode(read_invite(file=path))


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "."


def check_invite(
    code: str = "",
    password: str = "",
    *,
    file: str | Path = "",
    pinned: str = "",
    device_name: str = "",
    now: float | None = None,
) -> InviteRequest:
    """Check an invite (code or file) and the password before anything is sent.
    ``pinned`` is the fingerprint the machine-wide settings pin, if any: a code for
    another server is refused ("tls")."""
    found = read_invite(code, file)
    if found.expired(now):
        until = moment_text(datetime.fromtimestamp(found.expires_at, UTC))
        raise EnrolmentError(
            f"This invite code expired on {until}. Ask your administrator for a new one.",
            "invite_expired",
        )
    if pinned and not found.fingerprint_matches(normalise_fingerprint(pinned)):
        raise EnrolmentError(
            "This invite code is for a different server than the one this computer is "
            "set up for. Nothing was sent. Ask your administrator.",
            "tls",
        )
    if not password:
        raise EnrolmentError("Type your password (the one your administrator set).", "usage")
    return InviteRequest(found, invites.encode(found), password, device_name)


def server_fingerprint(host: str, port: int, timeout: float = CERT_TIMEOUT_S) -> str:
    """The SHA-256 fingerprint (``AB:CD:…``) of the certificate the server presents
    (not trusted yet: the caller compares it with what it expects)."""
    try:
        pem = ssl.get_server_certificate((host, port), timeout=timeout)
    except ssl.SSLError:
        raise EnrolmentError(
            "The server at the invite's address did not answer with a secure connection; "
            "this laptop was not enrolled. Ask your administrator.",
            "tls",
        ) from None
    except (OSError, ValueError):  # refused, unknown name, timeout, no route
        raise EnrolmentError(
            "The server cannot be reached, so this laptop was not enrolled; nothing was "
            "changed. Check the connection (and that you are on the agency's network if "
            "you need to be), then try again.",
            "offline",
        ) from None
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, 64, 2))


_INVITE_ERRORS = {
    "unauthorized": "The server did not accept that password for this invite code. Check "
    "the password and try again.",
    "tls": "The server's certificate does not match the invite code, so nothing was sent "
    "and this laptop was not enrolled. Ask your administrator before going on.",
}


def ask_server_invite(
    request: InviteRequest, device_id: str, retries: int = 4
) -> tuple[EnrolmentRequest, EnrollResponse]:
    """Network only: check the server's certificate against the code, enrol over a
    pinned connection. Returns what :func:`adopt` keeps and the server's answer."""
    inv = request.invite
    fingerprint = server_fingerprint(inv.host, inv.port)
    if not inv.fingerprint_matches(fingerprint):
        raise EnrolmentError(_INVITE_ERRORS["tls"], "tls")
    session = make_session(fingerprint, retries=retries)
    client = SyncClient(_Device(device_id), inv.server_url, token="", session=session)  # type: ignore[arg-type]
    try:
        answer = client.enroll_invite(request.code, request.password, request.device_name)
    except SyncError as e:
        if e.code == "offline":
            raise EnrolmentError(
                "The server cannot be reached, so this laptop was not enrolled; nothing "
                "was changed. Check the connection, then try again.",
                "offline",
            ) from None
        raise EnrolmentError(_INVITE_ERRORS.get(e.code, str(e)), e.code) from None
    finally:
        session.close()
    kept = EnrolmentRequest(
        inv.server_url, fingerprint, answer.username, "", request.device_name
    )  # the password is not kept
    return kept, answer


def enroll_invite(store: Store, request: InviteRequest) -> Enrolled:
    """Enrol this vault with an invite; on any error the vault is as it was."""
    kept, answer = ask_server_invite(request, StoreReplica(store).device_id)
    return adopt(store, kept, answer)
