"""What an operator watches: Prometheus metrics, structured JSON logs, the
readiness check, and the request-log retention.

Metrics (``prometheus_client``, one registry per app so tests can run several):
``peertrail_requests_total{path,status}``, ``peertrail_request_seconds{path}``
(histogram), ``peertrail_syncs_total``, ``peertrail_changes_pushed_total``,
``peertrail_changes_pulled_total``, ``peertrail_refusals_total{error}`` (4xx answers
by their ErrorBody code or status), ``peertrail_errors_total`` (5xx),
``peertrail_enrolments_total``, ``peertrail_sql_statements_total``,
``peertrail_sql_transactions_total``, ``peertrail_sql_checkouts_total`` (what the
process asked of its database, sync.server.sql.RoundTrips). Paths are the route
templates the server knows (anything else counts as ``other``), so a scanner
cannot blow up the label set.

Logs: one JSON object per line on stdout (``ts``, ``level``, ``logger``, ``msg``
and for each request ``request_id``, ``method``, ``path``, ``status``, ``ms``,
``device_id``, pushed/pulled counts and bytes). Never usernames, passwords,
tokens or record content; the device id is a random pseudonym.

Retention: :func:`trim_request_log` deletes ``request_log`` rows older than N
days; ``serve`` runs it at start and then every hour (``--log-retention-days``).
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from prometheus_client import CollectorRegistry
from prometheus_client import Counter
from prometheus_client import Histogram
from prometheus_client.core import CounterMetricFamily
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.engine import Engine

from sync.server import db
from sync.server import sql
from sync.server.tables import request_log

KNOWN_PATHS = frozenset(
    {"/v1/health", "/v1/ready", "/v1/enroll", "/v1/enroll/invite", "/v1/sync", "/metrics"}
)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _RoundTripCollector:
    """``peertrail_sql_statements_total``, ``peertrail_sql_transactions_total`` and
    ``peertrail_sql_checkouts_total``: what this process asked of its database
    (sync.server.sql.round_trips), so a load test can report statements per sync."""

    def collect(self):
        counts = sql.round_trips
        for name, value, doc in (
            ("statements", counts.statements, "SQL statements run"),
            ("transactions", counts.transactions, "Database transactions begun"),
            ("checkouts", counts.checkouts, "Connections taken from the pool"),
        ):
            yield CounterMetricFamily(f"peertrail_sql_{name}", doc, value=value)


class Metrics:
    """The server's instruments, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "peertrail_requests", "HTTP requests answered", ["path", "status"], registry=r
        )
        self.latency = Histogram(
            "peertrail_request_seconds",
            "Time to answer a request",
            ["path"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.syncs = Counter("peertrail_syncs", "Syncs answered 200", registry=r)
        self.pushed = Counter("peertrail_changes_pushed", "Field changes received", registry=r)
        self.pulled = Counter("peertrail_changes_pulled", "Field values sent", registry=r)
        self.refusals = Counter(
            "peertrail_refusals", "Requests refused (4xx)", ["error"], registry=r
        )
        self.errors = Counter("peertrail_errors", "Requests that failed (5xx)", registry=r)
        self.enrolments = Counter("peertrail_enrolments", "Devices enrolled", registry=r)
        r.register(_RoundTripCollector())

    def observe(self, path: str, status: int, seconds: float, state: dict) -> None:
        path = path if path in KNOWN_PATHS else "other"
        self.requests.labels(path, str(status)).inc()
        self.latency.labels(path).observe(seconds)
        if status >= 500:
            self.errors.inc()
        elif status >= 400:
            self.refusals.labels(str(state.get("log_error") or status)).inc()
        elif path == "/v1/sync":
            self.syncs.inc()
            self.pushed.inc(int(state.get("log_pushed", 0)))
            self.pulled.inc(int(state.get("log_pulled", 0)))
        elif path.startswith("/v1/enroll"):
            self.enrolments.inc()


# -- logs ---------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """A log record as one JSON line; ``extra={"fields": {...}}`` adds fields."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        out.update(getattr(record, "fields", None) or {})
        if record.exc_info and record.exc_info[0] is not None:
            out["error"] = record.exc_info[0].__name__  # the type only: no content
        return json.dumps(out, separators=(",", ":"), default=str)


def setup_json_logging(level: int = logging.INFO) -> None:
    """The ``sync.server`` loggers write JSON lines to stdout (once per process)."""
    logger = logging.getLogger("sync.server")
    if any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


ACCESS = logging.getLogger("sync.server.access")


def log_request(fields: dict) -> None:
    ACCESS.info("request", extra={"fields": fields})


# -- readiness and retention ----------------------------------------------------------


def readiness(engine: Engine) -> tuple[bool, dict[str, str]]:
    """(ready, detail): the database answers and its schema is this code's head."""
    try:
        with db.reading(engine) as conn:
            conn.execute(text("SELECT 1"))
            current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception as exc:
        return False, {"database": "unreachable", "error": type(exc).__name__}
    head = db.head_revision()
    if current != head:
        return False, {"database": "ok", "migrations": f"at {current}, code expects {head}"}
    return True, {"database": "ok", "migrations": "current"}


def trim_request_log(engine: Engine, days: float) -> int:
    """Delete request_log rows older than ``days``; returns how many."""
    cutoff = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")
    with engine.begin() as conn:
        oldest = conn.execute(select(request_log.c.at).order_by(request_log.c.id).limit(1))
        if (oldest.scalar() or "9") >= cutoff:
            return 0
        return conn.execute(delete(request_log).where(request_log.c.at < cutoff)).rowcount


def start_retention(engine: Engine, days: float, every_s: float = 3600.0) -> threading.Event:
    """Trim now and then every ``every_s`` in a daemon thread; set the event to stop."""
    stop = threading.Event()
    log = logging.getLogger("sync.server")

    def run() -> None:
        while True:
            try:
                gone = trim_request_log(engine, days)
                if gone:
                    log.info("request log trimmed", extra={"fields": {"rows": gone}})
            except Exception as exc:
                log.warning(
                    "request log not trimmed", extra={"fields": {"error": type(exc).__name__}}
                )
            if stop.wait(every_s):
                return

    threading.Thread(target=run, name="request-log-retention", daemon=True).start()
    return stop
