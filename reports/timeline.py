"""Name an organisation's timeline events in words, and give a timeline's JSON form. Pure.

The `timeline` command and the site's organisation pages both read from here, so an event reads
the same in a terminal and in a browser. Text is cleaned (one line); escaping is the caller's job.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from changes.changeset import json_time
from changes.timeline import EventKind, EventValue, OrganisationHistory, TimelineEvent
from reports.formats.wording import clean, format_time, link_details


def when_text(at: datetime | None, seen_after: datetime | None = None) -> str:
    """Return when a state was seen: "2021-12-01 07:00 UTC", or "between 2019-03-03 and ..."."""
    if at is None:
        return "unknown time"
    if seen_after is not None:
        return f"between {format_time(seen_after)} and {format_time(at)}"
    return format_time(at)


def event_when(event: TimelineEvent) -> str:
    """Return when the event was seen (its state's time, or its archive interval)."""
    return when_text(event.ref.at, event.seen_after)


def _text(value: EventValue) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ", ".join(clean(item) for item in value)
    return clean(value)


def event_sentence(event: TimelineEvent, *, name_document: bool = False) -> str:
    """Return the event in words: "Moved from Regulation and assessment to Development ...".

    Additions, removals and moves between documents always name the document; with
    `name_document` (an organisation listed in several), the other changes say where too.
    """
    sentence = _sentence(event)
    within = event.kind not in _NAMES_DOCUMENT and event.from_document_title is None
    return f"{sentence} in {clean(event.document_title)}" if name_document and within else sentence


_NAMES_DOCUMENT = frozenset({EventKind.LISTED, EventKind.ADDED, EventKind.REMOVED})


def documents_named(history: OrganisationHistory) -> bool:
    """Return True when an organisation's events span several documents (sentences say which)."""
    return len({event.document_url for event in history.events}) > 1


def other_names(history: OrganisationHistory) -> tuple[list[str], list[str]]:
    """Return the organisation's other names: listed under now (elsewhere), and only before."""
    listings = history.listings or history.last_listings
    current = list(dict.fromkeys(clean(listing.organisation.name) for listing in listings))
    name = clean(history.name)
    former = [n for n in dict.fromkeys(clean(n) for n in history.names) if n not in current]
    return [n for n in current if n != name], former


def _sentence(event: TimelineEvent) -> str:
    document, stage = clean(event.document_title), clean(event.stage)
    before, after = _text(event.before), _text(event.after)
    match event.kind:
        case EventKind.LISTED:
            return f"Listed in {document}, under {stage}"
        case EventKind.ADDED if event.with_document:
            return f"Added with the new document {document}, under {stage}"
        case EventKind.ADDED:
            return f"Added to {document}, under {stage}"
        case EventKind.REMOVED if event.with_document:
            return f"Removed with its document {document} (was under {stage})"
        case EventKind.REMOVED:
            return f"Removed from {document} (was under {stage})"
        case EventKind.RENAMED:
            return f"Renamed from {before} to {after}"
        case EventKind.MOVED if event.from_document_title is not None:
            origin = clean(event.from_document_title)
            return f"Moved from {origin} ({before}) to {document} ({after})"
        case EventKind.MOVED:
            return f"Moved from {before} to {after}"
        case EventKind.RELINKED if not before:
            return f"Link added: {after}"
        case EventKind.RELINKED if not after:
            return f"Link removed: {before}"
        case EventKind.RELINKED:
            return f"Link changed from {before} to {after}"
        case EventKind.REDESCRIBED:
            return "Description changed"
        case EventKind.LINKS_CHANGED:
            return "Links changed"
    raise ValueError(f"unknown event kind {event.kind!r}")


def event_details(event: TimelineEvent) -> tuple[str, ...]:
    """Return the detail lines under an event: a description's before and after, links changed."""
    if event.kind == EventKind.REDESCRIBED:
        return (
            f"Before: {_text(event.before) or '(none)'}",
            f"After: {_text(event.after) or '(none)'}",
        )
    if event.kind == EventKind.LINKS_CHANGED:
        return tuple(link_details(event.before, event.after))
    return ()


def event_to_dict(event: TimelineEvent) -> dict[str, Any]:
    """Return one event as `timeline --format json` writes it."""
    return {
        "kind": event.kind.value,
        "run": event.ref.run,
        "at": json_time(event.ref.at),
        "seen_after": json_time(event.seen_after),
        "document": event.document_title,
        "document_url": event.document_url,
        "from_document": event.from_document_title,
        "from_document_url": event.from_document_url,
        "name": event.name,
        "stage": event.stage,
        "before": list(event.before) if isinstance(event.before, tuple) else event.before,
        "after": list(event.after) if isinstance(event.after, tuple) else event.after,
        "text": event_sentence(event, name_document=True),
    }


def timeline_to_dict(history: OrganisationHistory) -> dict[str, Any]:
    """Return one organisation's history as `timeline --format json` writes it."""
    return {
        "key": history.key,
        "name": history.name,
        "names": list(history.names),
        "urls": list(history.urls),
        "listed": history.is_listed,
        "listings": [
            {
                "document": listing.document_title,
                "document_url": listing.document_url,
                "stage": listing.organisation.stage,
                "name": listing.organisation.name,
                "url": listing.organisation.url,
            }
            for listing in (history.listings or history.last_listings)
        ],
        "events": [event_to_dict(event) for event in history.events],
    }
