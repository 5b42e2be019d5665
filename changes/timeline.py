"""An organisation's timeline (DESIGN §13): who it is across states, and what happened to it when.

Pure values, and finding an organisation by name or url. `changes.follow.build_timeline` builds
them from a sequence of states, following each organisation across renames and moves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TypeAlias

from changes.changeset import State, StateRef
from changes.match import normalise_name
from scraper.page import HtmlDocument, Organisation, Page, Publication


@dataclass(frozen=True, slots=True)
class TimedState:
    """One state of the sequence; `seen_after` is set when a change in it is known only to have
    happened after that time (an archive capture: between the previous capture and this one)."""

    state: State
    seen_after: datetime | None = None


class EventKind(StrEnum):
    """What happened to an organisation between two states."""

    LISTED = "listed"  # there when tracking began
    ADDED = "added"
    RENAMED = "renamed"
    MOVED = "moved"  # to another stage or section, or to another document
    RELINKED = "relinked"
    REDESCRIBED = "redescribed"
    LINKS_CHANGED = "links_changed"
    REMOVED = "removed"


EventValue: TypeAlias = str | tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One change to one organisation, at the state where it was first seen.

    `name` and `stage` are the organisation's after the change (before it, for a removal).
    `before`/`after` hold the changed field's values (names, stages, urls, descriptions, links).
    A move to another document names the document it left in `from_document_*`.
    """

    kind: EventKind
    step: int  # index of the state in the sequence given to `build_timeline`
    ref: StateRef
    seen_after: datetime | None
    document_url: str
    document_title: str
    name: str
    stage: str
    before: EventValue = None
    after: EventValue = None
    from_document_url: str | None = None
    from_document_title: str | None = None
    with_document: bool = False  # added or removed together with its whole document


@dataclass(frozen=True, slots=True)
class Listing:
    """Where an organisation is listed: a document, and the organisation as listed there."""

    document_url: str
    document_title: str
    organisation: Organisation


@dataclass(frozen=True, slots=True)
class OrganisationHistory:
    """One organisation across every state: its names, where it is listed, and its events."""

    key: str  # stable: from the first-seen name, url and document
    first_name: str
    names: tuple[str, ...]  # every name it has been listed under, first seen first
    urls: tuple[str, ...]  # every url it has had, first seen first
    listings: tuple[Listing, ...]  # where it is listed in the last state; empty when no longer
    last_listings: tuple[Listing, ...]  # where it was listed when last seen
    events: tuple[TimelineEvent, ...]

    @property
    def is_listed(self) -> bool:
        """Return True when the last state lists it."""
        return bool(self.listings)

    @property
    def name(self) -> str:
        """Return the name it is listed under now, else the last name it had."""
        return self.last_listings[0].organisation.name


@dataclass(frozen=True, slots=True)
class Timeline:
    """Every organisation's history, and which organisation each listing of each state is.

    `placements[step][document url]` holds the keys of that document's organisations, in order.
    """

    organisations: tuple[OrganisationHistory, ...]  # in first-seen order
    placements: tuple[Mapping[str, tuple[str, ...]], ...] = field(default=())

    def by_key(self) -> dict[str, OrganisationHistory]:
        """Return the organisations by key."""
        return {history.key: history for history in self.organisations}


def documents_in_reading_order(pages: Mapping[str, Page]) -> list[HtmlDocument]:
    """Return a state's HTML documents as its publications list them (publications by url)."""
    order: dict[str, int] = {}
    for publication in sorted(
        (p for p in pages.values() if isinstance(p, Publication)), key=lambda p: p.url
    ):
        for link in publication.documents:
            order.setdefault(link.url, len(order))
    documents = [page for page in pages.values() if isinstance(page, HtmlDocument)]
    return sorted(documents, key=lambda d: (order.get(d.url, len(order)), d.url))


def find_organisations(timeline: Timeline, query: str) -> tuple[OrganisationHistory, ...]:
    """Return the organisations a name or url names.

    A url matches any url an organisation has had (ignoring a trailing slash and letter case); a
    name matches any name it has had, exactly (as matching normalises names) or, failing that, as
    part of one. Several results mean the query is ambiguous.
    """
    text = query.strip()
    if text.lower().startswith(("http://", "https://")):
        wanted = text.rstrip("/").casefold()
        return tuple(
            history
            for history in timeline.organisations
            if any(url.rstrip("/").casefold() == wanted for url in history.urls)
        )
    name = normalise_name(text)
    if not name:
        return ()
    exact = tuple(
        h for h in timeline.organisations if any(normalise_name(n) == name for n in h.names)
    )
    if exact:
        return exact
    return tuple(
        history
        for history in timeline.organisations
        if any(name in normalise_name(n) for n in history.names)
    )
