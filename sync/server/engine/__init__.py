"""The server's sync engine: apply a device's pushed changes and answer its pull.

Storage-neutral (SQLAlchemy Core; SQLite or PostgreSQL). One ``sync`` call is one
write transaction:

1. lock the ``seq`` counter row (so sequence numbers are handed out in commit
   order and a cursor never skips a change that commits late);
2. for each pushed change, in stamp order: answer a duplicate as before, check
   scope and field permission (sync.merge.permission_problem); judge each note's
   decisions before the loop (so stamp order does not matter): a status move must
   be allowed and made on the note's content (its hash), else it is refused with
   its decision fields and kept as a conflict, and a later review decision
   overturns an earlier concurrent one whole; re-stamp a stamp far in the future
   (and map a base that was re-stamped), merge it (sync.merge.decide), record a
   conflict for a concurrent loser or an edit of a deleted record (also when the
   delete arrives after edits its device had not seen), keep the change in
   ``changes``, and check the signature invariant on the notes it touched;
3. pull: every visible field whose ``seq`` is past the cursor, grouped by record,
   plus whole records of participants newly assigned to this user and the ids of
   participants that left this user's caseload.

The package, by concern: ``core`` (``SyncEngine``: the push), ``working`` (the
state one sync touches, in memory), ``scope`` (who may see and write what),
``decisions`` (review decisions), ``merging`` (field merge, conflicts, the record
index), ``pull`` (the answer), ``common`` (what they share).
"""

from sync.scope import GLOBAL_TABLES
from sync.server.engine.common import CONFLICT_NS
from sync.server.engine.common import UNDELIVERED
from sync.server.engine.common import Caller
from sync.server.engine.core import SyncEngine
from sync.server.engine.core_types import Pushed
from sync.server.engine.scope import Scope
from sync.server.engine.scope import visible_clause
from sync.server.engine.working import SeqCounter
from sync.server.engine.working import Working

__all__ = [
    "CONFLICT_NS",
    "GLOBAL_TABLES",
    "UNDELIVERED",
    "Caller",
    "Pushed",
    "Scope",
    "SeqCounter",
    "SyncEngine",
    "Working",
    "visible_clause",
]
