"""Exactly once under concurrency (issue 12): deliveries are claimed before they are sent.

`run`, `outbox retry`, `report` and `schedule` may run at the same time (cron, a user at a terminal,
the daemon). Each runs here in its own process against one database (SQLite and PostgreSQL) and a
slow, counting SMTP server on 127.0.0.1: every message arrives exactly once, whoever sends it.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, update

from storage.statuses import DeliveryStatus
from storage.tables import Delivery
from tests.e2e import Tracker
from tests.govuk_site import OrgSpec, SiteSpec, default_site
from tests.mail_server import MailServer
from tests.site_server import SiteServer

EXPERIMENTAL = "experimental-medicine-and-clinical-trials"
SLOW_SMTP_S = 0.25  # every message takes this long: senders overlap for seconds


@pytest.fixture
def mail() -> Iterator[MailServer]:
    server = MailServer(delay_s=SLOW_SMTP_S)  # not started: the first runs find mail down
    yield server
    server.stop()


def with_org(site: SiteSpec, name: str) -> SiteSpec:
    edited = copy.deepcopy(site)
    edited.doc(EXPERIMENTAL).stages[0].orgs.append(
        OrgSpec(name, f"https://example.org/{len(name)}", "<p>New.</p>")
    )
    return edited


def spawn(tracker: Tracker, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFESCI_TRACKER_")}
    return subprocess.Popen(
        [sys.executable, "-m", "tracker", "--config", str(tracker.config), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def email_rows(database_url: str) -> list[tuple[int, str]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(Delivery.id, Delivery.status).where(Delivery.channel == "email")
            )
            return [(row.id, row.status) for row in rows]
    finally:
        engine.dispose()


def make_all_due(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(update(Delivery).values(next_attempt_at=None))
    finally:
        engine.dispose()


def test_run_and_outbox_retry_at_once_send_each_message_exactly_once(
    server: SiteServer, mail: MailServer, tmp_path: Path, database_url: str
) -> None:
    extra = mail.email_table(extra="timeout_s = 10")
    tracker = Tracker.create(server, tmp_path, database_url=database_url, extra=extra)
    site = default_site("current")
    tracker.publish(site)
    for number in range(4):  # mail is down: the baseline and three changes wait in the outbox
        assert tracker.run_json()[0] == 0
        site = with_org(site, f"Organisation number {number}")
        tracker.publish(site)
    waiting = email_rows(database_url)
    assert [status for _, status in waiting] == [DeliveryStatus.PENDING] * 4
    make_all_due(database_url)  # the next run and `outbox retry` both want to send all four
    mail.start()

    processes = [
        spawn(tracker, "run"),
        spawn(tracker, "outbox", "retry"),
        spawn(tracker, "outbox", "retry"),
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    for process, (stdout, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, (process.args, stdout, stderr)
        assert "Traceback" not in stderr

    rows = email_rows(database_url)
    assert len(rows) == 5  # four waiting, and the last run's own report
    assert {status for _, status in rows} == {DeliveryStatus.SENT}
    arrived = mail.inbox.message_ids()
    assert sorted(arrived.values()) == [1] * 5, arrived
    assert {int(mid.split(".")[0].removeprefix("<delivery-")) for mid in arrived} == {
        delivery_id for delivery_id, _ in rows
    }
    retried = [json.dumps(stdout) for stdout, _ in outputs[1:]]
    assert all("failed 0" in text for text in retried), retried
