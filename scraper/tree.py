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
import warnings
from typing import Final

from bs4 import BeautifulSoup, ParserRejectedMarkup
from bs4.element import NavigableString, PreformattedString, Tag
from lxml import etree  # type: ignore[import-untyped]

from scraper.text import Element, decode_html

__all__ = ["read_html"]

_HTML_END_TAG: Final = re.compile("</html", re.IGNORECASE)
_TOO_DEEP: Final = etree.XPath("boolean(" + "*/" * 240 + "*)")
_MAX_FAST_CHARACTERS: Final = 4_000_000
# Characters XML (and so lxml's element API) refuses; libxml2's HTML parser keeps or drops them.
_NOT_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_NAME: Final = re.compile(r"^[A-Za-z_][\w.-]*$", re.ASCII)


def read_html(body: bytes) -> Element:
    """Return the page as an lxml tree: its `<html>` element (made up when the page has none)."""
    text = decode_html(body)
    if text.startswith("\N{BYTE ORDER MARK}"):
        text = text[1:]
    root = _lxml_tree(text)
    return root if root is not None else _soup_tree(text)


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
    if root is None or not isinstance(root.tag, str) or _TOO_DEEP(root):
        return None
    return root


def _content_after_html_end(text: str) -> bool:
    """Whether anything follows an `</html>`: lxml's tree drops elements there."""
    end = _HTML_END_TAG.search(text)
    if end is None:
        return False
    close = text.find(">", end.end())
    return close != -1 and text[close + 1 :].strip() != ""


def _soup_tree(text: str) -> Element:
    """Parse with BeautifulSoup (libxml2's parser events, no tree limits); copy into lxml."""
    root = etree.Element("html")
    try:
        with warnings.catch_warnings():
            # bs4 warns about XML-looking or filename-looking input; either is just a bad page.
            warnings.simplefilter("ignore")
            soup = BeautifulSoup(text, "lxml")
    except ParserRejectedMarkup:
        return root
    tops = [child for child in soup.children if isinstance(child, Tag)]
    if len(tops) == 1 and tops[0].name == "html":
        _copy_attributes(tops[0], root)
        _copy_children(tops[0], root)
    else:
        _copy_children(soup, root)
    soup.decompose()
    return root


def _copy_children(source: Tag, target: Element) -> None:
    """Copy `source`'s content under `target`, iteratively (a hostile page nests deeply)."""
    stack = [(source, target)]
    while stack:
        tag, element = stack.pop()
        last: Element | None = None
        for child in tag.children:
            if isinstance(child, Tag):
                last = etree.SubElement(element, _element_name(child))
                _copy_attributes(child, last)
                stack.append((child, last))
            elif isinstance(child, NavigableString) and not isinstance(child, PreformattedString):
                # Comments, doctypes and CDATA are never text the parser reads: dropped.
                _append_text(element, last, _NOT_XML.sub(_xml_safe, str(child)))


def _append_text(parent: Element, last_child: Element | None, text: str) -> None:
    if last_child is None:
        parent.text = (parent.text or "") + text
    else:
        last_child.tail = (last_child.tail or "") + text


def _xml_safe(match: re.Match[str]) -> str:
    # A form feed is whitespace, which the parser collapses anyway; the rest is never text.
    return " " if match.group() == "\x0c" else ""


def _element_name(tag: Tag) -> str:
    name = f"{tag.prefix}:{tag.name}" if tag.prefix else tag.name
    if _NAME.match(name):
        return name.lower()
    # "svg:path", "x:y", ...: a name lxml's element API refuses and the parser never looks for.
    return "x-" + re.sub(r"[^a-z0-9]+", "-", name.lower(), flags=re.ASCII).strip("-")


def _copy_attributes(tag: Tag, element: Element) -> None:
    for name, value in tag.attrs.items():
        joined = value if isinstance(value, str) else " ".join(value)
        if _NAME.match(name):
            element.set(name, _NOT_XML.sub(_xml_safe, joined))
