"""``serve``: check the options, open the database, and run the API (uvicorn)
over HTTPS on the given address."""

from __future__ import annotations

import argparse
import ipaddress
import signal
import socket
from pathlib import Path

from sync.server import backups, db, ops
from sync.server.cli.common import (
    FAILED,
    NOT_FOUND,
    OK,
    USAGE,
    CliError,
    _engine,
    _short,
)
from sync.server.cli.config import (
    _version,
)


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    host = host.strip("[]")
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise CliError(USAGE, f"cannot listen on {host!r}: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise CliError(FAILED, f"cannot listen on {host} port {port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


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
    if args.rate_limit < 0 or args.rate_burst < 1:
        raise CliError(USAGE, "--rate-limit is 0 or more, --rate-burst 1 or more")
    for f in (args.tls_cert, args.tls_key):
        if f and not f.is_file():
            raise CliError(NOT_FOUND, f"no such file: {f}")


def serve(args: argparse.Namespace) -> int:
    _check_serve_args(args)
    import uvicorn

    from sync.server.app import create_app

    try:
        db.ensure_private_dir(args.data_dir)
    except OSError as exc:
        raise CliError(
            FAILED, f"cannot use the data folder {args.data_dir}: {exc.strerror}"
        ) from None
    engine = _engine(args)
    sync_engine = db.build_sync_engine(engine)
    app = create_app(
        engine,
        sync_engine,
        sync_per_minute=args.rate_limit,
        sync_burst=args.rate_burst,
        metrics_token=args.metrics_token or None,
    )

    cert, key = _tls_files(args)
    where = "PostgreSQL" if engine.dialect.name == "postgresql" else "SQLite (encrypted)"
    print(f"Database: {where} {engine.url.render_as_string(hide_password=True)}", flush=True)
    print(f"PeerTrail server {_version()}", flush=True)

    sock = _bind(args.host, args.port)
    port = sock.getsockname()[1]
    host = args.host.strip("[]")
    shown = f"[{host}]" if ":" in host else host
    scheme = "http" if args.insecure_http else "https"

    config = uvicorn.Config(
        app,
        ssl_certfile=str(cert) if cert else None,
        ssl_keyfile=str(key) if key else None,
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
        timeout_keep_alive=75,
    )

    class Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                print(f"Listening on {scheme}://{shown}:{port}", flush=True)

        async def shutdown(self, sockets=None) -> None:
            await super().shutdown(sockets=sockets)
            print("Stopped.", flush=True)

    ops.setup_json_logging()
    trimming = (
        ops.start_retention(engine, args.log_retention_days) if args.log_retention_days else None
    )
    try:
        with backups.running(args.data_dir):
            _reload_on_sighup(config, cert, key)
            Server(config).run(sockets=[sock])
    except Exception as exc:  # e.g. a key that does not match the certificate
        raise CliError(FAILED, f"the server stopped: {_short(exc)}") from None
    finally:
        if trimming is not None:
            trimming.set()
        sock.close()
        engine.dispose()
    return OK


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


def _reload_on_sighup(config, cert: Path | None, key: Path | None) -> None:
    """SIGHUP loads the certificate and key files again (after a renewal): new
    connections get the new certificate, open ones keep theirs."""
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

    signal.signal(signal.SIGHUP, reload)
