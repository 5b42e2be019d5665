"""Serve the sample site on 127.0.0.1 for `lifesci-tracker demo`: a real HTTP server in a thread.

It listens on an ephemeral port of the loopback interface only, answers robots.txt as GOV.UK's
does (allowing the publication), serves the pages last published with `publish` (the path is the
key) and 404 for anything else. With `noise`, each answer carries what differs on every request
to GOV.UK (a token, a banner, a render stamp: `noise.add_noise`), seeded by the request's number.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import MappingProxyType, TracebackType

from tracker.sample.noise import add_noise

__all__ = ["ROBOTS_TXT", "SampleServer"]

ROBOTS_TXT = b"User-agent: *\nDisallow: /*/print$\nDisallow: /search/all*\n"
_NOT_FOUND = b"<!DOCTYPE html>\n<html><body><h1>Page not found</h1></body></html>\n"


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class SampleServer:
    """The sample site on http://127.0.0.1:<ephemeral port>, served from a background thread
    while the `with` block runs."""

    def __init__(self, *, noise: bool = True) -> None:
        self._noise = noise
        self._pages: Mapping[str, bytes] = MappingProxyType({})
        self._requests = 0
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        """Return http://127.0.0.1:<port>."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def publish(self, pages: Mapping[str, bytes]) -> None:
        """Serve `pages` ({URL path: HTML bytes}) from now on, in place of the previous ones."""
        with self._lock:
            self._pages = MappingProxyType(dict(pages))

    def __enter__(self) -> SampleServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, path: str) -> tuple[int, str, bytes]:
        """Return the status, media type and body for a GET of `path`."""
        if path == "/robots.txt":
            return 200, "text/plain; charset=utf-8", ROBOTS_TXT
        with self._lock:
            body = self._pages.get(path)
            self._requests += 1
            number = self._requests
        if body is None:
            return 404, "text/html; charset=utf-8", _NOT_FOUND
        if self._noise:
            body = add_noise(body, number)
        return 200, "text/html; charset=utf-8", body

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body leave at once: no 40 ms stalls

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass  # the demo prints its own story

            def do_GET(self) -> None:
                status, media_type, body = server._answer(self.path)
                self.send_response(status)
                self.send_header("Content-Type", media_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
