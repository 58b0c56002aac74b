"""Commands that look after the database: security events (audit), backup and
restore, moving to PostgreSQL, and marking a restored database."""

from __future__ import annotations

import argparse

from sync.server import atrest
from sync.server import backups
from sync.server import db
from sync.server import epoch
from sync.server import security
from sync.server.cli.common import FAILED
from sync.server.cli.common import KEY_PROBLEM
from sync.server.cli.common import NOT_FOUND
from sync.server.cli.common import OK
from sync.server.cli.common import SCHEMA_NEWER
from sync.server.cli.common import USAGE
from sync.server.cli.common import CliError
from sync.server.cli.common import _database
from sync.server.cli.common import _engine
from sync.server.cli.common import _sqlite_only
from sync.server.cli.common import _table


def _events(args: argparse.Namespace, kind: str | None) -> list[security.Event]:
    with _database(args, read_only=True) as conn:
        return security.list_events(conn, kind)


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
    with _database(args) as conn:
        found = security.forget_anchor(conn, args.device)
    if not found:
        raise CliError(NOT_FOUND, f"no audit anchor for device {args.device!r}")
    print(f"Forgot the audit anchor of device {args.device}; its next sync anchors it again.")
    return OK


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
    with _database(args) as conn:
        new_epoch = epoch.mark_restored(conn)
        security.record_event(conn, backups.RESTORED, epoch=new_epoch, source="pg_restore")
    print(f"Recorded restore epoch {new_epoch}: laptops heal at their next sync.")
    return OK


def restored(args: argparse.Namespace) -> int:
    from sync.server import replicas

    with _database(args) as conn:
        epoch.mark_restored(conn)
        number = replicas.identity(conn)[1]
    print(
        f"Marked as restored (epoch {number}). Each laptop re-pulls and re-sends what this "
        "database lacks at its next sync."
    )
    return OK
