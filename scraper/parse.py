"""Stage 2: turn a fetched GOV.UK page into a Publication or HtmlDocument.

Pure and deterministic: no network, no clock, no database. Both markup eras GOV.UK has served
(2021 government-frontend, 2025+ frontend) parse to the same values, because every selector
here is one of the robust ones in `../shared/reference/govuk-markup.md` §0. For ANY bytes the
entry points return a page or raise `LayoutChangedError`, never another exception.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from collections import Counter
from functools import cache
from typing import Any, Final
from urllib.parse import urljoin, urlsplit

import soupsieve
from bs4 import BeautifulSoup, ParserRejectedMarkup, Tag
from bs4.builder._lxml import LXMLTreeBuilder
from lxml import etree  # type: ignore[import-untyped]

from scraper.errors import LayoutChangedError
from scraper.page import DocumentLink, HtmlDocument, Organisation, Publication, UpdateEntry
from scraper.text import (
    Block,
    attribute,
    class_tokens,
    decode_html,
    display_date,
    element_text,
    flatten_blocks,
    iso_date_prefix,
)

__all__ = ["content_fingerprint", "parse_html_document", "parse_publication"]

# Headings GOV.UK's static error templates use (alphagov/static app/views/root/*.html.erb),
# compared case-insensitively as prefixes of the h1 and of the <title>.
_ERROR_HEADINGS: Final = (
    "page not found",
    "the page you're looking for is no longer here",
    "sorry, we're experiencing technical difficulties",
    "sorry, we are experiencing technical difficulties",
    "sorry, there is a problem",
    "sorry, there's a problem",
    "you are not permitted to see this page",
    "bad request",
    "too many requests",
    "service unavailable",
)
_ERROR_STATUS: Final = re.compile(r"httpStatusCode\s*=\s*['\"]?([45]\d\d)")
# Print-only licence blocks, contents lists and chrome: never content, wherever they sit.
_NOT_CONTENT: Final = (
    ".print-meta-data, .print-metadata, .print-wrapper, .gem-c-contents-list, "
    ".app-c-back-to-top, .gem-c-back-to-top-link, h2 > span.number, h3 > span.number"
)


@cache
def _not_content_selector() -> Any:
    # Compiled on first use (~40 ms): a run whose pages are all unchanged never parses.
    return soupsieve.compile(_NOT_CONTENT)


# Whether every selector above needs a class on the element it matches (then only elements with
# a class attribute are candidates).
_NOT_CONTENT_NEEDS_CLASS: Final = all(
    "." in part.split(">")[-1].split()[-1] for part in _NOT_CONTENT.split(",")
)
_STAGE_SUFFIXES: Final = (
    " development stage: UK support organisations",
    ": UK support organisations",
    " UK support organisations",
)
_HTML_PUBLICATION_WRAPPER: Final = "gem-c-govspeak-html-publication"
_UPDATED_LINE: Final = re.compile(r"\b(?:Updated|Published)\b", re.I)
_GOVUK_HOSTS: Final = frozenset({"www.gov.uk", "gov.uk"})
# False: build the whole page's tree (tests compare both ways).
_FAST_SOUP = True


def parse_publication(body: bytes, url: str) -> Publication:
    """Parse a publication page: metadata, its Documents list and its change history.

    Raises:
        LayoutChangedError: an error page, no h1 title, or no Documents list with documents.
    """
    soup = _page_soup(body, url)
    try:
        return _publication(soup, url)
    finally:
        soup.decompose()  # the tree is a web of cycles: free it now, not at the next full GC


def _publication(soup: BeautifulSoup, url: str) -> Publication:
    title, doc_type = _title_and_type(soup, url)
    metadata = _metadata(soup)
    lead = soup.select_one("p.gem-c-lead-paragraph")
    details = soup.select_one("section#details .govspeak") or soup.select_one(
        "section#details .gem-c-govspeak"
    )
    from_dd = metadata.get("from")
    return Publication(
        url=url,
        title=title,
        doc_type=doc_type,
        description=element_text(lead) if lead is not None else "",
        from_organisations=_from_organisations(from_dd) if from_dd is not None else (),
        published=_metadata_date(metadata.get("published")),
        last_updated=_metadata_date(metadata.get("last updated")),
        documents=_documents(soup, url),
        updates=_updates(soup),
        details_text=_joined_text(flatten_blocks(details)) if details is not None else "",
    )


def parse_html_document(body: bytes, url: str) -> HtmlDocument:
    """Parse an HTML attachment: its header and the organisations its govspeak body lists.

    Raises:
        LayoutChangedError: an error page, no h1 title, or no (or an empty) govspeak body.
    """
    soup = _page_soup(body, url)
    try:
        return _html_document(soup, url)
    finally:
        soup.decompose()


def _html_document(soup: BeautifulSoup, url: str) -> HtmlDocument:
    title, doc_type = _title_and_type(soup, url)
    govspeak = (
        soup.select_one(".gem-c-govspeak-html-publication .govspeak")
        or soup.select_one("main .govspeak")
        or soup.select_one("#content .govspeak")
    )
    if govspeak is None:
        raise LayoutChangedError(url, "no govspeak body")
    _gather_spilled_content(govspeak)
    blocks = flatten_blocks(govspeak)
    if not any(block.text for block in blocks):
        raise LayoutChangedError(url, "empty govspeak body")
    organisations, intro_end = _organisations(blocks, url)
    return HtmlDocument(
        url=url,
        title=title,
        doc_type=doc_type,
        updated=_updated(soup),
        intro_text=_joined_text(blocks[:intro_end]),
        organisations=organisations,
        text=_joined_text(blocks),
    )


def _gather_spilled_content(govspeak: Tag) -> None:
    """Move back into `govspeak` the body content a stray end tag pushed out of it.

    A stray </div> in the body closes the govspeak container early, as a browser would; the
    rest of the body then follows it inside the publication's wrapper, still on the page. Left
    out, those organisations would be reported removed. What follows the container (up to the
    wrapper) is appended to it in document order; a well-formed page has nothing there.
    """
    wrapper = next(
        (tag for tag in govspeak.parents if _HTML_PUBLICATION_WRAPPER in class_tokens(tag)), None
    )
    node: Tag = govspeak
    while wrapper is not None and node is not wrapper and isinstance(node.parent, Tag):
        for sibling in list(node.next_siblings):
            govspeak.append(sibling.extract())
        node = node.parent


def _page_soup(body: bytes, url: str) -> BeautifulSoup:
    """Parse bytes into a tree, refuse GOV.UK error pages, and drop what is never content."""
    text = decode_html(body)
    soup = _read_regions_soup(text) if _FAST_SOUP else None
    if soup is None:
        soup = _full_soup(text, url)
    reason = _error_page_reason(soup)
    if reason is not None:
        raise LayoutChangedError(url, reason)
    for tag in soup.find_all(["script", "style", "template", "noscript"]):
        tag.extract()
    # find_all + match is soup.select without soupsieve walking the whole tree per selector.
    candidates = soup.find_all(class_=True) if _NOT_CONTENT_NEEDS_CLASS else soup.find_all(True)
    selector = _not_content_selector()
    for tag in [tag for tag in candidates if selector.match(tag)]:
        tag.extract()
    return soup


def _full_soup(text: str, url: str) -> BeautifulSoup:
    """The whole page as a BeautifulSoup tree (the slow path, when lxml gives no tree)."""
    try:
        with warnings.catch_warnings():
            # bs4 warns about XML-looking or filename-looking input; either is just a bad page.
            warnings.simplefilter("ignore")
            return BeautifulSoup(text, "lxml")
    except ParserRejectedMarkup as exc:
        raise LayoutChangedError(url, "markup the HTML parser rejects") from exc


# --- the regions the parser reads, as a BeautifulSoup tree ---------------------------------------
#
# A BeautifulSoup tree of a whole 50 KB GOV.UK page costs ~5 ms to build, most of it for chrome
# the parser never reads (cookie banner, header, footer, feedback form, SVGs), and every select()
# then walks that chrome. lxml parses the page in ~0.4 ms. `_read_regions_soup` parses with lxml
# exactly as bs4's "lxml" builder does (same libxml2 parser, options and input) and replays the
# tree into bs4's own builder, leaving out what the code above never reads: each kept element,
# attribute and string is the one `BeautifulSoup(text, "lxml")` builds
# (tests/test_parse_regions.py compares both on real, edited and random pages).
#
# An element is kept whole when the code above may read it or anything inside it (a superset:
# keeping more is always safe); its ancestors are kept as bare elements (no text, no other
# children), so every selector, parent and sibling relation among kept elements is unchanged.

# Elements kept whole wherever they are: error signals (title, h1, scripts) and metadata pairs.
_WHOLE_TAGS: Final = frozenset({"title", "h1", "script", "dt", "dd"})
# ... and elements whose class contains one of these (substrings: a superset of the class tokens
# and suffixes matched above), or whose id contains one of _WHOLE_ID_PARTS.
_WHOLE_CLASS_PARTS: Final = (
    "govspeak",  # the body, its publication wrapper (spilled content), the details section
    "__context",  # "Guidance" above the title
    "__change-item",  # change history
    "last-changed",
    "lead-paragraph",
    "inverse-header",  # the "Updated ..." line
    "metadata",
)
_WHOLE_ID_PARTS: Final = ("details", "documents")
_HTML_END_TAG: Final = re.compile("</html", re.IGNORECASE)
# libxml2's tree builder (not its parser, which bs4 drives) stops 255 elements deep, and caps a
# text node at 10 MB: a page near either limit is built whole instead.
_TOO_DEEP: Final = etree.XPath("boolean(" + "*/" * 240 + "*)")
_MAX_FAST_CHARACTERS: Final = 4_000_000


def _read_regions_soup(text: str) -> BeautifulSoup | None:
    """The regions of `text` the parser reads as a BeautifulSoup tree; None: use `_full_soup`."""
    if text.startswith("\N{BYTE ORDER MARK}"):
        text = text[1:]  # as bs4 does before feeding lxml
    if not text or len(text) > _MAX_FAST_CHARACTERS or _content_after_html_end(text):
        return None
    parser = etree.HTMLParser(recover=True, huge_tree=False)  # bs4's options
    try:
        parser.feed(text)
        root = parser.close()
    except (etree.LxmlError, ValueError, LookupError, UnicodeError, MemoryError):
        return None
    if root is None or not isinstance(root.tag, str) or _TOO_DEEP(root):
        return None
    whole: set[Any] = set()
    kept: set[Any] = set()
    for element in root.iter(etree.Element):
        tag = element.tag
        if tag in _WHOLE_TAGS or ":" in tag or not tag.isascii():
            pass
        else:
            classes = element.get("class")
            ident = element.get("id")
            if not (
                (classes and any(part in classes for part in _WHOLE_CLASS_PARTS))
                or (ident and any(part in ident for part in _WHOLE_ID_PARTS))
            ):
                if tag == "main":
                    kept.add(element)
                continue
        whole.add(element)
    for element in list(whole) + list(kept):
        for ancestor in element.iterancestors():
            if ancestor in kept or ancestor in whole:  # a whole one has its ancestors kept
                break
            kept.add(ancestor)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return BeautifulSoup("", builder=_KeptRegionsBuilder(root, whole, kept))


def _content_after_html_end(text: str) -> bool:
    """Whether anything follows an `</html>`: lxml's tree drops elements there, bs4 keeps them."""
    end = _HTML_END_TAG.search(text)
    if end is None:
        return False
    close = text.find(">", end.end())
    return close != -1 and text[close + 1 :].strip() != ""


class _KeptRegionsBuilder(LXMLTreeBuilder):
    """bs4's lxml tree builder fed from an lxml tree, leaving out the elements not kept."""

    def __init__(self, root: Any, whole: set[Any], kept: set[Any]) -> None:
        super().__init__()
        self._root, self._whole, self._kept = root, whole, kept

    def prepare_markup(self, markup: Any, *_args: Any, **_kwargs: Any) -> Any:
        yield markup, None, None, False

    def feed(self, markup: Any) -> None:
        # The events lxml's target parser sends bs4 (start, data, comment, pi, end), in document
        # order. Iterative: a hostile page may nest elements thousands deep. Stack items: an
        # element (and whether it is kept whole, and its parent), an end tag, or a string.
        whole, kept = self._whole, self._kept
        stack: list[tuple[int, Any, bool, bool]] = [
            (_ELEMENT, self._root, self._root in whole, False)
        ]
        while stack:
            kind, item, in_whole, parent_whole = stack.pop()
            if kind == _END:
                self.end(item)
                continue
            if kind == _TEXT:
                self.data(item)
                continue
            tag = item.tag
            if parent_whole and item.tail:
                stack.append((_TEXT, item.tail, True, True))
            if not isinstance(tag, str):
                if tag is etree.Comment:
                    self.comment(item.text or "")
                elif tag is etree.ProcessingInstruction:
                    self.pi(item.target, item.text or "")
                continue
            self.start(tag, item.attrib)
            if in_whole and item.text:
                self.data(item.text)
            stack.append((_END, tag, in_whole, parent_whole))
            for child in reversed(item):
                if in_whole:
                    stack.append((_ELEMENT, child, True, True))
                elif child in whole:
                    stack.append((_ELEMENT, child, True, False))
                elif child in kept:
                    stack.append((_ELEMENT, child, False, False))


_ELEMENT, _END, _TEXT = 0, 1, 2


def _error_page_reason(soup: BeautifulSoup) -> str | None:
    for script in soup.find_all("script"):
        status = _ERROR_STATUS.search(script.get_text())
        if status is not None:
            return f"GOV.UK error page (status {status.group(1)}) served as a page"
    candidates = [*soup.find_all("title"), *soup.find_all("h1")]
    for tag in candidates:
        heading = element_text(tag)
        key = heading.casefold().replace("\u2019", "'")
        if key.startswith(_ERROR_HEADINGS):
            return f"GOV.UK error page served as a page: {heading[:80]!r}"
    return None


def _title_and_type(soup: BeautifulSoup, url: str) -> tuple[str, str]:
    """Return the h1 title and the context above it ("Guidance")."""
    headings = [*soup.select("main h1"), *soup.select("h1")]
    h1 = next((tag for tag in headings if element_text(tag)), None)
    if h1 is None:
        raise LayoutChangedError(url, "no h1 title")
    context = None
    for scope in (h1.parent, soup.select_one("main"), soup):
        if isinstance(scope, Tag):
            context = next(
                (span for span in scope.select("span") if _has_class_suffix(span, "__context")),
                None,
            )
            if context is not None:
                break
    return element_text(h1), element_text(context) if context is not None else ""


def _has_class_suffix(tag: Tag, suffix: str) -> bool:
    return any(name.endswith(suffix) for name in class_tokens(tag))


def _metadata(soup: BeautifulSoup) -> dict[str, Tag]:
    """Return the From/Published/Last updated definitions, keyed by lower-case term, no colon."""
    pairs: dict[str, Tag] = {}
    for term in soup.select(".gem-c-metadata dt") or soup.select("dt"):
        key = element_text(term).rstrip(":").strip().casefold()
        definition = term.find_next_sibling("dd")
        if key and key not in pairs and isinstance(definition, Tag):
            pairs[key] = definition
    return pairs


def _metadata_date(definition: Tag | None) -> str | None:
    return display_date(element_text(definition)) if definition is not None else None


def _from_organisations(definition: Tag) -> tuple[str, ...]:
    names = [
        element_text(link)
        for link in definition.select("a")
        if not attribute(link, "href").strip().startswith("#")
    ]
    if not any(names):
        names = [element_text(definition)]
    return tuple(dict.fromkeys(name for name in names if name))


def _documents(soup: BeautifulSoup, url: str) -> tuple[DocumentLink, ...]:
    section = soup.select_one("section#documents")
    if section is None:
        raise LayoutChangedError(url, "no Documents list")
    links = [link for link in section.select("a[href]") if _is_document_link(link, section)]
    # How many document links sit under each element: a document's own box holds only one.
    shared = Counter(id(ancestor) for link in links for ancestor in _ancestors(link, section))
    documents: dict[str, DocumentLink] = {}
    for link in links:
        title = element_text(link)
        target = _absolute(attribute(link, "href"), url)
        if not title or target is None or target in documents:
            continue
        attributes = _document_attributes(_document_container(link, section, shared))
        is_html = any(value.casefold() == "html" for value in attributes)
        documents[target] = DocumentLink(
            title, target, "html" if is_html else "attachment", attributes
        )
    if not documents:
        raise LayoutChangedError(url, "Documents list has no document links")
    return tuple(documents.values())


def _is_document_link(link: Tag, section: Tag) -> bool:
    """A document's title link: inside a heading, not a thumbnail or an aria-hidden copy."""
    hidden = attribute(link, "aria-hidden").strip().lower() == "true"
    if hidden or "thumbnail" in class_tokens(link):
        return False
    return any(ancestor.name in ("h2", "h3", "h4") for ancestor in _ancestors(link, section))


def _document_container(link: Tag, section: Tag, shared: Counter[int]) -> Tag:
    """Return the largest element around `link` that holds no other document's link."""
    container = link
    while isinstance(container.parent, Tag) and container.parent is not section:
        if shared[id(container.parent)] > 1:
            break
        container = container.parent
    return container


def _ancestors(tag: Tag, stop: Tag) -> list[Tag]:
    found = []
    ancestor = tag.parent
    while isinstance(ancestor, Tag) and ancestor is not stop:
        found.append(ancestor)
        ancestor = ancestor.parent
    return found


def _document_attributes(container: Tag) -> tuple[str, ...]:
    """Return "HTML", "PDF", "1.2 MB", ... from the document's metadata lines, in order."""
    values: list[str] = []
    for line in container.select("p"):
        if not any("metadata" in name for name in class_tokens(line)):
            continue
        spans = [span for span in line.select("span") if span.find_parent("span") is None]
        texts = [element_text(span) for span in spans] if spans else [element_text(line)]
        values.extend(text for text in texts if text)
    return tuple(values)


def _updates(soup: BeautifulSoup) -> tuple[UpdateEntry, ...]:
    entries: list[UpdateEntry] = []
    for item in soup.select("li"):
        if not _has_class_suffix(item, "__change-item"):
            continue
        time = item.select_one("time")
        when = None
        if time is not None:
            when = iso_date_prefix(attribute(time, "datetime")) or display_date(element_text(time))
        note = next((p for p in item.select("p") if _has_class_suffix(p, "__change-note")), None)
        entries.append(UpdateEntry(when or "", element_text(note) if note is not None else ""))
    return tuple(entries)


def _updated(soup: BeautifulSoup) -> str | None:
    """Return the ISO date of the "Updated 1 December 2021" line under the title."""
    lines = soup.select("header.gem-c-inverse-header p") or [
        p for p in soup.select("p") if _has_class_suffix(p, "last-changed")
    ]
    for line in lines:
        text = element_text(line)
        if _UPDATED_LINE.search(text):
            found = display_date(text)
            if found is not None:
                return found
    return None


def _organisations(blocks: list[Block], url: str) -> tuple[tuple[Organisation, ...], int]:
    """Return the organisations (one per h3) and where the introduction ends in `blocks`."""
    found: list[Organisation] = []
    stage_heading, stage_index = "", 0
    intro_end = len(blocks)
    current: tuple[Block, list[Block]] | None = None
    for index, block in enumerate([*blocks, Block("h2", "end", ())]):
        if block.kind in ("h2", "h3") and block.text:
            if current is not None:
                found.append(_organisation(*current, stage_heading, len(found), url))
                current = None
            if block.kind == "h2":
                stage_heading, stage_index = block.text, index
            else:
                current = (block, [])
                intro_end = min(intro_end, stage_index if stage_heading else index)
        elif current is not None:
            current[1].append(block)
    return tuple(found), intro_end


def _organisation(
    heading: Block, body: list[Block], stage_heading: str, position: int, url: str
) -> Organisation:
    heading_links = _absolute_links(heading.hrefs, url)
    links = _absolute_links(
        [*heading.hrefs, *(href for block in body for href in block.hrefs)], url
    )
    return Organisation(
        name=heading.text,
        url=_organisation_url(heading_links, links, url),
        description=_description(body),
        stage=_stage_label(stage_heading),
        stage_heading=stage_heading,
        links=links,
        position=position,
    )


def _description(body: list[Block]) -> str:
    """Join the blocks by blank lines, keeping a list's items on consecutive lines."""
    parts: list[str] = []
    previous = ""
    for block in body:
        if block.text:
            if parts:
                parts.append("\n" if previous == block.kind == "li" else "\n\n")
            parts.append(block.text)
            previous = block.kind
    return "".join(parts)


def _organisation_url(
    heading_links: tuple[str, ...], links: tuple[str, ...], url: str
) -> str | None:
    """The heading's link, else the first link off GOV.UK, else the first web link."""
    web = [link for link in links if _web_host(link) is not None]
    page_host = _web_host(url)
    internal = _GOVUK_HOSTS | ({page_host} if page_host else set())
    for link in heading_links:
        if _web_host(link) is not None:
            return link
    for link in web:
        if _web_host(link) not in internal:
            return link
    return web[0] if web else None


def _stage_label(heading: str) -> str:
    folded = heading.casefold()
    for suffix in _STAGE_SUFFIXES:
        if folded.endswith(suffix.casefold()) and len(heading) > len(suffix):
            return heading[: -len(suffix)].rstrip(" :")
    return heading


def _absolute_links(hrefs: list[str] | tuple[str, ...], url: str) -> tuple[str, ...]:
    resolved = (_absolute(href, url) for href in hrefs)
    return tuple(dict.fromkeys(link for link in resolved if link is not None))


def _absolute(href: str, base: str) -> str | None:
    """Resolve a link against the page URL; None for scripts, data and unparseable URLs."""
    href = href.strip()
    if not href or href.lower().startswith(("javascript:", "data:")):
        return None
    try:
        resolved = urljoin(base, href)
        urlsplit(resolved)
    except ValueError:
        return None
    return resolved


def _web_host(link: str) -> str | None:
    """Return the lower-case host of an http(s) link, or None for anything else."""
    try:
        parts = urlsplit(link)
        host = parts.hostname
    except ValueError:
        return None
    return host if parts.scheme in ("http", "https") and host else None


def _joined_text(blocks: list[Block]) -> str:
    return "\n".join(block.text for block in blocks if block.text)


# --- content fingerprint: is a new body the same content, without parsing it? ---------------------

# What the parser reads from a page, and so what a fingerprint must cover: element names and
# nesting, text, and these attributes. Everything else (other attributes, comments, <meta> and
# <link>, whitespace directly under <html>, <head> and <body>) is left out, and of a <script>
# only the error status `_error_page_reason` looks for. Keep in step with the code above.
_READ_ATTRIBUTES: Final = ("class", "id", "href", "aria-hidden", "datetime")
_FINGERPRINT_XSLT: Final = f"""<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="*">
    <xsl:copy><xsl:apply-templates select="{"|".join("@" + a for a in _READ_ATTRIBUTES)}|node()"/>
    </xsl:copy>
  </xsl:template>
  <xsl:template match="@*|text()"><xsl:copy/></xsl:template>
  <xsl:template match="script|meta|link|comment()|processing-instruction()"/>
  <xsl:template match="/html/text()|/html/head/text()|/html/body/text()"/>
</xsl:stylesheet>"""


@cache
def _fingerprint_tools() -> tuple[Any, Any]:
    parser = etree.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
    return parser, etree.XSLT(etree.XML(_FINGERPRINT_XSLT.encode()))


def content_fingerprint(body: bytes) -> str | None:
    """Return a digest of everything the parser reads from `body`, or None when there is none.

    Two bodies with the same fingerprint parse to the same page (or both fail the same way), so a
    body whose fingerprint equals that of the body behind the stored version need not be parsed:
    per-request noise (CSRF tokens, nonces, request ids, timestamps in comments or <meta>) does
    not change it. About ten times cheaper than parsing: lxml and XSLT, no BeautifulSoup.
    """
    parser, transform = _fingerprint_tools()
    try:
        root = etree.fromstring(decode_html(body).encode("utf-8"), parser)
        if root is None:
            return None
        digest = hashlib.sha256()
        for script in root.iter("script"):
            for status in _ERROR_STATUS.findall(script.text or ""):
                digest.update(f"status {status}\n".encode())
        digest.update(etree.tostring(transform(root)))
    except (etree.LxmlError, ValueError, RecursionError, MemoryError):
        return None
    return digest.hexdigest()
