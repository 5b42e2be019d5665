"""Stage 2: turn a fetched GOV.UK page into a Publication or HtmlDocument.

Pure and deterministic: no network, no clock, no database. Both markup eras GOV.UK has served
(2021 government-frontend, 2025+ frontend) parse to the same values, because every selection
here is one of the robust selectors in `../shared/reference/govuk-markup.md` §0 (written beside
each one as CSS). The tree is lxml's (`scraper.tree.read_html`). For ANY bytes the entry points
return a page or raise `LayoutChangedError`, never another exception.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Final
from urllib.parse import urljoin, urlsplit

from lxml import etree  # type: ignore[import-untyped]

from scraper.errors import LayoutChangedError
from scraper.page import DocumentLink, HtmlDocument, Organisation, Publication, UpdateEntry
from scraper.text import (
    Block,
    Element,
    attribute,
    class_tokens,
    display_date,
    element_text,
    flatten_blocks,
    iso_date_prefix,
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
PARSER_VERSION: Final = 1

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
# Never content, wherever they sit: scripts and the like, and (by class) print-only licence
# blocks, contents lists and back-to-top links; also `h2 > span.number, h3 > span.number`.
_NOT_CONTENT_NODES: Final = (
    "script", "style", "template", "noscript", "meta", "link", etree.Comment, etree.PI,
)  # fmt: skip
_NOT_CONTENT_CLASSES: Final = frozenset(
    {
        "print-meta-data",
        "print-metadata",
        "print-wrapper",
        "gem-c-contents-list",
        "app-c-back-to-top",
        "gem-c-back-to-top-link",
    }
)
# The attributes the parser reads (tests/test_content_fingerprint.py checks this module). All
# others are left out of `_Content`, and so out of the fingerprint: per-request noise (CSRF
# tokens in <meta>, script nonces, request ids in data attributes, timestamps in comments) does
# not change it.
_READ_ATTRIBUTES: Final = ("class", "id", "href", "aria-hidden", "datetime")
_READ_ATTRIBUTE_SET: Final = frozenset(_READ_ATTRIBUTES)
_STAGE_SUFFIXES: Final = (
    " development stage: UK support organisations",
    ": UK support organisations",
    " UK support organisations",
)
_HTML_PUBLICATION_WRAPPER: Final = "gem-c-govspeak-html-publication"
_UPDATED_LINE: Final = re.compile(r"\b(?:Updated|Published)\b", re.I)
_GOVUK_HOSTS: Final = frozenset({"www.gov.uk", "gov.uk"})

# Candidates for `_not_content`: a class attribute containing one of the names (a superset).
_MAYBE_NOT_CONTENT: Final = re.compile(
    "|".join(re.escape(name) for name in [*sorted(_NOT_CONTENT_CLASSES), "number"])
)
_WITH_ID: Final = etree.XPath("//*[@id = $id]")
# Scripts that may hold `_ERROR_STATUS` (a cheap superset, in C).
_SCRIPTS_WITH_STATUS: Final = etree.XPath("//script[contains(., 'httpStatusCode')]")


class HtmlSource:
    """A fetched body, read by lxml at most once: what the parser reads from it (and the
    fingerprint of that), then the page parsed from the same tree.

    The pipeline asks for the fingerprint first (to skip extracting from a page whose content
    has not changed), then parses.
    """

    def __init__(self, body: bytes) -> None:
        self.body = body
        self._content: _Content | None = None
        self._fingerprint: str | None = None
        self._fingerprinted = False

    def _read(self) -> _Content:
        if self._content is None:
            self._content = _Content.read(self.body)
        return self._content

    @property
    def fingerprint(self) -> str | None:
        """`content_fingerprint` of the body."""
        if not self._fingerprinted:
            self._fingerprint = self._read().fingerprint()
            self._fingerprinted = True
        return self._fingerprint

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
    content = _content_tree(source, url)
    root = content.root
    title, doc_type = _title_and_type(root, url)
    metadata = _metadata(root)
    lead = next((p for p in content.with_class("gem-c-lead-paragraph") if p.tag == "p"), None)
    details = _first_under(content.with_class("govspeak"), _is_details_section)
    if details is None:
        details = _first_under(content.with_class("gem-c-govspeak"), _is_details_section)
    from_dd = metadata.get("from")
    return Publication(
        url=url,
        title=title,
        doc_type=doc_type,
        description=element_text(lead) if lead is not None else "",
        from_organisations=_from_organisations(from_dd) if from_dd is not None else (),
        published=_metadata_date(metadata.get("published")),
        last_updated=_metadata_date(metadata.get("last updated")),
        documents=_documents(root, url),
        updates=_updates(content),
        details_text=_joined_text(flatten_blocks(details)) if details is not None else "",
    )


def _is_details_section(element: Element) -> bool:
    """`section#details`: the publication's "Details" section."""
    return element.tag == "section" and attribute(element, "id") == "details"


def parse_html_document(source: bytes | HtmlSource, url: str) -> HtmlDocument:
    """Parse an HTML attachment: its header and the organisations its govspeak body lists.

    Raises:
        LayoutChangedError: an error page, no h1 title, or no (or an empty) govspeak body.
    """
    content = _content_tree(source, url)
    root = content.root
    title, doc_type = _title_and_type(root, url)
    govspeak = _govspeak_body(content)
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
        updated=_updated(root, content),
        intro_text=_joined_text(blocks[:intro_end]),
        organisations=organisations,
        text=_joined_text(blocks),
    )


def _govspeak_body(content: _Content) -> Element | None:
    """`.gem-c-govspeak-html-publication .govspeak`, else `main .govspeak`, else
    `#content .govspeak`."""
    candidates = content.with_class("govspeak")
    for is_scope in (
        lambda ancestor: _HTML_PUBLICATION_WRAPPER in class_tokens(ancestor),
        lambda ancestor: ancestor.tag == "main",
        lambda ancestor: attribute(ancestor, "id") == "content",
    ):
        found = _first_under(candidates, is_scope)
        if found is not None:
            return found
    return None


def _gather_spilled_content(govspeak: Element) -> None:
    """Move back into `govspeak` the body content a stray end tag pushed out of it.

    A stray </div> in the body closes the govspeak container early, as a browser would; the
    rest of the body then follows it inside the publication's wrapper, still on the page. Left
    out, those organisations would be reported removed. What follows the container (up to the
    wrapper) is appended to it in document order; a well-formed page has nothing there.
    """
    wrapper = next(
        (
            ancestor
            for ancestor in govspeak.iterancestors()
            if _HTML_PUBLICATION_WRAPPER in class_tokens(ancestor)
        ),
        None,
    )
    node = govspeak
    while wrapper is not None and node is not wrapper and node.getparent() is not None:
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
    """What the parser reads from a page: its tree without what is never content.

    Left out: scripts, styles, templates, noscript, comments, processing instructions, <meta>,
    <link> and every attribute not in `_READ_ATTRIBUTES`; for extraction, also the elements
    `_not_content` accepts. Whether the page is a GOV.UK error page is decided first, on the
    whole tree.
    """

    def __init__(self, root: Element, error: str | None) -> None:
        self.root = root
        self.error = error  # why this is a GOV.UK error page, or None
        # (element, class attribute) in document order: every class selector filters this list
        # (one pass over the tree instead of one per selector). Made by `for_extraction`.
        self.classed: list[tuple[Element, str]] = []

    @classmethod
    def read(cls, body: bytes) -> _Content:
        root = read_html(body)
        error = _error_page_reason(root)
        etree.strip_elements(root, *_NOT_CONTENT_NODES, with_tail=False)  # keeps the text after
        _strip_unread_attributes(root)
        _tidy_page_whitespace(root)
        return cls(root, error)

    def for_extraction(self) -> _Content:
        """Drop the elements `_not_content` accepts and index the classes (not needed for the
        fingerprint, which is taken before: these elements hold nothing the parser reads)."""
        classed = [
            (element, classes)
            for element in self.root.iter(etree.Element)
            if (classes := element.get("class"))
        ]
        gone: set[Element] = set()
        for element, classes in classed:
            if _MAYBE_NOT_CONTENT.search(classes) and element not in gone and _not_content(element):
                gone.update(element.iter())  # the classed list holds these proxies: same objects
                _drop(element)
        self.classed = [item for item in classed if item[0] not in gone] if gone else classed
        return self

    def fingerprint(self) -> str | None:
        """A digest of the content: equal for two pages means they parse the same."""
        return _fingerprint(self.root, self.error)

    def with_class(self, token: str) -> list[Element]:
        """`.token`: the elements that have the class, in document order."""
        return [
            element
            for element, classes in self.classed
            if token in classes and token in classes.split()
        ]

    def with_class_suffix(self, suffix: str) -> list[Element]:
        """The elements with a class name ending in `suffix`, in document order."""
        return _with_class_suffix(
            (element for element, classes in self.classed if suffix in classes), suffix
        )


# Names of attributes the parser does not read, seen on earlier pages (GOV.UK's chrome repeats
# them): stripped in one C-level call, and a page is walked in Python only if it has others.
_UNREAD_NAMES: set[str] = set()
_MAX_UNREAD_NAMES: Final = 10_000
_HAS_UNREAD_ATTRIBUTE: Final = etree.XPath(
    "boolean(//@*[not(" + " or ".join(f"name() = '{name}'" for name in _READ_ATTRIBUTES) + ")])"
)


def _strip_unread_attributes(root: Element) -> None:
    if _UNREAD_NAMES:
        etree.strip_attributes(root, *_UNREAD_NAMES)
    if not _HAS_UNREAD_ATTRIBUTE(root):
        return
    names: set[str] = set()
    for element in root.iter(etree.Element):
        names.update(element.keys())
    names -= _READ_ATTRIBUTE_SET
    etree.strip_attributes(root, *names)
    if len(_UNREAD_NAMES) + len(names) <= _MAX_UNREAD_NAMES:
        _UNREAD_NAMES.update(names)


def _tidy_page_whitespace(root: Element) -> None:
    """Drop the text directly in <html> and <head> (never read), and make the whitespace between
    <body>'s children one space (the parser reads any run of whitespace as one space): what a
    stripped <meta> or comment left there differs with per-request noise."""
    for parent in (root, *root.iterchildren("head")):
        parent.text = None
        for child in parent:
            if child.tag != "body":
                child.tail = None
    for body in root.iterchildren("body"):
        for node in (body, *body):
            text = node.text if node is body else node.tail
            if text and text.isspace():
                if node is body:
                    body.text = " "
                else:
                    node.tail = " "


def _content_tree(source: bytes | HtmlSource, url: str) -> _Content:
    """The page's content, once it is known not to be a GOV.UK error page."""
    content = source.take_content() if isinstance(source, HtmlSource) else _Content.read(source)
    if content.error is not None:
        raise LayoutChangedError(url, content.error)
    return content.for_extraction()


def _not_content(element: Element) -> bool:
    tokens = class_tokens(element)
    if not _NOT_CONTENT_CLASSES.isdisjoint(tokens):
        return True
    parent = element.getparent()
    return (
        element.tag == "span"
        and "number" in tokens
        and parent is not None
        and parent.tag in ("h2", "h3")
    )


def _drop(element: Element) -> None:
    """Remove an element and what is inside it, keeping the text that follows it."""
    parent = element.getparent()
    if parent is None:
        return
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


# --- selections: CSS selectors as lxml iteration, in document order ------------------------------


def _with_class_suffix(elements: Iterable[Element], suffix: str) -> list[Element]:
    return [e for e in elements if any(name.endswith(suffix) for name in class_tokens(e))]


def _first_under(
    candidates: Iterable[Element], is_scope: Callable[[Element], bool]
) -> Element | None:
    """The first candidate with an ancestor `is_scope` accepts (CSS `scope candidate`)."""
    for candidate in candidates:
        if any(is_scope(ancestor) for ancestor in candidate.iterancestors()):
            return candidate
    return None


def _all_under(candidates: Iterable[Element], is_scope: Callable[[Element], bool]) -> list[Element]:
    return [c for c in candidates if any(is_scope(a) for a in c.iterancestors())]


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


def _title_and_type(root: Element, url: str) -> tuple[str, str]:
    """Return the h1 title (`main h1`, else `h1`) and the context above it ("Guidance")."""
    every_h1 = list(root.iter("h1"))
    in_main = _all_under(every_h1, lambda ancestor: ancestor.tag == "main")
    h1 = next((tag for tag in [*in_main, *every_h1] if element_text(tag)), None)
    if h1 is None:
        raise LayoutChangedError(url, "no h1 title")
    context = None
    main = next(root.iter("main"), None)
    for scope in (h1.getparent(), main, root):
        if scope is not None:
            spans = scope.iterdescendants("span") if scope is not root else root.iter("span")
            context = next(iter(_with_class_suffix(spans, "__context")), None)
            if context is not None:
                break
    return element_text(h1), element_text(context) if context is not None else ""


def _metadata(root: Element) -> dict[str, Element]:
    """The From/Published/Last updated definitions (`.gem-c-metadata dt`, else `dt`), keyed by
    lower-case term, no colon."""
    terms = list(root.iter("dt"))
    in_metadata = _all_under(terms, lambda ancestor: "gem-c-metadata" in class_tokens(ancestor))
    pairs: dict[str, Element] = {}
    for term in in_metadata or terms:
        key = element_text(term).rstrip(":").strip().casefold()
        definition = next(term.itersiblings("dd"), None)
        if key and key not in pairs and definition is not None:
            pairs[key] = definition
    return pairs


def _metadata_date(definition: Element | None) -> str | None:
    return display_date(element_text(definition)) if definition is not None else None


def _from_organisations(definition: Element) -> tuple[str, ...]:
    names = [
        element_text(link)
        for link in definition.iterdescendants("a")
        if not attribute(link, "href").strip().startswith("#")
    ]
    if not any(names):
        names = [element_text(definition)]
    return tuple(dict.fromkeys(name for name in names if name))


def _documents(root: Element, url: str) -> tuple[DocumentLink, ...]:
    """The Documents list: `section#documents`, its links `a[href]`."""
    section = next((e for e in _WITH_ID(root, id="documents") if e.tag == "section"), None)
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


def _updates(content: _Content) -> tuple[UpdateEntry, ...]:
    """The change history: `li` with a class ending `__change-item`."""
    entries: list[UpdateEntry] = []
    for item in content.with_class_suffix("__change-item"):
        if item.tag != "li":
            continue
        time = next(item.iterdescendants("time"), None)
        when = None
        if time is not None:
            when = iso_date_prefix(attribute(time, "datetime")) or display_date(element_text(time))
        note = next(iter(_with_class_suffix(item.iterdescendants("p"), "__change-note")), None)
        entries.append(UpdateEntry(when or "", element_text(note) if note is not None else ""))
    return tuple(entries)


def _updated(root: Element, content: _Content) -> str | None:
    """Return the ISO date of the "Updated 1 December 2021" line under the title
    (`header.gem-c-inverse-header p`, else `p` with a class ending `last-changed`)."""
    headers = [e for e in content.with_class("gem-c-inverse-header") if e.tag == "header"]
    in_headers = {p for header in headers for p in header.iterdescendants("p")}
    lines = [p for p in root.iter("p") if p in in_headers] or [
        p for p in content.with_class_suffix("last-changed") if p.tag == "p"
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


@lru_cache(maxsize=4096)  # pure; an organisation's heading link is resolved twice
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
    further. It is the SHA-256 of the serialised content tree (see `_Content`) and of the error
    page verdict.
    """
    return (source if isinstance(source, HtmlSource) else HtmlSource(source)).fingerprint


def _fingerprint(root: Element, error: str | None) -> str | None:
    try:
        serialised = etree.tostring(root, encoding="utf-8")
    except (etree.LxmlError, ValueError, RecursionError, MemoryError):
        return None
    digest = hashlib.sha256(f"error {error!r}\n".encode())
    digest.update(serialised)
    return digest.hexdigest()
