"""``serve --workers N``: several server processes on one port (PostgreSQL only).

The real server on 127.0.0.1 with two workers: every worker answers (each with a
server clock of its own), two laptops on their own connections sync through
whichever worker the kernel hands them and see each other's edits, a worker
killed by its operating system does not stop the others, and stopping the
server stops every worker. On SQLite more than one worker is refused with the
reason (processes on one SQLite file would poll each other for its lock).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from sync.client import SyncClient
from sync.client import make_session
from sync.server.cli.common import USAGE
from sync.server.tables import server_meta
from tests.benchmarks.test_bench_sync_load import MemoryReplica
from tests.benchmarks.test_bench_sync_load import _children
from tests.server_proc import DEFAULT_PASSWORD
from tests.server_proc import ServerStartError
from tests.server_proc import backend_url
from tests.server_proc import new_device_id
from tests.server_proc import start_server


def _laptop(server, username: str) -> SyncClient:
    replica = MemoryReplica(new_device_id())
    client = SyncClient(
        replica, server.url, token="", session=make_session(server.fingerprint, retries=0)
    )
    client.token = client.enroll(username, DEFAULT_PASSWORD).token
    return client


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is not serving
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_two_workers_serve_one_port_on_postgresql(tmp_path: Path) -> None:
    url = backend_url("postgresql")
    server = start_server(tmp_path, url, ("--workers", "2", "--rate-limit", "0"))
    try:
        assert server.proc is not None
        workers = _children(server.proc.pid)
        assert len(workers) == 1, workers  # the first worker is the server process itself
        assert any("(2 processes)" in line for line in server.output)
        sam = server.add_user("sam", "specialist")
        a, b = _laptop(server, "sam"), _laptop(server, "sam")
        pid = "p-" + new_device_id()[:12]
        values = {"first_name": "Ada", "last_name": "Example", "assigned_specialist_id": sam}
        a.replica.write("participants", pid, values)
        a.sync()
        assert not a.replica.refused, a.replica.refused
        # many short connections: the kernel spreads them over both workers
        for _ in range(20):
            requests.get(f"{server.url}/v1/health", verify=server.verify, timeout=10)
        b.sync()
        assert b.replica.fields[pid]["first_name"][0] == "Ada"
        b.replica.write("participants", pid, {"county": "Cass"})
        b.sync()
        a.sync()
        assert a.replica.fields[pid]["county"][0] == "Cass"
        # each worker made a server clock of its own (distinct ids in server_meta)
        with server.engine().connect() as conn:
            clocks = conn.execute(
                select(server_meta.c.key).where(server_meta.c.key.like("server_clock.%"))
            ).all()
        assert len(clocks) >= 2
        # a worker that dies leaves the other serving
        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _alive(workers[0]) and time.monotonic() < deadline:
            time.sleep(0.05)
        b.replica.write("participants", pid, {"county": "Ward"})
        # b's kept-alive connection may have been to the killed worker: that request is
        # reset (so may the one kept ready beside it), and the laptop's retries (off in
        # these sessions) connect afresh
        b.retries = 4  # what a laptop uses (make_session)
        b.sync()
        assert not b.replica.refused
    finally:
        server.close()
    for w in workers:
        deadline = time.monotonic() + 15
        while _alive(w) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(w), "a worker outlived the server"


def test_more_workers_than_one_are_refused_on_sqlite(tmp_path: Path) -> None:
    with pytest.raises(ServerStartError) as failed:
        start_server(tmp_path, None, ("--workers", "2"))
    text = str(failed.value)
    assert f"exited with {USAGE}" in text
    assert "--workers above 1 needs PostgreSQL" in text
