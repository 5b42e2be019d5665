"""A version's parsed content as stored, and rebuilt.

`page_version.content` is the page's canonical JSON, zstd-compressed, without what the
version's organisation rows already hold: an HTML document's `organisations` (its rows are the
one copy, the one SQL users query). Reading rebuilds the page from both, exactly: its
`page_to_json` is the one whose SHA-256 is the version's `content_hash`. Content stored before
(release 0001, migrated) keeps its organisations inline and reads as it is.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scraper.page import HtmlDocument, Page, canonical_json, page_fields, page_from_dict
from storage.compression import compress_content, decompress_content
from storage.in_lists import in_chunks
from storage.tables import OrganisationRow

_IN_ROWS = "organisations"  # the key an HTML document's rows hold instead of its content


@dataclass(frozen=True, slots=True)
class EncodedPage:
    """A parsed page with its canonical JSON, content hash and stored form, made once."""

    page: Page
    json: str
    content_hash: str
    stored_json: str  # `json` without what the organisation rows hold


def encode_page(page: Page) -> EncodedPage:
    """Return the page with its canonical JSON, the SHA-256 of it and what is stored of it."""
    encoded = canonical_json(page)
    stored = encoded
    if isinstance(page, HtmlDocument):
        stored = canonical_json(page_fields(page, without=_IN_ROWS))
    digest = hashlib.sha256(encoded.encode("utf-8")).hexdigest()
    return EncodedPage(page, encoded, digest, stored)


def stored_content(encoded: EncodedPage) -> bytes:
    """What `page_version.content` holds for the page."""
    return compress_content(encoded.stored_json)


def decode_versions(session: Session, rows: Iterable[tuple[int, bytes]]) -> dict[int, Page]:
    """Rebuild the pages of the given (version id, stored content) rows, by version id."""
    data = {version_id: json.loads(decompress_content(content)) for version_id, content in rows}
    wanted = sorted(
        version_id
        for version_id, fields in data.items()
        if fields["kind"] == "html_document" and _IN_ROWS not in fields
    )
    for fields in (data[version_id] for version_id in wanted):
        fields[_IN_ROWS] = []
    for chunk in in_chunks(wanted):
        for version_id, organisation in _organisations(session, chunk):
            data[version_id][_IN_ROWS].append(organisation)
    return {version_id: page_from_dict(fields) for version_id, fields in data.items()}


def decode_version(session: Session, version_id: int, content: bytes) -> Page:
    """Rebuild the page of one version."""
    return decode_versions(session, [(version_id, content)])[version_id]


def _organisations(
    session: Session, version_ids: Sequence[int]
) -> Iterable[tuple[int, dict[str, Any]]]:
    rows = session.execute(
        select(
            OrganisationRow.version_id,
            OrganisationRow.name,
            OrganisationRow.url,
            OrganisationRow.description,
            OrganisationRow.stage,
            OrganisationRow.stage_heading,
            OrganisationRow.links_json,
            OrganisationRow.position,
        )
        .where(OrganisationRow.version_id.in_(version_ids))
        .order_by(OrganisationRow.version_id, OrganisationRow.position, OrganisationRow.id)
    )
    for version_id, name, url, description, stage, heading, links, position in rows:
        yield (
            version_id,
            {
                "name": name,
                "url": url,
                "description": description,
                "stage": stage,
                "stage_heading": heading,
                "links": json.loads(links),
                "position": position,
            },
        )
