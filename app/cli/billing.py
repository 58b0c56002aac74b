"""The billing commands: export, batches, void-batch (the settings commands are in
app.cli.billing_settings).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.cli.common import Adder
from app.cli.common import UsageError
from app.cli.common import _err
from app.cli.common import _passphrase
from app.cli.common import add_period
from app.domain.datetext import count_text
from app.services.failures import EXIT_OK
from app.services.failures import EXIT_VALIDATION


def cmd_export(args: argparse.Namespace) -> int:
    """The billing export: the same service as the dialog's Export button."""
    from app.billing.worksheet import money
    from app.services.billing import PRIVACY_NOTE
    from app.services.billing import ExportRequest
    from app.services.billing import export
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
    from app.services.billing_batches import void_batch
    from app.services.billing_batches import write_void_file
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


def add_commands(add: Adder) -> None:
    """Registers this module's commands on the parser."""
    p = add(
        "export",
        cmd_export,
        "billing export: check the period's approved services, then write an 837P claim "
        "file, a CSV worksheet and a PDF summary per payer and mark the services billed",
    )
    add_period(p)
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
