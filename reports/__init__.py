"""Stage 5: render a Report in a format (reports.formats) and deliver it (reports.channels)."""

from __future__ import annotations

from reports.errors import ReportError, UnknownFormatError
from reports.formats import FORMATS, Format, get_format
from reports.formats.atom import render_feed
from reports.formats.text import render_text
from reports.formats.wording import subject_line
from reports.model import Problem, RenderedReport, Report

__all__ = [
    "FORMATS",
    "Format",
    "Problem",
    "RenderedReport",
    "Report",
    "ReportError",
    "UnknownFormatError",
    "get_format",
    "render",
    "render_feed",
    "render_text",
    "subject_line",
]


def render(report: Report, format_name: str) -> RenderedReport:
    """Return the report rendered in the format registered as `format_name`.

    Raises:
        UnknownFormatError: no such format.
    """
    return get_format(format_name).render(report)
