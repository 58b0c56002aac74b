"""Errors the store raises, each with a plain-words message and a CLI exit code.

Messages say what happened and what to do; they never contain personal data.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_DAMAGED = 4
EXIT_VALIDATION = 5


class StoreError(Exception):
    exit_code = 1


class WrongPassphrase(StoreError):
    exit_code = EXIT_AUTH

    def __init__(self, what: str = "passphrase", message: str | None = None) -> None:
        super().__init__(
            message or f"That {what} does not unlock this vault. Nothing was changed; try again."
        )


class VaultMissing(StoreError):
    exit_code = EXIT_DAMAGED


class VaultExists(StoreError):
    exit_code = EXIT_USAGE


class VaultDamaged(StoreError):
    """The vault's files are missing, empty, truncated or fail their checks."""

    exit_code = EXIT_DAMAGED


class VaultTooNew(StoreError):
    exit_code = EXIT_DAMAGED


class DiskFull(StoreError):
    exit_code = EXIT_DAMAGED

    def __init__(self) -> None:
        super().__init__(
            "The disk is full, so the last change was not saved. Everything saved "
            "before it is intact. Free some space and try again."
        )


class CaptureViolation(StoreError):
    """A write that tried to go around change capture or delete a record."""
