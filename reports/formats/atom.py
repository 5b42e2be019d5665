"""Atom feed of changed runs (feedgen): one entry per report, its content the HTML rendering."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

from reports.formats.base import rendered
from reports.formats.html import render_html_fragment
from reports.formats.wording import clean, concerned_publications, subject_line
from reports.model import RenderedReport, Report
from reports.templating import is_web_url

GENERATOR: Final = "lifesci-tracker"
# An entry needs an `updated` time; a state with no run time (never in a real run) gets a fixed one
# rather than the clock, so rendering stays a pure function.
_NO_TIME: Final = datetime(1970, 1, 1, tzinfo=UTC)
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def feed_id_for(title: str) -> str:
    """Return the default feed id for a title: "urn:lifesci-tracker:uk-life-sciences-support"."""
    slug = _NOT_SLUG.sub("-", clean(title).lower()).strip("-") or "feed"
    return f"urn:lifesci-tracker:{slug}"


def entry_id(feed_id: str, report: Report) -> str:
    """Return the entry's stable id: the feed id and the run id ("urn:...:run:13").

    The same run always gets the same id: re-rendering the feed updates an entry, never repeats it.
    """
    ref = report.changeset.to_ref
    if ref.run is not None:
        return f"{feed_id}:run:{ref.run}"
    return f"{feed_id}:at:{_utc(entry_updated(report)).strftime('%Y%m%dT%H%M%SZ')}"


def entry_updated(report: Report) -> datetime:
    """Return when the entry changed: the TO run's time, else when the report was generated."""
    moment = report.changeset.to_ref.at or report.generated_at or _NO_TIME
    return _utc(moment)


def entry_links(report: Report) -> list[dict[str, str]]:
    """Return the entry's links: the report's site page (when published) and the publication.

    The site page, when there is one, is the entry's `alternate` link and the publication on
    GOV.UK a `related` one; otherwise the publication is the `alternate` link. Only http(s) URLs.
    """
    links: list[dict[str, str]] = []
    if report.link and is_web_url(report.link):
        links.append({"href": report.link, "rel": "alternate", "type": "text/html"})
    for publication in concerned_publications(report.changeset):
        if is_web_url(publication.url):
            rel = "related" if links else "alternate"
            link = {"href": publication.url, "rel": rel, "type": "text/html"}
            links.append({**link, "title": clean(publication.title)})
    return links


class _EntryLinks:
    """A feedgen entry extension that writes the entry's <link> elements with all attributes.

    feedgen 1.0's own `entry.link()` writes only `href` (lkiesow/python-feedgen#135): every link
    would read as `alternate`, and two would make the feed invalid.
    """

    def __init__(self) -> None:
        self.links: list[dict[str, str]] = []

    def extend_atom(self, entry: Any) -> Any:
        from lxml import etree  # type: ignore[import-untyped]

        for link in self.links:
            etree.SubElement(entry, "link", link)
        return entry


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def render_feed(entries: Sequence[Report], *, feed_id: str, title: str, updated: datetime) -> str:
    """Return an Atom feed with one entry per report, newest first.

    `feed_id` should be a urn: or tag: URI; each entry's id extends it with its run id. Each entry's
    title is the report's subject line and its content (type html) the HTML rendering of the report.
    """
    from feedgen.feed import FeedGenerator  # ~0.1 s to import: only when a feed is written

    feed = FeedGenerator()
    feed.id(feed_id)
    feed.title(clean(title))
    feed.updated(_utc(updated))
    feed.author({"name": GENERATOR})
    feed.generator(GENERATOR)
    for report in sorted(entries, key=entry_updated, reverse=True):
        entry = feed.add_entry(order="append")
        entry.id(entry_id(feed_id, report))
        entry.title(subject_line(report))
        entry.updated(entry_updated(report))
        entry.register_extension("lifesci_links", _EntryLinks, atom=True, rss=False)
        entry.lifesci_links.links = entry_links(report)
        entry.content(render_html_fragment(report), type="html")
    xml: bytes = feed.atom_str(pretty=True)
    return xml.decode("utf-8")


class AtomFormat:
    """An Atom feed; rendered alone, a feed whose one entry is this report."""

    name: Final = "atom"
    media_type: Final = "application/atom+xml"
    extension: Final = "atom"

    def render(self, report: Report) -> RenderedReport:
        """Return a feed whose only entry is this report."""
        feed_id = feed_id_for(report.title)
        body = render_feed(
            [report], feed_id=feed_id, title=report.title, updated=entry_updated(report)
        )
        return rendered(self, report, body, extra={"entry_id": entry_id(feed_id, report)})
