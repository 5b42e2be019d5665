"""Run any callable on a crontab schedule with APScheduler 3.x.

This is the only module that imports ``apscheduler``. APScheduler 3.x ships no type information, so
its objects are ``Any`` here and go no further: the public functions take and return plain values
(``ScheduleSettings``, ``datetime``, ``int``).

Crontab semantics are the standard ones (``man 5 crontab``), not APScheduler's: in APScheduler 3.x a
numeric day of week 0 means Monday, while in crontab 0 (and 7) means Sunday, so ``"0 7 * * 1-5"``
would run Tuesday to Saturday if handed over as it is. ``build_trigger`` translates the day-of-week
field into day names first. Crontab runs a job when *either* the day of month or the day of week
matches if both are restricted, while APScheduler requires both; such expressions are refused
rather than silently run on different days.

The module knows nothing of the rest of the project: ``run_forever`` wraps any callable.
"""

from __future__ import annotations

import contextlib
import logging
import math
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# APScheduler is imported where it is used (~0.2 s): `run` and the other one-shot commands load
# this module with the configuration but never schedule anything.
if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

__all__ = [
    "ScheduleSettings",
    "build_trigger",
    "next_run_times",
    "run_forever",
    "validate_schedule",
]

_LOGGER = logging.getLogger(__name__)
_JOB_ID = "scheduled-job"
_TICK = timedelta(microseconds=1)

# Crontab numbering: 0 and 7 are Sunday. Names are what APScheduler understands unambiguously.
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


@dataclass(frozen=True)
class ScheduleSettings:
    """When a scheduled job runs: the ``[schedule]`` settings.

    Attributes:
        cron: A standard five-field crontab expression (minute hour day-of-month month day-of-week).
        timezone: An IANA time zone name; the crontab is read in this zone's local time.
        jitter_s: Each run starts up to this many seconds after its scheduled time (0 for none), so
            many installations do not hit the source at the same second.
        misfire_grace_s: A run that could not start on time (process suspended, previous run still
            going) still starts if it is at most this many seconds late; otherwise it is skipped.
    """

    cron: str = "0 7 * * 1-5"
    timezone: str = "Europe/London"
    jitter_s: float = 300.0
    misfire_grace_s: float = 3600.0


def validate_schedule(settings: ScheduleSettings) -> None:
    """Check every schedule setting; raise ``ValueError`` with one line naming the bad value.

    Args:
        settings: The settings to check.

    Raises:
        ValueError: For a bad crontab, an unknown time zone, or a negative jitter or grace time.
    """
    _build_trigger(settings, jitter=True)
    if not math.isfinite(settings.misfire_grace_s) or settings.misfire_grace_s <= 0:
        raise ValueError(
            f"invalid schedule misfire_grace_s {settings.misfire_grace_s!r}: must be positive"
        )


def build_trigger(settings: ScheduleSettings) -> CronTrigger:
    """Build the APScheduler ``CronTrigger`` for ``settings``, with its time zone and jitter.

    Args:
        settings: The schedule; its crontab is read with standard crontab semantics.

    Returns:
        A ``CronTrigger`` in the settings' time zone, with ``jitter_s`` as its jitter.

    Raises:
        ValueError: For a bad crontab, an unknown time zone or a negative jitter, naming the value.
    """
    return _build_trigger(settings, jitter=True)


def next_run_times(settings: ScheduleSettings, after: datetime, count: int) -> list[datetime]:
    """Return the next ``count`` scheduled times strictly after ``after``, without jitter.

    The clock is passed in, so the result is deterministic (for ``schedule --next`` and docs).

    Args:
        settings: The schedule.
        after: An aware datetime; the first time returned is later than it.
        count: How many times to return (0 or more).

    Returns:
        Aware datetimes in the schedule's time zone, ascending; fewer than ``count`` if the schedule
        ends (a crontab never does).

    Raises:
        ValueError: For bad settings, a naive ``after`` or a negative ``count``.
    """
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError(f"next_run_times needs an aware datetime, got {after.isoformat()}")
    if count < 0:
        raise ValueError(f"next_run_times needs a count of 0 or more, got {count}")
    trigger = _build_trigger(settings, jitter=False)
    times: list[datetime] = []
    cursor = after
    while len(times) < count:
        # One microsecond on: APScheduler returns the first fire time at or after ``now``.
        fire_time: datetime | None = trigger.get_next_fire_time(None, cursor + _TICK)
        if fire_time is None:
            break
        times.append(fire_time)
        cursor = fire_time
    return times


def run_forever(
    job: Callable[[], object],
    settings: ScheduleSettings,
    *,
    run_now: bool = False,
    logger: logging.Logger | None = None,
    trigger: Any = None,
    scheduler_factory: Callable[..., Any] | None = None,
    install_signal_handlers: bool = True,
) -> int:
    """Run ``job`` on the schedule until SIGTERM or SIGINT (or the scheduler is shut down).

    One job with ``max_instances=1`` (never two runs at once) and ``coalesce=True`` (runs missed
    while the process was asleep collapse into one), started at most ``misfire_grace_s`` late. The
    next run time is logged at start and after each run. A run that raises is logged with its
    traceback and the schedule goes on. On SIGTERM or SIGINT the current run, if any, finishes
    first (``shutdown(wait=True)``), then this returns.

    Args:
        job: The callable to run; its return value is ignored.
        settings: The schedule.
        run_now: Also run the job once at start, before its first scheduled time.
        logger: Where to log; this module's logger by default.
        trigger: An APScheduler trigger to use instead of the one built from ``settings`` (tests
            pass one that fires at once).
        scheduler_factory: Called with ``timezone=`` to make the scheduler; a ``BlockingScheduler``
            by default.
        install_signal_handlers: Handle SIGTERM and SIGINT while running (main thread only). The
            previous handlers are restored on return.

    Returns:
        0, once the scheduler has stopped.

    Raises:
        ValueError: For bad settings.
    """
    from apscheduler.events import (
        EVENT_JOB_ERROR,
        EVENT_JOB_EXECUTED,
        EVENT_JOB_MAX_INSTANCES,
        EVENT_JOB_MISSED,
        EVENT_SCHEDULER_STARTED,
    )
    from apscheduler.schedulers.blocking import BlockingScheduler

    log = logger if logger is not None else _LOGGER
    validate_schedule(settings)
    zone = _zone(settings.timezone)
    schedule = trigger if trigger is not None else build_trigger(settings)
    scheduler: Any = (scheduler_factory or BlockingScheduler)(timezone=zone)

    def run_job() -> None:
        try:
            job()
        # The one broad except of the project: a failing run must never kill the scheduler. The
        # error is logged with its traceback and the next scheduled run goes ahead.
        except Exception:
            log.exception("scheduled run failed")

    job_options: dict[str, Any] = {
        "id": _JOB_ID,
        "name": getattr(job, "__qualname__", repr(job)),
        "max_instances": 1,
        "coalesce": True,
        "misfire_grace_time": max(1, math.ceil(settings.misfire_grace_s)),
        "replace_existing": True,
    }
    if run_now:
        job_options["next_run_time"] = datetime.now(zone)
    scheduled_job: Any = scheduler.add_job(run_job, schedule, **job_options)

    started = threading.Event()

    def on_started(event: Any) -> None:
        started.set()
        log.info("scheduler started; next run at %s", _describe(scheduled_job.next_run_time))

    def on_job_event(event: Any) -> None:
        # Mostly runs in the worker thread. It must not call scheduler methods that take the job
        # store lock: shutdown(wait=True) holds that lock while it waits for this very thread.
        if event.code == EVENT_JOB_MISSED:
            log.warning(
                "run due at %s was skipped: more than %s s late",
                _describe(event.scheduled_run_time),
                scheduled_job.misfire_grace_time,
            )
        elif event.code == EVENT_JOB_MAX_INSTANCES:
            log.warning("run due now was skipped: the previous run is still going")
            return
        elif event.code == EVENT_JOB_ERROR:  # only if the wrapper itself failed
            log.error("scheduled run failed: %s", event.exception)
        next_time = _next_after(scheduled_job, schedule, event.scheduled_run_time, zone)
        log.info("next run at %s", _describe(next_time))

    scheduler.add_listener(on_started, EVENT_SCHEDULER_STARTED)
    scheduler.add_listener(
        on_job_event,
        EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES,
    )

    if not install_signal_handlers:
        _start(scheduler)
        log.info("scheduler stopped")
        return 0

    stop = _Stopper(scheduler, started, log)
    previous = {
        signum: signal.signal(signum, stop.request) for signum in (signal.SIGTERM, signal.SIGINT)
    }
    stop.thread.start()
    try:
        _start(scheduler)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        # Waits for a shutdown in progress, so the current run has finished when this returns.
        stop.finish()
    log.info("scheduler stopped")
    return 0


class _Stopper:
    """Turns SIGTERM/SIGINT into ``scheduler.shutdown(wait=True)`` on a separate thread.

    A signal handler runs on the main thread between two bytecodes, possibly inside the scheduler's
    own loop; shutting down from there could re-enter it. The handler only records the signal, and
    this thread does the (blocking) shutdown.
    """

    def __init__(self, scheduler: Any, started: threading.Event, log: logging.Logger) -> None:
        self._scheduler = scheduler
        self._started = started
        self._log = log
        self._requested = threading.Event()
        self._done = threading.Event()
        self._signals: list[int] = []
        self.thread = threading.Thread(target=self._run, name="scheduler-stopper", daemon=True)

    def request(self, signum: int, frame: FrameType | None) -> None:
        """Signal handler: ask for a clean stop (a second signal changes nothing)."""
        self._signals.append(signum)
        self._requested.set()

    def finish(self) -> None:
        """Called once the scheduler has returned: wake the thread and wait for it."""
        self._done.set()
        self._started.set()
        self._requested.set()
        self.thread.join()

    def _run(self) -> None:
        self._requested.wait()
        if self._done.is_set():
            return
        name = signal.Signals(self._signals[0]).name if self._signals else "a signal"
        self._log.info("received %s; stopping after the current run", name)
        self._started.wait()  # a signal during start-up: shut down once it is running
        if self._done.is_set():
            return
        from apscheduler.schedulers import SchedulerNotRunningError

        with contextlib.suppress(SchedulerNotRunningError):  # it stopped by itself meanwhile
            self._scheduler.shutdown(wait=True)


def _start(scheduler: Any) -> None:
    """Start ``scheduler`` and block until it has been shut down."""
    from apscheduler.jobstores.base import JobLookupError

    try:
        scheduler.start()
    except JobLookupError:
        # An APScheduler 3.x race: shutdown() from another thread marks the scheduler stopped
        # before it takes the job store lock, so a main loop busy removing a job whose trigger
        # has no more fire times looks for it among the pending jobs and fails. The scheduler is
        # stopping anyway; anything else is a real error.
        if scheduler.running:
            raise


def _next_after(job: Any, trigger: Any, run_time: datetime, zone: ZoneInfo) -> datetime | None:
    """The job's next run time after the run scheduled at ``run_time``, read without locks.

    The scheduler updates ``job.next_run_time`` just after submitting a run; a very quick run can
    finish before that, and a trigger with no more fire times leaves it unchanged. In both cases
    ask the trigger, as the scheduler itself does.
    """
    stored: datetime | None = job.next_run_time
    if stored is not None and stored > run_time:
        return stored
    computed: datetime | None = trigger.get_next_fire_time(run_time, datetime.now(zone))
    return computed


def _describe(when: datetime | None) -> str:
    return when.isoformat(timespec="seconds") if when is not None else "none (no further runs)"


def _build_trigger(settings: ScheduleSettings, *, jitter: bool) -> Any:
    zone = _zone(settings.timezone)
    if not math.isfinite(settings.jitter_s) or settings.jitter_s < 0:
        raise ValueError(f"invalid schedule jitter_s {settings.jitter_s!r}: must be 0 or more")
    fields = settings.cron.split()
    if len(fields) != 5:
        raise ValueError(
            f"invalid cron expression {settings.cron!r}: expected 5 fields "
            f"(minute hour day-of-month month day-of-week), got {len(fields)}"
        )
    minute, hour, day, month, day_of_week = fields
    if not day.startswith("*") and not day_of_week.startswith("*"):
        raise ValueError(
            f"invalid cron expression {settings.cron!r}: restricting both day of month and day "
            "of week is not supported (crontab runs when either matches); use '*' in one of them"
        )
    from apscheduler.triggers.cron import CronTrigger

    try:
        return CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=_day_of_week(day_of_week),
            timezone=zone,
            jitter=settings.jitter_s if jitter and settings.jitter_s > 0 else None,
        )
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        detail = " ".join(str(exc).split())
        raise ValueError(f"invalid cron expression {settings.cron!r}: {detail}") from exc


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown schedule timezone {name!r}") from exc


def _day_of_week(field: str) -> str:
    """Translate a crontab day-of-week field (0 or 7 = Sunday) to APScheduler day names.

    Supports lists, ranges, steps, ``*`` and three-letter names, as crontab does.
    """
    days: set[int] = set()
    for part in field.lower().split(","):
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"bad step {step_text!r} in day of week {field!r}")
            step = int(step_text)
        if base == "*":
            first, last = 0, 7
        else:
            first_text, dash, last_text = base.partition("-")
            first = _day_number(first_text, field)
            if dash:
                last = _day_number(last_text, field)
                if last_text == "sun" and first > 0:
                    last = 7  # "mon-sun"
            else:
                last = 7 if slash else first
            if first > last:
                raise ValueError(f"bad range {base!r} in day of week {field!r}")
        days.update(number % 7 for number in range(first, last + 1, step))
    if len(days) == 7:
        return "*"
    monday_first = sorted(days, key=lambda number: (number - 1) % 7)
    return ",".join(_DAY_NAMES[number] for number in monday_first)


def _day_number(text: str, field: str) -> int:
    if text.isdigit() and int(text) <= 7:
        return int(text)
    if text in _DAY_NAMES:
        return _DAY_NAMES.index(text)
    raise ValueError(f"bad day {text!r} in day of week {field!r}")
