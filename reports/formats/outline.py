"""The shape every human-readable format shares: sections of lines, in reading order. Pure.

text, markdown and html (and atom, through html) walk the same Outline, so they list the same
changes in the same order. Sentences come from `wording`; each format escapes them for its markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

from changes.changeset import DocumentChange, OrganisationChanges, UpdateChanges
from reports.formats import wording
from reports.model import Problem, Report
from scraper.page import PageKind

LineKind: TypeAlias = Literal["added", "removed", "changed", "info", "warning"]


@dataclass(frozen=True, slots=True)
class Line:
    """One change in words, with the organisation's link and any detail lines under it."""

    kind: LineKind
    text: str
    url: str | None = None  # the format decides whether it may become a link (http(s) only)
    details: tuple[str, ...] = ()


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
    intro: str | None  # "Baseline: ...", "No changes", or None when sections follow
    counts: tuple[tuple[str, int], ...]  # the summary, labelled; empty for a baseline / no changes
    sections: tuple[Section, ...]
    problems: tuple[Problem, ...]
    generated: str | None


def outline_report(report: Report) -> Outline:
    """Return the report as sections of sentences, ready for a format to mark up."""
    changeset = report.changeset
    intro: str | None = None
    counts: tuple[tuple[str, int], ...] = ()
    if changeset.is_baseline:
        intro = wording.baseline_sentence(report)
    elif not changeset.has_changes:
        intro = wording.NO_CHANGES
    else:
        summary = changeset.summary
        counts = (
            ("Documents changed", summary.documents_changed),
            ("Organisations added", summary.organisations_added),
            ("Organisations removed", summary.organisations_removed),
            ("Organisations changed", summary.organisations_changed),
            ("Change notes added", summary.updates_added),
            ("Changed without a change note", summary.silent_changes),
        )
    generated = report.generated_at
    return Outline(
        subject=wording.subject_line(report),
        range=wording.range_sentence(changeset),
        intro=intro,
        counts=counts,
        sections=tuple(outline_document(d) for d in changeset.documents),
        problems=tuple(
            Problem(wording.clean(p.url), wording.clean(p.outcome), wording.clean(p.reason))
            for p in report.problems
        ),
        generated=f"Generated {wording.format_time(generated)}" if generated else None,
    )


def outline_document(document: DocumentChange) -> Section:
    """Return one changed page's lines: metadata, change notes, organisations, silent change."""
    lines = [
        Line("info", wording.capitalise(wording.metadata_sentence(key, old, new)))
        for key, (old, new) in document.metadata.items()
    ]
    lines += _update_lines(document.updates or UpdateChanges())
    lines += _organisation_lines(document.organisations or OrganisationChanges())
    if document.silent_change:
        lines.append(Line("warning", wording.capitalise(wording.SILENT_CHANGE)))
    text_diff = wording.clean_block(document.text_diff) if document.text_diff else None
    return Section(
        heading=wording.document_heading(document),
        url=wording.clean(document.url),
        kind=document.kind,
        status=document.status,
        lines=tuple(lines),
        text_diff=text_diff or None,
    )


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
        if "description" in change.changes:
            old, new = change.changes["description"]
            details.append(f"Before: {wording.clean(str(old or '')) or '(none)'}")
            details.append(f"After: {wording.clean(str(new or '')) or '(none)'}")
        if "links" in change.changes:
            details += wording.link_details(*change.changes["links"])
        lines.append(Line("changed", wording.organisation_sentence(change), details=tuple(details)))
    return lines


def _clean_url(url: str | None) -> str | None:
    return wording.clean(url) or None if url else None
