"""What a backfill did, in words and as `--json` (README, "History from web archives")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from changes.changeset import json_time
from reports.formats.wording import format_time, plural
from tracker.backfill_plan import BackfillPlan, SkipReason
from tracker.delivery import SendStats

# Each skip reason in words, in the order the summary lists them.
SKIP_WORDS: Final[Mapping[SkipReason, str]] = {
    SkipReason.DUPLICATE: "the same as the copy before",
    SkipReason.NOT_CONTENT: "not a page (redirects, errors, revisit records)",
    SkipReason.AFTER_LIVE_RUN: "at or after the first live run",
    SkipReason.NOT_LISTED: "documents not listed at the time",
    SkipReason.LAYOUT: "a layout the parser does not know",
    SkipReason.ARCHIVE_ERROR: "the archive's own error page",
    SkipReason.TRUNCATED: "cut short",
    SkipReason.ANOMALY: "held back as anomalies (--accept-anomalies stores them)",
    SkipReason.FETCH_FAILED: "could not be fetched (tried again next time)",
}


@dataclass(frozen=True, slots=True)
class BackfillResult:
    """What a backfill did (or, with `dry_run`, would do), for the summary and `--json`."""

    plan: BackfillPlan  # every publication's plan, runs in time order
    dry_run: bool = False
    fetched: int = 0  # captures asked of the archive's replay (publication lists included)
    stored: int = 0  # captures stored as new versions
    unchanged: int = 0  # captures whose parsed content equals the version at or before them
    skipped: Mapping[SkipReason, int] = field(default_factory=dict)  # the plan's and later ones
    runs: tuple[int, ...] = ()  # the archive runs stored, in time order
    first: datetime | None = None  # the time span the stored runs cover
    last: datetime | None = None
    changes: int = 0  # stored runs that changed something
    deliveries: SendStats = field(default_factory=SendStats)

    def count(self, reason: SkipReason) -> int:
        """Return how many captures were skipped for `reason`."""
        return self.skipped.get(reason, 0)

    @property
    def exit_code(self) -> int:
        """0, or 1 when some captures could not be fetched (the next backfill tries them)."""
        return 1 if self.count(SkipReason.FETCH_FAILED) else 0

    def to_dict(self) -> dict[str, Any]:
        """Return the `backfill --json` structure (README, "History from web archives")."""
        data: dict[str, Any] = {
            "dry_run": self.dry_run,
            "captures": {
                "listed": self.plan.listed,
                "already_replayed": self.plan.already_replayed,
                "fetched": self.fetched,
                "stored": self.stored,
                "unchanged": self.unchanged,
                "skipped": {reason.value: self.count(reason) for reason in SkipReason},
            },
            "runs": len(self.runs),
            "changes": self.changes,
            "from": json_time(self.first),
            "to": json_time(self.last),
            "run_ids": list(self.runs),
        }
        if self.dry_run:
            data["runs"] = len(self.plan.runs)
            data["from"], data["to"] = self.plan.to_dict()["from"], self.plan.to_dict()["to"]
            data["planned"] = [run.to_dict() for run in self.plan.runs]
        return data


def describe_backfill(result: BackfillResult) -> str:
    """Return what a backfill did (or would do) in a few lines of plain English."""
    if result.dry_run:
        lines = _planned(result)
    elif result.runs:
        first, last = (format_time(t) for t in (result.first, result.last) if t is not None)
        lines = [
            f"History imported: {plural(len(result.runs), 'archive run')}, {first} to {last}, "
            f"{result.changes} with changes."
        ]
    else:
        lines = ["Nothing new to import."]
    done = [f"{result.plan.listed} listed", f"{result.fetched} fetched"]
    if not result.dry_run:
        done += [f"{result.stored} stored as versions", f"{result.unchanged} unchanged"]
    if result.plan.already_replayed:
        done.append(f"{result.plan.already_replayed} replayed before")
    lines.append(f"Captures: {', '.join(done)}.")
    skipped = [f"{result.count(r)} {words}" for r, words in SKIP_WORDS.items() if result.count(r)]
    if skipped:
        lines.append(f"Skipped: {'; '.join(skipped)}.")
    if result.runs:
        lines.append("See them with `lifesci-tracker history` and `lifesci-tracker diff`.")
    return "\n".join(lines)


def _planned(result: BackfillResult) -> list[str]:
    runs = result.plan.runs
    if not runs:
        return ["Nothing new to import."]
    lines = [
        f"Would import {plural(len(runs), 'archive run')}, {format_time(runs[0].at)} to "
        f"{format_time(runs[-1].until)} ({plural(result.plan.captures, 'capture')}; "
        f"{plural(result.fetched, 'publication copy', 'publication copies')} fetched to read "
        "their Documents lists):"
    ]
    for run in runs:
        lines.append(f"  {format_time(run.at)}")
        for planned in run.captures:
            baseline = "  (first copy)" if planned.baseline else ""
            lines.append(f"    {planned.capture.timestamp}  {planned.capture.url}{baseline}")
    return lines
