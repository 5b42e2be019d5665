"""Reports end to end: files and email through the outbox, against aiosmtpd on 127.0.0.1."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import create_engine, update

from storage.tables import Delivery
from tests.e2e import Tracker
from tests.govuk_site import OrgSpec, SiteSpec, default_site
from tests.mail_server import MailServer
from tests.site_server import SiteServer

EXPERIMENTAL = "experimental-medicine-and-clinical-trials"
RECIPIENTS = ["team@example.org", "alerts@example.org"]


@pytest.fixture
def mail() -> Iterator[MailServer]:
    server = MailServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def site() -> SiteSpec:
    return default_site("current")


@pytest.fixture
def tracker(server: SiteServer, mail: MailServer, tmp_path: Path, site: SiteSpec) -> Tracker:
    tracked = Tracker.create(server, tmp_path, extra=mail.email_table(to=tuple(RECIPIENTS)))
    tracked.publish(site)
    return tracked


def edit(site: SiteSpec) -> SiteSpec:
    edited = copy.deepcopy(site)
    edited.doc(EXPERIMENTAL).stages[0].orgs.append(
        OrgSpec("Life Sciences Hub Wales", "https://lshubwales.com", "<p>Support in Wales.</p>")
    )
    return edited


def test_a_change_sends_exactly_one_multipart_message(
    tracker: Tracker, mail: MailServer, site: SiteSpec
) -> None:
    assert tracker.run_json()[0] == 0
    baseline = mail.inbox.messages()
    assert len(baseline) == 1
    assert "baseline" in str(baseline[0]["Subject"])
    assert tracker.run_json()[0] == 0  # unchanged: no report
    assert len(mail.inbox.messages()) == 1

    tracker.publish(edit(site))
    code, _ = tracker.run_json()
    assert code == 0
    messages = mail.inbox.messages()
    assert len(messages) == 2
    message = messages[1]
    assert (
        str(message["Subject"]) == "UK life sciences support: 1 organisation added, no change note"
    )
    assert sorted(mail.inbox.envelopes[1].rcpt_tos) == sorted(RECIPIENTS)
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    assert "Life Sciences Hub Wales" in text.get_content()
    assert "Life Sciences Hub Wales" in html.get_content()
    assert str(message["Message-ID"]).startswith("<delivery-")


def test_with_mail_down_the_run_succeeds_and_the_report_waits(
    tracker: Tracker, mail: MailServer, site: SiteSpec, tmp_path: Path
) -> None:
    tracker.run_json()
    mail.stop()
    tracker.publish(edit(site))
    code, result = tracker.run_json()
    assert code == 0
    assert result["summary"]["organisations_added"] == 1
    pending = json.loads(tracker.cli("outbox", "--format", "json").stdout)
    assert [(d["channel"], d["status"], d["attempts"]) for d in pending] == [
        ("email", "pending", 1)
    ]
    assert "cannot send mail" in pending[0]["last_error"]

    mail.start()
    # The next run retries once the backoff has passed; make it due now.
    engine = create_engine(f"sqlite:///{tmp_path}/tracker.db")
    with engine.begin() as connection:
        connection.execute(update(Delivery).values(next_attempt_at=None))
    engine.dispose()
    assert tracker.run_json()[0] == 0
    assert [str(m["Subject"]) for m in mail.inbox.messages()] == [
        "UK life sciences support: baseline: 67 organisations in 8 pages",
        "UK life sciences support: 1 organisation added, no change note",
    ]
    assert json.loads(tracker.cli("outbox", "--format", "json").stdout) == []
    assert tracker.cli("outbox", "retry").exit_code == 0
    assert len(mail.inbox.messages()) == 2  # delivered exactly once


def test_outbox_retry_sends_failed_deliveries_once(
    tracker: Tracker, mail: MailServer, site: SiteSpec
) -> None:
    tracker.run_json()
    mail.stop()
    tracker.publish(edit(site))
    tracker.run_json()
    failing = tracker.cli("outbox", "retry")
    assert failing.exit_code == 1
    assert failing.stdout.strip() == "sent 0, failed 1"
    mail.start()
    assert tracker.cli("outbox", "retry").stdout.strip() == "sent 1, failed 0"
    assert tracker.cli("outbox", "retry").stdout.strip() == "sent 0, failed 0"
    assert len(mail.inbox.messages()) == 2  # the baseline, then the change exactly once
    listing = json.loads(tracker.cli("outbox", "--all", "--format", "json").stdout)
    assert {d["status"] for d in listing} == {"sent"}


def test_report_files_are_written_for_changed_runs(
    tracker: Tracker, site: SiteSpec, tmp_path: Path
) -> None:
    tracker.run_json()
    tracker.publish(edit(site))
    tracker.run_json()
    reports = tmp_path / "reports"
    names = sorted(p.name for p in reports.iterdir())
    assert "feed.atom" in names
    for ext in ("md", "html", "json"):
        assert f"latest.{ext}" in names
        assert len([n for n in names if n.startswith("2-") and n.endswith(f".{ext}")]) == 1
    report = json.loads((reports / "latest.json").read_text())
    diff = json.loads(tracker.cli("diff", "--format", "json").stdout)
    assert report == diff
    assert report["summary"]["organisations_added"] == 1
    assert not [n for n in names if n.endswith(".tmp")]


def test_page_text_is_escaped_in_html_reports_and_email(
    tracker: Tracker, mail: MailServer, site: SiteSpec, tmp_path: Path
) -> None:
    tracker.run_json()
    hostile = copy.deepcopy(site)
    hostile.doc(EXPERIMENTAL).stages[0].orgs.append(
        OrgSpec("<script>alert(1)</script>", None, "<p>Hostile.</p>")
    )
    tracker.publish(hostile)
    assert tracker.run_json()[0] == 0
    html_report = (tmp_path / "reports" / "latest.html").read_text()
    html_mail = mail.inbox.messages()[-1].get_body(("html",))
    assert html_mail is not None
    for html in (html_report, html_mail.get_content()):
        soup = BeautifulSoup(html, "html.parser")
        assert soup.find("script") is None
        assert "<script>alert(1)</script>" in soup.get_text()


def test_report_redelivers_any_range(tracker: Tracker, mail: MailServer, site: SiteSpec) -> None:
    tracker.run_json()
    tracker.publish(edit(site))
    tracker.run_json()
    result = tracker.cli("report", "1", "2", "--email", "--no-files")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "report 1..2: 1 delivery, sent 1, failed 0"
    assert len(mail.inbox.messages()) == 3


def test_a_page_failing_problems_after_runs_in_a_row_alerts_once(
    tracker: Tracker, mail: MailServer, site: SiteSpec
) -> None:
    text = tracker.config.read_text().replace("[email]", "[email]\nproblems_after = 2")
    tracker.config.write_text(text)
    tracker.run_json()
    del tracker.server.pages[site.doc(EXPERIMENTAL).path]
    subjects = []
    for _ in range(3):
        assert tracker.run_json()[0] == 1
        subjects.append([str(m["Subject"]) for m in mail.inbox.messages()[1:]])
    alert = "lifesci-tracker problem: 1 page failing"
    assert subjects == [[], [alert], [alert]]
    body = mail.inbox.messages()[1].get_body(("plain",))
    assert body is not None
    assert f"{EXPERIMENTAL}: gone: HTTP 404" in body.get_content()
