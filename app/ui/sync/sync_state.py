"""What the sync status shows, in plain words and without personal data: the state
(connection, changes waiting, conflicts, progress), the message per SyncError
code, counts and "5 min ago".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from datetime import datetime

from app.domain.datetext import clock_text
from app.domain.datetext import day_text
from sync import merge


class SyncCancelled(Exception):
    """The vault locked (or the window closed) during a sync."""


def _tr(text: str) -> str:
    from PySide6.QtCore import QCoreApplication

    return QCoreApplication.translate("SyncStatus", text)


def count_text(n: int, one: str, many: str) -> str:
    """'1 change waiting' / '3 changes waiting': ``one`` and ``many`` are the
    translatable English forms, ``many`` with %1 for the number."""
    return _tr(one) if n == 1 else _tr(many).replace("%1", str(n))


def error_message(code: str, fallback: str = "") -> str:
    """What a failed sync means for the person, per SyncError code."""
    messages = {
        "offline": _tr(
            "The server cannot be reached. Your changes are safe on this laptop and "
            "will be sent when the connection is back."
        ),
        "tls": _tr(
            "The server's security certificate is not the one this laptop trusts, so "
            "nothing was sent. Please call your administrator before syncing."
        ),
        "revoked": _tr(
            "This laptop's access to the server was withdrawn. Your records stay on "
            "this laptop. Please call your administrator."
        ),
        "unauthorized": _tr(
            "The server did not accept this laptop's sign-in. Please call your administrator."
        ),
        "update_required": _tr(
            "The server needs a newer PeerTrail. Your changes are safe; please update "
            "PeerTrail, then sync."
        ),
        "bad_reply": _tr(
            "The server's answer came back garbled (the connection may have dropped). "
            "Nothing was lost; the next sync repeats it."
        ),
        "server_error": _tr(
            "The server had a problem and could not finish. Your changes are safe and "
            "will be sent at the next sync."
        ),
        "busy": _tr("The server is busy. The sync will try again shortly."),
        "not_enrolled": _tr(
            "This laptop is not connected to a server yet. Connect it in Preferences."
        ),
        "cancelled": _tr("The sync stopped because PeerTrail was locked."),
        "stopped": _tr(
            "You stopped the sync. What was already sent and received is kept; the "
            "rest goes at the next sync."
        ),
    }
    if code in messages:
        return messages[code]
    return fallback or _tr(
        "The sync could not finish. Your changes are safe on this laptop; try again later."
    )


OFFLINE, ONLINE, UNKNOWN = "offline", "online", "unknown"


@dataclass(frozen=True)
class SyncState:
    """Everything the status bar shows (no personal data)."""

    enrolled: bool = False
    connection: str = UNKNOWN  # online / offline / unknown (not checked yet)
    syncing: bool = False
    pending: int = 0
    open_conflicts: int = 0
    rejected: int = 0
    last_ok_at: datetime | None = None
    clock_offset_ms: int = 0
    error_code: str = ""
    error: str = ""
    progress_done: int = 0
    progress_total: int = 0
    received: int = 0
    bytes_moved: int = 0  # compressed bytes sent and received so far in this sync
    seconds_left: float | None = None  # the client's estimate; None: not known yet

    @property
    def clock_warning(self) -> str | None:
        return merge.clock_warning(self.clock_offset_ms)


def ago(when: datetime | None, now: datetime | None = None) -> str:
    """'just now', '5 min ago', 'today 9:12 AM', 'yesterday 4:05 PM', '3 days ago',
    'Nov 3, 2026' — plain and short, in the locale's clock and dates."""
    if when is None:
        return _tr("never")
    now = now or datetime.now(UTC)
    seconds = (now - when).total_seconds()
    if seconds < 60:
        return _tr("just now")
    if seconds < 3600:
        return _tr("%1 min ago").replace("%1", str(int(seconds // 60)))
    local, local_now = when.astimezone(), now.astimezone()
    if local.date() == local_now.date():
        return _tr("today %1").replace("%1", clock_text(local.time()))
    days = (local_now.date() - local.date()).days
    if days == 1:
        return _tr("yesterday %1").replace("%1", clock_text(local.time()))
    if days < 7:
        return _tr("%1 days ago").replace("%1", str(days))
    return day_text(local.date())


def progress_text(state: SyncState) -> str:
    """'1,200 of 5,000 changes sent · 84 KB · about 2 min left' (what is known)."""
    parts = []
    if state.progress_total > 0:
        parts.append(
            _tr("%1 of %2 changes sent")
            .replace("%1", f"{min(state.progress_done, state.progress_total):,}")
            .replace("%2", f"{state.progress_total:,}")
        )
    if state.received:
        parts.append(_tr("%1 received").replace("%1", f"{state.received:,}"))
    if state.bytes_moved:
        kb = state.bytes_moved / 1000
        parts.append(f"{kb:,.0f} KB" if kb < 1000 else f"{kb / 1000:,.1f} MB")
    left = state.seconds_left
    if left is not None and left >= 1:
        if left < 60:
            parts.append(_tr("about %1 s left").replace("%1", str(round(left))))
        else:
            parts.append(_tr("about %1 min left").replace("%1", str(round(left / 60))))
    return " · ".join(parts)
