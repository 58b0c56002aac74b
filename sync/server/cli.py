"""``python -m sync.server``: run the sync server and administer it.

    serve [--host H] [--port P] [--tls-cert F --tls-key F] [--insecure-http]
          [--rate-limit N] [--rate-burst N] [--metrics-token T] [--log-retention-days D]
    users add NAME --role ROLE [--supervisor NAME] [--display-name TEXT]
    users list | passwd NAME | disable NAME | enable NAME | set-supervisor NAME SUP|-
    users remove NAME [--to HEIR] | invite NAME --address HOST[:PORT] [--hours H] [--file F]
    devices list | devices revoke ID
    participants list [--specialist NAME] | participants reassign ID --to NAME
    backup --out FILE (or --to) | restore FILE | mark-restored | migrate-to-postgresql --to URL
    unlock NAME
    audit alarms | audit events | audit accept DEVICE
    --version

Every command takes --data-dir (SQLite in DIR/server.db) and/or --database-url
(PostgreSQL), before or after the command. Settings come from flags, then the
environment (PEERTRAIL_SERVER_ + the flag's name in capitals with _ for -, e.g.
PEERTRAIL_SERVER_DATA_DIR; PEERTRAIL_DATABASE_URL too),
then a TOML config file (--config FILE, $PEERTRAIL_CONFIG or
/etc/peertrail/server.toml) with the flags' names as keys. The SQLite database is
encrypted (sync.server.atrest) with the key in DIR/server.db.key or in
PEERTRAIL_SERVER_DB_KEY. Exit codes: 0 done, 1 refused or failed, 2 wrong usage,
3 the database key is missing or wrong, 4 not found, 5 the database is from a
newer server.
"""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import os
import signal
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from sync import invite as invite_mod
from sync.protocol import DEFAULT_PORT
from sync.server import atrest, auth, backups, db, epoch, ops, security, staff
from sync.server.tables import records, users

OK, FAILED, USAGE, KEY_PROBLEM, NOT_FOUND, SCHEMA_NEWER = 0, 1, 2, 3, 4, 5
EXIT_CODES = (
    "Exit codes: 0 done, 1 refused or failed, 2 wrong usage, 3 the database key is "
    "missing or wrong, 4 not found, 5 the database is from a newer server."
)
PASSWORD_ENV = "PEERTRAIL_USER_PASSWORD"
DATABASE_URL_ENV = "PEERTRAIL_DATABASE_URL"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


class CliError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _err(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)


# -- parsing ------------------------------------------------------------------


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
        "--log-retention-days",
        type=float,
        default=90.0,
        metavar="DAYS",
        help="keep request_log rows this long (90; 0 keeps them all)",
    )

    _users_parser(sub, where)

    d = sub.add_parser("devices", help="list or revoke devices").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    d.add_parser("list", parents=[where], help="list enrolled devices")
    dr = d.add_parser("revoke", parents=[where], help="revoke a device: it gets nothing more")
    dr.add_argument("id")

    pa = sub.add_parser("participants", help="list participants, move them between caseloads")
    pas = pa.add_subparsers(dest="action", required=True, metavar="ACTION")
    pr = pas.add_parser(
        "reassign", parents=[where], help="assign a participant to another specialist"
    )
    pr.add_argument("id")
    pr.add_argument("--to", required=True, metavar="NAME", help="the specialist's username")
    pl = pas.add_parser(
        "list", parents=[where], help="participant ids, specialist and initials (no names)"
    )
    pl.add_argument("--specialist", metavar="NAME", help="only this specialist's caseload")

    un = sub.add_parser(
        "unlock", parents=[where], help="clear an account's failed sign-ins and lockout"
    )
    un.add_argument("name", help="the username")

    _maintenance_parser(sub, where)
    return p


def _maintenance_parser(sub, where: argparse.ArgumentParser) -> None:
    au = sub.add_parser("audit", help="security events").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
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
    u = sub.add_parser("users", help="list or add users").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
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


def _engine(args: argparse.Namespace) -> Engine:
    if not args.data_dir and not args.database_url:
        raise CliError(USAGE, "give --data-dir DIR (or --database-url URL)")
    try:
        engine = db.open_engine(args.data_dir or Path("."), args.database_url)
    except db.DatabaseUrlError as exc:
        raise CliError(USAGE, str(exc)) from None
    except atrest.DatabaseKeyError as exc:
        raise CliError(KEY_PROBLEM, str(exc)) from None
    try:
        db.upgrade(engine)
    except db.SchemaTooNew as exc:
        engine.dispose()
        raise CliError(SCHEMA_NEWER, str(exc)) from None
    except atrest.DatabaseKeyError as exc:
        engine.dispose()
        raise CliError(KEY_PROBLEM, str(exc)) from None
    except OperationalError as exc:
        engine.dispose()
        raise CliError(FAILED, f"cannot open the database: {_short(exc)}") from None
    return engine


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# -- admin commands -------------------------------------------------------------


def _password() -> str:
    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        if not sys.stdin.isatty():
            raise CliError(USAGE, f"set {PASSWORD_ENV} or run this in a terminal to type it")
        password = getpass.getpass("Password for the new user: ")
        if getpass.getpass("The same password again: ") != password:
            raise CliError(USAGE, "the two passwords differ; nothing was added")
    if len(password) < auth.MIN_PASSWORD_CHARS:
        raise CliError(USAGE, f"a password has at least {auth.MIN_PASSWORD_CHARS} characters")
    if len(password) > 256:
        raise CliError(USAGE, "a password has at most 256 characters")
    return password


def users_add(args: argparse.Namespace) -> int:
    name = args.name.strip()
    if not auth.USERNAME_RE.match(name):
        raise CliError(USAGE, "a username is 1-64 letters, digits, '.', '_', '@' or '-'")
    display = (args.display_name or name).strip()
    if not display or len(display) > 120:
        raise CliError(USAGE, "a display name is 1-120 characters")
    password = _password()
    engine = _engine(args)
    try:
        sync_engine = db.build_sync_engine(engine)
        with engine.begin() as conn:
            if auth.find_user(conn, name) is not None:
                raise CliError(FAILED, f"a user named {name!r} already exists; nothing was added")
            supervisor_id = ""
            if args.supervisor:
                sup = auth.find_user(conn, args.supervisor)
                if sup is None:
                    raise CliError(NOT_FOUND, f"no user named {args.supervisor!r}")
                if sup.role != "supervisor":
                    raise CliError(USAGE, f"{args.supervisor!r} is a {sup.role}, not a supervisor")
                supervisor_id = sup.id
            user = auth.create_user(conn, name, password, args.role, supervisor_id)
            sync_engine.server_write(
                conn,
                "users",
                user.id,
                {
                    "deleted": 0,
                    "username": name,
                    "display_name": display,
                    "role": args.role,
                    "supervisor_id": supervisor_id,
                    "active": 1,
                },
            )
    finally:
        engine.dispose()
    print(f"Added user {name} ({args.role}), id {user.id}")
    return OK


def users_list(args: argparse.Namespace) -> int:
    engine = _engine(args)
    try:
        with db.reading(engine) as conn:
            people = auth.list_users(conn)
            devs = auth.list_devices(conn)
            status = {
                r.id: "removed" if r.removed_at else "yes, enrol blocked" if r.enrol_blocked else ""
                for r in conn.execute(select(users.c.id, users.c.removed_at, users.c.enrol_blocked))
            }
    finally:
        engine.dispose()
    if not people:
        print("No users yet. Add one with: python -m sync.server users add NAME --role ROLE")
        return OK
    names = {u.id: u.username for u in people}
    active_devices: dict[str, int] = {}
    for d in devs:
        if not d.revoked_at:
            active_devices[d.user_id] = active_devices.get(d.user_id, 0) + 1
    rows = [
        (
            u.username,
            u.role,
            names.get(u.supervisor_id, u.supervisor_id) or "-",
            (status.get(u.id) or "yes") if u.active or status.get(u.id) == "removed" else "no",
            str(active_devices.get(u.id, 0)),
            u.id,
        )
        for u in people
    ]
    _table(("USERNAME", "ROLE", "SUPERVISOR", "ACTIVE", "DEVICES", "ID"), rows)
    return OK


def devices_list(args: argparse.Namespace) -> int:
    engine = _engine(args)
    try:
        with db.reading(engine) as conn:
            devs = auth.list_devices(conn)
    finally:
        engine.dispose()
    if not devs:
        print("No devices enrolled yet.")
        return OK
    rows = [
        (
            d.id,
            d.username,
            d.name or "-",
            d.enrolled_at,
            d.last_seen_at or "never",
            f"revoked {d.revoked_at}" if d.revoked_at else "active",
        )
        for d in devs
    ]
    _table(("DEVICE", "USER", "NAME", "ENROLLED", "LAST SYNC", "STATUS"), rows)
    return OK


def devices_revoke(args: argparse.Namespace) -> int:
    engine = _engine(args)
    try:
        with engine.begin() as conn:
            known = {d.id: d for d in auth.list_devices(conn)}
            was = known.get(args.id)
            at = staff.revoke_device(conn, args.id)
    finally:
        engine.dispose()
    if at is None or was is None:
        raise CliError(NOT_FOUND, f"no device with id {args.id!r} (see: devices list)")
    if was.revoked_at:
        print(f"Device {args.id} ({was.username}) was already revoked at {at}.")
    else:
        print(
            f"Revoked device {args.id} ({was.username}). It gets nothing at its next sync. "
            f"If it was {was.username}'s last laptop, a new one needs an invite "
            "(users invite) or 'users enable' first."
        )
    return OK


def participants_reassign(args: argparse.Namespace) -> int:
    engine = _engine(args)
    try:
        sync_engine = db.build_sync_engine(engine)
        with engine.begin() as conn:
            user = auth.find_user(conn, args.to)
            if user is None:
                raise CliError(NOT_FOUND, f"no user named {args.to!r}")
            if user.role not in ("specialist", "supervisor"):
                raise CliError(USAGE, f"{args.to!r} is a {user.role}; caseloads are specialists'")
            if not user.active:
                raise CliError(FAILED, f"{args.to!r} is not active")
            row = conn.execute(
                select(records.c.record_id).where(
                    records.c.record_id == args.id, records.c.table_name == "participants"
                )
            ).first()
            if row is None:
                raise CliError(NOT_FOUND, f"no participant with id {args.id!r} on this server")
            if not staff.reassign(conn, sync_engine, args.id, user):
                print(f"Participant {args.id} is already in {args.to}'s caseload.")
                return OK
    finally:
        engine.dispose()
    print(
        f"Participant {args.id} is now in {args.to}'s caseload. It leaves the previous "
        "specialist's laptop at that laptop's next sync."
    )
    return OK


def _user(conn, name: str) -> auth.User:
    user = auth.find_user(conn, name)
    if user is None:
        raise CliError(NOT_FOUND, f"no user named {name!r} (see: users list)")
    return user


def _staff_change(args: argparse.Namespace, change) -> None:
    """Run ``change(conn, sync_engine, user)`` in one transaction; StaffError is a refusal."""
    engine = _engine(args)
    try:
        sync_engine = db.build_sync_engine(engine)
        with engine.begin() as conn:
            change(conn, sync_engine, _user(conn, args.name))
    except staff.StaffError as exc:
        raise CliError(FAILED, str(exc)) from None
    finally:
        engine.dispose()


def users_passwd(args: argparse.Namespace) -> int:
    password = _password()
    _staff_change(args, lambda conn, _s, user: staff.set_password(conn, user, password))
    print(f"New password set for {args.name}; failed sign-ins cleared. Their laptops keep syncing.")
    return OK


def users_disable(args: argparse.Namespace) -> int:
    _staff_change(args, lambda conn, s, user: staff.set_active(conn, s, user, False))
    print(
        f"Disabled {args.name}: their laptops are refused from now on and they cannot sign in. "
        "Hand their caseload over with 'users remove NAME --to NAME' or 'participants reassign'."
    )
    return OK


def users_enable(args: argparse.Namespace) -> int:
    _staff_change(args, lambda conn, s, user: staff.set_active(conn, s, user, True))
    print(f"Enabled {args.name}: they can sign in, sync and enrol a laptop.")
    return OK


def users_set_supervisor(args: argparse.Namespace) -> int:
    def change(conn, s, user) -> None:
        sup = None if args.supervisor == "-" else _user(conn, args.supervisor)
        staff.set_supervisor(conn, s, user, sup)

    _staff_change(args, change)
    whom = "no supervisor" if args.supervisor == "-" else f"supervisor {args.supervisor}"
    print(f"{args.name} now has {whom}.")
    return OK


def users_remove(args: argparse.Namespace) -> int:
    done: list[staff.Removal] = []

    def change(conn, s, user) -> None:
        heir = _user(conn, args.to) if args.to else None
        done.append(staff.remove(conn, s, user, heir))

    _staff_change(args, change)
    r = done[0]
    to = f" to {args.to}" if args.to else ""
    print(
        f"Removed {args.name}: {r.moved} participant(s) moved{to}, {r.revoked} device(s) revoked. "
        "The account is kept for the record and can never sign in again."
    )
    return OK


def users_invite(args: argparse.Namespace) -> int:
    host, port = _server_address(args.address)
    if not 0 < args.hours <= 24 * 30:
        raise CliError(USAGE, "--hours is more than 0 and at most 720 (30 days)")
    data_dir = args.data_dir or Path(".")
    cert = args.tls_cert or data_dir / "tls-cert.pem"
    try:
        from sync.server import tls

        prefix = invite_mod.fingerprint_prefix(tls.fingerprint_sha256(cert))
    except FileNotFoundError:
        raise CliError(
            NOT_FOUND, f"no certificate at {cert}: start the server once, or give --tls-cert"
        ) from None
    except ValueError:
        raise CliError(USAGE, f"{cert} is not a PEM certificate") from None
    made: list[tuple[bytes, int]] = []
    target = args.file or db.ensure_private_dir(data_dir / "invites") / f"{args.name}.txt"
    # the file first: an invite whose code cannot be written is never made
    fd = os.open(target, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        try:
            _staff_change(
                args, lambda conn, _s, user: made.append(staff.make_invite(conn, user, args.hours))
            )
        except BaseException:
            Path(target).unlink(missing_ok=True)
            raise
        secret, expires = made[0]
        code = invite_mod.encode(invite_mod.Invite(host, port, prefix, secret, expires))
        f.write(invite_mod.file_text(code, args.name, expires))
    until = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(expires))
    print(f"Invite for {args.name} (single use, valid until {until}):")
    print(code)
    print(f"Written to {target}")
    return OK


def _server_address(text: str) -> tuple[str, int]:
    text = text.strip()
    if "://" in text:
        text = text.split("://", 1)[1]
    text = text.rstrip("/")
    host, port = text, DEFAULT_PORT
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        port_text = ""
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise CliError(USAGE, "the port in --address is 1-65535")
        port = int(port_text)
    if not host or "/" in host or " " in host:
        raise CliError(USAGE, "--address is HOST or HOST:PORT, as laptops reach the server")
    return host, port


def participants_list(args: argparse.Namespace) -> int:
    engine = _engine(args)
    try:
        with db.reading(engine) as conn:
            only = _user(conn, args.specialist).id if args.specialist else None
            found = staff.list_participants(conn, only)
            names = {u.id: u.username for u in auth.list_users(conn)}
    finally:
        engine.dispose()
    if not found:
        print("No participants" + (f" in {args.specialist}'s caseload." if only else " yet."))
        return OK
    rows = [
        (
            p.id,
            names.get(p.specialist_id, p.specialist_id or "-"),
            p.initials,
            "deleted" if p.deleted else "",
        )
        for p in found
    ]
    _table(("PARTICIPANT", "SPECIALIST", "INITIALS", ""), rows)
    return OK


def unlock(args: argparse.Namespace) -> int:
    engine = _engine(args)
    try:
        with engine.begin() as conn:
            known = auth.find_user(conn, args.name) is not None
            cleared = auth.unlock(conn, args.name)
    finally:
        engine.dispose()
    if cleared:
        print(f"Unlocked {args.name}: failed sign-ins cleared; they can sign in again now.")
    elif known:
        print(f"{args.name} was not locked and had no failed sign-ins.")
    else:
        raise CliError(NOT_FOUND, f"no user named {args.name!r} and no failed sign-ins for it")
    return OK


def _events(args: argparse.Namespace, kind: str | None) -> list[security.Event]:
    engine = _engine(args)
    try:
        with db.reading(engine) as conn:
            return security.list_events(conn, kind)
    finally:
        engine.dispose()


def audit_alarms(args: argparse.Namespace) -> int:
    alarms = _events(args, security.AUDIT_ALARM)
    if not alarms:
        print("No audit alarms: every laptop's audit log extends what it sent before.")
        return OK
    rows = [
        (
            e.at,
            e.device_id,
            e.user_id,
            str(e.detail.get("problem", "")),
            str(e.detail.get("anchored_length", "")),
            str(e.detail.get("sent_length", "")),
        )
        for e in alarms
    ]
    _table(("AT", "DEVICE", "USER", "PROBLEM", "ANCHORED", "SENT"), rows)
    return OK


def audit_events(args: argparse.Namespace) -> int:
    events = _events(args, None)
    if not events:
        print("No security events yet.")
        return OK
    rows = [
        (
            e.at,
            e.kind,
            e.username or "-",
            e.device_id or "-",
            " ".join(f"{k}={v}" for k, v in sorted(e.detail.items())),
        )
        for e in events
    ]
    _table(("AT", "EVENT", "USER", "DEVICE", "DETAIL"), rows)
    return OK


def audit_accept(args: argparse.Namespace) -> int:
    engine = _engine(args)
    try:
        with engine.begin() as conn:
            found = security.forget_anchor(conn, args.device)
    finally:
        engine.dispose()
    if not found:
        raise CliError(NOT_FOUND, f"no audit anchor for device {args.device!r}")
    print(f"Forgot the audit anchor of device {args.device}; its next sync anchors it again.")
    return OK


def _sqlite_only(args: argparse.Namespace, what: str) -> Path:
    db_file = db.sqlite_file(args.data_dir or Path("."), args.database_url)
    if db_file is None:
        raise CliError(
            USAGE, f"{what} is for the SQLite database; for PostgreSQL see docs/SERVER.md"
        )
    return db_file


def backup(args: argparse.Namespace) -> int:
    db_file = _sqlite_only(args, "backup")
    target = args.out.resolve()
    if target.exists():
        raise CliError(FAILED, f"{target} already exists; nothing was written")
    if not target.parent.is_dir():
        raise CliError(NOT_FOUND, f"no such folder: {target.parent}")
    engine = _engine(args)  # the key, an upgrade from plaintext, the schema
    engine.dispose()
    try:
        counts = backups.backup(db_file.parent, db_file, target)
    except atrest.DatabaseKeyError as exc:
        raise CliError(KEY_PROBLEM, str(exc)) from None
    except (OSError, RuntimeError) as exc:
        raise CliError(FAILED, f"the backup was not made: {exc}") from None
    print(
        f"Backed up {sum(counts.values())} rows and the TLS certificate and key to {target} "
        "(encrypted with the database key; keep the key file apart from the backups)."
    )
    return OK


def restore(args: argparse.Namespace) -> int:
    db_file = _sqlite_only(args, "restore")
    source = args.file.resolve()
    if not source.is_file():
        raise CliError(NOT_FOUND, f"no such file: {source}")
    db.ensure_private_dir(db_file.parent)
    try:
        new_epoch = backups.restore(db_file.parent, db_file, source)
    except backups.ServerRunning:
        raise CliError(
            FAILED, "the server is running on this data folder; stop it first (nothing changed)"
        ) from None
    except db.SchemaTooNew as exc:
        raise CliError(SCHEMA_NEWER, str(exc)) from None
    except atrest.DatabaseKeyError as exc:
        raise CliError(
            KEY_PROBLEM, f"{exc}. A backup opens with the key of the server that made it"
        ) from None
    except (OSError, RuntimeError) as exc:
        raise CliError(FAILED, f"the backup was not restored: {exc}") from None
    print(
        f"Restored {source} (the previous database is kept beside it as "
        f"{db_file.name}.before-restore-*). Restore epoch {new_epoch}: laptops send again "
        "what the backup lacks at their next sync. Start the server now."
    )
    return OK


def migrate_to_postgresql(args: argparse.Namespace) -> int:
    from sync.server import move

    if args.database_url:
        raise CliError(USAGE, "give the SQLite server's --data-dir and the new database as --to")
    db_file = _sqlite_only(args, "migrate-to-postgresql")
    try:
        target_url = db.normalise_url(args.to)
    except db.DatabaseUrlError as exc:
        raise CliError(USAGE, str(exc)) from None
    if not target_url.startswith("postgresql"):
        raise CliError(USAGE, "--to is a postgresql:// URL")
    source = _engine(args)
    target = db.open_engine(db_file.parent, target_url)
    try:
        with backups.stopped(db_file.parent):
            counts = move.copy_database(source, target)
    except backups.ServerRunning:
        raise CliError(FAILED, "the server is running on this data folder; stop it first") from None
    except move.TargetNotEmpty as exc:
        raise CliError(
            FAILED, f"the PostgreSQL database already holds {exc}; give an empty one"
        ) from None
    finally:
        source.dispose()
        target.dispose()
    print(
        f"Copied {sum(counts.values())} rows into PostgreSQL. Now give the server "
        "database-url (config file, PEERTRAIL_DATABASE_URL or --database-url) and start it; "
        "keep the SQLite folder (certificate, key) as it is."
    )
    return OK


def mark_restored(args: argparse.Namespace) -> int:
    engine = _engine(args)
    try:
        with engine.begin() as conn:
            new_epoch = epoch.mark_restored(conn)
            security.record_event(conn, backups.RESTORED, epoch=new_epoch, source="pg_restore")
    finally:
        engine.dispose()
    print(f"Recorded restore epoch {new_epoch}: laptops heal at their next sync.")
    return OK


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


# -- serve --------------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    host = host.strip("[]")
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise CliError(USAGE, f"cannot listen on {host!r}: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise CliError(FAILED, f"cannot listen on {host} port {port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _check_serve_args(args: argparse.Namespace) -> None:
    if not args.data_dir:
        raise CliError(USAGE, "serve needs --data-dir DIR (certificate, and SQLite by default)")
    if not 0 <= args.port <= 65535:
        raise CliError(USAGE, "--port is 0-65535 (0 picks a free port)")
    if args.insecure_http:
        if not _is_loopback(args.host):
            raise CliError(
                USAGE,
                f"refusing plain HTTP on {args.host}: --insecure-http is only allowed on "
                "127.0.0.1, ::1 or localhost. Leave it out to serve HTTPS.",
            )
        if args.tls_cert or args.tls_key:
            raise CliError(USAGE, "--insecure-http and --tls-cert/--tls-key do not go together")
    if bool(args.tls_cert) != bool(args.tls_key):
        raise CliError(USAGE, "give both --tls-cert and --tls-key, or neither")
    if args.rate_limit < 0 or args.rate_burst < 1:
        raise CliError(USAGE, "--rate-limit is 0 or more, --rate-burst 1 or more")
    for f in (args.tls_cert, args.tls_key):
        if f and not f.is_file():
            raise CliError(NOT_FOUND, f"no such file: {f}")


def serve(args: argparse.Namespace) -> int:
    _check_serve_args(args)
    import uvicorn

    from sync.server.app import create_app

    try:
        db.ensure_private_dir(args.data_dir)
    except OSError as exc:
        raise CliError(
            FAILED, f"cannot use the data folder {args.data_dir}: {exc.strerror}"
        ) from None
    engine = _engine(args)
    sync_engine = db.build_sync_engine(engine)
    app = create_app(
        engine,
        sync_engine,
        sync_per_minute=args.rate_limit,
        sync_burst=args.rate_burst,
        metrics_token=args.metrics_token or None,
    )

    cert, key = _tls_files(args)
    where = "PostgreSQL" if engine.dialect.name == "postgresql" else "SQLite (encrypted)"
    print(f"Database: {where} {engine.url.render_as_string(hide_password=True)}", flush=True)
    print(f"PeerTrail server {_version()}", flush=True)

    sock = _bind(args.host, args.port)
    port = sock.getsockname()[1]
    host = args.host.strip("[]")
    shown = f"[{host}]" if ":" in host else host
    scheme = "http" if args.insecure_http else "https"

    config = uvicorn.Config(
        app,
        ssl_certfile=str(cert) if cert else None,
        ssl_keyfile=str(key) if key else None,
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
        timeout_keep_alive=75,
    )

    class Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                print(f"Listening on {scheme}://{shown}:{port}", flush=True)

        async def shutdown(self, sockets=None) -> None:
            await super().shutdown(sockets=sockets)
            print("Stopped.", flush=True)

    ops.setup_json_logging()
    trimming = (
        ops.start_retention(engine, args.log_retention_days) if args.log_retention_days else None
    )
    try:
        with backups.running(args.data_dir):
            _reload_on_sighup(config, cert, key)
            Server(config).run(sockets=[sock])
    except Exception as exc:  # e.g. a key that does not match the certificate
        raise CliError(FAILED, f"the server stopped: {_short(exc)}") from None
    finally:
        if trimming is not None:
            trimming.set()
        sock.close()
        engine.dispose()
    return OK


def _tls_files(args: argparse.Namespace) -> tuple[Path | None, Path | None]:
    """The certificate and key to serve (made when self-signed), announced; none for HTTP."""
    from sync.server import tls

    if args.insecure_http:
        print("WARNING: plain HTTP on a loopback address, for local testing only.", flush=True)
        return None, None
    if args.tls_cert:
        cert, key = args.tls_cert, args.tls_key
    else:
        cert, key = tls.ensure_self_signed(args.data_dir)
    try:
        fingerprint = tls.fingerprint_sha256(cert)
    except ValueError:
        raise CliError(USAGE, f"{cert} is not a PEM certificate") from None
    except OSError as exc:
        raise CliError(FAILED, f"cannot read the certificate {cert}: {exc.strerror}") from None
    print(f"TLS certificate: {cert}", flush=True)
    print(f"TLS certificate SHA-256 fingerprint: {fingerprint}", flush=True)
    return cert, key


def _reload_on_sighup(config, cert: Path | None, key: Path | None) -> None:
    """SIGHUP loads the certificate and key files again (after a renewal): new
    connections get the new certificate, open ones keep theirs."""
    if cert is None or key is None:
        return
    if not config.loaded:
        config.load()

    def reload(_signum, _frame) -> None:
        try:
            config.ssl.load_cert_chain(str(cert), str(key))
            from sync.server import tls

            print(f"Reloaded the TLS certificate: {tls.fingerprint_sha256(cert)}", flush=True)
        except Exception as exc:
            print(f"error: the TLS certificate was not reloaded: {_short(exc)}", flush=True)

    signal.signal(signal.SIGHUP, reload)


# -- entry ------------------------------------------------------------------------


def restored(args: argparse.Namespace) -> int:
    from sync.server import replicas

    engine = _engine(args)
    try:
        with engine.begin() as conn:
            epoch.mark_restored(conn)
            number = replicas.identity(conn)[1]
    finally:
        engine.dispose()
    print(
        f"Marked as restored (epoch {number}). Each laptop re-pulls and re-sends what this "
        "database lacks at its next sync."
    )
    return OK


COMMANDS = {
    ("serve", None): serve,
    ("users", "add"): users_add,
    ("users", "list"): users_list,
    ("devices", "list"): devices_list,
    ("devices", "revoke"): devices_revoke,
    ("participants", "reassign"): participants_reassign,
    ("participants", "list"): participants_list,
    ("users", "passwd"): users_passwd,
    ("users", "disable"): users_disable,
    ("users", "enable"): users_enable,
    ("users", "set-supervisor"): users_set_supervisor,
    ("users", "remove"): users_remove,
    ("users", "invite"): users_invite,
    ("backup", None): backup,
    ("restore", None): restore,
    ("mark-restored", None): mark_restored,
    ("migrate-to-postgresql", None): migrate_to_postgresql,
    ("unlock", None): unlock,
    ("audit", "alarms"): audit_alarms,
    ("audit", "events"): audit_events,
    ("audit", "accept"): audit_accept,
    ("restored", None): restored,
}


# -- configuration: flags, then environment, then a config file, then defaults --------

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
    from importlib.metadata import PackageNotFoundError, version

    from sync.protocol import PROTOCOL_VERSION

    try:
        number = version("peertrail")
    except PackageNotFoundError:
        number = "unknown"
    return f"{number} (sync protocol {PROTOCOL_VERSION}, database schema {db.head_revision()})"


def main(argv: Sequence[str] | None = None) -> int:
    os.umask(0o077)  # every file the server makes is the owner's only
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        argv, config = _hoist(argv)
        if argv[:1] == ["--version"]:
            print(f"PeerTrail server {_version()}")
            return OK
        parser = _parser()
        _apply_defaults(parser, _config_values(config))
    except CliError as exc:
        _err(str(exc))
        return exc.code
    args = parser.parse_args(argv)
    command = COMMANDS[(args.command, getattr(args, "action", None))]
    try:
        return command(args)
    except CliError as exc:
        _err(str(exc))
        return exc.code
    except atrest.DatabaseKeyError as exc:
        _err(str(exc))
        return KEY_PROBLEM
    except db.SchemaTooNew as exc:
        _err(str(exc))
        return SCHEMA_NEWER
    except OperationalError as exc:
        _err(f"database problem: {_short(exc)}")
        return FAILED
    except PermissionError as exc:
        _err(f"permission denied: {exc.filename or 'a file'} (run as the service user?)")
        return FAILED
    except OSError as exc:
        _err(f"{exc.strerror or type(exc).__name__}: {exc.filename or ''}".rstrip(": "))
        return FAILED
    except KeyboardInterrupt:
        return FAILED
