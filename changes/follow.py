"""Follow each organisation through a sequence of states and build its timeline. Pure.

The walk behind `build_timeline` (DESIGN §13): within a document an organisation is who the diff's
own matching (`match_organisations`) pairs it with, across renames, moves and relinks; across
documents it is the same normalised name and url. What left one document as it joined another has
moved; what joined and matches nothing that left is the organisation already listed elsewhere under
that name and url, else one listed before that comes back, else a newcomer. Identities are decided
when first seen and never merged later.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, TypeAlias

from changes.changeset import StateRef
from changes.inventory import first_copies
from changes.match import match_organisations, normalise_name
from changes.timeline import (
    EventKind,
    EventValue,
    Listing,
    OrganisationHistory,
    TimedState,
    Timeline,
    TimelineEvent,
    documents_in_reading_order,
)
from scraper.page import HtmlDocument, Organisation, Page

# The diff's field names (changes.changeset.ORGANISATION_FIELDS) and the event each one makes.
_FIELD_EVENTS: Final = (
    ("name", EventKind.RENAMED),
    ("url", EventKind.RELINKED),
    ("stage", EventKind.MOVED),
    ("description", EventKind.REDESCRIBED),
    ("links", EventKind.LINKS_CHANGED),
)


_MatchKey: TypeAlias = tuple[str, str | None]


def _match_key(organisation: Organisation) -> _MatchKey:
    return normalise_name(organisation.name), organisation.url


@dataclass
class _Identity:
    """An organisation while the timeline is being built (mutable; frozen at the end)."""

    key: str
    first_name: str
    names: list[str]
    urls: list[str]
    events: list[TimelineEvent] = field(default_factory=list)
    last_listings: list[Listing] = field(default_factory=list)

    def saw(self, organisation: Organisation) -> None:
        if organisation.name not in self.names:
            self.names.append(organisation.name)
        if organisation.url and organisation.url not in self.urls:
            self.urls.append(organisation.url)


@dataclass(frozen=True, slots=True)
class _Place:
    """One organisation of one document in one state."""

    document: HtmlDocument
    index: int

    @property
    def organisation(self) -> Organisation:
        return self.document.organisations[self.index]


class _Builder:
    """Walks the states in order, carrying each listing's identity from one state to the next."""

    def __init__(self) -> None:
        self.identities: list[_Identity] = []
        self.keys_taken: set[str] = set()
        self.retired: dict[_MatchKey, _Identity] = {}  # by the key of their last listing
        self.placements: list[dict[str, tuple[str, ...]]] = []
        self.by_key: dict[str, _Identity] = {}

    def identity(self, place: _Place) -> _Identity:
        organisation = place.organisation
        seed = f"{_match_key(organisation)[0]}\n{organisation.url or ''}\n{place.document.url}"
        key = hashlib.sha256(seed.encode("utf-8")).hexdigest()[:10]
        number = 1
        while key in self.keys_taken:  # the same name, url and document seen again as a newcomer
            number += 1
            key = f"{key[:10]}-{number}"
        self.keys_taken.add(key)
        identity = _Identity(key, organisation.name, [organisation.name], [])
        identity.saw(organisation)
        self.identities.append(identity)
        self.by_key[key] = identity
        return identity

    def step(self, index: int, timed: TimedState, old: Mapping[str, Page] | None) -> None:
        """Carry identities from the previous state (`old`) into this one and record events."""
        transition = _Transition(self, index, timed)
        previous = self.placements[-1] if self.placements else {}
        transition.run(old or {}, previous)
        self.placements.append(transition.placed)


class _Transition:
    """One step of the walk: from the previous state to `timed`."""

    def __init__(self, builder: _Builder, index: int, timed: TimedState) -> None:
        self.builder = builder
        self.index = index
        self.timed = timed
        self.ref = StateRef(timed.state.run, timed.state.at, timed.state.archive)
        self.documents = {d.url: d for d in documents_in_reading_order(timed.state.pages)}
        self.assigned: dict[str, list[_Identity | None]] = {}
        self.removed: list[tuple[_Identity, _Place, bool]] = []
        self.added: list[tuple[_Place, bool]] = []
        self.placed: dict[str, tuple[str, ...]] = {}
        self.first_seen: frozenset[str] = frozenset()  # documents listed before, copied now

    def event(
        self,
        kind: EventKind,
        place: _Place,
        *,
        before: EventValue = None,
        after: EventValue = None,
        moved_from: _Place | None = None,
        with_document: bool = False,
    ) -> TimelineEvent:
        organisation = place.organisation
        return TimelineEvent(
            kind=kind,
            step=self.index,
            ref=self.ref,
            seen_after=self.timed.seen_after,
            document_url=place.document.url,
            document_title=place.document.title,
            name=organisation.name,
            stage=organisation.stage,
            before=before,
            after=after,
            from_document_url=moved_from.document.url if moved_from else None,
            from_document_title=moved_from.document.title if moved_from else None,
            with_document=with_document,
        )

    def run(self, old_pages: Mapping[str, Page], previous: Mapping[str, tuple[str, ...]]) -> None:
        old_documents = {d.url: d for d in documents_in_reading_order(old_pages)}
        self.first_seen = frozenset(d.url for d in first_copies(old_pages, self.timed.state.pages))
        by_key = self.builder.by_key
        for new in self.documents.values():
            old = old_documents.pop(new.url, None)
            self.assigned[new.url] = [None] * len(new.organisations)
            if old is None:
                self.added += [(_Place(new, j), True) for j in range(len(new.organisations))]
            elif old is new:
                self.assigned[new.url] = [by_key[key] for key in previous[new.url]]
            else:
                self.pair(old, new, [by_key[key] for key in previous[old.url]])
        for old in old_documents.values():  # no longer listed
            identities = [by_key[key] for key in previous[old.url]]
            self.removed += [(identities[i], _Place(old, i), True) for i in range(len(identities))]
        self.join_across_documents()
        self.finish({key for keys in previous.values() for key in keys})

    def pair(self, old: HtmlDocument, new: HtmlDocument, identities: list[_Identity]) -> None:
        """Follow the diff's matching within one document."""
        match = match_organisations(old.organisations, new.organisations)
        slots = self.assigned[new.url]
        for i, j in match.pairs:
            slots[j] = identities[i]
            self.changed(identities[i], _Place(old, i), _Place(new, j))
        self.removed += [(identities[i], _Place(old, i), False) for i in match.removed]
        self.added += [(_Place(new, j), False) for j in match.added]

    def changed(self, identity: _Identity, old: _Place, new: _Place) -> None:
        """Record what changed between two listings of one organisation."""
        before, after = old.organisation, new.organisation
        identity.saw(after)
        other_document = old.document.url != new.document.url
        if other_document:
            identity.events.append(
                self.event(
                    EventKind.MOVED, new, before=before.stage, after=after.stage, moved_from=old
                )
            )
        for name, kind in _FIELD_EVENTS:
            was, now = getattr(before, name), getattr(after, name)
            if was != now and not (other_document and name == "stage"):
                identity.events.append(self.event(kind, new, before=was, after=now))

    def join_across_documents(self) -> None:
        """Pair what left one document with what joined another, by name and url; then the rest.

        What joined and matches nothing that left is the organisation listed elsewhere under the
        same name and url, else one that was listed before and comes back, else a newcomer.
        """
        leaving: defaultdict[_MatchKey, list[int]] = defaultdict(list)
        for number, (_, old_place, _) in enumerate(self.removed):
            leaving[_match_key(old_place.organisation)].append(number)
        listed: dict[_MatchKey, _Identity] = {
            _match_key(self.documents[url].organisations[j]): identity
            for url, slots in self.assigned.items()
            for j, identity in enumerate(slots)
            if identity is not None
        }
        moved: set[int] = set()
        for place, with_document in self.added:
            key = _match_key(place.organisation)
            if leaving.get(key):
                number = leaving[key].pop(0)
                moved.add(number)
                identity, old_place, _ = self.removed[number]
                self.changed(identity, old_place, place)
            else:
                found = listed.get(key) or self.builder.retired.pop(key, None)
                identity = found or self.builder.identity(place)
                identity.saw(place.organisation)
                first = self.index == 0 or place.document.url in self.first_seen
                kind = EventKind.LISTED if first else EventKind.ADDED
                identity.events.append(self.event(kind, place, with_document=with_document))
            self.assigned[place.document.url][place.index] = identity
            listed.setdefault(key, identity)
        for number, (identity, old_place, with_document) in enumerate(self.removed):
            if number not in moved:
                identity.events.append(
                    self.event(EventKind.REMOVED, old_place, with_document=with_document)
                )

    def finish(self, listed_before: set[str]) -> None:
        """Record the placements and each identity's listings; retire the ones no longer listed."""
        listings: defaultdict[str, list[Listing]] = defaultdict(list)
        for url, slots in self.assigned.items():
            document = self.documents[url]
            keys = []
            for identity, organisation in zip(slots, document.organisations, strict=True):
                assert identity is not None  # every organisation was paired, moved or added
                keys.append(identity.key)
                listings[identity.key].append(Listing(url, document.title, organisation))
            self.placed[url] = tuple(keys)
        for key in listed_before - listings.keys():
            identity = self.builder.by_key[key]
            self.builder.retired[_match_key(identity.last_listings[0].organisation)] = identity
        for key, now in listings.items():
            self.builder.by_key[key].last_listings = now


def build_timeline(states: Sequence[TimedState]) -> Timeline:
    """Return every organisation's history over `states` (oldest first).

    The first state's organisations are `listed`, and so are those of a document first copied after
    it was listed (`changes.inventory.first_copies`); after that each transition yields the events
    the diff of the two states names, attributed to the organisations it matched.
    """
    builder = _Builder()
    previous: Mapping[str, Page] | None = None
    for index, timed in enumerate(states):
        builder.step(index, timed, previous)
        previous = timed.state.pages
    last = builder.placements[-1] if builder.placements else {}
    listed_now = {key for keys in last.values() for key in keys}
    histories = tuple(
        OrganisationHistory(
            key=identity.key,
            first_name=identity.first_name,
            names=tuple(identity.names),
            urls=tuple(identity.urls),
            listings=tuple(identity.last_listings) if identity.key in listed_now else (),
            last_listings=tuple(identity.last_listings),
            events=tuple(identity.events),
        )
        for identity in builder.identities
    )
    return Timeline(histories, tuple(builder.placements))
