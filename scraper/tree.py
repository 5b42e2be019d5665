"""Stage 2 (parse), first step: bytes to one lxml element tree, the only tree the parser reads.

`read_html` decodes the body (`scraper.text.decode_html`) and parses it with lxml's HTML parser
(libxml2, recovering from broken markup as browsers do): about ten times cheaper than building a
BeautifulSoup tree of the same page. libxml2's tree builder has limits a page can hit: it drops
elements after `</html>`, stops 255 elements deep and caps a text node at 10 MB. Such a page is
parsed by BeautifulSoup instead (same libxml2 parser, no tree-builder limits) and its tree copied
into lxml elements, so the parser's code is the same for every page.

Pure: no network, no clock, no database. Never raises for any bytes.
"""

from __future__ import annotations

import re
from typing import Final

from lxml import etree  # type: ignore[import-untyped]

from scraper.text import Element, decode_html

__all__ = ["read_html"]

_HTML_END_TAG: Final = re.compile("</html", re.IGNORECASE)
# What libxml2 reports when its tree builder stops nesting (at 256 elements deep).
_TOO_DEEP_MESSAGE: Final = "Excessive depth"
_MAX_FAST_CHARACTERS: Final = 4_000_000


def read_html(body: bytes, transport_encoding: str | None = None) -> Element:
    """Return the page as an lxml tree: its `<html>` element (made up when the page has none).

    `transport_encoding` is the charset of the HTTP Content-Type header, if any, for
    `scraper.text.decode_html` to weigh against the page's own declarations.
    """
    text = decode_html(body, transport_encoding=transport_encoding)
    if text.startswith("\N{BYTE ORDER MARK}"):
        text = text[1:]
    root = _lxml_tree(text)
    if root is None:
        # Imported here: BeautifulSoup costs ~0.2 s to import and is rarely needed.
        from scraper.soup_tree import soup_tree

        root = soup_tree(text)
    return root


def _lxml_tree(text: str) -> Element | None:
    """The tree from lxml's own tree builder; None when the page hits one of its limits."""
    if not text or len(text) > _MAX_FAST_CHARACTERS or _content_after_html_end(text):
        return None
    # Parsing UTF-8 bytes is cheaper than feeding lxml a str (which it encodes anyway).
    parser = etree.HTMLParser(recover=True, huge_tree=False, encoding="utf-8")
    try:
        root = etree.fromstring(text.encode("utf-8"), parser)
    except (etree.LxmlError, ValueError, LookupError, UnicodeError, MemoryError):
        return None
    if root is None or not isinstance(root.tag, str):
        return None
    if any(_TOO_DEEP_MESSAGE in entry.message for entry in parser.error_log):
        return None
    return root


def _content_after_html_end(text: str) -> bool:
    """Whether anything follows an `</html>`: lxml's tree drops elements there."""
    end = _HTML_END_TAG.search(text)
    if end is None:
        return False
    close = text.find(">", end.end())
    return close != -1 and text[close + 1 :].strip() != ""
