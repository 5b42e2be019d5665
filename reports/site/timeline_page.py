"""What an organisation's page shows: where it is listed, and its timeline in words. Pure."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from changes.timeline import OrganisationHistory
from reports.formats.wording import clean
from reports.site.model import SiteModel
from reports.site.paths import SitePaths
from reports.site.views import StepView, first_steps
from reports.timeline import (
    documents_named,
    event_details,
    event_sentence,
    event_when,
    other_names,
)


def organisation_pages(
    model: SiteModel, steps: Sequence[StepView], paths: SitePaths
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (path, template values) of every organisation's page."""
    first = first_steps(model, steps)
    for history in model.timeline.organisations:
        yield paths.organisation(history.key), _values(history, first, paths)


def _values(
    history: OrganisationHistory, first: dict[int, StepView], paths: SitePaths
) -> dict[str, Any]:
    listings = history.listings or history.last_listings
    name = clean(history.name)
    name_document = documents_named(history)
    also, former = other_names(history)
    return {
        "title": name,
        "organisation": history,
        "also_names": also,
        "former_names": former,
        "listings": [
            {
                "document": clean(listing.document_title),
                "path": paths.document(listing.document_url),
                "stage": clean(listing.organisation.stage),
                "url": listing.organisation.url,
            }
            for listing in listings
        ],
        "description": clean(listings[0].organisation.description),
        "events": [
            {
                "kind": event.kind.value,
                "at": event.ref.at,
                "when": event_when(event),
                "text": event_sentence(event, name_document=name_document),
                "details": event_details(event),
                "step_path": first[event.step].path if event.step in first else None,
            }
            for event in history.events
        ],
    }
