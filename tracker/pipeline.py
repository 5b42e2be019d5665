"""One tracking run: fetch -> parse -> store -> diff -> report. The only place the stages meet.

Pages are stored in batches (`BATCH_PAGES` pages or `BATCH_SECONDS` of work per transaction);
a final transaction finishes the run and writes its summary and outbox rows. A crash mid-run
keeps the committed batches; the open batch's pages are fetched again by the next run, which
marks the crashed run failed; a version is never half-written. A fault on one page never stops
the others and never removes anything.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Final

import requests
from sqlalchemy.orm import Session, sessionmaker

from changes.changeset import ChangeSet, StateRef
from changes.inventory import outline
from reports.model import Report
from scraper.errors import FetchError, LayoutChangedError
from scraper.fetch import Fetcher, FetchResult
from scraper.page import Attachment, DocumentLink, Page, Publication
from scraper.parse import PARSER_VERSION, HtmlSource
from storage import queries, snapshots
from storage.db import take_write_lock, write_transaction
from storage.statuses import PROBLEM_OUTCOMES, DeliveryKind, Outcome, RunStatus, Trigger
from storage.tables import Run
from tracker.clock import Clock, utc_now
from tracker.config import Config
from tracker.delivery import Deliveries, SendStats
from tracker.guard import anomaly_reason
from tracker.outgoing import problems_of_run
from tracker.parsing import PARSERS, html_source
from tracker.reparse import reparse_store, stale_version_count
from tracker.states import RunChanges, record_summary, refresh_explained_runs, run_changes

logger = logging.getLogger(__name__)
# A batch of pages is committed after this many pages or this much time, whichever comes first
# (DESIGN §7): a crash loses at most one batch's work, which the next run fetches again.
BATCH_PAGES: Final = 100
BATCH_SECONDS: Final = 1.0


@dataclass(frozen=True, slots=True)
class PageOutcome:
    """What happened to one page in a run."""

    url: str
    kind: str
    outcome: Outcome
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class RunResult:
    """The outcome of a run, for the CLI summary, `--json` and reports."""

    run_id: int
    status: RunStatus
    pages: tuple[PageOutcome, ...]
    changeset: ChangeSet
    organisations_stored: int
    updates_stored: int
    title: str = ""  # the tracked publications' stored titles (reports.model.Report.title)
    stale_runs_failed: tuple[int, ...] = field(default=())
    deliveries: SendStats = field(default_factory=SendStats)
    reparsed_versions: int = 0  # stored versions re-parsed before tracking (a new parser)

    @property
    def problems(self) -> tuple[PageOutcome, ...]:
        """Pages that failed, were held back, or are gone."""
        return tuple(p for p in self.pages if p.outcome in PROBLEM_OUTCOMES)

    @property
    def exit_code(self) -> int:
        """0 when every page was tracked, else 1 (data kept, nothing lost)."""
        return 0 if self.status == RunStatus.OK else 1

    def page_counts(self) -> dict[str, int]:
        """Return the per-outcome page counts of DESIGN §4."""
        return count_pages(self.pages)


def count_pages(outcomes: Sequence[PageOutcome]) -> dict[str, int]:
    """Count pages per outcome as in DESIGN §4; `fetched` counts pages answered (errors are not)."""
    keys = ("fetched", "new", "changed", "unchanged", "not_modified", "gone", "errors", "anomalies")
    counts = dict.fromkeys(keys, 0)
    plural = {Outcome.ERROR: "errors", Outcome.ANOMALY: "anomalies"}
    for page in outcomes:
        counts[plural.get(page.outcome, page.outcome.value)] += 1
        if page.kind != "attachment" and page.outcome != Outcome.ERROR:
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
        baseline: bool = False,
    ) -> None:
        self.config = config
        self.sessions = sessions
        self.fetcher = fetcher
        self.run_id = run_id
        self.clock = clock
        self.accept_anomalies = accept_anomalies
        self.outcomes: list[PageOutcome] = []
        # A baseline keeps what it stores of each page, outlined, so its report decodes nothing.
        self.stored_outlines: dict[str, Page] | None = {} if baseline else None
        self.on_page = on_page
        self._run_row: Run | None = None
        self._session: Session | None = None
        # Every stored page's state, read once at the first page; a page's entry is used once.
        self._states: dict[str, snapshots.PageState] | None = None
        self._tracked: set[str] = set()
        # The open batch: its rows not yet written, its page count and when it began.
        self._pending = snapshots.PendingRows()
        self._bodies = snapshots.BodyStore()
        self._batch_pages = 0
        self._batch_started = 0.0

    def _db(self) -> Session:
        # One session for the whole run: making one per page cost more than the page's queries.
        if self._session is None:
            self._session = self.sessions()
        return self._session

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        """The run's session for reads. Outside a batch the read transaction ends with the
        block, so none stays open across a fetch; inside one, it sees the batch's rows."""
        session = self._db()
        outermost = not session.in_transaction()
        try:
            yield session
        finally:
            if outermost:
                session.rollback()

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        """The run's session in the open batch's transaction (begun if none is open); the batch
        is committed once it holds `BATCH_PAGES` pages or is `BATCH_SECONDS` old."""
        session = self._db()
        if self._batch_pages == 0:
            if session.in_transaction():
                session.rollback()  # a read transaction: nothing to keep
            session.begin()
            take_write_lock(session)  # `outbox retry` may write meanwhile (SQLite)
            self._batch_started = time.monotonic()
        yield session
        self._batch_pages += 1
        if (
            self._batch_pages >= BATCH_PAGES
            or time.monotonic() - self._batch_started >= BATCH_SECONDS
        ):
            self.commit()

    def commit(self) -> None:
        """Write the open batch's pending rows and commit it (nothing to do without one)."""
        if self._batch_pages and self._session is not None:
            self._pending.flush(self._session)
            self._session.commit()
        self._batch_pages = 0

    def close(self) -> None:
        """Release the run's database session; an open batch is rolled back (lost)."""
        if self._session is not None:
            self._session.close()
            self._session = None
        self._batch_pages = 0

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
            stored_page = snapshots.load_page(session, known) if want_page else None

        try:
            result = self.fetcher.fetch(url, etag=known.etag, last_modified=known.last_modified)
        except FetchError as exc:
            self._problem(url, kind, Outcome.ERROR, exc.reason, known=known)
            return stored_page
        meta = _fetched_meta(result)
        if result.not_modified and known.version_id is not None:
            self._problem(url, kind, Outcome.NOT_MODIFIED, None, meta, known=known)
            return stored_page
        if result.gone or result.not_modified:
            why = f"HTTP {result.status}" if result.gone else "304 with nothing stored"
            outcome = Outcome.GONE if result.gone else Outcome.ERROR
            self._problem(url, kind, outcome, why, meta, known=known)
            return stored_page
        charset: str | None = result.charset  # FetchResult.charset (DESIGN §5)
        source = html_source(result.body, charset)  # read by lxml once: fingerprint and parse
        if self._same_content(source, known):
            self._store_unchanged(url, kind, known, meta)
            return stored_page
        try:
            page = parse(source, url)
        except LayoutChangedError as exc:
            self._problem(url, kind, Outcome.ANOMALY, exc.reason, meta, known=known)
            return stored_page
        encoded = snapshots.encode_page(page)
        if known.version_id is not None and not snapshots.has_content(known, encoded):
            if stored_page is None:
                with self._reading() as session:
                    stored_page = snapshots.load_page(session, known)
            reason = anomaly_reason(
                stored_page, page, max_removed_fraction=self.config.source.max_removed_fraction
            )
            if reason is not None and not self.accept_anomalies:
                self._problem(url, kind, Outcome.ANOMALY, reason, meta, known=known)
                return stored_page
            if known.parser_version != PARSER_VERSION:
                logger.warning(
                    "%s: its stored version comes from parser version %s and could not be "
                    "re-parsed: this version is its new baseline (differences not reported)",
                    url,
                    known.parser_version,
                )
        parsed = snapshots.Parsed(PARSER_VERSION, source.fingerprint, charset)
        self._store(url, encoded, result.body, meta, parsed, known=known)
        self._keep_outline(url, page)
        return page

    def _page_state(self, session: Session, url: str) -> snapshots.PageState:
        """The page's state as stored before it is tracked now (the run holds the lock)."""
        if self._states is None:
            self._states = snapshots.page_states(session)
        if url in self._tracked:  # a second time in one run: what the first time stored
            self._pending.flush(session)
            return snapshots.page_state(session, url)
        self._tracked.add(url)
        return self._states.pop(url, None) or snapshots.PageState()

    @staticmethod
    def _same_content(source: HtmlSource, known: snapshots.PageState) -> bool:
        """Whether `source`'s body has the stored version's content, decided without parsing it.

        True when it is byte-identical to the version's raw body (whose blob key is the body's
        SHA-256), or the same to the parser: its `content_fingerprint` is the version's, so
        per-request noise outside what the parser reads does not count. Never for a version
        from an older parser: its content is not what the current parser makes of the body.
        """
        if known.blob_sha256 is None or known.parser_version != PARSER_VERSION:
            return False
        if hashlib.sha256(source.body).hexdigest() == known.blob_sha256:
            return True
        return known.source_fingerprint is not None and (
            source.fingerprint == known.source_fingerprint
        )

    def record_attachment(self, link: DocumentLink) -> None:
        """Store a non-HTML attachment's metadata as a page version (never fetched)."""
        page = Attachment(url=link.url, title=link.title, attributes=link.attributes)
        self._store(link.url, snapshots.encode_page(page), None, None, None)
        self._keep_outline(link.url, page)

    def _keep_outline(self, url: str, page: Page) -> None:
        if self.stored_outlines is not None:
            self.stored_outlines[url] = outline(page)

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
        encoded: snapshots.EncodedPage,
        raw: bytes | None,
        meta: snapshots.Fetched | None,
        parsed: snapshots.Parsed | None,
        *,
        known: snapshots.PageState | None = None,
    ) -> None:
        with self._writing() as session:
            outcome = snapshots.record_page(
                session,
                run=self._run(),
                url=url,
                encoded=encoded,
                raw=raw,
                now=self.clock(),
                parsed=parsed or snapshots.Parsed(PARSER_VERSION),
                fetched=meta,
                known=known if known is not None else self._page_state(session, url),
                pending=self._pending,
                bodies=self._bodies,
            )
        logger.info("%s: %s", url, outcome)
        self._record(PageOutcome(url, encoded.page.kind, outcome))

    def _store_unchanged(
        self, url: str, kind: str, known: snapshots.PageState, meta: snapshots.Fetched
    ) -> None:
        with self._writing() as session:
            snapshots.record_unchanged(
                session,
                run=self._run(),
                known=known,
                kind=kind,
                now=self.clock(),
                fetched=meta,
                pending=self._pending,
            )
        logger.info("%s: unchanged (same content as stored, not parsed)", url)
        self._record(PageOutcome(url, kind, Outcome.UNCHANGED))

    def _problem(
        self,
        url: str,
        kind: str,
        outcome: Outcome,
        reason: str | None,
        meta: snapshots.Fetched | None = None,
        *,
        known: snapshots.PageState,
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
                pending=self._pending,
            )
        log = logger.info if outcome == Outcome.NOT_MODIFIED else logger.warning
        log("%s: %s%s", url, outcome, f" ({reason})" if reason else "")
        self._record(PageOutcome(url, kind, outcome, reason))

    def track_all(self) -> str:
        """Track every configured publication and its documents; return the publication title.

        Commits the last batch when done.
        """
        title = ""
        for url in self.config.source.urls:
            publication = self.track_page(url, "publication", PARSERS["publication"])
            if not isinstance(publication, Publication):
                continue
            title = title or publication.title
            for link in publication.documents:
                if link.kind == "html":
                    parse = PARSERS["html_document"]
                    self.track_page(link.url, "html_document", parse, want_page=False)
                else:
                    self.record_attachment(link)
        self.commit()
        return title


def _run_status(outcomes: list[PageOutcome]) -> RunStatus:
    tracked = [o for o in outcomes if o.outcome not in PROBLEM_OUTCOMES]
    if not tracked:
        return RunStatus.FAILED
    return RunStatus.PARTIAL if len(tracked) < len(outcomes) else RunStatus.OK


def reparse_stale_versions(sessions: sessionmaker[Session]) -> int:
    """Re-parse stored versions from an older parser before tracking; return how many.

    Otherwise the run would compare what the current parser makes of a page with what an
    older one made of it, and report the parser's changes as GOV.UK's. Logged once.
    """
    with sessions() as session:
        stale = stale_version_count(session, PARSER_VERSION)
    if not stale:
        return 0
    logger.warning(
        "%d stored versions come from an older parser: re-parsing their raw bodies with parser "
        "version %d before tracking (what `lifesci-tracker db reparse` does)",
        stale,
        PARSER_VERSION,
    )
    summary = reparse_store(sessions)
    logger.warning("re-parse done: %s", summary.describe())
    return summary.reparsed


def _still_stored(session: Session, run: Run) -> tuple[int, int]:
    """The organisations and change notes a failed run leaves stored: the last finished run's
    (as its row recorded them)."""
    previous = queries.previous_finished_run(session, run)
    if previous is None:
        return 0, 0
    return previous.organisations_stored or 0, previous.updates_stored or 0


def _failure_reasons(outcomes: Sequence[PageOutcome]) -> str:
    """Say why no page could be tracked: each distinct reason once (an unreachable host gives
    every page the same one), with the first page it stopped."""
    first_url: dict[str, str] = {}
    for outcome in outcomes:
        first_url.setdefault(outcome.reason or str(outcome.outcome), outcome.url)
    if len(first_url) == 1:
        return next(iter(first_url))
    shown = list(first_url.items())[:3]
    return "; ".join(f"{url}: {reason}" for reason, url in shown) or "no pages"


def run_once(
    config: Config,
    *,
    sessions: sessionmaker[Session],
    http: requests.Session,
    fetcher_factory: Callable[[requests.Session], Fetcher],
    trigger: Trigger | str = Trigger.MANUAL,
    accept_anomalies: bool = False,
    report: bool = True,
    clock: Clock = utc_now,
    on_page: Callable[[PageOutcome], None] | None = None,
) -> RunResult:
    """Run one tracking run and return its result. The caller holds the run lock.

    Versions from an older parser are re-parsed first (`reparse_stale_versions`). `on_page` is
    told each page's outcome as soon as it is known (the CLI's progress display).

    Raises:
        ConfigError: a notify target cannot be used (before anything is fetched or stored).
    """
    deliveries = Deliveries(config) if report else None
    with write_transaction(sessions) as session:
        stale = snapshots.fail_stale_runs(session, now=clock())
    reparsed = reparse_stale_versions(sessions)
    with write_transaction(sessions) as session:
        started = snapshots.start_run(
            session, trigger=Trigger(trigger), now=clock(), pid=os.getpid()
        )
        run_id = started.id
        baseline = queries.previous_finished_run(session, started) is None
    pipeline = RunPipeline(
        config,
        sessions=sessions,
        fetcher=fetcher_factory(http),
        run_id=run_id,
        clock=clock,
        accept_anomalies=accept_anomalies,
        on_page=on_page,
        baseline=baseline,
    )
    try:
        title = pipeline.track_all()
    except BaseException as exc:
        pipeline.close()
        with write_transaction(sessions) as session:
            run = session.get_one(Run, run_id)
            run.status, run.finished_at = RunStatus.FAILED, clock()
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
        found: RunChanges | None = None
        changeset = ChangeSet(from_ref=None, to_ref=StateRef(run_id, run.started_at))
        if status == RunStatus.FAILED:
            run.error = f"nothing could be tracked: {_failure_reasons(pipeline.outcomes)}"
            organisations, updates = _still_stored(session, run)
        else:
            session.flush()
            found = run_changes(session, run, pipeline.stored_outlines)
            changeset, organisations, updates = found.changeset, found.organisations, found.updates
            record_summary(run, found)
            refresh_explained_runs(session, run, changeset)
            session.flush()
        # Deliveries name what to send; it is rendered when sent, after this commit.
        if deliveries is not None:
            if status != RunStatus.FAILED and deliveries.wants_report(changeset):
                from_run = changeset.from_ref.run if changeset.from_ref else None
                deliveries.plan_report(
                    session, run_id=run_id, from_run_id=from_run, kind=DeliveryKind.RUN, now=clock()
                )
            problems = problems_of_run(session, run_id)
            deliveries.plan_problem_alert(session, problems, run_id=run_id, now=clock())
    known = {run_id: found} if found is not None else None
    stats = deliveries.send_due(sessions, clock=clock, known=known) if deliveries else SendStats()
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
        reparsed_versions=reparsed,
    )
