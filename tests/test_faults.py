"""Fault injection, end to end: a real HTTP server on 127.0.0.1 misbehaves on demand.

Every test tracks the site once (the baseline), injects one fault, runs again through the real
CLI and checks four things: the expected behaviour (retried, an error observation, an anomaly
held back, "gone"), the exit code of DESIGN §4, a one-line reason (no traceback anywhere in the
output, every log line a log line), and that the stored data is intact: the organisations and
update entries at `latest` are exactly the baseline's and no version was written because of the
fault. Then the fault is lifted and the next run recovers (exit 0, same data).

Figures for docs/reliability.md: `pytest tests/test_faults.py -s` prints one summary line and
writes `fault-figures.json` into pytest's base temporary directory.
"""

from __future__ import annotations

import copy
import dataclasses
import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, func, select

from scraper.errors import IncompleteBodyError
from scraper.fetch import Fetcher, FetchSettings
from scraper.page import DocumentLink, Publication
from scraper.parse import parse_html_document, parse_publication
from storage.tables import OrganisationRow, PageVersion
from tests.e2e import Tracker
from tests.govuk_site import FIXTURES, PUBLICATION_PATH, SiteSpec, default_site, render_site
from tests.site_server import Reply, SiteServer, fail_first, redirect, serve
from tracker.guard import anomaly_reason

EXPERIMENTAL = "experimental-medicine-and-clinical-trials"
TRADE = "medical-technology"
RETRIES = 2
ATTEMPTS = RETRIES + 1
TIMEOUT_S = 0.5
ADVICE = "check your network or proxy (HTTP_PROXY)"
MAX_BYTES = 200_000
# Every line the CLI writes to stderr is a log record: time, level, logger, one-line message.
LOG_LINE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} (DEBUG|INFO|WARNING|ERROR) ")


# --- figures ---------------------------------------------------------------------------------


@dataclass
class Figures:
    """What the suite tried and found, for docs/reliability.md."""

    faults: list[str] = field(default_factory=list)
    runs: int = 0
    fault_runs: int = 0
    data_lost: int = 0  # organisations or update entries missing from `latest` after a fault
    false_removals: int = 0  # organisations a fault run reported as removed
    versions_from_faults: int = 0  # versions written by a fault run that should write none

    def as_dict(self) -> dict[str, Any]:
        return {
            "faults_tried": len(set(self.faults)),
            "fault_cases": len(self.faults),
            "runs": self.runs,
            "fault_runs": self.fault_runs,
            "data_lost": self.data_lost,
            "false_removals": self.false_removals,
            "versions_from_faults": self.versions_from_faults,
        }


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Figures]:
    collected = Figures()
    yield collected
    data = collected.as_dict()
    path = tmp_path_factory.getbasetemp() / "fault-figures.json"
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(
        "\nfault-injection figures: "
        + ", ".join(f"{key} {value}" for key, value in data.items())
        + f" ({path})"
    )


# --- the tracker under test -------------------------------------------------------------------


def fault_config(
    path: Path,
    server: SiteServer,
    database_url: str,
    reports_dir: Path,
    *,
    allowed_hosts: tuple[str, ...] = ("127.0.0.1",),
) -> Path:
    """A config with short timeouts and backoffs, so every fault costs well under a second."""
    hosts = ", ".join(json.dumps(host) for host in allowed_hosts)
    path.write_text(
        f"""
[source]
urls = ["{server.url(PUBLICATION_PATH)}"]
allowed_hosts = [{hosts}]
timeout_s = {TIMEOUT_S}
max_bytes = {MAX_BYTES}
requests_per_second = 1000
retries = {RETRIES}
backoff_s = 0.01

[database]
url = "{database_url}"

[reports]
dir = "{reports_dir}"
""",
        encoding="utf-8",
    )
    return path


@dataclass
class FaultTracker(Tracker):
    """A tracker whose database the test can also read directly."""

    database_url: str = ""
    figures: Figures | None = None

    def count(self, table: type) -> int:
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                value = connection.execute(select(func.count()).select_from(table)).scalar_one()
        finally:
            engine.dispose()
        return int(value)


@pytest.fixture
def server() -> Iterator[SiteServer]:
    with serve() as running:
        running.etags = False  # every run fetches every page whole, so every fault is served
        yield running


def make_tracker(
    server: SiteServer, database_url: str, tmp_path: Path, figures: Figures
) -> FaultTracker:
    config = fault_config(tmp_path / "config.toml", server, database_url, tmp_path / "reports")
    return FaultTracker(server, config, database_url=database_url, figures=figures)


@pytest.fixture
def tracker(server: SiteServer, tmp_path: Path, figures: Figures) -> FaultTracker:
    """On SQLite: most faults are about fetching and parsing, not the database."""
    return make_tracker(server, f"sqlite:///{tmp_path}/tracker.db", tmp_path, figures)


@pytest.fixture
def any_tracker(
    server: SiteServer, database_url: str, tmp_path: Path, figures: Figures
) -> FaultTracker:
    """On SQLite and PostgreSQL: for the faults where storage matters."""
    return make_tracker(server, database_url, tmp_path, figures)


@dataclass(frozen=True)
class Stored:
    """What the database holds at `latest`, as the query commands print it."""

    orgs: list[dict[str, Any]]
    updates: dict[str, Any]
    versions: int
    organisation_rows: int


def stored(tracker: FaultTracker) -> Stored:
    orgs = tracker.cli("orgs", "--format", "json")
    updates = tracker.cli("updates", "--format", "json")
    assert orgs.exit_code == 0, orgs.output
    assert updates.exit_code == 0, updates.output
    return Stored(
        orgs=json.loads(orgs.stdout),
        updates=json.loads(updates.stdout),
        versions=tracker.count(PageVersion),
        organisation_rows=tracker.count(OrganisationRow),
    )


@dataclass(frozen=True)
class RunOutput:
    """One `run --json` through the CLI."""

    code: int
    data: dict[str, Any]
    stderr: str

    @property
    def problems(self) -> dict[str, tuple[str, str]]:
        """{URL path: (outcome, reason)} of the pages that failed, were held back or are gone."""
        return {
            "/" + p["url"].split("/", 3)[3]: (p["outcome"], p["reason"])
            for p in self.data["problems"]
        }


def run(tracker: FaultTracker, *args: str) -> RunOutput:
    """Run once (`-v run --json`) and check the output is clean: JSON, log lines, no traceback."""
    result = tracker.cli("-v", "run", "--json", "--wait", "60", *args)
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    for line in result.stderr.splitlines():
        assert LOG_LINE.match(line), f"not a one-line log record: {line!r}"
    data = json.loads(result.stdout)
    for problem in data["problems"]:
        reason = problem["reason"]
        assert reason, problem
        assert "\n" not in reason, problem
        assert len(reason) <= 300, problem
    if tracker.figures is not None:
        tracker.figures.runs += 1
    return RunOutput(result.exit_code, data, result.stderr)


def baseline(tracker: FaultTracker, site: SiteSpec | None = None) -> Stored:
    """Publish the site, track it once (exit 0) and return what is stored."""
    tracker.publish(site or default_site("current"))
    first = run(tracker)
    assert first.code == 0, first.data
    assert first.data["pages"]["new"] == 8
    return stored(tracker)


def run_fault(tracker: FaultTracker, fault: str, before: Stored, *, code: int = 1) -> RunOutput:
    """Run with the fault in place; check its exit code and that nothing stored was harmed."""
    outcome = run(tracker)
    after = stored(tracker)
    figures = tracker.figures
    if figures is not None:
        figures.faults.append(fault)
        figures.fault_runs += 1
        figures.false_removals += outcome.data["summary"]["organisations_removed"]
        figures.data_lost += _missing(before.orgs, after.orgs)
        figures.data_lost += _missing(before.updates["updates"], after.updates["updates"])
        figures.versions_from_faults += after.versions - before.versions
    assert outcome.code == code, outcome.data
    assert outcome.data["summary"]["organisations_removed"] == 0
    assert after == before, "a fault changed the stored data"
    return outcome


def record_fault(tracker: FaultTracker, fault: str) -> None:
    """Count a fault whose run may rightly store a version (the page did change)."""
    if tracker.figures is not None:
        tracker.figures.faults.append(fault)
        tracker.figures.fault_runs += 1


def recover(tracker: FaultTracker, server: SiteServer, before: Stored) -> None:
    """Lift every fault: the next run tracks everything again and the data is still the same."""
    server.faults.clear()
    outcome = run(tracker)
    assert outcome.code == 0, outcome.data
    assert outcome.data["status"] == "ok"
    assert outcome.data["summary"]["organisations_removed"] == 0
    assert stored(tracker).orgs == before.orgs


def _missing(before: list[Any], after: list[Any]) -> int:
    remaining = [json.dumps(item, sort_keys=True) for item in after]
    return sum(1 for item in before if json.dumps(item, sort_keys=True) not in remaining)


def doc_path(slug: str = EXPERIMENTAL) -> str:
    return default_site("current").doc(slug).path


def page(tracker: FaultTracker, path: str) -> bytes:
    return tracker.server.pages[path]


def read_timeout_reason(server: SiteServer) -> str:
    host = server.base_url.removeprefix("http://")
    timed_out = f"no answer from {host} within {TIMEOUT_S:g} s (timed out)"
    return f"{timed_out} after {ATTEMPTS} attempts; {ADVICE}"


# --- network faults ---------------------------------------------------------------------------


def test_connect_timeout_fails_the_run_and_keeps_every_version(
    any_tracker: FaultTracker, server: SiteServer
) -> None:
    before = baseline(any_tracker)
    seen = server.request_count()
    with server.unreachable():
        outcome = run_fault(any_tracker, "connect timeout", before)
    assert server.request_count() == seen  # nothing got through
    assert outcome.data["status"] == "failed"
    assert outcome.data["pages"]["errors"] == 8
    reasons = {reason for _, reason in outcome.problems.values()}
    host = server.base_url.removeprefix("http://")
    # robots.txt is asked first; its failure is named as the host's, for every page.
    assert reasons == {
        f"cannot reach {host}: connection timed out after {ATTEMPTS} attempts; {ADVICE}"
    }
    recover(any_tracker, server, before)


def test_read_timeout_before_the_headers_is_retried_then_an_error(
    tracker: FaultTracker, server: SiteServer
) -> None:
    before = baseline(tracker)
    path = doc_path()
    server.faults[path] = Reply(body=page(tracker, path), delay_s=TIMEOUT_S + 0.3)
    outcome = run_fault(tracker, "read timeout", before)
    assert len(server.requests_for(path)) == 1 + ATTEMPTS
    assert outcome.problems == {path: ("error", read_timeout_reason(server))}
    assert outcome.data["status"] == "partial"
    recover(tracker, server, before)


def test_read_timeout_mid_body_is_retried_then_an_error(
    tracker: FaultTracker, server: SiteServer
) -> None:
    before = baseline(tracker)
    path = doc_path()
    body = page(tracker, path)
    server.faults[path] = Reply(body=body, stall_after=len(body) // 2, stall_s=TIMEOUT_S + 0.3)
    outcome = run_fault(tracker, "read timeout mid-body", before)
    assert len(server.requests_for(path)) == 1 + ATTEMPTS
    reason = f"read timed out mid-body after {ATTEMPTS} attempts"
    assert outcome.problems == {path: ("error", reason)}
    recover(tracker, server, before)


@pytest.mark.parametrize(
    ("drop_after", "reason"),
    [(None, "connection to {host} failed (connection reset)"), (5000, "connection lost mid-body")],
    ids=["before-answering", "mid-body"],
)
def test_a_connection_reset_is_retried_then_an_error(
    tracker: FaultTracker, server: SiteServer, drop_after: int | None, reason: str
) -> None:
    before = baseline(tracker)
    path = doc_path()
    server.faults[path] = Reply(body=page(tracker, path), reset=True, drop_after=drop_after)
    outcome = run_fault(tracker, "connection reset", before)
    assert len(server.requests_for(path)) == 1 + ATTEMPTS
    advice = f"; {ADVICE}" if drop_after is None else ""
    reason = reason.format(host=server.base_url.removeprefix("http://"))
    assert outcome.problems == {path: ("error", f"{reason} after {ATTEMPTS} attempts{advice}")}
    recover(tracker, server, before)


@pytest.mark.parametrize("status", [500, 503])
def test_5xx_then_recovery_within_the_retries_is_a_clean_run(
    tracker: FaultTracker, server: SiteServer, status: int
) -> None:
    before = baseline(tracker)
    path = doc_path()
    server.faults[path] = fail_first(RETRIES, Reply(status, b"<html>busy</html>"))
    outcome = run_fault(tracker, f"HTTP {status} then recovery", before, code=0)
    assert len(server.requests_for(path)) == 1 + ATTEMPTS  # two failures, then the page
    assert outcome.data["status"] == "ok"
    assert outcome.data["pages"]["unchanged"] == 8
    assert "retry 1 of 2" in outcome.stderr


@pytest.mark.parametrize("status", [500, 503])
def test_5xx_that_outlasts_the_retries_is_an_error(
    tracker: FaultTracker, server: SiteServer, status: int
) -> None:
    before = baseline(tracker)
    path = doc_path()
    server.faults[path] = Reply(status, b"<html>busy</html>")
    outcome = run_fault(tracker, f"HTTP {status}", before)
    assert len(server.requests_for(path)) == 1 + ATTEMPTS
    assert outcome.problems == {path: ("error", f"HTTP {status} after {ATTEMPTS} attempts")}
    recover(tracker, server, before)


def test_429_waits_as_long_as_retry_after_says(tracker: FaultTracker, server: SiteServer) -> None:
    before = baseline(tracker)
    path = doc_path()
    server.faults[path] = fail_first(1, Reply(429, b"", {"Retry-After": "1"}))
    outcome = run_fault(tracker, "429 with Retry-After", before, code=0)
    first, second = server.requests_for(path)[-2:]
    assert second.at - first.at >= 0.95  # backoff_s is 0.01: the wait is Retry-After's
    assert "HTTP 429; retry 1 of 2 in 1.00 s" in outcome.stderr


def test_a_robots_txt_failing_with_500_stops_the_host_and_keeps_everything(
    tracker: FaultTracker, server: SiteServer
) -> None:
    before = baseline(tracker)
    server.faults["/robots.txt"] = Reply(500, b"")
    outcome = run_fault(tracker, "robots.txt 500", before)
    assert outcome.data["status"] == "failed"
    assert len(server.requests_for("/robots.txt")) == 1 + ATTEMPTS
    assert len(server.requests) == 1 + 8 + ATTEMPTS  # baseline's robots.txt and pages, then this
    recover(tracker, server, before)


# --- bodies -----------------------------------------------------------------------------------


def test_a_body_shorter_than_its_content_length_is_retried_then_an_error(
    tracker: FaultTracker, server: SiteServer
) -> None:
    before = baseline(tracker)
    path = doc_path()
    body = page(tracker, path)
    server.faults[path] = Reply(body=body, drop_after=len(body) * 9 // 10)
    outcome = run_fault(tracker, "truncated body", before)
    assert len(server.requests_for(path)) == 1 + ATTEMPTS
    outcome_kind, reason = outcome.problems[path]
    assert outcome_kind == "error"
    assert reason.startswith("body incomplete")
    assert reason.endswith(f"after {ATTEMPTS} attempts")
    recover(tracker, server, before)


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("fraction", [0.8, 0.9, 0.97])
def test_a_body_cut_short_without_a_content_length_is_an_error_not_removals(
    any_tracker: FaultTracker, server: SiteServer, fraction: float, gzipped: bool
) -> None:
    """HTTP framing cannot tell: the connection just closes. The missing </html> does."""
    before = baseline(any_tracker)
    path = doc_path()
    body = page(any_tracker, path)
    cut = body[: int(len(body) * fraction)]
    server.faults[path] = Reply(body=cut, send_length=False, gzip_body=gzipped)
    outcome = run_fault(any_tracker, "truncated body without Content-Length", before)
    assert len(server.requests_for(path)) == 1 + ATTEMPTS
    reason = f"body incomplete (no closing </html>) after {ATTEMPTS} attempts"
    assert outcome.problems == {path: ("error", reason)}


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (
            Reply(body=b"<html>" + b" " * MAX_BYTES + b"</html>"),
            f"Content-Length {MAX_BYTES + 13} exceeds max_bytes {MAX_BYTES}",
        ),
        (
            Reply(body=b"<html>" + b" " * MAX_BYTES + b"</html>", send_length=False),
            f"body exceeds max_bytes {MAX_BYTES} (decoded)",
        ),
        (
            # 20 MB of markup in 20 kB of gzip: refused as soon as the decoded size passes.
            Reply(
                body=gzip.compress(b"<html>" + b"<p>x</p>" * 2_500_000 + b"</html>"),
                headers={"Content-Encoding": "gzip"},
            ),
            f"body exceeds max_bytes {MAX_BYTES} (decoded)",
        ),
    ],
    ids=["content-length", "streamed", "gzip-bomb"],
)
def test_a_body_over_max_bytes_is_refused_at_once(
    tracker: FaultTracker, server: SiteServer, reply: Reply, reason: str
) -> None:
    before = baseline(tracker)
    path = doc_path()
    server.faults[path] = reply
    outcome = run_fault(tracker, "body over max_bytes", before)
    assert len(server.requests_for(path)) == 2  # the baseline's and one: not retried
    assert outcome.problems == {path: ("error", reason)}
    recover(tracker, server, before)


@pytest.mark.parametrize(
    "content_type", ["application/pdf", "application/json", "text/plain; charset=utf-8"]
)
def test_a_non_html_content_type_is_an_error_without_retry(
    tracker: FaultTracker, server: SiteServer, content_type: str
) -> None:
    before = baseline(tracker)
    path = doc_path()
    server.faults[path] = Reply(body=page(tracker, path), headers={"Content-Type": content_type})
    outcome = run_fault(tracker, "non-HTML content type", before)
    assert len(server.requests_for(path)) == 2
    media_type = content_type.split(";")[0]
    assert outcome.problems == {path: ("error", f"unexpected content type {media_type}")}


# --- redirects --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://localhost:{other}/government/publications/uk-life-sciences-support",
        "http://[::1]:{other}/x",
        "file:///etc/passwd",
    ],
    ids=["metadata", "localhost", "ipv6-loopback", "file"],
)
def test_a_redirect_to_a_host_not_allowed_is_never_followed(
    tracker: FaultTracker, server: SiteServer, target: str
) -> None:
    before = baseline(tracker)
    with serve({"/x": b"<html>secret</html>"}) as other:
        path = doc_path()
        location = target.format(other=other.base_url.rsplit(":", 1)[1])
        server.faults[path] = redirect(location)
        outcome = run_fault(tracker, "redirect to a host not allowed", before)
        assert other.requests == []
    assert len(server.requests_for(path)) == 2
    kind, reason = outcome.problems[path]
    assert kind == "error"
    assert reason.startswith("redirect to ")
    assert reason.endswith(("is not in allowed_hosts", "is not http(s)"))
    recover(tracker, server, before)


@pytest.mark.parametrize("hops", [1, 2, 5])
def test_a_redirect_loop_is_an_error(tracker: FaultTracker, server: SiteServer, hops: int) -> None:
    before = baseline(tracker)
    path = doc_path()
    chain = [path] + [f"/loop/{i}" for i in range(1, hops)]
    for here, there in zip(chain, [*chain[1:], path], strict=True):
        server.faults[here] = redirect(server.url(there), 301)
    outcome = run_fault(tracker, "redirect loop", before)
    kind, reason = outcome.problems[path]
    assert (kind, reason) == ("error", f"redirect loop at {server.url(path)}")
    assert len(server.requests_for(path)) == 2  # a loop is not retried


# --- encodings and malformed markup -----------------------------------------------------------


def _reencode(body: bytes, charset: str) -> bytes:
    text = body.decode("utf-8").replace('<meta charset="utf-8">', f'<meta charset="{charset}">')
    return text.encode(charset, "xmlcharrefreplace")


def _spoil_one_name(body: bytes) -> bytes:
    """Mixed encodings: one organisation name's bytes in Latin-1 inside a UTF-8 page."""
    return body.replace(b"Commercial Partnerships</h3>", "Partnerships café</h3>".encode("latin-1"))


ENCODINGS = {
    "windows-1252": (lambda body: _reencode(body, "windows-1252"), "unchanged"),
    "iso-8859-1": (lambda body: _reencode(body, "iso-8859-1"), "unchanged"),
    "utf-8-bom": (lambda body: b"\xef\xbb\xbf" + body, "unchanged"),
    "declared-utf-16-but-utf-8": (
        lambda body: body.replace(b'<meta charset="utf-8">', b'<meta charset="utf-16">'),
        "unchanged",
    ),
    "declared-rot13": (
        lambda body: body.replace(b'<meta charset="utf-8">', b'<meta charset="rot13">'),
        "unchanged",
    ),
    "invalid-utf-8-in-a-description": (
        lambda body: body.replace(b"</h3>\n\n<p>", b"</h3>\n\n<p>\xff\xfe\xc3(\xa0 ", 1),
        "changed",
    ),
    "mixed-latin-1-name": (_spoil_one_name, "changed"),
    "nul-and-control-bytes": (
        lambda body: body.replace(b"<h3", b"\x00\x01\x1b<h3"),
        "unchanged",
    ),
}


@pytest.mark.parametrize("case", sorted(ENCODINGS))
def test_odd_or_invalid_encodings_never_remove_organisations(
    tracker: FaultTracker, server: SiteServer, case: str
) -> None:
    before = baseline(tracker)
    path = doc_path()
    mutate, expected = ENCODINGS[case]
    server.faults[path] = Reply(body=mutate(page(tracker, path)))
    outcome = run(tracker)
    record_fault(tracker, "invalid or mixed encoding")
    assert outcome.code == 0, outcome.data
    pages = outcome.data["pages"]
    assert pages[expected] == (8 if expected == "unchanged" else 1), pages
    summary = outcome.data["summary"]
    assert summary["organisations_removed"] == summary["organisations_added"] == 0
    after = stored(tracker)
    assert len(after.orgs) == len(before.orgs)
    if expected == "unchanged":
        assert after == before


MALFORMED = {
    "no-closing-p-or-li": lambda body: re.sub(rb"</(p|li)>", b"", body),
    "upper-case-tags": lambda body: re.sub(
        rb"<(/?)(h2|h3|p|a|ul|li)\b", lambda m: b"<" + m[1] + m[2].upper(), body
    ),
    "unclosed-links": lambda body: body.replace(b"</a>", b"", 5),
    "unclosed-headings": lambda body: body.replace(b"</h3>", b"", 2),
    "unclosed-div-in-a-description": lambda body: body.replace(b"</h3>", b"</h3><div>", 3),
    "stray-end-div-in-a-description": lambda body: _nth_replace(body, b"</h3>", b"</h3></div>", 9),
    "stray-end-divs-early": lambda body: _nth_replace(body, b"</h3>", b"</h3></div></div>", 2),
}


def _nth_replace(body: bytes, old: bytes, new: bytes, n: int) -> bytes:
    """Replace only the n-th (1-based) occurrence of `old`."""
    parts = body.split(old)
    return old.join(parts[:n]) + new + old.join(parts[n:])


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_html_parses_to_the_same_organisations(
    tracker: FaultTracker, server: SiteServer, case: str
) -> None:
    before = baseline(tracker)
    path = doc_path()
    server.faults[path] = Reply(body=MALFORMED[case](page(tracker, path)))
    outcome = run_fault(tracker, "malformed HTML", before, code=0)
    assert outcome.data["pages"]["unchanged"] == 8


# --- pages that are not what they should be ---------------------------------------------------

ERROR_PAGE_2025 = b"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Sorry, we're experiencing technical difficulties - GOV.UK</title></head><body>
<main class="govuk-main-wrapper" id="content"><h1 class="govuk-heading-l">Sorry, we\xe2\x80\x99re
experiencing technical difficulties</h1><p class="govuk-body">Please try again in a few
moments.</p></main></body></html>"""
ERROR_PAGE_SCRIPT = b"""<!DOCTYPE html><html><head><title>GOV.UK</title><script>
window.httpStatusCode = '503'</script></head><body><main><h1>UK life sciences support</h1>
</main></body></html>"""


@pytest.mark.parametrize("body", [ERROR_PAGE_2025, ERROR_PAGE_SCRIPT], ids=["heading", "script"])
def test_an_error_page_served_with_200_for_the_publication_is_held_back(
    tracker: FaultTracker, server: SiteServer, body: bytes
) -> None:
    before = baseline(tracker)
    server.faults[PUBLICATION_PATH] = Reply(body=body)
    outcome = run_fault(tracker, "GOV.UK error page served with 200", before)
    kind, reason = outcome.problems[PUBLICATION_PATH]
    assert kind == "anomaly"
    assert reason.startswith("GOV.UK error page")
    # The documents are still tracked, from the publication's last good version.
    assert outcome.data["pages"]["unchanged"] == 7
    recover(tracker, server, before)


def _without_h3(body: bytes) -> bytes:
    return re.sub(rb"<(/?)h3\b", rb"<\1h4", body)


def _without_govspeak(body: bytes) -> bytes:
    return body.replace(b'class="govspeak"', b'class="gem-c-rich-text"')


LAYOUT = {
    "documents-without-h3": (_without_h3, "all 12 organisations vanished"),
    "no-govspeak-container": (_without_govspeak, "no govspeak body"),
}


@pytest.mark.parametrize("case", sorted(LAYOUT))
def test_a_document_layout_change_is_an_anomaly_held_back(
    any_tracker: FaultTracker, server: SiteServer, case: str
) -> None:
    before = baseline(any_tracker)
    path = doc_path()
    mutate, reason = LAYOUT[case]
    server.faults[path] = Reply(body=mutate(page(any_tracker, path)))
    outcome = run_fault(any_tracker, "layout change", before)
    kind, found = outcome.problems[path]
    assert kind == "anomaly"
    assert found.startswith(reason)
    assert outcome.data["status"] == "partial"
    recover(any_tracker, server, before)


def test_a_documents_list_whose_links_lost_their_headings_is_an_anomaly(
    tracker: FaultTracker, server: SiteServer
) -> None:
    before = baseline(tracker)
    body = page(tracker, PUBLICATION_PATH)
    section = re.search(
        rb'<section id="documents">.*?</section>\s*<section id="details">', body, re.S
    )
    assert section is not None
    flattened = re.sub(rb"<(/?)h3\b", rb"<\1p", section[0])
    server.faults[PUBLICATION_PATH] = Reply(body=body.replace(section[0], flattened))
    outcome = run_fault(tracker, "layout change", before)
    assert outcome.problems[PUBLICATION_PATH] == ("anomaly", "Documents list has no document links")


def test_documents_no_longer_marked_html_are_held_back_not_removed(
    tracker: FaultTracker, server: SiteServer
) -> None:
    """A layout change in the Documents list: the "HTML" label is gone from every entry."""
    before = baseline(tracker)
    body = page(tracker, PUBLICATION_PATH)
    server.faults[PUBLICATION_PATH] = Reply(body=body.replace(b">HTML</span>", b"></span>"))
    outcome = run_fault(tracker, "layout change", before)
    kind, reason = outcome.problems[PUBLICATION_PATH]
    assert kind == "anomaly"
    assert "no longer listed as HTML" in reason
    recover(tracker, server, before)


def test_most_documents_vanishing_from_the_list_is_held_back(
    tracker: FaultTracker, server: SiteServer
) -> None:
    site = default_site("current")
    before = baseline(tracker, site)
    gutted = copy.deepcopy(site)
    del gutted.docs[2:]
    server.faults[PUBLICATION_PATH] = Reply(
        body=render_site(gutted, server.base_url)[PUBLICATION_PATH]
    )
    outcome = run_fault(tracker, "layout change", before)
    kind, reason = outcome.problems[PUBLICATION_PATH]
    assert kind == "anomaly"
    assert reason.startswith("5 of 7 HTML documents would be removed")
    server.faults.clear()
    tracker.publish(gutted)  # when it is real, --accept-anomalies stores it
    accepted = run(tracker, "--accept-anomalies")
    assert accepted.code == 0
    assert accepted.data["summary"]["organisations_removed"] > 0


# --- gone versus timed out --------------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_document_and_a_timed_out_one_keep_their_versions(
    any_tracker: FaultTracker, server: SiteServer, status: int
) -> None:
    before = baseline(any_tracker)
    gone, slow = doc_path(EXPERIMENTAL), doc_path(TRADE)
    server.faults[gone] = Reply(status, b"<html><body><h1>Page not found</h1></body></html>")
    server.faults[slow] = Reply(body=page(any_tracker, slow), delay_s=TIMEOUT_S + 0.3)
    outcome = run_fault(any_tracker, "gone vs timed out", before)
    assert outcome.problems == {
        gone: ("gone", f"HTTP {status}"),
        slow: ("error", read_timeout_reason(server)),
    }
    assert len(server.requests_for(gone)) == 2  # a 404/410 is an answer: not retried
    assert len(server.requests_for(slow)) == 1 + ATTEMPTS
    assert outcome.data["pages"]["gone"] == 1
    assert outcome.data["pages"]["errors"] == 1
    shown = any_tracker.cli("orgs", "--document", "Experimental", "--format", "json")
    assert "Association of Medical Research Charities (AMRC)" in shown.stdout
    recover(any_tracker, server, before)


def test_the_human_summary_names_each_problem_on_one_line(
    tracker: FaultTracker, server: SiteServer
) -> None:
    baseline(tracker)
    gone, slow = doc_path(EXPERIMENTAL), doc_path(TRADE)
    server.faults[gone] = Reply(410)
    server.faults[slow] = Reply(503)
    result = tracker.cli("run", "--wait", "60")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = result.stdout.splitlines()
    assert lines[0].endswith(": partial")
    assert f"  gone: {server.url(gone)}: HTTP 410" in lines
    assert f"  error: {server.url(slow)}: HTTP 503 after {ATTEMPTS} attempts" in lines


# --- the fixes this suite led to, unit by unit ------------------------------------------------

GOV_PAGE = "https://www.gov.uk/government/publications/uk-life-sciences-support"
FIXTURE_FILES = sorted(FIXTURES.glob("*.html"))


def _fetch_body(body: bytes, **headers: str) -> bytes:
    """Fetch `body` as a text/html page through `responses`; return what the fetcher accepts."""
    with responses.RequestsMock() as http:
        http.get("https://www.gov.uk/robots.txt", body="")
        http.get(GOV_PAGE, body=body, content_type="text/html; charset=utf-8", headers=headers)
        fetcher = Fetcher(requests.Session(), FetchSettings(retries=0), sleep=lambda _: None)
        return fetcher.fetch(GOV_PAGE).body


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fixture=st.sampled_from(FIXTURE_FILES), where=st.floats(0.0, 1.0, exclude_max=True))
def test_a_page_cut_anywhere_before_its_end_is_never_accepted(fixture: Path, where: float) -> None:
    body = fixture.read_bytes()
    start = body.lower().index(b"<!doctype html>") + len(b"<!doctype html>")
    end = body.rindex(b"</html>")
    cut = body[: start + int((end - start) * where)]
    # With a Content-Length that matches what is sent: HTTP framing sees nothing wrong.
    with pytest.raises(IncompleteBodyError, match="no closing </html>"):
        _fetch_body(cut, **{"Content-Length": str(len(cut))})


@pytest.mark.parametrize("fixture", FIXTURE_FILES, ids=lambda path: path.stem)
def test_whole_pages_and_non_documents_are_accepted(fixture: Path) -> None:
    body = fixture.read_bytes()
    assert _fetch_body(body) == body
    assert _fetch_body(body + b"\n<!-- served by cache-lhr-1 -->\n") != b""
    assert _fetch_body(b"x" * 1000) == b"x" * 1000  # not an HTML document: not judged
    assert _fetch_body(b"<p>a fragment") == b"<p>a fragment"


DOCUMENT_FIXTURES = [path for path in FIXTURE_FILES if path.name.startswith("html_")]


@pytest.mark.parametrize("fixture", DOCUMENT_FIXTURES, ids=lambda path: path.stem)
@pytest.mark.parametrize("nth", [1, 4, 9])
@pytest.mark.parametrize("stray", [b"</div>", b"</div></div>", b"</div></section></main>"])
def test_a_stray_end_tag_in_the_body_loses_no_organisation(
    fixture: Path, nth: int, stray: bytes
) -> None:
    body = fixture.read_bytes()
    spoiled = _nth_replace(body, b"</h3>", b"</h3>" + stray, nth)
    assert parse_html_document(spoiled, GOV_PAGE) == parse_html_document(body, GOV_PAGE)


@pytest.mark.parametrize("fixture", FIXTURE_FILES, ids=lambda path: path.stem)
def test_control_characters_are_not_content(fixture: Path) -> None:
    body = fixture.read_bytes()
    spoiled = body.replace(b"<h3", b"\x00\x01\x1b\x7f<h3").replace(b"<li", b"\x08<li")
    parse = parse_publication if fixture.name.startswith("publication") else parse_html_document
    assert parse(spoiled, GOV_PAGE) == parse(body, GOV_PAGE)


def _publication() -> Publication:
    page = parse_publication((FIXTURES / "publication_current.html").read_bytes(), GOV_PAGE)
    assert sum(link.kind == "html" for link in page.documents) == 7
    return page


def test_the_guard_holds_back_a_publication_losing_most_html_documents() -> None:
    before = _publication()
    kept = dataclasses.replace(before, documents=before.documents[:3])
    reason = anomaly_reason(before, kept, max_removed_fraction=0.5)
    assert reason == "4 of 7 HTML documents would be removed (more than max_removed_fraction 0.5)"
    few = dataclasses.replace(before, documents=before.documents[:4])  # 3 of 7 go: a real edit
    assert anomaly_reason(before, few, max_removed_fraction=0.5) is None
    assert anomaly_reason(before, before, max_removed_fraction=0.5) is None


def test_the_guard_holds_back_html_documents_relabelled_as_attachments() -> None:
    before = _publication()
    relabelled = tuple(
        dataclasses.replace(link, kind="attachment", attributes=()) if i == 2 else link
        for i, link in enumerate(before.documents)
    )
    after = dataclasses.replace(before, documents=relabelled)
    reason = anomaly_reason(before, after, max_removed_fraction=0.5)
    assert reason is not None
    assert reason.startswith("1 of 7 HTML documents no longer listed as HTML")


def test_the_guard_lets_a_first_publication_and_new_documents_through() -> None:
    before = _publication()
    assert anomaly_reason(None, before, max_removed_fraction=0.5) is None
    extra = DocumentLink("New", GOV_PAGE + "/new", "html", ("HTML",))
    grown = dataclasses.replace(before, documents=(*before.documents, extra))
    assert anomaly_reason(before, grown, max_removed_fraction=0.5) is None
