"""What every command shares: usage errors, secrets from the environment or a
prompt without echo, the recovery key's wording, date arguments.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from datetime import date

Adder = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]


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


def _date_arg(text: str) -> date:
    from app.domain.validation import parse_iso_date

    try:
        return parse_iso_date(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_period(p: argparse.ArgumentParser) -> None:
    """The --from and --to dates of a command that covers a period."""
    p.add_argument("--from", dest="date_from", type=_date_arg, required=True, metavar="YYYY-MM-DD")
    p.add_argument("--to", dest="date_to", type=_date_arg, required=True, metavar="YYYY-MM-DD")
