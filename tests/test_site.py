"""`site build` and `timeline` end to end, on a store that went through eight real states.

The browser half (pages load, links, search, accessibility, phone width): test_site_browser.py.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import jsonschema
import pytest
from bs4 import BeautifulSoup

from changes import changeset_schema
from tests.e2e import Tracker
from tests.site_history import (
    ADDED,
    MARKUP_NAME,
    MOVED,
    NEW_NAME,
    OLD_NAME,
    REMOVED_DOCUMENT,
    record_history,
)
from tests.site_server import SiteServer, serve
from tracker import site_files
from tracker.app import open_database
from tracker.config import load_config
from tracker.site import change_set_url, rebuild_site


@pytest.fixture(scope="module")
def server() -> Iterator[SiteServer]:
    with serve() as running:
        yield running


@pytest.fixture(scope="module")
def tracker(server: SiteServer, tmp_path_factory: pytest.TempPathFactory) -> Tracker:
    """A tracker whose SQLite store went through the eight states (shared: tests only read it)."""
    folder = tmp_path_factory.mktemp("history")
    configured = folder / "configured-site"
    extra = f'enabled = false\n\n[site]\ndir = "{configured}"\n'
    tracker = Tracker.create(server, folder, extra=extra)
    record_history(tracker)
    return tracker


def build(tracker: Tracker, folder: Path) -> str:
    result = tracker.cli("site", "build", str(folder))
    assert result.exit_code == 0, result.output
    return result.stdout


def page(folder: Path, path: str) -> BeautifulSoup:
    return BeautifulSoup((folder / path).read_text(encoding="utf-8"), "html.parser")


def text(soup: BeautifulSoup) -> str:
    return " ".join(soup.get_text(" ").split())


def test_site_build_writes_every_page_of_the_history(tracker: Tracker, tmp_path: Path) -> None:
    folder = tmp_path / "site"
    assert re.match(
        r"wrote .*site: \d+ pages \(8 change sets, \d+ organisations\) in", build(tracker, folder)
    )
    index = page(folder, "index.html")
    assert index.h1 is not None
    assert index.h1.get_text() == "UK life sciences support"
    changes = page(folder, "changes/index.html")
    summaries = [text(li) for li in changes.select("ol.steps li")]
    assert len(summaries) == 8
    assert "Problems: 1 page" in summaries[0]
    assert "Changed without a change note" in summaries[1]
    assert "1 document removed" in summaries[2]
    assert summaries[-1].endswith("Baseline")
    moved = page(folder, "changes/4.html")
    assert f"{MOVED} moved from Regulation and assessment to Development and translation" in text(
        moved
    )
    removed = page(folder, f"documents/{REMOVED_DOCUMENT}.html")
    assert "No longer listed" in text(removed)
    problems = page(folder, "changes/8.html")
    assert "Problems" in [h.get_text() for h in problems.find_all("h2")]


def test_an_organisation_page_shows_exactly_its_timeline(tracker: Tracker, tmp_path: Path) -> None:
    folder = tmp_path / "site"
    build(tracker, folder)
    cprd = page(folder, "organisations/clinical-practice-research-datalink-cprd.html")
    events = [text(li.find("span", class_="event-text")) for li in cprd.select("ol.timeline > li")]
    assert events == [
        "Listed in Experimental medicine and clinical trials, under Discovery and deep research",
        "Description changed",
    ]
    assert "It now covers devices." in text(cprd.select("ol.timeline > li")[1])
    assert [a["href"] for a in cprd.select("ol.timeline a")] == [
        "../changes/1.html",
        "../changes/5.html",
    ]


def test_a_renamed_organisation_keeps_its_page_and_its_new_name_leads_there(
    tracker: Tracker, tmp_path: Path
) -> None:
    folder = tmp_path / "site"
    build(tracker, folder)
    own = page(folder, "organisations/association-of-medical-research-charities-amrc.html")
    assert own.h1 is not None
    assert own.h1.get_text() == NEW_NAME
    assert f"Formerly listed as: {OLD_NAME}" in text(own)
    alias = page(folder, "organisations/association-of-medical-research-charities.html")
    refresh = alias.find("meta", attrs={"http-equiv": "refresh"})
    assert refresh is not None
    assert refresh["content"] == "0; url=association-of-medical-research-charities-amrc.html"


def test_page_text_is_escaped_everywhere(tracker: Tracker, tmp_path: Path) -> None:
    folder = tmp_path / "site"
    build(tracker, folder)
    pages = list(folder.rglob("*.html"))
    for path in pages:
        assert "<script>alert" not in path.read_text(encoding="utf-8"), path
    own = page(folder, "organisations/script-alert-boo-script-ventures-co.html")
    assert own.h1 is not None
    assert own.h1.get_text() == MARKUP_NAME
    assert [s.get("src") for s in page(folder, "organisations/index.html").find_all("script")] == [
        None,
        "../assets/search.js",
    ]


def test_downloads_hold_the_current_list_the_changes_and_a_feed(
    tracker: Tracker, tmp_path: Path
) -> None:
    folder = tmp_path / "site"
    build(tracker, folder)
    listed = json.loads(tracker.cli("orgs", "--format", "json").stdout)
    raw = (folder / "organisations.csv").read_text(encoding="utf-8")
    assert raw.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(raw[1:])))
    assert [(r["document"], r["name"], r["url"]) for r in rows] == [
        (o["document"], o["name"], o["url"] or "") for o in listed
    ]
    assert all((folder / row["page"]).is_file() for row in rows)
    changesets = json.loads((folder / "changes.json").read_text(encoding="utf-8"))
    assert [c["to"]["run"] for c in changesets] == [7, 6, 5, 4, 3, 2]
    for changeset in changesets:
        jsonschema.validate(changeset, changeset_schema())
    feed = feedparser.parse((folder / "feed.atom").read_bytes())
    assert len(feed.entries) == 6
    assert ADDED in feed.entries[-1].content[0].value


def test_a_rebuild_replaces_the_site_whole_and_a_failed_one_keeps_the_old(
    tracker: Tracker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "site"
    build(tracker, folder)
    (folder / "stale.html").write_text("left from an older build", encoding="utf-8")
    build(tracker, folder)
    assert not (folder / "stale.html").exists()
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    written: list[Path] = []
    real_write = Path.write_bytes

    def fail_midway(self: Path, data: bytes) -> int:
        written.append(self)
        if len(written) > 20:
            raise OSError(28, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", fail_midway)
    result = tracker.cli("site", "build", str(folder))
    monkeypatch.undo()
    assert result.exit_code == 2
    assert result.output == "error: [Errno 28] No space left on device\n"
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # no half-built folder left behind


def test_site_build_refuses_a_folder_it_did_not_write(tracker: Tracker, tmp_path: Path) -> None:
    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "thesis.docx").write_bytes(b"precious")
    result = tracker.cli("site", "build", str(folder))
    assert result.exit_code == 2
    assert result.output == (
        f"error: {folder} already holds files that lifesci-tracker did not write; "
        "choose an empty or new folder for the site\n"
    )
    assert (folder / "thesis.docx").read_bytes() == b"precious"


def test_site_build_writes_to_the_configured_folder_by_default(tracker: Tracker) -> None:
    result = tracker.cli("site", "build")
    assert result.exit_code == 0, result.output
    folder = tracker.config.parent / "configured-site"
    assert result.stdout.startswith(f"wrote {folder}: ")
    assert (folder / "index.html").is_file()
    assert (folder / site_files.MARKER).is_file()


@pytest.mark.postgres
def test_the_same_history_on_postgresql_builds_the_same_site(
    tracker: Tracker, server: SiteServer, pg_schema_url: str, tmp_path: Path
) -> None:
    on_postgres = Tracker.create(
        server, tmp_path, database_url=pg_schema_url, extra="enabled = false"
    )
    record_history(on_postgres)
    build(on_postgres, tmp_path / "postgres")
    build(tracker, tmp_path / "sqlite")

    def files(folder: Path) -> set[str]:
        return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}

    assert files(tmp_path / "postgres") == files(tmp_path / "sqlite")
    csv_name = "organisations.csv"
    assert (tmp_path / "postgres" / csv_name).read_text() == (
        tmp_path / "sqlite" / csv_name
    ).read_text()


def test_timeline_prints_one_organisations_history(tracker: Tracker) -> None:
    result = tracker.cli("timeline", "health research authority")
    assert result.exit_code == 0, result.output
    document = "Experimental medicine and clinical trials"
    assert result.stdout == (
        "Health Research Authority (HRA)\n"
        f"Listed now in: {document} (Development and translation)\n"
        "\n"
        f"2026-03-01 10:00 UTC  run 1  {document} (Regulation and assessment)\n"
        f"    Listed in {document}, under Regulation and assessment\n"
        f"2026-03-04 10:00 UTC  run 4  {document} (Development and translation)\n"
        "    Moved from Regulation and assessment to Development and translation\n"
    )


def test_timeline_follows_a_rename_and_says_so_in_json(tracker: Tracker) -> None:
    result = tracker.cli("timeline", NEW_NAME, "--format", "json")
    assert result.exit_code == 0, result.output
    history = json.loads(result.stdout)
    assert (history["name"], history["names"], history["listed"]) == (
        NEW_NAME,
        [OLD_NAME, NEW_NAME],
        True,
    )
    assert [(e["kind"], e["run"], e["before"], e["after"]) for e in history["events"]] == [
        ("listed", 1, None, None),
        ("renamed", 3, OLD_NAME, NEW_NAME),
    ]
    assert history["events"][1]["text"] == (
        f"Renamed from {OLD_NAME} to {NEW_NAME} in Experimental medicine and clinical trials"
    )
    by_old_name = json.loads(tracker.cli("timeline", OLD_NAME, "--format", "json").stdout)
    assert by_old_name == history


def test_timeline_by_web_address(tracker: Tracker) -> None:
    result = tracker.cli("timeline", "https://WWW.CPRD.COM", "--format", "json")
    assert result.exit_code == 0, result.output
    history = json.loads(result.stdout)
    assert history["name"] == "Clinical Practice Research Datalink (CPRD)"
    assert [e["kind"] for e in history["events"]] == ["listed", "redescribed"]


def test_a_name_several_organisations_share_lists_them_and_exits_2(tracker: Tracker) -> None:
    result = tracker.cli("timeline", "National Institute for Health Research (NIHR)")
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == (
        "error: 'National Institute for Health Research (NIHR)' matches 2 organisations; "
        "give the full name or its web address:"
    )
    assert lines[1:] == [
        "  National Institute for Health Research (NIHR) https://www.nihr.ac.uk/"
        " (Experimental medicine and clinical trials: Discovery and deep research)",
        "  National Institute for Health Research (NIHR)"
        " https://www.nihr.ac.uk/explore-nihr/support/clinical-research-network.htm"
        " (Experimental medicine and clinical trials: Delivery, supplying the NHS and patients)",
    ]


def test_timeline_of_nobody_is_one_error_line(tracker: Tracker) -> None:
    result = tracker.cli("timeline", "Ministry of Silly Walks")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: no organisation is or was called 'Ministry of Silly Walks': try part of its name,"
        " or its web address (see `lifesci-tracker orgs`)\n"
    )


def test_rebuild_site_is_what_the_site_channel_calls(tracker: Tracker, tmp_path: Path) -> None:
    loaded = load_config(str(tracker.config), environ={})
    config = replace(loaded, site=replace(loaded.site, base_url="https://example.org/lifesci/"))
    database = open_database(config, create=False)
    built_at = datetime(2030, 1, 2, 3, 4, tzinfo=UTC)
    result = rebuild_site(
        config, target=tmp_path / "site", sessions=database.sessions, clock=lambda: built_at
    )
    assert (result.path, result.change_sets, result.organisations) == (tmp_path / "site", 8, 53)
    assert result.pages == len(list((tmp_path / "site").rglob("*.html")))
    address = change_set_url(config, 8)
    assert address == "https://example.org/lifesci/changes/8.html"
    change = page(tmp_path / "site", "changes/8.html")
    canonical = change.find("link", rel="canonical")
    assert canonical is not None
    assert canonical["href"] == address
    assert "Built 2030-01-02 03:04 UTC" in text(change)
