"""Run any callable on a crontab schedule (APScheduler 3.x); imports nothing else of ours."""

from scheduler.cron import (
    ScheduleSettings,
    build_trigger,
    next_run_times,
    run_forever,
    validate_schedule,
)

__all__ = [
    "ScheduleSettings",
    "build_trigger",
    "next_run_times",
    "run_forever",
    "validate_schedule",
]
