"""Operating the real server: liveness and readiness (503 while PostgreSQL is
unreachable), Prometheus metrics (loopback only, or the metrics token), JSON request
logs with request ids and no names, request-log retention, ``--version``,
configuration from a file, the environment and flags (in that order of strength),
``--data-dir`` before the command, certificate reload on SIGHUP, a clear refusal
of a database from a newer server, and clear start-up failures."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import ssl
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from sync.server import db
from sync.server import tls
from sync.server.tables import request_log
from tests.helpers import run_python
from tests.netproxy import Proxy
from tests.server_proc import ServerProc
from tests.server_proc import _env
from tests.server_proc import backend_url
from tests.server_proc import start_server

SCHEMA_NEWER = 5


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = _env({"PEERTRAIL_USER_PASSWORD": "long enough password", **(env or {})})
    for name in ("PEERTRAIL_SERVER_DATA_DIR", "PEERTRAIL_CONFIG", "PEERTRAIL_SERVER_METRICS_TOKEN"):
        if name not in (env or {}):
            full.pop(name, None)
    return run_python("-m", "sync.server", *args, env=full, timeout=120)


def _json_lines(server) -> list[dict]:
    out = []
    for line in server.output:
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


@contextmanager
def _new_database(data: Path):
    """A new server database in ``data`` (made by the command line), open for the
    caller's writes in one transaction."""
    assert _run("users", "list", "--data-dir", str(data)).returncode == 0
    engine = db.open_engine(data)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def test_health_ready_metrics_and_json_logs(tmp_path):
    server = start_server(tmp_path, extra_args=("--rate-limit", "0"))
    try:
        server.add_user("wren.okafor", "specialist")
        s = server.session()
        assert s.get(f"{server.url}/v1/health", timeout=30).status_code == 200
        ready = s.get(f"{server.url}/v1/ready", timeout=30)
        assert ready.status_code == 200 and ready.json()["ready"] is True
        device, token = server.enroll("wren.okafor")
        body = {"protocol": 2, "device_id": device, "client_time_ms": int(time.time() * 1000)}
        r = s.post(
            f"{server.url}/v1/sync",
            json=body,
            headers={"Authorization": f"Bearer {token}", "X-Request-Id": "trace-12345678"},
            timeout=30,
        )
        assert r.status_code == 200 and r.headers["X-Request-Id"] == "trace-12345678"
        bad = s.post(f"{server.url}/v1/sync", json=body, headers={"Authorization": "Bearer x"})
        assert bad.status_code == 401 and len(bad.headers["X-Request-Id"]) == 32

        m = s.get(f"{server.url}/metrics", timeout=30)
        assert m.status_code == 200 and m.headers["content-type"].startswith("text/plain")
        assert "peertrail_syncs_total 1.0" in m.text
        assert 'peertrail_refusals_total{error="unauthorized"} 1.0' in m.text
        assert 'peertrail_request_seconds_bucket{le="0.005",path="/v1/sync"}' in m.text
        assert 'peertrail_requests_total{path="/v1/enroll",status="200"} 1.0' in m.text
        s.get(f"{server.url}/wp-admin/setup.php", timeout=30)
        assert 'path="other"' in s.get(f"{server.url}/metrics", timeout=30).text

        time.sleep(0.3)  # the reader thread collects the last lines
        logs = _json_lines(server)
        traced = [x for x in logs if x.get("request_id") == "trace-12345678"]
        assert traced and traced[0]["path"] == "/v1/sync" and traced[0]["status"] == 200
        assert traced[0]["device_id"] == device and "ms" in traced[0]
        output = "".join(server.output)
        assert "wren" not in output and "okafor" not in output and token not in output
    finally:
        server.close()


def test_metrics_token_from_the_environment(tmp_path):
    proc = ServerProc(tmp_path / "server")
    os.environ["PEERTRAIL_SERVER_METRICS_TOKEN"] = "metrics-secret-123"
    try:
        proc.start(0)
    finally:
        del os.environ["PEERTRAIL_SERVER_METRICS_TOKEN"]
    try:
        s = proc.session()
        assert s.get(f"{proc.url}/metrics", timeout=30).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert s.get(f"{proc.url}/metrics", headers=wrong, timeout=30).status_code == 401
        right = {"Authorization": "Bearer metrics-secret-123"}
        assert s.get(f"{proc.url}/metrics", headers=right, timeout=30).status_code == 200
    finally:
        proc.close()


def test_ready_is_503_while_postgresql_is_unreachable(tmp_path):
    url = backend_url("postgresql")
    from sqlalchemy.engine import make_url

    real = make_url(url)
    proxy = Proxy(real.port)
    server = start_server(tmp_path, database_url=real.set(port=proxy.port).render_as_string(False))
    try:
        s = server.session()
        assert s.get(f"{server.url}/v1/ready", timeout=30).status_code == 200
        proxy._stop = True
        proxy.sock.shutdown(socket.SHUT_RDWR)  # wakes its accept(): no new connections
        proxy.close()  # and the open ones are cut: the database is gone
        down = s.get(f"{server.url}/v1/ready", timeout=60)
        assert down.status_code == 503 and down.json()["database"] == "unreachable"
        assert s.get(f"{server.url}/v1/health", timeout=30).status_code == 200
    finally:
        server.close()


def test_ready_is_503_when_migrations_are_behind(tmp_path):
    server = start_server(tmp_path)
    try:
        with server.engine().begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0002_security'"))
        r = server.session().get(f"{server.url}/v1/ready", timeout=30)
        assert r.status_code == 503 and "0002_security" in r.json()["migrations"]
    finally:
        server.close()


def test_request_log_retention(tmp_path):
    data = tmp_path / "server"
    old = dict(method="GET", path="/v1/health", status=200)
    with _new_database(data) as conn:
        conn.execute(request_log.insert().values(at="2020-01-01T00:00:00+00:00", **old))
        conn.execute(request_log.insert().values(at="2099-01-01T00:00:00+00:00", **old))
    server = ServerProc(data, extra_args=("--log-retention-days", "30")).start(0)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            ats = [r[1] for r in server.rows("request_log")]
            if not any(a.startswith("2020") for a in ats):
                break
            time.sleep(0.1)
        assert not any(a.startswith("2020") for a in ats)
        assert any(a.startswith("2099") for a in ats)
    finally:
        server.close()


def test_version_data_dir_before_the_command_and_config_precedence(tmp_path):
    v = _run("--version")
    assert v.returncode == 0 and "PeerTrail server" in v.stdout and db.head_revision() in v.stdout

    first = tmp_path / "first"
    assert (
        _run("--data-dir", str(first), "users", "add", "ann", "--role", "specialist").returncode
        == 0
    )
    assert (first / "server.db").exists()
    assert "ann" in _run(f"--data-dir={first}", "users", "list").stdout

    from_file, from_env, from_flag = tmp_path / "file", tmp_path / "env", tmp_path / "flag"
    config = tmp_path / "server.toml"
    config.write_text(f'data-dir = "{from_file}"\nport = 9443\n')
    _run("--config", str(config), "users", "add", "f", "--role", "billing")
    _run(
        "users",
        "add",
        "e",
        "--role",
        "billing",
        env={"PEERTRAIL_SERVER_DATA_DIR": str(from_env), "PEERTRAIL_CONFIG": str(config)},
    )
    _run(
        "users",
        "add",
        "g",
        "--role",
        "billing",
        "--data-dir",
        str(from_flag),
        env={"PEERTRAIL_SERVER_DATA_DIR": str(from_env), "PEERTRAIL_CONFIG": str(config)},
    )
    for where, name in ((from_file, "f"), (from_env, "e"), (from_flag, "g")):
        listed = _run("users", "list", "--data-dir", str(where)).stdout
        assert [line.split()[0] for line in listed.splitlines()[1:]] == [name]

    config.write_text('colour = "blue"\n')
    bad = _run("--config", str(config), "users", "list")
    assert bad.returncode == 2 and "colour" in bad.stderr
    missing = _run("--config", str(tmp_path / "nope.toml"), "users", "list")
    assert missing.returncode == 4 and "Traceback" not in missing.stderr


def _served_fingerprint(port: int) -> str:
    pem = ssl.get_server_certificate(("127.0.0.1", port))
    return tls.format_fingerprint(hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).digest())


def test_sighup_reloads_the_certificate(tmp_path):
    certs = tmp_path / "certs"
    cert, key = tls.ensure_self_signed(tmp_path / "a")
    certs.mkdir()
    (certs / "c.pem").write_bytes(cert.read_bytes())
    (certs / "k.pem").write_bytes(key.read_bytes())
    extra = ("--tls-cert", str(certs / "c.pem"), "--tls-key", str(certs / "k.pem"))
    server = start_server(tmp_path, extra_args=extra)
    try:
        assert _served_fingerprint(server.port) == tls.fingerprint_sha256(cert)
        cert_b, key_b = tls.ensure_self_signed(tmp_path / "b")
        (certs / "c.pem").write_bytes(cert_b.read_bytes())
        (certs / "k.pem").write_bytes(key_b.read_bytes())
        server.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        while not any("Reloaded the TLS certificate" in x for x in server.output):
            assert time.monotonic() < deadline, server.output
            time.sleep(0.05)
        assert _served_fingerprint(server.port) == tls.fingerprint_sha256(cert_b)
        assert server.running
    finally:
        server.close()


def test_a_newer_schema_is_a_clear_refusal(tmp_path):
    data = tmp_path / "server"
    with _new_database(data) as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099_future'"))
    for args in (("users", "list"), ("serve", "--port", "0")):
        done = _run(*args, "--data-dir", str(data))
        assert done.returncode == SCHEMA_NEWER, done.stderr
        assert "newer PeerTrail server" in done.stderr and "Traceback" not in done.stderr


def test_start_up_failures_are_clear(tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    done = _run("serve", "--data-dir", str(not_a_dir), "--port", "0")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error:")
    port_taken = start_server(tmp_path / "one")
    try:
        again = _run("serve", "--data-dir", str(tmp_path / "two"), "--port", str(port_taken.port))
        assert again.returncode == 1 and "cannot listen" in again.stderr
    finally:
        port_taken.close()
    half = _run("serve", "--data-dir", str(tmp_path / "x"), "--tls-cert", str(not_a_dir))
    assert half.returncode == 2 and "both" in half.stderr
