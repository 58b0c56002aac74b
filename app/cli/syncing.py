"""The server commands: enroll, site-config, sync, duplicates."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.cli.common import Adder
from app.cli.common import UsageError
from app.cli.common import _err
from app.cli.common import _passphrase
from app.cli.common import _secret
from app.domain.datetext import count_text
from app.services.failures import EXIT_AUTH
from app.services.failures import EXIT_DAMAGED
from app.services.failures import EXIT_OK
from app.services.failures import EXIT_USAGE
from app.services.failures import EXIT_VALIDATION


def cmd_enroll(args: argparse.Namespace) -> int:
    from app.services import enrolment
    from app.services import site_settings
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
                answer = enrolment.enroll(repos.store, request)
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
            server, args.username, password, fingerprint=fingerprint, device_name=args.device_name
        )

    return check_typed


#: Enrolment refusals that are about who is asking (exit 3): the rest are exit 4.
_AUTH_CODES = {"unauthorized", "invite_invalid", "invite_expired", "bad_invite", "forbidden",
               "enrol_blocked", "revoked"}  # fmt: skip


def cmd_site_config(args: argparse.Namespace) -> int:
    """Write (or show) the machine-wide settings file that pre-sets the server."""
    from app.services import enrolment
    from app.services import site_settings

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
    from app.services.syncing import SyncError
    from app.services.syncing import pending_count
    from app.services.syncing import refused_waiting
    from app.services.syncing import run_sync
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


def add_commands(add: Adder) -> None:
    """Registers this module's commands on the parser."""
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
