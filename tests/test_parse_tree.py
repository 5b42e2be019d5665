"""The parser's two ways to a tree (issue 8): lxml's tree builder, and BeautifulSoup's.

`scraper.tree.read_html` takes lxml's tree, except for pages that hit a limit of libxml2's tree
builder, which BeautifulSoup parses instead (copied into lxml elements). Either way a page must
parse to exactly the same result: on real pages, edited pages and any bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scraper.tree
from scraper.errors import LayoutChangedError
from scraper.page import page_to_json
from scraper.parse import parse_html_document, parse_publication
from tests.govuk_site import ERAS, PUBLICATION_PATH, add_noise, default_site, render_site
from tracker.sample import PAGES

BASE = "https://www.gov.uk"
FIXTURES = PAGES
SITES = {era: render_site(default_site(era), BASE) for era in ERAS}
PAGES = [(path, body) for pages in SITES.values() for path, body in pages.items()] + [
    (PUBLICATION_PATH if file.name.startswith("publication") else "/doc", file.read_bytes())
    for file in sorted(FIXTURES.glob("*.html"))
]


@contextmanager
def _soup_tree() -> Iterator[None]:
    """Every page parsed by BeautifulSoup, as if lxml's tree builder had refused it."""
    saved = scraper.tree._lxml_tree
    scraper.tree._lxml_tree = lambda _text: None
    try:
        yield
    finally:
        scraper.tree._lxml_tree = saved


def _parse_one(parse: object, body: bytes) -> str:
    assert callable(parse)
    try:
        return page_to_json(parse(body, BASE + "/government/publications/x"))
    except LayoutChangedError as exc:
        return f"LayoutChangedError: {exc.reason}"


def _both_ways(body: bytes) -> list[str]:
    results = []
    for parse in (parse_publication, parse_html_document):
        lxml_tree = _parse_one(parse, body)
        with _soup_tree():
            soup_tree = _parse_one(parse, body)
        assert lxml_tree == soup_tree
        results.append(lxml_tree)
    return results


@pytest.mark.parametrize(("path", "body"), PAGES, ids=[f"{i}{p}" for i, (p, _) in enumerate(PAGES)])
def test_real_pages_parse_the_same_from_either_tree(path: str, body: bytes) -> None:
    results = _both_ways(body)
    assert any(not result.startswith("LayoutChangedError") for result in results)
    _both_ways(add_noise(body, 3))


_EDITS = st.sampled_from(
    [
        (r"</div>", ""),  # a missing end tag
        (r"(<div[^>]*>)", r"\1</div>"),  # a stray end tag
        (r"(<h[23][^>]*>)", r"\1<!-- c --><?pi x?>"),  # a comment and a processing instruction
        (r"(<p[^>]*>)", r"\1<div>block</div>"),  # a block inside a paragraph
        (r"(<li[^>]*>)", r"\1<table><td>cell</table>"),
        (r"<main", r"<h1>Page not found</h1><main"),  # an error heading outside main
        (r'class="([^"]*)"', r'class="\1 gem-c-metadata"'),
        (r'class="([^"]*)"', r'class="x__context"'),
        (r'class="([^"]*)"', r'class="app-c-published-dates__change-item"'),
        (r'id="([^"]*)"', r'id="documents"'),
        (r"(<a [^>]*>)", r"\1<a href='/nested'>n</a>"),  # nested links
        (r"(<span[^>]*>)", r"\1<svg:path d='1'/><x:y>t</x:y>"),  # prefixed names
        (r"(<p[^>]*>)", "\\1&amp;&nbsp;&#0;&bogus; \u00e9"),  # entities
        (r"</body>", r"<dt>From:</dt><dd><a href='#x'>X</a></dd></body>"),
        (r"(<section[^>]*>)", r"\1<noscript><p>n</p></noscript><template><p>t</p></template>"),
        (r"<html[^>]*>", r""),  # no <html>
        (r"</h1>", r"</h1></main></body></html><p>after</p>"),  # content after the end
        (r"(<[a-z]+)([ >])", r"\1 hidden checked\2"),  # boolean attributes
        (r"<body[^>]*>", r"<body><h1>Sorry, there is a problem"),
    ]
)


@settings(max_examples=120, deadline=None)
@given(
    page=st.sampled_from(PAGES),
    edits=st.lists(st.tuples(_EDITS, st.integers(0, 60)), min_size=1, max_size=4),
)
def test_edited_pages_parse_the_same_from_either_tree(
    page: tuple[str, bytes], edits: list[tuple[tuple[str, str], int]]
) -> None:
    text = page[1].decode("utf-8", "replace")
    for (pattern, replacement), nth in edits:
        matches = list(re.finditer(pattern, text))
        if matches:
            match = matches[nth % len(matches)]
            text = text[: match.start()] + match.expand(replacement) + text[match.end() :]
    _both_ways(text.encode())


@settings(max_examples=150, deadline=None)
@given(
    st.binary(max_size=300)
    | st.text(max_size=300).map(str.encode)
    | st.lists(
        st.sampled_from(
            [
                "<h1>",
                "</h1>",
                "T",
                "<main>",
                "<div class='govspeak'>",
                "</div>",
                "<h3>",
                "<h2>",
                "<p>",
                "<section id='documents'>",
                "<a href='/d'>",
                "</a>",
                "<!--",
                "-->",
                "\ufeff",
                "<dt>",
                "<dd>",
                "<script>",
                "</script>",
                "httpStatusCode=404",
                " ",
                "\x00",
                "<title>",
                "<?x?>",
                "<!DOCTYPE html>",
            ]
        ),
        max_size=40,
    ).map(lambda parts: "".join(parts).encode())
)
def test_any_bytes_parse_the_same_from_either_tree(body: bytes) -> None:
    _both_ways(body)


def test_organisations_nested_past_lxml_s_depth_limit_are_still_found() -> None:
    body = (
        b"<html><body><main><h1>T</h1><div class='govspeak'>"
        + b"<div>" * 5000
        + b"<h3>Org</h3><p>x</p>"
        + b"</div>" * 5000
        + b"</div></main></body></html>"
    )
    document = parse_html_document(body, BASE + "/doc")
    assert [(org.name, org.description) for org in document.organisations] == [("Org", "x")]


def test_an_error_heading_after_the_html_end_tag_is_still_seen() -> None:
    # lxml's tree builder drops what follows </html>; BeautifulSoup keeps it.
    page = (
        b"<html><body><main><h1>T</h1><div class='govspeak'><h3>First</h3><p>a</p>"
        b"</div></main></body></html>"
    )
    assert [org.name for org in parse_html_document(page, BASE + "/doc").organisations] == [
        "First"
    ]
    with pytest.raises(LayoutChangedError, match="error page"):
        parse_html_document(page + b"<h1>Page not found</h1>", BASE + "/doc")


def test_the_transport_encoding_decides_an_undeclared_body() -> None:
    """`HtmlSource(body, transport_encoding=...)`: the HTTP charset decodes a page that declares
    none (WHATWG: after a BOM, before <meta>)."""
    from scraper.parse import HtmlSource

    body = "<main><h1>King\u2019s</h1><div class='govspeak'><h3>A</h3><p>a</p></div></main>"
    raw = body.encode("cp1252")
    page = parse_html_document(HtmlSource(raw, transport_encoding="windows-1252"), BASE + "/doc")
    assert page.title == "King\u2019s"
    assert parse_html_document(HtmlSource(raw), BASE + "/doc").title != "King\u2019s"
