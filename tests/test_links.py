"""Organisation links resolve exactly as `urllib.parse.urljoin` against the page URL does (the
parser caches links with a host across pages and prefixes plain root-relative links with the
page's origin itself, which must not change what any link becomes)."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.parse import _absolute

PAGE_URLS = (
    "https://www.gov.uk/government/publications/uk-life-sciences-support/a-document",
    "http://127.0.0.1:8000/government/publications/uk-life-sciences-support",
    "https://user:pw@www.gov.uk:8443/a/b/?q=1#f",
    "mailto:someone@example.org",
)


def reference(href: str, base: str) -> str | None:
    href = href.strip()
    if not href or href.lower().startswith(("javascript:", "data:")):
        return None
    try:
        resolved = urljoin(base, href)
        urlsplit(resolved)
    except ValueError:
        return None
    return resolved


pieces = st.sampled_from(
    ["https:", "http:", "HTTPS:", "mailto:", "ftp:", "//", "/", "///", "www.example.org", "a.test",
     "[::1]", "[bad", ":8080", "?q=1", "#top", ";p", "..", ".", "path", " ", "\t", "\n", "\x01",
     "%20", "é", "@", "user:pw@", "/a", "/.", "/..", "a/", "b.pdf", "~", "+=!'()*&,$",
     "https://", "http://", ":99999", ":0", "-", "A", "1"]
)  # fmt: skip


@settings(max_examples=2000, deadline=None)
@given(parts=st.lists(pieces, max_size=7), base=st.sampled_from(PAGE_URLS))
def test_links_resolve_as_urljoin_does(parts: list[str], base: str) -> None:
    href = "".join(parts)
    assert _absolute(href, base) == reference(href, base)


def test_a_link_with_a_host_resolves_the_same_from_any_page() -> None:
    for base in PAGE_URLS:
        assert _absolute(" https://www.example.org/a/../b#x ", base) == (
            "https://www.example.org/a/../b#x"
        )
        assert _absolute("/guidance", base) == urljoin(base, "/guidance")
    assert _absolute("https:/relative", PAGE_URLS[0]) == urljoin(PAGE_URLS[0], "https:/relative")
