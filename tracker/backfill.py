"""`backfill`: replay a publication's history from a web archive as archive runs (DESIGN §12).

list (scraper.archive) -> read each publication capture's Documents list -> plan
(tracker.backfill_plan) -> fetch and parse each run's captures -> store, one transaction per
archive run, in time order -> one summary report for the whole backfill.

What is stored follows the live pipeline's rules, in time rather than id order (DESIGN §4): an
archive run's `started_at` is the time of its earliest capture, and a page gets a version only
when its parsed content differs from its newest version AT OR BEFORE that time. A capture that
cannot be fetched or parsed is skipped and counted by reason, never a removal; a document whose
copy would lose most of its organisations at once is held back as in a live run (the anomaly
guard; `accept_anomalies` stores it). Every capture done with is recorded
(`storage.archive_log`) in the transaction that stores its run, so a second backfill, or one
resumed after a kill, fetches only the capture lists and what is missing: captures already
replayed give their Documents list from the store. A run inserted before stored runs makes their
summaries stale (the first live run stops being a baseline): they are forgotten in the same
transaction and rebuilt at the end, or by the next backfill after a kill.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from scraper.archive import ArchiveClient, ArchiveSettings, Capture, CaptureList
from scraper.errors import FetchError, LayoutChangedError
from scraper.fetch import Fetcher, FetchResult
from scraper.page import HtmlDocument, Page, Publication
from scraper.parse import PARSER_VERSION
from storage import archive_log, queries, snapshots
from storage.db import write_transaction
from storage.reparse import forget_summaries
from storage.statuses import STORED_OUTCOMES, DeliveryKind, Outcome, RunStatus, Trigger
from storage.tables import Run
from tracker.app import fetch_settings
from tracker.backfill_plan import (
    ArchiveRun,
    BackfillPlan,
    Listing,
    PlannedCapture,
    SkipReason,
    plan_backfill,
    skip_reason,
)
from tracker.backfill_summary import BackfillResult
from tracker.clock import Clock, utc_now
from tracker.config import Config
from tracker.delivery import Deliveries, SendStats
from tracker.errors import TrackerError
from tracker.guard import anomaly_reason
from tracker.outgoing import BACKFILL_RUNS_KEY
from tracker.parsing import PARSERS, html_source
from tracker.pipeline import PageOutcome, count_pages, reparse_stale_versions
from tracker.reparse import refresh_summaries
from tracker.states import record_summary, refresh_explained_runs, run_changes

logger = logging.getLogger(__name__)
# `Progress(done, total)`: captures fetched from the archive so far, of those it will fetch
# (the total grows once the plan is known).
Progress = Callable[[int, int], None]


class ArchiveUnavailable(TrackerError):
    """The archive's capture lists could not be read: nothing was imported (exit 1)."""

    exit_code = 1


def archive_settings(config: Config) -> ArchiveSettings:
    """Build the archive client's settings from `[archive]`."""
    archive = config.archive
    return ArchiveSettings(
        cdx_url=archive.cdx_url,
        replay_url=archive.replay_url,
        allowed_hosts=archive.allowed_hosts,
        requests_per_second=archive.requests_per_second,
        timeout_s=archive.timeout_s,
        max_bytes=archive.max_bytes,
        retries=archive.retries,
        obey_robots=archive.obey_robots,
    )


@dataclass(frozen=True, slots=True)
class _Copy:
    """A capture fetched and parsed, ready to store."""

    capture: Capture
    kind: str
    result: FetchResult
    page: Page
    fingerprint: str | None


def merge_plans(plans: Sequence[BackfillPlan]) -> BackfillPlan:
    """Return one plan of several publications' plans: their runs in time order, counts summed."""
    skipped: Counter[SkipReason] = Counter()
    for found in plans:
        skipped.update(found.skipped)
    return BackfillPlan(
        runs=tuple(sorted((run for p in plans for run in p.runs), key=lambda run: run.at)),
        listed=sum(p.listed for p in plans),
        skipped=dict(skipped),
        already_replayed=sum(p.already_replayed for p in plans),
    )


class _Backfill:
    """One backfill's collaborators and what it has fetched so far."""

    def __init__(
        self,
        config: Config,
        *,
        sessions: sessionmaker[Session],
        client: ArchiveClient,
        clock: Clock,
        accept_anomalies: bool,
        progress: Progress | None,
    ) -> None:
        self.config = config
        self.sessions = sessions
        self.client = client
        self.clock = clock
        self.accept_anomalies = accept_anomalies
        self.progress = progress
        with sessions() as session:
            self.replayed = archive_log.replayed_captures(session)
            self.first_live_run = archive_log.first_live_run(session) or clock()
        self.listings: dict[tuple[str, str], Listing] = {}
        self.copies: dict[tuple[str, str], _Copy] = {}  # publication captures read while planning
        self.planning_skips: list[archive_log.ReplayedCapture] = []
        self.skipped: Counter[SkipReason] = Counter()  # captures skipped while storing
        self.bodies = snapshots.BodyStore()
        self.fetched = self.total = 0

    # --- planning ------------------------------------------------------------------------

    def plan(self, url: str, *, since: datetime | None, until: datetime | None) -> BackfillPlan:
        """List `url`'s captures and its documents', read each Documents list, plan the runs.

        Raises:
            ArchiveUnavailable: a capture list could not be fetched or read.
        """
        publication = self._list(url, since=since, until=until)
        before = [c for c in publication.content if c.at < self.first_live_run]
        self.total += sum(1 for c in before if c.key not in self.replayed)
        listed: dict[str, None] = {}
        for capture in before:
            listed.update(dict.fromkeys(self.listing_of(capture).documents))
        documents = {doc: self._list(doc, since=since, until=until) for doc in listed}
        found = plan_backfill(
            publication,
            documents,
            self.listing_of,
            first_live_run=self.first_live_run,
            replayed=self.replayed.keys(),
        )
        self.total += sum(1 for run in found.runs for p in run.captures if p.kind != "publication")
        self._tell()
        return found

    def _list(self, url: str, *, since: datetime | None, until: datetime | None) -> CaptureList:
        try:
            return self.client.list_captures(url, since=since, until=until)
        except FetchError as exc:
            raise ArchiveUnavailable(
                f"the web archive's capture list of {url} could not be read ({exc.reason}): "
                "nothing was imported; try again later, or check [archive] in the config"
            ) from None

    def listing_of(self, capture: Capture) -> Listing:
        """Return what a publication capture's Documents list says: from the store when an
        earlier backfill replayed it, else fetched and parsed once (its copy kept to store)."""
        if capture.key not in self.listings:
            self.listings[capture.key] = self._listing(capture)
        return self.listings[capture.key]

    def _listing(self, capture: Capture) -> Listing:
        done = self.replayed.get(capture.key)
        if done is not None:
            return self._stored_listing(capture, done)
        found = self._fetch(capture, "publication")
        if isinstance(found, SkipReason):
            if found.final:
                self.planning_skips.append(
                    archive_log.ReplayedCapture(capture.url, capture.timestamp, found.value)
                )
            return Listing(skipped=found)
        if not isinstance(found.page, Publication):
            raise TypeError(f"the publication parser returned a {found.page.kind}")
        self.copies[capture.key] = found
        return Listing.of(found.page)

    def _stored_listing(self, capture: Capture, done: archive_log.ReplayedCapture) -> Listing:
        if done.outcome not in STORED_OUTCOMES or done.run_id is None:
            return Listing(skipped=SkipReason(done.outcome))
        with self.sessions() as session:
            run = session.get_one(Run, done.run_id)
            found = queries.version_raw_body(session, capture.url, run)
        if found is None or not isinstance(found[0], Publication):
            raise LookupError(f"no stored publication for replayed capture {capture.key}")
        return Listing.of(found[0])

    # --- fetching ------------------------------------------------------------------------

    def _fetch(self, capture: Capture, kind: str) -> _Copy | SkipReason:
        """Fetch and parse one capture; return it, or why it is skipped."""
        self.fetched += 1
        try:
            result = self.client.fetch_capture(capture)
            source = html_source(result.body, result.charset)
            page = PARSERS[kind](source, capture.url)
        except (FetchError, LayoutChangedError) as exc:
            reason = skip_reason(exc)
            logger.warning("%s at %s: skipped (%s): %s", capture.url, capture.at, reason, exc)
            return reason
        finally:
            self._tell()
        return _Copy(capture, kind, result, page, source.fingerprint)

    def _tell(self) -> None:
        if self.progress is not None:
            self.progress(self.fetched, max(self.total, self.fetched))

    # --- storing -------------------------------------------------------------------------

    def record_planning_skips(self) -> None:
        """Record the publication captures planning skipped for good (never fetched again)."""
        if self.planning_skips:
            with write_transaction(self.sessions) as session:
                archive_log.record_captures(session, self.planning_skips, now=self.clock())

    def replay(self, run: ArchiveRun) -> tuple[int | None, list[Outcome]]:
        """Fetch the run's documents, then store the run in one transaction; return its id
        (None when nothing of it could be stored) and each stored capture's outcome."""
        copies: list[_Copy] = []
        skips: list[tuple[Capture, SkipReason]] = []
        for planned in run.captures:
            found = self._copy_of(planned)
            if isinstance(found, SkipReason):
                skips.append((planned.capture, found))
                self.skipped[found] += 1
            else:
                copies.append(found)
        return self._store(run, copies, skips)

    def _copy_of(self, planned: PlannedCapture) -> _Copy | SkipReason:
        if planned.kind == "publication":  # read while planning: its listing was usable
            return self.copies.pop(planned.capture.key)
        return self._fetch(planned.capture, planned.kind)

    def _store(
        self, run: ArchiveRun, copies: list[_Copy], skips: list[tuple[Capture, SkipReason]]
    ) -> tuple[int | None, list[Outcome]]:
        done = [
            archive_log.ReplayedCapture(capture.url, capture.timestamp, reason.value)
            for capture, reason in skips
            if reason.final
        ]
        outcomes: list[PageOutcome] = []
        with write_transaction(self.sessions) as session:
            row = snapshots.start_run(session, trigger=Trigger.ARCHIVE, now=run.at, pid=os.getpid())
            for copy in copies:
                outcome = self._store_copy(session, row, copy)
                if outcome is None:
                    continue
                outcomes.append(PageOutcome(copy.capture.url, copy.kind, outcome))
                done.append(
                    archive_log.ReplayedCapture(
                        copy.capture.url, copy.capture.timestamp, outcome.value, row.id
                    )
                )
            run_id: int | None = row.id
            if outcomes:
                self._finish(session, row, outcomes)
            else:  # every capture skipped or held back: no state to add, no run
                session.delete(row)
                session.flush()
                run_id = None
            archive_log.record_captures(session, done, now=self.clock())
        return run_id, [o.outcome for o in outcomes]

    def _store_copy(self, session: Session, row: Run, copy: _Copy) -> Outcome | None:
        """Store one capture in the run; None when the anomaly guard holds it back."""
        known = snapshots.page_state_at(session, copy.capture.url, row)
        encoded = snapshots.encode_page(copy.page)
        if (
            isinstance(copy.page, HtmlDocument)
            and known.version_id is not None
            and not snapshots.has_content(known, encoded)
            and not self.accept_anomalies
        ):
            reason = anomaly_reason(
                snapshots.load_page(session, known),
                copy.page,
                max_removed_fraction=self.config.source.max_removed_fraction,
            )
            if reason is not None:
                logger.warning(
                    "%s at %s: held back (%s); `backfill --accept-anomalies` stores it",
                    copy.capture.url,
                    copy.capture.at,
                    reason,
                )
                self.skipped[SkipReason.ANOMALY] += 1
                return None
        return snapshots.record_page(
            session,
            run=row,
            url=copy.capture.url,
            encoded=encoded,
            raw=copy.result.body,
            now=copy.capture.at,
            parsed=snapshots.Parsed(PARSER_VERSION, copy.fingerprint, copy.result.charset),
            # The archive's own ETag and Last-Modified are not GOV.UK's: never sent to it.
            fetched=snapshots.Fetched(
                http_status=copy.result.status,
                elapsed_s=copy.result.elapsed_s,
                size=len(copy.result.body),
            ),
            known=known,
            bodies=self.bodies,
        )

    def _finish(self, session: Session, row: Run, outcomes: list[PageOutcome]) -> None:
        """Finish an archive run: its counts and summary; later runs' summaries are forgotten
        (their previous state may have changed) and rebuilt at the end."""
        row.status, row.finished_at = RunStatus.OK, self.clock()
        for key, value in count_pages(outcomes).items():
            setattr(row, f"pages_{key}", value)
        session.flush()
        forget_summaries(session, from_run=row.id)
        found = run_changes(session, row)
        record_summary(row, found)
        refresh_explained_runs(session, row, found.changeset)


def backfill(
    config: Config,
    *,
    sessions: sessionmaker[Session],
    http: requests.Session,
    since: datetime | None = None,
    until: datetime | None = None,
    dry_run: bool = False,
    report: bool = True,
    accept_anomalies: bool = False,
    clock: Clock = utc_now,
    progress: Progress | None = None,
) -> BackfillResult:
    """Import the configured publications' history from the web archive. The caller holds the
    run lock (see the module docstring; `dry_run` plans and stores nothing).

    Raises:
        ArchiveUnavailable: a capture list could not be read (nothing imported).
        ConfigError: a notify target cannot be used (before anything is fetched).
    """
    deliveries = Deliveries(config) if report and not dry_run else None
    if not dry_run:
        with write_transaction(sessions) as session:
            snapshots.fail_stale_runs(session, now=clock())
        reparse_stale_versions(sessions)
        refresh_summaries(sessions)  # those a killed backfill forgot
    settings = archive_settings(config)
    client = ArchiveClient(Fetcher(http, settings.fetch_settings(fetch_settings(config))), settings)
    job = _Backfill(
        config,
        sessions=sessions,
        client=client,
        clock=clock,
        accept_anomalies=accept_anomalies,
        progress=progress,
    )
    plan = merge_plans([job.plan(url, since=since, until=until) for url in config.source.urls])
    if dry_run:
        return BackfillResult(plan, dry_run=True, fetched=job.fetched, skipped=plan.skipped)
    job.record_planning_skips()
    stored: list[tuple[int, datetime]] = []
    outcomes: Counter[Outcome] = Counter()
    for run in plan.runs:
        run_id, found = job.replay(run)
        outcomes.update(found)
        if run_id is not None:
            stored.append((run_id, run.at))
    refresh_summaries(sessions)
    runs = tuple(run_id for run_id, _ in stored)
    changes = _count_changed(sessions, runs)
    stats = SendStats()
    if deliveries is not None and runs:
        _plan_summary_report(sessions, deliveries, runs, clock)
        stats = deliveries.send_due(sessions, clock=clock)
    skipped = Counter(plan.skipped)
    skipped.update(job.skipped)
    return BackfillResult(
        plan,
        fetched=job.fetched,
        stored=outcomes[Outcome.NEW] + outcomes[Outcome.CHANGED],
        unchanged=outcomes[Outcome.UNCHANGED],
        skipped=dict(skipped),
        runs=runs,
        first=stored[0][1] if stored else None,
        last=stored[-1][1] if stored else None,
        changes=changes,
        deliveries=stats,
    )


def _count_changed(sessions: sessionmaker[Session], runs: Iterable[int]) -> int:
    wanted = list(runs)
    if not wanted:
        return 0
    with sessions() as session:
        return len(session.scalars(select(Run.id).where(Run.id.in_(wanted), Run.has_changes)).all())


def _plan_summary_report(
    sessions: sessionmaker[Session], deliveries: Deliveries, runs: Sequence[int], clock: Clock
) -> None:
    """Queue one summary report of the whole backfill (never one per archive run)."""
    with write_transaction(sessions) as session:
        deliveries.plan_report(
            session,
            run_id=runs[-1],
            from_run_id=runs[0],
            kind=DeliveryKind.BACKFILL,
            now=clock(),
            payload=json.dumps({BACKFILL_RUNS_KEY: list(runs)}),
        )
