"""`lifesci-tracker demo`, end to end on loopback: the real command, its story, its folder.

The demo serves the sample publication (`tracker.sample`) on 127.0.0.1 and runs the real tracker
on it in-process, so the network guard of conftest.py sees every connection it makes; a test here
also records them. The README's "Try it offline" block is an excerpt of real output: each run of
lines between "…" lines must appear, in order, in the demo's output (times, ports and the
temporary folder normalised).
"""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tracker.cli import cli
from tracker.sample import render_site, scenario

README = Path(__file__).resolve().parent.parent / "README.md"
DEMO_BLOCK = re.compile(r"## Try it offline\n.*?```\n(\$ lifesci-tracker demo\n.*?)```\n", re.S)
ELIDED = "…"
# What differs between two demos: the port, the temporary folder, dates, times, a duration.
VARYING = (
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:PORT"),
    (re.compile(r"/\S*?lifesci-tracker-demo-[A-Za-z0-9_]+"), "FOLDER"),
    (re.compile(r"\d{4}-\d{2}-\d{2}"), "YYYY-MM-DD"),
    (re.compile(r"\d{2}:\d{2}(:\d{2})?"), "hh:mm"),
    (re.compile(r"\d{8}T\d{6}Z"), "TIMESTAMP"),
    (re.compile(r"in \d+\.\d+ s\b"), "in N s"),
)


def normalised(text: str) -> str:
    for pattern, replacement in VARYING:
        text = pattern.sub(replacement, text)
    return text


def demo(*args: str, env: dict[str, str | None] | None = None) -> Result:
    """Run `lifesci-tracker demo ARGS` in-process, as a user would type it."""
    return CliRunner().invoke(cli, ["demo", *args], env=env)


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record the address of every socket connection (on top of the network guard)."""
    seen: list[Any] = []
    guarded = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> Any:
        seen.append(address)
        return guarded(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return seen


def test_the_demo_shows_every_kind_of_change_from_loopback_only(
    tmp_path: Path, connections: list[Any]
) -> None:
    result = demo("--dir", str(tmp_path / "demo"))
    assert result.exit_code == 0, result.output
    output = result.stdout
    steps = re.split(r"\n(?=\d\. )", output)
    assert len(steps) == 8  # the introduction, four states, history, report, site
    baseline, redesign, edit, silent = steps[1:5]
    assert "Changes: baseline: 67 organisations in 8 pages" in baseline
    assert "Changes: no changes" in redesign  # new templates, fresh noise: nothing to report
    assert f"+ Added: {scenario.ADDED} (Discovery and deep research)" in edit
    assert f"- Removed: {scenario.REMOVED} (Discovery and deep research)" in edit
    assert f"~ {scenario.RENAMED_FROM} renamed to {scenario.RENAMED_TO}" in edit
    assert f"~ {scenario.MOVED} moved from Regulation and assessment to Development" in edit
    assert f"~ {scenario.REDESCRIBED}: description changed" in edit
    assert "{+" + scenario.REDESCRIBED_SENTENCE + "+}" in edit  # the words that changed
    assert f"New change note ({_today(output)}): {scenario.CHANGE_NOTE}" in edit
    assert "Changed without a change note" not in edit
    assert f"~ {scenario.SILENT}: link changed" in silent
    assert "! Changed without a change note" in silent
    history, report, site = steps[5:]
    assert re.search(r"^4 .* ok .*\+0 -0 ~1 ", history, re.M)
    assert re.search(r"^3 .* ok .*\+1 -1 ~3 ", history, re.M)
    assert "- Changed without a change note" in report  # the Markdown report file
    assert "wrote " in site
    assert connections, "the demo fetched nothing"
    assert {address[0] for address in connections} == {"127.0.0.1"}


def _today(output: str) -> str:
    match = re.search(r"Last updated date changed from 2021-12-01 to (\d{4}-\d{2}-\d{2})", output)
    assert match, output
    return match[1]


def test_a_kept_folder_can_be_explored_afterwards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "kept"
    result = demo("--dir", str(folder))
    assert result.exit_code == 0, result.output
    config = folder / "config.toml"
    assert f"--config {config}" in result.stdout
    assert (folder / "site" / "index.html").is_file()
    assert (folder / "reports" / "latest.html").is_file()
    monkeypatch.chdir(tmp_path)  # another folder: the config's paths are relative to itself
    history = CliRunner().invoke(cli, ["history", "--format", "json", "--config", str(config)])
    assert history.exit_code == 0, history.output
    assert [run["run"] for run in json.loads(history.stdout)] == [4, 3, 2, 1]
    timeline = CliRunner().invoke(cli, ["timeline", scenario.MOVED, "--config", str(config)])
    assert "Moved from Regulation and assessment to Development and translation" in timeline.stdout


def test_without_dir_the_working_folder_is_removed(tmp_path: Path) -> None:
    result = demo()
    assert result.exit_code == 0, result.output
    match = re.search(r"^Working folder: (\S+) \(removed at the end", result.stdout, re.M)
    assert match, result.stdout
    assert not Path(match[1]).exists()
    assert "lifesci-tracker demo --dir DIR" in result.stdout


def test_a_folder_that_holds_anything_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    result = demo("--dir", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {tmp_path} is not an empty folder")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt"]


def test_a_step_that_goes_wrong_stops_the_demo_with_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tracker.demo

    def without_a_document(spec: Any, base_url: str) -> dict[str, bytes]:
        pages = render_site(spec, base_url)
        del pages[spec.docs[0].path]  # the sample server answers 404: the run is partial
        return pages

    monkeypatch.setattr(tracker.demo, "render_site", without_a_document)
    result = demo("--dir", str(tmp_path / "demo"))
    assert result.exit_code == 1
    assert "Run 1: partial" in result.stdout
    assert "\nerror: the demo's run 1 did not track every sample page" in result.stderr
    assert "2. " not in result.stdout  # it stopped there


def test_the_environment_cannot_send_the_demo_elsewhere(tmp_path: Path) -> None:
    elsewhere = tmp_path / "production.db"
    proxy = "http://127.0.0.1:9"  # nothing listens there: a proxied request would fail
    result = demo(
        "--dir",
        str(tmp_path / "demo"),
        env={
            "LIFESCI_TRACKER_DATABASE_URL": f"sqlite:///{elsewhere}",
            "HTTP_PROXY": proxy,
            "http_proxy": proxy,
            "NO_PROXY": None,
            "no_proxy": None,
        },
    )
    assert result.exit_code == 0, result.output
    assert not elsewhere.exists()
    assert (tmp_path / "demo" / "lifesci-tracker.db").is_file()


def test_the_readme_demo_output_is_real() -> None:
    match = DEMO_BLOCK.search(README.read_text(encoding="utf-8"))
    assert match, "README lost its `$ lifesci-tracker demo` block under ## Try it offline"
    shown = normalised(match[1]).splitlines()[1:]
    result = demo()
    assert result.exit_code == 0, result.output
    actual = normalised(result.stdout).splitlines()
    segments: list[list[str]] = [[]]
    for line in shown:
        if line == ELIDED:
            segments.append([])
        else:
            segments[-1].append(line)
    position = 0
    for segment in filter(None, segments):
        found = _find(actual, segment, position)
        assert found is not None, (
            "README's demo excerpt is not in the real output (normalised):\n"
            + "\n".join(segment)
            + "\n--- real output ---\n"
            + "\n".join(actual)
        )
        position = found + len(segment)


def _find(lines: list[str], segment: list[str], start: int) -> int | None:
    for index in range(start, len(lines) - len(segment) + 1):
        if lines[index : index + len(segment)] == segment:
            return index
    return None
