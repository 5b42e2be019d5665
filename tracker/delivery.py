"""Reports through the outbox: plan deliveries inside a run's final transaction, send after commit.

A change is never lost because mail was down: a failed send stays pending and is retried on the
next run (with backoff) or by `outbox retry`; after `[reports] max_attempts` it is marked failed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from reports import render
from reports.channels.base import DeliveryError
from reports.channels.email import EmailChannel, EmailOptions, make_message_id
from reports.channels.file import FileChannel, FileOptions
from reports.formats import get_format
from reports.formats.atom import feed_id_for, render_feed
from reports.formats.text import render_text
from reports.model import Problem, RenderedReport, Report
from storage import outbox, queries
from storage.tables import PROBLEM_OUTCOMES, Delivery, Run
from tracker.config import Config, EmailConfig
from tracker.links import site_page_url
from tracker.states import changes_for_run, count_stored

logger = logging.getLogger(__name__)
FEED_ENTRIES = 50


@dataclass(frozen=True, slots=True)
class SendStats:
    """What one pass over the outbox did."""

    sent: int = 0
    failed: int = 0  # attempts that failed this pass (still pending or now failed)


def problems_of_run(session: Session, run_id: int) -> tuple[Problem, ...]:
    """Return the pages a run could not track, for a report's "Problems" section."""
    return tuple(
        Problem(url=url, outcome=observation.outcome, reason=observation.error or "")
        for observation, url in queries.observations_for_run(session, run_id)
        if observation.outcome in PROBLEM_OUTCOMES
    )


def report_for_run(
    session: Session, run: Run, *, title: str, now: datetime, base_url: str = ""
) -> Report:
    """Build the report of what `run` found (against the previous finished run)."""
    changeset, state = changes_for_run(session, run)
    organisations, _ = count_stored(state.pages)
    return Report(
        changeset=changeset,
        title=title,
        problems=problems_of_run(session, run.id),
        generated_at=now,
        organisation_count=organisations,
        page_count=len(state.pages),
        link=site_page_url(base_url, run.id),
    )


def _feed(session: Session, *, title: str, now: datetime, base_url: str) -> str:
    runs = session.scalars(
        select(Run)
        .where(Run.status.in_(queries.FINISHED), Run.has_changes.is_(True))
        .order_by(Run.id.desc())
        .limit(FEED_ENTRIES)
    )
    entries = [
        report_for_run(session, run, title=title, now=now, base_url=base_url) for run in runs
    ]
    return render_feed(entries, feed_id=feed_id_for(title), title=title, updated=now)


def email_payload(report: Report, body_format: str) -> str:
    """Return the stored email payload: the plain-text part and, for html, the HTML part."""
    text = render(report, "markdown").body if body_format == "markdown" else render_text(report)
    html = render(report, "html").body if body_format == "html" else None
    return json.dumps({"text": text, "html": html}, ensure_ascii=False)


def plan_deliveries(
    session: Session,
    config: Config,
    report: Report,
    *,
    run_id: int,
    now: datetime,
    formats: tuple[str, ...] | None = None,
    to_files: bool | None = None,
    to_email: bool | None = None,
) -> list[Delivery]:
    """Queue the deliveries of one report: a file per format, and one email."""
    from_run = report.changeset.from_ref.run if report.changeset.from_ref else None
    planned = []
    if config.reports.enabled if to_files is None else to_files:
        for name in formats or config.reports.formats:
            if name == "atom":
                subject = render(report, "atom").subject
                payload = _feed(session, title=report.title, now=now, base_url=config.site.base_url)
            else:
                rendered = render(report, name)
                subject, payload = rendered.subject, rendered.body
            planned.append(
                outbox.add_delivery(
                    session,
                    run_id=run_id,
                    from_run_id=from_run,
                    channel="file",
                    format=name,
                    target=config.reports.dir,
                    subject=subject,
                    payload=payload,
                    now=now,
                )
            )
    if config.email.enabled if to_email is None else to_email:
        planned.append(
            outbox.add_delivery(
                session,
                run_id=run_id,
                from_run_id=from_run,
                channel="email",
                format=config.email.format,
                target=", ".join(config.email.to),
                subject=render(report, "text").subject,
                payload=email_payload(report, config.email.format),
                now=now,
            )
        )
    return planned


def plan_problem_alert(
    session: Session, config: Config, problems: tuple[Problem, ...], *, run_id: int, now: datetime
) -> Delivery | None:
    """Queue one alert email when pages have failed `[email] problems_after` runs in a row.

    Each streak alerts once: when it reaches the threshold, not on every later failing run.
    """
    threshold = config.email.problems_after
    if not config.email.enabled or threshold <= 0:
        return None
    due = [
        p for p in problems if queries.problem_streak(session, p.url, limit=threshold) == threshold
    ]
    if not due:
        return None
    lines = [f"These pages have failed {threshold} runs in a row (stored data is kept):", ""]
    lines += [f"- {p.url}: {p.outcome}: {p.reason}" for p in due]
    lines += ["", "Check the source site, then `lifesci-tracker history` and `run -v`."]
    count = len(due)
    subject = f"lifesci-tracker problem: {count} page{'s' if count > 1 else ''} failing"
    return outbox.add_delivery(
        session,
        run_id=run_id,
        from_run_id=None,
        channel="email",
        format="alert",
        target=", ".join(config.email.to),
        subject=subject,
        payload=json.dumps({"text": "\n".join(lines) + "\n", "html": None}),
        now=now,
    )


def email_options(email: EmailConfig) -> EmailOptions:
    """Build the email channel's options from [email]."""
    return EmailOptions(
        host=email.host,
        port=email.port,
        security=email.security,
        username=email.username,
        password_env=email.password_env,
        sender=email.sender,
        to=email.to,
        timeout_s=email.timeout_s,
    )


def _send_one(delivery: Delivery, run: Run | None, config: Config) -> None:
    if delivery.channel == "file":
        fmt = get_format(delivery.format)
        rendered = RenderedReport(
            format=delivery.format,
            subject=delivery.subject,
            body=delivery.payload,
            media_type=fmt.media_type,
            extension=fmt.extension,
            run=delivery.run_id,
        )
        channel = FileChannel(FileOptions(Path(delivery.target)))
        channel.write(
            rendered, run=delivery.run_id or 0, at=run.started_at if run else delivery.created_at
        )
        return
    if delivery.channel == "email":
        parts = json.loads(delivery.payload)
        channel_email = EmailChannel(email_options(config.email))
        domain = config.email.sender.rpartition("@")[2] or "lifesci-tracker"
        message = channel_email.build_message(
            subject=delivery.subject,
            text_body=parts["text"],
            html_body=parts["html"],
            message_id=make_message_id(delivery.id, delivery.run_id, domain),
        )
        channel_email.send(message)
        return
    raise DeliveryError(f"unknown channel {delivery.channel!r}")


def send_due(
    sessions: sessionmaker[Session],
    config: Config,
    *,
    clock: Callable[[], datetime],
    include_failed: bool = False,
    only: list[int] | None = None,
) -> SendStats:
    """Send every due delivery (or those in `only`), each in its own transaction.

    Failures stay in the outbox with their error and the time of the next attempt.
    """
    if only is not None:
        due = only
    else:
        with sessions() as session:
            due = outbox.due_deliveries(session, now=clock(), include_failed=include_failed)
    sent = failed = 0
    for delivery_id in due:
        with sessions.begin() as session:
            delivery = session.get_one(Delivery, delivery_id)
            run = session.get(Run, delivery.run_id) if delivery.run_id else None
            try:
                _send_one(delivery, run, config)
            except DeliveryError as exc:
                outbox.mark_attempt_failed(
                    session,
                    delivery,
                    error=str(exc),
                    now=clock(),
                    max_attempts=config.reports.max_attempts,
                )
                logger.warning("delivery %s (%s) failed: %s", delivery.id, delivery.channel, exc)
                failed += 1
                continue
            outbox.mark_sent(session, delivery, now=clock())
            sent += 1
    return SendStats(sent=sent, failed=failed)
