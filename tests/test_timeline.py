"""Organisation timelines (changes/timeline.py): identity across renames, moves and documents."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from changes import diff
from changes.changeset import State
from changes.follow import build_timeline
from changes.timeline import (
    EventKind,
    OrganisationHistory,
    TimedState,
    Timeline,
    find_organisations,
)
from scraper.page import HtmlDocument, Organisation
from tests.pages import make_document, make_organisation, make_site

START = datetime(2024, 1, 1, 7, 0, tzinfo=UTC)
AMRC = make_organisation("Association of Medical Research Charities (AMRC)")
CPRD = make_organisation("Clinical Practice Research Datalink (CPRD)")
HRA = make_organisation("Health Research Authority (HRA)", stage="Regulation and assessment")
MHRA = make_organisation("Medicines and Healthcare products Regulatory Agency (MHRA)")


def trial_doc(*organisations: Organisation) -> HtmlDocument:
    return make_document("Experimental medicine and clinical trials", organisations)


def digital_doc(*organisations: Organisation) -> HtmlDocument:
    return make_document("Digital health and care", organisations)


def timeline_of(*sites: list[HtmlDocument]) -> tuple[Timeline, list[State]]:
    states = [
        replace(make_site(run, documents), at=START + timedelta(days=run))
        for run, documents in enumerate(sites, 1)
    ]
    return build_timeline([TimedState(state) for state in states]), states


def history(timeline: Timeline, name: str) -> OrganisationHistory:
    found = find_organisations(timeline, name)
    assert len(found) == 1, [h.names for h in found]
    return found[0]


def kinds(history: OrganisationHistory) -> list[tuple[int, EventKind]]:
    return [(event.step, event.kind) for event in history.events]


def test_first_state_lists_everyone_once_and_nothing_else() -> None:
    timeline, _ = timeline_of([trial_doc(AMRC, CPRD)])
    assert [h.name for h in timeline.organisations] == [AMRC.name, CPRD.name]
    assert kinds(history(timeline, AMRC.name)) == [(0, EventKind.LISTED)]


def test_a_rename_keeps_the_identity_and_its_first_seen_key() -> None:
    renamed = replace(AMRC, name="Association of Medical Research Charities")
    timeline, _ = timeline_of([trial_doc(AMRC, CPRD)], [trial_doc(renamed, CPRD)])
    amrc = history(timeline, "Association of Medical Research Charities (AMRC)")
    assert history(timeline, "Association of Medical Research Charities") is amrc
    assert amrc.first_name == AMRC.name
    assert amrc.name == renamed.name
    assert amrc.names == (AMRC.name, renamed.name)
    rename = amrc.events[-1]
    assert (rename.kind, rename.before, rename.after) == (
        EventKind.RENAMED,
        AMRC.name,
        renamed.name,
    )
    assert len(timeline.organisations) == 2
    # The key depends on the first-seen listing only, so the same history gives the same key.
    again, _ = timeline_of([trial_doc(AMRC, CPRD)])
    assert history(again, AMRC.name).key == amrc.key


def test_every_kind_of_change_is_an_event_of_the_organisation_the_diff_matched() -> None:
    moved = replace(HRA, stage="Development and translation")
    relinked = replace(CPRD, url="https://www.cprd.com/", links=("https://www.cprd.com/",))
    redescribed = replace(AMRC, description="AMRC now also supports device research.")
    timeline, states = timeline_of(
        [trial_doc(AMRC, CPRD, HRA)], [trial_doc(redescribed, relinked, moved)]
    )
    assert [e.kind for e in history(timeline, HRA.name).events[1:]] == [EventKind.MOVED]
    assert history(timeline, HRA.name).events[1].before == "Regulation and assessment"
    assert [e.kind for e in history(timeline, CPRD.name).events[1:]] == [
        EventKind.RELINKED,
        EventKind.LINKS_CHANGED,
    ]
    described = history(timeline, AMRC.name).events[1]
    assert (described.kind, described.after) == (EventKind.REDESCRIBED, redescribed.description)
    # The same transition, diffed: one changed organisation per timeline entry, no more.
    changes = diff(states[0], states[1]).documents[-1].organisations
    assert changes is not None
    assert len(changes.changed) == 3


def test_added_and_removed_are_dated_by_their_state() -> None:
    timeline, states = timeline_of([trial_doc(AMRC)], [trial_doc(AMRC, CPRD)], [trial_doc(AMRC)])
    cprd = history(timeline, CPRD.name)
    assert kinds(cprd) == [(1, EventKind.ADDED), (2, EventKind.REMOVED)]
    assert cprd.events[0].ref.at == states[1].at
    assert cprd.events[1].ref.run == states[2].run
    assert not cprd.is_listed
    assert [listing.organisation.name for listing in cprd.last_listings] == [CPRD.name]


def test_a_move_to_another_document_is_one_move_not_a_removal_and_an_addition() -> None:
    moved = replace(MHRA, stage="Regulation and assessment")
    timeline, _ = timeline_of(
        [trial_doc(AMRC, MHRA), digital_doc(CPRD)], [trial_doc(AMRC), digital_doc(CPRD, moved)]
    )
    mhra = history(timeline, MHRA.name)
    move = mhra.events[-1]
    assert kinds(mhra) == [(0, EventKind.LISTED), (1, EventKind.MOVED)]
    assert move.from_document_title == "Experimental medicine and clinical trials"
    assert move.document_title == "Digital health and care"
    assert (move.before, move.after) == ("Discovery and deep research", "Regulation and assessment")
    assert [listing.document_title for listing in mhra.listings] == ["Digital health and care"]


def test_the_same_name_and_url_in_two_documents_is_one_organisation() -> None:
    timeline, _ = timeline_of([trial_doc(MHRA, AMRC), digital_doc(MHRA)], [trial_doc(AMRC)])
    mhra = history(timeline, MHRA.name)
    assert len(mhra.listings) == 0
    assert [e.kind for e in mhra.events] == [EventKind.LISTED] * 2 + [EventKind.REMOVED] * 2
    removals = mhra.events[2:]
    assert [(e.document_title, e.with_document) for e in removals] == [
        ("Experimental medicine and clinical trials", False),
        ("Digital health and care", True),
    ]


def test_an_organisation_that_comes_back_is_the_same_organisation() -> None:
    timeline, _ = timeline_of([trial_doc(AMRC, CPRD)], [trial_doc(AMRC)], [trial_doc(AMRC, CPRD)])
    assert len(timeline.organisations) == 2
    assert kinds(history(timeline, CPRD.name)) == [
        (0, EventKind.LISTED),
        (1, EventKind.REMOVED),
        (2, EventKind.ADDED),
    ]


def test_placements_name_the_organisation_of_every_listing_in_every_state() -> None:
    renamed = replace(CPRD, name="CPRD")
    timeline, _ = timeline_of([trial_doc(AMRC, CPRD)], [trial_doc(renamed, AMRC)])
    url = trial_doc().url
    amrc, cprd = history(timeline, AMRC.name).key, history(timeline, CPRD.name).key
    assert timeline.placements[0][url] == (amrc, cprd)
    assert timeline.placements[1][url] == (cprd, amrc)


def test_an_archive_state_carries_its_interval_onto_its_events() -> None:
    first = make_site(1, [trial_doc(AMRC)])
    second = make_site(2, [trial_doc(AMRC, CPRD)])
    timeline = build_timeline([TimedState(first), TimedState(second, seen_after=first.at)])
    assert history(timeline, CPRD.name).events[0].seen_after == first.at


def test_find_by_part_of_a_name_lists_every_match_and_by_url_finds_one() -> None:
    timeline, _ = timeline_of([trial_doc(AMRC, CPRD, HRA, MHRA)])
    assert {h.name for h in find_organisations(timeline, "research")} == {
        AMRC.name,
        CPRD.name,
        HRA.name,
    }
    assert find_organisations(timeline, "health research authority (HRA)")[0].name == HRA.name
    assert CPRD.url is not None
    assert find_organisations(timeline, CPRD.url.rstrip("/").upper())[0].name == CPRD.name
    assert find_organisations(timeline, "nobody at all") == ()


def test_the_first_copy_of_a_document_listed_before_lists_its_organisations() -> None:
    first = make_site(1, [trial_doc(AMRC), digital_doc(HRA)])
    without_copy = replace(
        first, pages={u: p for u, p in first.pages.items() if p.title != "Digital health and care"}
    )
    states = [without_copy, replace(make_site(2, [trial_doc(AMRC), digital_doc(HRA)]))]

    timeline = build_timeline([TimedState(state) for state in states])

    # HRA was listed (its document was), only not copied: never "added".
    assert kinds(history(timeline, HRA.name)) == [(1, EventKind.LISTED)]
