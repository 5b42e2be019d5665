"""Text helpers for stage 2 (parse): decode bytes, normalise text, flatten markup into blocks.

Pure and deterministic. Only `scraper/parse.py` uses this module. Everything here walks trees
iteratively, so arbitrarily deep (hostile) nesting cannot exhaust the recursion limit.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, TypeAlias

from lxml import etree  # type: ignore[import-untyped]

from scraper.encoding import decode

# lxml ships no type information: an lxml element (`lxml.etree._Element`).
Element: TypeAlias = Any

HEADING_TAGS: Final = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})

# Elements that end a line of text. Everything else (a, abbr, span, strong, ...) is inline.
_BLOCK_TAGS: Final = frozenset(
    {
        "address", "article", "aside", "blockquote", "caption", "dd", "details", "dialog", "div",
        "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "header", "hgroup",
        "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody",
        "td", "tfoot", "th", "thead", "tr", "ul",
    }
)  # fmt: skip

_LINE_BREAK_TAGS: Final = frozenset({"br", "wbr"})  # read as a space

# Elements whose content is never text a reader sees as content.
_SKIPPED_TAGS: Final = frozenset(
    {
        "button", "canvas", "embed", "head", "iframe", "img", "input", "link", "map", "math",
        "meta", "noscript", "object", "option", "script", "select", "style", "svg", "template",
        "textarea", "title", "video", "audio",
    }
)  # fmt: skip

_MONTHS: Final = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
)  # fmt: skip
_MONTH_NUMBERS: Final = {
    **{name: number for number, name in enumerate(_MONTHS, start=1)},
    **{name[:3]: number for number, name in enumerate(_MONTHS, start=1)},
    "sept": 9,
}
_DISPLAY_DATE: Final = re.compile(r"\b(\d{1,2})\s+([A-Za-z]{3,9})\.?\s+(\d{4})\b")
_ISO_DATE_PREFIX: Final = re.compile(r"\s*(\d{4})-(\d{2})-(\d{2})")

# C0 controls except tab, line feed, form feed and carriage return (whitespace), and DEL.
_CONTROL_CHARACTERS: Final = dict.fromkeys([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F])
_HAS_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")  # the same characters
_CONTROL_BYTES: Final = bytes(_CONTROL_CHARACTERS)  # and their bytes in UTF-8


def decode_html(body: bytes, transport_encoding: str | None = None) -> str:
    """Decode an HTML body as a browser would (`scraper.encoding`): a byte order mark wins, then
    `transport_encoding` (the HTTP Content-Type charset), then a <meta charset>, else UTF-8.

    Never fails: invalid bytes become U+FFFD, and an unknown label is ignored. Control characters
    other than whitespace (NUL, ESC, DEL, ...) are dropped: a browser shows nothing for them, so
    they are noise, never content.
    """
    text, encoding = decode(body, transport_encoding)
    if encoding == "utf-8" and len(body.translate(None, _CONTROL_BYTES)) == len(body):
        # In UTF-8 a control character is its own byte: none in the bytes, none in the text
        # (a C-speed check, ~10x cheaper than searching the text).
        return text
    # str.translate costs ~2 ms on a 50 KB page; the search finds none on almost every page.
    return text.translate(_CONTROL_CHARACTERS) if _HAS_CONTROL.search(text) else text


def normalise(text: str) -> str:
    """Return text in NFC with every run of whitespace (incl. no-break spaces) as one space.

    Quotes are kept as written: an entity and the literal character are already equal here.
    """
    if not text.isascii():  # ASCII text is in NFC already
        text = unicodedata.normalize("NFC", text)
    return " ".join(text.split())


def display_date(text: str) -> str | None:
    """Return the ISO date in a GOV.UK display date such as "1 December 2021", or None."""
    for day, month, year in _DISPLAY_DATE.findall(text):
        number = _MONTH_NUMBERS.get(month.lower())
        if number is not None:
            return _iso(int(year), number, int(day))
    return None


def element_date(element: Element) -> str | None:
    """Return the ISO date an element shows: from the first `abbr[title]`, `time[datetime]` or
    `time[title]` in it (or it) whose value starts with one (the date part, in its own offset),
    else from its text ("1 December 2021", " 1 December 2016 10:15am"), else None.

    Whitehall marked dates `<abbr title=ISO>` until July 2015, `<time title=ISO>` until August
    2015, then `<time datetime=ISO>`, with the day space-padded ("%e").
    """
    for marked in element.iter("abbr", "time"):
        values = [attribute(marked, "datetime")] if marked.tag == "time" else []
        for value in [*values, attribute(marked, "title")]:
            found = iso_date_prefix(value)
            if found is not None:
                return found
    return display_date(element_text(element))


def iso_date_prefix(value: str) -> str | None:
    """Return the date part of an ISO 8601 timestamp as written (its own offset), or None."""
    match = _ISO_DATE_PREFIX.match(value)
    if match is None:
        return None
    return _iso(int(match.group(1)), int(match.group(2)), int(match.group(3)))


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Block:
    """One line of content: a heading, a paragraph, a list item ("- item"), a table cell, ..."""

    kind: str  # "h1".."h6" for headings, "li" for list items, "text" for anything else
    text: str  # normalised; may be empty when the block holds only links (an image link)
    hrefs: tuple[str, ...]  # raw href values of the links inside the block, in order


def attribute(element: Element, name: str) -> str:
    """Return an attribute's value ("" when missing)."""
    value = element.get(name)
    return value if isinstance(value, str) else ""


def class_tokens(element: Element) -> list[str]:
    """Return the element's class names."""
    return attribute(element, "class").split()


def flatten_blocks(root: Element) -> list[Block]:
    """Return the content of `root` as blocks in document order, however deeply it is nested.

    Headings are blocks of their own whatever wraps them; list items read "- item"; a <br> is a
    space; scripts, styles, images and form controls are not content, nor are comments.
    """
    # One loop with its state in locals: this runs over every element of every page.
    blocks: list[Block] = []
    pieces: list[str] = []  # inline text since the last cut
    hrefs: list[str] = []  # and the links in it
    prefix = ""  # "- " from a list item's start until its first block is cut
    heading: Element | None = None  # the heading being read: nothing inside it cuts a block
    # lxml walks the tree in C (no recursion, so any depth): a start and an end per element,
    # one event per comment and processing instruction (only their tails are text).
    walker = etree.iterwalk(root, events=("start", "end", "comment", "pi"))
    for event, element in walker:
        name = element.tag
        if event == "start":
            if element is root:
                if root.text:
                    pieces.append(root.text)
                continue
            if not isinstance(name, str) or name in _SKIPPED_TAGS or name in _LINE_BREAK_TAGS:
                walker.skip_subtree()  # its end event still comes: the tail is read there
                continue
            if heading is None and (name in HEADING_TAGS or name in _BLOCK_TAGS):
                prefix = _cut(blocks, pieces, hrefs, "text", prefix)
                if name in HEADING_TAGS:
                    heading = element
                elif name == "li":
                    prefix = "- "
            if name == "a":
                href = element.get("href")
                if href and (href := href.strip()):
                    hrefs.append(href)
            if element.text:
                pieces.append(element.text)
            continue
        if event == "end":
            if name in _LINE_BREAK_TAGS:
                pieces.append(" ")
            elif isinstance(name, str) and (element is root or name not in _SKIPPED_TAGS):
                if heading is element:
                    prefix = _cut(blocks, pieces, hrefs, name, prefix)
                    heading = None
                elif heading is None and name in _BLOCK_TAGS:
                    prefix = _cut(blocks, pieces, hrefs, "text", prefix)
                    if name == "li":
                        prefix = ""
            if element is root:
                continue
        if element.tail:  # an element's, a comment's or a processing instruction's
            pieces.append(element.tail)
    _cut(blocks, pieces, hrefs, "text", prefix)
    return blocks


def _cut(blocks: list[Block], pieces: list[str], hrefs: list[str], kind: str, prefix: str) -> str:
    """Cut the inline text and links gathered so far into a block (none when both are empty
    after normalising); return the list-item prefix still to be used."""
    if not pieces and not hrefs:
        return prefix
    text = "".join(pieces)
    # Most cuts hold only the white space between two blocks: nothing to normalise.
    text = "" if text.isspace() else normalise(text)
    if text or hrefs:
        if text and kind == "text" and prefix:
            kind, text, prefix = "li", prefix + text, ""
        blocks.append(Block(kind, text, tuple(hrefs)))
    pieces.clear()
    hrefs.clear()
    return prefix


def element_text(element: Element) -> str:
    """Return the normalised text of an element on one line (its blocks joined by spaces)."""
    return normalise(" ".join(block.text for block in flatten_blocks(element)))
