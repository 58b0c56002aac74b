"""Opening the server's database and migrating it.

SQLite in the data folder by default (one file, WAL, every write transaction
started with ``BEGIN IMMEDIATE`` after a first-come-first-served queue of this
process's writers, ``sync.server.writers``, so two writers queue instead of
failing half way), encrypted with SQLCipher under a key kept outside it (see
``sync.server.atrest``); PostgreSQL through psycopg 3 when a ``postgresql://`` URL
is given. Migrations are Alembic scripts in ``sync/server/migrations`` and run
programmatically on the caller's connection.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from datetime import datetime
from pathlib import Path

import sqlcipher3
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import OperationalError

from sync.hlc import HybridLogicalClock
from sync.server import atrest
from sync.server import sql
from sync.server import writers
from sync.server.engine import SyncEngine
from sync.server.tables import changes
from sync.server.tables import field_state
from sync.server.tables import server_meta

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
READ_ONLY_OPTION = "peertrail_read_only"


class DatabaseUrlError(ValueError):
    """A --database-url this server does not support."""


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) readable by the owner only."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def normalise_url(database_url: str) -> str:
    """``postgresql://`` and ``postgres://`` become ``postgresql+psycopg://`` (psycopg 3)."""
    try:
        url = make_url(database_url)
    except Exception as exc:  # sqlalchemy.exc.ArgumentError
        raise DatabaseUrlError("the database URL is not valid") from exc
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        url = url.set(drivername="postgresql+psycopg")
        return url.render_as_string(hide_password=False)
    if url.drivername.startswith(("postgresql+", "postgres+")):
        raise DatabaseUrlError("use a postgresql:// or postgresql+psycopg:// URL (psycopg 3)")
    if url.drivername == "sqlite":
        return url.render_as_string(hide_password=False)
    raise DatabaseUrlError("only postgresql:// (or sqlite:///FILE) database URLs are supported")


def _sqlite_engine(url: str, db_file: Path | None) -> Engine:
    extra: dict = {}
    if db_file is not None:
        if not db_file.parent.is_dir():
            raise DatabaseUrlError(f"the database's folder {db_file.parent} does not exist")
        key = atrest.prepare(db_file)  # may encrypt a plaintext file from an older version
        if not db_file.exists():
            # Create the file owner-only before SQLite does; -wal and -shm copy its mode.
            fd = os.open(db_file, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        timeout = SQLITE_BUSY_TIMEOUT_MS / 1000
        extra = {"module": sqlcipher3, "creator": lambda: atrest.connect(db_file, key, timeout)}
    else:
        extra = {"connect_args": {"check_same_thread": False}}
    engine = create_engine(
        url,
        **extra,
        pool_size=8,
        max_overflow=24,
        pool_timeout=60,
        hide_parameters=True,  # errors never carry record content into logs
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        # Let SQLAlchemy (not pysqlite) decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=OFF")
        # FULL: a sync the server acknowledged survives a power cut too; the
        # client deletes its outbox entries on that acknowledgement.
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    # Writers queue in this process, first come first served (sync.server.writers),
    # then on SQLite's busy timeout for other processes, rather than failing on
    # their first write; read-only work (see ``reading``) does not queue.
    where = str(db_file.resolve()) if db_file is not None else f"memory {id(engine)}"
    queue = writers.WriterQueue(engine, where, SQLITE_BUSY_TIMEOUT_MS / 1000)

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        queue.begin(conn, bool(conn.get_execution_options().get(READ_ONLY_OPTION)))

    sql.round_trips.watch(engine)
    return engine


def sqlite_file(data_dir: Path, database_url: str | None = None) -> Path | None:
    """The SQLite database file these options name; None for PostgreSQL or memory."""
    if database_url:
        url = normalise_url(database_url)
        if not url.startswith("sqlite"):
            return None
        name = make_url(url).database
        return Path(name).resolve() if name and name != ":memory:" else None
    return Path(data_dir).resolve() / "server.db"


def open_engine(data_dir: Path, database_url: str | None = None) -> Engine:
    """The server's SQLAlchemy engine: ``DATA_DIR/server.db`` unless a URL is given."""
    if database_url:
        url = normalise_url(database_url)
        if url.startswith("sqlite"):
            db = make_url(url).database
            return _sqlite_engine(url, Path(db) if db and db != ":memory:" else None)
        engine = create_engine(
            url,
            pool_pre_ping=True,
            pool_size=10,
            max_overflow=30,
            pool_timeout=60,
            hide_parameters=True,
        )
        sql.round_trips.watch(engine)
        return engine
    ensure_private_dir(Path(data_dir))
    db_file = Path(data_dir).resolve() / "server.db"
    return _sqlite_engine(f"sqlite:///{db_file}", db_file)


#: How long a PostgreSQL push waits for its turn in this process (then 503).
PUSH_TURN_TIMEOUT_S = 60.0


@contextmanager
def push_turn(engine: Engine, writes: bool) -> Iterator[Callable[[], None]]:
    """A push that writes takes its turn here, first come first served, before it
    asks for the ``seq`` counter (PostgreSQL; SQLite's writers queue in
    ``sync.server.writers`` already). Every such push holds the counter row locked
    from its first read to its commit, so they run one at a time anyway; queued
    here, the waiting ones hold no connection nor compete for the interpreter.

    It yields ``locked``, which the push calls once it holds the counter: the turn
    passes on then, and the next push sends its request for the counter at once
    and waits in the database, which hands it over on the commit (and answers that
    push's reads with it, in the same round trip). At most one push waits there;
    the time between one push's commit and the next one's start is spent by
    nobody. Other processes on the same database wait on the row lock, as before."""
    if not writes or engine.dialect.name != "postgresql":
        yield _nothing
        return
    turn = writers.lock_for(f"postgresql {id(engine)}")
    if not turn.acquire(PUSH_TURN_TIMEOUT_S):
        raise OperationalError("push turn", {}, Exception("too many pushes waiting"))
    held = [True]

    def locked() -> None:
        if held[0]:
            held[0] = False
            turn.release()

    try:
        yield locked
    finally:
        locked()


def _nothing() -> None:
    pass


@contextmanager
def reading(engine: Engine, per_statement: bool = False) -> Iterator[Connection]:
    """A transaction for reads only: on SQLite a plain (deferred) BEGIN, so token
    look-ups and listings do not queue behind writers (WAL readers never block).
    ``per_statement``: see ``read_transaction``."""
    with engine.connect() as conn, read_transaction(conn, per_statement):
        yield conn


@contextmanager
def read_transaction(conn: Connection, per_statement: bool = False) -> Iterator[Connection]:
    """Reads only on ``conn`` (not in a transaction now: a write's connection after
    its commit may be used again). ``per_statement``: the reads need no snapshot
    shared between statements, only each statement's own (what PostgreSQL's READ
    COMMITTED gives a transaction anyway), so on PostgreSQL they run in autocommit:
    no BEGIN and COMMIT round trips. SQLite always reads in one snapshot."""
    options: dict[str, object] = {READ_ONLY_OPTION: True}
    if per_statement and conn.dialect.name == "postgresql":
        options["isolation_level"] = "AUTOCOMMIT"
    conn.execution_options(**options)
    with conn.begin():
        yield conn


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


class SchemaTooNew(Exception):
    """The database was migrated by a newer server than this one (its revision is
    not among this code's migrations)."""

    def __init__(self, revision: str) -> None:
        super().__init__(
            f"the database was made by a newer PeerTrail server (schema {revision}, this one "
            f"knows up to {head_revision()}). Install that version of the server (or newer); "
            "nothing was changed"
        )
        self.revision = revision


def known_revisions() -> set[str]:
    return {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def check_not_newer(revision: str | None) -> None:
    """Raise :class:`SchemaTooNew` when ``revision`` is not one of this code's."""
    if revision and revision not in known_revisions():
        raise SchemaTooNew(revision)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (head) in one transaction; a database
    from a newer server raises :class:`SchemaTooNew` before anything is done."""
    check_not_newer(current_revision(engine))
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def server_clock(engine: Engine) -> HybridLogicalClock:
    """A clock with a fresh device id for this process (several server processes
    may share one database), started past every stamp already stored, so what
    the server writes sorts after what it wrote before a restart."""
    for _ in range(5):
        device = "srv" + base64.b32encode(os.urandom(10)).decode("ascii").lower()
        try:
            with engine.begin() as conn:
                started = datetime.now(UTC).isoformat(timespec="seconds")
                conn.execute(
                    server_meta.insert().values(key=f"server_clock.{device}", value=started)
                )
                highest = [
                    conn.execute(select(func.max(changes.c.stamp))).scalar(),
                    conn.execute(select(func.max(field_state.c.stamp))).scalar(),
                ]
        except IntegrityError:  # that id was used before: take another
            continue
        clock = HybridLogicalClock(device)
        for stamp in highest:
            if stamp:
                clock.observe(stamp)
        return clock
    raise RuntimeError("could not pick a server clock id")


def build_sync_engine(engine: Engine) -> SyncEngine:
    from sync.server import replicas

    for _ in range(3):  # the database's id, made once (two processes may race)
        try:
            with engine.begin() as conn:
                replicas.identity(conn)
            break
        except IntegrityError:
            continue
    return SyncEngine(server_clock(engine))
