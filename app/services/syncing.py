"""Syncing with the agency's server: what the sync status shows (enrolled or not,
changes waiting, open conflicts, refused changes, the last successful sync, the
measured clock offset, the likely duplicate participants found after it), the
exchange itself (sync.client against the vault's replica), and the command
line's whole sync. The desktop runs the exchange on its network lane and the
vault parts on the database lane; the command line runs :func:`run_sync` in one go.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime

from app.services import duplicates
from app.services.changes import Changed
from app.services.changes import Done
from app.store import held
from app.store.db import Store
from app.store.db import utcnow
from app.store.errors import EXIT_USAGE
from app.store.errors import StoreError
from app.store.refused import refused_changes
from app.store.replica import StoreReplica as StoreReplica  # the vault side of a sync
from app.store.repositories import Repositories
from app.store.vault import reclaim_space
from sync import rules
from sync.client import Replica
from sync.client import SyncClient
from sync.client import SyncError as SyncError  # what a failed exchange raises
from sync.client import SyncProgress
from sync.client import SyncResult
from sync.client import make_session

#: A sync can write every synced table: screens showing any of them refresh.
SYNCED_TABLES: frozenset[str] = frozenset(rules.TABLES)
SYNC_CHANGED = Changed(SYNCED_TABLES)

LAST_SYNC_KEY = "sync_last_ok_at"


# -- the overview --------------------------------------------------------------------


@dataclass(frozen=True)
class SyncOverview:
    enrolled: bool
    url: str
    username: str
    pending: int
    open_conflicts: int
    rejected: int
    last_ok_at: datetime | None
    clock_offset_ms: int
    duplicates: int = 0  # likely duplicate pairs found after the last sync


def sync_server(store: Store) -> dict[str, str]:
    """The enrolment settings kept in the vault (url, fingerprint, token, username)."""
    return StoreReplica(store).server()


def overview(store: Store) -> SyncOverview:
    replica = StoreReplica(store)
    server = replica.server()
    conflicts = store.conn.execute(
        "SELECT count(*) FROM conflicts WHERE status = 'open' AND deleted = 0"
    ).fetchone()[0]
    rejected = store.conn.execute(
        "SELECT count(*) FROM outbox WHERE rejected_reason IS NOT NULL"
    ).fetchone()[0] + held.count(store.conn)
    return SyncOverview(
        enrolled=bool(server.get("url") and server.get("token")),
        url=server.get("url", ""),
        username=server.get("username", ""),
        pending=replica.pending_count(),
        open_conflicts=int(conflicts),
        rejected=int(rejected),
        last_ok_at=parse_time(store.meta(LAST_SYNC_KEY)),
        clock_offset_ms=int(store.clock_offset_ms),
        duplicates=duplicates.known_count(Repositories(store)),
    )


def record_sync_success(store: Store, at: datetime | None = None) -> SyncOverview:
    """Note a finished sync (kept in the vault), look for likely duplicate
    participants among what it brought (app.services.duplicates), give the space the
    acknowledged outbox rows took back to the disk, and return the new overview."""
    duplicates.refresh_count(Repositories(store))
    store.set_meta(LAST_SYNC_KEY, (at or utcnow()).astimezone(UTC).isoformat(timespec="seconds"))
    reclaim_space(store.conn)
    return overview(store)


def parse_time(text: str) -> datetime | None:
    if not text:
        return None
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


class NotEnrolled(StoreError):
    exit_code = EXIT_USAGE


def sync_client(replica: Replica, server: dict[str, str], retries: int = 4) -> SyncClient:
    """A client for the enrolled server (pinning its certificate when one was given)."""
    session = make_session(server.get("fingerprint") or None, retries=retries)
    return SyncClient(replica, server["url"], server["token"], session=session)


def exchange(
    replica: Replica,
    server: dict[str, str],
    retries: int = 4,
    progress: Callable[[int, int], None] | None = None,
    on_progress: Callable[[SyncProgress], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> SyncResult:
    """Send the waiting changes and receive the team's (network; the replica is
    called for every vault access). Raises SyncError with a plain message.
    ``on_progress`` hears after every reply (changes, bytes, time left);
    ``cancel()`` True stops the sync between requests (SyncError "stopped";
    every part the server acknowledged is kept)."""
    client = sync_client(replica, server, retries)
    try:
        return client.sync(progress=progress, on_progress=on_progress, cancel=cancel)
    finally:
        client.session.close()


def run_sync(store: Store, progress: Callable[[int, int], None] | None = None) -> Done[SyncResult]:
    """The whole sync on this thread (the command line): StoreError when the vault
    is not enrolled, SyncError when the exchange fails (the changes stay waiting)."""
    replica = StoreReplica(store)
    server = replica.server()
    if not server.get("url") or not server.get("token"):
        raise NotEnrolled("This vault is not connected to a server yet: enroll it first.")
    result = exchange(replica, server, progress=progress)
    record_sync_success(store)
    return Done(result, SYNC_CHANGED)


def server_time(server: dict[str, str]) -> int | None:
    """Ask the server's health check (network only, no retries): its clock in ms, 0
    when it does not say, or None when it cannot be reached ("offline")."""
    session = make_session(server.get("fingerprint") or None, retries=0)
    try:
        r = session.get(
            server["url"].rstrip("/") + "/v1/health", timeout=(5.0, 10.0), verify=session.verify
        )
        if r.status_code != 200:
            return None
        sent_ms = r.json().get("server_time_ms")
        return int(sent_ms) if sent_ms is not None else 0
    except Exception:  # any failure to get an answer is "offline" here
        return None
    finally:
        session.close()


def device_id(store: Store) -> str:
    return StoreReplica(store).device_id


def pending_count(store: Store) -> int:
    return StoreReplica(store).pending_count()


def refused_waiting(store: Store) -> list[dict]:
    """Every refused change still waiting for its writer (not only the last sync's),
    with the server's reason and the full value, for ``sync --json``."""
    return [r.as_dict() for r in refused_changes(store)]
