"""Write side of the snapshot store: runs, observations, versions and blobs.

Functions take a Session and never commit: the pipeline owns the transactions (batches of pages,
then one final per run). A version is written only when the parsed content's hash differs from
the page's latest one; `has_content` is the one place that decides it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, cast

from sqlalchemy import Select, Table, and_, bindparam, case, insert, or_, select, update
from sqlalchemy.orm import Session

from scraper.page import HtmlDocument, Page, Publication
from storage.compression import BodyCompressor, decompress_body
from storage.content import EncodedPage as EncodedPage  # what the pipeline passes in
from storage.content import decode_version, stored_content
from storage.content import encode_page as encode_page  # the pipeline encodes through here
from storage.in_lists import in_chunks
from storage.statuses import STORED_OUTCOMES, Outcome, RunStatus, Trigger
from storage.tables import (
    Blob,
    Observation,
    OrganisationRow,
    PageVersion,
    Run,
    UpdateEntryRow,
    UTCDateTime,
)
from storage.tables import Page as PageRow

# The tables themselves, for the per-page statements: Core DML skips the ORM's bookkeeping.
_OBSERVATIONS: Final = cast(Table, Observation.__table__)
_PAGES: Final = cast(Table, PageRow.__table__)
_VERSIONS: Final = cast(Table, PageVersion.__table__)
_BLOBS: Final = cast(Table, Blob.__table__)
_ORGANISATIONS: Final = cast(Table, OrganisationRow.__table__)
_UPDATE_ENTRIES: Final = cast(Table, UpdateEntryRow.__table__)
_RUNS: Final = cast(Table, Run.__table__)


@dataclass(frozen=True, slots=True)
class PageState:
    """What the pipeline knows about a page before fetching it, read in one query.

    The latest version's content is not part of it: `load_page` reads it when it is needed (a
    page whose content did not change never needs it, except a publication, whose Documents
    list drives the run).
    """

    page_id: int | None = None
    version_id: int | None = None
    content_hash: str | None = None
    blob_sha256: str | None = None
    etag: str | None = None  # validators of the response behind the latest version
    last_modified: str | None = None
    # `content_fingerprint` of a body that parses to the latest version (None: not stored).
    source_fingerprint: str | None = None
    parser_version: int | None = None


def has_content(state: PageState, encoded: EncodedPage) -> bool:
    """Whether the page's latest version already holds this content (so no new version)."""
    return state.content_hash == encoded.content_hash


@dataclass(frozen=True, slots=True)
class Fetched:
    """What the fetch said about a page, as recorded on its observation."""

    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    elapsed_s: float | None = None
    size: int | None = None


@dataclass(frozen=True, slots=True)
class Parsed:
    """How a version's content was made: by which parser, from which body, decoded how."""

    parser_version: int
    source_fingerprint: str | None = None
    transport_charset: str | None = None


class PendingRows:
    """Rows of a batch of pages, written in bulk (`flush`) before its transaction commits.

    New pages and new versions get a stand-in id (negative) until the flush inserts them, a
    statement per table, and maps every row that refers to them onto the ids the database gave.
    Flush before reading what they hold.
    """

    def __init__(self) -> None:
        self.pages: list[tuple[int, dict[str, Any]]] = []
        self.blobs: dict[str, dict[str, Any]] = {}
        self.versions: list[tuple[int, dict[str, Any]]] = []
        self.observations: list[dict[str, Any]] = []
        self.touches: list[dict[str, Any]] = []
        self.organisations: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []
        self._stand_ins = 0

    def stand_in_id(self) -> int:
        """A new id for a row not inserted yet (negative: never a database id)."""
        self._stand_ins += 1
        return -self._stand_ins

    def flush(self, session: Session) -> None:
        """Write every pending row."""
        page_ids = self._insert_pages(session)
        if self.blobs:
            stored = _stored_blob_keys(session, list(self.blobs))
            rows = [row for key, row in self.blobs.items() if key not in stored]
            if rows:
                session.execute(_INSERT_BLOB, rows)
            self.blobs.clear()
        if page_ids:
            for _, row in self.versions:
                row["page_id"] = page_ids.get(row["page_id"], row["page_id"])
        version_ids = self._insert_versions(session)
        for rows, column, ids in (
            (self.touches, "page_id", page_ids),
            (self.organisations, "version_id", version_ids),
            (self.updates, "version_id", version_ids),
            (self.observations, "page_id", page_ids),
            (self.observations, "version_id", version_ids),
        ):
            if ids:
                for row in rows:
                    row[column] = ids.get(row[column], row[column])
        for statement, rows in (
            (_TOUCH_PAGE, self.touches),
            (_INSERT_ORGANISATIONS, self.organisations),
            (_INSERT_UPDATE_ENTRIES, self.updates),
            (_INSERT_OBSERVATION, self.observations),
        ):
            if rows:
                session.execute(statement, rows)
                rows.clear()

    def _insert_pages(self, session: Session) -> dict[int, int]:
        """Insert the new pages; return their ids by stand-in."""
        if not self.pages:
            return {}
        inserted = session.execute(_INSERT_PAGES, [row for _, row in self.pages])
        by_url: dict[str, int] = dict(inserted.tuples().all())
        ids = {stand_in: by_url[row["url"]] for stand_in, row in self.pages}
        self.pages.clear()
        return ids

    def _insert_versions(self, session: Session) -> dict[int, int]:
        """Insert the new versions; return their ids by stand-in.

        RETURNING rows come back in no promised order (SQLite), so each is matched by its page:
        a page with two new versions in one batch has them inserted in two statements, in order.
        """
        ids: dict[int, int] = {}
        waiting = self.versions
        while waiting:
            this_round: dict[int, tuple[int, dict[str, Any]]] = {}
            later: list[tuple[int, dict[str, Any]]] = []
            for stand_in, row in waiting:
                if row["page_id"] in this_round:
                    later.append((stand_in, row))
                else:
                    this_round[row["page_id"]] = (stand_in, row)
            rows = [row for _, row in this_round.values()]
            for version_id, page_id in session.execute(_INSERT_VERSIONS, rows):
                ids[this_round[page_id][0]] = version_id
            waiting = later
        self.versions = []
        return ids


def start_run(session: Session, *, trigger: Trigger, now: datetime, pid: int | None) -> Run:
    """Insert a run in status "running" and return it (flushed, with its id)."""
    run = Run(started_at=now, trigger=trigger, status=RunStatus.RUNNING, pid=pid)
    session.add(run)
    session.flush()
    return run


def fail_stale_runs(session: Session, *, now: datetime) -> list[int]:
    """Mark runs left "running" by a killed process as failed; return their ids.

    Only safe while holding the run lock: then no other run can be in progress.
    """
    stale = list(session.scalars(select(Run.id).where(Run.status == RunStatus.RUNNING)))
    if stale:
        session.execute(
            update(Run)
            .where(Run.id.in_(stale))
            .values(
                status=RunStatus.FAILED,
                finished_at=now,
                error="run did not finish (process killed?)",
            )
        )
    return stale


def _page_state_query(*, every_page: bool = False, at_or_before: bool = False) -> Select[Any]:
    """The page state query: the newest version by its run's time (DESIGN §4; an archive run
    inserted later is older), and the validators of the newest stored 200 response.

    With `at_or_before`, only versions of runs at or before the bound `at`/`run_id` count.
    """
    pages, versions, observations, runs = _PAGES.c, _VERSIONS.c, _OBSERVATIONS.c, _RUNS.c
    newest_version = (
        select(versions.id)
        .join(_RUNS, runs.id == versions.run_id)
        .where(versions.page_id == pages.id)
        .order_by(runs.started_at.desc(), runs.id.desc(), versions.id.desc())
        .limit(1)
    )
    if at_or_before:
        at = bindparam("at", type_=UTCDateTime())
        newest_version = newest_version.where(
            or_(runs.started_at < at, and_(runs.started_at == at, runs.id <= bindparam("run_id")))
        )
    validators = (
        select(observations.id)
        .join(_RUNS, runs.id == observations.run_id)
        .where(
            observations.page_id == pages.id,
            observations.outcome.in_([str(outcome) for outcome in STORED_OUTCOMES]),
            observations.http_status == 200,
        )
        .order_by(runs.started_at.desc(), runs.id.desc(), observations.id.desc())
        .limit(1)
        .correlate(_PAGES)
        .scalar_subquery()
    )
    query = (
        select(
            pages.id,
            versions.id,
            versions.content_hash,
            versions.blob_sha256,
            observations.etag,
            observations.last_modified,
            versions.source_fingerprint,
            versions.parser_version,
        )
        .select_from(_PAGES)
        .outerjoin(_VERSIONS, versions.id == newest_version.correlate(_PAGES).scalar_subquery())
        .outerjoin(_OBSERVATIONS, observations.id == validators)
    )
    if every_page:
        return query.add_columns(pages.url)
    return query.where(pages.url == bindparam("url"))


# Built once: building a statement costs several times more than running it on SQLite.
_PAGE_STATE: Final = _page_state_query()
_PAGE_STATE_AT: Final = _page_state_query(at_or_before=True)
_EVERY_PAGE_STATE: Final = _page_state_query(every_page=True)
_VERSION_CONTENT: Final = select(_VERSIONS.c.content).where(_VERSIONS.c.id == bindparam("id"))
_BLOB_EXISTS: Final = select(_BLOBS.c.sha256).where(_BLOBS.c.sha256 == bindparam("key"))
_BLOB_DATA: Final = select(_BLOBS.c.compression, _BLOBS.c.data, _BLOBS.c.base_sha256).where(
    _BLOBS.c.sha256 == bindparam("key")
)
# The blob of the newest version of a page of a kind that has no base itself.
_NEWEST_BASE: Final = (
    select(_BLOBS.c.sha256)
    .join(_VERSIONS, _VERSIONS.c.blob_sha256 == _BLOBS.c.sha256)
    .join(_PAGES, _PAGES.c.id == _VERSIONS.c.page_id)
    .where(_BLOBS.c.base_sha256.is_(None), _PAGES.c.kind == bindparam("kind"))
    .order_by(_VERSIONS.c.id.desc())
    .limit(1)
)
_INSERT_BLOB: Final = insert(_BLOBS)
_INSERT_VERSION: Final = insert(_VERSIONS).returning(_VERSIONS.c.id)
_INSERT_ORGANISATIONS: Final = insert(_ORGANISATIONS)
_INSERT_UPDATE_ENTRIES: Final = insert(_UPDATE_ENTRIES)
_INSERT_OBSERVATION: Final = insert(_OBSERVATIONS)
_INSERT_PAGE: Final = insert(_PAGES).returning(_PAGES.c.id)
# Bulk forms: each returned id comes with what identifies its row (url; page of the version).
_INSERT_PAGES: Final = insert(_PAGES).returning(_PAGES.c.url, _PAGES.c.id)
_INSERT_VERSIONS: Final = insert(_VERSIONS).returning(_VERSIONS.c.id, _VERSIONS.c.page_id)
_SEEN: Final = bindparam("now", type_=UTCDateTime())
# A page seen: first and last seen move only outwards (an archive run is older than the others).
_TOUCH_PAGE: Final = (
    update(_PAGES)
    .where(_PAGES.c.id == bindparam("page_id"))
    .values(
        last_seen_at=case((_PAGES.c.last_seen_at < _SEEN, _SEEN), else_=_PAGES.c.last_seen_at),
        first_seen_at=case((_PAGES.c.first_seen_at > _SEEN, _SEEN), else_=_PAGES.c.first_seen_at),
        kind=bindparam("kind"),
    )
)
_SET_FINGERPRINT: Final = (
    update(_VERSIONS)
    .where(_VERSIONS.c.id == bindparam("version_id"))
    .values(source_fingerprint=bindparam("fingerprint"))
)


def page_state(session: Session, url: str) -> PageState:
    """Return the page's id, latest version and conditional-GET validators in one query.

    The validators are those of the newest 200 response whose content is stored (new, changed
    or unchanged), so a 304 always means "the same as what we have".
    """
    row = session.execute(_PAGE_STATE, {"url": url}).first()
    return PageState() if row is None else PageState(*row)


def page_state_at(session: Session, url: str, run: Run) -> PageState:
    """Return `page_state` as of `run`: its newest version at or before `run` in time order.

    What `backfill` compares an archived copy with (a run it inserts may be older than others).
    """
    row = session.execute(
        _PAGE_STATE_AT, {"url": url, "at": run.started_at, "run_id": run.id}
    ).first()
    return PageState() if row is None else PageState(*row)


def page_states(session: Session) -> dict[str, PageState]:
    """Every stored page's `page_state` by URL, in one query (a run reads them all at once)."""
    return {url: PageState(*row) for *row, url in session.execute(_EVERY_PAGE_STATE)}


def load_page(session: Session, state: PageState) -> Page | None:
    """Read and decode the content of the state's version (None: the page has none yet)."""
    if state.version_id is None:
        return None
    content = session.execute(_VERSION_CONTENT, {"id": state.version_id}).scalar_one()
    return decode_version(session, state.version_id, content)


class BodyStore:
    """How a run stores raw bodies: each compressed against a base, a stored body of the same
    kind of page (see storage.compression), found once per kind and run."""

    def __init__(self) -> None:
        self.compressor = BodyCompressor()
        self._bases: dict[str, str | None] = {}
        self._base_bodies: dict[str, bytes] = {}

    def base(self, session: Session, kind: str) -> tuple[str, bytes] | None:
        """The base for a page of `kind` and its raw body (None: none stored yet)."""
        if kind not in self._bases:
            self._bases[kind] = session.execute(_NEWEST_BASE, {"kind": kind}).scalar()
        key = self._bases[kind]
        if key is None:
            return None
        if key not in self._base_bodies:
            body = load_blob(session, key)
            if body is None:  # pruned meanwhile: compress without it
                self._bases[kind] = None
                return None
            self._base_bodies[key] = body
        return key, self._base_bodies[key]

    def stored_base(self, kind: str, key: str, body: bytes) -> None:
        """`body`, stored without a base under `key`, is the base for the run's later pages of
        `kind` (kept here: its row may not be written yet)."""
        if self._bases.get(kind) is None:
            self._bases[kind] = key
            self._base_bodies[key] = body


def store_blob(
    session: Session,
    body: bytes,
    *,
    key: str | None = None,
    kind: str | None = None,
    bodies: BodyStore | None = None,
    pending: PendingRows | None = None,
) -> str:
    """Store a raw body once (compressed) and return its SHA-256 key (`key` if known).

    With `bodies` (a run's), a body of a page of `kind` is compressed against its base; with
    `pending`, its row is inserted when the batch is flushed.
    """
    key = key or hashlib.sha256(body).hexdigest()
    if pending is not None and key in pending.blobs:
        return key
    bodies = bodies or BodyStore()
    base = bodies.base(session, kind) if kind is not None else None
    # A body stored already is found when the batch is flushed (one query for all of them), except
    # one that may become a base: a base must be a row stored without one.
    if (pending is None or base is None) and session.execute(
        _BLOB_EXISTS, {"key": key}
    ).first() is not None:
        return key
    base_key, base_body = base if base is not None else (None, None)
    compression, data = bodies.compressor.compress(body, base_key=base_key, base=base_body)
    row = {
        "sha256": key,
        "compression": compression,
        "size": len(body),
        "data": data,
        "base_sha256": base_key,
    }
    if pending is not None:
        pending.blobs[key] = row
    else:
        session.execute(_INSERT_BLOB, row)
    if base_key is None and kind is not None:
        bodies.stored_base(kind, key, body)
    return key


def _stored_blob_keys(session: Session, keys: list[str]) -> set[str]:
    """The keys among `keys` whose body is stored already."""
    stored: set[str] = set()
    for chunk in in_chunks(keys):
        stored.update(session.scalars(select(_BLOBS.c.sha256).where(_BLOBS.c.sha256.in_(chunk))))
    return stored


def load_blob(session: Session, key: str) -> bytes | None:
    """Return the raw body stored under `key`, or None when it was pruned."""
    row = session.execute(_BLOB_DATA, {"key": key}).first()
    if row is None:
        return None
    compression, data, base_key = row
    base = None
    if base_key is not None:
        base_row = session.execute(_BLOB_DATA, {"key": base_key}).one()
        base = decompress_body(base_row.compression, base_row.data)
    return decompress_body(compression, data, base=base)


def content_rows(version_id: int, page: Page) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The organisation and update entry rows of a version with this content."""
    organisations = (
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
        ]
        if isinstance(page, HtmlDocument)
        else []
    )
    updates = (
        [
            {"version_id": version_id, "position": i, "date": entry.date, "note": entry.note}
            for i, entry in enumerate(page.updates)
        ]
        if isinstance(page, Publication)
        else []
    )
    return organisations, updates


def write_content_rows(
    session: Session, version_id: int, page: Page, pending: PendingRows | None = None
) -> None:
    """Insert the organisation and update entry rows of a version (or queue them in `pending`)."""
    organisations, updates = content_rows(version_id, page)
    if pending is not None:
        pending.organisations.extend(organisations)
        pending.updates.extend(updates)
        return
    if organisations:
        session.execute(_INSERT_ORGANISATIONS, organisations)
    if updates:
        session.execute(_INSERT_UPDATE_ENTRIES, updates)


def add_version(
    session: Session,
    *,
    run: Run,
    page_id: int,
    encoded: EncodedPage,
    raw: bytes | None,
    now: datetime,
    parsed: Parsed,
    pending: PendingRows | None = None,
    bodies: BodyStore | None = None,
) -> int:
    """Write a new version of a page, with its organisation / update entry rows and raw body.

    Return the version's id (a stand-in until `pending` is flushed, when given).
    `parsed.source_fingerprint` is kept only with a raw body.
    """
    blob_key = (
        store_blob(session, raw, kind=encoded.page.kind, bodies=bodies, pending=pending)
        if raw is not None
        else None
    )
    row = {
        "page_id": page_id,
        "run_id": run.id,
        "created_at": now,
        "content_hash": encoded.content_hash,
        "parser_version": parsed.parser_version,
        "content": stored_content(encoded),
        "blob_sha256": blob_key,
        "transport_charset": parsed.transport_charset if raw is not None else None,
        "source_fingerprint": parsed.source_fingerprint if raw is not None else None,
    }
    version_id: int
    if pending is not None:
        version_id = pending.stand_in_id()
        pending.versions.append((version_id, row))
    else:
        version_id = session.execute(_INSERT_VERSION, row).scalar_one()
    write_content_rows(session, version_id, encoded.page, pending)
    return version_id


def add_observation(
    session: Session,
    *,
    run: Run,
    page_id: int,
    outcome: Outcome,
    now: datetime,
    fetched: Fetched | None = None,
    version: int | None = None,
    error: str | None = None,
    pending: PendingRows | None = None,
) -> None:
    """Record one fetch (or skipped fetch) of a page in a run; `version` is a version id."""
    meta = fetched or Fetched()
    row = {
        "run_id": run.id,
        "page_id": page_id,
        "observed_at": now,
        "outcome": Outcome(outcome).value,
        "http_status": meta.http_status,
        "etag": meta.etag,
        "last_modified": meta.last_modified,
        "version_id": version,
        "elapsed_s": meta.elapsed_s,
        "bytes": meta.size,
        "error": error,
    }
    if pending is not None:
        pending.observations.append(row)
    else:
        session.execute(_INSERT_OBSERVATION, row)


def _insert_page(session: Session, *, url: str, kind: str, now: datetime) -> int:
    page_id: int = session.execute(
        _INSERT_PAGE, {"url": url, "kind": kind, "first_seen_at": now, "last_seen_at": now}
    ).scalar_one()
    return page_id


def _known_page(
    session: Session,
    *,
    url: str,
    kind: str,
    now: datetime,
    known: PageState | None,
    pending: PendingRows | None,
) -> tuple[int, PageState]:
    """The page's id (created on first sight, touched otherwise) and its state before now."""
    if known is None:
        known = page_state(session, url)
    if known.page_id is None:
        # First sight (the run holds the lock, so nobody else adds it meanwhile).
        if pending is None:
            return _insert_page(session, url=url, kind=kind, now=now), known
        page_id = pending.stand_in_id()
        row = {"url": url, "kind": kind, "first_seen_at": now, "last_seen_at": now}
        pending.pages.append((page_id, row))
        return page_id, known
    touch = {"page_id": known.page_id, "now": now, "kind": kind}
    if pending is not None:
        pending.touches.append(touch)
    else:
        session.execute(_TOUCH_PAGE, touch)
    return known.page_id, known


def record_page(
    session: Session,
    *,
    run: Run,
    url: str,
    encoded: EncodedPage,
    raw: bytes | None,
    now: datetime,
    parsed: Parsed,
    fetched: Fetched | None = None,
    known: PageState | None = None,
    pending: PendingRows | None = None,
    bodies: BodyStore | None = None,
) -> Outcome:
    """Store a successfully parsed page: a new version if its content changed. Return the outcome.

    The outcome is NEW (first version), CHANGED (new version) or UNCHANGED (no version, no blob).
    `known` is the page's `page_state` read earlier in the run (saves a query); `bodies` the
    run's `BodyStore`. When the content is unchanged and `parsed` brings a fingerprint the
    version does not have, the version keeps it, so a later body like it is not parsed.
    """
    page_id, known = _known_page(
        session, url=url, kind=encoded.page.kind, now=now, known=known, pending=pending
    )
    version: int | None = None
    if known.version_id is not None and has_content(known, encoded):
        outcome = Outcome.UNCHANGED
        if raw is not None and parsed.source_fingerprint not in (None, known.source_fingerprint):
            session.execute(
                _SET_FINGERPRINT,
                {"version_id": known.version_id, "fingerprint": parsed.source_fingerprint},
            )
    else:
        outcome = Outcome.NEW if known.version_id is None else Outcome.CHANGED
        version = add_version(
            session,
            run=run,
            page_id=page_id,
            encoded=encoded,
            raw=raw,
            now=now,
            parsed=parsed,
            pending=pending,
            bodies=bodies,
        )
    add_observation(
        session,
        run=run,
        page_id=page_id,
        outcome=outcome,
        now=now,
        fetched=fetched,
        version=version,
        pending=pending,
    )
    return outcome


def record_unchanged(
    session: Session,
    *,
    run: Run,
    known: PageState,
    kind: str,
    now: datetime,
    fetched: Fetched,
    pending: PendingRows | None = None,
) -> None:
    """Record a fetch whose content is known to equal the latest version's, without parsing it.

    For a body byte-identical to that version's raw body, or one the parser would read the same
    (`scraper.parse.content_fingerprint`). The page must have a stored version.
    """
    if known.page_id is None or known.version_id is None:
        raise ValueError("record_unchanged needs a page with a stored version")
    record_problem(
        session,
        run=run,
        url="",
        kind=kind,
        outcome=Outcome.UNCHANGED,
        now=now,
        fetched=fetched,
        known=known,
        pending=pending,
    )


def record_problem(
    session: Session,
    *,
    run: Run,
    url: str,
    kind: str,
    outcome: Outcome,
    now: datetime,
    fetched: Fetched | None = None,
    error: str | None = None,
    known: PageState | None = None,
    pending: PendingRows | None = None,
) -> None:
    """Record a fetch that yields no version: not_modified, gone, error, anomaly (or unchanged).

    `known` is the page's `page_state` read earlier in the run (saves a query).
    """
    page_id, _ = _known_page(session, url=url, kind=kind, now=now, known=known, pending=pending)
    add_observation(
        session,
        run=run,
        page_id=page_id,
        outcome=outcome,
        now=now,
        fetched=fetched,
        error=error,
        pending=pending,
    )
