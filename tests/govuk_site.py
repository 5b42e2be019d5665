"""The GOV.UK site builder for tests: `tracker.sample`, which the package ships for
`lifesci-tracker demo`, under the names the tests import.

`render_site(spec, base_url, era=..., noise_seed=...)` renders a `SiteSpec` in any markup era
(`ERAS`); `default_site(era)` is the site as it stands; `add_noise` adds per-request chrome noise.
End-to-end tests serve `render_site(spec, base_url)`. `FIXTURES` is the folder of GOV.UK pages
(every era) the builder splices into, and the parser tests read: `tracker/sample/pages/`.
"""

from __future__ import annotations

from tracker.sample import (
    ERAS,
    PAGES,
    PUBLICATION_PATH,
    STAGES,
    DocSpec,
    Era,
    FileSpec,
    OrgSpec,
    SiteSpec,
    StageSpec,
    add_noise,
    default_site,
    render_document,
    render_publication,
    render_site,
)

FIXTURES = PAGES

__all__ = [
    "ERAS",
    "FIXTURES",
    "PUBLICATION_PATH",
    "STAGES",
    "DocSpec",
    "Era",
    "FileSpec",
    "OrgSpec",
    "SiteSpec",
    "StageSpec",
    "add_noise",
    "default_site",
    "render_document",
    "render_publication",
    "render_site",
]
