"""The shape every human-readable format shares: sections of lines, in reading order. Pure.

text, markdown and html (and atom, through html) walk the same Outline, so they list the same
changes in the same order. Sentences come from `wording`; each format escapes them for its markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from changes.changeset import ChangeSet, DocumentChange, OrganisationChanges, UpdateChanges
from changes.inventory import TrackedDocument, TrackedStage
from changes.worddiff import Segment, word_diff
from reports.formats import wording
from reports.model import ImportedHistory, Problem, Report
from scraper.page import PageKind

LineKind: TypeAlias = Literal["added", "removed", "changed", "info", "warning"]


@dataclass(frozen=True, slots=True)
class Line:
    """One change in words, with the organisation's link and any detail lines under it.

    `words` is the word-level change of a text (a description, a long field), shown before the
    details; `stages` the organisations of a tracked document by stage (a baseline lists them).
    """

    kind: LineKind
    text: str
    url: str | None = None  # the format decides whether it may become a link (http(s) only)
    details: tuple[str, ...] = ()
    words: tuple[Segment, ...] = ()
    stages: tuple[TrackedStage, ...] = ()


@dataclass(frozen=True, slots=True)
class Section:
    """One changed page: a heading, its URL, its change lines and an optional line diff."""

    heading: str
    url: str
    kind: PageKind
    status: str
    lines: tuple[Line, ...]
    text_diff: str | None = None  # cleaned, lines kept


@dataclass(frozen=True, slots=True)
class Outline:
    """A report in reading order; every string in it is clean (one line, no control characters)."""

    subject: str
    range: str
    intro: str | None  # "Baseline: ...", "No changes", or None when change sections follow
    counts: tuple[tuple[str, int], ...]  # the summary, labelled; empty for a baseline / no changes
    sections: tuple[Section, ...]
    problems: tuple[Problem, ...]
    generated: str | None


def outline_report(report: Report) -> Outline:
    """Return the report as sections of sentences, ready for a format to mark up."""
    changeset = report.changeset
    intro: str | None = None
    counts: tuple[tuple[str, int], ...] = ()
    sections = tuple(outline_document(d) for d in changeset.documents)
    sections += tuple(outline_first_seen(d) for d in changeset.first_seen)
    if report.imported is not None:
        intro = wording.imported_intro(report.imported)
        sections = (outline_imported(report.imported, changeset), *sections)
    elif changeset.is_baseline:
        intro = wording.baseline_sentence(report)
        sections = outline_tracked(changeset)
    elif not changeset.has_changes:
        intro = wording.NO_CHANGES
    if changeset.has_changes:
        summary = changeset.summary
        counts = (
            ("Documents changed", summary.documents_changed),
            ("Organisations added", summary.organisations_added),
            ("Organisations removed", summary.organisations_removed),
            ("Organisations changed", summary.organisations_changed),
            ("Change notes added", summary.updates_added),
            ("Changed without a change note", summary.silent_changes),
        )
        unchecked = wording.unchecked_count(changeset)
        if unchecked:
            counts += (("Change note not checked", unchecked),)
    generated = report.generated_at
    return Outline(
        subject=wording.subject_line(report),
        range=wording.range_sentence(changeset),
        intro=intro,
        counts=counts,
        sections=sections,
        problems=tuple(
            Problem(wording.clean(p.url), wording.clean(p.outcome), wording.clean(p.reason))
            for p in report.problems
        ),
        generated=f"Generated {wording.format_time(generated)}" if generated else None,
    )


def outline_tracked(changeset: ChangeSet) -> tuple[Section, ...]:
    """Return what a baseline tracks: per publication, its documents and their organisations."""
    documents = {d.url: d for d in changeset.tracked}
    sections: list[Section] = []
    for publication in changeset.publications:
        listed = [documents[url] for url in publication.documents if url in documents]
        lines = tuple(
            Line(
                "info",
                wording.tracked_sentence(document),
                url=_clean_url(document.url),
                stages=tuple(
                    TrackedStage(
                        wording.clean(stage.stage),
                        tuple(wording.clean(name) for name in stage.organisations),
                    )
                    for stage in document.stages
                ),
            )
            for document in listed
        )
        heading = wording.clean(publication.title) or wording.clean(publication.url)
        url = wording.clean(publication.url)
        sections.append(Section(heading, url, "publication", "tracked", lines))
    return tuple(sections)


def outline_imported(imported: ImportedHistory, changeset: ChangeSet) -> Section:
    """Return a backfill's imported states, one line each, as a section of its publication."""
    publication = changeset.publications[0] if changeset.publications else None
    return Section(
        heading="Imported states",
        url=wording.clean(publication.url) if publication else "",
        kind="publication",
        status="imported",
        lines=tuple(
            Line("changed" if state.has_changes else "info", wording.imported_state_sentence(state))
            for state in imported.states
        ),
    )


def outline_first_seen(document: TrackedDocument) -> Section:
    """Return a document first copied although listed before (`ChangeSet.first_seen`)."""
    return Section(
        heading=wording.first_seen_heading(document),
        url=wording.clean(document.url),
        kind=document.kind,
        status="first_seen",
        lines=(Line("info", wording.first_seen_sentence(document)),),
    )


def outline_document(document: DocumentChange) -> Section:
    """Return one changed page's lines: metadata, change notes, organisations, silent change."""
    lines = [_metadata_line(key, old, new) for key, (old, new) in document.metadata.items()]
    lines += _update_lines(document.updates or UpdateChanges())
    lines += _organisation_lines(document.organisations or OrganisationChanges())
    if document.silent_change:
        lines.append(Line("warning", wording.capitalise(wording.SILENT_CHANGE)))
    elif document.silent_change is None:
        lines.append(Line("warning", wording.capitalise(wording.SILENT_UNKNOWN)))
    text_diff = wording.clean_block(document.text_diff) if document.text_diff else None
    return Section(
        heading=wording.document_heading(document),
        url=wording.clean(document.url),
        kind=document.kind,
        status=document.status,
        lines=tuple(lines),
        text_diff=text_diff or None,
    )


def _metadata_line(key: str, old: Any, new: Any) -> Line:
    """A metadata change; a long text field also shows what changed in it, word by word."""
    sentence = wording.capitalise(wording.metadata_sentence(key, old, new))
    words: tuple[Segment, ...] = ()
    if isinstance(old, str) and isinstance(new, str) and sentence.endswith(" changed"):
        words = _word_diff(old, new)
    return Line("info", sentence, words=words)


def _word_diff(old: str, new: str) -> tuple[Segment, ...]:
    return word_diff(wording.clean(old), wording.clean(new))


def _update_lines(updates: UpdateChanges) -> list[Line]:
    lines = [Line("added", wording.note_sentence(entry)) for entry in updates.added]
    lines += [Line("removed", wording.note_sentence(e, added=False)) for e in updates.removed]
    return lines


def _organisation_lines(organisations: OrganisationChanges) -> list[Line]:
    lines: list[Line] = []
    for added in organisations.added:
        description = wording.clean(added.description)
        lines.append(
            Line(
                "added",
                wording.added_sentence(added),
                url=_clean_url(added.url),
                details=(description,) if description else (),
            )
        )
    lines += [
        Line("removed", wording.removed_sentence(removed), url=_clean_url(removed.url))
        for removed in organisations.removed
    ]
    for change in organisations.changed:
        details: list[str] = []
        words: tuple[Segment, ...] = ()
        if "description" in change.changes:
            old, new = (str(text or "") for text in change.changes["description"])
            words = _word_diff(old, new)
            if not words:  # only its spacing changed: nothing to mark, so show both
                details += [f"Before: {wording.clean(old) or '(none)'}"]
                details += [f"After: {wording.clean(new) or '(none)'}"]
        if "links" in change.changes:
            details += wording.link_details(*change.changes["links"])
        sentence = wording.organisation_sentence(change)
        lines.append(Line("changed", sentence, details=tuple(details), words=words))
    return lines


def _clean_url(url: str | None) -> str | None:
    return wording.clean(url) or None if url else None
