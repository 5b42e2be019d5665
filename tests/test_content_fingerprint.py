"""The parse-skipping fast path (issues 8 and 13): content fingerprints and unparsed "unchanged"
pages.

A body whose fingerprint equals that of the stored version's body is recorded "unchanged" without
being parsed, so two bodies with one fingerprint must always parse the same. The fingerprint covers
only the regions the parser reads (in every markup era), so the page chrome (header, footer,
banners, feedback form, render stamps) never costs a parse, and a change in any region does.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, func, select

from scraper.errors import LayoutChangedError
from scraper.page import page_to_json
from scraper.parse import content_fingerprint, parse_html_document, parse_publication
from storage.tables import Blob, PageVersion
from tests.e2e import Tracker, count_parses
from tests.govuk_site import (
    ERAS,
    PUBLICATION_PATH,
    Era,
    SiteSpec,
    add_noise,
    default_site,
    render_site,
)
from tests.site_server import SiteServer

BASE = "https://www.gov.uk"
DOCUMENT = f"{PUBLICATION_PATH}/experimental-medicine-and-clinical-trials"
SITES = {era: render_site(default_site(era), BASE) for era in ERAS}
PAGES = [(era, path, body) for era, pages in SITES.items() for path, body in pages.items()]


def _parse(path: str, body: bytes) -> str:
    parse = parse_publication if path == PUBLICATION_PATH else parse_html_document
    try:
        return page_to_json(parse(body, BASE + path))
    except LayoutChangedError as exc:
        return f"LayoutChangedError: {exc.reason}"


@pytest.mark.parametrize(("era", "path", "body"), PAGES, ids=[f"{e}{p}" for e, p, _ in PAGES])
def test_noise_does_not_change_the_fingerprint(era: str, path: str, body: bytes) -> None:
    fingerprint = content_fingerprint(body)
    assert fingerprint is not None
    assert content_fingerprint(add_noise(body, 1)) == fingerprint
    assert content_fingerprint(add_noise(body, 2)) == fingerprint


# Visible text in the chrome of every era: what GOV.UK changes outside the content.
_CHROME_EDITS = [
    (r"(<body[^>]*>)", r'\1<div class="emergency-banner"><h2>National mourning</h2><p>Z</p></div>'),
    (r"(</footer>)", r"<p>Rendered in 123 ms by frontend-7 at 2026-01-01T10:00:00Z</p>\1"),
    (r"Skip to main content", "Skip to the content"),
    (r"Help us improve GOV.UK", "Tell us what you think"),
    (r"Don’t include personal or financial information", "Never include personal information"),
    (r"(<header[^>]*>)", r"\1<p>Beta: this is a new service</p>"),
    (r"Cookies", "Cookie settings"),
    (r"Departments", "Ministerial departments"),
    (r'(breadcrumbs__link" href="/">)Home', r"\1GOV.UK home"),
    (r"Open Government Licence", "OGL"),
]


@pytest.mark.parametrize(("era", "path", "body"), PAGES, ids=[f"{e}{p}" for e, p, _ in PAGES])
def test_visible_text_in_the_chrome_does_not_change_the_fingerprint(
    era: str, path: str, body: bytes
) -> None:
    text, applied = body.decode(), 0
    for pattern, replacement in _CHROME_EDITS:
        text, count = re.subn(pattern, replacement, text, count=1)
        applied += count
    assert applied >= 5
    assert content_fingerprint(text.encode()) == content_fingerprint(body)


_REGION_EDITS: dict[str, tuple[str, Callable[[SiteSpec], object]]] = {
    "title": (PUBLICATION_PATH, lambda spec: setattr(spec, "title", "UK life sciences help")),
    "description": (PUBLICATION_PATH, lambda spec: setattr(spec, "description", "Changed.")),
    "from": (
        PUBLICATION_PATH,
        lambda spec: spec.from_organisations.__setitem__(0, ("Office for Life Sciences", "ols")),
    ),
    "published": (PUBLICATION_PATH, lambda spec: setattr(spec, "published", date(2015, 1, 11))),
    "last updated": (
        PUBLICATION_PATH,
        lambda spec: setattr(spec, "last_updated", date(2021, 12, 2)),
    ),
    "documents": (PUBLICATION_PATH, lambda spec: setattr(spec.docs[0], "title", "Digital health")),
    "details": (PUBLICATION_PATH, lambda spec: setattr(spec, "details_html", "<p>New.</p>")),
    "history": (
        PUBLICATION_PATH,
        lambda spec: spec.change_notes.__setitem__(1, (spec.change_notes[1][0], "Other note.")),
    ),
    "document title": (DOCUMENT, lambda spec: setattr(spec.docs[1], "title", "Experimental")),
    "document updated": (DOCUMENT, lambda spec: setattr(spec.docs[1], "updated", date(2022, 1, 5))),
    "document body": (
        DOCUMENT,
        lambda spec: setattr(spec.docs[1].stages[0].orgs[0], "name", "AMRC"),
    ),
}


@pytest.mark.parametrize("region", sorted(_REGION_EDITS))
@pytest.mark.parametrize("era", ERAS)
def test_a_change_in_each_region_the_parser_reads_changes_the_fingerprint(
    era: Era, region: str
) -> None:
    path, edit = _REGION_EDITS[region]
    spec = default_site(era)
    edit(spec)
    before, after = SITES[era][path], render_site(spec, BASE)[path]
    assert _parse(path, before) != _parse(path, after)
    assert content_fingerprint(after) != content_fingerprint(before)


@pytest.mark.parametrize("era", ERAS)
@pytest.mark.parametrize("path", [PUBLICATION_PATH, DOCUMENT])
def test_a_change_in_the_document_type_changes_the_fingerprint(era: Era, path: str) -> None:
    before = SITES[era][path]
    after, count = re.subn(
        rb"(<(?:span|p) class=\"[^\"]*(?:__context|type|context)\">\s*)Guidance",
        rb"\1Statutory guidance",
        before,
        count=1,
    )
    assert count == 1
    assert _parse(path, before) != _parse(path, after)
    assert content_fingerprint(after) != content_fingerprint(before)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("Association of Medical Research Charities", "Association of Medical Research Charity"),
        ('href="https://www.amrc.org.uk', 'href="https://www.amrc.org.uk/x'),
        ('<h3 id="association', '<h2 id="association'),
        ('class="govspeak"', 'class="govspeak other"'),
        (
            '<div class="govspeak">',
            '<div class="govspeak"><noscript><h1>Page not found</h1></noscript>',
        ),
    ],
)
def test_what_the_parser_reads_changes_the_fingerprint(old: str, new: str) -> None:
    body = SITES["2021"][f"{PUBLICATION_PATH}/experimental-medicine-and-clinical-trials"]
    text = body.decode()
    assert old in text
    changed = text.replace(old, new, 1).encode()
    assert content_fingerprint(changed) != content_fingerprint(body)


def test_an_error_status_in_a_script_changes_the_fingerprint() -> None:
    body = SITES["2021"][PUBLICATION_PATH]
    with_status = body.replace(b"<head>", b"<head><script>var httpStatusCode = 404;</script>", 1)
    assert content_fingerprint(with_status) != content_fingerprint(body)


# Edits anywhere in a page: some only touch what the fingerprint leaves out, some change content.
_EDITS = st.sampled_from(
    [
        (r"(<[a-z0-9]+)([ >])", r'\1 data-noise="x"\2'),  # an attribute nobody reads
        (r"</p>", r"<!-- c --></p>"),  # a comment
        (r"<head>", r'<head><meta name="t" content="1">'),  # a <meta>
        (r"</title>", r"</title><script nonce=\"n\">var a = 1;</script>"),  # a script
        (r"(<p[^>]*>)", r"\1X "),  # text
        (r"(<li[^>]*>)", r"\1<span>Y</span>"),  # an element
        (r'href="([^"]*)"', r'href="\1#n"'),  # a link target
        (r'class="([^"]*)"', r'class="\1 extra"'),  # a class
        (r"(<h[23][^>]*>)", r"\1<br>"),  # a line break in a heading
        (r"(</footer>)", r"<p>Rendered at 10:00</p>\1"),  # visible text in the chrome
        (r"(<body[^>]*>)", r"\1<div><p>A banner</p></div>"),
        (r"(<main[^>]*>)", r"\1<p>Z</p>"),  # text inside main, outside what the parser reads
        (r"(<h1[^>]*>)", r"\1New "),  # the title
        (r"(<dd[^>]*>)", r"\1 2 "),  # a metadata definition
        (r'class="([^"]*)"', r'class="\1 gem-c-metadata"'),  # where a reader looks for a region
        (r'class="([^"]*)"', r'class="\1 govspeak"'),
        (r'class="([^"]*)"', r'class="\1 x__change-item"'),
        (r'class="([^"]*)"', r'class="\1 print-meta-data"'),  # never content
        (r'id="([^"]*)"', r'id="documents"'),
        (r"</div>", ""),  # a missing end tag
        (r"(<div[^>]*>)", r"\1</div>"),  # a stray end tag
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    page=st.sampled_from(PAGES),
    edits=st.lists(st.tuples(_EDITS, st.integers(0, 40)), min_size=1, max_size=3),
)
def test_equal_fingerprints_mean_equal_parses(
    page: tuple[str, str, bytes], edits: list[tuple[tuple[str, str], int]]
) -> None:
    _era, path, body = page
    text = body.decode()
    for (pattern, replacement), nth in edits:
        matches = list(re.finditer(pattern, text))
        if matches:
            match = matches[nth % len(matches)]
            text = text[: match.start()] + match.expand(replacement) + text[match.end() :]
    edited = text.encode()
    if content_fingerprint(edited) == content_fingerprint(body):
        assert _parse(path, edited) == _parse(path, body)


@settings(max_examples=80, deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_any_bytes_give_a_fingerprint(body: bytes) -> None:
    fingerprint = content_fingerprint(body)
    assert fingerprint is not None
    assert re.fullmatch("[0-9a-f]{64}", fingerprint)


def test_deep_nesting_does_not_break_the_fingerprint() -> None:
    body = b"<html><body>" + b"<div>" * 20000 + b"x" + b"</div>" * 20000 + b"</body></html>"
    deeper = body.replace(b"x", b"y")
    fingerprint = content_fingerprint(body)
    assert fingerprint is not None
    assert len(fingerprint) == 64
    assert content_fingerprint(deeper) == fingerprint  # no era, no regions: no content either


def test_a_real_page_always_has_a_fingerprint() -> None:
    for _era, _path, body in PAGES:
        assert content_fingerprint(body) is not None
        assert content_fingerprint(add_noise(body, 5)) is not None


def _count(url: str, table: type) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        value = connection.execute(select(func.count()).select_from(table)).scalar_one()
    engine.dispose()
    return int(value)


@pytest.mark.parametrize("era", ERAS)
def test_noisy_unchanged_pages_are_recorded_unchanged_without_parsing(
    server: SiteServer,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    era: Era,
) -> None:
    tracker_ = Tracker.create(server, tmp_path, database_url=database_url)
    spec = default_site(era)
    tracker_.publish(spec, noise_seed=1)
    server.noise = True  # every response differs, outside the content; no 304s
    code, first = tracker_.run_json()
    assert code == 0, first
    assert first["pages"]["new"] == 8
    versions, blobs = _count(database_url, PageVersion), _count(database_url, Blob)
    # Another banner sentence and render stamp on every page: visible, but chrome.
    tracker_.publish(spec, noise_seed=100)

    parsed = count_parses(monkeypatch)
    code, second = tracker_.run_json()
    assert code == 0, second
    assert second["pages"]["unchanged"] == 8
    assert parsed == []
    assert (_count(database_url, PageVersion), _count(database_url, Blob)) == (versions, blobs)

    changed = copy.deepcopy(spec)
    changed.docs[0].stages[0].orgs[0].description_html += "<p>A new sentence.</p>"
    tracker_.publish(changed, noise_seed=200)
    code, third = tracker_.run_json()
    assert code == 0, third
    assert third["pages"]["changed"] == 1
    assert third["pages"]["unchanged"] == 7
    assert parsed == [server.url(changed.docs[0].path)]


def test_the_fingerprint_covers_every_attribute_the_parser_reads() -> None:
    """A guard for later parser edits: reading a new attribute needs it in _READ_ATTRIBUTES."""
    import scraper.parse
    import scraper.text

    read = {"class", "id"}  # class tokens and ids
    for module in (scraper.parse, scraper.text):
        source = Path(str(module.__file__)).read_text(encoding="utf-8")
        read |= set(re.findall(r'attribute\(\s*\w+,\s*"([^"]+)"\s*\)', source))
        read |= set(re.findall(r'(?<!metadata)\.get\(\s*"([^"]+)"', source))  # link.get("href")
        read |= set(re.findall(r"[\[(]@([\w-]+)", source))  # XPath: [@id = ...], (@class, ...)
        assert not re.search(r"\.attrib\b", source)
        assert ".items()" not in source  # (attribute names, .keys(), are read only to strip them)
    assert {"href", "datetime", "aria-hidden", "title"} <= read
    assert read <= set(scraper.parse._READ_ATTRIBUTES), read - set(scraper.parse._READ_ATTRIBUTES)


def test_a_new_unread_attribute_is_noise_even_after_other_pages() -> None:
    """Unread attribute names are learned per process; a name first seen later is still noise."""
    _era, _path, body = PAGES[1]
    for _, _, other in PAGES:
        content_fingerprint(other)  # what a run has seen before this page
    text = body.decode()
    first = text.replace("<h3", '<h3 data-never-seen-before="1"', 1).encode()
    second = text.replace("<h3", '<h3 data-never-seen-before="2"', 1).encode()
    assert content_fingerprint(first) == content_fingerprint(second) == content_fingerprint(body)
    read_attribute = text.replace("<h3", '<h3 id="x1"', 1).encode()
    assert content_fingerprint(read_attribute) != content_fingerprint(body)
