"""The browsable change-history site (DESIGN §13): pure rendering of a SiteModel into files."""

from __future__ import annotations

from reports.site.model import SiteModel, Step
from reports.site.render import render_site

__all__ = ["SiteModel", "Step", "render_site"]
