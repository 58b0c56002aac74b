"""Plain words for a failure, a log line that names no personal data, and the
command line's exit codes.

Shared by the screens and the command line: store errors already carry a plain
sentence; anything else is logged (type and traceback, never the message, which
may quote values) and told as "something went wrong, nothing was changed".
"""

from __future__ import annotations

import logging
import traceback

# The shells' exit codes and the errors they tell apart (re-exported: app.ui and
# app.cli do not import app.store).
from app.store.errors import EXIT_AUTH as EXIT_AUTH
from app.store.errors import EXIT_DAMAGED as EXIT_DAMAGED
from app.store.errors import EXIT_OK as EXIT_OK
from app.store.errors import EXIT_USAGE as EXIT_USAGE
from app.store.errors import EXIT_VALIDATION as EXIT_VALIDATION
from app.store.errors import DiskFull as DiskFull
from app.store.errors import StoreError as StoreError
from app.store.errors import WrongPassphrase as WrongPassphrase
from app.store.repositories import NotFound as NotFound

log = logging.getLogger(__name__)


def log_failure(what: str, exc: BaseException) -> None:
    """Log where a task failed, without the exception's message: messages from the
    database driver can quote values, and values may identify a person."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("%s failed: %s\n%s", what, type(exc).__name__, frames)


def message_for(exc: BaseException) -> str:
    """Plain words for a failure; store errors already carry them."""
    if isinstance(exc, StoreError):
        return str(exc)
    log_failure("opening the vault", exc)
    return (
        f"Something went wrong ({type(exc).__name__}). Nothing was changed. "
        "Try again, and if it keeps happening, tell your administrator."
    )
