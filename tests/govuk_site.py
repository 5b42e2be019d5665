"""Test-data builder: the whole "UK life sciences support" site, in any GOV.UK markup era.

`render_site(spec, base_url, era=...)` renders the same `SiteSpec` in any of `ERAS`: "2015"
(Whitehall's own frontend), "2017" (government-frontend with static's components), "2021"
(government-frontend with the components gem) and "current" (the frontend app, 2025 onwards);
without `era`, in `spec.era`. The same spec parses to identical pages in every era, so a site (or an
archive) that switches era between two runs shows no change. Renderers splice the spec into the
fixture pages of `tests/fixtures/`, so the chrome stays the markup GOV.UK served; `add_noise` adds
what differs on every request (tokens, a render stamp and a banner sentence in the chrome).

Data (`SiteSpec` > `DocSpec` > `StageSpec` > `OrgSpec`: plain, deep-copyable dataclasses, defined in
`tests/govuk_spec.py`). `default_site(era)` is the site as it stands: the two fixture documents
exactly as in their fixtures, five more with the invented organisations of
`tests/fixtures/generated_documents.txt`. End-to-end tests serve `render_site(spec, base_url)`.
"""

from __future__ import annotations

import html
import json
import random
import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from tests.govuk_site_older import (
    render_static_document,
    render_static_publication,
    render_whitehall_document,
    render_whitehall_publication,
)
from tests.govuk_spec import (
    ERAS,
    FIXTURES,
    PUBLICATION_PATH,
    STAGES,
    DocSpec,
    Era,
    FileSpec,
    OrgSpec,
    SiteSpec,
    StageSpec,
    change_filler,
    display,
    document_body,
    documents_list,
    items,
    kramdown_id,
    rel,
    splice,
    template,
    timestamp,
    to_sentence,
)

__all__ = [
    "ERAS",
    "FIXTURES",
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

_PUBLICATION_TEMPLATES = {"2021": "publication_2021-12.html", "current": "publication_current.html"}
_DOC_TEMPLATES = {
    "2021": "html_experimental-medicine-and-clinical-trials_2021-12.html",
    "current": "html_experimental-medicine-and-clinical-trials_current.html",
}
_GOVUK_ORGANISATIONS = "https://www.gov.uk/government/organisations/"


# --- rendering ------------------------------------------------------------------------------


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


_BANNERS = (
    "Help us improve GOV.UK: take part in user research (survey {n}).",
    "This service will be unavailable on Sunday from {n}am for planned maintenance.",
    "Coronavirus (COVID-19): guidance and support, updated {n} minutes ago.",
    "Sign up for emails about this page: {n} people signed up today.",
)


def add_noise(body: bytes, seed: int) -> bytes:
    """Add what differs on every request but is not content: a CSRF token, a request id on
    <body>, script nonces, the `govuk:updated-at` value and a timestamp comment, and visible text
    in the chrome: a banner sentence at the top of the page and a render stamp in the footer."""
    rng = random.Random(seed)
    token = f"{rng.getrandbits(128):032x}"
    at = (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(10**8))).isoformat()
    server, elapsed = f"frontend-{rng.randrange(1, 9)}", f"{rng.randrange(900)}ms"
    text = body.decode("utf-8").replace("<script>", f'<script nonce="{token[12:28]}">')
    text = text.replace("<head>", f'<head>\n  <meta name="csrf-token" content="{token}">', 1)
    text = splice(text, r"<body[^>]*?()>", f' data-request-id="{token[:12]}"', required=False)
    text = splice(text, r'govuk:updated-at" content="([^"]*)"', at, required=False)
    banner = rng.choice(_BANNERS).format(n=rng.randrange(1, 100))
    text = splice(
        text,
        r"<body[^>]*>()",
        f'\n<div class="global-bar" role="region"><p class="global-bar-message">{banner}</p></div>',
        required=False,
    )
    stamp = f'<p class="render-stamp">Page rendered at {at} by {server} in {elapsed}</p>\n'
    end = "</footer>" if "</footer>" in text else "</body>"
    text = text.replace(end, stamp + end, 1)
    comment = f"<!-- rendered {at} by {server} in {elapsed} -->"
    return text.replace("</body>", f"{comment}\n</body>", 1).encode("utf-8")


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
_RENDERERS: dict[Era, Renderer] = {
    "2015": (render_whitehall_publication, render_whitehall_document),
    "2017": (render_static_publication, render_static_document),
    **{
        era: (
            lambda spec, base, era=era: _render_publication(spec, base, era),
            lambda spec, doc, base, era=era: _render_document(spec, doc, base, era),
        )
        for era in ("2021", "current")
    },
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


# --- the site as it stands ------------------------------------------------------------------


def default_site(era: Era = "2021") -> SiteSpec:
    """Return the site as it stands: 7 documents, 3 change notes, last updated 1 December 2021."""
    updated = date(2021, 12, 1)
    publication = template("publication_2021-12.html")
    listed = re.findall(
        r'<h3 class="title[^"]*"><a [^>]*href="[^"]*/([^"/]+)">([^<]+)</a>', publication
    )
    docs = []
    for slug, title in listed:
        fixture = next(FIXTURES.glob(f"html_{slug[:30]}*_2021-12.html"), None)
        if fixture is not None:
            docs.append(_doc_from_fixture(fixture.name, slug, html.unescape(title), updated))
        else:
            docs.append(_generated_doc(slug, html.unescape(title), updated))
    details = re.search(
        r'<section id="details">.*?<div class="govspeak">(.*?)</div>', publication, re.S
    )
    assert details is not None
    notes = re.findall(r'datetime="([^"]*)">.*?__change-note">(.*?)</p>', publication, re.S)
    lead = re.search(r'<p class="gem-c-lead-paragraph">(.*?)</p>', publication, re.S)
    assert details is not None
    assert lead is not None
    return SiteSpec(
        era=era,
        title="UK life sciences support",
        description=html.unescape(lead[1]),
        published=date(2015, 1, 10),
        last_updated=updated,
        change_notes=[(datetime.fromisoformat(at), html.unescape(note)) for at, note in notes],
        docs=docs,
        from_organisations=[
            ("Life Sciences Organisation", "ukti-life-sciences-organisation"),
            ("Department for International Trade", "department-for-international-trade"),
        ],
        details_html=details[1].replace(' class="govuk-link"', ""),
    )


def _doc_from_fixture(name: str, slug: str, title: str, updated: date) -> DocSpec:
    """Read a fixture's govspeak body back into specs, keeping each block's markup as written."""
    inner = template(name).split('<div class="govspeak">', 1)[1].split("</div>", 1)[0]
    chunks = re.split(r"(?=<h[23][ >])", inner.replace(' class="govuk-link"', ""))
    doc = DocSpec(slug, title, updated, chunks[0].strip(), [])
    for i, chunk in enumerate(chunks[1:], 1):
        match = re.match(r"<(h[23])[^>]*>(.*?)</\1>(.*)", chunk, flags=re.S)
        assert match is not None
        level, heading, rest = match[1], match[2], match[3].strip()
        text = html.unescape(re.sub(r"<[^>]+>", "", heading))
        if level == "h3":
            links = re.findall(r'href="(https?://[^"]+)"', heading + rest)
            off_govuk = [link for link in links if not link.startswith("https://www.gov.uk/")]
            url = (links[:1] if "<a" in heading else off_govuk[:1] or links[:1] or [None])[0]
            doc.stages[-1].orgs.append(OrgSpec(text, url, rest, heading_link="<a" in heading))
        elif doc.stages or (i < len(chunks) - 1 and chunks[i + 1].startswith("<h3")):
            doc.stages.append(StageSpec(text, [], rest))
        else:
            doc.intro_html = f"{doc.intro_html}\n\n{chunk.strip()}".strip()
    return doc


def _generated_doc(slug: str, title: str, updated: date) -> DocSpec:
    """A document in the same shape as the real one, with the organisations of the data file."""
    topic = html.escape(title[0].lower() + title[1:])
    intro = (
        f'<h2 id="{kramdown_id("Introduction to " + topic, set())}">Introduction to {topic}</h2>'
        f"\n\n<p>The UK is a good place to develop and sell {topic} products.</p>\n\n<p>Many UK "
        "organisations give support, advice or useful information at each development stage.</p>"
    )
    stages = [
        StageSpec(f"{label} development stage: UK support organisations", orgs)
        for label, orgs in zip(STAGES, _generated_orgs(slug), strict=True)
    ]
    return DocSpec(slug, title, updated, intro, stages)


def _generated_orgs(slug: str) -> list[list[OrgSpec]]:
    """Return the invented organisations of a document, one list per stage in STAGES."""
    data = (FIXTURES / "generated_documents.txt").read_text(encoding="utf-8")
    lines = data.split(f"== {slug}\n", 1)[1].split("\n==", 1)[0].strip().splitlines()
    stages: list[list[OrgSpec]] = [[] for _ in STAGES]
    for header, target_line, sentence in zip(lines[::3], lines[1::3], lines[2::3], strict=True):
        number, name = header.split(" ", 1)
        target, link_text = (part.strip() for part in target_line.split("|"))
        url = None if target == "-" else target.replace("gov.uk:", _GOVUK_ORGANISATIONS)
        link = f'<a{rel(url)} href="{url}">{html.escape(link_text)}</a>' if url else ""
        description = "<p>" + sentence.strip().replace("{}", link) + "</p>"
        stages[int(number) - 1].append(OrgSpec(name, url, description))
    return stages
