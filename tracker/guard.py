"""The anomaly guard: never record a layout change or a fault as "organisations removed"."""

from __future__ import annotations

import re

from scraper.page import HtmlDocument, Page


def _name_key(name: str) -> str:
    return re.sub(r"\W+", " ", name.casefold()).strip()


def anomaly_reason(
    previous: Page | None, current: Page, *, max_removed_fraction: float
) -> str | None:
    """Return why `current` must be held back instead of stored, or None when it is plausible.

    A document whose organisations all vanish, or that loses more than `max_removed_fraction`
    of them in one run, is far more likely a layout change or a broken page than a real edit.
    """
    if not isinstance(previous, HtmlDocument) or not isinstance(current, HtmlDocument):
        return None
    before = [_name_key(o.name) for o in previous.organisations]
    if not before:
        return None
    if not current.organisations:
        return f"all {len(before)} organisations vanished (layout change or broken page?)"
    after = {_name_key(o.name) for o in current.organisations}
    removed = sum(1 for name in before if name not in after)
    if removed / len(before) > max_removed_fraction:
        return (
            f"{removed} of {len(before)} organisations would be removed "
            f"(more than max_removed_fraction {max_removed_fraction:g})"
        )
    return None
