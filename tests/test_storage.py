"""Storage on SQLite and PostgreSQL: versions only on change, blobs once, states and refs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from scraper.page import DocumentLink, HtmlDocument, Organisation, Page, Publication, UpdateEntry
from storage import queries, snapshots
from storage.db import create_db_engine, make_sessionmaker, needs_upgrade, upgrade
from storage.errors import RefError
from storage.statuses import Outcome
from storage.tables import Blob, Observation, OrganisationRow, PageVersion, Run, UpdateEntryRow

PUB = "https://www.gov.uk/government/publications/uk-life-sciences-support"
DOC = PUB + "/experimental-medicine-and-clinical-trials"
T0 = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)
T1 = T0 + timedelta(days=1)


def publication(*docs: str, notes: int = 1) -> Publication:
    return Publication(
        url=PUB,
        title="UK life sciences support",
        doc_type="Guidance",
        description="Support for life sciences businesses.",
        from_organisations=("Life Sciences Organisation",),
        published="2015-01-10",
        last_updated="2021-12-01",
        documents=tuple(DocumentLink(f"Doc {d}", d, "html", ("HTML",)) for d in docs),
        updates=tuple(UpdateEntry(f"2021-12-0{i + 1}", f"Note {i}") for i in range(notes)),
        details_text="Details.",
    )


def document(*names: str) -> HtmlDocument:
    return HtmlDocument(
        url=DOC,
        title="Experimental medicine and clinical trials",
        doc_type="Guidance",
        updated="2021-12-01",
        intro_text="Intro.",
        organisations=tuple(
            Organisation(n, f"https://{i}.example", f"About {n}.", "Discovery", "Discovery", (), i)
            for i, n in enumerate(names)
        ),
        text="\n".join(names),
    )


@pytest.fixture
def sessions(database_url: str) -> sessionmaker[Session]:
    engine = create_db_engine(database_url)
    upgrade(engine)
    return make_sessionmaker(engine)


def record(
    session: Session, run: Run, url: str, page: Page, raw: bytes | None, **options: Any
) -> Outcome:
    """Store a parsed page as the pipeline does (parser version 1)."""
    return snapshots.record_page(
        session,
        run=run,
        url=url,
        encoded=snapshots.encode_page(page),
        raw=raw,
        parsed=snapshots.Parsed(1, "fingerprint" if raw else None),
        **options,
    )


def finish(session: Session, run: Run, status: str = "ok") -> None:
    run.status = status
    run.finished_at = run.started_at + timedelta(minutes=1)


def count(session: Session, table: type) -> int:
    return session.scalar(select(func.count()).select_from(table)) or 0


def test_the_schema_is_created_by_upgrade_and_then_current(database_url: str) -> None:
    engine = create_db_engine(database_url)
    assert needs_upgrade(engine)
    upgrade(engine)
    assert not needs_upgrade(engine)


def test_unchanged_content_adds_no_version_and_no_blob(sessions: sessionmaker[Session]) -> None:
    for day in range(2):
        with sessions.begin() as session:
            run = snapshots.start_run(
                session, trigger="manual", now=T0 + timedelta(days=day), pid=1
            )
            outcome = record(
                session,
                run,
                DOC,
                document("AMRC", "CPRD"),
                b"<html>%d" % day,
                now=T0,
            )
            finish(session, run)
        assert outcome == ("new" if day == 0 else "unchanged")
    with sessions() as session:
        assert count(session, PageVersion) == 1
        assert count(session, Blob) == 1
        assert count(session, Observation) == 2
        assert count(session, OrganisationRow) == 2


def test_changed_content_adds_one_version_with_its_rows(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        run = snapshots.start_run(session, trigger="manual", now=T0, pid=1)
        record(session, run, PUB, publication(DOC), b"p", now=T0)
        record(session, run, DOC, document("AMRC"), b"a", now=T0)
        finish(session, run)
    with sessions.begin() as session:
        run = snapshots.start_run(session, trigger="manual", now=T0 + timedelta(days=1), pid=1)
        pub_outcome = record(session, run, PUB, publication(DOC, notes=2), b"p2", now=T0)
        doc_outcome = record(session, run, DOC, document("AMRC", "CPRD"), b"b", now=T0)
        finish(session, run)
    assert (pub_outcome, doc_outcome) == ("changed", "changed")
    with sessions() as session:
        assert count(session, PageVersion) == 4
        assert count(session, UpdateEntryRow) == 3
        first, second = queries.finished_runs(session)[::-1]
        assert next(iter(queries.state_at(session, first).pages[DOC].organisations)).name == "AMRC"
        later = queries.state_at(session, second).pages[DOC]
        assert isinstance(later, HtmlDocument)
        assert [o.name for o in later.organisations] == ["AMRC", "CPRD"]


def test_a_document_no_longer_listed_leaves_the_state(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        run = snapshots.start_run(session, trigger="manual", now=T0, pid=1)
        record(session, run, PUB, publication(DOC), None, now=T0)
        record(session, run, DOC, document("AMRC"), None, now=T0)
        finish(session, run)
    with sessions.begin() as session:
        run = snapshots.start_run(session, trigger="manual", now=T0, pid=1)
        record(session, run, PUB, publication(), None, now=T0)
        finish(session, run)
    with sessions() as session:
        latest = queries.resolve_ref(session, "latest")
        assert DOC not in queries.state_at(session, latest).pages
        assert DOC in queries.state_at(session, queries.resolve_ref(session, "latest~1")).pages


def test_refs_by_id_latest_and_date(sessions: sessionmaker[Session]) -> None:
    ids = []
    for day in range(3):
        with sessions.begin() as session:
            run = snapshots.start_run(
                session, trigger="manual", now=T0 + timedelta(days=day), pid=1
            )
            finish(session, run, "failed" if day == 1 else "ok")
            ids.append(run.id)
    with sessions() as session:
        assert queries.resolve_ref(session, "latest").id == ids[2]
        assert queries.resolve_ref(session, "latest~1").id == ids[0]  # failed runs are skipped
        assert queries.resolve_ref(session, str(ids[0])).id == ids[0]
        assert queries.resolve_ref(session, "2026-11-03").id == ids[0]
        assert queries.resolve_ref(session, "2026-11-04T08:00:00Z").id == ids[2]
        for bad in ("latest~5", "2020-01-01", "999", str(ids[1]), "yesterday"):
            with pytest.raises(RefError):
                queries.resolve_ref(session, bad)


def test_an_empty_database_has_no_refs(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, pytest.raises(RefError, match="no runs stored yet"):
        queries.resolve_ref(session, "latest")


def test_runs_left_running_are_marked_failed(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        killed = snapshots.start_run(session, trigger="manual", now=T0, pid=1).id
    with sessions.begin() as session:
        assert snapshots.fail_stale_runs(session, now=T0) == [killed]
    with sessions() as session:
        run = session.get_one(Run, killed)
        assert run.status == "failed"
        assert run.finished_at == T0


def test_conditional_headers_come_from_the_stored_response(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        run = snapshots.start_run(session, trigger="manual", now=T0, pid=1)
        record(
            session,
            run,
            DOC,
            document("AMRC"),
            b"x",
            now=T0,
            fetched=snapshots.Fetched(http_status=200, etag='"abc"', last_modified="Mon"),
        )
        snapshots.record_problem(
            session,
            run=run,
            url=DOC,
            kind="html_document",
            outcome=Outcome.ERROR,
            now=T0,
            fetched=snapshots.Fetched(http_status=500, etag='"err"'),
            error="HTTP 500",
        )
    with sessions() as session:
        state = snapshots.page_state(session, DOC)
        assert (state.etag, state.last_modified) == ('"abc"', "Mon")


def test_every_page_state_at_once_is_each_page_s_state(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        run = snapshots.start_run(session, trigger="manual", now=T0, pid=1)
        fetched = snapshots.Fetched(http_status=200, etag='"e1"', last_modified="Mon")
        record(session, run, PUB, publication(DOC), b"p", now=T0, fetched=fetched)
        record(session, run, DOC, document("AMRC"), b"a", now=T0)
        record(session, run, DOC, document("MHRA"), b"b", now=T1)
    with sessions() as session:
        states = snapshots.page_states(session)
        assert sorted(states) == sorted([PUB, DOC])
        for url, state in states.items():
            assert state == snapshots.page_state(session, url)
        assert snapshots.load_page(session, states[DOC]) == document("MHRA")
        assert (states[PUB].etag, states[DOC].etag) == ('"e1"', None)
        assert snapshots.load_page(session, snapshots.PageState()) is None


def test_a_body_stored_under_another_page_is_stored_once_in_batched_runs(
    sessions: sessionmaker[Session],
) -> None:
    """A run's batch finds the bodies stored already when it is flushed (one query), so a body
    seen before, in an earlier run or earlier in the batch, is one blob, readable from every
    version that has it."""
    shared = b"<html>the same document at two addresses " * 50
    first_body = b"<html>the first document " * 50
    urls = [f"{DOC}-{n}" for n in range(4)]
    with sessions.begin() as session:
        run = snapshots.start_run(session, trigger="manual", now=T0, pid=1)
        pending, bodies = snapshots.PendingRows(), snapshots.BodyStore()
        for url, body in ((urls[0], first_body), (urls[1], shared)):
            record(session, run, url, replace(document(url), url=url), body, now=T0,
                   pending=pending, bodies=bodies)  # fmt: skip
        pending.flush(session)
        finish(session, run)
    with sessions.begin() as session:
        run = snapshots.start_run(session, trigger="manual", now=T1, pid=1)
        pending, bodies = snapshots.PendingRows(), snapshots.BodyStore()
        for url in urls[2:]:  # stored by the first run, then twice in this batch
            record(session, run, url, replace(document(url), url=url), shared, now=T1,
                   pending=pending, bodies=bodies)  # fmt: skip
        pending.flush(session)
        finish(session, run)
    with sessions() as session:
        assert count(session, Blob) == 2
        assert count(session, PageVersion) == 4
        keys = set(session.scalars(select(PageVersion.blob_sha256)))
        assert {snapshots.load_blob(session, key) for key in keys} == {first_body, shared}
