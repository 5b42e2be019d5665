"""Resolve refs to stored states and diff them: the read-only side the query commands share."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from changes import diff, filter_documents
from changes.changeset import ChangeSet, State
from storage import queries
from storage.errors import RefError
from storage.tables import Run


@dataclass(frozen=True, slots=True)
class ResolvedState:
    """A ref resolved to its run and the state as of that run."""

    run: Run
    state: State


def load_state(session: Session, ref: str) -> ResolvedState:
    """Return the state a ref names (raises storage.errors.RefError for a bad ref)."""
    run = queries.resolve_ref(session, ref)
    stored = queries.state_at(session, run)
    return ResolvedState(run, State(run=stored.run_id, at=stored.started_at, pages=stored.pages))


def diff_refs(
    session: Session,
    from_ref: str,
    to_ref: str,
    *,
    document: str | None = None,
    with_text_diff: bool = False,
) -> ChangeSet:
    """Return what changed between two refs, optionally for matching documents only."""
    new = load_state(session, to_ref)
    try:
        old: State | None = load_state(session, from_ref).state
    except RefError:
        if from_ref.startswith("latest~") and len(queries.finished_runs(session, limit=2)) < 2:
            old = None  # only one run stored: the default range is a baseline
        else:
            raise
    changeset = diff(old, new.state, with_text_diff=with_text_diff)
    return filter_documents(changeset, document) if document else changeset


def changes_for_run(session: Session, run: Run) -> tuple[ChangeSet, State]:
    """Return what `run` found (its state against the previous finished run's) and its state."""
    previous = queries.previous_finished_run(session, run.id)
    old = None
    if previous is not None:
        stored = queries.state_at(session, previous)
        old = State(run=stored.run_id, at=stored.started_at, pages=stored.pages)
    stored_new = queries.state_at(session, run)
    new = State(run=stored_new.run_id, at=stored_new.started_at, pages=stored_new.pages)
    return diff(old, new), new
