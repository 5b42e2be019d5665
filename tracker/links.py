"""Where a run's report lives on the published site (`[site] base_url`), for links in reports.

The Atom feed's entries (and notifications) link to it. The static site (DESIGN §13) writes one
page per change set at `CHANGE_PAGE`; both sides use this module so the links and pages agree.
"""

from __future__ import annotations

from typing import Final

CHANGE_PAGE: Final = "changes/{run}.html"  # relative to the site's root


def site_page_url(base_url: str, run_id: int | None) -> str | None:
    """Return the site page of `run_id`'s changes, or None when the site is not published."""
    if not base_url.strip() or run_id is None:
        return None
    return f"{base_url.strip().rstrip('/')}/{CHANGE_PAGE.format(run=run_id)}"
