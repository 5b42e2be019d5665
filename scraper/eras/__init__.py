"""The GOV.UK markup eras, and a reader for each: which era a page is in, decided from its
markup (never from a date), and where that era keeps what the parser reads.

`READERS` is the registry, in the order the eras are tried: each reader's `recognises` looks for
its era's landmarks (`div#whitehall-wrapper`; static's `govuk-title`/`govuk-metadata` classes;
the 2025 heading and published-dates components; the gem's `gem-c-`/`app-c-` classes). A page
with no era's landmarks is read with the newest era's rules: if they find no title, Documents
list or body, `scraper.parse` raises `LayoutChangedError`, as it always has.
"""

from __future__ import annotations

from typing import Final

from scraper.eras import components
from scraper.eras.common import Era, EraReader, PageIndex, Regions
from scraper.eras.static_components import STATIC_COMPONENTS
from scraper.eras.whitehall import WHITEHALL

__all__ = ["READERS", "Era", "EraReader", "PageIndex", "Regions", "find_regions"]

READERS: Final = (WHITEHALL, STATIC_COMPONENTS, components.FRONTEND, components.GEM_COMPONENTS)


def find_regions(page: PageIndex) -> Regions:
    """The regions of the page, found by the reader of the first era that recognises it."""
    for reader in READERS:
        if reader.recognises(page):
            return reader.regions(page)
    return components.regions(page, era=None)
