"""`lifesci-tracker schedule`: config reaches the trigger, runs track, SIGTERM is clean.

The daemon's pieces are tested where they live: `tests/test_cron.py` covers the scheduler itself
(overlap, failures, signals around any callable). Here the command is wired to the real pipeline:
in-process with a trigger that fires at once, and as a real `python -m tracker` process.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.date import DateTrigger
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from storage.lock import run_lock
from storage.tables import PageVersion, Run
from tests.e2e import write_config
from tests.govuk_site import default_site, render_site
from tests.site_server import Reply, SiteServer, serve
from tracker.cli import cli
from tracker.commands.schedule_command import scheduled_run
from tracker.commands.schedule_command import serve as serve_schedule
from tracker.config import load_config

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_S = 30.0  # generous: only reached when something is broken
LOGGER = "tests.schedule"
# A schedule that never fires during a test: only --run-now or an injected trigger runs the job.
NEVER = '[schedule]\ncron = "0 0 1 1 *"\ntimezone = "UTC"\njitter_s = 0\n'


@pytest.fixture
def server() -> Iterator[SiteServer]:
    with serve() as running:
        running.pages = render_site(default_site(), running.base_url)
        yield running


def _config(tmp_path: Path, server: SiteServer, url: str, extra: str = NEVER) -> Path:
    return write_config(
        tmp_path / "config.toml", server, url, extra=extra, reports_dir=tmp_path / "reports"
    )


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def _runs(url: str) -> list[Any]:
    """The run rows, oldest first; none while the database is still being created."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return list(
                connection.execute(select(Run.id, Run.trigger, Run.status).order_by(Run.id))
            )
    except SQLAlchemyError:
        return []
    finally:
        engine.dispose()


def _versions(url: str) -> int:
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(PageVersion)).scalar_one()
    engine.dispose()
    return int(count)


# --- [schedule] reaches the trigger --------------------------------------------------------------


def test_next_prints_run_times_in_the_schedule_zone_and_utc_across_a_dst_change(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[schedule]\ncron = "0 7 * * 1-5"\ntimezone = "Europe/London"\n')

    # Europe/London goes to BST at 01:00Z on Sunday 29 March 2026.
    result = CliRunner().invoke(
        cli, ["--config", str(config), "schedule", "--next", "3", "--after", "2026-03-26T12:00Z"]
    )

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        '# next 3 runs of "0 7 * * 1-5" in Europe/London; each run starts up to 300 s later '
        "(jitter)",
        "Fri 2026-03-27 07:00 GMT  =  Fri 2026-03-27 07:00 UTC",
        "Mon 2026-03-30 07:00 BST  =  Mon 2026-03-30 06:00 UTC",
        "Tue 2026-03-31 07:00 BST  =  Tue 2026-03-31 06:00 UTC",
    ]


def test_next_reads_another_cron_and_zone_from_the_config(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[schedule]\ncron = "30 6 * * 0"\ntimezone = "America/New_York"\njitter_s = 0\n'
    )

    # New York goes to EDT on Sunday 8 March 2026; crontab day 0 is Sunday.
    result = CliRunner().invoke(
        cli, ["--config", str(config), "schedule", "--next", "2", "--after", "2026-03-01T12:00Z"]
    )

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        '# next 2 runs of "30 6 * * 0" in America/New_York',
        "Sun 2026-03-08 06:30 EDT  =  Sun 2026-03-08 10:30 UTC",
        "Sun 2026-03-15 06:30 EDT  =  Sun 2026-03-15 10:30 UTC",
    ]


def test_the_docs_show_real_next_output_and_the_unit_files_verbatim(tmp_path: Path) -> None:
    docs = (ROOT / "docs" / "scheduling.md").read_text(encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text("")  # the default [schedule], as in the docs

    result = CliRunner().invoke(
        cli, ["--config", str(config), "schedule", "--next", "3", "--after", "2026-03-26T12:00Z"]
    )

    assert result.exit_code == 0, result.output
    assert textwrap.indent(result.stdout, "  ") in docs
    units = sorted((ROOT / "docs" / "systemd").iterdir())
    assert [unit.name for unit in units] == [
        "lifesci-tracker-schedule.service",
        "lifesci-tracker.service",
        "lifesci-tracker.timer",
    ]
    for unit in units:
        assert f"```ini\n{unit.read_text(encoding='utf-8')}```" in docs, unit.name


class _RecordingScheduler:
    """Stands in for BlockingScheduler: records the job and returns from start() at once."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.jobs: list[tuple[Any, dict[str, Any]]] = []
        self.running = False

    def add_job(self, func: Callable[[], None], trigger: Any, **options: Any) -> Any:
        self.jobs.append((trigger, options))
        return SimpleNamespace(next_run_time=None, misfire_grace_time=options["misfire_grace_time"])

    def add_listener(self, callback: Callable[[Any], None], mask: int) -> None:
        pass

    def start(self) -> None:
        pass


def _serve_recorded(config_path: Path) -> _RecordingScheduler:
    """Run `schedule`'s daemon with a recording scheduler; return the scheduler it made."""
    made: list[_RecordingScheduler] = []

    def factory(**options: Any) -> _RecordingScheduler:
        made.append(_RecordingScheduler(**options))
        return made[-1]

    code = serve_schedule(
        load_config(str(config_path)), scheduler_factory=factory, install_signal_handlers=False
    )
    assert code == 0
    (scheduler,) = made
    return scheduler


def test_cron_timezone_jitter_and_grace_from_config_reach_the_trigger(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[schedule]\ncron = "0 7 * * 1-5"\ntimezone = "Europe/London"\njitter_s = 0\n'
        "misfire_grace_s = 900\n"
    )

    scheduler = _serve_recorded(path)

    london = ZoneInfo("Europe/London")
    assert scheduler.options == {"timezone": london}
    ((trigger, options),) = scheduler.jobs
    assert options["max_instances"] == 1
    assert options["coalesce"] is True
    assert options["misfire_grace_time"] == 900
    assert trigger.timezone == london
    assert trigger.jitter is None
    # Friday 07:00 GMT, then Monday 07:00 BST (= 06:00 UTC) after the clocks go forward.
    friday = trigger.get_next_fire_time(None, datetime(2026, 3, 26, 12, tzinfo=UTC))
    monday = trigger.get_next_fire_time(friday, friday.replace(minute=1))
    assert friday.astimezone(UTC) == datetime(2026, 3, 27, 7, tzinfo=UTC)
    assert monday.astimezone(UTC) == datetime(2026, 3, 30, 6, tzinfo=UTC)


def test_the_configured_jitter_reaches_the_trigger(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[schedule]\njitter_s = 120\ntimezone = "UTC"\n')

    ((trigger, _),) = _serve_recorded(path).jobs

    assert trigger.jitter == 120
    assert trigger.timezone == ZoneInfo("UTC")


# --- scheduled runs, in process ------------------------------------------------------------------


def test_a_scheduled_run_tracks_the_site_with_trigger_schedule(
    tmp_path: Path, server: SiteServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    url = f"sqlite:///{tmp_path}/tracker.db"
    config = load_config(str(_config(tmp_path, server, url)))
    schedulers: list[Any] = []
    executed = threading.Event()
    results: list[int] = []

    def factory(**options: Any) -> Any:
        scheduler = BlockingScheduler(**options)
        scheduler.add_listener(lambda event: executed.set(), EVENT_JOB_EXECUTED)
        schedulers.append(scheduler)
        return scheduler

    thread = threading.Thread(
        target=lambda: results.append(
            serve_schedule(
                config,
                log=logging.getLogger(LOGGER),
                trigger=DateTrigger(run_date=datetime.now(UTC), timezone=UTC),
                scheduler_factory=factory,
                install_signal_handlers=False,
            )
        ),
        daemon=True,
    )
    thread.start()
    try:
        assert executed.wait(TIMEOUT_S), "the scheduled run did not happen"
    finally:
        _wait_for(lambda: bool(schedulers) and schedulers[0].running, "the scheduler to start")
        schedulers[0].shutdown(wait=True)
        thread.join(TIMEOUT_S)
    assert results == [0]

    (run,) = _runs(url)
    assert (run.trigger, run.status) == ("schedule", "ok")
    assert _versions(url) == 8
    messages = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert any(m.startswith("scheduler started; next run at 20") for m in messages)
    assert any(m.startswith(f"run {run.id}: ok; 8 pages fetched, 8 new") for m in messages)
    assert "scheduler stopped" in messages


def test_a_scheduled_run_is_skipped_while_another_run_holds_the_lock(
    tmp_path: Path, server: SiteServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    database = tmp_path / "tracker.db"
    config = load_config(str(_config(tmp_path, server, f"sqlite:///{database}")))

    with run_lock(config.database.url):
        scheduled_run(config, logging.getLogger(LOGGER))

    (record,) = [r for r in caplog.records if r.name == LOGGER]
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith(
        f"skipped: another run holds the lock (pid {os.getpid()}, started 20"
    )
    assert not database.exists()  # nothing recorded, not even an empty database
    assert server.requests == []


def test_a_scheduled_run_that_cannot_open_the_database_logs_one_error_line(
    tmp_path: Path, server: SiteServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    directory = tmp_path / "not-a-database"
    directory.mkdir()
    config = load_config(str(_config(tmp_path, server, f"sqlite:///{directory}")))

    scheduled_run(config, logging.getLogger(LOGGER))  # does not raise

    (record,) = [r for r in caplog.records if r.name == LOGGER]
    assert record.levelno == logging.ERROR
    assert record.getMessage().startswith("scheduled run failed: database error: ")
    assert record.exc_info is None


# --- the daemon as a real process ----------------------------------------------------------------


def test_sigterm_during_a_scheduled_run_lets_it_finish_and_exits_0(
    tmp_path: Path, server: SiteServer
) -> None:
    url = f"sqlite:///{tmp_path}/tracker.db"
    config = _config(tmp_path, server, url)
    for path, body in server.pages.items():  # about two seconds for the whole run
        server.faults[path] = Reply(body=body, delay_s=0.25)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFESCI_TRACKER_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "tracker", "--config", str(config), "schedule", "--run-now"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(
            lambda: any(r.status == "running" for r in _runs(url)) or process.poll() is not None,
            "the scheduled run to start",
        )
        assert process.poll() is None, process.communicate()
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 0, stderr
    (run,) = _runs(url)
    assert (run.trigger, run.status) == ("schedule", "ok")
    assert _versions(url) == 8
    assert stdout == ""
    # Not a terminal, yet the daemon says it is alive and when it runs (DESIGN §10).
    assert "INFO tracker.schedule: scheduler started; next run at " in stderr
    assert "received SIGTERM; stopping after the current run" in stderr
    assert f"run {run.id}: ok; 8 pages fetched, 8 new" in stderr
    assert stderr.rstrip().endswith("scheduler stopped")
    assert "Traceback" not in stderr
