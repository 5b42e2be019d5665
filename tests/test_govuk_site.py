"""Tests for tests/govuk_site.py: the rendered site parses, round-trips the fixtures, and is
era- and noise-proof."""

from __future__ import annotations

import copy
import itertools
import re
from datetime import UTC, datetime

import pytest

from scraper.eras import Era as MarkupEra
from scraper.errors import LayoutChangedError
from scraper.page import HtmlDocument, Page, Publication
from scraper.parse import HtmlSource, parse_html_document, parse_publication
from tests.govuk_site import (
    ERAS,
    FIXTURES,
    PUBLICATION_PATH,
    Era,
    FileSpec,
    OrgSpec,
    SiteSpec,
    add_noise,
    default_site,
    render_site,
)

BASE = "http://127.0.0.1:8000"
MARKUP: dict[Era, MarkupEra] = {
    "2015": MarkupEra.WHITEHALL,
    "2017": MarkupEra.STATIC_COMPONENTS,
    "2021": MarkupEra.GEM_COMPONENTS,
    "current": MarkupEra.FRONTEND,
}
EXPERIMENTAL = "experimental-medicine-and-clinical-trials"
TRADE = (
    "uk-life-sciences-trade-organisations-membership-associations-clusters-and-research-and-"
    "innovation-networks"
)


def parse_site(pages: dict[str, bytes], base: str = BASE) -> dict[str, Page]:
    """Parse every rendered page as the tracker would."""
    return {
        path: (parse_publication if path == PUBLICATION_PATH else parse_html_document)(
            body, base + path
        )
        for path, body in pages.items()
    }


def parsed(spec: SiteSpec) -> dict[str, Page]:
    return parse_site(render_site(spec, BASE))


def document(pages: dict[str, Page], slug: str) -> HtmlDocument:
    page = pages[f"{PUBLICATION_PATH}/{slug}"]
    assert isinstance(page, HtmlDocument)
    return page


@pytest.mark.parametrize("era", ERAS)
def test_every_rendered_page_parses_and_lists_what_the_spec_says(era: Era) -> None:
    spec = default_site(era)
    pages = parsed(spec)
    publication = pages[PUBLICATION_PATH]
    assert isinstance(publication, Publication)
    assert [d.url for d in publication.documents] == [BASE + doc.path for doc in spec.docs]
    assert len(spec.docs) == 7
    for doc in spec.docs:
        got = document(pages, doc.slug)
        expected = [(o.name, o.url, s.heading) for s in doc.stages for o in s.orgs]
        assert [(o.name, o.url, o.stage_heading) for o in got.organisations] == expected
        assert got.title == doc.title
        assert got.organisations


@pytest.mark.parametrize(
    ("era", "fixture", "slug"),
    [
        ("2021", "html_experimental-medicine-and-clinical-trials_2021-12.html", EXPERIMENTAL),
        ("current", "html_experimental-medicine-and-clinical-trials_current.html", EXPERIMENTAL),
        ("2021", "html_uk-life-sciences-trade-organisations_2021-12.html", TRADE),
    ],
)
def test_fixture_documents_round_trip_to_the_same_parse(era: Era, fixture: str, slug: str) -> None:
    url = f"https://www.gov.uk{PUBLICATION_PATH}/{slug}"
    rendered = render_site(default_site(era), "https://www.gov.uk")[f"{PUBLICATION_PATH}/{slug}"]
    expected = parse_html_document((FIXTURES / fixture).read_bytes(), url)
    assert parse_html_document(rendered, url) == expected


@pytest.mark.parametrize(
    ("era", "fixture"),
    [("2021", "publication_2021-12.html"), ("current", "publication_current.html")],
)
def test_publication_round_trips_to_the_same_parse(era: Era, fixture: str) -> None:
    url = f"https://www.gov.uk{PUBLICATION_PATH}"
    rendered = render_site(default_site(era), "https://www.gov.uk")[PUBLICATION_PATH]
    expected = parse_publication((FIXTURES / fixture).read_bytes(), url)
    assert parse_publication(rendered, url) == expected


@pytest.mark.parametrize("era", ERAS)
def test_every_era_renders_in_its_own_markup(era: Era) -> None:
    pages = render_site(default_site(), BASE, era=era)
    assert {HtmlSource(body).era for body in pages.values()} == {MARKUP[era]}


@pytest.mark.parametrize(("old", "new"), list(itertools.pairwise(ERAS)))
def test_switching_era_gives_identical_parsed_results_for_the_whole_site(
    old: Era, new: Era
) -> None:
    spec = default_site(old)
    old_pages, new_pages = render_site(spec, BASE), render_site(spec, BASE, era=new)
    assert old_pages.keys() == new_pages.keys()
    assert all(old_pages[path] != new_pages[path] for path in old_pages)
    assert parse_site(old_pages) == parse_site(new_pages)


@pytest.mark.parametrize("era", ERAS)
def test_noise_changes_bytes_but_not_parsed_results(era: Era) -> None:
    spec = default_site(era)
    quiet = render_site(spec, BASE)
    noisy_one, noisy_two = (
        render_site(spec, BASE, noise_seed=1),
        render_site(spec, BASE, noise_seed=2),
    )
    assert all(quiet[p] != noisy_one[p] != noisy_two[p] for p in quiet)
    assert b'name="csrf-token"' in noisy_one[PUBLICATION_PATH]
    assert b"data-request-id=" in noisy_one[PUBLICATION_PATH]
    assert parse_site(noisy_one) == parse_site(noisy_two) == parse_site(quiet)
    assert add_noise(quiet[PUBLICATION_PATH], 7) == add_noise(quiet[PUBLICATION_PATH], 7)


@pytest.mark.parametrize("era", ERAS)
def test_noise_includes_visible_text_in_the_chrome(era: Era) -> None:
    pages = render_site(default_site(era), BASE, noise_seed=1)
    for body in pages.values():
        text = body.decode()
        stamp = re.search(r'<p class="render-stamp">Page rendered at ([^<]+)</p>\s*</footer>', text)
        banner = re.search(r'<body[^>]*>\s*<div class="global-bar"[^>]*><p[^>]*>([^<]+)</p>', text)
        assert stamp is not None
        assert banner is not None


def test_specs_deep_copy_independently() -> None:
    spec = default_site()
    changed = copy.deepcopy(spec)
    changed.doc(EXPERIMENTAL).remove_org("Association of Medical Research Charities (AMRC)")
    assert parsed(spec) != parsed(changed)
    assert parsed(spec) == parsed(default_site())


@pytest.mark.parametrize("era", ERAS)
def test_spec_edits_show_up_in_the_parsed_site(era: Era) -> None:
    spec = default_site(era)
    doc = spec.doc(EXPERIMENTAL)
    doc.remove_org("The Farr Institute of Health Informatics Research")
    doc.move_org("Health Research Authority (HRA)", doc.stages[0].heading)
    stage, cprd = doc.find("Clinical Practice Research Datalink (CPRD)")
    stage.orgs[stage.orgs.index(cprd)] = cprd.relinked("https://www.cprd.example/")
    doc.find("Cancer Research UK Commercial Partnerships")[1].name = "Cancer Research Horizons"
    doc.stages[1].orgs.append(
        OrgSpec("New & Co", "https://new.example/", "<p>Brand new.</p>", True)
    )
    spec.add_change_note(datetime(2022, 2, 3, 10, 0, tzinfo=UTC), "Updated experimental medicine.")
    spec.docs = [d for d in spec.docs if d.slug != "medical-technology"]
    spec.files.append(FileSpec("Annex A", f"{PUBLICATION_PATH}/annex-a.pdf"))

    pages = parsed(spec)
    publication = pages[PUBLICATION_PATH]
    assert isinstance(publication, Publication)
    assert (publication.last_updated, publication.updates[0].date) == ("2022-02-03", "2022-02-03")
    assert publication.updates[0].note == "Updated experimental medicine."
    assert "medical-technology" not in " ".join(d.url for d in publication.documents)
    assert f"{PUBLICATION_PATH}/medical-technology" not in pages
    assert publication.documents[-1].kind == "attachment"
    assert publication.documents[-1].attributes == ("PDF", "1.2 MB", "12 pages")
    got = {o.name: o for o in document(pages, EXPERIMENTAL).organisations}
    assert "The Farr Institute of Health Informatics Research" not in got
    assert got["Health Research Authority (HRA)"].stage == "Discovery and deep research"
    assert got["Clinical Practice Research Datalink (CPRD)"].url == "https://www.cprd.example/"
    assert "Cancer Research Horizons" in got
    assert (got["New & Co"].url, got["New & Co"].stage) == (
        "https://new.example/",
        "Development and translation",
    )


@pytest.mark.parametrize("era", ERAS)
def test_publication_without_documents_is_a_layout_change(era: Era) -> None:
    spec = default_site(era)
    spec.docs = []
    with pytest.raises(LayoutChangedError, match="no document links"):
        parsed(spec)


def test_never_updated_publication_has_no_last_updated_date() -> None:
    for era in ERAS:
        spec = default_site(era)
        spec.last_updated = None
        spec.change_notes = spec.change_notes[-1:]
        publication = parsed(spec)[PUBLICATION_PATH]
        assert isinstance(publication, Publication)
        assert (publication.last_updated, len(publication.updates)) == (None, 1)
