"""The client sync engine: one HTTPS request pushes the outbox and pulls what changed.

Works against any ``Replica`` (the desktop app's is app.store.replica.StoreReplica),
so this package needs nothing of app/. Over ``requests`` with one keep-alive session:
bodies are compressed both ways (bzip2 for anything big: about 40% smaller than gzip
for a sync's JSON; gzip when that is smaller); the push is bounded
(MAX_PUSH_CHANGES) and the pull is paged by the server, so a long sync is several
bounded exchanges, each committed locally in one transaction before the next, and a
dropped link resumes where it stopped. A change leaves the outbox only when the
server has acknowledged it. A request cut off is tried again, smaller (the pace);
safe, because the server answers a replayed request the same way. A self-signed
server certificate is pinned by its SHA-256 fingerprint.

Modules: ``base`` (Replica, SyncError, SyncResult, SyncProgress), ``pace`` (request
sizes), ``transport`` (session, compression, one POST), ``healing`` (re-pull and
repair), ``engine`` (SyncClient).
"""

from sync.client.base import Replica
from sync.client.base import SyncError
from sync.client.base import SyncProgress
from sync.client.base import SyncResult
from sync.client.base import audit_warning
from sync.client.engine import SyncClient
from sync.client.pace import FIRST_REQUEST_BYTES
from sync.client.pace import MAX_REQUEST_BYTES
from sync.client.pace import MIN_REQUEST_BYTES
from sync.client.pace import _Pace
from sync.client.transport import MAX_REPLY_BYTES
from sync.client.transport import compress
from sync.client.transport import make_session

__all__ = [
    "FIRST_REQUEST_BYTES",
    "MAX_REPLY_BYTES",
    "MAX_REQUEST_BYTES",
    "MIN_REQUEST_BYTES",
    "Replica",
    "SyncClient",
    "SyncError",
    "SyncProgress",
    "SyncResult",
    "_Pace",
    "audit_warning",
    "compress",
    "make_session",
]
