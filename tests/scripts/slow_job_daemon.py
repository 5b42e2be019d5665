"""A tiny scheduler daemon for tests/test_cron.py: one slow run, then wait for a signal.

Usage: python tests/scripts/slow_job_daemon.py MARKER_FILE

The job appends "started" to MARKER_FILE, sleeps about a second, then appends "finished". The
test sends SIGTERM (or SIGINT) while the job sleeps and expects the run to finish and exit code 0.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from scheduler import ScheduleSettings, run_forever


def main() -> int:
    marker = Path(sys.argv[1])

    def slow_job() -> None:
        with marker.open("a", encoding="utf-8") as out:
            out.write("started\n")
        time.sleep(1.0)
        with marker.open("a", encoding="utf-8") as out:
            out.write("finished\n")

    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    # run_now: the job runs at once; the cron schedule itself never fires during the test.
    return run_forever(
        slow_job,
        ScheduleSettings(),
        run_now=True,
        logger=logging.getLogger("slow_job_daemon"),
    )


if __name__ == "__main__":
    sys.exit(main())
