"""The README's `diff` examples are real output: a scripted scenario, run through the real CLI.

The scenario runs the tracker twice against the loopback site (tests/govuk_site.py), then asks
`diff` and `diff --format json`. The text example in "What it tells you" must equal the output
(run times and the loopback address normalised); `--update-golden` (or UPDATE_GOLDEN=1) rewrites
it. The JSON example under "### `diff [FROM] [TO]`" is trimmed by hand: each "…" in one of its
strings stands for any text, and everything else must match the real document.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import Tracker
from tests.golden import updating
from tests.govuk_site import SiteSpec, default_site
from tests.site_server import SiteServer
from tracker.sample.scenario import edited as edited_by_govuk

README = Path(__file__).resolve().parent.parent / "README.md"
TEXT_BLOCK = re.compile(
    r"(## What it tells you\n.*?```\n\$ lifesci-tracker diff\n)(.*?)(```\n)", re.S
)
JSON_BLOCK = re.compile(r"### `diff \[FROM\] \[TO\]`\n.*?```json\n(.*?)```\n", re.S)
RUN_TIME = re.compile(r"\(\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\)")
# What the README shows for the two runs' times (real ones differ on every test run).
README_TIMES = ("(2026-11-20 07:00 UTC)", "(2026-11-21 07:00 UTC)")
GOVUK = "https://www.gov.uk"


def edited(site: SiteSpec) -> SiteSpec:
    """The README's scenario, the demo's third step: organisations added, removed, renamed,
    moved and re-described, with a change note of 20 November 2026."""
    return edited_by_govuk(site, datetime(2026, 11, 20, 9, 0, tzinfo=UTC))


@pytest.fixture
def scenario(server: SiteServer, tmp_path: Path) -> Tracker:
    tracker = Tracker.create(server, tmp_path, extra="enabled = false")
    site = default_site("2021")
    tracker.publish(site)
    assert tracker.run_json()[0] == 0
    tracker.publish(edited(site))
    assert tracker.run_json()[0] == 0
    return tracker


def as_on_govuk(tracker: Tracker, output: str) -> str:
    """The output as it reads against GOV.UK: the loopback address replaced by www.gov.uk."""
    return output.replace(tracker.server.base_url, GOVUK)


def test_the_readme_diff_example_is_real_output(scenario: Tracker) -> None:
    result = scenario.cli("diff")
    assert result.exit_code == 0, result.output
    times = iter(README_TIMES)
    actual = RUN_TIME.sub(lambda _: next(times), as_on_govuk(scenario, result.stdout))
    readme = README.read_text(encoding="utf-8")
    match = TEXT_BLOCK.search(readme)
    assert match is not None, "README lost its `$ lifesci-tracker diff` example"
    if updating():
        README.write_text(readme[: match.start(2)] + actual + readme[match.end(2) :], "utf-8")
        return
    assert RUN_TIME.sub("(…)", match.group(2)) == RUN_TIME.sub("(…)", actual)


def test_the_readme_json_example_matches_the_real_document(scenario: Tracker) -> None:
    result = scenario.cli("diff", "--format", "json")
    assert result.exit_code == 0, result.output
    actual = json.loads(as_on_govuk(scenario, result.stdout))
    match = JSON_BLOCK.search(README.read_text(encoding="utf-8"))
    assert match is not None, "README lost its `diff --format json` example"
    shown = json.loads(match.group(1))
    for document in (shown, actual):
        document["from"]["at"] = document["to"]["at"] = "(time)"
    assert not mismatches(shown, actual)


def mismatches(shown: Any, actual: Any, where: str = "$") -> list[str]:
    """Where the README's value differs from the real one; "…" in a string matches any text."""
    if isinstance(shown, dict) and isinstance(actual, dict):
        if shown.keys() != actual.keys():
            return [f"{where}: keys {sorted(shown)} != {sorted(actual)}"]
        return [m for k in shown for m in mismatches(shown[k], actual[k], f"{where}.{k}")]
    if isinstance(shown, list) and isinstance(actual, list):
        if len(shown) != len(actual):
            return [f"{where}: {len(shown)} items != {len(actual)}"]
        return [
            m
            for i, pair in enumerate(zip(shown, actual, strict=True))
            for m in mismatches(*pair, f"{where}[{i}]")
        ]
    if isinstance(shown, str) and isinstance(actual, str) and "…" in shown:
        pattern = ".*".join(re.escape(part) for part in shown.split("…"))
        return [] if re.fullmatch(pattern, actual, re.S) else [f"{where}: {actual!r} !~ {shown!r}"]
    return [] if shown == actual else [f"{where}: {actual!r} != {shown!r}"]


def test_an_ellipsis_matches_any_text_and_nothing_else_is_loose() -> None:
    assert not mismatches({"a": ["x…z"]}, {"a": ["x and z"]})
    assert mismatches({"a": ["x…z"]}, {"a": ["x and y"]})
    assert mismatches({"a": 1}, {"a": 1, "b": 2})
    assert mismatches([1, 2], [1])
