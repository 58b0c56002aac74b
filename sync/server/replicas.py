"""Replica identity: telling a restored vault, or a restored server, from a normal sync.

Every reply gives the device a fresh *replica token* (``<seq top in hex>.<random>``)
that it sends with its next request. The server keeps, per device, the token it
gave last and the one before. The one before is a lost reply repeated, or a copy
of the vault from just before that reply: ``reset = "recent"``, and that pull
includes what the device wrote itself. Any other token comes from a copy of the
vault from an earlier time (restored from a backup, or a file copied back by
hand): ``reset = "replica"``. A token whose seq top is above the top of the token
the server remembers, or a cursor above the server's highest seq, means the
device has seen a state of the server that this database does not hold (the
server was restored from a backup): ``reset = "server"``. The database's id and
the epoch (raised by ``python -m sync.server restored``) travel in every reply too.

State lives in ``server_meta`` (no table of its own): ``server_id``, ``epoch`` and
``replica.<device id>`` = ``{"cur": token, "prev": token}``.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import bindparam
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.engine import Connection

from sync.server import sql
from sync.server.tables import server_meta

# built once: every sync reads and writes these (sync.server.sql)
_GET = select(server_meta.c.value).where(server_meta.c.key == bindparam("k"))
_SET = update(server_meta).where(server_meta.c.key == bindparam("k")).values(value=bindparam("v"))
_IDENTITY = select(server_meta.c.key, server_meta.c.value).where(
    server_meta.c.key.in_(("server_id", "epoch"))
)
_KEYS = select(server_meta.c.key, server_meta.c.value).where(server_meta.c.key.in_(sql.ids("k")))


@dataclass(frozen=True)
class State:
    """What a sync reads of this module's state, in one statement (``state``)."""

    server_id: str
    epoch: int
    device: str | None  # the device's ``replica.<id>`` value (None: never given a token)


def state(conn: Connection, device_id: str) -> State:
    """The database's id and epoch and the device's replica tokens, read at once."""
    stmt, params = state_read(device_id)
    return state_from(conn, device_id, sql.rows(conn, stmt, params))


def state_read(device_id: str) -> sql.Read:
    """The read behind ``state`` (to send with others: ``sql.rows_together``)."""
    return _KEYS, {"k": ["epoch", "server_id", f"replica.{device_id}"]}


def state_from(conn: Connection, device_id: str, rows: list[tuple[str, str]]) -> State:
    """``state`` from the rows of ``state_read``."""
    found = dict(rows)
    sid, epoch = _identity(conn, found)
    return State(sid, epoch, found.get(f"replica.{device_id}"))


def _get(conn: Connection, key: str) -> str | None:
    row = conn.execute(_GET, {"k": key}).first()
    return row[0] if row else None


def _put(conn: Connection, key: str, value: str) -> None:
    done = conn.execute(_SET, {"k": key, "v": value})
    if not done.rowcount:
        conn.execute(server_meta.insert().values(key=key, value=value))


def identity(conn: Connection) -> tuple[str, int]:
    """(server database id, epoch); the id is made on first use."""
    return _identity(conn, dict(conn.execute(_IDENTITY).all()))


def _identity(conn: Connection, found: dict[str, str]) -> tuple[str, int]:
    sid = found.get("server_id")
    if sid is None:
        sid = str(uuid.uuid4())  # normally made when the server starts (sync.server.db)
        conn.execute(server_meta.insert().values(key="server_id", value=sid))
    epoch = found.get("epoch")
    return sid, int(epoch) if epoch and epoch.isdigit() else 1


def raise_epoch(conn: Connection) -> int:
    """After a restore: every device re-pulls and repairs at its next sync."""
    _sid, epoch = identity(conn)
    _put(conn, "epoch", str(epoch + 1))
    return epoch + 1


def _top_of(token: str) -> int:
    head = token.split(".", 1)[0]
    try:
        return int(head, 16) if head else -1
    except ValueError:
        return -1


def check(conn: Connection, device_id: str, token: str, cursor: int, top: int) -> str:
    """ "" (a normal sync), "replica" (this vault is an older copy of itself) or
    "server" (this database is older than what the device has seen)."""
    if cursor > top:
        return "server"
    return judge(_get(conn, f"replica.{device_id}"), token, cursor, top)


def judge(raw: str | None, token: str, cursor: int, top: int) -> str:
    """``check`` on the device's state as read (``State.device``)."""
    if cursor > top:
        return "server"
    if not token or raw is None:
        return ""  # a first sync, or a client that does not send tokens
    state = json.loads(raw)
    if token == state.get("cur"):
        return ""
    if token == state.get("prev"):
        # Its last reply was lost, or it is a copy from just before that reply: the
        # pull from its cursor includes what it wrote itself (harmless if it has it).
        return "recent"
    if _top_of(token) > _top_of(state.get("cur") or ""):
        return "server"
    return "replica"


def issue(conn: Connection, device_id: str, token: str, top: int, held: bool | None = None) -> str:
    """A fresh token for the reply; the request's token stays valid as "prev" (its
    reply may be lost). ``held``: whether the device has a stored state (as read by
    ``state`` in this transaction; None: not known), to write it in one statement."""
    new = f"{top:x}.{secrets.token_hex(6)}"
    key, value = f"replica.{device_id}", json.dumps({"cur": new, "prev": token})
    if held is None:
        _put(conn, key, value)
    elif held:  # its row is there: no rowcount to read (sync.server.sql.pipelined)
        conn.execute(_SET, {"k": key, "v": value})
    else:
        conn.execute(server_meta.insert().values(key=key, value=value))
    return new


def issued_top(conn: Connection, device_id: str) -> int:
    """The seq top of the last reply this server gave the device (-1: none): what
    the server knows the device was sent, whatever cursor it claims later."""
    raw = _get(conn, f"replica.{device_id}")
    return _top_of(json.loads(raw).get("cur") or "") if raw else -1
