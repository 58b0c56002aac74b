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
import getpass
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

from app import __version__
from app.cli_billing import add_billing_commands
from app.domain.datetext import count_text
from app.paths import default_data_dir
from app.services.failures import (
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


def _print_recovery_key(key: str) -> None:
    print(
        "\nYour recovery key (shown only this once):\n\n"
        f"    {key}\n\n"
        "Write it down or print it and keep it somewhere safe, away from this laptop.\n"
        "It is the only way back into your vault if you forget your passphrase.\n"
    )


# -- commands -------------------------------------------------------------------


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
    from app.services.importing import import_participants, preview_rows, read_spreadsheet
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


def cmd_enroll(args: argparse.Namespace) -> int:
    from app.services import enrolment, site_settings
    from app.services.vaults import opened

    site = site_settings.load()
    if site.problem:
        _err(f"Ignored: {site.problem}")
    if not (args.invite or args.invite_file or args.server or args.username) and site.invite_file:
        args.invite_file = Path(site.invite_file)  # a laptop prepared for one person
    invite_given = bool(args.invite or args.invite_file)
    check = _enrol_check(args, site, invite_given)
    try:  # check what was typed before asking for anything
        check("-")
    except enrolment.EnrolmentError as e:
        if e.code == "usage":
            raise UsageError(str(e)) from None
        _err(str(e))
        return EXIT_AUTH if e.code in _AUTH_CODES else EXIT_DAMAGED
    with opened(args.data_dir, _passphrase()) as repos:
        for held in enrolment.not_sent(repos.store):
            print(
                f"Will stay on this laptop, not sent: "
                f"{count_text(held.changes, 'change', 'changes')} to "
                f"{count_text(held.records, held.table + ' record', held.table + ' records')} "
                f"({held.reason})."
            )
        password = _secret("PEERTRAIL_SERVER_PASSWORD", "Server password: ")
        try:
            request = check(password)
            if invite_given:
                answer = enrolment.enroll_invite(repos.store, request)
            else:
                answer = enrolment.enroll(
                    repos.store, request.url, request.username, password,
                    request.fingerprint, args.device_name,
                )  # fmt: skip
        except enrolment.EnrolmentError as e:
            _err(str(e))
            if e.code == "usage":
                return EXIT_USAGE
            return EXIT_AUTH if e.code in _AUTH_CODES else EXIT_DAMAGED
    print(f"This laptop is enrolled as {answer.username} ({answer.role}). Run 'sync' to exchange.")
    if answer.held:
        print(
            f"{count_text(answer.held, 'change is', 'changes are')} not yours to send as a "
            f"{answer.role} (for example a "
            "demo's supervisor decisions); they stay on this laptop, listed with the refused "
            "changes ('sync --json')."
        )
    return EXIT_OK


def _enrol_check(args: argparse.Namespace, site: Any, invite_given: bool) -> Callable[[str], Any]:
    """The check of what was typed, for a password: an invite or address and user name
    (the address and pinned fingerprint default to the machine-wide settings)."""
    from app.services import enrolment

    if invite_given:
        if args.username or args.fingerprint or args.server:
            raise UsageError("An invite code holds the server and the user: give only the code.")

        def check_invite(password: str) -> Any:
            return enrolment.check_invite(
                args.invite or "", password, file=args.invite_file or "",
                pinned=site.fingerprint, device_name=args.device_name,
            )  # fmt: skip

        return check_invite
    server = args.server or site.server
    fingerprint = args.fingerprint or ("" if args.server else site.fingerprint)
    if not server or not args.username:
        raise UsageError("Give --invite CODE (or --invite-file), or --server and --username.")

    def check_typed(password: str) -> Any:
        return enrolment.check_request(
            server, args.username, password, fingerprint, args.device_name
        )

    return check_typed


#: Enrolment refusals that are about who is asking (exit 3): the rest are exit 4.
_AUTH_CODES = {"unauthorized", "invite_invalid", "invite_expired", "bad_invite", "forbidden",
               "enrol_blocked", "revoked"}  # fmt: skip


def cmd_site_config(args: argparse.Namespace) -> int:
    """Write (or show) the machine-wide settings file that pre-sets the server."""
    from app.services import enrolment, site_settings

    if args.show:
        site = site_settings.load()
        if site.problem:
            _err(site.problem)
            return EXIT_VALIDATION
        if not site.source:
            print("No machine-wide settings file; looked in: "
                  + ", ".join(str(p) for p in site_settings.candidates()))  # fmt: skip
            return EXIT_OK
        print(f"{site.source}: server {site.server or '-'}, fingerprint "
              f"{site.fingerprint or '-'}, invite file {site.invite_file or '-'}")  # fmt: skip
        return EXIT_OK
    if not args.server:
        raise UsageError("Give --server ADDRESS (and --fingerprint when self-signed), or --show.")
    try:
        text = site_settings.file_text(args.server, args.fingerprint or "", args.invite_file or "")
    except enrolment.EnrolmentError as e:
        raise UsageError(str(e)) from None
    out = Path(args.out) if args.out else site_settings.default_path()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    out.chmod(0o644)  # every user of the computer reads it; only an administrator writes it
    print(f"Wrote {out}: every user of this computer enrols with {site_settings.read(out).server}.")
    return EXIT_OK


def cmd_sync(args: argparse.Namespace) -> int:
    from app.services.double_billing import billing_conflicts
    from app.services.duplicates import known_count
    from app.services.syncing import SyncError, pending_count, refused_waiting, run_sync
    from app.services.vaults import opened

    with opened(args.data_dir, _passphrase()) as repos:
        try:
            result = run_sync(repos.store).value
        except SyncError as e:
            waiting = pending_count(repos.store)
            if args.json:
                print(json.dumps({"error": e.code, "message": str(e), "waiting": waiting}))
            _err(f"{e} ({count_text(waiting, 'change', 'changes')} waiting.)")
            return EXIT_AUTH if e.code in ("revoked", "unauthorized") else EXIT_DAMAGED
        # Every refused change still waiting for its writer (not only this sync's),
        # with the server's reason and the full value.
        waiting_refused = refused_waiting(repos.store)
        duplicates = known_count(repos)
        double = billing_conflicts(repos.store)
    if args.json:
        extra = {
            "refused": waiting_refused,
            "duplicates": duplicates,
            "billing_conflicts": [d.as_dict() for d in double],
        }
        print(json.dumps(result.as_dict() | extra, indent=2))
        return EXIT_OK
    print(
        f"Sent {count_text(result.pushed, 'change', 'changes')}, received {result.pulled}, "
        f"{count_text(result.conflicts, 'conflict', 'conflicts')}, "
        f"{len(result.rejected)} refused; "
        f"{count_text(result.requests, 'request', 'requests')}, {result.bytes_sent} bytes sent, "
        f"{result.bytes_received} received, {result.seconds:.1f} s."
    )
    for r in result.rejected:
        print(f"  refused by the server: {r['reason']}")
    if result.quarantined:
        print(
            f"  {count_text(result.quarantined, 'received value', 'received values')} did not "
            "fit the record schema and "
            "were set aside in the vault, not applied."
        )
    if result.report():
        print(result.report())
    if duplicates:
        found = count_text(duplicates, "possible duplicate record", "possible duplicate records")
        print(f"  {found}: see Possible duplicates.")
    if result.clock_warning:
        _err(result.clock_warning)
    if result.audit_warning:
        _err(result.audit_warning)
    if result.signature_problems:
        bad = len(result.signature_problems)
        _err(f"{count_text(bad, 'signed note does', 'signed notes do')} not match their content.")
    for d in double:
        controls = " and ".join(f"{b.control:09d}" for b in d.batches)
        _err(f"Billing conflict: batches {controls}. {d.advice}")
    return EXIT_OK


def cmd_duplicates(args: argparse.Namespace) -> int:
    """Likely duplicates by record id (names stay in the vault), merge, or mark."""
    from app.services import duplicates
    from app.services.vaults import opened

    with opened(args.data_dir, _passphrase()) as repos:
        if args.merge:
            done = duplicates.merge(repos, *args.merge).value
            print(
                f"Merged {done.merged.id} into {done.kept.id}; filled: "
                f"{', '.join(done.filled) or 'nothing'}; different on both: "
                f"{', '.join(done.conflicting) or 'nothing'}."
            )
        elif args.distinct:
            duplicates.mark_distinct(repos, *args.distinct)
            print("Marked as two different people.")
        pairs = [
            {"ids": list(p.ids), "reason": p.reason} for p in duplicates.find_duplicates(repos)
        ]
        duplicates.refresh_count(repos)
    if args.json:
        print(json.dumps({"duplicates": pairs}, indent=2))
    else:
        for p in pairs:
            print(f"{p['ids'][0]}  {p['ids'][1]}  {p['reason']}")
        print(f"{count_text(len(pairs), 'possible duplicate pair', 'possible duplicate pairs')}.")
    return EXIT_OK


def _date_arg(text: str) -> date:
    from app.domain.validation import parse_iso_date

    try:
        return parse_iso_date(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def cmd_export(args: argparse.Namespace) -> int:
    """The billing export: the same service as the dialog's Export button."""
    from app.billing.worksheet import money
    from app.services.billing import PRIVACY_NOTE, ExportRequest, export
    from app.services.vaults import opened

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
    with opened(args.data_dir, _passphrase()) as repos:
        result = export(repos.store, request)
    pf = result.preflight
    for p in result.problems:  # record ids only: no names or Medicaid ids on a terminal
        rid = p.record_id or "(none yet)"
        when = f" {p.service_date.isoformat()}" if p.service_date else ""
        _err(
            f"problem: {p.table} {rid}{when} [{p.check}] {p.message}"
            f" ({count_text(len(p.encounter_ids), 'service', 'services')} held back)"
        )
    if result.outcome == "stopped":
        held = len(pf.blocked_ids)
        if pf.stopped_everything:
            _err("Nothing was exported: fix the billing settings above first.")
        else:
            _err(
                "Nothing was exported: "
                f"{count_text(len(result.problems), 'problem holds', 'problems hold')} back "
                f"{held} of {count_text(pf.considered, 'service', 'services')}. Fix them, or add "
                "--skip-invalid to export the "
                f"{count_text(len(pf.lines), 'valid service', 'valid services')} only."
            )
        return EXIT_VALIDATION
    for t in result.totals:
        print(
            f"{t.payer_name}: {count_text(t.services, 'service', 'services')}, "
            f"{count_text(t.units, 'unit', 'units')}, ${money(t.cents)}"
        )
    if result.outcome == "nothing":
        print("There is nothing to bill in that period: no approved, unbilled services.")
        return EXIT_OK
    if result.outcome == "dry-run":
        print("Dry run: no files were written and nothing was marked billed.")
        return EXIT_OK
    for b in result.batches:
        print(
            f"Batch {b.batch.id} ({b.payer_name}), interchange control number "
            f"{b.batch.interchange_control:09d}: "
            f"{count_text(b.batch.claim_count, 'claim', 'claims')}."
        )
        for path in b.paths:
            print(f"  wrote {path}")
    if result.problems:
        left = count_text(
            len(pf.blocked_ids), "service with problems was", "services with problems were"
        )
        print(f"{left} left for a later export.")
    if result.server_checked:
        print("Checked with the server: no other batch bills these services.")
    if result.warning:
        _err(f"Warning: {result.warning}")
    print(PRIVACY_NOTE)
    return EXIT_OK


def cmd_batches(args: argparse.Namespace) -> int:
    from app.billing.worksheet import money
    from app.services.billing import batches
    from app.services.double_billing import double_bills
    from app.services.vaults import opened

    with opened(args.data_dir, _passphrase()) as repos:
        found = batches(repos.store)
        twice = {b.id for d in double_bills(repos.store) for b in d.batches}
    if not found:
        print("No billing batches yet.")
    for b in found:
        state = f"void: {b.void_reason}" if b.status.value == "void" else "exported"
        if b.id in twice and b.status.value != "void":
            state = "exported; billed twice with another batch: void one (see sync)"
        print(
            f"{b.interchange_control:09d}  {b.id}  {b.period_from}..{b.period_to}  "
            f"{count_text(b.claim_count, 'claim', 'claims')}  "
            f"{count_text(b.unit_count, 'unit', 'units')}  ${money(b.total_cents)}  {state}"
        )
    return EXIT_OK


def cmd_void_batch(args: argparse.Namespace) -> int:
    from app.services.billing import void_batch, write_void_file
    from app.services.vaults import opened

    if not args.reason.strip():
        raise UsageError("Say why the batch is voided: --reason is required.")
    refs = {}
    for item in args.ref or []:
        claim, sep, icn = item.partition("=")
        if not sep or not claim or not icn:
            raise UsageError(
                "--ref takes CLAIM=PAYER_CLAIM_NUMBER, e.g. --ref 00000000100001=2026A1"
            )
        refs[claim] = icn
    with opened(args.data_dir, _passphrase()) as repos:
        if args.submitted_to is not None:
            path = write_void_file(repos.store, args.batch_id, args.submitted_to, refs or None)
            print(f"Void claim file (frequency 8) for the payer: {path}")
        batch = void_batch(repos.store, args.batch_id, args.reason)
    print(
        f"Batch {batch.interchange_control:09d} is void; its "
        f"{count_text(len(batch.encounter_ids), 'service', 'services')} can be billed again."
    )
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    """The program report: the same service as the Program report screen."""
    from app.reports.program import table_rows
    from app.services import program_report as svc
    from app.services.vaults import opened

    paths = [p for p in (args.pdf, args.csv, args.xlsx) if p is not None]
    if not paths:
        raise UsageError("Say where to write the report: --pdf, --csv and/or --xlsx PATH.")
    if args.date_to < args.date_from:
        raise UsageError("--to is before --from.")
    for path, kind in ((args.pdf, "pdf"), (args.csv, "csv"), (args.xlsx, "xlsx")):
        if path is not None and path.suffix.lower() != f".{kind}":
            raise UsageError(f"--{kind} takes a file name ending in .{kind}.")
    with opened(args.data_dir, _passphrase()) as repos:
        try:
            spec = svc.find_specialist(repos, args.specialist) if args.specialist else None
        except StoreError as e:
            raise UsageError(str(e)) from None
        report = svc.program_report(repos, args.date_from, args.date_to, args.program, spec)
        written = [svc.write_report(repos, report, p) for p in paths]
    for section, item, measure, value in table_rows(report):
        if section in ("Report", "Summary"):
            print(f"{item}: {value}")
        elif section in ("Hours", "Supervision"):
            unit = f" ({measure})" if measure in ("hours", "miles") else ""
            print(f"{section} - {item.lower()}{unit}: {value}")
    for path in written:
        print(f"wrote {path}")
    print("Counts of people from 1 to 10 are shown as <11; keep the files in a protected folder.")
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
    p = add("enroll", cmd_enroll, "connect this vault to the organization's sync server")
    p.add_argument("--invite", help="the invite code from 'users invite' (PT-…)")
    p.add_argument("--invite-file", type=Path, help="a file written by 'users invite'")
    p.add_argument("--server", help="https://host:port (default: the machine-wide settings)")
    p.add_argument("--username")
    p.add_argument("--fingerprint", help="SHA-256 of a self-signed server certificate")
    p.add_argument("--device-name", default="", help="a name for this laptop (no personal data)")
    p = add(
        "site-config",
        cmd_site_config,
        "write the machine-wide settings file that pre-sets the sync server for every user "
        "of this computer (run as an administrator), or --show it",
    )
    p.add_argument("--server", help="the server's address, e.g. sync.example.org:8443")
    p.add_argument("--fingerprint", help="the server certificate's SHA-256 (self-signed)")
    p.add_argument("--invite-file", help="an invite file for the one person of this laptop")
    p.add_argument(
        "--out",
        type=Path,
        help="where (default: /etc/peertrail/desktop.toml on Linux, "
        "%%ProgramData%%\\PeerTrail\\desktop.toml on Windows)",
    )
    p.add_argument("--show", action="store_true", help="print the settings in effect")
    p = add("sync", cmd_sync, "send waiting changes and receive the team's")
    p.add_argument("--json", action="store_true")
    p = add(
        "duplicates",
        cmd_duplicates,
        "list likely duplicate participants (record ids and why); a supervisor merges a pair "
        "(--merge KEEP OTHER); anyone marks a pair not the same person (--distinct A B)",
    )
    p.add_argument("--merge", nargs=2, metavar=("KEEP", "OTHER"))
    p.add_argument("--distinct", nargs=2, metavar=("A", "B"))
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
    p.add_argument(
        "--submitted-to",
        type=Path,
        metavar="DIR",
        help="the payer already has the batch: first write its void (8) claim file in DIR",
    )
    p.add_argument(
        "--ref",
        action="append",
        metavar="CLAIM=NUMBER",
        help="the payer's claim control number for a claim (REF*F8); default its own id",
    )
    add_billing_commands(sub, common, _passphrase)
    p = add(
        "report",
        cmd_report,
        "program report for funders: people served, services, units, hours, demographics "
        "(small counts suppressed), goals, BARC-10 change, supervision",
    )
    p.add_argument("--from", dest="date_from", type=_date_arg, required=True, metavar="YYYY-MM-DD")
    p.add_argument("--to", dest="date_to", type=_date_arg, required=True, metavar="YYYY-MM-DD")
    p.add_argument("--program", help="only people in this program (default: all programs)")
    p.add_argument(
        "--specialist", metavar="NAME", help="one specialist's caseload (name or user name)"
    )
    p.add_argument("--pdf", type=Path, metavar="PATH", help="write the PDF (with charts) here")
    p.add_argument("--csv", type=Path, metavar="PATH", help="write the CSV table here")
    p.add_argument("--xlsx", type=Path, metavar="PATH", help="write the XLSX table here")
    add("passwd", cmd_passwd, "change the passphrase")
    add("recover", cmd_recover, "set a new passphrase using the recovery key")
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
