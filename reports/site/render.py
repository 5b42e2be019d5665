"""Render the whole site from a SiteModel: every page, the stylesheet, the script and the downloads.

Pure: `render_site(model)` returns {site path: bytes}; writing them out is the caller's job. Pages
are Jinja2 templates with autoescape on, so page text is always text; only http(s) URLs become
links outside the site.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import cache, partial
from importlib import resources
from typing import TYPE_CHECKING, Any, Final

from markupsafe import Markup

from reports.formats.html import render_html_fragment
from reports.formats.wording import clean, format_time
from reports.site import downloads, paths
from reports.site.model import SiteModel
from reports.site.paths import SitePaths, relative
from reports.site.timeline_page import organisation_pages
from reports.site.views import (
    affected_organisations,
    document_pages,
    documents_of,
    former_organisations,
    organisations_by_stage,
    publication_views,
    step_views,
)
from reports.templating import template_environment

if TYPE_CHECKING:
    from jinja2 import Environment

NAVIGATION: Final = (
    ("The guidance now", paths.INDEX),
    ("Changes", paths.CHANGES),
    ("Organisations", paths.ORGANISATIONS),
    ("Downloads", paths.DOWNLOADS),
)
LATEST: Final = 5  # change sets on the front page


@cache
def _environment() -> Environment:
    environment = template_environment("site/templates")
    environment.filters["clean"] = clean
    environment.filters["iso"] = _iso
    environment.filters["moment"] = format_time
    environment.filters["slug"] = paths.slugify
    environment.globals["item_id"] = downloads.item_id
    return environment


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Renderer:
    """Renders pages of one site: the context every page shares, and one method per kind."""

    def __init__(self, model: SiteModel) -> None:
        self.model = model
        self.paths = SitePaths(model.timeline.organisations, model.steps)
        self.steps = step_views(model, self.paths)
        self.shared = {
            "site": {
                "title": clean(model.title),
                "generated": format_time(model.generated_at),
                "publications": self._publication_links(),
            },
            "navigation": NAVIGATION,
            "paths_stylesheet": paths.STYLESHEET,
            "paths_feed": paths.FEED,
            "changes_path": paths.CHANGES,
            "organisations_path": paths.ORGANISATIONS,
        }

    def _publication_links(self) -> list[tuple[str, str]]:
        if not self.model.steps:
            return []
        views = publication_views(self.model, len(self.model.steps) - 1, self.paths)
        return [(view.title, view.url) for view in views]

    def page(
        self, path: str, template: str, *, title: str, section: str | None, **values: Any
    ) -> tuple[str, bytes]:
        link: Callable[[str], str] = partial(relative, page=path)
        base = self.model.base_url
        context = {
            **self.shared,
            **values,
            "link": link,
            "page_title": title,
            "section": section,
            "canonical": base.rstrip("/") + "/" + path if base else None,
        }
        html = _environment().get_template(template).render(context)
        return path, html.encode("utf-8")

    def index(self) -> tuple[str, bytes]:
        last = len(self.steps) - 1
        publications = publication_views(self.model, last, self.paths)
        listed = sum(1 for h in self.model.timeline.organisations if h.is_listed)
        totals = {
            "organisations": listed,
            "documents": sum(1 for p in publications for d in p.documents if d.path),
            "steps": len(self.steps),
        }
        return self.page(
            paths.INDEX,
            "index.html.j2",
            title="The guidance now",
            section=paths.INDEX,
            publications=publications,
            totals=totals,
            first=self.steps[0],
            now=self.steps[last],
            latest=list(reversed(self.steps[-LATEST:])),
        )

    def changes(self) -> tuple[str, bytes]:
        return self.page(
            paths.CHANGES,
            "changes.html.j2",
            title="Every change set",
            section=paths.CHANGES,
            steps=list(reversed(self.steps)),
        )

    def change_sets(self) -> Iterator[tuple[str, bytes]]:
        for index, (step, view) in enumerate(zip(self.model.steps, self.steps, strict=True)):
            values = {
                "step": view,
                "previous": self.steps[index - 1] if index else None,
                "next": self.steps[index + 1] if index + 1 < len(self.steps) else None,
                "interval": (step.seen_after, step.at) if step.seen_after and step.at else None,
                "baseline": step.report.changeset.is_baseline,
            }
            yield self.page(
                view.path,
                "change.html.j2",
                title=f"Changes seen {view.when}",
                section=paths.CHANGES,
                report_html=Markup(render_html_fragment(step.report)),  # noqa: S704 (escaped by reports)
                affected=affected_organisations(self.model.timeline, step, self.paths),
                **values,
            )
            yield self.page(
                view.state_path,
                "state.html.j2",
                title=f"The list as of {view.when}",
                section=None,
                publications=publication_views(self.model, index, self.paths),
                run=step.run,
                **values,
            )

    def documents(self) -> Iterator[tuple[str, bytes]]:
        first = self.steps[0]
        for document in document_pages(self.model, self.steps, self.paths):
            yield self.page(
                self.paths.document(document.url),
                "document.html.j2",
                title=document.title,
                section=None,
                document=document,
                first_seen=first,
            )

    def organisations(self) -> Iterator[tuple[str, bytes]]:
        timeline = self.model.timeline
        groups = organisations_by_stage(self.model, self.paths)
        former = former_organisations(timeline, self.paths)
        documents = sorted(
            {d for h in timeline.organisations if h.is_listed for d in documents_of(h)}
        )
        yield self.page(
            paths.ORGANISATIONS,
            "organisations.html.j2",
            title="Organisations",
            section=paths.ORGANISATIONS,
            groups=groups,
            former=former,
            stages=[group.stage for group in groups],
            documents=documents,
            search_index=Markup(downloads.search_index(timeline, groups, former)),  # noqa: S704 (JSON escaped for <script>)
        )
        steps = self.steps
        for path, values in organisation_pages(self.model, steps, self.paths):
            yield self.page(path, "organisation.html.j2", section=paths.ORGANISATIONS, **values)
        by_key = timeline.by_key()
        for alias in self.paths.aliases:
            targets = [
                {"name": clean(by_key[key].name), "path": self.paths.organisation(key)}
                for key in alias.keys
            ]
            yield self.page(
                alias.path,
                "alias.html.j2",
                title=clean(alias.name),
                section=paths.ORGANISATIONS,
                name=clean(alias.name),
                targets=targets,
            )

    def downloads_page(self) -> tuple[str, bytes]:
        return self.page(
            paths.DOWNLOADS, "downloads.html.j2", title="Downloads", section=paths.DOWNLOADS
        )


def _asset(name: str) -> bytes:
    return resources.files("reports").joinpath("site", "static", name).read_bytes()


def render_site(model: SiteModel) -> dict[str, bytes]:
    """Return every file of the site by its path ("index.html", "organisations/x.html", ...).

    Raises:
        ValueError: the model has no steps (nothing stored yet).
    """
    if not model.steps:
        raise ValueError("no stored states to build a site from")
    renderer = _Renderer(model)
    files: dict[str, bytes] = dict(
        [
            renderer.index(),
            renderer.changes(),
            renderer.downloads_page(),
            *renderer.change_sets(),
            *renderer.documents(),
            *renderer.organisations(),
        ]
    )
    files[paths.STYLESHEET] = _asset("site.css")
    files[paths.SCRIPT] = _asset("search.js")
    csv_text = downloads.organisations_csv(model, renderer.paths)
    files[paths.ORGANISATIONS_CSV] = csv_text.encode("utf-8")
    files[paths.CHANGES_JSON] = downloads.changes_json(model).encode("utf-8")
    files[paths.FEED] = downloads.feed(model).encode("utf-8")
    return files
