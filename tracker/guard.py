"""The anomaly guard: never record a layout change or a fault as "organisations removed".

A document that loses most of its organisations, or a publication whose Documents list loses
most of its HTML documents (or stops labelling them HTML), is far more likely a layout change or
a broken page than a real edit: the run holds it back as an anomaly and keeps the last version.
`run --accept-anomalies` stores it when the change is real.
"""

from __future__ import annotations

import re

from scraper.page import HtmlDocument, Page, Publication


def _name_key(name: str) -> str:
    return re.sub(r"\W+", " ", name.casefold()).strip()


def anomaly_reason(
    previous: Page | None, current: Page, *, max_removed_fraction: float
) -> str | None:
    """Return why `current` must be held back instead of stored, or None when it is plausible.

    A document whose organisations all vanish, or that loses more than `max_removed_fraction`
    of them in one run, is far more likely a layout change or a broken page than a real edit.
    The same holds for a publication's HTML documents: losing more than that fraction of them,
    or any of them turning into a non-HTML attachment at the same URL (whose organisations
    would all be reported removed).
    """
    if isinstance(previous, Publication) and isinstance(current, Publication):
        return _documents_reason(previous, current, max_removed_fraction)
    if not isinstance(previous, HtmlDocument) or not isinstance(current, HtmlDocument):
        return None
    before = [_name_key(o.name) for o in previous.organisations]
    if not before:
        return None
    if not current.organisations:
        return f"all {len(before)} organisations vanished (layout change or broken page?)"
    after = {_name_key(o.name) for o in current.organisations}
    return _removal_reason(before, after, "organisations", max_removed_fraction)


def _documents_reason(
    previous: Publication, current: Publication, max_removed_fraction: float
) -> str | None:
    before = [link.url for link in previous.documents if link.kind == "html"]
    if not before:
        return None
    listed = {link.url: link for link in current.documents}
    relabelled = sum(1 for url in before if url in listed and listed[url].kind != "html")
    if relabelled:
        return (
            f"{relabelled} of {len(before)} HTML documents no longer listed as HTML "
            "(layout change in the Documents list?)"
        )
    return _removal_reason(before, set(listed), "HTML documents", max_removed_fraction)


def _removal_reason(
    before: list[str], after: set[str], what: str, max_removed_fraction: float
) -> str | None:
    """Say why a removal is too large to be believed, or return None when it is plausible."""
    removed = sum(1 for key in before if key not in after)
    if removed / len(before) > max_removed_fraction:
        return (
            f"{removed} of {len(before)} {what} would be removed "
            f"(more than max_removed_fraction {max_removed_fraction:g})"
        )
    return None
