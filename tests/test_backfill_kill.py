"""A backfill killed (SIGKILL) at random points resumes: nothing stored twice, only what is
missing fetched, and the same history as an uninterrupted backfill (the golden file).

Each round starts `python -m tracker --config ... backfill --json` against the fake archive
(every answer a little late, so the backfill has many moments to be killed at), waits for a
random number of capture replays plus a random delay, and SIGKILLs it. A final backfill then
finishes the job. The seed is printed; `pytest --seed N` replays the same kill points.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from storage.tables import ArchiveCapture, PageVersion
from tests.backfill_e2e import Backfiller
from tests.fake_archive import FIRST_LIVE_RUN, FakeArchive, history, live_states, serve_archive
from tests.site_server import SiteServer
from tests.test_backfill import by_position, golden_history, whole_history
from tests.test_kill_loop import subprocess_env

REPO = Path(__file__).resolve().parent.parent
KILLS = 4
ANSWER_DELAY_S = 0.03
CAPTURES = 12  # captures an uninterrupted backfill fetches (tests/test_backfill.py)
# Replay requests it makes: 6 publication copies read while planning (one throttled once, one
# truncated and tried 3 more times), then 6 documents while storing the runs.
PLANNING_REQUESTS = 10
REQUESTS = 16


@pytest.fixture
def archive() -> Iterator[FakeArchive]:
    with serve_archive() as running:
        running.delay_s = ANSWER_DELAY_S
        yield running


def replays(archive: FakeArchive) -> int:
    with archive._lock:
        return sum(1 for request in archive.requests if "id_/" in request.path)


def start_backfill(config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tracker", "--config", str(config), "backfill", "--json"],
        cwd=REPO,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def kill_after(
    process: subprocess.Popen[bytes], archive: FakeArchive, wanted: int, pause: float
) -> None:
    """SIGKILL `process` once the archive has answered `wanted` more replays, then `pause` s."""
    target = replays(archive) + wanted
    deadline = time.monotonic() + 30
    while replays(archive) < target and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(pause)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)


def recorded_captures(database_url: str) -> tuple[int, int]:
    """How many captures are recorded as done with, and how many versions are stored."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            captures = connection.scalar(select(func.count()).select_from(ArchiveCapture))
            versions = connection.scalar(select(func.count()).select_from(PageVersion))
    finally:
        engine.dispose()
    return int(captures or 0), int(versions or 0)


def test_a_killed_backfill_resumes_where_it_stopped(
    server: SiteServer,
    archive: FakeArchive,
    database_url: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    seed = request.config.getoption("--seed") or random.randrange(1 << 30)
    print(f"backfill kill loop seed: {seed}")
    chance = random.Random(seed)
    backfiller = Backfiller.create(
        server, archive, history(origin=server.base_url), tmp_path, database_url
    )
    backfiller.live_run(live_states()[0], FIRST_LIVE_RUN)

    # The first kill lands while runs are being stored, the later ones soon after the start
    # (a resumed backfill has less to do), so the final backfill still has some left.
    for kill in range(KILLS):
        process = start_backfill(backfiller.config)
        wanted = chance.randint(PLANNING_REQUESTS + 1, REQUESTS - 1) if kill == 0 else kill
        kill_after(process, archive, wanted, chance.uniform(0, 0.05))
    done, _ = recorded_captures(database_url)
    code, resumed = backfiller.backfill()

    assert code == 0
    # Every capture done with before the kills is neither fetched nor stored again.
    assert resumed["captures"]["fetched"] == CAPTURES - done
    assert recorded_captures(database_url) == (12, 9 + 4)  # 9 archive versions, 4 live ones
    assert by_position(whole_history(backfiller)) == golden_history()
    assert backfiller.backfill()[1]["captures"]["fetched"] == 0
