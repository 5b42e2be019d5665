"""What each kind of page shows, worked out from the site model before any markup. Pure.

Views hold site paths (not links): a template turns a path into a link relative to its own page.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from changes.changeset import DocumentChange
from changes.timeline import OrganisationHistory, Timeline, documents_in_reading_order
from reports.formats.outline import Line, outline_document
from reports.formats.wording import capitalise, clean, summary_phrase
from reports.site.model import SiteModel, Step
from reports.site.paths import SitePaths, slugify
from reports.timeline import when_text
from scraper.page import Attachment, HtmlDocument, Page, Publication, UpdateEntry


@dataclass(frozen=True, slots=True)
class Tag:
    """A marker on a change set: kind picks its colour, label is what it says."""

    kind: str  # "baseline", "archive", "silent", "problems"
    label: str


@dataclass(frozen=True, slots=True)
class StepView:
    """A change set as lists and pager links show it."""

    index: int
    path: str
    state_path: str
    when: str
    at: datetime | None
    summary: str
    tags: tuple[Tag, ...]


def step_views(model: SiteModel, paths: SitePaths) -> tuple[StepView, ...]:
    """Return a view of every step, oldest first."""
    return tuple(
        StepView(
            index=index,
            path=paths.step(step, index=index),
            state_path=paths.state(step, index=index),
            when=when_text(step.at, step.seen_after),
            at=step.at,
            summary=capitalise(summary_phrase(step.report)),
            tags=_tags(step),
        )
        for index, step in enumerate(model.steps)
    )


def _tags(step: Step) -> tuple[Tag, ...]:
    changeset = step.report.changeset
    tags: list[Tag] = []
    if changeset.is_baseline:
        tags.append(Tag("baseline", "Baseline"))
    if step.seen_after is not None:
        tags.append(Tag("archive", "From the web archive"))
    if changeset.summary.silent_changes:
        tags.append(Tag("silent", "Changed without a change note"))
    problems = len(step.report.problems)
    if problems:
        tags.append(Tag("problems", f"Problems: {problems} page{'s' if problems != 1 else ''}"))
    return tuple(tags)


@dataclass(frozen=True, slots=True)
class OrganisationLink:
    """An organisation in a list: its name as listed there, and its page."""

    name: str
    path: str
    key: str


@dataclass(frozen=True, slots=True)
class StageGroup:
    """The organisations of one stage or section, in the order listed."""

    stage: str
    anchor: str
    organisations: tuple[OrganisationLink, ...]


def stage_anchor(stage: str) -> str:
    """Return the fragment id of a stage's section ("stage-discovery-and-deep-research")."""
    return "stage-" + slugify(stage, fallback="none")


def group_by_stage(
    document: HtmlDocument, keys: Sequence[str], paths: SitePaths
) -> tuple[StageGroup, ...]:
    """Return a document's organisations grouped by stage, stages in the order they come."""
    groups: dict[str, list[OrganisationLink]] = {}
    for organisation, key in zip(document.organisations, keys, strict=True):
        link = OrganisationLink(clean(organisation.name), paths.organisation(key), key)
        groups.setdefault(organisation.stage, []).append(link)
    return tuple(
        StageGroup(clean(stage), stage_anchor(stage), tuple(links))
        for stage, links in groups.items()
    )


@dataclass(frozen=True, slots=True)
class DocumentView:
    """One HTML document or attachment of a publication, as a state lists it."""

    title: str
    url: str
    path: str | None  # its page on this site (HTML documents only)
    updated: str | None
    attributes: str  # "PDF, 1.2 MB" for an attachment
    organisation_count: int
    stages: tuple[StageGroup, ...]


@dataclass(frozen=True, slots=True)
class PublicationView:
    """A publication as a state lists it: its documents, stage counts and change notes."""

    title: str
    url: str
    description: str
    last_updated: str | None
    documents: tuple[DocumentView, ...]
    stage_counts: tuple[tuple[str, str, int], ...]  # (stage, anchor, organisations listed)
    notes: tuple[UpdateEntry, ...]


def publication_views(
    model: SiteModel, step_index: int, paths: SitePaths
) -> tuple[PublicationView, ...]:
    """Return each publication of a step's state, in [source] urls order, with its documents."""
    step = model.steps[step_index]
    pages = step.state.pages
    placements = model.timeline.placements[step.timeline_step]
    order = {url: i for i, url in enumerate(model.publication_urls)}
    publications = sorted(
        (p for p in pages.values() if isinstance(p, Publication)),
        key=lambda p: (order.get(p.url, len(order)), p.url),
    )
    views = []
    for publication in publications:
        documents = [
            _document_view(pages[link.url], placements, paths)
            for link in publication.documents
            if link.url in pages
        ]
        counts: dict[str, int] = defaultdict(int)
        for document in documents:
            for group in document.stages:
                counts[group.stage] += len(group.organisations)
        views.append(
            PublicationView(
                title=clean(publication.title),
                url=publication.url,
                description=clean(publication.description),
                last_updated=publication.last_updated,
                documents=tuple(documents),
                stage_counts=tuple((s, stage_anchor(s), n) for s, n in counts.items()),
                notes=publication.updates,
            )
        )
    return tuple(views)


def _document_view(
    page: Page, placements: Mapping[str, tuple[str, ...]], paths: SitePaths
) -> DocumentView:
    if isinstance(page, HtmlDocument):
        stages = group_by_stage(page, placements[page.url], paths)
        return DocumentView(
            clean(page.title),
            page.url,
            paths.document(page.url),
            page.updated,
            "HTML",
            len(page.organisations),
            stages,
        )
    attributes = ", ".join(page.attributes) if isinstance(page, Attachment) else ""
    return DocumentView(clean(page.title), page.url, None, None, clean(attributes), 0, ())


@dataclass(frozen=True, slots=True)
class DocumentChangeView:
    """What one change set changed in one document."""

    step: StepView
    status: str  # "added", "removed" or "changed"
    heading: str
    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class DocumentPageView:
    """Everything a document's page shows."""

    url: str
    title: str
    updated: str | None
    listed: bool
    last_seen: StepView  # the last step whose state lists it (the latest, when still listed)
    stages: tuple[StageGroup, ...]
    notes: tuple[UpdateEntry, ...]  # the publication's change notes that name this document
    changes: tuple[DocumentChangeView, ...]  # oldest first


def document_pages(
    model: SiteModel, steps: Sequence[StepView], paths: SitePaths
) -> Iterable[DocumentPageView]:
    """Yield the page of every HTML document any state listed."""
    last: dict[str, tuple[int, HtmlDocument]] = {}
    changes: defaultdict[str, list[DocumentChangeView]] = defaultdict(list)
    for index, step in enumerate(model.steps):
        for document in documents_in_reading_order(step.state.pages):
            last[document.url] = (index, document)
        for entry in step.report.changeset.documents:
            if entry.kind == "html_document":
                changes[entry.url].append(_change_view(entry, steps[index]))
    final = len(model.steps) - 1
    notes = _notes(model.steps[-1].state.pages.values()) if model.steps else ()
    for url, (index, document) in last.items():
        step = model.steps[index]
        keys = model.timeline.placements[step.timeline_step][url]
        title = clean(document.title)
        yield DocumentPageView(
            url=url,
            title=title,
            updated=document.updated,
            listed=index == final,
            last_seen=steps[index],
            stages=group_by_stage(document, keys, paths),
            notes=tuple(n for n in notes if title.casefold() in clean(n.note).casefold()),
            changes=tuple(changes[url]),
        )


def _change_view(entry: DocumentChange, step: StepView) -> DocumentChangeView:
    section = outline_document(entry)
    return DocumentChangeView(step, entry.status, section.heading, section.lines)


def _notes(pages: Iterable[Page]) -> tuple[UpdateEntry, ...]:
    return tuple(n for p in pages if isinstance(p, Publication) for n in p.updates)


def organisations_by_stage(model: SiteModel, paths: SitePaths) -> tuple[StageGroup, ...]:
    """Return every organisation listed now, grouped by the stages it is listed under.

    Stages come in reading order (documents as listed, stages as they come); names sort within.
    """
    step = model.steps[-1]
    placements = model.timeline.placements[step.timeline_step]
    groups: dict[str, dict[str, OrganisationLink]] = {}
    for document in documents_in_reading_order(step.state.pages):
        for organisation, key in zip(document.organisations, placements[document.url], strict=True):
            link = OrganisationLink(clean(organisation.name), paths.organisation(key), key)
            groups.setdefault(organisation.stage, {}).setdefault(key, link)
    return tuple(
        StageGroup(clean(stage), stage_anchor(stage), tuple(sorted(links.values(), key=_by_name)))
        for stage, links in groups.items()
    )


def _by_name(link: OrganisationLink) -> str:
    return link.name.casefold()


def former_organisations(timeline: Timeline, paths: SitePaths) -> tuple[OrganisationLink, ...]:
    """Return the organisations no longer listed, by name."""
    links = (
        OrganisationLink(clean(h.name), paths.organisation(h.key), h.key)
        for h in timeline.organisations
        if not h.is_listed
    )
    return tuple(sorted(links, key=_by_name))


def affected_organisations(
    timeline: Timeline, step: Step, paths: SitePaths
) -> tuple[OrganisationLink, ...]:
    """Return the organisations with an event in a step's state, by name (none for a baseline)."""
    if step.report.changeset.is_baseline:
        return ()
    links = (
        OrganisationLink(clean(h.name), paths.organisation(h.key), h.key)
        for h in timeline.organisations
        if any(e.step == step.timeline_step for e in h.events)
    )
    return tuple(sorted(links, key=_by_name))


def first_steps(model: SiteModel, steps: Sequence[StepView]) -> dict[int, StepView]:
    """Return the first step of each distinct state (where its events were seen), by state index."""
    first: dict[int, StepView] = {}
    for index, step in enumerate(model.steps):
        first.setdefault(step.timeline_step, steps[index])
    return first


def documents_of(history: OrganisationHistory) -> tuple[str, ...]:
    """Return the titles of the documents listing an organisation now (or last), in order."""
    listings = history.listings or history.last_listings
    return tuple(dict.fromkeys(clean(listing.document_title) for listing in listings))
