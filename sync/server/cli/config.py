"""The command line's options: the parser, and its defaults from the environment
(PEERTRAIL_SERVER_…), then a TOML config file."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from sync.protocol import DEFAULT_PORT
from sync.server import auth
from sync.server import db
from sync.server.cli.common import DATABASE_URL_ENV
from sync.server.cli.common import EXIT_CODES
from sync.server.cli.common import FAILED
from sync.server.cli.common import NOT_FOUND
from sync.server.cli.common import PASSWORD_ENV
from sync.server.cli.common import USAGE
from sync.server.cli.common import CliError


def _actions(sub, name: str, text: str):
    """The actions of command ``name`` (``users add``, ``devices list``...)."""
    return sub.add_parser(name, help=text).add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )


def _parser() -> argparse.ArgumentParser:
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument(
        "--data-dir", type=Path, help="the server's data folder (SQLite database, certificate)"
    )
    where.add_argument(
        "--database-url",
        default=None,
        help=f"postgresql://user:pass@host/db instead of SQLite (or set {DATABASE_URL_ENV})",
    )
    p = argparse.ArgumentParser(
        prog="python -m sync.server",
        description="PeerTrail sync server.",
        epilog=EXIT_CODES,
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("serve", parents=[where], help="run the server")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    s.add_argument("--port", type=int, default=DEFAULT_PORT, help="port; 0 picks a free one")
    s.add_argument("--tls-cert", type=Path, help="PEM certificate (chain) instead of self-signed")
    s.add_argument("--tls-key", type=Path, help="PEM private key for --tls-cert")
    s.add_argument(
        "--insecure-http", action="store_true", help="plain HTTP; only on a loopback address"
    )
    s.add_argument(
        "--rate-limit",
        type=float,
        default=30.0,
        metavar="PER_MINUTE",
        help="syncs per minute per device (30; 0 turns the limit off)",
    )
    s.add_argument("--rate-burst", type=int, default=10, help="syncs a device may save up (10)")
    s.add_argument(
        "--metrics-token",
        metavar="TOKEN",
        help="serve /metrics only with 'Authorization: Bearer TOKEN' (else loopback only)",
    )
    s.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes sharing the port (1; more only with PostgreSQL)",
    )
    s.add_argument(
        "--log-retention-days",
        type=float,
        default=90.0,
        metavar="DAYS",
        help="keep request_log rows this long (90; 0 keeps them all)",
    )

    _users_parser(sub, where)

    d = _actions(sub, "devices", "list or revoke devices")
    d.add_parser("list", parents=[where], help="list enrolled devices")
    dr = d.add_parser("revoke", parents=[where], help="revoke a device: it gets nothing more")
    dr.add_argument("id")

    pas = _actions(sub, "participants", "list participants, move them between caseloads")
    pr = pas.add_parser(
        "reassign", parents=[where], help="assign a participant to another specialist"
    )
    pr.add_argument("id")
    pr.add_argument("--to", required=True, metavar="NAME", help="the specialist's username")
    pl = pas.add_parser(
        "list", parents=[where], help="participant ids, specialist and initials (no names)"
    )
    pl.add_argument("--specialist", metavar="NAME", help="only this specialist's caseload")

    bis = _actions(sub, "billing", "billing reservations: list, release a lost laptop's")
    bis.add_parser(
        "reservations", parents=[where], help="the batches that hold services (ids, no names)"
    )
    br = bis.add_parser(
        "release",
        parents=[where],
        help="give back the services a batch holds when its laptop is lost (the batch never "
        "synced or was voided there)",
    )
    br.add_argument("batch_id", metavar="BATCH")

    un = sub.add_parser(
        "unlock", parents=[where], help="clear an account's failed sign-ins and lockout"
    )
    un.add_argument("name", help="the username")

    _maintenance_parser(sub, where)
    return p


def _maintenance_parser(sub, where: argparse.ArgumentParser) -> None:
    au = _actions(sub, "audit", "security events")
    au.add_parser(
        "alarms", parents=[where], help="laptops whose audit log was rewritten or cut short"
    )
    au.add_parser("events", parents=[where], help="lockouts, unlocks and audit alarms")
    acc = au.add_parser(
        "accept",
        parents=[where],
        help="after looking into a device's alarm (e.g. a restored laptop): forget its "
        "anchor; its next sync anchors its audit log afresh",
    )
    acc.add_argument("device", metavar="DEVICE")

    b = sub.add_parser(
        "backup",
        parents=[where],
        help="an encrypted copy of the SQLite database and the TLS certificate and key (0600)",
    )
    b.add_argument("--out", "--to", dest="out", required=True, type=Path, metavar="FILE")
    r = sub.add_parser(
        "restore",
        parents=[where],
        help="put a backup in place (server stopped); laptops then heal at their next sync",
    )
    r.add_argument("file", type=Path, metavar="FILE")
    mv = sub.add_parser(
        "migrate-to-postgresql",
        parents=[where],
        help="copy the (stopped) SQLite server's database into a new PostgreSQL database",
    )
    mv.add_argument("--to", required=True, metavar="URL", help="postgresql://user:pass@host/db")
    sub.add_parser(
        "mark-restored",
        parents=[where],
        help="after restoring PostgreSQL with pg_restore: record a new restore epoch",
    )
    sub.add_parser(
        "restored",
        parents=[where],
        help="the same as mark-restored: every laptop re-pulls, re-sends what the server "
        "lost and repairs at its next sync",
    )


def _users_parser(sub, where: argparse.ArgumentParser) -> None:
    u = _actions(sub, "users", "list or add users")
    ua = u.add_parser("add", parents=[where], help=f"add a user (password from {PASSWORD_ENV})")
    ua.add_argument("name")
    ua.add_argument("--role", required=True, choices=auth.ROLES)
    ua.add_argument("--supervisor", metavar="NAME", help="the supervisor's username")
    ua.add_argument("--display-name", metavar="TEXT", help="the name people see (NAME)")
    u.add_parser("list", parents=[where], help="list users")
    for action, text in (
        ("passwd", f"set a new password (from {PASSWORD_ENV} or typed); clears a lockout"),
        ("disable", "a leaver: cannot sign in, enrol or sync (tokens refused at once)"),
        ("enable", "undo disable; also lets the user enrol a new laptop after a revocation"),
    ):
        u.add_parser(action, parents=[where], help=text).add_argument("name")
    us = u.add_parser("set-supervisor", parents=[where], help="change a user's supervisor")
    us.add_argument("name")
    us.add_argument("supervisor", help="the supervisor's username, or - for none")
    ur = u.add_parser(
        "remove", parents=[where], help="hand the caseload over, revoke devices, retire the account"
    )
    ur.add_argument("name")
    ur.add_argument("--to", metavar="NAME", help="the specialist or supervisor taking the caseload")
    ui = u.add_parser(
        "invite",
        parents=[where],
        help="a single-use enrolment code (printed and written to a file)",
    )
    ui.add_argument("name")
    ui.add_argument(
        "--address",
        "--server",
        dest="address",
        required=True,
        metavar="HOST[:PORT]",
        help="the server's address as laptops reach it (port 8443 unless given)",
    )
    ui.add_argument("--hours", type=float, default=72.0, help="how long the code is valid (72)")
    ui.add_argument("--tls-cert", type=Path, help="the certificate served (the self-signed one)")
    ui.add_argument("--file", type=Path, help="where to write it (DATA_DIR/invites/NAME.txt)")


CONFIG_ENV = "PEERTRAIL_CONFIG"


DEFAULT_CONFIG = Path("/etc/peertrail/server.toml")


GLOBAL_OPTIONS = ("--data-dir", "--database-url", "--config")


# The options a config file or the environment may set (PEERTRAIL_SERVER_ + upper case,
# _ for -; the database URL also as PEERTRAIL_DATABASE_URL).
CONFIGURABLE = (
    "data-dir",
    "database-url",
    "host",
    "port",
    "tls-cert",
    "tls-key",
    "insecure-http",
    "rate-limit",
    "rate-burst",
    "metrics-token",
    "log-retention-days",
    "workers",
    "address",
)


def env_name(option: str) -> str:
    """PEERTRAIL_SERVER_DATA_DIR etc.: apart from the desktop app's PEERTRAIL_DATA_DIR."""
    return "PEERTRAIL_SERVER_" + option.upper().replace("-", "_")


def _from_env(option: str) -> str | None:
    value = os.environ.get(env_name(option))
    if not value and option == "database-url":
        value = os.environ.get(DATABASE_URL_ENV)  # the name used since the first release
    return value or None


def _hoist(argv: list[str]) -> tuple[list[str], Path | None]:
    """Move --data-dir/--database-url given before the command to its end (so both
    places work) and take out --config FILE."""
    front: list[str] = []
    config: Path | None = None
    i = 0
    while i < len(argv) and argv[i].startswith("--"):
        name, eq, value = argv[i].partition("=")
        if name not in GLOBAL_OPTIONS:
            break
        if not eq:
            if i + 1 >= len(argv):
                raise CliError(USAGE, f"{name} needs a value")
            value, i = argv[i + 1], i + 1
        if name == "--config":
            config = Path(value)
        else:
            front += [name, value]
        i += 1
    rest = argv[i:]
    if "--config" in rest:
        at = rest.index("--config")
        if at + 1 >= len(rest):
            raise CliError(USAGE, "--config needs a value")
        config = Path(rest[at + 1])
        rest = rest[:at] + rest[at + 2 :]
    return rest + front, config


def _config_values(config: Path | None) -> dict[str, object]:
    """The config file's settings (TOML, the flags' names as keys)."""
    import tomllib

    if config is None:
        config = Path(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else None
    if config is None and DEFAULT_CONFIG.is_file():
        config = DEFAULT_CONFIG
    if config is None:
        return {}
    try:
        data = tomllib.loads(config.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CliError(NOT_FOUND, f"no such config file: {config}") from None
    except PermissionError:
        raise CliError(FAILED, f"cannot read the config file {config}: permission denied") from None
    except tomllib.TOMLDecodeError as exc:
        raise CliError(USAGE, f"the config file {config} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - set(CONFIGURABLE))
    if unknown:
        raise CliError(USAGE, f"unknown setting(s) in {config}: {', '.join(unknown)}")
    return data


def _apply_defaults(parser: argparse.ArgumentParser, config: dict[str, object]) -> None:
    """Set each configurable option's default from the environment, else the file."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _apply_defaults(sub, config)
            continue
        long = next((o[2:] for o in action.option_strings if o.startswith("--")), None)
        if long not in CONFIGURABLE:
            continue
        raw = _from_env(long)
        value: object = raw if raw is not None else config.get(long)
        if value is None:
            continue
        if isinstance(action, argparse._StoreTrueAction):
            value = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
        elif action.type is not None:
            try:
                value = action.type(str(value))
            except ValueError:
                raise CliError(USAGE, f"{long} = {value!r} is not valid") from None
        action.default = value
        action.required = False


def _version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version

    from sync.protocol import PROTOCOL_VERSION

    try:
        number = version("peertrail")
    except PackageNotFoundError:
        number = "unknown"
    return f"{number} (sync protocol {PROTOCOL_VERSION}, database schema {db.head_revision()})"
