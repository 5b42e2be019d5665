"""The site's pages from histories built by hand: archive intervals, several publications, paths."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from bs4 import BeautifulSoup

from changes.changeset import State
from changes.timeline import OrganisationHistory
from reports.model import Problem
from reports.site import SiteModel, render_site
from reports.site.paths import SitePaths, relative, slugify
from scraper.page import UpdateEntry
from storage.statuses import Trigger
from tests.pages import make_document, make_organisation, make_publication, make_state
from tracker.errors import UsageError
from tracker.site import RunState, history_of

START = datetime(2019, 3, 3, 12, 0, tzinfo=UTC)
AMRC = make_organisation("Association of Medical Research Charities (AMRC)")
CPRD = make_organisation("Clinical Practice Research Datalink (CPRD)")


def model_of(*runs: RunState, urls: tuple[str, ...] = ()) -> SiteModel:
    history = history_of(runs)
    return SiteModel(
        title="UK life sciences support",
        steps=history.steps,
        timeline=history.timeline,
        generated_at=START + timedelta(days=400),
        publication_urls=urls,
    )


def site(run: int, *organisations: object, day: int = 0) -> State:
    document = make_document("Experimental medicine and clinical trials", organisations)  # type: ignore[arg-type]
    at = START + timedelta(days=day)
    return make_state(run, [make_publication([document]), document], at=at)


def soup(files: dict[str, bytes], path: str) -> BeautifulSoup:
    return BeautifulSoup(files[path].decode("utf-8"), "html.parser")


def words(page: BeautifulSoup) -> str:
    return " ".join(page.get_text().split())


def test_an_archive_change_set_shows_the_interval_it_was_seen_in() -> None:
    first = RunState(site(1, AMRC, day=0), trigger=Trigger.ARCHIVE)
    second = RunState(site(2, AMRC, CPRD, day=98), trigger=Trigger.ARCHIVE)
    files = render_site(model_of(first, second))
    change = soup(files, "changes/2.html")
    assert "Seen between 2019-03-03 12:00 UTC and 2019-06-09 12:00 UTC (web archive captures)." in (
        words(change)
    )
    assert [t["datetime"] for t in change.select("p.when time")] == [
        "2019-03-03T12:00:00Z",
        "2019-06-09T12:00:00Z",
    ]
    assert "From the web archive" in words(soup(files, "changes/index.html"))
    cprd = soup(files, "organisations/clinical-practice-research-datalink-cprd.html")
    assert "between 2019-03-03 12:00 UTC and 2019-06-09 12:00 UTC" in words(cprd)


def test_a_live_change_set_shows_its_time_only() -> None:
    files = render_site(model_of(RunState(site(1, AMRC)), RunState(site(2, AMRC, CPRD, day=1))))
    assert "Seen 2019-03-04 12:00 UTC." in words(soup(files, "changes/2.html"))


def test_an_unchanged_run_is_a_change_set_only_when_it_had_problems() -> None:
    problem = Problem("https://www.gov.uk/x", "error", "HTTP 500")
    files = render_site(
        model_of(
            RunState(site(1, AMRC)),
            RunState(site(2, AMRC, day=1)),
            RunState(site(3, AMRC, day=2), problems=(problem,)),
        )
    )
    assert "changes/2.html" not in files
    page = soup(files, "changes/3.html")
    assert "Problems: 1 page" in words(page)
    assert "HTTP 500" in words(page)


def test_several_publications_get_one_section_each() -> None:
    other = make_document("Medical devices", [CPRD], url="https://www.gov.uk/guidance/devices/list")
    devices = make_publication(
        [other], url="https://www.gov.uk/guidance/devices", title="Devices <support>"
    )
    life = site(1, AMRC)
    both = State(1, life.at, {**life.pages, devices.url: devices, other.url: other})
    urls = (devices.url, "https://www.gov.uk/government/publications/uk-life-sciences-support")
    files = render_site(replace(model_of(RunState(both), urls=urls), title="GOV.UK guidance"))
    index = soup(files, "index.html")
    assert [h.get_text() for h in index.find_all("h2")][:2] == [
        "Devices <support>",
        "UK life sciences support",
    ]
    assert index.find("h3", string="Documents") is not None
    assert b"Devices <support>" not in files["index.html"]
    state = soup(files, "states/1.html")
    assert [h.get_text() for h in state.find_all("h2")] == [
        "Devices <support>",
        "UK life sciences support",
    ]


def test_markup_in_page_text_is_shown_as_text() -> None:
    evil = make_organisation('<img src=x onerror="alert(1)"></script>')
    document = make_document("Experimental medicine and clinical trials", [AMRC, evil])
    note = UpdateEntry("2019-03-04", "<b>bold</b> & more")
    publication = make_publication([document], updates=(note,))
    second = make_state(2, [publication, document], at=START + timedelta(days=1))
    files = render_site(model_of(RunState(site(1, AMRC)), RunState(second)))
    for path, body in files.items():
        if path.endswith(".html"):
            assert b"<img src=x" not in body, path
            assert b"<b>bold</b>" not in body, path
    organisations = files["organisations/index.html"].decode("utf-8")
    assert organisations.count("</script>") == 2  # the index's and the script's own: no third


def test_organisation_paths_are_first_come_and_never_the_list_page() -> None:
    one = make_organisation("Index", url="https://one.example/")
    two = make_organisation("Index", url="https://two.example/", stage="Clusters")
    files = render_site(model_of(RunState(site(1, one, two))))
    assert soup(files, "organisations/index.html").h1.get_text() == "Organisations"  # type: ignore[union-attr]
    named = sorted(p for p in files if p.startswith("organisations/index-"))
    assert len(named) == 2
    assert all(soup(files, p).h1.get_text() == "Index" for p in named)  # type: ignore[union-attr]


def test_slugs_and_relative_links() -> None:
    assert slugify("Life Sciences Hub Wales — Ymchwil") == "life-sciences-hub-wales-ymchwil"
    assert slugify("<script>") == "script"
    assert slugify("***") == "page"
    assert relative("organisations/a.html", "changes/3.html") == "../organisations/a.html"
    assert relative("index.html#x", "index.html") == "index.html#x"
    assert relative("changes/3.html", "index.html") == "changes/3.html"
    assert relative("changes/3.html", "changes/2.html") == "3.html"
    assert relative("index.html", "changes/2.html") == "../index.html"
    assert relative("#top", "changes/2.html") == "#top"


def test_an_empty_history_is_a_clear_error() -> None:
    with pytest.raises(UsageError, match="no finished runs stored yet"):
        history_of([])


def test_paths_name_a_renamed_organisation_after_its_first_name() -> None:
    renamed = replace(AMRC, name="AMRC")
    model = model_of(RunState(site(1, AMRC)), RunState(site(2, renamed, day=1)))
    paths = SitePaths(model.timeline.organisations, model.steps)
    (history,) = model.timeline.organisations
    assert isinstance(history, OrganisationHistory)
    assert paths.organisation(history.key) == (
        "organisations/association-of-medical-research-charities-amrc.html"
    )
    assert [(a.path, a.keys) for a in paths.aliases] == [
        ("organisations/amrc.html", (history.key,))
    ]
