"""Runs are ordered by time, not by id (DESIGN §4), on SQLite and PostgreSQL.

`backfill` inserts archive runs years older than the live runs already stored, with higher ids.
Every read that means "newest", "previous" or "at or before" must follow the runs' times: refs,
states, the page state a live run compares with, its conditional-GET validators, problem streaks.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from scraper.page import HtmlDocument, Page
from storage import queries, snapshots
from storage.db import create_db_engine, make_sessionmaker, upgrade
from storage.statuses import Outcome, RunStatus, Trigger
from storage.tables import Page as PageRow
from storage.tables import Run
from tests.test_storage import DOC, PUB, document, publication, record

LIVE = datetime(2022, 1, 10, 7, 0, tzinfo=UTC)
ARCHIVED = datetime(2019, 3, 1, 10, 0, tzinfo=UTC)
LATER_ARCHIVED = datetime(2020, 2, 3, 10, 0, tzinfo=UTC)


@pytest.fixture
def sessions(database_url: str) -> sessionmaker[Session]:
    engine = create_db_engine(database_url)
    upgrade(engine)
    return make_sessionmaker(engine)


def add_run(
    session: Session,
    at: datetime,
    *pages: tuple[str, Page],
    trigger: Trigger = Trigger.ARCHIVE,
    fetched: snapshots.Fetched | None = None,
) -> Run:
    """A finished run started at `at` storing `pages` ((url, page) pairs)."""
    run = snapshots.start_run(session, trigger=trigger, now=at, pid=None)
    for url, page in pages:
        body = f"<html>{url} at {at}</html>".encode()
        record(session, run, url, page, body, now=at, fetched=fetched)
    run.status, run.finished_at = RunStatus.OK, at + timedelta(minutes=1)
    session.flush()
    return run


@pytest.fixture
def mixed(sessions: sessionmaker[Session]) -> dict[str, int]:
    """A live run (id 1) stored first, then two archive runs years older (ids 2 and 3)."""
    with sessions.begin() as session:
        live = add_run(
            session,
            LIVE,
            (PUB, publication(DOC, notes=3)),
            (DOC, document("AMRC", "CPRD", "MHRA")),
            trigger=Trigger.MANUAL,
            fetched=snapshots.Fetched(http_status=200, etag='"live"'),
        )
        first = add_run(session, ARCHIVED, (PUB, publication(DOC)), (DOC, document("AMRC")))
        second = add_run(
            session,
            LATER_ARCHIVED,
            (PUB, publication(DOC, notes=2)),
            (DOC, document("AMRC", "CPRD")),
            fetched=snapshots.Fetched(http_status=200),
        )
        return {"live": live.id, "first": first.id, "second": second.id}


def test_runs_are_listed_newest_first_by_time(
    sessions: sessionmaker[Session], mixed: dict[str, int]
) -> None:
    with sessions() as session:
        assert [r.id for r in queries.finished_runs(session)] == [
            mixed["live"],
            mixed["second"],
            mixed["first"],
        ]
        assert [r.id for r in queries.all_runs(session, limit=2)] == [
            mixed["live"],
            mixed["second"],
        ]
        live = session.get_one(Run, mixed["live"])
        previous = queries.previous_finished_run(session, live)
        assert previous is not None
        assert previous.id == mixed["second"]
        assert queries.previous_finished_run(session, session.get_one(Run, mixed["first"])) is None


def test_refs_resolve_in_time_order(sessions: sessionmaker[Session], mixed: dict[str, int]) -> None:
    with sessions() as session:
        assert queries.resolve_ref(session, "latest").id == mixed["live"]
        assert queries.resolve_ref(session, "latest~1").id == mixed["second"]
        assert queries.resolve_ref(session, "latest~2").id == mixed["first"]
        assert queries.resolve_ref(session, "2019-12-31").id == mixed["first"]
        assert queries.resolve_ref(session, "2021-12-31").id == mixed["second"]


def test_a_state_holds_each_pages_newest_version_by_time(
    sessions: sessionmaker[Session], mixed: dict[str, int]
) -> None:
    with sessions.begin() as session:
        earliest = add_run(session, ARCHIVED - timedelta(days=30), (PUB, publication(DOC))).id
    with sessions() as session:
        at_live = queries.state_at(session, session.get_one(Run, mixed["live"]))
        at_second = queries.state_at(session, session.get_one(Run, mixed["second"]))
        at_earliest = queries.state_at(session, session.get_one(Run, earliest))
    # The live run's versions, although the archive runs' have higher ids.
    assert [o.name for o in at_live.pages[DOC].organisations] == ["AMRC", "CPRD", "MHRA"]
    assert [o.name for o in at_second.pages[DOC].organisations] == ["AMRC", "CPRD"]
    # Nothing from later runs: the document was listed, but not yet copied.
    assert list(at_earliest.pages) == [PUB]


def test_a_live_run_compares_with_the_newest_version_by_time_and_its_validators(
    sessions: sessionmaker[Session], mixed: dict[str, int]
) -> None:
    with sessions() as session:
        state = snapshots.page_states(session)[DOC]
        live = snapshots.page_state(session, DOC)
        archived = snapshots.page_state_at(session, DOC, session.get_one(Run, mixed["second"]))
        live_page = snapshots.load_page(session, live)
        archived_page = snapshots.load_page(session, archived)
    assert state == live
    assert live.etag == '"live"'  # the archive's responses carry none, and are older
    assert isinstance(live_page, HtmlDocument)
    assert isinstance(archived_page, HtmlDocument)
    assert (len(live_page.organisations), len(archived_page.organisations)) == (3, 2)


def test_a_problem_streak_counts_observations_by_their_runs_time(
    sessions: sessionmaker[Session], mixed: dict[str, int]
) -> None:
    with sessions.begin() as session:
        for day in (1, 2):
            run = snapshots.start_run(
                session, trigger=Trigger.SCHEDULE, now=LIVE + timedelta(days=day), pid=None
            )
            snapshots.record_problem(
                session, run=run, url=DOC, kind="html_document", outcome=Outcome.ERROR, now=LIVE
            )
        # An archive run stored afterwards (a higher id) is years older: it breaks no streak.
        add_run(session, LATER_ARCHIVED - timedelta(days=1), (DOC, document("AMRC", "HRA")))
    with sessions() as session:
        assert queries.problem_streak(session, DOC, limit=3) == 2


def test_a_page_seen_by_an_older_run_keeps_when_it_was_last_seen(
    sessions: sessionmaker[Session], mixed: dict[str, int]
) -> None:
    with sessions() as session:
        page = session.scalars(select(PageRow).where(PageRow.url == DOC)).one()
        assert (page.first_seen_at, page.last_seen_at) == (ARCHIVED, LIVE)
