"""The web-archive client (scraper/archive.py): CDX in both JSON shapes, content captures, replay.

Unit tests read CDX bodies directly; the others talk to the fake archive (tests/fake_archive.py)
over loopback, through the project's Fetcher.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import requests

from scraper.archive import (
    CDX_FIELDS,
    ArchiveClient,
    ArchiveError,
    ArchiveSettings,
    Capture,
    CaptureList,
    parse_cdx,
    select_content,
)
from scraper.errors import HostNotAllowedError, IncompleteBodyError
from scraper.fetch import Fetcher, FetchSettings
from tests.fake_archive import (
    DOCUMENT_URLS,
    NOT_ARCHIVED,
    PUBLICATION_URL,
    Copy,
    FakeArchive,
    Shape,
    history,
    serve_archive,
)
from tests.site_server import Reply, fail_first

PAGE = "https://www.gov.uk/government/publications/uk-life-sciences-support"
WAYBACK_BODY = b"""[["urlkey","timestamp","original","mimetype","statuscode","digest","length"],
["uk,gov,www)/government/publications/uk-life-sciences-support","20190301100000",
 "https://www.gov.uk/government/publications/uk-life-sciences-support","text/html","200",
 "AAAA","1415"],
["uk,gov,www)/government/publications/uk-life-sciences-support","20190601120100",
 "http://www.gov.uk:80/government/publications/uk-life-sciences-support","warc/revisit","-",
 "AAAA","512"]]
"""
PYWB_BODY = b"""{"urlkey": "uk,gov,www)/government/publications/uk-life-sciences-support", \
"timestamp": "20190301100000", "url": "https://www.gov.uk/government/publications/\
uk-life-sciences-support", "mime": "text/html", "status": "200", "digest": "AAAA", \
"length": "1415", "offset": "0", "filename": "a.warc.gz"}
{"urlkey": "uk,gov,www)/government/publications/uk-life-sciences-support", \
"timestamp": "20190601120100", "url": "http://www.gov.uk:80/government/publications/\
uk-life-sciences-support", "mime": "warc/revisit", "status": "-", "digest": "AAAA", \
"length": "512", "offset": "99", "filename": "b.warc.gz"}
"""
EXPECTED = (
    Capture(PAGE, "20190301100000", PAGE, "200", "text/html", "AAAA", 1415),
    Capture(
        PAGE,
        "20190601120100",
        "http://www.gov.uk:80/government/publications/uk-life-sciences-support",
        "-",
        "warc/revisit",
        "AAAA",
        512,
    ),
)


def capture(timestamp: str, digest: str = "", **fields: str) -> Capture:
    """A content capture of PAGE (fields override status, mimetype)."""
    return Capture(PAGE, timestamp, PAGE, digest=digest, **fields)


# --- reading CDX -----------------------------------------------------------------------------


@pytest.mark.parametrize("body", [WAYBACK_BODY, PYWB_BODY], ids=["wayback", "pywb"])
def test_both_cdx_json_shapes_read_as_the_same_captures(body: bytes) -> None:
    assert parse_cdx(body, PAGE) == EXPECTED


@pytest.mark.parametrize("body", [b"", b"  \n", b"[]", b"[]\n"])
def test_an_empty_capture_list_is_no_captures(body: bytes) -> None:
    assert parse_cdx(body, PAGE) == ()


def test_rows_after_wayback_resume_key_separator_are_not_captures() -> None:
    data = json.loads(WAYBACK_BODY)
    body = json.dumps([*data, [], ["uk%2Cgov%2Cwww%29%2F+20190601120100%21"]]).encode()

    assert parse_cdx(body, PAGE) == EXPECTED


def test_captures_come_back_in_time_order_whatever_the_index_order() -> None:
    data = json.loads(WAYBACK_BODY)
    body = json.dumps([data[0], data[2], data[1]]).encode()

    assert [c.timestamp for c in parse_cdx(body, PAGE)] == ["20190301100000", "20190601120100"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"uk,gov,www)/ 20190301100000 https://www.gov.uk/ text/html 200 AAAA 1", "not CDX JSON"),
        (b'[["timestamp"', "not valid JSON"),
        (b'{"timestamp": "2019", "url": "https://www.gov.uk/"}', "no valid timestamp or URL"),
        (b'[["timestamp","original"],["20190301100000",""]]', "no valid timestamp or URL"),
        (b'["timestamp", "original"]', "not an array of rows"),
    ],
)
def test_an_unreadable_capture_list_is_one_clear_archive_error(body: bytes, reason: str) -> None:
    with pytest.raises(ArchiveError) as raised:
        parse_cdx(body, PAGE, source="https://archive.example/cdx?url=x")

    assert reason in raised.value.reason
    assert "\n" not in str(raised.value)
    assert raised.value.url == "https://archive.example/cdx?url=x"


def test_only_200_html_captures_are_content() -> None:
    listed = [
        capture("20190101000000", "A"),
        capture("20190102000000", "B", mimetype="warc/revisit", status="-"),
        capture("20190103000000", "C", status="301"),
        capture("20190104000000", "D", status="404"),
        capture("20190105000000", "E", mimetype="application/pdf"),
        capture("20190106000000", "F", mimetype="application/xhtml+xml; charset=utf-8"),
    ]

    selected = select_content(PAGE, listed)

    assert [c.digest for c in selected.content] == ["A", "F"]
    assert (selected.not_content, selected.duplicates, selected.listed) == (4, 0, 6)


def test_a_field_the_index_lacks_is_not_held_against_a_capture() -> None:
    minimal = Capture(PAGE, "20190101000000", PAGE, status=None, mimetype=None, digest="A")

    assert select_content(PAGE, [minimal]).content == (minimal,)


def test_repeated_digests_keep_the_earliest_but_a_revert_is_a_change() -> None:
    listed = [
        capture("20190301000000", "X"),
        capture("20190302000000", "X"),  # the same bytes again: a duplicate
        capture("20190303000000", "Y"),
        capture("20190304000000", "Y", status="-", mimetype="warc/revisit"),
        capture("20190305000000", "Y"),  # the revisit between does not count
        capture("20190306000000", "X"),  # back to X: a revert, kept
    ]

    selected = select_content(PAGE, reversed(listed))

    assert [c.timestamp for c in selected.content] == [
        "20190301000000",
        "20190303000000",
        "20190306000000",
    ]
    assert (selected.duplicates, selected.not_content) == (2, 1)


def test_capture_time_is_utc() -> None:
    assert capture("20190301100502").at == datetime(2019, 3, 1, 10, 5, 2, tzinfo=UTC)


# --- settings --------------------------------------------------------------------------------


def test_default_archive_is_the_wayback_machine_at_one_request_a_second() -> None:
    settings = ArchiveSettings()
    source = FetchSettings(allowed_hosts=("www.gov.uk",), requests_per_second=5, max_bytes=123)

    fetch = settings.fetch_settings(source)

    assert settings.cdx_url == "https://web.archive.org/cdx/search/cdx"
    assert settings.replay_url == "https://web.archive.org/web/{timestamp}id_/{url}"
    assert fetch.allowed_hosts == ("web.archive.org",)
    assert fetch.requests_per_second == 1.0
    assert (fetch.max_bytes, fetch.user_agent) == (123, source.user_agent)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"replay_url": "https://web.archive.org/web/{timestamp}/"}, "must contain {url}"),
        ({"replay_url": "https://web.archive.org/web/{url}"}, "must contain {timestamp}"),
        ({"cdx_url": "ftp://web.archive.org/cdx"}, "cdx_url must be an http(s) URL"),
        ({"cdx_url": "https://evil.example/cdx"}, "host evil.example is not in allowed_hosts"),
        (
            {"replay_url": "https://evil.example/{timestamp}id_/{url}"},
            "replay_url host evil.example is not in allowed_hosts",
        ),
        ({"requests_per_second": 0}, "requests_per_second must be > 0"),
        ({"allowed_hosts": "web.archive.org"}, "allowed_hosts must be a list"),
    ],
)
def test_wrong_archive_settings_fail_at_once(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        ArchiveSettings(**fields)  # type: ignore[arg-type]


def test_the_query_asks_for_both_spellings_of_each_field_and_the_dates() -> None:
    client = ArchiveClient(Fetcher(requests.Session(), FetchSettings()), ArchiveSettings())

    query = client.query_url(
        PAGE,
        since=datetime(2015, 1, 1, tzinfo=UTC),
        until=datetime(2021, 12, 31, 23, 59, 59, tzinfo=UTC),
    )

    assert query.startswith("https://web.archive.org/cdx/search/cdx?url=https%3A%2F%2Fwww.gov.uk")
    assert "&output=json&" in query
    assert "&fl=" + "%2C".join(CDX_FIELDS) in query
    assert query.endswith("&from=20150101000000&to=20211231235959")
    assert {"original", "url", "mimetype", "mime", "statuscode", "status"} <= set(CDX_FIELDS)


# --- over loopback ---------------------------------------------------------------------------


@pytest.fixture(params=["wayback", "pywb"])
def archive(request: pytest.FixtureRequest) -> Iterator[FakeArchive]:
    """The fake archive with the scripted history, in each CDX shape."""
    shape: Shape = request.param
    with serve_archive(shape=shape) as running:
        yield history().install(running)


def make_client(
    archive: FakeArchive,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    settings: ArchiveSettings | None = None,
) -> ArchiveClient:
    settings = settings or archive.settings()
    source = FetchSettings(retries=2, backoff_s=0.01, user_agent="lifesci-tracker/9 (+test)")
    fetcher = Fetcher(requests.Session(), settings.fetch_settings(source), sleep=sleep, clock=clock)
    return ArchiveClient(fetcher, settings)


def test_both_archive_shapes_list_the_same_captures() -> None:
    listed: dict[str, list[CaptureList]] = {}
    for shape in ("wayback", "pywb"):
        with serve_archive(shape=shape) as running:
            client = make_client(history().install(running))
            for url in (PUBLICATION_URL, *DOCUMENT_URLS.values()):
                listed.setdefault(url, []).append(client.list_captures(url))

    for url, (wayback, pywb) in listed.items():
        assert wayback == pywb, url
    publication = listed[PUBLICATION_URL][0]
    assert (len(publication.content), publication.not_content, publication.duplicates) == (7, 2, 2)


def test_since_and_until_narrow_the_list_inclusively(archive: FakeArchive) -> None:
    client = make_client(archive)

    found = client.list_captures(
        PUBLICATION_URL,
        since=datetime(2019, 9, 1, 9, tzinfo=UTC),
        until=datetime(2020, 5, 1, tzinfo=UTC),
    )

    # 09:00 on 1 September 2019 repeats March's bytes, but March is outside the range.
    assert [c.timestamp for c in found.content] == [
        "20190901090000",
        "20200203100000",
        "20200501000000",
    ]


def test_a_page_the_archive_never_captured_has_no_captures(archive: FakeArchive) -> None:
    assert make_client(archive).list_captures(PAGE + "/never") == CaptureList(PAGE + "/never")


def test_a_cdx_429_is_retried_after_the_time_retry_after_asks(archive: FakeArchive) -> None:
    sleeps: list[float] = []
    cdx = make_client(archive).query_url(PUBLICATION_URL).removeprefix(archive.base_url)
    archive.faults[cdx] = fail_first(1, Reply(429, b"slow down", {"Retry-After": "0.05"}))

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(seconds)

    found = make_client(archive, sleep=sleep).list_captures(PUBLICATION_URL)

    assert len(found.content) == 7
    assert archive.cdx_requests() == [cdx, cdx]
    assert max(sleeps) == pytest.approx(0.05)  # the header's delay, not the 0.01 s backoff


def test_archive_requests_are_one_a_second_by_default(archive: FakeArchive) -> None:
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    settings = archive.settings()
    client = make_client(
        archive,
        sleep=sleep,
        clock=lambda: now[0],
        settings=ArchiveSettings(settings.cdx_url, settings.replay_url, ("127.0.0.1",)),
    )
    captures = client.list_captures(DOCUMENT_URLS["A"]).content
    client.fetch_capture(captures[0])

    # robots.txt, the CDX query and the replay: the second and third wait a full second.
    assert archive.request_count() == 3
    assert sleeps == [1.0, 1.0]


def test_the_archive_sees_the_honest_user_agent(archive: FakeArchive) -> None:
    make_client(archive).list_captures(PUBLICATION_URL)

    agents = {r.headers.get("User-Agent") for r in archive.requests}
    assert agents == {"lifesci-tracker/9 (+test)"}


def test_a_capture_is_fetched_as_its_original_bytes(archive: FakeArchive) -> None:
    client = make_client(archive)
    first = client.list_captures(DOCUMENT_URLS["A"]).content[0]

    result = client.fetch_capture(first)

    expected = next(
        c for c in archive.copies if c.url == first.url and c.timestamp == "20190301100200"
    )
    assert result.body == expected.body
    assert result.url == archive.url(archive.replay_path(first.original, first.timestamp))


def test_a_replay_redirect_to_another_host_is_refused(archive: FakeArchive) -> None:
    client = make_client(archive)
    redirect = Capture(PAGE, "20190701000000", PAGE, "301")  # an archived 301 to www.gov.uk

    with pytest.raises(HostNotAllowedError, match=r"host www\.gov\.uk is not in allowed_hosts"):
        client.fetch_capture(redirect)


def test_a_replay_of_another_capture_is_not_taken_for_the_one_asked(archive: FakeArchive) -> None:
    client = make_client(archive)
    unheld = Capture(PAGE, "20190401000000", PAGE)  # the archive redirects to its nearest copy

    with pytest.raises(ArchiveError, match="served its capture of 20190301103000 instead"):
        client.fetch_capture(unheld)


def test_an_archive_not_archived_page_served_with_200_is_an_archive_error(
    archive: FakeArchive,
) -> None:
    client = make_client(archive)

    with pytest.raises(ArchiveError, match='"not archived" page with HTTP 200'):
        client.fetch_capture(Capture(PAGE, "20200701000000", PAGE))


def test_a_capture_the_archive_does_not_serve_is_an_archive_error() -> None:
    with serve_archive([Copy(PAGE, "20190301100000", NOT_ARCHIVED)]) as running:
        running.faults[running.replay_path(PAGE, "20190301100000")] = Reply(404, NOT_ARCHIVED)
        client = make_client(running)

        with pytest.raises(ArchiveError, match="does not serve this capture"):
            client.fetch_capture(Capture(PAGE, "20190301100000", PAGE))


def test_a_truncated_capture_is_an_incomplete_body(archive: FakeArchive) -> None:
    client = make_client(archive)

    with pytest.raises(IncompleteBodyError, match="no closing </html>"):
        client.fetch_capture(Capture(PAGE, "20200801000000", PAGE))
