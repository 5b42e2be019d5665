"""government-frontend with static's components (January/February 2017 to mid-2018).

Evidence: alphagov/government-frontend 30fc83c0 `app/views/content_items/publication.html.erb`
and e24743b4 `app/views/content_items/html_publication.html.erb`; alphagov/static df3701848
`app/views/govuk_component/{title,metadata,document_footer,govspeak,govspeak_html_publication}
.raw.html.erb` (`../shared/reference/govuk-markup-2015.md` §1, "The next era"). Recognised by
static's component classes (`govuk-title`, `govuk-metadata`, `govuk-document-footer`,
`govuk-govspeak-html-publication`) or the `pub-c-` prefix the components had when they first
moved into the components gem (late 2017 to mid-2018).

Publication: `.govuk-title p.context + h1`; `.govuk-metadata dl` (From / First published / Last
updated); `p.description`; `h1#documents-title` labels the Documents list (`[aria-labelledby]`,
Whitehall's documents HTML, titles in `h2.title`) and `h1#details-title` the details;
`#full-history li`: `time.timestamp[datetime]` then the note as bare text. HTML publication:
`.html-publication-title p.context + h1`, then "Updated <date>" as bare text in `.headings`;
`.govuk-govspeak-html-publication .govspeak`. Where these are missing (the pages of late 2017 and
early 2018 mix these components with the gem's), each region falls back to the components rules.
"""

from __future__ import annotations

from typing import Final

from scraper.eras import components
from scraper.eras.common import (
    Era,
    EraReader,
    PageIndex,
    Regions,
    all_under,
    change_items,
    components_context,
    components_metadata,
    context_before,
    details_govspeak,
    govspeak_body,
    section_with_id,
)
from scraper.text import Element, class_tokens

__all__ = ["STATIC_COMPONENTS"]

_LANDMARKS: Final = (
    "govuk-title",
    "govuk-metadata",
    "govuk-document-footer",
    "govuk-govspeak-html-publication",
)


def _regions(page: PageIndex) -> Regions:
    title = page.title
    context = context_before(title, "context")
    metadata = page.with_class("govuk-metadata")
    documents = page.labelled_by("documents-title")
    return Regions(
        era=Era.STATIC_COMPONENTS,
        title=title,
        context=context if context is not None else components_context(page, title),
        metadata=(metadata[0],) if metadata else components_metadata(page),
        lead=_lead(page),
        documents=documents[0] if documents else section_with_id(page, "documents"),
        details=_details(page),
        history=change_items(page) or tuple(page.with_id("full-history")[:1]),
        updated=_updated(page),
        body=govspeak_body(page, "govuk-govspeak-html-publication"),
    )


def _lead(page: PageIndex) -> Element | None:
    """`p.description`, else a `p` with a class ending in "lead-paragraph"."""
    found = [p for p in page.with_class("description") if p.tag == "p"]
    found = found or [p for p in page.with_class_suffix("lead-paragraph") if p.tag == "p"]
    return found[0] if found else None


def _details(page: PageIndex) -> Element | None:
    """`[aria-labelledby="details-title"] .govspeak`, else the components rule."""
    for labelled in page.labelled_by("details-title"):
        for element in labelled.iterdescendants():
            if "govspeak" in class_tokens(element):
                return element
    return details_govspeak(page)


def _updated(page: PageIndex) -> tuple[Element, ...]:
    """`header.publication-header .headings` (the line is bare text), else the components rule."""
    headings = all_under(
        page.with_class("headings"),
        lambda a: a.tag == "header" and "publication-header" in class_tokens(a),
    )
    return tuple(headings[:1]) or components.updated_lines(page)


def _recognises(page: PageIndex) -> bool:
    return page.has_class(*_LANDMARKS) or page.has_class_prefix("pub-c-")


STATIC_COMPONENTS: Final = EraReader(Era.STATIC_COMPONENTS, _recognises, _regions)
