"""The machine-wide settings file: an agency's IT person (or the installer) pre-sets
the sync server for every user of a laptop, so a specialist types only an invite
code or a user name, and their password.

The file is ``desktop.toml`` in the first of these places that has one:

1. ``PEERTRAIL_DESKTOP_CONFIG`` (a file path), when set: then only that file;
2. platformdirs' site config folder for PeerTrail: ``%ProgramData%\\PeerTrail`` on
   Windows, ``/Library/Application Support/PeerTrail`` on macOS, and on Linux the
   first folder of ``$XDG_CONFIG_DIRS`` (``/etc/xdg``) + ``/peertrail``;
3. on Linux, ``/etc/peertrail/desktop.toml`` (what the .deb documents).

Its content (every key optional)::

    [server]
    address = "sync.example.org:8443"     # as a person would type it (https:// implied)
    fingerprint = "11:7B:…:8D"            # the server certificate's SHA-256: pinned
    invite_file = "/etc/peertrail/invite.txt"   # a laptop prepared for one person

Only an administrator can write these places, so the enrol screen shows the
address and fingerprint as given and does not let them be changed. A file that
cannot be read or has wrong values is reported (``problem``) and otherwise ignored:
the app then asks as if there were no file. Qt-free.
"""

from __future__ import annotations

import json
import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from app.services.enrolment import EnrolmentError
from app.services.enrolment import normalise_fingerprint
from app.services.enrolment import normalise_server

FILE_NAME = "desktop.toml"
ENV = "PEERTRAIL_DESKTOP_CONFIG"
MAX_BYTES = 64 * 1024


@dataclass(frozen=True)
class SiteSettings:
    """What the machine-wide file pre-sets ("" where it says nothing)."""

    server: str = ""  # normalised: https://host:port
    fingerprint: str = ""  # normalised: AB:CD:… (64 hex digits)
    invite_file: str = ""
    source: str = ""  # the file it came from, "" when none
    problem: str = ""  # why the file was ignored, "" when it was read

    @property
    def presets_server(self) -> bool:
        return bool(self.server)


def candidates() -> list[Path]:
    """Where the file is looked for, first match wins."""
    env = os.environ.get(ENV)
    if env:
        return [Path(env).expanduser()]
    found: list[Path] = []
    name = "peertrail" if sys.platform.startswith("linux") else "PeerTrail"
    site = platformdirs.site_config_dir(name, appauthor=False, multipath=False)
    found.append(Path(site) / FILE_NAME)
    if sys.platform.startswith("linux"):
        found.append(Path("/etc/peertrail") / FILE_NAME)
    return found


def default_path() -> Path:
    """Where ``peertrail site-config`` writes: /etc/peertrail/desktop.toml on Linux (what
    the .deb documents), the site config folder elsewhere (``%ProgramData%\\PeerTrail``)."""
    if sys.platform.startswith("linux"):
        return Path("/etc/peertrail") / FILE_NAME
    site = platformdirs.site_config_dir("PeerTrail", appauthor=False, multipath=False)
    return Path(site) / FILE_NAME


def load(paths: list[Path] | None = None) -> SiteSettings:
    """The machine-wide settings (empty :class:`SiteSettings` when there is no file)."""
    for path in candidates() if paths is None else paths:
        if path.is_file():
            return read(path)
    return SiteSettings()


def read(path: Path) -> SiteSettings:
    source = str(path)
    try:
        raw = path.read_bytes()[: MAX_BYTES + 1]
        if len(raw) > MAX_BYTES:
            raise ValueError("too large")
        data = tomllib.loads(raw.decode("utf-8"))
    except (OSError, ValueError, UnicodeError) as e:
        reason = "cannot be read" if isinstance(e, OSError) else "is not a valid settings file"
        return SiteSettings(source=source, problem=f"The settings file {source} {reason}.")
    section = data.get("server", {})
    if not isinstance(section, dict):
        return SiteSettings(source=source, problem=f"{source}: [server] is not a table.")
    values = {k: section.get(k, "") for k in ("address", "fingerprint", "invite_file")}
    if not all(isinstance(v, str) for v in values.values()):
        return SiteSettings(source=source, problem=f"{source}: every value is text in quotes.")
    try:
        server = normalise_server(values["address"]) if values["address"].strip() else ""
        pin = normalise_fingerprint(values["fingerprint"])
    except EnrolmentError as e:
        return SiteSettings(source=source, problem=f"{source}: {e}")
    if pin and not server:
        return SiteSettings(source=source, problem=f"{source}: a fingerprint needs an address.")
    invite_file = values["invite_file"].strip()
    if invite_file and not Path(invite_file).is_absolute():
        invite_file = str(path.parent / invite_file)
    return SiteSettings(server, pin, invite_file, source)


def file_text(address: str, fingerprint: str = "", invite_file: str = "") -> str:
    """The file as the installer scripts and the docs write it (values checked)."""
    server = normalise_server(address)
    pin = normalise_fingerprint(fingerprint)
    lines = [
        "# PeerTrail: the agency's sync server for every user of this computer.",
        "[server]",
        f'address = "{server}"',
    ]
    if pin:
        lines.append(f'fingerprint = "{pin}"')
    if invite_file:
        lines.append(f"invite_file = {json.dumps(invite_file, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"
