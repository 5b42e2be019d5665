"""The sample site's renderer: the whole "UK life sciences support" site, in any GOV.UK markup era.

`render_site(spec, base_url, era=...)` renders the same `SiteSpec` in any of `ERAS`: "2015"
(Whitehall's own frontend), "2017" (government-frontend with static's components), "2021"
(government-frontend with the components gem) and "current" (the frontend app, 2025 onwards);
without `era`, in `spec.era`. The same spec parses to identical pages in every era, so a site (or an
archive) that switches era between two runs shows no change. Renderers splice the spec into the
pages of `pages/` (GOV.UK's markup, see its README), so the chrome stays the markup GOV.UK served;
a `noise_seed` adds what differs on every request (`noise.add_noise`).
"""

from __future__ import annotations

import html
import json
import re
import uuid
from collections.abc import Callable

from tracker.sample.noise import add_noise
from tracker.sample.render_older import (
    render_static_document,
    render_static_publication,
    render_whitehall_document,
    render_whitehall_publication,
)
from tracker.sample.spec import (
    PUBLICATION_PATH,
    DocSpec,
    Era,
    SiteSpec,
    change_filler,
    display,
    document_body,
    documents_list,
    items,
    splice,
    template,
    timestamp,
    to_sentence,
)

__all__ = ["render_document", "render_publication", "render_site"]

_PUBLICATION_TEMPLATES = {"2021": "publication_2021-12.html", "current": "publication_current.html"}
_DOC_TEMPLATES = {
    "2021": "html_experimental-medicine-and-clinical-trials_2021-12.html",
    "current": "html_experimental-medicine-and-clinical-trials_current.html",
}


def render_site(
    spec: SiteSpec, base_url: str, *, era: Era | None = None, noise_seed: int | None = None
) -> dict[str, bytes]:
    """Return every page as {URL path: HTML bytes}, in `era` (default `spec.era`); a `noise_seed`
    adds per-page chrome noise."""
    pages = {PUBLICATION_PATH: render_publication(spec, base_url, era=era)}
    pages.update({doc.path: render_document(spec, doc, base_url, era=era) for doc in spec.docs})
    if noise_seed is None:
        return pages
    return {path: add_noise(body, noise_seed + i) for i, (path, body) in enumerate(pages.items())}


def render_publication(spec: SiteSpec, base_url: str, *, era: Era | None = None) -> bytes:
    """Return the publication page of `spec` in `era` (default `spec.era`)."""
    return _RENDERERS[era or spec.era][0](spec, base_url)


def render_document(
    spec: SiteSpec, doc: DocSpec, base_url: str, *, era: Era | None = None
) -> bytes:
    """Return one HTML document of `spec` in `era` (default `spec.era`)."""
    return _RENDERERS[era or spec.era][1](spec, doc, base_url)


def _render_publication(spec: SiteSpec, base_url: str, era: Era) -> bytes:
    """The publication page in the 2021 or current markup: metadata, Documents list, Details
    and change history."""
    title, description = html.escape(spec.title), html.escape(spec.description)
    page = template(_PUBLICATION_TEMPLATES[era])
    definition = r'</dt>\s*<dd class="gem-c-metadata__definition">\s*'
    slots: list[tuple[str, str | Callable[[str], str]]] = [
        (r'<title lang="en">(.*?)</title>', f"{title} - GOV.UK"),
        (r'<meta name="description" content="([^"]*)"', description),
        (r'<h1 class="[^"]*">(.*?)</h1>', title),
        (r'<p class="gem-c-lead-paragraph[^"]*">(.*?)</p>', description),
        (rf"From:{definition}(.*?)\s*</dd>", _from_links(spec, era)),
        (rf"Published:?{definition}(.*?)</dd>", display(spec.published)),
        (r">\s*Published (\d+ \w+ \d{4})", display(spec.published)),
        (r'<section id="documents">(.*?)</section>\s*<section id="details">',
         documents_list(spec, era)),
        (r'<section id="details">.*?<div class="govspeak">(.*?)</div>\s*</div>\s*</section>',
         _era_links(spec.details_html, era)),
        (r'<ol class="(?:app|gem)-c-published-dates__list">(.*?)</ol>', _change_notes(spec)),
    ]  # fmt: skip
    if spec.last_updated is None:
        slots += [(r'(\s*<dt class="gem-c-metadata__term">Last updated:?</dt>\s*<dd.*?</dd>)', "")]
        slots += [(r"((?:<br />)?Last updated \d+ \w+ \d{4})", "")]
    else:
        slots += [(rf"Last updated:?{definition}(\d+ \w+ \d{{4}})", display(spec.last_updated))]
        slots += [(r"Last updated (\d+ \w+ \d{4})", display(spec.last_updated))]
    updated_at = timestamp(spec.change_notes[0][0]) if spec.change_notes else ""
    if era == "2021":
        slots += [(r'<script type="application/ld\+json">(.*?)</script>', _json_ld(spec, base_url))]
    else:
        slots += [(r'govuk:public-updated-at" content="([^"]*)"', updated_at)]
    for pattern, value in slots:
        page = splice(page, pattern, value)
    return page.encode("utf-8")


def _render_document(spec: SiteSpec, doc: DocSpec, base_url: str, era: Era) -> bytes:
    """An HTML attachment page in the 2021 or current markup: header, contents list, body."""
    page = template(_DOC_TEMPLATES[era])
    title = html.escape(doc.title)
    body = _era_links(document_body(doc), era)
    headings = re.findall(r'<h2 id="([^"]*)">(.*?)</h2>', body, flags=re.S)
    contents = [
        _contents_entry(i, len(headings), *heading) for i, heading in enumerate(headings, 1)
    ]
    slots: list[tuple[str, str | Callable[[str], str]]] = [
        (r'<title lang="en">(.*?)</title>', f"{title} - GOV.UK"),
        (r'govuk:content-id" content="([^"]*)"', str(uuid.uuid5(uuid.NAMESPACE_URL, doc.path))),
        (rf'href="{PUBLICATION_PATH}">([^<]*)</a>', html.escape(spec.title)),
        (r'<h1 class="[^"]*">(.*?)</h1>', title),
        (r"Updated (\d+ \w+ \d{4})</p>", display(doc.updated)),
        (r"This publication is available at (\S+)", base_url + doc.path),
        (r'<ol class="gem-c-contents-list__list">(.*?)</ol>',
         items(r'\s*<li class="gem-c-contents-list__list-item.*?</li>', contents)),
        (r'<div class="govspeak">(.*?)</div>', body),
    ]  # fmt: skip
    for pattern, value in slots:
        page = splice(page, pattern, value)
    page = splice(page, r'govuk:ga4-base-path" content="([^"]*)"', doc.path, required=False)
    return page.encode("utf-8")


Renderer = tuple[Callable[[SiteSpec, str], bytes], Callable[[SiteSpec, DocSpec, str], bytes]]


def _frontend_era(era: Era) -> Renderer:
    """The publication and document renderers of the 2021 or current markup."""

    def publication(spec: SiteSpec, base_url: str) -> bytes:
        return _render_publication(spec, base_url, era)

    def document(spec: SiteSpec, doc: DocSpec, base_url: str) -> bytes:
        return _render_document(spec, doc, base_url, era)

    return publication, document


_RENDERERS: dict[Era, Renderer] = {
    "2015": (render_whitehall_publication, render_whitehall_document),
    "2017": (render_static_publication, render_static_document),
    "2021": _frontend_era("2021"),
    "current": _frontend_era("current"),
}


def _change_notes(spec: SiteSpec) -> Callable[[str], str]:
    item = r'\s*<li class="(?:app|gem)-c-published-dates__change-item">.*?</li>'
    note = r'__change-note">(.*?)</p>'
    return items(item, [change_filler(when, text, note) for when, text in spec.change_notes])


def _contents_entry(index: int, total: int, anchor: str, heading: str) -> Callable[[str], str]:
    """A contents-list entry: GOV.UK lists each h2, without a trailing colon."""
    label = html.unescape(re.sub(r"<[^>]+>", "", heading)).strip().rstrip(":")

    def fill(item: str) -> str:
        for pattern, value in [
            (r'href="#([^"]*)"', anchor),
            (r'data-track-label="#([^"]*)"', anchor),
            (r"dimension29&quot;:&quot;(.*?)&quot;}", html.escape(json.dumps(label)[1:-1])),
            (r'content_item (\d+)"', str(index)),
            (r"index_total&quot;:(\d+)", str(total)),
            (r"index_link&quot;:(\d+)", str(index)),
        ]:
            item = splice(item, pattern, value, required=False)
        return splice(item, r"<a [^>]*>(.*?)</a>", html.escape(label))

    return fill


def _era_links(govspeak: str, era: Era) -> str:
    """Whitehall added class="govuk-link" to every govspeak link from 2019 to August 2025."""
    if era != "2021":
        return govspeak
    return re.sub(r"<a ((?:(?!class=)[^>])*)>", r'<a \1 class="govuk-link">', govspeak)


def _from_links(spec: SiteSpec, era: Era) -> str:
    """Organisation links joined like Ruby's to_sentence, quoted as each era's app quotes them."""
    link = (
        '<a class="govuk-link" href="/government/organisations/{1}">{0}</a>'
        if era == "2021"
        else "<a href='/government/organisations/{1}' class='govuk-link'>{0}</a>"
    )
    return to_sentence(
        [link.format(html.escape(name), slug) for name, slug in spec.from_organisations]
    )


def _json_ld(spec: SiteSpec, base_url: str) -> str:
    data = {
        "@context": "http://schema.org",
        "@type": "Article",
        "mainEntityOfPage": {"@type": "WebPage", "@id": base_url + PUBLICATION_PATH},
        "name": spec.title,
        "datePublished": f"{spec.published.isoformat()}T00:00:00.000+00:00",
        "dateModified": timestamp(spec.change_notes[0][0]) if spec.change_notes else "",
        "text": spec.description,
    }
    return json.dumps(data, indent=2, ensure_ascii=False).replace("</", "<\\/")
