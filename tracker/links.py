"""Where a run's report lives on the published site (`[site] base_url`), for links in reports.

The Atom feed's entries and notifications link to it; the static site (DESIGN §13) writes one
page per change set at `reports.site.paths.change_set_path`, so links and pages always agree.
"""

from __future__ import annotations

from reports.site.paths import change_set_path


def site_page_url(base_url: str, run_id: int | None) -> str | None:
    """Return the site page of `run_id`'s changes, or None when the site is not published."""
    if not base_url.strip() or run_id is None:
        return None
    return f"{base_url.strip().rstrip('/')}/{change_set_path(run_id)}"
