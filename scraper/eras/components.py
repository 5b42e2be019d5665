"""government-frontend with the components gem (2018 to 2025: the 2021 fixtures) and the frontend
app (2025 onwards): one reader, the robust selectors of `../shared/reference/govuk-markup.md` §0
(written beside each finder as CSS), which hold for both.

Recognised by the gem's classes: `gem-c-*` and government-frontend's own `app-c-*` components;
the frontend app by its heading component (`h1.gem-c-heading__text`) or its published-dates
component (`.gem-c-published-dates`), which government-frontend adopted only in its last months.
"""

from __future__ import annotations

from typing import Final

from scraper.eras.common import (
    Era,
    EraReader,
    PageIndex,
    Regions,
    change_items,
    components_context,
    components_metadata,
    details_govspeak,
    govspeak_body,
    section_with_id,
)
from scraper.text import Element, class_tokens

__all__ = ["FRONTEND", "GEM_COMPONENTS", "regions", "updated_lines"]

_HTML_PUBLICATION_WRAPPER: Final = "gem-c-govspeak-html-publication"


def regions(page: PageIndex, era: Era | None = Era.GEM_COMPONENTS) -> Regions:
    """The regions by the components rules (also what a page of no known era is read with)."""
    title = page.title
    return Regions(
        era=era,
        title=title,
        context=components_context(page, title),
        metadata=components_metadata(page),
        lead=next((p for p in page.with_class("gem-c-lead-paragraph") if p.tag == "p"), None),
        documents=section_with_id(page, "documents"),
        details=details_govspeak(page),
        history=change_items(page),
        updated=updated_lines(page),
        body=govspeak_body(page, _HTML_PUBLICATION_WRAPPER),
    )


def updated_lines(page: PageIndex) -> tuple[Element, ...]:
    """`header.gem-c-inverse-header p`, else `p[class$="last-changed"]`."""
    headers = [e for e in page.with_class("gem-c-inverse-header") if e.tag == "header"]
    lines = [p for header in headers for p in header.iterdescendants("p")]
    if not lines:
        lines = [p for p in page.with_class_suffix("last-changed") if p.tag == "p"]
    return tuple(lines)


def _is_gem_page(page: PageIndex) -> bool:
    return page.has_class_prefix("gem-c-", "app-c-")


def _is_frontend_page(page: PageIndex) -> bool:
    title = page.title
    if title is not None and "gem-c-heading__text" in class_tokens(title):
        return True
    return page.has_class("gem-c-published-dates")


FRONTEND: Final = EraReader(
    Era.FRONTEND, _is_frontend_page, lambda page: regions(page, Era.FRONTEND)
)
GEM_COMPONENTS: Final = EraReader(Era.GEM_COMPONENTS, _is_gem_page, regions)
