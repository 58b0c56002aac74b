"""What a sync client works with and reports: the ``Replica`` it syncs, ``SyncError``
(a sync that could not finish), ``SyncResult`` and ``SyncProgress``."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Protocol

from sync.protocol import AuditVerdict
from sync.protocol import PushChange
from sync.protocol import SyncResponse


class Replica(Protocol):
    @property
    def device_id(self) -> str: ...
    @property
    def cursor(self) -> int: ...
    def pending(self, limit: int) -> list[PushChange]: ...
    def pending_count(self) -> int: ...
    def apply_response(self, resp: SyncResponse) -> dict[str, int]: ...
    def refuse_locally(self, refused: list[dict[str, str]]) -> None: ...
    def set_clock_offset(self, offset_ms: int) -> None: ...


class SyncError(Exception):
    """A sync that could not finish; the message is for a person. Nothing is lost:
    unacknowledged changes stay in the outbox."""

    def __init__(self, message: str, code: str = "error", detail: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.detail = detail


@dataclass
class SyncResult:
    pushed: int = 0
    pulled: int = 0
    conflicts: int = 0
    rejected: list[dict[str, str]] = field(default_factory=list)
    evicted: int = 0
    quarantined: int = 0  # pulled fields that did not fit the schema, kept aside
    requests: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    clock_offset_ms: int = 0
    clock_warning: str | None = None
    audit_warning: str | None = None  # the server found the audit log rewritten or cut
    seconds: float = 0.0
    # notes left signed (approved, billed) with content that does not match its hash
    signature_problems: list[str] = field(default_factory=list)
    # Self-healing (docs/SYNC.md, "Restores and repair")
    healed: str = ""  # "replica" (this vault was an older copy) or "server" (the server was)
    repaired: int = 0  # records whose digests differed and were exchanged again
    resent: int = 0  # changes of this device the server lacked, sent again
    digest_ok: bool | None = None  # the end-of-sync check (None: not made)
    drops: int = 0  # requests cut off and tried again (smaller) within this sync

    def as_dict(self) -> dict[str, Any]:
        return {
            "pushed": self.pushed,
            "pulled": self.pulled,
            "conflicts": self.conflicts,
            "rejected": self.rejected,
            "evicted": self.evicted,
            "quarantined": self.quarantined,
            "requests": self.requests,
            "bytes_sent": self.bytes_sent,
            "bytes_received": self.bytes_received,
            "clock_offset_ms": self.clock_offset_ms,
            "clock_warning": self.clock_warning,
            "audit_warning": self.audit_warning,
            "seconds": round(self.seconds, 3),
            "signature_problems": self.signature_problems,
            "healed": self.healed,
            "repaired": self.repaired,
            "resent": self.resent,
            "digest_ok": self.digest_ok,
            "drops": self.drops,
        }

    def report(self) -> str:
        """What self-healing did, in plain words ("" when nothing)."""
        parts = []
        if self.healed == "replica":
            parts.append(
                "This vault was an older copy of itself (restored from a backup); it "
                "fetched everything again."
            )
        elif self.healed == "server":
            parts.append(
                "The server had lost changes (restored from a backup or replaced); this "
                "laptop fetched everything again and sent what the server lacked."
            )
        if self.repaired:
            parts.append(
                f"{self.repaired} record(s) differed from the server's and were exchanged "
                f"again ({self.resent} change(s) re-sent)."
            )
        if self.digest_ok is False:
            parts.append("This laptop still differs from the server; the next sync retries.")
        return " ".join(parts)


_AUDIT_PROBLEMS = {
    "truncated": "is shorter than",
    "rewritten": "no longer matches",
    "unproven": "could not be shown to continue",
}


def audit_warning(verdict: AuditVerdict) -> str:
    """Plain words for an audit alarm the server raised about this laptop."""
    what = _AUDIT_PROBLEMS.get(verdict.problem, "does not continue")
    return (
        f"Warning: this laptop's audit log {what} the one the server recorded at an "
        f"earlier sync ({verdict.anchored_length} entries). The server has recorded an "
        "alarm for an administrator. Your records were synced."
    )


@dataclass
class SyncProgress:
    """How far a sync is, after each reply (for a progress bar)."""

    sent: int = 0  # changes acknowledged (accepted or refused) so far
    to_send: int = 0  # changes waiting when the sync started (and any queued since)
    received: int = 0  # fields pulled so far
    more_to_receive: bool = False  # the server has more pages to send
    bytes_sent: int = 0
    bytes_received: int = 0
    seconds: float = 0.0
    seconds_left: float | None = None  # an estimate; None: not known yet
    drops: int = 0


#: Error codes of a request that was cut off (or whose reply was): tried again smaller.
_DROPPED = frozenset({"offline", "bad_reply", "server_error", "busy"})
