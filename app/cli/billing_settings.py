"""The billing settings commands: ``main.py billing provider|payer|specialist ...``.

The same service and the same field-by-field checks as the Billing settings
screen (app.services.billing_settings): a value that fails its check is named by
its option with what is expected (never the value), nothing is saved, and the
exit code is 5. Registered by app.cli.build_parser.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from app.services.failures import EXIT_OK
from app.services.failures import EXIT_VALIDATION

PROVIDER_OPTIONS = {
    "name": ("--name", "the agency's name as on its NPI record"),
    "npi": ("--npi", "the agency's (type 2) NPI, 10 digits"),
    "tax_id": ("--tax-id", "employer identification number (EIN), 9 digits"),
    "taxonomy": ("--taxonomy", "NUCC taxonomy code, e.g. 175T00000X"),
    "address_line1": ("--address", "street address"),
    "address_line2": ("--address-line2", "second address line (suite)"),
    "city": ("--city", "city"),
    "state": ("--state", "USPS state code, e.g. ND"),
    "zip_code": ("--zip", "ZIP+4, e.g. 58501-4410"),
    "contact_name": ("--contact-name", "billing contact's name"),
    "contact_phone": ("--phone", "billing contact's phone, 10 digits"),
    "submitter_id": ("--submitter-id", "the trading-partner id the state assigned"),
    "submitter_name": ("--submitter-name", "submitter name (default: the agency name)"),
    "time_zone": ("--time-zone", "IANA time zone that dates the files, e.g. America/Chicago"),
}
PAYER_OPTIONS = {
    "name": ("--name", "the payer's name"),
    "payer_id": ("--payer-id", "the payer's id in the 837P (2010BB NM109)"),
    "funding_stream": ("--funding-stream", "program or funding stream"),
    "receiver_id": ("--receiver-id", "who the file goes to (ISA08, 1000B)"),
    "receiver_name": ("--receiver-name", "the receiver's name (1000B)"),
    "rate": ("--rate", "dollars per unit, e.g. 16.50"),
    "unit_minutes": ("--unit-minutes", "minutes in a unit (15)"),
    "rounding_rule": ("--rounding", "cms-8-minute, whole-units-only or any-part-of-unit"),
    "unit_basis": ("--unit-basis", "per_service, day_total or default"),
    "max_units_per_day": ("--max-units-per-day", "daily cap, 0 for none"),
    "timely_filing_days": ("--timely-filing-days", "days after the service, 0 for none"),
    "claim_filing_code": ("--filing-code", "SBR09, e.g. MC for Medicaid"),
    "claim_grouping": ("--grouping", "participant-day or participant-month"),
    "usage_indicator": ("--usage", "T (test files) or P (production)"),
    "allowed_modifiers": ("--modifiers", "allowed modifiers, e.g. HQ,95,93"),
    "requires_consent": ("--requires-consent", "yes or no"),
    "telehealth_places": ("--telehealth-places", "places of service for telehealth, e.g. 02,10"),
    "video_modifiers": ("--video-modifiers", "audio-and-video telehealth modifiers, e.g. 95"),
    "audio_modifiers": ("--audio-modifiers", "audio-only telehealth modifiers, e.g. 93"),
}
SPECIALIST_OPTIONS = {
    "first_name": ("--first-name", "first name as on the NPI record"),
    "last_name": ("--last-name", "last name as on the NPI record"),
    "credential": ("--credential", "e.g. 'CPSS I'"),
    "npi": ("--npi", "the specialist's (type 1) NPI"),
    "taxonomy": ("--taxonomy", "the specialist's NUCC taxonomy (default: the agency's)"),
}


# Other spellings accepted for an option (the record's field names, common words).
ALIASES = {
    "--address": ("--address-line1", "--street"), "--zip": ("--zip-code",),
    "--phone": ("--contact-phone",), "--tax-id": ("--ein",),
    "--rounding": ("--rounding-rule",), "--usage": ("--usage-indicator",),
    "--filing-code": ("--claim-filing-code",), "--grouping": ("--claim-grouping",),
    "--modifiers": ("--allowed-modifiers",), "--rate": ("--rate-per-unit",),
}  # fmt: skip


def _err(msg: str) -> None:
    print(msg, file=sys.stderr)


def _options(p: argparse.ArgumentParser, options: dict[str, tuple[str, str]]) -> None:
    for name, (flag, help_) in options.items():
        p.add_argument(flag, *ALIASES.get(flag, ()), dest=f"v_{name}", metavar="VALUE", help=help_)


def _values(args: argparse.Namespace, options: dict[str, tuple[str, str]]) -> dict[str, str]:
    return {n: getattr(args, f"v_{n}") for n in options if getattr(args, f"v_{n}") is not None}


def _refused(e: Any, options: dict[str, tuple[str, str]]) -> int:
    for name, message in e.problems.items():
        flag = options.get(name, (name,))[0]
        _err(f"error: {flag}: {message}")
    _err(str(e))
    return EXIT_VALIDATION


def _still_missing(missing: dict[str, str], options: dict[str, tuple[str, str]]) -> None:
    """Fields left empty that a claim file needs: saved, but said."""
    if missing:
        print("Still needed before claims can be exported:")
    for name, message in missing.items():
        print(f"  {options.get(name, (name,))[0]}: {message}")


def _show(values: dict[str, str], options: dict[str, tuple[str, str]]) -> None:
    for name, (flag, _h) in options.items():
        print(f"  {flag.removeprefix('--'):20} {values.get(name, '')}")


def _run(args: argparse.Namespace, passphrase: Callable[[], str]) -> int:
    from app.services import billing_settings as bs
    from app.services.vaults import opened

    what, action = args.what, args.action
    options = {"provider": PROVIDER_OPTIONS, "payer": PAYER_OPTIONS}.get(what, SPECIALIST_OPTIONS)
    values = _values(args, options) if action in ("set", "add") else {}
    if action == "set" and not values:
        _err("Nothing to change: give at least one option (see --help).")
        return 2
    with opened(args.data_dir, passphrase()) as repos:
        try:
            return _act(repos, bs, what, action, args, values)
        except bs.SettingsRefused as e:
            return _refused(e, options)


def _act(repos: Any, bs: Any, what: str, action: str, args: Any, values: dict) -> int:
    if what == "provider":
        if action == "show":
            settings = bs.load_settings(repos)
            _show(bs.provider_values(settings.provider), PROVIDER_OPTIONS)
            problems = settings.problems.get(settings.provider.id, {}) if settings.provider else {}
            for name, msg in problems.items():
                print(f"  to fix: {PROVIDER_OPTIONS[name][0]}: {msg[:1].upper()}{msg[1:]}")
            if settings.provider is None:
                print("  (not set up yet: use 'billing provider set')")
            return EXIT_OK
        saved = bs.save_provider(repos, values).value
        print(f"Billing provider saved ({saved.record.name}).")
        _still_missing(saved.missing, PROVIDER_OPTIONS)
        return EXIT_OK
    if what == "payer":
        return _payer(repos, bs, action, args, values)
    if action == "list":
        for u in bs.load_settings(repos).specialists:
            # The claim name itself stays in the vault (the Billing settings screen
            # shows it): the console says only whether it is there.
            named = "name set" if u.first_name and u.last_name else "name missing"
            print(f"{u.username:16} {named:12}  NPI {u.npi or '-'}  "
                  f"taxonomy {u.taxonomy or '(agency)'}  {u.credential.value or ''}")  # fmt: skip
        return EXIT_OK
    user = bs.find_user(repos, args.target)
    bs.save_specialist(repos, user.id, values)
    print(f"Saved {user.username}'s claim details.")
    return EXIT_OK


def _payer(repos: Any, bs: Any, action: str, args: Any, values: dict) -> int:
    if action == "list":
        settings = bs.load_settings(repos)
        if not settings.payers:
            print("No payers yet: use 'billing payer add'.")
        for p in settings.payers:
            if p.deleted:
                continue
            v = bs.payer_values(p)
            print(f"{v['payer_id'] or '-':16} {p.name}  ${v['rate']}/unit  {v['rounding_rule']}"
                  f"  mode {v['usage_indicator']}  record {p.id}")  # fmt: skip
            for name, msg in settings.problems.get(p.id, {}).items():
                print(f"    to fix: {PAYER_OPTIONS[name if name in PAYER_OPTIONS else 'rate'][0]}:"
                      f" {msg}")  # fmt: skip
        return EXIT_OK
    if action == "add":
        saved = bs.save_payer(repos, values).value
        print(f"Payer added ({saved.record.payer_id or '-'}), record {saved.record.id}.")
        _still_missing(saved.missing, PAYER_OPTIONS)
        return EXIT_OK
    payer = bs.find_payer(repos, args.target)
    if action == "remove":
        bs.remove_payer(repos, payer.id)
        print(f"Payer {payer.payer_id or payer.name} removed.")
        return EXIT_OK
    saved = bs.save_payer(repos, values, payer.id).value
    print(f"Payer {saved.record.payer_id or saved.record.name} saved.")
    _still_missing(saved.missing, PAYER_OPTIONS)
    return EXIT_OK


def add_billing_commands(
    sub: Any, common: argparse.ArgumentParser, passphrase: Callable[[], str]
) -> None:
    """``billing provider show|set``, ``billing payer list|add|set|remove``,
    ``billing specialist list|set``."""
    help_ = "billing settings: the agency (provider), payers, specialists' claim details"
    billing = sub.add_parser("billing", help=help_, description=help_, parents=[common])
    kinds = billing.add_subparsers(dest="what", metavar="WHAT", required=True)

    def add(kind: Any, action: str, text: str, options: dict | None, target: str = "") -> None:
        p = kind.add_parser(action, help=text, description=text, parents=[common])
        if target:
            p.add_argument("target", metavar=target)
        if options:
            _options(p, options)
        p.set_defaults(func=lambda a: _run(a, passphrase), action=action)

    prov = kinds.add_parser("provider", help="the billing provider (the agency)", parents=[common])
    acts = prov.add_subparsers(dest="action", metavar="ACTION", required=True)
    add(acts, "show", "show the agency's settings and what is still missing", None)
    add(acts, "set", "set the agency's settings (only the options given change)",
        PROVIDER_OPTIONS)  # fmt: skip
    pay = kinds.add_parser("payer", help="the payers services are billed to", parents=[common])
    acts = pay.add_subparsers(dest="action", metavar="ACTION", required=True)
    add(acts, "list", "list the payers and what is still missing", None)
    add(acts, "add", "add a payer", PAYER_OPTIONS)
    add(acts, "set", "change a payer (only the options given change)", PAYER_OPTIONS, "PAYER")
    add(acts, "remove", "remove a payer no participant is billed to", None, "PAYER")
    spec = kinds.add_parser("specialist", help="specialists' name, NPI, taxonomy",
                            parents=[common])  # fmt: skip
    acts = spec.add_subparsers(dest="action", metavar="ACTION", required=True)
    add(acts, "list", "list specialists' claim details", None)
    add(acts, "set", "set a specialist's claim details", SPECIALIST_OPTIONS, "USERNAME")
