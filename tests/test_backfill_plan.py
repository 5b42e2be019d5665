"""The backfill planner (tracker/backfill_plan.py): which archived captures form which archive run.

Most tests script captures and Documents lists by hand; the golden test plans the fake archive's
history (tests/fake_archive.py) through the real client, in both CDX shapes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from scraper.archive import ArchiveClient, ArchiveError, Capture, select_content
from scraper.errors import (
    BodyTooLargeError,
    FetchError,
    HostNotAllowedError,
    IncompleteBodyError,
    LayoutChangedError,
)
from scraper.fetch import Fetcher, FetchSettings
from scraper.parse import parse_publication
from tests.fake_archive import DOCUMENT_URLS, PUBLICATION_URL, Shape, history, serve_archive
from tests.golden import assert_golden, to_golden_json
from tests.govuk_site import Era
from tracker.backfill_plan import (
    BackfillPlan,
    Listing,
    SkipReason,
    plan_backfill,
    skip_reason,
)

P = PUBLICATION_URL
A, B, C, D = DOCUMENT_URLS.values()
LETTERS = {P: "P", **{url: letter for letter, url in DOCUMENT_URLS.items()}}


def cap(url: str, when: str, digest: str | None = None) -> Capture:
    """A content capture of `url` at `when` ("2019-03-01 10:00:00"), its digest unique by
    default."""
    timestamp = datetime.fromisoformat(when).strftime("%Y%m%d%H%M%S")
    return Capture(url, timestamp, url, digest=digest or f"{LETTERS[url]}{timestamp}")


def plan(
    captures: list[Capture],
    listings: Mapping[str, tuple[str, ...] | SkipReason],
    *,
    first_live_run: datetime | None = None,
    replayed: frozenset[tuple[str, str]] = frozenset(),
) -> BackfillPlan:
    """Plan `captures`; `listings` maps a publication capture's time ("2019-03-01 10:00:00") to
    the documents its list names, or to why it could not be read."""

    def listing_of(capture: Capture) -> Listing:
        found = listings[capture.at.strftime("%Y-%m-%d %H:%M:%S")]
        return Listing(skipped=found) if isinstance(found, SkipReason) else Listing(found)

    pages = {url: select_content(url, [c for c in captures if c.url == url]) for url in LETTERS}
    documents = {url: found for url, found in pages.items() if url != P}
    return plan_backfill(
        pages[P], documents, listing_of, first_live_run=first_live_run, replayed=replayed
    )


def runs(found: BackfillPlan) -> list[tuple[str, list[str]]]:
    """Each run's time and captures, as ("10:00:00", ["P", "A*"]): letters, * for a baseline."""
    return [
        (
            run.at.strftime("%H:%M:%S"),
            [LETTERS[p.capture.url] + ("*" if p.baseline else "") for p in run.captures],
        )
        for run in found.runs
    ]


def test_a_run_takes_other_pages_captured_up_to_ten_minutes_later() -> None:
    found = plan(
        [
            cap(P, "2019-03-01 10:00:00"),
            cap(A, "2019-03-01 10:10:00"),
            cap(B, "2019-03-01 10:10:01"),
        ],
        {"2019-03-01 10:00:00": (A, B)},
    )

    assert runs(found) == [("10:00:00", ["P*", "A*"]), ("10:10:01", ["B*"])]


def test_a_second_capture_of_a_page_in_the_window_starts_the_next_run() -> None:
    found = plan(
        [
            cap(P, "2019-03-01 10:00:00"),
            cap(A, "2019-03-01 10:02:00"),
            cap(A, "2019-03-01 10:05:00"),
            cap(B, "2019-03-01 10:06:00"),
        ],
        {"2019-03-01 10:00:00": (A, B)},
    )

    assert runs(found) == [("10:00:00", ["P*", "A*", "B*"]), ("10:05:00", ["A"])]


def test_a_run_may_start_at_a_document_captured_just_before_its_publication() -> None:
    found = plan(
        [
            cap(B, "2019-03-01 09:58:00"),
            cap(P, "2019-03-01 10:00:00"),
            cap(A, "2019-03-01 10:01:00"),
        ],
        {"2019-03-01 10:00:00": (A, B)},
    )

    # The publication comes first and documents in its list's order, whatever the capture order.
    assert runs(found) == [("09:58:00", ["P*", "A*", "B*"])]
    assert found.runs[0].until == datetime(2019, 3, 1, 10, 1, tzinfo=UTC)


def test_documents_captured_before_any_documents_list_are_not_listed() -> None:
    found = plan(
        [cap(A, "2019-02-01 10:00:00"), cap(P, "2019-03-01 10:00:00")],
        {"2019-03-01 10:00:00": (A,)},
    )

    assert runs(found) == [("10:00:00", ["P*"])]
    assert found.count(SkipReason.NOT_LISTED) == 1


def test_a_document_first_captured_after_it_was_listed_is_a_baseline() -> None:
    found = plan(
        [
            cap(P, "2019-03-01 10:00:00"),
            cap(A, "2019-03-01 10:01:00"),
            cap(C, "2019-09-01 09:00:00"),  # listed since March, first copy now
            cap(P, "2020-02-03 10:00:00"),  # adds D to the list
            cap(D, "2020-02-03 10:04:00"),  # captured with the list that adds it
            cap(P, "2020-06-01 10:00:00"),  # adds B to the list
            cap(B, "2020-07-01 10:00:00"),  # captured a month later
        ],
        {
            "2019-03-01 10:00:00": (A, C),
            "2020-02-03 10:00:00": (A, C, D),
            "2020-06-01 10:00:00": (A, B, C, D),
        },
    )

    assert runs(found) == [
        ("10:00:00", ["P*", "A*"]),
        ("09:00:00", ["C*"]),
        ("10:00:00", ["P", "D"]),  # D is added: its organisations are news
        ("10:00:00", ["P"]),
        ("10:00:00", ["B*"]),  # B was listed a month before its first copy
    ]
    assert [run.newly_listed for run in found.runs] == [(), (), (D,), (B,), ()]


def test_an_unreadable_documents_list_is_skipped_and_the_earlier_list_stays() -> None:
    found = plan(
        [
            cap(P, "2019-03-01 10:00:00"),
            cap(P, "2019-05-01 10:00:00"),
            cap(A, "2019-05-01 10:01:00"),
            cap(P, "2019-06-01 10:00:00"),
            cap(P, "2019-07-01 10:00:00"),
            cap(P, "2019-08-01 10:00:00"),
        ],
        {
            "2019-03-01 10:00:00": (A,),
            "2019-05-01 10:00:00": SkipReason.LAYOUT,
            "2019-06-01 10:00:00": SkipReason.ARCHIVE_ERROR,
            "2019-07-01 10:00:00": SkipReason.TRUNCATED,
            "2019-08-01 10:00:00": SkipReason.FETCH_FAILED,
        },
    )

    # Never "every document removed": A is still listed, by the March list.
    assert runs(found) == [("10:00:00", ["P*"]), ("10:01:00", ["A*"])]
    assert found.runs[1].listed == (A,)
    unreadable = [SkipReason.LAYOUT, SkipReason.ARCHIVE_ERROR, SkipReason.TRUNCATED]
    assert [found.count(r) for r in [*unreadable, SkipReason.FETCH_FAILED]] == [1, 1, 1, 1]


def test_a_document_no_longer_listed_is_not_replayed() -> None:
    found = plan(
        [
            cap(P, "2019-03-01 10:00:00"),
            cap(B, "2019-03-01 10:01:00"),
            cap(P, "2020-02-03 10:00:00"),
            cap(B, "2020-02-03 10:02:00"),  # still online, but no longer listed
        ],
        {"2019-03-01 10:00:00": (A, B), "2020-02-03 10:00:00": (A,)},
    )

    assert runs(found) == [("10:00:00", ["P*", "B*"]), ("10:00:00", ["P"])]
    assert found.runs[1].listed == (A,)
    assert found.count(SkipReason.NOT_LISTED) == 1


def test_only_history_before_the_first_live_run_is_planned() -> None:
    live = datetime(2022, 1, 10, 7, tzinfo=UTC)
    found = plan(
        [
            cap(P, "2022-01-10 06:59:59"),
            cap(A, "2022-01-10 07:00:00"),  # inside the window, but not before the live run
            cap(P, "2022-03-01 00:00:00"),
        ],
        {"2022-01-10 06:59:59": (A,)},
        first_live_run=live,
    )

    assert runs(found) == [("06:59:59", ["P*"])]
    assert found.count(SkipReason.AFTER_LIVE_RUN) == 2


def test_repeats_and_non_content_are_counted_from_the_capture_lists() -> None:
    revisit = Capture(P, "20190301110000", P, status="-", mimetype="warc/revisit", digest="X")
    found = plan(
        [
            cap(P, "2019-03-01 10:00:00", digest="X"),
            revisit,
            cap(P, "2019-03-02 10:00:00", digest="X"),
        ],
        {"2019-03-01 10:00:00": ()},
    )

    assert runs(found) == [("10:00:00", ["P*"])]
    assert (found.count(SkipReason.NOT_CONTENT), found.count(SkipReason.DUPLICATE)) == (1, 1)
    assert found.listed == 3


SCRIPTED = [
    cap(P, "2019-03-01 10:00:00"),
    cap(A, "2019-03-01 10:01:00"),
    cap(A, "2019-09-01 09:00:00"),
    cap(C, "2019-09-01 09:01:00"),
    cap(P, "2020-02-03 10:00:00"),
    cap(D, "2020-02-03 10:01:00"),
]
SCRIPTED_LISTS: dict[str, tuple[str, ...] | SkipReason] = {
    "2019-03-01 10:00:00": (A, C),
    "2020-02-03 10:00:00": (A, C, D),
}


def test_a_second_backfill_plans_nothing() -> None:
    first = plan(SCRIPTED, SCRIPTED_LISTS)
    done = frozenset(p.capture.key for run in first.runs for p in run.captures)

    second = plan(SCRIPTED, SCRIPTED_LISTS, replayed=done)

    assert first.captures == 6
    assert (second.runs, second.captures, second.already_replayed) == ((), 0, 6)


def test_a_backfill_resumed_after_its_first_run_plans_the_rest_unchanged() -> None:
    first = plan(SCRIPTED, SCRIPTED_LISTS)
    done = frozenset(p.capture.key for p in first.runs[0].captures)

    resumed = plan(SCRIPTED, SCRIPTED_LISTS, replayed=done)

    # The replayed publication capture still gives the list in force; baselines are unchanged.
    assert resumed.runs == first.runs[1:]
    assert resumed.already_replayed == 2


def test_a_resumed_run_left_half_done_keeps_its_other_captures() -> None:
    first = plan(SCRIPTED, SCRIPTED_LISTS)
    done = frozenset({first.runs[1].captures[0].capture.key})  # A of September, not C

    resumed = plan(SCRIPTED, SCRIPTED_LISTS, replayed=done)

    assert runs(resumed) == [
        ("10:00:00", ["P*", "A*"]),
        ("09:01:00", ["C*"]),
        ("10:00:00", ["P", "D"]),
    ]


def test_each_publication_capture_is_read_once_in_time_order() -> None:
    asked: list[str] = []

    def listing_of(capture: Capture) -> Listing:
        asked.append(capture.timestamp)
        return Listing((A,))

    captures = [cap(P, "2019-05-01 10:00:00"), cap(P, "2019-03-01 10:00:00")]
    plan_backfill(select_content(P, captures), {}, listing_of, first_live_run=None)

    assert asked == ["20190301100000", "20190501100000"]


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (LayoutChangedError(P, "no Documents list"), SkipReason.LAYOUT),
        (ArchiveError(P, 'the archive served its "not archived" page'), SkipReason.ARCHIVE_ERROR),
        (HostNotAllowedError(P, "redirect to host www.gov.uk"), SkipReason.ARCHIVE_ERROR),
        (IncompleteBodyError(P, "body incomplete"), SkipReason.TRUNCATED),
        (BodyTooLargeError(P, "body exceeds max_bytes"), SkipReason.FETCH_FAILED),
        (FetchError(P, "HTTP 503 after 4 attempts"), SkipReason.FETCH_FAILED),
    ],
)
def test_fetch_and_parse_errors_map_to_skip_reasons(error: Exception, reason: SkipReason) -> None:
    assert skip_reason(error) is reason
    assert Listing.failed(error) == Listing(skipped=reason)


def test_only_a_failed_fetch_and_an_anomaly_are_tried_again() -> None:
    assert [r for r in SkipReason if not r.final] == [SkipReason.FETCH_FAILED, SkipReason.ANOMALY]


def test_a_bug_is_not_a_capture_to_skip() -> None:
    with pytest.raises(TypeError, match="not a capture error"):
        skip_reason(KeyError("oops"))


def test_the_plan_as_json_names_every_skip_reason() -> None:
    data = plan(SCRIPTED, SCRIPTED_LISTS).to_dict()

    assert data["skipped"] == {reason.value: 0 for reason in SkipReason}
    assert (data["from"], data["to"]) == ("2019-03-01T10:00:00Z", "2020-02-03T10:01:00Z")
    assert data["captures_planned"] == 6
    json.dumps(data)  # JSON-ready


# --- the fake archive's history, through the real client -------------------------------------


@pytest.fixture(params=["wayback", "pywb"])
def shape(request: pytest.FixtureRequest) -> Shape:
    found: Shape = request.param
    return found


def plan_fake_archive(
    shape: Shape, eras: Sequence[Era] | None = None
) -> tuple[BackfillPlan, list[str]]:
    """Plan the scripted history as `backfill` will: list, read each publication capture."""
    scripted = history(eras=eras)
    with serve_archive(shape=shape) as archive:
        scripted.install(archive)
        settings = archive.settings()
        source = FetchSettings(retries=2, backoff_s=0.01)
        client = ArchiveClient(
            Fetcher(requests.Session(), settings.fetch_settings(source)), settings
        )

        def listing_of(capture: Capture) -> Listing:
            try:
                body = client.fetch_capture(capture).body
                return Listing.of(parse_publication(body, capture.url))
            except (FetchError, LayoutChangedError) as error:
                return Listing.failed(error)

        found = plan_backfill(
            client.list_captures(P),
            {url: client.list_captures(url) for url in DOCUMENT_URLS.values()},
            listing_of,
            first_live_run=scripted.first_live_run,
        )
        return found, [r.path for r in archive.requests]


def readable(data: Any) -> Any:
    """The plan's JSON with page letters for URLs, so a reviewer reads it against the table."""
    if isinstance(data, dict):
        return {key: readable(value) for key, value in data.items()}
    if isinstance(data, list):
        return [readable(value) for value in data]
    return LETTERS.get(data, data) if isinstance(data, str) else data


def test_the_fake_archive_history_plans_exactly_the_expected_runs(shape: Shape) -> None:
    found, requested = plan_fake_archive(shape)

    assert_golden("backfill/plan.json", to_golden_json(readable(found.to_dict())))
    throttled = f"id_/{P}"
    assert sum(1 for path in requested if path.endswith("20200203100000" + throttled)) == 2


def test_planning_fetches_only_publication_captures_before_the_live_run(shape: Shape) -> None:
    _, requested = plan_fake_archive(shape)

    replayed = sorted({p.split("id_/")[0][-14:] for p in requested if "id_/" in p})
    assert replayed == [
        "20190301100000",
        "20200203100000",
        "20200501000000",
        "20200701000000",
        "20200801000000",
        "20211202080000",
    ]
    assert all(p.endswith(f"id_/{P}") for p in requested if "id_/" in p)


def test_the_history_in_another_markup_era_plans_the_same_runs() -> None:
    current, _ = plan_fake_archive("wayback", eras=["current"] * 5)

    assert_golden("backfill/plan.json", to_golden_json(readable(current.to_dict())))
