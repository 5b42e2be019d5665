"""Read side of the snapshot store: refs, states at a run, runs and observations."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scraper.page import Page, Publication
from storage.content import decode_version, decode_versions
from storage.errors import RefError
from storage.in_lists import in_chunks
from storage.order import NEWEST_FIRST, at_or_before, before, newest_versions
from storage.statuses import PROBLEM_OUTCOMES, RunStatus
from storage.tables import Observation, OrganisationRow, PageVersion, Run
from storage.tables import Page as PageRow

FINISHED: Final = (RunStatus.OK, RunStatus.PARTIAL)
_LATEST = re.compile(r"^latest(?:~(\d+))?$")


@dataclass(frozen=True, slots=True)
class StoredState:
    """The tracked pages as of one run: each live page URL and its newest version by then."""

    run_id: int
    started_at: datetime
    pages: dict[str, Page]
    # The parser version behind each page's content (see `tracker.states` on re-baselines).
    parser_versions: Mapping[str, int] = field(default_factory=dict)


def finished_runs(session: Session, *, limit: int | None = None) -> list[Run]:
    """Return finished runs (ok or partial), newest first (in time order, `storage.order`)."""
    query = select(Run).where(Run.status.in_(FINISHED)).order_by(*NEWEST_FIRST)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def all_runs(session: Session, *, limit: int | None = None) -> list[Run]:
    """Return every recorded run, newest first (in time order)."""
    query = select(Run).order_by(*NEWEST_FIRST)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def previous_finished_run(session: Session, run: Run) -> Run | None:
    """Return the newest finished run before `run` in time order."""
    return session.scalars(
        select(Run).where(Run.status.in_(FINISHED), before(run)).order_by(*NEWEST_FIRST).limit(1)
    ).first()


def _parse_moment(ref: str) -> datetime | None:
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", ref):
            # A bare date means the end of that day, UTC.
            day = date.fromisoformat(ref)
            return datetime.combine(day, time.max, tzinfo=UTC)
        moment = datetime.fromisoformat(ref.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _why_no_finished_run(session: Session) -> str:
    """Say why no state can be shown yet: no run at all, or what happened to the newest run."""
    newest = all_runs(session, limit=1)
    if not newest:
        return "no runs stored yet: run `lifesci-tracker run` first"
    run = newest[0]
    if run.status == "running":
        return f"no successful run yet (run {run.id} is still running)"
    return f"no successful run yet (run {run.id} failed: {run.error or 'no reason recorded'})"


def resolve_ref(session: Session, ref: str) -> Run:
    """Return the run a ref names: a run id, `latest`, `latest~N` or an ISO date/time."""
    text = ref.strip()
    if not finished_runs(session, limit=1):
        raise RefError(_why_no_finished_run(session))
    if text.isdigit():
        run = session.get(Run, int(text))
        if run is None:
            raise RefError(f"no run with id {text}")
        if run.status not in FINISHED:
            raise RefError(f"run {text} did not finish (status {run.status})")
        return run
    match = _LATEST.match(text)
    if match:
        back = int(match.group(1) or 0)
        runs = finished_runs(session, limit=back + 1)
        if len(runs) <= back:
            raise RefError(f"{text}: only {len(runs)} finished run(s) stored")
        return runs[back]
    moment = _parse_moment(text)
    if moment is None:
        raise RefError(f"not a ref: {ref!r} (use a run id, latest, latest~N or an ISO date)")
    run = session.scalars(
        select(Run)
        .where(Run.status.in_(FINISHED), Run.started_at <= moment)
        .order_by(*NEWEST_FIRST)
        .limit(1)
    ).first()
    if run is None:
        raise RefError(f"{text}: before the first stored run")
    return run


def live_pages(pages: dict[str, Page]) -> dict[str, Page]:
    """Keep the publications and the documents their Documents lists link at that state.

    A document no longer listed drops out of the state, so the diff reports it as removed.
    """
    publications = [p for p in pages.values() if isinstance(p, Publication)]
    listed = {link.url for publication in publications for link in publication.documents}
    return {
        url: page for url, page in pages.items() if isinstance(page, Publication) or url in listed
    }


@dataclass(frozen=True, slots=True)
class StateRow:
    """One page of a state as stored: its newest version by then, not decoded."""

    url: str
    version_id: int
    parser_version: int
    content: bytes


def state_rows(session: Session, run: Run) -> list[StateRow]:
    """Each page's newest version at or before `run`, content still compressed.

    Every stored page, live or not (see `live_pages`).
    """
    rows = session.execute(
        select(PageRow.url, PageVersion.id, PageVersion.parser_version, PageVersion.content)
        .join(PageRow, PageRow.id == PageVersion.page_id)
        .where(PageVersion.id.in_(newest_versions(run)))
    )
    return [StateRow(*row) for row in rows]


@dataclass(frozen=True, slots=True)
class StateVersion:
    """A page of a state, without its content: its newest version, whether a publication."""

    version_id: int
    is_publication: bool
    parser_version: int = 0


def state_versions(session: Session, run: Run) -> dict[str, StateVersion]:
    """Return each page's newest version at or before `run` by URL, without decoding any.

    A publication is a page whose row says so: a URL does not change between being a
    publication (configured) and a document (listed).
    """
    rows = session.execute(
        select(PageRow.url, PageVersion.id, PageRow.kind, PageVersion.parser_version)
        .join(PageRow, PageRow.id == PageVersion.page_id)
        .where(PageVersion.id.in_(newest_versions(run)))
    )
    return {
        url: StateVersion(version_id, kind == "publication", parser_version)
        for url, version_id, kind, parser_version in rows
    }


def version_pages(session: Session, version_ids: Iterable[int]) -> dict[int, Page]:
    """Return the content of the given versions, by version id."""
    wanted = sorted(set(version_ids))
    pages: dict[int, Page] = {}
    for chunk in in_chunks(wanted):
        rows = session.execute(
            select(PageVersion.id, PageVersion.content).where(PageVersion.id.in_(chunk))
        )
        pages.update(decode_versions(session, rows.tuples()))
    return pages


def organisation_counts(session: Session, run: Run) -> dict[int, int]:
    """Return how many organisations each page's newest version at `run` lists, by version id.

    The organisation rows of a version are its document's `organisations`, one row each.
    """
    rows = session.execute(
        select(OrganisationRow.version_id, func.count())
        .where(OrganisationRow.version_id.in_(newest_versions(run)))
        .group_by(OrganisationRow.version_id)
    )
    return dict(rows.tuples().all())


def state_at(session: Session, run: Run, *, decoded: dict[int, Page] | None = None) -> StoredState:
    """Return the state as of `run`: each live page's newest version at or before it.

    `decoded` (the caller's, for the calls it makes: two states of one diff share most versions)
    keeps the versions decoded by an earlier call.
    """
    decoded = {} if decoded is None else decoded
    rows = state_rows(session, run)
    decoded.update(
        decode_versions(
            session, ((r.version_id, r.content) for r in rows if r.version_id not in decoded)
        )
    )
    pages = {row.url: decoded[row.version_id] for row in rows}
    parser_versions = {row.url: row.parser_version for row in rows}
    live = live_pages(pages)
    versions = {url: parser_versions[url] for url in live}
    return StoredState(run.id, run.started_at, live, versions)


def observations_for_run(session: Session, run_id: int) -> Sequence[tuple[Observation, str]]:
    """Return the observations of a run with their page URLs, in the order they were made."""
    rows = session.execute(
        select(Observation, PageRow.url)
        .join(PageRow, PageRow.id == Observation.page_id)
        .where(Observation.run_id == run_id)
        .order_by(Observation.id)
    ).all()
    return [(row[0], row[1]) for row in rows]


def version_raw_body(session: Session, url: str, run: Run) -> tuple[Page, str | None] | None:
    """Return a page's newest version at `run` and the key of its stored raw body."""
    row = session.execute(
        select(PageVersion)
        .join(PageRow, PageRow.id == PageVersion.page_id)
        .join(Run, Run.id == PageVersion.run_id)
        .where(PageRow.url == url, at_or_before(run))
        .order_by(*NEWEST_FIRST, PageVersion.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if row is None:
        return None
    return decode_version(session, row.id, row.content), row.blob_sha256


def problem_streak(session: Session, url: str, *, limit: int) -> int:
    """Return how many of the page's newest observations in a row were problems (at most limit+1).

    Problems are error, anomaly and gone outcomes. Newest by their runs' time order.
    """
    outcomes = session.scalars(
        select(Observation.outcome)
        .join(PageRow, PageRow.id == Observation.page_id)
        .join(Run, Run.id == Observation.run_id)
        .where(PageRow.url == url)
        .order_by(*NEWEST_FIRST, Observation.id.desc())
        .limit(limit + 1)
    )
    streak = 0
    for outcome in outcomes:
        if outcome not in PROBLEM_OUTCOMES:
            break
        streak += 1
    return streak
