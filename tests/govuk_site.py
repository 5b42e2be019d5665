"""Test-data builder: the whole "UK life sciences support" site, in either GOV.UK markup era.

Data (`SiteSpec` > `DocSpec` > `StageSpec` > `OrgSpec`: plain, deep-copyable dataclasses) and
renderers that splice it into the fixture pages of `tests/fixtures/`, so the chrome stays the
markup GOV.UK served. `default_site(era)` is the site as it stands: the two fixture documents
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
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Literal

FIXTURES = Path(__file__).parent / "fixtures"
PUBLICATION_PATH = "/government/publications/uk-life-sciences-support"
STAGES = (
    "Discovery and deep research",
    "Development and translation",
    "Regulation and assessment",
    "Delivery, supplying the NHS and patients",
    "Launching global access",
)
Era = Literal["2021", "current"]
_PUBLICATION_TEMPLATES = {"2021": "publication_2021-12.html", "current": "publication_current.html"}
_DOC_TEMPLATES = {
    "2021": "html_experimental-medicine-and-clinical-trials_2021-12.html",
    "current": "html_experimental-medicine-and-clinical-trials_current.html",
}
_GOVUK_ORGANISATIONS = "https://www.gov.uk/government/organisations/"
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip


@dataclass
class OrgSpec:
    """An h3 and its description. `url` is what the parser should pick: the heading's own link
    when `heading_link`, else a link that appears in `description_html` (or None)."""

    name: str
    url: str | None
    description_html: str
    heading_link: bool = False

    def relinked(self, new_url: str) -> OrgSpec:
        """Return a copy whose link (heading or description) points at `new_url`."""
        old = self.url
        description = self.description_html.replace(old, new_url) if old else self.description_html
        return OrgSpec(self.name, new_url, description, self.heading_link)


@dataclass
class StageSpec:
    """An h2 section ("<Stage> development stage: UK support organisations") and its h3s."""

    heading: str
    orgs: list[OrgSpec]
    intro_html: str = ""


@dataclass
class DocSpec:
    """One HTML attachment of the publication."""

    slug: str
    title: str
    updated: date
    intro_html: str
    stages: list[StageSpec]

    @property
    def path(self) -> str:
        return f"{PUBLICATION_PATH}/{self.slug}"

    def find(self, name: str) -> tuple[StageSpec, OrgSpec]:
        """Return the first organisation called `name` and its stage."""
        return next((stage, o) for stage in self.stages for o in stage.orgs if o.name == name)

    def remove_org(self, name: str) -> OrgSpec:
        stage, org = self.find(name)
        stage.orgs.remove(org)
        return org

    def move_org(self, name: str, stage_heading: str) -> None:
        org = self.remove_org(name)
        next(stage for stage in self.stages if stage.heading == stage_heading).orgs.append(org)


@dataclass
class FileSpec:
    """A non-HTML attachment (PDF, CSV, ...) in the Documents list; never served."""

    title: str
    path: str
    attributes: tuple[str, ...] = ("PDF", "1.2 MB", "12 pages")


@dataclass
class SiteSpec:
    """The publication page and everything its Documents list links."""

    era: Era
    title: str
    description: str
    published: date
    last_updated: date | None
    change_notes: list[tuple[datetime, str]]  # newest first, as GOV.UK lists them
    docs: list[DocSpec]
    from_organisations: list[tuple[str, str]]  # (name, organisation slug)
    details_html: str
    files: list[FileSpec] = field(default_factory=list)

    def doc(self, slug: str) -> DocSpec:
        return next(doc for doc in self.docs if doc.slug == slug)

    def add_change_note(self, when: datetime, note: str) -> None:
        """Add a change note on top and make its day the "Last updated" date, as Whitehall does."""
        self.change_notes.insert(0, (when, note))
        self.last_updated = when.date()


# --- rendering ------------------------------------------------------------------------------


def render_site(
    spec: SiteSpec, base_url: str, *, noise_seed: int | None = None
) -> dict[str, bytes]:
    """Return every page as {URL path: HTML bytes}; a `noise_seed` adds per-page chrome noise."""
    pages = {PUBLICATION_PATH: render_publication(spec, base_url)}
    pages.update({doc.path: render_document(spec, doc, base_url) for doc in spec.docs})
    if noise_seed is None:
        return pages
    return {path: add_noise(body, noise_seed + i) for i, (path, body) in enumerate(pages.items())}


def add_noise(body: bytes, seed: int) -> bytes:
    """Add what differs on every request but is not content: a CSRF token, a request id on
    <body>, script nonces, the `govuk:updated-at` value and a timestamp comment."""
    rng = random.Random(seed)
    token = f"{rng.getrandbits(128):032x}"
    at = (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(10**8))).isoformat()
    text = body.decode("utf-8").replace("<script>", f'<script nonce="{token[12:28]}">')
    text = text.replace("<head>", f'<head>\n  <meta name="csrf-token" content="{token}">', 1)
    text = _splice(text, r"<body[^>]*?()>", f' data-request-id="{token[:12]}"', required=False)
    text = _splice(text, r'govuk:updated-at" content="([^"]*)"', at, required=False)
    comment = f"<!-- rendered {at} by frontend-{rng.randrange(1, 9)} in {rng.randrange(900)}ms -->"
    return text.replace("</body>", f"{comment}\n</body>", 1).encode("utf-8")


def render_publication(spec: SiteSpec, base_url: str) -> bytes:
    """Return the publication page: metadata, Documents list, Details and change history."""
    era, title, description = spec.era, html.escape(spec.title), html.escape(spec.description)
    page = _template(_PUBLICATION_TEMPLATES[era])
    definition = r'</dt>\s*<dd class="gem-c-metadata__definition">\s*'
    slots: list[tuple[str, str | Callable[[str], str]]] = [
        (r'<title lang="en">(.*?)</title>', f"{title} - GOV.UK"),
        (r'<meta name="description" content="([^"]*)"', description),
        (r'<h1 class="[^"]*">(.*?)</h1>', title),
        (r'<p class="gem-c-lead-paragraph[^"]*">(.*?)</p>', description),
        (rf"From:{definition}(.*?)\s*</dd>", _from_links(spec)),
        (rf"Published:?{definition}(.*?)</dd>", _display(spec.published)),
        (r">\s*Published (\d+ \w+ \d{4})", _display(spec.published)),
        (r'<section id="documents">(.*?)</section>\s*<section id="details">', _documents(spec)),
        (r'<section id="details">.*?<div class="govspeak">(.*?)</div>\s*</div>\s*</section>',
         _era_links(spec.details_html, era)),
        (r'<ol class="(?:app|gem)-c-published-dates__list">(.*?)</ol>', _change_notes(spec)),
    ]  # fmt: skip
    if spec.last_updated is None:
        slots += [(r'(\s*<dt class="gem-c-metadata__term">Last updated:?</dt>\s*<dd.*?</dd>)', "")]
        slots += [(r"((?:<br />)?Last updated \d+ \w+ \d{4})", "")]
    else:
        slots += [(rf"Last updated:?{definition}(\d+ \w+ \d{{4}})", _display(spec.last_updated))]
        slots += [(r"Last updated (\d+ \w+ \d{4})", _display(spec.last_updated))]
    updated_at = _timestamp(spec.change_notes[0][0]) if spec.change_notes else ""
    if era == "2021":
        slots += [(r'<script type="application/ld\+json">(.*?)</script>', _json_ld(spec, base_url))]
    else:
        slots += [(r'govuk:public-updated-at" content="([^"]*)"', updated_at)]
    for pattern, value in slots:
        page = _splice(page, pattern, value)
    return page.encode("utf-8")


def render_document(spec: SiteSpec, doc: DocSpec, base_url: str) -> bytes:
    """Return an HTML attachment page with the document's header, contents list and body."""
    page = _template(_DOC_TEMPLATES[spec.era])
    title = html.escape(doc.title)
    body = _era_links(_document_body(doc), spec.era)
    headings = re.findall(r'<h2 id="([^"]*)">(.*?)</h2>', body, flags=re.S)
    contents = [
        _contents_entry(i, len(headings), *heading) for i, heading in enumerate(headings, 1)
    ]
    slots: list[tuple[str, str | Callable[[str], str]]] = [
        (r'<title lang="en">(.*?)</title>', f"{title} - GOV.UK"),
        (r'govuk:content-id" content="([^"]*)"', str(uuid.uuid5(uuid.NAMESPACE_URL, doc.path))),
        (rf'href="{PUBLICATION_PATH}">([^<]*)</a>', html.escape(spec.title)),
        (r'<h1 class="[^"]*">(.*?)</h1>', title),
        (r"Updated (\d+ \w+ \d{4})</p>", _display(doc.updated)),
        (r"This publication is available at (\S+)", base_url + doc.path),
        (r'<ol class="gem-c-contents-list__list">(.*?)</ol>',
         _items(r'\s*<li class="gem-c-contents-list__list-item.*?</li>', contents)),
        (r'<div class="govspeak">(.*?)</div>', body),
    ]  # fmt: skip
    for pattern, value in slots:
        page = _splice(page, pattern, value)
    page = _splice(page, r'govuk:ga4-base-path" content="([^"]*)"', doc.path, required=False)
    return page.encode("utf-8")


@cache
def _template(name: str) -> str:
    """Return a fixture page without its provenance comment (it describes the fixture itself)."""
    text = (FIXTURES / name).read_text(encoding="utf-8")
    return text[text.index("<!DOCTYPE html>") :]


def _splice(
    text: str,
    pattern: str,
    value: str | Callable[[str], str],
    *,
    every: bool = False,
    required: bool = True,
) -> str:
    """Replace group 1 of the first (or every) match of `pattern` with `value` or value(group)."""

    def put(match: re.Match[str]) -> str:
        start, end = match.start(1) - match.start(), match.end(1) - match.start()
        new = value(match[1]) if callable(value) else value
        return match[0][:start] + new + match[0][end:]

    result, count = re.subn(pattern, put, text, count=0 if every else 1, flags=re.S)
    assert count or not required, f"template has no match for {pattern!r}"
    return result


def _items(item: str, fillers: list[Callable[[str], str]]) -> Callable[[str], str]:
    """Replace a run of repeated items with one filled-in copy of the first item per filler."""

    def replace(inner: str) -> str:
        found = list(re.finditer(item, inner, flags=re.S))
        assert found, f"template has no items matching {item!r}"
        items = "".join(fill(found[0][0]) for fill in fillers)
        return inner[: found[0].start()] + items + inner[found[-1].end() :]

    return replace


def _documents(spec: SiteSpec) -> Callable[[str], str]:
    entries: list[tuple[str, str, tuple[str, ...]]] = [
        (d.title, d.path, ("HTML",)) for d in spec.docs
    ]
    entries += [(file.title, file.path, file.attributes) for file in spec.files]
    kinds = ["type", "file-size", "page-length"] if spec.era == "2021" else []

    def filler(
        index: int, title: str, path: str, attributes: tuple[str, ...]
    ) -> Callable[[str], str]:
        def fill(item: str) -> str:
            spans = [
                f'<span class="{kinds[i] if i < len(kinds) else "gem-c-attachment__attribute"}">'
                f"{html.escape(value)}</span>"
                for i, value in enumerate(attributes)
            ]
            item = _splice(item, r'href="([^"]*)"', path, every=True)
            item = _splice(item, r"<h3[^>]*>\s*<a[^>]*>(.*?)</a>", html.escape(title))
            item = _splice(item, r'id="attachment_(\d+)"', str(5678101 + index), required=False)
            return _splice(item, r'(<span class="[^"]*">HTML</span>)', ", ".join(spans))

        return fill

    item = (
        r'\s*<section (?:class="attachment embedded"|data-module="ga4-link-tracker").*?</section>'
    )
    return _items(item, [filler(i, *entry) for i, entry in enumerate(entries)])


def _change_notes(spec: SiteSpec) -> Callable[[str], str]:
    def filler(when: datetime, note: str) -> Callable[[str], str]:
        def fill(item: str) -> str:
            item = _splice(item, r'datetime="([^"]*)"', _timestamp(when))
            item = _splice(item, r"<time[^>]*>(.*?)</time>", _display(when.date()))
            return _splice(item, r'__change-note">(.*?)</p>', html.escape(note))

        return fill

    item = r'\s*<li class="(?:app|gem)-c-published-dates__change-item">.*?</li>'
    return _items(item, [filler(when, note) for when, note in spec.change_notes])


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
            item = _splice(item, pattern, value, required=False)
        return _splice(item, r"<a [^>]*>(.*?)</a>", html.escape(label))

    return fill


def _document_body(doc: DocSpec) -> str:
    """Render govspeak as Whitehall does: blocks separated by blank lines, kramdown heading ids."""
    seen: set[str] = set(re.findall(r'id="([^"]*)"', doc.intro_html))
    blocks = [doc.intro_html] if doc.intro_html else []
    for stage in doc.stages:
        heading = html.escape(stage.heading, quote=False)
        blocks += [f'<h2 id="{_kramdown_id(stage.heading, seen)}">{heading}</h2>']
        blocks += [stage.intro_html] if stage.intro_html else []
        for org in stage.orgs:
            name = html.escape(org.name, quote=False)
            if org.heading_link and org.url:
                name = f'<a{_rel(org.url)} href="{html.escape(org.url)}">{name}</a>'
            blocks += [f'<h3 id="{_kramdown_id(org.name, seen)}">{name}</h3>', org.description_html]
    return "\n\n".join(blocks) + "\n"


def _kramdown_id(text: str, seen: set[str]) -> str:
    """Return kramdown's automatic id for a heading, with -1, -2, ... for repeats."""
    base = re.sub(r"[^a-zA-Z0-9 -]", "", re.sub(r"^[^a-zA-Z]+", "", text)).replace(" ", "-")
    anchor, number = base.lower(), 0
    while anchor in seen:
        number += 1
        anchor = f"{base.lower()}-{number}"
    seen.add(anchor)
    return anchor


def _rel(url: str) -> str:
    """Govspeak marks links off GOV.UK with rel="external"."""
    return "" if url.startswith("https://www.gov.uk/") else ' rel="external"'


def _era_links(govspeak: str, era: Era) -> str:
    """Whitehall added class="govuk-link" to every govspeak link from 2019 to August 2025."""
    if era != "2021":
        return govspeak
    return re.sub(r"<a ((?:(?!class=)[^>])*)>", r'<a \1 class="govuk-link">', govspeak)


def _from_links(spec: SiteSpec) -> str:
    """Organisation links joined like Ruby's to_sentence, quoted as each era's app quotes them."""
    link = (
        '<a class="govuk-link" href="/government/organisations/{1}">{0}</a>'
        if spec.era == "2021"
        else "<a href='/government/organisations/{1}' class='govuk-link'>{0}</a>"
    )
    links = [link.format(html.escape(name), slug) for name, slug in spec.from_organisations]
    return " and ".join([", ".join(links[:-1]), links[-1]] if len(links) > 1 else links)


def _json_ld(spec: SiteSpec, base_url: str) -> str:
    data = {
        "@context": "http://schema.org",
        "@type": "Article",
        "mainEntityOfPage": {"@type": "WebPage", "@id": base_url + PUBLICATION_PATH},
        "name": spec.title,
        "datePublished": f"{spec.published.isoformat()}T00:00:00.000+00:00",
        "dateModified": _timestamp(spec.change_notes[0][0]) if spec.change_notes else "",
        "text": spec.description,
    }
    return json.dumps(data, indent=2, ensure_ascii=False).replace("</", "<\\/")


def _display(day: date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _timestamp(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds")


# --- the site as it stands ------------------------------------------------------------------


def default_site(era: Era = "2021") -> SiteSpec:
    """Return the site as it stands: 7 documents, 3 change notes, last updated 1 December 2021."""
    updated = date(2021, 12, 1)
    publication = _template("publication_2021-12.html")
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
    inner = _template(name).split('<div class="govspeak">', 1)[1].split("</div>", 1)[0]
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
        f'<h2 id="{_kramdown_id("Introduction to " + topic, set())}">Introduction to {topic}</h2>'
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
        link = f'<a{_rel(url)} href="{url}">{html.escape(link_text)}</a>' if url else ""
        description = "<p>" + sentence.strip().replace("{}", link) + "</p>"
        stages[int(number) - 1].append(OrgSpec(name, url, description))
    return stages
