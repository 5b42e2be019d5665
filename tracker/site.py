"""Build the browsable change-history site from the store (DESIGN §13): read, render, swap in.

`rebuild_site(config)` is what `site build` and the `site` outbox channel call. The store is read
only through the read API (`storage.queries`, `tracker.states`), in the store's own run order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from changes import diff
from changes.changeset import State
from changes.follow import build_timeline
from changes.timeline import TimedState, Timeline
from reports.model import Problem, Report
from reports.site import SiteModel, Step, render_site
from scraper.page import Page, Publication, UpdateEntry
from storage import queries
from storage.statuses import Trigger
from storage.tables import Run
from tracker.app import open_database
from tracker.config import Config
from tracker.errors import UsageError
from tracker.links import site_page_url
from tracker.outgoing import problems_of_run
from tracker.site_files import write_site
from tracker.states import (
    count_stored,
    newest_notes,
    rebaseline,
    resolved_state,
    with_checked_publications,
)

GENERAL_TITLE = "GOV.UK guidance"  # the site's title when it tracks several publications


@dataclass(frozen=True, slots=True)
class SiteBuildResult:
    """What a site build wrote."""

    path: Path
    files: int
    pages: int  # HTML pages among the files
    organisations: int  # organisations with a page (listed now or before)
    change_sets: int
    seconds: float  # wall time of the whole build: read, render, write


def _same_pages(old: Mapping[str, Page], new: Mapping[str, Page]) -> bool:
    # The store decodes each version once per session, so an unchanged page is the same object.
    return old.keys() == new.keys() and all(
        old[url] is new[url] or old[url] == new[url] for url in new
    )


def site_title(pages: Mapping[str, Page]) -> str:
    """Return the site's title: the publication's own, or a general one for several."""
    titles = [page.title for page in pages.values() if isinstance(page, Publication)]
    return titles[0] if len(titles) == 1 else GENERAL_TITLE


@dataclass(frozen=True, slots=True)
class History:
    """The steps of the history and the timeline of its distinct states."""

    steps: tuple[Step, ...]
    timeline: Timeline


@dataclass(frozen=True, slots=True)
class RunState:
    """A finished run as the site sees it: its state, its problems and what started it."""

    state: State
    problems: tuple[Problem, ...] = ()
    trigger: str = Trigger.MANUAL
    parser_versions: Mapping[str, int] = field(default_factory=dict)  # by page URL


def history_of(
    runs: Iterable[RunState], *, newest_notes: Mapping[str, tuple[UpdateEntry, ...]] | None = None
) -> History:
    """Return the steps and timeline of finished runs given oldest first.

    A run whose state equals the one before is left out unless it had problems. An archive run's
    changes are known only to lie between the run before it and its capture. `newest_notes`
    (`tracker.states.newest_notes`) clears the silent flag of a change whose note came late. A
    page parsed by another parser version than before is compared as unchanged (re-baselined,
    as `diff` does).
    """
    steps: list[Step] = []
    distinct: list[TimedState] = []
    previous: State | None = None
    previous_versions: Mapping[str, int] = {}
    previous_at: datetime | None = None
    for run in runs:
        state = run.state
        if previous is not None:
            previous = rebaseline(previous, previous_versions, state, run.parser_versions)
        changed = previous is None or not _same_pages(previous.pages, state.pages)
        seen_after = previous_at if run.trigger == Trigger.ARCHIVE else None
        previous_at = state.at
        if not (changed or run.problems):
            continue
        if changed:
            distinct.append(TimedState(state, seen_after))
        organisations, _ = count_stored(state.pages)
        report = Report(
            changeset=diff(previous, state, newest_notes=newest_notes),
            title=site_title(state.pages),
            problems=run.problems,
            organisation_count=organisations,
            page_count=len(state.pages),
        )
        steps.append(Step(report, state, len(distinct) - 1, seen_after, run.trigger))
        if changed:
            previous, previous_versions = state, run.parser_versions
    if not steps:
        raise UsageError("no finished runs stored yet: run `lifesci-tracker run` first")
    return History(tuple(steps), build_timeline(distinct))


def load_history(session: Session) -> History:
    """Read every finished run's state from the store, oldest first (in the store's run order)."""

    decoded: dict[int, Page] = {}  # each version decoded once, whichever states hold it

    def run_state(run: Run) -> RunState:
        resolved = resolved_state(session, run, decoded)
        return RunState(
            with_checked_publications(session, run, resolved.state),
            problems_of_run(session, run.id),
            run.trigger,
            resolved.parser_versions,
        )

    runs = reversed(queries.finished_runs(session))
    return history_of(map(run_state, runs), newest_notes=newest_notes(session))


def build_model(session: Session, config: Config, *, now: datetime) -> SiteModel:
    """Return everything the site shows, read from the store."""
    history = load_history(session)
    return SiteModel(
        title=site_title(history.steps[-1].state.pages),
        steps=history.steps,
        timeline=history.timeline,
        generated_at=now,
        publication_urls=tuple(config.source.urls),
        base_url=config.site.base_url,
    )


def rebuild_site(
    config: Config,
    *,
    target: Path | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    sessions: sessionmaker[Session] | None = None,
) -> SiteBuildResult:
    """Build the site from the store into `target` (default `[site] dir`), then swap it in whole.

    What `site build` runs, and what the `site` outbox channel calls after a run with changes
    (passing the run's own `sessions`; without them the configured database is opened).

    Raises:
        UsageError: nothing stored yet, or `target` holds files this tool did not write.
    """
    started = time.perf_counter()
    folder = Path(target if target is not None else config.site.dir)
    if sessions is not None:
        with sessions() as session:
            model = build_model(session, config, now=clock())
    else:
        database = open_database(config, create=False)
        try:
            with database.sessions() as session:
                model = build_model(session, config, now=clock())
        finally:
            database.engine.dispose()
    files = render_site(model)
    write_site(folder, files, built_at=model.generated_at)
    return SiteBuildResult(
        path=folder,
        files=len(files),
        pages=sum(1 for name in files if name.endswith(".html")),
        organisations=len(model.timeline.organisations),
        change_sets=len(model.steps),
        seconds=time.perf_counter() - started,
    )


def change_set_url(config: Config, run: int) -> str | None:
    """Return the published address of a run's change-set page, when `[site] base_url` is set."""
    return site_page_url(config.site.base_url, run)
