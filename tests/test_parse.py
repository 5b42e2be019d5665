"""Tests for scraper/parse.py: golden fixtures, both markup eras, edge cases, errors and fuzzing."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scraper.errors import LayoutChangedError
from scraper.page import Attachment, HtmlDocument, Organisation, Page, Publication, page_to_dict
from scraper.parse import parse_html_document, parse_publication
from tests.golden import assert_golden, to_golden_json
from tracker.sample import PAGES

FIXTURES = PAGES
PUBLICATION_URL = "https://www.gov.uk/government/publications/uk-life-sciences-support"
EXPERIMENTAL_URL = f"{PUBLICATION_URL}/experimental-medicine-and-clinical-trials"
TRADE_URL = (
    f"{PUBLICATION_URL}/uk-life-sciences-trade-organisations-membership-associations-clusters-"
    "and-research-and-innovation-networks"
)
Parser = Callable[[bytes, str], Page]
# Every fixture of every markup era (tracker/sample/pages/README.md), oldest era first.
PUBLICATIONS = (
    "publication_whitehall_2015-06",
    "publication_whitehall_2017-02",
    "publication_static-components_2017-03",
    "publication_2021-12",
    "publication_current",
)
EXPERIMENTAL_MEDICINE = tuple(
    f"html_experimental-medicine-and-clinical-trials_{era}"
    for era in (
        "whitehall_2015-06",
        "whitehall_2017-01",
        "static-components_2017-01",
        "2021-12",
        "current",
    )
)
CASES: dict[str, tuple[Parser, str]] = {
    **dict.fromkeys(PUBLICATIONS, (parse_publication, PUBLICATION_URL)),
    **dict.fromkeys(EXPERIMENTAL_MEDICINE, (parse_html_document, EXPERIMENTAL_URL)),
    "html_uk-life-sciences-trade-organisations_2021-12": (parse_html_document, TRADE_URL),
}


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / f"{name}.html").read_bytes()


def parse_fixture(name: str, body: bytes | None = None) -> Page:
    parser, url = CASES[name]
    return parser(fixture_bytes(name) if body is None else body, url)


def parse_doc(body_html: str, *, url: str = EXPERIMENTAL_URL, before: str = "") -> HtmlDocument:
    """Parse a minimal current-era HTML publication page with this govspeak body."""
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>T - GOV.UK</title>
    </head><body><main id="content"><header class="gem-c-inverse-header"><div class="gem-c-heading">
    <span class="govuk-caption-xl gem-c-heading__context">Guidance</span>
    <h1 class="gem-c-heading__text">Test document</h1></div>
    <p class="gem-c-inverse-header__subtext">Updated 1 December 2021</p></header>
    <div id="contents">{before}<div class="gem-c-govspeak-html-publication">
    <div class="gem-c-govspeak"><div class="govspeak">{body_html}</div></div></div></div>
    </main></body></html>"""
    return parse_html_document(page.encode(), url)


def parse_pub(
    documents: str, history: str = "", terms: tuple[str, str] = ("Published", "")
) -> Publication:
    """Parse a minimal publication page with this Documents list content and change history."""
    page = f"""<html><body><main><h1>UK life sciences support</h1><div class="gem-c-metadata"><dl>
    <dt>From:</dt><dd><a href="/government/organisations/a">A</a> and <a href="/b">B</a></dd>
    <dt>{terms[0]}{terms[1]}</dt><dd>10 January 2015</dd></dl></div>
    <section id="documents"><h2>Documents</h2>{documents}</section>
    <ol>{history}</ol></main></body></html>"""
    return parse_publication(page.encode(), PUBLICATION_URL)


def org(document: HtmlDocument, name: str, occurrence: int = 0) -> Organisation:
    return [o for o in document.organisations if o.name == name][occurrence]


# --- golden files and the two markup eras ---------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_fixture_parses_to_its_golden_json(name: str) -> None:
    assert_golden(f"parse/{name}.json", to_golden_json(page_to_dict(parse_fixture(name))))


@pytest.mark.parametrize("name", sorted(CASES))
def test_page_to_dict_is_what_asdict_gives(name: str) -> None:
    page = parse_fixture(name)
    attachment = Attachment(url="https://x/a.pdf", title="A", attributes=("PDF", "1 MB"))
    for value in (page, attachment):
        assert page_to_dict(value) == dataclasses.asdict(value)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("publication_2021-12", "publication_current"),
        (
            "html_experimental-medicine-and-clinical-trials_2021-12",
            "html_experimental-medicine-and-clinical-trials_current",
        ),
    ],
)
def test_both_markup_eras_parse_to_identical_pages(old: str, new: str) -> None:
    assert parse_fixture(old) == parse_fixture(new)


def test_real_first_four_organisations_of_experimental_medicine_are_pinned() -> None:
    document = parse_fixture("html_experimental-medicine-and-clinical-trials_2021-12")
    assert isinstance(document, HtmlDocument)
    stage = "Discovery and deep research"
    heading = "Discovery and deep research development stage: UK support organisations"
    mhra = "https://www.gov.uk/government/organisations/medicines-and-healthcare-products-regulatory-agency"
    assert document.organisations[:4] == (
        Organisation(
            "Association of Medical Research Charities (AMRC)",
            "https://www.amrc.org.uk/",
            "AMRC is the national membership body for leading medical and health research "
            "charities, which between them fund more than a third of publicly funded medical "
            "research in the UK.",
            stage, heading, ("https://www.amrc.org.uk/",), 0,
        ),
        Organisation(
            "Cancer Research UK Commercial Partnerships",
            "https://www.cancerresearchuk.org/",
            "This part of Cancer Research UK develops and commercialises new discoveries from "
            "cancer research. It links academia and industry and turns promising research into "
            "commercial propositions.",
            stage, heading, ("https://www.cancerresearchuk.org/",), 1,
        ),
        Organisation(
            "Clinical Practice Research Datalink (CPRD)",
            "https://www.cprd.com/",
            "CPRD is a not-for-profit government research service, funded jointly by the National "
            "Institute for Health Research (NIHR) and the Medicines and Healthcare products "
            "Regulatory Agency (MHRA), part of the Department of Health and Social Care.\n\n"
            "It has provided anonymised primary care records for public health research for "
            "about 30 years, supporting observational studies, trial feasibility and protocol "
            "design, and post-market surveillance.",
            stage, heading, ("https://www.cprd.com/", mhra), 2,
        ),
        Organisation(
            "The Farr Institute of Health Informatics Research",
            "https://www.farrinstitute.org/",
            "The Farr Institute is a UK-wide research collaboration of 21 academic institutions "
            "and health partners in England, Scotland and Wales. It links electronic health "
            "records with other research data.",
            stage, heading, ("https://www.farrinstitute.org/",), 3,
        ),
    )  # fmt: skip
    assert document.updated == "2021-12-01"
    assert document.doc_type == "Guidance"


def test_list_in_a_description_keeps_items_on_consecutive_lines() -> None:
    document = parse_fixture("html_uk-life-sciences-trade-organisations_2021-12")
    assert isinstance(document, HtmlDocument)
    wales = org(document, "Life Sciences Hub Wales")
    assert wales.description.split("\n\n")[1:] == [
        "It can help with:",
        "- finding partners in health and social care in Wales\n"
        "- understanding the needs of the health and care system\n"
        "- advice on funding and on bringing products to market",
        "Email hello@lshubwales.com.",
    ]
    assert wales.links == ("https://lshubwales.com/", "mailto:hello@lshubwales.com")


def _reverse_attributes(html: str) -> str:
    attribute = r"""\s+[^\s=>/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>'"]+))?"""

    def reverse(match: re.Match[str]) -> str:
        found = re.findall(attribute, match.group(2))
        return f"<{match.group(1)}{''.join(reversed(found))}{match.group(3)}>"

    return re.sub(rf"<([a-zA-Z][a-zA-Z0-9]*)((?:{attribute})+)(\s*/?)>", reverse, html)


MARKUP_ONLY_CHANGES: dict[str, Callable[[str], str]] = {
    "attribute order": _reverse_attributes,
    "whitespace reflow": lambda html: html.replace(" ", " \n\t ").replace("><", ">\n  <"),
    "class changes": lambda html: html.replace(' class="govuk-link"', "").replace(
        "<p>", '<p class="govuk-body extra">'
    ),
    "nested govspeak wrappers": lambda html: re.sub(
        r'(<div class="govspeak">)(.*?)(</div>)',
        r'\1<div class="govspeak"><div class="gem-c-govspeak">\2</div></div>\3',
        html,
        flags=re.S,
    ),
    "entities for characters": lambda html: html.replace(",", "&#44;").replace("(", "&#40;"),
}


@pytest.mark.parametrize("change", sorted(MARKUP_ONLY_CHANGES))
@pytest.mark.parametrize("name", sorted(CASES))
def test_markup_only_changes_do_not_change_the_page(name: str, change: str) -> None:
    changed = MARKUP_ONLY_CHANGES[change](fixture_bytes(name).decode("utf-8"))
    assert changed != fixture_bytes(name).decode("utf-8")
    assert parse_fixture(name, changed.encode()) == parse_fixture(name)


# --- organisations: small inline pages -------------------------------------------------------

STAGE = "<h2>Discovery and deep research development stage: UK support organisations</h2>"


def test_h2_introduction_without_h3_yields_no_organisation() -> None:
    document = parse_doc("<h2>Introduction</h2><p>About this.</p><h2>Stage two</h2><p>More.</p>")
    assert document.organisations == ()
    assert document.intro_text == "Introduction\nAbout this.\nStage two\nMore."


def test_intro_ends_at_the_first_stage_that_has_organisations() -> None:
    document = parse_doc(f"<p>Lead.</p><h2>Intro</h2><p>About.</p>{STAGE}<h3>A</h3><p>a</p>")
    assert document.intro_text == "Lead.\nIntro\nAbout."
    assert document.text.splitlines()[-3:] == [STAGE[4:-5], "A", "a"]


def test_heading_that_is_a_link_is_the_url() -> None:
    document = parse_doc(
        f'{STAGE}<h3><a href="https://bionow.example/">Bionow</a></h3>'
        '<p>See <a href="https://other.example/">other</a>.</p>'
    )
    (bionow,) = document.organisations
    assert (bionow.name, bionow.url) == ("Bionow", "https://bionow.example/")
    assert bionow.links == ("https://bionow.example/", "https://other.example/")


def test_organisation_with_no_link_has_no_url() -> None:
    (only,) = parse_doc(f"{STAGE}<h3>Life Sciences Scotland</h3><p>No link.</p>").organisations
    assert (only.url, only.links, only.description) == (None, (), "No link.")


def test_mailto_is_kept_in_links_but_never_the_url() -> None:
    document = parse_doc(
        f'{STAGE}<h3><a href="mailto:a@x.example">A</a></h3>'
        '<p><a href="mailto:b@x.example">b</a> <a href="https://a.example/">site</a></p>'
        '<h3>B</h3><p><a href="mailto:c@x.example">c</a></p>'
    )
    a, b = document.organisations
    assert a.url == "https://a.example/"
    assert a.links == ("mailto:a@x.example", "mailto:b@x.example", "https://a.example/")
    assert (b.url, b.links) == (None, ("mailto:c@x.example",))


def test_relative_links_resolve_against_the_page_and_gov_uk_comes_last() -> None:
    document = parse_doc(
        f'{STAGE}<h3>MHRA</h3><p><a href="/government/organisations/mhra">MHRA</a> and '
        '<a href="../other">other</a></p><h3>CPRD</h3><p><a href="/government/x">x</a> '
        '<a href="https://www.cprd.com/">CPRD</a></p>'
    )
    mhra, cprd = document.organisations
    assert mhra.links == (
        "https://www.gov.uk/government/organisations/mhra",
        "https://www.gov.uk/government/publications/other",
    )
    assert mhra.url == "https://www.gov.uk/government/organisations/mhra"
    assert cprd.url == "https://www.cprd.com/"


def test_links_are_deduplicated_keeping_order() -> None:
    (only,) = parse_doc(
        f'{STAGE}<h3>A</h3><p><a href="https://b.example/">b</a> <a href="https://a.example/">a</a>'
        ' <a href="https://b.example/">b again</a> <a href="javascript:void(0)">js</a></p>'
    ).organisations
    assert only.links == ("https://b.example/", "https://a.example/")


def test_same_organisation_in_two_stages_is_two_entries() -> None:
    document = parse_doc(
        f"{STAGE}<h3>NIHR</h3><p>one</p><h2>Delivery: UK support organisations</h2>"
        '<h3 id="nihr-1">NIHR</h3><p>two</p>'
    )
    first, second = document.organisations
    assert (first.name, first.stage, first.position) == ("NIHR", "Discovery and deep research", 0)
    assert (second.name, second.stage, second.position) == ("NIHR", "Delivery", 1)
    assert second.stage_heading == "Delivery: UK support organisations"


@pytest.mark.parametrize(
    ("heading", "stage"),
    [
        (
            "Regulation and assessment development stage: UK support organisations",
            "Regulation and assessment",
        ),
        ("Launching global access: UK support organisations", "Launching global access"),
        ("Clusters UK support organisations", "Clusters"),
        ("Trade organisations", "Trade organisations"),
    ],
)
def test_stage_label_drops_the_support_organisations_suffix(heading: str, stage: str) -> None:
    (only,) = parse_doc(f"<h2>{heading}</h2><h3>A</h3><p>a</p>").organisations
    assert (only.stage, only.stage_heading) == (stage, heading)


def test_print_only_block_and_contents_list_are_not_content() -> None:
    licence = (
        '<div class="print-metadata"><p>© Crown copyright <a href="https://www.nationalarchives.gov.uk/">'
        'licence</a> <a href="mailto:psi@nationalarchives.gov.uk">psi</a></p></div>'
    )
    contents = '<nav class="gem-c-contents-list"><ol><li><a href="#s">Stage</a></li></ol></nav>'
    document = parse_doc(f"{licence}{contents}{STAGE}<h3>A</h3>{licence}<p>a</p>", before=licence)
    (only,) = document.organisations
    assert (only.links, only.description, only.url) == ((), "a", None)
    assert "Crown copyright" not in document.text
    assert "Stage\n" not in document.text


def test_text_is_normalised_and_entities_equal_literal_characters() -> None:
    literal = parse_doc(f"{STAGE}<h3>King’s Café</h3><p>It’s\u00a0 a  “hub”.</p>")
    entities = parse_doc(
        f"{STAGE}<h3>King&rsquo;s Cafe&#x301;</h3><p>It&rsquo;s&nbsp; a\n“hub”.</p>"
    )
    assert literal == entities
    assert (literal.organisations[0].name, literal.organisations[0].description) == (
        "King’s Café",
        "It’s a “hub”.",
    )


def test_deep_nesting_does_not_exhaust_recursion() -> None:
    document = parse_doc("<div>" * 5000 + f"{STAGE}<h3>Deep</h3><p>down</p>" + "</div>" * 5000)
    assert [o.name for o in document.organisations] == ["Deep"]


# --- publication details ------------------------------------------------------------------

HTML_DOC = (
    '<section><h3><a href="/government/publications/p/doc">Doc</a></h3>'
    '<p class="metadata"><span class="type">HTML</span></p></section>'
)


def test_documents_skip_thumbnails_and_read_attachment_attributes() -> None:
    pdf = (
        '<section class="gem-c-attachment"><div><a aria-hidden="true" href="/a.pdf">thumb</a></div>'
        '<h3 class="gem-c-attachment__title"><a href="/a.pdf">Annex</a></h3>'
        '<p class="gem-c-attachment__metadata"><span class="gem-c-attachment__attribute">'
        '<abbr title="Portable Document Format">PDF</abbr></span>, '
        '<span class="gem-c-attachment__attribute">'
        "1.2 MB</span>, <span>12 pages</span></p></section>"
    )
    publication = parse_pub(HTML_DOC + pdf + HTML_DOC)
    assert [(d.title, d.url, d.kind, d.attributes) for d in publication.documents] == [
        ("Doc", "https://www.gov.uk/government/publications/p/doc", "html", ("HTML",)),
        ("Annex", "https://www.gov.uk/a.pdf", "attachment", ("PDF", "1.2 MB", "12 pages")),
    ]
    assert publication.from_organisations == ("A", "B")


@pytest.mark.parametrize("terms", [("Published", ""), ("Published", ":")])
def test_metadata_terms_with_or_without_colon(terms: tuple[str, str]) -> None:
    assert parse_pub(HTML_DOC, terms=terms).published == "2015-01-10"


def test_change_note_date_is_the_date_part_in_its_own_offset() -> None:
    history = (
        '<li class="gem-c-published-dates__change-item">'
        '<time datetime="2018-03-27T00:30:00.000+01:00">27 March 2018</time>'
        '<p class="gem-c-published-dates__change-note">Late  note.</p></li>'
        '<li class="x__change-item"><time>10 January 2015</time>'
        '<p class="x__change-note">First.</p></li>'
    )
    assert [(u.date, u.note) for u in parse_pub(HTML_DOC, history).updates] == [
        ("2018-03-27", "Late note."),
        ("2015-01-10", "First."),
    ]


# --- decoding and LayoutChangedError ------------------------------------------------------


ENCODED_PAGES = [
    ('<meta charset="windows-1252">', "King\u2019s", "cp1252", b""),
    ("", "King’s", "utf-8", b"\xef\xbb\xbf"),
    ("", "King’s", "utf-16", b""),
    ('<meta charset="rot13">', "Café \udcff", "utf-8", b""),
]


@pytest.mark.parametrize(("meta", "name", "encoding", "bom"), ENCODED_PAGES)
def test_bytes_are_decoded_by_bom_then_meta_charset_then_utf8(
    meta: str, name: str, encoding: str, bom: bytes
) -> None:
    page = (
        f"<html><head>{meta}</head><body><main><h1>T</h1>"
        "<div class='gem-c-govspeak-html-publication'><div class='govspeak'>"
        f"<h3>{name}</h3><p>x</p></div></div></main></body></html>"
    )
    body = bom + page.encode(encoding, "surrogateescape")
    (only,) = parse_html_document(body, EXPERIMENTAL_URL).organisations
    assert only.name == name.replace("\udcff", "\ufffd")


@pytest.mark.parametrize(
    "page",
    [
        "<title>Page not found - GOV.UK</title><main><h1>Page not found</h1></main>",
        "<main><h1 class='x'>Sorry, we're experiencing technical difficulties</h1></main>",
        "<main><h1>Sorry, there is a problem with the service</h1></main>",
        "<main><h1>The page you’re looking for is no longer here</h1></main>",
        "<main><h1>Guidance</h1><script>window.httpStatusCode = '503';</script></main>",
        "<main><p>No title at all</p></main>",
        "<main><h1>   </h1></main>",
        "",
    ],
)
@pytest.mark.parametrize("parser", [parse_publication, parse_html_document])
def test_error_pages_and_untitled_pages_raise_layout_changed(parser: Parser, page: str) -> None:
    with pytest.raises(LayoutChangedError) as caught:
        parser(page.encode(), PUBLICATION_URL)
    assert caught.value.url == PUBLICATION_URL
    assert caught.value.reason


@pytest.mark.parametrize(
    ("documents", "reason"),
    [
        (None, "no Documents list"),
        ("<p>Nothing here.</p>", "Documents list has no document links"),
        (
            '<a class="thumbnail" aria-hidden="true" href="/x"><img alt=""></a>',
            "Documents list has no document links",
        ),
    ],
)
def test_publication_without_document_links_raises(documents: str | None, reason: str) -> None:
    page = fixture_bytes("publication_current").decode()
    start, end = page.index('<section id="documents">'), page.index('<section id="details">')
    replacement = (
        ""
        if documents is None
        else f'<section id="documents"><h2>Documents</h2>{documents}</section>'
    )
    with pytest.raises(LayoutChangedError, match=reason):
        parse_publication((page[:start] + replacement + page[end:]).encode(), PUBLICATION_URL)


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ('<div class="govspeak">', '<div class="was-govspeak">', "no govspeak body"),
        (r'(<div class="govspeak">).*?(</div>)', r"\1 \2", "empty govspeak body"),
    ],
)
def test_html_document_without_govspeak_body_raises(old: str, new: str, reason: str) -> None:
    page = re.sub(
        old,
        new,
        fixture_bytes("html_experimental-medicine-and-clinical-trials_2021-12").decode(),
        flags=re.S,
    )
    with pytest.raises(LayoutChangedError, match=reason):
        parse_html_document(page.encode(), EXPERIMENTAL_URL)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Published 10 January 2015", "2015-01-10"),
        ("Updated 3 Sept 2024", "2024-09-03"),
        ("", None),
    ],
)
def test_document_date_line_reads_updated_or_published(line: str, expected: str | None) -> None:
    name = "html_experimental-medicine-and-clinical-trials_current"
    page = fixture_bytes(name).replace(b"Updated 1 December 2021", line.encode())
    document = parse_fixture(name, page)
    assert isinstance(document, HtmlDocument)
    assert document.updated == expected


def test_govspeak_body_is_found_without_its_component_wrapper() -> None:
    name = "html_experimental-medicine-and-clinical-trials_current"
    page = fixture_bytes(name).replace(b"gem-c-govspeak-html-publication", b"gem-c-renamed")
    assert parse_fixture(name, page) == parse_fixture(name)


# --- fuzzing: any bytes give a page or LayoutChangedError ----------------------------------

SNIPPETS = [
    b"<h2>", b"</h2>", b"<h3>", b"</h3>", b"</div>", b'<div class="govspeak">', b"<li>", b"</ul>",
    b'<a href="http://[::1">x</a>', b'<a href="javascript:x()">j</a>', b"<a href=' /rel '>r</a>",
    b"&rsquo;", b"&#0;", b"&#xD800;", b"&nbsp;", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"\xc3",
    b'<meta charset="utf-16">', b'<meta charset="rot13">', b"<!--", b"-->", b"<![CDATA[",
    b'<?xml version="1.0" encoding="utf-16"?>', b'<time datetime="2021-02-30T00:00">',
    b'<li class="x__change-item">', b'<section id="documents">', b"<h1>Page not found</h1>",
    b"<script>", b"<table><tr><td>", b"<br>", b"<svg><title>t</title>", b"<h1>", b"</main>",
    b'<p class="metadata"><span>', b"<dt>Published</dt><dd>31 February 2021</dd>",
]  # fmt: skip


@st.composite
def mutated_pages(draw: st.DrawFn) -> bytes:
    """A fixture with a few random byte or markup mutations, or plain random bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=512))
    data = bytearray(fixture_bytes(draw(st.sampled_from(sorted(CASES)))))
    for _ in range(draw(st.integers(1, 6))):
        start = draw(st.integers(0, len(data)))
        end = min(len(data), start + draw(st.integers(0, 400)))
        operation = draw(st.sampled_from(["delete", "bytes", "snippet", "duplicate", "truncate"]))
        if operation == "delete":
            del data[start:end]
        elif operation == "bytes":
            data[start:start] = draw(st.binary(min_size=1, max_size=16))
        elif operation == "snippet":
            data[start:start] = draw(st.sampled_from(SNIPPETS))
        elif operation == "duplicate":
            data[end:end] = data[start:end]
        else:
            del data[start:]
    return bytes(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=mutated_pages())
def test_any_bytes_give_a_page_or_layout_changed_error(body: bytes) -> None:
    for parser in (parse_publication, parse_html_document):
        outcome = _page_or_error(parser, body)
        assert outcome.url == PUBLICATION_URL
        if isinstance(outcome, LayoutChangedError):
            assert outcome.reason
        else:
            assert isinstance(outcome, Publication | HtmlDocument)
            assert outcome.title


def _page_or_error(parser: Parser, body: bytes) -> Page | LayoutChangedError:
    try:
        return parser(body, PUBLICATION_URL)
    except LayoutChangedError as error:
        return error


def test_attribute_names_lxml_reads_as_namespaces_do_not_break_the_parse() -> None:
    # Found by the property test above: broken markup whose attribute names start with "{".
    body = fixture_bytes("html_experimental-medicine-and-clinical-trials_current")
    broken = body.replace(
        b'<div class="govspeak">',
        b'<div class="govspeak" data-x="{&quot;a&quot;:1}" {"b":2}="3" z{y="4">',
        1,
    )
    assert broken != body
    url = "https://www.gov.uk/government/publications/uk-life-sciences-support/x"
    assert parse_html_document(broken, url) == parse_html_document(body, url)
