"""What changed between two states: the ChangeSet and its JSON contract (DESIGN §8).

Pure values. `diff()` in `changes/diff.py` builds them; reports render them; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeAlias

from changes.inventory import TrackedDocument, TrackedPublication
from scraper.page import Organisation, Page, PageKind, UpdateEntry

DocumentStatus: TypeAlias = Literal["added", "removed", "changed"]
# Keys of an organisation's `changes`, in the order they are listed.
ORGANISATION_FIELDS: tuple[str, ...] = ("name", "url", "stage", "description", "links")


@dataclass(frozen=True, slots=True)
class State:
    """The tracked pages as of one run: for each page URL, its newest stored version.

    `checked_publications` holds the publications this run fetched and read (parsed, unchanged or
    not modified): only for those is "no new change note" known. None means every publication of
    the state counts as checked (a state that is not a stored run's).
    """

    run: int | None
    at: datetime | None
    pages: Mapping[str, Page] = field(default_factory=dict)
    checked_publications: frozenset[str] | None = None
    archive: bool = False  # an archive run's state: `at` is the time of the copies it replays


@dataclass(frozen=True, slots=True)
class StateRef:
    """Which state a side of the diff is: a run id and when that run started (UTC).

    For an archive run (`archive`, replayed from a web archive by `backfill`), `at` is the time
    of the copies: a change up to it is known only to lie between the FROM state's time and it.
    """

    run: int | None
    at: datetime | None
    archive: bool = False


@dataclass(frozen=True, slots=True)
class OrganisationChange:
    """One organisation present on both sides whose fields differ.

    `changes` maps a field of ORGANISATION_FIELDS to its (old, new) values; `stage` values are
    normalised stage labels. `name` is the new name; `old_name` the old one when it was renamed.
    """

    name: str
    stage: str
    changes: Mapping[str, tuple[Any, Any]]
    old_name: str | None = None


@dataclass(frozen=True, slots=True)
class OrganisationChanges:
    """Organisations added, removed and changed within one document."""

    added: tuple[Organisation, ...] = ()
    removed: tuple[Organisation, ...] = ()
    changed: tuple[OrganisationChange, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


@dataclass(frozen=True, slots=True)
class UpdateChanges:
    """Change-history entries (change notes) added to or removed from a publication."""

    added: tuple[UpdateEntry, ...] = ()
    removed: tuple[UpdateEntry, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)


@dataclass(frozen=True, slots=True)
class DocumentChange:
    """One page (publication, HTML document or attachment) that changed."""

    url: str
    title: str
    kind: PageKind
    status: DocumentStatus
    metadata: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)
    organisations: OrganisationChanges | None = None  # html documents only
    updates: UpdateChanges | None = None  # publications only
    # True: changed without a change note; None: unknown, its publication could not be checked.
    silent_change: bool | None = False
    text_diff: str | None = None
    counted: bool = False  # counts toward summary.documents_changed (DESIGN §8)


@dataclass(frozen=True, slots=True)
class Summary:
    """Counts over a ChangeSet, as in the JSON contract."""

    documents_changed: int = 0
    organisations_added: int = 0
    organisations_removed: int = 0
    organisations_changed: int = 0
    updates_added: int = 0
    silent_changes: int = 0

    @property
    def is_empty(self) -> bool:
        """Return True when every count is zero."""
        return not any(
            (
                self.documents_changed,
                self.organisations_added,
                self.organisations_removed,
                self.organisations_changed,
                self.updates_added,
                self.silent_changes,
            )
        )


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """Everything that changed from one state to another.

    A baseline (`from_ref is None`: nothing stored before) lists no documents and a zero summary;
    its `tracked` lists what the TO state tracks. `publications` are the publications of both
    states (their newest titles), so a report names each by its own title. Neither `tracked` nor
    `publications` is part of the JSON contract. `first_seen` lists the documents the TO state
    holds for the first time although the FROM state already listed them
    (`changes.inventory.first_copies`): not added, not counted, not a change.
    """

    from_ref: StateRef | None
    to_ref: StateRef
    documents: tuple[DocumentChange, ...] = ()
    summary: Summary = field(default_factory=Summary)
    publications: tuple[TrackedPublication, ...] = ()
    tracked: tuple[TrackedDocument, ...] = ()
    first_seen: tuple[TrackedDocument, ...] = ()

    @property
    def is_baseline(self) -> bool:
        """Return True when there was no earlier state to compare with."""
        return self.from_ref is None

    @property
    def has_changes(self) -> bool:
        """Return True when any page changed (metadata-only changes included)."""
        return bool(self.documents)


def json_time(moment: datetime | None) -> str | None:
    """Return a time as the JSON contract writes it: UTC, `Z`, whole seconds."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ref_to_dict(ref: StateRef | None) -> dict[str, Any] | None:
    if ref is None:
        return None
    found: dict[str, Any] = {"run": ref.run, "at": json_time(ref.at)}
    if ref.archive:  # only then: earlier documents keep their exact shape
        found["archive"] = True
    return found


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    return value


def _pair(pair: tuple[Any, Any]) -> list[Any]:
    return [_json_value(pair[0]), _json_value(pair[1])]


def organisation_to_dict(organisation: Organisation) -> dict[str, Any]:
    """Return an added/removed organisation as in the JSON contract."""
    return {
        "name": organisation.name,
        "url": organisation.url,
        "stage": organisation.stage,
        "description": organisation.description,
    }


def document_change_to_dict(change: DocumentChange) -> dict[str, Any]:
    """Return one document entry as in the JSON contract (DESIGN §8)."""
    entry: dict[str, Any] = {
        "url": change.url,
        "title": change.title,
        "kind": change.kind,
        "status": change.status,
        "metadata": {key: _pair(value) for key, value in change.metadata.items()},
    }
    if change.kind == "publication":
        updates = change.updates or UpdateChanges()
        entry["updates"] = {
            "added": [{"date": u.date, "note": u.note} for u in updates.added],
            "removed": [{"date": u.date, "note": u.note} for u in updates.removed],
        }
    if change.kind == "html_document":
        organisations = change.organisations or OrganisationChanges()
        changed: list[dict[str, Any]] = []
        for item in organisations.changed:
            changed.append(
                {
                    "name": item.name,
                    "changes": {key: _pair(value) for key, value in item.changes.items()},
                }
            )
        entry["organisations"] = {
            "added": [organisation_to_dict(o) for o in organisations.added],
            "removed": [organisation_to_dict(o) for o in organisations.removed],
            "changed": changed,
        }
        entry["silent_change"] = change.silent_change
        entry["text_diff"] = change.text_diff
    return entry


def summary_to_dict(summary: Summary) -> dict[str, int]:
    """Return the summary counts as in the JSON contract."""
    return {
        "documents_changed": summary.documents_changed,
        "organisations_added": summary.organisations_added,
        "organisations_removed": summary.organisations_removed,
        "organisations_changed": summary.organisations_changed,
        "updates_added": summary.updates_added,
        "silent_changes": summary.silent_changes,
    }


def changeset_to_dict(changeset: ChangeSet) -> dict[str, Any]:
    """Return the ChangeSet in the JSON contract of DESIGN §8."""
    document: dict[str, Any] = {
        "from": _ref_to_dict(changeset.from_ref),
        "to": _ref_to_dict(changeset.to_ref),
        "documents": [document_change_to_dict(d) for d in changeset.documents],
        "summary": summary_to_dict(changeset.summary),
    }
    if changeset.first_seen:  # only then, as `archive` above
        document["first_seen"] = [
            {"url": d.url, "title": d.title, "organisations": d.organisation_count}
            for d in changeset.first_seen
        ]
    return document
