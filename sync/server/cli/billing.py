"""Commands about billing reservations: list the batches that hold services, and
release a batch whose laptop is lost (docs/SERVER.md, "Billing reservations")."""

from __future__ import annotations

import argparse
import getpass

from sync.server import auth
from sync.server import billing
from sync.server.cli.common import FAILED
from sync.server.cli.common import NOT_FOUND
from sync.server.cli.common import OK
from sync.server.cli.common import CliError
from sync.server.cli.common import _database
from sync.server.cli.common import _table


def reservations_list(args: argparse.Namespace) -> int:
    with _database(args, read_only=True) as conn:
        held = billing.held_batches(conn)
        names = {u.id: u.username for u in auth.list_users(conn)}
    if not held:
        print("No batch holds services.")
        return OK
    rows = [
        (h.batch_id, h.control, names.get(h.user_id, h.user_id), h.device_id,
         h.reserved_at[:16], str(h.services))
        for h in held
    ]  # fmt: skip
    _table(("BATCH", "CONTROL", "EXPORTED BY", "DEVICE", "RESERVED", "SERVICES"), rows)
    return OK


def reservations_release(args: argparse.Namespace) -> int:
    try:
        with _database(args) as conn:
            n = billing.admin_release(conn, args.batch_id, getpass.getuser())
    except billing.BillingRefusal as exc:
        raise CliError(FAILED, f"{exc} Nothing was changed.") from None
    if not n:
        raise CliError(NOT_FOUND, "no batch with that id holds services; nothing was changed")
    print(
        f"Released {n} service{'s' if n != 1 else ''} of batch {args.batch_id}: they may be "
        "exported again. Should that batch still sync, its services show as billed twice."
    )
    return OK
