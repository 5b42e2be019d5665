"""The parse-skipping fast path (issue 8): content fingerprints and unparsed "unchanged" pages.

A body whose fingerprint equals that of the stored version's body is recorded "unchanged" without
being parsed, so two bodies with one fingerprint must always parse the same.
"""

from __future__ import annotations

import copy
import re
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
from tests.govuk_site import PUBLICATION_PATH, add_noise, default_site, render_site
from tests.site_server import SiteServer

BASE = "https://www.gov.uk"
SITES = {era: render_site(default_site(era), BASE) for era in ("2021", "current")}
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
    ]
)


@settings(max_examples=60, deadline=None)
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
def test_any_bytes_give_a_fingerprint_or_none(body: bytes) -> None:
    assert content_fingerprint(body) is None or len(content_fingerprint(body) or "") == 64


def test_deep_nesting_does_not_break_the_fingerprint() -> None:
    body = b"<html><body>" + b"<div>" * 20000 + b"x" + b"</div>" * 20000 + b"</body></html>"
    fingerprint = content_fingerprint(body)
    assert fingerprint is None or len(fingerprint) == 64


def _count(url: str, table: type) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        value = connection.execute(select(func.count()).select_from(table)).scalar_one()
    engine.dispose()
    return int(value)


def test_noisy_unchanged_pages_are_recorded_unchanged_without_parsing(
    server: SiteServer, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker_ = Tracker.create(server, tmp_path, database_url=database_url)
    spec = default_site("2021")
    tracker_.publish(spec)
    server.noise = True  # every response differs, outside the content; no 304s
    code, first = tracker_.run_json()
    assert code == 0, first
    assert first["pages"]["new"] == 8
    versions, blobs = _count(database_url, PageVersion), _count(database_url, Blob)

    parsed = count_parses(monkeypatch)
    code, second = tracker_.run_json()
    assert code == 0, second
    assert second["pages"]["unchanged"] == 8
    assert parsed == []
    assert (_count(database_url, PageVersion), _count(database_url, Blob)) == (versions, blobs)

    changed = copy.deepcopy(spec)
    changed.docs[0].stages[0].orgs[0].description_html += "<p>A new sentence.</p>"
    tracker_.publish(changed)
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
        assert ".attrib" not in source
        assert ".items()" not in source  # (attribute names, .keys(), are read only to strip them)
    assert {"href", "datetime", "aria-hidden"} <= read
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
