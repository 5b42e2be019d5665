"""Stage 4: describe what changed between two stored states as a ChangeSet (DESIGN §8).

Pure: no I/O, no clock. Same inputs give an identical ChangeSet.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from changes.changeset import (
    ChangeSet,
    DocumentChange,
    DocumentStatus,
    OrganisationChanges,
    State,
    StateRef,
    Summary,
    UpdateChanges,
)
from changes.inventory import first_copies, publications_of, tracked_documents
from changes.match import compare_organisations
from changes.textdiff import text_changed, unified_text_diff
from scraper.page import Attachment, HtmlDocument, Page, Publication, UpdateEntry

# Publication fields compared as metadata, in the order they are listed.
PUBLICATION_FIELDS: Final = (
    "title",
    "description",
    "doc_type",
    "from_organisations",
    "published",
    "last_updated",
    "details_text",
    "documents",
)
# HTML document fields compared as metadata; "organisation_order" follows them when it applies.
DOCUMENT_FIELDS: Final = ("title", "updated", "intro_text", "doc_type")
ATTACHMENT_FIELDS: Final = ("title", "attributes")


def _metadata_value(page: Page, name: str) -> Any:
    value = getattr(page, name)
    if name == "documents":
        # Title and url are what a reader sees in the Documents list; sizes live on attachments.
        return tuple((link.title, link.url) for link in value)
    return value


def _metadata(old: Page, new: Page, names: Iterable[str]) -> dict[str, tuple[Any, Any]]:
    changes: dict[str, tuple[Any, Any]] = {}
    for name in names:
        before, after = _metadata_value(old, name), _metadata_value(new, name)
        if before != after:
            changes[name] = (before, after)
    return changes


def _update_changes(old: Sequence[UpdateEntry], new: Sequence[UpdateEntry]) -> UpdateChanges:
    """Compare change notes as (date, note) multisets, keeping each side's own order."""
    old_left = Counter((u.date, u.note) for u in old)
    new_left = Counter((u.date, u.note) for u in new)
    added = new_left - old_left
    removed = old_left - new_left
    added_entries: list[UpdateEntry] = []
    for entry in new:
        if added[(entry.date, entry.note)] > 0:
            added[(entry.date, entry.note)] -= 1
            added_entries.append(entry)
    removed_entries: list[UpdateEntry] = []
    for entry in old:
        if removed[(entry.date, entry.note)] > 0:
            removed[(entry.date, entry.note)] -= 1
            removed_entries.append(entry)
    return UpdateChanges(tuple(added_entries), tuple(removed_entries))


class _Differ:
    """Diff of one pair of states; holds the labels the optional text diff uses."""

    def __init__(self, old: State, new: State, *, with_text_diff: bool) -> None:
        self.old = old
        self.new = new
        self.with_text_diff = with_text_diff

    def text_diff(self, old_text: str, new_text: str) -> str | None:
        if not self.with_text_diff or old_text == new_text:
            return None
        return unified_text_diff(
            old_text,
            new_text,
            old_label="old" if self.old.run is None else f"run {self.old.run}",
            new_label="new" if self.new.run is None else f"run {self.new.run}",
        )

    def appeared(self, page: Page, *, added: bool) -> DocumentChange:
        """Return the entry of a page that was added (or removed, `added=False`)."""
        status: DocumentStatus = "added" if added else "removed"
        if isinstance(page, Publication):
            notes = (
                UpdateChanges(added=page.updates) if added else UpdateChanges(removed=page.updates)
            )
            return DocumentChange(page.url, page.title, page.kind, status, updates=notes)
        if isinstance(page, HtmlDocument):
            organisations = (
                OrganisationChanges(added=page.organisations)
                if added
                else OrganisationChanges(removed=page.organisations)
            )
            text = self.text_diff("", page.text) if added else self.text_diff(page.text, "")
            return DocumentChange(
                page.url,
                page.title,
                page.kind,
                status,
                organisations=organisations,
                text_diff=text,
                counted=True,
            )
        return DocumentChange(page.url, page.title, page.kind, status, counted=True)

    def changed(self, old: Page, new: Page) -> DocumentChange | None:
        """Return the entry of a page present on both sides, or None when nothing changed."""
        if isinstance(old, Publication) and isinstance(new, Publication):
            metadata = _metadata(old, new, PUBLICATION_FIELDS)
            notes = _update_changes(old.updates, new.updates)
            if not (metadata or notes):
                return None
            return DocumentChange(
                new.url, new.title, new.kind, "changed", metadata=metadata, updates=notes
            )
        if isinstance(old, HtmlDocument) and isinstance(new, HtmlDocument):
            return self.changed_document(old, new)
        if isinstance(old, Attachment) and isinstance(new, Attachment):
            metadata = _metadata(old, new, ATTACHMENT_FIELDS)
            if not metadata:
                return None
            return DocumentChange(new.url, new.title, new.kind, "changed", metadata=metadata)
        raise TypeError(f"pages of different kinds at {new.url}: {old.kind} and {new.kind}")

    def changed_document(self, old: HtmlDocument, new: HtmlDocument) -> DocumentChange | None:
        metadata = _metadata(old, new, DOCUMENT_FIELDS)
        organisations, reordered = compare_organisations(old.organisations, new.organisations)
        if reordered:
            metadata["organisation_order"] = (
                tuple(o.name for o in old.organisations),
                tuple(o.name for o in new.organisations),
            )
        counted = bool(
            organisations
            or "title" in metadata
            or "intro_text" in metadata
            or text_changed(old.text, new.text)
        )
        if not (metadata or organisations or counted):
            return None
        return DocumentChange(
            new.url,
            new.title,
            new.kind,
            "changed",
            metadata=metadata,
            organisations=organisations,
            text_diff=self.text_diff(old.text, new.text),
            counted=counted,
        )

    def entries(self, first_seen: Iterable[str] = ()) -> list[DocumentChange]:
        """Return every entry, pages in url order (the caller puts them in reading order).

        Pages in `first_seen` (`first_copies`) have none: they are not added.
        """
        found: list[DocumentChange] = []
        skipped = set(first_seen)
        for url in sorted((set(self.old.pages) | set(self.new.pages)) - skipped):
            before, after = self.old.pages.get(url), self.new.pages.get(url)
            if before is not None and after is not None and before.kind == after.kind:
                entry = self.changed(before, after)
                if entry is not None:
                    found.append(entry)
                continue
            if before is not None:
                found.append(self.appeared(before, added=False))
            if after is not None:
                found.append(self.appeared(after, added=True))
        return found


def _publications(pages: Mapping[str, Page]) -> list[Publication]:
    return [page for _, page in sorted(pages.items()) if isinstance(page, Publication)]


def _owners(url: str, old: State, new: State) -> set[str]:
    """Return the urls of the publications a document belongs to (DESIGN §8, silent change)."""
    for state in (new, old):
        listing = {
            p.url for p in _publications(state.pages) if any(d.url == url for d in p.documents)
        }
        if listing:
            return listing
    # Listed by no publication: it belongs to whichever publication the state has.
    return {p.url for state in (new, old) for p in _publications(state.pages)}


def _uk_days(at: datetime | None) -> tuple[str | None, str | None]:
    """Return the earliest and latest ISO day a UK clock may show at `at` (UTC, or UTC+1 in summer).

    GOV.UK dates change notes in UK time; without a time zone database, allow for both offsets.
    """
    if at is None:
        return None, None
    moment = (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).astimezone(UTC)
    return moment.date().isoformat(), (moment + timedelta(hours=1)).date().isoformat()


def _noted_late(
    old: State, new: State, newest_notes: Mapping[str, Sequence[UpdateEntry]]
) -> set[str]:
    """Return the publications whose newest stored notes explain a change in (old, new].

    GOV.UK's caches can serve a document before its publication shows the new change note. A note
    that is in the publication's newest stored version, was not in the FROM state, and is dated
    from the FROM run's day to the TO run's day is the note for a change in this range.
    """
    earliest, _ = _uk_days(old.at)
    _, latest = _uk_days(new.at)
    explained: set[str] = set()
    for url, notes in newest_notes.items():
        before = old.pages.get(url)
        known = (
            {(u.date, u.note) for u in before.updates} if isinstance(before, Publication) else set()
        )
        if any(
            (note.date, note.note) not in known
            and (earliest is None or note.date >= earliest)
            and (latest is None or note.date <= latest)
            for note in notes
        ):
            explained.add(url)
    return explained


def _flag_silent(
    entries: list[DocumentChange],
    old: State,
    new: State,
    newest_notes: Mapping[str, Sequence[UpdateEntry]],
) -> list[DocumentChange]:
    """Flag counted documents whose publications gave no change note (DESIGN §8, silent change).

    A note added in the range, or one published late (`_noted_late`), clears the flag. Without
    one, a document whose publication was not read in the TO run is unknown (None), not silent:
    its note may be there.
    """
    noted = {e.url for e in entries if e.kind == "publication" and e.updates and e.updates.added}
    noted |= _noted_late(old, new, newest_notes)
    checked = new.checked_publications
    flagged: list[DocumentChange] = []
    for entry in entries:
        if entry.kind == "html_document" and entry.counted:
            owners = _owners(entry.url, old, new)
            silent: bool | None = True
            if owners & noted:
                silent = False
            elif checked is not None and not owners <= checked:
                silent = None
            entry = replace(entry, silent_change=silent)
        flagged.append(entry)
    return flagged


def _reading_order(entries: list[DocumentChange], old: State, new: State) -> list[DocumentChange]:
    """Order entries: each publication, then its Documents list (new order, then gone ones).

    Pages no publication lists come last, by url.
    """
    ranked: dict[str, int] = {}
    publication_urls = sorted({p.url for s in (old, new) for p in _publications(s.pages)})
    for publication_url in publication_urls:
        ranked.setdefault(publication_url, len(ranked))
        for state in (new, old):
            page = state.pages.get(publication_url)
            if isinstance(page, Publication):
                for link in page.documents:
                    ranked.setdefault(link.url, len(ranked))
    # sorted() is stable: a page that changed kind keeps its "removed" entry before its "added" one.
    return sorted(
        entries,
        key=lambda e: (0, ranked[e.url], "") if e.url in ranked else (1, 0, e.url),
    )


def summarise(documents: Iterable[DocumentChange]) -> Summary:
    """Return the summary counts of a list of entries."""
    entries = list(documents)
    organisations = [e.organisations for e in entries if e.organisations is not None]
    return Summary(
        documents_changed=sum(1 for e in entries if e.counted),
        organisations_added=sum(len(o.added) for o in organisations),
        organisations_removed=sum(len(o.removed) for o in organisations),
        organisations_changed=sum(len(o.changed) for o in organisations),
        updates_added=sum(len(e.updates.added) for e in entries if e.updates is not None),
        silent_changes=sum(1 for e in entries if e.silent_change is True),
    )


def diff(
    old: State | None,
    new: State,
    *,
    with_text_diff: bool = False,
    newest_notes: Mapping[str, Sequence[UpdateEntry]] | None = None,
) -> ChangeSet:
    """Describe what a reader of the tracked pages would notice changed from `old` to `new`.

    With no earlier state (None, or no pages) the result is a baseline: no entries, zero summary,
    and `tracked` listing what `new` tracks. A document `old` listed without holding a copy of it
    is first seen in `new`, not added (`first_seen`, `changes.inventory.first_copies`).
    Organisations are matched so a rename is one change and a reorder is only
    `organisation_order`. `newest_notes` maps a publication url to the
    change notes of its newest stored version (later than `new`, perhaps): a note published late
    still clears the silent-change flag of the change it explains.
    """
    to_ref = StateRef(new.run, new.at, new.archive)
    if old is None or not old.pages:
        from_ref = None if old is None else StateRef(old.run, old.at, old.archive)
        return ChangeSet(
            from_ref,
            to_ref,
            publications=publications_of(new.pages),
            tracked=tracked_documents(new.pages),
        )
    from_ref = StateRef(old.run, old.at, old.archive)
    first_seen = first_copies(old.pages, new.pages)
    entries = _Differ(old, new, with_text_diff=with_text_diff).entries(d.url for d in first_seen)
    entries = _flag_silent(entries, old, new, newest_notes or {})
    entries = _reading_order(entries, old, new)
    return ChangeSet(
        from_ref,
        to_ref,
        tuple(entries),
        summarise(entries),
        publications=publications_of(new.pages, old.pages),
        first_seen=first_seen,
    )


def filter_documents(changeset: ChangeSet, text: str) -> ChangeSet:
    """Keep the entries (and tracked pages) whose title or url contains `text`; recount."""
    needle = text.casefold()

    def wanted(title: str, url: str) -> bool:
        return needle in title.casefold() or needle in url.casefold()

    kept = tuple(entry for entry in changeset.documents if wanted(entry.title, entry.url))
    return replace(
        changeset,
        documents=kept,
        summary=summarise(kept),
        tracked=tuple(page for page in changeset.tracked if wanted(page.title, page.url)),
        first_seen=tuple(page for page in changeset.first_seen if wanted(page.title, page.url)),
    )
