"""Whitehall's own frontend (January 2015 to January/February 2017).

Evidence: `../shared/reference/govuk-markup-2015.md` §2 and §4 (alphagov/whitehall
`app/views/publications/show.html.erb`, `app/views/html_attachments/show.html.erb` and their
partials). Recognised by the wrapper slimmer put Whitehall's pages in: `div#whitehall-wrapper`,
or `main.whitehall-content`.

Publication: `.heading-with-extra p.type + h1`; `aside.metadata-list dl` (From / First
published / Last updated); `div.summary`; `section.attachment-full-width` (documents, titles in
`h2.title`); `section#details .govspeak`; `#history .overlay dl` (dt date, dd note; none on a
never-updated page). HTML attachment: `.headings p.document-type + h1`, the "Published" or
"Updated" `p` after it; `div.publication-content .govspeak`.
"""

from __future__ import annotations

from typing import Final

from scraper.eras.common import (
    Era,
    EraReader,
    PageIndex,
    Regions,
    all_under,
    components_metadata,
    context_before,
    details_govspeak,
    govspeak_body,
    section_with_id,
)
from scraper.text import Element, attribute, class_tokens

__all__ = ["WHITEHALL"]


def _regions(page: PageIndex) -> Regions:
    title = page.title
    metadata = page.with_class("metadata-list")
    documents = page.with_class("attachment-full-width")
    return Regions(
        era=Era.WHITEHALL,
        title=title,
        context=context_before(title, "type", "document-type"),
        metadata=(metadata[0],) if metadata else components_metadata(page),
        lead=next(iter(page.with_class("summary")), None),
        documents=documents[0] if documents else section_with_id(page, "documents"),
        details=details_govspeak(page),
        history=_history(page),
        updated=_updated_lines(page),
        body=govspeak_body(page, "publication-content"),
    )


def _history(page: PageIndex) -> tuple[Element, ...]:
    """`#history .overlay dl`."""
    overlays = all_under(page.with_class("overlay"), lambda a: attribute(a, "id") == "history")
    return tuple(dl for overlay in overlays for dl in overlay.iterdescendants("dl"))


def _updated_lines(page: PageIndex) -> tuple[Element, ...]:
    """`header.publication-header .headings p`."""
    headings = all_under(
        page.with_class("headings"),
        lambda a: a.tag == "header" and "publication-header" in class_tokens(a),
    )
    return tuple(p for block in headings for p in block.iterdescendants("p"))


def _recognises(page: PageIndex) -> bool:
    if page.with_id("whitehall-wrapper"):  # a page without `main`
        return True
    main = page.main
    return main is not None and (
        "whitehall-content" in class_tokens(main)
        or any(attribute(a, "id") == "whitehall-wrapper" for a in main.iterancestors())
    )


WHITEHALL: Final = EraReader(Era.WHITEHALL, _recognises, _regions)
