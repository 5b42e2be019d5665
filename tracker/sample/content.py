"""The sample site as it stands: `default_site(era)`, read from the pages of `pages/`.

Seven documents: the two whose GOV.UK pages are in `pages/` exactly as there, five more with the
invented organisations of `pages/generated_documents.txt`; three change notes, last updated
1 December 2021 (what is real and what is invented: `pages/README.md`).
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime

from tracker.sample.spec import (
    PAGES,
    STAGES,
    DocSpec,
    Era,
    OrgSpec,
    SiteSpec,
    StageSpec,
    kramdown_id,
    rel,
    template,
)

__all__ = ["default_site"]

_GOVUK_ORGANISATIONS = "https://www.gov.uk/government/organisations/"


def default_site(era: Era = "2021") -> SiteSpec:
    """Return the site as it stands: 7 documents, 3 change notes, last updated 1 December 2021."""
    updated = date(2021, 12, 1)
    publication = template("publication_2021-12.html")
    listed = re.findall(
        r'<h3 class="title[^"]*"><a [^>]*href="[^"]*/([^"/]+)">([^<]+)</a>', publication
    )
    docs = []
    for slug, title in listed:
        page = next(PAGES.glob(f"html_{slug[:30]}*_2021-12.html"), None)
        if page is not None:
            docs.append(_doc_from_page(page.name, slug, html.unescape(title), updated))
        else:
            docs.append(_generated_doc(slug, html.unescape(title), updated))
    details = _search(r'<section id="details">.*?<div class="govspeak">(.*?)</div>', publication)
    notes = re.findall(r'datetime="([^"]*)">.*?__change-note">(.*?)</p>', publication, re.S)
    lead = _search(r'<p class="gem-c-lead-paragraph">(.*?)</p>', publication)
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


def _search(pattern: str, text: str) -> re.Match[str]:
    match = re.search(pattern, text, re.S)
    if match is None:
        raise ValueError(f"sample page has no match for {pattern!r}")
    return match


def _doc_from_page(name: str, slug: str, title: str, updated: date) -> DocSpec:
    """Read a page's govspeak body back into specs, keeping each block's markup as written."""
    inner = template(name).split('<div class="govspeak">', 1)[1].split("</div>", 1)[0]
    chunks = re.split(r"(?=<h[23][ >])", inner.replace(' class="govuk-link"', ""))
    doc = DocSpec(slug, title, updated, chunks[0].strip(), [])
    for i, chunk in enumerate(chunks[1:], 1):
        match = _search(r"\A<(h[23])[^>]*>(.*?)</\1>(.*)", chunk)
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
    data = (PAGES / "generated_documents.txt").read_text(encoding="utf-8")
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
