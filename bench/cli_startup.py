"""How long the command line takes to answer: `--version`, `--help` and query commands (issue 13).

Builds the real 8-page store (1 publication + 7 documents, two runs) from a loopback site in a
temporary folder, then runs each command N times as a user would (a new process each time,
through the installed `lifesci-tracker` script) and prints the median wall time. Also prints
which heavy libraries each command imports (`-X importtime`).

    .venv/bin/python -m bench.cli_startup --reps 21
    .venv/bin/python -m bench.cli_startup --reps 21 --code /tmp/before   # another copy of the code
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
from collections.abc import Sequence
from pathlib import Path

from tests.e2e import config_text
from tests.govuk_site import default_site, render_site
from tests.site_server import serve

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / ".venv" / "bin" / "lifesci-tracker"
COMMANDS: tuple[tuple[str, ...], ...] = (
    ("--version",),
    ("--help",),
    ("check-config",),
    ("orgs",),
    ("diff",),
    ("history",),
)
HEAVY = ("sqlalchemy", "requests", "urllib3", "alembic", "lxml", "bs4", "rich", "jinja2")


def command_line(code: str | None) -> list[str]:
    """How to start lifesci-tracker: the installed script, or `code` (a copy of the packages)."""
    if code is None:
        return [str(SCRIPT)]
    boot = f"import sys; sys.path.insert(0, {code!r}); from tracker.cli import main; main()"
    return [sys.executable, "-P", "-c", boot]


def _env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFESCI_TRACKER")}
    env["LIFESCI_TRACKER_CONFIG"] = str(folder / "config.toml")
    return env


def build_store(folder: Path) -> None:
    """Track the default loopback site twice into `folder` (SQLite), then stop serving."""
    with serve() as server:
        server.pages = render_site(default_site(), server.base_url)
        (folder / "config.toml").write_text(
            config_text(server, f"sqlite:///{folder}/tracker.db", reports_dir=folder / "reports"),
            encoding="utf-8",
        )
        for _ in range(2):
            subprocess.run(
                [str(SCRIPT), "run", "--no-report"],
                env=_env(folder),
                cwd=folder,
                stdout=subprocess.DEVNULL,
                check=True,
            )


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def median_times(argv: Sequence[str], env: dict[str, str], reps: int) -> tuple[float, float]:
    """Median wall and CPU seconds of `reps` runs of `argv` (one warm-up not counted).

    CPU time (user + system) is the steadier figure on a shared machine: wall time also counts
    the time other processes held the cores.
    """
    walls, cpus = [], []
    for index in range(reps + 1):
        start, cpu = time.perf_counter(), _children_cpu_s()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, check=True, cwd="/")
        if index:
            walls.append(time.perf_counter() - start)
            cpus.append(_children_cpu_s() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def heavy_imports(command: Sequence[str], env: dict[str, str], code: str | None) -> list[str]:
    """The heavy top-level packages a command imports."""
    path = "" if code is None else f"sys.path.insert(0, {code!r}); "
    boot = (
        f"import sys; {path}from tracker.cli import main; "
        "sys.argv = ['lifesci-tracker', *sys.argv[1:]]; main()"
    )
    completed = subprocess.run(
        [sys.executable, "-P", "-X", "importtime", "-c", boot, *command],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
        cwd="/",
    )
    seen = set()
    for line in completed.stderr.splitlines():
        name = line.rpartition("|")[2].strip()
        if name.split(".")[0] in HEAVY:
            seen.add(name.split(".")[0])
    return sorted(seen)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=21)
    parser.add_argument("--code", help="run this copy of the packages instead (before/after)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        build_store(folder)
        env = _env(folder)
        wall, cpu = median_times([sys.executable, "-c", "pass"], env, args.reps)
        print(f"python -c pass: {wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU")
        print("| command | median wall ms | median CPU ms | heavy imports |")
        print("|---|---:|---:|---|")
        for command in COMMANDS:
            wall, cpu = median_times([*command_line(args.code), *command], env, args.reps)
            heavy = ", ".join(heavy_imports(command, env, args.code)) or "none"
            name = " ".join(command)
            print(f"| `lifesci-tracker {name}` | {wall * 1000:.0f} | {cpu * 1000:.0f} | {heavy} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
