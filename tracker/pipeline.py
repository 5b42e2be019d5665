"""One tracking run: fetch -> parse -> store -> diff -> report. The only place the stages meet.

Each page is stored in its own transaction; a final transaction finishes the run and writes its
summary and outbox rows. A fault on one page never stops the others and never removes anything.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import requests
from sqlalchemy.orm import Session, sessionmaker

from changes.changeset import ChangeSet, StateRef, summary_to_dict
from reports.model import Report
from scraper.errors import FetchError, LayoutChangedError
from scraper.fetch import Fetcher, FetchResult
from scraper.page import Attachment, DocumentLink, Page, Publication, page_to_json
from scraper.parse import HtmlSource, content_fingerprint, parse_html_document, parse_publication
from storage import snapshots
from storage.db import take_write_lock, write_transaction
from storage.statuses import DeliveryKind
from storage.tables import PROBLEM_OUTCOMES, Run
from tracker.clock import Clock, utc_now
from tracker.config import Config
from tracker.delivery import Deliveries, SendStats
from tracker.guard import anomaly_reason
from tracker.outgoing import problems_of_run
from tracker.states import refresh_explained_runs, run_changes

logger = logging.getLogger(__name__)
# Fingerprints of stored raw bodies, by blob key: a process that runs again (`schedule`) need not
# load and fingerprint the same stored body every run. Bounded; cleared when full.
_STORED_FINGERPRINTS: dict[str, str] = {}
_MAX_STORED_FINGERPRINTS = 20_000


@dataclass(frozen=True, slots=True)
class PageOutcome:
    """What happened to one page in a run."""

    url: str
    kind: str
    outcome: str  # new | changed | unchanged | not_modified | gone | error | anomaly
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class RunResult:
    """The outcome of a run, for the CLI summary, `--json` and reports."""

    run_id: int
    status: str
    pages: tuple[PageOutcome, ...]
    changeset: ChangeSet
    organisations_stored: int
    updates_stored: int
    title: str = ""  # the tracked publications' stored titles (reports.model.Report.title)
    stale_runs_failed: tuple[int, ...] = field(default=())
    deliveries: SendStats = field(default_factory=SendStats)

    @property
    def problems(self) -> tuple[PageOutcome, ...]:
        """Pages that failed, were held back, or are gone."""
        return tuple(p for p in self.pages if p.outcome in PROBLEM_OUTCOMES)

    @property
    def exit_code(self) -> int:
        """0 when every page was tracked, else 1 (data kept, nothing lost)."""
        return 0 if self.status == "ok" else 1

    def page_counts(self) -> dict[str, int]:
        """Return the per-outcome page counts of DESIGN §4."""
        return count_pages(self.pages)


def count_pages(outcomes: Sequence[PageOutcome]) -> dict[str, int]:
    """Count pages per outcome as in DESIGN §4; `fetched` counts pages answered (errors are not)."""
    keys = ("fetched", "new", "changed", "unchanged", "not_modified", "gone", "errors", "anomalies")
    counts = dict.fromkeys(keys, 0)
    for page in outcomes:
        counts[{"error": "errors", "anomaly": "anomalies"}.get(page.outcome, page.outcome)] += 1
        if page.kind != "attachment" and page.outcome != "error":
            counts["fetched"] += 1
    return counts


def _fetched_meta(result: FetchResult) -> snapshots.Fetched:
    return snapshots.Fetched(
        http_status=result.status,
        etag=result.etag,
        last_modified=result.last_modified,
        elapsed_s=result.elapsed_s,
        size=len(result.body),
    )


class RunPipeline:
    """Carries one run's collaborators through its pages."""

    def __init__(
        self,
        config: Config,
        *,
        sessions: sessionmaker[Session],
        fetcher: Fetcher,
        run_id: int,
        clock: Clock,
        accept_anomalies: bool,
        on_page: Callable[[PageOutcome], None] | None = None,
    ) -> None:
        self.config = config
        self.sessions = sessions
        self.fetcher = fetcher
        self.run_id = run_id
        self.clock = clock
        self.accept_anomalies = accept_anomalies
        self.outcomes: list[PageOutcome] = []
        self.on_page = on_page
        self._run_row: Run | None = None
        self._session: Session | None = None
        # Every stored page's state, read once at the first page; a page's entry is used once.
        self._states: dict[str, snapshots.PageState] | None = None
        self._tracked: set[str] = set()

    def _db(self) -> Session:
        # One session for the whole run: making one per page cost more than the page's queries.
        if self._session is None:
            self._session = self.sessions()
        return self._session

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        """The run's session for reads; the read transaction ends with the block, so none stays
        open across a fetch."""
        session = self._db()
        outermost = not session.in_transaction()
        try:
            yield session
        finally:
            if outermost:
                session.rollback()

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        """The run's session in a transaction committed at the end of the block (one per page)."""
        session = self._db()
        with session.begin():
            take_write_lock(session)  # `outbox retry` may write meanwhile (SQLite)
            yield session

    def close(self) -> None:
        """Release the run's database session."""
        if self._session is not None:
            self._session.close()
            self._session = None

    def _record(self, outcome: PageOutcome) -> None:
        self.outcomes.append(outcome)
        if self.on_page is not None:
            self.on_page(outcome)

    def track_page(
        self,
        url: str,
        kind: str,
        parse: Callable[[HtmlSource, str], Page],
        *,
        want_page: bool = True,
    ) -> Page | None:
        """Fetch, parse, guard and store one page; return its current content (new or stored).

        A body that is byte-identical to the stored version's raw body, or that the parser would
        read the same (`content_fingerprint`: per-request noise aside), is recorded "unchanged"
        without being parsed. With `want_page` False, stored content is not decoded just to be
        returned: the result is then None unless the page was parsed.
        """
        with self._reading() as session:
            known = self._page_state(session, url)
            if want_page:
                snapshots.load_content(session, known)
            # Without validators no 304 can come: read the stored body now, in the same session.
            validators = known.etag is not None or known.last_modified is not None
            cached = (
                known.source_fingerprint is not None or known.blob_sha256 in _STORED_FINGERPRINTS
            )
            stored_body = None if validators or cached else self._stored_body(session, known)

        def stored() -> Page | None:
            return known.page if want_page else None

        try:
            result = self.fetcher.fetch(url, etag=known.etag, last_modified=known.last_modified)
        except FetchError as exc:
            self._problem(url, kind, "error", exc.reason, known=known)
            return stored()
        meta = _fetched_meta(result)
        if result.not_modified and known.version_id is not None:
            self._problem(url, kind, "not_modified", None, meta, known=known)
            return stored()
        if result.gone or result.not_modified:
            why = f"HTTP {result.status}" if result.gone else "304 with nothing stored"
            self._problem(url, kind, "gone" if result.gone else "error", why, meta, known=known)
            return stored()
        source = HtmlSource(result.body)  # read by lxml once, for the fingerprint and the parse
        same, fingerprint = self._same_content(source, known, stored_body)
        if same:
            self._store_unchanged(url, kind, known, meta)
            return stored()
        try:
            page = parse(source, url)
        except LayoutChangedError as exc:
            self._problem(url, kind, "anomaly", exc.reason, meta, known=known)
            return stored()
        content_json = page_to_json(page)
        if known.content_hash != hashlib.sha256(content_json.encode("utf-8")).hexdigest():
            with self._reading() as session:
                snapshots.load_content(session, known)
            reason = anomaly_reason(
                known.page, page, max_removed_fraction=self.config.source.max_removed_fraction
            )
            if reason is not None and not self.accept_anomalies:
                self._problem(url, kind, "anomaly", reason, meta, known=known)
                return stored()
            # A new version: keep its body's fingerprint, so a later run need not parse it again.
            if fingerprint is None:
                fingerprint = source.fingerprint
        self._store(
            url,
            page,
            result.body,
            meta,
            known=known,
            content_json=content_json,
            source_fingerprint=fingerprint,
        )
        return page

    def _page_state(self, session: Session, url: str) -> snapshots.PageState:
        """The page's state as stored before it is tracked now (the run holds the lock)."""
        if self._states is None:
            self._states = snapshots.page_states(session)
        if url in self._tracked:  # a second time in one run: what the first time stored
            return snapshots.page_state(session, url)
        self._tracked.add(url)
        return self._states.pop(url, None) or snapshots.PageState()

    def _stored_body(self, session: Session, known: snapshots.PageState) -> bytes | None:
        """The raw body behind the page's latest version, when it has one (to skip parsing)."""
        if known.blob_sha256 is None:
            return None
        return snapshots.load_blob(session, known.blob_sha256)

    def _same_content(
        self, source: HtmlSource, known: snapshots.PageState, stored_body: bytes | None
    ) -> tuple[bool, str | None]:
        """Whether `source`'s body has the stored version's content, decided without parsing it.

        True when it is byte-identical to the version's raw body (whose blob key is the body's
        SHA-256), or the same to the parser: equal `content_fingerprint`s, so per-request noise
        outside what the parser reads does not count. The stored body's fingerprint is the
        version's `source_fingerprint` (versions stored before that column: computed from the
        blob). Also returns the body's fingerprint when it was computed.
        """
        key = known.blob_sha256
        if key is None:
            return False, None
        if hashlib.sha256(source.body).hexdigest() == key:
            return True, None
        stored = known.source_fingerprint or _STORED_FINGERPRINTS.get(key)
        if stored is None:
            if stored_body is None:
                with self._reading() as session:
                    stored_body = self._stored_body(session, known)
            stored = content_fingerprint(stored_body) if stored_body is not None else None
            if stored is None:
                return False, None
            if len(_STORED_FINGERPRINTS) >= _MAX_STORED_FINGERPRINTS:
                _STORED_FINGERPRINTS.clear()
            _STORED_FINGERPRINTS[key] = stored
        fingerprint = source.fingerprint
        return fingerprint == stored, fingerprint

    def record_attachment(self, link: DocumentLink) -> None:
        """Store a non-HTML attachment's metadata as a page version (never fetched)."""
        page = Attachment(url=link.url, title=link.title, attributes=link.attributes)
        self._store(link.url, page, None, None)

    def _run(self) -> Run:
        """The run row, read once (detached): storage only reads its id."""
        if self._run_row is None:
            with self._reading() as session:
                self._run_row = session.get_one(Run, self.run_id)
                session.expunge(self._run_row)
        return self._run_row

    def _store(
        self,
        url: str,
        page: Page,
        raw: bytes | None,
        meta: snapshots.Fetched | None,
        *,
        known: snapshots.PageState | None = None,
        content_json: str | None = None,
        source_fingerprint: str | None = None,
    ) -> None:
        with self._writing() as session:
            outcome = snapshots.record_page(
                session,
                run=self._run(),
                url=url,
                page=page,
                raw=raw,
                now=self.clock(),
                fetched=meta,
                known=known,
                content_json=content_json,
                source_fingerprint=source_fingerprint,
            )
        logger.info("%s: %s", url, outcome)
        self._record(PageOutcome(url, page.kind, outcome))

    def _store_unchanged(
        self, url: str, kind: str, known: snapshots.PageState, meta: snapshots.Fetched
    ) -> None:
        with self._writing() as session:
            snapshots.record_unchanged(
                session, run=self._run(), known=known, kind=kind, now=self.clock(), fetched=meta
            )
        logger.info("%s: unchanged (same content as stored, not parsed)", url)
        self._record(PageOutcome(url, kind, "unchanged"))

    def _problem(
        self,
        url: str,
        kind: str,
        outcome: str,
        reason: str | None,
        meta: snapshots.Fetched | None = None,
        *,
        known: snapshots.PageState | None = None,
    ) -> None:
        with self._writing() as session:
            snapshots.record_problem(
                session,
                run=self._run(),
                url=url,
                kind=kind,
                outcome=outcome,
                now=self.clock(),
                fetched=meta,
                error=reason,
                known=known,
            )
        log = logger.info if outcome == "not_modified" else logger.warning
        log("%s: %s%s", url, outcome, f" ({reason})" if reason else "")
        self._record(PageOutcome(url, kind, outcome, reason))

    def track_all(self) -> str:
        """Track every configured publication and its documents; return the publication title."""
        title = ""
        for url in self.config.source.urls:
            publication = self.track_page(url, "publication", parse_publication)
            if not isinstance(publication, Publication):
                continue
            title = title or publication.title
            for link in publication.documents:
                if link.kind == "html":
                    self.track_page(link.url, "html_document", parse_html_document, want_page=False)
                else:
                    self.record_attachment(link)
        return title


def _run_status(outcomes: list[PageOutcome]) -> str:
    tracked = [o for o in outcomes if o.outcome not in PROBLEM_OUTCOMES]
    if not tracked:
        return "failed"
    return "partial" if len(tracked) < len(outcomes) else "ok"


def run_once(
    config: Config,
    *,
    sessions: sessionmaker[Session],
    http: requests.Session,
    fetcher_factory: Callable[[requests.Session], Fetcher],
    trigger: str = "manual",
    accept_anomalies: bool = False,
    report: bool = True,
    clock: Clock = utc_now,
    on_page: Callable[[PageOutcome], None] | None = None,
) -> RunResult:
    """Run one tracking run and return its result. The caller holds the run lock.

    `on_page` is told each page's outcome as soon as it is known (the CLI's progress display).

    Raises:
        ConfigError: a notify target cannot be used (before anything is fetched or stored).
    """
    deliveries = Deliveries(config) if report else None
    with write_transaction(sessions) as session:
        stale = snapshots.fail_stale_runs(session, now=clock())
        run_id = snapshots.start_run(session, trigger=trigger, now=clock(), pid=os.getpid()).id
    pipeline = RunPipeline(
        config,
        sessions=sessions,
        fetcher=fetcher_factory(http),
        run_id=run_id,
        clock=clock,
        accept_anomalies=accept_anomalies,
        on_page=on_page,
    )
    try:
        title = pipeline.track_all()
    except BaseException as exc:
        pipeline.close()
        with sessions.begin() as session:
            run = session.get_one(Run, run_id)
            run.status, run.finished_at = "failed", clock()
            run.error = f"{type(exc).__name__}: {exc}"[:2000]
        raise
    pipeline.close()
    status = _run_status(pipeline.outcomes)
    with write_transaction(sessions) as session:
        run = session.get_one(Run, run_id)
        run.status, run.finished_at = status, clock()
        for key, value in count_pages(pipeline.outcomes).items():
            setattr(run, f"pages_{key}", value)
        organisations = updates = 0
        changeset = ChangeSet(from_ref=None, to_ref=StateRef(run_id, run.started_at))
        if status == "failed":
            reasons = "; ".join(f"{o.url}: {o.reason}" for o in pipeline.outcomes[:3])
            run.error = f"nothing could be tracked: {reasons or 'no pages'}"
        else:
            session.flush()
            found = run_changes(session, run)
            changeset, organisations, updates = found.changeset, found.organisations, found.updates
            run.summary_json = json.dumps(summary_to_dict(changeset.summary))
            refresh_explained_runs(session, run, changeset)
            run.organisations_stored, run.updates_stored = organisations, updates
            run.has_changes = changeset.has_changes
            session.flush()
        # Deliveries name what to send; it is rendered when sent, after this commit.
        if deliveries is not None:
            if status != "failed" and deliveries.wants_report(changeset):
                from_run = changeset.from_ref.run if changeset.from_ref else None
                deliveries.plan_report(
                    session, run_id=run_id, from_run_id=from_run, kind=DeliveryKind.RUN, now=clock()
                )
            problems = problems_of_run(session, run_id)
            deliveries.plan_problem_alert(session, problems, run_id=run_id, now=clock())
    stats = deliveries.send_due(sessions, clock=clock) if deliveries else SendStats()
    return RunResult(
        run_id=run_id,
        status=status,
        pages=tuple(pipeline.outcomes),
        changeset=changeset,
        organisations_stored=organisations,
        updates_stored=updates,
        title=Report(changeset, title="" if changeset.publications else title).title,
        stale_runs_failed=tuple(stale),
        deliveries=stats,
    )
