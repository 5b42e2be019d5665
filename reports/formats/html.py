"""HTML report: one self-contained, escaped document (inline CSS, no scripts)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from jinja2 import Environment

from reports.formats.base import rendered
from reports.formats.outline import outline_report
from reports.model import RenderedReport, Report
from reports.templating import template_environment


@cache
def _environment() -> Environment:
    return template_environment("formats/templates", keep_trailing_newline=True)


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
