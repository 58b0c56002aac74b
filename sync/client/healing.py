"""Self-healing of one sync (docs/SYNC.md, "Restores and repair"): the re-pull
after a reset (``_Healing``) and the repair that compares every record's digest
with the server's and exchanges again only the records that differ."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sync.client.base import SyncResult
from sync.protocol import SyncResponse


class _Healing:
    """The self-healing state of one sync: a re-pull under way, a repair owed."""

    def __init__(self, replica: Any) -> None:
        self.replica = replica
        # Older replicas (tests' stand-ins) do not heal: every call is optional.
        self.able = all(hasattr(replica, n) for n in ("replica_token", "full_pull", "requeue"))
        self.repair_owed = self.able and replica.full_pull
        self.repairs_left = 1

    def request(self, last: bool) -> dict[str, Any]:
        if not self.able:
            return {}
        return {
            "replica": self.replica.replica_token,
            "full": self.replica.full_pull,
            "check": last,
        }

    def after(self, resp: SyncResponse, result: SyncResult) -> bool:
        """After a reply is applied: start a re-pull on a reset (True: go on)."""
        if not self.able:
            return False
        changed = self.replica.note_server(resp.server_id, resp.epoch)
        if resp.reset == "recent":
            # This page held our own changes too; so must the rest of this pull.
            if resp.more:
                self.replica.set_full_pull(True)
            return False
        if resp.reset or changed:
            result.healed = resp.reset or "server"
            if not resp.reset:  # the server did not know: start from 0 on our side
                self.replica.apply_response(
                    SyncResponse(protocol=resp.protocol, server_time_ms=resp.server_time_ms,
                                 cursor=0, replica=resp.replica)
                )  # fmt: skip
            self.replica.set_full_pull(True)
            self.repair_owed = True
            return True
        if self.replica.full_pull and not resp.more:
            self.replica.set_full_pull(False)
        return False

    def finish(self, resp: SyncResponse, result: SyncResult, repair: Callable) -> bool:
        """At the end: compare digests; repair once if they differ or a reset asked
        for it. True when the repair queued changes to send."""
        if not self.able or not (resp.digest or self.repair_owed):
            return False
        ok = False  # no digest (billing's scope): after a reset, repair all the same
        if resp.digest:
            ok = resp.digest == self.replica.scope_digest()
            if not ok and hasattr(self.replica, "recount_digest"):
                ok = resp.digest == self.replica.recount_digest()  # the sums, not the data?
            result.digest_ok = ok
        if (ok and not self.repair_owed) or self.repairs_left <= 0:
            return False
        self.repairs_left -= 1
        self.repair_owed = False
        queued = repair(result)
        result.digest_ok = None  # checked again by the next round's reply
        if queued:
            return True
        if resp.digest:
            result.digest_ok = resp.digest == self.replica.scope_digest() or None
        return False
