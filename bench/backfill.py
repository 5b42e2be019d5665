"""Benchmark `backfill` over the loopback fake archive (tests/fake_archive.py): wall and CPU time,
requests made, what was stored, for a first import and a second (idempotent) one.

Run by hand, never by pytest:

    .venv/bin/python -m bench.backfill                 # the scripted history of the tests
    .venv/bin/python -m bench.backfill --weeks 52      # a year of weekly captures of all 8 pages

The backfill runs in a child process (`python -m tracker backfill --json`), as a user runs it, so
CPU is the child's (user + system, from getrusage) and includes interpreter start-up. The archive
answers at once (`requests_per_second` 1000): wall time here is CPU and loopback latency; against
a real archive at the default 1 request/s it is about one second per request made.
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.backfill_e2e import Backfiller
from tests.fake_archive import (
    FIRST_LIVE_RUN,
    Copy,
    FakeArchive,
    History,
    history,
    live_states,
    serve_archive,
)
from tests.govuk_site import PUBLICATION_PATH, default_site, render_site
from tests.site_server import SiteServer, serve

REPO = Path(__file__).resolve().parent.parent


def weekly_history(origin: str, weeks: int) -> History:
    """`weeks` weekly crawls of the publication and its 7 documents from 2019-01-07: each week one
    organisation is re-described in one document; every fourth week the publication gets a note."""
    site = default_site()
    copies: list[Copy] = []
    start = datetime(2019, 1, 7, 10, 0, tzinfo=UTC)
    for week in range(weeks):
        site = copy.deepcopy(site)
        document = site.docs[week % len(site.docs)]
        organisation = document.stages[0].orgs[0]
        organisation.description_html = f"<p>Described as in week {week}.</p>"
        if week % 4 == 3:
            site.add_change_note(start + timedelta(weeks=week), f"Weekly update {week}.")
        pages = render_site(site, origin)
        at = start + timedelta(weeks=week)
        copies.append(
            Copy(origin + PUBLICATION_PATH, at.strftime("%Y%m%d%H%M%S"), pages[PUBLICATION_PATH])
        )
        for minute, doc in enumerate(site.docs, 1):
            taken = (at + timedelta(minutes=minute)).strftime("%Y%m%d%H%M%S")
            copies.append(Copy(origin + doc.path, taken, pages[doc.path]))
    return History(tuple(copies), origin=origin, first_live_run=start + timedelta(weeks=weeks))


def backfill_once(config: Path) -> tuple[dict[str, Any], float, float]:
    """Run `backfill --json` in a child process; return its output, wall and CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "tracker", "--config", str(config), "backfill", "--json"],
        cwd=REPO,
        capture_output=True,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"backfill failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    return json.loads(done.stdout), wall, cpu


def requests_by_kind(archive: FakeArchive) -> Counter[str]:
    kinds: Counter[str] = Counter()
    for request in archive.requests:
        path = urlsplit(request.path).path
        if path == archive.cdx_path:
            kinds["cdx"] += 1
        elif "id_/" in path:
            kinds["replay"] += 1
        else:
            kinds["other"] += 1
    return kinds


def measure(site: SiteServer, archive: FakeArchive, scripted: History, folder: Path) -> None:
    database = folder / "tracker.db"
    backfiller = Backfiller.create(site, archive, scripted, folder, f"sqlite:///{database}")
    if scripted.first_live_run == FIRST_LIVE_RUN:
        backfiller.live_run(live_states()[0], FIRST_LIVE_RUN)
    else:  # the synthetic history: a live run after its last week
        backfiller.live_run(default_site(), scripted.first_live_run)
    for label in ("first import", "second (nothing new)"):
        archive.requests.clear()
        result, wall, cpu = backfill_once(backfiller.config)
        captures = result["captures"]
        kinds = requests_by_kind(archive)
        print(
            f"{label}: wall {wall:.2f} s, CPU {cpu:.2f} s; requests: {sum(kinds.values())} "
            f"({kinds['cdx']} CDX, {kinds['replay']} replays, {kinds['other']} robots.txt); "
            f"captures listed {captures['listed']}, fetched {captures['fetched']}, stored "
            f"{captures['stored']}, unchanged {captures['unchanged']}; runs {result['runs']}; "
            f"database {database.stat().st_size / 1024:.0f} KiB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weeks", type=int, default=0, help="a synthetic weekly history instead")
    args = parser.parse_args()
    with serve() as site, serve_archive() as archive, tempfile.TemporaryDirectory() as folder:
        if args.weeks:
            scripted = weekly_history(site.base_url, args.weeks)
        else:
            scripted = history(origin=site.base_url)
        measure(site, archive, scripted, Path(folder))


if __name__ == "__main__":
    main()
