"""A TCP proxy on 127.0.0.1 for tests and benchmarks: it can add latency and cap
bandwidth (a satellite link), cut a connection after N bytes in either
direction, or answer with garbage. TLS passes through untouched, so the client
still talks real HTTPS to the real server behind it."""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
from dataclasses import dataclass


@dataclass
class LinkShape:
    one_way_delay_s: float = 0.0  # half the round trip
    bytes_per_s: float = 0.0  # 0: unlimited
    cut_upstream_after: int | None = None  # drop the connection after this many request bytes
    cut_downstream_after: int | None = None  # ... or response bytes
    garbage_reply: bytes | None = None  # answer this instead of forwarding
    # once the client has sent this many bytes (past the TLS handshake), hold every
    # byte the server sends back: the request arrives, the reply never does
    hold_reply_after_up: int | None = None
    # the whole link goes down (every open connection is cut, whatever is on the way
    # is lost) every this many seconds, or every this many bytes carried either way
    drop_every_s: float | None = None
    drop_every_bytes: int | None = None


class Proxy:
    def __init__(self, target_port: int, shape: LinkShape | None = None) -> None:
        self.target_port = target_port
        self.shape = shape or LinkShape()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.bytes_up = 0
        self.bytes_down = 0
        self.held = 0
        self._lock = threading.Lock()
        self._stop = False
        self._conns: list[socket.socket] = []
        self.drops = 0  # times the link went down (drop_every_s / drop_every_bytes)
        self._since_drop = 0
        threading.Thread(target=self._accept, daemon=True).start()
        if self.shape.drop_every_s:
            threading.Thread(target=self._drop_timer, daemon=True).start()

    def close(self) -> None:
        self._stop = True
        # shutdown wakes the thread blocked in accept(): a close alone can leave the
        # port listening (and accepting) until that call returns
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        for conn in list(self._conns):
            _close(conn)

    def drop_all(self) -> None:
        """The link goes down: every open connection is cut at once."""
        with self._lock:
            conns, self._conns = self._conns, []
            self.drops += 1
            self._since_drop = 0
        for conn in conns:
            _close(conn)

    def _drop_timer(self) -> None:
        period = self.shape.drop_every_s or 0.0
        stop = threading.Event()
        while not self._stop:
            stop.wait(period)
            if not self._stop:
                self.drop_all()

    def _track(self, *socks: socket.socket) -> None:
        with self._lock:
            self._conns.extend(socks)

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        shape = self.shape
        if shape.garbage_reply is not None:
            try:
                client.recv(65536)
                client.sendall(shape.garbage_reply)
            finally:
                client.close()
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
        except OSError:
            client.close()
            return
        self._track(client, upstream)
        done = threading.Event()
        sent_up = [0]
        threading.Thread(
            target=self._pump, args=(client, upstream, "up", done, sent_up), daemon=True
        ).start()
        threading.Thread(
            target=self._pump, args=(upstream, client, "down", done, sent_up), daemon=True
        ).start()

    def _pump(
        self,
        src: socket.socket,
        dst: socket.socket,
        way: str,
        done: threading.Event,
        sent_up: list[int],
    ):
        """Read from src; deliver to dst after the link's serialisation time (bandwidth)
        and its one-way delay, in order, like a real pipe (delays do not add up)."""
        shape = self.shape
        limit = shape.cut_upstream_after if way == "up" else shape.cut_downstream_after
        q: queue.Queue[tuple[float, bytes] | None] = queue.Queue()

        def writer() -> None:
            try:
                while True:
                    item = q.get()
                    if item is None:
                        break
                    at, data = item
                    pause = at - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                done.set()
                _close(src, dst)

        threading.Thread(target=writer, daemon=True).start()
        moved = 0
        link_free_at = 0.0
        try:
            while not done.is_set():
                data = src.recv(16384)
                if not data:
                    break
                if way == "up":
                    sent_up[0] += len(data)
                elif (
                    shape.hold_reply_after_up is not None
                    and sent_up[0] >= shape.hold_reply_after_up
                ):
                    with self._lock:
                        self.held += len(data)
                    continue  # the server answered; the answer goes nowhere
                cut = limit is not None and moved + len(data) > limit
                if cut:
                    data = data[: max(0, limit - moved)]  # type: ignore[operator]
                drop = self._count_towards_drop(len(data))
                if drop is not None:
                    data, cut = data[:drop], True
                now = time.monotonic()
                start = max(now, link_free_at)
                link_free_at = start + (len(data) / shape.bytes_per_s if shape.bytes_per_s else 0)
                q.put((link_free_at + shape.one_way_delay_s, data))
                moved += len(data)
                with self._lock:
                    if way == "up":
                        self.bytes_up += len(data)
                    else:
                        self.bytes_down += len(data)
                if cut:
                    if drop is not None:
                        self.drop_all()
                    break  # the link drops here
        except OSError:
            pass
        finally:
            q.put(None)

    def _count_towards_drop(self, n: int) -> int | None:
        """With ``drop_every_bytes``: how many of these ``n`` bytes get through before
        the link goes down (None: all, and it stays up)."""
        every = self.shape.drop_every_bytes
        if not every:
            return None
        with self._lock:
            if self._since_drop + n < every:
                self._since_drop += n
                return None
            return max(0, every - self._since_drop)


def _close(*socks: socket.socket) -> None:
    for s in socks:
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)
        s.close()
