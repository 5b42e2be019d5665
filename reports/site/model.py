"""What the browsable site is built from: the states and what each one changed. Pure values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from changes.changeset import State
from changes.timeline import Timeline
from reports.model import Report


@dataclass(frozen=True, slots=True)
class Step:
    """One change set of the history: what a state changed from the one before, and that state.

    A step is listed when its state differs from the one before, when its run had problems, and for
    the first state (the baseline). `seen_after` is set for an archive state: its changes happened
    after that time and by its own (the capture's) time.
    """

    report: Report  # the changes (to_ref is this state's run and time), problems, counts
    state: State
    timeline_step: int  # this state's index in SiteModel.timeline.placements
    seen_after: datetime | None = None
    trigger: str = "manual"  # "manual", "schedule" or "archive"

    @property
    def run(self) -> int | None:
        """Return the run this step's state is as of."""
        return self.report.changeset.to_ref.run

    @property
    def at(self) -> datetime | None:
        """Return the time of this step's state (a live run's start, an archive capture's time)."""
        return self.report.changeset.to_ref.at


@dataclass(frozen=True, slots=True)
class SiteModel:
    """Everything the site shows. `steps` oldest first; the last step's state is "now"."""

    title: str  # the publication's title, or a general one for several publications
    steps: tuple[Step, ...]
    timeline: Timeline
    generated_at: datetime
    publication_urls: tuple[str, ...] = ()  # the order of [source] urls; one section each
    base_url: str = ""  # where the site is published, for canonical links ("" for none)
