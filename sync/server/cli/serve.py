"""``serve``: check the options, open the database, and run the API (uvicorn)
over HTTPS on the given address."""

from __future__ import annotations

import argparse
import contextlib
import gc
import ipaddress
import os
import signal
import socket
from pathlib import Path

from sync.server import backups
from sync.server import db
from sync.server import ops
from sync.server.cli.common import FAILED
from sync.server.cli.common import NOT_FOUND
from sync.server.cli.common import OK
from sync.server.cli.common import USAGE
from sync.server.cli.common import CliError
from sync.server.cli.common import _engine
from sync.server.cli.common import _short
from sync.server.cli.config import _version


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int, reuse_port: bool = False) -> socket.socket:
    """The listening socket. ``reuse_port``: one of several workers' sockets on the
    port (SO_REUSEPORT: the kernel spreads new connections evenly over them, and
    only processes of the same user may join)."""
    host = host.strip("[]")
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise CliError(USAGE, f"cannot listen on {host!r}: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise CliError(FAILED, f"cannot listen on {host} port {port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


MAX_WORKERS = 32


def _check_serve_args(args: argparse.Namespace) -> None:
    if not args.data_dir:
        raise CliError(USAGE, "serve needs --data-dir DIR (certificate, and SQLite by default)")
    if not 0 <= args.port <= 65535:
        raise CliError(USAGE, "--port is 0-65535 (0 picks a free port)")
    if args.insecure_http:
        if not _is_loopback(args.host):
            raise CliError(
                USAGE,
                f"refusing plain HTTP on {args.host}: --insecure-http is only allowed on "
                "127.0.0.1, ::1 or localhost. Leave it out to serve HTTPS.",
            )
        if args.tls_cert or args.tls_key:
            raise CliError(USAGE, "--insecure-http and --tls-cert/--tls-key do not go together")
    if bool(args.tls_cert) != bool(args.tls_key):
        raise CliError(USAGE, "give both --tls-cert and --tls-key, or neither")
    if not 1 <= args.workers <= MAX_WORKERS:
        raise CliError(USAGE, f"--workers is 1-{MAX_WORKERS}")
    if args.rate_limit < 0 or args.rate_burst < 1:
        raise CliError(USAGE, "--rate-limit is 0 or more, --rate-burst 1 or more")
    for f in (args.tls_cert, args.tls_key):
        if f and not f.is_file():
            raise CliError(NOT_FOUND, f"no such file: {f}")


def serve(args: argparse.Namespace) -> int:
    _check_serve_args(args)
    import uvicorn

    try:
        db.ensure_private_dir(args.data_dir)
    except OSError as exc:
        raise CliError(
            FAILED, f"cannot use the data folder {args.data_dir}: {exc.strerror}"
        ) from None
    engine = _engine(args)
    if args.workers > 1 and engine.dialect.name != "postgresql":
        raise CliError(
            USAGE,
            "--workers above 1 needs PostgreSQL: server processes on one SQLite file would "
            "poll each other for its write lock",
        )
    cert, key = _tls_files(args)
    where = "PostgreSQL" if engine.dialect.name == "postgresql" else "SQLite (encrypted)"
    print(f"Database: {where} {engine.url.render_as_string(hide_password=True)}", flush=True)
    print(f"PeerTrail server {_version()}", flush=True)

    sock = _bind(args.host, args.port, reuse_port=args.workers > 1)
    port = sock.getsockname()[1]
    host = args.host.strip("[]")
    shown = f"[{host}]" if ":" in host else host
    scheme = "http" if args.insecure_http else "https"
    children = _fork_workers(args.workers - 1, engine)
    first = children is not None  # this process: the first worker (None: another one)
    if not first:  # a socket of its own on the port: connections spread evenly
        sock.close()
        sock = _bind(args.host, port, reuse_port=True)
    config = _config(args, engine, cert, key)
    tune_collector()  # each process once its app is built

    class Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            await super().startup(sockets=sockets)
            if self.started and first:
                more = f" ({args.workers} processes)" if args.workers > 1 else ""
                print(f"Listening on {scheme}://{shown}:{port}{more}", flush=True)

        async def shutdown(self, sockets=None) -> None:
            await super().shutdown(sockets=sockets)
            if first:
                print("Stopped.", flush=True)

    ops.setup_json_logging()
    if not first:  # another worker: serves until told to stop (or the first one ends)
        _reload_on_sighup(config, cert, key)
        Server(config).run(sockets=[sock])
        return OK
    trimming = (
        ops.start_retention(engine, args.log_retention_days) if args.log_retention_days else None
    )
    try:
        with backups.running(args.data_dir):
            _reload_on_sighup(config, cert, key, children)
            Server(config).run(sockets=[sock])
    except Exception as exc:  # e.g. a key that does not match the certificate
        raise CliError(FAILED, f"the server stopped: {_short(exc)}") from None
    finally:
        if trimming is not None:
            trimming.set()
        _stop_workers(children or [])
        sock.close()
        engine.dispose()
    return OK


#: Container objects allocated (less freed) before a young collection: Python's 700
#: sets one off every few hundred changes of a big push (a change's row, its log
#: entry, its decoded value...), most of them to find nothing, since a push's
#: objects are freed by reference counting.
YOUNG_COLLECTION_AT = 20_000


def tune_collector() -> None:
    """Fit Python's cyclic garbage collector to a server: the objects made while
    starting up (modules, FastAPI's routes and models, SQLAlchemy's compiled
    statements: most of the process) are frozen, so the older generations'
    collections no longer walk them; and young collections come after 20,000
    allocations instead of 700. Measured on a push of 20,000 new fields, about
    40 % of the apply loop went to collections with the defaults. The collector
    stays on, so cycles (rare here) are still freed."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_AT, older, oldest)


def _tls_files(args: argparse.Namespace) -> tuple[Path | None, Path | None]:
    """The certificate and key to serve (made when self-signed), announced; none for HTTP."""
    from sync.server import tls

    if args.insecure_http:
        print("WARNING: plain HTTP on a loopback address, for local testing only.", flush=True)
        return None, None
    if args.tls_cert:
        cert, key = args.tls_cert, args.tls_key
    else:
        cert, key = tls.ensure_self_signed(args.data_dir)
    try:
        fingerprint = tls.fingerprint_sha256(cert)
    except ValueError:
        raise CliError(USAGE, f"{cert} is not a PEM certificate") from None
    except OSError as exc:
        raise CliError(FAILED, f"cannot read the certificate {cert}: {exc.strerror}") from None
    print(f"TLS certificate: {cert}", flush=True)
    print(f"TLS certificate SHA-256 fingerprint: {fingerprint}", flush=True)
    return cert, key


def _config(args: argparse.Namespace, engine, cert: Path | None, key: Path | None):
    """This process's app (its own sync engine: a server clock of its own) and
    uvicorn's configuration."""
    import uvicorn

    from sync.server.app import create_app

    app = create_app(
        engine,
        db.build_sync_engine(engine),
        sync_per_minute=args.rate_limit,
        sync_burst=args.rate_burst,
        metrics_token=args.metrics_token or None,
    )
    return uvicorn.Config(
        app,
        ssl_certfile=str(cert) if cert else None,
        ssl_keyfile=str(key) if key else None,
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
        timeout_keep_alive=75,
    )


def _fork_workers(count: int, engine) -> list[int] | None:
    """``count`` more server processes on the port (each binds a socket of its own
    there with SO_REUSEPORT, and the kernel hands each new connection to one of
    them). Forked before any thread is started and
    before this process's app is made; each child drops the connections it
    inherited (SQLAlchemy's pool: ``dispose(close=False)``) and makes its own.
    Returns the children's ids in the first process, None in a child. A child
    ends when the first process does (Linux: the parent-death signal)."""
    children: list[int] = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            engine.dispose(close=False)
            _die_with_parent()
            return None
        children.append(pid)
    return children


def _die_with_parent() -> None:
    """SIGTERM this process when its parent ends (prctl PR_SET_PDEATHSIG, Linux)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() == 1:  # the parent ended before that took effect
        os._exit(0)


def _stop_workers(children: list[int]) -> None:
    """Ask the other workers to stop (each finishes its open requests) and wait."""
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    for pid in children:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def _reload_on_sighup(
    config, cert: Path | None, key: Path | None, children: list[int] | None = None
) -> None:
    """SIGHUP loads the certificate and key files again (after a renewal): new
    connections get the new certificate, open ones keep theirs. The first worker
    passes it on to the others (``children``)."""
    if cert is None or key is None:
        return
    if not config.loaded:
        config.load()

    def reload(_signum, _frame) -> None:
        try:
            config.ssl.load_cert_chain(str(cert), str(key))
            from sync.server import tls

            print(f"Reloaded the TLS certificate: {tls.fingerprint_sha256(cert)}", flush=True)
        except Exception as exc:
            print(f"error: the TLS certificate was not reloaded: {_short(exc)}", flush=True)
        for pid in children or []:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGHUP)

    signal.signal(signal.SIGHUP, reload)
