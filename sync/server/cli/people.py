"""Commands about people and their devices: users, devices, participants'
caseloads, invites and unlocking an account."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from sqlalchemy import select

from sync import invite as invite_mod
from sync.protocol import DEFAULT_PORT
from sync.server import auth
from sync.server import db
from sync.server import staff
from sync.server.cli.common import FAILED
from sync.server.cli.common import NOT_FOUND
from sync.server.cli.common import OK
from sync.server.cli.common import USAGE
from sync.server.cli.common import CliError
from sync.server.cli.common import _database
from sync.server.cli.common import _engine
from sync.server.cli.common import _password
from sync.server.cli.common import _staff_change
from sync.server.cli.common import _table
from sync.server.cli.common import _user
from sync.server.tables import records
from sync.server.tables import users


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
            user = staff.add_user(
                conn,
                sync_engine,
                name,
                password,
                args.role,
                supervisor_id=supervisor_id,
                display_name=display,
            )
    finally:
        engine.dispose()
    print(f"Added user {name} ({args.role}), id {user.id}")
    return OK


def users_list(args: argparse.Namespace) -> int:
    with _database(args, read_only=True) as conn:
        people = auth.list_users(conn)
        devs = auth.list_devices(conn)
        status = {
            r.id: "removed" if r.removed_at else "yes, enrol blocked" if r.enrol_blocked else ""
            for r in conn.execute(select(users.c.id, users.c.removed_at, users.c.enrol_blocked))
        }
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
    with _database(args, read_only=True) as conn:
        devs = auth.list_devices(conn)
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
    with _database(args) as conn:
        known = {d.id: d for d in auth.list_devices(conn)}
        was = known.get(args.id)
        at = staff.revoke_device(conn, args.id)
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


def participants_list(args: argparse.Namespace) -> int:
    with _database(args, read_only=True) as conn:
        only = _user(conn, args.specialist).id if args.specialist else None
        found = staff.list_participants(conn, only)
        names = {u.id: u.username for u in auth.list_users(conn)}
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


def unlock(args: argparse.Namespace) -> int:
    with _database(args) as conn:
        known = auth.find_user(conn, args.name) is not None
        cleared = auth.unlock(conn, args.name)
    if cleared:
        print(f"Unlocked {args.name}: failed sign-ins cleared; they can sign in again now.")
    elif known:
        print(f"{args.name} was not locked and had no failed sign-ins.")
    else:
        raise CliError(NOT_FOUND, f"no user named {args.name!r} and no failed sign-ins for it")
    return OK
