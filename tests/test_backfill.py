"""`backfill` end to end: the fake archive's scripted history (tests/fake_archive.py) replayed
into a store whose first live run tracked the loopback site on 2022-01-10, on SQLite and
PostgreSQL, through both CDX shapes.

The golden file `backfill/history.json` is the whole history as the CLI shows it: each run (time,
trigger, pages stored), the pages it stored a version of (P, A to D as in the fake archive's
table) and its changes against the run before it in time.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from scraper.archive import ArchiveClient
from scraper.fetch import Fetcher, FetchSettings
from storage.lock import run_lock
from tests.backfill_e2e import Backfiller, readable_changes
from tests.fake_archive import (
    FIRST_LIVE_RUN,
    FakeArchive,
    Shape,
    history,
    live_states,
    serve_archive,
)
from tests.golden import GOLDEN_DIR, assert_golden, to_golden_json
from tests.govuk_site import Era
from tests.site_server import Reply, SiteServer
from tests.test_terminal import run_in_terminal, screen_lines

SECOND_LIVE_RUN = datetime(2022, 3, 2, 7, 0, tzinfo=UTC)
ERA_SWITCHES: list[Era] = ["2015", "2017", "2021", "current", "current"]


def serving(shape: Shape) -> Iterator[FakeArchive]:
    running = FakeArchive(shape=shape)
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def archive() -> Iterator[FakeArchive]:
    """A Wayback-shaped fake archive."""
    yield from serving("wayback")


@pytest.fixture(params=["wayback", "pywb"])
def any_archive(request: pytest.FixtureRequest) -> Iterator[FakeArchive]:
    """A fake archive in each CDX shape: Wayback's JSON array, pywb's JSON lines."""
    yield from serving(request.param)


def make_backfiller(
    server: SiteServer,
    archive: FakeArchive,
    folder: Path,
    database_url: str,
    *,
    eras: list[Era] | None = None,
    live: bool = True,
) -> Backfiller:
    """A store whose first live run (2022-01-10) tracked the site, and the scripted history."""
    backfiller = Backfiller.create(
        server, archive, history(eras=eras, origin=server.base_url), folder, database_url
    )
    if live:
        backfiller.live_run(live_states()[0], FIRST_LIVE_RUN)
    return backfiller


def whole_history(backfiller: Backfiller) -> list[dict[str, Any]]:
    """Every run, oldest first: its time, trigger, pages, versions and changes."""
    runs = list(reversed(backfiller.json("history", "--format", "json", "--limit", "100")))
    versions = backfiller.versions_by_run()
    letters = backfiller.letters()
    found = []
    previous: int | None = None
    for run in runs:
        changes = None
        if previous is not None:
            diff = backfiller.json("diff", str(previous), str(run["run"]), "--format", "json")
            changes = readable_changes(diff, letters)
        found.append(
            {
                "run": run["run"],
                "at": run["started_at"],
                "trigger": run["trigger"],
                "pages": {k: v for k, v in run["pages"].items() if v},
                "versions": versions[run["run"]],
                "changes": changes,
            }
        )
        previous = run["run"]
    return found


def by_position(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The history with run ids replaced by their place in time order (ids depend on the order
    runs were stored in, and a killed run's id may be skipped on PostgreSQL)."""
    place = {run["run"]: index for index, run in enumerate(runs)}
    found: list[dict[str, Any]] = json.loads(json.dumps(runs))
    for run in found:
        run["run"] = place[run["run"]]
        if run["changes"]:
            for side in ("from", "to"):
                run["changes"][side]["run"] = place[run["changes"][side]["run"]]
    return found


def golden_history() -> list[dict[str, Any]]:
    """The golden history (`backfill/history.json`), run ids by place."""
    path = GOLDEN_DIR / "backfill" / "history.json"
    return by_position(json.loads(path.read_text(encoding="utf-8")))


def test_the_scripted_history_comes_out_exactly(
    server: SiteServer, any_archive: FakeArchive, database_url: str, tmp_path: Path
) -> None:
    backfiller = make_backfiller(server, any_archive, tmp_path, database_url)

    code, result = backfiller.backfill()

    assert code == 0
    assert_golden("backfill/history.json", to_golden_json(whole_history(backfiller)))
    assert result["captures"] == {
        "listed": 22,
        "already_replayed": 0,
        "fetched": 12,  # 6 publication copies read for their lists, 6 document copies
        "stored": 9,
        "unchanged": 0,
        "skipped": {
            "not_content": 3,
            "duplicate": 4,
            "after_live_run": 2,
            "not_listed": 1,
            "layout": 1,
            "archive_error": 1,
            "truncated": 1,
            "fetch_failed": 0,
            "anomaly": 0,
        },
    }
    assert (result["runs"], result["changes"]) == (4, 3)
    assert (result["from"], result["to"]) == ("2019-03-01T10:00:00Z", "2021-12-02T08:00:00Z")


def test_nothing_is_claimed_removed_but_the_document_taken_off_the_list(
    server: SiteServer, archive: FakeArchive, tmp_path: Path
) -> None:
    backfiller = make_backfiller(server, archive, tmp_path, f"sqlite:///{tmp_path}/t.db")
    backfiller.backfill()

    removals = [
        (document["page"], document["status"], len(document.get("removed", [])))
        for run in whole_history(backfiller)
        if run["changes"]
        for document in run["changes"]["documents"]
        if document["status"] == "removed" or document.get("removed")
    ]

    # The layout, error page and truncated copy of 2020 are skipped, never "everything removed".
    assert removals == [("B", "removed", 9)]


def test_a_second_backfill_stores_nothing_and_fetches_only_the_capture_lists(
    server: SiteServer, archive: FakeArchive, database_url: str, tmp_path: Path
) -> None:
    backfiller = make_backfiller(server, archive, tmp_path, database_url)
    backfiller.backfill()
    before = whole_history(backfiller)
    archive.requests.clear()

    code, again = backfiller.backfill()

    assert code == 0
    assert (again["runs"], again["captures"]["fetched"], again["captures"]["stored"]) == (0, 0, 0)
    assert again["captures"]["already_replayed"] == 12  # 9 stored, 3 skipped for good
    assert whole_history(backfiller) == before
    paths = {urlsplit(r.path).path for r in archive.requests}
    assert paths <= {archive.cdx_path, "/robots.txt"}


def test_runs_are_ordered_by_time_with_archive_and_live_runs_mixed(
    server: SiteServer, archive: FakeArchive, database_url: str, tmp_path: Path
) -> None:
    backfiller = make_backfiller(server, archive, tmp_path, database_url)
    first_live = 1
    backfiller.live_run(live_states()[1], SECOND_LIVE_RUN)
    baseline = backfiller.json("history", "--format", "json")[-1]
    assert baseline["run"] == first_live
    assert baseline["summary"]["organisations_changed"] == 0

    backfiller.backfill()

    runs = backfiller.json("history", "--format", "json")
    assert [(r["run"], r["trigger"], r["started_at"][:10]) for r in runs] == [
        (2, "manual", "2022-03-02"),
        (1, "manual", "2022-01-10"),
        (6, "archive", "2021-12-02"),
        (5, "archive", "2020-02-03"),
        (4, "archive", "2019-09-01"),
        (3, "archive", "2019-03-01"),
    ]
    # The first live run is no longer a baseline: D was re-described since the last archive copy.
    assert runs[1]["summary"]["organisations_changed"] == 1
    assert backfiller.json("diff", "latest~2", "latest~1", "--format", "json")["to"]["run"] == 1
    ranged = backfiller.json("diff", "2019-03-01", "2021-12-31", "--format", "json")
    assert (ranged["from"]["run"], ranged["to"]["run"], ranged["to"]["archive"]) == (3, 6, True)
    orgs = backfiller.json("orgs", "2019-06-30", "--format", "json")
    assert {o["document"] for o in orgs} == {
        "Experimental medicine and clinical trials",
        "Medical technology",
    }  # digital health and care was listed, but not copied until September
    notes = backfiller.json("updates", "--format", "json")["updates"]
    assert notes[0]["note"] == "Updated organisation links."  # the newest run's, by time
    assert backfiller.json("updates", "2021-01-01", "--format", "json")["updates"][0]["note"] == (
        "Added precision medicine and genomics; removed medical technology."
    )


def test_a_live_run_after_a_backfill_compares_with_the_newest_state_by_time(
    server: SiteServer, archive: FakeArchive, tmp_path: Path
) -> None:
    backfiller = make_backfiller(server, archive, tmp_path, f"sqlite:///{tmp_path}/t.db")
    backfiller.backfill()
    later, _ = live_states()
    later = copy.deepcopy(later)
    later.add_change_note(datetime(2022, 2, 1, tzinfo=UTC), "A later note.")

    run = backfiller.live_run(later, SECOND_LIVE_RUN)

    # Against the first live run (newest by time), not the archive runs stored after it by id.
    diff = backfiller.json("diff", "latest~1", "latest", "--format", "json")
    assert (diff["from"]["run"], diff["to"]["run"]) == (1, run)
    assert diff["summary"]["updates_added"] == 1
    assert diff["summary"]["organisations_changed"] == 0


def test_the_text_diff_of_an_archive_run_says_when_it_was_seen(
    server: SiteServer, archive: FakeArchive, tmp_path: Path
) -> None:
    backfiller = make_backfiller(server, archive, tmp_path, f"sqlite:///{tmp_path}/t.db")
    backfiller.backfill()

    text = backfiller.cli("diff", "2", "3").stdout

    assert "Seen between run 2 (2019-03-01 10:00 UTC) and run 3 (2019-09-01 09:03 UTC)" in text
    assert "First copy: Digital health and care" in text
    assert "Document added" not in text


def what_changed(runs: list[dict[str, Any]]) -> list[Any]:
    """Each run's versions and changes, without times and silent-change flags (which depend on
    which copies the archive happens to hold, not on what they say)."""
    found = []
    for run in runs:
        changes = run["changes"]
        if changes is not None:
            changes = {
                "documents": [
                    {k: v for k, v in d.items() if k != "silent_change"}
                    for d in changes["documents"]
                ],
                "first_seen": changes["first_seen"],
                "summary": {k: v for k, v in changes["summary"].items() if k != "silent_changes"},
            }
        found.append((run["trigger"], run["versions"], changes))
    return found


def test_history_in_every_markup_era_has_no_change_at_the_era_switches(
    server: SiteServer, tmp_path: Path
) -> None:
    histories = []
    for eras in (None, ERA_SWITCHES):
        folder = tmp_path / ("mixed" if eras else "one-era")
        folder.mkdir()
        with serve_archive() as archive:
            backfiller = make_backfiller(
                server, archive, folder, f"sqlite:///{folder}/t.db", eras=eras
            )
            assert backfiller.backfill()[0] == 0
            histories.append(whole_history(backfiller))
    one_era, mixed = histories

    # 2015 -> 2017: the publication's copy of September 2019 differs in every byte from March's,
    # and parses the same: no version, no change.
    assert mixed[1]["pages"]["unchanged"] == 1
    assert "P" not in mixed[1]["versions"]
    assert what_changed(mixed) == what_changed(one_era)


def test_a_backfill_waits_for_no_run_holding_the_lock(
    server: SiteServer, archive: FakeArchive, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/t.db"
    backfiller = make_backfiller(server, archive, tmp_path, url)

    with run_lock(url):
        result = backfiller.cli("backfill")

    assert result.exit_code == 3
    assert result.output.startswith("error: ")
    assert "Traceback" not in result.output


def test_an_earlier_since_inserts_older_runs_and_later_summaries_follow(
    server: SiteServer, archive: FakeArchive, database_url: str, tmp_path: Path
) -> None:
    backfiller = make_backfiller(server, archive, tmp_path, database_url)
    code, recent = backfiller.backfill("--since", "2020-01-01")
    assert (code, recent["from"], recent["runs"]) == (0, "2020-02-03T10:00:00Z", 2)
    assert backfiller.json("history", "--format", "json")[-1]["summary"]["documents_changed"] == 0

    code, older = backfiller.backfill("--until", "2019-12-31")

    assert (code, older["from"], older["to"], older["runs"]) == (
        0,
        "2019-03-01T10:00:00Z",
        "2019-09-01T09:03:00Z",
        2,
    )
    # February 2020 is no longer the first state: its stored summary now has its changes.
    runs = {r["started_at"]: r for r in backfiller.json("history", "--format", "json")}
    assert runs["2020-02-03T10:00:00Z"]["summary"]["documents_changed"] == 3
    # The same changes as one backfill of everything (the golden). The first backfill's
    # February copy of C (the same as September's, which it did not list) is stored too.
    imported = by_position(whole_history(backfiller))
    assert [run["changes"] for run in imported] == [run["changes"] for run in golden_history()]
    assert imported[2]["versions"] == ["P", "A", "C", "D"]


def test_one_summary_report_for_the_whole_backfill(
    server: SiteServer, archive: FakeArchive, tmp_path: Path
) -> None:
    backfiller = make_backfiller(server, archive, tmp_path, f"sqlite:///{tmp_path}/t.db")

    backfiller.backfill()

    deliveries = backfiller.json("outbox", "--all", "--format", "json")
    assert [(d["channel"], d["format"], d["status"]) for d in deliveries] == [
        ("file", "json", "sent"),
        ("file", "text", "sent"),
    ]
    (text,) = (tmp_path / "reports").glob("*.txt")
    assert text.name.startswith("2-5-")  # the range of the archive runs: no file per run
    assert text.read_text(encoding="utf-8").startswith(
        "UK life sciences support: history imported: 4 states, 2019-03-01 to 2021-12-02, "
        "3 changes\n"
    )


def test_a_bad_date_is_one_line_and_exit_2(
    server: SiteServer, archive: FakeArchive, tmp_path: Path
) -> None:
    backfiller = make_backfiller(
        server, archive, tmp_path, f"sqlite:///{tmp_path}/t.db", live=False
    )

    result = backfiller.cli("backfill", "--since", "March 2019")

    assert result.exit_code == 2
    assert result.output.startswith("error: --since 'March 2019' is not a date")
    assert archive.requests == []


def test_an_unreachable_archive_imports_nothing_and_exits_1(
    server: SiteServer, archive: FakeArchive, tmp_path: Path
) -> None:
    backfiller = make_backfiller(server, archive, tmp_path, f"sqlite:///{tmp_path}/t.db")
    settings = archive.settings()
    client = ArchiveClient(
        Fetcher(requests.Session(), settings.fetch_settings(FetchSettings())), settings
    )
    query = urlsplit(client.query_url(backfiller.history.publication_url))
    archive.faults[f"{query.path}?{query.query}"] = Reply(503, b"Service Unavailable")

    result = backfiller.cli("backfill")

    assert result.exit_code == 1
    assert "error: the web archive's capture list of" in result.output
    assert "nothing was imported" in result.output
    assert [r["trigger"] for r in backfiller.json("history", "--format", "json")] == ["manual"]


def test_a_terminal_shows_the_captures_fetched_out_of_those_to_fetch(
    server: SiteServer, archive: FakeArchive, tmp_path: Path
) -> None:
    backfiller = make_backfiller(server, archive, tmp_path, f"sqlite:///{tmp_path}/t.db")
    archive.delay_s = 0.05  # long enough for the bar to be drawn between captures

    lines = screen_lines(run_in_terminal(backfiller.config, command="backfill"))

    bars = [line for line in lines if line.startswith("captures fetched")]
    assert bars, lines
    assert bars[-1].endswith("12/12")
    assert any(line.startswith("History imported: 4 archive runs") for line in lines)
