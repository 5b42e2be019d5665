"""Plain-text report, readable on a terminal; ANSI colour only when asked (the CLI on a TTY)."""

from __future__ import annotations

from typing import Final

import click

from changes.worddiff import Segment
from reports.formats.base import rendered
from reports.formats.outline import Outline, outline_report
from reports.formats.wording import clean
from reports.model import RenderedReport, Report

_MARKERS: Final = {"added": "+", "removed": "-", "changed": "~", "info": "*", "warning": "!"}
_COLOURS: Final = {"added": "green", "removed": "red", "changed": "yellow", "warning": "magenta"}
_DIFF_COLOURS: Final = (("+++", None), ("---", None), ("@@", "cyan"), ("+", "green"), ("-", "red"))


class _Styler:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, fg: str | None = None, *, bold: bool = False) -> str:
        if not self.color or (fg is None and not bold):
            return text
        return click.style(text, fg=fg, bold=bold or None)

    def diff_line(self, line: str) -> str:
        for prefix, fg in _DIFF_COLOURS:
            if line.startswith(prefix):
                return self(line, fg, bold=fg is None)
        return line


def render_words(segments: tuple[Segment, ...], style: _Styler) -> str:
    """Return a word-level change as wdiff writes it: "… kept [-deleted-]{+inserted+} kept …"."""
    parts: list[str] = []
    for segment in segments:
        if segment.kind == "deleted":
            parts.append(style(f"[-{segment.text}-]", "red"))
        elif segment.kind == "inserted":
            parts.append(style(f"{{+{segment.text}+}}", "green"))
        else:
            parts.append(segment.text)
    return " ".join(parts)


def render_text(report: Report, color: bool = False) -> str:
    """Return the report as plain text, with ANSI colour when `color` is true."""
    return _lines(outline_report(report), _Styler(color))


def _lines(outline: Outline, style: _Styler) -> str:
    out = [style(outline.subject, bold=True), outline.range]
    if outline.intro:
        out += ["", outline.intro]
    for section in outline.sections:
        out += ["", style(section.heading, bold=True), clean(section.url)]
        for line in section.lines:
            marker = _MARKERS[line.kind]
            out.append("  " + style(f"{marker} {line.text}", _COLOURS.get(line.kind)))
            if line.url:
                out.append("      " + clean(line.url))
            if line.words:
                out.append("      " + render_words(line.words, style))
            out += ["      " + detail for detail in line.details]
            out += [f"      {stage.stage}: {len(stage.organisations)}" for stage in line.stages]
        if section.text_diff:
            out += ["", "  Text diff:"]
            out += ["    " + style.diff_line(text) for text in section.text_diff.split("\n")]
    if outline.problems:
        out += ["", style("Problems", "red", bold=True)]
        for problem in outline.problems:
            where = f"{clean(problem.url)} ({clean(problem.outcome)})"
            out.append("  " + style(f"! {where}: {clean(problem.reason)}", "red"))
    if outline.generated:
        out += ["", outline.generated]
    return "\n".join(out) + "\n"


class TextFormat:
    """Plain text for terminals and the plain part of an email."""

    name: Final = "text"
    media_type: Final = "text/plain"
    extension: Final = "txt"

    def render(self, report: Report) -> RenderedReport:
        """Return the report as plain text without colour."""
        return rendered(self, report, render_text(report))
