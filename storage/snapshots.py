"""Write side of the snapshot store: runs, observations, versions and blobs.

Functions take a Session and never commit: the pipeline owns the transactions (one per page,
one final per run). A version is written only when the parsed content's hash differs from the
page's latest one.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from scraper.page import HtmlDocument, Page, Publication, content_hash, page_from_json, page_to_json
from storage.tables import (
    Blob,
    Observation,
    OrganisationRow,
    PageVersion,
    Run,
    UpdateEntryRow,
)
from storage.tables import Page as PageRow

RUN_STATUSES = ("running", "ok", "partial", "failed")
OUTCOMES = ("new", "changed", "unchanged", "not_modified", "gone", "error", "anomaly")


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """The newest stored version of a page, as the pipeline needs it."""

    version_id: int
    run_id: int
    content_hash: str
    page: Page


@dataclass(frozen=True, slots=True)
class Fetched:
    """What the fetch said about a page, as recorded on its observation."""

    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    elapsed_s: float | None = None
    size: int | None = None


def start_run(session: Session, *, trigger: str, now: datetime, pid: int | None) -> Run:
    """Insert a run in status "running" and return it (flushed, with its id)."""
    run = Run(started_at=now, trigger=trigger, status="running", pid=pid)
    session.add(run)
    session.flush()
    return run


def fail_stale_runs(session: Session, *, now: datetime) -> list[int]:
    """Mark runs left "running" by a killed process as failed; return their ids.

    Only safe while holding the run lock: then no other run can be in progress.
    """
    stale = list(session.scalars(select(Run.id).where(Run.status == "running")))
    if stale:
        session.execute(
            update(Run)
            .where(Run.id.in_(stale))
            .values(status="failed", finished_at=now, error="run did not finish (process killed?)")
        )
    return stale


def get_or_create_page(session: Session, *, url: str, kind: str, now: datetime) -> PageRow:
    """Return the page row for `url`, creating it on first sight; updates last_seen_at."""
    page = session.scalars(select(PageRow).where(PageRow.url == url)).first()
    if page is None:
        page = PageRow(url=url, kind=kind, first_seen_at=now, last_seen_at=now)
        session.add(page)
        session.flush()
    else:
        page.last_seen_at = now
        if page.kind != kind:
            page.kind = kind
    return page


def latest_version(session: Session, url: str) -> StoredVersion | None:
    """Return the newest stored version of the page at `url`, if any."""
    row = session.execute(
        select(PageVersion)
        .join(PageRow, PageRow.id == PageVersion.page_id)
        .where(PageRow.url == url)
        .order_by(PageVersion.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if row is None:
        return None
    return StoredVersion(row.id, row.run_id, row.content_hash, page_from_json(row.content_json))


def conditional_headers(session: Session, url: str) -> tuple[str | None, str | None]:
    """Return the ETag and Last-Modified of the response behind the page's latest version.

    Only validators of a response whose content is stored are used, so a 304 always means
    "the same as what we have".
    """
    row = session.execute(
        select(Observation.etag, Observation.last_modified)
        .join(PageRow, PageRow.id == Observation.page_id)
        .where(
            PageRow.url == url,
            Observation.outcome.in_(("new", "changed", "unchanged")),
            Observation.http_status == 200,
        )
        .order_by(Observation.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None, None
    return row[0], row[1]


def store_blob(session: Session, body: bytes) -> str:
    """Store a raw body once (zlib-compressed) and return its SHA-256 key."""
    key = hashlib.sha256(body).hexdigest()
    if session.get(Blob, key) is None:
        session.add(
            Blob(sha256=key, compression="zlib", size=len(body), data=zlib.compress(body, 6))
        )
        session.flush()
    return key


def load_blob(session: Session, key: str) -> bytes | None:
    """Return the raw body stored under `key`, or None when it was pruned."""
    blob = session.get(Blob, key)
    if blob is None:
        return None
    return zlib.decompress(blob.data) if blob.compression == "zlib" else blob.data


def add_version(
    session: Session, *, run: Run, page_row: PageRow, page: Page, raw: bytes | None, now: datetime
) -> PageVersion:
    """Write a new version of a page, with its organisation / update entry rows and raw body."""
    blob_key = store_blob(session, raw) if raw is not None else None
    text = page.text if isinstance(page, HtmlDocument) else ""
    version = PageVersion(
        page_id=page_row.id,
        run_id=run.id,
        created_at=now,
        content_hash=content_hash(page),
        content_json=page_to_json(page),
        text=text,
        blob_sha256=blob_key,
    )
    session.add(version)
    session.flush()
    if isinstance(page, HtmlDocument):
        session.add_all(
            OrganisationRow(
                version_id=version.id,
                position=organisation.position,
                name=organisation.name,
                url=organisation.url,
                description=organisation.description,
                stage=organisation.stage,
                stage_heading=organisation.stage_heading,
                links_json=json.dumps(list(organisation.links)),
            )
            for organisation in page.organisations
        )
    if isinstance(page, Publication):
        session.add_all(
            UpdateEntryRow(version_id=version.id, position=index, date=entry.date, note=entry.note)
            for index, entry in enumerate(page.updates)
        )
    return version


def add_observation(
    session: Session,
    *,
    run: Run,
    page_row: PageRow,
    outcome: str,
    now: datetime,
    fetched: Fetched | None = None,
    version: PageVersion | None = None,
    error: str | None = None,
) -> Observation:
    """Record one fetch (or skipped fetch) of a page in a run."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    meta = fetched or Fetched()
    observation = Observation(
        run_id=run.id,
        page_id=page_row.id,
        observed_at=now,
        outcome=outcome,
        http_status=meta.http_status,
        etag=meta.etag,
        last_modified=meta.last_modified,
        version_id=version.id if version is not None else None,
        elapsed_s=meta.elapsed_s,
        bytes=meta.size,
        error=error,
    )
    session.add(observation)
    return observation


def record_page(
    session: Session,
    *,
    run: Run,
    url: str,
    page: Page,
    raw: bytes | None,
    now: datetime,
    fetched: Fetched | None = None,
) -> str:
    """Store a successfully parsed page: a new version if its content changed. Return the outcome.

    The outcome is "new" (first version), "changed" (new version) or "unchanged" (no version,
    no blob).
    """
    page_row = get_or_create_page(session, url=url, kind=page.kind, now=now)
    previous = latest_version(session, url)
    digest = content_hash(page)
    if previous is not None and previous.content_hash == digest:
        add_observation(
            session, run=run, page_row=page_row, outcome="unchanged", now=now, fetched=fetched
        )
        return "unchanged"
    version = add_version(session, run=run, page_row=page_row, page=page, raw=raw, now=now)
    outcome = "new" if previous is None else "changed"
    add_observation(
        session,
        run=run,
        page_row=page_row,
        outcome=outcome,
        now=now,
        fetched=fetched,
        version=version,
    )
    return outcome


def record_problem(
    session: Session,
    *,
    run: Run,
    url: str,
    kind: str,
    outcome: str,
    now: datetime,
    fetched: Fetched | None = None,
    error: str | None = None,
) -> None:
    """Record a page that yielded no version this run: not_modified, gone, error or anomaly."""
    page_row = get_or_create_page(session, url=url, kind=kind, now=now)
    add_observation(
        session, run=run, page_row=page_row, outcome=outcome, now=now, fetched=fetched, error=error
    )
