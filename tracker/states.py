"""Resolve refs to stored states and diff them: the read-only side the query commands share.

Re-baselines: every version records the parser version that produced its content, and `db
reparse` (or the next run) brings every version with a raw body up to the current parser. A
version whose raw body was pruned, or that the current parser rejects, keeps an older parser's
content. A page whose versions on the two sides of a diff come from different parsers is
compared as unchanged (its newer version is the new baseline): the difference may be the
parser's, not GOV.UK's, and a change tracker must not report what it cannot vouch for.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Final

from sqlalchemy.orm import Session

from changes import diff, filter_documents
from changes.changeset import ChangeSet, State, summary_to_dict
from changes.inventory import outline
from scraper.page import HtmlDocument, Page, Publication, UpdateEntry
from storage import order, queries
from storage.errors import RefError
from storage.statuses import PROBLEM_OUTCOMES, Trigger
from storage.tables import Run
from tracker.errors import UsageError

# A baseline decodes every page this many at a time and keeps only their outlines: the
# descriptions and bodies of a thousand pages need not be held at once (peak memory).
_OUTLINE_BATCH: Final = 100


@dataclass(frozen=True, slots=True)
class ResolvedState:
    """A ref resolved to its run and the state as of that run."""

    run: Run
    state: State
    parser_versions: Mapping[str, int] = field(default_factory=dict)  # by page URL


def state_of(run: Run, pages: Mapping[str, Page]) -> State:
    """Return `pages` as the state of `run` (its id, time, and whether it is an archive run)."""
    return State(run.id, run.started_at, pages, archive=run.trigger == Trigger.ARCHIVE)


def load_state(session: Session, ref: str) -> ResolvedState:
    """Return the state a ref names (raises storage.errors.RefError for a bad ref)."""
    return _resolved(session, queries.resolve_ref(session, ref), {})


def checked_publications(session: Session, run: Run, pages: Mapping[str, Page]) -> frozenset[str]:
    """Return the publications of `pages` that `run` fetched and read (no error, anomaly or gone).

    Only for these does the run know whether a change note came with a change (DESIGN §8).
    """
    return frozenset(
        url
        for observation, url in queries.observations_for_run(session, run.id)
        if observation.outcome not in PROBLEM_OUTCOMES and isinstance(pages.get(url), Publication)
    )


def newest_notes(session: Session) -> dict[str, tuple[UpdateEntry, ...]]:
    """Return each publication's change notes as its newest stored version lists them.

    `diff` reads them to clear the silent-change flag of a change whose note GOV.UK published a
    run late, in every view of that change, however long after.
    """
    latest = queries.finished_runs(session, limit=1)
    if not latest:
        return {}
    versions = queries.state_versions(session, latest[0])
    wanted = [v.version_id for v in versions.values() if v.is_publication]
    return {
        page.url: page.updates
        for page in queries.version_pages(session, wanted).values()
        if isinstance(page, Publication)
    }


def with_checked_publications(session: Session, run: Run, state: State) -> State:
    """Return `state` knowing which of its publications `run` read (`checked_publications`)."""
    return replace(state, checked_publications=checked_publications(session, run, state.pages))


def resolved_state(session: Session, run: Run, decoded: dict[int, Page]) -> ResolvedState:
    """Return the state as of `run` with its pages' parser versions; `decoded` holds the
    versions already decoded (shared across the states one command reads, so each is decoded
    once)."""
    return _resolved(session, run, decoded)


def _resolved(session: Session, run: Run, decoded: dict[int, Page]) -> ResolvedState:
    stored = queries.state_at(session, run, decoded=decoded)
    return ResolvedState(
        run,
        state_of(run, stored.pages),
        stored.parser_versions,
    )


def rebaselined(old: ResolvedState, new: ResolvedState) -> State:
    """`old.state`, with each page parsed by another parser than on the new side replaced by
    its new content (compared as unchanged: see the module docstring)."""
    return rebaseline(old.state, old.parser_versions, new.state, new.parser_versions)


def rebaseline(
    old: State,
    old_versions: Mapping[str, int],
    new: State,
    new_versions: Mapping[str, int],
) -> State:
    """`old`, with each page whose parser version differs from `new`'s replaced by its content
    in `new` (`rebaselined`, for callers holding states and parser versions apart)."""
    differing = {
        url
        for url, version in new_versions.items()
        if url in old.pages and url in new.pages and old_versions.get(url, version) != version
    }
    if not differing:
        return old
    pages = {url: new.pages[url] if url in differing else page for url, page in old.pages.items()}
    return replace(old, pages=pages)


def diff_refs(
    session: Session,
    from_ref: str,
    to_ref: str,
    *,
    document: str | None = None,
    with_text_diff: bool = False,
) -> ChangeSet:
    """Return what changed between two refs, optionally for matching documents only."""
    decoded: dict[int, Page] = {}
    new_run = queries.resolve_ref(session, to_ref)
    new = _resolved(session, new_run, decoded)
    try:
        found: ResolvedState | None = _resolved(
            session, queries.resolve_ref(session, from_ref), decoded
        )
    except RefError:
        if from_ref.startswith("latest~") and len(queries.finished_runs(session, limit=2)) < 2:
            found = None  # only one run stored: the default range is a baseline
        else:
            raise
    old = rebaselined(found, new) if found is not None else None
    if document and not _any_page_matches(document, new.state, old):
        raise UsageError(
            f"--document {document!r} matches no document at {from_ref} or {to_ref} "
            "(it is matched against titles and URLs; `lifesci-tracker orgs` lists them)"
        )
    changeset = _diff(session, old, new_run, new.state, with_text_diff=with_text_diff)
    return filter_documents(changeset, document) if document else changeset


def _any_page_matches(text: str, *states: State | None) -> bool:
    """Whether a page title or URL of the states contains `text`, as `filter_documents` matches."""
    needle = text.casefold()
    return any(
        needle in url.casefold() or needle in page.title.casefold()
        for state in states
        if state is not None
        for url, page in state.pages.items()
    )


def _diff(
    session: Session, old: State | None, new_run: Run, new: State, *, with_text_diff: bool = False
) -> ChangeSet:
    """`diff` with the silent-change flags made honest (DESIGN §8): which publications the new
    run read (`checked_publications`) and the newest change notes (`newest_notes`)."""
    return diff(
        old,
        with_checked_publications(session, new_run, new),
        with_text_diff=with_text_diff,
        newest_notes=newest_notes(session),
    )


def diff_runs(
    session: Session, old_run: Run | None, new_run: Run, *, with_text_diff: bool = False
) -> tuple[ChangeSet, State]:
    """Return what changed from `old_run`'s state (None: a baseline) to `new_run`'s, and the
    new state."""
    decoded: dict[int, Page] = {}
    new = _resolved(session, new_run, decoded)
    old = None if old_run is None else rebaselined(_resolved(session, old_run, decoded), new)
    return _diff(session, old, new_run, new.state, with_text_diff=with_text_diff), new.state


def changes_for_run(session: Session, run: Run) -> tuple[ChangeSet, State]:
    """Return what `run` found (its state against the previous finished run's) and its state."""
    return diff_runs(session, queries.previous_finished_run(session, run), run)


@dataclass(frozen=True, slots=True)
class RunChanges:
    """What a run found, and the size of its state: `changes_for_run` without the state."""

    changeset: ChangeSet
    organisations: int  # organisations on the state's live HTML documents
    updates: int  # change notes on its publications
    page_count: int  # live pages


def run_changes(session: Session, run: Run, fresh: Mapping[str, Page] | None = None) -> RunChanges:
    """`changes_for_run(session, run)`'s changeset and counts, decoding only what differs.

    `fresh` (the run's own pipeline) holds, by URL, the outline (`changes.inventory.outline`) of
    what `run` itself stored for a page: a baseline takes those instead of decoding the versions
    it just wrote.

    A document whose version is the same in both states and live in both is left out of both
    states given to `diff`: a page diffed against itself reports nothing (identical organisations
    pair with themselves first, `changes.match`). So only publications (they decide which pages are
    live), pages whose version differs, and pages live on one side only are decoded; the
    organisations of the rest are counted in SQL. Equal to `changes_for_run`
    (tests/test_run_changes.py), without holding every page decoded.
    """
    previous = queries.previous_finished_run(session, run)
    new = queries.state_versions(session, run)
    old = queries.state_versions(session, previous) if previous is not None else {}
    known: dict[int, Page] = {}
    if previous is None and fresh:
        known = {new[url].version_id: page for url, page in fresh.items() if url in new}
    wanted = {v.version_id for v in (*new.values(), *old.values()) if v.is_publication}
    wanted -= known.keys()
    if previous is not None:
        wanted |= {v.version_id for url, v in new.items() if _differs(old.get(url), v)}
        wanted |= {v.version_id for url, v in old.items() if _differs(new.get(url), v)}
    decoded = queries.version_pages(session, wanted) | known
    new_live, old_live = _live(new, decoded), _live(old, decoded)
    counts = queries.organisation_counts(session, run)
    organisations = sum(counts.get(new[url].version_id, 0) for url in new_live)
    updates = sum(
        len(page.updates)
        for page in (decoded[v.version_id] for v in new.values() if v.is_publication)
        if isinstance(page, Publication)
    )
    if previous is None:  # a baseline lists every live page: decode them all, keep outlines
        remaining = sorted({new[url].version_id for url in new_live} - decoded.keys())
        for start in range(0, len(remaining), _OUTLINE_BATCH):
            batch = queries.version_pages(session, remaining[start : start + _OUTLINE_BATCH])
            decoded.update((version_id, outline(page)) for version_id, page in batch.items())
        changeset = diff(None, state_of(run, _pages(new, new_live, decoded)))
        return RunChanges(changeset, organisations, updates, len(new_live))
    # Publications always stay: the diff reads every Documents list (owners, reading order).
    # A document re-baselined by a parser change (see `rebaselined`) compares as unchanged.
    both = {
        url
        for url in new_live & old_live
        if not (new[url].is_publication or old[url].is_publication)
        and (not _differs(old[url], new[url]) or _other_parser(old[url], new[url]))
    }
    needed = {
        state[url].version_id
        for state, live in ((new, new_live), (old, old_live))
        for url in live - both
        if state[url].version_id not in decoded
    }
    decoded.update(queries.version_pages(session, needed))
    old_pages = _pages(old, old_live - both, decoded)
    for url in old_pages.keys() & new.keys():
        if _other_parser(old[url], new[url]):  # a publication re-baselined
            old_pages[url] = decoded[new[url].version_id]
    new_state = state_of(run, _pages(new, new_live - both, decoded))
    changeset = diff(
        state_of(previous, old_pages),
        with_checked_publications(session, run, new_state),
        newest_notes=newest_notes(session),
    )
    return RunChanges(changeset, organisations, updates, len(new_live))


def refresh_explained_runs(session: Session, run: Run, changeset: ChangeSet) -> list[int]:
    """Rewrite the stored summaries of earlier runs that `run`'s new change notes explain.

    A note that GOV.UK published a run late clears the silent-change flag of the change it
    explains (`newest_notes`); `history` reads stored summaries, so those of the runs such a note
    can explain (from the note's day on) are computed again. Returns the ids of runs rewritten.
    """
    dates = [
        note.date
        for entry in changeset.documents
        if entry.kind == "publication" and entry.updates is not None
        for note in entry.updates.added
    ]
    if not dates:
        return []
    refreshed: list[int] = []
    for earlier in queries.finished_runs(session):  # newest first
        # A UK day is at most an hour ahead of UTC: no earlier run can end after the note's day.
        if (earlier.started_at + timedelta(hours=1)).date().isoformat() < min(dates):
            break
        stored = json.loads(earlier.summary_json) if earlier.summary_json else None
        later = order.position(earlier) >= order.position(run)
        if later or not stored or not stored.get("silent_changes"):
            continue
        summary = summary_to_dict(run_changes(session, earlier).changeset.summary)
        if summary != stored:
            earlier.summary_json = json.dumps(summary)
            refreshed.append(earlier.id)
    return refreshed


def record_summary(run: Run, found: RunChanges) -> None:
    """Store what a run found on its row (`history` reads it; derived, rebuilt by `db reparse`)."""
    run.summary_json = json.dumps(summary_to_dict(found.changeset.summary))
    run.organisations_stored, run.updates_stored = found.organisations, found.updates
    run.has_changes = found.changeset.has_changes


def _differs(other: queries.StateVersion | None, version: queries.StateVersion) -> bool:
    return other is None or other.version_id != version.version_id


def _other_parser(old: queries.StateVersion, new: queries.StateVersion) -> bool:
    return old.parser_version != new.parser_version


def _live(state: dict[str, queries.StateVersion], decoded: dict[int, Page]) -> set[str]:
    """The URLs `queries.live_pages` keeps: publications and the documents they list."""
    publications = [decoded[v.version_id] for v in state.values() if v.is_publication]
    listed = {
        link.url
        for publication in publications
        if isinstance(publication, Publication)
        for link in publication.documents
    }
    return {url for url, v in state.items() if v.is_publication or url in listed}


def _pages(
    state: dict[str, queries.StateVersion], urls: set[str], decoded: dict[int, Page]
) -> dict[str, Page]:
    return {url: decoded[state[url].version_id] for url in sorted(urls)}


def count_stored(pages: Mapping[str, Page]) -> tuple[int, int]:
    """Return how many organisations and update entries the pages of a state hold."""
    organisations = sum(len(p.organisations) for p in pages.values() if isinstance(p, HtmlDocument))
    updates = sum(len(p.updates) for p in pages.values() if isinstance(p, Publication))
    return organisations, updates
