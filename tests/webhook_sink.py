"""A loopback HTTP(S) server standing in for chat and webhook services (Slack, Teams, JSON hooks).

It records every POST (path, headers, decoded body) and answers 200, or 503 for the paths a test
marks as down. With a trustme CA it serves HTTPS, for services Apprise only reaches over TLS.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass(frozen=True)
class Posted:
    """One request the sink received."""

    path: str
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(self.body.decode()).items()}

    def text(self) -> str:
        """Everything the service would show: the decoded body, whatever its encoding."""
        if self.content_type.startswith("application/json"):
            return json.dumps(self.json(), ensure_ascii=False)
        if self.content_type.startswith("application/x-www-form-urlencoded"):
            return json.dumps(self.form(), ensure_ascii=False)
        return self.body.decode("utf-8", "replace")


class WebhookSink:
    """The state the handler shares with the test: what arrived, and which paths are down."""

    def __init__(self) -> None:
        self.posted: list[Posted] = []
        self.down: set[str] = set()  # path prefixes answered with 503
        self.port = 0
        self._lock = threading.Lock()

    def record(self, posted: Posted) -> bool:
        with self._lock:
            if any(posted.path.startswith(prefix) for prefix in self.down):
                return False
            self.posted.append(posted)
            return True

    def to(self, prefix: str) -> list[Posted]:
        """The requests that arrived at paths starting with `prefix`."""
        with self._lock:
            return [p for p in self.posted if p.path.startswith(prefix)]


def _handler(sink: WebhookSink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            kind = self.headers.get("Content-Type", "")
            posted = Posted(self.path, kind, self.rfile.read(length))
            accepted = sink.record(posted)
            self.send_response(200 if accepted else 503)
            body = b'{"ok": true}' if accepted else b"service unavailable"
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler


@contextmanager
def serve_sink(tls: ssl.SSLContext | None = None) -> Iterator[WebhookSink]:
    """Serve a WebhookSink on 127.0.0.1 (HTTPS with `tls`) until the block ends."""
    sink = WebhookSink()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(sink))
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    sink.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
