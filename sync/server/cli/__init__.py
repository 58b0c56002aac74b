"""``python -m sync.server``: run the sync server and administer it.

    serve [--host H] [--port P] [--tls-cert F --tls-key F] [--insecure-http]
          [--rate-limit N] [--rate-burst N] [--metrics-token T] [--log-retention-days D]
    users add NAME --role ROLE [--supervisor NAME] [--display-name TEXT]
    users list | passwd NAME | disable NAME | enable NAME | set-supervisor NAME SUP|-
    users remove NAME [--to HEIR] | invite NAME --address HOST[:PORT] [--hours H] [--file F]
    devices list | devices revoke ID
    participants list [--specialist NAME] | participants reassign ID --to NAME
    backup --out FILE (or --to) | restore FILE | mark-restored | migrate-to-postgresql --to URL
    billing reservations | billing release BATCH
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

The commands live by group: ``people`` (users, devices, participants),
``maintenance`` (audit, backup, restore, migration), ``billing`` (reservations),
``serve``; ``config`` holds the parser and the configuration, ``common`` what
they share.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from sqlalchemy.exc import OperationalError

from sync.server import atrest
from sync.server import db
from sync.server.cli.billing import reservations_list
from sync.server.cli.billing import reservations_release
from sync.server.cli.common import FAILED
from sync.server.cli.common import KEY_PROBLEM
from sync.server.cli.common import OK
from sync.server.cli.common import SCHEMA_NEWER
from sync.server.cli.common import CliError
from sync.server.cli.common import _err
from sync.server.cli.common import _short
from sync.server.cli.config import _apply_defaults
from sync.server.cli.config import _config_values
from sync.server.cli.config import _hoist
from sync.server.cli.config import _parser
from sync.server.cli.config import _version
from sync.server.cli.maintenance import audit_accept
from sync.server.cli.maintenance import audit_alarms
from sync.server.cli.maintenance import audit_events
from sync.server.cli.maintenance import backup
from sync.server.cli.maintenance import mark_restored
from sync.server.cli.maintenance import migrate_to_postgresql
from sync.server.cli.maintenance import restore
from sync.server.cli.maintenance import restored
from sync.server.cli.people import devices_list
from sync.server.cli.people import devices_revoke
from sync.server.cli.people import participants_list
from sync.server.cli.people import participants_reassign
from sync.server.cli.people import unlock
from sync.server.cli.people import users_add
from sync.server.cli.people import users_disable
from sync.server.cli.people import users_enable
from sync.server.cli.people import users_invite
from sync.server.cli.people import users_list
from sync.server.cli.people import users_passwd
from sync.server.cli.people import users_remove
from sync.server.cli.people import users_set_supervisor
from sync.server.cli.serve import serve

__all__ = ["COMMANDS", "CliError", "main"]


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
    ("billing", "reservations"): reservations_list,
    ("billing", "release"): reservations_release,
}


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
