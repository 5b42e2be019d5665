"""Benchmark `site build` on the real job's store: 1 publication + 7 documents (8 pages).

Run by hand, never by pytest:

    .venv/bin/python -m bench.site_build --unchanged 250 --reps 5

The store goes through the eight states of `tests/site_history.py` (baseline, additions, a rename,
a move, a re-description, a removed document, a silent change, a run with problems), served on
127.0.0.1, with `--unchanged` unchanged runs spread between them (a year of weekday runs is about
250). Then `lifesci-tracker site build` runs `--reps` times as a fresh process (wall and CPU time
include Python's start-up; CPU time varies less when other work shares the machine), and the
build's own time (read, render, write) is reported too.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.e2e import Tracker
from tests.site_history import record_history
from tests.site_server import serve

ROOT = Path(__file__).resolve().parent.parent
TRACKER = ROOT / ".venv" / "bin" / "lifesci-tracker"


class _Padded(Tracker):
    """A tracker that adds unchanged runs after each recorded one."""

    extra_runs: int = 0

    def run_json(self, *args: str) -> tuple[int, dict[str, object]]:
        result = super().run_json(*args)
        for _ in range(self.extra_runs):
            code, _output = super().run_json(*args)
            assert code in (0, 1)
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unchanged", type=int, default=0, help="unchanged runs in all")
    parser.add_argument("--reps", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, serve() as server:
        base = Tracker.create(server, Path(folder), extra="enabled = false")
        tracker = _Padded(base.server, base.config)
        tracker.extra_runs = options.unchanged // 8
        started = time.perf_counter()
        record_history(tracker)
        print(f"store: {8 + tracker.extra_runs * 8} runs in {time.perf_counter() - started:.1f} s")
        walls, cpus, builds = [], [], []
        for _ in range(options.reps):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            output = subprocess.run(
                [str(TRACKER), "--config", str(tracker.config), "site", "build", f"{folder}/site"],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "LIFESCI_TRACKER_DATABASE_URL": ""},
            ).stdout
            walls.append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            builds.append(float(output.rsplit(" in ", 1)[1].split()[0]))
        print(output.strip())
        print(
            f"site build, median of {options.reps}: {statistics.median(walls):.2f} s wall and "
            f"{statistics.median(cpus):.2f} s CPU (the whole process), "
            f"{statistics.median(builds):.2f} s build (read, render, write); "
            f"load average {os.getloadavg()[0]:.1f}, Python {sys.version.split()[0]}"
        )


if __name__ == "__main__":
    main()
