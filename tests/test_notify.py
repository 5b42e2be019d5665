"""Notifications through Apprise (issue 16), end to end against loopback stand-ins for services.

Four real Apprise targets post to servers on 127.0.0.1: a generic JSON webhook (`json://`), a
form webhook (`form://`), a Slack-compatible incoming webhook (Mattermost, `mmost://`) and a
Microsoft Teams workflow (`workflows://`, HTTPS with a trustme certificate). Every URL holds a
"SEKRET" token that must never show anywhere: output, logs, the outbox, the database.
"""

from __future__ import annotations

import copy
import json
import re
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text

from reports.formats.chat import MAX_CHARS
from storage.statuses import DeliveryStatus
from tests.e2e import Tracker
from tests.govuk_site import OrgSpec, SiteSpec, default_site
from tests.site_server import SiteServer
from tests.webhook_sink import WebhookSink, serve_sink
from tracker.cli import cli

EXPERIMENTAL = "experimental-medicine-and-clinical-trials"
SECRET = "SEKRET"
VARIABLE = "LIFESCI_TRACKER_NOTIFY_URLS"
SITE_URL = "https://lifesci.example.org/tracker"
CHANGE_SUBJECT = "UK life sciences support: 1 organisation added, no change note"
PATHS = {"json": "/json/", "form": "/form/", "mattermost": "/hooks/", "teams": "/workflows/"}


@pytest.fixture(scope="module")
def tls() -> tuple[ssl.SSLContext, trustme.CA]:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context, ca


@pytest.fixture
def sinks(
    tls: tuple[ssl.SSLContext, trustme.CA], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[WebhookSink, WebhookSink]]:
    context, ca = tls
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(ca.cert_pem.bytes())
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))  # Apprise posts to Teams over HTTPS
    with serve_sink() as plain, serve_sink(context) as secure:
        yield plain, secure


def target_urls(plain: WebhookSink, secure: WebhookSink) -> dict[str, str]:
    return {
        "json": f"json://127.0.0.1:{plain.port}/json/{SECRET}-json-token",
        "form": f"form://127.0.0.1:{plain.port}/form/{SECRET}-form-token",
        "mattermost": f"mmost://127.0.0.1:{plain.port}/{SECRET}mattermosttoken",
        "teams": f"workflows://127.0.0.1:{secure.port}/{SECRET}workflow/{SECRET}signature",
    }


class Notified:
    """A tracker with [notify] on, its four targets and what each received."""

    def __init__(self, tracker: Tracker, plain: WebhookSink, secure: WebhookSink) -> None:
        self.tracker = tracker
        self.plain = plain
        self.secure = secure
        self.urls = target_urls(plain, secure)

    def received(self, name: str) -> list[str]:
        sink = self.secure if name == "teams" else self.plain
        return [posted.text() for posted in sink.to(PATHS[name])]

    def counts(self) -> dict[str, int]:
        return {name: len(self.received(name)) for name in PATHS}

    def cli(self, *args: str, env: dict[str, str] | None = None) -> Result:
        environment = {VARIABLE: " ".join(self.urls.values()), "LIFESCI_TRACKER_DATABASE_URL": ""}
        return CliRunner().invoke(
            cli, ["--config", str(self.tracker.config), *args], env={**environment, **(env or {})}
        )

    def run(self, *args: str) -> Result:
        result = self.cli("run", *args)
        assert result.exit_code in (0, 1), result.output
        return result

    def outbox(self, *args: str) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = json.loads(
            self.cli("outbox", "--format", "json", *args).stdout
        )
        return rows


def notify_table(fmt: str = "markdown", extra: str = "") -> str:
    return f"""
[notify]
enabled = true
format = "{fmt}"

[site]
base_url = "{SITE_URL}"
{extra}"""


@pytest.fixture
def notified(
    server: SiteServer, sinks: tuple[WebhookSink, WebhookSink], tmp_path: Path
) -> Notified:
    tracker = Tracker.create(server, tmp_path, extra=notify_table())
    tracker.publish(default_site("current"))
    return Notified(tracker, *sinks)


def with_org(site: SiteSpec, name: str = "Life Sciences Hub Wales") -> SiteSpec:
    edited = copy.deepcopy(site)
    edited.doc(EXPERIMENTAL).stages[0].orgs.append(
        OrgSpec(name, "https://lshubwales.com", "<p>Support in Wales.</p>")
    )
    return edited


def test_each_target_gets_one_message_per_changed_run(notified: Notified) -> None:
    notified.run()
    assert notified.counts() == dict.fromkeys(PATHS, 1)  # the baseline
    notified.run()
    assert notified.counts() == dict.fromkeys(PATHS, 1)  # nothing changed: nothing sent
    notified.tracker.publish(with_org(default_site("current")))
    notified.run()
    assert notified.counts() == dict.fromkeys(PATHS, 2)

    [_, change] = [json.loads(body) for body in notified.received("json")]
    assert change["title"] == CHANGE_SUBJECT
    assert "Organisations added: 1" in change["message"]
    assert "- Added: Life Sciences Hub Wales (Discovery and deep research)" in change["message"]
    # The link is the run's own change-set page on the published site.
    assert change["message"].rstrip().endswith(f"Full report: <{SITE_URL}/changes/3.html>")
    form = json.loads(notified.received("form")[1])
    assert (form["title"], form["message"]) == (change["title"], change["message"])
    for name in ("mattermost", "teams"):
        assert "Life Sciences Hub Wales" in notified.received(name)[1]
    rows = notified.outbox("--all")
    notify_rows = [row for row in rows if row["channel"] == "notify"]
    assert len(notify_rows) == 8
    assert {row["status"] for row in notify_rows} == {DeliveryStatus.SENT}
    assert {row["target"] for row in notify_rows} == {
        f"json://127.0.0.1:{notified.plain.port}/…",
        f"form://127.0.0.1:{notified.plain.port}/…",
        f"mmost://127.0.0.1:{notified.plain.port}/…",
        f"workflows://127.0.0.1:{notified.secure.port}/…",
    }


def test_a_dead_target_waits_alone_and_is_sent_once_when_it_is_back(notified: Notified) -> None:
    notified.run()
    notified.plain.down.add("/form/")
    notified.tracker.publish(with_org(default_site("current")))
    assert notified.run().exit_code == 0  # a dead webhook never fails the run
    assert notified.counts() == {"json": 2, "form": 1, "mattermost": 2, "teams": 2}
    [waiting] = notified.outbox()
    assert (waiting["channel"], waiting["status"], waiting["attempts"]) == (
        "notify",
        DeliveryStatus.PENDING,
        1,
    )
    assert waiting["target"] == f"form://127.0.0.1:{notified.plain.port}/…"
    error = str(waiting["last_error"])
    assert error.startswith(f"cannot notify form://127.0.0.1:{notified.plain.port}/… (Form): ")
    assert "503" in error

    assert notified.cli("outbox", "retry").exit_code == 1  # still down: still waiting
    notified.plain.down.clear()
    retried = notified.cli("outbox", "retry")
    assert retried.stdout.strip() == "sent 1, failed 0"
    again = notified.cli("outbox", "retry", "--format", "json")
    assert json.loads(again.stdout) == {"sent": 0, "failed": 0}
    assert notified.counts() == dict.fromkeys(PATHS, 2)
    assert CHANGE_SUBJECT in notified.received("form")[1]


def test_no_secret_reaches_any_output_log_or_row(notified: Notified, tmp_path: Path) -> None:
    log_file = tmp_path / "tracker.log"
    notified.plain.down.add("/json/")  # its error is recorded, logged and listed too
    with socket.socket() as probe:  # and a target nothing listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    notified.urls["closed"] = f"json://user:{SECRET}pw@127.0.0.1:{closed}/x/{SECRET}?t={SECRET}"
    outputs = [
        notified.cli("-vv", "--log-file", str(log_file), "run"),
        notified.cli("-vv", "--log-file", str(log_file), "outbox", "retry"),
        notified.cli("-vv", "outbox"),
        notified.cli("outbox", "--all", "--format", "json"),
        notified.cli("check-config"),
        notified.cli("history", "--format", "json"),
        notified.cli("report", "--notify", "--no-files"),
    ]
    for result in outputs:
        assert SECRET not in result.output
        assert "Traceback" not in result.output
    assert "json://127.0.0.1" in outputs[2].stdout  # the failing targets are there, masked
    assert f"json://***@127.0.0.1:{closed}/…" in outputs[2].stdout
    assert "INFO" in log_file.read_text()
    assert SECRET not in log_file.read_text()
    engine = create_engine(f"sqlite:///{notified.tracker.config.parent}/tracker.db")
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM delivery")).all()
    engine.dispose()
    assert len(rows) >= 8
    assert SECRET not in repr(rows)


@pytest.mark.parametrize(
    ("fmt", "shown", "hidden"),
    [
        ("markdown", r"\<script\>alert(1)\</script\>", "<script>"),
        ("html", "&lt;script&gt;alert(1)&lt;/script&gt;", "<script>"),
        ("text", "<script>alert(1)</script>", r"\<script"),  # plain text: shown as written
    ],
)
def test_page_markup_arrives_escaped_or_as_plain_text(
    server: SiteServer,
    sinks: tuple[WebhookSink, WebhookSink],
    tmp_path: Path,
    fmt: str,
    shown: str,
    hidden: str,
) -> None:
    tracker = Tracker.create(server, tmp_path, extra=notify_table(fmt))
    site = default_site("current")
    tracker.publish(site)
    notified = Notified(tracker, *sinks)
    notified.run()
    tracker.publish(with_org(site, "<script>alert(1)</script> **bold**"))
    notified.run()
    message = json.loads(notified.received("json")[-1])["message"]
    assert shown in message
    assert hidden not in message


def test_a_long_change_set_is_cut_with_how_many_more_and_the_link(notified: Notified) -> None:
    notified.run()
    site = default_site("current")
    for number in range(40):
        site = with_org(site, f"New organisation number {number:02d}")
    notified.tracker.publish(site)
    notified.run()
    message = json.loads(notified.received("json")[-1])["message"]
    assert len(message) <= MAX_CHARS + 1  # and its final newline
    shown = re.findall(r"^- Added: New organisation number \d\d", message, re.M)
    assert 3 <= len(shown) < 40
    more = re.search(r"^…and (\d+) more changes$", message, re.M)
    assert more is not None
    report = (notified.tracker.config.parent / "reports" / "latest.md").read_text()
    every_line = re.findall(r"^- ", report, re.M)
    shown_lines = re.findall(r"^- ", message, re.M)
    assert len(shown_lines) + int(more[1]) == len(every_line)
    assert re.search(rf"Full report: <{re.escape(SITE_URL)}/changes/\d+\.html>$", message.rstrip())


def test_a_bad_apprise_url_fails_at_start_named_masked(notified: Notified) -> None:
    env = {VARIABLE: f"{notified.urls['json']} notaservice://{SECRET}host/{SECRET}path"}
    for command in (["run"], ["check-config"], ["schedule"], ["outbox", "retry"]):
        result = notified.cli(*command, env=env)
        assert result.exit_code == 2, (command, result.output)
        assert result.stderr.strip().startswith(
            f"error: [notify] ${VARIABLE}: URL 2 (notaservice://s***/…) is not one Apprise can use"
        )
        assert SECRET not in result.output
    assert notified.tracker.server.requests == []  # nothing was fetched


def test_check_config_lists_each_target_masked_with_its_service(notified: Notified) -> None:
    result = notified.cli("check-config")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    start = lines.index("# notify targets (4, masked):")
    listed = [line.split(maxsplit=2) for line in lines[start + 1 :]]
    plain, secure = notified.plain.port, notified.secure.port
    assert listed == [
        ["#", f"json://127.0.0.1:{plain}/…", "JSON"],
        ["#", f"form://127.0.0.1:{plain}/…", "Form"],
        ["#", f"mmost://127.0.0.1:{plain}/…", "Mattermost"],
        ["#", f"workflows://127.0.0.1:{secure}/…", "Power Automate / Workflows (for MSTeams)"],
    ]


def test_problem_alerts_go_to_notify_targets_too(
    server: SiteServer, sinks: tuple[WebhookSink, WebhookSink], tmp_path: Path
) -> None:
    tracker = Tracker.create(
        server, tmp_path, extra=notify_table(extra="[email]\nproblems_after = 2\n")
    )
    site = default_site("current")
    tracker.publish(site)
    notified = Notified(tracker, *sinks)
    notified.run()
    del server.pages[site.doc(EXPERIMENTAL).path]
    notified.run()
    assert notified.counts() == dict.fromkeys(PATHS, 1)
    notified.run()  # the second failing run in a row: one alert to every target
    assert notified.counts() == dict.fromkeys(PATHS, 2)
    alert = json.loads(notified.received("json")[-1])
    assert alert["title"] == "lifesci-tracker problem: 1 page failing"
    assert f"{EXPERIMENTAL}: gone: HTTP 404" in alert["message"]


def test_report_notify_sends_a_range_again(notified: Notified) -> None:
    notified.run()
    notified.tracker.publish(with_org(default_site("current")))
    notified.run()
    result = notified.cli("report", "1", "2", "--notify", "--no-files")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "report 1..2: 4 deliveries, sent 4, failed 0"
    assert notified.counts() == dict.fromkeys(PATHS, 3)
    assert json.loads(notified.received("json")[-1])["title"] == CHANGE_SUBJECT


def test_targets_from_an_apprise_config_file(
    server: SiteServer, sinks: tuple[WebhookSink, WebhookSink], tmp_path: Path
) -> None:
    plain, _ = sinks
    config_file = tmp_path / "apprise.yml"
    config_file.write_text(
        f"urls:\n  - json://127.0.0.1:{plain.port}/json/{SECRET}-from-file:\n      tag: team\n"
    )
    extra = notify_table(extra="").replace(
        'format = "markdown"', f'format = "markdown"\nconfig_file = "{config_file}"'
    )
    tracker = Tracker.create(server, tmp_path, extra=extra)
    tracker.publish(default_site("current"))
    notified = Notified(tracker, *sinks)
    assert notified.cli("run", env={VARIABLE: ""}).exit_code == 0
    assert len(plain.to("/json/")) == 1
    config_file.write_text("urls:\n  - notaservice://SEKRETx/y\n")
    broken = notified.cli("check-config", env={VARIABLE: ""})
    assert broken.exit_code == 2
    assert broken.stderr.startswith(f"error: [notify] [notify] config_file {config_file}: ")
    assert SECRET not in broken.output


def test_a_target_no_longer_configured_says_so(notified: Notified) -> None:
    notified.plain.down.add("/json/")
    notified.run()
    notified.plain.down.clear()
    others = " ".join(url for name, url in notified.urls.items() if name != "json")
    result = notified.cli("outbox", "retry", env={VARIABLE: others})
    assert result.exit_code == 1
    [waiting] = notified.outbox()
    assert str(waiting["last_error"]).startswith(
        f"notify target json://127.0.0.1:{notified.plain.port}/… is no longer configured"
    )
