"""SQL helpers for the sync hot path: statements built once, bulk writes straight
to the driver.

A SQLAlchemy statement built for every call costs more Python than the database
spends running it (a primary-key look-up: 65 µs built each time, 18 µs built once
with bind parameters, 1.4 µs of SQLite). So the statements a sync runs are
module constants with bind parameters (``IDS`` for an IN list), and bulk inserts
and updates are compiled once per dialect and handed to the driver's
``executemany``; the hot reads (``rows``) are compiled once too and run on the
driver's cursor, their IN lists expanded here (SQLAlchemy re-renders a statement
with an IN list on every execution: about 60 µs a read, several times the
database's own work).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from collections.abc import Iterator
from contextlib import contextmanager
from operator import itemgetter
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection
from sqlalchemy.sql.dml import Insert

CHUNK = 500  # ids per IN list


class RoundTrips:
    """What this process asked of its database, counted (``peertrail_sql_*`` in
    /metrics): statements (each ``execute``/``executemany``, including the hot reads
    run on the driver's cursor below), transactions begun, and connections checked
    out of the pool (on PostgreSQL each checkout is pinged first). On PostgreSQL
    every statement is a round trip, and a transaction adds two (BEGIN, COMMIT)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self.statements = 0
        self.transactions = 0
        self.checkouts = 0

    def statement(self, *_args: Any) -> None:
        with self._guard:
            self.statements += 1

    def transaction(self, conn: Any = None, *_args: Any) -> None:
        if conn is not None and conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return  # no BEGIN sent
        with self._guard:
            self.transactions += 1

    def checkout(self, *_args: Any) -> None:
        with self._guard:
            self.checkouts += 1

    def watch(self, engine: Any) -> None:
        """Count ``engine``'s statements, transactions and checkouts from now on."""
        event.listen(engine, "before_cursor_execute", self.statement)
        event.listen(engine, "begin", self.transaction)
        event.listen(engine.pool, "checkout", self.checkout)


#: The process's counts (one server process, one database).
round_trips = RoundTrips()


def ids(name: str = "ids") -> Any:
    """An IN list's bind parameter: ``column.in_(ids())``, run with ``{"ids": [...]}``."""
    return bindparam(name, expanding=True)


def chunks(items: list[str], size: int = CHUNK) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


_compiled: dict[tuple[int, str, tuple[str, ...]], tuple[Any, str, Any]] = {}
_compiled_guard = threading.Lock()


def _compile(conn: Connection, stmt: Any, keys: tuple[str, ...]) -> tuple[str, Any]:
    key = (id(stmt), conn.dialect.name, keys)
    found = _compiled.get(key)
    if found is None or found[0] is not stmt:
        compiled = stmt.compile(
            dialect=conn.dialect, column_keys=list(keys) if isinstance(stmt, Insert) else None
        )
        order = None
        if compiled.positional:
            names = list(compiled.positiontup or [])
            get = itemgetter(*names)
            order = get if len(names) != 1 else (lambda row, get=get: (get(row),))
        found = (stmt, compiled.string, order)
        with _compiled_guard:
            _compiled[key] = found
    return found[1], found[2]


@contextmanager
def pipelined(conn: Connection) -> Iterator[None]:
    """On PostgreSQL, the statements run inside go out without waiting for each
    answer (psycopg's pipeline mode) and are answered together when it ends: a
    push's writes (about six statements) cost one round trip, not six. Use it only
    around writes whose results nobody reads inside it (no rowcount, no rows).
    Errors come as SQLAlchemy's, as anywhere else. SQLite: no change."""
    if conn.dialect.name != "postgresql" or not _pipeline_supported(conn):
        yield  # SQLite; or a libpq older than 14: one round trip a statement, as before
        return
    error = conn.dialect.loaded_dbapi.Error
    try:
        with conn.connection.driver_connection.pipeline():
            yield
    except error as e:  # answered when the pipeline ends, not wrapped on the way
        raise sa_exc.DBAPIError.instance(
            None, None, e, error, hide_parameters=True, dialect=conn.dialect
        ) from None


def _pipeline_supported(conn: Connection) -> bool:
    pipeline = getattr(type(conn.connection.driver_connection), "pipeline", None)
    if pipeline is None:
        return False
    import psycopg

    return bool(psycopg.Pipeline.is_supported())


def executemany(conn: Connection, stmt: Any, rows: list[dict[str, Any]]) -> None:
    """executemany straight to the database driver, the statement compiled once per
    dialect and column set (keep ``stmt`` a module constant). For thousands of rows
    SQLAlchemy's per-row parameter processing cost more than the database's own
    work (cProfile, 17,393 changes: 0.67 s of the 0.92 s flush); these columns are
    plain text, integers and booleans, which every driver takes as they are."""
    if not rows:
        return
    sql, order = _compile(conn, stmt, tuple(rows[0]))
    conn.exec_driver_sql(sql, rows if order is None else [order(r) for r in rows])


_Read = tuple[Any, str, list[str] | None, dict[str, Any], frozenset[str]]
_reads: dict[tuple[int, str], _Read] = {}


def _read(conn: Connection, stmt: Any) -> _Read:
    key = (id(stmt), conn.dialect.name)
    found = _reads.get(key)
    if found is None or found[0] is not stmt:
        c = stmt.compile(dialect=conn.dialect)
        defaults = {name: b.value for name, b in c.binds.items()}
        expanding = frozenset(name for name, b in c.binds.items() if b.expanding)
        order = list(c.positiontup or []) if c.positional else None
        found = (stmt, c.string, order, defaults, expanding)
        with _compiled_guard:
            _reads[key] = found
    return found


def _render(conn: Connection, stmt: Any, params: dict[str, Any]) -> tuple[str, Any]:
    """The SQL text and driver arguments of a read built once, its IN lists expanded
    here (every IN list non-empty)."""
    _stmt, sql, order, defaults, expanding = _read(conn, stmt)
    values = {**defaults, **params}
    if order is not None:  # positional (qmark: SQLite)
        args: Any = []
        for name in order:
            if name in expanding:
                args.extend(values[name])
            else:
                args.append(values[name])
        for name in expanding:
            marks = ", ".join("?" * len(values[name]))
            sql = sql.replace(f"__[POSTCOMPILE_{name}]", marks)
    else:  # named (pyformat: psycopg)
        args = {k: v for k, v in values.items() if k not in expanding}
        for name in expanding:
            items = values[name]
            args.update({f"{name}_{i}": v for i, v in enumerate(items)})
            marks = ", ".join(f"%({name}_{i})s" for i in range(len(items)))
            sql = sql.replace(f"__[POSTCOMPILE_{name}]", marks)
    return sql, args


def _has_empty_list(conn: Connection, stmt: Any, params: dict[str, Any]) -> bool:
    return any(not params.get(name) for name in _read(conn, stmt)[4])


def rows(conn: Connection, stmt: Any, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The rows of a select built once (keep ``stmt`` a module constant), run on the
    driver's cursor inside ``conn``'s transaction; plain tuples (booleans as the
    driver gives them). Driver errors come as SQLAlchemy's (an OperationalError is
    still one). An empty IN list goes through SQLAlchemy, which renders it."""
    if _has_empty_list(conn, stmt, params):
        return [tuple(r) for r in conn.execute(stmt, params)]
    sql, args = _render(conn, stmt, params)
    error = conn.dialect.loaded_dbapi.Error
    cursor = conn.connection.cursor()
    round_trips.statement(sql)
    try:
        cursor.execute(sql, args)
        return cursor.fetchall()
    except error as e:
        raise sa_exc.DBAPIError.instance(
            sql, None, e, error, hide_parameters=True, dialect=conn.dialect
        ) from None
    finally:
        cursor.close()


Read = tuple[Any, dict[str, Any]]  # a select built once and its parameters


def rows_together(conn: Connection, reads: list[Read]) -> list[list[tuple[Any, ...]]]:
    """The rows of several reads (as ``rows``), in order. On PostgreSQL they go out
    together and are answered in one round trip (psycopg's pipeline mode): each
    still runs after the one before it and sees what was committed when it starts,
    so a read after a ``FOR UPDATE`` sees the state that lock protects. Elsewhere,
    one after another. A read with an empty IN list is rendered by SQLAlchemy, as
    in ``rows``, and runs after the others."""
    if conn.dialect.name != "postgresql" or not _pipeline_supported(conn):
        return [rows(conn, stmt, params) for stmt, params in reads]
    error = conn.dialect.loaded_dbapi.Error
    cursors: dict[int, Any] = {}
    try:
        with conn.connection.driver_connection.pipeline():
            for i, (stmt, params) in enumerate(reads):
                if not _has_empty_list(conn, stmt, params):
                    sql, args = _render(conn, stmt, params)
                    cursors[i] = conn.connection.cursor()
                    round_trips.statement(sql)
                    cursors[i].execute(sql, args)
        found = {i: cursor.fetchall() for i, cursor in cursors.items()}
    except error as e:
        raise sa_exc.DBAPIError.instance(
            None, None, e, error, hide_parameters=True, dialect=conn.dialect
        ) from None
    finally:
        for cursor in cursors.values():
            cursor.close()
    return [
        found[i] if i in found else rows(conn, stmt, params)
        for i, (stmt, params) in enumerate(reads)
    ]
