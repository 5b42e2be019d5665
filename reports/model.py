"""What a report is made of (input) and what rendering gives (output). Pure values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from changes.changeset import ChangeSet


@dataclass(frozen=True, slots=True)
class Problem:
    """A page that could not be tracked in a run: fetch error, anomaly held back, or gone."""

    url: str
    outcome: str  # "error" | "anomaly" | "gone"
    reason: str


@dataclass(frozen=True, slots=True)
class Report:
    """Everything a report format needs: the changes of a range and its last run's problems."""

    changeset: ChangeSet
    title: str = "UK life sciences support"  # the publication's title, for subject lines
    problems: tuple[Problem, ...] = ()
    generated_at: datetime | None = None
    organisation_count: int | None = None  # organisations in the TO state (said by a baseline)
    page_count: int | None = None  # pages in the TO state


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
