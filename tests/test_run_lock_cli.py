"""`run` under the run lock, as real processes: one run per database, `--wait`, and SIGKILL.

Each test runs `python -m tracker ... run` subprocesses against a loopback site whose pages
answer slowly, so the runs overlap. PostgreSQL tests use a scratch database of their own: the
advisory lock is per database, and other test sessions may take the real run lock in the shared
one at the same time.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from storage.tables import OrganisationRow, PageVersion, Run
from tests.e2e import write_config
from tests.govuk_site import default_site, render_site
from tests.site_server import Reply, SiteServer, serve

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_S = 60.0  # generous: only reached when something is broken
PAGE_DELAY_S = 0.3  # 8 pages: a run holds the lock for about 2.5 s
REFUSED = re.compile(
    r"^error: another run holds the lock \(pid (\d+), started \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)$"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def lock_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An SQLite file, or a fresh PostgreSQL database dropped after the test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/tracker.db"
        return
    base = make_url(request.getfixturevalue("postgres_url"))
    name = f"lifesci_run_lock_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(base, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def slow_server() -> Iterator[SiteServer]:
    """The loopback site, every page answering after PAGE_DELAY_S."""
    with serve() as server:
        server.pages = render_site(default_site(), server.base_url)
        for path, body in server.pages.items():
            server.faults[path] = Reply(body=body, delay_s=PAGE_DELAY_S)
        yield server


@pytest.fixture
def config(tmp_path: Path, slow_server: SiteServer, lock_db_url: str) -> Path:
    return write_config(
        tmp_path / "config.toml", slow_server, lock_db_url, reports_dir=tmp_path / "reports"
    )


def _start(config: Path, *args: str) -> subprocess.Popen[str]:
    """Start `python -m tracker --config CONFIG run ARGS` (stderr is not a terminal: cron-like)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFESCI_TRACKER_")}
    return subprocess.Popen(
        [sys.executable, "-m", "tracker", "--config", str(config), "run", *args],
        cwd=config.parent,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(*processes: subprocess.Popen[str]) -> list[tuple[int, str, str]]:
    """Wait for each process; return (exit code, stdout, stderr) per process."""
    outcomes = []
    try:
        for process in processes:
            stdout, stderr = process.communicate(timeout=TIMEOUT_S)
            outcomes.append((process.returncode, stdout, stderr))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
    return outcomes


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def _query(url: str, statement: Any) -> list[Any]:
    """Rows of `statement`; none while the database is still being created."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return list(connection.execute(statement))
    except SQLAlchemyError:
        return []
    finally:
        engine.dispose()


def _runs(url: str) -> list[Any]:
    return _query(
        url,
        select(Run.id, Run.status, Run.error, Run.started_at, Run.finished_at).order_by(Run.id),
    )


def _count(url: str, table: type) -> int:
    rows = _query(url, select(func.count()).select_from(table))
    return int(rows[0][0]) if rows else 0


def _running(url: str, process: subprocess.Popen[str]) -> Callable[[], bool]:
    """True once a run row is "running" (or the process has already ended: fail fast)."""
    return lambda: process.poll() is not None or any(r.status == "running" for r in _runs(url))


def test_two_runs_started_together_one_tracks_the_other_exits_3(
    config: Path, lock_db_url: str
) -> None:
    first, second = _start(config, "--json"), _start(config, "--json")
    outcomes = _finish(first, second)

    codes = sorted(code for code, _, _ in outcomes)
    assert codes == [0, 3], outcomes
    (winner,) = [o for o in outcomes if o[0] == 0]
    (loser,) = [o for o in outcomes if o[0] == 3]
    winner_pid = [p.pid for p, o in zip((first, second), outcomes, strict=True) if o is winner]
    # One line on stderr naming the holder, nothing on stdout; the refused run is not recorded.
    assert loser[1] == ""
    (line,) = loser[2].splitlines()
    match = REFUSED.match(line)
    assert match is not None, line
    assert [int(match.group(1))] == winner_pid
    assert winner[2] == ""  # not on a terminal, a run with no problems logs nothing (cron mail)
    result = json.loads(winner[1])
    assert (result["status"], result["pages"]["new"]) == ("ok", 8)
    assert [(r.id, r.status) for r in _runs(lock_db_url)] == [(result["run"], "ok")]
    assert _count(lock_db_url, PageVersion) == 8


def test_run_wait_waits_for_the_holder_then_tracks(config: Path, lock_db_url: str) -> None:
    first = _start(config, "--json")
    _wait_for(_running(lock_db_url, first), "the first run to start")
    second = _start(config, "--json", "--wait", "30")  # the first still holds the lock
    (code1, out1, err1), (code2, out2, err2) = _finish(first, second)

    assert (code1, code2) == (0, 0), (err1, err2)
    assert err2 == ""
    one, two = json.loads(out1), json.loads(out2)
    assert two["run"] == one["run"] + 1
    assert two["pages"]["not_modified"] + two["pages"]["unchanged"] == 8
    runs = _runs(lock_db_url)
    assert [r.status for r in runs] == ["ok", "ok"]
    assert runs[1].started_at >= runs[0].finished_at  # waited: the runs did not interleave
    assert _count(lock_db_url, PageVersion) == 8


def test_a_run_killed_mid_run_is_marked_failed_and_the_next_run_completes(
    config: Path, lock_db_url: str, slow_server: SiteServer
) -> None:
    killed = _start(config, "--json")
    _wait_for(
        lambda: killed.poll() is not None or _count(lock_db_url, PageVersion) >= 2,
        "the first run to store some pages",
    )
    assert killed.poll() is None, "the run finished before it could be killed"
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=TIMEOUT_S)
    assert killed.returncode == -signal.SIGKILL
    (stale,) = _runs(lock_db_url)
    assert stale.status == "running"
    stored_before = _count(lock_db_url, PageVersion)
    assert 2 <= stored_before < 8

    slow_server.faults.clear()
    # No --wait: the lock left by the killed process does not block.
    ((code, stdout, stderr),) = _finish(_start(config))

    assert code == 0, stderr
    assert f"Marked failed: run {stale.id} (left running by a killed process)" in stdout
    runs = _runs(lock_db_url)
    assert [r.status for r in runs] == ["failed", "ok"]
    assert runs[0].error == "run did not finish (process killed?)"
    assert runs[0].finished_at is not None
    # Complete data: every page has exactly one version, none half-written.
    assert _count(lock_db_url, PageVersion) == 8
    stored = re.search(r"^Stored: (\d+) organisations", stdout, re.MULTILINE)
    assert stored is not None, stdout
    assert _count(lock_db_url, OrganisationRow) == int(stored.group(1)) > 30
