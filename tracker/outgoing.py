"""What a delivery carries, read from the store when it is sent: its report, the feed, its alert.

An outbox row names its report (a run, or a FROM..TO range) instead of holding it; the report is
built here at send time, outside any run's transaction, from the stored versions (each range
once per sending pass: a run's files, email and notify targets share one diff).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from changes.changeset import ChangeSet
from reports.channels import Alert, Outgoing
from reports.model import ImportedHistory, Problem, Report
from storage import queries
from storage.statuses import DeliveryKind
from storage.tables import PROBLEM_OUTCOMES, Delivery, Run
from tracker.config import Config
from tracker.links import site_page_url
from tracker.states import RunChanges, count_stored, diff_runs, run_changes

FEED_ENTRIES = 50
BACKFILL_RUNS_KEY = "runs"  # a backfill summary delivery's payload: {"runs": [run ids]}


def problems_of_run(session: Session, run_id: int) -> tuple[Problem, ...]:
    """Return the pages a run could not track, for a report's "Problems" section."""
    return tuple(
        Problem(url=url, outcome=observation.outcome, reason=observation.error or "")
        for observation, url in queries.observations_for_run(session, run_id)
        if observation.outcome in PROBLEM_OUTCOMES
    )


class ReportReader:
    """Builds the reports deliveries carry from the store, once per range per sending pass."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        config: Config,
        *,
        known: Mapping[int, RunChanges] | None = None,
    ) -> None:
        self._sessions = sessions
        self._config = config
        # What runs found, by run id, when the caller has it already (a run its own report).
        self._known = dict(known or {})
        self._reports: dict[tuple[int | None, int, datetime | None], Report] = {}
        self._feed: tuple[Report, ...] | None = None
        self._imported: dict[str, ImportedHistory] = {}  # by backfill delivery payload

    def outgoing(self, delivery: Delivery, *, link: str | None) -> Outgoing:
        """Return what a channel needs to send `delivery` (the report is read when asked)."""
        alert = None
        if delivery.kind == DeliveryKind.ALERT:
            parts = json.loads(delivery.payload or "{}")
            alert = Alert(subject=delivery.subject, text=str(parts.get("text", "")))
        run_at = None
        if delivery.run_id is not None:
            with self._sessions() as session:
                run_at = session.get_one(Run, delivery.run_id).started_at
        is_range = delivery.kind in (DeliveryKind.RANGE, DeliveryKind.BACKFILL)

        def load_report() -> Report:
            if delivery.run_id is None:
                raise LookupError(f"delivery {delivery.id} names no run")
            generated = delivery.created_at if is_range else None
            found = self.report(delivery.from_run_id, delivery.run_id, generated, is_range)
            if delivery.kind == DeliveryKind.BACKFILL:
                return self.imported(found, delivery.payload)
            return found

        return Outgoing(
            delivery_id=delivery.id,
            format=delivery.format,
            target=delivery.target,
            created_at=delivery.created_at,
            run=delivery.run_id,
            run_at=run_at,
            is_range=is_range,
            range_from=delivery.from_run_id,
            target_key=delivery.target_key,
            alert=alert,
            link=link,
            load_report=load_report,
            load_feed=self.feed,
        )

    def report(
        self, from_run: int | None, run_id: int, generated: datetime | None, is_range: bool
    ) -> Report:
        """Return the report of `from_run`..`run_id` (a run's own when not `is_range`).

        A run's own report is made when it finished (its `generated_at`), so re-rendering it
        gives the same bytes; a range's, when it was asked for.
        """
        key = (from_run, run_id, generated) if is_range else (None, run_id, None)
        if key not in self._reports:
            with self._sessions() as session:
                run = session.get_one(Run, run_id)
                if is_range:
                    changeset, organisations, pages = self._range(session, from_run, run)
                else:
                    found = self._known.get(run_id) or run_changes(session, run)
                    changeset, organisations = found.changeset, found.organisations
                    pages = found.page_count
                self._reports[key] = Report(
                    changeset=changeset,
                    problems=problems_of_run(session, run_id),
                    generated_at=generated or run.finished_at or run.started_at,
                    organisation_count=organisations,
                    page_count=pages,
                    link=site_page_url(self._config.site.base_url, run_id),
                )
        return self._reports[key]

    def imported(self, report: Report, payload: str) -> Report:
        """Return `report` (the range from a backfill's first archive run to its last) as the
        backfill's summary: with every state it imported (`payload`: {"runs": [ids]})."""
        if payload not in self._imported:
            found = json.loads(payload or "{}").get(BACKFILL_RUNS_KEY, [])
            runs = [int(run_id) for run_id in found]
            with self._sessions() as session:
                states = tuple(
                    run_changes(session, session.get_one(Run, run_id)).changeset for run_id in runs
                )
            self._imported[payload] = ImportedHistory(states)
        return replace(report, imported=self._imported[payload])

    def _range(
        self, session: Session, from_run: int | None, run: Run
    ) -> tuple[ChangeSet, int, int]:
        old = session.get_one(Run, from_run) if from_run is not None else None
        changeset, new = diff_runs(session, old, run)
        return changeset, count_stored(new.pages)[0], len(new.pages)

    def feed(self) -> Sequence[Report]:
        """Return the reports of the last FEED_ENTRIES finished runs with changes, newest first."""
        if self._feed is None:
            with self._sessions() as session:
                runs = session.scalars(
                    select(Run.id)
                    .where(Run.status.in_(queries.FINISHED), Run.has_changes.is_(True))
                    .order_by(Run.started_at.desc(), Run.id.desc())
                    .limit(FEED_ENTRIES)
                ).all()
            self._feed = tuple(self.report(None, run_id, None, False) for run_id in runs)
        return self._feed
