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
from reports.model import Report
from scraper.page import Organisation, UpdateEntry

SILENT_CHANGE: Final = "changed without a change note"
NO_CHANGES: Final = "No changes"
# Report fields the baseline sentence reads when the composition root provides them: the number
# of organisations and of pages in the TO state. A baseline ChangeSet carries no counts (§8).

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
    """Return (organisations, pages) of the TO state when the report carries them, else None."""
    if report.organisation_count is None or report.page_count is None:
        return None
    return report.organisation_count, report.page_count


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
    if parts:
        return ", ".join(parts)
    return "metadata changed" if changeset.has_changes else "no changes"


def subject_line(report: Report) -> str:
    """Return e.g.: "UK life sciences support: 2 organisations changed, 1 new update note"."""
    return f"{clean(report.title)}: {summary_phrase(report)}"


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
    """Return "From run 12 (...) to run 13 (...)", or "As of run 13 (...)" for a baseline."""
    if changeset.is_baseline:
        return f"As of {describe_ref(changeset.to_ref)}"
    return f"From {describe_ref(changeset.from_ref)} to {describe_ref(changeset.to_ref)}"


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
