"""What a report is made of (input) and what rendering gives (output). Pure values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from changes.changeset import ChangeSet

# The title of a report when nothing names the tracked publications (nothing stored yet).
FALLBACK_TITLE: Final = "GOV.UK guidance"


def join_titles(titles: Sequence[str]) -> str:
    """Return "A", "A and B" or "A, B and C" (distinct titles, in order); "" for none."""
    distinct = list(dict.fromkeys(t for t in titles if t))
    if len(distinct) <= 1:
        return "".join(distinct)
    return f"{', '.join(distinct[:-1])} and {distinct[-1]}"


@dataclass(frozen=True, slots=True)
class Problem:
    """A page that could not be tracked in a run: fetch error, anomaly held back, or gone."""

    url: str
    outcome: str  # "error" | "anomaly" | "gone"
    reason: str


@dataclass(frozen=True, slots=True)
class ImportedHistory:
    """What one `backfill` imported from a web archive: each archive state it stored, as its
    changes against the state before it (`ChangeSet.to_ref` names the state), oldest first."""

    states: tuple[ChangeSet, ...]

    @property
    def first(self) -> datetime | None:
        """Return the time of the first imported state."""
        return self.states[0].to_ref.at if self.states else None

    @property
    def last(self) -> datetime | None:
        """Return the time of the last imported state."""
        return self.states[-1].to_ref.at if self.states else None

    @property
    def changes(self) -> int:
        """Return how many imported states changed something."""
        return sum(1 for state in self.states if state.has_changes)


@dataclass(frozen=True, slots=True)
class Report:
    """Everything a report format needs: the changes of a range and its last run's problems.

    `title` names what is tracked (the feed's title): left empty, it is the stored titles of the
    changeset's publications, or FALLBACK_TITLE when none is stored. `link` is the report's page
    on the published site (`[site] base_url`), which the Atom entry links to. `imported` makes
    it the summary of a `backfill`: its subject says so and it lists each imported state.
    """

    changeset: ChangeSet
    title: str = ""
    problems: tuple[Problem, ...] = ()
    generated_at: datetime | None = None
    organisation_count: int | None = None  # organisations in the TO state (said by a baseline)
    page_count: int | None = None  # pages in the TO state
    link: str | None = None
    # A backfill's summary: the states it imported (the changeset: first to last of them).
    imported: ImportedHistory | None = None

    def __post_init__(self) -> None:
        if not self.title:
            titles = [p.title for p in self.changeset.publications]
            object.__setattr__(self, "title", join_titles(titles) or FALLBACK_TITLE)


@dataclass(frozen=True, slots=True)
class RenderedReport:
    """A report rendered in one format, ready for a channel."""

    format: str  # registry key: "text", "markdown", "html", "json", "atom"
    subject: str
    body: str
    media_type: str  # "text/plain", "text/markdown", "text/html", "application/json", ...
    extension: str  # "txt", "md", "html", "json", "atom"
    run: int | None = None  # the run the report is for (the TO side)
    extra: dict[str, str] = field(default_factory=dict)
