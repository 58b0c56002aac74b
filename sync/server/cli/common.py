"""Shared by the command-line commands: exit codes, errors, opening the database,
reading a new user's password, printing a table."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from sync.server import atrest
from sync.server import auth
from sync.server import db
from sync.server import staff

OK, FAILED, USAGE, KEY_PROBLEM, NOT_FOUND, SCHEMA_NEWER = 0, 1, 2, 3, 4, 5


EXIT_CODES = (
    "Exit codes: 0 done, 1 refused or failed, 2 wrong usage, 3 the database key is "
    "missing or wrong, 4 not found, 5 the database is from a newer server."
)


PASSWORD_ENV = "PEERTRAIL_USER_PASSWORD"


DATABASE_URL_ENV = "PEERTRAIL_DATABASE_URL"


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


class CliError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _err(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)


def _engine(args: argparse.Namespace) -> Engine:
    if not args.data_dir and not args.database_url:
        raise CliError(USAGE, "give --data-dir DIR (or --database-url URL)")
    try:
        engine = db.open_engine(args.data_dir or Path("."), args.database_url)
    except db.DatabaseUrlError as exc:
        raise CliError(USAGE, str(exc)) from None
    except atrest.DatabaseKeyError as exc:
        raise CliError(KEY_PROBLEM, str(exc)) from None
    try:
        db.upgrade(engine)
    except db.SchemaTooNew as exc:
        engine.dispose()
        raise CliError(SCHEMA_NEWER, str(exc)) from None
    except atrest.DatabaseKeyError as exc:
        engine.dispose()
        raise CliError(KEY_PROBLEM, str(exc)) from None
    except OperationalError as exc:
        engine.dispose()
        raise CliError(FAILED, f"cannot open the database: {_short(exc)}") from None
    return engine


@contextmanager
def _database(args: argparse.Namespace, read_only: bool = False) -> Iterator[Connection]:
    """One transaction on the database the options name (``read_only``: a reader,
    no write lock); the engine is closed afterwards."""
    engine = _engine(args)
    try:
        with db.reading(engine) if read_only else engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _password() -> str:
    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        if not sys.stdin.isatty():
            raise CliError(USAGE, f"set {PASSWORD_ENV} or run this in a terminal to type it")
        password = getpass.getpass("Password for the new user: ")
        if getpass.getpass("The same password again: ") != password:
            raise CliError(USAGE, "the two passwords differ; nothing was added")
    if len(password) < auth.MIN_PASSWORD_CHARS:
        raise CliError(USAGE, f"a password has at least {auth.MIN_PASSWORD_CHARS} characters")
    if len(password) > 256:
        raise CliError(USAGE, "a password has at most 256 characters")
    return password


def _user(conn, name: str) -> auth.User:
    user = auth.find_user(conn, name)
    if user is None:
        raise CliError(NOT_FOUND, f"no user named {name!r} (see: users list)")
    return user


def _staff_change(args: argparse.Namespace, change) -> None:
    """Run ``change(conn, sync_engine, user)`` in one transaction; StaffError is a refusal."""
    engine = _engine(args)
    try:
        sync_engine = db.build_sync_engine(engine)
        with engine.begin() as conn:
            change(conn, sync_engine, _user(conn, args.name))
    except staff.StaffError as exc:
        raise CliError(FAILED, str(exc)) from None
    finally:
        engine.dispose()


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def _sqlite_only(args: argparse.Namespace, what: str) -> Path:
    db_file = db.sqlite_file(args.data_dir or Path("."), args.database_url)
    if db_file is None:
        raise CliError(
            USAGE, f"{what} is for the SQLite database; for PostgreSQL see docs/SERVER.md"
        )
    return db_file
