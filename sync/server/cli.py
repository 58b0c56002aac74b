"""``python -m sync.server``: run the sync server and administer it.

    serve --data-dir DIR [--host H] [--port P] [--database-url URL]
          [--tls-cert F --tls-key F] [--insecure-http]
    users add NAME --role ROLE [--supervisor NAME] [--display-name TEXT]
    users list
    devices list
    devices revoke ID
    participants reassign ID --to NAME
    backup --to FILE
    unlock NAME
    audit alarms | audit events | audit accept DEVICE

Every command takes --data-dir (SQLite in DIR/server.db) and/or --database-url
(PostgreSQL; also read from PEERTRAIL_DATABASE_URL). The SQLite database is
encrypted (sync.server.atrest) with the key in DIR/server.db.key or in
PEERTRAIL_SERVER_DB_KEY. Exit codes: 0 done, 1 refused or failed, 2 wrong usage,
3 the database key is missing or wrong, 4 not found.
"""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from sync.protocol import DEFAULT_PORT
from sync.server import atrest, auth, db, security
from sync.server.tables import records

OK, FAILED, USAGE, KEY_PROBLEM, NOT_FOUND = 0, 1, 2, 3, 4
EXIT_CODES = (
    "Exit codes: 0 done, 1 refused or failed, 2 wrong usage, 3 the database key is "
    "missing or wrong, 4 not found."
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
        default=os.environ.get(DATABASE_URL_ENV) or None,
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

    u = sub.add_parser("users", help="list or add users").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    ua = u.add_parser("add", parents=[where], help=f"add a user (password from {PASSWORD_ENV})")
    ua.add_argument("name")
    ua.add_argument("--role", required=True, choices=auth.ROLES)
    ua.add_argument("--supervisor", metavar="NAME", help="the supervisor's username")
    ua.add_argument("--display-name", metavar="TEXT", help="the name people see (NAME)")
    u.add_parser("list", parents=[where], help="list users")

    d = sub.add_parser("devices", help="list or revoke devices").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    d.add_parser("list", parents=[where], help="list enrolled devices")
    dr = d.add_parser("revoke", parents=[where], help="revoke a device: it gets nothing more")
    dr.add_argument("id")

    pa = sub.add_parser("participants", help="move participants between caseloads")
    pr = pa.add_subparsers(dest="action", required=True, metavar="ACTION").add_parser(
        "reassign", parents=[where], help="assign a participant to another specialist"
    )
    pr.add_argument("id")
    pr.add_argument("--to", required=True, metavar="NAME", help="the specialist's username")

    un = sub.add_parser(
        "unlock", parents=[where], help="clear an account's failed sign-ins and lockout"
    )
    un.add_argument("name", help="the username")

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
        "backup", parents=[where], help="an encrypted copy of the SQLite database (0600)"
    )
    b.add_argument("--to", required=True, type=Path, metavar="FILE", help="a new file")
    sub.add_parser(
        "restored",
        parents=[where],
        help="after restoring the database from a backup: every laptop re-pulls, re-sends "
        "what the server lost and repairs at its next sync",
    )
    return p


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
            "yes" if u.active else "no",
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
            at = auth.revoke_device(conn, args.id)
    finally:
        engine.dispose()
    if at is None or was is None:
        raise CliError(NOT_FOUND, f"no device with id {args.id!r} (see: devices list)")
    if was.revoked_at:
        print(f"Device {args.id} ({was.username}) was already revoked at {at}.")
    else:
        print(f"Revoked device {args.id} ({was.username}). It gets nothing at its next sync.")
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
            current = sync_engine.record_fields(conn, args.id).get("assigned_specialist_id")
            if current == user.id:
                print(f"Participant {args.id} is already in {args.to}'s caseload.")
                return OK
            sync_engine.server_write(
                conn, "participants", args.id, {"assigned_specialist_id": user.id}
            )
    finally:
        engine.dispose()
    print(
        f"Participant {args.id} is now in {args.to}'s caseload. It leaves the previous "
        "specialist's laptop at that laptop's next sync."
    )
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


def backup(args: argparse.Namespace) -> int:
    db_file = db.sqlite_file(args.data_dir or Path("."), args.database_url)
    if db_file is None:
        raise CliError(
            USAGE, "backup copies the SQLite database; for PostgreSQL use pg_dump (docs/SERVER.md)"
        )
    target = args.to.resolve()
    if target.exists():
        raise CliError(FAILED, f"{target} already exists; nothing was written")
    if not target.parent.is_dir():
        raise CliError(NOT_FOUND, f"no such folder: {target.parent}")
    engine = _engine(args)  # the key, an upgrade from plaintext, the schema
    engine.dispose()
    try:
        counts = atrest.backup(db_file, atrest.load_key(db_file), target)
    except atrest.DatabaseKeyError as exc:
        raise CliError(KEY_PROBLEM, str(exc)) from None
    except (OSError, RuntimeError) as exc:
        raise CliError(FAILED, f"the backup was not made: {exc}") from None
    print(
        f"Backed up {sum(counts.values())} rows to {target} (encrypted with the database "
        "key; keep the key file apart from the backups)."
    )
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


def serve(args: argparse.Namespace) -> int:
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

    import uvicorn

    from sync.server import tls
    from sync.server.app import create_app

    db.ensure_private_dir(args.data_dir)
    engine = _engine(args)
    sync_engine = db.build_sync_engine(engine)
    app = create_app(
        engine, sync_engine, sync_per_minute=args.rate_limit, sync_burst=args.rate_burst
    )

    cert = key = None
    if not args.insecure_http:
        if args.tls_cert:
            cert, key = args.tls_cert, args.tls_key
        else:
            cert, key = tls.ensure_self_signed(args.data_dir)
        try:
            fingerprint = tls.fingerprint_sha256(cert)
        except ValueError:
            raise CliError(USAGE, f"{cert} is not a PEM certificate") from None
        print(f"TLS certificate: {cert}", flush=True)
        print(f"TLS certificate SHA-256 fingerprint: {fingerprint}", flush=True)
    else:
        print("WARNING: plain HTTP on a loopback address, for local testing only.", flush=True)
    where = "PostgreSQL" if engine.dialect.name == "postgresql" else "SQLite (encrypted)"
    print(f"Database: {where} {engine.url.render_as_string(hide_password=True)}", flush=True)

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

    try:
        Server(config).run(sockets=[sock])
    except Exception as exc:  # e.g. a key that does not match the certificate
        raise CliError(FAILED, f"the server stopped: {_short(exc)}") from None
    finally:
        sock.close()
        engine.dispose()
    return OK


# -- entry ------------------------------------------------------------------------


def restored(args: argparse.Namespace) -> int:
    from sync.server import replicas

    engine = _engine(args)
    try:
        with engine.begin() as conn:
            epoch = replicas.raise_epoch(conn)
    finally:
        engine.dispose()
    print(
        f"Marked as restored (epoch {epoch}). Each laptop re-pulls and re-sends what this "
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
    ("backup", None): backup,
    ("unlock", None): unlock,
    ("audit", "alarms"): audit_alarms,
    ("audit", "events"): audit_events,
    ("audit", "accept"): audit_accept,
    ("restored", None): restored,
}


def main(argv: Sequence[str] | None = None) -> int:
    os.umask(0o077)  # every file the server makes is the owner's only
    args = _parser().parse_args(argv)
    command = COMMANDS[(args.command, getattr(args, "action", None))]
    try:
        return command(args)
    except CliError as exc:
        _err(str(exc))
        return exc.code
    except atrest.DatabaseKeyError as exc:
        _err(str(exc))
        return KEY_PROBLEM
    except OperationalError as exc:
        _err(f"database problem: {_short(exc)}")
        return FAILED
    except KeyboardInterrupt:
        return FAILED
