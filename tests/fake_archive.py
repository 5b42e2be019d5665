"""A fake web archive on 127.0.0.1 for backfill tests: a CDX endpoint and raw (`id_`) replay.

`FakeArchive(shape)` is a `tests.site_server.SiteServer` whose answers come from archived copies
(`Copy`), so its faults (`server.faults[path] = Reply(...)` or `fail_first(n, reply)`) and its
request log work as they do for the fake GOV.UK site. It answers:

- CDX, at `cdx_path`: `?url=<exact URL>&output=json` with optional `fl=`, `from=`, `to=`
  (1 to 14 digits, inclusive), in the shape chosen per instance: "wayback" (one JSON array whose
  first row names the fields, Content-Type application/json, at /cdx/search/cdx) or "pywb" (one
  JSON object per line, Content-Type text/x-ndjson, at /ukgwa/cdx, field names url/mime/status).
  `fl` keeps the names the shape knows and drops the others, as both real servers do.
- Replay, at `<prefix>/<timestamp>id_/<url>`: the copy's bytes as archived, with its media type
  (an archived redirect is replayed as that redirect, Location and all); a timestamp it does not
  hold redirects (302) to the page's nearest copy, as the Wayback Machine does; a URL it does not
  hold is a 404 with Wayback's "not archived" page (`NOT_ARCHIVED`).
- robots.txt allowing everything.

`FakeArchive.delay_s` delays every answer that is not a fault (for kill tests).

`history(era)` is the scripted scenario the backfill tests replay, built with the GOV.UK site
builder (`tests.govuk_site`), every state rendered in one markup era (`eras` mixes them per
state), as copies of www.gov.uk pages, or of another `origin` (a loopback site that live runs
track: `live_states()` gives what it serves). P is the publication, A to D its HTML documents
(A: experimental medicine and clinical trials, B: medical technology, C: digital health and care,
D: precision medicine and genomics); the first live run is 2022-01-10 07:00 UTC. Times are UTC.

| capture (UTC)    | page | what it is                                       | expected        |
|------------------|------|--------------------------------------------------|-----------------|
| 2019-03-01 10:00 | P    | S1: lists A, B, C                                | run 1, baseline |
| 2019-03-01 10:02 | A    | S1                                               | run 1, baseline |
| 2019-03-01 10:05 | B    | S1                                               | run 1, baseline |
| 2019-03-01 10:30 | P    | the same bytes as 10:00                          | duplicate       |
| 2019-06-01 12:00 | A    | the same bytes as in March                       | duplicate       |
| 2019-06-01 12:01 | P    | a warc/revisit record                            | not content     |
| 2019-07-01 00:00 | P    | an archived 301 to www.gov.uk                    | not content     |
| 2019-09-01 09:00 | P    | the same bytes as in March (only A changed)      | duplicate       |
| 2019-09-01 09:03 | A    | S2: "Clinical Practice Research Datalink (CPRD)" | run 2           |
|                  |      | renamed "Clinical Practice Research Datalink"    |                 |
| 2019-09-01 09:06 | C    | the first copy of C, listed since March          | run 2, baseline |
| 2020-02-03 10:00 | P    | S3: lists A, C, D (B removed, D added), a change | run 3           |
|                  |      | note; replay answers 429 once (Retry-After 0.05) |                 |
| 2020-02-03 10:01 | A    | S3: "Cancer Research UK Commercial Partnerships" | run 3           |
|                  |      | moved to the second stage                        |                 |
| 2020-02-03 10:04 | D    | the first copy of D, listed by this run's P      | run 3, added    |
| 2020-02-03 10:07 | B    | B still online (re-described), no longer listed  | not listed      |
| 2020-02-03 10:09 | C    | the same bytes as in September                   | duplicate       |
| 2020-05-01 00:00 | P    | a layout the parser does not know                | layout          |
| 2020-07-01 00:00 | P    | Wayback's "not archived" page, served with 200   | archive error   |
| 2020-08-01 00:00 | P    | S3's body cut short (no </html>)                 | truncated       |
| 2021-06-01 00:00 | B    | an archived 404                                  | not content     |
| 2021-12-02 08:00 | P    | S4: a new change note                            | run 4           |
| 2022-01-15 00:00 | D    | D re-described, after the first live run         | after live run  |
| 2022-03-01 00:00 | P    | S5: a change note, after the first live run      | after live run  |
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from scraper.archive import ArchiveSettings
from tests.govuk_site import (
    PUBLICATION_PATH,
    DocSpec,
    Era,
    SiteSpec,
    default_site,
    render_site,
)
from tests.site_server import Reply, SiteServer, fail_first

Shape = Literal["wayback", "pywb"]
ORIGIN = "https://www.gov.uk"
PUBLICATION_URL = ORIGIN + PUBLICATION_PATH
FIRST_LIVE_RUN = datetime(2022, 1, 10, 7, 0, tzinfo=UTC)
SLUGS = {
    "A": "experimental-medicine-and-clinical-trials",
    "B": "medical-technology",
    "C": "digital-health-and-care",
    "D": "precision-medicine-and-genomics",
}
DOCUMENT_URLS = {letter: f"{PUBLICATION_URL}/{slug}" for letter, slug in SLUGS.items()}
NOT_ARCHIVED = (
    b'<!DOCTYPE html>\n<html lang="en"><head><title>Wayback Machine</title></head>\n'
    b'<body><div id="error"><h2>Hrm.</h2>\n<p>The Wayback Machine has not archived that URL.</p>'
    b"\n</div></body></html>\n"
)
UNKNOWN_LAYOUT = (
    b'<!DOCTYPE html>\n<html lang="en"><head><title>UK life sciences support - GOV.UK</title>'
    b'</head>\n<body><div id="wrapper"><h1>UK life sciences support</h1>\n'
    b"<p>Guidance in a page layout no parser era knows.</p></div></body></html>\n"
)
_FIELDS: dict[Shape, tuple[str, ...]] = {
    "wayback": ("urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"),
    "pywb": ("urlkey", "timestamp", "url", "mime", "status", "digest", "length", "offset",
             "filename"),
}  # fmt: skip
_PATHS: dict[Shape, tuple[str, str]] = {
    "wayback": ("/cdx/search/cdx", "/web"),
    "pywb": ("/ukgwa/cdx", "/ukgwa"),
}


@dataclass(frozen=True)
class Copy:
    """One archived capture: a CDX row and what replay serves for it."""

    url: str  # the URL as captured
    timestamp: str  # 14 digits, UTC
    body: bytes = b""
    status: str = "200"  # "-" for a revisit record
    mimetype: str = "text/html"
    location: str | None = None  # an archived redirect's target

    @property
    def digest(self) -> str:
        """The Wayback Machine's digest: the base32 SHA-1 of the payload."""
        return base64.b32encode(hashlib.sha1(self.body).digest()).decode()


class FakeArchive(SiteServer):
    """Serve archived copies as a Wayback-shaped or pywb-shaped archive (module docstring)."""

    def __init__(self, copies: Iterable[Copy] = (), *, shape: Shape = "wayback") -> None:
        super().__init__()
        self.etags = False
        self.shape: Shape = shape
        self.copies: list[Copy] = list(copies)
        self.cdx_path, self.replay_prefix = _PATHS[shape]

    def settings(self, requests_per_second: float = 1000.0) -> ArchiveSettings:
        """Return the `[archive]` settings that point at this archive (fast by default)."""
        return ArchiveSettings(
            cdx_url=self.url(self.cdx_path),
            replay_url=self.url(self.replay_prefix) + "/{timestamp}id_/{url}",
            allowed_hosts=("127.0.0.1",),
            requests_per_second=requests_per_second,
        )

    def replay_path(self, url: str, timestamp: str) -> str:
        """Return the request path that replays the capture of `url` at `timestamp`."""
        return f"{self.replay_prefix}/{timestamp}id_/{url}"

    def cdx_requests(self) -> list[str]:
        """Return the paths of the CDX queries received, in order."""
        with self._lock:
            return [r.path for r in self.requests if urlsplit(r.path).path == self.cdx_path]

    def _answer(self, path: str) -> Reply:
        fault = self.faults.get(path)
        if fault is not None:
            reply = fault(self.request_count()) if callable(fault) else fault
            if reply is not None:
                return reply
        answer = self._archived(path)
        answer.delay_s = self.delay_s
        return answer

    def _archived(self, path: str) -> Reply:
        parts = urlsplit(path)
        if parts.path == "/robots.txt":
            return Reply(body=b"User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"})
        if parts.path == self.cdx_path:
            return self._cdx(parse_qs(parts.query))
        replay = re.fullmatch(re.escape(self.replay_prefix) + r"/(\d{1,14})id_/(.+)", path)
        if replay is not None:
            return self._replay(replay[1], replay[2])
        return Reply(404, NOT_ARCHIVED)

    def _cdx(self, query: dict[str, list[str]]) -> Reply:
        url = query.get("url", [""])[0]
        since = query.get("from", [""])[0].ljust(14, "0")
        until = query.get("to", [""])[0].ljust(14, "9")
        fields = _FIELDS[self.shape]
        asked = query.get("fl", [""])[0]
        if asked:
            fields = tuple(name for name in asked.split(",") if name in fields)
        rows = [
            _row(found, fields)
            for found in sorted(self._copies_of(url), key=lambda c: c.timestamp)
            if since <= found.timestamp <= until
        ]
        if self.shape == "wayback":
            body = json.dumps([list(fields), *([row[f] for f in fields] for row in rows)])
            return Reply(200, body.encode(), {"Content-Type": "application/json"})
        lines = "".join(json.dumps(row) + "\n" for row in rows)
        return Reply(200, lines.encode(), {"Content-Type": "text/x-ndjson"})

    def _replay(self, timestamp: str, url: str) -> Reply:
        held = self._copies_of(url)
        if not held:
            return Reply(404, NOT_ARCHIVED)
        exact = next((c for c in held if c.timestamp == timestamp), None)
        if exact is None:
            nearest = min(held, key=lambda c: abs(int(c.timestamp) - int(timestamp.ljust(14, "0"))))
            location = self.url(self.replay_path(nearest.url, nearest.timestamp))
            return Reply(302, b"", {"Location": location})
        if exact.location is not None:
            return Reply(int(exact.status), b"", {"Location": exact.location})
        return Reply(200, exact.body, {"Content-Type": f"{exact.mimetype}; charset=utf-8"})

    def _copies_of(self, url: str) -> list[Copy]:
        """The copies of `url`, whichever scheme was asked for (CDX keys ignore it)."""
        wanted = url.split("://", 1)[-1]
        return [c for c in self.copies if c.url.split("://", 1)[-1] == wanted]


def _row(found: Copy, fields: Sequence[str]) -> dict[str, str]:
    host_path = found.url.split("://", 1)[-1]
    host, _, rest = host_path.partition("/")
    values = {
        "urlkey": ",".join(reversed(host.split("."))) + ")/" + rest,
        "timestamp": found.timestamp,
        "original": found.url,
        "url": found.url,
        "mimetype": "warc/revisit" if found.status == "-" else found.mimetype,
        "mime": "warc/revisit" if found.status == "-" else found.mimetype,
        "statuscode": found.status,
        "status": found.status,
        "digest": found.digest,
        "length": str(len(found.body)),
        "offset": "0",
        "filename": "fake.warc.gz",
    }
    return {name: values[name] for name in fields}


@contextmanager
def serve_archive(
    copies: Iterable[Copy] = (), *, shape: Shape = "wayback"
) -> Iterator[FakeArchive]:
    """Run a FakeArchive for the duration of a with-block."""
    archive = FakeArchive(copies, shape=shape)
    archive.start()
    try:
        yield archive
    finally:
        archive.stop()


# --- the scripted history (module docstring) -----------------------------------------------


@dataclass(frozen=True)
class History:
    """The scripted archive history: its copies and the faults to install on the archive."""

    copies: tuple[Copy, ...]
    throttled: tuple[tuple[str, str], ...] = field(default=())  # (url, timestamp): 429 once
    first_live_run: datetime = FIRST_LIVE_RUN
    origin: str = ORIGIN

    @property
    def publication_url(self) -> str:
        """P's URL."""
        return self.origin + PUBLICATION_PATH

    @property
    def document_urls(self) -> dict[str, str]:
        """A to D's URLs, by letter."""
        return {letter: f"{self.publication_url}/{slug}" for letter, slug in SLUGS.items()}

    def install(self, archive: FakeArchive) -> FakeArchive:
        """Add the copies and faults to `archive` and return it."""
        archive.copies.extend(self.copies)
        for url, timestamp in self.throttled:
            throttle = Reply(429, b"Too Many Requests", {"Retry-After": "0.05"})
            archive.faults[archive.replay_path(url, timestamp)] = fail_first(1, throttle)
        return archive


def history(
    era: Era = "2021", *, eras: Sequence[Era] | None = None, origin: str = ORIGIN
) -> History:
    """Return the scripted history; `eras` gives each of the five states its own markup era;
    `origin` is the site the copies are of."""
    specs = _states()
    chosen = list(eras or [era] * 5)
    # The two variants are captured in S3's and S5's time, so they share those eras.
    for spec, spec_era in zip(specs, [*chosen, chosen[2], chosen[4]], strict=True):
        spec.era = spec_era
    s1, s2, s3, s4, s5, unlisted_b, later_d = (render_site(s, origin) for s in specs)
    scripted = History((), origin=origin)
    p, (a, b, c, d) = scripted.publication_url, scripted.document_urls.values()

    def page(pages: dict[str, bytes], url: str) -> bytes:
        return pages[url.removeprefix(origin)]

    copies = [
        Copy(p, "20190301100000", page(s1, p)),
        Copy(a, "20190301100200", page(s1, a)),
        Copy(b, "20190301100500", page(s1, b)),
        Copy(p, "20190301103000", page(s1, p)),
        Copy(a, "20190601120000", page(s1, a)),
        Copy(p, "20190601120100", page(s1, p), status="-"),
        Copy(p, "20190701000000", status="301", location=p),
        Copy(p, "20190901090000", page(s2, p)),
        Copy(a, "20190901090300", page(s2, a)),
        Copy(c, "20190901090600", page(s2, c)),
        Copy(p, "20200203100000", page(s3, p)),
        Copy(a, "20200203100100", page(s3, a)),
        Copy(d, "20200203100400", page(s3, d)),
        Copy(b, "20200203100700", page(unlisted_b, b)),
        Copy(c, "20200203100900", page(s3, c)),
        Copy(p, "20200501000000", UNKNOWN_LAYOUT),
        Copy(p, "20200701000000", NOT_ARCHIVED),
        Copy(p, "20200801000000", page(s3, p)[: len(page(s3, p)) // 2]),
        Copy(b, "20210601000000", b"<html><body><h1>Page not found</h1></body></html>", "404"),
        Copy(p, "20211202080000", page(s4, p)),
        Copy(d, "20220115000000", page(later_d, d)),
        Copy(p, "20220301000000", page(s5, p)),
    ]
    return History(tuple(copies), throttled=((p, "20200203100000"),), origin=origin)


def live_states() -> tuple[SiteSpec, SiteSpec]:
    """Return what the site serves at the first live run (S4 with D re-described, as the archive
    copied it on 2022-01-15) and after 2022-02-20 (S5, D re-described)."""
    specs = _states()
    first = copy.deepcopy(specs[3])
    _redescribe(first.doc(SLUGS["D"]))
    return first, specs[6]


def _states() -> list[SiteSpec]:
    """S1 to S5, then B re-described (online, unlisted) and D re-described (after live runs)."""
    everything = default_site()
    s1 = copy.deepcopy(everything)
    s1.docs = [everything.doc(SLUGS[letter]) for letter in "ABC"]
    s1.change_notes = s1.change_notes[1:]  # before the December 2021 note
    s1.last_updated = date(2018, 3, 27)
    s2 = copy.deepcopy(s1)
    s2.doc(SLUGS["A"]).find("Clinical Practice Research Datalink (CPRD)")[
        1
    ].name = "Clinical Practice Research Datalink"
    s3 = copy.deepcopy(s2)
    s3.docs = [s3.doc(SLUGS["A"]), s3.doc(SLUGS["C"]), copy.deepcopy(everything.doc(SLUGS["D"]))]
    moved = s3.doc(SLUGS["A"])
    moved.move_org("Cancer Research UK Commercial Partnerships", moved.stages[1].heading)
    s3.add_change_note(
        datetime(2020, 2, 3, 9, 30, tzinfo=UTC),
        "Added precision medicine and genomics; removed medical technology.",
    )
    s4 = copy.deepcopy(s3)
    s4.add_change_note(datetime(2021, 12, 1, 11, 18, 4, tzinfo=UTC), "Updated contact details.")
    s5 = copy.deepcopy(s4)
    s5.add_change_note(datetime(2022, 2, 20, 9, 0, tzinfo=UTC), "Updated organisation links.")
    unlisted_b = copy.deepcopy(s1)
    _redescribe(unlisted_b.doc(SLUGS["B"]))
    later_d = copy.deepcopy(s5)
    _redescribe(later_d.doc(SLUGS["D"]))
    return [s1, s2, s3, s4, s5, unlisted_b, later_d]


def _redescribe(doc: DocSpec) -> None:
    org = doc.stages[0].orgs[0]
    org.description_html = "<p>Its description as rewritten later.</p>"
