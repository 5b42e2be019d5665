"""Tiny builders for Page values and States, so tests say only what matters to them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from changes.changeset import State
from scraper.page import (
    Attachment,
    DocumentLink,
    HtmlDocument,
    Organisation,
    Page,
    Publication,
    UpdateEntry,
)

PUBLICATION_URL = "https://www.gov.uk/government/publications/uk-life-sciences-support"
OLD_AT = datetime(2021, 11, 20, 7, 0, 3, tzinfo=UTC)
NEW_AT = datetime(2021, 12, 1, 7, 0, 2, tzinfo=UTC)
FIRST_NOTE = UpdateEntry("2015-01-10", "First published.")
NOTE_2018 = UpdateEntry("2018-03-27", "Updated the list of support organisations.")


def slug(text: str) -> str:
    """Return a GOV.UK-style slug: lowercase words joined by hyphens."""
    return "-".join(re.findall(r"[a-z0-9]+", text.lower()))


def stage_heading(stage: str) -> str:
    """Return the h2 text GOV.UK uses for a development stage (a category is its own heading)."""
    if stage in {
        "Trade organisations",
        "Membership associations",
        "Clusters",
        "Research and innovation networks",
    }:
        return stage
    return f"{stage} development stage: UK support organisations"


def make_organisation(
    name: str,
    *,
    url: str | None = "",
    description: str | None = None,
    stage: str = "Discovery and deep research",
    links: Sequence[str] | None = None,
    position: int = 0,
) -> Organisation:
    """Build an organisation. The url defaults to one made from the name; pass None for none."""
    if url == "":
        url = f"https://www.{slug(name)}.org.uk/"
    if description is None:
        description = f"{name} supports life sciences companies in the UK."
    if links is None:
        links = (url,) if url else ()
    return Organisation(
        name=name,
        url=url,
        description=description,
        stage=stage,
        stage_heading=stage_heading(stage),
        links=tuple(links),
        position=position,
    )


def render_text(intro_text: str, organisations: Iterable[Organisation]) -> str:
    """Return document text the way the parser lays it out: intro, then headings and blocks."""
    lines = [intro_text] if intro_text else []
    heading: str | None = None
    for organisation in organisations:
        if organisation.stage_heading != heading:
            heading = organisation.stage_heading
            lines.append(heading)
        lines.extend((organisation.name, organisation.description))
    return "\n".join(lines)


def make_document(
    title: str,
    organisations: Sequence[Organisation] = (),
    *,
    url: str | None = None,
    updated: str | None = "2018-03-27",
    intro_text: str | None = None,
    doc_type: str = "Guidance",
    text: str | None = None,
) -> HtmlDocument:
    """Build an HTML document; positions are renumbered and text is rendered unless given."""
    numbered = tuple(replace(o, position=i) for i, o in enumerate(organisations))
    if intro_text is None:
        intro_text = f"Many UK organisations support {title.lower()}."
    return HtmlDocument(
        url=url or f"{PUBLICATION_URL}/{slug(title)}",
        title=title,
        doc_type=doc_type,
        updated=updated,
        intro_text=intro_text,
        organisations=numbered,
        text=render_text(intro_text, numbered) if text is None else text,
    )


def make_attachment(
    title: str, *, url: str | None = None, attributes: Sequence[str] = ("PDF", "1.2 MB", "12 pages")
) -> Attachment:
    """Build a non-HTML attachment."""
    return Attachment(
        url=url or f"https://assets.publishing.service.gov.uk/media/{slug(title)}.pdf",
        title=title,
        attributes=tuple(attributes),
    )


def make_publication(
    documents: Sequence[HtmlDocument | Attachment] = (),
    *,
    url: str = PUBLICATION_URL,
    title: str = "UK life sciences support",
    last_updated: str | None = "2018-03-27",
    updates: Sequence[UpdateEntry] = (NOTE_2018, FIRST_NOTE),
    description: str = "Information on UK organisations that support life sciences companies.",
) -> Publication:
    """Build a publication whose Documents list links the given pages, in that order."""
    links = tuple(
        DocumentLink(d.title, d.url, "html", ("HTML",))
        if isinstance(d, HtmlDocument)
        else DocumentLink(d.title, d.url, "attachment", d.attributes)
        for d in documents
    )
    return Publication(
        url=url,
        title=title,
        doc_type="Guidance",
        description=description,
        from_organisations=("Life Sciences Organisation", "Department for International Trade"),
        published="2015-01-10",
        last_updated=last_updated,
        documents=links,
        updates=tuple(updates),
        details_text="This guidance lists organisations by development stage.",
    )


def make_state(run: int | None, pages: Iterable[Page], *, at: datetime | None = None) -> State:
    """Build a state from pages, keyed by url; `at` defaults to a fixed moment per run."""
    if at is None and run is not None:
        at = OLD_AT if run == 12 else NEW_AT
    return State(run=run, at=at, pages={page.url: page for page in pages})


def make_site(
    run: int | None,
    documents: Sequence[HtmlDocument | Attachment],
    *,
    last_updated: str | None = "2018-03-27",
    updates: Sequence[UpdateEntry] = (NOTE_2018, FIRST_NOTE),
) -> State:
    """Build a state of the publication and the documents it lists."""
    page = make_publication(documents, last_updated=last_updated, updates=updates)
    return make_state(run, [page, *documents])
