"""Stage 1 for `backfill`: list a page's captures in a web archive and fetch their original bytes.

An archive is a CDX endpoint plus a raw-replay URL template (DESIGN §12). `ArchiveClient` lists a
page's captures (`list_captures`) and fetches one capture's bytes (`fetch_capture`), both through
the project's `scraper.fetch.Fetcher`: allowed hosts at every redirect hop, the per-host rate
limit, retries that honour 429 and `Retry-After`, `max_bytes`, robots.txt and the honest
User-Agent all come from there. `ArchiveSettings.fetch_settings` turns the `[source]` fetch
settings into the archive's (its own `allowed_hosts`, default 1 request/s).

What this module relies on, read in the servers' own documentation and source:

- Wayback CDX server (internetarchive/wayback: wayback-cdx-server/README.md, CDXServer.java,
  FieldSplitFormat): `url` is an exact match by default; `from`/`to` take 1 to 14 digit UTC
  timestamps, inclusive. `output=json` is ONE JSON array whose first row names the fields
  (`[["timestamp","original",...], ["20190301100000","https://...",...], ...]`); no captures is an
  empty body or `[]`; `showResumeKey` would append `[]` and `[key]` (tolerated, never asked for).
  The public fields are urlkey, timestamp, original, mimetype, statuscode, digest, length; a
  revisit record has mimetype `warc/revisit` and statuscode `-`. `fl=` selects fields, and a name
  the server does not know is silently left out (`createSubset`), never an error.
- pywb (webrecorder/pywb: docs/manual/cdxserver_api.rst, warcserver/index/cdxobject.py and
  cdxops.py), which the UK Government Web Archive runs: `output=json` is NDJSON, one JSON object
  per line (served as text/x-ndjson), with the keys urlkey, timestamp, url, mime, status, digest,
  length, offset, filename. `fl=` keeps the names it knows and drops the others; pywb accepts
  `original`/`mimetype`/`statuscode` as aliases in `filter=` only, not in `fl=`. So the query asks
  for both spellings (each server drops the ones it does not know) and the reader accepts both.
- Replay: `<prefix>/<timestamp>id_/<url>` serves the archived bytes as captured, without the
  archive's link rewriting or banner, on both. Wayback redirects a timestamp it does not hold to
  the nearest capture, so a replay that lands on another timestamp (or off the template) is refused
  rather than dated wrongly. The archives' "not found" pages (Wayback: "Hrm. The Wayback Machine
  has not archived that URL.", pywb: "URL Not Found ... could not be found in this collection")
  are recognised in the body, because some deployments and proxies serve them with status 200.
- `digest` is the archive's hash of the captured payload (base32 SHA-1 on Wayback): equal digests
  mean equal bytes. A capture whose digest repeats the page's previous content capture is a
  duplicate; a digest that comes back after a different one is a revert, a real change, and kept.

Only content captures are kept: status 200 (or no status field) and an HTML media type (or none);
`warc/revisit` records, redirects and other statuses are not content. A field the archive's
index does not hold (pywb's minimal indexes have no mime or status) is not held against a capture:
the replay and the parser judge it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

from scraper.errors import FetchError
from scraper.fetch import Fetcher, FetchResult, FetchSettings

__all__ = [
    "CDX_ACCEPT_TYPES",
    "CDX_FIELDS",
    "WAYBACK_CDX_URL",
    "WAYBACK_REPLAY_URL",
    "ArchiveClient",
    "ArchiveError",
    "ArchiveSettings",
    "Capture",
    "CaptureList",
    "parse_cdx",
    "placeholder_reason",
    "select_content",
]

logger = logging.getLogger(__name__)

WAYBACK_CDX_URL: Final = "https://web.archive.org/cdx/search/cdx"
WAYBACK_REPLAY_URL: Final = "https://web.archive.org/web/{timestamp}id_/{url}"
# Both spellings of each field: Wayback's, then pywb's (each server drops the names it lacks).
CDX_FIELDS: Final = (
    "timestamp",
    "original",
    "url",
    "mimetype",
    "mime",
    "statuscode",
    "status",
    "digest",
    "length",
)
_PYWB_NAMES: Final = {"original": "url", "mimetype": "mime", "statuscode": "status"}
# What CDX servers answer output=json with: Wayback's JSON, pywb's NDJSON, and plain text.
CDX_ACCEPT_TYPES: Final = (
    "application/json",
    "text/json",
    "text/x-ndjson",
    "application/x-ndjson",
    "text/plain",
)
_HTML_TYPES: Final = frozenset({"text/html", "application/xhtml+xml"})
_TIMESTAMP: Final = re.compile(r"\d{14}")
_TIMESTAMP_FORMAT: Final = "%Y%m%d%H%M%S"
# Lower-case phrases of the archives' own "not archived" pages, and what to call each.
_PLACEHOLDERS: Final = (
    (b"wayback machine has not archived that url", 'the Wayback Machine\'s "not archived" page'),
    (
        b"this url has been excluded from the wayback machine",
        "the Wayback Machine's exclusion page",
    ),
    (b"could not be found in this collection", 'the archive\'s "URL not found" page'),
)


class ArchiveError(FetchError):
    """The archive answered, but not with the capture asked for: an unreadable capture list, its
    own error or placeholder page, a capture it no longer serves, or another capture's bytes."""


@dataclass(frozen=True, slots=True)
class Capture:
    """One row of an archive's capture index (CDX) for a tracked page."""

    url: str  # the page as the tracker knows it (what was asked for)
    timestamp: str  # 14 digits, UTC, as the archive writes it; names the capture in replay URLs
    original: str  # the URL the archive recorded, replayed as written
    status: str | None = "200"  # the captured HTTP status ("-": a revisit); None: not indexed
    mimetype: str | None = "text/html"  # None: not indexed
    digest: str = ""
    length: int | None = None

    @property
    def at(self) -> datetime:
        """Return when the archive made the capture (aware, UTC)."""
        return datetime.strptime(self.timestamp, _TIMESTAMP_FORMAT).replace(tzinfo=UTC)

    @property
    def key(self) -> tuple[str, str]:
        """Return (url, timestamp): what names a capture of a page across listings and runs."""
        return (self.url, self.timestamp)

    @property
    def is_content(self) -> bool:
        """Return whether the capture can be a state of the page: a 200 HTML response."""
        if self.status is not None and self.status != "200":
            return False
        if self.mimetype is None:
            return True
        return self.mimetype.split(";", 1)[0].strip().lower() in _HTML_TYPES


@dataclass(frozen=True, slots=True)
class CaptureList:
    """A page's content captures in time order, and how many index rows were left out and why."""

    url: str
    content: tuple[Capture, ...] = ()
    not_content: int = 0  # revisit records, redirects, other statuses, other media types
    duplicates: int = 0  # the same digest as the page's previous content capture

    @property
    def listed(self) -> int:
        """Return how many index rows the archive listed for the page."""
        return len(self.content) + self.not_content + self.duplicates


@dataclass(frozen=True, slots=True)
class ArchiveSettings:
    """One web archive: the `[archive]` table of config.toml (DESIGN §3, §12)."""

    cdx_url: str = WAYBACK_CDX_URL
    replay_url: str = WAYBACK_REPLAY_URL  # {timestamp} and {url} are filled in per capture
    allowed_hosts: tuple[str, ...] = ("web.archive.org",)
    requests_per_second: float = 1.0
    # Each None keeps the `[source]` setting given to `fetch_settings`.
    timeout_s: float | None = None
    max_bytes: int | None = None
    retries: int | None = None
    obey_robots: bool | None = None

    def __post_init__(self) -> None:
        hosts = self.allowed_hosts
        if isinstance(hosts, str) or not all(isinstance(h, str) and h.strip() for h in hosts):
            raise ValueError("allowed_hosts must be a list of host names")
        object.__setattr__(self, "allowed_hosts", tuple(h.strip().lower() for h in hosts))
        if not self.requests_per_second > 0:
            raise ValueError("requests_per_second must be > 0")
        for name in ("{timestamp}", "{url}"):
            if self.replay_url.count(name) != 1:
                raise ValueError(f"replay_url must contain {name} once")
        example = self.replay_url.format(timestamp="20150110000000", url="https://www.gov.uk/")
        for key, url in (("cdx_url", self.cdx_url), ("replay_url", example)):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{key} must be an http(s) URL")
            if parts.hostname.lower() not in self.allowed_hosts:
                raise ValueError(f"{key} host {parts.hostname} is not in allowed_hosts")

    def fetch_settings(self, source: FetchSettings) -> FetchSettings:
        """Return `source` (timeouts, retries, max_bytes, User-Agent) with the archive's hosts and
        rate limit, and its own timeout, max_bytes, retries and robots rule where it sets them: a
        Fetcher built from it fetches from the archive only, and gently."""
        own = {
            name: value
            for name in ("timeout_s", "max_bytes", "retries", "obey_robots")
            if (value := getattr(self, name)) is not None
        }
        return replace(
            source,
            allowed_hosts=self.allowed_hosts,
            requests_per_second=self.requests_per_second,
            **own,
        )


class ArchiveClient:
    """List and fetch a web archive's captures through one `Fetcher`.

    Build the Fetcher from `settings.fetch_settings(...)`; it keeps the per-host rate limit and
    robots.txt rules for its lifetime, so use one client for a whole backfill.
    """

    def __init__(self, fetcher: Fetcher, settings: ArchiveSettings) -> None:
        self._fetcher = fetcher
        self._settings = settings
        self._replayed = _replay_pattern(settings.replay_url)

    def query_url(
        self, url: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> str:
        """Return the CDX query for `url`'s captures from `since` to `until` (both inclusive)."""
        params = [("url", url), ("output", "json"), ("fl", ",".join(CDX_FIELDS))]
        if since is not None:
            params.append(("from", _timestamp(since)))
        if until is not None:
            params.append(("to", _timestamp(until)))
        separator = "&" if "?" in self._settings.cdx_url else "?"
        return f"{self._settings.cdx_url}{separator}{urlencode(params)}"

    def list_captures(
        self, url: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> CaptureList:
        """Return `url`'s content captures from the archive's index, in time order.

        Raises:
            FetchError: the index could not be fetched (ArchiveError: it could not be read).
        """
        query = self.query_url(url, since=since, until=until)
        result = self._fetcher.fetch(query, accept_types=CDX_ACCEPT_TYPES)
        if result.gone:  # some pywb deployments answer 404 when they hold no capture
            return CaptureList(url)
        captures = select_content(url, parse_cdx(result.body, url, source=query))
        logger.debug(
            "%s: %d content captures, %d not content, %d duplicates",
            url,
            len(captures.content),
            captures.not_content,
            captures.duplicates,
        )
        return captures

    def replay_url(self, capture: Capture) -> str:
        """Return the URL that serves `capture`'s original bytes."""
        return self._settings.replay_url.format(timestamp=capture.timestamp, url=capture.original)

    def fetch_capture(self, capture: Capture) -> FetchResult:
        """Fetch `capture`'s original bytes (the result's `url` is the replay URL).

        Raises:
            FetchError: the capture could not be fetched (IncompleteBodyError: its body is cut
                short); ArchiveError: the archive served something other than the capture.
        """
        replay = self.replay_url(capture)
        result = self._fetcher.fetch(replay)
        if result.gone:
            gone = f"the archive does not serve this capture (HTTP {result.status})"
            raise ArchiveError(replay, gone)
        if result.final_url != replay:
            self._check_redirect(replay, result.final_url, capture)
        placeholder = placeholder_reason(result.body)
        if placeholder is not None:
            raise ArchiveError(
                replay, f"the archive served {placeholder} with HTTP {result.status}"
            )
        return result

    def _check_redirect(self, replay: str, final_url: str, capture: Capture) -> None:
        """Refuse a replay redirected to another capture (Wayback's "nearest capture") or to
        anything that is not a raw capture: its bytes would be dated wrongly or rewritten."""
        served = self._replayed.fullmatch(final_url)
        if served is None:
            raise ArchiveError(replay, f"redirected away from the raw capture, to {final_url}")
        if served["timestamp"] != capture.timestamp:
            reason = f"the archive served its capture of {served['timestamp']} instead"
            raise ArchiveError(replay, reason)


def parse_cdx(body: bytes, url: str, *, source: str = "") -> tuple[Capture, ...]:
    """Read a CDX `output=json` answer in either shape, in time order (see the module docstring).

    Raises:
        ArchiveError: the body is not CDX JSON, or a row lacks a timestamp or URL.
    """
    where = source or url
    try:
        text = body.decode("utf-8").strip()
        if not text:
            return ()
        if text.startswith("["):
            records = _rows_with_header(json.loads(text), where)
        elif text.startswith("{"):
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            raise ArchiveError(where, "the capture list is not CDX JSON (output=json)")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArchiveError(where, "the capture list is not valid JSON") from exc
    captures = [_capture(record, url, where) for record in records]
    return tuple(sorted(captures, key=lambda capture: capture.timestamp))


def select_content(url: str, captures: Iterable[Capture]) -> CaptureList:
    """Keep `url`'s content captures, in time order, without those whose digest repeats the
    previous content capture's (see the module docstring)."""
    ordered = sorted(captures, key=lambda capture: capture.timestamp)
    kept: list[Capture] = []
    not_content = duplicates = 0
    for capture in ordered:
        if not capture.is_content:
            not_content += 1
        elif capture.digest and kept and kept[-1].digest == capture.digest:
            duplicates += 1
        else:
            kept.append(capture)
    return CaptureList(url, tuple(kept), not_content, duplicates)


def placeholder_reason(body: bytes) -> str | None:
    """Return what archive page `body` is when it is an archive's own "not archived" page."""
    lowered = body.lower()
    return next((name for phrase, name in _PLACEHOLDERS if phrase in lowered), None)


def _rows_with_header(data: Any, where: str) -> list[Mapping[str, Any]]:
    """Return Wayback's rows as mappings: the first row names the fields; `[]` ends the rows."""
    if not isinstance(data, list) or not all(isinstance(row, list) for row in data):
        raise ArchiveError(where, "the capture list is not an array of rows")
    if not data or not data[0]:
        return []
    header = data[0]
    records: list[Mapping[str, Any]] = []
    for row in data[1:]:
        if not row:
            break  # a resume key follows
        records.append(dict(zip(header, row, strict=False)))
    return records


def _capture(record: Any, url: str, where: str) -> Capture:
    if not isinstance(record, Mapping):
        raise ArchiveError(where, "a capture-list row is not a JSON object")
    timestamp = _field(record, "timestamp")
    original = _field(record, "original")
    if timestamp is None or not _TIMESTAMP.fullmatch(timestamp) or not original:
        row = json.dumps(record)[:100]
        raise ArchiveError(where, f"a capture-list row has no valid timestamp or URL: {row}")
    length = _field(record, "length")
    return Capture(
        url=url,
        timestamp=timestamp,
        original=original,
        status=_field(record, "statuscode"),
        mimetype=_field(record, "mimetype"),
        digest=_field(record, "digest") or "",
        length=int(length) if length and length.isdigit() else None,
    )


def _field(record: Mapping[str, Any], name: str) -> str | None:
    """Return a field by its Wayback name or its pywb name, as a string (None when absent)."""
    value = record.get(name, record.get(_PYWB_NAMES.get(name, name)))
    return None if value is None else str(value)


def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("since/until must be aware datetimes")
    return moment.astimezone(UTC).strftime(_TIMESTAMP_FORMAT)


def _replay_pattern(template: str) -> re.Pattern[str]:
    """Return a pattern matching the template's URLs, capturing the timestamp."""
    pieces = re.split(r"(\{timestamp\}|\{url\})", template)
    fills = {"{timestamp}": r"(?P<timestamp>\d{1,14})", "{url}": r"(?P<url>.+)"}
    return re.compile("".join(fills.get(piece, re.escape(piece)) for piece in pieces), re.I)
