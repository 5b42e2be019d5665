"""The outbox (issue 12, 17): claims and leases, faults recorded per delivery, report files that
never overwrite a run's own, latest.* that only moves forward, cancel and purge, honest messages.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from reports.channels import FileChannel, FileOptions
from reports.formats.html import HtmlFormat
from reports.model import RenderedReport
from storage import outbox
from storage.db import create_db_engine, make_sessionmaker, upgrade, write_transaction
from storage.statuses import DeliveryKind, DeliveryStatus, RunStatus
from storage.tables import Delivery, Run
from tests.e2e import Tracker
from tests.govuk_site import OrgSpec, SiteSpec, default_site
from tests.mail_server import MailServer
from tests.site_server import SiteServer

EXPERIMENTAL = "experimental-medicine-and-clinical-trials"
T0 = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)


def edit(site: SiteSpec, name: str = "Life Sciences Hub Wales") -> SiteSpec:
    edited = copy.deepcopy(site)
    edited.doc(EXPERIMENTAL).stages[0].orgs.append(
        OrgSpec(name, "https://lshubwales.com", "<p>Support in Wales.</p>")
    )
    return edited


@pytest.fixture
def mail() -> Iterator[MailServer]:
    server = MailServer()
    server.start()
    yield server
    server.stop()


def baseline_with_mail_down(server: SiteServer, mail: MailServer, tmp_path: Path) -> Tracker:
    """A tracker whose baseline email waits in the outbox (mail was down); mail is up again."""
    tracker = Tracker.create(server, tmp_path, extra=mail.email_table())
    tracker.publish(default_site("current"))
    mail.stop()
    assert tracker.run_json()[0] == 0
    mail.start()
    return tracker


def two_runs(tracker: Tracker) -> None:
    """A baseline, then a run that finds one organisation added."""
    site = default_site("current")
    tracker.publish(site)
    tracker.run_json()
    tracker.publish(edit(site))
    tracker.run_json()


def outbox_rows(tracker: Tracker, *args: str) -> list[dict[str, object]]:
    result = tracker.cli("outbox", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


def deliveries(tracker: Tracker) -> list[Delivery]:
    engine = create_engine(f"sqlite:///{tracker.config.parent}/tracker.db")
    try:
        with make_sessionmaker(engine)() as session:
            return list(session.scalars(select(Delivery).order_by(Delivery.id)))
    finally:
        engine.dispose()


# --- claims --------------------------------------------------------------------------------------


def _one_delivery(database_url: str) -> tuple[sessionmaker[Session], int]:
    engine = create_db_engine(database_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with write_transaction(sessions) as session:
        run = Run(started_at=T0, trigger="manual", status=RunStatus.OK)
        session.add(run)
        session.flush()
        delivery = outbox.add_delivery(
            session,
            run_id=run.id,
            from_run_id=None,
            kind=DeliveryKind.RUN,
            channel="email",
            format="html",
            target="team@example.org",
            now=T0,
        )
        delivery_id = delivery.id
    return sessions, delivery_id


def test_a_claim_is_exclusive_until_its_lease_runs_out(database_url: str) -> None:
    sessions, delivery_id = _one_delivery(database_url)

    def claim(owner: str, at: datetime) -> Delivery | None:
        with write_transaction(sessions) as session:
            return outbox.claim(session, delivery_id, owner=owner, now=at)

    first = claim("killed-process", T0)
    assert first is not None
    assert first.status == DeliveryStatus.SENDING
    assert claim("second", T0 + timedelta(minutes=1)) is None  # the first is still sending
    with sessions() as session:
        assert outbox.due_deliveries(session, now=T0 + timedelta(minutes=1)) == []
    later = T0 + outbox.CLAIM_LEASE + timedelta(seconds=1)
    with sessions() as session:
        assert outbox.due_deliveries(session, now=later) == [delivery_id]
    taken_over = claim("second", later)
    assert taken_over is not None
    assert taken_over.claimed_by == "second"
    with write_transaction(sessions) as session:
        # The process that was thought dead finishes after all: it cannot mark the row.
        assert not outbox.mark_sent(session, first, owner="killed-process", subject="", now=later)
        assert outbox.mark_sent(session, taken_over, owner="second", subject="s", now=later)
    with sessions() as session:
        row = session.get_one(Delivery, delivery_id)
        assert (row.status, row.attempts, row.claimed_by) == (DeliveryStatus.SENT, 1, None)


def test_outbox_retry_leaves_a_delivery_being_sent_and_takes_an_abandoned_one(
    server: SiteServer, mail: MailServer, tmp_path: Path
) -> None:
    tracker = baseline_with_mail_down(server, mail, tmp_path)
    engine = create_engine(f"sqlite:///{tmp_path}/tracker.db")
    with engine.begin() as connection:
        now = datetime.now(UTC)
        connection.execute(
            update(Delivery)
            .where(Delivery.channel == "email")
            .values(status=DeliveryStatus.SENDING, claimed_by="other:1:x", claimed_at=now)
        )
    assert tracker.cli("outbox", "retry").stdout.strip() == "sent 0, failed 0"
    assert mail.inbox.messages() == []
    with engine.begin() as connection:
        connection.execute(update(Delivery).values(claimed_at=now - timedelta(hours=1)))
    engine.dispose()
    assert tracker.cli("outbox", "retry").stdout.strip() == "sent 1, failed 0"
    assert len(mail.inbox.messages()) == 1


# --- faults are recorded on the delivery; the run and the other deliveries go on ----------------


def test_a_rendering_error_fails_one_delivery_not_the_run(
    server: SiteServer, mail: MailServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker = Tracker.create(server, tmp_path, extra=mail.email_table(extra='format = "text"'))
    tracker.publish(default_site("current"))

    def broken(self: HtmlFormat, report: object) -> RenderedReport:
        raise RuntimeError("template exploded")

    monkeypatch.setattr(HtmlFormat, "render", broken)
    code, result = tracker.run_json()
    assert code == 0
    assert result["status"] == RunStatus.OK
    history = json.loads(tracker.cli("history", "--format", "json").stdout)
    assert [run["status"] for run in history] == [RunStatus.OK]
    pending = outbox_rows(tracker)
    assert [(row["format"], row["status"], row["attempts"]) for row in pending] == [
        ("html", DeliveryStatus.PENDING, 1)
    ]
    assert pending[0]["last_error"] == "internal error: RuntimeError: template exploded"
    names = {path.name for path in (tmp_path / "reports").iterdir()}
    assert {"latest.md", "latest.json", "feed.atom"} <= names
    assert "latest.html" not in names
    assert len(mail.inbox.messages()) == 1  # the email (text) went out all the same


def test_a_report_names_its_run_and_stores_no_rendered_report(
    server: SiteServer, tmp_path: Path
) -> None:
    tracker = Tracker.create(server, tmp_path)
    two_runs(tracker)
    rows = deliveries(tracker)
    assert {(row.run_id, row.kind) for row in rows} == {
        (1, DeliveryKind.RUN),
        (2, DeliveryKind.RUN),
    }
    assert {row.payload for row in rows} == {""}  # not the report, not a 50-entry feed
    assert {row.format: row.subject for row in rows if row.run_id == 2}["atom"] == (
        "UK life sciences support: 1 organisation added, no change note"
    )


# --- files -----------------------------------------------------------------------------------


def test_report_of_a_range_never_overwrites_a_runs_own_files(
    server: SiteServer, tmp_path: Path
) -> None:
    tracker = Tracker.create(server, tmp_path)
    two_runs(tracker)
    reports = tmp_path / "reports"
    before = {path.name: path.read_bytes() for path in reports.iterdir()}

    result = tracker.cli("report", "1", "2", "--format", "markdown", "--format", "atom")
    assert result.exit_code == 0, result.output

    after = {path.name: path.read_bytes() for path in reports.iterdir()}
    new = sorted(set(after) - set(before))
    assert [name.split("-")[:2] for name in new] == [["1", "2"], ["1", "2"]]
    assert sorted(name.rsplit(".", 1)[1] for name in new) == ["atom", "md"]
    assert {name: after[name] for name in before} == before  # nothing replaced, latest.* too
    baseline = tracker.cli("report", "latest", "latest", "--format", "json")
    assert baseline.exit_code == 0, baseline.output
    assert any(name.startswith("2-2-") for name in os.listdir(reports))


def test_report_files_are_stored_with_absolute_paths(
    server: SiteServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker = Tracker.create(server, tmp_path)
    tracker.config.write_text(
        tracker.config.read_text().replace(f'dir = "{tmp_path}/reports"', 'dir = "out"')
    )
    tracker.publish(default_site("current"))
    monkeypatch.chdir(tmp_path)
    assert tracker.run_json()[0] == 0
    targets = {row["target"] for row in outbox_rows(tracker, "--all")}
    assert targets == {str(tmp_path / "out")}
    assert (tmp_path / "out" / "latest.md").is_file()


def test_latest_and_the_feed_only_move_forward(tmp_path: Path) -> None:
    channel = FileChannel(FileOptions(tmp_path))

    def rendered(body: str, extension: str = "md") -> RenderedReport:
        return RenderedReport(
            format="markdown",
            subject="s",
            body=body,
            media_type="text/markdown",
            extension=extension,
        )

    channel.write(rendered("run 2"), run=2, at=T0 + timedelta(days=1))
    channel.write(rendered("run 1, retried late"), run=1, at=T0)
    assert (tmp_path / "latest.md").read_text() == "run 2"
    assert (tmp_path / "1-20260105T070000Z.md").read_text() == "run 1, retried late"
    channel.write(rendered("<feed>2</feed>", "atom"), run=2, at=T0 + timedelta(days=1))
    assert channel.write(rendered("<feed>1</feed>", "atom"), run=1, at=T0) == []
    assert (tmp_path / "feed.atom").read_text() == "<feed>2</feed>"
    channel.write(rendered("run 3"), run=3, at=T0 + timedelta(days=2))
    assert (tmp_path / "latest.md").read_text() == "run 3"


def test_a_late_retry_of_an_older_run_keeps_latest_on_the_newest(
    server: SiteServer, tmp_path: Path
) -> None:
    tracker = Tracker.create(server, tmp_path)
    site = default_site("current")
    tracker.publish(site)
    tracker.run_json()
    reports, aside = tmp_path / "reports", tmp_path / "aside"
    reports.rename(aside)
    reports.write_text("a file where the folder should be")  # run 2's reports cannot be written
    tracker.publish(edit(site))
    tracker.run_json()
    assert {row["run"] for row in outbox_rows(tracker)} == {2}  # waiting in the outbox
    reports.unlink()
    aside.rename(reports)
    tracker.publish(edit(edit(site), "Another organisation"))
    tracker.run_json()  # run 3's files; run 2's are still pending (backoff)
    assert "Another organisation" in (reports / "latest.md").read_text()
    assert tracker.cli("outbox", "retry").exit_code == 0  # run 2's, late
    assert "Another organisation" in (reports / "latest.md").read_text()
    feed = (reports / "feed.atom").read_text()
    assert feed.index("run:3") < feed.index("run:2")
    assert len(list(reports.glob("2-*.md"))) == 1


# --- refusing, cancelling, saying what is there -------------------------------------------------


@pytest.mark.parametrize("option", ["--email", "--notify"])
def test_report_to_a_channel_that_is_not_enabled_is_refused_at_once(
    server: SiteServer, tmp_path: Path, option: str
) -> None:
    tracker = Tracker.create(server, tmp_path)
    tracker.publish(default_site("current"))
    tracker.run_json()
    result = tracker.cli("report", option, "--no-files")
    assert result.exit_code == 2
    section = option.removeprefix("--")
    assert result.stderr.startswith(f"error: --{section}: [{section}] is not enabled")
    assert [row["channel"] for row in outbox_rows(tracker, "--all")] == ["file"] * 4


def test_cancel_drops_a_delivery_for_good_and_purge_removes_it(
    server: SiteServer, mail: MailServer, tmp_path: Path
) -> None:
    tracker = baseline_with_mail_down(server, mail, tmp_path)
    [pending] = outbox_rows(tracker)

    cancelled = tracker.cli("outbox", "cancel", str(pending["id"]))
    assert cancelled.exit_code == 0, cancelled.output
    assert cancelled.stdout.strip() == f"cancelled delivery {pending['id']} (it was pending)"
    assert tracker.cli("outbox").stdout.strip() == (
        "no deliveries pending or failed (`outbox --all` lists every delivery)"
    )
    assert tracker.cli("outbox", "retry").stdout.strip() == "sent 0, failed 0"
    assert tracker.run_json()[0] == 0
    assert mail.inbox.messages() == []
    again = tracker.cli("outbox", "cancel", str(pending["id"]), "999")
    assert again.exit_code == 2
    assert again.stderr.strip() == (
        f"error: delivery {pending['id']} is cancelled: it cannot be cancelled; "
        "no delivery 999 (`lifesci-tracker outbox --all` lists them)"
    )
    purged = tracker.cli("outbox", "purge")
    assert purged.stdout.strip() == "removed 1 delivery (failed or cancelled)"
    statuses = {row["status"] for row in outbox_rows(tracker, "--all")}
    assert statuses == {DeliveryStatus.SENT}


def test_an_empty_outbox_does_not_claim_reports_were_delivered(
    server: SiteServer, tmp_path: Path
) -> None:
    tracker = Tracker.create(server, tmp_path, extra="enabled = false")
    tracker.publish(default_site("current"))
    assert tracker.run_json()[0] == 0
    result = tracker.cli("outbox")
    assert result.exit_code == 0
    assert result.stdout.strip() == "no deliveries yet"


# --- the migration --------------------------------------------------------------------------------


def test_rows_written_before_the_claims_migration_keep_their_meaning(tmp_path: Path) -> None:
    from alembic import command

    from storage.db import alembic_config

    engine = create_db_engine(f"sqlite:///{tmp_path}/old.db")
    command.upgrade(alembic_config(engine), "0001")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO delivery (channel, format, target, subject, payload, status,"
                " attempts, created_at) VALUES"
                " ('email', 'alert', 'a@example.org', 'problem', '{}', 'pending', 0, :at),"
                " ('file', 'markdown', '/r', 's', 'body', 'sent', 1, :at)"
            ),
            {"at": T0.replace(tzinfo=None)},
        )
    upgrade(engine)
    with engine.connect() as connection:
        kinds = connection.execute(text("SELECT format, kind FROM delivery ORDER BY id")).all()
    engine.dispose()
    assert [tuple(row) for row in kinds] == [("alert", "alert"), ("markdown", "run")]
