"""A real HTTP server on 127.0.0.1 for integration tests, with scriptable faults.

A test gives a function that turns each request into a :class:`Reply`: a status, headers and
body, optionally delivered late (``delay``) or cut short (``truncate``: the connection closes
after that many bytes of a body announced in full). A body too big to hold is given as
``chunks``, a function making its pieces as they are sent (chunked transfer encoding, no
Content-Length). The server runs in a background thread and keeps connections alive, like
the real APIs; ``sent`` counts the body bytes it wrote.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    """What to answer, and how."""

    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    delay: float = 0.0
    truncate: int | None = None
    chunks: Callable[[], Iterable[bytes]] | None = None


def json_reply(doc: object, status: int = 200, **headers: str) -> Reply:
    """A JSON answer."""
    return Reply(status, json.dumps(doc).encode(), {"Content-Type": "application/json", **headers})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # quiet
        return

    def handle(self) -> None:
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):  # the client hung up: not our concern
            self.close_connection = True

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        seen = Seen(
            self.command,
            parts.path,
            {k: v[0] for k, v in parse_qs(parts.query).items()},
            {k.lower(): v for k, v in self.headers.items()},
            self.rfile.read(length) if length else b"",
        )
        with self.server.lock:
            self.server.seen.append(seen)
        reply = self.server.route(seen)
        if reply.delay:
            time.sleep(reply.delay)
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.chunks is not None:
                self._send_chunked(reply.chunks())
                return
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if reply.truncate is not None:
                self.wfile.write(reply.body[: reply.truncate])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(reply.body)
            self._count(len(reply.body))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send_chunked(self, chunks: Iterable[bytes]) -> None:
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in chunks:
            if chunk:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self._count(len(chunk))
        self.wfile.write(b"0\r\n\r\n")

    def _count(self, size: int) -> None:
        with self.server.lock:
            self.server.sent += size

    do_GET = _handle
    do_POST = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, route: Callable[[Seen], Reply]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.route = route
        self.seen: list[Seen] = []
        self.sent = 0  # body bytes written (those a client hung up on may be missing)
        self.lock = threading.Lock()


@contextmanager
def loopback(route: Callable[[Seen], Reply]) -> Iterator[_Server]:
    """Serve ``route`` on 127.0.0.1 (a free port) for the duration of the block."""
    server = _Server(route)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def base_url(server: _Server) -> str:
    """The server's address, for a provider's ``base_url``."""
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}"


class Attempts:
    """Counts requests per key, thread-safely, so a route can fail the first N of them."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def next(self, key: str) -> int:
        """This request's 1-based number among those with ``key``."""
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1
            return self._counts[key]
