"""The scheduler: crontab + time zone to fire times, running a job, failures, and a clean stop."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from scheduler import (
    ScheduleSettings,
    build_trigger,
    next_run_times,
    run_forever,
    validate_schedule,
)

ROOT = Path(__file__).resolve().parent.parent
DAEMON = Path(__file__).resolve().parent / "scripts" / "slow_job_daemon.py"
TIMEOUT_S = 20.0  # generous: only reached when something is broken
LOGGER = "tests.scheduler"


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- cron + time zone -> fire times (fixed clock, no jitter) -------------------------------------


@pytest.mark.parametrize(
    ("after", "expected_utc"),
    [
        pytest.param(
            # Europe/London goes to BST at 01:00Z on Sunday 29 March 2026.
            "2026-03-26T12:00:00",
            [
                "2026-03-27T07:00:00",  # Friday, GMT
                "2026-03-30T06:00:00",  # Monday, BST: still 07:00 local
                "2026-03-31T06:00:00",
            ],
            id="end-of-march-gmt-to-bst",
        ),
        pytest.param(
            # Europe/London goes back to GMT at 01:00Z on Sunday 25 October 2026.
            "2026-10-22T12:00:00",
            [
                "2026-10-23T06:00:00",  # Friday, BST
                "2026-10-26T07:00:00",  # Monday, GMT
                "2026-10-27T07:00:00",
            ],
            id="end-of-october-bst-to-gmt",
        ),
    ],
)
def test_the_default_schedule_fires_at_seven_local_on_weekdays_across_dst(
    after: str, expected_utc: list[str]
) -> None:
    times = next_run_times(ScheduleSettings(), _utc(after), 3)

    assert [t.astimezone(UTC) for t in times] == [_utc(e) for e in expected_utc]
    assert all(t.hour == 7 and t.minute == 0 for t in times)
    assert all(t.utcoffset() == t.astimezone(ZoneInfo("Europe/London")).utcoffset() for t in times)


def test_weekday_numbers_follow_crontab_where_zero_is_sunday() -> None:
    # APScheduler 3.x alone would read 0 as Monday and "1-5" as Tuesday to Saturday.
    after = _utc("2026-11-23T12:00:00")  # a Monday

    sundays = next_run_times(ScheduleSettings(cron="0 7 * * 0", timezone="UTC"), after, 2)
    weekdays = next_run_times(ScheduleSettings(cron="0 7 * * 1-5", timezone="UTC"), after, 5)

    assert [t.strftime("%a %d") for t in sundays] == ["Sun 29", "Sun 06"]
    assert [t.strftime("%a") for t in weekdays] == ["Tue", "Wed", "Thu", "Fri", "Mon"]


@pytest.mark.parametrize(
    ("cron", "expected_days"),
    [
        ("0 7 * * 7", "sun"),
        ("0 7 * * mon-fri", "mon,tue,wed,thu,fri"),
        ("0 7 * * */2", "tue,thu,sat,sun"),  # crontab: 0,2,4,6
        ("0 7 * * 5-7", "fri,sat,sun"),
        ("0 7 * * sat,sun", "sat,sun"),
        ("0 7 * * mon-sun", "*"),
    ],
)
def test_day_of_week_forms_are_translated_to_day_names(cron: str, expected_days: str) -> None:
    trigger = build_trigger(ScheduleSettings(cron=cron, timezone="UTC"))

    assert str(trigger.fields[4]) == expected_days


def test_next_run_times_are_strictly_after_the_given_time() -> None:
    at_seven = datetime(2026, 11, 26, 7, 0, tzinfo=ZoneInfo("Europe/London"))

    times = next_run_times(ScheduleSettings(), at_seven, 1)

    assert times == [datetime(2026, 11, 27, 7, 0, tzinfo=ZoneInfo("Europe/London"))]


def test_next_run_times_ignore_jitter() -> None:
    after = _utc("2026-11-26T12:00:00")
    settings = ScheduleSettings(jitter_s=3600.0)

    assert next_run_times(settings, after, 5) == next_run_times(settings, after, 5)
    assert all(t.minute == 0 and t.second == 0 for t in next_run_times(settings, after, 5))


def test_the_trigger_carries_the_time_zone_and_jitter() -> None:
    trigger = build_trigger(ScheduleSettings(timezone="America/New_York", jitter_s=42.0))

    assert trigger.timezone == ZoneInfo("America/New_York")
    assert trigger.jitter == 42.0


def test_zero_jitter_means_none() -> None:
    assert build_trigger(ScheduleSettings(jitter_s=0.0)).jitter is None


@pytest.mark.parametrize(
    "cron",
    [
        "61 7 * * *",
        "0 7 * *",
        "0 7 * * 1-5 2026",
        "every weekday",
        "0 25 * * *",
        "0 7 * * 8",
        "0 7 * * 5-1",
        "0 7 * * mon/0",
        "0 7 32 * *",
        "0 7 1 * 1",  # crontab ORs the two day fields; APScheduler would AND them
    ],
)
def test_a_bad_crontab_is_a_one_line_value_error_naming_it(cron: str) -> None:
    with pytest.raises(ValueError, match="cron") as excinfo:
        validate_schedule(ScheduleSettings(cron=cron))

    assert repr(cron) in str(excinfo.value)
    assert "\n" not in str(excinfo.value)


@pytest.mark.parametrize(
    "zone", ["Europe/Londn", "Mars/Olympus_Mons", "", "../etc/passwd", "Europe"]
)
def test_an_unknown_timezone_is_a_value_error_naming_it(zone: str) -> None:
    with pytest.raises(ValueError, match="timezone") as excinfo:
        validate_schedule(ScheduleSettings(timezone=zone))

    assert repr(zone) in str(excinfo.value)


@pytest.mark.parametrize(
    ("settings", "name"),
    [
        (ScheduleSettings(jitter_s=-1.0), "jitter_s"),
        (ScheduleSettings(jitter_s=float("nan")), "jitter_s"),
        (ScheduleSettings(misfire_grace_s=0.0), "misfire_grace_s"),
        (ScheduleSettings(misfire_grace_s=-5.0), "misfire_grace_s"),
    ],
)
def test_bad_jitter_or_grace_is_a_value_error_naming_it(
    settings: ScheduleSettings, name: str
) -> None:
    with pytest.raises(ValueError, match=name):
        validate_schedule(settings)


def test_the_defaults_are_valid() -> None:
    validate_schedule(ScheduleSettings())


def test_next_run_times_needs_an_aware_time_and_a_count() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_run_times(ScheduleSettings(), datetime(2026, 11, 26, 7, 0), 1)
    with pytest.raises(ValueError, match="count"):
        next_run_times(ScheduleSettings(), _utc("2026-11-26T07:00:00"), -1)
    assert next_run_times(ScheduleSettings(), _utc("2026-11-26T07:00:00"), 0) == []


# --- running jobs (in a thread, with a trigger that fires at once) -------------------------------


def _fires_now() -> DateTrigger:
    return DateTrigger(run_date=datetime.now(UTC), timezone=UTC)


def _fires_often() -> IntervalTrigger:
    return IntervalTrigger(seconds=0.05, timezone=UTC)


@contextmanager
def _running(job: Callable[[], object], **kwargs: Any) -> Iterator[None]:
    """Run run_forever in a thread; on exit shut the scheduler down and check it returned 0."""
    schedulers: list[Any] = []
    results: list[int] = []

    def factory(**options: Any) -> Any:
        scheduler = BlockingScheduler(**options)
        schedulers.append(scheduler)
        return scheduler

    kwargs.setdefault("logger", logging.getLogger(LOGGER))
    thread = threading.Thread(
        target=lambda: results.append(
            run_forever(
                job,
                kwargs.pop("settings", ScheduleSettings()),
                scheduler_factory=factory,
                install_signal_handlers=False,
                **kwargs,
            )
        ),
        daemon=True,
    )
    thread.start()
    try:
        yield
    finally:
        deadline = time.monotonic() + TIMEOUT_S
        while not (schedulers and schedulers[0].running) and time.monotonic() < deadline:
            time.sleep(0.01)
        if schedulers and schedulers[0].running:
            schedulers[0].shutdown(wait=True)
        thread.join(TIMEOUT_S)
        assert not thread.is_alive()
        assert results == [0]


def test_a_scheduled_job_runs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    ran = threading.Event()

    with _running(ran.set, trigger=_fires_now()):
        assert ran.wait(TIMEOUT_S)

    messages = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert any(m.startswith("scheduler started; next run at 20") for m in messages)
    # The date trigger has fired once and has nothing more: the log says so after the run.
    assert "next run at none (no further runs)" in messages


def test_a_failing_job_is_logged_and_the_next_run_still_happens(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    calls: list[int] = []
    second_run = threading.Event()

    def flaky() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("source unreachable")
        second_run.set()

    with _running(flaky, trigger=_fires_often()):
        assert second_run.wait(TIMEOUT_S)

    failures = [r for r in caplog.records if r.getMessage() == "scheduled run failed"]
    assert len(failures) == 1
    assert failures[0].levelno == logging.ERROR
    assert failures[0].exc_info is not None
    assert "source unreachable" in caplog.text
    assert any(r.getMessage().startswith("next run at 20") for r in caplog.records)


def test_run_now_runs_once_before_the_first_scheduled_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    ran = threading.Event()
    # The first cron time is next 1 January; only run_now can make the job run during the test.
    settings = ScheduleSettings(cron="0 0 1 1 *", timezone="UTC", jitter_s=0.0)

    with _running(ran.set, settings=settings, run_now=True):
        assert ran.wait(TIMEOUT_S)

    next_new_year = datetime(datetime.now(UTC).year + 1, 1, 1, tzinfo=ZoneInfo("UTC"))
    assert f"next run at {next_new_year.isoformat()}" in [r.getMessage() for r in caplog.records]


def test_runs_never_overlap() -> None:
    running = 0
    most_at_once = 0
    lock = threading.Lock()
    three_runs = threading.Event()
    runs: list[int] = []

    def slow() -> None:
        nonlocal running, most_at_once
        with lock:
            running += 1
            most_at_once = max(most_at_once, running)
        time.sleep(0.2)  # four times the trigger interval: the trigger fires during the run
        with lock:
            running -= 1
            runs.append(1)
            if len(runs) >= 3:
                three_runs.set()

    with _running(slow, trigger=_fires_often()):
        assert three_runs.wait(TIMEOUT_S)

    assert most_at_once == 1


# --- SIGTERM / SIGINT in a real process ----------------------------------------------------------


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_during_a_run_lets_it_finish_then_exits_0(
    tmp_path: Path, signum: signal.Signals
) -> None:
    marker = tmp_path / "marker.txt"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, str(DAEMON), str(marker)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(lambda: marker.exists() and "started" in marker.read_text(), "the run to start")
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 0, stderr
    assert marker.read_text().splitlines() == ["started", "finished"]
    assert f"received {signum.name}; stopping after the current run" in stderr
    assert "Traceback" not in stderr
