"""What ``SyncEngine.push`` hands to ``SyncEngine.pull``."""

from __future__ import annotations

from dataclasses import dataclass

from sync.protocol import Rejected
from sync.protocol import Restamped


@dataclass(frozen=True)
class Pushed:
    """What ``SyncEngine.push`` did, for ``SyncEngine.pull`` to answer."""

    accepted: list[str]
    refused: list[Rejected]
    restamped: list[Restamped]
    top: int  # the highest seq handed out when the push committed
    created: frozenset[str]  # participants this push created (the device has them)
    now_ms: int
    reset: str = ""  # sync.server.replicas.check: "", "replica" or "server"
    replica: str = ""  # the token for the reply
    server_id: str = ""
    epoch: int = 0
    digest: str = ""  # the caller's scope digest as of ``top`` (when asked)
