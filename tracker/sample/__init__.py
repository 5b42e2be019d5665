"""A faithful sample of GOV.UK's "UK life sciences support" publication, for `lifesci-tracker demo`
and the tests.

The site builder: `default_site(era)` is the publication as it stands (`SiteSpec` > `DocSpec` >
`StageSpec` > `OrgSpec`, plain dataclasses a scenario edits), `render_site(spec, base_url,
era=...)` renders it as GOV.UK did in any markup era since 2015 by splicing it into the GOV.UK pages
of `pages/` (what is evidence and what is invented: `pages/README.md`), and `add_noise` adds what
differs on every request. `scenario.py` holds the demo's states, `server.py` serves them on
127.0.0.1.
"""

from __future__ import annotations

from tracker.sample.content import default_site
from tracker.sample.noise import add_noise
from tracker.sample.render import render_document, render_publication, render_site
from tracker.sample.spec import (
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
)

__all__ = [
    "ERAS",
    "PAGES",
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
