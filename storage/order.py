"""Runs in time order (DESIGN §4): the one place that says what "newest", "before" and "at or
before" mean.

A live run's time is its start; an archive run's (`backfill`) is the capture time it replays. Ids
only identify runs: `backfill` inserts archive runs, with new ids, years before the live runs
already stored. So runs are ordered by (started_at, id): time first, the id only to break a tie
between runs that started in the same instant. A page's version belongs to its run's place in
that order, and "a page's newest version at or before a run" is the version of the latest run, in
that order, that stored one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from storage.tables import Page as PageRow
from storage.tables import PageVersion, Run

NEWEST_FIRST: Final = (Run.started_at.desc(), Run.id.desc())
OLDEST_FIRST: Final = (Run.started_at.asc(), Run.id.asc())


def position(run: Run) -> tuple[datetime, int]:
    """Return where `run` stands in time order, for comparing runs in Python."""
    return run.started_at, run.id


def at_or_before(run: Run) -> ColumnElement[bool]:
    """Return the condition "a `Run` row is `run` or earlier in time order"."""
    return or_(
        Run.started_at < run.started_at,
        and_(Run.started_at == run.started_at, Run.id <= run.id),
    )


def before(run: Run) -> ColumnElement[bool]:
    """Return the condition "a `Run` row is earlier than `run` in time order"."""
    return or_(
        Run.started_at < run.started_at,
        and_(Run.started_at == run.started_at, Run.id < run.id),
    )


def after(run: Run) -> ColumnElement[bool]:
    """Return the condition "a `Run` row is later than `run` in time order"."""
    return or_(
        Run.started_at > run.started_at,
        and_(Run.started_at == run.started_at, Run.id > run.id),
    )


def newest_versions(run: Run | None = None, *, kind: str | None = None) -> Select[Any]:
    """Return a query of the ids of each page's newest version at or before `run` (None: of
    all), in time order; only pages of `kind` when given.

    Ties (a page stored twice by one run) go to the later version.
    """
    rank = (
        func.row_number()
        .over(
            partition_by=PageVersion.page_id,
            order_by=(Run.started_at.desc(), Run.id.desc(), PageVersion.id.desc()),
        )
        .label("rank")
    )
    ranked = select(PageVersion.id.label("id"), rank).join(Run, Run.id == PageVersion.run_id)
    if run is not None:
        ranked = ranked.where(at_or_before(run))
    if kind is not None:
        ranked = ranked.join(PageRow, PageRow.id == PageVersion.page_id).where(PageRow.kind == kind)
    found = ranked.subquery("ranked")
    return select(found.c.id).where(found.c.rank == 1)
