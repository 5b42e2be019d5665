"""The sample site's data and the markup helpers every era's renderer shares (`render.py`).

Data: `SiteSpec` > `DocSpec` > `StageSpec` > `OrgSpec` (plain, deep-copyable dataclasses). Helpers:
the pages of `pages/` as templates, splicing values into them, and the HTML Whitehall renders for
every era (govspeak bodies with kramdown heading ids, the Documents list's attachment sections).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Literal

PAGES = Path(__file__).parent / "pages"  # GOV.UK pages of every era: see pages/README.md
PUBLICATION_PATH = "/government/publications/uk-life-sciences-support"
STAGES = (
    "Discovery and deep research",
    "Development and translation",
    "Regulation and assessment",
    "Delivery, supplying the NHS and patients",
    "Launching global access",
)
# The markup eras `render_site` renders, oldest first: Whitehall's frontend (2015 to early 2017),
# government-frontend with static's components (2017-2018), with the components gem (2018-2025),
# and the frontend app (2025 onwards).
Era = Literal["2015", "2017", "2021", "current"]
ERAS: tuple[Era, ...] = ("2015", "2017", "2021", "current")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
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


# --- helpers --------------------------------------------------------------------------------


@cache
def template(name: str) -> str:
    """Return a page of `pages/` without its provenance comment (it describes the file itself)."""
    text = (PAGES / name).read_text(encoding="utf-8")
    return text[text.index("<!DOCTYPE html>") :]


def splice(
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
    if required and not count:
        raise ValueError(f"template has no match for {pattern!r}")
    return result


def items(item: str, fillers: list[Callable[[str], str]]) -> Callable[[str], str]:
    """Replace a run of repeated items with one filled-in copy of the first item per filler."""

    def replace(inner: str) -> str:
        found = list(re.finditer(item, inner, flags=re.S))
        if not found:
            raise ValueError(f"template has no items matching {item!r}")
        filled = "".join(fill(found[0][0]) for fill in fillers)
        return inner[: found[0].start()] + filled + inner[found[-1].end() :]

    return replace


def documents_list(spec: SiteSpec, era: Era) -> Callable[[str], str]:
    """Fill a template's Documents list: one copy of its first attachment section per document,
    then per file (Whitehall's `span.type`/`file-size`/`page-length` until 2024, the gem's
    attachment attributes after)."""
    entries: list[tuple[str, str, tuple[str, ...]]] = [
        (d.title, d.path, ("HTML",)) for d in spec.docs
    ]
    entries += [(file.title, file.path, file.attributes) for file in spec.files]
    kinds = [] if era == "current" else ["type", "file-size", "page-length"]

    def filler(
        index: int, title: str, path: str, attributes: tuple[str, ...]
    ) -> Callable[[str], str]:
        def fill(item: str) -> str:
            spans = [
                f'<span class="{kinds[i] if i < len(kinds) else "gem-c-attachment__attribute"}">'
                f"{html.escape(value)}</span>"
                for i, value in enumerate(attributes)
            ]
            item = splice(item, r'href="([^"]*)"', path, every=True)
            item = splice(item, r"<h[23][^>]*>\s*<a[^>]*>(.*?)</a>", html.escape(title))
            item = splice(item, r'id="attachment_(\d+)"', str(5678101 + index), required=False)
            return splice(item, r'(<span class="[^"]*">HTML</span>)', ", ".join(spans))

        return fill

    item = (
        r'\s*<section (?:class="attachment embedded"|data-module="ga4-link-tracker").*?</section>'
    )
    return items(item, [filler(i, *entry) for i, entry in enumerate(entries)])


def document_body(doc: DocSpec) -> str:
    """Render govspeak as Whitehall does: blocks separated by blank lines, kramdown heading ids."""
    seen: set[str] = set(re.findall(r'id="([^"]*)"', doc.intro_html))
    blocks = [doc.intro_html] if doc.intro_html else []
    for stage in doc.stages:
        heading = html.escape(stage.heading, quote=False)
        blocks += [f'<h2 id="{kramdown_id(stage.heading, seen)}">{heading}</h2>']
        blocks += [stage.intro_html] if stage.intro_html else []
        for org in stage.orgs:
            name = html.escape(org.name, quote=False)
            if org.heading_link and org.url:
                name = f'<a{rel(org.url)} href="{html.escape(org.url)}">{name}</a>'
            blocks += [f'<h3 id="{kramdown_id(org.name, seen)}">{name}</h3>', org.description_html]
    return "\n\n".join(blocks) + "\n"


def kramdown_id(text: str, seen: set[str]) -> str:
    """Return kramdown's automatic id for a heading, with -1, -2, ... for repeats."""
    base = re.sub(r"[^a-zA-Z0-9 -]", "", re.sub(r"^[^a-zA-Z]+", "", text)).replace(" ", "-")
    anchor, number = base.lower(), 0
    while anchor in seen:
        number += 1
        anchor = f"{base.lower()}-{number}"
    seen.add(anchor)
    return anchor


def rel(url: str) -> str:
    """Govspeak marks links off GOV.UK with rel="external"."""
    return "" if url.startswith("https://www.gov.uk/") else ' rel="external"'


def change_filler(when: datetime, note: str, note_pattern: str) -> Callable[[str], str]:
    """Fill one change-history item of a template: its `time` (datetime and date) and its note
    (group 1 of `note_pattern`)."""

    def fill(item: str) -> str:
        item = splice(item, r'datetime="([^"]*)"', timestamp(when))
        item = splice(item, r"<time[^>]*>(.*?)</time>", display(when.date()))
        return splice(item, note_pattern, html.escape(note))

    return fill


def display(day: date, *, padded: bool = False) -> str:
    """GOV.UK's date: "1 December 2021" ("%-d %B %Y"); padded, Whitehall's " 1 December 2021"."""
    return f"{day.day:{'>2' if padded else ''}} {MONTHS[day.month - 1]} {day.year}"


def to_sentence(parts: list[str]) -> str:
    """Ruby's `Array#to_sentence`: "A", "A and B", "A, B and C"."""
    return " and ".join([", ".join(parts[:-1]), parts[-1]] if len(parts) > 1 else parts)


def timestamp(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds")
