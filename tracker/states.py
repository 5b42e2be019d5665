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
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from changes import diff, filter_documents
from changes.changeset import ChangeSet, State, summary_to_dict
from scraper.page import HtmlDocument, Page, Publication
from storage import queries
from storage.errors import RefError
from storage.tables import Run


@dataclass(frozen=True, slots=True)
class ResolvedState:
    """A ref resolved to its run and the state as of that run."""

    run: Run
    state: State
    parser_versions: Mapping[str, int] = field(default_factory=dict)  # by page URL


def load_state(session: Session, ref: str) -> ResolvedState:
    """Return the state a ref names (raises storage.errors.RefError for a bad ref)."""
    return _resolved(session, queries.resolve_ref(session, ref), {})


def _resolved(session: Session, run: Run, decoded: dict[int, Page]) -> ResolvedState:
    stored = queries.state_at(session, run, decoded=decoded)
    return ResolvedState(
        run,
        State(run=stored.run_id, at=stored.started_at, pages=stored.pages),
        stored.parser_versions,
    )


def rebaselined(old: ResolvedState, new: ResolvedState) -> State:
    """`old.state`, with each page parsed by another parser than on the new side replaced by
    its new content (compared as unchanged: see the module docstring)."""
    differing = {
        url
        for url, version in new.parser_versions.items()
        if url in old.state.pages and old.parser_versions.get(url, version) != version
    }
    if not differing:
        return old.state
    pages = {
        url: new.state.pages[url] if url in differing else page
        for url, page in old.state.pages.items()
    }
    return State(run=old.state.run, at=old.state.at, pages=pages)


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
    new = _resolved(session, queries.resolve_ref(session, to_ref), decoded)
    old: State | None
    try:
        found = _resolved(session, queries.resolve_ref(session, from_ref), decoded)
    except RefError:
        if from_ref.startswith("latest~") and len(queries.finished_runs(session, limit=2)) < 2:
            old = None  # only one run stored: the default range is a baseline
        else:
            raise
    else:
        old = rebaselined(found, new)
    changeset = diff(old, new.state, with_text_diff=with_text_diff)
    return filter_documents(changeset, document) if document else changeset


def changes_for_run(session: Session, run: Run) -> tuple[ChangeSet, State]:
    """Return what `run` found (its state against the previous finished run's) and its state."""
    previous = queries.previous_finished_run(session, run.id)
    decoded: dict[int, Page] = {}
    new = _resolved(session, run, decoded)
    old = None if previous is None else rebaselined(_resolved(session, previous, decoded), new)
    return diff(old, new.state), new.state


@dataclass(frozen=True, slots=True)
class RunChanges:
    """What a run found, and the size of its state: `changes_for_run` without the state."""

    changeset: ChangeSet
    organisations: int  # organisations on the state's live HTML documents
    updates: int  # change notes on its publications
    page_count: int  # live pages


def run_changes(session: Session, run: Run) -> RunChanges:
    """`changes_for_run(session, run)`'s changeset and counts, decoding only what differs.

    A document whose version is the same in both states and live in both is left out of both
    states given to `diff`: a page diffed against itself reports nothing (identical organisations
    pair with themselves first, `changes.match`). So only publications (they decide which pages are
    live), pages whose version differs, and pages live on one side only are decoded; the
    organisations of the rest are counted in SQL. Equal to `changes_for_run`
    (tests/test_run_changes.py), without holding every page decoded.
    """
    previous = queries.previous_finished_run(session, run.id)
    new = queries.state_versions(session, run)
    old = queries.state_versions(session, previous) if previous is not None else {}
    wanted = {v.version_id for v in (*new.values(), *old.values()) if v.is_publication}
    if previous is not None:
        wanted |= {v.version_id for url, v in new.items() if _differs(old.get(url), v)}
        wanted |= {v.version_id for url, v in old.items() if _differs(new.get(url), v)}
    decoded = queries.version_pages(session, wanted)
    new_live, old_live = _live(new, decoded), _live(old, decoded)
    counts = queries.organisation_counts(session, run)
    organisations = sum(counts.get(new[url].version_id, 0) for url in new_live)
    updates = sum(
        len(page.updates)
        for page in (decoded[v.version_id] for v in new.values() if v.is_publication)
        if isinstance(page, Publication)
    )
    if previous is None:
        changeset = diff(None, State(run=run.id, at=run.started_at))
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
    changeset = diff(
        State(previous.id, previous.started_at, old_pages),
        State(run.id, run.started_at, _pages(new, new_live - both, decoded)),
    )
    return RunChanges(changeset, organisations, updates, len(new_live))


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
