"""The site's downloads and its search index: organisations.csv, changes.json, feed.atom. Pure."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Sequence
from typing import Final

from changes import changeset_to_dict
from changes.timeline import Timeline, documents_in_reading_order
from reports.formats.atom import feed_id_for, render_feed
from reports.formats.wording import clean
from reports.site.model import SiteModel
from reports.site.paths import SitePaths
from reports.site.views import OrganisationLink, StageGroup, documents_of

FEED_ENTRIES: Final = 50  # as the file channel's feed.atom
_CSV_COLUMNS: Final = (
    "document",
    "stage",
    "name",
    "url",
    "description",
    "links",
    "document_url",
    "page",
)


def organisations_csv(model: SiteModel, paths: SitePaths) -> str:
    """Return every listing now, in reading order, as CSV: `orgs --format csv`'s columns and the
    organisation's page (its address under `base_url`, else its path in the site folder).

    Starts with a byte-order mark so spreadsheets read it as UTF-8.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(_CSV_COLUMNS)
    step = model.steps[-1]
    placements = model.timeline.placements[step.timeline_step]
    for document in documents_in_reading_order(step.state.pages):
        for organisation, key in zip(document.organisations, placements[document.url], strict=True):
            writer.writerow(
                (
                    document.title,
                    organisation.stage,
                    organisation.name,
                    organisation.url or "",
                    organisation.description,
                    " ".join(organisation.links),
                    document.url,
                    _address(model.base_url, paths.organisation(key)),
                )
            )
    return "\ufeff" + buffer.getvalue()


def _address(base_url: str, path: str) -> str:
    return f"{base_url.rstrip('/')}/{path}" if base_url else path


def changes_json(model: SiteModel) -> str:
    """Return every change set with changes, newest first, each in the JSON contract (DESIGN §8)."""
    changesets = [
        s.report.changeset for s in reversed(model.steps) if s.report.changeset.has_changes
    ]
    return json.dumps([changeset_to_dict(c) for c in changesets], indent=2, ensure_ascii=False)


def feed(model: SiteModel) -> str:
    """Return the Atom feed of the latest change sets with changes (the file channel's feed ids)."""
    reports = [s.report for s in model.steps if s.report.changeset.has_changes][-FEED_ENTRIES:]
    return render_feed(
        reports, feed_id=feed_id_for(model.title), title=model.title, updated=model.generated_at
    )


def fold(text: str) -> str:
    """Return text as the search script compares it: no accents, lowercase, words only."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in plain if not unicodedata.combining(c)).lower()
    plain = re.sub(r"['’ʼ`]", "", plain)
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


def item_id(key: str, group: str) -> str:
    """Return the id of an organisation's list item in one group of the organisations page."""
    return f"o-{key}-{group}"


def search_index(
    timeline: Timeline, groups: Sequence[StageGroup], former: Sequence[OrganisationLink]
) -> str:
    """Return the organisations page's search index as JSON safe inside a <script> element.

    One entry per list item: its id, the organisation's names (folded), its stage and documents.
    """
    by_key = timeline.by_key()
    items = [
        (link.key, group.anchor, group.stage) for group in groups for link in group.organisations
    ]
    for link in former:
        stage = by_key[link.key].last_listings[0].organisation.stage
        items.append((link.key, "former", clean(stage)))
    entries = [
        {
            "id": item_id(key, group),
            "text": fold(" ".join(by_key[key].names)),
            "stage": stage,
            "documents": list(documents_of(by_key[key])),
        }
        for key, group, stage in items
    ]
    text = json.dumps(entries, ensure_ascii=False, separators=(",", ":"))
    # Inside <script>, "</script>" or "<!--" in a name would end or change the element.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
