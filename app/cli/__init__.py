"""The command line: ``python main.py <command>``; no command opens the desktop window.

Passphrases come from PEERTRAIL_PASSPHRASE (new ones from PEERTRAIL_NEW_PASSPHRASE,
recovery keys from PEERTRAIL_RECOVERY_KEY) or are asked for without echo. Every
command takes --data-dir (default: PEERTRAIL_DATA_DIR or the platform's user data
folder). Exit codes: 0 success, 2 usage error, 3 wrong passphrase or recovery
key, 4 damaged or missing data, 5 input that did not pass validation (nothing
was written; for ``export``: pre-flight problems stopped it). Messages never
contain personal data.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from app import __version__
from app.cli import billing
from app.cli import report
from app.cli import syncing
from app.cli import vault
from app.cli.billing_settings import add_billing_commands
from app.cli.common import UsageError
from app.cli.common import _err
from app.cli.common import _passphrase
from app.paths import default_data_dir
from app.services.failures import EXIT_USAGE
from app.services.failures import StoreError


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="vault folder (default: PEERTRAIL_DATA_DIR or the user data folder)",
    )
    parser = argparse.ArgumentParser(
        prog="peertrail",
        description="PeerTrail: caseload, notes and hours for peer support specialists. "
        "With no command, opens the desktop app.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"PeerTrail {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, fn: Callable[[argparse.Namespace], int], help_: str):
        p = sub.add_parser(name, help=help_, description=help_, parents=[common])
        p.set_defaults(func=fn)
        return p

    vault.add_commands(add)
    syncing.add_commands(add)
    billing.add_commands(add)
    add_billing_commands(sub, common, _passphrase)
    report.add_commands(add)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.data_dir is None:
        args.data_dir = default_data_dir()
    if not args.command:
        from app.ui.shell.app import run_gui

        return run_gui(args.data_dir)
    try:
        return int(args.func(args))
    except UsageError as e:
        _err(str(e))
        return EXIT_USAGE
    except StoreError as e:
        _err(str(e))
        return e.exit_code
    except KeyboardInterrupt:
        _err("Stopped; nothing more was changed.")
        return 130


def entry() -> NoReturn:
    sys.exit(main())
