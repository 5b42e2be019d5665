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
from typing import Any, Final, cast

from sqlalchemy import Select, Table, bindparam, func, insert, null, select, update
from sqlalchemy.orm import Session

from scraper.page import HtmlDocument, Page, Publication, page_from_json, page_to_json
from storage.tables import (
    Blob,
    Observation,
    OrganisationRow,
    PageVersion,
    Run,
    UpdateEntryRow,
)
from storage.tables import Page as PageRow

# The tables themselves, for the per-page statements: Core DML skips the ORM's bookkeeping.
_OBSERVATIONS: Final = cast(Table, Observation.__table__)
_PAGES: Final = cast(Table, PageRow.__table__)
_VERSIONS: Final = cast(Table, PageVersion.__table__)
_BLOBS: Final = cast(Table, Blob.__table__)
_ORGANISATIONS: Final = cast(Table, OrganisationRow.__table__)
_UPDATE_ENTRIES: Final = cast(Table, UpdateEntryRow.__table__)

RUN_STATUSES = ("running", "ok", "partial", "failed")
OUTCOMES = ("new", "changed", "unchanged", "not_modified", "gone", "error", "anomaly")


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """The newest stored version of a page, as the pipeline needs it."""

    version_id: int
    run_id: int
    content_hash: str
    page: Page


class PageState:
    """What the pipeline needs about a page before fetching it, read in one query (`page_state`).

    The latest version's content is decoded only when asked for (`page`): a page whose content
    did not change never needs it, except a publication, whose Documents list drives the run.
    """

    __slots__ = (
        "_page",
        "blob_sha256",
        "content_deferred",
        "content_hash",
        "content_json",
        "etag",
        "last_modified",
        "page_id",
        "source_fingerprint",
        "version_id",
    )

    def __init__(
        self,
        page_id: int | None = None,
        version_id: int | None = None,
        content_hash: str | None = None,
        content_json: str | None = None,
        blob_sha256: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        source_fingerprint: str | None = None,
    ) -> None:
        self.page_id = page_id
        self.version_id = version_id
        self.content_hash = content_hash
        self.content_json = content_json
        self.blob_sha256 = blob_sha256
        self.etag = etag
        self.last_modified = last_modified
        # `content_fingerprint` of the raw body behind the latest version (None: not stored).
        self.source_fingerprint = source_fingerprint
        self._page: Page | None = None
        # True when read by `page_states`, which leaves the content out: `load_content` first.
        self.content_deferred = False

    @property
    def page(self) -> Page | None:
        """The latest stored version's content, decoded on first use (None: no version yet)."""
        if self.content_deferred:
            raise RuntimeError("the page's content was not read: call load_content first")
        if self._page is None and self.content_json is not None:
            self._page = page_from_json(self.content_json)
        return self._page


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


def _page_state_query(*, every_page: bool = False) -> Select[Any]:
    pages, versions, observations = _PAGES.c, _VERSIONS.c, _OBSERVATIONS.c
    newest_version = (
        select(func.max(versions.id))
        .where(versions.page_id == pages.id)
        .correlate(_PAGES)
        .scalar_subquery()
    )
    validators = (
        select(observations.id)
        .where(
            observations.page_id == pages.id,
            observations.outcome.in_(("new", "changed", "unchanged")),
            observations.http_status == 200,
        )
        .order_by(observations.id.desc())
        .limit(1)
        .correlate(_PAGES)
        .scalar_subquery()
    )
    query = (
        select(
            pages.id,
            versions.id,
            versions.content_hash,
            null() if every_page else versions.content_json,
            versions.blob_sha256,
            observations.etag,
            observations.last_modified,
            versions.source_fingerprint,
        )
        .select_from(_PAGES)
        .outerjoin(_VERSIONS, versions.id == newest_version)
        .outerjoin(_OBSERVATIONS, observations.id == validators)
    )
    if every_page:
        return query.add_columns(pages.url)
    return query.where(pages.url == bindparam("url"))


# Built once: building a statement costs several times more than running it on SQLite.
_PAGE_STATE: Final = _page_state_query()
_EVERY_PAGE_STATE: Final = _page_state_query(every_page=True)
_VERSION_CONTENT: Final = select(_VERSIONS.c.content_json).where(_VERSIONS.c.id == bindparam("id"))
_BLOB_EXISTS: Final = select(_BLOBS.c.sha256).where(_BLOBS.c.sha256 == bindparam("key"))
_BLOB_DATA: Final = select(_BLOBS.c.compression, _BLOBS.c.data).where(
    _BLOBS.c.sha256 == bindparam("key")
)
_INSERT_BLOB: Final = insert(_BLOBS)
_INSERT_VERSION: Final = insert(_VERSIONS).returning(_VERSIONS.c.id)
_INSERT_ORGANISATIONS: Final = insert(_ORGANISATIONS)
_INSERT_UPDATE_ENTRIES: Final = insert(_UPDATE_ENTRIES)
_INSERT_OBSERVATION: Final = insert(_OBSERVATIONS)
_INSERT_PAGE: Final = insert(_PAGES).returning(_PAGES.c.id)
_TOUCH_PAGE: Final = (
    update(_PAGES)
    .where(_PAGES.c.id == bindparam("page_id"))
    .values(last_seen_at=bindparam("now"), kind=bindparam("kind"))
)


def page_state(session: Session, url: str) -> PageState:
    """Return the page's id, latest version and conditional-GET validators in one query.

    The validators are those of `conditional_headers`; the version is that of `latest_version`.
    """
    row = session.execute(_PAGE_STATE, {"url": url}).first()
    return PageState() if row is None else PageState(*row)


def page_states(session: Session) -> dict[str, PageState]:
    """Every stored page's `page_state` by URL, in one query, without the content (deferred).

    A run reads them all at once instead of one query per page; `load_content` reads a page's
    content when it is needed.
    """
    states = {}
    for *row, url in session.execute(_EVERY_PAGE_STATE):
        state = PageState(*row)
        state.content_deferred = state.version_id is not None
        states[url] = state
    return states


def load_content(session: Session, state: PageState) -> None:
    """Read the content of a state from `page_states` (nothing to do for any other)."""
    if state.content_deferred:
        state.content_json = session.execute(
            _VERSION_CONTENT, {"id": state.version_id}
        ).scalar_one_or_none()
        state.content_deferred = False


def store_blob(session: Session, body: bytes, *, key: str | None = None) -> str:
    """Store a raw body once (zlib-compressed) and return its SHA-256 key (`key` if known)."""
    key = key or hashlib.sha256(body).hexdigest()
    if session.execute(_BLOB_EXISTS, {"key": key}).first() is None:
        # Level 1: a third of level 6's CPU for 15% more bytes (bench/RESULTS.md).
        data = zlib.compress(body, 1)
        session.execute(
            _INSERT_BLOB,
            {"sha256": key, "compression": "zlib", "size": len(body), "data": data},
        )
    return key


def load_blob(session: Session, key: str) -> bytes | None:
    """Return the raw body stored under `key`, or None when it was pruned."""
    row = session.execute(_BLOB_DATA, {"key": key}).first()
    if row is None:
        return None
    compression, data = row
    return zlib.decompress(data) if compression == "zlib" else bytes(data)


def add_version(
    session: Session,
    *,
    run: Run,
    page_row: PageRow | int,
    page: Page,
    raw: bytes | None,
    now: datetime,
    content_json: str | None = None,
    source_fingerprint: str | None = None,
) -> int:
    """Write a new version of a page, with its organisation / update entry rows and raw body.

    Return the version's id. `content_json` is `page_to_json(page)` when the caller has it;
    `source_fingerprint` is `scraper.parse.content_fingerprint(raw)`, kept to skip parsing later.
    """
    blob_key = store_blob(session, raw) if raw is not None else None
    text = page.text if isinstance(page, HtmlDocument) else ""
    encoded = content_json if content_json is not None else page_to_json(page)
    version_id: int = session.execute(
        _INSERT_VERSION,
        {
            "page_id": page_row if isinstance(page_row, int) else page_row.id,
            "run_id": run.id,
            "created_at": now,
            "content_hash": _digest(encoded),
            "content_json": encoded,
            "text": text,
            "blob_sha256": blob_key,
            "source_fingerprint": source_fingerprint if raw is not None else None,
        },
    ).scalar_one()
    if isinstance(page, HtmlDocument) and page.organisations:
        session.execute(
            _INSERT_ORGANISATIONS,
            [
                {
                    "version_id": version_id,
                    "position": organisation.position,
                    "name": organisation.name,
                    "url": organisation.url,
                    "description": organisation.description,
                    "stage": organisation.stage,
                    "stage_heading": organisation.stage_heading,
                    "links_json": json.dumps(list(organisation.links)),
                }
                for organisation in page.organisations
            ],
        )
    if isinstance(page, Publication) and page.updates:
        session.execute(
            _INSERT_UPDATE_ENTRIES,
            [
                {"version_id": version_id, "position": i, "date": entry.date, "note": entry.note}
                for i, entry in enumerate(page.updates)
            ],
        )
    return version_id


def _digest(content_json: str) -> str:
    """`content_hash` of the page whose canonical JSON this is."""
    return hashlib.sha256(content_json.encode("utf-8")).hexdigest()


def add_observation(
    session: Session,
    *,
    run: Run,
    page_row: PageRow | int,
    outcome: str,
    now: datetime,
    fetched: Fetched | None = None,
    version: int | None = None,
    error: str | None = None,
) -> None:
    """Record one fetch (or skipped fetch) of a page in a run; `version` is a version id."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    meta = fetched or Fetched()
    session.execute(
        _INSERT_OBSERVATION,
        {
            "run_id": run.id,
            "page_id": page_row if isinstance(page_row, int) else page_row.id,
            "observed_at": now,
            "outcome": outcome,
            "http_status": meta.http_status,
            "etag": meta.etag,
            "last_modified": meta.last_modified,
            "version_id": version,
            "elapsed_s": meta.elapsed_s,
            "bytes": meta.size,
            "error": error,
        },
    )


def _touch_page(session: Session, *, page_id: int, kind: str, now: datetime) -> None:
    session.execute(_TOUCH_PAGE, {"page_id": page_id, "now": now, "kind": kind})


def record_page(
    session: Session,
    *,
    run: Run,
    url: str,
    page: Page,
    raw: bytes | None,
    now: datetime,
    fetched: Fetched | None = None,
    known: PageState | None = None,
    content_json: str | None = None,
    source_fingerprint: str | None = None,
) -> str:
    """Store a successfully parsed page: a new version if its content changed. Return the outcome.

    The outcome is "new" (first version), "changed" (new version) or "unchanged" (no version,
    no blob). `known` is the page's `page_state` read earlier in the run (saves two queries);
    `content_json` is `page_to_json(page)` when the caller has it; `source_fingerprint` that of
    `raw` (see `add_version`).
    """
    encoded = content_json if content_json is not None else page_to_json(page)
    page_id: int
    if known is not None and known.page_id is not None:
        page_id, previous_hash = known.page_id, known.content_hash
        _touch_page(session, page_id=page_id, kind=page.kind, now=now)
    elif known is not None:
        # First sight (the run holds the lock, so nobody else adds it meanwhile).
        page_id = session.execute(
            _INSERT_PAGE, {"url": url, "kind": page.kind, "first_seen_at": now, "last_seen_at": now}
        ).scalar_one()
        previous_hash = None
    else:
        page_id = get_or_create_page(session, url=url, kind=page.kind, now=now).id
        previous_hash = session.execute(
            select(PageVersion.content_hash)
            .where(PageVersion.page_id == page_id)
            .order_by(PageVersion.id.desc())
            .limit(1)
        ).scalar_one_or_none()
    if previous_hash == _digest(encoded):
        add_observation(
            session, run=run, page_row=page_id, outcome="unchanged", now=now, fetched=fetched
        )
        return "unchanged"
    version = add_version(
        session,
        run=run,
        page_row=page_id,
        page=page,
        raw=raw,
        now=now,
        content_json=encoded,
        source_fingerprint=source_fingerprint,
    )
    outcome = "new" if previous_hash is None else "changed"
    add_observation(
        session,
        run=run,
        page_row=page_id,
        outcome=outcome,
        now=now,
        fetched=fetched,
        version=version,
    )
    return outcome


def record_unchanged(
    session: Session, *, run: Run, known: PageState, kind: str, now: datetime, fetched: Fetched
) -> None:
    """Record a fetch whose content is known to equal the latest version's, without parsing it.

    For a body byte-identical to that version's raw body, or one the parser would read the same
    (`scraper.parse.content_fingerprint`). The page must have a stored version.
    """
    if known.page_id is None or known.version_id is None:
        raise ValueError("record_unchanged needs a page with a stored version")
    _touch_page(session, page_id=known.page_id, kind=kind, now=now)
    add_observation(
        session, run=run, page_row=known.page_id, outcome="unchanged", now=now, fetched=fetched
    )


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
    known: PageState | None = None,
) -> None:
    """Record a page that yielded no version this run: not_modified, gone, error or anomaly.

    `known` is the page's `page_state` read earlier in the run (saves a query).
    """
    page_row: PageRow | int
    if known is None or known.page_id is None:
        page_row = get_or_create_page(session, url=url, kind=kind, now=now)
    else:
        page_row = known.page_id
        _touch_page(session, page_id=page_row, kind=kind, now=now)
    add_observation(
        session, run=run, page_row=page_row, outcome=outcome, now=now, fetched=fetched, error=error
    )
