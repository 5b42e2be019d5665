"""Every GOV.UK markup era since 2015 parses to the same content (issue 18).

The fixtures of tracker/sample/pages/ carry the same content in five markups (Whitehall 2015 and
2017, government-frontend with static's components 2017, the gem components 2021, the 2025+
frontend); only their state differs (the older ones predate the later updates). Pages are compared
field by field, with each fixture's own state put in for the fields a state changes.
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from changes import State, diff
from scraper.eras import Era
from scraper.errors import LayoutChangedError
from scraper.page import HtmlDocument, Publication, UpdateEntry
from scraper.parse import HtmlSource, parse_html_document, parse_publication
from scraper.text import display_date, element_date
from tests.test_parse import (
    EXPERIMENTAL_MEDICINE,
    EXPERIMENTAL_URL,
    PUBLICATION_URL,
    PUBLICATIONS,
    fixture_bytes,
    parse_fixture,
)

FIRST = UpdateEntry("2015-01-10", "First published.")
SEPTEMBER_2016 = UpdateEntry("2016-09-21", "Updated organisation names and links in all documents.")
# What each fixture's state puts in the fields a state changes (see tracker/sample/pages/README.md).
PUBLICATION_STATES: dict[str, dict[str, object]] = {
    "publication_whitehall_2015-06": {"last_updated": None, "updates": (FIRST,)},
    "publication_whitehall_2017-02": {
        "last_updated": "2016-09-21",
        "updates": (SEPTEMBER_2016, FIRST),
    },
    "publication_static-components_2017-03": {
        "last_updated": "2016-09-21",
        "updates": (SEPTEMBER_2016, FIRST),
    },
}
DOCUMENT_UPDATED = {
    "html_experimental-medicine-and-clinical-trials_whitehall_2015-06": "2015-01-10",
    "html_experimental-medicine-and-clinical-trials_whitehall_2017-01": "2016-09-21",
    "html_experimental-medicine-and-clinical-trials_static-components_2017-01": "2016-09-21",
}
ERAS = {
    "whitehall": Era.WHITEHALL,
    "static-components": Era.STATIC_COMPONENTS,
    "2021-12": Era.GEM_COMPONENTS,
    "current": Era.FRONTEND,
}
WHITEHALL_PUBLICATION = "publication_whitehall_2017-02"
WHITEHALL_DOCUMENT = "html_experimental-medicine-and-clinical-trials_whitehall_2017-01"


def fixture_text(name: str) -> str:
    return fixture_bytes(name).decode("utf-8")


@pytest.mark.parametrize("name", PUBLICATIONS)
def test_every_era_gives_the_2021_publication_in_its_own_state(name: str) -> None:
    page = parse_fixture(name)
    assert isinstance(page, Publication)
    state = PUBLICATION_STATES.get(name, {})
    for field, value in state.items():
        assert getattr(page, field) == value, field
    reference = parse_fixture("publication_2021-12")
    assert dataclasses.replace(reference, **state) == page  # type: ignore[arg-type]


@pytest.mark.parametrize("name", EXPERIMENTAL_MEDICINE)
def test_every_era_gives_the_2021_document_in_its_own_state(name: str) -> None:
    page = parse_fixture(name)
    assert isinstance(page, HtmlDocument)
    reference = parse_fixture("html_experimental-medicine-and-clinical-trials_2021-12")
    assert isinstance(reference, HtmlDocument)
    updated = DOCUMENT_UPDATED.get(name, reference.updated)
    assert page.updated == updated
    assert dataclasses.replace(reference, updated=updated) == page
    assert len(page.organisations) == 12
    assert "Contents" not in page.text.splitlines()


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (WHITEHALL_PUBLICATION, "publication_static-components_2017-03"),
        (
            WHITEHALL_DOCUMENT,
            "html_experimental-medicine-and-clinical-trials_static-components_2017-01",
        ),
    ],
    ids=["publication", "html_document"],
)
def test_the_2017_switch_to_government_frontend_is_no_change(old: str, new: str) -> None:
    before, after = parse_fixture(old), parse_fixture(new)
    changes = diff(State(1, None, {before.url: before}), State(2, None, {after.url: after}))
    assert changes.summary.is_empty
    assert changes.documents == ()
    assert before == after


@pytest.mark.parametrize("name", [*PUBLICATIONS, *EXPERIMENTAL_MEDICINE])
def test_each_fixture_is_read_in_its_own_era(name: str) -> None:
    era = next(era for marker, era in ERAS.items() if marker in name)
    assert HtmlSource(fixture_bytes(name)).era == era


# --- what the older eras write differently ------------------------------------------------------


def _whitehall_publication(edit: str) -> Publication:
    page = parse_publication(edit.encode(), PUBLICATION_URL)
    assert isinstance(page, Publication)
    return page


@pytest.mark.parametrize(
    ("element", "attribute"),
    [("abbr", "title"), ("time", "title"), ("time", "datetime")],
)
def test_whitehall_dates_come_from_any_of_its_date_elements(element: str, attribute: str) -> None:
    text = re.sub(
        r'<time class="([^"]*)" datetime="([^"]*)">(.*?)</time>',
        rf'<{element} class="\1" {attribute}="\2">\3</{element}>',
        fixture_text(WHITEHALL_PUBLICATION),
    )
    assert f"<{element} " in text
    assert _whitehall_publication(text) == parse_fixture(WHITEHALL_PUBLICATION)


def test_a_space_padded_day_without_a_date_attribute_is_still_read() -> None:
    text = fixture_text(WHITEHALL_PUBLICATION).replace(
        '<time class="date" datetime="2016-09-21T10:15:00+01:00">21 September 2016</time>',
        "<span> 1 October 2016</span>",
    )
    page = _whitehall_publication(text)
    assert page.last_updated == "2016-10-01"


def test_whitehall_history_without_a_list_is_its_first_published_note() -> None:
    page = parse_fixture("publication_whitehall_2015-06")
    assert isinstance(page, Publication)
    assert (page.published, page.last_updated, page.updates) == ("2015-01-10", None, (FIRST,))


def test_a_topic_before_the_whitehall_type_is_not_the_type() -> None:
    text = fixture_text(WHITEHALL_PUBLICATION).replace(
        '<p class="type">Guidance</p>',
        '<p class="type"><a href="/topic/life-sciences">Life sciences</a> \u2013 guidance</p>',
    )
    assert _whitehall_publication(text).doc_type == "Guidance"


def test_whitehall_heading_numbers_are_not_part_of_the_headings() -> None:
    text = fixture_text(WHITEHALL_DOCUMENT)
    numbers = iter(range(1, 100))
    text = re.sub(
        r"(<h[23] id=\"[^\"]*\">)",
        lambda match: f'{match[1]}<span class="number">{next(numbers)}. </span>',
        text,
    )
    assert '<span class="number">12. </span>' in text
    assert parse_html_document(text.encode(), EXPERIMENTAL_URL) == parse_fixture(WHITEHALL_DOCUMENT)


def test_a_2017_change_note_is_the_text_after_its_date() -> None:
    page = parse_fixture("publication_static-components_2017-03")
    assert isinstance(page, Publication)
    assert page.updates == (SEPTEMBER_2016, FIRST)


def test_a_never_updated_2017_page_has_its_first_published_note() -> None:
    text = re.sub(
        r'<div class="change-notes".*?</ol>\s*</div>\s*</div>',
        "",
        fixture_text("publication_static-components_2017-03"),
        flags=re.S,
    )
    text = re.sub(r"<dt>Last updated:</dt>\s*<dd>.*?</dd>", "", text, flags=re.S)
    page = parse_publication(text.encode(), PUBLICATION_URL)
    assert (page.last_updated, page.updates) == (None, (FIRST,))


def test_a_stray_end_tag_in_a_2017_body_keeps_the_back_to_contents_link_out() -> None:
    name = "html_experimental-medicine-and-clinical-trials_static-components_2017-01"
    text = fixture_text(name).replace("</h3>", "</h3></div></div>", 1)
    page = parse_html_document(text.encode(), EXPERIMENTAL_URL)
    assert page == parse_fixture(name)


# --- markup no era can place --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "reason"),
    [
        (
            '<div id="whitehall-wrapper"><main class="whitehall-content"></main></div>',
            "no h1 title",
        ),
        ("<main><h1>UK life sciences support</h1><p>Nothing else.</p></main>", "no Documents list"),
        ("<div><p>An archive's placeholder page</p></div>", "no h1 title"),
    ],
)
def test_markup_no_era_places_is_a_layout_error(page: str, reason: str) -> None:
    with pytest.raises(LayoutChangedError, match=reason):
        parse_publication(page.encode(), PUBLICATION_URL)


def test_a_page_with_no_era_landmarks_is_read_with_the_newest_rules() -> None:
    page = (
        b"<main><h1>T</h1><div class='govspeak'><h2>Stage: UK support organisations</h2>"
        b"<h3>Org</h3><p>x</p></div></main>"
    )
    source = HtmlSource(page)
    assert source.era is None
    document = parse_html_document(source, EXPERIMENTAL_URL)
    assert [(org.name, org.stage) for org in document.organisations] == [("Org", "Stage")]


# --- dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        (
            '<dd><abbr class="date" title="2015-01-10T00:00:00+00:00">10 January 2015</abbr></dd>',
            "2015-01-10",
        ),
        ('<dd><time title="2015-07-02T09:00:00+01:00">2 July 2015</time></dd>', "2015-07-02"),
        (
            '<dd><time datetime="2016-12-01T00:30:00+00:00"> 1 December 2016</time></dd>',
            "2016-12-01",
        ),
        ("<dd> 1 December 2016, <a href='#history'>see all updates</a></dd>", "2016-12-01"),
        ("<dt> 3 March 2016  9:05am</dt>", "2016-03-03"),
        (
            '<dd><abbr title="Department for International Trade">DIT</abbr> 4 May 2017</dd>',
            "2017-05-04",
        ),
        ('<dd><time datetime="soon">31 February 2017</time></dd>', None),
        ("<dd>no date</dd>", None),
    ],
)
def test_element_date_reads_date_attributes_then_the_text(
    markup: str, expected: str | None
) -> None:
    from lxml import etree

    element = etree.fromstring(markup, etree.HTMLParser()).find(".//body/*")
    assert element_date(element) == expected


def test_display_date_takes_a_space_padded_day() -> None:
    assert display_date(" 1 December 2016 12:00am") == "2016-12-01"
