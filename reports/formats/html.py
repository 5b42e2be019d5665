"""HTML report: one self-contained, escaped document (inline CSS, no scripts)."""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from jinja2 import Environment

from reports.formats.base import rendered
from reports.formats.outline import outline_report
from reports.model import RenderedReport, Report

_WEB_URL = re.compile(r"https?://[^\s\"'<>]+\Z", re.IGNORECASE)


def is_web_url(value: object) -> bool:
    """Return True for an http(s) URL, the only kind a report ever turns into a link."""
    return isinstance(value, str) and bool(_WEB_URL.match(value))


@cache
def _environment() -> Environment:
    # Imported on first use: Jinja2 costs ~0.1 s to import, and most runs write no HTML.
    from jinja2 import Environment, PackageLoader, StrictUndefined

    environment = Environment(
        loader=PackageLoader("reports", "formats/templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.tests["web_url"] = is_web_url
    return environment


def render_html_fragment(report: Report) -> str:
    """Return the report body as an HTML fragment (one styled <div>), as Atom entries embed it."""
    return _environment().get_template("report_body.html.j2").render(outline=outline_report(report))


def render_html(report: Report) -> str:
    """Return the report as a complete HTML document."""
    outline = outline_report(report)
    return _environment().get_template("report.html.j2").render(outline=outline)


class HtmlFormat:
    """One self-contained HTML page, readable in mail clients and on a phone."""

    name: Final = "html"
    media_type: Final = "text/html"
    extension: Final = "html"

    def render(self, report: Report) -> RenderedReport:
        """Return the report as an HTML document."""
        return rendered(self, report, render_html(report))
