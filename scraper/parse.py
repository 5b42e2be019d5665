"""Stage 2: turn a fetched GOV.UK page into a Publication or HtmlDocument.

Pure and deterministic: no network, no clock, no database. Every markup era GOV.UK has served
this publication in parses to the same values: `scraper.eras` decides the era from the markup
(never from a date) and finds the regions the parser reads (title, metadata, Documents list,
change history, govspeak body); this module extracts the same fields from them whatever the era,
and reads nothing else. The tree is lxml's (`scraper.tree.read_html`). For ANY bytes the entry
points return a page or raise `LayoutChangedError`, never another exception.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from typing import Final
from urllib.parse import urljoin, urlsplit

from lxml import etree  # type: ignore[import-untyped]

from scraper.eras import Era, PageIndex, Regions, find_regions
from scraper.eras.common import with_class_suffix
from scraper.errors import LayoutChangedError
from scraper.page import DocumentLink, HtmlDocument, Organisation, Publication, UpdateEntry
from scraper.text import (
    HEADING_TAGS,
    Block,
    Element,
    attribute,
    class_tokens,
    display_date,
    element_date,
    element_text,
    flatten_blocks,
)
from scraper.tree import read_html

__all__ = [
    "PARSER_VERSION",
    "HtmlSource",
    "content_fingerprint",
    "parse_html_document",
    "parse_publication",
]

# Bumped whenever the parser's output for some stored body can change (the golden files in
# tests/golden/parse/ show it in review). Every stored version records the parser version that
# produced it, so versions from an older parser can be re-parsed (`db reparse`).
# 2: every markup era since 2015; a page with no change-history list has its "First published."
#    note; a change item without a note paragraph keeps the text after its date.
PARSER_VERSION: Final = 2

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
# Never content, wherever they sit in a region: scripts and the like.
_NOT_CONTENT_NODES: Final = (
    "script", "style", "template", "noscript", "meta", "link", etree.Comment, etree.PI,
)  # fmt: skip
# The attributes the parser reads (tests/test_content_fingerprint.py checks this module). All
# others are left out of the regions, and so out of the fingerprint: per-request noise (request
# ids in data attributes, tracking parameters) does not change it.
_READ_ATTRIBUTES: Final = ("class", "id", "href", "aria-hidden", "datetime", "title")
_READ_ATTRIBUTE_SET: Final = frozenset(_READ_ATTRIBUTES)
# Attribute names `etree.strip_attributes` accepts (an XML name without a namespace).
_ATTRIBUTE_NAME: Final = re.compile(r"[A-Za-z_][\w.\-]*")
_STAGE_SUFFIXES: Final = (
    " development stage: UK support organisations",
    ": UK support organisations",
    " UK support organisations",
)
_UPDATED_LINE: Final = re.compile(r"\b(?:Updated|Published)\b", re.I)
_FIRST_PUBLISHED_NOTE: Final = "First published."
_GOVUK_HOSTS: Final = frozenset({"www.gov.uk", "gov.uk"})
# A link with a scheme and a host: "https://example.org", "HTTP://x.test/a?b" (not "https:/a").
_WITH_HOST: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^/?#\s\x00-\x1f]")
# A root-relative link urljoin would only prefix with the page's origin: no dot segments, no
# empty ones (urljoin collapses "//"), no query or fragment (it drops an empty one), plain ASCII.
_PLAIN_ROOT_PATH: Final = re.compile(r"(?!.*//)(?!.*/\.)/[A-Za-z0-9\-._~%!$&'()*+,=:@/]*\Z")
# An http(s) link urljoin returns as it is, from any page: lower-case scheme, a plain host and
# port, and a path like `_PLAIN_ROOT_PATH`'s but where urljoin keeps "//" and dot segments.
_PLAIN_WEB_LINK: Final = re.compile(
    r"https?://[A-Za-z0-9\-.]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9\-._~%!$&'()*+,=:@/]*)?\Z"
)
# Scripts that may hold `_ERROR_STATUS` (a cheap superset, in C).
_SCRIPTS_WITH_STATUS: Final = etree.XPath("//script[contains(., 'httpStatusCode')]")
# What the fingerprint's digest starts with: a new scheme, or a parser that reads differently,
# never matches a fingerprint stored by an older one.
_FINGERPRINT_SCHEME: Final = f"content fingerprint 2, parser {PARSER_VERSION}\n".encode()


class HtmlSource:
    """A fetched body, read by lxml at most once: the regions the parser reads from it (and the
    fingerprint of those), then the page parsed from the same tree.

    The pipeline asks for the fingerprint first (to skip extracting from a page whose content
    has not changed), then parses. `transport_encoding` is the charset the HTTP Content-Type
    header declared, if any (see `scraper.tree.read_html`).
    """

    def __init__(self, body: bytes, transport_encoding: str | None = None) -> None:
        self.body = body
        self.transport_encoding = transport_encoding
        self._content: _Content | None = None
        self._fingerprint: str | None = None
        self._fingerprinted = False

    def _read(self) -> _Content:
        if self._content is None:
            self._content = _Content.read(self.body, self.transport_encoding)
        return self._content

    @property
    def fingerprint(self) -> str | None:
        """`content_fingerprint` of the body."""
        if not self._fingerprinted:
            self._fingerprint = self._read().fingerprint()
            self._fingerprinted = True
        return self._fingerprint

    @property
    def era(self) -> Era | None:
        """The markup era the page is in (None: an error page, or no era's landmarks)."""
        regions = self._read().regions
        return regions.era if regions is not None else None

    def take_content(self) -> _Content:
        """The content, for the parser, which may edit its tree (it is read again if asked)."""
        self.fingerprint  # noqa: B018  (of the tree as read, before the parser edits it)
        content = self._read()
        self._content = None
        return content


def parse_publication(source: bytes | HtmlSource, url: str) -> Publication:
    """Parse a publication page: metadata, its Documents list and its change history.

    Raises:
        LayoutChangedError: an error page, no h1 title, or no Documents list with documents.
    """
    regions = _regions(source, url)
    title, doc_type = _title_and_type(regions, url)
    metadata = _metadata(regions.metadata)
    published = _metadata_date(_first_present(metadata, "published", "first published"))
    from_dd = metadata.get("from")
    return Publication(
        url=url,
        title=title,
        doc_type=doc_type,
        description=element_text(regions.lead) if regions.lead is not None else "",
        from_organisations=_from_organisations(from_dd) if from_dd is not None else (),
        published=published,
        last_updated=_metadata_date(metadata.get("last updated")),
        documents=_documents(regions.documents, url),
        updates=_updates(regions.history) or _first_published(published),
        details_text=(
            _joined_text(flatten_blocks(regions.details)) if regions.details is not None else ""
        ),
    )


def parse_html_document(source: bytes | HtmlSource, url: str) -> HtmlDocument:
    """Parse an HTML attachment: its header and the organisations its govspeak body lists.

    Raises:
        LayoutChangedError: an error page, no h1 title, or no (or an empty) govspeak body.
    """
    regions = _regions(source, url)
    title, doc_type = _title_and_type(regions, url)
    govspeak = _govspeak(regions.body)
    if regions.body is None or govspeak is None:
        raise LayoutChangedError(url, "no govspeak body")
    _gather_spilled_content(govspeak, regions.body)
    blocks = flatten_blocks(govspeak)
    if not any(block.text for block in blocks):
        raise LayoutChangedError(url, "empty govspeak body")
    organisations, intro_end = _organisations(blocks, url)
    return HtmlDocument(
        url=url,
        title=title,
        doc_type=doc_type,
        updated=_updated(regions.updated),
        intro_text=_joined_text(blocks[:intro_end]),
        organisations=organisations,
        text=_joined_text(blocks),
    )


def _govspeak(body: Element | None) -> Element | None:
    """The `.govspeak` the body region is or holds (the first, in document order)."""
    if body is None:
        return None
    return next((e for e in body.iter(etree.Element) if "govspeak" in class_tokens(e)), None)


def _gather_spilled_content(govspeak: Element, scope: Element) -> None:
    """Move back into `govspeak` the body content a stray end tag pushed out of it.

    A stray </div> in the body closes the govspeak container early, as a browser would; the
    rest of the body then follows it inside the era's body wrapper (`scope`), still on the page.
    Left out, those organisations would be reported removed. What follows the container (up to
    the wrapper) is appended to it in document order; a well-formed page has nothing there.
    """
    node = govspeak
    while node is not scope and node.getparent() is not None:
        if node.tail:
            _append_text(govspeak, node.tail)
            node.tail = None
        for sibling in list(node.itersiblings()):
            govspeak.append(sibling)  # with its tail, the text after it
        node = node.getparent()


def _append_text(element: Element, text: str) -> None:
    """Add text at the end of `element`'s content."""
    if len(element):
        last = element[-1]
        last.tail = (last.tail or "") + text
    else:
        element.text = (element.text or "") + text


class _Content:
    """What the parser reads from a page: the regions its era's reader found (`scraper.eras`),
    without what is never content.

    Left out of the page's content (`main`, or the whole page when it has none), and so of the
    regions: the blocks `scraper.eras.common.PageIndex` drops as never content, scripts, styles,
    templates, noscript, comments, processing instructions, <meta>, <link> and every attribute
    not in `_READ_ATTRIBUTES`. Whether the page is a GOV.UK error page is decided first, on the
    whole tree; an error page has no regions.
    """

    def __init__(self, error: str | None, regions: Regions | None) -> None:
        self.error = error  # why this is a GOV.UK error page, or None
        self.regions = regions

    @classmethod
    def read(cls, body: bytes, transport_encoding: str | None = None) -> _Content:
        root = read_html(body, transport_encoding=transport_encoding)
        error = _error_page_reason(root)
        if error is not None:
            return cls(error, None)
        page = PageIndex(root)
        regions = find_regions(page)
        # The content the index covers is cleaned in one pass each (in C), cheaper than one per
        # region. with_tail=False keeps the text after each removed node.
        etree.strip_elements(page.scope, *_NOT_CONTENT_NODES, with_tail=False)
        _strip_unread_attributes(page.scope, page.attribute_names - _READ_ATTRIBUTE_SET)
        return cls(None, regions)

    def fingerprint(self) -> str | None:
        """A digest of the content: equal for two pages means they parse the same."""
        return _fingerprint(self.error, self.regions)


def _strip_unread_attributes(scope: Element, unread: frozenset[str]) -> None:
    """Remove the attributes the parser does not read from `scope`, in one C call.

    Broken markup can give attribute names lxml will not take as names (`{"a":1}"`, read as a
    namespace): those stay, so they count in the fingerprint (a page carrying one is parsed,
    never wrongly skipped) and are never read.
    """
    valid = [name for name in unread if _ATTRIBUTE_NAME.fullmatch(name)]
    if valid:
        etree.strip_attributes(scope, *valid)


def _regions(source: bytes | HtmlSource, url: str) -> Regions:
    """The page's regions, once it is known not to be a GOV.UK error page."""
    content = (source if isinstance(source, HtmlSource) else HtmlSource(source)).take_content()
    if content.error is not None or content.regions is None:
        raise LayoutChangedError(url, content.error or "no content")
    return content.regions


def _error_page_reason(root: Element) -> str | None:
    for script in _SCRIPTS_WITH_STATUS(root):
        status = _ERROR_STATUS.search("".join(script.itertext()))
        if status is not None:
            return f"GOV.UK error page (status {status.group(1)}) served as a page"
    for element in [*root.iter("title"), *root.iter("h1")]:
        heading = element_text(element)
        key = heading.casefold().replace("\u2019", "'")
        if key.startswith(_ERROR_HEADINGS):
            return f"GOV.UK error page served as a page: {heading[:80]!r}"
    return None


def _title_and_type(regions: Regions, url: str) -> tuple[str, str]:
    """Return the title (the h1) and the document type above it ("Guidance")."""
    if regions.title is None:
        raise LayoutChangedError(url, "no h1 title")
    context = regions.context
    return element_text(regions.title), _document_type(context) if context is not None else ""


def _document_type(context: Element) -> str:
    """The type as written; from Whitehall's "<a>Topic</a> – guidance", the part after the dash."""
    text = element_text(context)
    if "\u2013" in text and next(context.iterdescendants("a"), None) is not None:
        text = text.rsplit("\u2013", 1)[1].strip()
        text = text[:1].upper() + text[1:]
    return text


def _metadata(containers: Iterable[Element]) -> dict[str, Element]:
    """The From/Published/Last updated definitions (`dt` and the `dd` after it), keyed by
    lower-case term, no colon; the first of each term wins."""
    pairs: dict[str, Element] = {}
    for container in containers:
        for term in container.iterdescendants("dt"):
            key = element_text(term).rstrip(":").strip().casefold()
            definition = next(term.itersiblings("dd"), None)
            if key and key not in pairs and definition is not None:
                pairs[key] = definition
    return pairs


def _first_present(metadata: dict[str, Element], *terms: str) -> Element | None:
    """The definition of the first of `terms` the metadata has."""
    return next((metadata[term] for term in terms if term in metadata), None)


def _metadata_date(definition: Element | None) -> str | None:
    return element_date(definition) if definition is not None else None


def _from_organisations(definition: Element) -> tuple[str, ...]:
    names = [
        element_text(link)
        for link in definition.iterdescendants("a")
        if not attribute(link, "href").strip().startswith("#")
    ]
    if not any(names):
        names = [element_text(definition)]
    return tuple(dict.fromkeys(name for name in names if name))


def _documents(section: Element | None, url: str) -> tuple[DocumentLink, ...]:
    """The Documents list: its links `a[href]` in headings."""
    if section is None:
        raise LayoutChangedError(url, "no Documents list")
    links = [
        link
        for link in section.iterdescendants("a")
        if link.get("href") is not None and _is_document_link(link, section)
    ]
    # How many document links sit under each element: a document's own box holds only one.
    # (Keyed by the elements themselves, which keeps their lxml proxies, and so identities.)
    shared: Counter[Element] = Counter(
        ancestor for link in links for ancestor in _ancestors(link, section)
    )
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


def _is_document_link(link: Element, section: Element) -> bool:
    """A document's title link: inside a heading, not a thumbnail or an aria-hidden copy."""
    hidden = attribute(link, "aria-hidden").strip().lower() == "true"
    if hidden or "thumbnail" in class_tokens(link):
        return False
    return any(ancestor.tag in ("h2", "h3", "h4") for ancestor in _ancestors(link, section))


def _document_container(link: Element, section: Element, shared: Counter[Element]) -> Element:
    """Return the largest element around `link` that holds no other document's link."""
    container = link
    parent = container.getparent()
    while parent is not None and parent is not section:
        if shared[parent] > 1:
            break
        container = parent
        parent = container.getparent()
    return container


def _ancestors(element: Element, stop: Element) -> list[Element]:
    found = []
    for ancestor in element.iterancestors():
        if ancestor is stop:
            break
        found.append(ancestor)
    return found


def _document_attributes(container: Element) -> tuple[str, ...]:
    """Return "HTML", "PDF", "1.2 MB", ... from the document's metadata lines, in order."""
    values: list[str] = []
    for line in container.iterdescendants("p"):
        if not any("metadata" in name for name in class_tokens(line)):
            continue
        spans = [
            span
            for span in line.iterdescendants("span")
            if next(span.iterancestors("span"), None) is None
        ]
        texts = [element_text(span) for span in spans] if spans else [element_text(line)]
        values.extend(text for text in texts if text)
    return tuple(values)


def _updates(history: Iterable[Element]) -> tuple[UpdateEntry, ...]:
    """The change history, newest first: each region is a change item (`li`), a `dl` of date
    (`dt`) and note (`dd`) pairs, or a list holding change items."""
    entries: list[UpdateEntry] = []
    for region in history:
        if region.tag == "li":
            entries.append(_change_item(region))
        elif region.tag == "dl":
            entries.extend(_change_pairs(region))
        else:
            entries.extend(_change_item(item) for item in region.iterdescendants("li"))
    return tuple(entries)


def _change_item(item: Element) -> UpdateEntry:
    """`time[datetime]` and the note: `p[class$="__change-note"]`, else the text after the time."""
    time = next(item.iterdescendants("time"), None)
    when = element_date(time) if time is not None else None
    note = next(iter(with_class_suffix(item.iterdescendants("p"), "__change-note")), None)
    if note is not None:
        return UpdateEntry(when or "", element_text(note))
    text, shown = element_text(item), element_text(time) if time is not None else ""
    return UpdateEntry(when or "", text[len(shown) :].strip() if text.startswith(shown) else text)


def _change_pairs(dl: Element) -> list[UpdateEntry]:
    """Whitehall's history: `dt` (the date and time) then `dd` (the note)."""
    entries = []
    for term in dl.iterchildren("dt"):
        definition = next(term.itersiblings(etree.Element), None)
        if definition is not None and definition.tag == "dd":
            entries.append(UpdateEntry(element_date(term) or "", element_text(definition)))
    return entries


def _first_published(published: str | None) -> tuple[UpdateEntry, ...]:
    """The history of a page never updated, which GOV.UK shows without a list: its first note."""
    return (UpdateEntry(published, _FIRST_PUBLISHED_NOTE),) if published else ()


def _updated(lines: Iterable[Element]) -> str | None:
    """Return the ISO date of the "Updated 1 December 2021" (or "Published ...") line under an
    HTML document's title: the first line of the regions that says so and has a date."""
    for region in lines:
        for block in flatten_blocks(region):
            if block.kind in HEADING_TAGS or not _UPDATED_LINE.search(block.text):
                continue
            found = element_date(region) if region.tag == "p" else display_date(block.text)
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
    if _PLAIN_WEB_LINK.match(href):
        return href
    if _WITH_HOST.match(href):
        # urljoin reads nothing of the page URL but its scheme for a link with a host: the
        # resolution is then shared by every page (organisations link the same sites).
        return _resolved(href, _scheme_of(base) + ":")
    if _PLAIN_ROOT_PATH.match(href):
        origin = _origin_of(base)
        if origin is not None:
            return origin + href
    return _resolved(href, base)


@lru_cache(maxsize=4096)  # pure; an organisation's heading link is resolved twice
def _resolved(href: str, base: str) -> str | None:
    try:
        resolved = urljoin(base, href)
        urlsplit(resolved)
    except ValueError:
        return None
    return resolved


@lru_cache(maxsize=64)
def _scheme_of(url: str) -> str:
    try:
        return urlsplit(url).scheme
    except ValueError:
        return ""


@lru_cache(maxsize=64)
def _origin_of(url: str) -> str | None:
    """`scheme://host` of an http(s) page URL (None for any other)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


@lru_cache(maxsize=4096)
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


# --- content fingerprint: is a new body the same content, without extracting from it? ------------


def content_fingerprint(source: bytes | HtmlSource) -> str | None:
    """Return a digest of everything the parser reads from a body, or None when there is none.

    Two bodies with the same fingerprint parse to the same page (or both fail the same way), so a
    body whose fingerprint equals that of the body behind the stored version need not be parsed
    further. It is the SHA-256 of the error page verdict, the era and each region the parser
    reads, serialised (see `_Content`): page chrome (header, footer, banners, feedback form,
    breadcrumbs, scripts, tokens, visible render stamps) is not part of it.
    """
    return (source if isinstance(source, HtmlSource) else HtmlSource(source)).fingerprint


def _fingerprint(error: str | None, regions: Regions | None) -> str | None:
    parts = [_FINGERPRINT_SCHEME, f"error {error!r}\n".encode()]
    if regions is not None:
        parts.append(f"era {regions.era}\n".encode())
        try:
            for name, elements in regions.slots():
                parts.append(f"{name} {len(elements)}\n".encode())
                parts.extend(
                    etree.tostring(element, encoding="utf-8", with_tail=False) + b"\n"
                    for element in elements
                )
        except (etree.LxmlError, ValueError, RecursionError, MemoryError):
            return None
    return hashlib.sha256(b"".join(parts)).hexdigest()
