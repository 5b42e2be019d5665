"""Short messages for chat, push and webhooks (the notify channel). Pure.

The subject line (as the title), the summary counts, the first few changes in words, the problems
when there are some, and a link to more when one is known; cut to MAX_CHARS with "…and N more
changes" so that it fits every service Apprise reaches (Teams workflows take 1000 characters,
Discord 2000, Slack far more). The markup is the service's: markdown (page text escaped, so
it cannot inject markup), html (escaped) or text (page text as written, one line each).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

from reports.formats.base import rendered
from reports.formats.markdown import escape_markdown, markdown_link
from reports.formats.outline import Section, outline_report
from reports.formats.wording import clean, plural
from reports.model import Problem, RenderedReport, Report
from reports.templating import is_web_url

Markup: TypeAlias = Literal["markdown", "text", "html"]
MARKUPS: Final[tuple[Markup, ...]] = ("markdown", "text", "html")
MAX_CHARS: Final = 900  # the body; the title (the subject line) travels beside it
MAX_CHANGES: Final = 8
MAX_PROBLEMS: Final = 2
MAX_LINE_CHARS: Final = 120  # one change or problem, before escaping


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """A short message: its title (the subject line) and body, both in `markup`."""

    title: str
    body: str
    markup: Markup


def shorten(text: str, limit: int = MAX_LINE_CHARS) -> str:
    """Return clean text of at most `limit` characters, cut at a word with "…" when longer."""
    text = clean(text)
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip() + "…"


@dataclass(frozen=True, slots=True)
class _Markup:
    """How one markup writes the few things a message has."""

    escape: Callable[[str], str]  # page text, escaped for the markup
    strong: Callable[[str], str]
    item: Callable[[str], str]
    link: Callable[[str, str], str]  # (label, url)
    join: Callable[[Sequence[str]], str]


def _html_link(label: str, url: str) -> str:
    if not is_web_url(url):
        return html.escape(f"{label}: {clean(url)}")
    return f'{html.escape(label)}: <a href="{html.escape(url)}">{html.escape(url)}</a>'


_WRITERS: Final[dict[Markup, _Markup]] = {
    "markdown": _Markup(
        escape=escape_markdown,
        strong=lambda text: f"**{text}**",
        item=lambda text: f"- {text}",
        link=lambda label, url: f"{escape_markdown(label)}: {markdown_link(url)}",
        join=lambda rows: "\n".join(rows),
    ),
    "text": _Markup(
        escape=clean,
        strong=lambda text: text,
        item=lambda text: f"- {text}",
        link=lambda label, url: f"{label}: {clean(url)}",
        join=lambda rows: "\n".join(rows),
    ),
    "html": _Markup(
        escape=html.escape,
        strong=lambda text: f"<b>{text}</b>",
        item=lambda text: f"• {text}",
        link=_html_link,
        join=lambda rows: "<br>\n".join(rows),
    ),
}


def render_chat(
    report: Report,
    *,
    markup: Markup = "markdown",
    link: str | None = None,
    max_chars: int = MAX_CHARS,
    max_changes: int = MAX_CHANGES,
) -> ChatMessage:
    """Return the report as a short message in `markup`, its body at most `max_chars` long.

    `link` (an http(s) URL: the site page or the report) closes the message, "Full report: URL".
    """
    writer = _WRITERS[markup]
    outline = outline_report(report)
    counts = [f"{label}: {count}" for label, count in outline.counts if count]
    head = [writer.escape(shorten(outline.intro or "; ".join(counts) or "Changes", max_chars // 4))]
    tail = _problem_summary(outline.problems, writer)
    if link:
        tail.append(writer.link("Full report", shorten(link, max_chars // 4)))
    changes = _change_rows(outline.sections, writer)
    problems = [_problem_row(p, writer) for p in outline.problems[:MAX_PROBLEMS]]

    def body(shown: list[str], more: int, problem_rows: list[str]) -> str:
        rows = head + shown
        if more:
            rows.append(writer.escape(f"…and {plural(more, 'more change')}"))
        return writer.join(rows + tail[:1] + problem_rows + tail[1:])

    total = sum(counts_as for _, counts_as in changes)
    # Problems first (at most MAX_PROBLEMS short rows): they are what someone must act on.
    problem_rows: list[str] = []
    for row in problems:
        if len(body([], total, [*problem_rows, row])) > max_chars:
            break
        problem_rows.append(row)
    shown: list[str] = []
    last_is_heading = False
    taken = 0
    for row, counts_as in changes:
        if taken + counts_as > max_changes:
            break
        if len(body([*shown, row], total - taken - counts_as, problem_rows)) > max_chars:
            break
        shown.append(row)
        last_is_heading, taken = not counts_as, taken + counts_as
    if last_is_heading:  # a page's heading with none of its changes under it
        shown.pop()
    more = total - taken
    return ChatMessage(
        title=writer.escape(shorten(outline.subject, 250)),
        body=body(shown, more, problem_rows) + "\n",
        markup=markup,
    )


def _change_rows(sections: Sequence[Section], writer: _Markup) -> list[tuple[str, int]]:
    """Each changed page's heading (counting as 0 changes) and its lines (1 each), in order."""
    rows: list[tuple[str, int]] = []
    for section in sections:
        if not section.lines:
            continue
        rows.append((writer.strong(writer.escape(shorten(section.heading))), 0))
        rows += [(writer.item(writer.escape(shorten(line.text))), 1) for line in section.lines]
    return rows


def _problem_summary(problems: Sequence[Problem], writer: _Markup) -> list[str]:
    if not problems:
        return []
    count = plural(len(problems), "page")
    return [writer.strong(writer.escape(f"Problems: {count} could not be tracked"))]


def _problem_row(problem: Problem, writer: _Markup) -> str:
    what = shorten(f"{problem.outcome}: {problem.reason}", MAX_LINE_CHARS // 2)
    return writer.item(writer.escape(f"{shorten(problem.url)} ({what})"))


class ChatFormat:
    """A short message for chat and push services (markdown), as the notify channel sends it."""

    name: Final = "chat"
    media_type: Final = "text/markdown"
    extension: Final = "chat.md"

    def render(self, report: Report) -> RenderedReport:
        """Return the report as a short Markdown message (the notify channel's default)."""
        message = render_chat(report)
        return rendered(self, report, message.body)
