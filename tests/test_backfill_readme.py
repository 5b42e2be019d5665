"""The README's backfill session ("History from web archives") is real output: the fake archive's
scripted history (tests/fake_archive.py) imported through the real CLI into a store whose first
live run tracked the loopback site on 2022-01-10.

The session must equal the output with the loopback site's address read as www.gov.uk and the
report file's creation time as the README shows it; `--update-golden` (or UPDATE_GOLDEN=1)
rewrites it in the README.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.backfill_e2e import Backfiller
from tests.fake_archive import FIRST_LIVE_RUN, history, live_states, serve_archive
from tests.golden import updating
from tests.site_server import SiteServer

README = Path(__file__).resolve().parent.parent / "README.md"
SESSION = re.compile(
    r"(## History from web archives\n.*?```\n)(\$ lifesci-tracker backfill --dry-run\n.*?)(```\n)",
    re.S,
)
REPORT_NAME = re.compile(r"2-5-\d{8}T\d{6}Z\.txt")
README_REPORT_NAME = "2-5-20260301T090000Z.txt"
COMMANDS = (
    ("backfill", "--dry-run"),
    ("backfill",),
    ("history",),
    ("diff", "2", "3"),
    ("backfill", "--json"),
)


def session(server: SiteServer, folder: Path) -> str:
    """Every README command and what it printed, as on a terminal."""
    with serve_archive() as archive:
        backfiller = Backfiller.create(
            server,
            archive,
            history(origin=server.base_url),
            folder,
            f"sqlite:///{folder}/tracker.db",
        )
        backfiller.live_run(live_states()[0], FIRST_LIVE_RUN)
        lines = []
        for command in COMMANDS:
            result = backfiller.cli(*command)
            assert result.exit_code == 0, result.output
            lines.append(f"$ lifesci-tracker {' '.join(command)}\n{result.stdout}")
    (report,) = (folder / "reports").glob("*.txt")
    head = "".join(report.read_text(encoding="utf-8").splitlines(keepends=True)[:11])
    lines.append(f"$ head -11 lifesci-tracker-reports/{report.name}\n{head}")
    text = "".join(lines).replace(server.base_url, "https://www.gov.uk")
    return REPORT_NAME.sub(README_REPORT_NAME, text)


def test_the_readme_backfill_session_is_real_output(server: SiteServer, tmp_path: Path) -> None:
    actual = session(server, tmp_path)
    readme = README.read_text(encoding="utf-8")
    match = SESSION.search(readme)
    assert match, "README has no backfill session under ## History from web archives"
    if updating():
        README.write_text(readme[: match.start(2)] + actual + readme[match.end(2) :], "utf-8")
        return
    assert match.group(2) == actual
