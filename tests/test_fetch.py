"""Tests for stage 1, fetching: scraper/fetch.py, scraper/robots.py and scraper/ratelimit.py.

HTTP is mocked with `responses`; some tests talk to real servers on loopback to exercise urllib3's
own handling of short bodies, stalls and network failures (refused, timed out, TLS, proxy). Time is
a fake clock, so nothing sleeps for real.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import logging
import re
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import responses
import trustme

from scraper.errors import (
    BodyTooLargeError,
    FetchError,
    HostNotAllowedError,
    IncompleteBodyError,
    NetworkError,
    NetworkFailure,
    RobotsDisallowedError,
)
from scraper.fetch import (
    DEFAULT_USER_AGENT,
    ROBOTS_FAILURE_TTL_S,
    Fetcher,
    FetchResult,
    FetchSettings,
)
from scraper.ratelimit import HostRateLimiter
from scraper.robots import RobotsRules, parse_robots, product_token
from scraper.text import decode_html
from tests.site_server import SiteServer

GOV = "https://www.gov.uk"
ROBOTS = f"{GOV}/robots.txt"
PAGE = f"{GOV}/government/publications/uk-life-sciences-support"
HTML = "<!DOCTYPE html><html><head><title>UK life sciences support</title></head></html>"

# www.gov.uk/robots.txt as served (alphagov/govuk-helm-charts, charts/app-config/
# www-production-robots.txt, plus the meta-externalagent group seen in a live capture).
GOVUK_ROBOTS_TXT = """\
User-agent: *
Disallow: /*/print$
# Don't allow indexing of site search
Disallow: /search/all*
Sitemap: https://www.gov.uk/sitemap.xml

User-agent: meta-externalagent
Disallow: /search/all*

# https://ahrefs.com/robot/ crawls the site frequently
User-agent: AhrefsBot
Crawl-delay: 10

# https://www.deepcrawl.com/bot/ makes lots of requests.
User-agent: deepcrawl
Disallow: /

User-agent: MS Search 6.0 Robot
Disallow: /
"""


class FakeTime:
    """A monotonic clock that only moves when slept on, recording every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class RecordingSession(requests.Session):
    """A Session that remembers each response it returned and whether it was closed."""

    def __init__(self) -> None:
        super().__init__()
        self.responses: list[requests.Response] = []
        self.closed: list[bool] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        response = super().send(request, **kwargs)
        index = len(self.responses)
        self.responses.append(response)
        self.closed.append(False)
        close = response.close

        def recording_close() -> None:
            self.closed[index] = True
            close()

        response.close = recording_close  # type: ignore[method-assign]
        return response


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def make_fetcher(fake_time: FakeTime) -> Callable[..., Fetcher]:
    """Build a Fetcher on a fresh session and the fake clock; robots.txt off unless asked for."""

    def build(session: requests.Session | None = None, **settings: Any) -> Fetcher:
        settings.setdefault("obey_robots", False)
        return Fetcher(
            session or requests.Session(),
            FetchSettings(**settings),
            sleep=fake_time.sleep,
            clock=fake_time.clock,
        )

    return build


def add_page(
    http: responses.RequestsMock, url: str = PAGE, body: str | bytes = HTML, **kwargs: Any
) -> None:
    kwargs.setdefault("content_type", "text/html; charset=utf-8")
    http.get(url, body=body, **kwargs)


def urls_requested(http: responses.RequestsMock) -> list[str]:
    return [call.request.url or "" for call in http.calls]


class BrokenBody(io.RawIOBase):
    """A response body that yields `head`, then fails with `error` as a dying socket would."""

    def __init__(self, head: bytes, error: BaseException) -> None:
        self._head = head
        self._error = error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        raise self._error


def add_broken_page(http: responses.RequestsMock, error: BaseException) -> None:
    def reply(request: requests.PreparedRequest) -> tuple[int, dict[str, str], Any]:
        return 200, {}, io.BufferedReader(BrokenBody(b"<!DOCTYPE html><html>", error))

    http.add_callback(responses.GET, PAGE, callback=reply, content_type="text/html")


# --- results -------------------------------------------------------------------------------------


def test_a_page_is_returned_with_its_body_headers_and_timing(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher]
) -> None:
    add_page(http, headers={"ETag": 'W/"abc"', "Last-Modified": "Wed, 01 Dec 2021 10:00:00 GMT"})

    result = make_fetcher().fetch(PAGE)

    assert result == FetchResult(
        url=PAGE,
        final_url=PAGE,
        status=200,
        body=HTML.encode(),
        content_type="text/html; charset=utf-8",
        etag='W/"abc"',
        last_modified="Wed, 01 Dec 2021 10:00:00 GMT",
        elapsed_s=0.0,
        attempts=1,
    )
    assert not result.not_modified
    assert not result.gone


@pytest.mark.parametrize(
    ("content_type", "charset"),
    [
        ("text/html; charset=windows-1252", "windows-1252"),
        ('text/html;CHARSET="ISO-8859-1"', "ISO-8859-1"),
        ("text/html; q=1; charset = koi8-r ; x=y", "koi8-r"),
        ("text/html; charset=bogus", "bogus"),  # as sent: decoding ignores a label it cannot use
        ("text/html; charset=", None),
        ("text/html", None),
        (None, None),
    ],
)
def test_the_content_type_charset_is_exposed_as_sent(
    http: responses.RequestsMock,
    make_fetcher: Callable[..., Fetcher],
    content_type: str | None,
    charset: str | None,
) -> None:
    http.get(PAGE, body=HTML, content_type=content_type)

    assert make_fetcher().fetch(PAGE).charset == charset


def test_a_windows_1252_page_labelled_only_by_its_content_type_reads_as_windows_1252(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher]
) -> None:
    body = "<!DOCTYPE html><html><body><h3>King’s College – Café</h3></body></html>"
    add_page(http, body=body.encode("cp1252"), content_type="text/html; charset=windows-1252")

    result = make_fetcher().fetch(PAGE)

    assert "<h3>King’s College – Café</h3>" in decode_html(result.body, result.charset)


@pytest.mark.parametrize("status", [404, 410])
def test_404_and_410_are_gone_results_not_errors(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher], status: int
) -> None:
    add_page(http, body="<html>Page not found</html>", status=status)

    result = make_fetcher().fetch(PAGE)

    assert (result.status, result.gone, result.body) == (status, True, b"")


def test_conditional_get_sends_the_validators_and_a_304_is_not_modified(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher]
) -> None:
    add_page(http, body="", status=304)

    result = make_fetcher().fetch(
        PAGE, etag='W/"abc"', last_modified="Wed, 01 Dec 2021 10:00:00 GMT"
    )

    sent = http.calls[0].request.headers
    assert sent["If-None-Match"] == 'W/"abc"'
    assert sent["If-Modified-Since"] == "Wed, 01 Dec 2021 10:00:00 GMT"
    assert result.not_modified
    assert not result.gone
    assert result.body == b""
    assert (result.etag, result.last_modified) == ('W/"abc"', "Wed, 01 Dec 2021 10:00:00 GMT")


def test_a_fetch_without_validators_is_unconditional(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher]
) -> None:
    add_page(http)

    make_fetcher().fetch(PAGE)

    sent = http.calls[0].request.headers
    assert "If-None-Match" not in sent
    assert "If-Modified-Since" not in sent


def test_a_validator_that_cannot_be_a_header_is_not_sent(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher]
) -> None:
    add_page(http)

    make_fetcher().fetch(PAGE, etag='"a"\r\nX-Injected: 1')

    assert "If-None-Match" not in http.calls[0].request.headers
    assert "X-Injected" not in http.calls[0].request.headers


# --- the request itself ---------------------------------------------------------------------------


def test_every_request_goes_through_the_session_passed_in_with_an_honest_user_agent(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher]
) -> None:
    http.get(ROBOTS, body=GOVUK_ROBOTS_TXT)
    add_page(http)
    session = RecordingSession()

    make_fetcher(session, obey_robots=True).fetch(PAGE)

    assert urls_requested(http) == [ROBOTS, PAGE]
    assert len(session.responses) == 2
    assert [call.request.headers["User-Agent"] for call in http.calls] == [DEFAULT_USER_AGENT] * 2
    # (The application adds its version: "lifesci-tracker/0.1.0 (+...)", tests/test_tracking_run.)
    assert re.fullmatch(
        r"lifesci-tracker \(\+https://github\.com/lifesci-tracker/lifesci-tracker\)",
        DEFAULT_USER_AGENT,
    )


def test_each_request_streams_with_the_timeout_and_accepts_gzip(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher]
) -> None:
    add_page(http)

    make_fetcher(timeout_s=0.25).fetch(PAGE)

    request = http.calls[0].request
    assert request.req_kwargs["timeout"] == (0.25, 0.25)  # type: ignore[attr-defined]
    assert request.req_kwargs["stream"] is True  # type: ignore[attr-defined]
    assert "gzip" in request.headers["Accept-Encoding"]
    assert request.headers["Accept"] == "text/html, application/xhtml+xml"


def test_a_gzip_body_is_decoded(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher]
) -> None:
    add_page(http, body=gzip.compress(HTML.encode()), headers={"Content-Encoding": "gzip"})

    assert make_fetcher().fetch(PAGE).body == HTML.encode()


@pytest.mark.parametrize("status", [200, 304, 404, 301, 403, 503])
def test_every_response_is_closed(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher], status: int
) -> None:
    headers = {"Location": f"{GOV}/elsewhere"} if status == 301 else {}
    add_page(http, status=status, headers=headers)
    add_page(http, url=f"{GOV}/elsewhere")
    session = RecordingSession()

    with contextlib.suppress(FetchError):
        make_fetcher(session, retries=1).fetch(PAGE)

    assert session.closed
    assert all(session.closed)


# --- hosts and redirects --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/government/publications/uk-life-sciences-support",
        "https://gov.uk/",
        "https://www.gov.uk.evil.example/",
        "https://www.gov.uk@evil.example/",
        "https://evil.example\\@www.gov.uk/",  # urlsplit sees www.gov.uk; urllib3 connects to evil
        "https://evil.example/?www.gov.uk",
        "http://127.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://localhost:8080/",
    ],
)
def test_a_url_outside_the_allowed_hosts_is_refused_without_a_request(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher], url: str
) -> None:
    with pytest.raises(HostNotAllowedError, match="not in allowed_hosts"):
        make_fetcher(obey_robots=True).fetch(url)

    assert len(http.calls) == 0


@pytest.mark.parametrize(
    "url", ["ftp://www.gov.uk/", "file:///etc/passwd", "www.gov.uk/government", "javascript:x"]
)
def test_only_http_and_https_are_fetched(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher], url: str
) -> None:
    with pytest.raises(HostNotAllowedError, match=r"is not http\(s\)"):
        make_fetcher().fetch(url)

    assert len(http.calls) == 0


def test_an_allowed_host_matches_case_insensitively_on_any_port(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher]
) -> None:
    add_page(http, url="https://www.gov.uk:8443/a")
    add_page(http, url="http://127.0.0.1:8080/b")
    fetcher = make_fetcher(allowed_hosts=("WWW.gov.uk", "127.0.0.1"))

    assert fetcher.fetch("https://WWW.GOV.UK:8443/a").status == 200
    assert fetcher.fetch("http://127.0.0.1:8080/b#top").final_url == "http://127.0.0.1:8080/b"


def test_a_relative_redirect_is_followed_and_the_final_url_reported(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher]
) -> None:
    add_page(http, url=f"{GOV}/old", status=301, headers={"Location": "/government/new?x=1"})
    add_page(http, url=f"{GOV}/government/new?x=1", status=302, headers={"Location": "newer"})
    add_page(http, url=f"{GOV}/government/newer")

    result = make_fetcher().fetch(f"{GOV}/old")

    assert (result.url, result.final_url) == (f"{GOV}/old", f"{GOV}/government/newer")
    assert result.body == HTML.encode()
    assert urls_requested(http) == [
        f"{GOV}/old",
        f"{GOV}/government/new?x=1",
        f"{GOV}/government/newer",
    ]


@pytest.mark.parametrize(
    ("location", "host"),
    [
        ("https://evil.example/phish", "evil.example"),
        ("//assets.publishing.service.gov.uk/file.pdf", "assets.publishing.service.gov.uk"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://127.0.0.1:6379/", "127.0.0.1"),
    ],
)
def test_a_redirect_to_a_host_not_allowed_is_refused_naming_the_host(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher], location: str, host: str
) -> None:
    add_page(http, status=302, headers={"Location": location})

    with pytest.raises(HostNotAllowedError) as caught:
        make_fetcher().fetch(PAGE)

    assert caught.value.reason == f"redirect to host {host} is not in allowed_hosts"
    assert urls_requested(http) == [PAGE]


def test_a_redirect_to_another_scheme_is_refused(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher]
) -> None:
    add_page(http, status=302, headers={"Location": "file:///etc/passwd"})

    with pytest.raises(HostNotAllowedError, match="redirect to scheme file"):
        make_fetcher().fetch(PAGE)


def test_a_redirect_loop_is_a_fetch_error(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher]
) -> None:
    add_page(http, url=f"{GOV}/a", status=301, headers={"Location": f"{GOV}/b"})
    add_page(http, url=f"{GOV}/b", status=301, headers={"Location": f"{GOV}/a"})

    with pytest.raises(FetchError, match="redirect loop"):
        make_fetcher().fetch(f"{GOV}/a")

    assert len(http.calls) == 2


def test_up_to_max_redirects_are_followed_and_one_more_is_a_fetch_error(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher]
) -> None:
    for hop in range(3):
        add_page(http, url=f"{GOV}/{hop}", status=307, headers={"Location": f"/{hop + 1}"})
    add_page(http, url=f"{GOV}/3")

    assert make_fetcher(max_redirects=3).fetch(f"{GOV}/0").final_url == f"{GOV}/3"
    with pytest.raises(FetchError, match="more than 2 redirects"):
        make_fetcher(max_redirects=2).fetch(f"{GOV}/0")


def test_a_redirect_without_a_location_is_a_fetch_error(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher]
) -> None:
    add_page(http, status=302)

    with pytest.raises(FetchError, match="redirect without a Location header"):
        make_fetcher().fetch(PAGE)


def test_a_redirect_target_is_checked_against_robots_txt(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher]
) -> None:
    http.get(ROBOTS, body=GOVUK_ROBOTS_TXT)
    add_page(http, status=302, headers={"Location": f"{PAGE}/print"})

    with pytest.raises(RobotsDisallowedError):
        make_fetcher(obey_robots=True).fetch(PAGE)

    assert urls_requested(http) == [ROBOTS, PAGE]


# --- body size and completeness -------------------------------------------------------------------


def test_a_body_over_max_bytes_is_refused_not_truncated(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher]
) -> None:
    def reply(request: requests.PreparedRequest) -> tuple[int, dict[str, str], Any]:
        # No Content-Length: only counting while streaming can notice.
        return 200, {}, io.BufferedReader(io.BytesIO(b"x" * 1001))

    http.add_callback(responses.GET, PAGE, callback=reply, content_type="text/html")

    with pytest.raises(BodyTooLargeError, match="exceeds max_bytes 1000"):
        make_fetcher(max_bytes=1000).fetch(PAGE)


def test_a_body_of_exactly_max_bytes_is_accepted(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher]
) -> None:
    add_page(http, body=b"x" * 1000)

    assert len(make_fetcher(max_bytes=1000).fetch(PAGE).body) == 1000


def test_a_content_length_over_max_bytes_is_refused_before_reading(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher]
) -> None:
    body = BrokenBody(b"", AssertionError("the body must not be read"))
    http.get(
        PAGE,
        body=io.BufferedReader(body),
        headers={"Content-Length": "10000001"},
        content_type="text/html",
    )

    with pytest.raises(BodyTooLargeError, match="Content-Length 10000001 exceeds max_bytes"):
        make_fetcher().fetch(PAGE)


def test_a_gzip_bomb_is_refused_by_its_decoded_size(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher]
) -> None:
    bomb = gzip.compress(b"\0" * 30_000_000, compresslevel=9)
    assert len(bomb) < 100_000
    add_page(http, body=bomb, headers={"Content-Encoding": "gzip"})

    with pytest.raises(BodyTooLargeError, match="decoded"):
        make_fetcher().fetch(PAGE)


def test_a_body_shorter_than_its_content_length_is_incomplete_and_retried(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher], fake_time: FakeTime
) -> None:
    add_page(http, body=b"<html>cut", headers={"Content-Length": "100"})

    with pytest.raises(IncompleteBodyError) as caught:
        make_fetcher(retries=2).fetch(PAGE)

    assert caught.value.reason == "body incomplete after 3 attempts"
    assert fake_time.sleeps == [1.0, 2.0]


def test_an_incomplete_body_then_a_whole_one_succeeds(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher]
) -> None:
    add_page(http, body=b"<html>cut", headers={"Content-Length": "100"})
    add_page(http)

    result = make_fetcher().fetch(PAGE)

    assert (result.body, result.attempts) == (HTML.encode(), 2)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (ConnectionResetError(104, "Connection reset by peer"), "connection lost mid-body"),
        (TimeoutError("timed out"), "read timed out mid-body"),
    ],
)
def test_a_connection_failing_mid_body_is_an_incomplete_body_after_retries(
    http: responses.RequestsMock,
    make_fetcher: Callable[..., Fetcher],
    fake_time: FakeTime,
    error: BaseException,
    reason: str,
) -> None:
    add_broken_page(http, error)

    with pytest.raises(IncompleteBodyError) as caught:
        make_fetcher().fetch(PAGE)

    assert caught.value.reason == f"{reason} after 4 attempts"
    assert len(http.calls) == 4
    assert fake_time.sleeps == [1.0, 2.0, 4.0]


def _serve_once_per_connection(
    handler: Callable[[socket.socket, threading.Event], None],
) -> Iterator[str]:
    """Run `handler(connection, stop)` for each connection on a loopback port until teardown."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.05)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with connection:
                connection.recv(65536)
                handler(connection, stop)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/page"
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()


@pytest.fixture
def truncating_server() -> Iterator[str]:
    """A real server that announces 100 bytes, sends 20 and hangs up."""

    def handler(connection: socket.socket, stop: threading.Event) -> None:
        connection.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100\r\n\r\n"
            + b"<html>only 20 bytes."
        )

    yield from _serve_once_per_connection(handler)


@pytest.fixture
def stalling_server() -> Iterator[str]:
    """A real server that sends the headers and part of the body, then stalls until teardown."""

    def handler(connection: socket.socket, stop: threading.Event) -> None:
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n<html>")
        stop.wait(timeout=5)

    yield from _serve_once_per_connection(handler)


def _loopback_fetcher(fake_time: FakeTime, **settings: Any) -> Fetcher:
    session = requests.Session()
    session.trust_env = False  # a proxy from the environment must not intercept loopback
    return Fetcher(
        session,
        FetchSettings(allowed_hosts=("127.0.0.1",), obey_robots=False, **settings),
        sleep=fake_time.sleep,
        clock=fake_time.clock,
    )


def test_a_real_connection_closed_before_content_length_is_an_incomplete_body(
    truncating_server: str, fake_time: FakeTime
) -> None:
    with pytest.raises(IncompleteBodyError) as caught:
        _loopback_fetcher(fake_time, retries=1).fetch(truncating_server)

    assert caught.value.reason == "body incomplete after 2 attempts"


def test_a_real_read_timeout_mid_body_is_an_incomplete_body(
    stalling_server: str, fake_time: FakeTime
) -> None:
    with pytest.raises(IncompleteBodyError) as caught:
        _loopback_fetcher(fake_time, retries=0, timeout_s=0.2).fetch(stalling_server)

    assert caught.value.reason == "read timed out mid-body after 1 attempt"


# --- network failures, in words a user can act on -------------------------------------------------


def _free_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A real server that accepts the connection and reads the request, but never answers."""

    def handler(connection: socket.socket, stop: threading.Event) -> None:
        stop.wait(timeout=5)

    yield from _serve_once_per_connection(handler)


@pytest.fixture
def plain_server() -> Iterator[str]:
    """A real server that answers in plain HTTP whatever it is sent: https:// to it fails."""

    def handler(connection: socket.socket, stop: threading.Event) -> None:
        connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    for url in _serve_once_per_connection(handler):
        yield url.replace("http://", "https://")


@pytest.fixture
def untrusted_tls_server() -> Iterator[str]:
    """A real HTTPS server whose certificate comes from a CA the client does not trust."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(context)
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/page"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def _network_fetcher(
    fake_time: FakeTime, url: str, proxy: str | None = None, **settings: Any
) -> Fetcher:
    """A fetcher on a real session allowed to reach `url`: through `proxy`, else directly."""
    session = requests.Session()
    session.trust_env = False  # a proxy from the environment must not intercept loopback
    if proxy is not None:
        session.proxies = {"http": proxy, "https": proxy}
    settings.setdefault("obey_robots", False)
    settings.setdefault("retries", 0)
    return Fetcher(
        session,
        FetchSettings(allowed_hosts=(urlsplit(url).hostname or "",), **settings),
        sleep=fake_time.sleep,
        clock=fake_time.clock,
    )


def _fetch_network_error(fetcher: Fetcher, url: str) -> NetworkError:
    with pytest.raises(NetworkError) as caught:
        fetcher.fetch(url)
    return caught.value


def test_a_closed_port_is_a_refused_connection(fake_time: FakeTime) -> None:
    url = f"http://127.0.0.1:{_free_port()}/page"

    error = _fetch_network_error(_network_fetcher(fake_time, url, retries=1), url)

    host = urlsplit(url).netloc
    assert error.failure is NetworkFailure.CONNECTION_REFUSED
    assert error.reason == (
        f"cannot reach {host}: connection refused after 2 attempts; "
        "check your network or proxy (HTTP_PROXY)"
    )
    assert fake_time.sleeps == [1.0]  # retried: a server restarting refuses for a moment


def test_a_server_that_accepts_and_never_answers_has_timed_out(
    silent_server: str, fake_time: FakeTime
) -> None:
    fetcher = _network_fetcher(fake_time, silent_server, timeout_s=0.2)

    error = _fetch_network_error(fetcher, silent_server)

    host = urlsplit(silent_server).netloc
    assert error.failure is NetworkFailure.READ_TIMEOUT
    assert error.reason == (
        f"no answer from {host} within 0.2 s (timed out) after 1 attempt; "
        "check your network or proxy (HTTP_PROXY)"
    )


def test_a_host_that_drops_connection_attempts_is_a_connection_timeout(
    server: SiteServer, fake_time: FakeTime
) -> None:
    url = server.url("/page")
    fetcher = _network_fetcher(fake_time, url, timeout_s=0.2)

    with server.unreachable():
        error = _fetch_network_error(fetcher, url)

    assert error.failure is NetworkFailure.CONNECT_TIMEOUT
    assert error.reason.startswith(f"cannot reach {urlsplit(url).netloc}: connection timed out")


def test_an_untrusted_tls_certificate_is_named_and_not_retried(
    untrusted_tls_server: str, fake_time: FakeTime
) -> None:
    fetcher = _network_fetcher(fake_time, untrusted_tls_server, retries=3)

    error = _fetch_network_error(fetcher, untrusted_tls_server)

    host = urlsplit(untrusted_tls_server).netloc
    assert error.failure is NetworkFailure.TLS_CERTIFICATE
    assert re.fullmatch(
        rf"cannot reach {re.escape(host)} securely: TLS certificate not trusted "
        r"\(.*certificate.*\); check your network or proxy \(HTTPS_PROXY\)",
        error.reason,
    )
    assert fake_time.sleeps == []


def test_a_tls_handshake_with_a_plain_http_server_fails_by_name(
    plain_server: str, fake_time: FakeTime
) -> None:
    error = _fetch_network_error(_network_fetcher(fake_time, plain_server), plain_server)

    assert error.failure is NetworkFailure.TLS_HANDSHAKE
    assert error.reason.startswith(
        f"cannot reach {urlsplit(plain_server).netloc} securely: TLS handshake failed ("
    )


def test_a_host_name_that_does_not_resolve_is_a_name_resolution_failure(
    fake_time: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    guarded = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(".invalid"):  # RFC 6761: never resolves
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return guarded(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    url = "https://www.gov.uk.invalid/government/publications/uk-life-sciences-support"

    error = _fetch_network_error(_network_fetcher(fake_time, url), url)

    assert error.failure is NetworkFailure.NAME_RESOLUTION
    assert error.reason == (
        "cannot reach www.gov.uk.invalid: name resolution failed after 1 attempt; "
        "check your network or proxy (HTTPS_PROXY)"
    )


def test_a_proxy_that_cannot_be_reached_is_a_proxy_error(fake_time: FakeTime) -> None:
    url = f"http://127.0.0.1:{_free_port()}/page"
    fetcher = _network_fetcher(fake_time, url, proxy=f"http://127.0.0.1:{_free_port()}")

    error = _fetch_network_error(fetcher, url)

    assert error.failure is NetworkFailure.PROXY
    assert error.reason == (
        f"cannot reach {urlsplit(url).netloc}: proxy error (the proxy refused the connection) "
        "after 1 attempt; check your network or proxy (HTTP_PROXY)"
    )


def test_an_unreachable_robots_txt_is_named_as_the_host_being_unreachable(
    fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    base = f"http://127.0.0.1:{_free_port()}"
    fetcher = _network_fetcher(fake_time, base, obey_robots=True)

    errors = [_fetch_network_error(fetcher, f"{base}/{page}") for page in ("a", "b")]

    expected = (
        f"cannot reach {base.removeprefix('http://')}: connection refused after 1 attempt; "
        "check your network or proxy (HTTP_PROXY)"
    )
    assert [(e.url, e.reason) for e in errors] == [(f"{base}/a", expected), (f"{base}/b", expected)]
    assert "robots" not in caplog.text


def test_an_unreachable_host_is_asked_for_robots_txt_once_then_every_page_fails_at_once(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher], fake_time: FakeTime
) -> None:
    http.get(ROBOTS, body=requests.exceptions.ConnectTimeout("no route"))
    add_page(http)
    fetcher = make_fetcher(obey_robots=True)

    reasons = {_fetch_network_error(fetcher, f"{PAGE}/{n}").reason for n in range(3)}

    assert reasons == {f"cannot reach www.gov.uk: connection timed out after 4 attempts; {ADVICE}"}
    assert urls_requested(http) == [ROBOTS] * 4  # one robots.txt fetch, retried; no pages
    assert fake_time.sleeps == [1.0, 2.0, 4.0]


# --- retries --------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_429_and_5xx_are_retried_with_doubling_backoff_then_reported_in_one_line(
    http: responses.RequestsMock,
    make_fetcher: Callable[..., Fetcher],
    fake_time: FakeTime,
    status: int,
) -> None:
    add_page(http, body="<html>" + "error page " * 10_000 + "</html>", status=status)

    with pytest.raises(FetchError) as caught:
        make_fetcher().fetch(PAGE)

    assert str(caught.value) == f"{PAGE}: HTTP {status} after 4 attempts"
    assert len(http.calls) == 4
    assert fake_time.sleeps == [1.0, 2.0, 4.0]


def test_a_retry_that_succeeds_reports_its_attempts_and_elapsed_time(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher]
) -> None:
    add_page(http, status=503)
    add_page(http, status=502)
    add_page(http)

    result = make_fetcher(backoff_s=0.5).fetch(PAGE)

    assert (result.status, result.attempts, result.elapsed_s) == (200, 3, 1.5)


def test_the_doubling_backoff_is_capped(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher], fake_time: FakeTime
) -> None:
    add_page(http, status=500)

    with pytest.raises(FetchError):
        make_fetcher(retries=4, backoff_s=10.0, retry_after_cap_s=30.0).fetch(PAGE)

    assert fake_time.sleeps == [10.0, 20.0, 30.0, 30.0]


@pytest.mark.parametrize(
    ("headers", "sleeps"),
    [
        ({"Retry-After": "7"}, [7.0]),
        ({"Retry-After": "3600"}, [60.0]),  # capped at retry_after_cap_s
        (
            {
                "Date": "Wed, 21 Oct 2026 07:28:00 GMT",
                "Retry-After": "Wed, 21 Oct 2026 07:28:30 GMT",
            },
            [30.0],
        ),
        ({"Retry-After": "Fri, 01 Jan 9999 00:00:00 GMT"}, [60.0]),
        ({"Retry-After": "soon"}, [1.0]),  # unreadable: the usual backoff
        # "At once" still waits for the rate limit (5 requests per second).
        ({"Retry-After": "0"}, [pytest.approx(0.2)]),
        ({"Retry-After": "Sat, 01 Jan 2000 00:00:00 GMT"}, [pytest.approx(0.2)]),
    ],
)
def test_a_retry_after_header_overrides_the_backoff_up_to_the_cap(
    http: responses.RequestsMock,
    make_fetcher: Callable[..., Fetcher],
    fake_time: FakeTime,
    headers: dict[str, str],
    sleeps: list[float],
) -> None:
    add_page(http, status=429, headers=headers)
    add_page(http)

    make_fetcher().fetch(PAGE)

    assert fake_time.sleeps == sleeps


ADVICE = "check your network or proxy (HTTPS_PROXY)"


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            requests.exceptions.ConnectTimeout("huge\n" * 1000),
            f"cannot reach www.gov.uk: connection timed out after 4 attempts; {ADVICE}",
        ),
        (
            requests.exceptions.ReadTimeout("huge\n" * 1000),
            f"no answer from www.gov.uk within 30 s (timed out) after 4 attempts; {ADVICE}",
        ),
        (
            requests.exceptions.ConnectionError("huge\n" * 1000),
            f"connection to www.gov.uk failed after 4 attempts; {ADVICE}",
        ),
        (
            requests.exceptions.ProxyError("proxy down"),
            f"cannot reach www.gov.uk: proxy error after 4 attempts; {ADVICE}",
        ),
    ],
)
def test_network_errors_are_retried_then_reported_in_one_line(
    http: responses.RequestsMock,
    make_fetcher: Callable[..., Fetcher],
    fake_time: FakeTime,
    error: Exception,
    reason: str,
) -> None:
    http.get(PAGE, body=error)

    with pytest.raises(FetchError) as caught:
        make_fetcher().fetch(PAGE)

    assert caught.value.reason == reason
    assert caught.value.__cause__ is error
    assert "\n" not in str(caught.value)
    assert fake_time.sleeps == [1.0, 2.0, 4.0]


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            requests.exceptions.SSLError("certificate verify failed"),
            f"cannot reach www.gov.uk securely: TLS handshake failed; {ADVICE}",
        ),
        (requests.exceptions.InvalidURL("bad"), "invalid URL"),
        (requests.exceptions.InvalidHeader("bad"), "invalid request header"),
        (requests.exceptions.TooManyRedirects("x"), "request failed (TooManyRedirects)"),
        (requests.exceptions.RequestException("x"), "request failed (RequestException)"),
    ],
)
def test_other_requests_errors_become_fetch_errors_at_once(
    http: responses.RequestsMock,
    make_fetcher: Callable[..., Fetcher],
    fake_time: FakeTime,
    error: Exception,
    reason: str,
) -> None:
    http.get(PAGE, body=error)

    with pytest.raises(FetchError) as caught:
        make_fetcher().fetch(PAGE)

    assert caught.value.reason == reason
    assert len(http.calls) == 1
    assert fake_time.sleeps == []


@pytest.mark.parametrize("status", [400, 401, 403, 405, 418, 451, 300, 204])
def test_other_statuses_fail_at_once_without_retry(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher], status: int
) -> None:
    add_page(http, status=status)

    with pytest.raises(FetchError) as caught:
        make_fetcher().fetch(PAGE)

    assert caught.value.reason == f"HTTP {status}"
    assert type(caught.value) is FetchError
    assert len(http.calls) == 1


def test_the_retry_budget_is_shared_by_all_hops_of_a_redirect(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher]
) -> None:
    add_page(http, status=503)
    add_page(http, status=301, headers={"Location": f"{GOV}/new"})
    add_page(http, url=f"{GOV}/new", status=503)

    with pytest.raises(FetchError, match="HTTP 503 after 3 attempts"):
        make_fetcher(retries=2).fetch(PAGE)

    # 503, then the redirect (no retry used), then 503 twice at the new address.
    assert urls_requested(http) == [PAGE, PAGE, f"{GOV}/new", f"{GOV}/new"]


# --- content type ---------------------------------------------------------------------------------


def test_an_unexpected_content_type_is_refused_without_reading_the_body(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher]
) -> None:
    body = BrokenBody(b"", AssertionError("the body must not be read"))
    http.get(PAGE, body=io.BufferedReader(body), content_type="application/pdf")

    with pytest.raises(FetchError) as caught:
        make_fetcher().fetch(PAGE)

    assert caught.value.reason == "unexpected content type application/pdf"


@pytest.mark.parametrize(
    "content_type",
    ["text/html", "TEXT/HTML; charset=UTF-8", "application/xhtml+xml;charset=utf-8", None],
)
def test_accepted_content_types_ignore_case_and_parameters_and_may_be_missing(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher], content_type: str | None
) -> None:
    http.get(PAGE, body=HTML, content_type=content_type)

    result = make_fetcher().fetch(PAGE)

    assert result.content_type == content_type


def test_the_caller_chooses_the_accepted_content_types(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher]
) -> None:
    http.get(f"{GOV}/api/content/x", json={"title": "x"})

    result = make_fetcher().fetch(f"{GOV}/api/content/x", accept_types=("application/json",))

    assert result.body == b'{"title": "x"}'
    assert http.calls[0].request.headers["Accept"] == "application/json"


# --- robots.txt -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/government/publications/uk-life-sciences-support", True),
        ("/government/publications/uk-life-sciences-support/uk-life-sciences-support", True),
        ("/api/content/government/publications/uk-life-sciences-support", True),
        ("/", True),
        ("/government/publications/uk-life-sciences-support/print", False),
        ("/guidance/x/print", False),
        ("/guidance/x/print/more", True),  # `$` anchors the end
        ("/guidance/x/printable", True),
        ("/search/all", False),
        ("/search/all?keywords=life+sciences", False),
        ("/search/news-and-communications", True),
        ("/robots.txt", True),
    ],
)
def test_the_govuk_robots_txt_allows_publications_and_disallows_print_pages(
    path: str, allowed: bool
) -> None:
    rules = parse_robots(GOVUK_ROBOTS_TXT, product_token(DEFAULT_USER_AGENT))

    assert rules.allows(GOV + path) is allowed


def test_the_govuk_robots_txt_shuts_out_the_bots_it_names() -> None:
    assert not parse_robots(GOVUK_ROBOTS_TXT, "deepcrawl").allows(PAGE)
    assert parse_robots(GOVUK_ROBOTS_TXT, "ahrefsbot").allows(f"{PAGE}/print")  # Crawl-delay only


def test_the_product_token_is_the_user_agent_name_in_lower_case() -> None:
    assert product_token("lifesci-tracker/0.1.0 (+https://example.org)") == "lifesci-tracker"
    assert product_token("Lifesci_Tracker") == "lifesci_tracker"


@pytest.mark.parametrize(
    ("robots_txt", "path", "allowed"),
    [
        # The group naming us replaces the * group; names match case-insensitively.
        (
            "User-agent: *\nDisallow: /\n\nUser-agent: LifeSci-Tracker\nDisallow: /private\n",
            "/a",
            True,
        ),
        ("User-agent: *\nDisallow: /\n\nUser-agent: lifesci-tracker\nDisallow: /a\n", "/a", False),
        # Groups for the same agent merge; consecutive user-agent lines share one group.
        (
            "User-agent: lifesci-tracker\nDisallow: /a\n"
            "User-agent: x\nUser-agent: lifesci-tracker\nDisallow: /b\n",
            "/b",
            False,
        ),
        # The longest match wins, whatever the order; allow wins a tie.
        ("User-agent: *\nAllow: /a/b\nDisallow: /a\n", "/a/b/c", True),
        ("User-agent: *\nDisallow: /a/b\nAllow: /a\n", "/a/b/c", False),
        ("User-agent: *\nDisallow: /a\nAllow: /a\n", "/a", True),
        # Wildcards, anchors and queries.
        ("User-agent: *\nDisallow: /*.pdf$\n", "/files/x.pdf", False),
        ("User-agent: *\nDisallow: /*.pdf$\n", "/files/x.pdf?download=1", True),
        ("User-agent: *\nDisallow: /*?*sort=\n", "/list?page=2&sort=asc", False),
        # Percent-encoding is normalised on both sides.
        ("User-agent: *\nDisallow: /caf%C3%A9\n", "/café/menu", False),
        ("User-agent: *\nDisallow: /a~b\n", "/a%7eb", False),
        # ... except reserved characters (RFC 9309 §2.2.2): an encoded "/" is not a "/".
        ("User-agent: *\nDisallow: /a%2Fb\n", "/a/b", True),
        ("User-agent: *\nDisallow: /a/b\n", "/a%2Fb", True),
        ("User-agent: *\nDisallow: /a%2Fb\n", "/a%2fb", False),
        # An empty Disallow allows everything; rules before any user-agent are ignored.
        ("User-agent: *\nDisallow:\n", "/a", True),
        ("Disallow: /\nUser-agent: *\nDisallow: /x\n", "/a", True),
        # No group for us and no * group: no rules.
        ("User-agent: otherbot\nDisallow: /\n", "/a", True),
        ("", "/a", True),
        ("\ufeffUser-agent: *\r\nDisallow: /a # comment\r\n", "/a/b", False),
    ],
)
def test_robots_rules_follow_rfc_9309(robots_txt: str, path: str, allowed: bool) -> None:
    assert parse_robots(robots_txt, "lifesci-tracker").allows(GOV + path) is allowed


def test_robots_txt_is_fetched_once_per_host_through_the_session(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher]
) -> None:
    http.get(ROBOTS, body=GOVUK_ROBOTS_TXT)
    add_page(http)
    add_page(http, url=f"{GOV}/other")
    fetcher = make_fetcher(obey_robots=True)

    fetcher.fetch(PAGE)
    fetcher.fetch(f"{GOV}/other")

    assert urls_requested(http) == [ROBOTS, PAGE, f"{GOV}/other"]
    robots_request = http.calls[0].request
    assert robots_request.headers["User-Agent"] == DEFAULT_USER_AGENT
    assert robots_request.req_kwargs["timeout"] == (30.0, 30.0)  # type: ignore[attr-defined]


def test_a_url_disallowed_by_robots_txt_is_refused_without_a_request(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher]
) -> None:
    http.get(ROBOTS, body=GOVUK_ROBOTS_TXT)

    with pytest.raises(RobotsDisallowedError) as caught:
        make_fetcher(obey_robots=True).fetch(f"{PAGE}/print")

    assert caught.value.url == f"{PAGE}/print"
    assert urls_requested(http) == [ROBOTS]


@pytest.mark.parametrize("status", [404, 410, 401, 403])
def test_a_robots_txt_answering_4xx_allows_everything(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher], status: int
) -> None:
    http.get(ROBOTS, body="User-agent: *\nDisallow: /\n", status=status)
    add_page(http)

    assert make_fetcher(obey_robots=True).fetch(PAGE).status == 200


def test_a_robots_txt_redirect_within_the_allowed_hosts_is_followed(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher]
) -> None:
    http.get(ROBOTS, status=301, headers={"Location": "/robots-live.txt"})
    http.get(f"{GOV}/robots-live.txt", body="User-agent: *\nDisallow: /government\n")

    with pytest.raises(RobotsDisallowedError):
        make_fetcher(obey_robots=True).fetch(PAGE)


@pytest.mark.parametrize(
    ("robots_reply", "reason"),
    [
        ({"status": 503}, "robots.txt unavailable (HTTP 503 after 4 attempts)"),
        ({"status": 429}, "robots.txt unavailable (HTTP 429 after 4 attempts)"),
        (
            {"status": 302, "headers": {"Location": "https://cdn.example/robots.txt"}},
            "robots.txt unavailable (redirect to host cdn.example is not in allowed_hosts)",
        ),
    ],
)
def test_an_unreachable_robots_txt_stops_fetching_from_that_host(
    http: responses.RequestsMock,
    make_fetcher: Callable[..., Fetcher],
    robots_reply: dict[str, Any],
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """RFC 9309 §2.3.1.4: an unreachable robots.txt means "disallow everything" for now."""
    http.get(ROBOTS, **robots_reply)
    add_page(http)
    fetcher = make_fetcher(obey_robots=True)

    with pytest.raises(FetchError) as caught:
        fetcher.fetch(PAGE)

    assert type(caught.value) is FetchError
    assert caught.value.reason == reason
    assert PAGE not in urls_requested(http)
    assert "robots.txt unavailable" in caplog.text
    robots_requests = len(http.calls)
    with pytest.raises(FetchError, match=r"robots\.txt unavailable"):
        fetcher.fetch(PAGE)
    assert len(http.calls) == robots_requests  # remembered, not asked again at once


def test_an_unreachable_robots_txt_is_asked_again_later(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher], fake_time: FakeTime
) -> None:
    http.get(ROBOTS, status=503)
    fetcher = make_fetcher(obey_robots=True, retries=0)
    with pytest.raises(FetchError, match=r"robots\.txt unavailable"):
        fetcher.fetch(PAGE)
    http.replace(responses.GET, ROBOTS, status=404)
    add_page(http)
    fake_time.now += ROBOTS_FAILURE_TTL_S

    assert fetcher.fetch(PAGE).status == 200


def test_robots_txt_is_not_fetched_when_not_obeyed(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher]
) -> None:
    add_page(http, url=f"{PAGE}/print")

    make_fetcher(obey_robots=False).fetch(f"{PAGE}/print")

    assert urls_requested(http) == [f"{PAGE}/print"]


def test_robots_rules_allow_all_allows_everything() -> None:
    assert RobotsRules.allow_all().allows(f"{PAGE}/print")


# --- rate limit -----------------------------------------------------------------------------------


def test_requests_to_one_host_are_spaced_by_the_rate_limit_counting_robots_txt(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher], fake_time: FakeTime
) -> None:
    http.get(ROBOTS, body=GOVUK_ROBOTS_TXT)
    add_page(http)
    fetcher = make_fetcher(obey_robots=True, requests_per_second=2.0)

    fetcher.fetch(PAGE)  # robots.txt at once, then the page after 0.5 s
    fetcher.fetch(PAGE)
    fake_time.now += 10.0
    fetcher.fetch(PAGE)  # long after the last one: no wait

    assert fake_time.sleeps == [0.5, 0.5]


def test_the_rate_limit_is_per_host(
    http: responses.RequestsMock, make_fetcher: Callable[..., Fetcher], fake_time: FakeTime
) -> None:
    other = "https://assets.publishing.service.gov.uk/media/x.html"
    add_page(http)
    add_page(http, url=other)
    fetcher = make_fetcher(allowed_hosts=("www.gov.uk", "assets.publishing.service.gov.uk"))

    fetcher.fetch(PAGE)
    fetcher.fetch(other)
    fetcher.fetch(PAGE)

    assert fake_time.sleeps == [pytest.approx(0.2)]


def test_the_rate_limiter_books_one_slot_per_interval_even_when_the_clock_does_not_move() -> None:
    sleeps: list[float] = []
    limiter = HostRateLimiter(4.0, clock=lambda: 50.0, sleep=sleeps.append)

    waits = [limiter.wait("www.gov.uk") for _ in range(3)] + [limiter.wait("WWW.GOV.UK")]

    # Slots at 50.0, 50.25, 50.5 and 50.75, measured from a clock stuck at 50.0.
    assert waits == [0.0, 0.25, 0.5, 0.75]
    assert sleeps == [0.25, 0.5, 0.75]


# --- settings and logging -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("allowed_hosts", "www.gov.uk"),
        ("allowed_hosts", ("",)),
        ("timeout_s", 0),
        ("max_bytes", 0),
        ("requests_per_second", 0),
        ("requests_per_second", float("nan")),
        ("retries", -1),
        ("backoff_s", -0.5),
        ("retry_after_cap_s", -1),
        ("max_redirects", -1),
        ("user_agent", ""),
        ("user_agent", "bot\r\nX-Evil: 1"),
    ],
)
def test_invalid_settings_are_refused_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=field):
        FetchSettings(**{field: value})


def test_settings_accept_a_list_of_hosts_from_toml_and_keep_a_tuple() -> None:
    settings = FetchSettings(allowed_hosts=["www.gov.uk"])  # type: ignore[arg-type]

    assert settings.allowed_hosts == ("www.gov.uk",)


def test_bodies_are_never_logged(
    http: responses.RequestsMock,
    make_fetcher: Callable[..., Fetcher],
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "BODY-MARKER-7f3a"
    add_page(http, body=f"<html>{secret}</html>", status=503)
    add_page(http, body=f"<html>{secret}</html>")
    caplog.set_level(logging.DEBUG, logger="scraper")

    make_fetcher().fetch(PAGE)

    assert "HTTP 503; retry 1 of 3" in caplog.text
    assert secret not in caplog.text
