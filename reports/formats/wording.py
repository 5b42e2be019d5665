"""Name each change in words: the subject line and one sentence per change. Pure functions.

Every format builds on these, so a change reads the same in a terminal, a mail and a feed. Page text
is cleaned here (one line, no control characters); escaping it for a markup is the format's job.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

from changes.changeset import ChangeSet, DocumentChange, OrganisationChange, StateRef
from changes.inventory import TrackedDocument, TrackedPublication
from reports.model import ImportedHistory, Report, join_titles
from scraper.page import Organisation, UpdateEntry

SILENT_CHANGE: Final = "changed without a change note"
# A counted change whose publication could not be fetched and read in the TO run: its change
# note may be there, so it is not called silent (`silent_change` null in JSON).
SILENT_UNKNOWN: Final = "changed; the publication could not be checked for a change note"
NO_CHANGES: Final = "No changes"

_METADATA_LABELS: Final[dict[str, str]] = {
    "title": "Title",
    "updated": "Updated date",
    "last_updated": "Last updated date",
    "published": "Published date",
    "description": "Summary",
    "doc_type": "Document type",
    "from_organisations": "From",
    "attributes": "Attachment details",
    "details_text": "Details",
    "intro_text": "Introduction",
    "documents": "Documents list",
}
# Values longer than this are named, not quoted: a changed paragraph does not fit in a sentence.
_MAX_QUOTED: Final = 80
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def clean(text: str) -> str:
    """Return page text on one line: whitespace collapsed, control characters dropped."""
    return " ".join(_NOT_TEXT.sub("", text).split())


def clean_block(text: str) -> str:
    """Return multi-line page text (a line diff): line breaks kept, control characters dropped."""
    lines = _NOT_TEXT.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n")


def capitalise(sentence: str) -> str:
    """Return the sentence with its first letter upper-cased, for phrases that start a line."""
    return sentence[:1].upper() + sentence[1:]


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """Return "1 organisation" or "3 organisations"."""
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"


def baseline_counts(report: Report) -> tuple[int, int] | None:
    """Return (organisations, pages) of the TO state: the report's counts, else the baseline's
    list of what is tracked, else None."""
    if report.organisation_count is not None and report.page_count is not None:
        return report.organisation_count, report.page_count
    changeset = report.changeset
    if not changeset.publications:
        return None
    organisations = sum(d.organisation_count for d in changeset.tracked)
    return organisations, len(changeset.publications) + len(changeset.tracked)


def tracked_sentence(document: TrackedDocument) -> str:
    """Return "TITLE: 23 organisations", or "TITLE (PDF, 1.2 MB)" for an attachment."""
    title = clean(document.title) or clean(document.url)
    if document.kind == "html_document":
        return f"{title}: {plural(document.organisation_count, 'organisation')}"
    attributes = ", ".join(clean(a) for a in document.attributes if clean(a))
    return f"{title} ({attributes})" if attributes else title


def _pages_with_status(changeset: ChangeSet, status: str) -> int:
    return sum(1 for d in changeset.documents if d.kind != "publication" and d.status == status)


def summary_phrase(report: Report) -> str:
    """Return the subject line after the title: "2 organisations changed, 1 new update note"."""
    changeset = report.changeset
    if changeset.is_baseline:
        counts = baseline_counts(report)
        if counts is None:
            return "baseline (first snapshot)"
        return f"baseline: {plural(counts[0], 'organisation')} in {plural(counts[1], 'page')}"
    summary = changeset.summary
    parts: list[str] = []
    added = _pages_with_status(changeset, "added")
    removed = _pages_with_status(changeset, "removed")
    if added:
        parts.append(plural(added, "document") + " added")
    if removed:
        parts.append(plural(removed, "document") + " removed")
    organisation_counts = [
        (summary.organisations_added, "added"),
        (summary.organisations_removed, "removed"),
        (summary.organisations_changed, "changed"),
    ]
    named = False
    for count, verb in organisation_counts:
        if count:
            parts.append(f"{plural(count, 'organisation') if not named else count} {verb}")
            named = True
    edited = sum(
        1
        for d in changeset.documents
        if d.counted and d.status == "changed" and not d.organisations
    )
    if edited:
        parts.append(plural(edited, "document") + " changed")
    if summary.updates_added:
        parts.append(plural(summary.updates_added, "new update note"))
    notes_removed = sum(len(d.updates.removed) for d in changeset.documents if d.updates)
    if notes_removed:
        parts.append(plural(notes_removed, "update note") + " removed")
    if summary.silent_changes:
        parts.append("no change note")
    if unchecked_count(changeset):
        parts.append("change note not checked")
    if parts:
        return ", ".join(parts)
    return "metadata changed" if changeset.has_changes else "no changes"


def unchecked_count(changeset: ChangeSet) -> int:
    """Return how many documents changed while their publication could not be checked."""
    return sum(
        1 for d in changeset.documents if d.kind == "html_document" and d.silent_change is None
    )


def concerned_publications(changeset: ChangeSet) -> tuple[TrackedPublication, ...]:
    """Return the publications the changes are about: each changed page's own or listing one.

    With no changes (a baseline, or nothing changed), every publication of the changeset.
    """
    urls = {d.url for d in changeset.documents}
    concerned = tuple(
        p for p in changeset.publications if p.url in urls or urls.intersection(p.documents)
    )
    return concerned or changeset.publications


def subject_title(report: Report) -> str:
    """Return the title a subject line starts with.

    The report's title, unless it tracks several publications: then the titles of those the
    changes are about, each publication named by its own stored title.
    """
    if len(report.changeset.publications) > 1:
        titles = [p.title for p in concerned_publications(report.changeset)]
        return clean(join_titles(titles)) or clean(report.title)
    return clean(report.title)


def subject_line(report: Report) -> str:
    """Return e.g.: "UK life sciences support: 2 organisations changed, 1 new update note"."""
    if report.imported is not None:
        return f"{subject_title(report)}: {imported_phrase(report.imported)}"
    return f"{subject_title(report)}: {summary_phrase(report)}"


def imported_phrase(imported: ImportedHistory) -> str:
    """Return "history imported: 4 states, 2019-03-01 to 2021-12-02, 3 changes" (a backfill)."""
    days = [moment.date().isoformat() for moment in (imported.first, imported.last) if moment]
    span = f", {days[0]} to {days[-1]}" if days else ""
    states = plural(len(imported.states), "state")
    return f"history imported: {states}{span}, {plural(imported.changes, 'change')}"


def imported_state_sentence(changeset: ChangeSet) -> str:
    """Return one imported state: "Seen between run 1 (...) and run 2 (...), in web archive
    copies: 1 organisation changed"."""
    return f"{range_sentence(changeset)}: {summary_phrase(Report(changeset))}"


def imported_intro(imported: ImportedHistory) -> str:
    """Return what a backfill summary says before its sections."""
    return (
        f"History imported from a web archive: {plural(len(imported.states), 'state')}, "
        f"{imported.changes} with changes. Each is listed below, then "
        "what changed from the first to the last; `lifesci-tracker history` and `diff` show them"
    )


def baseline_sentence(report: Report) -> str:
    """Return "Baseline: first snapshot, 42 organisations in 8 pages" (a first run reports this)."""
    counts = baseline_counts(report)
    if counts is None:
        return "Baseline: first snapshot, nothing to compare with yet"
    return (
        f"Baseline: first snapshot, {plural(counts[0], 'organisation')}"
        f" in {plural(counts[1], 'page')}"
    )


def describe_ref(ref: StateRef | None) -> str:
    """Return a state as a reader knows it: "run 13 (2021-12-01 07:00 UTC)"."""
    if ref is None:
        return "nothing stored"
    when = format_time(ref.at) if ref.at is not None else None
    if ref.run is None:
        return when or "an empty state"
    return f"run {ref.run} ({when})" if when else f"run {ref.run}"


def range_sentence(changeset: ChangeSet) -> str:
    """Return "From run 12 (...) to run 13 (...)", or "As of run 13 (...)" for a baseline.

    Up to an archive run (`backfill`), whose time is that of archived copies, the changes are
    only known to lie between the two states: "Seen between run 3 (...) and run 4 (...), in web
    archive copies".
    """
    to_ref = changeset.to_ref
    if changeset.is_baseline:
        archived = ", a web archive capture" if to_ref.archive else ""
        return f"As of {describe_ref(to_ref)}{archived}"
    if to_ref.archive:
        return (
            f"Seen between {describe_ref(changeset.from_ref)} and {describe_ref(to_ref)}, "
            "in web archive captures"
        )
    return f"From {describe_ref(changeset.from_ref)} to {describe_ref(to_ref)}"


def first_seen_heading(document: TrackedDocument) -> str:
    """Return "First copy: TITLE" for a document listed before but stored for the first time."""
    return f"First copy: {clean(document.title) or clean(document.url)}"


def first_seen_sentence(document: TrackedDocument) -> str:
    """Return why a first copy is not a change: it was listed before this state."""
    count = plural(document.organisation_count, "organisation")
    return f"Listed before, but this is its first stored copy: its {count} are not counted as added"


def format_time(moment: datetime) -> str:
    """Return a time in UTC to the minute: "2021-12-01 07:00 UTC" (naive times are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def organisation_sentence(change: OrganisationChange) -> str:
    """Return one sentence for a changed organisation, its fields combined.

    "MedCity moved from Clusters to Membership associations; description changed".
    """
    changes = dict(change.changes)
    name = clean(change.name)
    leads: list[str] = []
    if "name" in changes or change.old_name is not None:
        old_name = change.old_name if change.old_name is not None else changes["name"][0]
        leads.append(f"{clean(str(old_name))} renamed to {name}")
    if "stage" in changes:
        old, new = changes["stage"]
        moved = f"moved from {_value(old)} to {_value(new)}"
        leads.append(moved if leads else f"{name} {moved}")
    clauses = [_field_clause(key, *changes[key]) for key in changes if key not in ("name", "stage")]
    if leads:
        return "; ".join(leads + clauses)
    return f"{name}: " + "; ".join(clauses or ["changed"])


def _field_clause(key: str, old: Any, new: Any) -> str:
    if key == "url":
        if old is None:
            return f"link added: {_value(new)}"
        if new is None:
            return f"link removed: {_value(old)}"
        return f"link changed from {_value(old)} to {_value(new)}"
    if key == "links":
        return "links changed"
    if key == "description":
        return "description changed"
    return f"{key.replace('_', ' ')} changed"


def added_sentence(organisation: Organisation) -> str:
    """Return "Added: NAME (Stage)"."""
    return f"Added: {clean(organisation.name)} ({clean(organisation.stage)})"


def removed_sentence(organisation: Organisation) -> str:
    """Return "Removed: NAME (Stage)"."""
    return f"Removed: {clean(organisation.name)} ({clean(organisation.stage)})"


def note_sentence(entry: UpdateEntry, *, added: bool = True) -> str:
    """Return "New change note (2021-12-01): ..." or "Change note removed (2021-12-01): ..."."""
    lead = "New change note" if added else "Change note removed"
    return f"{lead} ({clean(entry.date)}): {clean(entry.note)}"


def document_heading(document: DocumentChange) -> str:
    """Return "Document added: TITLE", "Document removed: TITLE", or the title of a changed page."""
    title = clean(document.title) or clean(document.url)
    if document.status == "added":
        return f"Document added: {title}"
    if document.status == "removed":
        return f"Document removed: {title}"
    return title


def metadata_sentence(key: str, old: Any, new: Any) -> str:
    """Return "Updated date changed from 2018-03-27 to 2021-12-01", or "organisations reordered"."""
    if key == "organisation_order":
        return "organisations reordered"
    label = _METADATA_LABELS.get(key, capitalise(key.replace("_", " ")))
    before, after = _value(old), _value(new)
    if max(len(before), len(after)) > _MAX_QUOTED:
        return f"{label} changed"
    if not before:
        return f"{label} set to {after}"
    if not after:
        return f"{label} removed (was {before})"
    return f"{label} changed from {before} to {after}"


def link_details(old: Any, new: Any) -> list[str]:
    """Return "Link added: URL" / "Link removed: URL" lines for a changed `links` field."""
    before, after = _strings(old), _strings(new)
    lines = [f"Link added: {clean(u)}" for u in after if u not in before]
    lines += [f"Link removed: {clean(u)}" for u in before if u not in after]
    return lines


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence):
        return [str(v) for v in value]
    return [str(value)]


def _value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(clean(str(v)) for v in value)
    return clean(str(value))
