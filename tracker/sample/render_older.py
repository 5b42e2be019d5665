"""Renderers for the two oldest markup eras of `tracker.sample.render`: "2015" (Whitehall's own
frontend) and "2017" (government-frontend with static's components).

Each splices a `SiteSpec` into the pages of its era, as the 2021 and current renderers do:
Whitehall's from `*_whitehall_2017-*.html` with the date elements of 2015 (`<abbr title=ISO>`,
day space-padded), the 2017 one from `*_static-components_2017-*.html`. As GOV.UK did in those
eras, a page never updated shows no change-history list (the parser then gives its "First
published." note, which is what the 2021 markup lists).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import date, datetime

from tracker.sample.spec import (
    DocSpec,
    SiteSpec,
    change_filler,
    display,
    document_body,
    documents_list,
    items,
    splice,
    template,
    to_sentence,
)

__all__ = [
    "render_static_document",
    "render_static_publication",
    "render_whitehall_document",
    "render_whitehall_publication",
]

_WHITEHALL_PUBLICATION = "publication_whitehall_2017-02.html"
_WHITEHALL_DOCUMENT = "html_experimental-medicine-and-clinical-trials_whitehall_2017-01.html"
_STATIC_PUBLICATION = "publication_static-components_2017-03.html"
_STATIC_DOCUMENT = "html_experimental-medicine-and-clinical-trials_static-components_2017-01.html"
_FIRST_PUBLISHED = "First published."


def render_whitehall_publication(spec: SiteSpec, base_url: str) -> bytes:
    """The publication page as Whitehall rendered it in 2015."""
    links = [
        f'<a class="organisation-link" href="/government/organisations/{slug}">'
        f"{html.escape(name)}</a>"
        for name, slug in spec.from_organisations
    ]
    page = template(_WHITEHALL_PUBLICATION)
    slots: list[tuple[str, str | Callable[[str], str]]] = [
        (r"<title>(.*?) - Publications - GOV.UK</title>", html.escape(spec.title)),
        (r'<meta name="description" content="([^"]*)"', html.escape(spec.description)),
        (r'<p class="type">Guidance</p>\s*<h1>(.*?)</h1>', html.escape(spec.title)),
        (r'<dt>From:</dt>\s*<dd class="js-hide-extra-metadata">(.*?)</dd>', to_sentence(links)),
        (r"<dt>First published:</dt>\s*<dd>(.*?)</dd>", _abbr_date(spec.published)),
        (r"<dt>Published:</dt>\s*<dd>(.*?)</dd>", _abbr_date(spec.published)),
        (r'<div class="summary">\s*<p>(.*?)</p>', html.escape(spec.description)),
        (
            r'<section class="attachment-full-width">.*?<div class="govspeak">(.*?)</div>\s*'
            r"</article>",
            documents_list(spec, "2015"),
        ),
        (
            r'<section id="details">.*?<div class="govspeak">(.*?)</div>\s*</div>\s*</article>',
            spec.details_html,
        ),
        (
            r"<dt>From:</dt>\s*((?:<dd class=\"from\">.*?</dd>\s*)+)",
            "".join(f'<dd class="from">{link}</dd>\n' for link in links),
        ),
    ]
    for pattern, value in slots:
        page = splice(page, pattern, value)
    if spec.last_updated is None:
        page = splice(page, r"(<dt>Last updated:</dt>\s*<dd>.*?</dd>)", "")
        page = splice(page, r"(<dt>Updated:</dt>\s*<dd>.*?</dd>)", "")
    else:
        updated = _abbr_date(spec.last_updated, _latest_change(spec))
        page = splice(page, r"<dt>Last updated:</dt>\s*<dd>\s*(<time.*?</time>)", updated)
        page = splice(page, r"<dt>Updated:</dt>\s*<dd>(.*?)</dd>", updated)
    if _history_shown(spec):
        rows = "".join(
            f"\n              <dt>{_abbr_time(when)}</dt>\n"
            f"              <dd>{html.escape(note)}</dd>"
            for when, note in spec.change_notes
        )
        page = splice(page, r'<div class="overlay js-hidden">\s*<dl>(.*?)\s*</dl>', rows)
    else:
        page = splice(page, r'(\s*<div class="footer-change-notes.*?</dl>\s*</div>\s*</div>)', "")
    return page.encode("utf-8")


def render_whitehall_document(spec: SiteSpec, doc: DocSpec, base_url: str) -> bytes:
    """An HTML attachment as Whitehall rendered it in 2015."""
    updated = f'<abbr class="published-at date" title="{_iso(doc.updated)}">'
    updated += f"{display(doc.updated, padded=True)}</abbr>"
    page = template(_WHITEHALL_DOCUMENT)
    for pattern, value in [
        (r"<title>(.*?) - GOV.UK</title>", html.escape(doc.title)),
        (r'<p class="document-type">Guidance</p>\s*<h1>(.*?)</h1>', html.escape(doc.title)),
        (r"<p>Updated (<time.*?</time>)</p>", updated),
        (r'<ol class="unnumbered">(.*?)</ol>', _contents(doc)),
        (
            r'<div class="govspeak">(.*?)</div>\s*</div>\s*</div>\s*<div class="js-back-to-content',
            document_body(doc),
        ),
        (r'<input id="url" name="url" type="hidden" value="([^"]*)"', base_url + doc.path),
    ]:
        page = splice(page, pattern, value)
    return page.encode("utf-8")


def render_static_publication(spec: SiteSpec, base_url: str) -> bytes:
    """The publication page as government-frontend rendered it with static's components."""
    links = [
        f'<a href="/government/organisations/{slug}">{html.escape(name)}</a>'
        for name, slug in spec.from_organisations
    ]
    page = template(_STATIC_PUBLICATION)
    slots: list[tuple[str, str | Callable[[str], str]]] = [
        (r"<title>(.*?) - GOV.UK</title>", html.escape(spec.title)),
        (r'<meta name="description" content="([^"]*)"', html.escape(spec.description)),
        (r'<p class="context">Guidance</p>\s*<h1>(.*?)</h1>', html.escape(spec.title)),
        (r"<dt>From:</dt>\s*<dd>(.*?)</dd>", to_sentence(links)),
        (r"<dt>First published:</dt>\s*<dd>(.*?)</dd>", display(spec.published)),
        (r'<p class="description">\s*(.*?)\s*</p>', _last_two_words_joined(spec.description)),
        (
            r'aria-labelledby="documents-title">\s*<div class="govuk-govspeak direction-ltr">'
            r"(.*?)</div>\s*</div>\s*</div>",
            documents_list(spec, "2017"),
        ),
        (
            r'aria-labelledby="details-title">\s*<div class="govuk-govspeak direction-ltr">\s*'
            r'<div class="govspeak">(.*?)</div>',
            spec.details_html,
        ),
        (r'<span class="published definition">(.*?)</span>', display(spec.published)),
        (
            r'<span class="from">(.*?)\s*</p>',
            "".join(
                f'\n          <span class="definition">\n            {link}\n          </span>'
                for link in links
            ),
        ),
    ]
    for pattern, value in slots:
        page = splice(page, pattern, value)
    if spec.last_updated is None:
        page = splice(page, r"(\s*<dt>Last updated:</dt>\s*<dd>.*?</dd>)", "")
        page = splice(page, r"(\s*<p>\s*Updated:\s*<span.*?</p>)", "")
    else:
        page = splice(page, r"<dt>Last updated:</dt>\s*<dd>\s*(.*?),", display(spec.last_updated))
        page = splice(
            page, r'<span class="updated definition">(.*?)</span>', display(spec.last_updated)
        )
    if _history_shown(spec):
        fillers = [
            change_filler(when, note, r"</time>\s*(.*?)\s*</li>")
            for when, note in spec.change_notes
        ]
        page = splice(
            page, r'id="full-history">.*?<ol>(.*?)</ol>', items(r"\s*<li>.*?</li>", fillers)
        )
    else:
        page = splice(page, r'(\s*<div class="change-notes".*?</ol>\s*</div>\s*</div>)', "")
    return page.encode("utf-8")


def render_static_document(spec: SiteSpec, doc: DocSpec, base_url: str) -> bytes:
    """An HTML publication as government-frontend rendered it with static's components."""
    page = template(_STATIC_DOCUMENT)
    for pattern, value in [
        (r"<title>(.*?) - GOV.UK</title>", html.escape(doc.title)),
        (r'<p class="context">Guidance</p>\s*<h1>(.*?)</h1>', html.escape(doc.title)),
        (r"</div>\s*Updated (\d+ \w+ \d{4})\s*</div>", display(doc.updated)),
        (r'<ol class="unnumbered">(.*?)</ol>', _contents(doc)),
        (
            r'<div class="govuk-govspeak direction-ltr">\s*<div class="govspeak">(.*?)</div>',
            document_body(doc),
        ),
        (r'<input id="url" name="url" type="hidden" value="([^"]*)"', base_url + doc.path),
    ]:
        page = splice(page, pattern, value)
    return page.encode("utf-8")


def _history_shown(spec: SiteSpec) -> bool:
    """Whether the page lists its changes: not when its only change is its first publication."""
    notes = spec.change_notes
    only_first = len(notes) == 1 and notes[0][1] == _FIRST_PUBLISHED
    return bool(notes) and not (only_first and notes[0][0].date() == spec.published)


def _latest_change(spec: SiteSpec) -> datetime | None:
    if spec.change_notes and spec.change_notes[0][0].date() == spec.last_updated:
        return spec.change_notes[0][0]
    return None


def _iso(day: date, when: datetime | None = None) -> str:
    """Whitehall's `iso8601` of a time (a day: its midnight, in UTC)."""
    return when.isoformat() if when is not None else f"{day.isoformat()}T00:00:00+00:00"


def _abbr_date(day: date, when: datetime | None = None) -> str:
    """Whitehall's `absolute_date` until July 2015: `%e %B %Y` in an `abbr` titled by the time."""
    return f'<abbr class="date" title="{_iso(day, when)}">{display(day, padded=True)}</abbr>'


def _abbr_time(when: datetime) -> str:
    """Whitehall's `absolute_time` until July 2015: `%e %B %Y %l:%M%P`."""
    hour = when.hour % 12 or 12
    shown = f"{display(when.date(), padded=True)} {hour:>2}:{when.minute:02}"
    shown += "am" if when.hour < 12 else "pm"
    return f'<abbr class="published-at datetime" title="{when.isoformat()}">{shown}</abbr>'


def _contents(doc: DocSpec) -> str:
    """Whitehall's contents list of an HTML attachment: its `h2`s, linked by id."""
    headings = re.findall(r'<h2 id="([^"]*)">(.*?)</h2>', document_body(doc), flags=re.S)
    return "".join(f'<li><a href="#{anchor}">{text}</a></li>' for anchor, text in headings)


def _last_two_words_joined(text: str) -> str:
    """government-frontend's `nbsp_between_last_two_words` on the description."""
    escaped = html.escape(text)
    return re.sub(r"\s([^\s]+)$", r"&nbsp;\1", escaped)
