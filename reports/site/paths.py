"""Where each page of the site lives, and links between pages. Pure.

An organisation's page is named after the name it was first seen under (plus a short hash of its
key when another organisation was first seen under the same name), so a rename never moves it.
Every other name it has held gets a page too: a redirect to it, or, when several organisations
have held that name, a page listing them. Every link is relative, so the folder works from any
host, any sub-path, or a file share.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from changes.timeline import OrganisationHistory
from reports.site.model import Step
from scraper.page import HtmlDocument

INDEX: Final = "index.html"
CHANGES: Final = "changes/index.html"
ORGANISATIONS: Final = "organisations/index.html"
DOWNLOADS: Final = "downloads.html"
STYLESHEET: Final = "assets/site.css"
SCRIPT: Final = "assets/search.js"
ORGANISATIONS_CSV: Final = "organisations.csv"
CHANGES_JSON: Final = "changes.json"
FEED: Final = "feed.atom"
_MAX_SLUG: Final = 60
_RESERVED: Final = frozenset({"index"})


def slugify(text: str, *, fallback: str = "page") -> str:
    """Return a file-name-safe slug: ASCII lowercase words joined by hyphens, at most 60 chars."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    slug = "-".join(words)[:_MAX_SLUG].strip("-")
    return slug or fallback


def relative(target: str, page: str) -> str:
    """Return the link from `page` to `target` (both site paths such as "organisations/x.html")."""
    target, hash_sign, fragment = target.partition("#")
    if not target:
        return hash_sign + fragment
    folder = page.rpartition("/")[0]
    rest = target[len(folder) + 1 :] if folder else target
    if (not folder or target.startswith(folder + "/")) and "/" not in rest:
        return rest + hash_sign + fragment
    return "../" * page.count("/") + target + hash_sign + fragment


def change_set_path(run: int) -> str:
    """Return the path of the page of the change set a run found."""
    return f"changes/{run}.html"


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:6]


@dataclass(frozen=True, slots=True)
class Alias:
    """A page for a name that is not an organisation's own slug: who held that name."""

    path: str
    name: str
    keys: tuple[str, ...]  # one: a redirect; several: a page listing them


class SitePaths:
    """The path of every page, decided once for the whole site."""

    def __init__(self, organisations: Sequence[OrganisationHistory], steps: Sequence[Step]) -> None:
        self._organisations = self._organisation_slugs(organisations)
        self.aliases = self._alias_pages(organisations)
        self._documents = self._document_slugs(steps)

    @staticmethod
    def _organisation_slugs(organisations: Sequence[OrganisationHistory]) -> dict[str, str]:
        """First seen, first served: the plain slug goes to the first organisation seen with it."""
        slugs: dict[str, str] = {}
        taken: set[str] = set(_RESERVED)
        for history in organisations:
            base = slugify(history.first_name, fallback="organisation")
            slug = base
            if slug in taken:
                slug = f"{base}-{history.key[:6]}"
            if slug in taken:
                slug = f"{base}-{history.key}"
            taken.add(slug)
            slugs[history.key] = slug
        return slugs

    def _alias_pages(self, organisations: Sequence[OrganisationHistory]) -> tuple[Alias, ...]:
        own = set(self._organisations.values()) | _RESERVED
        holders: defaultdict[str, list[str]] = defaultdict(list)
        names: dict[str, str] = {}
        for history in organisations:
            for name in history.names:
                slug = slugify(name, fallback="organisation")
                if slug not in own and history.key not in holders[slug]:
                    holders[slug].append(history.key)
                    names.setdefault(slug, name)
        return tuple(
            Alias(f"organisations/{slug}.html", names[slug], tuple(keys))
            for slug, keys in holders.items()
        )

    @staticmethod
    def _document_slugs(steps: Sequence[Step]) -> dict[str, str]:
        """Name each document page after the last segment of its URL (GOV.UK's own slug)."""
        urls: dict[str, None] = {}  # first seen first: a newcomer never takes an older page's name
        for step in steps:
            pages = step.state.pages
            urls.update(
                (url, None) for url in sorted(pages) if isinstance(pages[url], HtmlDocument)
            )
        slugs: dict[str, str] = {}
        taken: set[str] = set(_RESERVED)
        for url in urls:
            base = slugify(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1], fallback="document")
            slug = base if base not in taken else f"{base}-{_short_hash(url)}"
            taken.add(slug)
            slugs[url] = slug
        return slugs

    def organisation(self, key: str) -> str:
        """Return the path of an organisation's page."""
        return f"organisations/{self._organisations[key]}.html"

    def document(self, url: str) -> str:
        """Return the path of a document's page."""
        return f"documents/{self._documents[url]}.html"

    @staticmethod
    def step(step: Step, *, index: int) -> str:
        """Return the path of a change set's page (named by run id; by position without one)."""
        return change_set_path(step.run) if step.run is not None else f"changes/n{index}.html"

    @staticmethod
    def state(step: Step, *, index: int) -> str:
        """Return the path of the page showing the list as of a step."""
        return f"states/{step.run if step.run is not None else f'n{index}'}.html"
