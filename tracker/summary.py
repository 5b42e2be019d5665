"""The one-screen, human summary that `run` prints."""

from __future__ import annotations

from reports.formats.wording import summary_phrase
from reports.model import Report
from tracker.pipeline import RunResult


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def describe_changes(result: RunResult) -> str:
    """Say in words what the run found compared with the previous one."""
    if result.status == "failed":
        return "Changes: none recorded (nothing could be tracked)"
    report = Report(
        changeset=result.changeset,
        title=result.title,
        organisation_count=result.organisations_stored,
        page_count=len(result.pages) - len(result.problems),
    )
    return f"Changes: {summary_phrase(report)}"


def describe_run(result: RunResult) -> str:
    """Return the summary `run` prints: pages, what is stored, changes and problems."""
    counts = result.page_counts()
    lines = [
        f"Run {result.run_id}: {result.status}",
        (
            f"Pages: {counts['fetched']} fetched, {counts['new']} new, "
            f"{counts['changed']} changed, {counts['unchanged']} unchanged, "
            f"{counts['not_modified']} not modified, "
            f"{counts['gone']} gone, {counts['errors']} errors, {counts['anomalies']} anomalies"
        ),
        (
            f"Stored: {_plural(result.organisations_stored, 'organisation')}, "
            f"{_plural(result.updates_stored, 'update entry', 'update entries')}"
        ),
        describe_changes(result),
    ]
    if result.stale_runs_failed:
        ids = ", ".join(str(i) for i in result.stale_runs_failed)
        lines.append(f"Marked failed: run {ids} (left running by a killed process)")
    if result.problems:
        if result.organisations_stored or result.updates_stored:
            lines.append("Problems (stored data kept; these pages were not updated):")
        else:
            lines.append("Problems (nothing is stored yet):")
        lines.extend(f"  {p.outcome}: {p.url}: {p.reason}" for p in result.problems)
    if any(p.outcome == "anomaly" for p in result.problems):
        lines.append(
            "Held back as anomalies: if these changes are real, store them with "
            "`lifesci-tracker run --accept-anomalies`."
        )
    return "\n".join(lines)
