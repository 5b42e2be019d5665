"""Benchmark lifesci-tracker against urlwatch on the same loopback site (see bench/README.md).

For each mode (plain: noise, no validators; etag: noise plus ETag/Last-Modified with 304s) and each
repetition (1 warm-up + R counted), each tool starts from an empty store and runs three phases:
first run, unchanged run, and a run after 10% of the pages changed. Every run is a child process
measured with os.wait4 (user+sys CPU, peak RSS); the server counts requests and 304s; the store is
measured on disk; the pages each tool reports as changed are compared with the truth.

    .venv/bin/python -m bench.run_bench --pubs 125 --reps 3 --out bench/results/n125
    .venv/bin/python -m bench.run_bench --real-job --reps 3 --out bench/results/real
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.site import BenchServer, BenchSite, serve_site

ROOT = Path(__file__).resolve().parent.parent
TRACKER = ROOT / ".venv" / "bin" / "lifesci-tracker"
DEFAULT_URLWATCH_VENV = Path(tempfile.gettempdir()) / "bench-uw" / "venv"
PHASES = ("first", "unchanged", "changed")
BUMP_FRACTION = 0.1


@dataclass
class Measure:
    """One measured run of one tool."""

    tool: str
    mode: str
    phase: str
    rep: int
    pages: int
    wall_s: float
    user_s: float
    sys_s: float
    maxrss_kib: int
    exit_code: int
    store_bytes: int
    store_growth: int
    versions_new: int | None
    blobs_new: int | None
    page_requests: int
    robots_requests: int
    not_modified: int
    reported: int
    truth: int
    false_positives: int
    false_negatives: int
    loadavg: float
    notes: list[str] = field(default_factory=list)

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s

    @property
    def exact(self) -> bool:
        return self.false_positives == 0 and self.false_negatives == 0


@dataclass
class Usage:
    """What os.wait4 said about a child."""

    ru_utime: float
    ru_stime: float
    ru_maxrss: int


class Launcher:
    """The small process that runs measured commands (see bench/launcher.py)."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.launcher"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, argv: Sequence[str], cwd: Path, env: dict[str, str]) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        request = {
            "argv": list(argv),
            "cwd": str(cwd),
            "env": env,
            "stdout": str(cwd / "stdout.txt"),
            "stderr": str(cwd / "stderr.txt"),
        }
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        answer: dict[str, Any] = json.loads(self.process.stdout.readline())
        return answer

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)


_launcher: Launcher | None = None


def start_launcher() -> None:
    """Start the launcher; call before building the site (the bigger the driver, the earlier)."""
    global _launcher
    _launcher = Launcher()


def run_child(argv: Sequence[str], cwd: Path, env: dict[str, str]) -> tuple[int, float, Any, str]:
    """Run argv; return exit code, wall seconds, its rusage (os.wait4) and its stdout."""
    if _launcher is None:
        start_launcher()
    assert _launcher is not None
    answer = _launcher.run(argv, cwd, env)
    code = answer["code"]
    text = (cwd / "stdout.txt").read_text(encoding="utf-8", errors="replace")
    if code not in (0, 1):
        tail = (cwd / "stderr.txt").read_text(encoding="utf-8", errors="replace")[-2000:]
        raise RuntimeError(f"{argv[0]} exited {code}:\n{tail}")
    usage = Usage(answer["user_s"], answer["sys_s"], answer["maxrss_kib"])
    return code, answer["wall_s"], usage, text


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIFESCI_TRACKER_", "PYTHON"))}
    env["HOME"] = str(home)
    return env


class TrackerTool:
    """lifesci-tracker: N publication URLs in [source] urls, SQLite store, JSON report file."""

    name = "lifesci-tracker"

    def __init__(
        self,
        work: Path,
        site: BenchSite,
        *,
        polite: bool = False,
        formats: str = "json",
        code_root: str | None = None,
    ) -> None:
        self.work = work
        self.code_root = code_root
        self.db = work / "tracker.db"
        self.reports = work / "report-files"  # not "reports": `python -m` puts cwd on sys.path
        urls = json.dumps(site.publication_urls())
        rate = "" if polite else "requests_per_second = 10000\nretries = 1\nbackoff_s = 0.01\n"
        fmt = json.dumps([f.strip() for f in formats.split(",") if f.strip()])
        (work / "config.toml").write_text(
            f'[source]\nurls = {urls}\nallowed_hosts = ["127.0.0.1"]\n{rate}\n'
            f'[database]\nurl = "sqlite:///{self.db}"\n\n'
            f'[reports]\ndir = "{self.reports}"\nformats = {fmt}\n',
            encoding="utf-8",
        )
        self.env = clean_env(work)

    def argv(self) -> list[str]:
        command = [str(TRACKER)]
        if self.code_root:  # another copy of the code (e.g. before a change), same venv
            boot = (
                f"import sys; sys.path.insert(0, {self.code_root!r}); "
                "from tracker.cli import main; main()"
            )
            command = [str(ROOT / ".venv" / "bin" / "python"), "-P", "-c", boot]
        return [*command, "--config", str(self.work / "config.toml"), "-q", "run", "--json"]

    def store(self) -> tuple[int, int | None, int | None]:
        if not self.db.exists():
            return 0, 0, 0
        size = self.db.stat().st_size + _size(self.db.with_name(self.db.name + "-wal"))
        with sqlite3.connect(self.db) as connection:
            versions = connection.execute("select count(*) from page_version").fetchone()[0]
            blobs = connection.execute("select count(*) from blob").fetchone()[0]
        connection.close()
        return size, versions, blobs

    def before_run(self) -> None:
        self._reports_before = set(self.reports.glob("*.json")) if self.reports.exists() else set()

    def reported(self, stdout: str) -> tuple[set[str], list[str]]:
        """URLs the run's JSON report lists as changed, and notes.

        A first run's report is a baseline that lists no pages: then the pages the run stored as
        "new" (its per-page outcomes) are what it reports.
        """
        notes = []
        summary = json.loads(stdout)
        if summary.get("problems"):
            notes.append(f"{len(summary['problems'])} problem pages: {summary['problems'][:2]}")
        new = sorted(set(self.reports.glob("*.json")) - self._reports_before)
        stored = self._stored_changes()
        urls: set[str] = set()
        for path in new:
            document = json.loads(path.read_text(encoding="utf-8"))
            if document.get("from") is None:
                return stored, notes  # a baseline
            urls |= {d["url"] for d in document["documents"]}
        if stored != urls:
            notes.append(f"report lists {len(urls)} pages, storage changed {len(stored)}")
        return urls, notes

    def _stored_changes(self) -> set[str]:
        with sqlite3.connect(self.db) as connection:
            rows = connection.execute(
                "select page.url from observation join page on page.id = observation.page_id "
                "where observation.run_id = (select max(id) from run) "
                "and observation.outcome in ('new', 'changed')"
            ).fetchall()
        connection.close()
        return {row[0] for row in rows}


class UrlwatchTool:
    """urlwatch: one job per page URL with a css:main filter, its own cache, stdout reporter."""

    name = "urlwatch"

    def __init__(self, work: Path, site: BenchSite, venv: Path) -> None:
        self.work = work
        self.venv = venv
        self.cache = work / "cache.db"
        jobs = "---\n".join(
            f"name: {json.dumps(url)}\nurl: {json.dumps(url)}\nfilter:\n  - css: main\n"
            for url in site.page_urls()
        )
        (work / "urls.yaml").write_text(jobs, encoding="utf-8")
        (work / "urlwatch.yaml").write_text(
            "report:\n  stdout:\n    enabled: true\n    color: false\n"
            "  text:\n    details: true\n    footer: false\n    line_length: 75\n",
            encoding="utf-8",
        )
        self.env = clean_env(work)

    def argv(self) -> list[str]:
        work = self.work
        return [
            str(self.venv / "bin" / "urlwatch"),
            "--urls", str(work / "urls.yaml"),
            "--config", str(work / "urlwatch.yaml"),
            "--cache", str(self.cache),
            "--hooks", str(work / "hooks.py"),
        ]  # fmt: skip

    def store(self) -> tuple[int, int | None, int | None]:
        if not self.cache.exists():
            return 0, 0, None
        with sqlite3.connect(self.cache) as connection:
            entries = connection.execute("select count(*) from CacheEntry").fetchone()[0]
        connection.close()
        return self.cache.stat().st_size, entries, None

    def before_run(self) -> None:
        pass

    def reported(self, stdout: str) -> tuple[set[str], list[str]]:
        urls, notes = set(), []
        for verb, name in re.findall(
            r"^\d+\. (NEW|CHANGED|ERROR|UNCHANGED): (.+?)\s*$", stdout, re.M
        ):
            if verb in ("NEW", "CHANGED"):
                urls.add(name)
            elif verb == "ERROR":
                notes.append(f"error: {name}")
        return urls, notes[:3]


Tool = TrackerTool | UrlwatchTool


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def measure(
    tool: Tool, server: BenchServer, *, mode: str, phase: str, rep: int, truth: set[str], pages: int
) -> Measure:
    size_before, versions_before, blobs_before = tool.store()
    server.reset_counts()
    tool.before_run()
    load = os.getloadavg()[0]
    code, wall, usage, stdout = run_child(tool.argv(), tool.work, tool.env)
    counts = server.reset_counts()
    size, versions, blobs = tool.store()
    reported, notes = tool.reported(stdout)
    return Measure(
        tool=tool.name,
        mode=mode,
        phase=phase,
        rep=rep,
        pages=pages,
        wall_s=wall,
        user_s=usage.ru_utime,
        sys_s=usage.ru_stime,
        maxrss_kib=usage.ru_maxrss,
        exit_code=code,
        store_bytes=size,
        store_growth=size - size_before,
        versions_new=None if versions is None else versions - (versions_before or 0),
        blobs_new=None if blobs is None else blobs - (blobs_before or 0),
        page_requests=counts.page_requests,
        robots_requests=counts.robots_requests,
        not_modified=counts.not_modified,
        reported=len(reported),
        truth=len(truth),
        false_positives=len(reported - truth),
        false_negatives=len(truth - reported),
        loadavg=load,
        notes=notes,
    )


def run_sequence(
    make_tool: Callable[[Path], Tool],
    server: BenchServer,
    site: BenchSite,
    *,
    mode: str,
    rep: int,
    seed: int,
) -> list[Measure]:
    """Fresh store; first run, unchanged run, then 10% of pages changed; site reset after."""
    results = []
    pages = len(site.pages)
    with tempfile.TemporaryDirectory(prefix="lifesci-bench-") as tmp:
        tool = make_tool(Path(tmp))
        site.reset()
        everything = set(site.page_urls())
        for phase in PHASES:
            truth: set[str] = set()
            if phase == "first":
                truth = everything
            elif phase == "changed":
                truth = site.bump(BUMP_FRACTION, seed)
            result = measure(
                tool, server, mode=mode, phase=phase, rep=rep, truth=truth, pages=pages
            )
            results.append(result)
            print(
                f"  {mode:9} rep {rep} {tool.name:15} {phase:9} wall {result.wall_s:6.2f}s "
                f"cpu {result.cpu_s:6.2f}s rss {result.maxrss_kib / 1024:5.1f}MiB "
                f"req {result.page_requests} 304 {result.not_modified} "
                f"store +{result.store_growth} v+{result.versions_new} b+{result.blobs_new} "
                f"reported {result.reported}/{result.truth} fp {result.false_positives} "
                f"fn {result.false_negatives} exit {result.exit_code} load {result.loadavg:.2f}"
                + (f" notes {result.notes}" if result.notes else ""),
                flush=True,
            )
        site.reset()
    return results


MODES = {
    "plain": {"noise": True, "validators": False},
    "etag": {"noise": True, "validators": True},
}


def bench(args: argparse.Namespace) -> list[Measure]:
    measures: list[Measure] = []
    tools = [t.strip() for t in args.tools.split(",")]
    latency = 0.05 if args.real_job else args.latency_ms / 1000
    publications = 1 if args.real_job else args.pubs
    with serve_site(publications, latency_s=latency) as (server, site):
        print(
            f"site: {len(site.pages)} pages on {server.base_url}, latency {latency * 1000:.0f} ms"
        )
        for mode in args.modes.split(","):
            for key, value in MODES[mode].items():
                setattr(server, key, value)
            for rep in range(args.warmup + args.reps):
                counted = rep - args.warmup
                for name in tools:
                    if name == "tracker":

                        def make_tool(work: Path) -> Tool:
                            return TrackerTool(
                                work,
                                site,
                                polite=args.real_job,
                                formats=args.tracker_formats,
                                code_root=args.tracker_code,
                            )
                    else:

                        def make_tool(work: Path) -> Tool:
                            return UrlwatchTool(work, site, Path(args.urlwatch_venv))

                    results = run_sequence(
                        make_tool, server, site, mode=mode, rep=counted, seed=1000 + rep
                    )
                    measures.extend(results)
    return measures


# --- the table -----------------------------------------------------------------------------------


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarise(measures: list[Measure]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Medians of the counted runs per (mode, phase, tool)."""
    groups: dict[tuple[str, str, str], list[Measure]] = {}
    for m in measures:
        if m.rep >= 0:
            groups.setdefault((m.mode, m.phase, m.tool), []).append(m)
    table = {}
    for key, runs in groups.items():
        pages = runs[0].pages
        table[key] = {
            "runs": len(runs),
            "pages": pages,
            "wall_s": _median([r.wall_s for r in runs]),
            "cpu_s": _median([r.cpu_s for r in runs]),
            "cpu_ms_page": _median([r.cpu_s for r in runs]) * 1000 / pages,
            "rss_mib": _median([r.maxrss_kib for r in runs]) / 1024,
            "rss_max_mib": max(r.maxrss_kib for r in runs) / 1024,
            "store_kib": _median([r.store_bytes for r in runs]) / 1024,
            "growth_b_page": _median([r.store_growth for r in runs]) / pages,
            "versions_new": _median([r.versions_new for r in runs if r.versions_new is not None])
            if runs[0].versions_new is not None
            else None,
            "blobs_new": _median([r.blobs_new for r in runs if r.blobs_new is not None])
            if runs[0].blobs_new is not None
            else None,
            "requests": _median([r.page_requests for r in runs]),
            "not_modified": _median([r.not_modified for r in runs]),
            "exact": sum(r.exact for r in runs),
            "false_positives": max(r.false_positives for r in runs),
            "false_negatives": max(r.false_negatives for r in runs),
            "reported": _median([r.reported for r in runs]),
            "truth": runs[0].truth,
            "load": _median([r.loadavg for r in runs]),
        }
    return table


def _fmt(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) and value % 1 else f"{value:g}"


def markdown(measures: list[Measure], machine: dict[str, str], command: str) -> str:
    table = summarise(measures)
    modes = list(dict.fromkeys(m.mode for m in measures))
    tools = list(dict.fromkeys(m.tool for m in measures))
    lines = [
        f"Command: `{command}`",
        "",
        "Machine: " + "; ".join(f"{k} {v}" for k, v in machine.items()),
        "",
        "| mode | phase | tool | wall s | CPU s | CPU ms/page | peak RSS MiB | store KiB | "
        "growth B/page | new versions | new blobs | requests | 304s | changed reported "
        "(truth) | exact runs | load |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ratios = []
    for mode in modes:
        for phase in PHASES:
            for tool in tools:
                row = table.get((mode, phase, tool))
                if row is None:
                    continue
                lines.append(
                    f"| {mode} | {phase} | {tool} | {row['wall_s']:.2f} | {row['cpu_s']:.2f} | "
                    f"{row['cpu_ms_page']:.2f} | {row['rss_mib']:.1f} | {row['store_kib']:.0f} | "
                    f"{row['growth_b_page']:.0f} | {_fmt(row['versions_new'])} | "
                    f"{_fmt(row['blobs_new'])} | {row['requests']:g} | {row['not_modified']:g} | "
                    f"{row['reported']:g} ({row['truth']}) | {row['exact']}/{row['runs']} | "
                    f"{row['load']:.2f} |"
                )
            mine = table.get((mode, phase, "lifesci-tracker"))
            theirs = table.get((mode, phase, "urlwatch"))
            if mine and theirs:
                ratios.append(
                    f"| {mode} | {phase} | {mine['cpu_s'] / theirs['cpu_s']:.2f} | "
                    f"{mine['wall_s'] / theirs['wall_s']:.2f} | "
                    f"{mine['rss_mib'] / theirs['rss_mib']:.2f} |"
                )
    if ratios:
        lines += [
            "",
            "Ratios lifesci-tracker / urlwatch (medians; < 1 means lifesci-tracker uses less):",
            "",
            "| mode | phase | CPU | wall | peak RSS |",
            "|---|---|---:|---:|---:|",
            *ratios,
        ]
    return "\n".join(lines) + "\n"


def machine_info(urlwatch_venv: Path) -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    meminfo = Path("/proc/meminfo").read_text(encoding="utf-8")
    total = re.search(r"^MemTotal:\s*(\d+)", meminfo, re.M)
    uw_version = "not installed"
    binary = urlwatch_venv / "bin" / "urlwatch"
    if binary.exists():
        uw_version = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
    tracker_python = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "CPU": model[1].strip() if model else platform.processor(),
        "RAM": f"{int(total[1]) / 1024 / 1024:.1f} GiB" if total else "?",
        "Python": tracker_python,
        "urlwatch": uw_version,
        "kernel": platform.release(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pubs", type=int, default=125, help="publications (8 pages each)")
    parser.add_argument("--reps", type=int, default=3, help="counted repetitions")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up repetitions (not counted)")
    parser.add_argument("--modes", default="plain,etag", help="plain, etag or both")
    parser.add_argument("--tools", default="tracker,urlwatch")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument(
        "--real-job", action="store_true", help="1 publication, polite defaults, 50 ms"
    )
    parser.add_argument("--tracker-formats", default="json", help="[reports] formats")
    parser.add_argument("--urlwatch-venv", default=str(DEFAULT_URLWATCH_VENV))
    parser.add_argument(
        "--tracker-code", help="run lifesci-tracker from this copy of the packages (before/after)"
    )
    parser.add_argument("--out", help="write OUT.json (raw runs) and OUT.md (table)")
    args = parser.parse_args(argv)
    if "urlwatch" in args.tools and not (Path(args.urlwatch_venv) / "bin" / "urlwatch").exists():
        parser.error(f"no urlwatch in {args.urlwatch_venv}: see bench/README.md")
    command = "python -m bench.run_bench " + " ".join(sys.argv[1:] if argv is None else argv)
    start_launcher()  # before the site exists: children's peak RSS must not include it
    machine = machine_info(Path(args.urlwatch_venv))
    print(f"load average before: {os.getloadavg()}")
    measures = bench(args)
    print(f"load average after: {os.getloadavg()}")
    text = markdown(measures, machine, command)
    print(text)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        raw = {
            "command": command,
            "machine": machine,
            "runs": [asdict(m) | {"cpu_s": m.cpu_s, "exact": m.exact} for m in measures],
        }
        out.with_suffix(".json").write_text(json.dumps(raw, indent=1), encoding="utf-8")
        out.with_suffix(".md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
