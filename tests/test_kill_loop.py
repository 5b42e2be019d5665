"""SIGKILL at random points of a tracking run, repeated; and concurrent runs.

Each round starts `python -m tracker --config ... run` against the loopback site (every answer a
little late, so a run has many moments to be killed at), waits for a random number of requests
to reach the server plus a random delay, and SIGKILLs it. Then:

- SQLite's `PRAGMA integrity_check` says "ok" and `PRAGMA foreign_key_check` finds nothing;
- every stored version is complete: as many organisation rows as its parsed content lists
  organisations, as many update entry rows as it lists change notes, nothing for other kinds;
- the next run marks the killed run failed (none is left "running"), finishes with exit 0, and
  reaches the same state as an uninterrupted run: `orgs --format json` and
  `updates --format json` print exactly what a fresh database tracking the same site prints;
- it reports exactly the removals the site really made since the previous finished run.

The site flips between two versions each round (an organisation added, one removed, one
re-described and a change note), so every killed run is writing new versions.

Default: 20 kills on SQLite and 5 on PostgreSQL; `pytest --long` adds the loops marked `slow`:
200 on SQLite and 20 on PostgreSQL. Each loop prints its seed first; `pytest --seed N` replays
the same kill points. Figures: `pytest tests/test_kill_loop.py -s` prints one line per loop and
writes `kill-loop-<backend>.json` into pytest's base temporary directory.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from scraper.page import Publication, page_to_json
from storage.content import decode_versions
from storage.db import sqlite_path
from storage.tables import PageVersion, Run, UpdateEntryRow
from tests.e2e import Tracker
from tests.e2e import config_text as e2e_config_text
from tests.govuk_site import OrgSpec, SiteSpec, default_site
from tests.site_server import SiteServer, serve

EXPERIMENTAL = "experimental-medicine-and-clinical-trials"
MEDTECH = "medical-technology"
KILLS = 20
LONG_KILLS = 200
PG_KILLS = 5
PG_LONG_KILLS = 20
PAGE_DELAY_S = 0.03  # every answer waits this long: a run spans many kill points
REQUESTS_PER_RUN = 9  # robots.txt, the publication and its 7 documents
REPO = Path(__file__).resolve().parent.parent


def site_versions() -> dict[str, SiteSpec]:
    """Two versions of the site that differ in every way a run stores."""
    first = default_site("current")
    second = copy.deepcopy(first)
    experimental = second.doc(EXPERIMENTAL)
    experimental.stages[1].orgs.append(
        OrgSpec("Life Sciences Hub Wales", "https://lshubwales.com", "<p>Wales.</p>")
    )
    experimental.remove_org("The Farr Institute of Health Informatics Research")
    medtech = second.doc(MEDTECH)
    org = medtech.stages[0].orgs[0]
    org.description_html = org.description_html.replace("</p>", " Now also in Leeds.</p>", 1)
    second.add_change_note(
        second.change_notes[0][0].replace(year=2022), "Added Life Sciences Hub Wales."
    )
    return {"A": first, "B": second}


def config_text(server: SiteServer, database_url: str, reports_dir: Path) -> str:
    return e2e_config_text(server, database_url, reports_dir=reports_dir, timeout_s=10)


def make_tracker(server: SiteServer, database_url: str, directory: Path) -> Tracker:
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "config.toml"
    config.write_text(config_text(server, database_url, directory / "reports"), encoding="utf-8")
    return Tracker(server, config)


def run_cli(tracker: Tracker) -> dict[str, Any]:
    """One uninterrupted run in-process; waits for another session's lock on a shared server."""
    result = tracker.cli("run", "--json", "--wait", "60")
    assert "Traceback" not in result.output, result.output
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def state_of(tracker: Tracker) -> tuple[Any, Any]:
    """What `orgs` and `updates` print for `latest`.

    `orgs` lists documents in the order the database returns their newest versions, which
    depends on the history; the organisations are compared per document, in their order.
    """
    orgs = tracker.cli("orgs", "--format", "json")
    updates = tracker.cli("updates", "--format", "json")
    assert orgs.exit_code == updates.exit_code == 0, orgs.output + updates.output
    rows = sorted(json.loads(orgs.stdout), key=lambda o: (o["document_url"], o["position"]))
    return rows, json.loads(updates.stdout)


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("LIFESCI_TRACKER_DATABASE_URL", "LIFESCI_TRACKER_CONFIG"):
        env.pop(name, None)
    return env


def start_run(config: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tracker", "--config", str(config), "run", *args],
        cwd=REPO,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


# --- checks after a kill ----------------------------------------------------------------------


def check_integrity(database_url: str) -> None:
    """SQLite only: the file is sound and no foreign key dangles."""
    path = sqlite_path(database_url)
    if path is None:
        return
    connection = sqlite3.connect(path)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        connection.close()


def incomplete_versions(database_url: str) -> list[str]:
    """Return a line for every version whose rows do not match its parsed content: the page
    rebuilt from its stored content and organisation rows must have the version's hash, and
    its change notes must be its update entry rows."""
    engine = create_engine(database_url)
    problems = []
    try:
        with Session(engine) as session:
            updates = dict(
                session.execute(
                    select(UpdateEntryRow.version_id, func.count()).group_by(
                        UpdateEntryRow.version_id
                    )
                ).all()
            )
            versions = session.execute(
                select(PageVersion.id, PageVersion.content_hash, PageVersion.content)
            ).all()
            pages = decode_versions(session, [(row.id, row.content) for row in versions])
    finally:
        engine.dispose()
    for version_id, content_hash, _ in versions:
        page = pages[version_id]
        if content_hash != hashlib.sha256(page_to_json(page).encode()).hexdigest():
            problems.append(f"version {version_id}: its rows do not rebuild its content")
        notes = len(page.updates) if isinstance(page, Publication) else 0
        if updates.get(version_id, 0) != notes:
            problems.append(f"version {version_id}: {notes} change notes, other update rows")
    return problems


def runs_by_status(database_url: str) -> dict[int, str]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(Run.id, Run.status).order_by(Run.id)).all()
    finally:
        engine.dispose()
    return {int(run_id): str(status) for run_id, status in rows}


def killed_run_phase(database_url: str, before: dict[int, str]) -> str:
    """Where the kill landed, read from what the killed run left behind."""
    after = runs_by_status(database_url)
    new = [run_id for run_id in after if run_id not in before]
    if not new:
        return "before the run started"
    (run_id,) = new
    if after[run_id] != "running":
        return f"after the run finished ({after[run_id]})"
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            stored = connection.execute(
                text("SELECT count(*) FROM observation WHERE run_id = :run"), {"run": run_id}
            ).scalar_one()
    finally:
        engine.dispose()
    return f"mid-run, {stored} of 8 pages stored"


# --- the loop ---------------------------------------------------------------------------------


@dataclass
class LoopFigures:
    """The figures of one kill loop, for docs/reliability.md."""

    backend: str
    seed: int = 0
    rounds: int = 0
    kills: int = 0  # rounds where SIGKILL hit a running process
    finished_first: int = 0  # rounds where the run ended before the kill
    runs: int = 0  # tracking runs started, killed or not
    data_lost: int = 0
    false_removals: int = 0
    incomplete_versions: int = 0
    left_running: int = 0
    phases: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        data = {key: value for key, value in vars(self).items() if key != "phases"}
        return {**data, "phases": dict(sorted(self.phases.items()))}


@pytest.fixture
def figures_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp()


@pytest.fixture
def server() -> Iterator[SiteServer]:
    with serve() as running:
        yield running


def reference_states(server: SiteServer, directory: Path) -> dict[str, Any]:
    """Track each site version on a fresh SQLite database, uninterrupted; and the removals
    a run reports going from one version to the other."""
    sites = site_versions()
    states: dict[str, Any] = {}
    for name, site in sites.items():
        tracker = make_tracker(server, f"sqlite:///{directory}/{name}.db", directory / name)
        tracker.publish(site)
        run_cli(tracker)
        states[name] = state_of(tracker)
    flip = make_tracker(server, f"sqlite:///{directory}/flip.db", directory / "flip")
    removed = {}
    for old, new in (("A", "B"), ("B", "A")):
        flip.publish(sites[old])
        run_cli(flip)
        flip.publish(sites[new])
        removed[(old, new)] = run_cli(flip)["summary"]["organisations_removed"]
    assert removed[("A", "B")] == 1  # the site really removes one organisation
    return {"states": states, "removed": removed}


def kill_loop(
    server: SiteServer,
    database_url: str,
    work: Path,
    rounds: int,
    figures: LoopFigures,
    seed: int | None,
) -> None:
    sites = site_versions()
    if seed is None:
        seed = random.randrange(2**32)
    figures.seed = seed
    print(f"\nkill loop ({figures.backend}, {rounds} rounds): seed {seed} (replay: --seed {seed})")
    rng = random.Random(seed)
    reference = reference_states(server, work / "reference")
    server.delay_s = PAGE_DELAY_S
    tracker = make_tracker(server, database_url, work / "killed")
    tracker.publish(sites["A"])
    run_cli(tracker)
    figures.runs += 1
    finished_variant: dict[int, str] = {}  # finished run id -> the site version it tracked
    last = max(runs_by_status(database_url))
    finished_variant[last] = "A"
    for round_number in range(1, rounds + 1):
        variant = "B" if round_number % 2 else "A"
        tracker.publish(sites[variant])
        before_runs = runs_by_status(database_url)
        seen = server.request_count()
        target = rng.randrange(REQUESTS_PER_RUN + 1)
        process = start_run(tracker.config, "--wait", "60")
        figures.runs += 1
        deadline = time.monotonic() + 30
        if target == 0:
            time.sleep(rng.uniform(0.0, 0.8))  # imports, config, lock, schema check
        else:
            while (
                server.request_count() < seen + target
                and process.poll() is None
                and time.monotonic() < deadline
            ):
                time.sleep(0.002)
            # After the last request: the final transaction, the reports and the exit.
            tail = 0.4 if target == REQUESTS_PER_RUN else 2 * PAGE_DELAY_S
            time.sleep(rng.uniform(0.0, tail))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            figures.kills += 1
        else:
            figures.finished_first += 1
        out, err = process.communicate(timeout=30)
        assert b"Traceback" not in out + err, (out + err).decode()
        figures.rounds += 1

        check_integrity(database_url)
        problems = incomplete_versions(database_url)
        figures.incomplete_versions += len(problems)
        assert problems == []
        figures.phases[killed_run_phase(database_url, before_runs)] += 1
        statuses = runs_by_status(database_url)
        for run_id, status in statuses.items():
            if run_id not in before_runs and status in ("ok", "partial"):
                finished_variant[run_id] = variant

        result = tracker.cli("run", "--json", "--wait", "60")
        figures.runs += 1
        assert "Traceback" not in result.output, result.output
        assert result.exit_code == 0, result.output
        recovered = json.loads(result.stdout)
        statuses = runs_by_status(database_url)
        running = [run_id for run_id, status in statuses.items() if status == "running"]
        figures.left_running += len(running)
        assert running == []
        previous = max(run_id for run_id in finished_variant if run_id < recovered["run"])
        finished_variant[recovered["run"]] = variant
        old = finished_variant[previous]
        expected_removed = reference["removed"][(old, variant)] if old != variant else 0
        removed = recovered["summary"]["organisations_removed"]
        figures.false_removals += max(0, removed - expected_removed)
        assert removed == expected_removed, (round_number, old, variant, recovered)

        orgs, updates = state_of(tracker)
        want_orgs, want_updates = reference["states"][variant]
        figures.data_lost += sum(1 for org in want_orgs if org not in orgs)
        figures.data_lost += sum(
            1 for note in want_updates["updates"] if note not in updates["updates"]
        )
        assert orgs == want_orgs
        assert updates == want_updates


def report(figures: LoopFigures, directory: Path) -> None:
    data = figures.as_dict()
    path = directory / f"kill-loop-{figures.backend}.json"
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    summary = ", ".join(f"{key} {value}" for key, value in data.items() if key != "phases")
    print(f"\nkill loop ({figures.backend}): {summary} ({path})")


def sqlite_loop(tmp_path: Path, rounds: int, request: pytest.FixtureRequest) -> None:
    figures = LoopFigures("sqlite")
    server = request.getfixturevalue("server")
    try:
        kill_loop(
            server,
            f"sqlite:///{tmp_path}/killed.db",
            tmp_path,
            rounds,
            figures,
            request.config.getoption("--seed"),
        )
    finally:
        report(figures, request.getfixturevalue("figures_dir"))
    assert figures.kills >= rounds // 2, figures  # most rounds really killed a run


def postgresql_loop(tmp_path: Path, rounds: int, request: pytest.FixtureRequest) -> None:
    figures = LoopFigures("postgresql")
    server = request.getfixturevalue("server")
    url = request.getfixturevalue("pg_schema_url")
    try:
        kill_loop(server, url, tmp_path, rounds, figures, request.config.getoption("--seed"))
    finally:
        report(figures, request.getfixturevalue("figures_dir"))


def test_sigkill_at_random_points_on_sqlite(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    sqlite_loop(tmp_path, KILLS, request)


def test_sigkill_at_random_points_on_postgresql(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    postgresql_loop(tmp_path, PG_KILLS, request)


@pytest.mark.slow
def test_many_sigkills_on_sqlite(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    sqlite_loop(tmp_path, LONG_KILLS, request)


@pytest.mark.slow
def test_many_sigkills_on_postgresql(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    postgresql_loop(tmp_path, PG_LONG_KILLS, request)


# --- a kill while the first run creates the schema --------------------------------------------

KILL_DURING_SCHEMA = """
import os, signal, sys
from sqlalchemy import event
import storage.db

create = storage.db.create_db_engine
statements = 0

def create_and_watch(url):
    engine = create(url)

    @event.listens_for(engine, "before_cursor_execute")
    def kill_on_the_fourth_create(conn, cursor, statement, *args):
        global statements
        if statement.lstrip().upper().startswith("CREATE"):
            statements += 1
            if statements == 4:
                os.kill(os.getpid(), signal.SIGKILL)

    return engine

storage.db.create_db_engine = create_and_watch
import tracker.app
tracker.app.create_db_engine = create_and_watch
from tracker.cli import main
sys.argv = ["lifesci-tracker", "--config", sys.argv[1], "run"]
main()
"""


def test_a_kill_while_the_first_run_creates_the_schema_is_recovered(
    server: SiteServer, tmp_path: Path
) -> None:
    database_url = f"sqlite:///{tmp_path}/fresh.db"
    tracker = make_tracker(server, database_url, tmp_path)
    tracker.publish(default_site("current"))
    killed = subprocess.run(
        [sys.executable, "-c", KILL_DURING_SCHEMA, str(tracker.config)],
        cwd=REPO,
        env=subprocess_env(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()
    check_integrity(database_url)
    result = tracker.cli("run", "--json")
    assert result.exit_code == 0, result.output


# --- concurrent runs --------------------------------------------------------------------------


def test_concurrent_runs_never_interleave_or_duplicate_versions(
    server: SiteServer, database_url: str, tmp_path: Path
) -> None:
    server.delay_s = PAGE_DELAY_S
    tracker = make_tracker(server, database_url, tmp_path)
    tracker.publish(default_site("current"))
    processes = [start_run(tracker.config, "--json", "--wait", "60") for _ in range(3)]
    outputs = [process.communicate(timeout=120) for process in processes]
    codes = [process.returncode for process in processes]
    assert codes == [0, 0, 0], [err.decode() for _, err in outputs]
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            runs = connection.execute(
                select(Run.id, Run.started_at, Run.finished_at, Run.status).order_by(Run.id)
            ).all()
            versions = connection.execute(
                select(PageVersion.page_id, PageVersion.content_hash, PageVersion.run_id)
            ).all()
    finally:
        engine.dispose()
    assert [run.status for run in runs] == ["ok", "ok", "ok"]
    for earlier, later in itertools.pairwise(runs):
        assert earlier.finished_at <= later.started_at  # one after the other, never interleaved
    assert len(versions) == 8  # the first run stored each page once; the others nothing
    assert len({(page_id, digest) for page_id, digest, _ in versions}) == 8
    assert {run_id for _, _, run_id in versions} == {runs[0].id}
