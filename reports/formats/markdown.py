"""Markdown report (CommonMark). Page text is escaped: it cannot inject HTML or break lists."""

from __future__ import annotations

import re
from typing import Final

from changes.worddiff import Segment
from reports.formats.base import rendered
from reports.formats.outline import outline_report
from reports.formats.wording import clean
from reports.model import RenderedReport, Report

# Inline markup characters, escaped wherever they occur: emphasis, code, links, raw HTML, tables,
# strikethrough, a heading's closing #s. A backslash before ASCII punctuation is a literal.
_INLINE = re.compile(r"([\\`*_\[\]<>|~#])")
_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")
# Text that would open a block (heading, list, quote, setext underline) at the start of a line.
_BLOCK_START = re.compile(r"\A(?:([=+\-])|(\d+)([.)]))")
_WEB_URL = re.compile(r"https?://[^\s<>\\]+\Z", re.IGNORECASE)
_BACKTICKS = re.compile(r"`+")


def escape_markdown(text: str) -> str:
    """Return page text as a literal CommonMark inline: one line, no raw HTML, no markup."""
    text = _INLINE.sub(r"\\\1", clean(text))
    text = _ENTITY.sub(r"\\&", text)
    return _BLOCK_START.sub(_escape_block_start, text)


def _escape_block_start(match: re.Match[str]) -> str:
    if match.group(1):
        return "\\" + match.group(1)
    return match.group(2) + "\\" + match.group(3)


def markdown_link(url: str) -> str:
    """Return an http(s) URL as an autolink (`<https://...>`), anything else as escaped text."""
    url = clean(url)
    return f"<{url}>" if _WEB_URL.match(url) else escape_markdown(url)


def fenced(block: str, info: str = "") -> str:
    """Return a fenced code block whose fence is longer than any backtick run inside it."""
    longest = max((len(run) for run in _BACKTICKS.findall(block)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{block}\n{fence}"


def markdown_words(segments: tuple[Segment, ...]) -> str:
    """Return a word-level change inline: inserted words **bold**, deleted ones ~~struck~~.

    Segments are joined by spaces, so each delimiter run has a space (or the line's end) on its
    outer side and page text on its inner side, where CommonMark lets it open and close.
    """
    marks = {"inserted": "**", "deleted": "~~"}
    parts: list[str] = []
    for segment in segments:
        text = segment.text if segment.kind == "elided" else escape_markdown(segment.text)
        mark = marks.get(segment.kind, "")
        parts.append(f"{mark}{text}{mark}")
    return " ".join(parts)


def render_markdown(report: Report) -> str:
    """Return the report as a CommonMark document."""
    outline = outline_report(report)
    out = [f"# {escape_markdown(outline.subject)}", "", escape_markdown(outline.range) + "."]
    if outline.intro:
        out += ["", escape_markdown(outline.intro) + "."]
    for section in outline.sections:
        out += ["", f"## {escape_markdown(section.heading)}", "", markdown_link(section.url)]
        if section.lines:
            out.append("")
        for line in section.lines:
            out.append(f"- {escape_markdown(line.text)}")
            if line.url:
                out.append(f"  - {markdown_link(line.url)}")
            if line.words:
                out.append(f"  - {markdown_words(line.words)}")
            out += [f"  - {escape_markdown(detail)}" for detail in line.details]
            for stage in line.stages:
                names = "; ".join(stage.organisations)
                out.append(
                    f"  - {escape_markdown(f'{stage.stage} ({len(stage.organisations)}): {names}')}"
                )
        if section.text_diff:
            out += ["", fenced(section.text_diff, "diff")]
    if outline.problems:
        out += ["", "## Problems", ""]
        for problem in outline.problems:
            out.append(
                f"- {markdown_link(problem.url)} ({escape_markdown(problem.outcome)}):"
                f" {escape_markdown(problem.reason)}"
            )
    if outline.generated:
        out += ["", f"_{escape_markdown(outline.generated)}_"]
    return "\n".join(out) + "\n"


class MarkdownFormat:
    """CommonMark, for files, chat and issue trackers."""

    name: Final = "markdown"
    media_type: Final = "text/markdown"
    extension: Final = "md"

    def render(self, report: Report) -> RenderedReport:
        """Return the report as Markdown."""
        return rendered(self, report, render_markdown(report))
