"""A real HTTP server on 127.0.0.1 serving a GOV.UK-like site from a dict, for end-to-end tests.

It answers conditional GETs with 304 when ETags are on, can add per-response noise, and lets a test
replace any path's answer with a fault (status, headers, body, delay, dropped connection).
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


@dataclass
class Recorded:
    """One request the server saw."""

    path: str
    headers: dict[str, str]


class SiteServer:
    """Serve `pages` (path -> HTML bytes) on 127.0.0.1; see the module docstring."""

    def __init__(self, pages: dict[str, bytes] | None = None) -> None:
        self.pages: dict[str, bytes] = dict(pages or {})
        self.faults: dict[str, Reply | Callable[[int], Reply | None]] = {}
        self.etags = True
        self.noise = False
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
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

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    def requests_for(self, path: str) -> list[Recorded]:
        """Return the requests made for `path`."""
        with self._lock:
            return [r for r in self.requests if r.path == path]

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
            return Reply(body=ROBOTS, headers={"Content-Type": "text/plain"})
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
        return Reply(200, body, {"Content-Type": "text/html; charset=utf-8"})

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass  # keep test output clean

            def do_GET(self) -> None:
                with server._lock:
                    server.requests.append(Recorded(self.path, dict(self.headers.items())))
                reply = server._answer(self.path)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
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
                headers.setdefault("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if reply.drop_after is not None:
                    self.wfile.write(body[: reply.drop_after])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

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
