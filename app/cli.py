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
import csv
import getpass
import io
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import NoReturn

from app import __version__
from app.paths import default_data_dir, resource_path
from app.store.errors import (
    EXIT_AUTH,
    EXIT_DAMAGED,
    EXIT_OK,
    EXIT_USAGE,
    EXIT_VALIDATION,
    StoreError,
)


class UsageError(Exception):
    pass


def _err(msg: str) -> None:
    print(msg, file=sys.stderr)


def _secret(env: str, prompt: str, confirm: bool = False) -> str:
    value = os.environ.get(env)
    if value is not None:
        return value
    if not sys.stdin.isatty():
        raise UsageError(f"Set {env} or run this in a terminal to be asked for it.")
    first = getpass.getpass(prompt)
    if confirm and getpass.getpass("Type it again: ") != first:
        raise UsageError("The two entries did not match; nothing was changed.")
    return first


def _passphrase(confirm: bool = False) -> str:
    return _secret("PEERTRAIL_PASSPHRASE", "Passphrase: ", confirm)


def _new_passphrase() -> str:
    return _secret("PEERTRAIL_NEW_PASSPHRASE", "New passphrase: ", confirm=True)


def _unlocked_vault(args: argparse.Namespace):
    from app.store.vault import Vault

    vault = Vault(args.data_dir)
    vault.unlock(_passphrase())
    return vault


def _open_store(args: argparse.Namespace):
    from app.store.db import Store

    return Store.open(_unlocked_vault(args))


def _print_recovery_key(key: str) -> None:
    print(
        "\nYour recovery key (shown only this once):\n\n"
        f"    {key}\n\n"
        "Write it down or print it and keep it somewhere safe, away from this laptop.\n"
        "It is the only way back into your vault if you forget your passphrase.\n"
    )


# -- commands -------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    from app.store.db import Store
    from app.store.vault import Vault

    vault = Vault(args.data_dir)
    if vault.exists():
        raise UsageError(
            "A vault already exists in this folder; it was left as it is. "
            "Use another --data-dir for a new one."
        )
    key = vault.create(_passphrase(confirm=True))
    Store.open(vault, owner_username=args.username).close()
    print(f"Created a new vault in {vault.dir}.")
    _print_recovery_key(key)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from app.demo import fill_demo
    from app.store.db import Store
    from app.store.vault import Vault

    if args.participants < 1 or args.years < 1:
        raise UsageError("--participants and --years must be at least 1.")
    vault = Vault(args.data_dir)
    recovery = None
    if vault.exists():
        vault.unlock(_passphrase())
    else:
        recovery = vault.create(_passphrase(confirm=True))
    store = Store.open(vault)
    try:
        if store.meta("demo"):
            raise UsageError("This vault already holds a demo caseload.")
        if store.conn.execute("SELECT count(*) FROM participants").fetchone()[0]:
            raise UsageError(
                "This vault already holds participants; the demo only fills a new or "
                "empty vault, so invented people never mix with real ones."
            )

        def progress(done: int, total: int) -> None:
            if sys.stderr.isatty():
                print(
                    f"\r  building demo caseload… {100 * done // max(total, 1)}%",
                    end="",
                    file=sys.stderr,
                )

        counts = fill_demo(
            store,
            participants=args.participants,
            years=args.years,
            seed=args.seed,
            progress=progress,
        )
        store.set_meta(
            "demo",
            json.dumps({"participants": args.participants, "years": args.years, "seed": args.seed}),
        )
    finally:
        store.close()
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print("Demo caseload of invented people written:")
    for table, n in counts.items():
        print(f"  {table:22} {n:>8}")
    if recovery:
        _print_recovery_key(recovery)
    return EXIT_OK


def _read_csv(path: Path) -> list[list[str]]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path.name} does not exist.") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            raise UsageError(
                f"{path.name} is not a text spreadsheet export; save it as CSV (UTF-8)."
            ) from None
    try:
        dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        return list(csv.reader(io.StringIO(text), dialect))
    except csv.Error:
        raise UsageError(f"{path.name} is not a readable CSV file.") from None


def cmd_import(args: argparse.Namespace) -> int:
    from app.domain.participant_import import plan_import
    from app.store.repositories import Repositories

    rows = _read_csv(Path(args.file))
    store = _open_store(args)
    try:
        repos = Repositories(store)
        existing = {
            (p.first_name.lower(), p.last_name.lower(), p.date_of_birth)
            for p in repos.participants.iter()
            if p.date_of_birth
        }
        programs = json.loads(resource_path("codes", "programs.json").read_text())["programs"]
        plan = plan_import(
            rows,
            known_programs=programs,
            existing_medicaid_ids=repos.participants.medicaid_ids(),
            existing_people=existing,  # type: ignore[arg-type]
            today=date.today(),
            assigned_specialist_id=store.user_id,
        )
        for w in plan.warnings:
            _err(f"warning: {w}")
        for e in plan.errors:
            _err(f"error: {e}")
        if plan.errors and not args.skip_invalid:
            bad_lines = len({e.line for e in plan.errors})
            _err(
                f"Nothing was imported: {bad_lines} line(s) have problems. Fix them, or use "
                "--skip-invalid to import only the valid rows."
            )
            return EXIT_VALIDATION
        n = repos.participants.add_many(p for _line, p in plan.participants)
        store.audit("import", "participants", detail_file=Path(args.file).name, count=n)
    finally:
        store.close()
    skipped = len({e.line for e in plan.errors})
    print(f"Imported {n} participant(s)" + (f"; skipped {skipped} line(s)." if skipped else "."))
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from app.store.digest import status

    store = _open_store(args)
    try:
        info = status(store)
    finally:
        store.close()
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
    from app.store.backup import check_vault

    report = check_vault(_unlocked_vault(args))
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
    from app.store.backup import create_backup

    store = _open_store(args)
    try:
        out = create_backup(store, Path(args.out))
    finally:
        store.close()
    print(f"Encrypted backup written to {out}. It opens with your current passphrase.")
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    from app.store.backup import restore_backup

    recovery = os.environ.get("PEERTRAIL_RECOVERY_KEY")
    moved = restore_backup(
        Path(args.file),
        Path(args.data_dir),
        passphrase=None if recovery else _passphrase(),
        recovery_key=recovery,
    )
    print(f"Restored the backup into {args.data_dir}.")
    if moved:
        print(f"The vault that was there before was kept in {moved}.")
    return EXIT_OK


def _audit(vault, action: str, **detail: str) -> None:
    """Log an action on an unlocked vault in its audit log."""
    from app.store.db import Store

    store = Store.open(vault)
    try:
        store.audit(action, **detail)
    finally:
        store.close()


def cmd_passwd(args: argparse.Namespace) -> int:
    vault = _unlocked_vault(args)
    new = _new_passphrase()
    vault.change_passphrase(new)
    _audit(vault, "passphrase", how="changed")
    print("Passphrase changed. Your recovery key still works.")
    return EXIT_OK


def cmd_recover(args: argparse.Namespace) -> int:
    from app.store.vault import Vault

    vault = Vault(args.data_dir)
    vault.keyfile()  # a clear message before asking for anything, if there is no vault
    vault.unlock_with_recovery_key(_secret("PEERTRAIL_RECOVERY_KEY", "Recovery key: "))
    vault.change_passphrase(_new_passphrase())
    _audit(vault, "passphrase", how="recovery key")
    print("Passphrase reset with the recovery key. Keep using the same recovery key.")
    return EXIT_OK


def cmd_enroll(args: argparse.Namespace) -> int:
    from app.enrolment import EnrolmentError, enroll, normalise_fingerprint, normalise_server

    try:  # check what was typed before asking for anything
        normalise_server(args.server)
        normalise_fingerprint(args.fingerprint or "")
    except EnrolmentError as e:
        raise UsageError(str(e)) from None
    store = _open_store(args)
    try:
        password = _secret("PEERTRAIL_SERVER_PASSWORD", "Server password: ")
        try:
            answer = enroll(
                store,
                args.server,
                args.username,
                password,
                fingerprint=args.fingerprint or "",
                device_name=args.device_name,
            )
        except EnrolmentError as e:
            _err(str(e))
            if e.code == "usage":
                return EXIT_USAGE
            return EXIT_AUTH if e.code == "unauthorized" else EXIT_DAMAGED
    finally:
        store.close()
    print(f"This laptop is enrolled as {answer.username} ({answer.role}). Run 'sync' to exchange.")
    if answer.held:
        print(
            f"{answer.held} change(s) are not yours to send as a {answer.role} (for example a "
            "demo's supervisor decisions); they stay on this laptop, listed with the refused "
            "changes ('sync --json')."
        )
    return EXIT_OK


def cmd_sync(args: argparse.Namespace) -> int:
    from app.store.refused import refused_changes
    from app.store.replica import StoreReplica, require_enrolled
    from sync.client import SyncClient, SyncError, make_session

    store = _open_store(args)
    try:
        replica = StoreReplica(store)
        if not replica.server().get("token"):
            raise UsageError("This vault is not connected to a server yet: enroll it first.")
        server = require_enrolled(replica)
        client = SyncClient(
            replica,
            server["url"],
            server["token"],
            session=make_session(server.get("fingerprint") or None),
        )
        try:
            result = client.sync()
        except SyncError as e:
            waiting = replica.pending_count()
            if args.json:
                print(json.dumps({"error": e.code, "message": str(e), "waiting": waiting}))
            _err(f"{e} ({waiting} change(s) waiting.)")
            return EXIT_AUTH if e.code in ("revoked", "unauthorized") else EXIT_DAMAGED
        # Every refused change still waiting for its writer (not only this sync's),
        # with the server's reason and the full value (app.store.refused).
        waiting_refused = [r.as_dict() for r in refused_changes(store)]
    finally:
        store.close()
    if args.json:
        print(json.dumps(result.as_dict() | {"refused": waiting_refused}, indent=2))
        return EXIT_OK
    print(
        f"Sent {result.pushed} change(s), received {result.pulled}, "
        f"{result.conflicts} conflict(s), {len(result.rejected)} refused; "
        f"{result.requests} request(s), {result.bytes_sent} bytes sent, "
        f"{result.bytes_received} received, {result.seconds:.1f} s."
    )
    for r in result.rejected:
        print(f"  refused by the server: {r['reason']}")
    if result.report():
        print(result.report())
    if result.clock_warning:
        _err(result.clock_warning)
    return EXIT_OK


def _date_arg(text: str) -> date:
    from app.domain.validation import parse_iso_date

    try:
        return parse_iso_date(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def cmd_export(args: argparse.Namespace) -> int:
    """The billing export: the same service as the dialog's Export button."""
    from app.billing.service import PRIVACY_NOTE, ExportRequest, export
    from app.billing.worksheet import money

    if not args.dry_run and args.out is None:
        raise UsageError("Say where to write the files: --out DIR (or use --dry-run).")
    request = ExportRequest(
        period_from=args.date_from,
        period_to=args.date_to,
        out_dir=args.out,
        payer_name=args.payer,
        skip_invalid=args.skip_invalid,
        dry_run=args.dry_run,
    )
    store = _open_store(args)
    try:
        result = export(store, request)
    finally:
        store.close()
    pf = result.preflight
    for p in result.problems:  # record ids only: no names or Medicaid ids on a terminal
        rid = p.record_id or "(none yet)"
        when = f" {p.service_date.isoformat()}" if p.service_date else ""
        _err(
            f"problem: {p.table} {rid}{when} [{p.check}] {p.message}"
            f" ({len(p.encounter_ids)} service(s) held back)"
        )
    if result.outcome == "stopped":
        held = len(pf.blocked_ids)
        if pf.stopped_everything:
            _err("Nothing was exported: fix the billing settings above first.")
        else:
            _err(
                f"Nothing was exported: {len(result.problems)} problem(s) hold back {held} of "
                f"{pf.considered} service(s). Fix them, or add --skip-invalid to export the "
                f"{len(pf.lines)} valid service(s) only."
            )
        return EXIT_VALIDATION
    for t in result.totals:
        print(f"{t.payer_name}: {t.services} service(s), {t.units} unit(s), ${money(t.cents)}")
    if result.outcome == "nothing":
        print("There is nothing to bill in that period: no approved, unbilled services.")
        return EXIT_OK
    if result.outcome == "dry-run":
        print("Dry run: no files were written and nothing was marked billed.")
        return EXIT_OK
    for b in result.batches:
        print(
            f"Batch {b.batch.id} ({b.payer_name}), interchange control number "
            f"{b.batch.interchange_control:09d}: {b.batch.claim_count} claim(s)."
        )
        for path in b.paths:
            print(f"  wrote {path}")
    if result.problems:
        print(f"{len(pf.blocked_ids)} service(s) with problems were left for a later export.")
    print(PRIVACY_NOTE)
    return EXIT_OK


def cmd_batches(args: argparse.Namespace) -> int:
    from app.billing.service import batches
    from app.billing.worksheet import money

    store = _open_store(args)
    try:
        found = batches(store)
    finally:
        store.close()
    if not found:
        print("No billing batches yet.")
    for b in found:
        state = f"void: {b.void_reason}" if b.status.value == "void" else "exported"
        print(
            f"{b.interchange_control:09d}  {b.id}  {b.period_from}..{b.period_to}  "
            f"{b.claim_count} claim(s)  {b.unit_count} unit(s)  ${money(b.total_cents)}  {state}"
        )
    return EXIT_OK


def cmd_void_batch(args: argparse.Namespace) -> int:
    from app.billing.service import void_batch

    store = _open_store(args)
    try:
        batch = void_batch(store, args.batch_id, args.reason)
    finally:
        store.close()
    print(
        f"Batch {batch.interchange_control:09d} is void; its {len(batch.encounter_ids)} "
        "service(s) can be billed again."
    )
    return EXIT_OK


# -- parser -----------------------------------------------------------------------


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
    p = add("enroll", cmd_enroll, "connect this vault to the organisation's sync server")
    p.add_argument("--server", required=True, help="https://host:port")
    p.add_argument("--username", required=True)
    p.add_argument("--fingerprint", help="SHA-256 of a self-signed server certificate")
    p.add_argument("--device-name", default="", help="a name for this laptop (no personal data)")
    p = add("sync", cmd_sync, "send waiting changes and receive the team's")
    p.add_argument("--json", action="store_true")
    p = add(
        "export",
        cmd_export,
        "billing export: check the period's approved services, then write an 837P claim "
        "file, a CSV worksheet and a PDF summary per payer and mark the services billed",
    )
    p.add_argument("--from", dest="date_from", type=_date_arg, required=True, metavar="YYYY-MM-DD")
    p.add_argument("--to", dest="date_to", type=_date_arg, required=True, metavar="YYYY-MM-DD")
    p.add_argument("--out", type=Path, help="an existing folder for the files")
    p.add_argument("--payer", help="only this payer (name or payer id)")
    p.add_argument("--dry-run", action="store_true", help="check and count; write nothing")
    p.add_argument(
        "--skip-invalid",
        action="store_true",
        help="when some services have problems, export the valid ones (the others wait)",
    )
    add("batches", cmd_batches, "list billing batches, newest first")
    p = add(
        "void-batch", cmd_void_batch, "void a billing batch so its services can be billed again"
    )
    p.add_argument("batch_id")
    p.add_argument("--reason", required=True)
    add("passwd", cmd_passwd, "change the passphrase")
    add("recover", cmd_recover, "set a new passphrase using the recovery key")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.data_dir is None:
        args.data_dir = default_data_dir()
    if not args.command:
        from app.ui.app import run_gui

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
