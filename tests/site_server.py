"""A real HTTP server on 127.0.0.1 serving a GOV.UK-like site from a dict, for end-to-end tests.

It answers conditional GETs with 304 when ETags are on, can add per-response noise, and lets a test
replace any path's answer with a fault (status, headers, body, delay, dropped connection).

Faults for the fault-injection suite (tests/test_faults.py), all on the loopback interface:

- `Reply(delay_s=...)`: answer late (a read timeout before the headers);
- `Reply(stall_after=N, stall_s=...)`: send N body bytes, then stall (a read timeout mid-body);
- `Reply(drop_after=N)`: send N body bytes, then close (a body shorter than its Content-Length);
- `Reply(drop_after=N, send_length=False)`: no Content-Length, N bytes, then a clean close (a
  truncated body that HTTP framing cannot detect);
- `Reply(reset=True)`: close with SO_LINGER 0 (a TCP reset), before or (with `drop_after`) during
  the body;
- `fail_first(n, reply)`: `reply` for the first n requests of a path, then the page (recovery);
- `redirect(location)`: a 302 to anywhere (another host, a loop);
- `SiteServer.unreachable()`: a block during which new connections time out (the listen backlog
  is full and the kernel drops SYNs), for connect timeouts;
- `SiteServer.delay_s`: delay every normal answer (for kill loops that need time to hit).
"""

from __future__ import annotations

import gzip
import hashlib
import select
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ROBOTS = b"User-agent: *\nDisallow: /*/print$\nDisallow: /search/all*\n"


@dataclass
class Reply:
    """A canned answer for one path."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drop_after: int | None = None  # send this many body bytes, then close the connection
    gzip_body: bool = False
    stall_after: int | None = None  # send this many body bytes, then stall for stall_s
    stall_s: float = 0.0
    reset: bool = False  # close with a TCP reset (after drop_after bytes, else before answering)
    send_length: bool = True  # False: no Content-Length; the body ends when the connection closes


@dataclass
class Recorded:
    """One request the server saw."""

    path: str
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)


Fault = Reply | Callable[[int], Reply | None]


def fail_first(times: int, reply: Reply) -> Callable[[int], Reply | None]:
    """Return a fault that answers `reply` to the first `times` requests of its path, then
    lets the normal page through (a 500/503 that recovers)."""
    seen = 0
    lock = threading.Lock()

    def fault(_count: int) -> Reply | None:
        nonlocal seen
        with lock:
            seen += 1
            return reply if seen <= times else None

    return fault


def redirect(location: str, status: int = 302) -> Reply:
    """Return a redirect to `location` (any host, any path)."""
    return Reply(status, b"", {"Location": location, "Content-Type": "text/html"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout, reset) is what the fault tests do on purpose.
        if isinstance(sys.exc_info()[1], OSError | ValueError):
            return
        super().handle_error(request, client_address)


class SiteServer:
    """Serve `pages` (path -> HTML bytes) on 127.0.0.1; see the module docstring."""

    def __init__(self, pages: dict[str, bytes] | None = None) -> None:
        self.pages: dict[str, bytes] = dict(pages or {})
        self.faults: dict[str, Fault] = {}
        self.etags = True
        self.noise = False
        self.delay_s = 0.0  # added to every answer that is not a fault
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._thread = self._serving_thread()
        self._counter = 0

    @property
    def base_url(self) -> str:
        """Return http://127.0.0.1:<port>."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        """Return the absolute URL of a path on this server."""
        return self.base_url + path

    def start(self) -> None:
        """Start serving in a background thread."""
        self._thread.start()

    def _serving_thread(self) -> threading.Thread:
        # A short poll interval makes stop() (and so every test's teardown) quick.
        return threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    def requests_for(self, path: str) -> list[Recorded]:
        """Return the requests made for `path`."""
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def request_count(self) -> int:
        """Return how many requests the server has seen."""
        with self._lock:
            return len(self.requests)

    @contextmanager
    def unreachable(self) -> Iterator[None]:
        """Inside the block, connecting times out: nothing accepts and the backlog is full.

        The kernel drops a SYN for a listening socket whose accept queue is full, so the client
        waits for a SYN-ACK that does not come (no refusal, no reset): a connect timeout.
        """
        self._server.shutdown()  # stop accepting; the listening socket stays open
        listener = self._server.socket
        listener.listen(0)
        address = listener.getsockname()
        fillers: list[socket.socket] = []
        try:
            for _ in range(64):
                filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                filler.setblocking(False)
                fillers.append(filler)
                filler.connect_ex(address)
                _, writable, _ = select.select([], [filler], [], 0.2)
                if not writable:
                    break  # this SYN was dropped: the queue is full
            else:
                raise RuntimeError("could not fill the listen backlog")
            yield
        finally:
            for filler in fillers:
                filler.close()
            listener.listen(self._server.request_queue_size)
            self._thread = self._serving_thread()
            self._thread.start()

    def _answer(self, path: str) -> Reply:
        with self._lock:
            self._counter += 1
            count = self._counter
        fault = self.faults.get(path)
        if fault is not None:
            reply = fault(count) if callable(fault) else fault
            if reply is not None:
                return reply
        if path == "/robots.txt":
            return Reply(body=ROBOTS, headers={"Content-Type": "text/plain"}, delay_s=self.delay_s)
        body = self.pages.get(path)
        if body is None:
            return Reply(404, b"<html><body><h1>Page not found</h1></body></html>")
        if self.noise:
            token = hashlib.sha256(str(count).encode()).hexdigest()
            body = body.replace(
                b"<head>",
                f'<head><meta name="csrf-token" content="{token}">'
                f"<!-- served {time.time_ns()} request-id {count} -->".encode(),
                1,
            )
        return Reply(200, body, {"Content-Type": "text/html; charset=utf-8"}, self.delay_s)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms stalls
            abort = False

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass  # keep test output clean

            def do_GET(self) -> None:
                with server._lock:
                    server.requests.append(Recorded(self.path, dict(self.headers.items())))
                reply = server._answer(self.path)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.reset and reply.drop_after is None:
                    self.abort = self.close_connection = True
                    return
                body = gzip.compress(reply.body) if reply.gzip_body else reply.body
                headers = dict(reply.headers)
                if reply.gzip_body:
                    headers["Content-Encoding"] = "gzip"
                if server.etags and reply.status == 200 and reply.body:
                    tag = '"' + hashlib.sha256(reply.body).hexdigest()[:16] + '"'
                    headers.setdefault("ETag", tag)
                    if self.headers.get("If-None-Match") == headers["ETag"] and not server.noise:
                        self.send_response(304)
                        self.send_header("ETag", headers["ETag"])
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                self.send_response(reply.status)
                headers.setdefault("Content-Type", "text/html; charset=utf-8")
                if reply.send_length:
                    headers.setdefault("Content-Length", str(len(body)))
                else:
                    headers.pop("Content-Length", None)
                    headers["Connection"] = "close"
                    self.close_connection = True
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if reply.stall_after is not None:
                    self.wfile.write(body[: reply.stall_after])
                    self.wfile.flush()
                    time.sleep(reply.stall_s)
                    body = body[reply.stall_after :]
                if reply.drop_after is not None:
                    self.wfile.write(body[: reply.drop_after])
                    self.wfile.flush()
                    self.close_connection = True
                    self.abort = reply.reset
                    return
                self.wfile.write(body)

            def finish(self) -> None:
                if not self.abort:
                    super().finish()
                    return
                # SO_LINGER with a zero timeout turns close() into a TCP reset.
                linger = struct.pack("ii", 1, 0)
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                self.rfile.close()
                self.wfile.close()
                self.connection.close()

        return Handler


@contextmanager
def serve(pages: dict[str, bytes] | None = None) -> Iterator[SiteServer]:
    """Run a SiteServer for the duration of a with-block."""
    server = SiteServer(pages)
    server.start()
    try:
        yield server
    finally:
        server.stop()
