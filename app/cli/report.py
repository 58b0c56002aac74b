"""The program report command."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.cli.common import Adder
from app.cli.common import UsageError
from app.cli.common import _passphrase
from app.cli.common import add_period
from app.services.failures import EXIT_OK
from app.services.failures import StoreError


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


def add_commands(add: Adder) -> None:
    """Registers this module's commands on the parser."""
    p = add(
        "report",
        cmd_report,
        "program report for funders: people served, services, units, hours, demographics "
        "(small counts suppressed), goals, BARC-10 change, supervision",
    )
    add_period(p)
    p.add_argument("--program", help="only people in this program (default: all programs)")
    p.add_argument(
        "--specialist", metavar="NAME", help="one specialist's caseload (name or user name)"
    )
    p.add_argument("--pdf", type=Path, metavar="PATH", help="write the PDF (with charts) here")
    p.add_argument("--csv", type=Path, metavar="PATH", help="write the CSV table here")
    p.add_argument("--xlsx", type=Path, metavar="PATH", help="write the XLSX table here")
