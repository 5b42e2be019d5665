"""Security: what the tracker fetches, parses, writes, prints and sends to the database.

- only `allowed_hosts` are fetched, redirect targets included (never 127.0.0.1 or a metadata
  address unless allowed), whatever tricks the URL plays;
- body and decompressed-size caps hold for every content encoding a server may send;
- the parser expands no entities and reads no local file (billion laughs, external entities);
- report file names cannot leave the reports directory, even through a symlink;
- HTML, Atom, Markdown and email output escape page text (`<script>` in an organisation name);
- passwords are never printed: `check-config`, logs at -vv, database and SMTP errors, outbox;
- SQL only through bound parameters: package code never formats SQL, and names made of SQL
  round-trip unharmed on SQLite and PostgreSQL.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import email
import gzip
import html
import json
import re
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import requests
import responses
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from bs4 import BeautifulSoup
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from reports.channels.base import DeliveryError
from reports.channels.file import FileChannel, FileOptions
from reports.model import RenderedReport
from scraper.errors import BodyTooLargeError, HostNotAllowedError, LayoutChangedError
from scraper.fetch import Fetcher, FetchSettings
from scraper.page import HtmlDocument, Publication, page_to_json
from scraper.parse import parse_html_document, parse_publication
from tests.e2e import Tracker
from tests.govuk_site import (
    FIXTURES,
    PUBLICATION_PATH,
    OrgSpec,
    SiteSpec,
    default_site,
)
from tests.site_server import SiteServer, serve
from tracker.cli import cli

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("scraper", "storage", "changes", "reports", "scheduler", "tracker")
GOV = "https://www.gov.uk"
PAGE = f"{GOV}/government/publications/uk-life-sciences-support"
HTML = b"<!DOCTYPE html><html><head><title>t</title></head><body><h1>t</h1></body></html>"
EXPERIMENTAL = "experimental-medicine-and-clinical-trials"
XSS_NAME = "<script>alert(1)</script>"
XSS_DESCRIPTION = (
    '<p>&lt;img src=x onerror="alert(2)"&gt; and <a href="javascript:alert(3)">a link</a>'
    ' and <a href="https://example.org/?q=&quot;&gt;&lt;script&gt;">another</a>.</p>'
)
SQL_NAMES = (
    "'); DROP TABLE run; --",
    'Robert"); DELETE FROM organisation; --',
    "O'Brien & Sons \\' OR '1'='1",
)
DB_PASSWORD = "Db-Pa55word-7f3a"
SMTP_PASSWORD = "Smtp-Pa55word-9c1e"


# --- only allowed hosts, redirects included ---------------------------------------------------


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    """Every request goes to `responses`; an unregistered URL would fail the test loudly."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"{GOV}/robots.txt", body="User-agent: *\nDisallow:\n")
        yield mock


def fetcher(**settings: Any) -> Fetcher:
    return Fetcher(
        requests.Session(), FetchSettings(**{"retries": 0, **settings}), sleep=lambda _: None
    )


FORBIDDEN = [
    "http://127.0.0.1/",
    "http://localhost/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://0xa9fea9fe/",  # 169.254.169.254 in hex
    "http://2852039166/",  # ... and as one number
    "http://0251.0376.0251.0376/",  # ... and in octal
    "http://[::ffff:169.254.169.254]/",
    "http://www.gov.uk@169.254.169.254/",
    "http://www.gov.uk:443@127.0.0.1/",
    "http://169.254.169.254#@www.gov.uk/",
    "http://169.254.169.254\\@www.gov.uk/",
    "http://www.gov.uk.169.254.169.254.nip.io/",
    "http://www.gov.uk.evil.example/",
    "http://WWW.GOV.UK.evil.example/",
    "file:///etc/passwd",
    "ftp://www.gov.uk/x",
    "gopher://127.0.0.1:6379/_INFO",
    "//169.254.169.254/",
]


@pytest.mark.parametrize("url", FORBIDDEN)
def test_a_url_off_the_allowed_hosts_is_never_requested(
    http: responses.RequestsMock, url: str
) -> None:
    with pytest.raises(HostNotAllowedError):
        fetcher().fetch(url if url[:2] != "//" else "http:" + url)
    assert len(http.calls) == 0


@pytest.mark.parametrize("target", FORBIDDEN)
def test_a_redirect_off_the_allowed_hosts_is_never_followed(
    http: responses.RequestsMock, target: str
) -> None:
    http.get(PAGE, status=302, headers={"Location": target})
    with pytest.raises(HostNotAllowedError) as refused:
        fetcher().fetch(PAGE)
    assert refused.value.reason.startswith("redirect to ")
    assert [call.request.url for call in http.calls] == [f"{GOV}/robots.txt", PAGE]


def test_a_redirect_chain_is_checked_at_every_hop(http: responses.RequestsMock) -> None:
    http.get(PAGE, status=301, headers={"Location": f"{GOV}/hop"})
    http.get(f"{GOV}/hop", status=307, headers={"Location": "/hop2"})
    http.get(f"{GOV}/hop2", status=302, headers={"Location": "http://169.254.169.254/"})
    with pytest.raises(HostNotAllowedError, match=r"169\.254\.169\.254"):
        fetcher().fetch(PAGE)
    assert http.calls[-1].request.url == f"{GOV}/hop2"


def test_a_site_on_a_host_not_allowed_is_never_fetched_end_to_end(tmp_path: Path) -> None:
    """The loopback site itself is off limits when allowed_hosts says www.gov.uk only."""
    with serve() as server:
        tracker = make_tracker(server, tmp_path, allowed_hosts='["www.gov.uk"]')
        tracker.publish(default_site("current"))
        result = tracker.cli("run", "--json")
        assert server.requests == []
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["status"] == "failed"
    assert data["problems"][0]["reason"] == "host 127.0.0.1 is not in allowed_hosts"


# --- body and decompressed-size caps -----------------------------------------------------------

BOMB_SIZE = 50_000_000


def _bombs() -> dict[str, tuple[bytes, str]]:
    plain = b"<html>" + b"\0" * BOMB_SIZE + b"</html>"
    deflate = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS)
    return {
        "gzip": (gzip.compress(plain, 9), "gzip"),
        "deflate": (deflate.compress(plain) + deflate.flush(), "deflate"),
        "gzip-twice": (gzip.compress(gzip.compress(plain, 9), 9), "gzip, gzip"),
    }


@pytest.mark.parametrize("kind", ["gzip", "deflate", "gzip-twice"])
def test_a_compression_bomb_is_refused_by_its_decoded_size(
    http: responses.RequestsMock, kind: str
) -> None:
    body, encoding = _bombs()[kind]
    assert len(body) < 200_000
    http.get(PAGE, body=body, headers={"Content-Encoding": encoding}, content_type="text/html")
    started = time.monotonic()
    with pytest.raises(BodyTooLargeError, match="decoded"):
        fetcher(max_bytes=1_000_000).fetch(PAGE)
    assert time.monotonic() - started < 5


def test_a_body_over_max_bytes_is_refused_even_without_a_content_length(
    http: responses.RequestsMock,
) -> None:
    chunks = iter([b"<html>", *([b"x" * 65536] * 100), b"</html>"])
    http.get(
        PAGE, body=b"".join(chunks), content_type="text/html", auto_calculate_content_length=False
    )
    with pytest.raises(BodyTooLargeError):
        fetcher(max_bytes=1_000_000).fetch(PAGE)


# --- no entity expansion, no local files ------------------------------------------------------


def _hostile_page(tmp_path: Path, doctype: str, entity: str) -> tuple[bytes, str]:
    secret = tmp_path / "secret.txt"
    marker = "SECRET-MARKER-51ab"
    secret.write_text(marker, encoding="utf-8")
    page = (
        (FIXTURES / "html_experimental-medicine-and-clinical-trials_current.html")
        .read_text(encoding="utf-8")
        .replace("<!DOCTYPE html>", doctype.replace("SECRET", secret.as_uri()), 1)
        .replace("Association of Medical Research Charities (AMRC)", entity, 1)
    )
    return page.encode("utf-8"), marker


LAUGHS = (
    "<!DOCTYPE html ["
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i else "lol"}">' for i in range(10))
    + "]>"
)
EXTERNAL = '<!DOCTYPE html [<!ENTITY xxe SYSTEM "SECRET">]>'
PARAMETER = '<!DOCTYPE html [<!ENTITY % p SYSTEM "SECRET"> %p;]>'
XML_DECLARED = '<?xml version="1.0"?>\n<!DOCTYPE html [<!ENTITY xxe SYSTEM "SECRET">]>'


@pytest.mark.parametrize(
    ("doctype", "entity"),
    [(LAUGHS, "&lol9;"), (EXTERNAL, "&xxe;"), (PARAMETER, "AMRC"), (XML_DECLARED, "&xxe;")],
    ids=["billion-laughs", "external-entity", "parameter-entity", "xml-declaration"],
)
def test_the_parser_expands_no_entity_and_reads_no_file(
    tmp_path: Path, doctype: str, entity: str
) -> None:
    body, marker = _hostile_page(tmp_path, doctype, entity)
    url = f"{GOV}/government/publications/uk-life-sciences-support/{EXPERIMENTAL}"
    started = time.monotonic()
    for parse in (parse_html_document, parse_publication):
        try:
            page = parse(body, url)
        except LayoutChangedError:
            continue
        serialised = page_to_json(page)
        assert marker not in serialised
        assert "lollollol" not in serialised
        if isinstance(page, HtmlDocument):
            assert len(serialised) < 2 * len(body)
    assert time.monotonic() - started < 5


def test_hostile_nesting_and_sizes_parse_quickly_or_raise_the_layout_error() -> None:
    deep = b"<html><body><main><h1>t</h1>" + b"<div>" * 20_000 + b"x" + b"</div>" * 20_000
    wide = b"<html><body><h1>t</h1>" + b"<p a='" + b"x" * 2_000_000 + b"'>" + b"</body></html>"
    many = (
        b"<html><body><main><h1>t</h1><div class='govspeak'><h2>s</h2>"
        + b"<h3>a</h3><p>&amp;&lt;&#0;</p>" * 10_000
    )
    for body in (deep, wide, many):
        started = time.monotonic()
        for parse in (parse_html_document, parse_publication):
            with contextlib.suppress(LayoutChangedError):
                parse(body, PAGE)
        assert time.monotonic() - started < 10


@st.composite
def spliced_fixtures(draw: st.DrawFn) -> bytes:
    """A fixture with hostile markup spliced in at random places."""
    names = sorted(path.name for path in FIXTURES.glob("*.html"))
    data = bytearray((FIXTURES / draw(st.sampled_from(names))).read_bytes())
    snippets = [
        LAUGHS.encode(), EXTERNAL.encode(), b"&lol9;", b"&xxe;", b"<![CDATA[<h3>x</h3>]]>",
        b"<h3>", b"</div>", b"</main>", b"<div class='govspeak'>", b"<section id='documents'>",
        b"<svg><h3>x</h3></svg>", b"<template><h3>t</h3></template>", b"<math><mi>",
        b"<table><h3>x</h3>", b"<noscript><h3>n</h3></noscript>", b"\x00", b"\xed\xa0\x80",
    ]  # fmt: skip
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.sampled_from(snippets))
    return bytes(data)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=spliced_fixtures())
def test_any_fixture_with_hostile_markup_gives_a_page_or_the_layout_error(body: bytes) -> None:
    for parse in (parse_publication, parse_html_document):
        try:
            page = parse(body, PAGE)
        except LayoutChangedError as error:
            reason = error.reason
            page = None
        if page is None:
            assert reason
            continue
        assert isinstance(page, Publication | HtmlDocument)
        assert "lollollol" not in page_to_json(page)


# --- report files stay in the reports directory -----------------------------------------------


@pytest.mark.parametrize(
    ("run", "extension"),
    [
        (1, "../../evil"),
        (1, "html/../../evil"),
        (1, "/etc/passwd"),
        (1, "html\0"),
        (-1, "html"),
        ("1/../../evil", "html"),  # not an int: refused
        (True, "html"),
    ],
)
def test_a_report_name_cannot_leave_the_reports_directory(
    tmp_path: Path, run: Any, extension: str
) -> None:
    directory = tmp_path / "reports"
    channel = FileChannel(FileOptions(directory))
    report = rendered(extension, "x")
    with pytest.raises(DeliveryError):
        channel.write(report, run=run, at=_now())
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == []


def test_a_symlink_in_the_reports_directory_is_replaced_not_followed(tmp_path: Path) -> None:
    directory = tmp_path / "reports"
    directory.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me", encoding="utf-8")
    (directory / "latest.html").symlink_to(outside)
    channel = FileChannel(FileOptions(directory))
    report = rendered("html", "new")
    channel.write(report, run=3, at=_now())
    assert outside.read_text(encoding="utf-8") == "keep me"
    assert not (directory / "latest.html").is_symlink()
    assert (directory / "latest.html").read_text(encoding="utf-8") == "new"


def rendered(extension: str, body: str) -> RenderedReport:
    return RenderedReport(
        format="html", subject="s", body=body, media_type="text/html", extension=extension
    )


def _now() -> datetime:
    return datetime(2021, 12, 1, 7, 0, 2, tzinfo=UTC)


# --- page text is escaped in every output ------------------------------------------------------


def make_tracker(
    server: SiteServer,
    folder: Path,
    *,
    database_url: str | None = None,
    allowed_hosts: str = '["127.0.0.1"]',
    extra: str = "",
) -> Tracker:
    url = database_url or f"sqlite:///{folder}/tracker.db"
    config = folder / "config.toml"
    config.write_text(
        f"""
[source]
urls = ["{server.url(PUBLICATION_PATH)}"]
allowed_hosts = {allowed_hosts}
timeout_s = 5
requests_per_second = 1000
retries = 0
backoff_s = 0.01

[database]
url = "{url}"

[reports]
dir = "{folder / "reports"}"
formats = ["markdown", "html", "json", "atom", "text"]
{extra}
""",
        encoding="utf-8",
    )
    return Tracker(server, config)


class Inbox:
    """An aiosmtpd handler that keeps every message."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 OK"

    def messages(self) -> list[EmailMessage]:
        found = [email.message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]
        return [m for m in found if isinstance(m, EmailMessage)]


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def with_hostile_organisation(site: SiteSpec) -> SiteSpec:
    edited = copy.deepcopy(site)
    stage = edited.doc(EXPERIMENTAL).stages[1]
    stage.orgs.append(OrgSpec(XSS_NAME, "https://example.org/x", XSS_DESCRIPTION))
    return edited


def assert_no_script(html_text: str, where: str, *, shown: bool = True) -> None:
    soup = BeautifulSoup(html_text, "html.parser")
    assert soup.find("script") is None, where
    for tag in soup.find_all(True):
        for name, value in tag.attrs.items():
            assert not name.lower().startswith("on"), (where, tag)
            text = " ".join(value) if isinstance(value, list) else str(value)
            assert not text.strip().lower().startswith("javascript:"), (where, tag)
    if shown:
        assert XSS_NAME in soup.get_text(), where  # shown, as text


def test_page_text_is_escaped_in_html_atom_markdown_and_email(tmp_path: Path) -> None:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with serve() as server:
            extra = f"""
[email]
enabled = true
host = "127.0.0.1"
port = {port}
security = "none"
from = "tracker@example.org"
to = ["team@example.org"]
"""
            tracker = make_tracker(server, tmp_path, extra=extra)
            site = default_site("current")
            tracker.publish(site)
            assert tracker.cli("run").exit_code == 0
            tracker.publish(with_hostile_organisation(site))
            result = tracker.cli("run", "--json")
            assert result.exit_code == 0, result.output
            assert json.loads(result.stdout)["summary"]["organisations_added"] == 1
            diff = tracker.cli("diff", "--format", "html")
            orgs = tracker.cli("orgs", "--format", "json")
    finally:
        controller.stop()
    assert XSS_NAME in [row["name"] for row in json.loads(orgs.stdout)]
    assert_no_script(diff.stdout, "diff --format html")
    reports = tmp_path / "reports"
    for path in sorted(reports.glob("*.html")):
        shown = not path.name.startswith("1-")  # run 1 is the baseline: no organisations listed
        assert_no_script(path.read_text(encoding="utf-8"), path.name, shown=shown)
    feed = ElementTree.parse(reports / "feed.atom").getroot()
    contents = [e.text or "" for e in feed.iter("{http://www.w3.org/2005/Atom}content")]
    assert contents
    for content in contents:
        assert "<script" not in content.lower(), "atom entry content"
    for path in sorted(reports.glob("*.md")):
        # As a Markdown viewer shows it: CommonMark passes raw HTML through.
        rendered_md = MarkdownIt("commonmark").render(path.read_text(encoding="utf-8"))
        assert_no_script(rendered_md, path.name, shown=not path.name.startswith("1-"))
    messages = inbox.messages()
    assert len(messages) == 2  # the baseline and the change
    html_part = messages[-1].get_body(("html",))
    assert html_part is not None
    assert_no_script(html_part.get_content(), "email html part")


# --- passwords are never printed ---------------------------------------------------------------


def _with_password(url: str, password: str) -> str:
    return re.sub(r"^(\w+(?:\+\w+)?://)([^:@/]+)(?::[^@/]*)?@", rf"\g<1>\g<2>:{password}@", url)


def test_check_config_masks_the_database_and_smtp_passwords(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[database]
url = "postgresql+psycopg://tracker:{DB_PASSWORD}@db.example:5432/tracker"

[email]
enabled = true
username = "tracker"
password_env = "TEST_SMTP_PASSWORD"
to = ["team@example.org"]
""",
        encoding="utf-8",
    )
    env = {"TEST_SMTP_PASSWORD": SMTP_PASSWORD, "LIFESCI_TRACKER_DATABASE_URL": ""}
    result = CliRunner().invoke(cli, ["--config", str(config), "-vv", "check-config"], env=env)
    assert result.exit_code == 0, result.output
    assert DB_PASSWORD not in result.output
    assert SMTP_PASSWORD not in result.output
    assert "***" in result.output


def test_a_database_error_never_shows_the_password(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://tracker:{DB_PASSWORD}@127.0.0.1:1/tracker"
    with serve() as server:
        tracker = make_tracker(server, tmp_path, database_url=url)
        for command in (["-vv", "run"], ["-vv", "history"], ["-vv", "orgs"]):
            result = tracker.cli(*command)
            assert result.exit_code == 2, result.output
            assert DB_PASSWORD not in result.output
            assert "Traceback" not in result.output
            assert "error: " in result.stderr


def test_logs_at_debug_level_never_show_the_database_password(
    pg_schema_url: str, tmp_path: Path
) -> None:
    url = _with_password(pg_schema_url, DB_PASSWORD)  # trust auth: the password is not checked
    with serve() as server:
        tracker = make_tracker(server, tmp_path, database_url=url)
        tracker.publish(default_site("current"))
        result = tracker.cli("-vv", "run", "--wait", "60")
        history = tracker.cli("-vv", "history")
    assert result.exit_code == 0, result.output
    assert "DEBUG" in result.stderr
    for output in (result.output, history.output):
        assert DB_PASSWORD not in output


def check_password(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    return AuthResult(success=False, handled=False)  # every password is wrong


def test_an_smtp_login_failure_never_shows_the_password(tmp_path: Path) -> None:
    import ssl

    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    port = free_port()
    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        server_hostname="localhost",
        tls_context=server_context,
        require_starttls=True,
        authenticator=check_password,
    )
    controller.start()
    try:
        with serve() as server:
            extra = f"""
[email]
enabled = true
host = "127.0.0.1"
port = {port}
security = "starttls"
username = "tracker"
password_env = "TEST_SMTP_PASSWORD"
from = "tracker@example.org"
to = ["team@example.org"]
"""
            tracker = make_tracker(server, tmp_path, extra=extra)
            tracker.publish(default_site("current"))
            env = {
                "TEST_SMTP_PASSWORD": SMTP_PASSWORD,
                "SSL_CERT_FILE": str(ca_file),
                "LIFESCI_TRACKER_DATABASE_URL": "",
            }
            runner = CliRunner()
            config = ["--config", str(tracker.config)]
            outputs = [
                runner.invoke(cli, [*config, "-vv", "run"], env=env),
                runner.invoke(cli, [*config, "-vv", "outbox", "--format", "json"], env=env),
                runner.invoke(cli, [*config, "-vv", "outbox", "retry"], env=env),
                runner.invoke(cli, [*config, "-vv", "history", "--format", "json"], env=env),
            ]
    finally:
        controller.stop()
    assert inbox.envelopes == []
    failed = json.loads(outputs[1].stdout)
    email_rows = [row for row in failed if row["channel"] == "email"]
    assert email_rows
    for row in email_rows:
        assert "535" in row["last_error"]
        assert "\n" not in row["last_error"]
    for result in outputs:
        assert SMTP_PASSWORD not in result.output
        assert "Traceback" not in result.output
    assert (tmp_path / "reports" / "latest.html").exists()  # the file channel still delivered


# --- SQL only through bound parameters ----------------------------------------------------------


def _sql_calls(tree: ast.AST) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in ("text", "execute", "exec_driver_sql", "executescript", "executemany"):
            yield node


def _formatted(node: ast.expr) -> bool:
    """True for an f-string with values, a % or + on strings, or a .format() call."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(value, ast.FormattedValue) for value in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return True
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
    )


def test_package_code_never_formats_sql() -> None:
    offenders = []
    files = [path for package in PACKAGES for path in (REPO / package).rglob("*.py")]
    assert len(files) > 30
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        offenders += [
            f"{path.relative_to(REPO)}:{call.lineno}"
            for call in _sql_calls(tree)
            if _formatted(call.args[0])
        ]
    assert offenders == []


def _sql_site() -> SiteSpec:
    site = default_site("current")
    stage = site.doc(EXPERIMENTAL).stages[0]
    for index, name in enumerate(SQL_NAMES):
        description = f"<p>{html.escape(name)} – ok</p>"
        stage.orgs.append(OrgSpec(name, f"https://example.org/{index}", description))
    site.add_change_note(site.change_notes[0][0].replace(year=2022), "Added '); DROP TABLE run;--")
    return site


def test_names_made_of_sql_round_trip_unharmed(database_url: str, tmp_path: Path) -> None:
    with serve() as server:
        tracker = make_tracker(server, tmp_path, database_url=database_url)
        tracker.publish(_sql_site())
        first = tracker.cli("run", "--json", "--wait", "60")
        assert first.exit_code == 0, first.output
        second = tracker.cli("run", "--json", "--wait", "60")
        assert second.exit_code == 0, second.output
        orgs = json.loads(tracker.cli("orgs", "--format", "json").stdout)
        found = tracker.cli("orgs", "--document", "'); DROP TABLE run; --", "--format", "json")
        updates = json.loads(tracker.cli("updates", "--format", "json").stdout)
        history = json.loads(tracker.cli("history", "--format", "json").stdout)
    names = [row["name"] for row in orgs]
    for name in SQL_NAMES:
        assert names.count(name) == 1
        (row,) = [row for row in orgs if row["name"] == name]
        assert row["description"] == f"{name} – ok"
    assert found.exit_code == 0
    assert json.loads(found.stdout) == []  # a filter, not SQL
    assert updates["updates"][0]["note"] == "Added '); DROP TABLE run;--"
    assert [run["status"] for run in history] == ["ok", "ok"]
