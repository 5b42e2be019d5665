"""A real browser for the site tests: Debian's Chromium driven by Playwright, and a static server.

`chromium()` skips the test when Chromium or Playwright is missing, or fails it when
LIFESCI_TRACKER_REQUIRE_BROWSER=1 (as `.ci/run` sets), like PostgreSQL's REQUIRE variable.
Playwright's own browser download is never used: `executable_path` points at the system Chromium.
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    """Return the system Chromium's path, if installed."""
    return shutil.which("chromium") or next(
        (p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(p).exists()), None
    )


@contextmanager
def chromium() -> Iterator[Any]:
    """Yield a Playwright Browser running the system Chromium headless."""
    path = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        path = None
    if path is None:
        message = (
            "Chromium and Playwright are needed (apt-get install chromium; pip install playwright)"
        )
        if os.environ.get("LIFESCI_TRACKER_REQUIRE_BROWSER"):
            pytest.fail(message + " when LIFESCI_TRACKER_REQUIRE_BROWSER is set")
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """Serve a folder on 127.0.0.1 as any static web host would; yield its base URL ("http://.../")."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


ACCESSIBILITY_PROBLEMS = (Path(__file__).parent / "accessibility.js").read_text(encoding="utf-8")
