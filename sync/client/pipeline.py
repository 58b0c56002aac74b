"""Requests on the wire while the laptop works (the sync's pipeline).

Requests stay strictly one after the other on the wire (the server applies a push
in order: a goal's participant must arrive first), but the laptop's own work no
longer waits for the wire, nor the wire for it:

* while request n is on the wire (``Wire``: one request at a time on its own
  thread, which also compresses the body and decodes the reply), the laptop
  reads the next changes from the outbox (``next_changes``);
* as soon as reply n is decoded, request n+1 goes out, carrying reply n's
  cursor and replica token, and only then is reply n applied to the vault.

What stays true: the vault's cursor moves only in the transaction that applies a
page, after every page before it; a change leaves the outbox only when the server
acknowledged it; reply n+1 is applied only after reply n was (if applying n
fails, n+1's reply is dropped, and the next sync repeats both: the server answers
a replay the same way). Before request n+1 goes out, reply n's replica token is
kept in the vault (``keep_replica_token``), so that a vault stopped before it
applied reply n is still the server's "current" or "recent" copy of itself, never
mistaken for an old one (sync.server.replicas). Anything unusual in a reply (a
reset, restamped changes, evictions, another server, a re-pull under way), a link
that has been going down (the pace then sizes each request when it is sent), and a
replica that cannot keep the token: the next request waits for the reply to be
applied, as before.
"""

from __future__ import annotations

from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sync.client.transport import Posted
from sync.protocol import PushChange
from sync.protocol import SyncResponse


@dataclass
class Flight:
    """A request sent: what it pushed, and its outcome to come."""

    changes: list[PushChange]
    outcome: Future[Posted]
    sent_at: int  # this device's clock (ms) when it was sent
    began: float  # the pace's clock when it was sent
    sent: int = 0  # bytes of its compressed body ...
    received: int = 0  # ... and of its reply, once landed
    arrived: float | None = None  # the pace's clock when the reply arrived


class Wire:
    """One request at a time on a thread of its own (the POST, the compression
    of its body and the decoding of its reply); made on first use, ended by
    ``close``, which waits for a request still under way."""

    def __init__(self, inline: bool = False) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self.inline = inline  # run each request on the calling thread

    def submit(self, call: Any, *args: Any) -> Future[Posted]:
        if self.inline:
            done: Future[Posted] = Future()
            try:
                done.set_result(call(*args))
            except BaseException as e:
                done.set_exception(e)
            return done
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-wire")
        return self._pool.submit(call, *args)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def next_changes(replica: Any, sent: list[PushChange], limit: int) -> list[PushChange] | None:
    """The oldest waiting changes after ``sent`` (the request on the wire, not yet
    acknowledged), at most ``limit``, whole records only; None when they cannot be
    told apart (then the next request is read after the reply is applied)."""
    after = getattr(replica, "pending_after", None)
    if after is not None:
        return after(sent[-1].stamp, limit) if sent else replica.pending(limit)
    rows = replica.pending(len(sent) + limit)
    if [c.stamp for c in rows[: len(sent)]] != [c.stamp for c in sent]:
        return None
    return rows[len(sent) :]


def plain(resp: SyncResponse, known: tuple[str, int] | None) -> bool:
    """Nothing in this reply changes what the next request should carry: no
    reset, no restamped or evicted records, no repair step, and the same server
    (``known``: its id and epoch as the vault knows them; None: not known)."""
    if resp.reset or resp.restamped or resp.evict or resp.record_digests:
        return False
    if not resp.server_id or (known is not None and not known[0]):
        return True  # an older server, or the first reply this vault sees
    return known == (resp.server_id, resp.epoch)
