"""Stage 2 (parse): a page BeautifulSoup parses, as lxml elements (`scraper.tree`'s fallback).

For the pages lxml's own tree builder cannot hold (see `scraper.tree`): BeautifulSoup drives the
same libxml2 parser without a tree builder's limits, and its tree is copied into lxml elements so
the parser reads every page the same way. Iterative throughout: such pages may nest very deeply.
"""

from __future__ import annotations

import re
import warnings
from typing import Final

from bs4 import BeautifulSoup, ParserRejectedMarkup
from bs4.element import NavigableString, PreformattedString, Tag
from lxml import etree  # type: ignore[import-untyped]

from scraper.text import Element

__all__ = ["soup_tree"]

# Characters XML (and so lxml's element API) refuses; libxml2's HTML parser keeps or drops them.
_NOT_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_MAX_DEPTH: Final = 512  # Blink's HTML parser's limit (kMaximumHTMLParserDOMTreeDepth)
_NAME: Final = re.compile(r"^[A-Za-z_][\w.-]*$", re.ASCII)


def soup_tree(text: str) -> Element:
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
    """Copy `source`'s content under `target`, iteratively (a hostile page nests deeply).

    As Blink does, elements nested deeper than `_MAX_DEPTH` become siblings of their parent
    instead: their content is kept in order, and lxml (whose appends walk up the ancestors)
    stays fast on pages nested tens of thousands deep.
    """
    stack = [(source, target, 1)]
    while stack:
        tag, element, depth = stack.pop()
        last: Element | None = None
        for child in tag.children:
            if isinstance(child, Tag):
                if depth < _MAX_DEPTH:
                    last = etree.SubElement(element, _element_name(child))
                else:
                    sibling = etree.Element(_element_name(child))
                    (element if last is None else last).addnext(sibling)
                    last = sibling
                _copy_attributes(child, last)
                stack.append((child, last, min(depth + 1, _MAX_DEPTH)))
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
