"""The vault commands: init, demo, import, status, check, backup, restore, passwd, recover."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from app.cli.common import Adder
from app.cli.common import UsageError
from app.cli.common import _err
from app.cli.common import _new_passphrase
from app.cli.common import _passphrase
from app.cli.common import _print_recovery_key
from app.cli.common import _secret
from app.domain.datetext import count_text
from app.services.failures import EXIT_DAMAGED
from app.services.failures import EXIT_OK
from app.services.failures import EXIT_VALIDATION


def cmd_init(args: argparse.Namespace) -> int:
    from app.services import vaults

    if vaults.vault_exists(args.data_dir):
        raise UsageError(
            "A vault already exists in this folder; it was left as it is. "
            "Use another --data-dir for a new one."
        )
    session, key = vaults.create_vault(args.data_dir, _passphrase(confirm=True), args.username)
    session.close()
    print(f"Created a new vault in {session.vault.dir}.")
    _print_recovery_key(key)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from app.services.demos import fill_demo_vault
    from app.services.vaults import vault_exists

    if args.participants < 1 or args.years < 1:
        raise UsageError("--participants and --years must be at least 1.")

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(
                f"\r  building demo caseload… {100 * done // max(total, 1)}%",
                end="",
                file=sys.stderr,
            )

    passphrase = _passphrase(confirm=not vault_exists(args.data_dir))
    filled = fill_demo_vault(
        args.data_dir, passphrase, args.participants, args.years, args.seed, progress
    )
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print("Demo caseload of invented people written:")
    for table, n in filled.counts.items():
        print(f"  {table:22} {n:>8}")
    if filled.recovery_key:
        _print_recovery_key(filled.recovery_key)
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    from app.services.importing import import_participants
    from app.services.importing import preview_rows
    from app.services.importing import read_spreadsheet
    from app.services.vaults import opened

    path = Path(args.file)
    rows = read_spreadsheet(path)  # a clear message before asking for the passphrase
    with opened(args.data_dir, _passphrase()) as repos:
        plan = preview_rows(repos, rows, path.name).plan
        for w in plan.warnings:
            _err(f"warning: {w}")
        for e in plan.errors:
            _err(f"error: {e}")
        if plan.errors and not args.skip_invalid:
            bad_lines = len({e.line for e in plan.errors})
            _err(
                f"Nothing was imported: {count_text(bad_lines, 'line has', 'lines have')} "
                "problems. Fix them, or use "
                "--skip-invalid to import only the valid rows."
            )
            return EXIT_VALIDATION
        n = import_participants(repos, [p for _line, p in plan.participants], path.name).value
    skipped = len({e.line for e in plan.errors})
    done = f"Imported {count_text(n, 'participant', 'participants')}"
    print(done + (f"; skipped {count_text(skipped, 'line', 'lines')}." if skipped else "."))
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from app.services.vaults import vault_status

    info = vault_status(args.data_dir, _passphrase())
    if args.json:
        print(json.dumps(info, indent=2, sort_keys=True))
        return EXIT_OK
    print(f"Schema version   {info['schema_version']}")
    print(f"Device           {info['device_id']}")
    print(f"Changes to sync  {info['outbox']['pending']}")
    print(f"Audit entries    {info['audit_entries']}")
    print(f"State digest     {info['state_digest']}")
    print("Records:")
    for table, c in info["counts"].items():
        extra = f"  (+{c['deleted']} deleted)" if c["deleted"] else ""
        print(f"  {table:22} {c['records']:>8}{extra}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from app.services.vaults import check

    report = check(args.data_dir, _passphrase())
    for what in report.checked:
        print(f"checked: {what}")
    if report.ok:
        print("The vault is intact.")
        return EXIT_OK
    for p in report.problems:
        _err(f"damaged: {p}")
    _err("The vault is damaged. Restore it from a backup (peertrail restore FILE).")
    return EXIT_DAMAGED


def cmd_backup(args: argparse.Namespace) -> int:
    from app.services.vaults import backup

    out = backup(args.data_dir, _passphrase(), Path(args.out))
    print(f"Encrypted backup written to {out}. It opens with your current passphrase.")
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    from app.services.vaults import restore

    recovery = os.environ.get("PEERTRAIL_RECOVERY_KEY")
    passphrase = None if recovery else _passphrase()
    moved = restore(Path(args.file), Path(args.data_dir), passphrase, recovery)
    print(f"Restored the backup into {args.data_dir}.")
    if moved:
        print(f"The vault that was there before was kept in {moved}.")
    return EXIT_OK


def cmd_passwd(args: argparse.Namespace) -> int:
    from app.services import vaults

    vault = vaults.unlock(args.data_dir, _passphrase())
    vaults.change_passphrase(vault, _new_passphrase())
    print("Passphrase changed. Your recovery key still works.")
    return EXIT_OK


def cmd_recover(args: argparse.Namespace) -> int:
    from app.services import vaults

    vaults.require_vault(args.data_dir)  # a clear message before asking for anything
    key = _secret("PEERTRAIL_RECOVERY_KEY", "Recovery key: ")
    vault = vaults.unlock_with_recovery_key(args.data_dir, key)
    vaults.change_passphrase(vault, _new_passphrase(), how="recovery key")
    print("Passphrase reset with the recovery key. Keep using the same recovery key.")
    return EXIT_OK


def add_commands(add: Adder) -> None:
    """Registers this module's commands on the parser."""
    p = add("init", cmd_init, "create a new encrypted vault and show its recovery key")
    p.add_argument("--username", help="your user name in the vault (default: login name)")
    p = add("demo", cmd_demo, "create or fill a vault with an invented demo caseload")
    p.add_argument("--participants", type=int, default=40)
    p.add_argument("--years", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p = add("import", cmd_import, "import records from a spreadsheet (CSV)")
    p.add_argument("kind", choices=["participants"])
    p.add_argument("file", type=Path)
    p.add_argument("--skip-invalid", action="store_true", help="import the valid rows only")
    p = add("status", cmd_status, "counts, changes waiting to sync, schema, state digest")
    p.add_argument("--json", action="store_true")
    add("check", cmd_check, "check the database pages, structure and audit chain")
    p = add("backup", cmd_backup, "write an encrypted backup of the vault")
    p.add_argument("--out", type=Path, required=True)
    p = add("restore", cmd_restore, "restore a backup (the current vault is kept aside)")
    p.add_argument("file", type=Path)
    add("passwd", cmd_passwd, "change the passphrase")
    add("recover", cmd_recover, "set a new passphrase using the recovery key")
