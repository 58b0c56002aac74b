"""The HTTP side of the sync client: the pinned keep-alive session, compression
both ways, one POST with its errors in plain words (``Transport._post``), and the
early handshake (``Transport._preconnect``)."""

from __future__ import annotations

import bz2
import gzip
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
import urllib3
from pydantic import ValidationError
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from sync.client.base import SyncError
from sync.client.base import SyncResult
from sync.protocol import PROTOCOL_VERSION
from sync.protocol import PUSH_LIMIT_HEADER
from sync.protocol import ErrorBody


def _session_retries(session: requests.Session) -> int:
    """The retry count the session was made with (``make_session(retries=…)``)."""
    retry = getattr(session.get_adapter("https://"), "max_retries", None)
    total = getattr(retry, "total", None)
    return total if isinstance(total, int) and total >= 0 else 4


def _session_backoff(session: requests.Session) -> float:
    retry = getattr(session.get_adapter("https://"), "max_retries", None)
    factor = getattr(retry, "backoff_factor", None)
    return float(factor) if isinstance(factor, int | float) else 0.5


class _PinnedAdapter(HTTPAdapter):
    """Accept exactly the server certificate with this SHA-256 fingerprint."""

    def __init__(self, fingerprint: str, **kw: Any) -> None:
        self.fingerprint = fingerprint.replace(":", "").lower()
        super().__init__(**kw)

    def init_poolmanager(self, *args: Any, **kw: Any) -> None:
        kw["assert_fingerprint"] = self.fingerprint
        kw["cert_reqs"] = "CERT_NONE"
        kw["assert_hostname"] = False
        super().init_poolmanager(*args, **kw)

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        super().cert_verify(conn, url, False, cert)  # the fingerprint check replaces CA trust


def make_session(
    fingerprint: str | None = None,
    ca_file: str | None = None,
    retries: int = 4,
    backoff: float = 0.5,
) -> requests.Session:
    s = requests.Session()
    retry = Retry(
        total=retries,
        connect=retries,
        # a request cut off is not re-sent here at the same size: the sync client
        # tries it again itself, smaller (_Pace), within the same retry count
        read=0,
        status=retries,
        backoff_factor=backoff,
        backoff_max=30,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=None,  # POST too: the server answers a replay the same way
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    adapter: HTTPAdapter
    if fingerprint:
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        adapter = _PinnedAdapter(fingerprint, max_retries=retry)
        s.verify = False
    else:
        adapter = HTTPAdapter(max_retries=retry)
        if ca_file:
            s.verify = ca_file
    s.mount("https://", adapter)
    s.mount("http://", adapter)
    s.headers["Accept-Encoding"] = "bzip2, gzip"
    s.headers["User-Agent"] = f"PeerTrail-sync/{PROTOCOL_VERSION}"
    return s


MAX_REPLY_BYTES = 256 * 1024 * 1024  # decompressed; a page is a few MB at most


def compress(raw: bytes) -> tuple[bytes, str]:
    """The body and its Content-Encoding: bzip2 for big bodies, else the smaller of
    bzip2 and gzip (bzip2's fixed overhead loses on a few hundred bytes)."""
    packed = bz2.compress(raw, 9)
    if len(raw) > 64 * 1024:
        return packed, "bzip2"
    small = gzip.compress(raw, 9)
    return (packed, "bzip2") if len(packed) < len(small) else (small, "gzip")


def _decoded(r: requests.Response, raw: bytes) -> bytes:
    """The reply body; urllib3 has already undone gzip, bzip2 is undone here."""
    if r.headers.get("Content-Encoding", "").strip().lower() != "bzip2":
        return raw
    d = bz2.BZ2Decompressor()
    try:
        out = d.decompress(raw, MAX_REPLY_BYTES + 1)
    except (OSError, EOFError, ValueError):
        raise _bad_reply() from None
    if len(out) > MAX_REPLY_BYTES or not d.eof or d.unused_data:
        raise _bad_reply()
    return out


def _bad_reply() -> SyncError:
    return SyncError(
        "The server's reply was not understood (it may have been cut off). Nothing "
        "was lost; the next sync will repeat it.",
        "bad_reply",
    )


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def _timeout(nbytes: int) -> tuple[float, float]:
    """Connect 15 s; read long enough for the body at 8 KB/s on a bad link."""
    return (15.0, max(60.0, nbytes / 8000))


def _wire_size(r: requests.Response, raw: bytes) -> int:
    """Bytes on the wire: the compressed length when the server compressed."""
    length = r.headers.get("Content-Length")
    if length and length.isdigit():
        return int(length)
    return len(raw)


def _error_for(r: requests.Response) -> SyncError:
    detail = None
    try:
        body = ErrorBody.model_validate_json(r.content)
        code, message, detail = body.error, body.message, body.detail
    except (ValidationError, ValueError):
        code, message = f"http_{r.status_code}", ""
    if r.status_code == 426:
        return SyncError(
            message or "The server needs a newer PeerTrail. Please update this laptop.",
            "update_required",
        )
    if r.status_code == 401 and code == "revoked":
        return SyncError(
            "This laptop's access to the server was withdrawn. Your records stay on this "
            "laptop; contact your administrator.",
            "revoked",
        )
    if r.status_code == 401 and code == "invite_invalid":
        return SyncError(message, "invite_invalid")
    if r.status_code == 401:
        return SyncError(
            message or "The server did not accept this laptop's sign-in.", "unauthorized"
        )
    if r.status_code == 415 or code == "server_too_old":
        return SyncError(
            "The sync server is older than this copy of PeerTrail. Your work is kept on this "
            "laptop; ask your administrator to update the server.",
            "server_too_old",
        )
    if r.status_code == 429:
        return SyncError("The server is busy; the sync will try again shortly.", "busy")
    if r.status_code >= 500:
        return SyncError(
            "The server had a problem and could not finish the sync. Your changes are safe "
            "and will be sent at the next sync.",
            "server_error",
        )
    return SyncError(message or f"The server refused the request ({r.status_code}).", code, detail)


class Transport:
    """The session's side of a SyncClient: ``url``, ``token``, ``session`` and
    ``timeout`` are set by the client."""

    url: str
    token: str
    session: requests.Session
    timeout: tuple[float, float] | None
    _warm: threading.Thread | None = None
    _last_sent = 0  # compressed bytes of the last request's body
    _last_received = 0  # ... and of its reply's, on the wire
    _last_push_limit: int | None = None  # what the last reply said a request may push

    def _preconnect(self) -> threading.Thread | None:
        """Open the keep-alive connection (TCP and TLS handshakes: one or two round
        trips, 0.65 s each on a satellite link) while the request is being read from
        the outbox and compressed, instead of after. Best effort: if it fails, the
        request connects (and reports any failure) as it always does."""
        if self.session.get_adapter(self.url + "/") is None:
            return None

        def run() -> None:
            conn = pool = None
            try:
                adapter = self.session.get_adapter(self.url + "/")
                prepared = requests.Request("POST", self.url + "/v1/sync").prepare()
                get_pool = getattr(adapter, "get_connection_with_tls_context", None)
                if get_pool is None:  # requests < 2.32.2
                    return
                env = self.session.merge_environment_settings(
                    prepared.url, {}, None, self.session.verify, None
                )
                pool = get_pool(prepared, self.session.verify, env["proxies"], None)
                conn = pool._get_conn()
                if conn.sock is None:
                    conn.timeout = (self.timeout or _timeout(0))[0]
                    conn.connect()
            except Exception:  # the request itself will connect and say what went wrong
                if conn is not None:
                    conn.close()
            finally:
                if pool is not None and conn is not None:
                    pool._put_conn(conn)

        t = threading.Thread(target=run, name="sync-preconnect", daemon=True)
        t.start()
        return t

    def _await_preconnect(self) -> None:
        """Wait for the early handshake, so the request reuses its connection."""
        warm, self._warm = self._warm, None
        if warm is not None:
            warm.join((self.timeout or _timeout(0))[0])

    def _post(self, path: str, payload: dict[str, Any], model: Any, result: SyncResult | None):
        """POST ``payload`` (JSON, compressed) and return the reply as ``model``;
        SyncError in plain words when it could not be had."""
        return self._settle(self._call(path, payload, model), result)

    def _settle(self, out: Posted, result: SyncResult | None) -> Any:
        """Count a finished POST in ``result`` (on the caller's thread) and return
        its reply, or raise its error."""
        self._last_sent, self._last_received = out.sent, out.received
        if out.answered and out.error is None:
            self._last_push_limit = out.push_limit
        if out.answered and result is not None:
            result.requests += 1
            result.bytes_sent += out.sent
            result.bytes_received += out.received
        if out.error is not None:
            raise out.error
        return out.reply

    def _call(self, path: str, payload: dict[str, Any], model: Any) -> Posted:
        """The POST itself, safe to run on another thread (it touches only the
        session): never raises a SyncError, returns it in ``Posted.error``."""
        out = Posted(started=time.monotonic())
        try:
            body, coding = compress(
                json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
            )
            out.sent = len(body)
            r, raw = self._send(path, body, coding)
            out.received, out.answered = _wire_size(r, raw), True
            out.arrived = time.monotonic()
            out.push_limit = _push_limit(r)
            if r.status_code != 200:
                raise _error_for(r)
            out.reply = _parsed(r, raw, model)
        except SyncError as e:
            out.error = e
        return out

    def _send(self, path: str, body: bytes, coding: str) -> tuple[requests.Response, bytes]:
        headers = {"Content-Type": "application/json", "Content-Encoding": coding}
        self._await_preconnect()
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            r = self.session.post(
                self.url + path,
                data=body,
                headers=headers,
                timeout=self.timeout or _timeout(len(body)),
                verify=self.session.verify,  # REQUESTS_CA_BUNDLE must not override the pin
            )
            return r, r.content
        except requests.exceptions.SSLError as e:
            text = str(e)
            if "Fingerprints did not match" in text or "CERTIFICATE_VERIFY_FAILED" in text:
                raise SyncError(
                    "The server's certificate does not match the one this laptop trusts. "
                    "Nothing was sent. Ask your administrator before syncing.",
                    "tls",
                ) from None
            raise SyncError(
                "The secure connection to the server broke off. Your changes are safe and "
                "will be sent at the next sync.",
                "offline",
            ) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout):
            raise SyncError(
                "The server cannot be reached right now. Your changes are safe on this "
                "laptop and will be sent at the next sync.",
                "offline",
            ) from None
        except requests.exceptions.RequestException:
            raise SyncError(
                "The connection to the server broke off. Your changes are safe and will "
                "be sent at the next sync.",
                "offline",
            ) from None


@dataclass
class Posted:
    """One POST's outcome: the reply (or the error), and its bytes on the wire."""

    reply: Any = None
    error: SyncError | None = None
    sent: int = 0  # the compressed body
    received: int = 0  # the reply, on the wire
    answered: bool = False  # a reply arrived (counted as a request)
    started: float = 0.0  # time.monotonic() when the call began ...
    arrived: float | None = None  # ... and when its reply arrived
    push_limit: int | None = None  # the reply's X-Push-Limit (None: an older server)


def _push_limit(r: requests.Response) -> int | None:
    """The changes the server says one request may push (``X-Push-Limit``); None
    when it does not say (an older server) or says nonsense."""
    text = r.headers.get(PUSH_LIMIT_HEADER, "").strip()
    if not text.isdigit() or len(text) > 9:
        return None
    return int(text) or None


def _parsed(r: requests.Response, raw: bytes, model: Any) -> Any:
    try:
        data = _decoded(r, raw)
        try:
            return model.model_validate_json(data)
        except ValidationError:
            # pydantic's JSON parser refuses a lone surrogate ("\ud800") that an older
            # server may have kept; Python's keeps it, and the replica quarantines it.
            return model.model_validate(json.loads(data))
    except (ValidationError, ValueError, RecursionError):
        raise _bad_reply() from None
