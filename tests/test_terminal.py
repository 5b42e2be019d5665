"""`run` and `demo` on a terminal, seen through a pseudo-terminal: progress and log lines never
run together.

The tracker runs in a child process whose stdin, stdout and stderr are a pty, as in a user's
terminal, against the loopback site; one document answers 500 so that the run logs a warning.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from tests.e2e import Tracker
from tests.govuk_site import default_site
from tests.site_server import Reply, SiteServer

ROOT = Path(__file__).resolve().parent.parent
# CSI and OSC escape sequences (cursor moves, erasing, colours, hiding the cursor).
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[()][0-9A-B]")
PROGRESS = "tracking: "


def run_in_terminal(config: Path, *args: str, command: str = "run") -> str:
    """Run `lifesci-tracker --config CONFIG ARGS COMMAND` on a pty; return what the screen got."""
    return in_terminal("--config", str(config), *args, command)


def in_terminal(*argv: str) -> str:
    """Run `lifesci-tracker ARGV` on a pty; return what the screen got."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LIFESCI_TRACKER")},
        "TERM": "xterm-256color",
        "COLUMNS": "160",
    }
    env.pop("NO_COLOR", None)
    child = subprocess.Popen(
        [sys.executable, "-m", "tracker", *argv],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=env,
        cwd=ROOT,
    )
    os.close(terminal)
    received = bytearray()
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        received += chunk
    os.close(controller)
    child.wait(timeout=60)
    return received.decode("utf-8", "replace")


def screen_lines(output: str) -> list[str]:
    """The pieces of text between carriage returns and newlines, escape sequences removed."""
    return [part for part in re.split(r"[\r\n]", ANSI.sub("", output)) if part.strip()]


@pytest.fixture
def slow_site_with_a_failing_page(server: SiteServer, tmp_path: Path) -> Tracker:
    tracker = Tracker.create(server, tmp_path, extra="enabled = false")
    site = default_site()
    tracker.publish(site)
    server.delay_s = 0.15  # long enough for the progress line to be drawn between pages
    server.faults[site.docs[2].path] = Reply(500, b"broken")
    return tracker


def test_warnings_print_above_the_progress_line_and_info_stays_out(
    slow_site_with_a_failing_page: Tracker,
) -> None:
    output = run_in_terminal(slow_site_with_a_failing_page.config)
    lines = screen_lines(output)
    assert any(PROGRESS in line for line in lines), output  # the progress was shown
    warnings = [line for line in lines if "HTTP 500" in line and "tracker.pipeline" in line]
    assert warnings, output
    for line in lines:
        assert not (PROGRESS in line and "tracker." in line), line  # never on one line
    assert not any(": new" in line and "tracker.pipeline" in line for line in lines)  # INFO
    assert any(line.startswith("Run 1: partial") for line in lines)  # the summary, on stdout


def test_verbose_brings_info_back_cleanly(slow_site_with_a_failing_page: Tracker) -> None:
    lines = screen_lines(run_in_terminal(slow_site_with_a_failing_page.config, "-v"))
    info = [line for line in lines if line.startswith("INFO") and "tracker.pipeline" in line]
    assert len(info) == 7  # the publication and 6 of the 7 documents are new
    for line in lines:
        assert not (PROGRESS in line and "tracker." in line), line


def test_the_demo_on_a_terminal_shows_its_steps_and_no_log_lines(tmp_path: Path) -> None:
    output = in_terminal("demo", "--dir", str(tmp_path / "demo"))
    assert "\x1b[1m1. The first run: a baseline" in output  # headings in bold
    lines = screen_lines(output)
    for number in range(1, 8):
        assert any(line.startswith(f"{number}. ") for line in lines), output
    assert not [line for line in lines if re.search(r"\b(INFO|WARNING)\b", line)], output
    progress = [line for line in lines if PROGRESS in line]
    assert progress, output  # each run showed its live page count, on a line of its own
    assert all(re.fullmatch(r"\S tracking: \d+ pages.*", line) for line in progress), progress
