"""`lifesci-tracker schedule`: run `run` on the [schedule] cron, never two at once.

The daemon is `scheduler.run_forever` around `scheduled_run`, which is `run`'s own locked tracking
run (`locked_run`) with trigger "schedule". Each scheduled run takes the run lock for its duration
only, so a manual `run` between two scheduled ones is fine; a scheduled run that finds the lock held
is skipped with a warning (the next one is on the cron). The daemon logs its start and next run
time at INFO even when not on a terminal (unless `--quiet`): under systemd those lines are the
only sign that it is alive.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import click
from sqlalchemy.exc import SQLAlchemyError

from scheduler import ScheduleSettings, next_run_times, run_forever
from storage.errors import StorageError
from storage.lock import RunLockHeld
from tracker.cli_options import Context, pass_context, tracker_command
from tracker.config import Config
from tracker.delivery import Deliveries
from tracker.errors import TrackerError, UsageError
from tracker.pipeline import RunResult
from tracker.runner import locked_run
from tracker.summary import describe_changes

__all__ = ["format_next_runs", "log_outcome", "schedule_settings", "scheduled_run", "serve"]

logger = logging.getLogger("tracker.schedule")

# Errors a scheduled run can meet that deserve one log line, not a traceback (as `run` shows them).
_EXPECTED_ERRORS = (TrackerError, StorageError, SQLAlchemyError, OSError)


def schedule_settings(config: Config) -> ScheduleSettings:
    """Return the scheduler's settings from the config's [schedule] section."""
    schedule = config.schedule
    return ScheduleSettings(
        cron=schedule.cron,
        timezone=schedule.timezone,
        jitter_s=schedule.jitter_s,
        misfire_grace_s=schedule.misfire_grace_s,
    )


def log_outcome(result: RunResult, log: logging.Logger) -> None:
    """Log a finished run in one line (INFO when ok, WARNING otherwise), then each problem."""
    counts = result.page_counts()
    level = logging.INFO if result.status == "ok" else logging.WARNING
    log.log(
        level,
        "run %d: %s; %d pages fetched, %d new, %d changed, %d errors, %d anomalies; %s",
        result.run_id,
        result.status,
        counts["fetched"],
        counts["new"],
        counts["changed"],
        counts["errors"],
        counts["anomalies"],
        describe_changes(result),
    )
    if result.stale_runs_failed:
        ids = ", ".join(str(run_id) for run_id in result.stale_runs_failed)
        log.warning("marked failed: run %s (left running by a killed process)", ids)
    for problem in result.problems:
        log.warning("problem (data kept): %s: %s: %s", problem.outcome, problem.url, problem.reason)


def scheduled_run(config: Config, log: logging.Logger, *, debug: bool = False) -> None:
    """One scheduled tracking run: `run`'s locked run with trigger "schedule", logged, not printed.

    Never raises for what `run` would report as one error line: a held lock is a warning (the run
    is skipped, nothing recorded), a database or configuration error is one error line. Anything
    else (or everything, with `debug`) propagates to `run_forever`, which logs it with its
    traceback and keeps the schedule going.
    """
    try:
        result = locked_run(config, trigger="schedule")
    except RunLockHeld as exc:
        log.warning("skipped: %s", exc)
        return
    except _EXPECTED_ERRORS as exc:
        if debug:
            raise
        log.error("scheduled run failed: %s", _one_line(exc))
        return
    log_outcome(result, log)


def serve(
    config: Config,
    *,
    run_now: bool = False,
    log: logging.Logger = logger,
    debug: bool = False,
    trigger: Any = None,
    scheduler_factory: Callable[..., Any] | None = None,
    install_signal_handlers: bool = True,
) -> int:
    """Run `scheduled_run` on the configured schedule until SIGTERM/SIGINT; return the exit code.

    Args:
        config: The configuration; [schedule] says when, the rest is what `run` uses.
        run_now: Also run once at start.
        log: Where the scheduler and the runs log.
        debug: Let expected errors of a run reach the scheduler's traceback log.
        trigger: An APScheduler trigger to use instead of the cron (tests: one that fires at once).
        scheduler_factory: Makes the scheduler (tests); APScheduler's BlockingScheduler by default.
        install_signal_handlers: Stop cleanly on SIGTERM/SIGINT (main thread only).

    Returns:
        0 once the scheduler has stopped (after the current run, if any).
    """
    options: dict[str, Any] = {}
    if scheduler_factory is not None:
        options["scheduler_factory"] = scheduler_factory

    def scheduled_tracking_run() -> None:
        scheduled_run(config, log, debug=debug)

    return run_forever(
        scheduled_tracking_run,
        schedule_settings(config),
        run_now=run_now,
        logger=log,
        trigger=trigger,
        install_signal_handlers=install_signal_handlers,
        **options,
    )


def format_next_runs(settings: ScheduleSettings, after: datetime, count: int) -> list[str]:
    """Return `schedule --next` output: a heading, then each run time in its zone and in UTC."""
    jitter = (
        f"; each run starts up to {settings.jitter_s:g} s later (jitter)"
        if settings.jitter_s
        else ""
    )
    lines = [f'# next {count} runs of "{settings.cron}" in {settings.timezone}{jitter}']
    for when in next_run_times(settings, after, count):
        local = when.strftime("%a %Y-%m-%d %H:%M %Z")
        utc = when.astimezone(UTC).strftime("%a %Y-%m-%d %H:%M UTC")
        lines.append(f"{local}  =  {utc}")
    return lines


def _parse_after(text: str | None, zone: str) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--after: not an ISO date/time: {text!r}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=ZoneInfo(zone))


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, SQLAlchemyError):
        detail = str(getattr(exc, "orig", None) or exc).splitlines()
        return f"database error: {detail[0] if detail else type(exc).__name__}"
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.strerror or exc}: {exc.filename}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _configure_logging(*, quiet: bool, verbose: int) -> None:
    """INFO for the daemon's own lines unless --quiet, even when not on a terminal (DESIGN §10).

    APScheduler's own INFO lines ("Added job", "Running job") repeat ours; they show with -vv.
    """
    root_level = logging.getLogger().getEffectiveLevel()
    logger.setLevel(root_level if quiet else min(root_level, logging.INFO))
    logging.getLogger("apscheduler").setLevel(logging.NOTSET if verbose > 1 else logging.WARNING)


@tracker_command("schedule")
@click.option("--run-now", is_flag=True, help="Also run once at start, then follow the schedule.")
@click.option(
    "--next",
    "next_count",
    type=click.IntRange(min=1),
    help="Print the next N run times (in the schedule's time zone and UTC) and exit.",
)
@click.option(
    "--after",
    hidden=True,
    help="With --next: count from this ISO date/time instead of now (naive: schedule's zone).",
)
@pass_context
def schedule_command(
    context: Context, run_now: bool, next_count: int | None, after: str | None
) -> None:
    """Run `run` on the [schedule] cron until stopped; never two runs at once.

    Logs its start and the next run time (also when not on a terminal, unless --quiet). A run
    that fails is logged and the schedule goes on; a run due while another holds the lock is
    skipped. SIGTERM or SIGINT stops it after the current run, with exit status 0.

    \b
    Example:
        lifesci-tracker schedule --next 5
        lifesci-tracker schedule --run-now
    """
    config = context.config
    settings = schedule_settings(config)
    if next_count is not None:
        for line in format_next_runs(settings, _parse_after(after, settings.timezone), next_count):
            click.echo(line)
        return
    Deliveries(config)  # a notify target Apprise cannot use fails now (exit 2), not at 3 a.m.
    _configure_logging(quiet=context.verbosity < 0, verbose=max(context.verbosity, 0))
    sys.exit(serve(config, run_now=run_now, debug=context.debug))
