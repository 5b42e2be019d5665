"""The first minutes of use: no database yet, a first run that failed, messages that point the
right way (issues 12 and 17)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.e2e import Tracker, config_text
from tests.govuk_site import PUBLICATION_PATH, SiteSpec, default_site
from tests.site_server import Reply, SiteServer
from tracker.cli import cli

EXPERIMENTAL = "experimental-medicine-and-clinical-trials"
QUERIES = [
    ["diff"],
    ["history"],
    ["orgs"],
    ["updates"],
    ["show", "https://www.gov.uk/government/publications/uk-life-sciences-support"],
    ["outbox"],
    ["outbox", "retry"],
    ["report"],
    ["db", "prune", "--raw-older-than", "1"],
]


@pytest.fixture
def tracker(server: SiteServer, tmp_path: Path) -> Tracker:
    return Tracker.create(server, tmp_path, extra="enabled = false")


@pytest.mark.parametrize("argv", QUERIES, ids=[" ".join(a[:2]) for a in QUERIES])
def test_a_query_on_a_database_that_does_not_exist_says_so_and_creates_nothing(
    argv: list[str], tmp_path: Path
) -> None:
    missing = tmp_path / "not" / "here" / "tracker.db"
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{missing}"\n', encoding="utf-8")
    result = CliRunner().invoke(
        cli, [*argv, "--config", str(config)], env={"LIFESCI_TRACKER_DATABASE_URL": ""}
    )
    assert result.exit_code == 2
    assert result.output.startswith(f"error: no database at {missing}: ")
    assert len(result.output.splitlines()) == 1
    assert not (tmp_path / "not").exists()


def test_a_relative_database_path_is_found_from_another_folder(
    server: SiteServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "tracking"
    home.mkdir()
    (home / "config.toml").write_text(
        config_text(server, "sqlite:///tracker.db", reports_dir=Path("out")), encoding="utf-8"
    )
    Tracker(server, home / "config.toml").publish(default_site())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    env = {"LIFESCI_TRACKER_DATABASE_URL": "", "LIFESCI_TRACKER_CONFIG": ""}
    config = str(home / "config.toml")
    assert CliRunner().invoke(cli, ["run", "--config", config], env=env).exit_code == 0
    assert (home / "tracker.db").is_file()
    assert (home / "out").is_dir()  # the baseline report
    assert list(elsewhere.iterdir()) == []
    assert CliRunner().invoke(cli, ["orgs", "--config", config], env=env).exit_code == 0


def fail_first_run(tracker: Tracker) -> None:
    tracker.publish(default_site())
    tracker.server.faults[PUBLICATION_PATH] = Reply(500, b"down for maintenance")
    result = tracker.cli("run")
    assert result.exit_code == 1
    assert result.stdout.startswith("Run 1: failed")


def test_after_a_failed_first_run_queries_say_why_there_is_nothing(tracker: Tracker) -> None:
    fail_first_run(tracker)
    url = tracker.server.url(PUBLICATION_PATH)
    for argv in (["diff"], ["orgs"], ["updates"], ["show", url], ["report"]):
        result = tracker.cli(*argv)
        assert result.exit_code == 2, argv
        assert result.output.startswith("error: no successful run yet (run 1 failed: "), argv
        assert "HTTP 500" in result.output, argv
        assert "run `lifesci-tracker run` first" not in result.output


def test_a_run_that_fetched_nothing_says_0_fetched_and_claims_no_data_kept(
    tracker: Tracker,
) -> None:
    tracker.publish(default_site())
    tracker.server.faults[PUBLICATION_PATH] = Reply(500, b"down for maintenance")
    lines = tracker.cli("run").stdout.splitlines()
    assert lines[1].startswith("Pages: 0 fetched, ")
    assert "data kept" not in "\n".join(lines)
    assert "Problems (nothing is stored yet):" in lines


def test_a_failed_page_after_a_good_run_keeps_its_stored_data(tracker: Tracker) -> None:
    tracker.publish(default_site())
    assert tracker.cli("run").exit_code == 0
    tracker.server.faults[PUBLICATION_PATH] = Reply(500, b"down for maintenance")
    lines = tracker.cli("run").stdout.splitlines()
    assert lines[1].startswith("Pages: 7 fetched, ")  # the documents, from the stored list
    assert "Problems (stored data kept; these pages were not updated):" in lines


def test_a_run_that_fetched_nothing_after_good_runs_says_the_stored_data_is_kept(
    tracker: Tracker,
) -> None:
    site = default_site()
    tracker.publish(site)
    first = tracker.cli("run").stdout.splitlines()
    for path in [PUBLICATION_PATH, *(doc.path for doc in site.docs)]:
        tracker.server.faults[path] = Reply(503, b"down for maintenance")
    result = tracker.cli("run")
    lines = result.stdout.splitlines()
    assert result.exit_code == 1
    assert lines[0].endswith(": failed")
    assert lines[1].startswith("Pages: 0 fetched, ")
    assert lines[2] == first[2]  # "Stored: 67 organisations, 3 update entries", as before
    assert "Problems (stored data kept; these pages were not updated):" in lines
    assert "Problems (nothing is stored yet):" not in lines


def test_a_held_back_page_says_how_to_accept_it(tracker: Tracker) -> None:
    site = default_site()
    tracker.publish(site)
    assert tracker.cli("run").exit_code == 0
    gutted: SiteSpec = copy.deepcopy(site)
    for stage in gutted.doc(EXPERIMENTAL).stages:
        stage.orgs.clear()
    tracker.publish(gutted)
    output = tracker.cli("run").stdout
    assert "anomaly: " in output
    assert "`lifesci-tracker run --accept-anomalies`" in output.splitlines()[-1]


def test_diff_document_matching_nothing_says_so(tracker: Tracker) -> None:
    tracker.publish(default_site())
    assert tracker.cli("run").exit_code == 0
    assert tracker.cli("run").exit_code == 0
    result = tracker.cli("diff", "--document", "no such document")
    assert result.exit_code == 2
    assert result.output.startswith("error: --document 'no such document' matches no document")
    matched = tracker.cli("diff", "--document", "experimental")
    assert matched.exit_code == 0
    assert "No changes" in matched.stdout
