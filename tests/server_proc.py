"""The real sync server as a subprocess, for tests (not a test module).

``start_server(tmp_path)`` runs ``python -m sync.server serve --data-dir … --port 0``
on 127.0.0.1 over HTTPS with its self-signed certificate, waits for its
"Listening on" line and returns a :class:`ServerProc` (url, fingerprint, cert
path, admin commands through the real CLI, stop / SIGKILL / restart on the same
port and data folder).

``postgres_url()`` gives a fresh, empty PostgreSQL database: from
``PEERTRAIL_TEST_POSTGRES_URL`` when set, else from a throwaway cluster started
from the system's PostgreSQL binaries (as the ``postgres`` user when running as
root); None when neither works, with :func:`postgres_skip_reason` saying why.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable
from collections.abc import Sequence
from pathlib import Path
from subprocess import DEVNULL
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PASSWORD = "correct horse battery staple"
START_TIMEOUT_S = 60.0
_LISTEN_RE = re.compile(r"Listening on (https?)://(\[[^\]]+\]|[^:/\s]+):(\d+)")
_FP_RE = re.compile(r"TLS certificate SHA-256 fingerprint: ([0-9A-F:]{95})")
_CERT_RE = re.compile(r"TLS certificate: (.+)$")
_USER_ID_RE = re.compile(r"Added user \S+ \(\w+\), id ([A-Za-z0-9-]+)")

_live: list[ServerProc] = []


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.pop("PEERTRAIL_DATABASE_URL", None)
    if extra:
        env.update(extra)
    return env


class ServerStartError(RuntimeError):
    pass


class ServerProc:
    """One server process (and its successors after :meth:`restart`)."""

    def __init__(
        self, data_dir: Path, database_url: str | None = None, extra_args: Sequence[str] = ()
    ) -> None:
        self.data_dir = Path(data_dir)
        self.database_url = database_url
        self.extra_args = tuple(extra_args)
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0
        self.scheme = "https"
        self.url = ""
        self.fingerprint: str | None = None
        self.cert_path: Path | None = None
        self.output: list[str] = []
        self._listening = threading.Event()
        self._engine = None

    # -- life cycle --

    def _where(self) -> list[str]:
        args = ["--data-dir", str(self.data_dir)]
        if self.database_url:
            args += ["--database-url", self.database_url]
        return args

    def start(self, port: int | None = None) -> ServerProc:
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError("the server is already running")
        port = self.port if port is None else port
        cmd = [
            sys.executable,
            "-m",
            "sync.server",
            "serve",
            *self._where(),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *self.extra_args,
        ]
        self.output = []
        self._listening.clear()
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._listening.wait(0.05):
            if self.proc.poll() is not None:
                time.sleep(0.1)  # let the reader collect the last lines
                raise ServerStartError(
                    f"the server exited with {self.proc.returncode}:\n" + "".join(self.output)
                )
            if time.monotonic() > deadline:
                self.kill()
                raise ServerStartError("the server did not start:\n" + "".join(self.output))
        if self not in _live:
            _live.append(self)
        return self

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if len(self.output) < 5000:
                self.output.append(line)
            if m := _FP_RE.search(line):
                self.fingerprint = m.group(1)
            elif m := _CERT_RE.search(line):
                self.cert_path = Path(m.group(1).strip())
            elif m := _LISTEN_RE.search(line):
                self.scheme, self.port = m.group(1), int(m.group(3))
                self.url = f"{self.scheme}://{m.group(2)}:{self.port}"
                self._listening.set()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM (a clean shutdown), SIGKILL if it does not end in time."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL: no shutdown at all, like a power cut of the process."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(15)

    def restart(self, hard: bool = False) -> ServerProc:
        """Stop (or SIGKILL when ``hard``) and start again on the same port and data."""
        self.kill() if hard else self.stop()
        deadline = time.monotonic() + 10
        while True:
            try:
                return self.start(self.port)
            except ServerStartError as exc:  # the port may linger a moment
                if "cannot listen" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def __enter__(self) -> ServerProc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.stop()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        if self in _live:
            _live.remove(self)

    # -- admin command line --

    def cli(
        self, *args: str, password: str | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """``python -m sync.server ARGS --data-dir … [--database-url …]``."""
        from tests.helpers import run_python

        env = _env({"PEERTRAIL_USER_PASSWORD": password} if password is not None else None)
        if password is None:
            env.pop("PEERTRAIL_USER_PASSWORD", None)
        args = ("-m", "sync.server", *args, *self._where())
        return run_python(*args, env=env, timeout=timeout, stdin=DEVNULL)

    def add_user(
        self,
        name: str,
        role: str,
        supervisor: str | None = None,
        password: str = DEFAULT_PASSWORD,
        display_name: str | None = None,
    ) -> str:
        """Add a user through the CLI; returns the user id."""
        args = ["users", "add", name, "--role", role]
        if supervisor:
            args += ["--supervisor", supervisor]
        if display_name:
            args += ["--display-name", display_name]
        done = self.cli(*args, password=password)
        if done.returncode != 0:
            raise RuntimeError(f"users add {name} failed ({done.returncode}): {done.stderr}")
        m = _USER_ID_RE.search(done.stdout)
        assert m, done.stdout
        return m.group(1)

    # -- HTTP --

    @property
    def verify(self) -> str | bool:
        return str(self.cert_path) if self.cert_path else True

    def session(self) -> requests.Session:
        """A keep-alive session trusting this server's certificate. ``trust_env`` is
        off: with it, REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE in the environment would
        override ``Session.verify`` (a long-standing requests behaviour)."""
        s = requests.Session()
        s.verify = self.verify
        s.trust_env = False
        return s

    def enroll(
        self,
        username: str,
        device_id: str | None = None,
        password: str = DEFAULT_PASSWORD,
        name: str = "test laptop",
    ) -> tuple[str, str]:
        """Enroll a device (a new random id unless given); returns (device_id, token)."""
        device_id = device_id or new_device_id()
        r = enroll_raw(self, username, password, device_id, name)
        r.raise_for_status()
        return device_id, r.json()["token"]

    # -- the database, for checks --

    def engine(self):
        if self._engine is None:
            from sync.server.db import open_engine

            self._engine = open_engine(self.data_dir, self.database_url)
        return self._engine

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        from sqlalchemy import select

        from sync.server import tables

        t = tables.metadata.tables[table]
        with self.engine().begin() as conn:
            return [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]

    def state_digest(
        self,
        tables: Iterable[str] = (
            "field_state",
            "changes",
            "rejected",
            "records",
            "assignments",
            "access_log",
            "counters",
            "users",
        ),
    ) -> str:
        """SHA-256 over every row of the record-holding tables (not the logs)."""
        h = hashlib.sha256()
        for name in tables:
            for row in self.rows(name):
                h.update(json.dumps([name, *row], default=str).encode())
        return h.hexdigest()


def new_device_id() -> str:
    """A random device id in the HLC format ([a-z2-7]{4,32})."""
    import base64

    return base64.b32encode(os.urandom(10)).decode().lower()


def enroll_raw(
    server: ServerProc,
    username: str,
    password: str = DEFAULT_PASSWORD,
    device_id: str | None = None,
    name: str | None = "t",
) -> requests.Response:
    """POST /v1/enroll as a laptop would, unchecked (tests read the status)."""
    body: dict[str, Any] = {
        "protocol": 1,
        "username": username,
        "password": password,
        "device_id": device_id or new_device_id(),
    }
    if name is not None:
        body["device_name"] = name
    return requests.post(f"{server.url}/v1/enroll", json=body, verify=server.verify, timeout=60)


def sync_raw(server: ServerProc, token: str, payload: dict[str, Any]) -> requests.Response:
    """POST /v1/sync with ``payload`` compressed as the client sends it, unchecked."""
    from sync.client import compress

    body, coding = compress(json.dumps(payload).encode())
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Encoding": coding,
        "Content-Type": "application/json",
    }
    return requests.post(
        f"{server.url}/v1/sync", data=body, headers=headers, verify=server.verify, timeout=60
    )


def start_server(
    tmp_path: Path, database_url: str | None = None, extra_args: Sequence[str] = ()
) -> ServerProc:
    """Start the real server (data in ``tmp_path/server``) and wait until it listens."""
    return ServerProc(Path(tmp_path) / "server", database_url, extra_args).start(0)


def specialists_server(tmp_path: Path, *names: str) -> ServerProc:
    """The real server without a rate limit (:func:`start_server`), with a specialist
    account (no supervisor, :data:`DEFAULT_PASSWORD`) for each of ``names``."""
    srv = start_server(tmp_path, extra_args=("--rate-limit", "0"))
    for name in names:
        srv.add_user(name, "specialist")
    return srv


@atexit.register
def _stop_all() -> None:
    for srv in list(_live):
        with contextlib.suppress(Exception):
            srv.kill()


# -- PostgreSQL ----------------------------------------------------------------------

INITDB_OPTS = ("-E", "UTF8", "--locale=C", "--no-sync")
_pg_admin_url: str | None = None
_pg_reason = "not tried yet"
_pg_tried = False
_pg_cluster: tuple[str, str, list[str]] | None = None  # (pg_ctl, data dir, run-as prefix)


def postgres_skip_reason() -> str:
    return _pg_reason


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _can_connect(url: str) -> str | None:
    try:
        import psycopg

        with psycopg.connect(_libpq(url), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
        return None
    except Exception as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _libpq(url: str) -> str:
    """psycopg wants postgresql://, not the SQLAlchemy dialect+driver form."""
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", url)


def postgres_pids() -> list[int]:
    """The processes of the PostgreSQL cluster these tests started (its postmaster
    and every process it runs: backends, writers), for a benchmark that reports the
    database's CPU; [] for a PostgreSQL given by PEERTRAIL_TEST_POSTGRES_URL."""
    if _pg_cluster is None:
        return []
    with open(os.path.join(_pg_cluster[1], "postmaster.pid")) as f:
        root = int(f.readline())
    pids = [root]
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if int(fields[1]) == root:
            pids.append(int(stat.split("/")[2]))
    return pids


def _start_cluster() -> str | None:
    """initdb + pg_ctl start in a temporary folder; returns the admin URL."""
    global _pg_reason, _pg_cluster
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    bindir = bins[-1] if bins else None
    initdb = os.path.join(bindir, "initdb") if bindir else shutil.which("initdb")
    pg_ctl = os.path.join(bindir, "pg_ctl") if bindir else shutil.which("pg_ctl")
    if not initdb or not os.path.exists(initdb) or not pg_ctl:
        _pg_reason = (
            "no PostgreSQL found: set PEERTRAIL_TEST_POSTGRES_URL or install postgresql "
            "(apt-get install postgresql)"
        )
        return None
    prefix: list[str] = []
    base = tempfile.mkdtemp(prefix="peertrail-pg-")
    if os.geteuid() == 0:
        import pwd

        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            _pg_reason = "running as root and there is no 'postgres' user to run PostgreSQL"
            return None
        runuser = shutil.which("runuser")
        if runuser:
            prefix = [runuser, "-u", "postgres", "--"]
        else:
            _pg_reason = "running as root and runuser is missing"
            return None
        os.chown(base, pw.pw_uid, pw.pw_gid)
    data, sockdir = os.path.join(base, "data"), base
    port = _free_port()
    try:
        subprocess.run(
            [*prefix, initdb, "-D", data, "-A", "trust", "-U", "peertrail", *INITDB_OPTS],
            check=True,
            capture_output=True,
            timeout=120,
        )
        opts = (
            f"-p {port} -k {sockdir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=400"
        )
        subprocess.run(
            [*prefix, pg_ctl, "-D", data, "-l", f"{base}/log", "-w", "-o", opts, "start"],
            check=True,
            capture_output=True,
            timeout=120,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        err = getattr(exc, "stderr", b"") or b""
        _pg_reason = f"could not start a throwaway PostgreSQL: {err.decode(errors='replace')}"
        shutil.rmtree(base, ignore_errors=True)
        return None
    _pg_cluster = (pg_ctl, data, prefix)
    atexit.register(_stop_cluster, base)
    return f"postgresql://peertrail@127.0.0.1:{port}/postgres"


def _stop_cluster(base: str) -> None:
    if _pg_cluster is not None:
        pg_ctl, data, prefix = _pg_cluster
        subprocess.run(
            [*prefix, pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"],
            capture_output=True,
            timeout=60,
        )
    shutil.rmtree(base, ignore_errors=True)


def _admin_url() -> str | None:
    global _pg_admin_url, _pg_reason, _pg_tried
    if _pg_tried:
        return _pg_admin_url
    _pg_tried = True
    env_url = os.environ.get("PEERTRAIL_TEST_POSTGRES_URL")
    if env_url:
        problem = _can_connect(env_url)
        if problem is None:
            _pg_admin_url = env_url
            return env_url
        _pg_reason = f"PEERTRAIL_TEST_POSTGRES_URL does not answer: {problem}"
        return None
    _pg_admin_url = _start_cluster()
    if _pg_admin_url is not None and (problem := _can_connect(_pg_admin_url)):
        _pg_reason = f"the throwaway PostgreSQL does not answer: {problem}"
        _pg_admin_url = None
    return _pg_admin_url


def backend_url(backend: str) -> str | None:
    """The database URL for a test parametrised over ``sqlite``/``postgresql``:
    None for SQLite; a fresh PostgreSQL database, or the test is skipped (saying why)."""
    if backend == "sqlite":
        return None
    import pytest

    url = postgres_url()
    if url is None:
        pytest.skip(f"PostgreSQL not available: {postgres_skip_reason()}")
    return url


def postgres_url() -> str | None:
    """A fresh, empty database on a real PostgreSQL, or None (see postgres_skip_reason)."""
    admin = _admin_url()
    if admin is None:
        return None
    import psycopg

    name = "pt_" + uuid.uuid4().hex[:16]
    try:
        with psycopg.connect(_libpq(admin), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception:
        return admin  # no CREATEDB right: the given database, shared
    from sqlalchemy.engine import make_url

    return make_url(admin).set(database=name).render_as_string(hide_password=False)
