"""Change capture, enforced by the database itself.

Every record table carries triggers, generated here from its live columns:

* guards: an INSERT or UPDATE outside a PeerTrail store transaction aborts (the
  ``pt_capture_mode()`` SQL function exists only on connections the store opened,
  and returns NULL outside its transactions); a DELETE aborts unless the store is
  purging data that has left this device's caseload; a record id never changes.
* capture: after an INSERT or UPDATE made in ``local`` mode, one outbox row per
  field that changed (on insert: per field that differs from its column default),
  with a fresh
  hybrid-logical-clock stamp from ``pt_stamp()``, the stamp of the value it
  replaced (its base, from ``field_stamps``), and the user from ``pt_user()``.
  A trigger on the outbox then moves ``field_stamps`` forward.

So no write path can skip change capture: not a repository method, not raw SQL
on a store connection, not a forgotten code path. Sync applies remote changes in
``remote`` mode, where capture is off and sync maintains ``field_stamps`` itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import sqlcipher3

from app.store import held
from sync import digests

MODES = ("local", "remote", "migrate", "purge")


def _columns(conn: sqlcipher3.Connection, table: str) -> list[tuple[str, str | None]]:
    """(name, default as an SQL literal or None) of each column."""
    return [(r[1], r[4]) for r in conn.execute(f"PRAGMA table_info({table})")]


def drop(conn: sqlcipher3.Connection, table: str) -> None:
    for suffix in ("guard_ins", "guard_upd", "guard_del", "guard_id", "cap_ins", "cap_upd"):
        conn.execute(f"DROP TRIGGER IF EXISTS {table}_{suffix}")


def install(conn: sqlcipher3.Connection, table: str) -> None:
    """(Re)create the guard and capture triggers of a record table from its columns.
    Migrations that add columns call this again."""
    drop(conn, table)
    columns = [(c, d) for c, d in _columns(conn, table) if c != "id"]
    cols = [c for c, _d in columns]
    outside = "RAISE(ABORT, 'peertrail: writes go through a store transaction')"
    conn.execute(
        f"CREATE TRIGGER {table}_guard_ins BEFORE INSERT ON {table} "
        f"WHEN pt_capture_mode() IS NULL BEGIN SELECT {outside}; END"
    )
    conn.execute(
        f"CREATE TRIGGER {table}_guard_upd BEFORE UPDATE ON {table} "
        f"WHEN pt_capture_mode() IS NULL BEGIN SELECT {outside}; END"
    )
    conn.execute(
        f"CREATE TRIGGER {table}_guard_del BEFORE DELETE ON {table} "
        "WHEN pt_capture_mode() IS NOT 'purge' BEGIN SELECT "
        "RAISE(ABORT, 'peertrail: records are never deleted; mark them deleted'); END"
    )
    conn.execute(
        f"CREATE TRIGGER {table}_guard_id BEFORE UPDATE OF id ON {table} "
        "WHEN OLD.id IS NOT NEW.id BEGIN SELECT "
        "RAISE(ABORT, 'peertrail: a record id never changes'); END"
    )
    # A new record sends only what differs from the column defaults: every replica
    # creates the row with the same defaults.
    ins = "\n".join(
        "INSERT INTO outbox (stamp, table_name, record_id, field, value, base_stamp, user_id) "
        f"SELECT pt_stamp(), '{table}', NEW.id, '{c}', NEW.\"{c}\", NULL, pt_user() "
        f'WHERE NEW."{c}" IS NOT {d if d is not None else "NULL"};'
        for c, d in columns
    )
    conn.execute(
        f"CREATE TRIGGER {table}_cap_ins AFTER INSERT ON {table} "
        f"WHEN pt_capture_mode() = 'local' BEGIN\n{ins}\nEND"
    )
    # One statement for all of an update's changed fields (schema 5): one step per
    # column opened the outbox for writing once per column and made bulk updates
    # (billing a batch of 10,000 services) several times slower.
    changed = " UNION ALL ".join(
        f'SELECT {n} AS n, \'{c}\' AS f, NEW."{c}" AS v WHERE OLD."{c}" IS NOT NEW."{c}"'
        for n, c in enumerate(cols)
    )
    upd = (
        "INSERT INTO outbox (stamp, table_name, record_id, field, value, base_stamp, user_id) "
        f"SELECT pt_stamp(), '{table}', NEW.id, ch.f, ch.v, "
        "(SELECT stamp FROM field_stamps WHERE record_id = NEW.id AND field = ch.f), "
        f"pt_user() FROM ({changed}) AS ch ORDER BY ch.n;"
    )
    conn.execute(
        f"CREATE TRIGGER {table}_cap_upd AFTER UPDATE ON {table} "
        f"WHEN pt_capture_mode() = 'local' BEGIN\n{upd}\nEND"
    )
    if held.present(conn):  # a held value is copied in before its field changes
        held.install(conn, table)


class CaptureContext:
    """The per-connection state the capture triggers read through SQL functions."""

    def __init__(self, stamp: Callable[[], str], user_id: str = "") -> None:
        self._stamp = stamp
        self.user_id = user_id
        self._local = threading.local()

    @property
    def mode(self) -> str | None:
        return getattr(self._local, "mode", None)

    @mode.setter
    def mode(self, value: str | None) -> None:
        if value is not None and value not in MODES:
            raise ValueError(f"unknown capture mode {value}")
        self._local.mode = value

    def register(self, conn: sqlcipher3.Connection) -> None:
        conn.create_function("pt_capture_mode", 0, lambda: self.mode)
        conn.create_function("pt_stamp", 0, self._stamp)
        conn.create_function("pt_user", 0, lambda: self.user_id)
        # The scope digest's field hash (sync/digests.py), for the digest_sums triggers.
        conn.create_function("pt_h", 3, digests.field_hash, deterministic=True)
