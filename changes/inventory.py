"""What a state tracks, in reading order: its publications, their documents, organisations by stage.

Pure. `diff()` attaches the publications to every ChangeSet (reports name each publication by its
own stored title) and, for a baseline, the documents too (a first report lists what is tracked).
Neither is part of the JSON contract of DESIGN §8. `first_copies` names the documents a state
holds for the first time although they were listed before (`first_seen` in the contract).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from scraper.page import HtmlDocument, Page, PageKind, Publication


@dataclass(frozen=True, slots=True)
class TrackedPublication:
    """A publication as last stored: its url, title and the urls of its Documents list, in order."""

    url: str
    title: str
    documents: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TrackedStage:
    """The organisations a document lists under one stage (or section), in document order."""

    stage: str
    organisations: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TrackedDocument:
    """One page of a publication's Documents list; `stages` only for HTML documents."""

    url: str
    title: str
    kind: PageKind
    stages: tuple[TrackedStage, ...] = ()
    attributes: tuple[str, ...] = ()  # an attachment's "PDF", "1.2 MB", ...

    @property
    def organisation_count(self) -> int:
        """Return how many organisations the document lists."""
        return sum(len(stage.organisations) for stage in self.stages)


def publications_of(*states: Mapping[str, Page]) -> tuple[TrackedPublication, ...]:
    """Return the publications of the given page maps, by url.

    The first map that holds a publication gives its title; its Documents list comes first, then
    the pages only the later maps list (a document since removed still names its publication).
    """
    titles: dict[str, str] = {}
    documents: dict[str, dict[str, None]] = {}
    for pages in states:
        for url, page in sorted(pages.items()):
            if isinstance(page, Publication):
                titles.setdefault(url, page.title)
                listed = documents.setdefault(url, {})
                listed.update(dict.fromkeys(link.url for link in page.documents))
    return tuple(
        TrackedPublication(url, titles[url], tuple(documents[url])) for url in sorted(titles)
    )


def tracked_documents(pages: Mapping[str, Page]) -> tuple[TrackedDocument, ...]:
    """Return every page the publications list, each once, in Documents-list order."""
    seen: set[str] = set()
    documents: list[TrackedDocument] = []
    for publication in publications_of(pages):
        for url in publication.documents:
            page = pages.get(url)
            if page is None or url in seen:
                continue
            seen.add(url)
            documents.append(_tracked(page))
    return tuple(documents)


def outline(page: Page) -> Page:
    """Return the page with only what `tracked_documents` and `publications_of` read: titles,
    Documents lists, attributes, and each organisation's name and stage.

    What a baseline keeps of a page: a first run's report lists every tracked document, so the
    bodies, descriptions and links of every page need not be held at once to make it.
    """
    if not isinstance(page, HtmlDocument):
        return page
    return replace(
        page,
        intro_text="",
        text="",
        organisations=tuple(
            replace(organisation, url=None, description="", stage_heading="", links=())
            for organisation in page.organisations
        ),
    )


def first_copies(old: Mapping[str, Page], new: Mapping[str, Page]) -> tuple[TrackedDocument, ...]:
    """Return the HTML documents `new` holds for the first time although `old`'s publications
    already listed them, in Documents-list order: first seen, not added.

    The old state listed the document but had no copy of it (its first fetch failed, or a web
    archive copied it later than the list that names it): it was there all along, unseen, so
    neither it nor its organisations are news.
    """
    listed_before = {
        link.url
        for page in old.values()
        if isinstance(page, Publication)
        for link in page.documents
    }
    return tuple(
        document
        for document in tracked_documents(new)
        if document.kind == "html_document"
        and document.url in listed_before
        and document.url not in old
    )


def _tracked(page: Page) -> TrackedDocument:
    if isinstance(page, HtmlDocument):
        return TrackedDocument(page.url, page.title, page.kind, _stages(page))
    if isinstance(page, Publication):
        return TrackedDocument(page.url, page.title, page.kind)
    return TrackedDocument(page.url, page.title, page.kind, attributes=page.attributes)


def _stages(document: HtmlDocument) -> tuple[TrackedStage, ...]:
    names: dict[str, list[str]] = {}
    for organisation in document.organisations:
        names.setdefault(organisation.stage, []).append(organisation.name)
    return tuple(TrackedStage(stage, tuple(listed)) for stage, listed in names.items())
