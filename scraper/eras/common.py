"""What every era reader shares: the eras, the regions a reader finds, and the page index it
searches.

A reader only *finds* regions: it may look at any element's tag, class and id to decide where
they are. The parser then reads nothing but those regions, so two pages whose regions are the
same parse the same (`scraper.parse` fingerprints them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Final

from lxml import etree  # type: ignore[import-untyped]

from scraper.text import Element, attribute, class_tokens, element_text

__all__ = [
    "Era",
    "EraReader",
    "PageIndex",
    "Regions",
    "all_under",
    "first_under",
    "with_class_suffix",
]


class Era(StrEnum):
    """The markup GOV.UK has served this publication in, oldest first."""

    WHITEHALL = "whitehall"  # Whitehall's own frontend, 2015 to January/February 2017
    STATIC_COMPONENTS = "static-components"  # government-frontend + static's components, 2017-2018
    GEM_COMPONENTS = "gem-components"  # government-frontend + the components gem, 2018-2025
    FRONTEND = "frontend"  # the frontend app, 2025 onwards


@dataclass(frozen=True, slots=True)
class Regions:
    """The parts of a page the parser reads, as an era's reader found them (None: not found).

    A publication reads the title, context, metadata, lead, documents, details and history; an
    HTML document reads the title, context, updated line and body. Everything else on the page
    (header, footer, banners, feedback form, breadcrumbs, sidebars, scripts) is chrome.
    """

    era: Era | None  # None: the page carries no era's landmarks (read with the newest rules)
    title: Element | None  # the h1
    context: Element | None  # the document type above the title: "Guidance"
    metadata: tuple[Element, ...]  # containers of the From / Published / Last updated dt/dd pairs
    lead: Element | None  # the description
    documents: Element | None  # the Documents list
    details: Element | None  # the publication's "Details" govspeak
    history: tuple[Element, ...]  # change history: `li` items, or lists / `dl`s holding them
    updated: tuple[Element, ...]  # where an HTML document's "Updated <date>" line may be
    body: Element | None  # an HTML document's govspeak, or the wrapper that holds it

    def slots(self) -> tuple[tuple[str, tuple[Element, ...]], ...]:
        """Every region by name, in a fixed order (for the fingerprint)."""
        single = (
            ("title", self.title),
            ("context", self.context),
            ("lead", self.lead),
            ("documents", self.documents),
            ("details", self.details),
            ("body", self.body),
        )
        return (
            *((name, () if element is None else (element,)) for name, element in single),
            ("metadata", self.metadata),
            ("history", self.history),
            ("updated", self.updated),
        )


# Never content, wherever they sit: print-only licence blocks, contents lists and back-to-top
# links (by class), and the numbers Whitehall puts in headings (`h2 > span.number`).
_NOT_CONTENT_CLASSES: Final = frozenset(
    {
        "print-meta-data",
        "print-metadata",
        "print-wrapper",
        "gem-c-contents-list",
        "app-c-back-to-top",
        "gem-c-back-to-top-link",
        "back-to-content",
    }
)
_NOT_CONTENT_TOKENS: Final = _NOT_CONTENT_CLASSES | {"number"}
_LABELLED_BY: Final = etree.XPath("//*[@aria-labelledby = $id]")


class PageIndex:
    """A page's content, with what is never content dropped, and its classes, ids and attribute
    names indexed in one pass: every selector the readers use looks them up instead of walking
    the tree again.

    The content is `main` (in every era, GOV.UK's page chrome sits outside it), or the whole page
    when it has no `main`: the chrome is not indexed, so no finder looks there.
    """

    def __init__(self, root: Element) -> None:
        self.root = root
        self.main: Element | None = next(root.iter("main"), None)
        self.scope: Element = self.main if self.main is not None else root
        classed: list[tuple[Element, str]] = []
        ids: dict[str, list[Element]] = {}
        names: set[str] = set()
        for element in self.scope.iter(etree.Element):
            classes, identifier = element.get("class"), element.get("id")
            if classes:
                classed.append((element, classes))
            if identifier:
                ids.setdefault(identifier, []).append(element)
            names.update(element.keys())
        gone = _drop_not_content(classed)
        if gone:
            classed = [item for item in classed if item[0] not in gone]
            ids = {key: [e for e in found if e not in gone] for key, found in ids.items()}
        # (element, class attribute) in document order.
        self.classed = classed
        self.tokens = frozenset(" ".join(classes for _, classes in classed).split())
        self.attribute_names = frozenset(names)  # of the elements indexed
        self._ids = ids
        self._with_class: dict[str, list[Element]] = {}

    @cached_property
    def title(self) -> Element | None:
        """The title: the first h1 with text in `main`, else anywhere (`main h1`, else `h1`)."""
        every_h1 = list(self.root.iter("h1"))
        in_main = all_under(every_h1, lambda ancestor: ancestor.tag == "main")
        return next((h1 for h1 in [*in_main, *every_h1] if element_text(h1)), None)

    def with_class(self, token: str) -> list[Element]:
        """`.token`: the elements that have the class, in document order."""
        if token not in self.tokens:
            return []
        found = self._with_class.get(token)
        if found is None:
            found = self._with_class[token] = [
                element
                for element, classes in self.classed
                if token in classes and token in classes.split()
            ]
        return found

    def has_class(self, *tokens: str) -> bool:
        """Whether any element has one of the classes."""
        return not self.tokens.isdisjoint(tokens)

    def has_class_prefix(self, *prefixes: str) -> bool:
        """Whether any element has a class name starting with one of `prefixes`."""
        return any(token.startswith(prefixes) for token in self.tokens)

    def with_class_suffix(self, suffix: str) -> list[Element]:
        """The elements with a class name ending in `suffix`, in document order."""
        if not any(token.endswith(suffix) for token in self.tokens):
            return []
        return with_class_suffix(
            (element for element, classes in self.classed if suffix in classes), suffix
        )

    def with_id(self, identifier: str) -> list[Element]:
        """`#identifier` (ids should be unique; pages do not always keep to that)."""
        return list(self._ids.get(identifier, ()))

    def labelled_by(self, identifier: str) -> list[Element]:
        """`[aria-labelledby=identifier]`: the content a heading with that id titles."""
        return list(_LABELLED_BY(self.root, id=identifier))


def _drop_not_content(classed: list[tuple[Element, str]]) -> set[Element]:
    """Drop from the tree the elements `_not_content` accepts; return them and what they held."""
    tokens = set(" ".join(classes for _, classes in classed).split())
    if tokens.isdisjoint(_NOT_CONTENT_CLASSES) and "number" not in tokens:
        return set()
    gone: set[Element] = set()
    for element, classes in classed:
        maybe = not _NOT_CONTENT_TOKENS.isdisjoint(classes.split())
        if maybe and element not in gone and _not_content(element):
            gone.update(element.iter())  # the index holds these proxies: same objects
            _drop(element)
    return gone


@dataclass(frozen=True, slots=True)
class EraReader:
    """How to recognise an era's pages from their markup, and where its regions are."""

    era: Era
    recognises: Callable[[PageIndex], bool]
    regions: Callable[[PageIndex], Regions]


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


# --- finders every era uses ----------------------------------------------------------------------


def with_class_suffix(elements: Iterable[Element], suffix: str) -> list[Element]:
    return [e for e in elements if any(name.endswith(suffix) for name in class_tokens(e))]


def first_under(
    candidates: Iterable[Element], is_scope: Callable[[Element], bool]
) -> Element | None:
    """The first candidate with an ancestor `is_scope` accepts (CSS `scope candidate`)."""
    for candidate in candidates:
        if any(is_scope(ancestor) for ancestor in candidate.iterancestors()):
            return candidate
    return None


def all_under(candidates: Iterable[Element], is_scope: Callable[[Element], bool]) -> list[Element]:
    return [c for c in candidates if any(is_scope(a) for a in c.iterancestors())]


def context_before(title: Element | None, *classes: str) -> Element | None:
    """The element just before the title that has one of `classes` ("Guidance" above the h1)."""
    if title is None:
        return None
    previous = title.getprevious()
    while previous is not None and not isinstance(previous.tag, str):  # a comment
        previous = previous.getprevious()
    if previous is not None and not set(class_tokens(previous)).isdisjoint(classes):
        return previous
    return None


def components_context(page: PageIndex, title: Element | None) -> Element | None:
    """`span[class$="__context"]` in the title's parent, else in the content (`main`)."""
    for scope in (title.getparent() if title is not None else None, page.scope):
        if scope is not None:
            spans = scope.iterdescendants("span")
            context = next(iter(with_class_suffix(spans, "__context")), None)
            if context is not None:
                return context
    return None


def components_metadata(page: PageIndex) -> tuple[Element, ...]:
    """`.gem-c-metadata`, else every `dl` (or other parent) of a `dt` in the content."""
    containers = page.with_class("gem-c-metadata")
    if containers:
        return tuple(containers)
    return tuple(dict.fromkeys(dt.getparent() for dt in page.scope.iterdescendants("dt")))


def section_with_id(page: PageIndex, identifier: str) -> Element | None:
    """`section#identifier`."""
    return next((e for e in page.with_id(identifier) if e.tag == "section"), None)


def details_govspeak(page: PageIndex) -> Element | None:
    """`section#details .govspeak`, else `section#details .gem-c-govspeak`."""
    if not any(section.tag == "section" for section in page.with_id("details")):
        return None

    def is_details(element: Element) -> bool:
        return element.tag == "section" and attribute(element, "id") == "details"

    found = first_under(page.with_class("govspeak"), is_details)
    if found is None:
        found = first_under(page.with_class("gem-c-govspeak"), is_details)
    return found


def change_items(page: PageIndex) -> tuple[Element, ...]:
    """`li[class$="__change-item"]`: the change history of the component eras."""
    return tuple(item for item in page.with_class_suffix("__change-item") if item.tag == "li")


def govspeak_body(page: PageIndex, wrapper_class: str) -> Element | None:
    """The HTML document's body: the `wrapper_class` element holding a `.govspeak` (the scope a
    stray end tag can spill the body into), else `main .govspeak`, else `#content .govspeak`."""
    candidates = page.with_class("govspeak")
    for candidate in candidates:
        wrapper = next(
            (a for a in candidate.iterancestors() if wrapper_class in class_tokens(a)), None
        )
        if wrapper is not None:
            return wrapper
    for is_scope in (
        lambda ancestor: ancestor.tag == "main",
        lambda ancestor: attribute(ancestor, "id") == "content",
    ):
        found = first_under(candidates, is_scope)
        if found is not None:
            return found
    return None
