"""Profile one lifesci-tracker run on the benchmark site with cProfile (see bench/README.md).

    .venv/bin/python -m bench.profile_run --pubs 25 --phase unchanged --mode plain --top 40
    .venv/bin/python -m bench.profile_run --pubs 125 --phase first --sampler pyinstrument

Runs the earlier phases unprofiled, then the chosen phase as `python -m cProfile -o OUT -m tracker`
in a child process, and prints the top functions by internal and by cumulative time. cProfile
counts every call and so inflates pure-Python code several times over; `--sampler pyinstrument`
(`pip install -e '.[bench]'`) samples instead and prints its call tree, closer to real CPU shares.
"""

from __future__ import annotations

import argparse
import pstats
import sys
import tempfile
from pathlib import Path

from bench.run_bench import MODES, PHASES, ROOT, TrackerTool, run_child, start_launcher
from bench.site import serve_site


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pubs", type=int, default=25)
    parser.add_argument("--phase", choices=PHASES, default="unchanged")
    parser.add_argument("--mode", choices=list(MODES), default="plain")
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "lifesci-bench.prof"))
    parser.add_argument("--sampler", choices=("cprofile", "pyinstrument"), default="cprofile")
    args = parser.parse_args()
    start_launcher()
    with (
        serve_site(args.pubs, **MODES[args.mode]) as (_server, site),
        tempfile.TemporaryDirectory(prefix="lifesci-prof-") as tmp,
    ):
        tool = TrackerTool(Path(tmp), site)
        for phase in PHASES:
            if phase == "changed":
                site.bump(0.1, seed=1)
            argv = tool.argv()
            if phase == args.phase:
                profiler = (
                    ["pyinstrument", "-r", "text", "-o", args.out]
                    if args.sampler == "pyinstrument"
                    else ["cProfile", "-o", args.out]
                )
                argv = [str(ROOT / ".venv/bin/python"), "-m", *profiler,
                        "-m", "tracker", *argv[1:]]  # fmt: skip
                code, wall, usage, out = run_child(argv, tool.work, tool.env)
                print(out[-1500:], (tool.work / "stderr.txt").read_text()[-1500:])
                print(f"{phase}: exit {code}, wall {wall:.2f}s, "
                      f"cpu {usage.ru_utime + usage.ru_stime:.2f}s (profiled)")  # fmt: skip
                break
            run_child(argv, tool.work, tool.env)
    if args.sampler == "pyinstrument":
        print(Path(args.out).read_text(encoding="utf-8"))
        return 0
    stats = pstats.Stats(args.out)
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
