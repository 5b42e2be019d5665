"""Plan a backfill: which archived captures replay together, as which archive runs (DESIGN §12).

`plan_backfill` is a pure function of the captures the archive lists, the Documents list each
publication capture shows, the time of the first live run, and the captures an earlier backfill
already replayed. It fetches nothing and stores nothing: the caller fetches each run's captures
in order and stores them as one run with trigger `archive` and `started_at = run.at`.

The rules, in the order they apply:

1. Only content captures count (`scraper.archive.select_content`: status 200, HTML, a digest
   repeating the page's previous capture is a duplicate); history starts before the first live
   run, so a capture at or after it is skipped.
2. A publication capture whose Documents list cannot be read (a layout the parser does not know,
   the archive's own error page, a truncated body, a failed fetch) is skipped with that reason,
   never read as "every document removed".
3. An archive run starts at the earliest capture left and takes the captures of OTHER pages up to
   `window` (10 minutes) later: a crawler that follows the Documents list captures a publication
   and its documents together, and together they form one state. A second capture of a page
   inside the window starts a later run.
4. A run's Documents list is its own publication capture's, else the one in force from earlier
   runs. A document capture the list in force does not name is skipped (`not_listed`): it is not
   part of the publication at that time.
5. A page's first copy is a baseline, not an addition, unless it is a document the run's own list
   adds (`ArchiveRun.newly_listed`): a document first captured after it was first listed has
   existed for a while, unseen, so none of its organisations are "added".
6. Captures an earlier backfill replayed (`replayed`) still give the Documents list in force and
   still count as a page's copy, but are not planned again: a second backfill plans nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final, Literal

from changes.changeset import json_time
from scraper.archive import ArchiveError, Capture, CaptureList
from scraper.errors import (
    FetchError,
    HostNotAllowedError,
    IncompleteBodyError,
    LayoutChangedError,
)
from scraper.page import Publication

__all__ = [
    "WINDOW",
    "ArchiveRun",
    "BackfillPlan",
    "Listing",
    "PlannedCapture",
    "SkipReason",
    "plan_backfill",
    "skip_reason",
]

WINDOW: Final = timedelta(minutes=10)


class SkipReason(StrEnum):
    """Why an archived capture gives no state (counted per reason in the backfill summary)."""

    NOT_CONTENT = "not_content"  # a redirect, revisit record, other status or not HTML
    DUPLICATE = "duplicate"  # the same bytes (digest) as the page's previous capture
    AFTER_LIVE_RUN = "after_live_run"  # at or after the first live run: live runs cover it
    NOT_LISTED = "not_listed"  # a document the publication did not list at that time
    LAYOUT = "layout"  # does not parse: a layout the parser does not know
    ARCHIVE_ERROR = "archive_error"  # the archive's own error or placeholder page, or wrong copy
    TRUNCATED = "truncated"  # the archived body is cut short
    FETCH_FAILED = "fetch_failed"  # the archive did not answer (after retries): tried next time
    # A document that would lose most of its organisations at once (the anomaly guard, as in a
    # live run): held back, tried next time (`backfill --accept-anomalies` stores it).
    ANOMALY = "anomaly"

    @property
    def final(self) -> bool:
        """Return whether a capture skipped for this reason is done with: asking again gives
        the same answer. A failed fetch is tried again on the next backfill, and so is a copy
        held back as an anomaly (which `--accept-anomalies` stores)."""
        return self not in (SkipReason.FETCH_FAILED, SkipReason.ANOMALY)


def skip_reason(error: Exception) -> SkipReason:
    """Return the skip reason for an error fetching or parsing a capture.

    Raises:
        TypeError: `error` is not a fetch or parse error (a bug, not a capture to skip).
    """
    if isinstance(error, LayoutChangedError):
        return SkipReason.LAYOUT
    if isinstance(error, ArchiveError | HostNotAllowedError):  # HostNotAllowed: sent off-archive
        return SkipReason.ARCHIVE_ERROR
    if isinstance(error, IncompleteBodyError):
        return SkipReason.TRUNCATED
    if isinstance(error, FetchError):
        return SkipReason.FETCH_FAILED
    raise TypeError(f"not a capture error: {error!r}")


@dataclass(frozen=True, slots=True)
class Listing:
    """What a publication capture's Documents list says: the URLs of its HTML documents, in
    order, or why it could not be read (`skipped`)."""

    documents: tuple[str, ...] = ()
    skipped: SkipReason | None = None

    @classmethod
    def of(cls, publication: Publication) -> Listing:
        """Return the HTML documents a parsed publication lists (attachments are not pages)."""
        return cls(tuple(link.url for link in publication.documents if link.kind == "html"))

    @classmethod
    def failed(cls, error: Exception) -> Listing:
        """Return the listing of a capture that could not be fetched or parsed (`skip_reason`)."""
        return cls(skipped=skip_reason(error))


ListingOf = Callable[[Capture], Listing]


@dataclass(frozen=True, slots=True)
class PlannedCapture:
    """A capture to fetch, parse and store in an archive run."""

    capture: Capture
    kind: Literal["publication", "html_document"]
    # The page's first copy in the archive's history, not added by this run's Documents list:
    # store it as a baseline (rule 5). If the caller cannot store a page's first planned copy,
    # the same rule applies to its next one: no stored version yet and not in `newly_listed`.
    baseline: bool


@dataclass(frozen=True, slots=True)
class ArchiveRun:
    """One state replayed from the archive: captures made within `WINDOW` of each other."""

    at: datetime  # the earliest capture's time: the run's started_at
    captures: tuple[PlannedCapture, ...]  # the publication first, then documents in list order
    listed: tuple[str, ...]  # the HTML documents the publication lists as of this run
    newly_listed: tuple[str, ...] = ()  # those its own list adds to the previous state's list

    @property
    def until(self) -> datetime:
        """Return the latest capture's time."""
        return max(planned.capture.at for planned in self.captures)

    def to_dict(self) -> dict[str, Any]:
        """Return the run as JSON-ready data (for `backfill --dry-run --json` and tests)."""
        return {
            "at": json_time(self.at),
            "captures": [
                {
                    "url": planned.capture.url,
                    "timestamp": planned.capture.timestamp,
                    "kind": planned.kind,
                    "baseline": planned.baseline,
                }
                for planned in self.captures
            ],
            "listed": list(self.listed),
            "newly_listed": list(self.newly_listed),
        }


@dataclass(frozen=True, slots=True)
class BackfillPlan:
    """The archive runs to replay, in time order, and what was left out."""

    runs: tuple[ArchiveRun, ...]
    listed: int  # index rows the archive listed, for every page
    skipped: Mapping[SkipReason, int] = field(default_factory=dict)  # zero counts left out
    already_replayed: int = 0  # captures an earlier backfill stored or skipped for good

    def count(self, reason: SkipReason) -> int:
        """Return how many captures were skipped for `reason`."""
        return self.skipped.get(reason, 0)

    @property
    def captures(self) -> int:
        """Return how many captures the runs replay."""
        return sum(len(run.captures) for run in self.runs)

    def to_dict(self) -> dict[str, Any]:
        """Return the plan as JSON-ready data: runs, counts, every skip reason with its count."""
        return {
            "captures_listed": self.listed,
            "captures_planned": self.captures,
            "already_replayed": self.already_replayed,
            "skipped": {reason.value: self.count(reason) for reason in SkipReason},
            "from": json_time(self.runs[0].at) if self.runs else None,
            "to": json_time(self.runs[-1].until) if self.runs else None,
            "runs": [run.to_dict() for run in self.runs],
        }


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A capture that may join a run, with what its publication capture lists (publications)."""

    capture: Capture
    kind: Literal["publication", "html_document"]
    listing: tuple[str, ...] = ()
    at: datetime = field(init=False)  # read once: grouping compares it often

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", self.capture.at)

    @property
    def url(self) -> str:
        return self.capture.url


def plan_backfill(
    publication: CaptureList,
    documents: Mapping[str, CaptureList],
    listing_of: ListingOf,
    *,
    first_live_run: datetime | None,
    replayed: Set[tuple[str, str]] = frozenset(),
    window: timedelta = WINDOW,
) -> BackfillPlan:
    """Return the archive runs for a publication's history (see the module docstring).

    `documents` holds the captures of every HTML document any usable publication capture lists
    (more do no harm); `listing_of` is asked once per publication capture before the first live
    run, in time order, replayed ones included; `replayed` holds `Capture.key`s.
    """
    skipped: Counter[SkipReason] = Counter()
    pages = [publication, *documents.values()]
    skipped[SkipReason.NOT_CONTENT] = sum(page.not_content for page in pages)
    skipped[SkipReason.DUPLICATE] = sum(page.duplicates for page in pages)
    publications = _before(publication.content, first_live_run, skipped)
    copies = [_before(page.content, first_live_run, skipped) for page in documents.values()]
    candidates: list[_Candidate] = []
    for capture in publications:
        listing = listing_of(capture)
        if listing.skipped is None:
            candidates.append(_Candidate(capture, "publication", listing.documents))
        elif capture.key not in replayed:
            skipped[listing.skipped] += 1
    candidates += [_Candidate(c, "html_document") for page in copies for c in page]
    runs = _runs(_groups(candidates, window), skipped, replayed)
    pending = (_pending(run, replayed) for run in runs)
    seen = [capture for page in (publications, *copies) for capture in page]
    return BackfillPlan(
        runs=tuple(run for run in pending if run is not None),
        listed=sum(page.listed for page in pages),
        skipped={reason: count for reason, count in skipped.items() if count},
        already_replayed=sum(1 for capture in seen if capture.key in replayed),
    )


def _before(
    captures: Sequence[Capture], first_live_run: datetime | None, skipped: Counter[SkipReason]
) -> list[Capture]:
    """Return the captures made before the first live run, counting the others as skipped."""
    kept = [c for c in captures if first_live_run is None or c.at < first_live_run]
    skipped[SkipReason.AFTER_LIVE_RUN] += len(captures) - len(kept)
    return kept


def _groups(candidates: Sequence[_Candidate], window: timedelta) -> list[list[_Candidate]]:
    """Group captures into runs (rule 3): each run starts at the earliest capture left and takes
    the first capture of each other page up to `window` later."""
    pending = sorted(candidates, key=lambda c: (c.at, c.kind != "publication", c.url))
    groups: list[list[_Candidate]] = []
    while pending:
        end = pending[0].at + window
        group: list[_Candidate] = []
        later: list[_Candidate] = []
        taken: set[str] = set()
        for index, candidate in enumerate(pending):
            if candidate.at > end:
                later += pending[index:]
                break
            if candidate.url in taken:
                later.append(candidate)
            else:
                group.append(candidate)
                taken.add(candidate.url)
        groups.append(group)
        pending = later
    return groups


def _runs(
    groups: Iterable[list[_Candidate]],
    skipped: Counter[SkipReason],
    replayed: Set[tuple[str, str]],
) -> list[ArchiveRun]:
    """Turn groups into runs in time order: the list in force (rule 4) and baselines (rule 5)."""
    runs: list[ArchiveRun] = []
    in_force: tuple[str, ...] | None = None  # no publication state yet
    copied: set[str] = set()  # pages with a copy in an earlier run
    for group in groups:
        publication = next((c for c in group if c.kind == "publication"), None)
        previous = in_force
        if publication is not None:
            in_force = publication.listing
        listed = in_force or ()
        added = () if previous is None else tuple(u for u in listed if u not in previous)
        planned: list[PlannedCapture] = []
        if publication is not None:
            first = publication.url not in copied
            planned.append(PlannedCapture(publication.capture, "publication", baseline=first))
        documents = {c.url: c for c in group if c.kind == "html_document"}
        for url, candidate in documents.items():
            if url not in listed and candidate.capture.key not in replayed:
                skipped[SkipReason.NOT_LISTED] += 1
        for url in (u for u in listed if u in documents):
            first = url not in copied and url not in added
            planned.append(PlannedCapture(documents[url].capture, "html_document", first))
        if planned:
            copied.update(p.capture.url for p in planned)
            at = min(p.capture.at for p in planned)
            runs.append(ArchiveRun(at, tuple(planned), listed, added))
    return runs


def _pending(run: ArchiveRun, replayed: Set[tuple[str, str]]) -> ArchiveRun | None:
    """Return the run without the captures already replayed (None when nothing is left)."""
    left = tuple(p for p in run.captures if p.capture.key not in replayed)
    if not left:
        return None
    if len(left) == len(run.captures):
        return run
    return ArchiveRun(min(p.capture.at for p in left), left, run.listed, run.newly_listed)
