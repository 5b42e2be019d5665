"""End to end: a real HTTP server on 127.0.0.1 serving the publication and its 7 documents."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from scraper.page import HtmlDocument
from storage.tables import Blob, Observation, OrganisationRow, PageVersion, Run, UpdateEntryRow
from tests.e2e import Tracker, count_parses
from tests.govuk_site import OrgSpec, SiteSpec, default_site
from tests.site_server import SiteServer
from tracker import __version__

EXPERIMENTAL = "experimental-medicine-and-clinical-trials"


@pytest.fixture(params=["2021", "current"])
def site(request: pytest.FixtureRequest) -> SiteSpec:
    return default_site(request.param)


@pytest.fixture
def tracker(server: SiteServer, database_url: str, tmp_path: Path) -> Tracker:
    return Tracker.create(server, tmp_path, database_url=database_url)


def count(url: str, table: type) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        value = connection.execute(select(func.count()).select_from(table)).scalar_one()
    engine.dispose()
    return int(value)


def test_two_runs_store_one_version_per_page_then_none(
    tracker: Tracker, site: SiteSpec, database_url: str
) -> None:
    tracker.publish(site)
    code, first = tracker.run_json()
    assert code == 0, first
    assert first["status"] == "ok"
    assert first["pages"]["new"] == 8  # the publication and its 7 HTML documents
    assert first["pages"]["fetched"] == 8
    assert count(database_url, PageVersion) == 8
    organisations = count(database_url, OrganisationRow)
    assert organisations == first["stored"]["organisations"] > 30
    assert count(database_url, UpdateEntryRow) == first["stored"]["updates"] == 3
    blobs = count(database_url, Blob)

    code, second = tracker.run_json()
    assert code == 0
    assert second["pages"]["new"] == second["pages"]["changed"] == 0
    assert second["pages"]["not_modified"] + second["pages"]["unchanged"] == 8
    assert count(database_url, PageVersion) == 8
    assert count(database_url, Blob) == blobs
    assert count(database_url, Observation) == 16


def test_conditional_get_sends_the_stored_etag(tracker: Tracker, site: SiteSpec) -> None:
    tracker.publish(site)
    tracker.run_json()
    code, second = tracker.run_json()
    assert code == 0
    assert second["pages"]["not_modified"] == 8
    publication = tracker.server.requests_for("/government/publications/uk-life-sciences-support")
    assert "If-None-Match" not in publication[0].headers
    assert publication[1].headers["If-None-Match"].startswith('"')
    assert publication[1].headers["User-Agent"].startswith(f"lifesci-tracker/{__version__} (+")


def test_noise_outside_the_content_adds_no_version(
    tracker: Tracker, site: SiteSpec, database_url: str
) -> None:
    tracker.publish(site, noise_seed=1)
    assert tracker.run_json()[0] == 0
    blobs = count(database_url, Blob)
    for seed in (2, 3):
        tracker.publish(site, noise_seed=seed)
        code, result = tracker.run_json()
        assert code == 0
        assert result["pages"]["unchanged"] == 8, result
    assert count(database_url, PageVersion) == 8
    assert count(database_url, Blob) == blobs


def test_one_changed_document_gives_exactly_one_new_version(
    tracker: Tracker, site: SiteSpec, database_url: str
) -> None:
    tracker.publish(site)
    tracker.run_json()
    edited = copy.deepcopy(site)
    stage = edited.doc(EXPERIMENTAL).stages[1]
    stage.orgs.append(OrgSpec("Life Sciences Hub Wales", "https://lshubwales.com", "<p>Wales.</p>"))
    tracker.publish(edited)
    code, result = tracker.run_json()
    assert code == 0
    assert result["pages"]["changed"] == 1
    assert count(database_url, PageVersion) == 9
    assert result["summary"]["organisations_added"] == 1


def test_the_real_first_four_organisations_are_stored(tracker: Tracker, site: SiteSpec) -> None:
    tracker.publish(site)
    tracker.run_json()
    result = tracker.cli("orgs", "--document", "Experimental medicine", "--format", "json")
    assert result.exit_code == 0, result.output
    import json

    names = [row["name"] for row in json.loads(result.stdout)][:4]
    assert names == [
        "Association of Medical Research Charities (AMRC)",
        "Cancer Research UK Commercial Partnerships",
        "Clinical Practice Research Datalink (CPRD)",
        "The Farr Institute of Health Informatics Research",
    ]


def test_the_human_summary_names_pages_and_what_is_stored(tracker: Tracker, site: SiteSpec) -> None:
    tracker.publish(site)
    result = tracker.cli("run")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].endswith(": ok")
    assert lines[1].startswith("Pages: 8 fetched, 8 new, 0 changed")
    assert "update entries" in lines[2]
    assert "baseline" in lines[3]


def test_an_error_page_served_with_200_is_held_back_not_stored(
    tracker: Tracker, site: SiteSpec, database_url: str
) -> None:
    tracker.publish(site)
    tracker.run_json()
    broken = (
        b"<!DOCTYPE html><html><head><title>Sorry, there is a problem with the service - GOV.UK"
        b"</title></head><body><main id='content'><h1>Sorry, there is a problem with the "
        b"service</h1><p>Try again later.</p></main></body></html>"
    )
    tracker.server.pages[default_site().docs[0].path] = broken
    code, result = tracker.run_json()
    assert code == 1
    assert result["status"] == "partial"
    assert result["pages"]["anomalies"] == 1
    assert result["summary"]["organisations_removed"] == 0
    assert count(database_url, PageVersion) == 8
    assert [p["outcome"] for p in result["problems"]] == ["anomaly"]


def test_a_document_losing_most_organisations_is_held_back_until_accepted(
    tracker: Tracker, site: SiteSpec, database_url: str
) -> None:
    tracker.publish(site)
    tracker.run_json()
    gutted = copy.deepcopy(site)
    stages = gutted.doc(EXPERIMENTAL).stages
    for stage in stages[1:]:
        stage.orgs.clear()
    stages[0].orgs[:] = stages[0].orgs[:2]
    tracker.publish(gutted)
    code, result = tracker.run_json()
    assert code == 1
    assert result["pages"]["anomalies"] == 1
    assert "would be removed" in result["problems"][0]["reason"]
    assert count(database_url, PageVersion) == 8
    code, accepted = tracker.run_json("--accept-anomalies")
    assert code == 0
    assert accepted["summary"]["organisations_removed"] > 0
    assert count(database_url, PageVersion) == 9


def test_a_publication_without_its_documents_list_is_an_anomaly(
    tracker: Tracker, site: SiteSpec
) -> None:
    tracker.publish(site)
    tracker.run_json()
    path = "/government/publications/uk-life-sciences-support"
    page = tracker.server.pages[path].decode()
    start = page.index('<section id="documents"')
    end = page.index(
        "</section>",
        page.rindex("gem-c-attachment" if "gem-c-attachment" in page else "attachment embedded"),
    ) + len("</section>")
    tracker.server.pages[path] = (page[:start] + page[end:]).encode()
    tracker.server.etags = False
    code, result = tracker.run_json()
    assert code == 1
    assert result["pages"]["anomalies"] == 1
    assert result["summary"]["organisations_removed"] == 0


def test_an_unreachable_source_exits_1_with_data_kept(
    tracker: Tracker, site: SiteSpec, database_url: str
) -> None:
    tracker.publish(site)
    tracker.run_json()
    tracker.server.stop()
    result = tracker.cli("run")
    assert result.exit_code == 1
    assert "failed" in result.stdout.splitlines()[0]
    assert count(database_url, PageVersion) == 8
    assert "Traceback" not in result.output


def test_a_gone_document_keeps_its_last_version(tracker: Tracker, site: SiteSpec) -> None:
    tracker.publish(site)
    tracker.run_json()
    del tracker.server.pages[site.doc(EXPERIMENTAL).path]
    code, result = tracker.run_json()
    assert code == 1
    assert result["pages"]["gone"] == 1
    assert result["summary"]["organisations_removed"] == 0
    orgs = tracker.cli("orgs", "--document", "Experimental", "--format", "json")
    assert "Association of Medical Research Charities (AMRC)" in orgs.stdout


def test_a_run_left_running_is_marked_failed_at_the_next_start(
    tracker: Tracker, site: SiteSpec, database_url: str
) -> None:
    tracker.publish(site)
    tracker.run_json()
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(Run.__table__.update().values(status="running"))
    engine.dispose()
    result = tracker.cli("run")
    assert result.exit_code == 0
    assert "Marked failed: run 1" in result.stdout


def test_parsed_documents_round_trip_through_show(tracker: Tracker, site: SiteSpec) -> None:
    tracker.publish(site)
    tracker.run_json()
    url = tracker.server.url(site.doc(EXPERIMENTAL).path)
    result = tracker.cli("show", url)
    assert result.exit_code == 0, result.output
    assert '"kind": "html_document"' in result.stdout
    raw = tracker.cli("show", url, "--raw")
    assert raw.stdout_bytes == tracker.server.pages[site.doc(EXPERIMENTAL).path]
    assert HtmlDocument.__name__  # the parsed form is what show prints


def test_off_a_terminal_an_unchanged_healthy_run_prints_nothing(
    tracker: Tracker, site: SiteSpec
) -> None:
    tracker.publish(site)
    assert tracker.cli("run").stdout.startswith("Run 1: ok")  # a baseline is worth a line
    quiet = tracker.cli("run")
    assert quiet.exit_code == 0
    assert quiet.stdout == ""
    del tracker.server.pages[site.doc(EXPERIMENTAL).path]
    problem = tracker.cli("run")
    assert problem.exit_code == 1
    assert problem.stdout.startswith("Run 3: partial")


def test_each_page_outcome_is_announced_as_it_happens(
    server: SiteServer, site: SiteSpec, tmp_path: Path
) -> None:
    from tracker.config import load_config
    from tracker.runner import locked_run

    tracker = Tracker.create(server, tmp_path)
    tracker.publish(site)
    seen: list[str] = []
    result = locked_run(
        load_config(str(tracker.config), environ={}), on_page=lambda page: seen.append(page.url)
    )
    assert seen == [page.url for page in result.pages]
    assert len(seen) == 8


def test_a_crash_keeps_the_committed_batches_and_the_next_run_fetches_the_rest(
    tracker: Tracker, site: SiteSpec, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import scraper.fetch
    from tracker import pipeline

    monkeypatch.setattr(pipeline, "BATCH_PAGES", 3)
    real_fetch = scraper.fetch.Fetcher.fetch
    fetches: list[str] = []

    def crashing_fetch(self: Any, url: str, **options: Any) -> Any:
        fetches.append(url)
        if len(fetches) == 6:
            raise KeyboardInterrupt  # the process dies while its second batch is open
        return real_fetch(self, url, **options)

    monkeypatch.setattr(scraper.fetch.Fetcher, "fetch", crashing_fetch)
    tracker.publish(site)
    crashed = tracker.cli("run")
    assert crashed.exit_code != 0
    assert count(database_url, Observation) == count(database_url, PageVersion) == 3
    engine = create_engine(database_url)
    with engine.connect() as connection:
        status = connection.execute(select(Run.status)).scalar_one()
    engine.dispose()
    assert status == "failed"

    monkeypatch.setattr(scraper.fetch.Fetcher, "fetch", real_fetch)
    code, result = tracker.run_json()
    assert code == 0, result
    assert (result["pages"]["new"], result["pages"]["not_modified"]) == (5, 3)
    assert count(database_url, PageVersion) == 8


def test_a_parse_that_finds_the_same_content_keeps_the_new_fingerprint(
    tracker: Tracker, site: SiteSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A body the parser reads differently (here a new id on a heading) but that parses to the
    stored content is parsed once; its fingerprint is kept, so the next run need not parse it."""
    path = site.doc(EXPERIMENTAL).path

    def publish(noise: int) -> None:
        tracker.publish(site, noise_seed=noise)
        body = tracker.server.pages[path]
        tracker.server.pages[path] = body.replace(b"<h3", b'<h3 id="renamed-anchor"', 1)

    tracker.server.etags = False
    tracker.publish(site, noise_seed=1)
    assert tracker.run_json()[0] == 0
    parsed = count_parses(monkeypatch)
    publish(2)
    code, result = tracker.run_json()
    assert (code, result["pages"]["unchanged"]) == (0, 8)
    assert parsed == [tracker.server.url(path)]
    publish(3)
    code, result = tracker.run_json()
    assert (code, result["pages"]["unchanged"]) == (0, 8)
    assert parsed == [tracker.server.url(path)]  # not parsed again


def test_raw_bodies_are_stored_small_and_read_back_exactly(
    tracker: Tracker, site: SiteSpec, database_url: str
) -> None:
    tracker.publish(site)
    assert tracker.run_json()[0] == 0
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            select(Blob.compression, Blob.size, func.length(Blob.data), Blob.base_sha256)
        ).all()
    engine.dispose()
    assert {row.compression for row in rows} == {"zstd:govuk1"}
    # Each page kind's first body is the base the others are compressed against.
    assert sum(row.base_sha256 is None for row in rows) == 2
    assert sum(row[2] for row in rows) < sum(row.size for row in rows) / 8
    for doc in site.docs:
        raw = tracker.cli("show", tracker.server.url(doc.path), "--raw")
        assert raw.stdout_bytes == tracker.server.pages[doc.path]
