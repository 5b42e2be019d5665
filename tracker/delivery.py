"""Reports through the outbox: plan deliveries in a run's final transaction, send after commit.

Planning writes what to send (run or range, channel, format, target), never a rendered report:
the report is rendered at send time (tracker/outgoing.py), outside any run's transaction, so a
rendering error is a failed delivery, never a run left `running`. Sending claims each delivery
first (storage.outbox.claim), so `run`, `outbox retry`, `report` and `schedule` running at once
never send a row twice; any exception while sending one delivery is recorded on it (last_error,
attempts) and the others go on. A failed send stays pending and is retried on the next run (with
backoff) or by `outbox retry`; after `[reports] max_attempts` it is marked failed.

Every delivery goes through the channel registry (reports.channels.CHANNELS); SETUPS says, for
each channel, when it is on, which deliveries a report or an alert gets, and how its options are
built from the config. Adding a channel is one entry there and one in CHANNELS.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Final

from sqlalchemy.orm import Session, sessionmaker

from changes.changeset import ChangeSet
from reports.channels import (
    DeliveryError,
    EmailOptions,
    FileOptions,
    NotifyOptions,
    SiteOptions,
    get_channel,
)
from reports.channels.base import one_line
from reports.channels.notify import NotifyTarget, scrub
from reports.formats.wording import subject_line
from reports.model import Problem
from storage import outbox, queries
from storage.db import write_transaction
from storage.statuses import DeliveryKind
from storage.tables import Delivery
from tracker.config import Config, EmailConfig
from tracker.links import site_page_url
from tracker.notify_targets import notify_targets
from tracker.outgoing import ReportReader
from tracker.states import RunChanges

logger = logging.getLogger(__name__)
ALERT_FORMAT: Final = "alert"


@dataclass(frozen=True, slots=True)
class SendStats:
    """What one pass over the outbox did."""

    sent: int = 0
    failed: int = 0  # attempts that failed this pass (still pending or now failed)


@dataclass(frozen=True, slots=True)
class Target:
    """One delivery a channel gets: its format, its target as shown, and a notify target's key."""

    format: str
    target: str
    key: str | None = None


def _no_alerts(_deliveries: Deliveries) -> list[Target]:
    return []


@dataclass(frozen=True, slots=True)
class ChannelSetup:
    """How the composition root uses one channel of reports.channels.CHANNELS."""

    enabled: Callable[[Config], bool]
    # The deliveries of one report; `formats` (from `report --format`) overrides the config's.
    report_targets: Callable[[Deliveries, Sequence[str] | None], list[Target]]
    # The channel's options, from the config and the outbox row's target.
    options: Callable[[Deliveries, str], object]
    alert_targets: Callable[[Deliveries], list[Target]] = _no_alerts


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


def report_dir(config: Config) -> str:
    """Return `[reports] dir` as an absolute path, as the outbox stores it."""
    return os.path.abspath(config.reports.dir)


def site_dir(config: Config) -> str:
    """Return `[site] dir` as an absolute path, as the outbox stores it."""
    return os.path.abspath(config.site.dir)


def _rebuild_site(config: Config, target: str) -> None:
    from tracker.site import rebuild_site  # Jinja2 and the site's templates: only when building

    rebuild_site(config, target=Path(target))


def _recipients(deliveries: Deliveries) -> str:
    return ", ".join(deliveries.config.email.to)


SETUPS: Final[Mapping[str, ChannelSetup]] = {
    "file": ChannelSetup(
        enabled=lambda config: config.reports.enabled,
        report_targets=lambda d, formats: [
            Target(name, report_dir(d.config)) for name in formats or d.config.reports.formats
        ],
        options=lambda _d, target: FileOptions(Path(target)),
    ),
    # Before email and notify, which link to its pages.
    "site": ChannelSetup(
        enabled=lambda config: config.site.enabled,
        report_targets=lambda d, _formats: [Target("html", site_dir(d.config))],
        options=lambda d, target: SiteOptions(rebuild=partial(_rebuild_site, d.config, target)),
    ),
    "email": ChannelSetup(
        enabled=lambda config: config.email.enabled,
        report_targets=lambda d, _formats: [Target(d.config.email.format, _recipients(d))],
        options=lambda d, _target: email_options(d.config.email),
        alert_targets=lambda d: [Target(ALERT_FORMAT, _recipients(d))],
    ),
    "notify": ChannelSetup(
        enabled=lambda config: config.notify.enabled,
        report_targets=lambda d, _formats: [
            Target(d.config.notify.format, t.masked, t.key) for t in d.notify
        ],
        options=lambda d, _target: NotifyOptions(targets=d.notify, format=d.config.notify.format),
        alert_targets=lambda d: [Target(ALERT_FORMAT, t.masked, t.key) for t in d.notify],
    ),
}


def _queue(
    session: Session,
    channel: str,
    target: Target,
    *,
    run_id: int,
    from_run_id: int | None,
    kind: DeliveryKind,
    now: datetime,
    subject: str = "",
    payload: str = "",
) -> Delivery:
    return outbox.add_delivery(
        session,
        run_id=run_id,
        from_run_id=from_run_id,
        kind=kind,
        channel=channel,
        format=target.format,
        target=target.target,
        target_key=target.key,
        now=now,
        subject=subject,
        payload=payload,
    )


def claim_owner() -> str:
    """Return a name for this sending pass: host, pid and a random part (shown in the outbox)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Deliveries:
    """One command's deliveries: which channels are on, planning, and sending through them.

    Built when the command starts: reading the notify targets then makes a bad Apprise URL a
    config error (exit 2) before anything is fetched.
    """

    config: Config
    notify: tuple[NotifyTarget, ...]  # the notify targets configured now (none when disabled)

    def __init__(self, config: Config, *, environ: Mapping[str, str] | None = None) -> None:
        self.config = config
        self.notify = notify_targets(config, environ)

    def enabled_channels(self) -> tuple[str, ...]:
        """Return the names of the channels the config turns on, in SETUPS order."""
        return tuple(name for name, setup in SETUPS.items() if setup.enabled(self.config))

    def wants_report(self, changeset: ChangeSet) -> bool:
        """Return True when a run's changes call for a report (DESIGN §9, `[reports] when`)."""
        if not self.enabled_channels():
            return False
        return (
            self.config.reports.when == "always" or changeset.has_changes or changeset.is_baseline
        )

    def plan_report(
        self,
        session: Session,
        *,
        run_id: int,
        from_run_id: int | None,
        kind: DeliveryKind,
        now: datetime,
        channels: Collection[str] | None = None,
        formats: Sequence[str] | None = None,
        payload: str = "",
    ) -> list[Delivery]:
        """Queue the deliveries of one report: per channel (default: those turned on), each of
        its targets (files: one per format; email: one; notify: one per target). `payload` is
        what the report needs besides its runs (a backfill summary's runs)."""
        names = self.enabled_channels() if channels is None else tuple(channels)
        return [
            _queue(
                session,
                name,
                target,
                run_id=run_id,
                from_run_id=from_run_id,
                kind=kind,
                now=now,
                payload=payload,
            )
            for name in names
            for target in SETUPS[name].report_targets(self, formats)
        ]

    def plan_problem_alert(
        self, session: Session, problems: Sequence[Problem], *, run_id: int, now: datetime
    ) -> list[Delivery]:
        """Queue one alert per email and notify target when pages have failed `[email]
        problems_after` runs in a row.

        Each streak alerts once: when it reaches the threshold, not on every later failing run.
        """
        threshold = self.config.email.problems_after
        targets = [
            (name, target)
            for name in self.enabled_channels()
            for target in SETUPS[name].alert_targets(self)
        ]
        if threshold <= 0 or not targets:
            return []
        due = [
            problem
            for problem in problems
            if queries.problem_streak(session, problem.url, limit=threshold) == threshold
        ]
        if not due:
            return []
        lines = [f"These pages have failed {threshold} runs in a row (stored data is kept):", ""]
        lines += [f"- {p.url}: {p.outcome}: {p.reason}" for p in due]
        lines += ["", "Check the source site, then `lifesci-tracker history` and `run -v`."]
        count = len(due)
        subject = f"lifesci-tracker problem: {count} page{'s' if count > 1 else ''} failing"
        payload = json.dumps({"text": "\n".join(lines) + "\n", "html": None})
        return [
            _queue(
                session,
                name,
                target,
                run_id=run_id,
                from_run_id=None,
                kind=DeliveryKind.ALERT,
                now=now,
                subject=subject,
                payload=payload,
            )
            for name, target in targets
        ]

    def link(self, delivery: Delivery) -> str | None:
        """Where a short message's readers see more, when `[site] base_url` is set: the run's
        change-set page, or the site's front page for a range or an alert."""
        base_url = self.config.site.base_url.strip()
        if not base_url:
            return None
        if delivery.kind == DeliveryKind.RUN:
            return site_page_url(base_url, delivery.run_id)
        return base_url.rstrip("/") + "/"

    def send_due(
        self,
        sessions: sessionmaker[Session],
        *,
        clock: Callable[[], datetime],
        retry_now: bool = False,
        only: Sequence[int] | None = None,
        known: Mapping[int, RunChanges] | None = None,
    ) -> SendStats:
        """Claim and send every due delivery (or those in `only`), one at a time.

        With `retry_now` (`outbox retry`), every pending and failed delivery is due, backoff or
        not. A delivery another process has claimed is left to it. `known`: what runs found, by
        run id, as the caller computed it in the run's final transaction (not computed again).
        """
        if only is None:
            with sessions() as session:
                due = outbox.due_deliveries(session, now=clock(), retry_now=retry_now)
        else:
            due = list(only)
        owner = claim_owner()
        reader = ReportReader(sessions, self.config, known=known)
        sent = failed = 0
        for delivery_id in due:
            with write_transaction(sessions) as session:
                delivery = outbox.claim(
                    session, delivery_id, owner=owner, now=clock(), retry_now=retry_now
                )
                if delivery is not None:
                    session.expunge(delivery)
            if delivery is None:
                continue  # another process sends it, or it is no longer due
            subject, error = self._send_one(delivery, reader)
            with write_transaction(sessions) as session:
                if error is None:
                    outbox.mark_sent(session, delivery, owner=owner, subject=subject, now=clock())
                    sent += 1
                else:
                    outbox.mark_attempt_failed(
                        session,
                        delivery,
                        owner=owner,
                        error=error,
                        now=clock(),
                        max_attempts=self.config.reports.max_attempts,
                    )
                    failed += 1
        return SendStats(sent=sent, failed=failed)

    def _send_one(self, delivery: Delivery, reader: ReportReader) -> tuple[str, str | None]:
        """Send one claimed delivery; return its subject and the error (None when sent)."""
        try:
            setup = SETUPS.get(delivery.channel)
            if setup is None:
                raise DeliveryError(f"unknown channel {delivery.channel!r}")
            channel = get_channel(delivery.channel)(setup.options(self, delivery.target))
            outgoing = reader.outgoing(delivery, link=self.link(delivery))
            channel.deliver(outgoing)
            if outgoing.alert is not None:
                return outgoing.alert.subject, None
            return subject_line(outgoing.load_report()), None
        except DeliveryError as exc:
            error = self._scrub(exc.message)
        except Exception as exc:  # any fault is recorded on this row; the others go on
            error = self._scrub(f"internal error: {type(exc).__name__}: {exc}")
            logger.debug("delivery %s failed", delivery.id, exc_info=True)
        logger.warning(
            "delivery %s (%s to %s) failed: %s",
            delivery.id,
            delivery.channel,
            delivery.target,
            error,
        )
        return "", error

    def _scrub(self, text: str) -> str:
        for target in self.notify:
            text = scrub(text, target.url)
        return one_line(text)
